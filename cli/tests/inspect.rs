//! `netbend inspect` as a user runs it.

use std::path::PathBuf;
use std::process::Command;

fn tiny_vae() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/tiny-vae")
}

fn netbend(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_netbend"))
        .args(args)
        .output()
        .expect("cannot run netbend");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn inspect_shows_layers_stages_clusters_and_graphs() {
    let model = tiny_vae();
    let (ok, out, err) = netbend(&["inspect", model.to_str().unwrap()]);
    assert!(ok, "netbend inspect failed: {err}");
    assert!(out.contains("(tiny-vae, spectrogram-vae)"), "{out}");
    assert!(out.contains("latent dimension: 512"), "{out}");
    // Layer table: index, channels, height x width.
    assert!(out.contains("      1         8       8 x 33"), "{out}");
    assert!(out.contains("      4         1      64 x 257"), "{out}");
    assert!(out.contains(" 7. erode            r"), "{out}");
    assert!(out.contains("map `general`"), "{out}");
    assert!(
        out.contains("input  spectrogram              Tensor<f32>(B, 1, 128, 513)"),
        "{out}"
    );
    assert!(out.contains("156 bend inputs"), "{out}");
    assert!(out.contains("output act.L4"), "{out}");

    let (ok, out, _) = netbend(&["inspect", model.to_str().unwrap(), "--all-inputs"]);
    assert!(ok);
    assert!(out.contains("input  L3.noise.field"), "{out}");
    assert!(out.contains("Tensor<i64>"), "{out}");
}

#[test]
fn inspect_manifest_only_does_not_need_the_graph_check() {
    let (ok, out, err) = netbend(&["inspect", tiny_vae().to_str().unwrap(), "--manifest-only"]);
    assert!(ok, "{err}");
    assert!(out.contains("Layers") && !out.contains("Graphs"), "{out}");
}

#[test]
fn inspect_of_a_directory_that_is_not_a_model_fails_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, _, err) = netbend(&["inspect", dir.path().to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("is not a Netbend model: manifest.json missing"),
        "{err}"
    );
}

#[test]
fn a_missing_onnx_runtime_is_reported_with_where_to_put_it() {
    let out = Command::new(env!("CARGO_BIN_EXE_netbend"))
        .args(["inspect", tiny_vae().to_str().unwrap()])
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "ORT_DYLIB_PATH is set to /nonexistent/libonnxruntime.so, which is not a file"
        ),
        "{err}"
    );
}

#[test]
fn inspect_lists_each_layers_clusters() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(tiny_vae().join("manifest.json")).unwrap();
    let text = text.replacen(
        "\"general\": {}",
        "\"general\": {\"1\": [[0, 1, 2], [3], [4, 5, 6, 7]]}, \"spectral\": {\"2\": [[0, 1]]}",
        1,
    );
    assert!(text.contains("spectral"), "the test manifest changed shape");
    std::fs::write(dir.path().join("manifest.json"), text).unwrap();
    for f in ["encoder.onnx", "decoder.onnx"] {
        std::fs::copy(tiny_vae().join(f), dir.path().join(f)).unwrap();
    }
    let (ok, out, err) = netbend(&["inspect", dir.path().to_str().unwrap(), "--manifest-only"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("layer 1: 3 clusters (index 0..=2), channels per cluster: 3, 1, 4"),
        "{out}"
    );
    assert!(out.contains("map `spectral`"), "{out}");
    assert!(out.contains("layer 2: 1 cluster (index 0..=0)"), "{out}");
}
