//! Shared helpers for the end-to-end tests.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives one level below the workspace root")
        .to_path_buf()
}

pub fn test_data(name: &str) -> PathBuf {
    workspace_root().join("tests/data").join(name)
}

/// The `netbend` binary of this checkout, built (once per test process) with the same profile
/// and target directory as the running test, so the test always exercises current sources.
pub fn netbend_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            // The test executable is <target>/<profile>/deps/<name>-<hash>.
            let exe = std::env::current_exe().expect("test executable path");
            let profile_dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("test executable inside <target>/<profile>/deps");
            let target_dir = profile_dir
                .parent()
                .expect("profile directory inside target");
            let profile = profile_dir
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("debug");
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
            let mut command = Command::new(cargo);
            command
                .current_dir(workspace_root())
                .args(["build", "--quiet", "-p", "netbend-cli", "--bin", "netbend"])
                .arg("--target-dir")
                .arg(target_dir);
            match profile {
                "debug" => {}
                "release" => {
                    command.arg("--release");
                }
                other => {
                    command.args(["--profile", other]);
                }
            }
            let status = command.status().expect("cannot run cargo to build netbend");
            assert!(status.success(), "building netbend failed ({status})");
            let binary = profile_dir.join("netbend");
            assert!(
                binary.exists(),
                "{} missing after the build",
                binary.display()
            );
            binary
        })
        .clone()
}

/// `<workspace>/.venv/bin/python` (made by `cargo xtask setup`), else `$NETBEND_PYTHON`; missing
/// is a failure, not a skip.
pub fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    let p = std::env::var_os("NETBEND_PYTHON")
        .map(PathBuf::from)
        .expect("no .venv/bin/python and NETBEND_PYTHON unset: run `cargo xtask setup`");
    assert!(p.exists(), "NETBEND_PYTHON={} does not exist", p.display());
    p
}
