//! `netbend render`, `variations` and `generate` end to end: the built binary on the committed
//! drum break with the tiny random-weight test model (tests/data/tiny-vae).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use dsp::read_audio;
use e2e::{netbend_binary, python, test_data, workspace_root};

fn tiny_vae() -> PathBuf {
    test_data("tiny-vae")
}

fn netbend(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(netbend_binary())
        .args(args)
        .output()
        .expect("cannot run netbend")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `netbend render --model tiny-vae --in input --out output [--config config] extra...`
fn render(input: &Path, output: &Path, config: Option<&Path>, extra: &[&str]) -> Output {
    let model = tiny_vae();
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "render".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--in".as_ref(),
        input.as_os_str(),
        "--out".as_ref(),
        output.as_os_str(),
    ];
    if let Some(c) = config {
        args.extend(["--config".as_ref(), c.as_os_str()]);
    }
    args.extend(extra.iter().map(|a| std::ffi::OsStr::new(*a)));
    netbend(&args)
}

fn render_ok(input: &Path, output: &Path, config: Option<&Path>, extra: &[&str]) -> Vec<Vec<f32>> {
    let out = render(input, output, config, extra);
    assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    read_audio(output).unwrap().channels
}

fn write_config(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Relative RMS difference of two signals.
fn rel_diff(x: &[f32], y: &[f32]) -> f64 {
    assert_eq!(x.len(), y.len());
    let (e, s) = x.iter().zip(y).fold((0.0f64, 0.0f64), |(e, s), (a, b)| {
        (e + ((a - b) as f64).powi(2), s + (*a as f64).powi(2))
    });
    (e / s.max(1e-30)).sqrt()
}

#[test]
fn neutral_render_equals_a_config_whose_entries_all_have_mix_zero() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let neutral = render_ok(&input, &dir.path().join("neutral.wav"), None, &[]);
    // The Figure 3 config with `mix: 0` on every entry: each entry is checked, then a no-op.
    let figure3 =
        std::fs::read_to_string(workspace_root().join("examples/figure3-stochastic.yaml")).unwrap();
    let zero = figure3.replace("  transform:", "  mix: 0\n  transform:");
    assert_eq!(zero.matches("mix: 0").count(), 4);
    let config = write_config(dir.path(), "mix0.yaml", &zero);
    let mixed = render_ok(&input, &dir.path().join("mix0.wav"), Some(&config), &[]);
    assert!(
        neutral == mixed,
        "mix 0 must reproduce the neutral render bit for bit"
    );
    let bent = render_ok(
        &input,
        &dir.path().join("fig3.wav"),
        Some(&workspace_root().join("examples/figure3-stochastic.yaml")),
        &[],
    );
    assert!(rel_diff(&neutral[0], &bent[0]) > 1e-3);
}

#[test]
fn scalar_multiply_by_one_equals_neutral_within_float_tolerance() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let neutral = render_ok(&input, &dir.path().join("neutral.wav"), None, &[]);
    let mut text = String::from("transforms:\n");
    for layer in 1..=4 {
        text += &format!("- layer: {layer}\n  transform: scalar-multiply\n  params: [1]\n");
    }
    let config = write_config(dir.path(), "times1.yaml", &text);
    let times1 = render_ok(&input, &dir.path().join("times1.wav"), Some(&config), &[]);
    let d = rel_diff(&neutral[0], &times1[0]);
    println!("scalar-multiply by 1 vs neutral: relative RMS difference {d:.2e}");
    assert!(d < 1e-6, "relative difference {d}");
}

#[test]
fn every_transform_and_every_example_changes_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let neutral = render_ok(&input, &dir.path().join("neutral.wav"), None, &[]);
    let transforms: [(&str, &str); 14] = [
        ("ablate", ""),
        ("invert", ""),
        ("scalar-multiply", "[2]"),
        ("binary-thresh", "[0.5]"),
        ("offset", "[0.5]"),
        ("noise", "[0.5]"),
        ("flip-h", ""),
        ("flip-v", ""),
        ("translate", "[0.25, 0.25]"),
        ("scale", "[0.5]"),
        ("rotate", "[45]"),
        ("erode", "[2]"),
        ("dilate", "[2]"),
        ("shuffle", ""),
    ];
    let mut configs = Vec::new();
    for (name, params) in transforms {
        let mut text = format!("transforms:\n- layer: 2\n  transform: {name}\n");
        if !params.is_empty() {
            text += &format!("  params: {params}\n");
        }
        configs.push((
            name.to_string(),
            write_config(dir.path(), &format!("{name}.yaml"), &text),
        ));
    }
    for entry in std::fs::read_dir(workspace_root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        if path
            .file_name()
            .is_some_and(|n| n == "cluster-ablate-clusters.yaml")
        {
            // The tiny model has no cluster maps: a clear config error, no output.
            let out = dir.path().join("clusters.wav");
            let o = render(&input, &out, Some(&path), &[]);
            assert_eq!(o.status.code(), Some(1));
            assert!(
                stderr(&o).contains("cluster-ablate-clusters.yaml:9:"),
                "{}",
                stderr(&o)
            );
            assert!(stderr(&o).contains("has no clusters"), "{}", stderr(&o));
            assert!(!out.exists());
        } else if path.extension().is_some_and(|e| e == "yaml") {
            configs.push((path.display().to_string(), path));
        }
    }
    assert!(configs.len() >= 17);
    for (name, config) in configs {
        let out = dir.path().join("bent.wav");
        let bent = render_ok(&input, &out, Some(&config), &[]);
        let d = rel_diff(&neutral[0], &bent[0]);
        println!("{name}: relative RMS difference from neutral {d:.3e}");
        // The tiny model's random weights make some bends subtle (flip-h of layer 2 changes the
        // output by ~1e-4); scalar-multiply by 1 stays below 1e-6 (test above).
        assert!(d > 1e-5, "{name} did not change the output ({d})");
    }
}

#[test]
fn variations_are_reproducible_per_seed_and_differ_between_seeds() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    // Figure 3's random selections often coincide on the tiny model's 2- to 8-channel layers and
    // its layer-3 threshold can erase earlier differences, so the test config also adds noise.
    let config = write_config(
        dir.path(),
        "stochastic.yaml",
        "transforms:\n- layer: 1\n  transform: erode\n  params: [2]\n  features: random\n  \
         feature-param: 0.5\n- layer: 2\n  transform: noise\n  params: [0.3]\n",
    );
    let model = tiny_vae();
    let run = |out_dir: &Path, seed: &str, count: &str| {
        let out = netbend(&[
            "variations".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--config".as_ref(),
            config.as_os_str(),
            "--in".as_ref(),
            input.as_os_str(),
            "--count".as_ref(),
            count.as_ref(),
            "--seed".as_ref(),
            seed.as_ref(),
            "--out-dir".as_ref(),
            out_dir.as_os_str(),
        ]);
        assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    };
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    run(&a, "7", "3");
    run(&b, "8", "1");
    let mut names: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "drum_break_seed0007.wav",
            "drum_break_seed0008.wav",
            "drum_break_seed0009.wav"
        ]
    );
    let read = |p: PathBuf| std::fs::read(p).unwrap();
    // Variation 1 of a run from seed 7 is the same file as variation 0 of a run from seed 8.
    assert_eq!(
        read(a.join("drum_break_seed0008.wav")),
        read(b.join("drum_break_seed0008.wav"))
    );
    let v7 = read_audio(a.join("drum_break_seed0007.wav")).unwrap();
    let v8 = read_audio(a.join("drum_break_seed0008.wav")).unwrap();
    let v9 = read_audio(a.join("drum_break_seed0009.wav")).unwrap();
    assert!(rel_diff(&v7.channels[0], &v8.channels[0]) > 1e-3);
    assert!(rel_diff(&v8.channels[0], &v9.channels[0]) > 1e-3);
    // `render --seed 9` is variation seed 9.
    let single = render_ok(
        &input,
        &dir.path().join("r9.wav"),
        Some(&config),
        &["--seed", "9"],
    );
    assert!(single == v9.channels);
}

#[test]
fn generate_writes_the_requested_length_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let model = tiny_vae();
    let run = |name: &str, seed: &str| {
        let out = dir.path().join(name);
        let png = dir.path().join(format!("{name}.png"));
        let o = netbend(&[
            "generate".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--seed".as_ref(),
            seed.as_ref(),
            "--seconds".as_ref(),
            "1.5".as_ref(),
            "--iterations".as_ref(),
            "10".as_ref(),
            "--out".as_ref(),
            out.as_os_str(),
            "--spectrogram".as_ref(),
            png.as_os_str(),
        ]);
        assert!(o.status.success(), "netbend failed: {}", stderr(&o));
        assert!(png.is_file());
        read_audio(&out).unwrap()
    };
    let a = run("a.wav", "7");
    assert_eq!(
        (a.sample_rate, a.channel_count(), a.frames()),
        (44_100, 1, 66_150)
    );
    assert!(a.channels[0].iter().all(|x| x.is_finite()));
    assert!(a.channels[0].iter().any(|x| x.abs() > 1e-4));
    let b = run("b.wav", "7");
    assert!(a.channels == b.channels);
    let c = run("c.wav", "8");
    assert!(rel_diff(&a.channels[0], &c.channels[0]) > 1e-3);
}

#[test]
fn rendering_48k_stereo_returns_48k_stereo_of_the_same_length() {
    let dir = tempfile::tempdir().unwrap();
    let music = read_audio(test_data("music_excerpt.flac")).unwrap();
    let at_48k = dsp::AudioData {
        channels: dsp::resample_channels(&music.channels, 44_100, 48_000).unwrap(),
        sample_rate: 48_000,
    };
    assert_eq!(at_48k.channel_count(), 2);
    let input = dir.path().join("music48k.wav");
    dsp::write_wav(&input, &at_48k).unwrap();
    let output = dir.path().join("out.wav");
    let png = dir.path().join("out.png");
    let out = render(
        &input,
        &output,
        Some(&workspace_root().join("examples/figure3-stochastic.yaml")),
        &["--spectrogram", png.to_str().unwrap()],
    );
    assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    let result = read_audio(&output).unwrap();
    assert_eq!(
        (result.sample_rate, result.channel_count(), result.frames()),
        (48_000, 2, at_48k.frames())
    );
    // PNG: width = STFT frames of the model-rate signal, height = two 513-bin panels + 4 px gap.
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!(height, 2 * 513 + 4);
    let seconds = at_48k.frames() as f64 / 48_000.0;
    assert!(
        (width as f64 - seconds * 44_100.0 / 256.0).abs() < 8.0,
        "width {width}"
    );
    // Griffin-Lim phase works on stereo too.
    let gl = dir.path().join("gl.wav");
    let out = render(
        &input,
        &gl,
        None,
        &["--phase", "griffin-lim", "--iterations", "5"],
    );
    assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    let result = read_audio(&gl).unwrap();
    assert_eq!(
        (result.channel_count(), result.frames()),
        (2, at_48k.frames())
    );
}

/// Runs `netbend` expecting failure: exit status 1, a `netbend: ` message containing every
/// `needle`, and no file at all left in the output folder.
fn assert_fails_cleanly(args: &[&std::ffi::OsStr], out_dir: &Path, needles: &[&str]) {
    let out = netbend(args);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(1), "expected exit 1: {err}");
    assert!(err.starts_with("netbend: "), "message: {err}");
    for needle in needles {
        assert!(err.contains(needle), "`{needle}` missing from: {err}");
    }
    let left: Vec<_> = std::fs::read_dir(out_dir).unwrap().collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
}

#[test]
fn bad_inputs_fail_with_a_clear_message_and_leave_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    let out_dir = dir.path().join("out");
    std::fs::create_dir_all(&inputs).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    let output = out_dir.join("bent.wav");
    let drum_break = test_data("drum_break.flac");
    let model = tiny_vae();

    // Truncated FLAC and a text file named .wav.
    let flac = std::fs::read(&drum_break).unwrap();
    let corrupt = inputs.join("corrupt.flac");
    std::fs::write(&corrupt, &flac[..flac.len() / 3]).unwrap();
    let not_audio = inputs.join("notes.wav");
    std::fs::write(&not_audio, "these are not samples\n").unwrap();
    let empty = inputs.join("empty.wav");
    dsp::write_wav(
        &empty,
        &dsp::AudioData {
            channels: vec![vec![]],
            sample_rate: 44_100,
        },
    )
    .unwrap();
    for bad in [&corrupt, &not_audio, &empty] {
        let out = render(
            bad,
            &output,
            None,
            &["--spectrogram", out_dir.join("s.png").to_str().unwrap()],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.starts_with("netbend: ") && err.contains(bad.to_str().unwrap()),
            "{err}"
        );
        assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 0);
    }

    let config = |name: &str, text: &str| write_config(&inputs, name, text);
    let malformed = config(
        "malformed.yaml",
        "transforms:\n- layer: 1\n  transform: [erode\n",
    );
    let unknown = config(
        "unknown.yaml",
        "transforms:\n- layer: 1\n  transform: smear\n",
    );
    let range = config(
        "range.yaml",
        "transforms:\n- layer: 9\n  transform: ablate\n",
    );
    let cases: [(&Path, &[&str]); 3] = [
        (&malformed, &["malformed.yaml:3:"]),
        (&unknown, &["unknown.yaml:3:", "smear", "ablate"]),
        (&range, &["range.yaml:2:", "layer 9", "1..=4"]),
    ];
    for (config, needles) in cases {
        assert_fails_cleanly(
            &[
                "render".as_ref(),
                "--model".as_ref(),
                model.as_os_str(),
                "--config".as_ref(),
                config.as_os_str(),
                "--in".as_ref(),
                drum_break.as_os_str(),
                "--out".as_ref(),
                output.as_os_str(),
            ],
            &out_dir,
            needles,
        );
        // Variations check the config before creating the output folder.
        let vars = out_dir.join("vars");
        assert_fails_cleanly(
            &[
                "variations".as_ref(),
                "--model".as_ref(),
                model.as_os_str(),
                "--config".as_ref(),
                config.as_os_str(),
                "--in".as_ref(),
                drum_break.as_os_str(),
                "--count".as_ref(),
                "2".as_ref(),
                "--out-dir".as_ref(),
                vars.as_os_str(),
            ],
            &out_dir,
            needles,
        );
    }

    // A directory that is not a model (the test data folder itself), for each command.
    let not_a_model = test_data("");
    assert_fails_cleanly(
        &[
            "render".as_ref(),
            "--model".as_ref(),
            not_a_model.as_os_str(),
            "--in".as_ref(),
            drum_break.as_os_str(),
            "--out".as_ref(),
            output.as_os_str(),
        ],
        &out_dir,
        &["not a Netbend model", "manifest.json"],
    );
    assert_fails_cleanly(
        &[
            "generate".as_ref(),
            "--model".as_ref(),
            not_a_model.as_os_str(),
            "--out".as_ref(),
            output.as_os_str(),
        ],
        &out_dir,
        &["not a Netbend model"],
    );
}

#[test]
fn neutral_render_spectrogram_matches_the_numpy_onnxruntime_reference_in_every_layout() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    // --layout and its hop / fade in frames as documented (README, `netbend render`).
    for (layout, hop, fade) in [
        ("offline", 64, 64),
        ("plugin-default", 32, 12),
        ("plugin-low-latency", 12, 3),
    ] {
        let dump = dir.path().join(format!("bent-{layout}.f32"));
        let out = render(
            &input,
            &dir.path().join(format!("neutral-{layout}.wav")),
            None,
            &[
                "--layout",
                layout,
                "--dump-magnitude",
                dump.to_str().unwrap(),
            ],
        );
        assert!(out.status.success(), "netbend failed: {}", stderr(&out));
        let script = workspace_root().join("tests/tests/render_reference.py");
        let out = Command::new(python())
            .arg(&script)
            .arg(tiny_vae())
            .arg(&input)
            .arg(&dump)
            .args([hop.to_string(), fade.to_string()])
            .env("PYTHONPATH", workspace_root().join("models"))
            .output()
            .expect("cannot start the reference Python");
        println!("{layout}: {}", String::from_utf8_lossy(&out.stdout));
        assert!(
            out.status.success(),
            "{layout}: reference failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_file_shorter_than_one_window_keeps_its_length() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("short.wav");
    let samples: Vec<f32> = (0..100).map(|i| (i as f32 * 0.3).sin() * 0.1).collect();
    dsp::write_wav(
        &input,
        &dsp::AudioData {
            channels: vec![samples],
            sample_rate: 22_050,
        },
    )
    .unwrap();
    let output = dir.path().join("out.wav");
    render_ok(&input, &output, None, &[]);
    let result = read_audio(&output).unwrap();
    assert_eq!((result.sample_rate, result.frames()), (22_050, 100));
}
