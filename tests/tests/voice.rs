//! `--voice` end to end (docs/signal.md, "Voice"): the built binary against the independent NumPy
//! reference `voice_reference.py`, which reads the input with soundfile and computes the STFT, the
//! gain formula, the inverse STFT and the output stage itself; the bent and neutral magnitudes it
//! uses come from separate voice-0 renders (`--dump-magnitude`) of the bend and of no bend.

mod common;

use std::path::Path;

use common::{render_args, tiny_vae, variations_args};
use dsp::read_audio;
use netbend_test_support::{
    netbend, os, python_command, relative_l2, run_ok, stderr, test_data, workspace_root,
};

/// `netbend render` on the tiny test model; returns the output's channels.
fn render(input: &Path, output: &Path, extra: &[&str]) -> Vec<Vec<f32>> {
    let model = tiny_vae();
    let mut args = render_args(&model, input, output);
    args.extend(extra.iter().map(os));
    let out = netbend(&args);
    assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    read_audio(output).unwrap().channels
}

/// Runs the reference on a rendered file; it fails above `tolerance`.
fn reference(bent: &Path, neutral: Option<&Path>, voice: &str, rendered: &Path, tolerance: f64) {
    let script = workspace_root().join("tests/tests/voice_reference.py");
    let neutral = neutral.map_or("-".into(), |n| n.display().to_string());
    let out = run_ok(
        python_command()
            .arg(&script)
            .arg(test_data("drum_break.flac"))
            .arg(bent)
            .arg(neutral)
            .arg(voice)
            .arg(rendered)
            .arg(tolerance.to_string())
            .env("PYTHONPATH", workspace_root().join("models")),
        &format!("voice {voice}: the reference"),
    );
    println!("{}", String::from_utf8_lossy(&out.stdout).trim());
}

#[test]
fn voice_1_without_a_bend_is_the_input_itself_through_the_output_stage() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let p = |name: &str| dir.path().join(name);
    let bent = p("neutral.f32");
    let voice0 = render(
        &input,
        &p("voice0.wav"),
        &["--dump-magnitude", bent.to_str().unwrap()],
    );
    let voice1 = render(&input, &p("voice1.wav"), &["--voice", "1"]);
    // The STFT round trip of the input, DC blocker and limiter: no model in it.
    reference(&bent, None, "1", &p("voice1.wav"), 1e-5);
    // The reference can fail: the model's own output (random weights) is far from the input.
    let apart = relative_l2(&voice1[0], &voice0[0]);
    assert!(apart > 0.5, "voice 0 and 1 differ by only {apart}");
}

#[test]
fn voice_with_a_bend_is_the_input_times_the_bent_over_the_neutral_decode() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let config = workspace_root().join("examples/figure3-stochastic.yaml");
    let config = config.to_str().unwrap();
    let p = |name: &str| dir.path().join(name);
    let (bent, neutral) = (p("bent.f32"), p("neutral.f32"));
    render(
        &input,
        &p("bent0.wav"),
        &[
            "--config",
            config,
            "--dump-magnitude",
            bent.to_str().unwrap(),
        ],
    );
    render(
        &input,
        &p("neutral0.wav"),
        &["--dump-magnitude", neutral.to_str().unwrap()],
    );
    let mut outputs = Vec::new();
    for voice in ["0", "0.4", "1"] {
        let out = p(&format!("voice{voice}.wav"));
        outputs.push(render(
            &input,
            &out,
            &["--config", config, "--voice", voice],
        ));
        reference(&bent, Some(&neutral), voice, &out, 2e-5);
    }
    // Voice 0 is today's render, bit for bit.
    let today = read_audio(p("bent0.wav")).unwrap().channels;
    assert_eq!(outputs[0], today);
    // `variations` takes the voice too: variation `seed` is `render --seed seed`.
    let model = tiny_vae();
    let figure3 = workspace_root().join("examples/figure3-stochastic.yaml");
    let out_dir = p("variations");
    let mut args = variations_args(&model, &figure3, &input, "1", &out_dir);
    args.extend(["--seed", "5", "--voice", "1"].map(os));
    let out = netbend(&args);
    assert!(out.status.success(), "variations failed: {}", stderr(&out));
    let variation = read_audio(out_dir.join("drum_break_seed0005.wav")).unwrap();
    let seeded = render(
        &input,
        &p("seed5.wav"),
        &["--config", config, "--voice", "1", "--seed", "5"],
    );
    assert_eq!(variation.channels, seeded);
}

#[test]
fn voice_mixes_the_two_outputs_linearly_also_under_a_moving_config() {
    // The gains (1 - v) g0 + v g1 act on the same complex spectrum, so below the limiter the
    // output is the same mix of the voice-0 and voice-1 outputs. A moving config switches windows
    // between neutral (no neutral decode) and bent ones within a batch.
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let config = workspace_root().join("examples/moving.yaml");
    let config = config.to_str().unwrap();
    let p = |name: &str| dir.path().join(name);
    let at = |voice: &str| {
        let out = p(&format!("moving{voice}.wav"));
        render(&input, &out, &["--config", config, "--voice", voice])[0].clone()
    };
    let (v0, v1, v3) = (at("0"), at("1"), at("0.3"));
    let mixed: Vec<f32> = v0.iter().zip(&v1).map(|(a, b)| 0.7 * a + 0.3 * b).collect();
    let d = relative_l2(&mixed, &v3);
    assert!(
        d < 1e-5,
        "voice 0.3 is {d} away from 0.7 voice 0 + 0.3 voice 1"
    );
    let apart = relative_l2(&v0, &v1);
    assert!(apart > 0.1, "the voices differ by only {apart}");
    assert!(v3.iter().all(|x| x.is_finite() && x.abs() <= 1.0));
}

#[test]
fn voice_outside_its_range_or_without_the_input_phase_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let model = tiny_vae();
    let output = dir.path().join("out.wav");
    let cases: [(&[&str], &[&str]); 4] = [
        (&["--voice", "1.5"], &["--voice 1.5", "0 to 1"]),
        (&["--voice=-0.1"], &["--voice -0.1", "0 to 1"]),
        (
            &["--voice", "0.5", "--phase", "griffin-lim"],
            &["--voice 0.5", "--phase input"],
        ),
        (&["--voice", "loud"], &["--voice", "loud"]),
    ];
    for (extra, needles) in cases {
        let mut args = render_args(&model, &input, &output);
        args.extend(extra.iter().map(os));
        let out = netbend(&args);
        let message = stderr(&out);
        assert!(!out.status.success(), "{extra:?} was accepted");
        for needle in needles {
            assert!(message.contains(needle), "{extra:?}: {message}");
        }
        assert!(!output.exists(), "{extra:?} left an output");
    }
    // `generate` has no input whose detail a voice could keep.
    let gen_out = dir.path().join("gen.wav");
    let out = netbend([
        os("generate"),
        os("--seconds"),
        os("1"),
        os("--voice"),
        os("1"),
        os("--out"),
        gen_out.as_os_str(),
    ]);
    assert!(!out.status.success() && stderr(&out).contains("--voice"));
    assert!(!gen_out.exists());
}

#[test]
fn bench_reports_the_neutral_decode_of_the_input_voice_beside_the_config() {
    let config = workspace_root().join("examples/figure3-stochastic.yaml");
    let model = tiny_vae();
    let out = netbend([
        os("bench"),
        os("--model"),
        model.as_os_str(),
        os("--config"),
        config.as_os_str(),
        os("--seconds"),
        os("1"),
        os("--repeats"),
        os("1"),
        os("--threads"),
        os("1"),
    ]);
    assert!(out.status.success(), "bench failed: {}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let rows: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains("ms per window"))
        .collect();
    assert_eq!(rows.len(), 3, "{stdout}");
    assert!(rows[1].starts_with(config.to_str().unwrap()), "{stdout}");
    assert!(rows[2].contains("--voice 1"), "{stdout}");
}
