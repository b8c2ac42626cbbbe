//! The command line: `dev`, `serve`, `provision`, `seed`, `manifest`, `openapi` and `gateway-simulator`.

use std::{net::SocketAddr, path::PathBuf};

use clap::{Parser, Subcommand};
use jojomart_shared::{
    config::{BlobBackend, CacheBackend, Config, ConfigError, QueueBackend, Secret, StoreBackend},
    telemetry::{self, LogFormat},
};

use crate::{
    adapters::{self, AdapterError},
    app::{AppSettings, Application, Mode, StartupError},
    deployment,
    manifest::{self, ManifestError},
    payments::{
        simulator::{Simulator, SimulatorSettings},
        WEBHOOK_PATH,
    },
    products::{seed, Catalog},
    ready::{Connect, LazyApplication},
    registry,
    state::AppState,
    table::{containers_of, queues_of},
};

/// jojomart: an e-commerce backend that runs as Azure Functions custom handlers.
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Runs everything in one process on 127.0.0.1 (demo shop, in-process host).
    Dev {
        /// The port to listen on.
        #[arg(long, default_value_t = 7071)]
        port: u16,
        /// Where the embedded store lives.
        #[arg(long, env = "JOJOMART_DATA_DIR", default_value = ".jojomart")]
        data_dir: PathBuf,
        /// The document store: sqlite or cosmos.
        #[arg(long, env = "JOJOMART_STORE", default_value = "sqlite")]
        store: String,
        /// The queue: sqlite or azure.
        #[arg(long, env = "JOJOMART_QUEUE", default_value = "sqlite")]
        queue: String,
        /// The cache: memory, redis (at JOJOMART_REDIS_URL) or store.
        #[arg(long, env = "JOJOMART_CACHE", default_value = "memory")]
        cache: String,
    },
    /// Runs as a custom handler under the Functions host (FUNCTIONS_CUSTOMHANDLER_PORT).
    Serve,
    /// Generates products into the configured store (for benchmarks); a running
    /// `dev` on the same data dir picks them up within its catalog refresh interval.
    Seed {
        /// How many products to generate.
        #[arg(long)]
        products: usize,
        /// Where the embedded store lives.
        #[arg(long, env = "JOJOMART_DATA_DIR", default_value = ".jojomart")]
        data_dir: PathBuf,
    },
    /// Creates the Cosmos database, every container and every queue (with its
    /// poison twin) on the configured emulator or dev account.
    Provision,
    /// Writes the `<FunctionName>/function.json` folders, or checks them with `--check`.
    Manifest {
        /// Fails instead of writing when the folders differ from the table.
        #[arg(long)]
        check: bool,
        /// The app root holding the folders.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Prints the OpenAPI document (what `GET /api/openapi.json` serves) on stdout.
    Openapi,
    /// Runs the payment gateway simulator (Stripe's wire) in the foreground on
    /// 127.0.0.1, for a `dev` or `serve` pointed at it with `JOJOMART_STRIPE_*`.
    GatewaySimulator {
        /// The port to listen on.
        #[arg(long, default_value_t = 12111)]
        port: u16,
        /// Where webhook events go (e.g. http://127.0.0.1:7071/api/payments/webhook).
        #[arg(long)]
        webhook_url: Option<String>,
        /// The API key clients must present (random, and printed, when unset).
        #[arg(long, env = "JOJOMART_STRIPE_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
        /// The secret webhook events are signed with (random, and printed, when unset).
        #[arg(long, env = "JOJOMART_STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
        webhook_secret: Option<String>,
        /// Deliveries per webhook event before it is given up (the waits
        /// double from 100 ms: 10 attempts span about 50 s, room for an app restart).
        #[arg(long, default_value_t = 10)]
        webhook_attempts: u32,
    },
}

/// Why a command failed; each message is one line naming what to fix.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Adapters could not be opened.
    #[error(transparent)]
    Adapters(#[from] AdapterError),
    /// The server could not start.
    #[error(transparent)]
    Startup(#[from] StartupError),
    /// The manifest is out of date or unwritable.
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    /// Seeding the catalog failed.
    #[error("seeding failed: {0}")]
    Seed(#[from] jojomart_shared::error::ApiError),
    /// The gateway simulator could not listen.
    #[error("the gateway simulator cannot listen on {address}: {source}")]
    Simulator {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// Runs a parsed command to completion.
///
/// # Errors
/// [`CliError`] with a one-line reason.
pub async fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Dev {
            port,
            data_dir,
            store,
            queue,
            cache,
        } => {
            let mut telemetry = telemetry::init(LogFormat::Pretty);
            let mut config = Config::from_env()?;
            config.data_dir = data_dir;
            config.store = store.parse::<StoreBackend>()?;
            config.queue = queue.parse::<QueueBackend>()?;
            config.cache = Some(cache.parse::<CacheBackend>()?);
            let served =
                serve_app(config, Mode::Dev, SocketAddr::from(([127, 0, 0, 1], port))).await;
            // flush what Application Insights has not been sent yet
            telemetry.shutdown();
            served
        }
        Command::Serve => {
            let mut telemetry = telemetry::init(LogFormat::Json);
            let config = Config::from_env()?;
            let port = custom_handler_port()?;
            if config.queue == QueueBackend::Sqlite {
                return Err(ConfigError::invalid(
                    "JOJOMART_QUEUE",
                    "the embedded queue cannot work under the Functions host, whose queue triggers read Azure Storage; set JOJOMART_QUEUE=azure",
                )
                .into());
            }
            let served = serve_lazily(config, SocketAddr::from(([127, 0, 0, 1], port))).await;
            telemetry.shutdown();
            served
        }
        Command::Seed { products, data_dir } => {
            let _telemetry = telemetry::init(LogFormat::Pretty);
            let mut config = Config::from_env()?;
            config.data_dir = data_dir;
            let services = registry::services();
            let opened = adapters::open(&config, Mode::Dev, &containers_of(&services)).await?;
            let state = AppState::start(config, opened.adapters, &services)
                .await
                .map_err(StartupError::from)?;
            let started = std::time::Instant::now();
            let n = seed::generate(&state.handle(), products).await?;
            println!(
                "seeded {n} products in {:.1} s",
                started.elapsed().as_secs_f64()
            );
            if let Some(database) = opened.database {
                if let Err(e) = database.close().await {
                    tracing::warn!(error = %e, "closing the embedded store");
                }
            }
            Ok(())
        }
        Command::Provision => {
            let _telemetry = telemetry::init(LogFormat::Pretty);
            let mut config = Config::from_env()?;
            config.store = StoreBackend::Cosmos;
            config.queue = QueueBackend::Azure;
            config.blob = BlobBackend::Azure;
            // Dev mode creates the database, containers and the image container when missing.
            let services = registry::services();
            let opened = adapters::open(&config, Mode::Dev, &containers_of(&services)).await?;
            let queue = opened.adapters.queue;
            for name in queues_of(&services) {
                for q in [name.to_string(), jojomart_shared::queue::poison_queue(name)] {
                    queue.ensure_queue(&q).await.map_err(AdapterError::Queue)?;
                }
            }
            println!("provisioned the database, containers, queues and the public image container");
            Ok(())
        }
        Command::Manifest { check, dir } => {
            let services = registry::services();
            let functions = registry::functions();
            if check {
                let n = manifest::check(&dir, &functions)?;
                deployment::check(&dir, &services)?;
                eprintln!(
                    "{n} function.json folders and {} match the function table",
                    deployment::SPLITS_FILE
                );
            } else {
                let n = manifest::write(&dir, &functions)?;
                deployment::write(&dir, &services)?;
                eprintln!(
                    "wrote {n} function.json folders and {}",
                    deployment::SPLITS_FILE
                );
            }
            Ok(())
        }
        Command::Openapi => {
            println!("{}", crate::openapi::document(&registry::functions()));
            Ok(())
        }
        Command::GatewaySimulator {
            port,
            webhook_url,
            secret_key,
            webhook_secret,
            webhook_attempts,
        } => {
            let _telemetry = telemetry::init(LogFormat::Pretty);
            let random = SimulatorSettings::random();
            let generated = secret_key.is_none() || webhook_secret.is_none();
            let settings = SimulatorSettings {
                secret_key: secret_key.unwrap_or(random.secret_key),
                webhook_secret: webhook_secret.unwrap_or(random.webhook_secret),
                webhook_url,
            };
            let address = SocketAddr::from(([127, 0, 0, 1], port));
            let simulator = Simulator::start(address, settings.clone())
                .await
                .map_err(|source| CliError::Simulator { address, source })?;
            simulator.set_webhook_retries(webhook_attempts, std::time::Duration::from_millis(100));
            println!("gateway simulator on {}", simulator.base_url());
            if generated {
                // Test secrets of a local simulator, printed so an app can be pointed at it.
                println!("JOJOMART_STRIPE_API_BASE={}", simulator.base_url());
                println!("JOJOMART_STRIPE_SECRET_KEY={}", settings.secret_key);
                println!("JOJOMART_STRIPE_WEBHOOK_SECRET={}", settings.webhook_secret);
            }
            shutdown_signal().await;
            simulator.stop().await;
            tracing::info!("bye");
            Ok(())
        }
    }
}

/// Under `dev` without a Stripe key: starts the gateway simulator on a free
/// 127.0.0.1 port with fresh secrets and points the configuration at it.
async fn dev_gateway(config: &mut Config) -> Result<Simulator, CliError> {
    let settings = SimulatorSettings::random();
    let address = SocketAddr::from(([127, 0, 0, 1], 0));
    let simulator = Simulator::start(address, settings.clone())
        .await
        .map_err(|source| CliError::Simulator { address, source })?;
    config.payments.api_base = simulator.base_url();
    config.payments.secret_key = Some(Secret::new(settings.secret_key));
    config.payments.webhook_secret = Some(Secret::new(settings.webhook_secret));
    tracing::info!(url = %simulator.base_url(), "no Stripe key configured: payments go to the gateway simulator");
    Ok(simulator)
}

fn custom_handler_port() -> Result<u16, ConfigError> {
    let raw = std::env::var("FUNCTIONS_CUSTOMHANDLER_PORT").map_err(|_| {
        ConfigError::invalid(
            "FUNCTIONS_CUSTOMHANDLER_PORT",
            "is not set (the Functions host sets it)",
        )
    })?;
    raw.trim().parse().map_err(|_| {
        ConfigError::invalid(
            "FUNCTIONS_CUSTOMHANDLER_PORT",
            format!("`{raw}` is not a port"),
        )
    })
}

/// `serve`: settings are checked at once, the port is bound next, and the
/// store and queue are connected in the background (see [`crate::ready`]).
async fn serve_lazily(config: Config, address: SocketAddr) -> Result<(), CliError> {
    adapters::check_settings(&config)?;
    if config.auth.signing_key.is_none() {
        tracing::warn!("JOJOMART_JWT_SIGNING_KEY is not set: access tokens are signed with a key kept in the store");
    }
    let services = registry::services();
    let containers = containers_of(&services);
    let opening = config.clone();
    let connect: Connect = Box::new(move || {
        let config = opening.clone();
        let containers = containers.clone();
        Box::pin(async move { adapters::open(&config, Mode::Serve, &containers).await })
    });
    let app = LazyApplication::bind(config, services, address, connect).await?;
    app.run_until_stopped(shutdown_signal()).await?;
    tracing::info!("bye");
    Ok(())
}

/// Under `dev` without `JOJOMART_ADMIN_EMAILS`, the account that holds the
/// `admin` role, so a newcomer can open the admin console at `/manage`.
pub const DEV_ADMIN_EMAIL: &str = "admin@example.com";

async fn serve_app(mut config: Config, mode: Mode, address: SocketAddr) -> Result<(), CliError> {
    if mode == Mode::Dev && config.admin_emails.is_empty() {
        config.admin_emails.push(DEV_ADMIN_EMAIL.to_owned());
        tracing::info!(
            "JOJOMART_ADMIN_EMAILS is not set: register as {DEV_ADMIN_EMAIL} to manage the shop at /manage"
        );
    }
    let simulator = if mode == Mode::Dev && config.payments.secret_key.is_none() {
        Some(dev_gateway(&mut config).await?)
    } else {
        None
    };
    let services = registry::services();
    let opened = adapters::open(&config, mode, &containers_of(&services)).await?;
    let app = Application::build(AppSettings {
        config,
        adapters: opened.adapters,
        services,
        mode,
        address,
    })
    .await?;
    if let Some(simulator) = &simulator {
        simulator.set_webhook_url(format!("http://127.0.0.1:{}{WEBHOOK_PATH}", app.port()));
    }
    if mode == Mode::Dev {
        let catalog: Catalog = app.state().handle();
        match seed::demo_catalog_if_empty(&catalog).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(products = n, "seeded the demo catalog"),
            Err(e) => tracing::warn!(error = %e, "could not seed the demo catalog"),
        }
        if let Err(e) = catalog.read_model().warm_up().await {
            tracing::warn!(error = %e, "could not load the catalog");
        }
    }
    app.run_until_stopped(shutdown_signal()).await?;
    if let Some(simulator) = simulator {
        simulator.stop().await;
    }
    if let Some(database) = opened.database {
        if let Err(e) = database.close().await {
            tracing::warn!(error = %e, "closing the embedded store");
        }
    }
    tracing::info!("bye");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = interrupt.await;
    }
}
