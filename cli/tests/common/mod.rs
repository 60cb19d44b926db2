//! What the CLI's image and animation tests share: the built `netbend`, the tiny random-init
//! StyleGAN2 (tests/data/tiny-stylegan2) and readers of what it writes.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::Path;
use std::process::Command;

pub fn tiny() -> String {
    netbend_test_support::test_data("tiny-stylegan2")
        .display()
        .to_string()
}

/// `netbend <args> --threads 1`: (success, stderr).
pub fn netbend<S: AsRef<OsStr>>(args: impl IntoIterator<Item = S>) -> (bool, String) {
    netbend_with_path(args, None)
}

/// [`netbend`] with `PATH` replaced when given, to run it without ffmpeg or with another one.
pub fn netbend_with_path<S: AsRef<OsStr>>(
    args: impl IntoIterator<Item = S>,
    path: Option<&Path>,
) -> (bool, String) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_netbend"));
    command.args(args).args(["--threads", "1"]);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = command.output().expect("cannot run netbend");
    (out.status.success(), netbend_test_support::stderr(&out))
}

/// `<command...> --model <tiny> <args> --out <out>`: how the tests call every image command.
pub fn on_tiny(command: &[&str], args: &[&str], out: &Path) -> Vec<String> {
    let tiny = tiny();
    let out = out.to_str().unwrap();
    let words = [command, &["--model", &tiny], args, &["--out", out]].concat();
    words.into_iter().map(String::from).collect()
}

/// `netbend image --model <tiny> <args> --out <out>`.
pub fn image(args: &[&str], out: &Path) -> (bool, String) {
    netbend(on_tiny(&["image"], args, out))
}

/// `netbend animate <mode> --model <tiny> <args> --out <out>`.
pub fn animate(mode: &str, args: &[&str], out: &Path) -> (bool, String) {
    netbend(on_tiny(&["animate", mode], args, out))
}

pub fn rgb(path: &Path) -> image::RgbImage {
    image::open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .into_rgb8()
}

/// The number of frames of an animated GIF.
pub fn gif_frames(path: &Path) -> usize {
    use image::AnimationDecoder;
    let file = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    image::codecs::gif::GifDecoder::new(file)
        .unwrap()
        .into_frames()
        .count()
}
