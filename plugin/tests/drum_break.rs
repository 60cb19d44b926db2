//! The committed drum break through the shipped model in the CLAP host at 44.1 and 48 kHz with
//! odd block sizes, and a slot's mix automated through parameter events.

mod common;

use common::{ParamChange, delayed, render};

/// The committed drum break (mono, 44.1 kHz), first `seconds`, as a stereo pair (the right
/// channel 3 ms late so the channels differ).
fn drum_break(seconds: f64) -> Vec<Vec<f32>> {
    let audio =
        dsp::read_audio(common::test_data("drum_break.flac")).expect("tests/data/drum_break.flac");
    let n = (seconds * audio.sample_rate as f64) as usize;
    let left: Vec<f32> = audio.channels[0][..n].to_vec();
    let right = delayed(&left, 132);
    vec![left, right]
}

#[test]
fn drum_break_with_the_model_and_slot_mix_automation_changes_the_output() {
    let _serial = common::serial();
    let mut plugin = common::load_offline(&common::shipped_model());
    let on = plugin.param("Slot 1 On");
    let transform = plugin.param("Slot 1 Transform");
    let mix = plugin.param("Slot 1 Mix");
    let layer = plugin.param("Slot 1 Layer");
    let input = drum_break(2.0);
    for rate in [44_100.0, 48_000.0] {
        // Slot 1: ablate layer 4 at mix 0 (a neutral bend), automated to mix 1 at 1.0 s.
        let t0 = (1.0 * rate) as usize;
        let setup = |value_mix: f64| {
            vec![
                (0, ParamChange::new(on.id, 1.0)),
                (0, ParamChange::new(transform.id, 13.0)), // Ablate
                (0, ParamChange::new(layer.id, 4.0)),
                (0, ParamChange::new(mix.id, 0.0)),
                (t0, ParamChange::new(mix.id, value_mix)),
            ]
        };
        let mut reference = None;
        for block in [1usize, 17, 512, 4096] {
            let steady = render(&mut plugin, rate, block, &input, &setup(0.0));
            let automated = render(&mut plugin, rate, block, &input, &setup(1.0));
            let latency = plugin.latency() as usize;
            for out in [&steady, &automated] {
                assert!(
                    out.iter()
                        .flatten()
                        .all(|v| v.is_finite() && v.abs() <= 1.0)
                );
            }
            // Up to the block holding the change both renders are the same computation.
            let first_block_start = t0 / block * block;
            for ch in 0..2 {
                assert_eq!(
                    steady[ch][..first_block_start],
                    automated[ch][..first_block_start],
                    "{rate} Hz block {block}"
                );
            }
            // After the change has come through the latency, the bend is heard.
            let after = t0 + latency + (0.1 * rate) as usize..input[0].len();
            let diff: f32 = after
                .clone()
                .map(|n| (steady[0][n] - automated[0][n]).powi(2))
                .sum::<f32>();
            let level: f32 = after.map(|n| steady[0][n].powi(2)).sum::<f32>();
            assert!(
                diff > 0.01 * level && level > 0.0,
                "{rate} Hz block {block}: difference {diff} vs level {level}"
            );
            // The render does not depend on the host's block size beyond rounding.
            match &reference {
                None => reference = Some(steady.clone()),
                Some(r) => {
                    let r: &Vec<Vec<f32>> = r;
                    let e = (0..t0)
                        .map(|n| (r[0][n] - steady[0][n]).abs())
                        .fold(0.0f32, f32::max);
                    assert!(e < 1e-4, "{rate} Hz block {block} vs block 1: {e}");
                }
            }
        }
    }
}
