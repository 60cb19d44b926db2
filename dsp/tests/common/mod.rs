//! Shared helpers for the dsp integration tests: the workspace's test audio and the Python
//! reference (NumPy/SciPy/soundfile in the project venv).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("dsp lives one level below the workspace root")
        .to_path_buf()
}

pub fn test_data(name: &str) -> PathBuf {
    workspace_root().join("tests/data").join(name)
}

/// `<workspace>/.venv/bin/python`, else `$NETBEND_PYTHON`. Missing is a failure, not a skip:
/// these tests are the independent references.
pub fn python() -> PathBuf {
    let venv = workspace_root().join(".venv/bin/python");
    if venv.exists() {
        return venv;
    }
    if let Some(p) = std::env::var_os("NETBEND_PYTHON") {
        let p = PathBuf::from(p);
        if p.exists() {
            return p;
        }
        panic!(
            "NETBEND_PYTHON={} does not exist; run `cargo xtask setup` to create .venv/",
            p.display()
        );
    }
    panic!(
        "no Python reference environment: {} is missing and NETBEND_PYTHON is unset. \
         Run `cargo xtask setup` (or set NETBEND_PYTHON to a python with numpy, scipy, soundfile).",
        venv.display()
    );
}

/// Runs `script` with the reference Python, with `args`; panics with its stderr on failure.
pub fn run_python(script: &str, args: &[&Path]) {
    let out = Command::new(python())
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("cannot start the reference Python");
    assert!(
        out.status.success(),
        "reference Python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

pub fn write_f32(path: &Path, data: &[f32]) {
    let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

pub fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

pub fn read_f64(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// Deterministic white noise in [-0.5, 0.5) (xorshift; no dependency needed for test input).
pub fn noise(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.max(1);
    (0..len)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            s as f32 / 4_294_967_296.0 - 0.5
        })
        .collect()
}

/// `||a - b|| / ||a||`.
pub fn relative_l2(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let (mut e, mut n) = (0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        e += ((x - y) as f64).powi(2);
        n += (x as f64).powi(2);
    }
    (e / n).sqrt()
}

pub fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
