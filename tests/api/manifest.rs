//! The committed `<FunctionName>/function.json` folders match the function
//! table, and drift is caught.

use std::process::Command;

use jojomart::{manifest, state::AppState, table::FunctionDef, wire::InvocationResponse};
use serde_json::json;

use crate::harness::binary;

fn repo_root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_folders_match_the_table() {
    let out = Command::new(binary())
        .args(["manifest", "--check", "--dir"])
        .arg(repo_root())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jojomart manifest --check failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn adding_a_function_without_regenerating_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    let mut functions = jojomart::registry::functions();
    manifest::write(dir.path(), &functions).unwrap();
    manifest::check(dir.path(), &functions).unwrap();

    functions.push(FunctionDef::timer(
        "new-timer",
        "0 0 * * * *",
        |_s: AppState, _t| async { Ok(InvocationResponse::default()) },
    ));
    let err = manifest::check(dir.path(), &functions).unwrap_err();
    assert!(
        err.to_string()
            .contains("new-timer/function.json is missing"),
        "{err}"
    );

    // and the binary refuses a folder the table does not have
    std::fs::create_dir_all(dir.path().join("ghost")).unwrap();
    std::fs::write(dir.path().join("ghost/function.json"), "{}").unwrap();
    let out = Command::new(binary())
        .args(["manifest", "--check", "--dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("ghost/ is not in the function table"));
}

#[test]
fn bindings_have_the_shapes_the_host_reads() {
    let queue = FunctionDef::queue("send-things", "things-in", |_s: AppState, _t| async {
        Ok(InvocationResponse::default())
    })
    .with_output("outbound", "things-out");
    assert_eq!(
        manifest::function_json(&queue),
        json!({"bindings": [
            {"type": "queueTrigger", "direction": "in", "name": "message", "queueName": "things-in", "connection": "AzureWebJobsStorage"},
            {"type": "queue", "direction": "out", "name": "outbound", "queueName": "things-out", "connection": "AzureWebJobsStorage"}
        ]})
    );
    let timer = FunctionDef::timer("roll-up", "0 */5 * * * *", |_s: AppState, _t| async {
        Ok(InvocationResponse::default())
    });
    assert_eq!(
        manifest::function_json(&timer),
        json!({"bindings": [
            {"type": "timerTrigger", "direction": "in", "name": "timer", "schedule": "0 */5 * * * *", "runOnStartup": false, "useMonitor": true}
        ]})
    );
    let health = jojomart::registry::functions()
        .into_iter()
        .find(|f| f.name == "get-health")
        .unwrap();
    assert_eq!(
        manifest::function_json(&health),
        json!({"bindings": [
            {"type": "httpTrigger", "direction": "in", "name": "req", "authLevel": "anonymous", "methods": ["get"], "route": "health"},
            {"type": "http", "direction": "out", "name": "res"}
        ]})
    );
}

#[test]
fn the_in_process_host_retries_as_host_json_says() {
    let text = std::fs::read_to_string(repo_root().join("host.json")).unwrap();
    let host: serde_json::Value = serde_json::from_str(&text).unwrap();
    let queues = &host["extensions"]["queues"];
    let policy = jojomart_shared::queue::DeliveryPolicy::default();
    assert_eq!(queues["maxDequeueCount"], policy.max_dequeue_count);
    assert_eq!(queues["batchSize"], policy.batch_size);
    let seconds = |v: &serde_json::Value| {
        let parts: Vec<u64> = v
            .as_str()
            .unwrap()
            .split(':')
            .map(|p| p.parse().unwrap())
            .collect();
        parts[0] * 3600 + parts[1] * 60 + parts[2]
    };
    assert_eq!(
        seconds(&queues["visibilityTimeout"]),
        policy.retry_delay.as_secs()
    );
    assert_eq!(
        seconds(&queues["maxPollingInterval"]),
        policy.max_polling_interval.as_secs()
    );
    assert_eq!(
        host["customHandler"]["description"]["arguments"],
        json!(["serve"])
    );
    assert_eq!(host["customHandler"]["enableForwardingHttpRequest"], true);
    assert_eq!(host["extensions"]["http"]["routePrefix"], "api");
}
