//! `netbend image` as a user runs it, on the tiny random-init StyleGAN2
//! (tests/data/tiny-stylegan2). The pixel reference is Python onnxruntime. `netbend animate`:
//! animate.rs.

mod common;

use common::{animate, gif_frames, image, netbend, rgb, tiny};
use netbend_test_support::{file_names, run_python, stderr, stdout, test_data, write_raw};

/// Python onnxruntime: the image of w (.npy, [D]) at psi with the given noise files, neutral
/// bend, as 8-bit RGB by `(x + 1) * 127.5` rounded and clamped.
const REFERENCE_PY: &str = r#"
import sys
import numpy as np
import onnxruntime as ort
model, w_file, psi, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
noise_files = sys.argv[5:]
opts = ort.SessionOptions()
opts.intra_op_num_threads = 1
dec = ort.InferenceSession(model + "/decoder.onnx", opts, providers=["CPUExecutionProvider"])
feeds = {}
for i in dec.get_inputs():
    dims = [int(d) if isinstance(d, int) else 0 for d in i.shape]
    feeds[i.name] = np.zeros(dims, dtype=np.int64 if i.type == "tensor(int64)" else np.float32)
w = np.load(w_file).astype(np.float32)
rows = feeds["w"].shape[1]
feeds["w"] = np.ascontiguousarray(np.repeat(w[None, None, :], rows, axis=1))
feeds["psi"] = np.array([psi], dtype=np.float32)
for l, f in enumerate(noise_files):
    n = feeds[f"noise.L{l + 1}"]
    feeds[f"noise.L{l + 1}"] = np.fromfile(f, dtype=np.float32).reshape([1] + list(n.shape[1:]))
img = dec.run(["image"], feeds)[0][0]
pix = np.clip(np.round((img + 1.0) * 127.5), 0, 255).astype(np.uint8).transpose(1, 2, 0)
np.ascontiguousarray(pix).tofile(out)
"#;

#[test]
fn a_latent_file_renders_the_pixels_python_onnxruntime_renders() {
    let dir = tempfile::tempdir().unwrap();
    let w = ndarray::Array1::from_shape_fn(32, |d| ((d * 5) % 9) as f32 * 0.25 - 1.0);
    let w_file = dir.path().join("w.npy");
    ndarray_npy::write_npy(&w_file, &w).unwrap();
    let out = dir.path().join("img.png");
    let w_arg = w_file.to_str().unwrap();
    let (ok, err) = image(
        &["--latent", w_arg, "--seed", "9", "--truncation", "0.7"],
        &out,
    );
    assert!(ok, "{err}");
    // The noise of seed 9 by the engine's documented rule; the image itself by Python.
    let sizes = [(4, 4), (8, 8), (8, 8), (16, 16), (16, 16)];
    let mut args = vec![
        tiny(),
        w_file.display().to_string(),
        "0.7".into(),
        dir.path().join("ref.u8").display().to_string(),
    ];
    for (l, map) in engine::sample_noise(9, &sizes).iter().enumerate() {
        let f = dir.path().join(format!("noise{l}.f32"));
        write_raw(&f, map);
        args.push(f.display().to_string());
    }
    run_python(REFERENCE_PY, &args);
    let theirs = std::fs::read(dir.path().join("ref.u8")).unwrap();
    let ours = rgb(&out);
    assert_eq!(ours.dimensions(), (16, 16));
    // Float differences of ~1e-6 can flip a rounding at .5: allow one level, rarely.
    let off: Vec<i32> = ours
        .as_raw()
        .iter()
        .zip(&theirs)
        .map(|(&a, &b)| (a as i32 - b as i32).abs())
        .collect();
    assert!(
        off.iter().all(|&d| d <= 1),
        "max difference {:?}",
        off.iter().max()
    );
    assert!(off.iter().filter(|&&d| d == 1).count() <= 3);
    // And the pixels are not constant (a meaningless all-grey image would also agree).
    assert!(ours.as_raw().iter().max() != ours.as_raw().iter().min());
}

#[test]
fn seeds_write_one_file_per_seed_equal_to_single_renders() {
    let dir = tempfile::tempdir().unwrap();
    let many = dir.path().join("many");
    let (ok, err) = image(&["--seeds", "3-5,12", "--truncation", "0.5"], &many);
    assert!(ok, "{err}");
    assert_eq!(
        file_names(&many),
        [
            "seed0003.png",
            "seed0004.png",
            "seed0005.png",
            "seed0012.png"
        ]
    );
    let single = dir.path().join("four.png");
    let (ok, err) = image(&["--seed", "4", "--truncation", "0.5"], &single);
    assert!(ok, "{err}");
    assert_eq!(rgb(&single), rgb(&many.join("seed0004.png")));
    assert_ne!(
        rgb(&many.join("seed0003.png")),
        rgb(&many.join("seed0004.png"))
    );
}

#[test]
fn a_stack_of_latents_writes_one_file_per_row_equal_to_single_renders() {
    let dir = tempfile::tempdir().unwrap();
    // Three w's of the tiny model (D = 32, 6 rows of w+).
    let stack =
        ndarray::Array2::from_shape_fn((3, 32), |(n, d)| ((d * 5 + n * 7) % 9) as f32 * 0.25 - 1.0);
    let stack_file = dir.path().join("stack.npy");
    ndarray_npy::write_npy(&stack_file, &stack).unwrap();
    let folder = dir.path().join("stack");
    let args = ["--latent", stack_file.to_str().unwrap(), "--seed", "2"];
    let (ok, err) = image(&args, &folder);
    assert!(ok, "{err}");
    assert_eq!(
        file_names(&folder),
        ["latent0000.png", "latent0001.png", "latent0002.png"]
    );
    // Row 1 alone, as a w [D]: the same picture (same noise: --seed 2).
    let row_file = dir.path().join("row1.npy");
    ndarray_npy::write_npy(&row_file, &stack.row(1).to_owned()).unwrap();
    let single = dir.path().join("row1.png");
    let (ok, err) = image(
        &["--latent", row_file.to_str().unwrap(), "--seed", "2"],
        &single,
    );
    assert!(ok, "{err}");
    assert_eq!(rgb(&single), rgb(&folder.join("latent0001.png")));
    assert_ne!(
        rgb(&folder.join("latent0000.png")),
        rgb(&folder.join("latent0001.png"))
    );
    // The same stack as [N, 1, D], and as w+'s [N, rows, D]: the same files.
    for (name, array) in [
        (
            "as-n1d",
            stack.clone().into_shape_with_order((3, 1, 32)).unwrap(),
        ),
        (
            "as-wplus",
            ndarray::Array3::from_shape_fn((3, 6, 32), |(n, _, d)| stack[[n, d]]),
        ),
    ] {
        let file = dir.path().join(format!("{name}.npy"));
        ndarray_npy::write_npy(&file, &array).unwrap();
        let out = dir.path().join(name);
        let (ok, err) = image(&["--latent", file.to_str().unwrap(), "--seed", "2"], &out);
        assert!(ok, "{name}: {err}");
        for f in ["latent0000.png", "latent0001.png", "latent0002.png"] {
            assert_eq!(rgb(&out.join(f)), rgb(&folder.join(f)), "{name}/{f}");
        }
    }
}

#[test]
fn without_model_the_shipped_demo_generator_renders() {
    let dir = tempfile::tempdir().unwrap();
    let default = dir.path().join("default.png");
    let o = default.to_str().unwrap();
    let (ok, err) = netbend(["image", "--seed", "3", "--out", o]);
    assert!(ok, "{err}");
    let demo = netbend_test_support::workspace_root().join("models/stylegan2-demo");
    let explicit = dir.path().join("explicit.png");
    let (ok, err) = netbend([
        "image",
        "--model",
        demo.to_str().unwrap(),
        "--seed",
        "3",
        "--out",
        explicit.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let picture = rgb(&default);
    assert_eq!(picture.dimensions(), (64, 64), "the demo generator's size");
    assert_eq!(picture, rgb(&explicit));
}

#[test]
fn a_bend_config_changes_the_image() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("bend.yaml");
    std::fs::write(
        &config,
        "transforms:\n  - {layer: 2, transform: rotate, params: [90]}\n",
    )
    .unwrap();
    let (plain, bent) = (dir.path().join("plain.png"), dir.path().join("bent.png"));
    assert!(image(&["--seed", "1"], &plain).0);
    let (ok, err) = image(
        &["--seed", "1", "--config", config.to_str().unwrap()],
        &bent,
    );
    assert!(ok, "{err}");
    assert_ne!(rgb(&plain), rgb(&bent));
}

#[test]
fn bad_inputs_give_clear_errors_and_no_files() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.png");
    // Unknown layer in a config.
    let config = dir.path().join("bend.yaml");
    std::fs::write(&config, "transforms:\n  - {layer: 8, transform: ablate}\n").unwrap();
    let (ok, err) = image(&["--config", config.to_str().unwrap()], &out);
    assert!(
        !ok && err.contains("layer 8") && err.contains("1..=5"),
        "{err}"
    );
    // Unknown layer in animate: no folder, no temporary folder left.
    let anim = dir.path().join("anim");
    let args = [
        "--layer",
        "6",
        "--transform",
        "rotate",
        "--from",
        "0",
        "--to",
        "9",
    ];
    let (ok, err) = animate("sweep", &args, &anim);
    assert!(!ok && err.contains("layer 6"), "{err}");
    // An audio model.
    let vae = test_data("tiny-vae");
    let o = out.to_str().unwrap();
    let (ok, err) = netbend(["image", "--model", vae.to_str().unwrap(), "--out", o]);
    assert!(!ok && err.contains("not an image model"), "{err}");
    // A latent that is not .npy, and one of the wrong shape.
    let junk = dir.path().join("junk.npy");
    std::fs::write(&junk, "not numpy").unwrap();
    let (ok, err) = image(&["--latent", junk.to_str().unwrap()], &out);
    assert!(!ok && err.contains("junk.npy"), "{err}");
    let wrong = dir.path().join("wrong.npy");
    ndarray_npy::write_npy(&wrong, &ndarray::Array2::<f32>::zeros((3, 31))).unwrap();
    let (ok, err) = image(&["--latent", wrong.to_str().unwrap()], &out);
    assert!(
        !ok && err.contains("[3, 31]") && err.contains("[6, 32]"),
        "{err}"
    );
    // A stack of w+'s with the wrong number of rows.
    ndarray_npy::write_npy(&wrong, &ndarray::Array3::<f32>::zeros((2, 4, 32))).unwrap();
    let (ok, err) = image(&["--latent", wrong.to_str().unwrap()], &out);
    assert!(
        !ok && err.contains("[2, 4, 32]") && err.contains("[N, 6, 32]"),
        "{err}"
    );
    // A stack of latents needs a folder, and --out is a file.
    let file = dir.path().join("a-file.yaml");
    std::fs::write(&file, "not a folder").unwrap();
    ndarray_npy::write_npy(&wrong, &ndarray::Array2::<f32>::zeros((3, 32))).unwrap();
    let (ok, err) = image(&["--latent", wrong.to_str().unwrap()], &file);
    assert!(
        !ok && err.contains("a-file.yaml") && err.contains("folder"),
        "{err}"
    );
    // A bad seed list and a bad transform name.
    let (ok, err) = image(&["--seeds", "9-2"], &out);
    assert!(!ok && err.contains("9-2"), "{err}");
    let blur = [
        "--layer",
        "1",
        "--transform",
        "blur",
        "--from",
        "0",
        "--to",
        "1",
    ];
    let (ok, err) = animate("sweep", &blur, &anim);
    assert!(
        !ok && err.contains("blur") && err.contains("rotate"),
        "{err}"
    );
    let mut left = file_names(dir.path());
    left.retain(|n| !n.ends_with(".yaml") && !n.ends_with(".npy"));
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn inspect_shows_an_image_models_size_and_graphs() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_netbend"))
        .args(["inspect", &tiny()])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(text.contains("(tiny-stylegan2, stylegan2)"), "{text}");
    assert!(
        text.contains("image: 16x16 RGB in [-1, 1]; w+ of 6 rows"),
        "{text}"
    );
    assert!(
        text.contains("input  w                        Tensor<f32>(B, 6, 32)"),
        "{text}"
    );
    assert!(text.contains("input  noise.L5"), "{text}");
    assert!(text.contains("output image"), "{text}");
    assert!(!text.contains("time in frames"), "{text}");
}

#[test]
fn a_cluster_file_selects_the_channels_it_lists() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n).display().to_string();
    // Layer 2: channels 0-7 in cluster 0, 8-15 in cluster 1.
    let mut clusters = String::from("2:\n");
    for c in 0..16 {
        clusters += &format!("  - {{cluster_index: {}, feature_index: {c}}}\n", c / 8);
    }
    std::fs::write(p("clusters.yaml"), clusters).unwrap();
    std::fs::write(
        p("by-cluster.yaml"),
        "transforms:\n  - {layer: 2, transform: ablate, features: cluster, feature-param: 1}\n",
    )
    .unwrap();
    std::fs::write(
        p("by-channel.yaml"),
        "transforms:\n  - {layer: 2, transform: ablate, channels: [8, 9, 10, 11, 12, 13, 14, 15]}\n",
    )
    .unwrap();
    let out = |n: &str| dir.path().join(n);
    let (by_cluster, clusters) = (p("by-cluster.yaml"), p("clusters.yaml"));
    let (ok, err) = image(
        &["--config", &by_cluster, "--clusters", &clusters],
        &out("cluster.png"),
    );
    assert!(ok, "{err}");
    let (ok, err) = image(&["--config", &p("by-channel.yaml")], &out("channels.png"));
    assert!(ok, "{err}");
    assert_eq!(rgb(&out("cluster.png")), rgb(&out("channels.png")));
    // Without the file the model's (empty) map has no cluster 1.
    let (ok, err) = image(&["--config", &by_cluster], &out("none.png"));
    assert!(!ok && err.contains("cluster"), "{err}");
    assert!(!out("none.png").exists());
    // A cluster file naming a layer the model lacks.
    std::fs::write(
        p("bad.yaml"),
        "7:\n  - {cluster_index: 0, feature_index: 0}\n",
    )
    .unwrap();
    let (ok, err) = image(&["--clusters", &p("bad.yaml")], &out("none.png"));
    assert!(
        !ok && err.contains("bad.yaml") && err.contains("layer 7"),
        "{err}"
    );
    // animate sweep on a cluster of the file.
    let (ok, err) = animate(
        "sweep",
        &[
            "--clusters",
            &clusters,
            "--layer",
            "2",
            "--cluster",
            "0",
            "--transform",
            "offset",
            "--from",
            "0",
            "--to",
            "2",
            "--frames",
            "3",
            "--no-mp4",
        ],
        &out("anim"),
    );
    assert!(ok, "{err}");
    assert_eq!(gif_frames(&dir.path().join("anim/animation.gif")), 3);
}

#[test]
fn device_cuda_falls_back_with_a_note_when_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cuda.png");
    let (ok, err) = image(&["--device", "cuda"], &out);
    assert!(ok, "{err}");
    assert!(out.exists());
    // Without a GPU build of ONNX Runtime (this machine), the note says so.
    if !err.contains("CUDA device 0") {
        assert!(
            err.contains("note: CUDA was requested") && err.contains("CPU"),
            "{err}"
        );
    }
}
