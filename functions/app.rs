//! Builds the app from its configuration, adapters and function table: the
//! axum router (forwarded HTTP routes, `POST /{FunctionName}` invocations, and
//! in `dev` the admin endpoint and the recorded mail at `/dev/mail`), the
//! middleware stack, and the server you can bind to port 0 in a test.

use std::{future::Future, net::SocketAddr};

use axum::{
    body::Bytes,
    extract::{DefaultBodyLimit, State},
    http::{header, HeaderValue, StatusCode},
    middleware::{from_fn, from_fn_with_state},
    response::{IntoResponse, Response},
    routing::post,
    Router,
};
use jojomart_shared::{config::Config, error::ApiError};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::{
    catch_panic::CatchPanicLayer,
    cors::CorsLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
};

use crate::{
    host::{self, InProcessHost, Invoker},
    http::{
        cors,
        extract::{parse_json, BodyLimit},
        host_only::host_only,
        middleware, TrustedProxyHops,
    },
    openapi,
    state::{Adapters, AppState, ServiceStartError},
    table::{functions_of, FunctionDef, ServiceDef, Trigger},
    wire::{InvocationRequest, InvocationResponse, QueueTrigger, TimerTrigger},
};

/// How the process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Everything in one process: the in-process host drives queues and timers.
    Dev,
    /// A custom handler under the Functions host, which drives queues and timers.
    Serve,
}

/// Everything needed to build the app.
#[derive(Debug)]
pub struct AppSettings {
    /// The configuration.
    pub config: Config,
    /// The adapters.
    pub adapters: Adapters,
    /// The services (the shipped ones, or a test's).
    pub services: Vec<ServiceDef>,
    /// Dev or serve.
    pub mode: Mode,
    /// Where to listen (port 0 picks a free one).
    pub address: SocketAddr,
}

/// A built app, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: Router,
    host: Option<InProcessHost>,
    state: AppState,
}

/// Why the app could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The address could not be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A timer's schedule does not parse.
    #[error(transparent)]
    Schedule(#[from] host::ncrontab::ScheduleError),
    /// A service could not start (signing key, password parameters...).
    #[error(transparent)]
    Service(#[from] ServiceStartError),
}

impl Application {
    /// Builds the router and binds the listener.
    ///
    /// # Errors
    /// [`StartupError`] when the address is taken or the table is inconsistent.
    pub async fn build(settings: AppSettings) -> Result<Self, StartupError> {
        if settings.mode == Mode::Serve && settings.config.auth.signing_key.is_none() {
            tracing::warn!("JOJOMART_JWT_SIGNING_KEY is not set: access tokens are signed with a key kept in the store");
        }
        let listener = TcpListener::bind(settings.address)
            .await
            .map_err(|source| StartupError::Bind {
                address: settings.address,
                source,
            })?;
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let mut config = settings.config;
        config.auth.admin_needs_verified_email = settings.mode == Mode::Serve;
        if settings.mode == Mode::Dev {
            // dev keeps every mail for GET /dev/mail, whose links point at itself
            config.mail.record = true;
            config
                .public_url
                .get_or_insert_with(|| format!("http://127.0.0.1:{port}"));
        }
        let state = AppState::start(config, settings.adapters, &settings.services).await?;
        let functions = functions_of(&settings.services);
        let functions_router = router(state.clone(), &functions);
        let (router, host) = match settings.mode {
            Mode::Dev => {
                let host = InProcessHost::new(
                    Invoker::new(functions_router.clone()),
                    state.clone(),
                    functions,
                );
                let mut router = functions_router
                    .merge(host::admin::routes(host.clone()))
                    .merge(crate::http::media::routes(state.adapters().blobs.clone()))
                    .merge(crate::http::web::routes());
                if let Some(notifications) = state.try_handle() {
                    router = router.merge(crate::notifications::dev_mail::routes(notifications));
                }
                (router, Some(host))
            }
            Mode::Serve => (functions_router, None),
        };
        let hops = state
            .config()
            .trusted_proxy_hops
            .unwrap_or(match settings.mode {
                Mode::Dev => 0,
                Mode::Serve => 1,
            });
        let mut origins = state.config().cors_origins.clone();
        if settings.mode == Mode::Dev {
            origins.push(format!("http://127.0.0.1:{port}"));
            origins.push(format!("http://localhost:{port}"));
        }
        let router = with_middleware(router, state.config().max_body_bytes, cors::layer(&origins))
            .layer(axum::Extension(TrustedProxyHops(hops)));
        Ok(Self {
            listener,
            router,
            host,
            state,
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// The app's state (for tests and seeding).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then stops taking work, finishes the
    /// requests and invocations in flight, and returns.
    ///
    /// # Errors
    /// An I/O error from the server, or a timer schedule that does not parse.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        if let Some(host) = &self.host {
            host.start().await?;
        }
        let address = self.listener.local_addr().ok();
        tracing::info!(?address, "listening");
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        tracing::info!("stopped taking requests; finishing invocations in flight");
        if let Some(host) = &self.host {
            host.shutdown().await;
        }
        served.map_err(|source| StartupError::Bind {
            address: address.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            source,
        })
    }
}

/// The routes of every function in the table, each under its invocation span.
pub fn router(state: AppState, functions: &[FunctionDef]) -> Router {
    let mut router = Router::<AppState>::new();
    let mut doc = openapi::base();
    for function in functions {
        let span = from_fn_with_state(function.name, middleware::invocation_span);
        match &function.trigger {
            Trigger::Http { routes, .. } => {
                let (schemas, paths, method_router) = routes();
                for path in paths.paths.keys() {
                    router = router.route(path, method_router.clone().layer(span.clone()));
                }
                openapi::merge(&mut doc, schemas, paths);
            }
            Trigger::Queue { handler, .. } => {
                let handler = handler.clone();
                let invoke = move |State(state): State<AppState>, body: Bytes| async move {
                    let parsed = parse_json::<InvocationRequest>(&body)
                        .and_then(|req| QueueTrigger::from_request(&req).map_err(bad_payload));
                    match parsed {
                        Ok(trigger) => answer(handler(state, trigger).await),
                        Err(e) => answer(Err(e)),
                    }
                };
                router = router.route(
                    &format!("/{}", function.name),
                    post(invoke).layer(from_fn(host_only)).layer(span),
                );
            }
            Trigger::Timer { handler, .. } => {
                let handler = handler.clone();
                let invoke = move |State(state): State<AppState>, body: Bytes| async move {
                    let parsed = parse_json::<InvocationRequest>(&body)
                        .and_then(|req| TimerTrigger::from_request(&req).map_err(bad_payload));
                    match parsed {
                        Ok(trigger) => answer(handler(state, trigger).await),
                        Err(e) => answer(Err(e)),
                    }
                };
                router = router.route(
                    &format!("/{}", function.name),
                    post(invoke).layer(from_fn(host_only)).layer(span),
                );
            }
        }
    }
    openapi::problem_errors(&mut doc);
    state.set_openapi_json(openapi::render(&doc));
    router.fallback(not_found).with_state(state)
}

/// The router `serve` runs, without binding a port: every function's routes
/// under the full middleware stack (request ids, problem+json for bare errors,
/// panics, body limits). In-process tests call it with
/// `tower::ServiceExt::oneshot`; [`Application::build`] adds the in-process
/// host's admin endpoint under `dev` and serves the same stack on a listener.
pub fn service_router(state: AppState, functions: &[FunctionDef]) -> Router {
    let max_body_bytes = state.config().max_body_bytes;
    let cors = cors::layer(&state.config().cors_origins);
    with_middleware(router(state, functions), max_body_bytes, cors)
}

fn bad_payload(e: crate::wire::WireError) -> ApiError {
    ApiError::invalid_field("Data", e.to_string())
}

/// The host's answer: JSON always (text/plain makes the host fail the invocation),
/// non-2xx on failure so the host retries the message.
fn answer(result: Result<InvocationResponse, ApiError>) -> Response {
    let (status, body, mut response) = match result {
        Ok(ok) => (StatusCode::OK, ok, StatusCode::OK.into_response()),
        Err(e) => {
            let failed = InvocationResponse {
                logs: vec![e.problem().detail],
                ..Default::default()
            };
            (e.status(), failed, e.into_response())
        }
    };
    *response.status_mut() = status;
    *response.body_mut() = serde_json::to_vec(&body).unwrap_or_default().into();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no route matches this path".into())
}

/// The middleware every route runs under, outermost first.
pub(crate) fn with_middleware(router: Router, max_body_bytes: usize, cors: CorsLayer) -> Router {
    router.layer(
        ServiceBuilder::new()
            .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(from_fn_with_state(cors, cors::for_api))
            .layer(from_fn_with_state(
                max_body_bytes,
                middleware::problem_for_bare_errors,
            ))
            .layer(axum::Extension(BodyLimit(max_body_bytes)))
            .layer(CatchPanicLayer::custom(middleware::panic_response))
            .layer(from_fn_with_state(max_body_bytes, limit_body))
            .layer(DefaultBodyLimit::max(max_body_bytes)),
    )
}

/// Caps every request body at `max_body_bytes`, or at the route's own larger
/// limit ([`crate::http::extract::upload_limit`]: image uploads); a declared
/// length over it is a 413 at once, a streamed body fails its read with one.
async fn limit_body(
    State(max_body_bytes): State<usize>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let limit = crate::http::extract::upload_limit(request.method(), request.uri().path())
        .unwrap_or(max_body_bytes);
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let (parts, body) = request.into_parts();
    let body = axum::body::Body::new(http_body_util::Limited::new(body, limit));
    next.run(axum::extract::Request::from_parts(parts, body))
        .await
}
