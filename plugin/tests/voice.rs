//! The Voice parameter in a real CLAP host (clack-host, the built plugin): listed, automatable,
//! shown as the input's share and kept in the plugin state; at 100 % with no bend the plugin gives
//! its input back, `latency` samples later, through the output stage only (checked against an
//! independent DC blocker and limiter, no model and no STFT). Voice with a bend against `netbend
//! render --voice` is in `cli_parity.rs`.

mod common;

use clack_extensions::params::ParamInfoFlags;
use common::parity::{max_abs_diff, relative_error, render_offline};
use common::{LoadedPlugin, ParamChange, render};

/// The output stage at 100 % wet, written here from docs/signal.md: a DC blocker
/// `y[n] = x[n] - x[n-1] + r y[n-1]`, `r = 1 - 2 pi 5 Hz / fs`, from rest, then the soft limiter
/// (identity up to 0.9, `0.9 + 0.1 tanh((|x| - 0.9) / 0.1)` above, with the sign).
fn output_stage(x: &[f32], sample_rate: f64) -> Vec<f32> {
    let r = 1.0 - 2.0 * std::f64::consts::PI * 5.0 / sample_rate;
    let (mut x1, mut y1) = (0.0f64, 0.0f64);
    x.iter()
        .map(|&v| {
            let y = v as f64 - x1 + r * y1;
            x1 = v as f64;
            y1 = y;
            let a = y.abs();
            let limited = if a <= 0.9 {
                a
            } else {
                0.9 + 0.1 * ((a - 0.9) / 0.1).tanh()
            };
            (limited * y.signum()) as f32
        })
        .collect()
}

#[test]
fn voice_is_an_automatable_percentage_of_the_input_kept_in_the_state() {
    let _serial = common::serial();
    common::use_model(Some(&common::tiny_model()));
    let mut a = LoadedPlugin::load();
    let voice = a.param("Voice");
    assert!(
        voice.flags.contains(ParamInfoFlags::IS_AUTOMATABLE)
            && !voice.flags.contains(ParamInfoFlags::IS_HIDDEN),
        "{:?}",
        voice.flags
    );
    assert_eq!(
        a.get_value(voice.id),
        0.0,
        "the default is the model's output"
    );
    assert_eq!(a.value_to_text(voice.id, 0.0), "0 % input");
    assert_eq!(a.value_to_text(voice.id, 1.0), "100 % input");
    let v = a.text_to_value(voice.id, "35 %");
    assert!((v - 0.35).abs() < 1e-6, "{v}");
    let input = vec![vec![0.0f32; 512]; 2];
    render(
        &mut a,
        44_100.0,
        512,
        &input,
        &[(0, ParamChange::new(voice.id, v))],
    );
    let saved = a.save_state();
    let mut b = LoadedPlugin::load();
    assert_eq!(b.get_value(voice.id), 0.0);
    b.load_state(&saved);
    let restored = b.get_value(voice.id);
    assert!((restored - 0.35).abs() < 1e-6, "restored {restored}");
}

#[test]
fn at_voice_1_without_a_bend_the_output_is_the_input_delayed_by_the_latency() {
    let _serial = common::serial();
    let model = common::shipped_model();
    // The stereo music excerpt and the mono drum break, 44.1 kHz, offline in blocks of 512.
    let music = dsp::read_audio(common::test_data("music_excerpt.flac")).unwrap();
    let drums = dsp::read_audio(common::test_data("drum_break.flac")).unwrap();
    for (name, audio) in [("music (stereo)", music), ("drum break (mono)", drums)] {
        assert_eq!(audio.sample_rate, 44_100);
        let input: Vec<Vec<f32>> = audio
            .channels
            .iter()
            .map(|c| c[..88_200].to_vec())
            .collect();
        let mut plugin = common::load_offline(&model);
        if input.len() == 1 {
            let configs = plugin.port_configs();
            let mono = configs.iter().find(|c| (c.1, c.2) == (1, 1)).unwrap();
            plugin.select_port_config(mono.0);
        }
        let voice = plugin.param("Voice");
        let (at_1, latency) =
            render_offline(&mut plugin, &input, &[ParamChange::new(voice.id, 1.0)]);
        let (at_0, _) = render_offline(&mut plugin, &input, &[ParamChange::new(voice.id, 0.0)]);
        assert_eq!(latency, 14080, "Default mode at 44.1 kHz");
        let n = input[0].len();
        for (c, x) in input.iter().enumerate() {
            // `render_offline` removed the latency: the expected signal is the input itself.
            let expected = output_stage(x, 44_100.0);
            let error = relative_error(&at_1[c], &expected, 0..n);
            let worst = max_abs_diff(&at_1[c], &expected, 0..n);
            let model_apart = relative_error(&at_0[c], &expected, 0..n);
            eprintln!(
                "{name}, channel {c}: voice 1 vs the input delayed by {latency}: relative RMS \
                 {error:.2e}, max |diff| {worst:.2e}; voice 0 (the model) {model_apart:.3} apart"
            );
            assert!(error < 1e-5, "{name} channel {c}: {error}");
            assert!(worst < 1e-5, "{name} channel {c}: max |diff| {worst}");
            assert!(model_apart > 0.05, "{name} channel {c}: {model_apart}");
        }
    }
}
