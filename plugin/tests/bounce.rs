//! A bounce never takes the dry fallback, even when the host does not say it renders offline.
//!
//! The CLAP host here stays in real-time render mode (as Ardour's VST3 export looks to nice-plug)
//! and hands the drum break to the plugin as fast as it can, with a worker made much slower than
//! the windows' real-time budget (`NETBEND_WORKER_DELAY_MS`). The plugin's pace guard must notice
//! that audio arrives faster than real time and wait for every window: no window missed, and the
//! output equal to the render of the host that declares offline rendering (CLAP render
//! extension). Live playback keeps the dry fallback: the same slow worker paced like an audio
//! interface misses windows, and the guard never engages.

mod common;

use common::{LoadedPlugin, ParamChange, delayed, render, render_paced};
use std::collections::HashMap;

/// The committed drum break (mono, 44.1 kHz), first `seconds`, as a stereo pair (the right
/// channel 3 ms late), resampled by the host's own means: none (the test uses the file's rate
/// for 44.1 kHz and takes the samples as 48 kHz audio otherwise, which only changes the pitch).
fn drum_break(seconds: f64, rate: f64) -> Vec<Vec<f32>> {
    let audio =
        dsp::read_audio(common::test_data("drum_break.flac")).expect("tests/data/drum_break.flac");
    let n = ((seconds * rate) as usize).min(audio.channels[0].len());
    let left: Vec<f32> = audio.channels[0][..n].to_vec();
    let right = delayed(&left, 132);
    vec![left, right]
}

/// The plugin's counters, written to `NETBEND_STATS_FILE` when it is deactivated.
struct Stats(HashMap<String, String>);

impl Stats {
    fn u64(&self, key: &str) -> u64 {
        self.0[key]
            .parse()
            .unwrap_or_else(|_| panic!("{key}={}", self.0[key]))
    }
    fn engaged_at(&self) -> Option<u64> {
        self.0["ahead_engaged_at"].parse().ok()
    }
    /// The counters of the activation that `self` ends, after `before` ended the previous one.
    fn since(&self, before: &Stats, key: &str) -> u64 {
        self.u64(key) - before.u64(key)
    }
}

fn stats_file() -> std::path::PathBuf {
    std::env::temp_dir().join(format!("netbend-bounce-stats-{}.txt", std::process::id()))
}

/// Renders with the stats file set and returns the output and the counters of that activation.
fn render_counted(
    plugin: &mut LoadedPlugin,
    paced: bool,
    rate: f64,
    input: &[Vec<f32>],
    changes: &[(usize, ParamChange)],
) -> (Vec<Vec<f32>>, Stats) {
    let file = stats_file();
    let _ = std::fs::remove_file(&file);
    // SAFETY: the tests of this binary hold `common::serial()`; the plugin reads it on this thread.
    unsafe { std::env::set_var(netbend::STATS_ENV, &file) };
    let out = if paced {
        render_paced(plugin, rate, 512, input, changes)
    } else {
        render(plugin, rate, 512, input, changes)
    };
    // SAFETY: as above.
    unsafe { std::env::remove_var(netbend::STATS_ENV) };
    let text = std::fs::read_to_string(&file).expect("the plugin writes its stats on deactivate");
    let _ = std::fs::remove_file(&file);
    let map = text
        .split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    (out, Stats(map))
}

#[test]
fn a_host_faster_than_real_time_that_does_not_say_offline_renders_the_offline_render() {
    let _serial = common::serial();
    common::use_model(Some(&common::tiny_model()));
    let mut plugin = LoadedPlugin::load();
    let mode = plugin.param("Quality Mode");
    let on = plugin.param("Slot 1 On");
    let transform = plugin.param("Slot 1 Transform");
    let layer = plugin.param("Slot 1 Layer");
    let mix = plugin.param("Slot 1 Mix");
    // (quality mode, host rate, latency at that rate as the plugin reports it)
    for (mode_value, rate) in [(0.0, 44_100.0), (1.0, 48_000.0)] {
        let input = drum_break(2.0, rate);
        // Slot 1 inverts layer 2, its mix automated from 0.3 to 1 at 1 s.
        let t0 = rate as usize;
        let changes = [
            (0, ParamChange::new(mode.id, mode_value)),
            (0, ParamChange::new(on.id, 1.0)),
            (0, ParamChange::new(transform.id, 10.0)), // Invert
            (0, ParamChange::new(layer.id, 2.0)),
            (0, ParamChange::new(mix.id, 0.3)),
            (t0, ParamChange::new(mix.id, 1.0)),
        ];
        // The mode takes effect at the next activation (a host restarts the plugin).
        plugin.set_offline(true);
        let (_, before) = render_counted(&mut plugin, false, rate, &input, &changes[..1]);
        let (offline, offline_stats) = render_counted(&mut plugin, false, rate, &input, &changes);
        assert_eq!(offline_stats.since(&before, "misses"), 0);

        // A worker 5x slower than the Default budget (46 ms) and 8x the Low latency one.
        common::set_worker_delay(Some(230));
        plugin.set_offline(false);
        let (bounced, stats) = render_counted(&mut plugin, false, rate, &input, &changes);
        let latency = plugin.latency() as u64;
        assert_eq!(
            stats.since(&offline_stats, "misses"),
            0,
            "mode {mode_value}: {:?}",
            stats.0
        );
        let engaged = stats.engaged_at().expect("the pace guard engaged");
        eprintln!(
            "mode {mode_value} at {rate} Hz: guard engaged after {engaged} samples ({:.1} ms of \
             audio), latency {latency}; {} of {} blocks ahead",
            engaged as f64 * 1000.0 / rate,
            stats.since(&offline_stats, "ahead_blocks"),
            input[0].len().div_ceil(512)
        );
        assert!(engaged < latency, "engaged after the first window was due");
        for ch in 0..2 {
            let worst = offline[ch]
                .iter()
                .zip(&bounced[ch])
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(
                worst == 0.0,
                "mode {mode_value} channel {ch}: max |diff| {worst}"
            );
        }
        // The bend is there (not a dry render equal to a dry render).
        let dry = delayed(&input[0], latency as usize);
        let diff: f32 = (0..dry.len())
            .map(|n| (dry[n] - bounced[0][n]).powi(2))
            .sum();
        let level: f32 = dry.iter().map(|v| v * v).sum();
        assert!(diff > 0.01 * level, "bend not heard: {diff} vs {level}");

        // Live: the same slow worker at an audio interface's pace misses windows, the guard stays
        // off and the audio thread never waits for the worker.
        let (_, live) = render_counted(&mut plugin, true, rate, &input, &changes);
        assert_eq!(live.since(&stats, "ahead_blocks"), 0, "{:?}", live.0);
        assert!(live.since(&stats, "misses") > 0, "{:?}", live.0);
        common::set_worker_delay(None);
    }
}

/// The drum break as a host plays it from a timeline: the plugin is activated, processes
/// `stopped` samples of silence with the transport stopped at `-preroll`, then the transport
/// rolls from `-preroll` (silence) through the break (timeline 0 on) and the latency. `transport`
/// false: the host gives no transport at all. Returns the output from timeline 0 on, latency
/// removed.
fn played_from(
    plugin: &mut LoadedPlugin,
    transport: bool,
    stopped: usize,
    preroll: usize,
    input: &[Vec<f32>],
    changes: &[ParamChange],
) -> Vec<Vec<f32>> {
    let (rate, block) = (44_100.0, 512);
    let latency = plugin.latency() as usize;
    let len = input[0].len();
    let mut processor = plugin.activate(rate, block as u32);
    let total = stopped + preroll + len + latency;
    let mut out: Vec<Vec<f32>> = (0..2).map(|_| Vec::with_capacity(total)).collect();
    let mut start = 0;
    while start < total {
        let n = block.min(total - start);
        // Timeline position of this block's first sample, and whether the transport rolls.
        let (pos, rolling) = if start < stopped {
            (-(preroll as i64), false)
        } else {
            ((start - stopped) as i64 - preroll as i64, true)
        };
        processor.set_transport(transport.then_some((pos as f64 / rate, rolling)));
        let mut inb: Vec<Vec<f32>> = (0..2)
            .map(|c| {
                (start..start + n)
                    .map(|i| {
                        let t = i as i64 - stopped as i64 - preroll as i64;
                        if (0..len as i64).contains(&t) {
                            input[c][t as usize]
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let mut outb = vec![vec![0.0f32; n]; 2];
        processor.process(&mut inb, &mut outb, if start == 0 { changes } else { &[] });
        for (o, b) in out.iter_mut().zip(&outb) {
            o.extend_from_slice(b);
        }
        start += n;
    }
    processor.finish(plugin);
    let from = stopped + preroll + latency;
    out.iter().map(|o| o[from..from + len].to_vec()).collect()
}

#[test]
fn bounces_and_takes_cut_the_same_windows_wherever_the_host_started_the_plugin() {
    let _serial = common::serial();
    common::use_model(Some(&common::tiny_model()));
    let mut plugin = LoadedPlugin::load();
    plugin.set_offline(true);
    let changes = [
        ParamChange::new(plugin.param("Slot 1 On").id, 1.0),
        ParamChange::new(plugin.param("Slot 1 Transform").id, 10.0), // Invert
        ParamChange::new(plugin.param("Slot 1 Layer").id, 2.0),
    ];
    let input = drum_break(2.0, 44_100.0);
    let rel = |a: &[Vec<f32>], b: &[Vec<f32>]| {
        let (mut d, mut e) = (0.0f64, 0.0f64);
        for (x, y) in a.iter().zip(b) {
            d += x
                .iter()
                .zip(y)
                .map(|(p, q)| ((p - q) as f64).powi(2))
                .sum::<f64>();
            e += x.iter().map(|p| (*p as f64).powi(2)).sum::<f64>();
        }
        (d / e).sqrt()
    };
    // An export that starts the plugin in its pre-roll, and a take from a session that ran
    // stopped for a while: (stopped, pre-roll) samples, different modulo the 8192 of the grid.
    let (export, take) = ((0, 512 * 3), (512 * 7, 512 * 21));
    let without = rel(
        &played_from(&mut plugin, false, export.0, export.1, &input, &changes),
        &played_from(&mut plugin, false, take.0, take.1, &input, &changes),
    );
    assert!(
        without > 1e-2,
        "the grid must matter to this test: {without}"
    );
    let with = rel(
        &played_from(&mut plugin, true, export.0, export.1, &input, &changes),
        &played_from(&mut plugin, true, take.0, take.1, &input, &changes),
    );
    eprintln!("export vs take, relative RMS: {without:.3} without a transport, {with:.1e} with");
    assert!(with < 1e-6, "export vs take with the transport: {with}");
}
