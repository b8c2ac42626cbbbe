//! `AzureQueue` over Azurite: the full generic queue suite, unchanged, plus
//! adapter checks and the wire format (messages are base64 of the original
//! text, as the Functions queue trigger expects).
//!
//! Run (starts and stops Azurite):
//! `scripts/emulators.sh run -- cargo test -p jojomart-shared --features azure,test-support --test azure_queue`
//!
//! Reads the connection string from `JOJOMART_TEST_STORAGE` (set by
//! `scripts/emulators.sh`); without it every test prints why and passes.

mod common;

use base64::{engine::general_purpose::STANDARD, Engine};
use common::queue_smoke as smoke;
use jojomart_shared::{
    azure_settings::QueueSettings,
    queue::{azure::AzureQueue, MessageQueue, SendOptions},
};

const VAR: &str = "JOJOMART_TEST_STORAGE";

/// The queue for the generic suite, or `None` (skip) without Azurite.
async fn fixture() -> Option<jojomart_shared::queue::SharedQueue> {
    queue().map(|q| std::sync::Arc::new(q) as jojomart_shared::queue::SharedQueue)
}

jojomart_shared::queue_conformance!(fixture());

fn queue() -> Option<AzureQueue> {
    let conn = jojomart_shared::conformance::emulator(VAR)?;
    let lookup = move |k: &str| (k == "AzureWebJobsStorage").then(|| conn.clone());
    let settings = QueueSettings::from_lookup(&lookup).expect("valid test connection string");
    Some(AzureQueue::connect(&settings).expect("adapter builds"))
}

#[tokio::test]
async fn send_receive_delete() {
    let Some(q) = queue() else { return };
    smoke::send_receive_delete(&q).await;
}

#[tokio::test]
async fn update_visibility() {
    let Some(q) = queue() else { return };
    smoke::update_visibility(&q).await;
}

#[tokio::test]
async fn delays_limits_and_errors() {
    let Some(q) = queue() else { return };
    smoke::delays_limits_and_errors(&q).await;
}

#[tokio::test]
async fn poison_after_max_dequeues() {
    let Some(q) = queue() else { return };
    smoke::poison_after_max_dequeues(&q).await;
}

#[tokio::test]
async fn wire_text_is_base64_of_the_json() {
    let Some(q) = queue() else { return };
    let name = smoke::unique("wire");
    q.ensure_queue(&name).await.unwrap();
    let json = r#"{"eventId":"8f1c","type":"order-placed","total":{"minor":1299,"currency":"EUR"},"note":"naïve <b>&</b>"}"#;
    q.send(&name, json, SendOptions::default()).await.unwrap();
    let raw = q.peek_raw(&name, 1).await.unwrap();
    assert_eq!(
        raw,
        [STANDARD.encode(json)],
        "the wire carries base64 of the JSON"
    );
    let got = q
        .receive(&name, 1, std::time::Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(got[0].body, json, "the adapter decodes it again");
    q.delete_queue(&name).await.unwrap();
}

#[tokio::test]
async fn unreachable_service_names_the_setting() {
    let lookup = |k: &str| {
        (k == "AzureWebJobsStorage").then(|| {
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;QueueEndpoint=http://127.0.0.1:9/devstoreaccount1"
                .to_owned()
        })
    };
    let settings = QueueSettings::from_lookup(&lookup).unwrap();
    let err = jojomart_shared::azure_settings::connect_queue(&settings)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "AzureWebJobsStorage (http://127.0.0.1:9/devstoreaccount1) is unreachable"
        ),
        "{text}"
    );
    assert!(!text.contains("a2V5"), "no key in errors: {text}");
}
