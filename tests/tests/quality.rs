//! Reconstruction quality regression: a neutral `netbend render` (input phase) of the committed
//! drum break and music excerpt (both never used in training) through the shipped default model
//! `models/vae` (the spatial latent), scored by the NumPy reference `netbend_models.vae.quality` (spectral
//! convergence, log-spectral distance, onset-envelope correlation; models/docs/spatial-vae.md).
//! Bounds sit a little outside the figures measured when the model was exported (2026-12-05,
//! step 17,776: drum break SC 0.311, LSD 4.56 dB, onset r 0.935; music (stereo, linked) SC 0.209,
//! LSD 4.67 dB, onset r 0.818; the paper's model `models/vae-paper` scores SC 0.919 / 0.753,
//! LSD 11.8 / 14.8 dB, onset r 0.62 / 0.69 on the same clips). The last test puts the break's
//! hits between rests of digital silence, as a sequenced break has them: the output stage's silence
//! gate (`dsp::silence_gate`) keeps the rests silent (measured 2026-12-06: onset r 0.976 with the
//! gate, 0.687 with `--no-silence-gate`).

mod common;

use netbend_test_support::{netbend_ok, run_python, test_data, workspace_root};

const SCORE: &str = r#"
import sys
sys.path.insert(0, sys.argv[3])
from netbend_models.data import audio
from netbend_models.vae import quality
x, y = audio.load_audio(sys.argv[1]), audio.load_audio(sys.argv[2])
n = min(len(x), len(y))
s = quality.clip_scores(quality.magnitudes(x[:n]), quality.magnitudes(y[:n]))
print(s["sc"], s["lsd_db"], s["onset_r"])
"#;

/// (SC, LSD in dB, onset r) of the neutral render of `clip`.
fn scores(clip: &str) -> (f64, f64, f64) {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data(clip);
    let output = dir.path().join("neutral.wav");
    let model = workspace_root().join("models/vae");
    netbend_ok(common::render_args(&model, &input, &output));
    let models = workspace_root().join("models");
    let out = run_python(
        SCORE,
        [input.as_os_str(), output.as_os_str(), models.as_os_str()],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Vec<f64> = text
        .split_whitespace()
        .map(|t| t.parse().expect("the scorer prints three numbers"))
        .collect();
    (v[0], v[1], v[2])
}

fn assert_quality(clip: &str, max_sc: f64, max_lsd_db: f64, min_onset_r: f64) {
    let (sc, lsd, onset) = scores(clip);
    assert!(
        sc <= max_sc && lsd <= max_lsd_db && onset >= min_onset_r,
        "{clip}: SC {sc:.3} (<= {max_sc}), LSD {lsd:.2} dB (<= {max_lsd_db}), onset r {onset:.3} (>= {min_onset_r})"
    );
}

#[test]
fn the_drum_break_keeps_its_hits() {
    assert_quality("drum_break.flac", 0.36, 5.2, 0.90);
}

#[test]
fn the_music_excerpt_is_reconstructed() {
    assert_quality("music_excerpt.flac", 0.26, 5.3, 0.77);
}

/// Writes the committed drum break cut into a sequenced pattern (120 ms of it every 375 ms, the
/// rest digital silence) to argv[2], renders nothing; then, given the renders, scores them and
/// checks the rests: argv[1] input, argv[2] pattern, argv[3] models/, argv[4..] renders.
const RESTS: &str = r#"
import sys
import numpy as np
import soundfile as sf
sys.path.insert(0, sys.argv[3])
from netbend_models.vae import quality
x, rate = sf.read(sys.argv[1], dtype="float32", always_2d=True)
x = x.mean(axis=1)
if len(sys.argv) == 4:
    step, cut = int(0.375 * rate), int(0.12 * rate)
    y = np.zeros_like(x)
    for start in range(0, len(x) - cut, step):
        y[start:start + cut] = x[start:start + cut] * np.r_[np.ones(cut - 256), np.linspace(1, 0, 256)]
    sf.write(sys.argv[2], y, rate, subtype="FLOAT")
    sys.exit()
pattern = sf.read(sys.argv[2], dtype="float64")[0]
idx = np.arange(len(pattern))
sound = pattern != 0
last = np.maximum.accumulate(np.where(sound, idx, -10**9))
nxt = np.minimum.accumulate(np.where(sound, idx, 10**9)[::-1])[::-1]
# The gate is closed 10 ms + 1.5 ms after the last sound and until 1.5 ms before the next one.
rest = (idx - last > int(0.0115 * rate) + 1) & (nxt - idx > int(0.0015 * rate) + 1)
outs = [sf.read(path, dtype="float64", always_2d=True)[0].mean(axis=1) for path in sys.argv[4:]]
for out in outs:
    n = min(len(out), len(pattern))
    s = quality.clip_scores(quality.magnitudes(pattern[:n]), quality.magnitudes(out[:n]))
    print(s["onset_r"], s["lsd_db"], float(np.abs(out[:n][rest[:n]]).max()), int(rest[:n].sum()))
# The gate as docs/signal.md defines it, from the input alone: open at n while some x[m] != 0 for
# m in [n - H, n + R]; the gain moves towards open (1) or closed (0) by 1 / R per sample, from 0
# at n = -R.
H, R = round(0.010 * rate), round(0.0015 * rate)
gain, g = 0.0, np.zeros(len(pattern) + R)
padded = np.r_[np.zeros(H + R), pattern, np.zeros(R + 1)]
sounding = np.convolve(padded != 0, np.ones(H + R + 1), "valid")[: len(g)] > 0
for i, is_open in enumerate(sounding):
    gain = min(1.0, gain + 1 / R) if is_open else max(0.0, gain - 1 / R)
    g[i] = gain
g = g[R:]
n = min(len(outs[0]), len(outs[1]), len(g))
print(float(np.abs(outs[0][:n] - g[:n] * outs[1][:n]).max()))
"#;

#[test]
fn a_sequenced_break_keeps_its_rests_silent_and_its_onsets() {
    let dir = tempfile::tempdir().unwrap();
    let input = test_data("drum_break.flac");
    let pattern = dir.path().join("pattern.wav");
    let models = workspace_root().join("models");
    run_python(
        RESTS,
        [input.as_os_str(), pattern.as_os_str(), models.as_os_str()],
    );
    let model = workspace_root().join("models/vae");
    let gated = dir.path().join("gated.wav");
    let open = dir.path().join("open.wav");
    netbend_ok(common::render_args(&model, &pattern, &gated));
    let mut args = common::render_args(&model, &pattern, &open);
    args.push("--no-silence-gate".as_ref());
    netbend_ok(args);
    let out = run_python(
        RESTS,
        [
            input.as_os_str(),
            pattern.as_os_str(),
            models.as_os_str(),
            gated.as_os_str(),
            open.as_os_str(),
        ],
    );
    let rows: Vec<Vec<f64>> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| l.split_whitespace().map(|t| t.parse().unwrap()).collect())
        .collect();
    let (gated, open) = (&rows[0], &rows[1]);
    // The gated render is the ungated one times the gate that the spec computes from the input.
    assert!(
        rows[2][0] < 1e-4,
        "gated vs the spec's gate times ungated: {}",
        rows[2][0]
    );
    assert!(
        gated[3] > 44_100.0,
        "the pattern has {} rest samples",
        gated[3]
    );
    assert_eq!(gated[2], 0.0, "the gated render is not silent in the rests");
    assert!(
        open[2] > 1e-4,
        "without the gate the model leaks into the rests: {}",
        open[2]
    );
    assert!(
        gated[0] >= 0.95 && gated[0] > open[0] + 0.1,
        "onset r {:.3} with the gate, {:.3} without",
        gated[0],
        open[0]
    );
    assert!(gated[1] <= 3.5, "LSD {:.2} dB with the gate", gated[1]);
}
