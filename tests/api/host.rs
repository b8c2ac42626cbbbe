//! The in-process host end to end, with a test-only function table: queue
//! messages reach their function with the Functions host's payload, failures
//! are retried and poisoned per policy, timers fire on schedule and by the
//! admin endpoint, and `POST /{FunctionName}` answers as the host requires.

use std::{
    sync::{
        atomic::{AtomicU32, Ordering},
        Arc,
    },
    time::Duration,
};

use jojomart::{
    state::AppState,
    table::FunctionDef,
    wire::{InvocationResponse, QueueTrigger, TimerTrigger},
};
use jojomart_shared::{error::ApiError, queue::SendOptions};
use serde_json::{json, Value};
use tokio::sync::mpsc;

use crate::harness::{eventually, Spawn, TestApp};

const WAIT: Duration = Duration::from_secs(15);

struct Probes {
    echoed: mpsc::UnboundedReceiver<QueueTrigger>,
    ticks: mpsc::UnboundedReceiver<TimerTrigger>,
    failures: Arc<AtomicU32>,
}

/// A table of test-only functions; nothing here ships.
fn test_table() -> (Vec<FunctionDef>, Probes) {
    let (echo_tx, echoed) = mpsc::unbounded_channel();
    let (tick_tx, ticks) = mpsc::unbounded_channel();
    let failures = Arc::new(AtomicU32::new(0));
    let counter = failures.clone();
    let mut functions = Vec::new();
    functions.push(
        FunctionDef::queue(
            "echo-queue",
            "echo",
            move |_state: AppState, trigger: QueueTrigger| {
                let tx = echo_tx.clone();
                async move {
                    let reply = trigger.message.clone();
                    let _ = tx.send(trigger);
                    let mut answer = InvocationResponse::default();
                    answer.outputs.insert("outbound".into(), json!([reply]));
                    answer.logs.push("echoed".into());
                    Ok(answer)
                }
            },
        )
        .with_output("outbound", "echo-out"),
    );
    functions.push(FunctionDef::queue(
        "always-fails",
        "doomed",
        move |_state: AppState, _trigger| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Err::<InvocationResponse, _>(ApiError::internal(std::io::Error::other(
                    "this function always fails",
                )))
            }
        },
    ));
    functions.push(FunctionDef::timer(
        "tick",
        "* * * * * *",
        move |_state: AppState, trigger| {
            let tx = tick_tx.clone();
            async move {
                let _ = tx.send(trigger);
                Ok(InvocationResponse::default())
            }
        },
    ));
    (
        functions,
        Probes {
            echoed,
            ticks,
            failures,
        },
    )
}

async fn spawn() -> (TestApp, Probes) {
    let (functions, probes) = test_table();
    let app = TestApp::spawn_with(Spawn {
        extra_functions: functions,
        configure: Box::new(|c| {
            c.delivery.max_dequeue_count = 3;
            c.delivery.retry_delay = Duration::from_millis(100);
            c.delivery.max_polling_interval = Duration::from_millis(100);
        }),
        ..Spawn::default()
    })
    .await;
    (app, probes)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_queue_message_reaches_its_function_as_the_host_would_send_it() {
    let (app, mut probes) = spawn().await;
    let sent = r#"{"kind":"order.paid","orderId":"o-1"}"#;
    let queue = app.state.adapters().queue.clone();
    queue.ensure_queue("echo").await.unwrap();
    let id = queue
        .send("echo", sent, SendOptions::default())
        .await
        .unwrap()
        .id;

    let got = tokio::time::timeout(WAIT, probes.echoed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.message, sent,
        "the function sees the original JSON text"
    );
    assert_eq!(got.metadata.id, id);
    assert_eq!(got.metadata.dequeue_count, 1);
    assert!(!got.metadata.pop_receipt.is_empty());
    assert_eq!(got.metadata.sys.as_ref().unwrap().method_name, "EchoQueue");

    // deleted after success; the output binding went to its queue
    eventually(WAIT, "echo queue drained", || {
        let q = queue.clone();
        async move { (q.approximate_count("echo").await.ok()? == 0).then_some(()) }
    })
    .await;
    let out = queue
        .receive("echo-out", 1, Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].body, sent);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_message_is_retried_then_poisoned() {
    let (app, probes) = spawn().await;
    let queue = app.state.adapters().queue.clone();
    queue.ensure_queue("doomed").await.unwrap();
    queue
        .send("doomed", r#"{"n":1}"#, SendOptions::default())
        .await
        .unwrap();

    let poisoned = eventually(WAIT, "the poison queue to get the message", || {
        let q = queue.clone();
        async move {
            let msgs = q
                .receive("doomed-poison", 1, Duration::from_secs(30))
                .await
                .ok()?;
            msgs.into_iter().next()
        }
    })
    .await;
    assert_eq!(poisoned.body, r#"{"n":1}"#);
    assert_eq!(
        probes.failures.load(Ordering::SeqCst),
        3,
        "tried maxDequeueCount times"
    );
    assert_eq!(
        queue.approximate_count("doomed").await.unwrap(),
        0,
        "gone from the main queue"
    );
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_timer_fires_on_schedule_and_on_demand() {
    let (app, mut probes) = spawn().await;
    let first = tokio::time::timeout(WAIT, probes.ticks.recv())
        .await
        .unwrap()
        .unwrap();
    let status = first.info.schedule_status.expect("the monitor's record");
    assert!(status.next > status.last);
    assert_eq!(first.sys.unwrap().method_name, "Tick");

    // on demand through the admin endpoint
    while probes.ticks.try_recv().is_ok() {}
    let r = app
        .post_json("/admin/functions/tick", &json!({"input": ""}))
        .await;
    assert_eq!(r.status(), 202);
    let manual = eventually(WAIT, "the manual tick", || {
        let got = probes.ticks.try_recv().ok();
        async move { got.filter(|t| t.info.schedule_status.is_none()) }
    })
    .await;
    assert!(!manual.info.is_past_due);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_admin_endpoint_runs_a_queue_function_with_its_input() {
    let (app, mut probes) = spawn().await;
    let r = app
        .post_json(
            "/admin/functions/echo-queue",
            &json!({"input": "{\"hello\":\"world\"}"}),
        )
        .await;
    assert_eq!(r.status(), 202);
    let got = tokio::time::timeout(WAIT, probes.echoed.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.message, r#"{"hello":"world"}"#);

    let r = app
        .post_json("/admin/functions/no-such-function", &json!({"input": ""}))
        .await;
    assert_eq!(r.status(), 404);
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn posting_the_hosts_payload_over_http_gets_the_hosts_answer_shape() {
    let (app, mut probes) = spawn().await;
    let payload = json!({
        "Data": {"message": "\"{\\\"kind\\\":\\\"order.paid\\\"}\""},
        "Metadata": {"DequeueCount": 1, "ExpirationTime": "2026-12-02T17:58:31+00:00",
            "Id": "800ae4b3-bdd2-4c08-badd-f08e5a34b865", "InsertionTime": "2026-11-25T17:58:31+00:00",
            "NextVisibleTime": "2026-11-25T18:08:32+00:00", "PopReceipt": "AgAAAAMAAAAAAAAAAgtnj8x+1QE=",
            "sys": {"MethodName": "EchoQueue", "UtcNow": "2026-11-25T17:58:32.2205399Z", "RandGuid": "24ad4c06-24ad-4e5b-8294-3da9714877e9"}}
    });
    let r = app
        .client
        .post(app.url("/echo-queue"))
        .header("x-azure-functions-invocationid", "inv-1")
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/json");
    let answer: Value = r.json().await.unwrap();
    assert_eq!(
        answer["Outputs"]["outbound"],
        json!(["{\"kind\":\"order.paid\"}"])
    );
    assert_eq!(answer["Logs"], json!(["echoed"]));
    assert!(answer["ReturnValue"].is_null());
    let got = probes.echoed.recv().await.unwrap();
    assert_eq!(got.metadata.pop_receipt, "AgAAAAMAAAAAAAAAAgtnj8x+1QE=");

    // a failing function answers non-2xx, still JSON
    let r = app
        .client
        .post(app.url("/always-fails"))
        .json(&payload)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_server_error());
    assert_eq!(r.headers()["content-type"], "application/json");
    let answer: Value = r.json().await.unwrap();
    assert!(answer["Logs"].is_array());
    app.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invocation_routes_take_only_json_and_refuse_other_origins() {
    let app = TestApp::spawn().await;
    let own = app.url("").trim_end_matches('/').to_owned();
    let timer = json!({"Data": {"timer": {"IsPastDue": false}}, "Metadata": {}}).to_string();
    let post = |path: &str, content_type: Option<&str>, origin: Option<&str>, body: &str| {
        let mut request = app.client.post(app.url(path)).body(body.to_owned());
        if let Some(ct) = content_type {
            request = request.header("content-type", ct);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let problem = |r: &reqwest::Response| {
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json")
    };

    // what a web page can send without a preflight
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        for path in ["/release-reservations", "/erase-user"] {
            let r = post(path, content_type, None, &timer).await.unwrap();
            assert_eq!(r.status(), 415, "{path} with {content_type:?}");
            assert!(problem(&r), "{path}");
        }
    }
    // another site's page, even with JSON
    for path in [
        "/release-reservations",
        "/erase-user",
        "/admin/functions/release-reservations",
    ] {
        for origin in [
            "https://evil.example",
            "null",
            "http://127.0.0.1.evil.example",
        ] {
            let r = post(path, Some("application/json"), Some(origin), &timer)
                .await
                .unwrap();
            assert_eq!(r.status(), 403, "{path} from {origin}");
            assert!(problem(&r), "{path}");
        }
    }
    // the host (JSON, no Origin) and the app's own pages are served
    let r = post(
        "/release-reservations",
        Some("application/json"),
        None,
        &timer,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        "/release-reservations",
        Some("application/json; charset=utf-8"),
        Some(&own),
        &timer,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let r = post(
        "/admin/functions/release-reservations",
        Some("application/json"),
        Some(&own),
        r#"{"input":""}"#,
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 202);
    // the HTTP API itself is not affected
    let r = app
        .client
        .get(app.url("/api/health"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    app.shutdown().await;
}
