//! `serve` listens before it connects: the Functions host gives the worker
//! about 30 s to open its port, and right after a first deployment the app's
//! roles are often not effective yet. Until the store and the queue answer,
//! health is 503 naming the setting whose service is unreachable and every
//! function answers 503 problem+json; once they answer, the app serves.

use std::{
    net::SocketAddr,
    process::{Child, Command, Stdio},
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

use jojomart::{
    adapters::{self, AdapterError},
    app::Mode,
    ready::{Connect, LazyApplication},
    table::containers_of,
};
use jojomart_shared::store::StoreError;
use serde_json::Value;

use crate::harness::{binary, eventually, free_port, test_config};

#[tokio::test(flavor = "multi_thread")]
async fn health_is_503_until_the_store_is_reachable_then_200() {
    let dir = tempfile::tempdir().unwrap();
    let config = test_config(dir.path().to_owned());
    let services = jojomart::registry::services();
    let reachable = Arc::new(AtomicBool::new(false));
    let (opening, containers, flag) = (config.clone(), containers_of(&services), reachable.clone());
    // An in-process stand-in for a Cosmos account whose role assignment is
    // not effective yet: unreachable until the flag flips.
    let connect: Connect = Box::new(move || {
        let (config, containers, flag) = (opening.clone(), containers.clone(), flag.clone());
        Box::pin(async move {
            if !flag.load(Ordering::SeqCst) {
                return Err(AdapterError::Containers(StoreError::Unavailable(
                    "connection refused".into(),
                )));
            }
            adapters::open(&config, Mode::Serve, &containers).await
        })
    });
    let app = LazyApplication::bind(
        config,
        services,
        SocketAddr::from(([127, 0, 0, 1], 0)),
        connect,
    )
    .await
    .unwrap();
    let base = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    // the first attempt's failure is recorded right away
    let health: Value = eventually(Duration::from_secs(10), "health naming the store", || {
        let (c, url) = (client.clone(), format!("{base}/api/health"));
        async move {
            let r = c.get(url).send().await.ok()?;
            assert_eq!(r.status(), 503, "not ready yet");
            let body: Value = r.json().await.ok()?;
            (body["unreachable"] == serde_json::json!(["COSMOS_ENDPOINT"])).then_some(body)
        }
    })
    .await;
    assert_eq!(health["status"], "starting");
    assert_eq!(health["store"], "down");

    let r = client
        .get(format!("{base}/api/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );

    reachable.store(true, Ordering::SeqCst);
    eventually(Duration::from_secs(20), "health 200 once reachable", || {
        let (c, url) = (client.clone(), format!("{base}/api/health"));
        async move { c.get(url).send().await.ok().filter(|r| r.status() == 200) }
    })
    .await;
    let r = client
        .get(format!("{base}/api/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "functions serve once connected");

    let _ = stop.send(());
    server.await.unwrap().unwrap();
}

/// Kills the child when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real binary, with nothing reachable and the signing key an unresolved
/// Key Vault reference (the secret was never created): it listens and reports.
#[tokio::test(flavor = "multi_thread")]
async fn the_serve_binary_answers_health_at_once_naming_an_unreachable_cosmos_endpoint() {
    let port = free_port();
    let endpoint = format!("https://127.0.0.1:{}/", free_port());
    let queue = format!(
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;QueueEndpoint=http://127.0.0.1:{}/devstoreaccount1",
        free_port()
    );
    let child = Command::new(binary())
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("JOJOMART_STORE", "cosmos")
        .env("JOJOMART_QUEUE", "azure")
        .env("COSMOS_ENDPOINT", &endpoint)
        .env("COSMOS_KEY", "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==")
        .env("AzureWebJobsStorage", queue)
        // what App Service passes on when the secret is missing: unset, not fatal
        .env(
            "JOJOMART_JWT_SIGNING_KEY",
            "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/jwt-signing-key/)",
        )
        .env("JOJOMART_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut child = Killed(child);
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/health");
    let health: Value = eventually(
        Duration::from_secs(20),
        "health naming COSMOS_ENDPOINT",
        || {
            let (c, url) = (client.clone(), url.clone());
            async move {
                let r = c.get(url).send().await.ok()?;
                assert_eq!(r.status(), 503, "nothing is reachable");
                let body: Value = r.json().await.ok()?;
                body["unreachable"]
                    .as_array()
                    .filter(|u| u.iter().any(|s| s == "COSMOS_ENDPOINT"))
                    .is_some()
                    .then_some(body)
            }
        },
    )
    .await;
    assert_eq!(health["storeKind"], "cosmos");
    assert!(
        !health.to_string().contains("C2y6yDjf5"),
        "no secret in the report"
    );

    let _ = child.0.kill();
    let mut logs = String::new();
    std::io::Read::read_to_string(&mut child.0.stdout.take().unwrap(), &mut logs).unwrap();
    assert!(
        logs.lines().any(|l| l.contains("JOJOMART_JWT_SIGNING_KEY")
            && l.contains("unresolved Key Vault reference")),
        "one log line names the unresolved setting: {logs}"
    );
}

/// On the emulators (scripts/test.sh sets their variables): `serve` started
/// before its database exists answers 503 naming `COSMOS_DATABASE`, then 200
/// once `jojomart provision` has created it, without a restart.
#[tokio::test(flavor = "multi_thread")]
async fn on_the_emulators_serve_turns_healthy_once_its_database_exists() {
    let emulator = jojomart_shared::conformance::emulator;
    if emulator("COSMOS_ENDPOINT").is_none() || emulator("AzureWebJobsStorage").is_none() {
        return;
    }
    let database = format!("e2e-{}", uuid::Uuid::new_v4().simple());
    let port = free_port();
    let child = Command::new(binary())
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("JOJOMART_STORE", "cosmos")
        .env("JOJOMART_QUEUE", "azure")
        .env("COSMOS_DATABASE", &database)
        .env("JOJOMART_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _child = Killed(child);
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/health");
    eventually(
        Duration::from_secs(30),
        "503 naming COSMOS_DATABASE",
        || {
            let (c, url) = (client.clone(), url.clone());
            async move {
                let r = c.get(url).send().await.ok()?;
                assert_eq!(r.status(), 503, "the database does not exist yet");
                let body: Value = r.json().await.ok()?;
                (body["unreachable"] == serde_json::json!(["COSMOS_DATABASE"])).then_some(())
            }
        },
    )
    .await;

    let provisioned = Command::new(binary())
        .arg("provision")
        .env("COSMOS_DATABASE", &database)
        .env("JOJOMART_LOG", "warn")
        .output()
        .unwrap();
    assert!(
        provisioned.status.success(),
        "provision: {}",
        String::from_utf8_lossy(&provisioned.stderr)
    );
    eventually(
        Duration::from_secs(90),
        "health 200 once the database exists",
        || {
            let (c, url) = (client.clone(), url.clone());
            async move { c.get(url).send().await.ok().filter(|r| r.status() == 200) }
        },
    )
    .await;
}
