//! Shared by the tests that run the tiny test model: paths, and an independent reference computed
//! by Python onnxruntime on the same inputs.

#![allow(dead_code)]

use engine::{CompiledBend, Stage};
use ndarray::{Array, Array2, Array3, Array4, Dimension};
use netbend_test_support::{RawNumber, python_script, read_raw, run_ok, write_raw};
use std::path::PathBuf;

pub fn tiny_vae() -> PathBuf {
    netbend_test_support::test_data("tiny-vae")
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

for job in json.load(open(sys.argv[1])):
    run(job)
"#;

/// The inputs of one Python onnxruntime reference run: a JSON job naming raw files written to
/// its own temporary folder (`feeds` are decoder inputs by name, `built` inputs the test wrote
/// itself), and the raw float32 file the script writes its output to (`out`).
pub struct Reference {
    dir: tempfile::TempDir,
    job: serde_json::Value,
}

impl Reference {
    /// A job for the tiny VAE and REFERENCE_PY.
    pub fn new() -> Reference {
        let model = tiny_vae();
        Reference::with(serde_json::json!({
            "decoder": model.join("decoder.onnx"),
            "encoder": model.join("encoder.onnx"),
        }))
    }

    /// A job of `fields` (an object) and the script's own.
    pub fn with(fields: serde_json::Value) -> Reference {
        let dir = tempfile::tempdir().unwrap();
        let mut job = fields;
        job["feeds"] = serde_json::json!({});
        job["built"] = serde_json::json!({});
        job["out"] = serde_json::json!(dir.path().join("out.f32"));
        Reference { dir, job }
    }

    fn file<T: RawNumber>(&self, name: &str, data: &[T], shape: &[usize]) -> serde_json::Value {
        let file = self.dir.path().join(name);
        write_raw(&file, data);
        serde_json::json!({"file": file, "dtype": T::DTYPE, "shape": shape})
    }

    /// The latent `z` the decoder (or the image model's mapping network) gets.
    pub fn latent(mut self, z: &Array2<f32>) -> Reference {
        let z = z.as_standard_layout();
        self.job["z"] = self.file("z.f32", z.as_slice().unwrap(), z.shape());
        self
    }

    /// The spectrogram window the encoder gets (the decoder then decodes its `mu`).
    pub fn window(mut self, w: &Array3<f32>) -> Reference {
        let w = w.as_standard_layout();
        self.job["window"] = self.file("window.f32", w.as_slice().unwrap(), w.shape());
        self
    }

    /// The decoder input `name`.
    pub fn feed<T: RawNumber>(mut self, name: &str, data: &[T], shape: &[usize]) -> Reference {
        self.job["feeds"][name] = self.file(name, data, shape);
        self
    }

    /// An image model's noise maps, `noise.L1` onwards.
    pub fn noise(mut self, noise: &[Array4<f32>]) -> Reference {
        for (l, map) in noise.iter().enumerate() {
            let name = format!("noise.L{}", l + 1);
            self = self.feed(&name, map.as_slice().unwrap(), map.shape());
        }
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
                let (k, base) = (s.len(), format!("L{}.{}", layer.index, stage.name()));
                self = self.feed(&format!("{base}.idx"), &s.idx, &[k]);
                self = self.feed(&format!("{base}.mix"), &s.mix, &[k]);
                let p = stage.graph_params();
                if p > 0 {
                    self = self.feed(&format!("{base}.params"), &s.params, &[k, p]);
                }
                if stage == Stage::Shuffle {
                    self = self.feed(&format!("{base}.source"), &s.source, &[k]);
                }
                if stage == Stage::Noise {
                    let shape = [k, layer.height, layer.width];
                    self = self.feed(&format!("{base}.field"), &s.field, &shape);
                }
            }
        }
        self
    }

    /// Runs REFERENCE_PY; returns the spectrogram `[B, frames, bins]`.
    pub fn run(self, batch: usize) -> Array3<f32> {
        run_all(vec![self], batch).pop().unwrap()
    }
}

/// Runs `script` once on the jobs (a JSON list in `argv[1]`: one start-up, sessions shared);
/// returns each job's output.
pub fn run_jobs(script: &str, references: &[Reference]) -> Vec<Vec<f32>> {
    let dir = tempfile::tempdir().unwrap();
    let jobs: Vec<&serde_json::Value> = references.iter().map(|r| &r.job).collect();
    let job_file = dir.path().join("jobs.json");
    std::fs::write(&job_file, serde_json::to_string(&jobs).unwrap()).unwrap();
    run_ok(
        python_script(script).arg(&job_file),
        "the Python onnxruntime reference",
    );
    references
        .iter()
        .map(|r| read_raw(&r.dir.path().join("out.f32")))
        .collect()
}

/// Runs several tiny-VAE references in one Python process.
pub fn run_all(references: Vec<Reference>, batch: usize) -> Vec<Array3<f32>> {
    run_jobs(REFERENCE_PY, &references)
        .into_iter()
        .map(|values| {
            let per = values.len() / batch;
            Array3::from_shape_vec((batch, 128, per / 128), values).unwrap()
        })
        .collect()
}

/// Largest absolute difference.
pub fn max_diff<D: Dimension>(a: &Array<f32, D>, b: &Array<f32, D>) -> f32 {
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
