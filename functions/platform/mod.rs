//! Platform functions: health and the API description.

mod get_health;
mod get_openapi;

use crate::table::FunctionDef;

/// The platform's functions.
pub fn functions() -> Vec<FunctionDef> {
    vec![
        FunctionDef::http("get-health", || {
            utoipa_axum::routes!(get_health::get_health)
        }),
        FunctionDef::http("get-openapi", || {
            utoipa_axum::routes!(get_openapi::get_openapi)
        }),
    ]
}
