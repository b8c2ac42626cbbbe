//! Test helpers: spawn the app on port 0 over fresh adapters, with the shipped
//! function table or a test's own, and talk to it over real HTTP.
//!
//! The adapters are a fresh SQLite file, or, with `JOJOMART_E2E_BACKEND=azure`
//! (set by `scripts/test.sh` inside `scripts/emulators.sh run`), a fresh Cosmos
//! database on the emulator and Azurite's queues, emptied first. Azure runs are
//! serial (`-j 1`), since the queues are shared.

#![allow(dead_code)]

pub mod catalog;

use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};

use jojomart::{
    app::{AppSettings, Application, Mode},
    state::{Adapters, AppState},
    table::{containers_of, functions_of, queues_of, FunctionDef, ServiceDef},
};
use jojomart_shared::{
    clock::{SharedClock, SystemClock},
    config::Config,
    queue::SharedQueue,
    sqlite::Database,
    store::SharedStore,
};

/// Which adapters the end-to-end tests run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A fresh SQLite file per app.
    Sqlite,
    /// Cosmos DB and Storage Queue emulators.
    Azure,
}

/// The backend chosen by `JOJOMART_E2E_BACKEND` (default SQLite).
pub fn backend() -> Backend {
    match std::env::var("JOJOMART_E2E_BACKEND").as_deref() {
        Ok("azure") => Backend::Azure,
        _ => Backend::Sqlite,
    }
}

/// A running app and a client for it.
pub struct TestApp {
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// A client with a short timeout.
    pub client: reqwest::Client,
    /// The app's state (store, queue, clock).
    pub state: AppState,
    /// Stops the app when dropped or fired.
    pub stop: Option<tokio::sync::oneshot::Sender<()>>,
    /// Resolves when the app has stopped.
    pub stopped: Option<tokio::task::JoinHandle<()>>,
    /// The embedded database on the SQLite backend (close it to take the store down).
    pub db: Option<Database>,
    /// Keeps the data dir alive (a fresh one, unused when [`Spawn::data_dir`] was given).
    pub dir: tempfile::TempDir,
}

/// Options for [`spawn_app_with`].
pub struct Spawn {
    /// Test-only functions, served beside the shipped services' functions.
    pub extra_functions: Vec<FunctionDef>,
    /// Dev or serve.
    pub mode: Mode,
    /// Adjusts the configuration.
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
        }
    }
}

/// Spawns the shipped app in dev mode.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(Spawn::default()).await
}

/// Spawns an app with the given table and configuration.
pub async fn spawn_app_with(spawn: Spawn) -> TestApp {
    jojomart_shared::telemetry::init_for_tests();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut config = Config {
        data_dir: spawn.data_dir.unwrap_or_else(|| dir.path().to_path_buf()),
        ..Config::default()
    };
    (spawn.configure)(&mut config);
    let clock = spawn.clock;
    let mut services = jojomart::registry::services();
    services.push(ServiceDef::new("test").functions(spawn.extra_functions));
    let (store, queue, db) = match backend() {
        Backend::Sqlite => {
            let db = Database::open(&config.data_dir.join("jojomart.db"), clock.clone())
                .expect("open db");
            let store: SharedStore = Arc::new(db.store());
            let queue: SharedQueue = Arc::new(db.queue());
            (store, queue, Some(db))
        }
        Backend::Azure => {
            let (store, queue) = azure_adapters(&services).await;
            (store, queue, None)
        }
    };
    let adapters = Adapters {
        store: (spawn.wrap_store)(store),
        queue,
        clock,
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
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        app.run_until_stopped(async {
            let _ = stopped.await;
        })
        .await
        .expect("app ran");
    });
    TestApp {
        base,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        state,
        stop: Some(stop),
        stopped: Some(handle),
        db,
        dir,
    }
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

impl TestApp {
    /// The absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// GET a path.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    /// POST JSON to a path.
    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("POST")
    }

    /// Stops the app and waits until it has finished its work.
    pub async fn shutdown(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.stopped.take() {
            handle.await.expect("app task");
        }
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
