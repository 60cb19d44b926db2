//! What the end-to-end tests share beyond netbend-test-support: the models they run, the
//! argument lists of the audio commands, and derived test audio.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use dsp::{AudioData, read_audio};
use netbend_test_support::{os, test_data, workspace_root};

/// The tiny random-weight test model.
pub fn tiny_vae() -> PathBuf {
    test_data("tiny-vae")
}

/// The shipped default model (trained, with the clustering pipeline's embedding CNNs).
pub fn shipped_model() -> PathBuf {
    workspace_root().join("models/vae")
}

/// `render --model <model> --in <input> --out <output>`.
pub fn render_args<'a>(model: &'a Path, input: &'a Path, output: &'a Path) -> Vec<&'a OsStr> {
    vec![
        os("render"),
        os("--model"),
        model.as_os_str(),
        os("--in"),
        input.as_os_str(),
        os("--out"),
        output.as_os_str(),
    ]
}

/// `variations --model <model> --config <config> --in <input> --count <count> --out-dir <out>`.
pub fn variations_args<'a>(
    model: &'a Path,
    config: &'a Path,
    input: &'a Path,
    count: &'a str,
    out_dir: &'a Path,
) -> Vec<&'a OsStr> {
    vec![
        os("variations"),
        os("--model"),
        model.as_os_str(),
        os("--config"),
        config.as_os_str(),
        os("--in"),
        input.as_os_str(),
        os("--count"),
        os(count),
        os("--out-dir"),
        out_dir.as_os_str(),
    ]
}

/// The (stereo) music excerpt resampled to 48 kHz and written to `dir/music48k.wav`: input at a
/// rate other than the model's.
pub fn music_at_48k(dir: &Path) -> (PathBuf, AudioData) {
    let music = read_audio(test_data("music_excerpt.flac")).unwrap();
    let at_48k = AudioData {
        channels: dsp::resample_channels(&music.channels, 44_100, 48_000).unwrap(),
        sample_rate: 48_000,
    };
    let path = dir.join("music48k.wav");
    dsp::write_wav(&path, &at_48k).unwrap();
    (path, at_48k)
}
