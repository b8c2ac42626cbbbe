//! `scripts/package.sh` prints only the zip's path on stdout (scripts/deploy.sh
//! reads it); the manifest check and progress go to stderr. The zip holds the
//! binary, host.json and one function.json folder per function. The release
//! build is skipped here (`JOJOMART_PACKAGE_BINARY` packages the test binary).

use std::process::Command;

use crate::harness::binary;

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
