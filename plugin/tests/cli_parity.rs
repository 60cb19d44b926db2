//! A bend found in the DAW renders the same offline: a config file loaded into the slots of the
//! plugin in a real CLAP host (as parameter events, the way the editor's Load sets them) and
//! rendered offline gives the audio `netbend render --config` gives for the same file.
//!
//! In each of the plugin's quality modes, `netbend render --layout plugin-default` /
//! `plugin-low-latency` cuts and cross-fades the model windows as the plugin's stream does
//! (`dsp::LayoutMode`; the two are equal bit for bit on the same windows, tested in dsp). The drum
//! break is mono at 44.1 kHz, so resampling is not involved (linked stereo, the same for mono, and
//! the output stage are: both sides run `dsp::stereo_link` and `dsp::output_stage`), and both run
//! ONNX Runtime with one intra-op thread. What remains different is stated with the tolerances
//! below. `stereo_parity.rs` checks stereo.

mod common;

use common::parity::{drum_break_clip, max_abs_diff, relative_error, render_offline, slot_events};
use common::{LoadedPlugin, ParamChange};
use netbend::params::QualityMode;
use netbend::slot_config::{default_slots, slots_from_config, slots_to_yaml};
use std::path::Path;

/// A config using each selection kind, a spatial, a morphological and a pointwise transform,
/// partial mixes and per-entry seeds (a slot's seed is always the entry's own).
const CONFIG: &str = "\
transforms:
- layer: 1
  transform: erode
  params: [2]
  features: random
  feature-param: 0.25
  seed: 5
- layer: 2
  transform: translate
  params: [0.25, 0.0]
  features: all
  mix: 0.7
- layer: 3
  transform: scalar-multiply
  params: [1.5]
  features: cluster
  feature-param: 1
- layer: 4
  transform: invert
  features: random
  feature-param: 0.5
  mix: 0.6
  seed: 77
";

/// Sets the quality mode (it takes effect at the next activation, as after a host restart).
fn set_quality_mode(plugin: &mut LoadedPlugin, value: f64) {
    let mode = plugin.param("Quality Mode");
    let change = ParamChange::new(mode.id, value);
    let mut processor = plugin.activate(44_100.0, 64);
    processor.process(&mut [vec![0.0; 64]], &mut [vec![0.0; 64]], &[change]);
    processor.finish(plugin);
    plugin.pump_main_thread();
}

#[test]
fn a_config_loaded_into_the_slots_renders_like_netbend_render_in_both_quality_modes() {
    let _serial = common::serial();
    let model = common::shipped_model();
    common::use_model(Some(&model));

    let dir = std::env::temp_dir().join(format!("netbend-cli-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bend.yaml");
    let config_text = CONFIG;

    std::fs::write(&config, config_text).unwrap();
    // The first 1.5 s of the drum break (offline, the plugin waits for every model window).
    let (input, input_path) = drum_break_clip(1.5, &dir);

    // The plugin: the config loaded into the slots, sent as parameter events.
    let manifest = engine::Model::load(&model).unwrap().manifest().clone();
    let slots = slots_from_config(config_text, &config, &manifest).unwrap();
    let mut plugin = LoadedPlugin::load();
    plugin.set_offline(true);
    let configs = plugin.port_configs();
    let mono = configs.iter().find(|c| (c.1, c.2) == (1, 1)).unwrap();
    plugin.select_port_config(mono.0);
    let changes = slot_events(&mut plugin, &slots);
    let n = input.len();

    // (the mode and its CLAP value, latency at 44.1 kHz from the README's table, tolerance of
    // the relative RMS difference). Measured since the CLI links channels and applies the gain
    // the way the plugin does (`dsp::stereo_link`) and ends in its output stage: 0 (equal bit for
    // bit) in both modes after the DC blocker's start, 1.1e-3 over the whole file (output peaks
    // 5.7e-3 / 7.5e-3). Before, with the bent magnitude put under the input's phase instead of
    // the plugin's bounded gain and the DC blocker applied here: 3.1e-5 and 7.9e-5. Low latency
    // takes most frames from one window's newest rows instead of a cross-fade of two, so the
    // rounding of each window would count fully there.
    for (mode, mode_value, expected_latency, tolerance) in [
        (QualityMode::Default, 0.0, 14080, 1e-4),
        (QualityMode::LowLatency, 1.0, 5888, 2e-4),
    ] {
        // The layout the editor's Save names in the file's header for this mode.
        let saved = slots_to_yaml(&slots, mode, None);
        let layout = saved
            .split_whitespace()
            .skip_while(|w| *w != "--layout")
            .nth(1)
            .expect("the saved file names a --layout");
        set_quality_mode(&mut plugin, mode_value);
        let (bent, latency) = render_offline(&mut plugin, std::slice::from_ref(&input), &changes);
        let bent = &bent[0];
        assert_eq!(latency, expected_latency, "{layout}");
        // The CLI ends in the plugin's output stage (`dsp::output_stage`, DC blocker included),
        // so the two compare directly, over the whole file.
        let cli = render_cli_mono(&model, &config, &input_path, layout);
        assert_eq!(cli.len(), n);
        // The DC blocker starts from the state the plugin's stream left it in (the wet signal
        // before the file's first sample: the model's output for the silent history), the CLI's
        // from rest: that difference decays with the blocker's time constant, 1 / (2 pi 5 Hz) =
        // 1404 samples; 16384 samples are 11.7 of them.
        let settled = 16384..n;
        let error = relative_error(bent, &cli, settled.clone());
        let error_all = relative_error(bent, &cli, 0..n);
        let max_diff = max_abs_diff(bent, &cli, settled.clone());
        let peak = cli.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        // The other layout's CLI render, to show that the layout matters at this size.
        let other = if layout == "plugin-default" {
            "plugin-low-latency"
        } else {
            "plugin-default"
        };
        let other_cli = render_cli_mono(&model, &config, &input_path, other);
        let layout_size = relative_error(&other_cli, &cli, settled.clone());
        eprintln!(
            "{layout}: latency {latency} samples; plugin vs CLI after the DC blocker's start: \
             relative RMS difference {error:.2e}, max |diff| {max_diff:.2e} (output peak \
             {peak:.2e}); whole file {error_all:.2e}; CLI --layout {other} vs {layout} \
             {layout_size:.3}"
        );
        assert!(
            layout_size > 1e-2,
            "the layouts must differ clearly: {layout_size}"
        );
        // What differs is rounding only: the slot values pass the host as f32 normalised values
        // (a parameter may come back one ulp off), the CLI runs the model on batches of windows
        // and the plugin one window at a time, and the batch and streaming STFT/ISTFT sum in
        // different orders.
        assert!(error < tolerance, "{layout}: plugin vs CLI: {error}");
        assert!(
            max_diff < 5e-4 * peak,
            "{layout}: max |diff| {max_diff}, peak {peak}"
        );
        assert!(
            error_all < 1e-2,
            "{layout}: plugin vs CLI, whole file: {error_all}"
        );
    }
    // The same plugin with every slot back at its defaults: the unbent output, to show that the
    // bend is large against the difference that remains.
    let cli = render_cli_mono(&model, &config, &input_path, "plugin-low-latency");
    let reset = slot_events(&mut plugin, &default_slots());
    let (neutral, _) = render_offline(&mut plugin, std::slice::from_ref(&input), &reset);
    let bend_size = relative_error(&neutral[0], &cli, 0..n);
    eprintln!("unbent plugin vs bent CLI (low latency): {bend_size:.3}");
    assert!(
        bend_size > 0.1,
        "the bend must be clearly audible: {bend_size}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `netbend render --layout LAYOUT --config CONFIG` of the mono `input`.
fn render_cli_mono(model: &Path, config: &Path, input: &Path, layout: &str) -> Vec<f32> {
    let out = input.with_file_name(format!("cli-{layout}.wav"));
    let args = ["--layout", layout, "--config", config.to_str().unwrap()];
    common::parity::render_cli(model, input, &out, &args).remove(0)
}

#[test]
fn voice_with_a_bend_renders_like_netbend_render_voice() {
    // The same four-entry bend and clip in Default mode, with the Voice parameter set in the
    // first block: the plugin decodes each bent window neutral too and mixes the gains with
    // `dsp::voice`, as `netbend render --voice` does.
    let _serial = common::serial();
    let model = common::shipped_model();
    common::use_model(Some(&model));
    let dir = std::env::temp_dir().join(format!("netbend-voice-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bend.yaml");
    std::fs::write(&config, CONFIG).unwrap();
    let (input, input_path) = drum_break_clip(1.5, &dir);
    let manifest = engine::Model::load(&model).unwrap().manifest().clone();
    let slots = slots_from_config(CONFIG, &config, &manifest).unwrap();
    let mut plugin = LoadedPlugin::load();
    plugin.set_offline(true);
    let configs = plugin.port_configs();
    let mono = configs.iter().find(|c| (c.1, c.2) == (1, 1)).unwrap();
    plugin.select_port_config(mono.0);
    set_quality_mode(&mut plugin, 0.0);
    let voice = plugin.param("Voice");
    let n = input.len();
    let settled = 16384..n;
    let mut cli_at = Vec::new();
    for v in ["0.6", "1"] {
        let mut changes = slot_events(&mut plugin, &slots);
        changes.push(ParamChange::new(voice.id, v.parse().unwrap()));
        let (bent, _) = render_offline(&mut plugin, std::slice::from_ref(&input), &changes);
        let out = dir.join(format!("cli-voice{v}.wav"));
        let args = [
            "--layout",
            "plugin-default",
            "--config",
            config.to_str().unwrap(),
            "--voice",
            v,
        ];
        let cli = common::parity::render_cli(&model, &input_path, &out, &args).remove(0);
        let error = relative_error(&bent[0], &cli, settled.clone());
        let error_all = relative_error(&bent[0], &cli, 0..n);
        let max_diff = max_abs_diff(&bent[0], &cli, settled.clone());
        eprintln!(
            "voice {v}: plugin vs netbend render --voice {v}: relative RMS {error:.2e} after the \
             DC blocker's start, max |diff| {max_diff:.2e}, whole file {error_all:.2e}"
        );
        assert!(error < 1e-4, "voice {v}: plugin vs CLI: {error}");
        // Over the whole file the DC blockers' different starts count (see above; the output of
        // this bend is quiet, 1e-4 RMS, so they count more than in the test above): measured
        // 2.5e-2 at voice 0.6, decaying by 10x every ~4096 samples, 0 after 20480.
        assert!(error_all < 0.1, "voice {v}: whole file: {error_all}");
        cli_at.push(cli);
    }
    // The voice is large against what remains: the CLI at voice 0 against voice 1.
    let cli_0 = common::parity::render_cli(
        &model,
        &input_path,
        &dir.join("cli-voice0.wav"),
        &[
            "--layout",
            "plugin-default",
            "--config",
            config.to_str().unwrap(),
        ],
    )
    .remove(0);
    let apart = relative_error(&cli_0, &cli_at[1], settled);
    eprintln!("netbend render voice 0 vs voice 1: {apart:.3}");
    assert!(apart > 0.1, "the voice must be clearly audible: {apart}");
    let _ = std::fs::remove_dir_all(&dir);
}
