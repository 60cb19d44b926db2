//! `netbend animate` as a user runs it, on the tiny random-init StyleGAN2
//! (tests/data/tiny-stylegan2): PNG frames, the GIF and the MP4 (checked with ffprobe).

mod common;

use common::{animate, gif_frames, image, netbend_with_path, on_tiny, rgb};
use netbend_test_support::{file_names, run_ok};
use std::path::Path;
use std::process::Command;

#[test]
fn animate_sweep_writes_n_frames_and_a_gif_of_n_frames() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let (ok, err) = animate(
        "sweep",
        &[
            "--layer",
            "2",
            "--transform",
            "scalar-multiply",
            "--from",
            "1",
            "--to",
            "-3",
            "--frames",
            "7",
            "--no-mp4",
        ],
        &out,
    );
    assert!(ok, "{err}");
    let names = file_names(&out);
    assert_eq!(
        names.iter().filter(|n| n.ends_with(".png")).count(),
        7,
        "{names:?}"
    );
    assert_eq!(gif_frames(&out.join("animation.gif")), 7);
    // Frame 0 multiplies by 1: the unbent image of seed 0.
    let plain = dir.path().join("plain.png");
    assert!(image(&["--seed", "0"], &plain).0);
    assert_eq!(rgb(&out.join("frame0000.png")), rgb(&plain));
    assert_ne!(rgb(&out.join("frame0006.png")), rgb(&plain));
    // An existing folder is not replaced without --force.
    let (ok, err) = animate(
        "sweep",
        &[
            "--layer",
            "2",
            "--transform",
            "rotate",
            "--from",
            "0",
            "--to",
            "90",
            "--frames",
            "2",
        ],
        &out,
    );
    assert!(!ok && err.contains("--force"), "{err}");
    assert_eq!(file_names(&out), names);
}

#[test]
fn animate_fragments_and_interpolate_write_their_frames() {
    let dir = tempfile::tempdir().unwrap();
    let frag = dir.path().join("frag");
    let (ok, err) = animate(
        "fragments",
        &["--layer", "3", "--frames", "5", "--no-mp4"],
        &frag,
    );
    assert!(ok, "{err}");
    assert_eq!(gif_frames(&frag.join("animation.gif")), 5);
    let frames: Vec<_> = (0..5)
        .map(|i| rgb(&frag.join(format!("frame{i:04}.png"))))
        .collect();
    assert!(
        frames.windows(2).any(|p| p[0] != p[1]),
        "the ablation should move"
    );

    let interp = dir.path().join("interp");
    let (ok, err) = animate(
        "interpolate",
        &["--seeds", "2,6,7", "--frames", "3", "--no-mp4"],
        &interp,
    );
    assert!(ok, "{err}");
    // Two segments of 3 frames plus the last seed.
    assert_eq!(gif_frames(&interp.join("animation.gif")), 7);
    let first = dir.path().join("two.png");
    assert!(image(&["--seed", "2"], &first).0);
    assert_eq!(rgb(&interp.join("frame0000.png")), rgb(&first));
}

fn program_runs(program: &str) -> bool {
    Command::new(program)
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// ffprobe's `key=value` facts of the first video stream (frames counted by decoding).
fn ffprobe(path: &Path) -> std::collections::HashMap<String, String> {
    let out = run_ok(
        Command::new("ffprobe")
            .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
            .args([
                "-show_entries",
                "stream=codec_name,pix_fmt,width,height,nb_read_frames,duration",
            ])
            .args(["-of", "default=noprint_wrappers=1"])
            .arg(path),
        "ffprobe",
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The MP4's frames decoded by ffmpeg to 8-bit RGB, each `w * h * 3` bytes.
fn decoded_frames(path: &Path, w: usize, h: usize) -> Vec<Vec<u8>> {
    let out = run_ok(
        Command::new("ffmpeg")
            .args(["-loglevel", "error", "-i"])
            .arg(path)
            .args(["-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1"]),
        "ffmpeg",
    );
    out.stdout.chunks(w * h * 3).map(<[u8]>::to_vec).collect()
}

/// Mean absolute difference of the luma (BT.601) of two RGB frames: yuv420p keeps luma at full
/// resolution but colour at a quarter, which on 16x16 frames blurs colour more than it moves
/// from frame to frame.
fn luma_difference(a: &[u8], b: &[u8]) -> f64 {
    let luma = |p: &[u8]| 0.299 * p[0] as f64 + 0.587 * p[1] as f64 + 0.114 * p[2] as f64;
    let pixels = a.chunks(3).zip(b.chunks(3));
    pixels.map(|(p, q)| (luma(p) - luma(q)).abs()).sum::<f64>() / (a.len() / 3) as f64
}

#[test]
fn the_mp4_holds_every_frame_in_order_at_the_model_size_and_frame_rate() {
    if !program_runs("ffmpeg") || !program_runs("ffprobe") {
        eprintln!(
            "skipped: ffmpeg/ffprobe are not on the PATH (`cargo xtask setup` installs them as root)"
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let (ok, err) = animate(
        "sweep",
        &[
            "--layer",
            "3",
            "--transform",
            "rotate",
            "--from",
            "0",
            "--to",
            "180",
            "--frames",
            "5",
            "--fps",
            "4",
            "--mp4",
        ],
        &out,
    );
    assert!(ok, "{err}");
    assert!(err.contains("animation.mp4"), "{err}");
    let mp4 = out.join("animation.mp4");
    let facts = ffprobe(&mp4);
    assert_eq!(facts["codec_name"], "h264", "{facts:?}");
    assert_eq!(facts["pix_fmt"], "yuv420p", "{facts:?}");
    assert_eq!(
        (facts["width"].as_str(), facts["height"].as_str()),
        ("16", "16")
    );
    assert_eq!(facts["nb_read_frames"], "5", "{facts:?}");
    let duration: f64 = facts["duration"].parse().unwrap();
    assert!(
        (duration - 5.0 / 4.0).abs() < 1e-3,
        "duration {duration} s, want 1.25 s"
    );
    // Each decoded frame is closest to the PNG of the same index (H.264 is lossy; rotating layer
    // 3 by 45 degree steps makes frames far apart: measured 4.6-6.1 to its own PNG, >= 21 to others).
    let pngs: Vec<Vec<u8>> = (0..5)
        .map(|i| rgb(&out.join(format!("frame{i:04}.png"))).into_raw())
        .collect();
    let decoded = decoded_frames(&mp4, 16, 16);
    assert_eq!(decoded.len(), 5);
    for (i, frame) in decoded.iter().enumerate() {
        let distances: Vec<f64> = pngs.iter().map(|p| luma_difference(frame, p)).collect();
        let nearest = (0..5)
            .min_by(|&a, &b| distances[a].total_cmp(&distances[b]))
            .unwrap();
        assert_eq!(
            nearest, i,
            "decoded frame {i}: distances to the PNGs {distances:.1?}"
        );
        assert!(distances[i] < 10.0, "decoded frame {i}: {distances:.1?}");
    }
}

#[test]
fn without_ffmpeg_the_mp4_is_skipped_with_a_note_or_refused_under_mp4() {
    let dir = tempfile::tempdir().unwrap();
    let empty_path = dir.path().join("bin");
    std::fs::create_dir(&empty_path).unwrap();
    let out = dir.path().join("anim");
    let run = |extra: &[&str]| {
        let fragments = [&["--layer", "3", "--frames", "3"], extra].concat();
        netbend_with_path(
            on_tiny(&["animate", "fragments"], &fragments, &out),
            Some(&empty_path),
        )
    };
    let (ok, err) = run(&["--mp4"]);
    assert!(
        !ok && err.contains("--mp4") && err.contains("ffmpeg is not on the PATH"),
        "{err}"
    );
    assert_eq!(
        file_names(dir.path()),
        ["bin"],
        "nothing written under --mp4"
    );
    let (ok, err) = run(&[]);
    assert!(ok, "{err}");
    assert!(err.contains("note: ffmpeg is not on the PATH"), "{err}");
    assert_eq!(
        file_names(&out),
        [
            "animation.gif",
            "frame0000.png",
            "frame0001.png",
            "frame0002.png"
        ]
    );
    assert_eq!(gif_frames(&out.join("animation.gif")), 3);
}

#[test]
fn a_failing_ffmpeg_is_reported_and_leaves_nothing() {
    use std::os::unix::fs::PermissionsExt;
    // An ffmpeg build without libx264 (some distributions ship one): it runs, then refuses.
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let ffmpeg = bin.join("ffmpeg");
    std::fs::write(
        &ffmpeg,
        "#!/bin/sh\n[ \"$1\" = -version ] && { echo 'ffmpeg version n/a'; exit 0; }\n\
         cat > /dev/null\necho \"Unknown encoder 'libx264'\" >&2\nexit 8\n",
    )
    .unwrap();
    std::fs::set_permissions(&ffmpeg, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = dir.path().join("anim");
    let fragments = ["--layer", "3", "--frames", "3"];
    let (ok, err) = netbend_with_path(
        on_tiny(&["animate", "fragments"], &fragments, &out),
        Some(&bin),
    );
    assert!(!ok, "{err}");
    assert!(
        err.contains("animation.mp4") && err.contains("ffmpeg failed") && err.contains("libx264"),
        "{err}"
    );
    assert_eq!(
        file_names(dir.path()),
        ["bin"],
        "no output folder, no partial folder"
    );
}

#[test]
fn without_model_animate_uses_the_shipped_demo_generator() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("sweep");
    let sweep = |out: &Path, model: Option<&Path>| {
        let mut args: Vec<String> = vec!["animate".into(), "sweep".into()];
        if let Some(m) = model {
            args.extend(["--model".into(), m.display().to_string()]);
        }
        for a in [
            "--layer",
            "2",
            "--transform",
            "rotate",
            "--from",
            "0",
            "--to",
            "90",
            "--frames",
            "2",
            "--no-mp4",
            "--out",
        ] {
            args.push(a.into());
        }
        args.push(out.display().to_string());
        common::netbend(args)
    };
    let (ok, err) = sweep(&out, None);
    assert!(ok, "{err}");
    let demo = netbend_test_support::workspace_root().join("models/stylegan2-demo");
    let explicit = dir.path().join("explicit");
    let (ok, err) = sweep(&explicit, Some(&demo));
    assert!(ok, "{err}");
    for frame in ["frame0000.png", "frame0001.png"] {
        let picture = rgb(&out.join(frame));
        assert_eq!(picture.dimensions(), (64, 64), "the demo generator's size");
        assert_eq!(picture, rgb(&explicit.join(frame)), "{frame}");
    }
}
