//! The plugin against `netbend render`: rendering a file through the plugin offline with its
//! latency removed, running the CLI of this checkout on the same file, and the relative RMS
//! difference the parity tests report.

use super::{LoadedPlugin, ParamChange, ParamDesc};
use clack_extensions::params::ParamInfoFlags;
use netbend::params::{NUM_SLOTS, SlotParams};
use netbend::slot_config::SlotValues;
use nice_plug::prelude::Param;
use std::ops::Range;
use std::path::Path;
use std::process::Command;

/// The first `seconds` of the committed drum break (mono, 44.1 kHz), also written to
/// `dir/input.wav`; returns the samples and the file.
pub fn drum_break_clip(seconds: f64, dir: &Path) -> (Vec<f32>, std::path::PathBuf) {
    let audio = dsp::read_audio(super::test_data("drum_break.flac")).unwrap();
    assert_eq!((audio.channel_count(), audio.sample_rate), (1, 44_100));
    let input = audio.channels[0][..(seconds * 44_100.0) as usize].to_vec();
    let path = dir.join("input.wav");
    let clip = dsp::AudioData {
        channels: vec![input.clone()],
        sample_rate: 44_100,
    };
    dsp::write_wav(&path, &clip).unwrap();
    (input, path)
}

/// A freshly loaded plugin in its mono layout, told to render offline, and the parameter
/// events that load config `text` (read from `path`) into its slots for `model`.
pub fn mono_offline_plugin(
    text: &str,
    path: &Path,
    model: &Path,
) -> (LoadedPlugin, Vec<ParamChange>) {
    let manifest = engine::Model::load(model).unwrap().manifest().clone();
    let slots = netbend::slot_config::slots_from_config(text, path, &manifest).unwrap();
    let mut plugin = LoadedPlugin::load();
    plugin.set_offline(true);
    let configs = plugin.port_configs();
    let mono = configs.iter().find(|c| (c.1, c.2) == (1, 1)).unwrap();
    plugin.select_port_config(mono.0);
    let changes = slot_events(&mut plugin, &slots);
    (plugin, changes)
}

/// Moving slots as a config: layer 2's angle swings +-45 degrees around 30 every half note
/// (sine, starting at its peak), a random quarter of layer 1 is ablated anew every beat.
pub const MOVING_SLOTS: &str = "\
transforms:
- layer: 2
  transform: rotate
  params: [30]
  seed: 3
  modulate: {shape: sine, rate: 1/2, depth: 45, phase: 0.25, target: param}
- layer: 1
  transform: ablate
  features: random
  feature-param: 0.25
  seed: 11
  reroll: 1/4
";

/// The CLAP value of `plain` for the parameter `desc` describes: a host works in the wrapper's
/// range (`min..max`: the step index for stepped parameters, 0..1 for continuous ones).
pub fn clap_value<P: Param>(desc: &ParamDesc, param: &P, plain: P::Plain) -> f64 {
    let v = desc.min + param.preview_normalized(plain) as f64 * (desc.max - desc.min);
    if desc.flags.contains(ParamInfoFlags::IS_STEPPED) {
        v.round()
    } else {
        v
    }
}

/// The host parameter events that set every slot to `values` (at time 0), modulators included.
pub fn slot_events(
    plugin: &mut LoadedPlugin,
    values: &[SlotValues; NUM_SLOTS],
) -> Vec<ParamChange> {
    let mut changes = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let p = SlotParams::new(i + 1);
        let mut event = |name: &str, value: &dyn Fn(&ParamDesc) -> f64| {
            let desc = plugin.param(&format!("Slot {} {name}", i + 1));
            changes.push(ParamChange::new(desc.id, value(&desc)));
        };
        event("On", &|d| clap_value(d, &p.enabled, v.enabled));
        event("Layer", &|d| clap_value(d, &p.layer, v.layer));
        event("Transform", &|d| clap_value(d, &p.transform, v.transform));
        event("Translate X", &|d| {
            clap_value(d, &p.translate_x, v.translate_x)
        });
        event("Translate Y", &|d| {
            clap_value(d, &p.translate_y, v.translate_y)
        });
        event("Scale X", &|d| clap_value(d, &p.scale_x, v.scale_x));
        event("Scale Y", &|d| clap_value(d, &p.scale_y, v.scale_y));
        event("Rotate", &|d| clap_value(d, &p.rotate, v.rotate));
        event("Radius", &|d| clap_value(d, &p.radius, v.radius));
        event("Multiply", &|d| clap_value(d, &p.multiply, v.multiply));
        event("Offset", &|d| clap_value(d, &p.offset, v.offset));
        event("Threshold", &|d| clap_value(d, &p.threshold, v.threshold));
        event("Noise Sigma", &|d| clap_value(d, &p.noise, v.noise));
        event("Selection", &|d| clap_value(d, &p.selection, v.selection));
        event("Fraction", &|d| clap_value(d, &p.fraction, v.fraction));
        event("Seed", &|d| clap_value(d, &p.seed, v.seed));
        event("Cluster", &|d| clap_value(d, &p.cluster, v.cluster));
        event("Mix", &|d| clap_value(d, &p.mix, v.mix));
        event("Mod Shape", &|d| clap_value(d, &p.mod_shape, v.mod_shape));
        event("Mod Rate", &|d| clap_value(d, &p.mod_rate, v.mod_rate));
        event("Mod Hz", &|d| clap_value(d, &p.mod_hz, v.mod_hz));
        event("Mod Depth", &|d| clap_value(d, &p.mod_depth, v.mod_depth));
        event("Mod Phase", &|d| clap_value(d, &p.mod_phase, v.mod_phase));
        event("Mod Target", &|d| {
            clap_value(d, &p.mod_target, v.mod_target)
        });
        event("Reroll", &|d| clap_value(d, &p.reroll, v.reroll));
    }
    changes
}

/// Renders `input` (one or two channels, 44.1 kHz) through the plugin in blocks of 512 with
/// `changes` in the first block, padded with `latency` zeros at the end; returns the output with
/// the latency removed, and the latency. The plugin must have been told to render offline.
pub fn render_offline(
    plugin: &mut LoadedPlugin,
    input: &[Vec<f32>],
    changes: &[ParamChange],
) -> (Vec<Vec<f32>>, usize) {
    render_with_transport(plugin, input, changes, &|_, _| None)
}

/// [`render_offline`] with a host transport: `transport(block_start, latency)` gives the song
/// position (seconds, tempo in BPM) of the block's first *output* sample, rolling (`None`: no
/// transport). A host that compensates the latency plays the input `latency` samples ahead of
/// the output, so input sample `i` of a song that starts at 0 is at `i / 44100` when the block
/// starting at `i` is given the position `(i - latency) / 44100`.
pub fn render_with_transport(
    plugin: &mut LoadedPlugin,
    input: &[Vec<f32>],
    changes: &[ParamChange],
    transport: &dyn Fn(usize, usize) -> Option<(f64, f64)>,
) -> (Vec<Vec<f32>>, usize) {
    let block = 512;
    let mut processor = plugin.activate(44_100.0, block as u32);
    let latency = plugin.latency() as usize;
    let padded: Vec<Vec<f32>> = input
        .iter()
        .map(|c| {
            let mut p = c.clone();
            p.resize(c.len() + latency, 0.0);
            p
        })
        .collect();
    let len = padded[0].len();
    let mut out = vec![Vec::with_capacity(len); input.len()];
    for (k, start) in (0..len).step_by(block).enumerate() {
        let end = (start + block).min(len);
        let mut inb: Vec<Vec<f32>> = padded.iter().map(|c| c[start..end].to_vec()).collect();
        let mut outb = vec![vec![0.0f32; end - start]; input.len()];
        processor.set_song_transport(transport(start, latency));
        processor.process(&mut inb, &mut outb, if k == 0 { changes } else { &[] });
        for (o, b) in out.iter_mut().zip(&outb) {
            o.extend_from_slice(b);
        }
        plugin.pump_main_thread();
    }
    processor.finish(plugin);
    let out = out.into_iter().map(|c| c[latency..].to_vec()).collect();
    (out, latency)
}

/// `netbend render --threads 1 --model MODEL --in INPUT --out OUT ARGS...` (one ONNX Runtime
/// thread like the plugin's worker); returns the output's channels.
pub fn render_cli(model: &Path, input: &Path, out: &Path, args: &[&str]) -> Vec<Vec<f32>> {
    let status = Command::new(netbend_test_support::netbend_binary())
        .args(["render", "--threads", "1", "--model"])
        .arg(model)
        .arg("--in")
        .arg(input)
        .arg("--out")
        .arg(out)
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "netbend render {args:?}");
    dsp::read_audio(out).unwrap().channels
}

pub fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

/// RMS of `a - b` relative to the RMS of `b`, over `range`.
pub fn relative_error(a: &[f32], b: &[f32], range: Range<usize>) -> f64 {
    let d: Vec<f32> = a[range.clone()]
        .iter()
        .zip(&b[range.clone()])
        .map(|(x, y)| x - y)
        .collect();
    rms(&d) / rms(&b[range])
}

pub fn max_abs_diff(a: &[f32], b: &[f32], range: Range<usize>) -> f32 {
    a[range.clone()]
        .iter()
        .zip(&b[range])
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}
