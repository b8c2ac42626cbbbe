//! `scripts/package.sh` prints only the zip's path on stdout (scripts/deploy.sh
//! reads it); the manifest check and progress go to stderr. The zip holds the
//! binary, host.json and one function.json folder per function. The release
//! build is skipped here (`JOJOMART_PACKAGE_BINARY` packages the test binary).
//!
//! The real package (the static musl build) is proven by
//! [`the_packaged_static_binary_serves_on_the_emulators`], ignored by default
//! because it needs the zip `scripts/package.sh` builds (a long release build):
//! `scripts/package-test.sh` builds it and runs that test against the emulators.

use std::{
    collections::BTreeSet,
    path::Path,
    process::{Child, Command, Stdio},
    time::Duration,
};

use serde_json::Value;

use crate::harness::{binary, eventually, free_port};

#[test]
fn package_sh_prints_only_the_zip_path_on_stdout() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let zip = dir.path().join("jojomart.zip");
    let out = Command::new(root.join("scripts/package.sh"))
        .env("JOJOMART_PACKAGE_BINARY", binary())
        .env("JOJOMART_PACKAGE_OUT", &zip)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "package.sh failed: {stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", zip.display()),
        "stdout is the zip path alone"
    );
    assert!(
        stderr.contains("match the function table"),
        "the manifest check reports on stderr: {stderr}"
    );

    let listing = Command::new("unzip").arg("-Z1").arg(&zip).output().unwrap();
    assert!(listing.status.success());
    let entries: Vec<String> = String::from_utf8_lossy(&listing.stdout)
        .lines()
        .map(|l| l.trim_start_matches("./").to_owned())
        .collect();
    for want in ["jojomart", "host.json"] {
        assert!(entries.iter().any(|e| e == want), "{want} in {entries:?}");
    }
    for f in jojomart::registry::functions() {
        let want = format!("{}/function.json", f.name);
        assert!(entries.contains(&want), "{want} is packaged");
    }
}

/// Kills the child when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether an ELF executable asks for a dynamic loader (a `PT_INTERP` header).
fn has_interpreter(elf: &[u8]) -> bool {
    assert_eq!(&elf[..4], b"\x7fELF", "an ELF executable");
    assert_eq!(elf[4], 2, "64-bit ELF");
    let u16_at = |o: usize| u16::from_le_bytes([elf[o], elf[o + 1]]) as usize;
    let phoff = u64::from_le_bytes(elf[0x20..0x28].try_into().unwrap()) as usize;
    let (phentsize, phnum) = (u16_at(0x36), u16_at(0x38));
    (0..phnum).any(|i| {
        let at = phoff + i * phentsize;
        u32::from_le_bytes(elf[at..at + 4].try_into().unwrap()) == 3 // PT_INTERP
    })
}

/// The zip `scripts/package.sh` built (`JOJOMART_PACKAGE_ZIP`), unpacked as the
/// Functions host would: the layout matches the function table, the handler is
/// a static executable, and `serve` on `FUNCTIONS_CUSTOMHANDLER_PORT` against
/// the emulators (after `provision`) reports health 200 and serves functions.
#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the musl package and the emulators: run scripts/package-test.sh"]
async fn the_packaged_static_binary_serves_on_the_emulators() {
    let zip = std::env::var("JOJOMART_PACKAGE_ZIP")
        .expect("JOJOMART_PACKAGE_ZIP names the zip to test (scripts/package-test.sh sets it)");
    for var in ["COSMOS_ENDPOINT", "AzureWebJobsStorage"] {
        assert!(
            std::env::var(var).is_ok(),
            "{var} is not set: run under scripts/emulators.sh run -- ..."
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let unzipped = Command::new("unzip")
        .arg("-q")
        .arg(&zip)
        .arg("-d")
        .arg(root)
        .status()
        .unwrap();
    assert!(unzipped.success(), "unzip {zip}");

    // the layout: host.json and the handler at the root, one folder per function, nothing else
    let host: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("host.json")).unwrap()).unwrap();
    let handler = &host["customHandler"]["description"];
    assert_eq!(handler["defaultExecutablePath"], "jojomart");
    assert_eq!(handler["arguments"], serde_json::json!(["serve"]));
    let functions = jojomart::registry::functions();
    let n = jojomart::manifest::check(root, &functions)
        .unwrap_or_else(|e| panic!("the packaged function.json folders: {e}"));
    assert_eq!(n, functions.len());
    let entries: BTreeSet<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut wanted: BTreeSet<String> = functions.iter().map(|f| f.name.to_owned()).collect();
    wanted.extend(["host.json".to_owned(), "jojomart".to_owned()]);
    assert_eq!(entries, wanted, "the zip's root holds exactly these");

    let exe = root.join("jojomart");
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&exe).unwrap().permissions());
    assert!(mode & 0o111 != 0, "the handler is executable: {mode:o}");
    assert!(
        !has_interpreter(&std::fs::read(&exe).unwrap()),
        "the handler is statically linked (no dynamic loader): the Functions image's libc is not ours"
    );

    // as the host runs it: from the app root, `serve` on FUNCTIONS_CUSTOMHANDLER_PORT
    let database = format!("pkg-{}", uuid::Uuid::new_v4().simple());
    let provisioned = run_packaged(&exe, root, &database)
        .arg("provision")
        .output()
        .unwrap();
    assert!(
        provisioned.status.success(),
        "the packaged provision: {}",
        String::from_utf8_lossy(&provisioned.stderr)
    );
    let port = free_port();
    let child = run_packaged(&exe, root, &database)
        .arg("serve")
        .env("FUNCTIONS_CUSTOMHANDLER_PORT", port.to_string())
        .env("JOJOMART_STORE", "cosmos")
        .env("JOJOMART_QUEUE", "azure")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _child = Killed(child);
    let client = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let health: Value = eventually(
        Duration::from_secs(90),
        "the packaged serve's health 200",
        || {
            let (c, url) = (client.clone(), format!("{base}/api/health"));
            async move {
                let r = c.get(url).send().await.ok()?;
                if r.status() != 200 {
                    return None;
                }
                r.json().await.ok()
            }
        },
    )
    .await;
    assert_eq!(health["storeKind"], "cosmos", "{health}");
    let r = client
        .get(format!("{base}/api/products"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "a function answers once healthy");
    let page: Value = r.json().await.unwrap();
    assert!(page["items"].is_array(), "a product page: {page}");
}

/// The packaged binary, run from the app root with the emulators' variables
/// (inherited) and a database of its own.
fn run_packaged(exe: &Path, root: &Path, database: &str) -> Command {
    let mut c = Command::new(exe);
    c.current_dir(root)
        .env("COSMOS_DATABASE", database)
        .env("JOJOMART_LOG", "warn");
    c
}
