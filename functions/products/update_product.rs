//! `PATCH /api/products/{id}` (admin): changes some of a product's fields.

use axum::extract::{Path, State};
use jojomart_shared::{
    domain::{CategorySlug, Currency, Description, Money, ProductName, Sku},
    error::{ApiError, FieldError},
};
use serde::Deserialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::{
    create_product::parse_images,
    field,
    model::ProductDetail,
    product_id,
    service::{self, ProductChanges},
};
use crate::{
    http::{Admin, ApiJson},
    products::Catalog,
};

/// The fields to change; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UpdateProductRequest {
    /// A new unique SKU.
    pub sku: Option<String>,
    /// A new name.
    pub name: Option<String>,
    /// A new description.
    pub description: Option<String>,
    /// A new category slug.
    pub category: Option<String>,
    /// A new price in minor units.
    pub unit_price: Option<i64>,
    /// A new ISO 4217 code.
    pub currency: Option<String>,
    /// New image URLs (replace the list).
    pub images: Option<Vec<String>>,
    /// Not accepted here: stock is set with `PUT /api/products/{id}/inventory`.
    #[schema(value_type = Option<i64>)]
    pub stock: Option<Value>,
}

impl TryFrom<UpdateProductRequest> for ProductChanges {
    type Error = ApiError;

    fn try_from(req: UpdateProductRequest) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        if req.stock.is_some() {
            errors.push(FieldError::new(
                "stock",
                "is set with PUT /api/products/{id}/inventory",
            ));
        }
        let changes = ProductChanges {
            sku: req
                .sku
                .and_then(|s| field("sku", Sku::parse(&s), &mut errors)),
            name: req
                .name
                .and_then(|s| field("name", ProductName::parse(&s), &mut errors)),
            description: req
                .description
                .and_then(|s| field("description", Description::parse(&s), &mut errors)),
            category: req
                .category
                .and_then(|s| field("category", CategorySlug::parse(&s), &mut errors)),
            currency: req
                .currency
                .and_then(|s| field("currency", Currency::parse(&s), &mut errors)),
            images: req.images.map(|urls| parse_images(&urls, &mut errors)),
            unit_price: req
                .unit_price
                .and_then(|p| field("unitPrice", Money::check_minor(p), &mut errors)),
        };
        if errors.is_empty() {
            Ok(changes)
        } else {
            Err(ApiError::invalid_fields(errors))
        }
    }
}

/// Applies the changes and answers the product.
#[utoipa::path(patch, path = "/api/products/{id}", tag = "products", request_body = UpdateProductRequest,
    params(("id" = String, Path, description = "The product id")),
    security(("bearer" = [])),
    responses((status = 200, body = ProductDetail), (status = 400, description = "Invalid fields"),
        (status = 401, description = "No valid token"), (status = 403, description = "Not an admin"),
        (status = 404, description = "Unknown or deleted"), (status = 409, description = "The new SKU is taken")))]
pub async fn update_product(
    State(catalog): State<Catalog>,
    Admin(_admin): Admin,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UpdateProductRequest>,
) -> Result<ApiJson<ProductDetail>, ApiError> {
    let id = product_id(&id)?;
    let changes = ProductChanges::try_from(body)?;
    Ok(ApiJson(service::update(&catalog, &id, changes).await?))
}
