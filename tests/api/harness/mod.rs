//! The one test harness: [`TestApp`] is the app spawned on port 0 over a fresh
//! store, talked to over real HTTP, with typed helpers per service
//! (`app.analytics()`, `app.auth()`, `app.users()`, `app.catalog()`, `app.cart()`, `app.orders()`,
//! `app.payments()`, `app.reviews()`, `app.notifications()`; [`smtp`] is a mail
//! server the app can send to, [`TestApp::spawn_with_smtp`]); every [`TestApp`] charges through its own
//! gateway simulator (Stripe's wire on a free port), whose webhooks reach the app;
//! [`in_process::InProcessApp`] is the same app as a router called with
//! `oneshot`, no TCP; [`dev::DevProcess`] is the real `jojomart dev` binary.
//!
//! The adapters are a fresh SQLite file, or, with `JOJOMART_E2E_BACKEND=azure`
//! (set by `scripts/test.sh` inside `scripts/emulators.sh run`), a fresh Cosmos
//! database on the emulator, Azurite's queues, emptied first, and a Blob
//! Storage container of its own on Azurite for images. Azure runs are
//! serial (`-j 1`), since the queues are shared.

pub mod analytics;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod collector;
pub mod dev;
pub mod images;
pub mod in_process;
pub mod notifications;
pub mod orders;
pub mod payments;
pub mod reviews;
pub mod smtp;
pub mod users;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use jojomart::{
    app::{AppSettings, Application, Mode},
    payments::{
        simulator::{Simulator, SimulatorSettings},
        WEBHOOK_PATH,
    },
    state::{Adapters, AppState},
    table::{containers_of, functions_of, queues_of, FunctionDef, ServiceDef},
};
use jojomart_shared::{
    blob::SharedBlobs,
    cache::{memory::MemoryCache, SharedCache},
    clock::{SharedClock, SystemClock},
    config::{Config, Secret},
    queue::SharedQueue,
    sqlite::Database,
    store::SharedStore,
};
use reqwest::Method;
use serde_json::Value;

/// The email that gets the admin role in every test app.
pub const ADMIN_EMAIL: &str = "admin@jojomart.test";

/// Which adapters the end-to-end tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file per app.
    Sqlite,
    /// Cosmos DB and Storage Queue emulators.
    Azure,
    /// The Cosmos SDK's in-process emulator (a fresh one per app) for the
    /// store, the embedded queue beside it (`cosmos-in-process`; needs the
    /// `cosmos-emulator` feature).
    CosmosInProcess,
}

/// The backend chosen by `JOJOMART_E2E_BACKEND` (default SQLite).
pub fn backend() -> Backend {
    match std::env::var("JOJOMART_E2E_BACKEND").as_deref() {
        Ok("azure") => Backend::Azure,
        Ok("cosmos-in-process") => Backend::CosmosInProcess,
        _ => Backend::Sqlite,
    }
}

/// Builds a test app's cache on its (wrapped) store and its clock.
pub type MakeCache = Box<dyn FnOnce(&SharedStore, &SharedClock) -> SharedCache + Send>;

/// Options for [`TestApp::spawn_with`]; `Spawn::default()` is the shipped app
/// in `dev` mode on the system clock.
pub struct Spawn {
    /// Test-only functions, served beside the shipped services' functions and
    /// the auth probes ([`auth::probes`]).
    pub extra_functions: Vec<FunctionDef>,
    /// Dev or serve.
    pub mode: Mode,
    /// Adjusts the configuration, after the test defaults ([`test_config`]).
    pub configure: Box<dyn FnOnce(&mut Config) + Send>,
    /// The clock (the system clock unless a test wants a fake one).
    pub clock: SharedClock,
    /// Decorates the store (to inject latency, say).
    pub wrap_store: Box<dyn FnOnce(SharedStore) -> SharedStore + Send>,
    /// Runs on this data dir (another app's `dir.path()`, which must outlive
    /// this one) instead of a fresh one: on the SQLite backend it opens the
    /// same file again, as a second `jojomart dev` on one store does. The
    /// Azure backend ignores it (each app gets its own database).
    pub data_dir: Option<PathBuf>,
    /// Runs on another app's store and queue instead of fresh ones (on the
    /// Cosmos backends: the same database and queues, as a second instance of
    /// the Function App does).
    pub adapters_of: Option<(SharedStore, SharedQueue)>,
    /// Builds the cache on the (wrapped) store and the clock; in-process by default.
    pub cache: MakeCache,
}

impl Default for Spawn {
    fn default() -> Self {
        Self {
            extra_functions: Vec::new(),
            mode: Mode::Dev,
            configure: Box::new(|_| {}),
            clock: Arc::new(SystemClock),
            wrap_store: Box::new(|store| store),
            data_dir: None,
            adapters_of: None,
            cache: Box::new(|_, clock| Arc::new(MemoryCache::new(clock.clone()))),
        }
    }
}

/// The configuration every test app starts from: a data dir, [`ADMIN_EMAIL`]
/// as admin, and cheap argon2 parameters (tests register many users; the one
/// test about hashing cost puts the real ones back).
pub fn test_config(data_dir: PathBuf) -> Config {
    let mut config = Config {
        data_dir,
        admin_emails: vec![ADMIN_EMAIL.to_owned()],
        ..Config::default()
    };
    config.auth.password.memory_kib = 64;
    config.auth.password.iterations = 1;
    config.auth.password.parallelism = 1;
    // Tests register many accounts from one address; the registration throttle's own tests lower it.
    config.auth.throttle.max_registrations_per_client = 10_000;
    config
}

/// The shipped services plus a `test` service holding the auth probes and `extra`.
pub fn test_services(extra: Vec<FunctionDef>) -> Vec<ServiceDef> {
    let mut services = jojomart::registry::services();
    let mut functions = auth::probes();
    functions.extend(extra);
    services.push(ServiceDef::new("test").functions(functions));
    services
}

/// The in-process Cosmos emulator's store, when the backend is one (it
/// counts the request units charged).
pub type InProcessCosmos = Option<Arc<jojomart_shared::store::cosmos::CosmosStore>>;

/// Fresh adapters for `services` on the chosen [`backend`]; the SQLite
/// database is returned too (close it to take the store down).
pub async fn fresh_adapters(
    config: &Config,
    services: &[ServiceDef],
    clock: SharedClock,
) -> (SharedStore, SharedQueue, Option<Database>) {
    let (store, queue, db, _) = fresh_adapters_counted(config, services, clock).await;
    (store, queue, db)
}

/// [`fresh_adapters`], with the in-process Cosmos store when there is one.
pub async fn fresh_adapters_counted(
    config: &Config,
    services: &[ServiceDef],
    clock: SharedClock,
) -> (SharedStore, SharedQueue, Option<Database>, InProcessCosmos) {
    match backend() {
        Backend::Sqlite => {
            let db = Database::open(&config.data_dir.join("jojomart.db"), clock).expect("open db");
            let store: SharedStore = Arc::new(db.store());
            let queue: SharedQueue = Arc::new(db.queue());
            (store, queue, Some(db), None)
        }
        Backend::Azure => {
            let (store, queue) = azure_adapters(services).await;
            (store, queue, None, None)
        }
        Backend::CosmosInProcess => {
            let db = Database::open(&config.data_dir.join("jojomart.db"), clock).expect("open db");
            let queue: SharedQueue = Arc::new(db.queue());
            let cosmos = in_process_cosmos(services).await;
            (cosmos.clone(), queue, Some(db), Some(cosmos))
        }
    }
}

/// A fresh in-process Cosmos emulator with every container of `services`.
#[cfg(feature = "cosmos-emulator")]
async fn in_process_cosmos(
    services: &[ServiceDef],
) -> Arc<jojomart_shared::store::cosmos::CosmosStore> {
    use jojomart_shared::store::cosmos::{CosmosStore, CosmosStoreOptions};
    let store =
        CosmosStore::in_memory_emulator(CosmosStoreOptions::default(), &containers_of(services))
            .await
            .expect("the in-process Cosmos emulator");
    Arc::new(store)
}

/// Without the `cosmos-emulator` feature there is no in-process emulator.
#[cfg(not(feature = "cosmos-emulator"))]
async fn in_process_cosmos(
    _services: &[ServiceDef],
) -> Arc<jojomart_shared::store::cosmos::CosmosStore> {
    panic!(
        "JOJOMART_E2E_BACKEND=cosmos-in-process needs --features cosmos-emulator (--all-features)"
    )
}

/// A fresh Cosmos database on the emulator, and Azurite's queues with every
/// queue the table uses emptied.
async fn azure_adapters(services: &[ServiceDef]) -> (SharedStore, SharedQueue) {
    use jojomart_shared::{
        azure_settings::{CosmosSettings, QueueSettings},
        queue::{azure::AzureQueue, poison_queue},
        store::cosmos::CosmosStore,
    };
    let mut cosmos = CosmosSettings::from_env().expect("COSMOS_* set by scripts/emulators.sh");
    cosmos.database = format!("e2e-{}", uuid::Uuid::new_v4().simple());
    let store = CosmosStore::connect(&cosmos)
        .await
        .expect("connect to the Cosmos emulator");
    store
        .ensure_containers(&containers_of(services))
        .await
        .expect("create containers");
    let queue = AzureQueue::connect(
        &QueueSettings::from_env().expect("AzureWebJobsStorage set by scripts/emulators.sh"),
    )
    .expect("queue adapter");
    let mut names: Vec<String> = queues_of(services).iter().map(|q| q.to_string()).collect();
    for f in functions_of(services) {
        if let jojomart::table::Trigger::Queue { queue, .. } = &f.trigger {
            names.push(queue.to_string());
        }
        names.extend(f.outputs.iter().map(|o| o.queue.to_string()));
    }
    for name in names {
        for q in [name.clone(), poison_queue(&name)] {
            let _ = queue.delete_queue(&q).await;
        }
    }
    (Arc::new(store), Arc::new(queue))
}

/// Fresh blobs on the chosen [`backend`]: the files adapter under the data
/// dir, or on the Azure backend a Blob Storage container of its own on
/// Azurite (public blob read, as `jojomart provision` creates it).
pub async fn fresh_blobs(config: &Config) -> SharedBlobs {
    match backend() {
        Backend::Azure => {
            use jojomart_shared::{azure_settings::BlobSettings, blob::azure::AzureBlobs};
            let mut settings =
                BlobSettings::from_env().expect("AzureWebJobsStorage set by scripts/emulators.sh");
            settings.container = format!("e2e-{}", uuid::Uuid::new_v4().simple());
            settings.media_base_url = config.media_base_url.clone();
            let blobs = AzureBlobs::connect(&settings).expect("blob adapter");
            blobs
                .ensure_container()
                .await
                .expect("create the image container on Azurite");
            Arc::new(blobs)
        }
        Backend::Sqlite | Backend::CosmosInProcess => {
            Arc::new(jojomart::adapters::file_blobs(config))
        }
    }
}

/// A running app and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// A client with a 30 s timeout.
    pub client: reqwest::Client,
    /// The app's state (store, queue, clock, service handles).
    pub state: AppState,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    stopped: Option<tokio::task::JoinHandle<()>>,
    /// The embedded database on the SQLite backend (close it to take the store down).
    pub db: Option<Database>,
    /// The in-process Cosmos emulator's store on that backend (request units).
    pub cosmos: InProcessCosmos,
    /// The gateway simulator the app charges through (reach it through
    /// `app.payments().gateway()`, the Stripe adapter, not directly).
    pub simulator: Simulator,
    gateway_secrets: SimulatorSettings,
    dir: tempfile::TempDir,
}

impl TestApp {
    /// Spawns the shipped app in `dev` mode.
    pub async fn spawn() -> Self {
        Self::spawn_with(Spawn::default()).await
    }

    /// Spawns the shipped app with the test defaults, then `configure` applied.
    pub async fn spawn_configured(configure: impl FnOnce(&mut Config) + Send + 'static) -> Self {
        Self::spawn_with(Spawn {
            configure: Box::new(configure),
            ..Spawn::default()
        })
        .await
    }

    /// Spawns an app with the given options.
    pub async fn spawn_with(spawn: Spawn) -> Self {
        jojomart_shared::telemetry::init_for_tests();
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(
            spawn
                .data_dir
                .clone()
                .unwrap_or_else(|| dir.path().to_path_buf()),
        );
        let gateway_secrets = SimulatorSettings::random();
        let simulator = Simulator::start(
            SocketAddr::from(([127, 0, 0, 1], 0)),
            gateway_secrets.clone(),
        )
        .await
        .expect("start the gateway simulator");
        simulator.set_clock(spawn.clock.clone());
        config.payments.api_base = simulator.base_url();
        config.payments.secret_key = Some(Secret::new(gateway_secrets.secret_key.clone()));
        config.payments.webhook_secret = Some(Secret::new(gateway_secrets.webhook_secret.clone()));
        (spawn.configure)(&mut config);
        let services = test_services(spawn.extra_functions);
        let (store, queue, db, cosmos) = match spawn.adapters_of {
            Some((store, queue)) => (store, queue, None, None),
            None => fresh_adapters_counted(&config, &services, spawn.clock.clone()).await,
        };
        let store = (spawn.wrap_store)(store);
        let cache = (spawn.cache)(&store, &spawn.clock);
        let adapters = Adapters {
            store,
            queue,
            clock: spawn.clock,
            cache,
            blobs: fresh_blobs(&config).await,
        };
        let app = Application::build(AppSettings {
            config,
            adapters,
            services,
            mode: spawn.mode,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
        })
        .await
        .expect("build app");
        let base = format!("http://127.0.0.1:{}", app.port());
        simulator.set_webhook_url(format!("{base}{WEBHOOK_PATH}"));
        let state = app.state().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            app.run_until_stopped(async {
                let _ = stopped.await;
            })
            .await
            .expect("app ran");
        });
        Self {
            base,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            state,
            stop: Some(stop),
            stopped: Some(handle),
            db,
            cosmos,
            simulator,
            gateway_secrets,
            dir,
        }
    }

    /// The app's data dir (where its SQLite file lives).
    pub fn data_dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Checkout and the order routes.
    pub fn orders(&self) -> orders::OrdersApi<'_> {
        orders::OrdersApi(self)
    }

    /// The analytics summary, the rollup, and draining the analytics queue.
    pub fn analytics(&self) -> analytics::AnalyticsApi<'_> {
        analytics::AnalyticsApi(self)
    }

    /// The auth service's routes.
    pub fn auth(&self) -> auth::AuthApi<'_> {
        auth::AuthApi(self)
    }

    /// The users service's routes.
    pub fn users(&self) -> users::UsersApi<'_> {
        users::UsersApi(self)
    }

    /// The cart's routes, and sign-in with a cart.
    pub fn cart(&self) -> cart::CartApi<'_> {
        cart::CartApi(self)
    }

    /// The catalog's routes (products, categories, inventory).
    pub fn catalog(&self) -> catalog::CatalogApi<'_> {
        catalog::CatalogApi(self)
    }

    /// Product images: upload, delete, `/media/...`.
    pub fn images(&self) -> images::ImagesApi<'_> {
        images::ImagesApi(self)
    }

    /// The notifications service: its route, its queue function, `/dev/mail`.
    pub fn notifications(&self) -> notifications::NotificationsApi<'_> {
        notifications::NotificationsApi(self)
    }

    /// Spawns the shipped app sending its mail to `smtp`, then `configure` applied.
    pub async fn spawn_with_smtp(
        smtp: &smtp::SmtpServer,
        configure: impl FnOnce(&mut Config) + Send + 'static,
    ) -> Self {
        let url = smtp.url();
        Self::spawn_configured(move |c| {
            c.mail.smtp =
                Some(jojomart_shared::config::SmtpSettings::parse(&url).expect("SMTP URL"));
            configure(c);
        })
        .await
    }

    /// Waits (up to 30 s) until `queue` is empty (every message handled and
    /// deleted), then checks its poison queue stayed empty.
    pub async fn drained(&self, queue: &str) {
        let adapters = self.state.adapters().queue.clone();
        eventually(Duration::from_secs(30), &format!("{queue} drained"), || {
            let q = adapters.clone();
            async move { (q.approximate_count(queue).await.ok()? == 0).then_some(()) }
        })
        .await;
        let poison = jojomart_shared::queue::poison_queue(queue);
        assert_eq!(
            adapters.approximate_count(&poison).await.unwrap_or(0),
            0,
            "nothing was poisoned into {poison}"
        );
    }

    /// The reviews service's routes.
    pub fn reviews(&self) -> reviews::ReviewsApi<'_> {
        reviews::ReviewsApi(self)
    }

    /// Payments: the gateway (the Stripe adapter on the simulator), the webhook, listeners.
    pub fn payments(&self) -> payments::PaymentsApi<'_> {
        payments::PaymentsApi(self)
    }

    /// The absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// GET a path; its status and JSON body (`null` when not JSON).
    pub async fn get_json(&self, path: &str) -> (u16, Value) {
        let r = self.get(path).await;
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// POST JSON to a path.
    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// Any request, with a bearer token and a JSON body when given.
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> reqwest::Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        request.send().await.expect("request sent")
    }

    /// Follows `nextCursor` from `path` (which must already carry `?`), returning every item.
    pub async fn all_pages(&self, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &cursor {
                Some(c) => format!("{path}&cursor={}", urlencode(c)),
                None => path.to_owned(),
            };
            let (status, page) = self.get_json(&url).await;
            assert_eq!(status, 200, "{url}: {page}");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
        panic!("paging never ended");
    }

    /// [`TestApp::all_pages`] with a bearer token.
    pub async fn all_pages_as(&self, token: &str, path: &str) -> Vec<Value> {
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10_000 {
            let url = match &cursor {
                Some(c) => format!("{path}&cursor={}", urlencode(c)),
                None => path.to_owned(),
            };
            let r = self.send(Method::GET, &url, Some(token), None).await;
            assert_eq!(r.status(), 200, "{url}");
            let page: Value = r.json().await.expect("a page");
            items.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["nextCursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return items,
            }
        }
        panic!("paging never ended");
    }

    /// Stops the app and waits until it has finished its work.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.stopped.take() {
            handle.await.expect("app task");
        }
        self.simulator.stop().await;
    }
}

/// Polls `check` every 20 ms until it returns `Some`, or panics after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The string field `key` of a JSON object (panics, showing the object, when absent).
pub fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` missing in {v}"))
}

/// The `field` of each entry of a problem's `errors`, in order.
pub fn error_fields(problem: &Value) -> Vec<&str> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no `errors` in {problem}"))
        .iter()
        .map(|e| s(e, "field"))
        .collect()
}

/// Percent-encodes a query value.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The ids of a list of products (or anything with an `id`).
pub fn ids(items: &[Value]) -> Vec<String> {
    items.iter().map(|p| s(p, "id").to_owned()).collect()
}

/// The path of the built `jojomart` binary.
pub fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_jojomart"))
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
