//! `jojomart dev` as a newcomer runs it: the real binary on a free port. It
//! serves health and a valid OpenAPI 3.1 document, and SIGTERM during a burst
//! of requests leaves every request completed or refused, and a clean store file.

use std::{process::Command, time::Duration};

use serde_json::Value;

use crate::harness::{backend, binary, dev::DevProcess, eventually, free_port, Backend};

/// `jojomart dev` on the chosen backend.
async fn start_dev() -> DevProcess {
    DevProcess::start(|command| {
        if backend() == Backend::Azure {
            // the emulators' settings come from scripts/emulators.sh; a fresh database per run
            command.args(["--store", "cosmos", "--queue", "azure"]).env(
                "COSMOS_DATABASE",
                format!("e2e-{}", uuid::Uuid::new_v4().simple()),
            );
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn dev_serves_health_and_a_valid_openapi_document() {
    let dev = start_dev().await;
    let client = reqwest::Client::new();
    let health: Value = client
        .get(dev.url("/api/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["status"], "ok");

    let r = client
        .get(dev.url("/api/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    let path = dev.dir.path().join("openapi.json");
    std::fs::write(&path, &text).unwrap();
    let python = std::env::var("JOJOMART_PYTHON").unwrap_or_else(|_| "python3".into());
    let out = Command::new(&python)
        .args(["-m", "openapi_spec_validator"])
        .arg(&path)
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run {python}: {e}; scripts/test.sh installs the validator")
        });
    assert!(
        out.status.success(),
        "openapi-spec-validator refused the document (scripts/test.sh installs it into .cache/venv):\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_str(&text).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_during_a_burst_finishes_or_refuses_every_request() {
    let mut dev = start_dev().await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut burst = Vec::new();
    for i in 0..400 {
        let c = client.clone();
        let url = dev.url("/api/health");
        burst.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(i / 4)).await;
            c.get(url).send().await
        }));
    }
    tokio::time::sleep(Duration::from_millis(40)).await;
    let pid = dev.child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());

    let (mut completed, mut refused) = (0, 0);
    for request in burst {
        match request.await.unwrap() {
            Ok(r) => {
                assert_eq!(
                    r.status(),
                    200,
                    "a request that was taken is answered in full"
                );
                completed += 1;
            }
            Err(e) => {
                assert!(!e.is_timeout(), "no request hangs: {e}");
                refused += 1;
            }
        }
    }
    assert!(completed > 0, "some requests were served before the signal");
    eprintln!("completed {completed}, refused {refused}");

    let status = eventually(Duration::from_secs(20), "jojomart dev to exit", || {
        let s = dev.child.try_wait().unwrap();
        async move { s }
    })
    .await;
    assert!(status.success(), "exits 0 after SIGTERM, got {status:?}");

    let db = rusqlite::Connection::open(dev.dir.path().join("jojomart.db")).unwrap();
    let check: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

#[test]
fn serve_refuses_the_embedded_queue_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(binary())
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", free_port().to_string())
        .env("JOJOMART_DATA_DIR", dir.path())
        .env_remove("JOJOMART_QUEUE")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("JOJOMART_QUEUE"),
        "names the setting: {stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
}

#[test]
fn serve_needs_the_custom_handler_port() {
    let out = Command::new(binary())
        .arg("serve")
        .env_remove("FUNCTIONS_CUSTOMHANDLER_PORT")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("FUNCTIONS_CUSTOMHANDLER_PORT"));
}

fn serve_on_cosmos(endpoint: Option<&str>) -> String {
    let mut command = Command::new(binary());
    command
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", free_port().to_string())
        .env("JOJOMART_STORE", "cosmos")
        .env("JOJOMART_QUEUE", "azure")
        .env("COSMOS_KEY", "C2y6yDjf5/R+ob0N8A7Cgv30VRDJIWEHLM+4QDU5DE2nQ9nDuVTqobD4b8mGGyPMbIZnqyMsEcaGQy67XIw/Jw==")
        .env("AzureWebJobsStorage", "UseDevelopmentStorage=true")
        .env_remove("COSMOS_ENDPOINT");
    if let Some(endpoint) = endpoint {
        command.env("COSMOS_ENDPOINT", endpoint);
    }
    let out = command.output().unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    stderr
}

#[test]
fn serve_names_a_missing_cosmos_endpoint() {
    let stderr = serve_on_cosmos(None);
    assert!(stderr.contains("COSMOS_ENDPOINT is not set"), "{stderr}");
}
