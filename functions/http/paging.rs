//! The paging rules every list shares: `?limit=` defaults to 20, at most 100.

use jojomart_shared::error::ApiError;

/// The page size when the caller names none.
pub const DEFAULT_LIMIT: u32 = 20;
/// The largest page a caller may ask for.
pub const MAX_LIMIT: u32 = 100;

/// The page size to use for a `?limit=` value.
///
/// # Errors
/// 400 naming `limit` when it is 0 or above [`MAX_LIMIT`].
pub fn page_limit(limit: Option<u32>) -> Result<u32, ApiError> {
    match limit {
        None => Ok(DEFAULT_LIMIT),
        Some(n @ 1..=MAX_LIMIT) => Ok(n),
        Some(_) => Err(ApiError::invalid_field(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        )),
    }
}
