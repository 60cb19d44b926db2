//! The VST3 bundle in a real DAW: Ardour 7 (Debian `ardour`), headless through `ardour7-lua` on
//! its Dummy backend, with the committed drum break (mono, 44.1 kHz) on a mono track and Netbend
//! on it. Ardour's export runs ~20x faster than real time and says so to a VST3 only per block,
//! which nice-plug does not read: the plugin's pace guard must make every export the plugin's
//! offline render.
//!
//! - (a) dry/wet 0: the export is the input (Ardour compensates the 14080-sample latency);
//! - (b) a Figure 3 style bend set through the slot parameters: the export is
//!   `netbend render --layout plugin-default` of the same file with the same config, with the
//!   silence the plugin processed before the region in front (the plugin cuts its model windows
//!   from its first sample after activation; it reports where that sat on the timeline in its
//!   stats file, `NETBEND_STATS_FILE`), with no window missed;
//! - (c) a slot's mix automated mid-file: the export equals (b)'s up to the change's time minus
//!   the latency (what the plugin heard before it), and differs after it;
//! - (d) a real-time recording of the same session (a second track records the first one's
//!   output while the transport rolls on the Dummy backend) is `netbend render` with that run's
//!   lead, in place; and the export equals the take (`ardour_export_equals_a_real_time_take`:
//!   both put the window grid on the timeline's window boundaries, docs/plugin.md);
//! - (e) slots that move (a sine on a rotation, a random ablation re-rolled every beat) follow
//!   Ardour's tempo map in an export: it is `netbend render --bpm 120` (the session's tempo) of
//!   the same config with the same lead, the lead's song position as `--start`;
//! - "Quality Mode" is among the parameters Ardour lists.
//!
//! Ardour 7.3's headless export sometimes crashes at teardown by itself (about 1 run in 3 here,
//! with or without any plugin): a run whose export file is missing, or that crashed before
//! finishing it (an unreadable file after an error exit), is retried (up to 3 runs, each retry
//! said on stderr); a mismatch is never retried.
//!
//! Needs `ardour7-lua` (`cargo xtask setup` installs `ardour` when it can) and the bundle:
//! `NETBEND_VST3=/abs/Netbend.vst3` (set by `cargo xtask test` after bundling), else
//! `target/bundled/Netbend.vst3`. Without Ardour, or without a bundle, it says so in one line.

mod ardour_session;
mod common;

use ardour_session::{Session, SlotSetting};
use netbend::params::NUM_SLOTS;
use netbend::slot_config::{SlotValues, slots_from_config};
use nice_plug::prelude::Enum;
use std::path::PathBuf;

/// Figure 3 of the paper (`examples/figure3-stochastic.yaml`) with each random entry's own seed,
/// which a slot needs.
const FIGURE3: &str = "\
transforms:
- layer: 1
  transform: erode
  params: [2]
  features: random
  feature-param: 0.25
  seed: 11
- layer: 2
  transform: dilate
  params: [2]
  features: random
  feature-param: 0.25
  seed: 12
- layer: 3
  transform: binary-thresh
  params: [0.5]
  features: all
- layer: 4
  transform: scalar-multiply
  params: [1.5]
  features: random
  feature-param: 0.25
  seed: 14
";

/// Host samples between two model windows in Default mode at 44.1 kHz (32 frames of 256).
const WINDOW_STEP: usize = 32 * 256;

/// The silence the plugin processed before the region (which starts at 0 on the timeline) in a
/// run, from the grid origin in its stats line. Ardour gives a plugin the timeline position its
/// output is heard at and, compensating its `latency`, feeds it the audio `latency` samples
/// later on the timeline: the first input sample sat at `origin + latency`.
fn lead_before_region(stats: &str, latency: usize) -> usize {
    let first_input = ardour_session::grid_origin(stats) + latency as i64;
    assert!(
        first_input <= 0,
        "the plugin started inside the region ({first_input}): {stats}"
    );
    (-first_input) as usize
}

fn bundle() -> Option<PathBuf> {
    let path = std::env::var_os("NETBEND_VST3")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::workspace_root().join("target/bundled/Netbend.vst3"));
    path.join("Contents").is_dir().then_some(path)
}

/// Every slot parameter's plain value for `values`, by Ardour's parameter name: Ardour 7.3 shows a
/// VST3 parameter in the plugin's plain units (its range is the plugin's `normalizedParamToPlain`
/// of 0 and 1) and `set_processor_param` takes a plain value, which Ardour converts back with the
/// plugin's `plainParamToNormalized`. An enum's plain value is its index, a bool's 0 or 1.
fn slot_settings(values: &[SlotValues; NUM_SLOTS]) -> Vec<SlotSetting> {
    let mut out = Vec::new();
    for (i, v) in values.iter().enumerate() {
        let mut set = |name: &str, plain: f64| {
            out.push(SlotSetting {
                name: format!("Slot {} {name}", i + 1),
                plain,
            })
        };
        set("On", if v.enabled { 1.0 } else { 0.0 });
        set("Layer", v.layer as f64);
        set("Transform", v.transform.to_index() as f64);
        set("Translate X", v.translate_x as f64);
        set("Translate Y", v.translate_y as f64);
        set("Scale X", v.scale_x as f64);
        set("Scale Y", v.scale_y as f64);
        set("Rotate", v.rotate as f64);
        set("Radius", v.radius as f64);
        set("Multiply", v.multiply as f64);
        set("Offset", v.offset as f64);
        set("Threshold", v.threshold as f64);
        set("Noise Sigma", v.noise as f64);
        set("Selection", v.selection.to_index() as f64);
        set("Fraction", v.fraction as f64);
        set("Seed", v.seed as f64);
        set("Cluster", v.cluster as f64);
        set("Mix", v.mix as f64);
        set("Mod Shape", v.mod_shape.to_index() as f64);
        set("Mod Rate", v.mod_rate.to_index() as f64);
        set("Mod Hz", v.mod_hz as f64);
        set("Mod Depth", v.mod_depth as f64);
        set("Mod Phase", v.mod_phase as f64);
        set("Mod Target", v.mod_target.to_index() as f64);
        set("Reroll", v.reroll.to_index() as f64);
    }
    out
}

/// The moving slots of the parity tests.
const MOVING: &str = common::parity::MOVING_SLOTS;

/// (e): an export of moving slots against `netbend render --bpm 120`.
#[test]
fn ardour_exports_moving_slots_on_its_tempo_like_netbend_render() {
    let Some(bundle) = ardour_and_bundle() else {
        return;
    };
    let input = drum_break();
    let n = input.len();
    let session = Session::create(&bundle, &input);
    let latency = session.latency();
    let bundle_model = bundle.join("Contents/x86_64-linux/netbend-model");
    let manifest = engine::Model::load(&bundle_model)
        .unwrap()
        .manifest()
        .clone();
    let config_path = session.dir().join("moving.yaml");
    std::fs::write(&config_path, MOVING).unwrap();
    let slots = slots_from_config(MOVING, &config_path, &manifest).unwrap();
    let moving = session.export("moving", &slot_settings(&slots), None);
    eprintln!("(e) export run's counters: {}", moving.stats);
    let lead = lead_before_region(&moving.stats, latency);
    // The region starts at 0 on the song, so the file the CLI renders (the lead's silence, then
    // the break) starts `lead` samples before it.
    let start = format!("{}", -(lead as f64) / 44_100.0);
    let render = |bpm: &str| {
        ardour_session::render_cli_with(
            &bundle_model,
            &config_path,
            session.dir(),
            &input,
            lead,
            &["--bpm", bpm, "--start", &start],
        )
    };
    let (cli, other_tempo) = (render("120"), render("90"));
    let settled = 16384..n;
    let vs_cli = relative(&moving.left[settled.clone()], &cli[settled.clone()]);
    let vs_other = relative(&moving.left[settled.clone()], &other_tempo[settled.clone()]);
    eprintln!(
        "(e) moving slots, export vs netbend render --bpm 120 --start {start} after {lead} \
         samples of silence: relative RMS {vs_cli:.2e}, max |diff| {:.2e}; vs --bpm 90: \
         {vs_other:.3}",
        max_abs_diff(&moving.left[settled.clone()], &cli[settled.clone()]),
    );
    assert!(vs_other > 0.1, "the tempo must matter: {vs_other}");
    assert!(vs_cli < 1e-3, "export vs CLI: {vs_cli}");
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

/// RMS of `a - b` over the RMS of `b`.
fn relative(a: &[f32], b: &[f32]) -> f64 {
    let d: Vec<f32> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    rms(&d) / rms(b)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Ardour and the bundle, or `None` after saying in one line why the test is skipped.
fn ardour_and_bundle() -> Option<PathBuf> {
    if !netbend_test_support_on_path("ardour7-lua") {
        eprintln!(
            "skipped: ardour7-lua not found (Debian package `ardour`; `cargo xtask setup` installs \
             it as root or with passwordless sudo)"
        );
        return None;
    }
    let Some(bundle) = bundle() else {
        eprintln!(
            "skipped: no VST3 bundle (set NETBEND_VST3 or run `cargo xtask bundle netbend \
             --release`; `cargo xtask test` does both)"
        );
        return None;
    };
    Some(bundle)
}

fn drum_break() -> Vec<f32> {
    let audio = dsp::read_audio(common::test_data("drum_break.flac")).unwrap();
    assert_eq!((audio.channel_count(), audio.sample_rate), (1, 44_100));
    audio.channels[0].clone()
}

#[test]
fn ardour_lists_quality_mode_and_a_dry_export_is_the_input() {
    let Some(bundle) = ardour_and_bundle() else {
        return;
    };
    let input = drum_break();
    let session = Session::create(&bundle, &input);
    let latency = session.latency();
    assert_eq!(latency, 14080, "Default mode at 44.1 kHz");
    assert!(
        session.param_names().iter().any(|p| p == "Quality Mode"),
        "Ardour does not list Quality Mode"
    );

    // (a) Dry/wet 0: the input itself, sample-exact.
    let dry = session.export(
        "dry",
        &[SlotSetting {
            name: "Dry/Wet".into(),
            plain: 0.0,
        }],
        None,
    );
    let lag0 = max_abs_diff(&dry.left, &input);
    eprintln!("(a) dry/wet 0 export vs input: max |diff| {lag0:.2e}");
    assert!(lag0 < 1e-4, "dry export differs from the input: {lag0}");
    let _ = std::fs::remove_dir_all(session.dir());
}

/// (b), (c) and (d) (the real-time take against the CLI with the take's own lead).
#[test]
fn ardour_exports_are_the_plugins_offline_render() {
    let Some(bundle) = ardour_and_bundle() else {
        return;
    };
    let input = drum_break();
    let n = input.len();
    let session = Session::create(&bundle, &input);
    let latency = session.latency();
    let dry = session.export(
        "dry",
        &[SlotSetting {
            name: "Dry/Wet".into(),
            plain: 0.0,
        }],
        None,
    );

    // (b) The Figure 3 bend through the slots vs `netbend render --layout plugin-default`.
    let bundle_model = bundle.join("Contents/x86_64-linux/netbend-model");
    let manifest = engine::Model::load(&bundle_model)
        .unwrap()
        .manifest()
        .clone();
    let config_path = session.dir().join("figure3.yaml");
    std::fs::write(&config_path, FIGURE3).unwrap();
    let slots = slots_from_config(FIGURE3, &config_path, &manifest).unwrap();
    let settings = slot_settings(&slots);
    let bent = session.export("bent", &settings, None);
    // The counters cover the whole Ardour run, live processing before the export included.
    eprintln!("(b) export run's counters: {}", bent.stats);
    // The plugin cuts its model windows (one every 8192 samples in Default mode) from the first
    // sample it processes after activation, and Ardour activates it for the export at a point of
    // its own before the region: the reference is the CLI with the same silence in front.
    let lead = lead_before_region(&bent.stats, latency);
    let cli = ardour_session::render_cli(&bundle_model, &config_path, session.dir(), &input, lead);
    // The CLI ends in the plugin's output stage (`dsp::output_stage`), so the two compare as is;
    // the first 16384 samples are left out as in `cli_parity.rs`.
    let settled = 16384..n;
    let vs_cli = relative(&bent.left[settled.clone()], &cli[settled.clone()]);
    let unbent_vs_cli = relative(&dry.left[settled.clone()], &cli[settled.clone()]);
    eprintln!(
        "(b) Figure 3 export vs netbend render --layout plugin-default after {lead} samples of \
         silence: relative RMS {vs_cli:.2e}, max |diff| {:.2e} (the dry export differs by \
         {unbent_vs_cli:.3})",
        max_abs_diff(&bent.left[settled.clone()], &cli[settled.clone()]),
    );
    if !lead.is_multiple_of(WINDOW_STEP) {
        // What the first run compared with: the bare file's windows start elsewhere.
        let bare =
            ardour_session::render_cli(&bundle_model, &config_path, session.dir(), &input, 0);
        eprintln!(
            "    vs the bare file's render (windows {} samples off): relative RMS {:.3}",
            lead % WINDOW_STEP,
            relative(&bent.left[settled.clone()], &bare[settled.clone()])
        );
    }
    assert!(vs_cli < 1e-3, "export vs CLI: {vs_cli}");
    assert!(unbent_vs_cli > 0.1, "the bend must be clearly audible");

    // (c) Slot 1's mix automated from 1 to 0 at 2.0 s: the export is (b)'s reference (the CLI
    // with this run's lead: Ardour starts each export's window grid elsewhere) until the change
    // can first reach the output, the latency before it on the export's timeline (the export
    // is time-aligned with the input, the plugin hears the change with input `latency` later),
    // and clearly differs after it.
    let t0 = 2 * 44_100;
    let automated = session.export("automated", &settings, Some(("Slot 1 Mix", t0, 0.0)));
    let auto_lead = lead_before_region(&automated.stats, latency);
    let auto_cli = if auto_lead == lead {
        cli.clone()
    } else {
        ardour_session::render_cli(
            &bundle_model,
            &config_path,
            session.dir(),
            &input,
            auto_lead,
        )
    };
    let departs = (settled.start..n)
        .find(|&i| (automated.left[i] - auto_cli[i]).abs() > 1e-5)
        .unwrap_or(n);
    let before = settled.start..t0 - latency;
    let same = max_abs_diff(&automated.left[before.clone()], &auto_cli[before.clone()]);
    let after = t0 + 4410..n;
    let changed = relative(&automated.left[after.clone()], &auto_cli[after.clone()]);
    eprintln!(
        "(c) automated at {t0} ({auto_lead} samples of silence before the region): first departs \
         from the CLI at {departs}; up to {} max |diff| {same:.2e}; from {} relative {changed:.3}",
        before.end, after.start
    );
    assert!(
        same < 1e-5 && departs >= t0 - latency,
        "the automation changed the export before it could be heard (at {departs})"
    );
    assert!(changed > 0.01, "the automation did not change the export");

    // (d) A real-time recording of the session with the bend (a second track records the
    // first one's output while the transport rolls from the region's start): the CLI's render
    // with the silence this run's plugin heard before the region. Measured here: Ardour places
    // the take 13040 samples early (its alignment of a take recorded from another track's
    // output), found by a search within the latency, and the take's first ~20000 samples (the
    // latency and about a window from the roll) differ, so it is compared from 24576 on.
    let (take, take_stats) = session.record_take(&settings, n);
    let take_lead = lead_before_region(&take_stats, latency);
    let take_cli = if take_lead == lead {
        cli.clone()
    } else {
        ardour_session::render_cli(
            &bundle_model,
            &config_path,
            session.dir(),
            &input,
            take_lead,
        )
    };
    let rolled = 24576..n;
    let lag = best_lag(
        &take_cli,
        &take,
        -(latency as i64) - 2048..=2048,
        24576..57344,
    );
    let aligned = shifted(&take, lag, n);
    let take_vs_cli = relative(&aligned[rolled.clone()], &take_cli[rolled.clone()]);
    let export_vs_take = relative(&bent.left[rolled.clone()], &aligned[rolled.clone()]);
    eprintln!(
        "(d) real-time take (lag {lag}, {take_lead} samples of silence before the region) vs \
         netbend render from {}: relative RMS {take_vs_cli:.2e}, max |diff| {:.2e}; the export vs \
         the take: {export_vs_take:.3} (windows {} samples apart); take stats {take_stats}",
        rolled.start,
        max_abs_diff(&aligned[rolled.clone()], &take_cli[rolled.clone()]),
        take_lead.abs_diff(lead) % WINDOW_STEP,
    );
    assert!(take_vs_cli < 1e-3, "real-time take vs CLI: {take_vs_cli}");
    let _ = std::fs::remove_dir_all(session.dir());
}

/// `take` moved by `lag` (`out[i] = take[i + lag]`), `n` samples, zeros outside.
fn shifted(take: &[f32], lag: i64, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let j = i as i64 + lag;
            if j >= 0 && (j as usize) < take.len() {
                take[j as usize]
            } else {
                0.0
            }
        })
        .collect()
}

/// The lag of `take` against `reference` (`take[i + lag] ~ reference[i]`) within `lags`: the
/// least RMS difference over `range`.
fn best_lag(
    reference: &[f32],
    take: &[f32],
    lags: std::ops::RangeInclusive<i64>,
    range: std::ops::Range<usize>,
) -> i64 {
    let score = |lag: i64| -> f64 {
        range
            .clone()
            .map(|i| {
                let j = i as i64 + lag;
                let t = if j >= 0 && (j as usize) < take.len() {
                    take[j as usize]
                } else {
                    0.0
                };
                ((reference[i] - t) as f64).powi(2)
            })
            .sum()
    };
    lags.min_by(|a, b| score(*a).total_cmp(&score(*b))).unwrap()
}

fn netbend_test_support_on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// The export and a real-time take of the same session cut the same model windows: Ardour's
/// export activates the plugin at a varying point of its pre-roll and a take's start depends on
/// how long the stopped session ran, but both begin in silence, so the plugin moves its window
/// grid to the timeline's window boundaries when the transport rolls. (Before it did, the two
/// differed by 0.19 and 0.64 relative RMS in two runs, their grids 4096 and 3072 samples apart.)
#[test]
fn ardour_export_equals_a_real_time_take() {
    let Some(bundle) = ardour_and_bundle() else {
        return;
    };
    let input = drum_break();
    let n = input.len();
    let session = Session::create(&bundle, &input);
    let manifest = engine::Model::load(bundle.join("Contents/x86_64-linux/netbend-model"))
        .unwrap()
        .manifest()
        .clone();
    let config_path = session.dir().join("figure3.yaml");
    std::fs::write(&config_path, FIGURE3).unwrap();
    let settings = slot_settings(&slots_from_config(FIGURE3, &config_path, &manifest).unwrap());
    let bent = session.export("bent", &settings, None);
    let (take, take_stats) = session.record_take(&settings, n);
    let latency = session.latency() as i64;
    let rolled = 24576..n;
    let lag = best_lag(&bent.left, &take, -latency - 2048..=2048, 24576..57344);
    let aligned = shifted(&take, lag, n);
    let vs_take = relative(&bent.left[rolled.clone()], &aligned[rolled.clone()]);
    eprintln!(
        "export vs real-time take (lag {lag}): relative RMS {vs_take:.2e}; export stats {}, take \
         stats {take_stats}",
        bent.stats
    );
    assert!(vs_take < 1e-3, "export vs real-time take: {vs_take}");
    let _ = std::fs::remove_dir_all(session.dir());
}
