//! The auth service: registration, login, token refresh and logout, and the
//! JWKS that publishes our public keys. Business rules live in [`service`]
//! (accounts), [`sessions`] (refresh-token families) and [`throttle`] (failed
//! logins); each function file parses, calls them and answers.

mod get_jwks;
mod login;
mod logout;
mod refresh_token;
mod register;
pub mod service;
pub mod sessions;
pub mod throttle;

pub use service::{Auth, AuthStartError};

use crate::table::FunctionDef;

/// The auth service's functions.
pub fn functions() -> Vec<FunctionDef> {
    vec![
        FunctionDef::http("register", || utoipa_axum::routes!(register::register)),
        FunctionDef::http("login", || utoipa_axum::routes!(login::login)),
        FunctionDef::http("refresh-token", || {
            utoipa_axum::routes!(refresh_token::refresh_token)
        }),
        FunctionDef::http("logout", || utoipa_axum::routes!(logout::logout)),
        FunctionDef::http("get-jwks", || utoipa_axum::routes!(get_jwks::get_jwks)),
    ]
}
