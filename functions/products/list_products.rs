//! `GET /api/products`: search and browse the catalog, paged.

use axum::extract::State;
use jojomart_shared::{domain::CategorySlug, error::ApiError};
use serde::Deserialize;
use utoipa::IntoParams;

use super::{
    model::ProductPage,
    read_model::{Listing, SortOrder},
};
use crate::{
    http::{page_limit, ApiJson, ApiQuery},
    products::Catalog,
};

/// Longest `q`, in characters.
const MAX_QUERY_CHARS: usize = 200;
/// Most words in `q`.
const MAX_QUERY_WORDS: usize = 10;

/// The listing's query parameters.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
pub struct ListProductsQuery {
    /// Search words; every word must appear in the name or description (any case, any order).
    pub q: Option<String>,
    /// Only products of this category slug.
    pub category: Option<String>,
    /// Lowest unit price in minor units, inclusive.
    pub min_price: Option<i64>,
    /// Highest unit price in minor units, inclusive.
    pub max_price: Option<i64>,
    /// The order (default `relevance` with `q`, which is `newest` without it).
    #[param(inline)]
    pub sort: Option<SortOrder>,
    /// Page size, 1 to 100 (default 20).
    pub limit: Option<u32>,
    /// The previous page's `nextCursor`.
    pub cursor: Option<String>,
}

impl TryFrom<ListProductsQuery> for Listing {
    type Error = ApiError;

    fn try_from(q: ListProductsQuery) -> Result<Self, ApiError> {
        let text = q.q.unwrap_or_default();
        if text.chars().count() > MAX_QUERY_CHARS {
            return Err(ApiError::invalid_field(
                "q",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let mut words: Vec<String> = Vec::new();
        for word in text.split_whitespace().map(str::to_lowercase) {
            if !words.contains(&word) {
                words.push(word);
            }
        }
        if words.len() > MAX_QUERY_WORDS {
            return Err(ApiError::invalid_field(
                "q",
                format!("must have at most {MAX_QUERY_WORDS} words"),
            ));
        }
        let category = q
            .category
            .filter(|c| !c.is_empty())
            .map(|c| CategorySlug::parse(&c).map_err(|e| ApiError::invalid_field("category", e.0)))
            .transpose()?;
        for (name, value) in [("minPrice", q.min_price), ("maxPrice", q.max_price)] {
            if value.is_some_and(|v| v < 0) {
                return Err(ApiError::invalid_field(
                    name,
                    "must be zero or more (minor units)",
                ));
            }
        }
        if let (Some(min), Some(max)) = (q.min_price, q.max_price) {
            if min > max {
                return Err(ApiError::invalid_field(
                    "minPrice",
                    "must not be greater than maxPrice",
                ));
            }
        }
        Ok(Listing {
            words,
            category,
            min_price: q.min_price,
            max_price: q.max_price,
            sort: q.sort.unwrap_or(SortOrder::Relevance),
            limit: page_limit(q.limit)? as usize,
            cursor: q.cursor.filter(|c| !c.is_empty()),
        })
    }
}

/// Lists live products matching the filters, in the requested order, one page at a time.
#[utoipa::path(get, path = "/api/products", tag = "products", params(ListProductsQuery),
    responses((status = 200, body = ProductPage), (status = 400, description = "A bad parameter, named in `errors`")))]
pub async fn list_products(
    State(catalog): State<Catalog>,
    ApiQuery(query): ApiQuery<ListProductsQuery>,
) -> Result<ApiJson<ProductPage>, ApiError> {
    let listing = Listing::try_from(query)?;
    let (items, next_cursor) = catalog.read_model.list(&listing).await?;
    Ok(ApiJson(ProductPage { items, next_cursor }))
}
