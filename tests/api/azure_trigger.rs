//! A message sent with the Storage Queue adapter travels as base64 on the wire
//! and reaches its function through the in-process host exactly as the queue
//! trigger delivers it: the original JSON, dequeue count 1. Needs Azurite
//! (`scripts/test.sh` runs it inside `scripts/emulators.sh run`).

use std::{net::SocketAddr, sync::Arc, time::Duration};

use base64::{engine::general_purpose::STANDARD, Engine};
use jojomart::{
    app::{AppSettings, Application, Mode},
    state::{Adapters, AppState},
    table::{FunctionDef, ServiceDef},
    wire::{InvocationResponse, QueueTrigger},
};
use jojomart_shared::{
    azure_settings::QueueSettings,
    cache::memory::MemoryCache,
    clock::SystemClock,
    config::Config,
    queue::{azure::AzureQueue, MessageQueue, SendOptions},
    sqlite::TempDatabase,
};

use crate::harness::eventually;

#[tokio::test(flavor = "multi_thread")]
async fn a_storage_message_reaches_its_function_as_a_queue_trigger() {
    if jojomart_shared::conformance::emulator("AzureWebJobsStorage").is_none() {
        return;
    }
    let queue = Arc::new(AzureQueue::connect(&QueueSettings::from_env().unwrap()).unwrap());
    let name: &'static str =
        Box::leak(format!("trigger-{}", uuid::Uuid::new_v4().simple()).into_boxed_str());
    queue.ensure_queue(name).await.unwrap();
    let json = r#"{"eventId":"e-1","kind":"order.paid","total":{"minor":1299,"currency":"EUR"}}"#;
    queue
        .send(name, json, SendOptions::default())
        .await
        .unwrap();
    assert_eq!(
        queue.peek_raw(name, 1).await.unwrap(),
        [STANDARD.encode(json)],
        "base64 on the wire"
    );

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<QueueTrigger>();
    let echo = FunctionDef::queue("azure-echo", name, move |_state: AppState, trigger| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(trigger);
            Ok(InvocationResponse::default())
        }
    });
    let db = TempDatabase::new(Arc::new(SystemClock)).unwrap();
    let app = Application::build(AppSettings {
        config: Config {
            data_dir: db.dir().to_path_buf(),
            ..Config::default()
        },
        adapters: Adapters {
            store: Arc::new(db.store()),
            queue: queue.clone(),
            clock: Arc::new(SystemClock),
            cache: Arc::new(MemoryCache::new(Arc::new(SystemClock))),
            blobs: Arc::new(jojomart_shared::blob::files::FileBlobs::new(
                db.dir().join("media"),
                "/media",
            )),
        },
        services: vec![ServiceDef::new("test").functions(vec![echo])],
        mode: Mode::Dev,
        address: SocketAddr::from(([127, 0, 0, 1], 0)),
    })
    .await
    .unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));

    let got = tokio::time::timeout(Duration::from_secs(20), rx.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got.message, json,
        "the function gets the original JSON, not base64"
    );
    assert_eq!(got.metadata.dequeue_count, 1);
    let payload = got.to_request();
    assert_eq!(
        payload.data["message"],
        serde_json::Value::String(serde_json::to_string(json).unwrap()),
        "Data.message is the JSON text encoded once more, as the host sends it"
    );
    eventually(Duration::from_secs(20), "the message to be deleted", || {
        let q = queue.clone();
        async move { (q.approximate_count(name).await.ok()? == 0).then_some(()) }
    })
    .await;

    let _ = stop.send(());
    running.await.unwrap().unwrap();
    queue.delete_queue(name).await.unwrap();
}
