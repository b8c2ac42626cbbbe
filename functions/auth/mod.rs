//! The auth service: registration, login, token refresh, logout and closing an
//! account, and the JWKS that publishes our public keys. Business rules live in [`service`]
//! (accounts), [`sessions`] (refresh-token families) and [`throttle`] (failed
//! logins and registrations, on the cache port); [`sign_in`] lets other services hear about sign-ins without auth
//! calling them; each function file parses, calls them and answers.

mod delete_me;
mod get_jwks;
mod login;
mod logout;
mod refresh_token;
mod register;
pub mod service;
pub mod sessions;
pub mod sign_in;
pub mod throttle;

pub use service::{Auth, AuthStartError};
pub use sign_in::{SignInListener, SignedIn};

use jojomart_shared::auth::SharedVerifier;

use crate::{
    state::{ServiceStartError, StartContext},
    table::{FunctionDef, ServiceDef},
    users::Users,
};

crate::service_handle!(Auth);

/// The auth service. It calls the users service (profiles) and is called by none.
pub fn service() -> ServiceDef {
    ServiceDef::new("auth")
        .containers(&[
            service::IDENTITIES,
            sessions::REFRESH_TOKENS,
            service::SIGNING_KEYS,
        ])
        .functions(vec![
            FunctionDef::http("register", || utoipa_axum::routes!(register::register)),
            FunctionDef::http("login", || utoipa_axum::routes!(login::login)),
            FunctionDef::http("refresh-token", || {
                utoipa_axum::routes!(refresh_token::refresh_token)
            }),
            FunctionDef::http("logout", || utoipa_axum::routes!(logout::logout)),
            FunctionDef::http("get-jwks", || utoipa_axum::routes!(get_jwks::get_jwks)),
            FunctionDef::http("delete-me", || utoipa_axum::routes!(delete_me::delete_me)),
        ])
        .start(|cx| Box::pin(start(cx)))
        .erase(|state, user| {
            Box::pin(async move { service::erase(&state.handle::<Auth>(), user).await })
        })
        .export(|state, principal| {
            Box::pin(async move { service::export(&state.handle::<Auth>(), principal).await })
        })
}

/// Loads the signing keys and installs the token verifier every service's
/// `Authenticated` extractor uses.
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let users = cx.require::<Users>()?;
    let auth = Auth::start(cx.config, cx.adapters, users)
        .await
        .map_err(|e| cx.fail(e))?;
    let verifier: SharedVerifier = auth.verifier.clone();
    cx.handles.insert(verifier);
    cx.handles.insert(auth);
    Ok(())
}
