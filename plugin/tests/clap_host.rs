//! The Netbend .clap in a real CLAP host (clack-host): parameters as a host lists them, audio
//! with parameter events checked against an independent model of the output stage, latency, and
//! state save/restore through the host's state extension.

mod common;

use common::{LoadedPlugin, ParamChange, delayed, json_state, render, render_paced, state_json};
use std::f32::consts::TAU;

const SR: f64 = 48_000.0;
const BLOCK: usize = 480; // 10 ms

/// Test input: a 440 Hz and a 1 kHz sine with a DC offset (so the DC blocker has work to do).
fn input_signal(len: usize, sample_rate: f32) -> [Vec<f32>; 2] {
    let l = (0..len)
        .map(|n| 0.25 * (TAU * 440.0 * n as f32 / sample_rate).sin() + 0.1)
        .collect();
    let r = (0..len)
        .map(|n| 0.2 * (TAU * 1000.0 * n as f32 / sample_rate).sin() - 0.05)
        .collect();
    [l, r]
}

/// Independent first-order DC blocker: y[n] = x[n] - x[n-1] + R y[n-1], R = 1 - 2 pi 5 Hz / fs.
fn dc_block(x: &[f32], sample_rate: f32) -> Vec<f32> {
    let r = 1.0 - 2.0 * std::f32::consts::PI * 5.0 / sample_rate;
    let (mut x1, mut y1) = (0.0f32, 0.0f32);
    x.iter()
        .map(|&v| {
            let y = v - x1 + r * y1;
            x1 = v;
            y1 = y;
            y
        })
        .collect()
}

fn db(gain_db: f32) -> f32 {
    10f32.powf(gain_db / 20.0)
}

#[test]
fn lists_parameters_with_readable_names() {
    let _serial = common::serial();
    let mut plugin = LoadedPlugin::load();
    assert_eq!(plugin.descriptor_name(), "Netbend");
    let params = plugin.params();
    // 6 global + 8 slots x 25 (18 of the bend, 7 of its modulator and re-roll).
    assert_eq!(params.len(), 6 + 8 * 25, "parameter count");
    let mut ids: Vec<u32> = params.iter().map(|p| p.id.get()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), params.len(), "parameter ids are unique");
    for name in [
        "Dry/Wet",
        "Output Gain",
        "Voice",
        "Silence Gate",
        "Bypass",
        "Quality Mode",
        "Slot 1 On",
        "Slot 3 Mix",
        "Slot 3 Rotate",
        "Slot 3 Transform",
        "Slot 8 Cluster",
        "Slot 8 Translate X",
        "Slot 5 Selection",
        "Slot 5 Fraction",
        "Slot 5 Seed",
        "Slot 2 Mod Shape",
        "Slot 7 Mod Depth",
        "Slot 4 Reroll",
    ] {
        assert!(params.iter().any(|p| p.name == name), "missing {name}");
    }
    let bypass = plugin.param("Bypass");
    assert!(
        bypass
            .flags
            .contains(clack_extensions::params::ParamInfoFlags::IS_BYPASS)
    );
    // Hosts that list only automatable parameters (VST3 hosts such as Ardour) must still offer
    // the quality mode: it is flagged automatable and a change restarts the plugin.
    let mode = plugin.param("Quality Mode");
    assert!(
        mode.flags
            .contains(clack_extensions::params::ParamInfoFlags::IS_AUTOMATABLE)
            && !mode
                .flags
                .contains(clack_extensions::params::ParamInfoFlags::IS_HIDDEN),
        "the quality mode must be listed by every host: {:?}",
        mode.flags
    );
    let rotate = plugin.param("Slot 3 Mix");
    assert!(rotate.module.contains("Slot 3"), "module {}", rotate.module);
    // The transform enum lists the 14 stages: CLAP exposes it as steps 0..13.
    let transform = plugin.param("Slot 2 Transform");
    assert_eq!(transform.max, 13.0);
    let names: Vec<String> = (0..14)
        .map(|i| plugin.value_to_text(transform.id, i as f64))
        .collect();
    assert_eq!(
        names,
        [
            "Shuffle",
            "Translate",
            "Scale",
            "Rotate",
            "Flip horizontal",
            "Flip vertical",
            "Erode",
            "Dilate",
            "Multiply",
            "Offset",
            "Invert",
            "Threshold",
            "Noise",
            "Ablate"
        ]
    );
    // Units in the display text.
    let rot = plugin.param("Slot 3 Rotate");
    let v = plugin.text_to_value(rot.id, "45");
    assert_eq!(plugin.value_to_text(rot.id, v), "45.0 deg");
    let gain = plugin.param("Output Gain");
    let v = plugin.text_to_value(gain.id, "-6");
    assert_eq!(plugin.value_to_text(gain.id, v), "-6.00 dB");
}

fn assert_close(
    what: &str,
    got: &[f32],
    expected: &[f32],
    range: std::ops::Range<usize>,
    tol: f32,
) {
    let mut worst = (0.0f32, 0usize);
    for i in range.clone() {
        let e = (got[i] - expected[i]).abs();
        if e > worst.0 {
            worst = (e, i);
        }
    }
    assert!(
        worst.0 <= tol,
        "{what}: max error {} at sample {} (got {}, expected {}) over {range:?}",
        worst.0,
        worst.1,
        got[worst.1],
        expected[worst.1]
    );
}

#[test]
fn dry_wet_gain_and_bypass_events_match_an_independent_model() {
    let _serial = common::serial();
    // Without a model the wet signal is the dry signal delayed by the latency: the output stage
    // can then be checked exactly against this independent model of it.
    common::use_model(None);
    let mut plugin = LoadedPlugin::load();
    let drywet = plugin.param("Dry/Wet");
    let gain = plugin.param("Output Gain");
    let bypass = plugin.param("Bypass");
    let sr = SR as f32;
    let len = (2.0 * SR) as usize;
    let input = input_signal(len, sr);

    // Segments (seconds): defaults (wet 100 %, 0 dB) until 0.8; dry only at -6 dB until 1.1;
    // 25 % wet at -6 dB until 1.4; bypass after. Smoothing (20 ms) and the bypass fade (10 ms)
    // settle within 50 ms of each change. The input reaches the output after the latency.
    let at = |s: f64| (s * SR) as usize;
    let minus6 = plugin.text_to_value(gain.id, "-6");
    let change = |t: f64, id, value| (at(t), ParamChange::new(id, value));
    let changes = [
        change(0.8, drywet.id, 0.0),
        change(0.8, gain.id, minus6),
        change(1.1, drywet.id, 0.25),
        change(1.4, bypass.id, 1.0),
    ];
    let out = render(&mut plugin, SR, BLOCK, &input, &changes);
    let latency = plugin.latency() as usize;
    assert!(latency > 0 && latency < at(0.4), "latency {latency}");

    // The host sees the new values.
    assert!((plugin.get_value(drywet.id) - 0.25).abs() < 1e-6);
    assert_eq!(plugin.get_value(bypass.id), 1.0);

    let settle = at(0.05);
    for (ch, (x, y)) in input.iter().zip(out.iter()).enumerate() {
        assert!(y.iter().all(|v| v.is_finite()));
        let x = delayed(x, latency);
        let wet = dc_block(&x, sr);
        let g = db(-6.0);
        // Fully wet (no model: wet = dry delayed by the latency, through the safety stage).
        assert_close(&format!("ch{ch} wet"), y, &wet, 0..at(0.8), 1e-5);
        let dry6: Vec<f32> = x.iter().map(|v| g * v).collect();
        assert_close(
            &format!("ch{ch} dry -6 dB"),
            y,
            &dry6,
            at(0.8) + settle..at(1.1),
            1e-5,
        );
        let mix: Vec<f32> = x
            .iter()
            .zip(&wet)
            .map(|(d, w)| g * (0.75 * d + 0.25 * w))
            .collect();
        assert_close(
            &format!("ch{ch} 25% wet"),
            y,
            &mix,
            at(1.1) + settle..at(1.4),
            1e-5,
        );
        // Bypassed: the latency-compensated input itself.
        assert_close(&format!("ch{ch} bypass"), y, &x, at(1.4) + settle..len, 0.0);
        // The DC blocker removed the offset from the wet signal.
        let tail_mean: f32 = y[at(0.7)..at(0.8)].iter().sum::<f32>() / at(0.1) as f32;
        assert!(tail_mean.abs() < 0.01, "ch{ch} wet DC {tail_mean}");
    }
}

#[test]
fn mono_layout_processes_one_channel() {
    let _serial = common::serial();
    let mut plugin = common::load_offline(&common::tiny_model());
    let configs = plugin.port_configs();
    assert!(
        configs.iter().any(|c| (c.1, c.2) == (2, 2)),
        "stereo: {configs:?}"
    );
    let mono = *configs
        .iter()
        .find(|c| (c.1, c.2) == (1, 1))
        .unwrap_or_else(|| panic!("no mono configuration in {configs:?}"));
    plugin.select_port_config(mono.0);
    let drywet = plugin.param("Dry/Wet");
    let gain = plugin.param("Output Gain");
    let minus12 = plugin.text_to_value(gain.id, "-12");
    let [left, _] = input_signal(30_000, 44_100.0);
    let input = vec![left];
    let out = render(
        &mut plugin,
        44_100.0,
        17,
        &input,
        &[
            (0, ParamChange::new(drywet.id, 0.0)),
            (0, ParamChange::new(gain.id, minus12)),
        ],
    );
    assert_eq!(out.len(), 1);
    // Dry only, with the model running: the input at -12 dB, delayed by the latency.
    let latency = plugin.latency() as usize;
    let expected: Vec<f32> = delayed(&input[0], latency)
        .iter()
        .map(|v| v * db(-12.0))
        .collect();
    assert_close("mono dry -12 dB", &out[0], &expected, 4410..30_000, 1e-5);
}

/// An impulse at sample 3000 through the plugin (100 % wet unless `drywet` says otherwise).
fn impulse_response(
    plugin: &mut LoadedPlugin,
    rate: f64,
    block: usize,
    drywet: f64,
    paced: bool,
) -> Vec<Vec<f32>> {
    let id = plugin.param("Dry/Wet").id;
    let mut input = vec![vec![0.0f32; (1.0 * rate) as usize]; 2];
    input[0][3000] = 0.5;
    input[1][3000] = -0.5;
    let changes = [(0, ParamChange::new(id, drywet))];
    if paced {
        render_paced(plugin, rate, block, &input, &changes)
    } else {
        render(plugin, rate, block, &input, &changes)
    }
}

fn argmax_abs(x: &[f32]) -> usize {
    x.iter()
        .enumerate()
        .max_by(|a, b| a.1.abs().total_cmp(&b.1.abs()))
        .unwrap()
        .0
}

#[test]
fn reported_latency_is_where_an_impulse_comes_out() {
    let _serial = common::serial();
    // The shipped model: its smooth spectral envelopes make a peaked zero-phase response (the
    // random-weight test model's magnitudes are not smooth across bins, so its response to an
    // impulse is spread over the whole frame).
    let mut plugin = common::load_offline(&common::shipped_model());
    let mode = plugin.param("Quality Mode");
    // The modes' latencies at 44.1 kHz, from their schedules: n_fft + (hop + fade - 1 + budget)
    // STFT hops of 256 samples (docs/plugin.md, "Model path, latency and deadline misses").
    for (mode_value, expected_44k) in [(0.0, 1024 + 51 * 256), (1.0, 1024 + 19 * 256)] {
        render(
            &mut plugin,
            44_100.0,
            64,
            &[vec![0.0; 64], vec![0.0; 64]],
            &[(0, ParamChange::new(mode.id, mode_value))],
        );
        for (rate, block) in [(44_100.0, 64), (48_000.0, 17)] {
            // 1. The whole wet path (resampling, STFT, window delay, resynthesis) with a worker
            //    that is always late: the bent-frame store stays empty, so every frame passes
            //    through unchanged and the impulse must come out exactly `latency` later. Paced
            //    like live playback: faster, the pace guard would wait for the worker.
            common::set_worker_delay(Some(600_000));
            plugin.set_offline(false);
            let out = impulse_response(&mut plugin, rate, block, 1.0, true);
            common::set_worker_delay(None);
            let latency = plugin.latency() as usize;
            if rate == 44_100.0 {
                assert_eq!(latency, expected_44k, "mode {mode_value}");
            }
            for (ch, sign) in [(0, 1.0f32), (1, -1.0)] {
                let y = &out[ch];
                assert_eq!(argmax_abs(y), 3000 + latency, "mode {mode_value} {rate} Hz");
                let peak = sign * y[3000 + latency];
                // 44.1 kHz: the STFT round trip only. 48 kHz: the 22.05 kHz band limit of the
                // model rate takes about 8 % of a full-band impulse's peak.
                let (lo, hi) = if rate == 44_100.0 {
                    (0.4999, 0.5001)
                } else {
                    (0.42, 0.5)
                };
                assert!(peak > lo && peak < hi, "{rate} Hz peak {peak}");
            }

            // 2. The shipped model, neutral, fully wet (offline render: every window in time).
            //    Its magnitude under the impulse's own phase is a zero-phase filter around the
            //    impulse in each frame, weighted by the synthesis window: the peak stays within
            //    a fraction of a frame of the impulse, and nothing comes out a frame earlier.
            plugin.set_offline(true);
            let out = impulse_response(&mut plugin, rate, block, 1.0, false);
            for (ch, y) in out.iter().enumerate() {
                assert!(y.iter().all(|v| v.is_finite()));
                let peak = argmax_abs(y) as i64;
                assert!(
                    (peak - (3000 + latency) as i64).abs() < 256,
                    "mode {mode_value} {rate} Hz channel {ch}: peak at {peak}, latency {latency}"
                );
                assert!(y[..3000 + latency - 1024].iter().all(|v| v.abs() < 1e-4));
            }
            // Dry only: the impulse itself, exactly `latency` samples later.
            let dry = impulse_response(&mut plugin, rate, block, 0.0, false);
            assert_eq!(dry[0][3000 + latency], 0.5);
            assert_eq!(dry[1][3000 + latency], -0.5);
            assert_eq!(dry[0].iter().filter(|v| **v != 0.0).count(), 1);
        }
    }
}

#[test]
fn without_a_model_the_wet_signal_is_the_dry_signal_delayed_by_the_same_latency() {
    let _serial = common::serial();
    common::use_model(None);
    let mut plugin = LoadedPlugin::load();
    let out = impulse_response(&mut plugin, 44_100.0, 512, 1.0, false);
    let latency = plugin.latency() as usize;
    assert_eq!(latency, 1024 + 51 * 256);
    // Through the DC blocker only: the impulse's peak is untouched.
    assert_eq!(out[0][3000 + latency], 0.5);
    assert_eq!(out[1][3000 + latency], -0.5);
    assert_eq!(argmax_abs(&out[0]), 3000 + latency);
}

#[test]
fn safety_stage_stops_nan_inf_and_overs_on_the_wet_path() {
    let _serial = common::serial();
    let mut plugin = common::load_offline(&common::tiny_model());
    let mut input = input_signal(48_000, 48_000.0).to_vec();
    input[0][100] = f32::NAN;
    input[0][200] = f32::INFINITY;
    for v in &mut input[1][1000..2000] {
        *v *= 40.0; // way over full scale
    }
    let out = render(&mut plugin, SR, 256, &input, &[]);
    let latency = plugin.latency() as usize;
    for ch in &out {
        assert!(ch.iter().all(|v| v.is_finite()));
        // The model path keeps running after the bad input: output after the latency.
        assert!(ch[latency + 2000..].iter().any(|v| v.abs() > 1e-3));
        assert!(ch.iter().all(|v| v.abs() <= 1.0), "limiter ceiling");
    }
}

#[test]
fn state_round_trips_through_the_host() {
    let _serial = common::serial();
    common::use_model(Some(&common::tiny_model()));
    let mut a = LoadedPlugin::load();
    let on = a.param("Slot 3 On");
    let transform = a.param("Slot 3 Transform");
    let rotate = a.param("Slot 3 Rotate");
    let mix = a.param("Slot 3 Mix");
    let layer = a.param("Slot 3 Layer");
    let sel = a.param("Slot 3 Selection");
    let cluster = a.param("Slot 3 Cluster");
    let drywet = a.param("Dry/Wet");
    let mode = a.param("Quality Mode");
    let rot30 = a.text_to_value(rotate.id, "30");
    // The slot's modulator and re-roll are saved with it.
    let moving: Vec<ParamChange> = [
        ("Slot 3 Mod Shape", "Drift"),
        ("Slot 3 Mod Rate", "Free (Hz)"),
        ("Slot 3 Mod Hz", "3.5"),
        ("Slot 3 Mod Depth", "-40"),
        ("Slot 3 Mod Phase", "90"),
        ("Slot 3 Mod Target", "Parameter"),
        ("Slot 3 Reroll", "Every 2 bars"),
    ]
    .iter()
    .map(|(name, text)| {
        let id = a.param(name).id;
        let value = a.text_to_value(id, text);
        ParamChange::new(id, value)
    })
    .collect();
    let changes = [
        ParamChange::new(on.id, 1.0),
        ParamChange::new(transform.id, 3.0), // Rotate
        ParamChange::new(rotate.id, rot30),
        ParamChange::new(mix.id, 0.4),
        ParamChange::new(layer.id, 1.0), // layer 2
        ParamChange::new(sel.id, 2.0),   // Cluster
        ParamChange::new(cluster.id, 5.0),
        ParamChange::new(drywet.id, 0.7),
        ParamChange::new(mode.id, 1.0), // Low latency
    ];
    let input = input_signal(512, 48_000.0).to_vec();
    let changes: Vec<(usize, ParamChange)> =
        changes.iter().chain(&moving).map(|c| (0, *c)).collect();
    render(&mut a, SR, 512, &input, &changes);
    let saved = a.save_state();

    // Persisted non-parameter state: the model choice. Change it inside the saved state (the
    // way a session would have stored another model) and check it survives a load and a save.
    let mut json = state_json(&saved);
    assert_eq!(json["fields"]["model"], "\"default\"");
    json["fields"]["model"] = serde_json::Value::String("\"my-trained-model\"".into());
    let edited = json_state(&json);

    let mut b = LoadedPlugin::load();
    b.load_state(&edited);
    for p in a.params() {
        let (va, vb) = (a.get_value(p.id), b.get_value(p.id));
        assert!(
            (va - vb).abs() < 1e-6,
            "{}: saved {va}, restored {vb}",
            p.name
        );
    }
    // Stepped values come back as normalized f32 x step count: equal within f32 precision.
    assert!(
        (b.get_value(transform.id) - 3.0).abs() < 1e-6,
        "transform: Rotate"
    );
    assert!(
        (b.get_value(mode.id) - 1.0).abs() < 1e-6,
        "mode: low latency"
    );
    let restored_rotate = b.get_value(rotate.id);
    assert_eq!(b.value_to_text(rotate.id, restored_rotate), "30.0 deg");
    for (name, text) in [
        ("Slot 3 Mod Shape", "Drift"),
        ("Slot 3 Mod Rate", "Free (Hz)"),
        ("Slot 3 Mod Hz", "3.50 Hz"),
        ("Slot 3 Mod Depth", "-40.0 % of range"),
        ("Slot 3 Mod Phase", "90 deg"),
        ("Slot 3 Mod Target", "Parameter"),
        ("Slot 3 Reroll", "Every 2 bars"),
    ] {
        let id = b.param(name).id;
        let value = b.get_value(id);
        assert_eq!(b.value_to_text(id, value), text, "{name}");
    }
    let resaved = state_json(&b.save_state());
    assert_eq!(resaved["fields"]["model"], "\"my-trained-model\"");
}
