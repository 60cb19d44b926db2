//! Reconstruction quality regression: a neutral `netbend render` (input phase) of the committed
//! drum break and music excerpt (both never used in training) through the shipped default model
//! `models/vae` (the spatial latent), scored by the NumPy reference `netbend_models.vae.quality` (spectral
//! convergence, log-spectral distance, onset-envelope correlation; models/docs/spatial-vae.md).
//! Bounds sit a little outside the figures measured when the model was exported (2026-12-05,
//! step 17,776: drum break SC 0.311, LSD 4.56 dB, onset r 0.935; music (stereo, linked) SC 0.209,
//! LSD 4.67 dB, onset r 0.818; the paper's model `models/vae-paper` scores SC 0.919 / 0.753,
//! LSD 11.8 / 14.8 dB, onset r 0.62 / 0.69 on the same clips).

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
