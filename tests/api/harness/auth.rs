//! The auth service's routes, typed, and two test-only probe routes every
//! test app serves: `GET /api/test/whoami` (any signed-in caller) and
//! `GET /api/test/admin` (admins only), answering who the verifier saw.

use std::time::Duration;

use jojomart::{
    auth::tokens::ACCOUNT_TOKENS,
    http::{Admin, ApiJson, Authenticated},
    table::FunctionDef,
};
use jojomart_shared::{
    error::ApiError,
    events::{EventKind, PasswordResetRequested, VerificationRequested},
    store::{query_all, DocumentStore, Filter, Query},
};
use serde_json::{json, Value};

use super::{eventually, s, TestApp, ADMIN_EMAIL};

/// The password every test account registers with.
pub const PASSWORD: &str = "correct horse battery";

/// Who the caller is, as the verifier saw them.
#[utoipa::path(get, path = "/api/test/whoami", responses((status = 200)))]
async fn whoami(Authenticated(p): Authenticated) -> Result<ApiJson<Value>, ApiError> {
    Ok(ApiJson(
        json!({"userId": p.user_id, "email": p.email, "roles": p.roles}),
    ))
}

/// The same, for admins only.
#[utoipa::path(get, path = "/api/test/admin", responses((status = 200)))]
async fn admin_only(Admin(p): Admin) -> Result<ApiJson<Value>, ApiError> {
    Ok(ApiJson(json!({"userId": p.user_id, "roles": p.roles})))
}

/// The two probes, as functions of the test service.
pub fn probes() -> Vec<FunctionDef> {
    vec![
        FunctionDef::http("test-whoami", || utoipa_axum::routes!(whoami)),
        FunctionDef::http("test-admin", || utoipa_axum::routes!(admin_only)),
    ]
}

/// `app.auth()`: register, login, refresh, logout, JWKS and the probes.
pub struct AuthApi<'a>(pub(super) &'a TestApp);

impl AuthApi<'_> {
    /// Registers `email` as "Test User" with [`PASSWORD`]; the 201 body (panics otherwise).
    pub async fn register(&self, email: &str) -> Value {
        self.register_named(email, "Test User").await
    }

    /// Registers `email` with a display name; the 201 body (panics otherwise).
    pub async fn register_named(&self, email: &str, name: &str) -> Value {
        let r = self
            .try_register(&json!({"email": email, "password": PASSWORD, "name": name}))
            .await;
        let status = r.status();
        let body: Value = r.json().await.expect("register answers JSON");
        assert_eq!(status, 201, "register {email}: {body}");
        body
    }

    /// Registers a named account and returns its access token.
    pub async fn token(&self, email: &str, name: &str) -> String {
        s(&self.register_named(email, name).await, "accessToken").to_owned()
    }

    /// Registers [`ADMIN_EMAIL`] and returns its access token.
    pub async fn admin(&self) -> String {
        self.token(ADMIN_EMAIL, "Ada Admin").await
    }

    /// `POST /api/auth/register` with any body.
    pub async fn try_register(&self, body: &Value) -> reqwest::Response {
        self.0.post_json("/api/auth/register", body).await
    }

    /// `POST /api/auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> reqwest::Response {
        self.0
            .post_json(
                "/api/auth/login",
                &json!({"email": email, "password": password}),
            )
            .await
    }

    /// Logs in and returns the 200 body (panics otherwise).
    pub async fn session(&self, email: &str) -> Value {
        let r = self.login(email, PASSWORD).await;
        assert_eq!(r.status(), 200, "login {email}");
        r.json().await.expect("login body")
    }

    /// `POST /api/auth/login` from a given client address (`X-Forwarded-For`).
    pub async fn login_from(&self, email: &str, password: &str, client: &str) -> reqwest::Response {
        self.0
            .client
            .post(self.0.url("/api/auth/login"))
            .header("x-forwarded-for", client)
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("POST login")
    }

    /// `POST /api/auth/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> reqwest::Response {
        self.0
            .post_json("/api/auth/refresh", &json!({"refreshToken": refresh_token}))
            .await
    }

    /// `POST /api/auth/logout`.
    pub async fn logout(&self, refresh_token: &str) -> reqwest::Response {
        self.0
            .post_json("/api/auth/logout", &json!({"refreshToken": refresh_token}))
            .await
    }

    /// `GET /api/auth/.well-known/jwks.json`.
    pub async fn jwks(&self) -> Value {
        self.0
            .get("/api/auth/.well-known/jwks.json")
            .await
            .json()
            .await
            .expect("JWKS")
    }

    /// `GET /api/test/whoami` with a bearer token.
    pub async fn whoami(&self, token: &str) -> reqwest::Response {
        self.probe("/api/test/whoami", token).await
    }

    /// `GET /api/test/admin` with a bearer token.
    pub async fn admin_probe(&self, token: &str) -> reqwest::Response {
        self.probe("/api/test/admin", token).await
    }

    /// GET any route with a bearer token (the probes, or a shipped route).
    pub async fn probe(&self, path: &str, token: &str) -> reqwest::Response {
        self.0
            .send(reqwest::Method::GET, path, Some(token), None)
            .await
    }

    /// `POST /api/auth/verify-email`.
    pub async fn verify_email(&self, token: &str) -> reqwest::Response {
        self.0
            .post_json("/api/auth/verify-email", &json!({"token": token}))
            .await
    }

    /// `POST /api/auth/verify-email/resend` as `access`.
    pub async fn resend_verification(&self, access: &str) -> reqwest::Response {
        self.0
            .send(
                reqwest::Method::POST,
                "/api/auth/verify-email/resend",
                Some(access),
                None,
            )
            .await
    }

    /// `POST /api/auth/password-reset`.
    pub async fn request_password_reset(&self, email: &str) -> reqwest::Response {
        self.0
            .post_json("/api/auth/password-reset", &json!({"email": email}))
            .await
    }

    /// `POST /api/auth/password-reset/confirm`.
    pub async fn confirm_password_reset(&self, token: &str, password: &str) -> reqwest::Response {
        self.0
            .post_json(
                "/api/auth/password-reset/confirm",
                &json!({"token": token, "newPassword": password}),
            )
            .await
    }

    /// The tokens of every verification mail requested for `email` so far, oldest first.
    pub async fn verification_tokens(&self, email: &str) -> Vec<String> {
        let store = &self.0.state.adapters().store;
        mail_tokens(store.as_ref(), VerificationRequested::KIND, email).await
    }

    /// The tokens of every password-reset mail requested for `email` so far, oldest first.
    pub async fn reset_tokens(&self, email: &str) -> Vec<String> {
        let store = &self.0.state.adapters().store;
        mail_tokens(store.as_ref(), PasswordResetRequested::KIND, email).await
    }

    /// Waits (up to 10 s) until `email` has been sent `n` verification mails; the newest token.
    pub async fn nth_verification_token(&self, email: &str, n: usize) -> String {
        eventually(Duration::from_secs(10), "a verification mail", || async {
            let tokens = self.verification_tokens(email).await;
            (tokens.len() >= n).then(|| tokens[n - 1].clone())
        })
        .await
    }

    /// Waits (up to 10 s) until `email` has been sent `n` password-reset mails; the newest token.
    pub async fn nth_reset_token(&self, email: &str, n: usize) -> String {
        eventually(Duration::from_secs(10), "a password-reset mail", || async {
            let tokens = self.reset_tokens(email).await;
            (tokens.len() >= n).then(|| tokens[n - 1].clone())
        })
        .await
    }
}

/// The tokens of the account mails of `kind` to `email`, oldest first, read
/// from the mail requests auth staged for the notifications queue (they stay
/// in the store after the relay sent them, whoever consumed the message).
pub async fn mail_tokens(store: &dyn DocumentStore, kind: &str, email: &str) -> Vec<String> {
    let query = Query::new(ACCOUNT_TOKENS).filter(Filter::And(vec![
        Filter::eq("kind", "outbox"),
        Filter::eq("event.kind", kind),
        Filter::eq("event.data.email", email),
    ]));
    let mut events: Vec<Value> = query_all::<Value>(store, query)
        .await
        .expect("query the mail requests")
        .into_iter()
        .map(|entry| entry["event"].clone())
        .collect();
    events.sort_by(|a, b| s(a, "occurredAt").cmp(s(b, "occurredAt")));
    events
        .iter()
        .map(|e| s(&e["data"], "token").to_owned())
        .collect()
}
