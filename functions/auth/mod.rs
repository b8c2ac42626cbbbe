//! The auth service: registration, login, token refresh, logout and closing an
//! account, email verification and password reset, and the JWKS that
//! publishes our public keys. Business rules live in [`service`] (accounts),
//! [`sessions`] (refresh-token families), [`tokens`] (the single-use tokens
//! account mails carry), [`revocation`] (voiding access tokens on every
//! instance), [`sweep`] (deleting what lapsed) and [`throttle`] (failed
//! logins and registrations, on the cache port); [`sign_in`] lets other services hear about sign-ins without auth
//! calling them; each function file parses, calls them and answers.

mod confirm_password_reset;
mod delete_me;
mod get_jwks;
mod login;
mod logout;
mod refresh_token;
mod register;
mod request_password_reset;
mod resend_verification;
pub mod revocation;
pub mod service;
pub mod sessions;
pub mod sign_in;
pub mod sweep;
mod sweep_auth;
pub mod throttle;
pub mod tokens;
mod verify_email;

pub use service::{Auth, AuthStartError};
pub use sign_in::{SignInListener, SignedIn};

use jojomart_shared::auth::SharedVerifier;

use crate::{
    outbox::Outbox,
    state::{ServiceStartError, StartContext},
    table::{FunctionDef, ServiceDef},
    users::Users,
};

/// When `sweep-auth` runs: every hour, at minute 17.
const SWEEP_SCHEDULE: &str = "0 17 * * * *";

crate::service_handle!(Auth);

/// The auth service. It calls the users service (profiles) and is called by
/// none; it asks the notifications service for account mail through the outbox.
pub fn service() -> ServiceDef {
    ServiceDef::new("auth")
        .containers(&[
            service::IDENTITIES,
            sessions::REFRESH_TOKENS,
            service::SIGNING_KEYS,
            tokens::ACCOUNT_TOKENS,
            revocation::REVOCATIONS,
        ])
        .outbox(tokens::ACCOUNT_TOKENS)
        .writes(crate::notifications::QUEUE)
        .functions(vec![
            FunctionDef::http("register", || utoipa_axum::routes!(register::register)),
            FunctionDef::http("login", || utoipa_axum::routes!(login::login)),
            FunctionDef::http("refresh-token", || {
                utoipa_axum::routes!(refresh_token::refresh_token)
            }),
            FunctionDef::http("logout", || utoipa_axum::routes!(logout::logout)),
            FunctionDef::http("get-jwks", || utoipa_axum::routes!(get_jwks::get_jwks)),
            FunctionDef::http("delete-me", || utoipa_axum::routes!(delete_me::delete_me)),
            FunctionDef::http("verify-email", || {
                utoipa_axum::routes!(verify_email::verify_email)
            }),
            FunctionDef::http("resend-verification", || {
                utoipa_axum::routes!(resend_verification::resend_verification)
            }),
            FunctionDef::http("request-password-reset", || {
                utoipa_axum::routes!(request_password_reset::request_password_reset)
            }),
            FunctionDef::http("confirm-password-reset", || {
                utoipa_axum::routes!(confirm_password_reset::confirm_password_reset)
            }),
            FunctionDef::timer("sweep-auth", SWEEP_SCHEDULE, sweep_auth::sweep_auth),
        ])
        .start(|cx| Box::pin(start(cx)))
        .erase(|state, user| {
            Box::pin(async move { service::erase(&state.handle::<Auth>(), user).await })
        })
        .export(|state, principal| {
            Box::pin(async move { service::export(&state.handle::<Auth>(), principal).await })
        })
}

/// Loads the signing keys, installs the token verifier every service's
/// `Authenticated` extractor uses, and loads and follows the revocation marks.
async fn start(cx: &mut StartContext<'_>) -> Result<(), ServiceStartError> {
    let users = cx.require::<Users>()?;
    let outbox = cx.require::<Outbox>()?;
    let auth = Auth::start(cx.config, cx.adapters, users, outbox)
        .await
        .map_err(|e| cx.fail(e))?;
    revocation::follow(cx.adapters.store.clone(), &auth.verifier)
        .await
        .map_err(|e| cx.fail(e))?;
    let verifier: SharedVerifier = auth.verifier.clone();
    cx.handles.insert(verifier);
    cx.handles.insert(auth);
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use jojomart_shared::domain::UserId;

    use super::*;

    const SECRET: &str = "s3cret-Value-that-must-not-leak";

    fn assert_hidden(what: &str, debug: String) {
        assert!(!debug.contains(SECRET), "{what} shows a secret: {debug}");
        assert!(debug.contains("redacted"), "{what}: {debug}");
    }

    #[test]
    fn requests_and_sessions_keep_their_secrets_out_of_debug() {
        let s = || SECRET.to_owned();
        assert_hidden(
            "LoginRequest",
            format!(
                "{:?}",
                login::LoginRequest {
                    email: "a@b.io".into(),
                    password: s()
                }
            ),
        );
        assert_hidden(
            "RegisterRequest",
            format!(
                "{:?}",
                register::RegisterRequest {
                    email: "a@b.io".into(),
                    password: s(),
                    name: "A".into()
                }
            ),
        );
        assert_hidden(
            "RefreshRequest",
            format!("{:?}", refresh_token::RefreshRequest { refresh_token: s() }),
        );
        assert_hidden(
            "LogoutRequest",
            format!("{:?}", logout::LogoutRequest { refresh_token: s() }),
        );
        assert_hidden(
            "VerifyEmailRequest",
            format!("{:?}", verify_email::VerifyEmailRequest { token: s() }),
        );
        assert_hidden(
            "PasswordResetRequest",
            format!(
                "{:?}",
                request_password_reset::PasswordResetRequest { email: s() }
            ),
        );
        assert_hidden(
            "ConfirmPasswordResetRequest",
            format!(
                "{:?}",
                confirm_password_reset::ConfirmPasswordResetRequest {
                    token: s(),
                    new_password: s(),
                }
            ),
        );
        assert_hidden(
            "Registration",
            format!(
                "{:?}",
                service::Registration::parse("a@b.io", s(), "A").expect("valid")
            ),
        );
        assert_hidden(
            "Identity",
            format!(
                "{:?}",
                service::Identity {
                    email: "a@b.io".into(),
                    user_id: UserId::generate(),
                    password_hash: s(),
                    name: None,
                    email_verified_at: None,
                    created_at: Utc::now(),
                }
            ),
        );
        assert_hidden(
            "Session",
            format!(
                "{:?}",
                service::Session {
                    user: service::SessionUser {
                        id: "u-1".into(),
                        email: "a@b.io".into(),
                        name: "A".into(),
                        roles: Vec::new(),
                        email_verified: false,
                    },
                    access_token: s(),
                    refresh_token: s(),
                    token_type: "Bearer",
                    expires_in: 900,
                }
            ),
        );
    }
}
