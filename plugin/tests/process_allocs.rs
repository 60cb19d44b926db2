//! No allocation in process(): the plugin is built with nice-plug's `assert_process_allocs`
//! feature, which in debug builds (this test's profile) aborts the whole process on any
//! allocation inside the plugin's process call. This binary therefore holds only this test:
//! an abort shows up as a failed test binary, not as a failure of unrelated tests.
//!
//! Covers 44.1 and 48 kHz, mono-sized and odd block sizes (1, 17, 512, 4096), parameter events
//! in every block (dry/wet, gain, bypass, voice, and every slot's transform, parameters,
//! selection and mix), so the bridge publication and the output stage run on every path; with the
//! model path connected (the tiny test model on its worker thread): resampling, framing,
//! dispatching windows, collecting bent windows (with their neutral decodes while the voice is
//! above 0), resynthesis, and the dry fallback of late windows, in real-time mode
//! and in offline rendering (where the audio thread waits for the worker); the editor's
//! spectrogram columns are published on every frame (no editor drains them here, so the ring
//! also runs full and drops columns); and the "cluster this audio" capture: every block's
//! model-rate mid input goes into the clip ring (which the collector thread drains), including
//! blocks far faster than real time that overflow it (dropped, counted). Slots 1 and 2 move all
//! along (a sixteenth-note LFO on a rotation, a random selection re-rolled every beat) on a host
//! transport that rolls and jumps back every 50 blocks, so the song clock, the windows' song
//! positions and the modulator parameters run on every path too.

mod common;

use common::{LoadedPlugin, ParamChange};

#[test]
#[cfg_attr(
    not(debug_assertions),
    ignore = "assert_process_allocs only checks in debug builds: run this test without --release"
)]
fn process_never_allocates() {
    let _serial = common::serial();
    common::use_model(Some(&common::tiny_model()));
    let mut plugin = LoadedPlugin::load();
    let params = plugin.params();
    let id = |name: &str| {
        params
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone()
    };
    let drywet = id("Dry/Wet");
    let gain = id("Output Gain");
    let bypass = id("Bypass");
    // The voice: above 0, bent windows come back with their neutral decode as well.
    let voice = id("Voice");
    // Slots 1 and 2 keep their modulators; the others' parameters cycle.
    let slot_params: Vec<common::ParamDesc> = params
        .iter()
        .filter(|p| p.name.starts_with("Slot ") && !p.name.starts_with("Slot 1 "))
        .filter(|p| !p.name.starts_with("Slot 2 "))
        .cloned()
        .collect();
    let moving = moving_slots(&mut plugin);

    let runs = [
        (44_100.0, false),
        (48_000.0, false),
        (44_100.0, true),
        (48_000.0, true),
    ];
    for (sample_rate, offline) in runs {
        plugin.set_offline(offline);
        for block in [1usize, 17, 512, 4096] {
            let mut processor = plugin.activate(sample_rate, block as u32);
            // Long enough for several model windows to go out and come back (or miss).
            let blocks = (40_000 / block).clamp(16, 40_000);
            // Real-time runs go at an audio interface's pace: faster, the plugin's pace guard
            // would take them for a bounce and wait for the worker as offline runs do.
            let pacer = common::Pacer::new(sample_rate);
            for b in 0..blocks {
                if !offline {
                    pacer.wait_for(b * block);
                }
                let mut input: Vec<Vec<f32>> = (0..2)
                    .map(|ch| {
                        (0..block)
                            .map(|n| {
                                let t = (b * block + n) as f32 / sample_rate as f32;
                                0.3 * (std::f32::consts::TAU * (220.0 + 110.0 * ch as f32) * t)
                                    .sin()
                            })
                            .collect()
                    })
                    .collect();
                let mut output = vec![vec![0.0f32; block]; 2];
                // A rolling transport at 120 BPM that loops back every 50 blocks.
                let song = ((b % 50) * block) as f64 / sample_rate;
                processor.set_song_transport(Some((song, 120.0)));
                // A few changes in every block, cycling through all slot parameters.
                let phase = (b % 10) as f64 / 10.0;
                let mut changes = if b == 0 { moving.clone() } else { Vec::new() };
                changes.extend([
                    ParamChange::new(drywet.id, phase),
                    ParamChange::new(gain.id, 1.0 - phase),
                    ParamChange::new(bypass.id, if b % 7 == 3 { 1.0 } else { 0.0 }),
                    ParamChange::new(voice.id, (b % 5) as f64 / 4.0),
                ]);
                for k in 0..4 {
                    let p = &slot_params[(b * 4 + k) % slot_params.len()];
                    let value = p.min + (p.max - p.min) * phase;
                    let value = if p.max > 1.0 { value.round() } else { value };
                    changes.push(ParamChange::new(p.id, value));
                }
                processor.process(&mut input, &mut output, &changes);
                assert!(output.iter().flatten().all(|v| v.is_finite()));
                plugin.pump_main_thread();
            }
            processor.finish(&mut plugin);
        }
    }
}

/// Parameter events that turn on slot 1 (rotate, a sine on the angle every sixteenth note) and
/// slot 2 (a random quarter of layer 1 ablated, re-rolled every beat).
fn moving_slots(plugin: &mut LoadedPlugin) -> Vec<ParamChange> {
    use common::parity::clap_value;
    use netbend::params::{ModRate, ModShape, ModTarget, Reroll, Selection, SlotParams, Transform};
    let (one, two) = (SlotParams::new(1), SlotParams::new(2));
    let mut changes = Vec::new();
    let mut set = |name: &str, value: &dyn Fn(&common::ParamDesc) -> f64| {
        let desc = plugin.param(name);
        changes.push(ParamChange::new(desc.id, value(&desc)));
    };
    set("Slot 1 On", &|d| clap_value(d, &one.enabled, true));
    set("Slot 1 Layer", &|d| clap_value(d, &one.layer, 2));
    set("Slot 1 Transform", &|d| {
        clap_value(d, &one.transform, Transform::Rotate)
    });
    set("Slot 1 Mod Shape", &|d| {
        clap_value(d, &one.mod_shape, ModShape::Sine)
    });
    set("Slot 1 Mod Rate", &|d| {
        clap_value(d, &one.mod_rate, ModRate::Sixteenth)
    });
    set("Slot 1 Mod Target", &|d| {
        clap_value(d, &one.mod_target, ModTarget::Param)
    });
    set("Slot 1 Mod Depth", &|d| clap_value(d, &one.mod_depth, 0.2));
    set("Slot 2 On", &|d| clap_value(d, &two.enabled, true));
    set("Slot 2 Selection", &|d| {
        clap_value(d, &two.selection, Selection::Random)
    });
    set("Slot 2 Reroll", &|d| {
        clap_value(d, &two.reroll, Reroll::Beat1)
    });
    set("Slot 2 Mod Shape", &|d| {
        clap_value(d, &two.mod_shape, ModShape::Drift)
    });
    changes
}
