//! The reviews service: one review per user and product, and each product's
//! exact rating totals.
//!
//! Reviews live in the `reviews` container partitioned by product, beside one
//! aggregate document per product (`count`, `sum`). A review is created or
//! deleted in the same atomic single-partition batch that rewrites the
//! aggregate under its ETag, retried when another review won the race, so the
//! totals always equal what the stored reviews say. A review's id derives from
//! (user, product), so two concurrent reviews by one user collide on create → 409.

use chrono::{DateTime, Utc};
use jojomart_shared::{
    auth::Principal,
    domain::UserId,
    domain::{ProductId, Rating, ReviewBody, ReviewTitle},
    error::ApiError,
    store::{
        update_pair, Change, Container, FeedPosition, Filter, Order, Query, SharedStore,
        StoreError, MAX_CHANGES,
    },
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{purchases, Reviews};
use crate::{
    products::{
        self,
        model::{RatingSummary, RatingTotals},
        read_model::RatingFeed,
    },
    users,
};

/// The container (partition `productId`).
pub const REVIEWS: &Container = &Container::new("reviews", "productId");
/// The id of a product's aggregate document.
const AGGREGATE_ID: &str = "rating";

/// A product's review totals, exact integers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RatingAggregate {
    /// Always `aggregate`.
    pub kind: String,
    /// The product (partition key).
    pub product_id: ProductId,
    /// How many reviews.
    pub count: u64,
    /// The sum of their stars.
    pub sum: u64,
    /// Bumped on every write.
    pub version: u64,
    /// Microseconds since the epoch of the last write.
    pub modified_at: i64,
}

impl RatingAggregate {
    /// The public summary.
    pub fn summary(&self) -> RatingSummary {
        RatingSummary::of(self.sum, self.count)
    }
}

/// A stored review.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewDoc {
    /// Always `review`.
    pub kind: String,
    /// The product (partition key).
    pub product_id: ProductId,
    /// The author's user id.
    pub user_id: UserId,
    /// The name shown with the review.
    pub user_name: String,
    /// Stars.
    pub rating: Rating,
    /// Title.
    pub title: ReviewTitle,
    /// Body.
    pub body: ReviewBody,
    /// Whether the author has a paid order with the product (asked when written).
    pub verified_purchase: bool,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// The same, microseconds since the epoch (the listing's sort key).
    pub created_at_us: i64,
}

/// A review as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    /// The review id (opaque).
    pub id: String,
    /// The product reviewed.
    pub product_id: String,
    /// The author's display name.
    pub user_name: String,
    /// Stars, 1 to 5.
    pub rating: u8,
    /// Title.
    pub title: String,
    /// Body.
    pub body: String,
    /// Whether the author bought the product.
    pub verified_purchase: bool,
    /// When it was written.
    pub created_at: DateTime<Utc>,
}

/// A page of reviews.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReviewPage {
    /// This page's reviews, newest first.
    pub items: Vec<ReviewView>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A review's id: `rv_{productId}_{hash of the user id}`, the same for every
/// attempt of one user on one product, and carrying the partition key so a
/// review can be addressed by id alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReviewId {
    product: ProductId,
    text: String,
}

impl ReviewId {
    /// The id of `user_id`'s review of `product`.
    pub fn of(user_id: &UserId, product: &ProductId) -> Self {
        let user = hex::encode(&Sha256::digest(user_id.as_str().as_bytes())[..12]);
        Self {
            text: format!("rv_{product}_{user}"),
            product: product.clone(),
        }
    }

    /// Parses an id from a path; `None` when it is not one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let (product, user) = raw.strip_prefix("rv_")?.split_once('_')?;
        let product = ProductId::parse(product).ok()?;
        let ok = user.len() == 24
            && user
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        ok.then(|| Self {
            product,
            text: raw.to_owned(),
        })
    }

    /// The product reviewed.
    pub fn product(&self) -> &ProductId {
        &self.product
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// A review to write, every field already valid.
#[derive(Debug, Clone)]
pub struct NewReview {
    /// Stars.
    pub rating: Rating,
    /// Title.
    pub title: ReviewTitle,
    /// Body.
    pub body: ReviewBody,
}

fn view(doc: &ReviewDoc) -> ReviewView {
    ReviewView {
        id: ReviewId::of(&doc.user_id, &doc.product_id).text,
        product_id: doc.product_id.as_str().to_owned(),
        user_name: doc.user_name.clone(),
        rating: doc.rating.stars(),
        title: doc.title.as_str().to_owned(),
        body: doc.body.as_str().to_owned(),
        verified_purchase: doc.verified_purchase,
        created_at: doc.created_at,
    }
}

/// The name shown with a review: the author's profile name, or the part of the
/// email before `@` when there is none (the full address is never published).
async fn display_name(reviews: &Reviews, principal: &Principal) -> Result<String, ApiError> {
    let name = users::service::name_of(&reviews.users, &principal.user_id).await?;
    if !name.trim().is_empty() {
        return Ok(name);
    }
    Ok(principal
        .email
        .split('@')
        .next()
        .unwrap_or("customer")
        .to_owned())
}

fn no_product() -> ApiError {
    ApiError::NotFound("no such product".into())
}

/// Writes `author`'s review of `product` and counts it in the product's rating.
///
/// # Errors
/// 404 when the product is unknown or deleted; 409 when this user already
/// reviewed it; the store's error.
pub async fn create(
    reviews: &Reviews,
    author: &Principal,
    product: &ProductId,
    new: NewReview,
) -> Result<ReviewView, ApiError> {
    if !products::service::exists(&reviews.catalog, product).await? {
        return Err(no_product());
    }
    let verified_purchase = purchases::has_paid_order(reviews, &author.user_id, product).await?;
    let id = ReviewId::of(&author.user_id, product);
    let now = reviews.clock.now();
    let review = ReviewDoc {
        kind: "review".into(),
        product_id: product.clone(),
        user_id: author.user_id.clone(),
        user_name: display_name(reviews, author).await?,
        rating: new.rating,
        title: new.title,
        body: new.body,
        verified_purchase,
        created_at: now,
        created_at_us: now.timestamp_micros(),
    };
    let stars = u64::from(review.rating.stars());
    // The aggregate is the first document of the pair: every change to this
    // product's reviews rewrites it under its ETag, so the totals always equal
    // what the stored reviews say, and a second review by the same author
    // meets the first one on the next read.
    update_pair::<_, _, ApiError, _>(
        &*reviews.store,
        REVIEWS,
        product.as_str(),
        AGGREGATE_ID,
        id.as_str(),
        |aggregate: Option<RatingAggregate>, existing: Option<ReviewDoc>| {
            if existing.is_some() {
                return Err(ApiError::Conflict(
                    "you have already reviewed this product".into(),
                ));
            }
            let modified_at = reviews.clock.now().timestamp_micros();
            let aggregate = match aggregate {
                Some(mut agg) => {
                    agg.count += 1;
                    agg.sum += stars;
                    agg.version += 1;
                    agg.modified_at = modified_at;
                    agg
                }
                None => RatingAggregate {
                    kind: "aggregate".into(),
                    product_id: product.clone(),
                    count: 1,
                    sum: stars,
                    version: 1,
                    modified_at,
                },
            };
            Ok((Change::Write(aggregate), Change::Write(review.clone())))
        },
    )
    .await?;
    reviews.catalog.ratings_changed().await;
    Ok(view(&review))
}

/// Deletes a review (its author or an admin) and takes it out of the rating.
///
/// # Errors
/// 404 when there is no such review; 403 when the caller is neither its author
/// nor an admin; the store's error.
pub async fn delete(reviews: &Reviews, caller: &Principal, raw_id: &str) -> Result<(), ApiError> {
    let id = ReviewId::parse(raw_id).ok_or_else(no_review)?;
    remove(reviews, &id, |review| {
        if review.user_id == caller.user_id || caller.is_admin() {
            Ok(())
        } else {
            Err(ApiError::Forbidden(
                "only its author or an admin may delete a review".into(),
            ))
        }
    })
    .await
}

fn no_review() -> ApiError {
    ApiError::NotFound("no such review".into())
}

/// Deletes a review and its part of the aggregate in one batch, when `allowed` says so.
async fn remove(
    reviews: &Reviews,
    id: &ReviewId,
    allowed: impl Fn(&ReviewDoc) -> Result<(), ApiError>,
) -> Result<(), ApiError> {
    let product = id.product();
    update_pair::<_, _, ApiError, _>(
        &*reviews.store,
        REVIEWS,
        product.as_str(),
        AGGREGATE_ID,
        id.as_str(),
        |aggregate: Option<RatingAggregate>, review: Option<ReviewDoc>| {
            let review = review.ok_or_else(no_review)?;
            allowed(&review)?;
            let mut agg = aggregate.ok_or_else(|| {
                ApiError::internal(StoreError::Internal(format!(
                    "product {product} has reviews but no rating aggregate"
                )))
            })?;
            agg.count = agg.count.saturating_sub(1);
            agg.sum = agg.sum.saturating_sub(u64::from(review.rating.stars()));
            agg.version += 1;
            agg.modified_at = reviews.clock.now().timestamp_micros();
            Ok((Change::Write(agg), Change::Delete))
        },
    )
    .await?;
    reviews.catalog.ratings_changed().await;
    Ok(())
}

/// Every review `user_id` wrote (for the data export and erasure); a
/// cross-partition query, not an aggregate.
///
/// # Errors
/// The store's error.
pub async fn by_user(reviews: &Reviews, user_id: &UserId) -> Result<Vec<ReviewView>, ApiError> {
    let filter = Filter::And(vec![
        Filter::eq("kind", "review"),
        Filter::eq("userId", user_id.as_str()),
    ]);
    let query = Query::new(REVIEWS).filter(filter).limit(100);
    let written: Vec<ReviewDoc> =
        jojomart_shared::store::query_all(reviews.store.as_ref(), query).await?;
    Ok(written.iter().map(view).collect())
}

/// Deletes every review of an erased user (idempotent: nothing left is success).
///
/// # Errors
/// The store's error.
pub async fn erase_user(reviews: &Reviews, user_id: &UserId) -> Result<(), ApiError> {
    for review in by_user(reviews, user_id).await? {
        let Some(id) = ReviewId::parse(&review.id) else {
            continue;
        };
        match remove(reviews, &id, |_| Ok(())).await {
            Ok(()) | Err(ApiError::NotFound(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// One page of a product's reviews, newest first.
///
/// # Errors
/// 404 when the product is unknown or deleted; 400 naming `cursor` for a cursor
/// we did not issue; the store's error.
pub async fn list(
    reviews: &Reviews,
    product: &ProductId,
    limit: u32,
    cursor: Option<String>,
) -> Result<ReviewPage, ApiError> {
    if !products::service::exists(&reviews.catalog, product).await? {
        return Err(no_product());
    }
    let query = Query::new(REVIEWS)
        .partition(product.as_str())
        .filter(Filter::eq("kind", "review"))
        .sort(Filter::field("createdAtUs"), Order::Desc)
        .limit(limit)
        .continuation(cursor);
    let page = reviews.store.query(&query).await?;
    let items = page
        .items
        .iter()
        .map(|d| d.parse::<ReviewDoc>().map(|r| view(&r)))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ReviewPage {
        items,
        next_cursor: page.continuation,
    })
}

/// The ratings feed the catalog follows: every product's totals as they
/// change, read from the `reviews` container's change feed, where each
/// product's aggregate document is rewritten with every review written or
/// deleted (the reviews themselves are skipped).
#[derive(Debug, Clone)]
pub struct RatingsPublisher {
    store: SharedStore,
}

impl RatingsPublisher {
    /// A feed over the `reviews` container of `store`.
    pub fn new(store: SharedStore) -> Self {
        Self { store }
    }
}

#[async_trait::async_trait]
impl RatingFeed for RatingsPublisher {
    /// Reads store pages from `from` until one holds an aggregate or the feed
    /// is caught up, so an empty answer means caught up even though most of
    /// the container is reviews. An aggregate that does not parse is logged
    /// and skipped rather than stalling the feed.
    async fn changes(
        &self,
        from: &FeedPosition,
    ) -> Result<(Vec<(ProductId, RatingTotals)>, FeedPosition), StoreError> {
        let mut at = from.clone();
        loop {
            let page = self.store.changes(REVIEWS, &at, MAX_CHANGES).await?;
            at = page.next;
            if page.documents.is_empty() {
                return Ok((Vec::new(), at));
            }
            let totals: Vec<_> = page
                .documents
                .iter()
                .filter(|d| d.body.get("kind").and_then(serde_json::Value::as_str) == Some("aggregate"))
                .filter_map(|d| match RatingAggregate::deserialize(&d.body) {
                    Ok(a) => Some((
                        a.product_id,
                        RatingTotals {
                            count: a.count,
                            sum: a.sum,
                            version: a.version,
                        },
                    )),
                    Err(e) => {
                        tracing::warn!(error = %e, product = %d.partition_key, "skipped a rating aggregate that does not parse");
                        None
                    }
                })
                .collect();
            if !totals.is_empty() {
                return Ok((totals, at));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_ids_round_trip_and_reject_strangers() {
        let product = ProductId::generate();
        let id = ReviewId::of(&UserId::parse("user-1").unwrap(), &product);
        assert_eq!(
            id,
            ReviewId::of(&UserId::parse("user-1").unwrap(), &product),
            "deterministic"
        );
        assert_ne!(
            id,
            ReviewId::of(&UserId::parse("user-2").unwrap(), &product)
        );
        let parsed = ReviewId::parse(id.as_str()).unwrap();
        assert_eq!(parsed.product(), &product);
        for bad in ["", "rv_", "rv_x_y", &format!("rv_{product}_zz"), "../../x"] {
            assert!(ReviewId::parse(bad).is_none(), "{bad:?}");
        }
    }
}
