//! The plugin's real-time benchmark (not a timed test): the committed drum break, looped to
//! `--seconds` (60 by default), stereo at 44.1 kHz in 512-sample blocks through the Netbend .clap
//! in the clack-host test host, with the shipped default model (or `--model DIR`):
//!
//! 1. offline render (the host says so; the audio thread waits for each window): real-time factor
//!    of the whole plugin including the model;
//! 2. real-time mode as fast as possible: a bounce whose host does not say offline, so the pace
//!    guard engages and the audio thread waits for the worker (`ahead_blocks`, `ahead_engaged_at`
//!    in the stats), worst process() time per block;
//! 3. real-time mode paced by the wall clock like an audio interface (takes `--seconds`):
//!    deadline misses, worst process() time per block, and the guard must never engage;
//! 4. the pace guard's own cost per block on live (paced) timestamps;
//! 5. what moving slots and the voice add (`--skip-motion` leaves it out): offline renders side by
//!    side of two slots standing still, the same slots moving on a rolling transport (a
//!    sixteenth-note LFO on a rotation and a random ablation re-rolled every beat, so the bend
//!    changes in every window: the worst case) and standing still at voice 100 % (a neutral
//!    decode beside every bent one), and the song clock's cost per block on the audio thread.
//!
//! `cargo bench -p netbend --bench realtime -- [--seconds N] [--model DIR] [--mode default|low]
//! [--skip-paced] [--skip-motion]`. The plugin's counters come from `NETBEND_STATS_FILE`.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{LoadedPlugin, ParamChange};
use std::time::{Duration, Instant};

const RATE: f64 = 44_100.0;
const BLOCK: usize = 512;

struct Args {
    seconds: f64,
    model: std::path::PathBuf,
    low_latency: bool,
    paced: bool,
    motion: bool,
}

fn parse_args() -> Args {
    let mut args = Args {
        seconds: 60.0,
        model: common::workspace_root().join("models/vae"),
        low_latency: false,
        paced: true,
        motion: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--seconds" => {
                args.seconds = it.next().and_then(|v| v.parse().ok()).expect("--seconds N")
            }
            "--model" => args.model = it.next().expect("--model DIR").into(),
            "--mode" => args.low_latency = it.next().as_deref() == Some("low"),
            "--skip-paced" => args.paced = false,
            "--skip-motion" => args.motion = false,
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    args
}

struct Outcome {
    wall: Duration,
    worst_block: Duration,
    stats: String,
}

/// How a run is played: offline or live, paced or not, the quality mode's CLAP value, parameter
/// changes in the first block, and whether the host's transport rolls (from 0 at 120 BPM).
#[derive(Clone, Copy, Default)]
struct Play<'a> {
    offline: bool,
    paced: bool,
    mode: f64,
    changes: &'a [ParamChange],
    transport: bool,
}

fn run(plugin: &mut LoadedPlugin, input: &[Vec<f32>], play: Play) -> Outcome {
    let Play {
        offline,
        paced,
        mode,
        changes,
        transport,
    } = play;
    let stats_file = std::env::temp_dir().join(format!("netbend-bench-{}.txt", std::process::id()));
    // SAFETY: single-threaded benchmark; the plugin reads the variable when deactivated.
    unsafe { std::env::set_var("NETBEND_STATS_FILE", &stats_file) };
    // The quality mode takes effect at activation: set it in a short activation first, as a
    // host restarting the plugin after a mode change would.
    let mode_id = plugin.param("Quality Mode").id;
    let mut setup = plugin.activate(RATE, BLOCK as u32);
    let change = [ParamChange {
        time: 0,
        id: mode_id,
        value: mode,
    }];
    setup.process(
        &mut vec![vec![0.0; BLOCK]; 2],
        &mut vec![vec![0.0; BLOCK]; 2],
        &change,
    );
    setup.finish(plugin);
    plugin.set_offline(offline);
    let mut processor = plugin.activate(RATE, BLOCK as u32);
    let len = input[0].len();
    let mut inb = vec![vec![0.0f32; BLOCK]; 2];
    let mut outb = vec![vec![0.0f32; BLOCK]; 2];
    let mut worst = Duration::ZERO;
    let started = Instant::now();
    let mut start = 0;
    while start + BLOCK <= len {
        for (b, x) in inb.iter_mut().zip(input) {
            b.copy_from_slice(&x[start..start + BLOCK]);
        }
        if transport {
            processor.set_song_transport(Some((start as f64 / RATE, 120.0)));
        }
        let first = if start == 0 { changes } else { &[] };
        let t = Instant::now();
        processor.process(&mut inb, &mut outb, first);
        worst = worst.max(t.elapsed());
        start += BLOCK;
        if paced {
            let due = Duration::from_secs_f64(start as f64 / RATE);
            if let Some(wait) = due.checked_sub(started.elapsed()) {
                std::thread::sleep(wait);
            }
        }
    }
    let wall = started.elapsed();
    processor.finish(plugin);
    let stats = std::fs::read_to_string(&stats_file).unwrap_or_else(|e| format!("no stats: {e}"));
    let _ = std::fs::remove_file(&stats_file);
    Outcome {
        wall,
        worst_block: worst,
        stats: stats.trim().to_string(),
    }
}

fn main() {
    let args = parse_args();
    common::use_model(Some(&args.model));
    let audio = dsp::read_audio(common::workspace_root().join("tests/data/drum_break.flac"))
        .expect("tests/data/drum_break.flac");
    assert_eq!(audio.sample_rate as f64, RATE);
    let n = (args.seconds * RATE) as usize;
    let left: Vec<f32> = audio.channels[0].iter().copied().cycle().take(n).collect();
    // Right channel: the same break 3 ms later, so the channels differ.
    let right: Vec<f32> = std::iter::repeat_n(0.0, 132)
        .chain(left.iter().copied())
        .take(n)
        .collect();
    let input = vec![left, right];
    let mode = if args.low_latency { 1.0 } else { 0.0 };
    let budget = Duration::from_secs_f64(BLOCK as f64 / RATE);
    println!(
        "Netbend realtime benchmark: {:.0} s of the drum break, stereo, 44.1 kHz, {BLOCK}-sample \
         blocks ({:.2} ms each), model {}, mode {}",
        args.seconds,
        budget.as_secs_f64() * 1000.0,
        args.model.display(),
        if args.low_latency {
            "low latency"
        } else {
            "default"
        }
    );
    let report = |what: &str, o: &Outcome| {
        println!(
            "{what}: {:.1} s wall, {:.1}x real time, worst process() {:.2} ms ({:.0} % of a block); {}",
            o.wall.as_secs_f64(),
            args.seconds / o.wall.as_secs_f64(),
            o.worst_block.as_secs_f64() * 1000.0,
            100.0 * o.worst_block.as_secs_f64() / budget.as_secs_f64(),
            o.stats
        );
    };
    // A fresh instance per run: its counters (windows, misses) start at zero.
    let fresh = LoadedPlugin::load;
    let offline = Play {
        offline: true,
        mode,
        ..Play::default()
    };
    report(
        "offline render (waits for the model)",
        &run(&mut fresh(), &input, offline),
    );
    report(
        "real-time mode, unpaced (audio thread only)",
        &run(
            &mut fresh(),
            &input,
            Play {
                mode,
                ..Play::default()
            },
        ),
    );
    if args.paced {
        report(
            "real-time mode, paced by the clock",
            &run(
                &mut fresh(),
                &input,
                Play {
                    paced: true,
                    mode,
                    ..Play::default()
                },
            ),
        );
    }
    if args.motion {
        motion_cost(&args, &input, offline, &report);
    }
    // What the guard adds to every live block: its bookkeeping on timestamps one block apart.
    let calls = 1_000_000u32;
    let mut guard = netbend::pace_guard::PaceGuard::new(RATE as f32);
    let mut now = Instant::now();
    let started = Instant::now();
    let mut engaged = 0u32;
    for _ in 0..calls {
        now += budget;
        engaged += guard.on_block(std::hint::black_box(now), BLOCK, Duration::ZERO) as u32;
    }
    let per_call = started.elapsed() / calls;
    println!(
        "pace guard on live timestamps: {} ns per block ({:.5} % of a block), engaged in {engaged} \
         of {calls} blocks",
        per_call.as_nanos(),
        100.0 * per_call.as_secs_f64() / budget.as_secs_f64()
    );
}

/// Two slots as a config: layer 2 rotated by 30 degrees, a random quarter of layer 1 ablated;
/// with `moving`, a sixteenth-note sine on the angle and a re-roll every beat.
fn two_slots(moving: bool) -> String {
    let (modulate, reroll) = if moving {
        (
            "  modulate: {shape: sine, rate: 1/16, depth: 45, target: param}\n",
            "  reroll: 1/4\n",
        )
    } else {
        ("", "")
    };
    format!(
        "transforms:\n- layer: 2\n  transform: rotate\n  params: [30]\n  seed: 3\n{modulate}\
         - layer: 1\n  transform: ablate\n  features: random\n  feature-param: 0.25\n  \
         seed: 11\n{reroll}"
    )
}

/// Offline renders side by side, still and moving, and the song clock's cost per block.
fn motion_cost(args: &Args, input: &[Vec<f32>], offline: Play, report: &dyn Fn(&str, &Outcome)) {
    let manifest = engine::Model::load(&args.model)
        .expect("the model")
        .manifest()
        .clone();
    let path = std::path::Path::new("bench-slots.yaml");
    // Still, moving, and still at voice 100 % alternate, three rounds; the fastest of each counts
    // (the least disturbed by anything else on the machine).
    let cases = [
        (false, false, "offline render, two slots standing still"),
        (
            true,
            false,
            "offline render, the same slots moving (the bend changes every window)",
        ),
        (
            false,
            true,
            "offline render, standing still at voice 100 % (a neutral decode per window too)",
        ),
    ];
    let mut walls = [f64::INFINITY; 3];
    for round in 0..3 {
        for (k, (moving, voice, what)) in cases.iter().enumerate() {
            let text = two_slots(*moving);
            let slots = netbend::slot_config::slots_from_config(&text, path, &manifest)
                .expect("the slots hold the config");
            let mut plugin = LoadedPlugin::load();
            let mut changes = common::parity::slot_events(&mut plugin, &slots);
            if *voice {
                // Voice is 0..1 linear: its CLAP value is its plain value.
                changes.push(ParamChange::new(plugin.param("Voice").id, 1.0));
            }
            let play = Play {
                changes: &changes,
                transport: true,
                ..offline
            };
            let outcome = run(&mut plugin, input, play);
            if round == 0 {
                report(what, &outcome);
            }
            walls[k] = walls[k].min(outcome.wall.as_secs_f64());
        }
    }
    for (k, what) in [(1, "moving"), (2, "voice 100 %")] {
        println!(
            "{what} vs still, offline, side by side (fastest of 3 each): {:.2} s vs {:.2} s, \
             {:.3}x the wall time ({:+.1} %)",
            walls[k],
            walls[0],
            walls[k] / walls[0],
            100.0 * (walls[k] / walls[0] - 1.0)
        );
    }
    // The audio thread's part: one song clock per block on a rolling transport.
    let calls = 1_000_000u32;
    let mut clock = netbend::song_clock::SongClock::default();
    let started = Instant::now();
    let mut sum = 0.0;
    for k in 0..calls {
        let seconds = f64::from(k) * BLOCK as f64 / RATE;
        let transport = netbend::song_clock::TransportView {
            playing: true,
            pos_samples: Some(i64::from(k) * BLOCK as i64),
            pos_seconds: Some(seconds),
            pos_beats: Some(seconds * 2.0),
            tempo: Some(120.0),
            time_sig: Some((4, 4)),
        };
        sum += clock
            .block(std::hint::black_box(&transport), BLOCK, RATE, 14_080)
            .beats;
    }
    let per_call = started.elapsed() / calls;
    std::hint::black_box(sum);
    println!(
        "song clock on a rolling transport: {} ns per block ({:.5} % of a block)",
        per_call.as_nanos(),
        100.0 * per_call.as_secs_f64() / (BLOCK as f64 / RATE)
    );
}
