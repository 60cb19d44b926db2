//! Shared by the tests that run the tiny test model: paths, and an independent reference computed
//! by Python onnxruntime on the same inputs.

#![allow(dead_code)]

use engine::{CompiledBend, Stage};
use ndarray::{Array2, Array3};
use std::path::PathBuf;
use std::process::Command;

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub fn tiny_vae() -> PathBuf {
    workspace().join("tests/data/tiny-vae")
}

/// The project's Python (`cargo xtask setup` makes `.venv/`), or `NETBEND_VENV_PYTHON`.
pub fn python() -> PathBuf {
    let path = std::env::var_os("NETBEND_VENV_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join(".venv/bin/python"));
    assert!(
        path.exists(),
        "the reference computations need the project's Python environment with onnxruntime and \
         numpy at {}: run `cargo xtask setup`, or set NETBEND_VENV_PYTHON to such a Python",
        path.display()
    );
    path
}

/// The script: builds every decoder input as neutral (K = 0) from the graph's own input list,
/// overrides those given in `feeds.json`, decodes `z` or autoencodes `window`, writes the
/// spectrogram as float32.
const REFERENCE_PY: &str = r#"
import json, sys
import numpy as np
import onnxruntime as ort

def load(spec):
    return np.fromfile(spec["file"], dtype=spec["dtype"]).reshape(spec["shape"])
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
sessions = {}
def session(path):
    if path not in sessions:
        sessions[path] = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    return sessions[path]

def run(job):
  dec = session(job["decoder"])
  feeds = {}
  for i in dec.get_inputs():
      if i.name == "z":
          continue
      dims = [0 if not isinstance(d, int) else d for d in i.shape]
      dims[0] = 0
      if i.name.endswith(".field"):
          dims = [0] + [int(x) for x in i.shape[1:]]
      dtype = np.int64 if i.type == "tensor(int64)" else np.float32
      feeds[i.name] = np.zeros(dims, dtype=dtype)
  for name, spec in job["feeds"].items():
      assert name in feeds, name
      feeds[name] = load(spec)
  for name, spec in job.get("built", {}).items():
      assert name in feeds, name
      feeds[name] = np.asarray(spec["value"], dtype=spec["dtype"]).reshape(spec["shape"])
  if "window" in job:
      enc = session(job["encoder"])
      w = load(job["window"])
      z = enc.run(["mu"], {"spectrogram": w[:, None]})[0]
  else:
      z = load(job["z"])
  feeds["z"] = z
  out = dec.run(["spectrogram"], feeds)[0]
  np.ascontiguousarray(out[:, 0], dtype=np.float32).tofile(job["out"])

jobs = json.load(open(sys.argv[1]))
for job in (jobs if isinstance(jobs, list) else [jobs]):
    run(job)
"#;

pub struct Reference {
    dir: tempfile::TempDir,
    job: serde_json::Value,
}

impl Reference {
    pub fn new() -> Reference {
        let dir = tempfile::tempdir().unwrap();
        let model = tiny_vae();
        let job = serde_json::json!({
            "decoder": model.join("decoder.onnx"),
            "encoder": model.join("encoder.onnx"),
            "feeds": {},
            "built": {},
            "out": dir.path().join("out.f32"),
        });
        Reference { dir, job }
    }

    fn write<T: Copy>(
        &self,
        name: &str,
        data: &[T],
        shape: &[usize],
        dtype: &str,
    ) -> serde_json::Value {
        let file = self.dir.path().join(name);
        let bytes = unsafe {
            std::slice::from_raw_parts(data.as_ptr() as *const u8, std::mem::size_of_val(data))
        };
        std::fs::write(&file, bytes).unwrap();
        serde_json::json!({"file": file, "dtype": dtype, "shape": shape})
    }

    pub fn latent(mut self, z: &Array2<f32>) -> Reference {
        let z = z.as_standard_layout();
        let v = self.write("z.f32", z.as_slice().unwrap(), z.shape(), "float32");
        self.job["z"] = v;
        self
    }

    pub fn window(mut self, w: &Array3<f32>) -> Reference {
        let w = w.as_standard_layout();
        let v = self.write("window.f32", w.as_slice().unwrap(), w.shape(), "float32");
        self.job["window"] = v;
        self
    }

    /// A decoder input built by the test itself (not by the engine).
    pub fn built(
        mut self,
        name: &str,
        value: serde_json::Value,
        shape: &[usize],
        dtype: &str,
    ) -> Reference {
        self.job["built"][name] =
            serde_json::json!({"value": value, "shape": shape, "dtype": dtype});
        self
    }

    /// Every non-neutral stage of a bend compiled by the engine, as raw files.
    pub fn compiled(mut self, bend: &CompiledBend) -> Reference {
        for layer in &bend.layers {
            for stage in Stage::ALL {
                let s = layer.stage(stage);
                if s.is_empty() {
                    continue;
                }
                let k = s.len();
                let base = format!("L{}.{}", layer.index, stage.name());
                let mut feeds = vec![
                    (
                        "idx",
                        self.write(&format!("{base}.idx"), &s.idx, &[k], "int64"),
                    ),
                    (
                        "mix",
                        self.write(&format!("{base}.mix"), &s.mix, &[k], "float32"),
                    ),
                ];
                let p = stage.graph_params();
                if p > 0 {
                    feeds.push((
                        "params",
                        self.write(&format!("{base}.params"), &s.params, &[k, p], "float32"),
                    ));
                }
                if stage == Stage::Shuffle {
                    feeds.push((
                        "source",
                        self.write(&format!("{base}.source"), &s.source, &[k], "int64"),
                    ));
                }
                if stage == Stage::Noise {
                    let shape = [k, layer.height, layer.width];
                    feeds.push((
                        "field",
                        self.write(&format!("{base}.field"), &s.field, &shape, "float32"),
                    ));
                }
                for (suffix, v) in feeds {
                    self.job["feeds"][format!("{base}.{suffix}")] = v;
                }
            }
        }
        self
    }

    /// Runs the script; returns the spectrogram `[B, frames, bins]`.
    pub fn run(self, batch: usize) -> Array3<f32> {
        run_all(vec![self], batch).pop().unwrap()
    }
}

/// Runs several references in one Python process (one start-up, sessions shared).
pub fn run_all(references: Vec<Reference>, batch: usize) -> Vec<Array3<f32>> {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<&serde_json::Value> = references.iter().map(|r| &r.job).collect();
    let job_file = dir.path().join("jobs.json");
    std::fs::write(&job_file, serde_json::to_string(&jobs).unwrap()).unwrap();
    let script = dir.path().join("reference.py");
    std::fs::write(&script, REFERENCE_PY).unwrap();
    let out = Command::new(python())
        .arg(&script)
        .arg(&job_file)
        .output()
        .expect("cannot start the project's Python");
    assert!(
        out.status.success(),
        "the Python onnxruntime reference failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    references
        .iter()
        .map(|r| {
            let bytes = std::fs::read(r.dir.path().join("out.f32")).unwrap();
            let values: Vec<f32> = bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            let per = values.len() / batch;
            Array3::from_shape_vec((batch, 128, per / 128), values).unwrap()
        })
        .collect()
}

/// Largest absolute difference.
pub fn max_diff(a: &Array3<f32>, b: &Array3<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Asserts that `model`'s general clusters partition every bendable layer: each channel in
/// exactly one cluster (the clustering issue's promise for every shipped model).
pub fn assert_general_clusters_partition_every_layer(model: &engine::Model) {
    let manifest = model.manifest();
    for layer in &manifest.layers {
        let clusters = manifest.clusters_of("general", layer.index);
        assert!(
            !clusters.is_empty(),
            "layer {} has no general clusters",
            layer.index
        );
        let mut seen: Vec<usize> = clusters.iter().flatten().copied().collect();
        seen.sort_unstable();
        let every: Vec<usize> = (0..layer.channels).collect();
        assert_eq!(
            seen, every,
            "layer {}: clusters must cover each channel once",
            layer.index
        );
    }
}

/// Asserts that `model`'s clustering record names an embedding CNN for every layer and that the
/// file is in the model directory (what per-clip clustering loads).
pub fn assert_embedding_cnns_exist(model: &engine::Model) {
    let clustering = model
        .manifest()
        .clustering
        .as_ref()
        .expect("clustering record");
    for layer in &model.manifest().layers {
        let file = clustering["embeddings"][layer.index.to_string()]["file"]
            .as_str()
            .unwrap_or_else(|| panic!("no embedding CNN for layer {}", layer.index));
        assert!(model.dir().join(file).is_file(), "{file} missing");
    }
}
