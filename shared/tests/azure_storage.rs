//! The Azure Storage adapters over Azurite, one test binary: `AzureQueue`
//! with the full generic queue suite, unchanged, plus adapter checks and the
//! wire format (messages are base64 of the original text, as the Functions
//! queue trigger expects); and `AzureBlobs` with the generic blob suite (each
//! run in a fresh container) plus what a browser reading a public URL sees.
//!
//! Run (starts and stops Azurite):
//! `scripts/emulators.sh run -- cargo test -p jojomart-shared --features azure,test-support --test azure_storage`
//!
//! Reads the connection strings from `JOJOMART_TEST_STORAGE` and
//! `JOJOMART_TEST_BLOB_STORAGE` (set by `scripts/emulators.sh`); without them
//! every test prints why and passes.

mod common;

use base64::{engine::general_purpose::STANDARD, Engine};
use common::queue_smoke as smoke;
use jojomart_shared::{
    azure_settings::{BlobSettings, QueueSettings},
    blob::{azure::AzureBlobs, BlobKey, BlobProperties, BlobStore, SharedBlobs},
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

const BLOB_VAR: &str = "JOJOMART_TEST_BLOB_STORAGE";

/// Blobs in a fresh public container on Azurite, or `None` (skip) without it.
async fn blobs() -> Option<AzureBlobs> {
    let conn = jojomart_shared::conformance::emulator(BLOB_VAR)?;
    let container = smoke::unique("blobs");
    let lookup = move |k: &str| match k {
        "JOJOMART_BLOB_CONNECTION" => Some(conn.clone()),
        "JOJOMART_BLOB_CONTAINER" => Some(container.clone()),
        _ => None,
    };
    let settings = BlobSettings::from_lookup(&lookup).expect("valid test connection string");
    let blobs = AzureBlobs::connect(&settings).expect("adapter builds");
    blobs
        .ensure_container()
        .await
        .expect("create the container");
    blobs
        .ensure_container()
        .await
        .expect("creating it again is fine");
    Some(blobs)
}

#[tokio::test]
async fn azure_blobs_pass_the_blob_suite() {
    let Some(blobs) = blobs().await else { return };
    let blobs = std::sync::Arc::new(blobs);
    jojomart_shared::conformance::blob::run(blobs.clone() as SharedBlobs).await;
    blobs.delete_container().await.expect("clean up");
}

#[tokio::test]
async fn a_browser_reads_a_blob_anonymously_with_its_headers_but_cannot_list() {
    let Some(blobs) = blobs().await else { return };
    let key = BlobKey::parse("products/p_1/abc-160.webp").unwrap();
    let bytes = b"RIFF\x10\0\0\0WEBPVP8 ".to_vec();
    blobs
        .put(
            &key,
            bytes.clone().into(),
            &BlobProperties::immutable("image/webp"),
        )
        .await
        .unwrap();
    let url = blobs.public_url(&key);
    assert_eq!(url, format!("{}/{key}", blobs.container_url()));
    let client = reqwest::Client::new();
    let r = client.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200, "anonymous read of {url}");
    let header = |name: &str| {
        r.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    assert_eq!(header("content-type").as_deref(), Some("image/webp"));
    assert_eq!(
        header("cache-control").as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let etag = header("etag").expect("an ETag");
    assert_eq!(&r.bytes().await.unwrap()[..], &bytes[..]);
    let again = client
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304, "the ETag revalidates");
    let listing = client
        .get(format!(
            "{}?restype=container&comp=list",
            blobs.container_url()
        ))
        .send()
        .await
        .unwrap();
    assert!(
        listing.status().is_client_error(),
        "anonymous listing is refused: {}",
        listing.status()
    );
    assert!(
        !blobs
            .delete(&BlobKey::parse("never/put.webp").unwrap())
            .await
            .unwrap(),
        "deleting a missing blob reports nothing was there"
    );
    blobs.delete_container().await.expect("clean up");
}

#[tokio::test]
async fn unreachable_blob_service_names_the_setting() {
    let lookup = |k: &str| {
        (k == "JOJOMART_BLOB_CONNECTION").then(|| {
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=a2V5;BlobEndpoint=http://127.0.0.1:9/devstoreaccount1"
                .to_owned()
        })
    };
    let settings = BlobSettings::from_lookup(&lookup).unwrap();
    let err = jojomart_shared::azure_settings::connect_blobs(&settings)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with(
            "JOJOMART_BLOB_CONNECTION (http://127.0.0.1:9/devstoreaccount1) is unreachable"
        ),
        "{text}"
    );
    assert!(!text.contains("a2V5"), "no key in errors: {text}");
}
