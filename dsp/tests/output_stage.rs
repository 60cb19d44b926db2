//! The output stage's plain DSP functions (`dsp::output_stage`, the plugin's and the CLI's).

use dsp::output_stage::*;

#[test]
fn guard_replaces_only_non_finite_values() {
    assert_eq!(guard_sample(0.5), (0.5, false));
    assert_eq!(guard_sample(-1e30), (-1e30, false));
    assert_eq!(guard_sample(f32::NAN), (0.0, true));
    assert_eq!(guard_sample(f32::INFINITY), (0.0, true));
    assert_eq!(guard_sample(f32::NEG_INFINITY), (0.0, true));
}

#[test]
fn soft_limiter_is_identity_below_the_knee_and_bounded_above() {
    for i in -900..=900 {
        let x = i as f32 / 1000.0;
        assert_eq!(soft_limit(x), x);
    }
    let mut last = LIMITER_KNEE;
    for i in 1..2000 {
        let x = LIMITER_KNEE + i as f32 * 0.01;
        let y = soft_limit(x);
        assert!(
            y <= LIMITER_CEILING && y >= last,
            "monotonic, never above the ceiling at {x}"
        );
        assert_eq!(soft_limit(-x), -y, "odd symmetry");
        last = y;
    }
    // Continuous slope at the knee.
    let d = 1e-3;
    let slope = (soft_limit(LIMITER_KNEE + d) - soft_limit(LIMITER_KNEE)) / d;
    assert!((slope - 1.0).abs() < 0.02, "slope {slope}");
    assert_eq!(soft_limit(f32::NAN), 0.0);
    assert_eq!(soft_limit(f32::INFINITY), LIMITER_CEILING);
}

#[test]
fn dc_blocker_removes_dc_and_passes_audio() {
    let sr = 48_000.0;
    let mut dc = DcBlocker::new(sr);
    let n = 48_000;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let x = 0.5 + 0.25 * (std::f32::consts::TAU * 1000.0 * i as f32 / sr).sin();
        out.push(dc.process(x));
    }
    let tail = &out[n - 4800..];
    let mean = tail.iter().sum::<f32>() / tail.len() as f32;
    let peak = tail.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(mean.abs() < 1e-3, "DC left {mean}");
    assert!((peak - 0.25).abs() < 0.005, "1 kHz passes, peak {peak}");
    // A NaN never sticks in the state.
    let mut dc = DcBlocker::new(sr);
    assert!(
        dc.process(f32::NAN).is_nan(),
        "the blocker itself does not guard"
    );
    assert!(
        (0..10).all(|_| dc.process(0.1).is_finite()),
        "but its state recovers at once"
    );
}

#[test]
fn delay_line_delays_by_exactly_its_setting() {
    let mut d = DelayLine::with_capacity(100);
    assert_eq!(d.max_delay(), 100);
    for delay in [0usize, 1, 37, 100] {
        d.reset();
        d.set_delay(delay);
        let out: Vec<f32> = (0..300).map(|i| d.process(i as f32 + 1.0)).collect();
        for (i, &v) in out.iter().enumerate() {
            let expected = if i >= delay {
                (i - delay) as f32 + 1.0
            } else {
                0.0
            };
            assert_eq!(v, expected, "delay {delay}, sample {i}");
        }
    }
    d.set_delay(1000);
    assert_eq!(d.delay(), 100, "clamped to the capacity");
}

#[test]
fn mix_is_exact_at_the_ends() {
    assert_eq!(mix(0.3, 0.7, 0.0), 0.3);
    assert_eq!(mix(0.3, 0.7, 1.0), 0.7);
    assert!((mix(0.2, 0.6, 0.25) - 0.3).abs() < 1e-7);
}

#[test]
fn channel_output_mixes_gains_and_bypasses() {
    let mut ch = ChannelOutput::new(48_000.0, 16);
    ch.set_latency(3);
    let controls = OutputControls {
        wet_amount: 0.0,
        gain: 0.5,
        bypass: 0.0,
        silence_gate: false,
    };
    let outs: Vec<f32> = (0..8)
        .map(|i| ch.process(i as f32 * 0.1, controls, |d| d).0)
        .collect();
    // Dry only, delayed by 3, times 0.5.
    for (i, v) in outs.iter().enumerate() {
        let e = if i >= 3 {
            (i - 3) as f32 * 0.1 * 0.5
        } else {
            0.0
        };
        assert!((v - e).abs() < 1e-7, "{i}: {v} vs {e}");
    }
    // Bypassed: the latency-compensated input, gain ignored.
    let bypassed = OutputControls {
        wet_amount: 1.0,
        gain: 0.25,
        bypass: 1.0,
        silence_gate: false,
    };
    let (y, bad) = ch.process(0.9, bypassed, |_| f32::NAN);
    assert_eq!(y, 5.0 * 0.1); // input of 3 samples earlier (0.5)
    assert_eq!(bad, 1, "the NaN wet sample was guarded");
    // A wet NaN with wet = 1 and no bypass gives a finite output.
    let wet = OutputControls {
        wet_amount: 1.0,
        gain: 1.0,
        bypass: 0.0,
        silence_gate: false,
    };
    let (y, _) = ch.process(0.1, wet, |_| f32::INFINITY);
    assert!(y.is_finite());
}

/// A sequenced "break": short decaying bursts with digital silence between them, and a wet
/// signal that leaks into the silence (what the model's resynthesis does), aligned with it.
fn break_with_rests(len: usize) -> (Vec<f32>, Vec<f32>) {
    let input: Vec<f32> = (0..len)
        .map(|i| {
            let t = i % 6_000;
            if t < 2_000 {
                (i as f32 * 0.21).sin() * (-(t as f32) / 400.0).exp()
            } else {
                0.0
            }
        })
        .collect();
    let wet: Vec<f32> = (0..len)
        .map(|i| 0.8 * input[i] + 1e-3 * (i as f32 * 0.05).sin())
        .collect();
    (input, wet)
}

#[test]
fn the_silence_gate_silences_the_rests_and_keeps_the_hits() {
    let (input, wet) = break_with_rests(30_000);
    let mut out = wet.clone();
    apply_fully_wet(&mut out, 44_100.0, 1.0, Some(&input));
    let mut ungated = wet.clone();
    apply_fully_wet(&mut ungated, 44_100.0, 1.0, None);
    let (hold, ramp) = dsp::silence_gate::silence_gate_samples(44_100.0);
    for (i, (&y, &u)) in out.iter().zip(&ungated).enumerate() {
        let t = i % 6_000;
        if t < 2_000 + hold as usize {
            // A burst and the hold after it: the gate is open, the output stage alone.
            assert_eq!(y, u, "sample {i} changed inside a burst");
        } else if t >= 2_000 + (hold + ramp) as usize && t < 6_000 - ramp as usize {
            assert_eq!(y, 0.0, "sample {i} in a rest is not silent");
        }
    }
    // Not vacuous: without the gate the leak is there in the rests.
    let leak = ungated
        .iter()
        .enumerate()
        .filter(|(i, _)| (3_000..5_000).contains(&(i % 6_000)))
        .fold(0.0f32, |m, (_, x)| m.max(x.abs()));
    assert!(leak > 5e-4, "leak {leak}");
}

#[test]
fn the_plugins_streaming_gate_equals_the_renderers() {
    // The plugin keys its gate from the dry delay line ahead of the dry tap; the renderer keys
    // it with the whole input. After the latency the two outputs are the same samples.
    let (input, wet) = break_with_rests(20_000);
    let latency = 1_000;
    let mut stage = ChannelOutput::new(48_000.0, latency);
    stage.set_latency(latency);
    let controls = OutputControls {
        wet_amount: 1.0,
        gain: 0.7,
        bypass: 0.0,
        silence_gate: true,
    };
    let streamed: Vec<f32> = (0..input.len() + latency)
        .map(|n| {
            let x = input.get(n).copied().unwrap_or(0.0);
            // The model path's output arrives `latency` samples late, aligned with the dry tap.
            let w = if n >= latency { wet[n - latency] } else { 0.0 };
            stage.process(x, controls, |_| w).0
        })
        .collect();
    let mut rendered = wet.clone();
    apply_fully_wet(&mut rendered, 48_000.0, 0.7, Some(&input));
    assert_eq!(&streamed[latency..], &rendered[..]);
}
