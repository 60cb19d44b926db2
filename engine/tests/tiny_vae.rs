//! The engine against the real exported test model (`tests/data/tiny-vae/`, random weights, the
//! real interface), with Python onnxruntime on the same inputs as the independent reference.

mod common;

use common::{Reference, max_diff, tiny_vae};
use engine::{
    BendEntry, BendSpec, Model, Runtime, RuntimeOptions, Selection, Stage, Transform, compile,
    load_config,
};
use ndarray::{Array2, Array3};

/// Deterministic pseudo-random values in [lo, hi) (a 64-bit LCG; the tests need variety, not
/// quality).
fn values(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            lo + (hi - lo) * ((s >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

fn runtime() -> Runtime {
    let model = Model::load(tiny_vae()).unwrap();
    let options = RuntimeOptions {
        intra_threads: Some(1),
        ..Default::default()
    };
    Runtime::new(model, &options).unwrap()
}

fn latents(batch: usize, seed: u64) -> Array2<f32> {
    Array2::from_shape_vec((batch, 512), values(batch * 512, seed, -2.0, 2.0)).unwrap()
}

fn windows(batch: usize, seed: u64) -> Array3<f32> {
    Array3::from_shape_vec((batch, 128, 513), values(batch * 128 * 513, seed, 0.0, 1.0)).unwrap()
}

/// Rust and Python load the same ONNX Runtime library and run the same graph with one thread
/// each: the results are identical, bit for bit.
const TOLERANCE: f32 = 0.0;

#[test]
fn loads_and_builds_sessions_matching_the_manifest() {
    let rt = runtime();
    let m = rt.model().manifest();
    assert_eq!(m.name, "tiny-vae");
    assert_eq!(m.layers.len(), 4);
    assert!(rt.bend().is_neutral());
    assert!(rt.notes().is_empty(), "{:?}", rt.notes());
    assert_eq!(rt.device(), engine::Device::Cpu);
}

#[test]
fn neutral_decode_reproduces_python_onnxruntime() {
    let mut rt = runtime();
    let z = latents(2, 1);
    let ours = rt.decode(z.view()).unwrap();
    let theirs = Reference::new().latent(&z).run(2);
    let d = max_diff(&ours, &theirs);
    assert!(
        d <= TOLERANCE,
        "neutral decode differs from Python onnxruntime by {d}"
    );
    assert!(ours.iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn neutral_autoencode_reproduces_python_onnxruntime() {
    let mut rt = runtime();
    let w = windows(2, 2);
    let ours = rt.autoencode(w.view()).unwrap();
    let theirs = Reference::new().window(&w).run(2);
    let d = max_diff(&ours, &theirs);
    assert!(
        d <= TOLERANCE,
        "neutral autoencode differs from Python onnxruntime by {d}"
    );
}

#[test]
fn ablating_all_of_layer_4_changes_the_output_exactly_as_python_does() {
    let mut rt = runtime();
    let z = latents(1, 3);
    let neutral = rt.decode(z.view()).unwrap();
    let spec = BendSpec::neutral().push(BendEntry::new(
        4,
        Transform::new(Stage::Ablate, &[]).unwrap(),
        Selection::All,
    ));
    rt.set_spec(&spec).unwrap();
    let ours = rt.decode(z.view()).unwrap();
    let c4 = rt.model().layer(4).unwrap().channels;
    let theirs = Reference::new()
        .latent(&z)
        .built(
            "L4.ablate.idx",
            (0..c4).collect::<Vec<_>>().into(),
            &[c4],
            "int64",
        )
        .built("L4.ablate.mix", vec![1.0; c4].into(), &[c4], "float32")
        .run(1);
    let d = max_diff(&ours, &theirs);
    assert!(d <= TOLERANCE, "ablated decode differs from Python by {d}");
    let change = max_diff(&ours, &neutral);
    assert!(
        change > 1e-3,
        "ablating layer 4 must change the output (changed by {change})"
    );
}

#[test]
fn scalar_multiply_with_mix_matches_python() {
    let mut rt = runtime();
    let z = latents(2, 4);
    let neutral = rt.decode(z.view()).unwrap();
    let spec = BendSpec::neutral().push(
        BendEntry::new(
            1,
            Transform::new(Stage::ScalarMultiply, &[1.5]).unwrap(),
            Selection::Channels(vec![1, 3]),
        )
        .with_mix(0.5),
    );
    rt.set_spec(&spec).unwrap();
    let ours = rt.decode(z.view()).unwrap();
    let theirs = Reference::new()
        .latent(&z)
        .built("L1.scalar-multiply.idx", vec![1, 3].into(), &[2], "int64")
        .built(
            "L1.scalar-multiply.mix",
            vec![0.5, 0.5].into(),
            &[2],
            "float32",
        )
        .built(
            "L1.scalar-multiply.params",
            vec![1.5, 1.5].into(),
            &[2, 1],
            "float32",
        )
        .run(2);
    let d = max_diff(&ours, &theirs);
    assert!(d <= TOLERANCE, "bent decode differs from Python by {d}");
    // The random-weight model's output stays near 0.5: a real change is small but far above
    // float rounding (~6e-8 at 0.5).
    assert!(max_diff(&ours, &neutral) > 1e-5);
}

#[test]
fn example_configs_run_exactly_as_python_runs_their_compiled_inputs() {
    let mut rt = runtime();
    let z = latents(1, 5);
    let neutral = rt.decode(z.view()).unwrap();
    let examples = netbend_test_support::workspace_root().join("examples");
    for (name, seed) in [
        ("figure3-stochastic.yaml", 1),
        ("figure3-stochastic.yaml", 2),
        ("netbend-extras.yaml", 9),
        ("reference-format.yaml", 4),
    ] {
        let mut spec = load_config(examples.join(name), rt.model().manifest()).unwrap();
        spec.seed = seed;
        let bend = compile(&spec, rt.model().manifest()).unwrap();
        rt.set_bend(&bend).unwrap();
        let ours = rt.decode(z.view()).unwrap();
        let theirs = Reference::new().latent(&z).compiled(&bend).run(1);
        let d = max_diff(&ours, &theirs);
        assert!(
            d <= TOLERANCE,
            "{name} (seed {seed}) differs from Python by {d}"
        );
        assert!(
            max_diff(&ours, &neutral) > 1e-4,
            "{name} must change the output"
        );
    }
}

/// Every transform with typical parameters, on all channels of layer 2.
fn every_stage() -> Vec<(Stage, Vec<f64>)> {
    Stage::ALL
        .into_iter()
        .map(|stage| {
            let params = match stage {
                Stage::Translate => vec![0.25, -0.1],
                Stage::Scale => vec![0.6, 1.3],
                Stage::Rotate => vec![45.0],
                Stage::Erode | Stage::Dilate => vec![2.0],
                Stage::ScalarMultiply => vec![-1.5],
                Stage::Offset => vec![0.3],
                Stage::BinaryThresh => vec![0.0],
                Stage::Noise => vec![0.5],
                _ => vec![],
            };
            (stage, params)
        })
        .collect()
}

#[test]
fn every_transform_runs_as_python_runs_it_and_changes_the_output() {
    let mut rt = runtime();
    let z = latents(1, 10);
    let neutral = rt.decode(z.view()).unwrap();
    let mut ours = Vec::new();
    let mut references = Vec::new();
    for (stage, params) in every_stage() {
        let spec = BendSpec::neutral().with_seed(3).push(BendEntry::new(
            2,
            Transform::new(stage, &params).unwrap(),
            Selection::All,
        ));
        let bend = compile(&spec, rt.model().manifest()).unwrap();
        rt.set_bend(&bend).unwrap();
        ours.push((stage, rt.decode(z.view()).unwrap()));
        references.push(Reference::new().latent(&z).compiled(&bend));
    }
    let theirs = common::run_all(references, 1);
    for ((stage, ours), theirs) in ours.iter().zip(&theirs) {
        let d = max_diff(ours, theirs);
        assert!(d <= TOLERANCE, "`{stage}` differs from Python by {d}");
        let change = max_diff(ours, &neutral);
        assert!(
            change > 1e-5,
            "`{stage}` on all of layer 2 must change the output (changed by {change})"
        );
    }
}

#[test]
fn the_neutral_decode_beside_the_bent_one_is_the_unbent_autoencode_and_skipped_when_neutral() {
    let mut rt = runtime();
    let w = windows(2, 8);
    let unbent = rt.autoencode(w.view()).unwrap();
    // Neutral bend: no second decode, the bent output is the plain autoencode.
    let (bent, neutral) = rt.autoencode_with_neutral(w.view()).unwrap();
    assert!(neutral.is_none(), "a neutral bend needs no neutral decode");
    assert_eq!(bent, unbent);
    let spec = load_config(
        netbend_test_support::workspace_root().join("examples/figure3-stochastic.yaml"),
        rt.model().manifest(),
    )
    .unwrap();
    rt.set_spec(&spec).unwrap();
    let bent_alone = rt.autoencode(w.view()).unwrap();
    let (bent, neutral) = rt.autoencode_with_neutral(w.view()).unwrap();
    assert_eq!(
        bent, bent_alone,
        "the bent decode is the one autoencode gives"
    );
    assert_eq!(
        neutral.unwrap(),
        unbent,
        "the neutral decode is the unbent autoencode"
    );
    assert!(
        max_diff(&bent, &unbent) > 1e-3,
        "the bend changes the output"
    );
    // The bend stays current after the neutral decode.
    assert_eq!(rt.autoencode(w.view()).unwrap(), bent_alone);
}

#[test]
fn clearing_the_bend_restores_the_neutral_output_bit_for_bit() {
    let mut rt = runtime();
    let z = latents(1, 6);
    let neutral = rt.decode(z.view()).unwrap();
    let spec = load_config(
        netbend_test_support::workspace_root().join("examples/figure3-stochastic.yaml"),
        rt.model().manifest(),
    )
    .unwrap();
    rt.set_spec(&spec).unwrap();
    assert!(!rt.bend().is_neutral());
    rt.clear_bend().unwrap();
    assert_eq!(rt.decode(z.view()).unwrap(), neutral);
    // A mix of 0 is neutral too.
    let mut zero_mix = spec.clone();
    zero_mix.entries.iter_mut().for_each(|e| e.mix = 0.0);
    rt.set_spec(&zero_mix).unwrap();
    assert!(rt.bend().is_neutral());
    assert_eq!(rt.decode(z.view()).unwrap(), neutral);
    // Mix 0 given to the graph (K > 0) is exact too.
    let mut bend = compile(&spec, rt.model().manifest()).unwrap();
    for layer in &mut bend.layers {
        for stage in &mut layer.stages {
            stage.mix.iter_mut().for_each(|m| *m = 0.0);
        }
    }
    rt.set_bend(&bend).unwrap();
    assert_eq!(rt.decode(z.view()).unwrap(), neutral);
}

#[test]
fn activations_have_the_manifest_shapes() {
    let mut rt = runtime();
    let w = windows(2, 7);
    let acts = rt.activations(w.view()).unwrap();
    let layers = rt.model().layers().to_vec();
    assert_eq!(acts.len(), layers.len());
    for (a, l) in acts.iter().zip(&layers) {
        assert_eq!(a.shape(), &[2, l.channels, l.height, l.width]);
    }
    let mu = rt.encode(w.view()).unwrap();
    let (spec, _) = rt.decode_with_activations(mu.view()).unwrap();
    assert_eq!(spec, rt.autoencode(w.view()).unwrap());
}

#[test]
fn wrong_input_shapes_are_named() {
    let mut rt = runtime();
    let e = rt
        .decode(Array2::zeros((1, 16)).view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("[1, 16]") && e.contains("[B, 512]"), "{e}");
    let e = rt
        .autoencode(Array3::zeros((1, 64, 513)).view())
        .unwrap_err()
        .to_string();
    assert!(e.contains("[B, 128, 513]"), "{e}");
}

#[test]
fn config_errors_against_the_tiny_model() {
    let dir = tempfile::tempdir().unwrap();
    let m = Model::load(tiny_vae()).unwrap();
    let write = |text: &str| {
        let p = dir.path().join("bend.yaml");
        std::fs::write(&p, text).unwrap();
        p
    };
    let e = load_config(
        write("transforms:\n- layer: 1\n  transform: melt\n"),
        m.manifest(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bend.yaml:3:")
            && e.contains("unknown transform \"melt\"")
            && e.contains("allowed: shuffle"),
        "{e}"
    );
    let e = load_config(
        write("transforms:\n- {layer: 5, transform: invert}\n"),
        m.manifest(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("bend.yaml:2:") && e.contains("model `tiny-vae`: allowed 1..=4"),
        "{e}"
    );
    let e = load_config(
        write(
            "transforms:\n- {layer: 2, transform: ablate, features: cluster, feature-param: 0}\n",
        ),
        m.manifest(),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("layer 2 has no clusters"), "{e}");
}

/// A copy of the tiny model whose manifest is edited by `edit`.
fn edited_copy(edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["encoder.onnx", "decoder.onnx", "manifest.json"] {
        std::fs::copy(tiny_vae().join(f), dir.path().join(f)).unwrap();
    }
    let path = dir.path().join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut m);
    std::fs::write(&path, m.to_string()).unwrap();
    dir
}

#[test]
fn model_directory_errors_name_the_file_and_field() {
    let empty = tempfile::tempdir().unwrap();
    let e = Model::load(empty.path()).unwrap_err().to_string();
    assert!(
        e.contains("is not a Netbend model: manifest.json missing"),
        "{e}"
    );

    let d = edited_copy(|m| m["layers"][2]["channels"] = 0.into());
    let e = Model::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("manifest.json") && e.contains("field `layers[2].channels`"),
        "{e}"
    );

    let d = edited_copy(|m| m["layers"][1]["channels"] = "four".into());
    let e = Model::load(d.path()).unwrap_err().to_string();
    assert!(e.contains("field `layers[1].channels`"), "{e}");

    let d = edited_copy(|m| m["format"] = "something-else".into());
    let e = Model::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("field `format`") && e.contains("netbend-model"),
        "{e}"
    );

    let d = edited_copy(|m| m["bend_interface"] = 2.into());
    let e = Model::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("field `bend_interface`") && e.contains("version 2"),
        "{e}"
    );

    let d = edited_copy(|m| m["clusters"]["general"]["1"] = serde_json::json!([[0, 99]]));
    let e = Model::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("field `clusters.general.1[0]`") && e.contains("channel 99"),
        "{e}"
    );

    let d = edited_copy(|_| {});
    std::fs::remove_file(d.path().join("decoder.onnx")).unwrap();
    let e = Model::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("field `graphs.decoder.file`") && e.contains("missing"),
        "{e}"
    );

    // A manifest listing a decoder input the interface does not have.
    let d = edited_copy(|m| {
        m["graphs"]["decoder"]["inputs"]
            .as_array_mut()
            .unwrap()
            .push("L1.melt.idx".into())
    });
    let e = Model::load(d.path()).unwrap_err().to_string();
    assert!(
        e.contains("graphs.decoder.inputs") && e.contains("unexpected L1.melt.idx"),
        "{e}"
    );
}

#[test]
fn a_decoder_that_does_not_match_the_manifest_is_refused_with_the_inputs_named() {
    // The manifest claims three layers; the graph has four: its L4 inputs are extra.
    let d = edited_copy(|m| {
        m["layers"].as_array_mut().unwrap().pop();
        for key in ["inputs", "outputs"] {
            m["graphs"]["decoder"][key]
                .as_array_mut()
                .unwrap()
                .retain(|n| !n.as_str().unwrap().starts_with("L4.") && n != "act.L4");
        }
    });
    let model = Model::load(d.path()).unwrap();
    let e = Runtime::new(model, &RuntimeOptions::default())
        .err()
        .expect("the decoder does not match")
        .to_string();
    assert!(
        e.contains("decoder.onnx") && e.contains("unexpected") && e.contains("L4.shuffle.idx"),
        "{e}"
    );
}

#[test]
fn cuda_request_falls_back_to_the_cpu_with_a_note() {
    let model = Model::load(tiny_vae()).unwrap();
    let options = RuntimeOptions {
        device: engine::Device::Cuda { device_id: 0 },
        intra_threads: Some(1),
        ..Default::default()
    };
    let mut rt = Runtime::new(model, &options).unwrap();
    if rt.device() == engine::Device::Cpu {
        assert!(
            rt.notes()
                .iter()
                .any(|n| n.contains("CUDA") && n.contains("CPU")),
            "{:?}",
            rt.notes()
        );
    }
    rt.decode(latents(1, 8).view()).unwrap();
}
