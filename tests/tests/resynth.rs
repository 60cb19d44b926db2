//! `netbend resynth` end to end: the built binary on the committed drum break.

mod common;

use std::ffi::OsStr;
use std::path::Path;
use std::process::Output;

use common::music_at_48k;
use dsp::{Stft, StftConfig, read_audio, spectral_convergence};
use netbend_test_support::{netbend, os, stderr, test_data};

fn resynth(input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        os("resynth"),
        os("--in"),
        input.as_os_str(),
        os("--out"),
        output.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    netbend(&args)
}

#[test]
fn input_phase_round_trip_reproduces_the_drum_break() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("roundtrip.wav");
    let input = test_data("drum_break.flac");
    let out = resynth(&input, &output, &["--phase", "input"]);
    assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    let original = read_audio(&input).unwrap();
    let result = read_audio(&output).unwrap();
    assert_eq!(result.sample_rate, original.sample_rate);
    assert_eq!(result.channel_count(), original.channel_count());
    assert_eq!(result.frames(), original.frames());
    let (x, y) = (&original.channels[0], &result.channels[0]);
    let err = x
        .iter()
        .zip(y)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    println!("input-phase round trip: max abs error {err:.2e}");
    // 44.1 kHz file: no resampling, so only the STFT round trip's f32 rounding remains.
    assert!(err < 1e-5, "max abs error {err}");
}

#[test]
fn input_phase_round_trip_through_48k_keeps_stereo_and_rate() {
    // A 48 kHz stereo file goes 48k -> 44.1k -> STFT -> 44.1k -> 48k.
    let dir = tempfile::tempdir().unwrap();
    let (input, at_48k) = music_at_48k(dir.path());
    let output = dir.path().join("out.wav");
    let out = resynth(&input, &output, &[]);
    assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    let result = read_audio(&output).unwrap();
    assert_eq!(
        (result.sample_rate, result.channel_count(), result.frames()),
        (48_000, 2, at_48k.frames())
    );
    for (x, y) in at_48k.channels.iter().zip(&result.channels) {
        // Away from the edges, the only loss is the resamplers' band limit near 22 kHz.
        let n = x.len();
        let (e, s): (f64, f64) = x[2000..n - 2000]
            .iter()
            .zip(&y[2000..n - 2000])
            .fold((0.0, 0.0), |(e, s), (a, b)| {
                (e + ((a - b) as f64).powi(2), s + (*a as f64).powi(2))
            });
        let rel = (e / s).sqrt();
        println!("48 kHz stereo round trip: relative L2 error {rel:.2e}");
        assert!(rel < 1e-2, "relative error {rel}");
    }
}

#[test]
fn griffin_lim_resynthesis_has_the_input_magnitude() {
    let dir = tempfile::tempdir().unwrap();
    let output = dir.path().join("gl.wav");
    let input = test_data("drum_break.flac");
    let out = resynth(
        &input,
        &output,
        &["--phase", "griffin-lim", "--iterations", "32"],
    );
    assert!(out.status.success(), "netbend failed: {}", stderr(&out));
    assert!(
        stderr(&out).contains("spectral convergence"),
        "{}",
        stderr(&out)
    );
    let original = read_audio(&input).unwrap();
    let result = read_audio(&output).unwrap();
    assert_eq!(
        (result.channel_count(), result.frames()),
        (1, original.frames())
    );
    let mut stft = Stft::new(StftConfig::default());
    let target = stft.analyse(&original.channels[0]).magnitudes();
    let sc = spectral_convergence(&target, &stft.analyse(&result.channels[0]));
    println!("drum break, fast GL 32 iterations: spectral convergence {sc:.4}");
    assert!(sc < 0.2, "spectral convergence {sc}");
}

#[test]
fn bad_inputs_give_a_clear_error_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let corrupt = dir.path().join("corrupt.flac");
    // A real FLAC header followed by garbage.
    let mut bytes = std::fs::read(test_data("drum_break.flac")).unwrap();
    bytes.truncate(200);
    bytes.extend(std::iter::repeat_n(0xA5u8, 5000));
    std::fs::write(&corrupt, &bytes).unwrap();
    // The real drum break with its middle overwritten: decoding must stop with an error.
    let damaged = dir.path().join("damaged.flac");
    let mut bytes = std::fs::read(test_data("drum_break.flac")).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle..middle + 4000].fill(0x5A);
    std::fs::write(&damaged, &bytes).unwrap();
    let text = dir.path().join("notes.wav");
    std::fs::write(&text, "not audio").unwrap();
    let missing = dir.path().join("missing.ogg");

    for (input, expected) in [
        (
            &corrupt,
            "corrupt.flac: corrupt or unsupported audio data: decoded only 0 of",
        ),
        (
            &damaged,
            "damaged.flac: corrupt or unsupported audio data: decoded only",
        ),
        (&text, "not a readable audio file"),
        (&missing, "not found"),
    ] {
        let output = dir.path().join("out.wav");
        let out = resynth(input, &output, &[]);
        let message = stderr(&out);
        println!("{}: {message}", input.display());
        assert_eq!(out.status.code(), Some(1), "{message}");
        assert!(message.starts_with("netbend: "), "{message}");
        assert!(
            message.contains(expected),
            "expected {expected:?} in {message}"
        );
        assert!(
            !message.contains("panicked") && !message.contains("RUST_BACKTRACE"),
            "{message}"
        );
        assert!(!output.exists(), "no output may be written on error");
    }
}

#[test]
fn iterations_without_griffin_lim_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let out = resynth(
        &test_data("drum_break.flac"),
        &dir.path().join("x.wav"),
        &["--iterations", "5"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--iterations only applies to --phase griffin-lim"));
}
