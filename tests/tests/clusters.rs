//! `netbend clusters` and `render --clusters` end to end on the shipped model (models/vae, which
//! has the embedding CNNs): per-clip clusters equal the Python pipeline's
//! (`python -m netbend_models.clustering.clip_clusters`, onnxruntime), a per-clip cluster drives a bend, and
//! cluster files that do not fit the model are refused with file, line and field.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use common::{render_args, shipped_model, variations_args};
use dsp::read_audio;
use netbend_test_support::{
    netbend, netbend_ok, os, python_module, python_script, relative_l2, run_ok, stderr, stdout,
    test_data,
};

/// `netbend clusters` with `extra` options; returns the cluster file's text.
fn rust_clusters(input: &Path, out: &Path, extra: &[&OsStr]) -> String {
    let model = shipped_model();
    let mut args: Vec<&OsStr> = vec![
        os("clusters"),
        os("--model"),
        model.as_os_str(),
        os("--in"),
        input.as_os_str(),
        os("--out"),
        out.as_os_str(),
        os("--threads"),
        os("1"),
    ];
    args.extend_from_slice(extra);
    netbend_ok(&args);
    std::fs::read_to_string(out).unwrap()
}

fn python_clusters(input: &Path, out: &Path, extra: &[&OsStr]) -> String {
    run_ok(
        python_module("netbend_models.clustering.clip_clusters")
            .arg("--model")
            .arg(shipped_model())
            .arg("--in")
            .arg(input)
            .arg("--out")
            .arg(out)
            .args(extra),
        "clip_clusters",
    );
    std::fs::read_to_string(out).unwrap()
}

#[test]
fn per_clip_clusters_equal_the_python_pipeline_on_the_same_clip_and_seed() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 3] = [
        ("drum_break.flac", &[]),
        ("drum_break.flac", &["--k", "3,4,3,2", "--seed", "17"]),
        // Stereo: both sides mix to mono before the STFT.
        ("music_excerpt.flac", &["--seed", "5"]),
    ];
    for (i, (clip, extra)) in cases.iter().enumerate() {
        let input = test_data(clip);
        let extra: Vec<&OsStr> = extra.iter().map(os).collect();
        let rust_out = dir.path().join(format!("rust{i}.yaml"));
        let dump = dir.path().join(format!("rust{i}.json"));
        let mut with_dump = extra.clone();
        with_dump.extend([os("--dump-embeddings"), dump.as_os_str()]);
        let rust = rust_clusters(&input, &rust_out, &with_dump);
        let py_out = dir.path().join(format!("py{i}.yaml"));
        let py_npz = dir.path().join(format!("py{i}.npz"));
        let mut py_extra = extra.clone();
        py_extra.extend([os("--embeddings"), py_npz.as_os_str()]);
        let from_python = python_clusters(&input, &py_out, &py_extra);
        assert_eq!(rust, from_python, "{clip} {extra:?}: cluster files differ");
        assert!(rust.starts_with("1:\n- cluster_index: "), "{rust}");
        // How close the embeddings are (the clusters are equal, so this is the margin they had).
        let check = run_ok(
            python_script(
                "import json,sys,numpy as np\n\
                 r=json.load(open(sys.argv[1])); p=np.load(sys.argv[2])\n\
                 assert [np.array(r[l]).shape for l in '1234']==[(128,10),(64,10),(32,10),(16,10)]\n\
                 d=max(float(np.abs(np.array(r[l])-p['L'+l]).max()/np.abs(p['L'+l]).max()) for l in r)\n\
                 print(f'max relative embedding difference {d:.2e}'); assert d < 2e-4, d",
            )
            .arg(&dump)
            .arg(&py_npz),
            "the embedding comparison",
        );
        println!("{clip}: {}", stdout(&check));
    }
}

fn render(input: &Path, output: &Path, config: Option<&Path>, clusters: Option<&Path>) -> Output {
    let model = shipped_model();
    let mut args = render_args(&model, input, output);
    args.extend([os("--threads"), os("1")]);
    if let Some(c) = config {
        args.extend([os("--config"), c.as_os_str()]);
    }
    if let Some(c) = clusters {
        args.extend([os("--clusters"), c.as_os_str()]);
    }
    netbend(&args)
}

fn render_ok(
    input: &Path,
    output: &Path,
    config: Option<&Path>,
    clusters: Option<&Path>,
) -> Vec<f32> {
    let out = render(input, output, config, clusters);
    assert!(
        out.status.success(),
        "netbend render failed: {}",
        stderr(&out)
    );
    read_audio(output).unwrap().channels.remove(0)
}

/// Clusters of `layer` in a cluster file written by `netbend clusters` (channel lists).
fn clusters_of(text: &str, layer: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut current = 0;
    let mut cluster = 0;
    for line in text.lines() {
        if let Some(l) = line.strip_suffix(':') {
            current = l.parse().unwrap();
        } else if let Some(j) = line.strip_prefix("- cluster_index: ") {
            cluster = j.parse().unwrap();
        } else if let Some(f) = line.strip_prefix("  feature_index: ")
            && current == layer
        {
            if out.len() <= cluster {
                out.resize(cluster + 1, Vec::new());
            }
            out[cluster].push(f.parse().unwrap());
        }
    }
    out
}

#[test]
fn render_with_per_clip_clusters_ablates_the_clips_own_cluster() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let file = dir.path().join("clip.yaml");
    let text = rust_clusters(&input, &file, &[os("--seed"), os("3")]);
    let config = dir.path().join("ablate.yaml");
    std::fs::write(
        &config,
        "transforms:\n- {layer: 2, transform: ablate, features: cluster, feature-param: 0}\n",
    )
    .unwrap();
    let neutral = render_ok(&input, &dir.path().join("neutral.wav"), None, None);
    let per_clip = render_ok(
        &input,
        &dir.path().join("clip.wav"),
        Some(&config),
        Some(&file),
    );
    let general = render_ok(&input, &dir.path().join("general.wav"), Some(&config), None);
    let d_neutral = relative_l2(&neutral, &per_clip);
    println!("ablating per-clip cluster 0 of layer 2: {d_neutral:.3} relative to neutral");
    assert!(
        d_neutral > 1e-3,
        "ablating a per-clip cluster changed nothing ({d_neutral})"
    );
    // The same bend written with `channels:` (the cluster's channels from the file) must give
    // the same output bit for bit: --clusters selected exactly the file's cluster.
    let channels = &clusters_of(&text, 2)[0];
    let list: Vec<String> = channels.iter().map(|c| c.to_string()).collect();
    let by_channels = dir.path().join("channels.yaml");
    std::fs::write(
        &by_channels,
        format!(
            "transforms:\n- {{layer: 2, transform: ablate, channels: [{}]}}\n",
            list.join(", ")
        ),
    )
    .unwrap();
    let explicit = render_ok(
        &input,
        &dir.path().join("explicit.wav"),
        Some(&by_channels),
        None,
    );
    assert_eq!(
        per_clip, explicit,
        "--clusters did not select the file's cluster 0"
    );
    // `variations --clusters` selects from the same file: its one variation (seed 1) equals the
    // render (an ablation has no random part).
    let out_dir = dir.path().join("variations");
    let model = shipped_model();
    let mut args = variations_args(&model, &config, &input, "1", &out_dir);
    args.extend([os("--clusters"), file.as_os_str(), os("--threads"), os("1")]);
    let out = netbend(&args);
    assert!(out.status.success(), "variations failed: {}", stderr(&out));
    let variation = read_audio(out_dir.join("drum_break_seed0001.wav"))
        .unwrap()
        .channels
        .remove(0);
    assert_eq!(
        variation, per_clip,
        "variations --clusters differs from render --clusters"
    );
    let general_l2 = std::fs::read_to_string(shipped_model().join("clusters.yaml")).unwrap();
    // On this clip the per-clip cluster 0 of layer 2 is not the general one (adjusted Rand
    // index 0.18 between the two clusterings of layer 2), so the outputs must differ too.
    assert_ne!(clusters_of(&general_l2, 2)[0], *channels);
    assert_ne!(
        per_clip, general,
        "per-clip and general cluster 0 differ but the outputs do not"
    );
}

#[test]
fn cluster_files_that_do_not_fit_the_model_are_refused_with_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let config = dir.path().join("ablate.yaml");
    std::fs::write(
        &config,
        "transforms:\n- {layer: 4, transform: ablate, features: cluster, feature-param: 0}\n",
    )
    .unwrap();
    // Layer 4 of the shipped model has 16 channels.
    let full = |skip: usize| -> String {
        let mut t = "4:\n".to_string();
        for c in (0..16).filter(|&c| c != skip) {
            t += &format!("- {{cluster_index: {}, feature_index: {c}}}\n", c % 2);
        }
        t
    };
    let cases: Vec<(String, &str, Vec<&str>)> = vec![
        (
            full(99).replace("4:\n", "7:\n"),
            "bad-layer",
            vec![
                ":2:",
                "field `7`",
                "layer 7 is out of range",
                "allowed 1..=4",
            ],
        ),
        (
            full(99) + "- {cluster_index: 0, feature_index: 16}\n",
            "bad-channel",
            vec![
                ":18:",
                "field `4.feature_index`",
                "channel 16 is outside layer 4's channels: allowed 0..=15",
            ],
        ),
        (
            full(11),
            "missing",
            vec![":2:", "field `4`", "1 missing: 11"],
        ),
        (
            full(99) + "- {cluster_index: 1, feature_index: 3}\n",
            "duplicate",
            vec![
                ":18:",
                "field `4.feature_index`",
                "channel 3 is assigned to more than one cluster",
            ],
        ),
        (
            full(99).replace("feature_index: 2}", "feature_idx: 2}"),
            "bad-key",
            vec![":4:", "feature_idx"],
        ),
    ];
    for (text, name, needles) in cases {
        let file = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&file, text).unwrap();
        let output = dir.path().join(format!("{name}.wav"));
        let out = render(&input, &output, Some(&config), Some(&file));
        let err = stderr(&out);
        assert!(!out.status.success(), "{name}: accepted");
        assert!(
            err.contains(&format!("{}:", file.display())),
            "{name}: no file in {err}"
        );
        for n in needles {
            assert!(err.contains(n), "{name}: {n:?} not in {err}");
        }
        assert!(!output.exists(), "{name}: output written despite the error");
    }
    // --clusters without a config, and a model without embedding CNNs.
    let out = render(
        &input,
        &dir.path().join("x.wav"),
        None,
        Some(&dir.path().join("missing.yaml")),
    );
    assert!(
        stderr(&out).contains("--clusters") && stderr(&out).contains("needs --config"),
        "{}",
        stderr(&out)
    );
    let tiny = test_data("tiny-vae");
    let out = netbend([
        os("clusters"),
        os("--model"),
        tiny.as_os_str(),
        os("--in"),
        input.as_os_str(),
        os("--out"),
        dir.path().join("t.yaml").as_os_str(),
    ]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("no `clustering` record"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.path().join("t.yaml").exists());
}
