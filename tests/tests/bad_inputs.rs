//! Unusual and unsupported audio files, and failed writes: every command either decodes a file
//! correctly or names the file and what it holds, and a failure never leaves an output file
//! (complete or partial) behind. Uses the tiny test model: only the file handling is under test.

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use common::{render_args, tiny_vae, variations_args};
use dsp::read_audio;
use netbend_test_support::{file_names, netbend, os, stderr, test_data};

const RATE: u32 = 22_050;

/// A RIFF/WAVE file with the given `fmt ` fields and sample bytes, written here byte by byte
/// (independently of hound and symphonia).
fn wav_bytes(format_tag: u16, bits: u16, data: &[u8], fmt_extra: &[u8]) -> Vec<u8> {
    let block = bits.div_ceil(8);
    let mut fmt = Vec::new();
    fmt.extend(format_tag.to_le_bytes());
    fmt.extend(1u16.to_le_bytes());
    fmt.extend(RATE.to_le_bytes());
    fmt.extend((RATE * block as u32).to_le_bytes());
    fmt.extend(block.to_le_bytes());
    fmt.extend(bits.to_le_bytes());
    fmt.extend(fmt_extra);
    let mut body = b"WAVEfmt ".to_vec();
    body.extend((fmt.len() as u32).to_le_bytes());
    body.extend(fmt);
    body.extend(b"data");
    body.extend((data.len() as u32).to_le_bytes());
    body.extend(data);
    let mut file = b"RIFF".to_vec();
    file.extend((body.len() as u32).to_le_bytes());
    file.extend(body);
    file
}

fn sine() -> Vec<f64> {
    (0..2000)
        .map(|i| 0.5 * (std::f64::consts::TAU * 440.0 * i as f64 / RATE as f64).sin())
        .collect()
}

#[test]
fn eight_bit_24_bit_and_64_bit_float_wavs_decode_to_the_samples_written() {
    let dir = tempfile::tempdir().unwrap();
    let x = sine();
    // 8-bit WAV is unsigned with 128 as zero; 24-bit is signed little-endian.
    let u8_data: Vec<u8> = x
        .iter()
        .map(|v| (v * 127.0 + 128.0).round() as u8)
        .collect();
    let i24_data: Vec<u8> = x
        .iter()
        .flat_map(|v| (((v * 8_388_607.0).round() as i32).to_le_bytes()[..3]).to_vec())
        .collect();
    let f64_data: Vec<u8> = x.iter().flat_map(|v| v.to_le_bytes()).collect();
    // Tolerances: the quantisation step of each format (and f32 rounding for 64-bit float).
    let cases: [(&str, u16, u16, &[u8], f64); 3] = [
        ("u8.wav", 1, 8, &u8_data, 1.0 / 128.0),
        ("i24.wav", 1, 24, &i24_data, 1.0 / 4_194_304.0),
        ("f64.wav", 3, 64, &f64_data, 1e-7),
    ];
    for (name, tag, bits, data, tolerance) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, wav_bytes(tag, bits, data, &[])).unwrap();
        let audio = read_audio(&path).unwrap();
        assert_eq!(
            (audio.sample_rate, audio.frames()),
            (RATE, x.len()),
            "{name}"
        );
        let err = audio.channels[0]
            .iter()
            .zip(&x)
            .map(|(&a, &b)| (a as f64 - b).abs())
            .fold(0.0, f64::max);
        assert!(err <= tolerance, "{name}: largest error {err}");
    }
    // And through a command.
    let out = dir.path().join("out.wav");
    let o = netbend([
        os("resynth"),
        os("--in"),
        dir.path().join("u8.wav").as_os_str(),
        os("--out"),
        out.as_os_str(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(read_audio(&out).unwrap().frames(), x.len());
}

#[test]
fn unsupported_sample_formats_name_the_file_and_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let pcm16: Vec<u8> = sine()
        .iter()
        .flat_map(|v| ((v * 32767.0) as i16).to_le_bytes())
        .collect();
    let pcm64: Vec<u8> = sine()
        .iter()
        .flat_map(|v| ((v * 9.2e18) as i64).to_le_bytes())
        .collect();
    // WAVE_FORMAT_EXTENSIBLE: cbSize 22, valid bits, channel mask, then the sub-format GUID
    // whose first two bytes are the real format tag.
    let mut extensible = vec![22, 0, 16, 0, 4, 0, 0, 0, 0x34, 0x12];
    extensible.extend([0u8; 14]);
    let cases: Vec<(PathBuf, Vec<&str>)> = vec![
        (
            write("tag.wav", wav_bytes(0x1234, 16, &pcm16, &[])),
            vec!["format tag 0x1234 (unknown)", "16-bit"],
        ),
        (
            write("ext.wav", wav_bytes(0xFFFE, 16, &pcm16, &extensible)),
            vec!["format tag 0x1234 (unknown, extensible)"],
        ),
        (
            write("mp3-in-wav.wav", wav_bytes(0x55, 16, &pcm16, &[])),
            vec!["0x0055 (MPEG Layer 3)"],
        ),
        (
            write("pcm12.wav", wav_bytes(1, 12, &pcm16, &[])),
            vec!["integer PCM", "12-bit"],
        ),
        (
            write("pcm64.wav", wav_bytes(1, 64, &pcm64, &[])),
            vec!["integer PCM", "64-bit"],
        ),
        (test_data("sine_opus.ogg"), vec!["Opus"]),
    ];
    let model = tiny_vae();
    for (input, needles) in cases {
        let output = out_dir.join("bent.wav");
        let png = out_dir.join("bent.png");
        let mut args = render_args(&model, &input, &output);
        args.extend([os("--spectrogram"), png.as_os_str()]);
        let o = netbend(&args);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(1), "{err}");
        let file = input.to_str().unwrap();
        assert!(
            err.starts_with(&format!("netbend: {file}: unsupported audio format: ")),
            "{err}"
        );
        for needle in needles
            .iter()
            .chain(&["supported: WAV (integer PCM 8/16/24/32-bit"])
        {
            assert!(err.contains(needle), "`{needle}` missing from: {err}");
        }
        assert!(
            file_names(&out_dir).is_empty(),
            "{:?}",
            file_names(&out_dir)
        );
    }
}

/// Runs a command whose output path is taken by a directory (so the final rename fails after
/// everything else worked) and checks the error names it and nothing else was left.
fn assert_write_fails_cleanly(args: &[&OsStr], out_dir: &Path, blocked: &Path) {
    std::fs::create_dir(blocked).unwrap();
    let o = netbend(args);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(
        err.contains(blocked.to_str().unwrap()) && err.contains("cannot write"),
        "{err}"
    );
    let blocked_name = blocked.file_name().unwrap().to_string_lossy().into_owned();
    assert_eq!(file_names(out_dir), [blocked_name], "files left behind");
    std::fs::remove_dir(blocked).unwrap();
}

#[test]
fn a_failed_write_leaves_no_partial_or_companion_file_for_any_command() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let model = tiny_vae();
    let input = test_data("drum_break.flac");
    let wav = out_dir.join("out.wav");
    let png = out_dir.join("out.png");
    let mut render = render_args(&model, &input, &wav);
    render.extend([os("--spectrogram"), png.as_os_str()]);
    // render and generate write the PNG first: it must go again when the WAV cannot be written.
    assert_write_fails_cleanly(&render, &out_dir, &wav);
    assert_write_fails_cleanly(
        &[
            os("generate"),
            os("--model"),
            model.as_os_str(),
            os("--seconds"),
            os("0.5"),
            os("--iterations"),
            os("2"),
            os("--out"),
            wav.as_os_str(),
            os("--spectrogram"),
            png.as_os_str(),
        ],
        &out_dir,
        &wav,
    );
    assert_write_fails_cleanly(
        &[
            os("resynth"),
            os("--in"),
            input.as_os_str(),
            os("--out"),
            wav.as_os_str(),
        ],
        &out_dir,
        &wav,
    );
    // The PNG itself blocked: no WAV either.
    assert_write_fails_cleanly(&render, &out_dir, &png);
    // variations: the first variation's WAV is blocked.
    let config = dir.path().join("noise.yaml");
    std::fs::write(
        &config,
        "transforms:\n- layer: 2\n  transform: noise\n  params: [0.3]\n",
    )
    .unwrap();
    let mut variations = variations_args(&model, &config, &input, "2", &out_dir);
    variations.extend([os("--seed"), os("1"), os("--spectrogram")]);
    assert_write_fails_cleanly(
        &variations,
        &out_dir,
        &out_dir.join("drum_break_seed0001.wav"),
    );
}
