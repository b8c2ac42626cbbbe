//! The app without TCP: the router `jojomart::app::service_router` builds
//! (every function under the full middleware stack) over the same fresh
//! adapters as [`super::TestApp`], called with `tower::ServiceExt::oneshot`.
//! For tests that ask many small questions, like the validation matrix.

use std::{collections::BTreeMap, sync::Arc};

use axum::{
    body::Body,
    http::{header, Method, Request},
    Router,
};
use jojomart::{
    auth::tokens::ACCOUNT_TOKENS,
    payments::simulator::{Simulator, SimulatorSettings},
    state::{Adapters, AppState},
    table::{containers_of, functions_of, ServiceDef},
};
use jojomart_shared::{
    cache::memory::MemoryCache,
    clock::SystemClock,
    config::Secret,
    sqlite::Database,
    store::{Filter, Query},
};
use serde_json::Value;
use tower::ServiceExt;

use super::{fresh_adapters, s, test_config, test_services, ADMIN_EMAIL};

/// An answer: status, `Content-Type` and the body as JSON (`null` when empty or not JSON).
#[derive(Debug)]
pub struct Reply {
    /// The status.
    pub status: u16,
    /// The `Content-Type` header, or "".
    pub content_type: String,
    /// The body.
    pub body: Value,
}

/// The shipped app (and the auth probes) as a router over fresh adapters.
pub struct InProcessApp {
    router: Router,
    services: Vec<ServiceDef>,
    /// The app's state.
    pub state: AppState,
    /// The gateway simulator checkout charges through (its webhooks go nowhere: nothing listens).
    _simulator: Simulator,
    _db: Option<Database>,
    _dir: tempfile::TempDir,
}

impl InProcessApp {
    /// Starts the services over fresh adapters and builds the router; nothing listens.
    pub async fn start() -> Self {
        jojomart_shared::telemetry::init_for_tests();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(dir.path().to_path_buf());
        let secrets = SimulatorSettings::random();
        let simulator = Simulator::start(([127, 0, 0, 1], 0).into(), secrets.clone())
            .await
            .expect("start the gateway simulator");
        config.payments.api_base = simulator.base_url();
        config.payments.secret_key = Some(Secret::new(secrets.secret_key.clone()));
        config.payments.webhook_secret = Some(Secret::new(secrets.webhook_secret.clone()));
        let services = test_services(Vec::new());
        let clock = Arc::new(SystemClock);
        let (store, queue, db) = fresh_adapters(&config, &services, clock.clone()).await;
        let adapters = Adapters {
            store,
            queue,
            cache: Arc::new(MemoryCache::new(clock.clone())),
            clock,
            blobs: Arc::new(jojomart::adapters::file_blobs(&config)),
        };
        let state = AppState::start(config, adapters, &services)
            .await
            .expect("start services");
        let router = jojomart::app::service_router(state.clone(), &functions_of(&services));
        Self {
            router,
            services,
            state,
            _simulator: simulator,
            _db: db,
            _dir: dir,
        }
    }

    /// Sends one request through the router; `body` goes as `application/json`.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.call_with(method, path, token, &[], body).await
    }

    /// [`InProcessApp::call`] with extra request headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        headers: &[(&str, String)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match body {
            Some(bytes) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).expect("request"))
            .await
            .expect("the router is infallible");
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("response body");
        Reply {
            status,
            content_type,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        }
    }

    /// `GET path`, expecting 200; the body.
    pub async fn get_ok(&self, path: &str, token: Option<&str>) -> Value {
        let reply = self.call(Method::GET, path, token, None).await;
        assert_eq!(reply.status, 200, "GET {path}: {:?}", reply.body);
        reply.body
    }

    /// Sends a JSON body and expects `status`; the answer's body.
    pub async fn send_ok(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: &Value,
        status: u16,
    ) -> Value {
        let reply = self
            .call(
                method.clone(),
                path,
                token,
                Some(body.to_string().into_bytes()),
            )
            .await;
        assert_eq!(reply.status, status, "{method} {path}: {:?}", reply.body);
        reply.body
    }

    /// Registers a named account; the 201 body.
    pub async fn register(&self, email: &str, name: &str) -> Value {
        let body =
            serde_json::json!({"email": email, "password": super::auth::PASSWORD, "name": name});
        let session = self
            .send_ok(Method::POST, "/api/auth/register", None, &body, 201)
            .await;
        self.mail_relayed().await;
        session
    }

    /// Waits until the outbox has sent every account mail auth staged (the
    /// registration's verification mail), so that the relay marking one sent
    /// is not taken for a write of the route a test calls next.
    pub async fn mail_relayed(&self) {
        let store = self.state.adapters().store.clone();
        super::eventually(
            std::time::Duration::from_secs(10),
            "the mail requests relayed",
            || async {
                let staged = Query::new(ACCOUNT_TOKENS).filter(Filter::And(vec![
                    Filter::eq("kind", "outbox"),
                    Filter::eq("state", "staged"),
                ]));
                let page = store.query(&staged).await.expect("query the outbox");
                page.items.is_empty().then_some(())
            },
        )
        .await;
    }

    /// Registers [`ADMIN_EMAIL`]; its access token.
    pub async fn admin(&self) -> String {
        s(
            &self.register(ADMIN_EMAIL, "Ada Admin").await,
            "accessToken",
        )
        .to_owned()
    }

    /// Every stored document of every container, by `container/partition/id`,
    /// with its ETag: equal snapshots mean nothing was written in between.
    pub async fn documents(&self) -> BTreeMap<String, String> {
        let store = &self.state.adapters().store;
        let mut documents = BTreeMap::new();
        for container in containers_of(&self.services) {
            let mut continuation = None;
            loop {
                let query = Query::new(container).limit(1000).continuation(continuation);
                let page = store.query(&query).await.expect("query");
                for doc in page.items {
                    documents.insert(
                        format!("{}/{}/{}", container.name, doc.partition_key, doc.id),
                        doc.etag.0,
                    );
                }
                match page.continuation {
                    Some(next) => continuation = Some(next),
                    None => break,
                }
            }
        }
        documents
    }
}
