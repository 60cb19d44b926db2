//! The image runtime on the tiny random-init StyleGAN2 export (tests/data/tiny-stylegan2), with
//! Python onnxruntime on the same z / w / noise / bend inputs as the independent reference.

mod common;

use common::{Reference, max_diff, run_jobs};
use engine::{BendSpec, ImageRuntime, Model, RuntimeOptions, Stage, load_config, sample_latents};
use ndarray::{Array2, Array3, Array4, Axis};
use std::path::PathBuf;

fn tiny() -> PathBuf {
    netbend_test_support::test_data("tiny-stylegan2")
}

fn runtime() -> ImageRuntime {
    let options = RuntimeOptions {
        intra_threads: Some(1),
        ..RuntimeOptions::default()
    };
    ImageRuntime::new(Model::load(tiny()).unwrap(), &options).unwrap()
}

/// Feeds every decoder input as neutral from the graph's own input list, overrides those in the
/// job (raw files), maps `z` with mapping.onnx when no `w` is given, writes `image` as float32.
const REFERENCE_PY: &str = r#"
import json, sys
import numpy as np
import onnxruntime as ort
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
[job] = json.load(open(sys.argv[1]))
load = lambda s: np.fromfile(s["file"], dtype=s["dtype"]).reshape(s["shape"])
dec = ort.InferenceSession(job["model"] + "/decoder.onnx", opts, providers=["CPUExecutionProvider"])
feeds = {}
for i in dec.get_inputs():
    dims = [int(d) if isinstance(d, int) else 0 for d in i.shape]
    if i.name.endswith(".field"):
        dims[0] = 0
    feeds[i.name] = np.zeros(dims, dtype=np.int64 if i.type == "tensor(int64)" else np.float32)
for name, spec in job["feeds"].items():
    assert name in feeds, name
    feeds[name] = load(spec)
for name, spec in job.get("built", {}).items():
    feeds[name] = np.asarray(spec["value"], dtype=spec["dtype"]).reshape(spec["shape"])
if "z" in job:
    mapping = ort.InferenceSession(job["model"] + "/mapping.onnx", opts, providers=["CPUExecutionProvider"])
    w = mapping.run(["w"], {"z": load(job["z"])})[0]
    rows = feeds["w"].shape[1]
    feeds["w"] = np.ascontiguousarray(np.repeat(w[:, None, :], rows, axis=1))
feeds["psi"] = np.full([feeds["w"].shape[0]], job["psi"], dtype=np.float32)
out = dec.run(["image"], feeds)[0]
np.ascontiguousarray(out, dtype=np.float32).tofile(job["out"])
"#;

/// A REFERENCE_PY job at truncation `psi`.
fn reference(psi: f32) -> Reference {
    Reference::with(serde_json::json!({"model": tiny(), "psi": psi}))
}

trait RunImage {
    /// Runs REFERENCE_PY; returns the images `[B, 3, 16, 16]`.
    fn image(self, batch: usize) -> Array4<f32>;
}

impl RunImage for Reference {
    fn image(self, batch: usize) -> Array4<f32> {
        let values = run_jobs(REFERENCE_PY, &[self]).pop().unwrap();
        Array4::from_shape_vec((batch, 3, 16, 16), values).unwrap()
    }
}

fn seed_latents(seeds: &[u64], dim: usize) -> Array2<f32> {
    let rows: Vec<_> = seeds.iter().map(|&s| sample_latents(s, 1, dim)).collect();
    ndarray::concatenate(Axis(0), &rows.iter().map(|r| r.view()).collect::<Vec<_>>()).unwrap()
}

#[test]
fn seeds_render_as_python_onnxruntime_renders_their_z_and_noise() {
    let mut rt = runtime();
    let seeds = [0u64, 1, 42];
    for psi in [1.0f32, 0.5] {
        let ours = rt.render_seeds(&seeds, psi).unwrap();
        assert_eq!(ours.dim(), (3, 3, 16, 16));
        let z = seed_latents(&seeds, 32);
        let theirs = reference(psi)
            .latent(&z)
            .noise(&rt.noise_of_seeds(&seeds))
            .image(3);
        let d = max_diff(&ours, &theirs);
        assert!(d < 1e-5, "psi {psi}: max |Rust - Python| = {d}");
    }
    // An image depends on its own seed only, not on its batch neighbours.
    let alone = rt.render_seeds(&[42], 0.5).unwrap();
    let batch = rt.render_seeds(&seeds, 0.5).unwrap();
    assert_eq!(alone.index_axis(Axis(0), 0), batch.index_axis(Axis(0), 2));
    assert_ne!(batch.index_axis(Axis(0), 0), batch.index_axis(Axis(0), 1));
}

#[test]
fn a_projected_w_plus_renders_as_python_does() {
    let mut rt = runtime();
    let (rows, dim) = rt.w_plus_shape();
    // Distinct rows, so a wrong row order would show.
    let w = Array3::from_shape_fn((1, rows, dim), |(_, r, d)| {
        ((r * 7 + d * 3) % 11) as f32 * 0.2 - 1.0
    });
    let noise = rt.noise_of_seeds(&[5]);
    let ours = rt.synthesize(w.view(), 0.7, &noise).unwrap();
    let theirs = reference(0.7)
        .feed("w", w.as_slice().unwrap(), w.shape())
        .noise(&noise)
        .image(1);
    let d = max_diff(&ours, &theirs);
    assert!(d < 1e-5, "max |Rust - Python| = {d}");
}

#[test]
fn truncation_pulls_towards_the_manifests_mean_latent() {
    let mut rt = runtime();
    let (rows, dim) = rt.w_plus_shape();
    let noise = rt.noise_of_seeds(&[3]);
    // psi = 0 renders the mean latent whatever w is; the mean comes from the manifest.
    let mean = Array2::from_shape_vec((1, dim), rt.mean_latent().to_vec()).unwrap();
    let at_mean = rt
        .synthesize(
            engine::image::broadcast_rows(mean.view(), rows).view(),
            1.0,
            &noise,
        )
        .unwrap();
    let w = rt.w_plus_of_seeds(&[3]).unwrap();
    let truncated = rt.synthesize(w.view(), 0.0, &noise).unwrap();
    let d = max_diff(&at_mean, &truncated);
    assert!(d < 1e-5, "psi 0 vs the mean latent: {d}");
    let untruncated = rt.render_seeds(&[3], 1.0).unwrap();
    assert!(max_diff(&untruncated, &truncated) > 1e-3);
}

#[test]
fn ablating_layer_3_changes_the_image_exactly_as_python_does() {
    let mut rt = runtime();
    let neutral = rt.render_seeds(&[7], 1.0).unwrap();
    let mut spec = BendSpec::neutral();
    spec.entries.push(engine::BendEntry::new(
        3,
        engine::Transform::new(Stage::Ablate, &[]).unwrap(),
        engine::Selection::All,
    ));
    rt.set_spec(&spec).unwrap();
    let ours = rt.render_seeds(&[7], 1.0).unwrap();
    // The reference builds the ablation itself: every channel of layer 3, mix 1.
    let c = Model::load(tiny()).unwrap().layer(3).unwrap().channels;
    let theirs = reference(1.0)
        .latent(&seed_latents(&[7], 32))
        .noise(&rt.noise_of_seeds(&[7]))
        .built(
            "L3.ablate.idx",
            (0..c as i64).collect::<Vec<_>>().into(),
            &[c],
            "int64",
        )
        .built("L3.ablate.mix", vec![1.0f32; c].into(), &[c], "float32")
        .image(1);
    assert!(
        max_diff(&ours, &theirs) < 1e-5,
        "{}",
        max_diff(&ours, &theirs)
    );
    assert!(
        max_diff(&ours, &neutral) > 1e-2,
        "the ablation must change the image"
    );
    // And back.
    rt.clear_bend().unwrap();
    assert_eq!(rt.render_seeds(&[7], 1.0).unwrap(), neutral);
}

#[test]
fn a_config_file_bends_image_layers_as_python_runs_its_compiled_inputs() {
    let mut rt = runtime();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bend.yaml");
    std::fs::write(
        &config,
        "seed: 3\ntransforms:\n  - {layer: 1, transform: rotate, params: [90], features: random, feature-param: 0.5}\n  - {layer: 4, transform: scalar-multiply, params: [2.5], features: random, feature-param: 0.25, mix: 0.5}\n  - {layer: 5, transform: noise, params: [0.8], features: random, feature-param: 0.5}\n",
    )
    .unwrap();
    let spec = load_config(&config, rt.model().manifest()).unwrap();
    rt.set_spec(&spec).unwrap();
    let ours = rt.render_seeds(&[11], 0.8).unwrap();
    let theirs = reference(0.8)
        .latent(&seed_latents(&[11], 32))
        .noise(&rt.noise_of_seeds(&[11]))
        .compiled(rt.bend())
        .image(1);
    let d = max_diff(&ours, &theirs);
    assert!(d < 1e-5, "max |Rust - Python| = {d}");
    rt.clear_bend().unwrap();
    assert!(max_diff(&ours, &rt.render_seeds(&[11], 0.8).unwrap()) > 1e-3);
}

#[test]
fn image_errors_are_clear() {
    let mut rt = runtime();
    // A layer the model does not have: the range is named.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bend.yaml");
    std::fs::write(&config, "transforms:\n  - {layer: 9, transform: ablate}\n").unwrap();
    let e = load_config(&config, rt.model().manifest())
        .unwrap_err()
        .to_string();
    assert!(e.contains('9') && e.contains('5'), "{e}");
    // Wrong w+ shape and noise shapes.
    let e = rt
        .synthesize(Array3::zeros((1, 2, 32)).view(), 1.0, &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("[1, 2, 32]") && e.contains("[B, 6, 32]"), "{e}");
    let e = rt
        .synthesize(
            Array3::zeros((1, 6, 32)).view(),
            1.0,
            &rt.noise_of_seeds(&[1, 2]),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("noise.L1"), "{e}");
    // An audio model is refused by the image runtime, and the image model by the audio one.
    let audio = Model::load(common::tiny_vae()).unwrap();
    let e = ImageRuntime::new(audio, &RuntimeOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(
        e.contains("not an image model") && e.contains("spectrogram-vae"),
        "{e}"
    );
    let e = engine::Runtime::new(Model::load(tiny()).unwrap(), &RuntimeOptions::default())
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("image model"), "{e}");
}

#[test]
fn image_manifest_errors_name_the_field() {
    let text = std::fs::read_to_string(tiny().join("manifest.json")).unwrap();
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["stylegan2"]["mean_latent"].as_array_mut().unwrap().pop();
    let e = engine::Manifest::parse(&m.to_string(), std::path::Path::new("m.json"))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("stylegan2.mean_latent") && e.contains("31 values"),
        "{e}"
    );
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m["stylegan2"]["noise"][2]["height"] = 4.into();
    let e = engine::Manifest::parse(&m.to_string(), std::path::Path::new("m.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("stylegan2.noise[2]"), "{e}");
    let mut m: serde_json::Value = serde_json::from_str(&text).unwrap();
    m.as_object_mut().unwrap().remove("image");
    let e = engine::Manifest::parse(&m.to_string(), std::path::Path::new("m.json"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("`image`") && e.contains("missing"), "{e}");
}

#[test]
fn cuda_request_falls_back_to_the_cpu_with_a_note() {
    let options = RuntimeOptions {
        intra_threads: Some(1),
        device: engine::Device::Cuda { device_id: 0 },
        ..RuntimeOptions::default()
    };
    let mut rt = ImageRuntime::new(Model::load(tiny()).unwrap(), &options).unwrap();
    // This machine has no GPU build of ONNX Runtime: the runtime says so and runs on the CPU.
    if rt.device() == engine::Device::Cpu {
        assert!(
            rt.notes().iter().any(|n| n.contains("CUDA")),
            "{:?}",
            rt.notes()
        );
    }
    let cpu = runtime().render_seeds(&[1], 1.0).unwrap();
    assert!(max_diff(&rt.render_seeds(&[1], 1.0).unwrap(), &cpu) < 1e-4);
}
