//! The plugin against `netbend render`: rendering a file through the plugin offline with its
//! latency removed, running the CLI of this checkout on the same file, and the relative RMS
//! difference the parity tests report.

use super::{LoadedPlugin, ParamChange};
use std::ops::Range;
use std::path::Path;
use std::process::Command;

/// Renders `input` (one or two channels, 44.1 kHz) through the plugin in blocks of 512 with
/// `changes` in the first block, padded with `latency` zeros at the end; returns the output with
/// the latency removed, and the latency. The plugin must have been told to render offline.
pub fn render_offline(
    plugin: &mut LoadedPlugin,
    input: &[Vec<f32>],
    changes: &[ParamChange],
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
