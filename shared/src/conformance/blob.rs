//! The blob port's suite: put, read back with properties and entity tag,
//! replace, delete, and public URLs. [`run`] runs every check on one adapter;
//! keys carry a random prefix, so runs may share a container.

use bytes::Bytes;

use crate::blob::{BlobKey, BlobProperties, SharedBlobs};

fn key(run: &str, name: &str) -> BlobKey {
    BlobKey::parse(&format!("conformance/{run}/{name}")).expect("a valid key")
}

/// Runs every check of the blob suite on `blobs`.
pub async fn run(blobs: SharedBlobs) {
    let run = uuid::Uuid::new_v4().simple().to_string();
    put_then_get(&blobs, &run).await;
    replace_changes_etag(&blobs, &run).await;
    delete_removes(&blobs, &run).await;
    missing_is_none(&blobs, &run).await;
    public_url_ends_with_key(&blobs, &run);
}

/// A blob reads back with its bytes, content type and cache control.
pub async fn put_then_get(blobs: &SharedBlobs, run: &str) {
    let k = key(run, "a/b.webp");
    let props = BlobProperties::immutable("image/webp");
    blobs
        .put(&k, Bytes::from_static(b"RIFF....WEBP"), &props)
        .await
        .expect("put");
    let got = blobs
        .get(&k)
        .await
        .expect("get")
        .expect("the blob is there");
    assert_eq!(&got.bytes[..], b"RIFF....WEBP");
    assert_eq!(got.properties, props);
    assert!(!got.etag.is_empty(), "an entity tag");
}

/// Putting again replaces the bytes and the entity tag.
pub async fn replace_changes_etag(blobs: &SharedBlobs, run: &str) {
    let k = key(run, "replace.txt");
    let props = BlobProperties::immutable("text/plain");
    blobs
        .put(&k, Bytes::from_static(b"one"), &props)
        .await
        .expect("put");
    let first = blobs.get(&k).await.expect("get").expect("there");
    blobs
        .put(&k, Bytes::from_static(b"two"), &props)
        .await
        .expect("put");
    let second = blobs.get(&k).await.expect("get").expect("there");
    assert_eq!(&second.bytes[..], b"two");
    assert_ne!(first.etag, second.etag, "the entity tag follows the bytes");
}

/// A deleted blob is gone; deleting it again reports nothing was there.
pub async fn delete_removes(blobs: &SharedBlobs, run: &str) {
    let k = key(run, "gone.bin");
    blobs
        .put(
            &k,
            Bytes::from_static(b"x"),
            &BlobProperties::immutable("application/octet-stream"),
        )
        .await
        .expect("put");
    assert!(blobs.delete(&k).await.expect("delete"), "it was there");
    assert!(blobs.get(&k).await.expect("get").is_none(), "gone");
    assert!(
        !blobs.delete(&k).await.expect("delete again"),
        "nothing left"
    );
}

/// A key never written reads as `None`.
pub async fn missing_is_none(blobs: &SharedBlobs, run: &str) {
    assert!(blobs.get(&key(run, "never")).await.expect("get").is_none());
}

/// The public URL ends with the key.
pub fn public_url_ends_with_key(blobs: &SharedBlobs, run: &str) {
    let k = key(run, "x/y.webp");
    assert!(blobs.public_url(&k).ends_with(&format!("/{k}")));
}
