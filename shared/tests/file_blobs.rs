//! The blob conformance suite on the files adapter, plus what only it must do:
//! keep temp files and sidecars out of sight.

use std::sync::Arc;

use jojomart_shared::blob::{files::FileBlobs, SharedBlobs};

#[tokio::test]
async fn files_adapter_passes_the_blob_suite() {
    let dir = tempfile::tempdir().expect("temp dir");
    let blobs: SharedBlobs = Arc::new(FileBlobs::new(dir.path().join("media"), "/media"));
    jojomart_shared::conformance::blob::run(blobs).await;
    let leftovers: Vec<_> = std::fs::read_dir(dir.path().join("media/conformance"))
        .expect("the run's directory")
        .flat_map(|run| std::fs::read_dir(run.expect("entry").path()).expect("dir"))
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(
        leftovers.is_empty(),
        "temp files left behind: {leftovers:?}"
    );
}
