//! The edges every route shares, over real HTTP: problem+json for unknown
//! routes, wrong methods, oversized and malformed bodies and panics; request
//! ids; health; and the OpenAPI document.

use jojomart::{http::ApiJson, table::FunctionDef};
use jojomart_shared::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::harness::{Spawn, TestApp};

/// A test-only body with typed fields.
#[derive(Debug, Deserialize, Serialize, utoipa::ToSchema)]
struct Order {
    email: String,
    quantity: u32,
}

/// Echoes a typed body.
#[utoipa::path(post, path = "/api/test/echo", responses((status = 200, body = Order)))]
async fn echo(ApiJson(order): ApiJson<Order>) -> Result<ApiJson<Order>, ApiError> {
    Ok(ApiJson(order))
}

/// Panics, as a buggy handler might.
#[utoipa::path(get, path = "/api/test/panic", responses((status = 500)))]
async fn boom() -> &'static str {
    let v: Vec<u8> = Vec::new();
    let i = v.len() + 3;
    if i > 2 {
        panic!("secret internal detail");
    }
    "unreachable"
}

async fn edge_app() -> TestApp {
    let mut functions = Vec::new();
    functions.push(FunctionDef::http("test-echo", || {
        utoipa_axum::routes!(echo)
    }));
    functions.push(FunctionDef::http("test-panic", || {
        utoipa_axum::routes!(boom)
    }));
    TestApp::spawn_with(Spawn {
        extra_functions: functions,
        ..Spawn::default()
    })
    .await
}

async fn problem(r: reqwest::Response) -> (u16, Value) {
    let status = r.status().as_u16();
    assert_eq!(
        r.headers()["content-type"],
        "application/problem+json",
        "status {status} must be problem+json"
    );
    assert!(r.headers().contains_key("x-request-id"));
    (status, r.json().await.unwrap())
}

#[tokio::test]
async fn health_reports_both_dependencies() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/health").await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["store"], "ok");
    assert_eq!(body["queue"], "ok");
    app.shutdown().await;
}

#[tokio::test]
async fn health_is_503_naming_what_is_down() {
    let app = TestApp::spawn().await;
    // the SQLite backend only: closing the file takes the store down (the
    // Azure step of scripts/test.sh filters this test out)
    app.db
        .as_ref()
        .expect("runs on the SQLite backend")
        .close()
        .await
        .unwrap();
    let r = app.get("/api/health").await;
    assert_eq!(r.status(), 503);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["store"], "down");
    assert_eq!(body["status"], "degraded");
}

#[tokio::test]
async fn unknown_route_is_a_404_problem() {
    let app = TestApp::spawn().await;
    let (status, body) = problem(app.get("/api/no/such/route").await).await;
    assert_eq!(status, 404);
    assert_eq!(body["status"], 404);
    assert!(body["type"].as_str().unwrap().ends_with("/not-found"));
    app.shutdown().await;
}

#[tokio::test]
async fn wrong_method_is_a_405_problem() {
    let app = TestApp::spawn().await;
    let r = app
        .client
        .delete(app.url("/api/health"))
        .send()
        .await
        .unwrap();
    let (status, body) = problem(r).await;
    assert_eq!(status, 405);
    assert_eq!(body["title"], "Method Not Allowed");
    app.shutdown().await;
}

#[tokio::test]
async fn oversized_body_is_a_413_problem() {
    let app = edge_app().await;
    let huge = format!(
        r#"{{"email":"{}","quantity":1}}"#,
        "a".repeat(1024 * 1024 + 10)
    );
    let r = app
        .client
        .post(app.url("/api/test/echo"))
        .header("content-type", "application/json")
        .body(huge)
        .send()
        .await
        .unwrap();
    let (status, _) = problem(r).await;
    assert_eq!(status, 413);
    app.shutdown().await;
}

#[tokio::test]
async fn malformed_json_and_wrong_types_name_the_fields() {
    let app = edge_app().await;
    let r = app
        .client
        .post(app.url("/api/test/echo"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    let (status, body) = problem(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "body");

    let r = app
        .post_json(
            "/api/test/echo",
            &json!({"email": "a@b.c", "quantity": "many"}),
        )
        .await;
    let (status, body) = problem(r).await;
    assert_eq!(status, 400);
    assert_eq!(body["errors"][0]["field"], "quantity");

    // An array of the fields in order is not the object (serde would take it).
    let r = app.post_json("/api/test/echo", &json!(["a@b.c", 2])).await;
    let (status, body) = problem(r).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["errors"][0]["field"], "body");

    let r = app
        .post_json("/api/test/echo", &json!({"email": "a@b.c", "quantity": 2}))
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"email": "a@b.c", "quantity": 2})
    );
    app.shutdown().await;
}

#[tokio::test]
async fn a_panic_is_a_generic_500_problem() {
    let app = edge_app().await;
    let (status, body) = problem(app.get("/api/test/panic").await).await;
    assert_eq!(status, 500);
    assert!(
        !body.to_string().contains("secret"),
        "nothing internal leaks: {body}"
    );
    // the server survives it
    assert_eq!(app.get("/api/health").await.status(), 200);
    app.shutdown().await;
}

#[tokio::test]
async fn request_ids_are_set_and_echoed() {
    let app = TestApp::spawn().await;
    let r = app.get("/api/health").await;
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(!id.is_empty());
    let r = app
        .client
        .get(app.url("/api/health"))
        .header("x-request-id", "caller-chosen-42")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "caller-chosen-42");
    app.shutdown().await;
}

#[tokio::test]
async fn openapi_lists_every_http_function() {
    let app = edge_app().await;
    let r = app.get("/api/openapi.json").await;
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for function in jojomart::registry::functions() {
        if let jojomart::table::Trigger::Http { routes, .. } = function.trigger {
            let endpoint = jojomart::table::http_endpoint(routes);
            for method in endpoint.methods {
                assert!(
                    doc["paths"][&endpoint.path][method].is_object(),
                    "{} {} missing from the OpenAPI document",
                    method,
                    endpoint.path
                );
            }
        }
    }
    assert!(doc["paths"]["/api/test/echo"]["post"].is_object());
    app.shutdown().await;
}

#[tokio::test]
async fn openapi_documents_every_error_as_problem_json() {
    let app = TestApp::spawn().await;
    let (status, doc) = app.get_json("/api/openapi.json").await;
    assert_eq!(status, 200);
    assert!(
        doc["components"]["schemas"]["Problem"].is_object(),
        "the Problem schema is a component"
    );
    let mut wrong = Vec::new();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(responses) = operation["responses"].as_object() else {
                continue;
            };
            for (code, response) in responses {
                if !(code.starts_with('4') || code.starts_with('5') || code == "default") {
                    continue;
                }
                checked += 1;
                let content = &response["content"];
                let only_problem = content.as_object().is_some_and(|c| c.len() == 1)
                    && content["application/problem+json"]["schema"]["$ref"]
                        == "#/components/schemas/Problem";
                if !only_problem {
                    wrong.push(format!("{method} {path} {code}: {content}"));
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} error responses documented");
    assert!(
        wrong.is_empty(),
        "{} not problem+json:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    app.shutdown().await;
}

/// A CORS preflight for `POST /api/cart/items` from `origin`.
async fn preflight(app: &TestApp, origin: &str) -> reqwest::Response {
    app.client
        .request(reqwest::Method::OPTIONS, app.url("/api/cart/items"))
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization, content-type, x-cart-id",
        )
        .send()
        .await
        .expect("OPTIONS")
}

#[tokio::test(flavor = "multi_thread")]
async fn preflights_from_configured_origins_are_allowed_and_others_are_not() {
    let app =
        TestApp::spawn_configured(|c| c.cors_origins = vec!["https://shop.example".into()]).await;
    let r = preflight(&app, "https://shop.example").await;
    assert!(r.status().is_success(), "{}", r.status());
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let methods = r.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(methods.contains("post"), "{methods}");
    let headers = r.headers()["access-control-allow-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "authorization",
        "content-type",
        "idempotency-key",
        "x-cart-id",
        "x-order-token",
    ] {
        assert!(headers.contains(h), "{h} in {headers}");
    }
    assert_ne!(
        r.headers()
            .get("access-control-allow-credentials")
            .map(|v| v.to_str().unwrap()),
        Some("true"),
        "bearer tokens need no credentials"
    );

    let r = preflight(&app, "https://evil.example").await;
    assert!(!r.headers().contains_key("access-control-allow-origin"));
    assert!(!r.headers().contains_key("access-control-allow-headers"));

    // dev allows its own origin too
    let own = app.base.clone();
    let r = preflight(&app, &own).await;
    assert_eq!(r.headers()["access-control-allow-origin"], own.as_str());
    let localhost = own.replace("127.0.0.1", "localhost");
    let r = preflight(&app, &localhost).await;
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        localhost.as_str()
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn simple_requests_from_allowed_origins_see_the_cart_id() {
    let app =
        TestApp::spawn_configured(|c| c.cors_origins = vec!["https://shop.example".into()]).await;
    let r = app
        .client
        .get(app.url("/api/cart"))
        .header("origin", "https://shop.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["access-control-allow-origin"],
        "https://shop.example"
    );
    let exposed = r.headers()["access-control-expose-headers"]
        .to_str()
        .unwrap()
        .to_ascii_lowercase();
    assert!(exposed.contains("x-cart-id"), "{exposed}");
    assert!(exposed.contains("x-request-id"), "{exposed}");

    let r = app
        .client
        .get(app.url("/api/cart"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(!r.headers().contains_key("access-control-allow-origin"));
    app.shutdown().await;
}
