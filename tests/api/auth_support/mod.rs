//! Helpers for the auth, users and Entra ID tests: an app with two test-only
//! probe routes (one for any signed-in caller, one admin-only) and typed calls.

#![allow(dead_code)]

use jojomart::{
    http::{Admin, ApiJson, Authenticated},
    table::FunctionDef,
};
use jojomart_shared::{auth::password::PasswordParams, config::Config, error::ApiError};
use serde_json::{json, Value};

use crate::common::{spawn_app_with, Spawn, TestApp};

/// A strong-enough password for tests.
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

/// The shipped table plus the two probes.
pub fn functions() -> Vec<FunctionDef> {
    let mut functions = Vec::new();
    functions.push(FunctionDef::http("test-whoami", || {
        utoipa_axum::routes!(whoami)
    }));
    functions.push(FunctionDef::http("test-admin", || {
        utoipa_axum::routes!(admin_only)
    }));
    functions
}

/// Cheap argon2 parameters, so tests that are not about hashing cost stay fast.
pub fn cheap_hashing(c: &mut Config) {
    c.auth.password = PasswordParams {
        memory_kib: 256,
        iterations: 1,
        parallelism: 1,
    };
}

/// Spawns the app with the probes, cheap hashing, and `configure` applied last.
pub async fn spawn(configure: impl FnOnce(&mut Config) + Send + 'static) -> TestApp {
    spawn_app_with(Spawn {
        extra_functions: functions(),
        configure: Box::new(move |c| {
            cheap_hashing(c);
            configure(c);
        }),
        ..Spawn::default()
    })
    .await
}

/// Registers an account and returns the 201 body.
pub async fn register(app: &TestApp, email: &str) -> Value {
    let r = app
        .post_json(
            "/api/auth/register",
            &json!({"email": email, "password": PASSWORD, "name": "Test User"}),
        )
        .await;
    assert_eq!(r.status(), 201, "register {email}");
    r.json().await.expect("register body")
}

/// Logs in.
pub async fn login(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.post_json(
        "/api/auth/login",
        &json!({"email": email, "password": password}),
    )
    .await
}

/// Logs in from a given client address (`X-Forwarded-For`).
pub async fn login_from(
    app: &TestApp,
    email: &str,
    password: &str,
    client: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/api/auth/login"))
        .header("x-forwarded-for", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .expect("POST login")
}

/// Exchanges a refresh token.
pub async fn refresh(app: &TestApp, refresh_token: &str) -> reqwest::Response {
    app.post_json("/api/auth/refresh", &json!({"refreshToken": refresh_token}))
        .await
}

/// GET with a bearer token.
pub async fn get_with(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .expect("GET")
}

/// Any request with a bearer token.
pub async fn send_with(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    request.send().await.expect("request")
}

/// The string field `key` of a JSON body.
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` missing in {v}"))
}

/// Spawns the app with the probes and cheap hashing over a store that `wrap`
/// decorates (to inject latency, say); otherwise as [`crate::common::spawn_app_with`].
pub async fn spawn_wrapped(
    wrap: impl FnOnce(jojomart_shared::store::SharedStore) -> jojomart_shared::store::SharedStore
        + Send
        + 'static,
    configure: impl FnOnce(&mut Config) + Send + 'static,
) -> TestApp {
    spawn_app_with(Spawn {
        extra_functions: functions(),
        configure: Box::new(move |c| {
            cheap_hashing(c);
            configure(c);
        }),
        wrap_store: Box::new(wrap),
        ..Spawn::default()
    })
    .await
}
