//! `POST /api/products` (admin): adds a product with its stock.

use axum::{
    extract::State,
    http::{header, HeaderValue, StatusCode},
};
use jojomart_shared::{
    domain::{CategorySlug, Currency, Description, ImageUrl, Money, ProductName, Sku, Stock},
    error::{ApiError, FieldError},
};
use serde::Deserialize;
use utoipa::ToSchema;

use super::{
    field,
    model::ProductDetail,
    service::{self, NewProduct, MAX_IMAGES, MAX_STOCK},
};
use crate::{
    http::{Admin, ApiJson},
    products::Catalog,
};

/// A new product.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateProductRequest {
    /// Unique SKU, ignoring case: 1 to 64 of letters, digits, `-`, `_`, `.`, `/`; kept as written.
    pub sku: String,
    /// Name, 1 to 200 characters.
    pub name: String,
    /// Description, at most 10,000 characters.
    #[serde(default)]
    pub description: String,
    /// Category slug, e.g. `home-garden` (created on first use).
    pub category: String,
    /// Price in minor units, zero or more.
    pub unit_price: i64,
    /// ISO 4217 code.
    pub currency: String,
    /// Units on hand.
    pub stock: i64,
    /// Image URLs (http or https), at most 20.
    #[serde(default)]
    pub images: Vec<String>,
}

/// Parses image URLs, naming the bad ones by position.
pub(super) fn parse_images(raw: &[String], errors: &mut Vec<FieldError>) -> Vec<ImageUrl> {
    if raw.len() > MAX_IMAGES {
        errors.push(FieldError::new(
            "images",
            format!("must hold at most {MAX_IMAGES} URLs"),
        ));
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, url)| field(&format!("images[{i}]"), ImageUrl::parse(url), errors))
        .collect()
}

/// Checks a stock level.
pub(super) fn parse_stock(stock: i64) -> Result<Stock, jojomart_shared::domain::Invalid> {
    Stock::new(stock).map_err(|_| {
        jojomart_shared::domain::Invalid::new(format!("must be from 0 to {MAX_STOCK}"))
    })
}

impl TryFrom<CreateProductRequest> for NewProduct {
    type Error = ApiError;

    fn try_from(req: CreateProductRequest) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let sku = field("sku", Sku::parse(&req.sku), &mut errors);
        let name = field("name", ProductName::parse(&req.name), &mut errors);
        let description = field(
            "description",
            Description::parse(&req.description),
            &mut errors,
        );
        let category = field("category", CategorySlug::parse(&req.category), &mut errors);
        let currency = field("currency", Currency::parse(&req.currency), &mut errors);
        let price = currency.and_then(|c| {
            field(
                "unitPrice",
                Money::non_negative(req.unit_price, c),
                &mut errors,
            )
        });
        let stock = field("stock", parse_stock(req.stock), &mut errors);
        let images = parse_images(&req.images, &mut errors);
        match (sku, name, description, category, price, stock) {
            (
                Some(sku),
                Some(name),
                Some(description),
                Some(category),
                Some(price),
                Some(stock),
            ) if errors.is_empty() => Ok(NewProduct {
                sku,
                name,
                description,
                category,
                price,
                stock,
                images,
            }),
            _ => Err(ApiError::invalid_fields(errors)),
        }
    }
}

/// Creates the product; 409 when its SKU is taken.
#[utoipa::path(post, path = "/api/products", tag = "products", request_body = CreateProductRequest,
    security(("bearer" = [])),
    responses((status = 201, body = ProductDetail), (status = 400, description = "Invalid fields"),
        (status = 401, description = "No valid token"), (status = 403, description = "Not an admin"),
        (status = 409, description = "The SKU is taken")))]
pub async fn create_product(
    State(catalog): State<Catalog>,
    Admin(_admin): Admin,
    ApiJson(body): ApiJson<CreateProductRequest>,
) -> Result<
    (
        StatusCode,
        [(header::HeaderName, HeaderValue); 1],
        ApiJson<ProductDetail>,
    ),
    ApiError,
> {
    let new = NewProduct::try_from(body)?;
    let product = service::create(&catalog, new).await?;
    let location = HeaderValue::from_str(&format!("/api/products/{}", product.summary.id))
        .map_err(ApiError::internal)?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        ApiJson(product),
    ))
}
