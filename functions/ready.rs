//! `serve`'s startup: bind the port first, then connect to the store and the
//! queue (and start the services) in the background, retrying with backoff.
//! The Functions host waits only about 30 s for the worker's port, and right
//! after a first deployment the app's role assignments are often not effective
//! yet; a worker that connected before listening would restart-loop. Until the
//! app is ready, `GET /api/health` answers 503 naming the settings whose
//! services cannot be reached, and every other route answers 503 problem+json
//! (the host retries queue and timer invocations).

use std::{
    net::SocketAddr,
    sync::{Arc, Mutex, OnceLock},
    time::Duration,
};

use axum::{
    extract::{Request, State},
    http::StatusCode,
    response::{IntoResponse, Response},
    Router,
};
use futures::future::BoxFuture;
use jojomart_shared::{
    config::{Config, QueueBackend, StoreBackend},
    error::ApiError,
    sqlite::Database,
};
use serde_json::json;
use tokio::{net::TcpListener, task::JoinHandle};
use tower::ServiceExt;

use crate::{
    adapters::{AdapterError, Opened},
    app::{self, StartupError},
    http::{cors, TrustedProxyHops},
    state::AppState,
    table::{functions_of, ServiceDef},
};

/// Opens the adapters; called again after each failure.
pub type Connect = Box<dyn Fn() -> BoxFuture<'static, Result<Opened, AdapterError>> + Send + Sync>;

/// The first wait after a failed attempt; it doubles up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Where startup stands, shared by the gate and the connecting task.
#[derive(Default)]
struct Readiness {
    /// The functions' router, once the services have started.
    router: OnceLock<Router>,
    /// The settings naming what could not be reached at the last attempt.
    unreachable: Mutex<Vec<String>>,
    /// The embedded database, when one is open, to close on the way out.
    database: Mutex<Option<Database>>,
}

/// `serve`'s app: bound to its port, answering 503 until connected.
pub struct LazyApplication {
    listener: TcpListener,
    router: Router,
    readiness: Arc<Readiness>,
    connect: Option<(Config, Vec<ServiceDef>, Connect)>,
}

impl LazyApplication {
    /// Binds `address`; nothing is connected yet.
    ///
    /// # Errors
    /// [`StartupError::Bind`] when the address is taken.
    pub async fn bind(
        config: Config,
        services: Vec<ServiceDef>,
        address: SocketAddr,
        connect: Connect,
    ) -> Result<Self, StartupError> {
        let listener = TcpListener::bind(address)
            .await
            .map_err(|source| StartupError::Bind { address, source })?;
        let readiness = Arc::new(Readiness::default());
        let kinds = Kinds::of(&config);
        let gate = Router::new()
            .fallback(gate)
            .with_state((readiness.clone(), kinds));
        let hops = config.trusted_proxy_hops.unwrap_or(1);
        let router = app::with_middleware(
            gate,
            config.max_body_bytes,
            cors::layer(&config.cors_origins),
        )
        .layer(axum::Extension(TrustedProxyHops(hops)));
        Ok(Self {
            listener,
            router,
            readiness,
            connect: Some((config, services, connect)),
        })
    }

    /// The port actually bound.
    pub fn port(&self) -> u16 {
        self.listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_default()
    }

    /// Serves at once, connects in the background, and stops taking requests
    /// when `shutdown` resolves.
    ///
    /// # Errors
    /// An I/O error from the server.
    pub async fn run_until_stopped(
        mut self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartupError> {
        let connecting: Option<JoinHandle<()>> = self
            .connect
            .take()
            .map(|(c, s, f)| tokio::spawn(connect_until_ready(self.readiness.clone(), c, s, f)));
        let address = self.listener.local_addr().ok();
        tracing::info!(?address, "listening; connecting to the store and the queue");
        let service = self
            .router
            .into_make_service_with_connect_info::<SocketAddr>();
        let served = axum::serve(self.listener, service)
            .with_graceful_shutdown(shutdown)
            .await;
        if let Some(task) = connecting {
            task.abort();
        }
        let database = self
            .readiness
            .database
            .lock()
            .map(|mut d| d.take())
            .unwrap_or_default();
        if let Some(database) = database {
            if let Err(e) = database.close().await {
                tracing::warn!(error = %e, "closing the embedded store");
            }
        }
        served.map_err(|source| StartupError::Bind {
            address: address.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0))),
            source,
        })
    }
}

/// Tries to connect and start the services until it works, waiting longer
/// after each failure; records what could not be reached for the health report.
async fn connect_until_ready(
    readiness: Arc<Readiness>,
    config: Config,
    services: Vec<ServiceDef>,
    connect: Connect,
) {
    let mut wait = FIRST_BACKOFF;
    let mut attempt = 1u32;
    loop {
        let failed = match connect().await {
            Ok(opened) => {
                let database = opened.database;
                match AppState::start(config.clone(), opened.adapters, &services).await {
                    Ok(state) => {
                        if let Ok(mut slot) = readiness.database.lock() {
                            *slot = database;
                        }
                        let router = app::router(state, &functions_of(&services));
                        let _ = readiness.router.set(router);
                        set_unreachable(&readiness, Vec::new());
                        tracing::info!(attempt, "connected; serving every function");
                        return;
                    }
                    Err(e) => {
                        if let Some(database) = database {
                            let _ = database.close().await;
                        }
                        tracing::warn!(attempt, error = %e, retry_in_ms = wait.as_millis() as u64, "a service could not start; retrying");
                        vec![store_setting(&config).to_owned()]
                    }
                }
            }
            Err(e) => {
                tracing::warn!(attempt, error = %e, retry_in_ms = wait.as_millis() as u64, "cannot connect yet; retrying");
                vec![e.setting().to_owned()]
            }
        };
        set_unreachable(&readiness, failed);
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

fn set_unreachable(readiness: &Readiness, names: Vec<String>) {
    if let Ok(mut slot) = readiness.unreachable.lock() {
        *slot = names;
    }
}

/// The setting that names the store (what a failing service start most likely waits for).
fn store_setting(config: &Config) -> &'static str {
    match config.store {
        StoreBackend::Cosmos => "COSMOS_ENDPOINT",
        StoreBackend::Sqlite => "JOJOMART_DATA_DIR",
    }
}

/// The adapters' names, for the health report before they exist.
#[derive(Debug, Clone, Copy)]
struct Kinds {
    store: &'static str,
    queue: &'static str,
}

impl Kinds {
    fn of(config: &Config) -> Self {
        Self {
            store: match config.store {
                StoreBackend::Cosmos => "cosmos",
                StoreBackend::Sqlite => "sqlite",
            },
            queue: match config.queue {
                QueueBackend::Azure => "azure",
                QueueBackend::Sqlite => "sqlite",
            },
        }
    }
}

/// Forwards to the functions' router once ready; 503 before.
async fn gate(
    State((readiness, kinds)): State<(Arc<Readiness>, Kinds)>,
    request: Request,
) -> Response {
    if let Some(router) = readiness.router.get() {
        return match router.clone().oneshot(request).await {
            Ok(response) => response,
            Err(never) => match never {},
        };
    }
    if request.uri().path() == "/api/health" {
        let unreachable = readiness
            .unreachable
            .lock()
            .map(|u| u.clone())
            .unwrap_or_default();
        let down = |queue: bool| {
            let named = unreachable
                .iter()
                .any(|s| s.starts_with("AzureWebJobsStorage") == queue);
            if named {
                "down"
            } else {
                "unknown"
            }
        };
        let body = json!({
            "status": "starting",
            "store": down(false),
            "queue": down(true),
            "storeKind": kinds.store,
            "queueKind": kinds.queue,
            "unreachable": unreachable,
        });
        return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    }
    ApiError::Unavailable("the app is still connecting to its store and queue".into())
        .into_response()
}
