//! The real `jojomart dev` binary on a free port over a fresh data dir, as a
//! newcomer runs it; killed when dropped.

use std::{
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use super::{binary, eventually, free_port};

/// A running `jojomart dev`.
pub struct DevProcess {
    /// The process.
    pub child: Child,
    /// `http://127.0.0.1:{port}`.
    pub base: String,
    /// Its data dir.
    pub dir: tempfile::TempDir,
}

impl DevProcess {
    /// Starts `jojomart dev --port <free> --data-dir <fresh>` with
    /// `JOJOMART_LOG=warn`, after `customise` adds arguments or variables, and
    /// waits until `GET /api/health` answers 200.
    pub async fn start(customise: impl FnOnce(&mut Command)) -> Self {
        Self::start_on(None, customise).await
    }

    /// [`DevProcess::start`] on another process's data dir (`Some`): a second
    /// instance on the same store, as two `jojomart dev` on one file.
    pub async fn start_on(data_dir: Option<&Path>, customise: impl FnOnce(&mut Command)) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let mut command = Command::new(binary());
        command
            .args(["dev", "--port", &port.to_string(), "--data-dir"])
            .arg(data_dir.unwrap_or(dir.path()))
            .env("JOJOMART_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        customise(&mut command);
        let child = command.spawn().expect("spawn jojomart dev");
        let base = format!("http://127.0.0.1:{port}");
        let client = reqwest::Client::new();
        eventually(Duration::from_secs(60), "jojomart dev to answer", || {
            let c = client.clone();
            let url = format!("{base}/api/health");
            async move { c.get(url).send().await.ok().filter(|r| r.status() == 200) }
        })
        .await;
        Self { child, base, dir }
    }

    /// The absolute URL of a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for DevProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
