//! Moving configs through `netbend render` (docs/config.md, "Modulation and re-roll"): the
//! built binary on the committed drum break with the shipped model. References are static renders
//! of the values the documented formulas give at each window's song position: a window's
//! position is the time of its last frame, `start + ((k + 1) 64 - 1) 256 / 44100` s in the
//! offline layout (128-frame windows every 64 frames), and output frames `64 j .. 64 j + 63`
//! are made of windows `j` and `j + 1` only. So wherever two neighbouring windows stand at the
//! same value, the samples in the middle of their block equal that value's static render.

mod common;

use std::path::{Path, PathBuf};

use common::{render_args, shipped_model};
use dsp::read_audio;
use netbend_test_support::{netbend_ok, os, relative_l2, test_data};

const HOP_SECONDS: f64 = 64.0 * 256.0 / 44_100.0;
/// Samples per block of 64 frames, and the margin kept from a block's ends (the 1024-sample
/// synthesis window reaches 4 frames to each side).
const BLOCK: usize = 64 * 256;
const MARGIN: usize = 2048;

fn render(dir: &Path, name: &str, config: &str, extra: &[&str]) -> Vec<Vec<f32>> {
    let config_path = dir.join(format!("{name}.yaml"));
    std::fs::write(&config_path, config).unwrap();
    let output = dir.join(format!("{name}.wav"));
    let model = shipped_model();
    let input = test_data("drum_break.flac");
    let mut args = render_args(&model, &input, &output);
    args.extend([
        os("--config"),
        config_path.as_os_str(),
        os("--threads"),
        os("1"),
    ]);
    args.extend(extra.iter().map(os));
    netbend_ok(&args);
    read_audio(&output).unwrap().channels
}

/// Window `k`'s song position in beats at `bpm`, the file starting at `start` seconds.
fn window_beats(k: usize, bpm: f64, start: f64) -> f64 {
    let seconds = start + (((k + 1) * 64 - 1) as f64 / 64.0) * HOP_SECONDS;
    seconds * bpm / 60.0
}

/// The sample range in the middle of block `j` (frames 64 j .. 64 j + 63).
fn block_middle(j: usize) -> std::ops::Range<usize> {
    j * BLOCK + MARGIN..(j + 1) * BLOCK - MARGIN
}

/// Compares `moving` with the static render of each window pair's common state, for every block
/// whose two windows agree; returns how many blocks of each state were compared.
fn compare_blocks(
    moving: &[Vec<f32>],
    statics: &[Vec<Vec<f32>>],
    state_of_window: impl Fn(usize) -> usize,
) -> Vec<usize> {
    let len = moving[0].len();
    let mut compared = vec![0; statics.len()];
    for j in 0.. {
        let range = block_middle(j);
        if range.end > len {
            break;
        }
        let (a, b) = (state_of_window(j), state_of_window(j + 1));
        if a != b {
            continue;
        }
        for (ch, channel) in moving.iter().enumerate() {
            let d = relative_l2(&channel[range.clone()], &statics[a][ch][range.clone()]);
            assert!(
                d < 1e-4,
                "block {j}, state {a}, channel {ch}: relative difference {d}"
            );
        }
        compared[a] += 1;
    }
    compared
}

#[test]
fn a_square_lfo_on_rotate_switches_between_the_static_renders_at_its_song_positions() {
    let dir = tempfile::tempdir().unwrap();
    let rotate = |angle: &str| {
        format!("transforms:\n- layer: 2\n  transform: rotate\n  params: [{angle}]\n")
    };
    // A square of one bar around 30 degrees, +-45: 75 in the first half bar, -15 in the second.
    let moving_config = format!(
        "{}  modulate: {{shape: square, rate: 1 bar, depth: 45, target: param}}\n",
        rotate("30")
    );
    let (bpm, start) = (100.0, 0.3);
    let timeline = ["--bpm", "100", "--start", "0.3"];
    let moving = render(dir.path(), "moving", &moving_config, &timeline);
    let up = render(dir.path(), "up", &rotate("75"), &[]);
    let down = render(dir.path(), "down", &rotate("-15"), &[]);
    assert!(
        relative_l2(&up[0], &down[0]) > 0.05,
        "the two angles sound different"
    );
    let state = |k: usize| {
        let bar = window_beats(k, bpm, start) / 4.0;
        usize::from(bar - bar.floor() >= 0.5)
    };
    let compared = compare_blocks(&moving, &[up, down], state);
    assert!(
        compared.iter().all(|&n| n >= 2),
        "blocks compared per state: {compared:?}"
    );
    // Rendering again gives the same file.
    assert_eq!(
        render(dir.path(), "moving-again", &moving_config, &timeline),
        moving
    );
}

/// SplitMix64 as docs/config.md writes it out.
fn splitmix64(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn a_rerolling_random_ablation_draws_the_documented_seed_of_each_bar() {
    let dir = tempfile::tempdir().unwrap();
    let entry = |extra: &str| {
        format!(
            "transforms:\n- layer: 1\n  transform: ablate\n  features: random\n  feature-param: 0.5\n  {extra}\n"
        )
    };
    // Own seed 21; a new draw every half bar (2 beats) at 150 BPM.
    let moving = render(
        dir.path(),
        "reroll",
        &entry("seed: 21\n  reroll: 1/2"),
        &["--bpm", "150"],
    );
    let period_of = |k: usize| (window_beats(k, 150.0, 0.0) / 2.0).floor() as usize;
    let periods: Vec<usize> = (0..12).map(period_of).collect();
    let last = *periods.iter().max().unwrap();
    let statics: Vec<Vec<Vec<f32>>> = (0..=last)
        .map(|n| {
            let seed = splitmix64(21 ^ splitmix64(n as u64));
            render(
                dir.path(),
                &format!("draw{n}"),
                &entry(&format!("seed: {seed}")),
                &[],
            )
        })
        .collect();
    assert!(
        relative_l2(&statics[0][0], &statics[1][0]) > 0.01,
        "draws differ"
    );
    let compared = compare_blocks(&moving, &statics, |k| period_of(k).min(last));
    assert!(
        compared.iter().filter(|&&n| n > 0).count() >= 2,
        "blocks compared per draw: {compared:?}"
    );
}

#[test]
fn bad_timelines_are_refused_naming_the_option() {
    let dir = tempfile::tempdir().unwrap();
    let output: PathBuf = dir.path().join("out.wav");
    let model = shipped_model();
    let input = test_data("drum_break.flac");
    for (args, expected) in [(["--bpm", "0"], "--bpm"), (["--meter", "4/3"], "--meter")] {
        let mut all = render_args(&model, &input, &output);
        all.extend(args.iter().map(os));
        let out = netbend_test_support::netbend(&all);
        let err = netbend_test_support::stderr(&out);
        assert!(!out.status.success() && err.contains(expected), "{err}");
        assert!(!output.exists());
    }
}
