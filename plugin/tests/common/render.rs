//! Rendering through a loaded plugin in host-sized blocks, and the plugin's saved state as JSON.

use super::{LoadedPlugin, ParamChange};
use std::time::{Duration, Instant};

/// Hands blocks to the plugin no faster than real time, like an audio interface: block `k`
/// starts no earlier than its first sample's time after the first block (a few ms of bursts,
/// far below what the plugin's pace guard takes for a bounce).
pub struct Pacer {
    start: Instant,
    sample_rate: f64,
}

impl Pacer {
    pub fn new(sample_rate: f64) -> Self {
        Self {
            start: Instant::now(),
            sample_rate,
        }
    }

    /// Waits until `samples_done` samples' worth of wall time has passed since the start.
    pub fn wait_for(&self, samples_done: usize) {
        let due = self.start + Duration::from_secs_f64(samples_done as f64 / self.sample_rate);
        let now = Instant::now();
        if due > now + Duration::from_millis(2) {
            std::thread::sleep(due - now);
        }
    }
}

/// Runs the plugin over `input` in blocks of `block`, applying `changes` (absolute sample times,
/// which must fall on block starts or within them), as fast as it goes.
pub fn render(
    plugin: &mut LoadedPlugin,
    sample_rate: f64,
    block: usize,
    input: &[Vec<f32>],
    changes: &[(usize, ParamChange)],
) -> Vec<Vec<f32>> {
    render_with(plugin, sample_rate, block, input, changes, false)
}

/// [`render`] at the pace of an audio interface ([`Pacer`]): live playback.
pub fn render_paced(
    plugin: &mut LoadedPlugin,
    sample_rate: f64,
    block: usize,
    input: &[Vec<f32>],
    changes: &[(usize, ParamChange)],
) -> Vec<Vec<f32>> {
    render_with(plugin, sample_rate, block, input, changes, true)
}

fn render_with(
    plugin: &mut LoadedPlugin,
    sample_rate: f64,
    block: usize,
    input: &[Vec<f32>],
    changes: &[(usize, ParamChange)],
    paced: bool,
) -> Vec<Vec<f32>> {
    let len = input[0].len();
    let channels = input.len();
    let mut processor = plugin.activate(sample_rate, block as u32);
    let mut out = vec![Vec::with_capacity(len); channels];
    let mut start = 0;
    let pacer = Pacer::new(sample_rate);
    while start < len {
        if paced {
            pacer.wait_for(start);
        }
        let n = block.min(len - start);
        let mut inb: Vec<Vec<f32>> = input.iter().map(|c| c[start..start + n].to_vec()).collect();
        let mut outb = vec![vec![0.0f32; n]; channels];
        let block_changes: Vec<ParamChange> = changes
            .iter()
            .filter(|(t, _)| *t >= start && *t < start + n)
            .map(|(t, c)| ParamChange {
                time: (t - start) as u32,
                ..*c
            })
            .collect();
        processor.process(&mut inb, &mut outb, &block_changes);
        for (o, b) in out.iter_mut().zip(outb) {
            o.extend_from_slice(&b);
        }
        start += n;
        plugin.pump_main_thread();
    }
    processor.finish(plugin);
    out
}

/// `x` delayed by `latency` samples (zeros in front), same length.
pub fn delayed(x: &[f32], latency: usize) -> Vec<f32> {
    let mut y = vec![0.0; x.len()];
    if latency < x.len() {
        y[latency..].copy_from_slice(&x[..x.len() - latency]);
    }
    y
}

/// nice-plug's CLAP state: a little-endian u64 length, then the JSON of its `PluginState`.
pub fn state_json(bytes: &[u8]) -> serde_json::Value {
    let len = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    assert_eq!(len, bytes.len() - 8, "length prefix");
    serde_json::from_slice(&bytes[8..]).expect("state is JSON")
}

pub fn json_state(json: &serde_json::Value) -> Vec<u8> {
    let body = serde_json::to_vec(json).unwrap();
    let mut bytes = (body.len() as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(&body);
    bytes
}
