//! The question reviews ask the orders service: has this user bought this product?

use jojomart_shared::{
    domain::{ProductId, UserId},
    error::ApiError,
};

use super::Reviews;

/// True when `user_id` has a paid, shipped or delivered order containing
/// `product` (what makes a review a verified purchase).
///
/// # Errors
/// The orders service's (the store's) error.
pub async fn has_paid_order(
    reviews: &Reviews,
    user_id: &UserId,
    product: &ProductId,
) -> Result<bool, ApiError> {
    crate::orders::service::has_bought(&reviews.orders, user_id, product).await
}
