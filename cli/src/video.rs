//! MP4 (H.264, yuv420p) from rendered frames through the `ffmpeg` program on the PATH.
//!
//! The frames go to ffmpeg's standard input as raw RGB, so nothing is re-read from disk. yuv420p
//! stores colour at half resolution and needs an even width and height (libx264 refuses odd
//! ones): an odd-sized frame gets its last column / row repeated once, so every pixel of the
//! image is kept as it is and the extra line matches its neighbour.

use std::borrow::Cow;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use image::RgbImage;

use crate::image_io::write_atomically;

/// How to install ffmpeg, for the messages.
const INSTALL_HINT: &str = "install it (Debian/Ubuntu: `apt-get install ffmpeg`)";

/// Whether `ffmpeg` on the PATH runs.
pub fn ffmpeg_available() -> bool {
    Command::new("ffmpeg")
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Why there is no MP4 without ffmpeg, and what to do.
pub fn ffmpeg_missing_message() -> String {
    format!("ffmpeg is not on the PATH; {INSTALL_HINT}")
}

/// `frame` with its last column and/or row repeated when the width and/or height is odd.
pub fn even_sized(frame: &RgbImage) -> Cow<'_, RgbImage> {
    let (w, h) = frame.dimensions();
    if w % 2 == 0 && h % 2 == 0 {
        return Cow::Borrowed(frame);
    }
    let (even_w, even_h) = (w + w % 2, h + h % 2);
    Cow::Owned(RgbImage::from_fn(even_w, even_h, |x, y| {
        *frame.get_pixel(x.min(w - 1), y.min(h - 1))
    }))
}

/// Writes `path` (atomically) as an MP4 of `frames`, all of one size, at `fps`.
pub fn write_mp4(path: &Path, frames: &[RgbImage], fps: f64) -> Result<()> {
    let Some(first) = frames.first() else {
        bail!("cannot write {}: no frames", path.display());
    };
    let (w, h) = first.dimensions();
    if let Some(i) = frames.iter().position(|f| f.dimensions() != (w, h)) {
        bail!(
            "cannot write {}: frame {i} is {:?}, frame 0 is {w}x{h}",
            path.display(),
            frames[i].dimensions()
        );
    }
    let (even_w, even_h) = (w + w % 2, h + h % 2);
    write_atomically(path, |temp| {
        let mut child = Command::new("ffmpeg")
            .args(["-hide_banner", "-loglevel", "error", "-y"])
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s"])
            .arg(format!("{even_w}x{even_h}"))
            .arg("-framerate")
            .arg(format!("{fps}"))
            .args(["-i", "pipe:0", "-c:v", "libx264", "-pix_fmt", "yuv420p"])
            // The temporary name has no .mp4 extension for ffmpeg to go by.
            .args(["-movflags", "+faststart", "-f", "mp4"])
            .arg(temp)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!("{}", ffmpeg_missing_message())
                } else {
                    anyhow::anyhow!("cannot run ffmpeg: {e}")
                }
            })?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        // A write fails when ffmpeg has exited early; its exit status and message say why.
        let fed = frames
            .iter()
            .try_for_each(|f| stdin.write_all(even_sized(f).as_raw()));
        drop(stdin);
        let out = child.wait_with_output().context("waiting for ffmpeg")?;
        if !out.status.success() {
            bail!(
                "ffmpeg failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        fed.context("sending the frames to ffmpeg")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odd_frames_repeat_their_last_column_and_row() {
        let frame = RgbImage::from_fn(3, 1, |x, _| image::Rgb([x as u8, 10, 20]));
        let even = even_sized(&frame);
        assert_eq!(even.dimensions(), (4, 2));
        for y in 0..2 {
            let row: Vec<u8> = (0..4).map(|x| even.get_pixel(x, y)[0]).collect();
            assert_eq!(row, [0, 1, 2, 2]);
        }
        let square = RgbImage::new(4, 2);
        assert!(matches!(even_sized(&square), Cow::Borrowed(_)));
    }

    /// ffmpeg decodes `path` back to raw RGB frames of `w` x `h`.
    fn decode(path: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
        let out = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-i"])
            .arg(path)
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(out.stdout.len() % (w * h * 3), 0);
        out.stdout.chunks(w * h * 3).map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn an_odd_sized_animation_is_encoded_with_every_frame_and_its_edges_kept() {
        if !ffmpeg_available() {
            eprintln!("skipped: {}", ffmpeg_missing_message());
            return;
        }
        // 15x9 frames: columns 0-13 one colour, column 14 another, changing per frame.
        let colours = [
            ([200, 40, 40], [20, 200, 60]),
            ([30, 30, 220], [240, 240, 20]),
        ];
        let frames: Vec<RgbImage> = (0..3)
            .map(|i| {
                let (body, edge) = colours[i % 2];
                RgbImage::from_fn(15, 9, |x, _| image::Rgb(if x == 14 { edge } else { body }))
            })
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("odd.mp4");
        write_mp4(&path, &frames, 4.0).unwrap();
        let decoded = decode(&path, 16, 10);
        assert_eq!(decoded.len(), 3);
        let pixel = |frame: &[u8], x: usize, y: usize| -> [u8; 3] {
            let at = (y * 16 + x) * 3;
            [frame[at], frame[at + 1], frame[at + 2]]
        };
        for (i, frame) in decoded.iter().enumerate() {
            let (body, edge) = colours[i % 2];
            // Lossy H.264: flat colours come back within a few levels.
            let near = |got: [u8; 3], want: [u8; 3]| {
                got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= 12)
            };
            for (x, y, want) in [(3, 4, body), (14, 4, edge), (15, 4, edge), (15, 9, edge)] {
                let got = pixel(frame, x, y);
                assert!(
                    near(got, want),
                    "frame {i} ({x}, {y}): {got:?}, want {want:?}"
                );
            }
        }
        let files: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(files.len(), 1, "only odd.mp4, no temporary file");
    }
}
