//! Slots that move over the song, in a real CLAP host: a modulator and a re-roll set through the
//! slots' host parameters follow the host's transport, and render what `netbend render --bpm`
//! renders from the same config (the engine's one definition, `engine::motion`); when the
//! transport jumps (a relocate, a loop back), the bend jumps with the song position.

mod common;

use common::LoadedPlugin;
use common::parity::{relative_error, render_with_transport};
use std::path::{Path, PathBuf};

const RATE: f64 = 44_100.0;

/// The moving slots of the parity tests.
const MOVING: &str = common::parity::MOVING_SLOTS;

/// The same slots standing still (the modulator and re-roll keys removed).
const STILL: &str = "\
transforms:
- layer: 2
  transform: rotate
  params: [30]
  seed: 3
- layer: 1
  transform: ablate
  features: random
  feature-param: 0.25
  seed: 11
";

struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("netbend-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        Scratch(dir)
    }
    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The first `seconds` of the committed drum break, also written to `dir`.
fn drum_break(seconds: f64, dir: &Scratch) -> (Vec<f32>, PathBuf) {
    common::parity::drum_break_clip(seconds, &dir.0)
}

/// A mono plugin rendering offline with the slots of `config` (sent as parameter events).
fn plugin_with(config: &Path, model: &Path) -> (LoadedPlugin, Vec<common::ParamChange>) {
    let text = std::fs::read_to_string(config).unwrap();
    common::parity::mono_offline_plugin(&text, config, model)
}

#[test]
fn moving_slots_on_the_host_transport_render_like_netbend_render_at_its_tempo() {
    let _serial = common::serial();
    let model = common::shipped_model();
    common::use_model(Some(&model));
    let dir = Scratch::new("moving-parity");
    let (input, input_path) = drum_break(3.0, &dir);
    let n = input.len();
    let moving = dir.write("moving.yaml", MOVING);
    let still = dir.write("still.yaml", STILL);
    let bpm = 100.0;

    // The host plays the song from its start at 100 BPM: input sample i is at i / 44100 s.
    let (mut plugin, changes) = plugin_with(&moving, &model);
    let (out, latency) = render_with_transport(
        &mut plugin,
        std::slice::from_ref(&input),
        &changes,
        &|start, latency| Some(((start as f64 - latency as f64) / RATE, bpm)),
    );
    let out = &out[0];
    // A second bounce of the same song is the same audio, sample for sample (the re-roll's draws
    // depend on the song position only).
    let (mut again, changes_again) = plugin_with(&moving, &model);
    let (out_again, _) = render_with_transport(
        &mut again,
        std::slice::from_ref(&input),
        &changes_again,
        &|start, latency| Some(((start as f64 - latency as f64) / RATE, bpm)),
    );
    assert_eq!(&out_again[0], out, "two bounces differ");
    let cli = |config: &Path, extra: &[&str]| {
        let out = dir.0.join("cli.wav");
        let mut args = vec![
            "--layout",
            "plugin-default",
            "--config",
            config.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        common::parity::render_cli(&model, &input_path, &out, &args).remove(0)
    };
    let cli_moving = cli(&moving, &["--bpm", "100"]);
    let cli_other_tempo = cli(&moving, &["--bpm", "120"]);
    let cli_still = cli(&still, &[]);
    assert_eq!(cli_moving.len(), n);
    // After the DC blocker's start (see cli_parity.rs), the two must agree to rounding.
    let settled = 16384..n;
    let error = relative_error(out, &cli_moving, settled.clone());
    let tempo_matters = relative_error(&cli_other_tempo, &cli_moving, settled.clone());
    let motion_matters = relative_error(&cli_still, &cli_moving, settled.clone());
    eprintln!(
        "latency {latency}: plugin on the transport vs netbend render --bpm 100: relative RMS \
         {error:.2e}; the same at --bpm 120: {tempo_matters:.3}; standing still: \
         {motion_matters:.3}"
    );
    // A host without a transport: the clock runs free from the activation at 120 BPM in 4/4,
    // which is `netbend render --bpm 120` of a file that starts at the song's start.
    let (mut free, changes_free) = plugin_with(&moving, &model);
    let (out_free, _) = render_with_transport(
        &mut free,
        std::slice::from_ref(&input),
        &changes_free,
        &|_, _| None,
    );
    let free_error = relative_error(&out_free[0], &cli_other_tempo, settled.clone());
    eprintln!("no transport vs netbend render --bpm 120: relative RMS {free_error:.2e}");
    assert!(
        free_error < 1e-4,
        "free-running vs CLI at 120 BPM: {free_error}"
    );
    assert!(
        tempo_matters > 1e-2,
        "the tempo must matter: {tempo_matters}"
    );
    assert!(
        motion_matters > 5e-2,
        "the motion must matter: {motion_matters}"
    );
    assert!(error < 1e-4, "plugin vs CLI: {error}");
}

/// The song position (seconds) of input sample `i` when the host relocates and loops: the song
/// plays from 0, jumps forward to 2.5 s at input block 130, loops back to 0.5 s at block 216 and
/// relocates to 3.0 s at block 302 (blocks of 512 samples).
fn jumping_song(i: usize) -> f64 {
    let block = 512;
    let jumps: [(usize, f64); 4] = [(0, 0.0), (130, 2.5), (216, 0.5), (302, 3.0)];
    let (start_block, song) = jumps
        .iter()
        .rev()
        .find(|(b, _)| i >= b * block)
        .copied()
        .unwrap();
    song + (i - start_block * block) as f64 / RATE
}

#[test]
fn a_synced_modulator_follows_a_transport_that_jumps() {
    let _serial = common::serial();
    let model = common::shipped_model();
    common::use_model(Some(&model));
    let dir = Scratch::new("moving-jumps");
    let (input, _) = drum_break(4.3, &dir);
    let n = input.len();
    // A square LFO over one bar at 60 BPM: 75 degrees for the first two seconds of every bar,
    // -15 for the last two.
    let square = "\
transforms:
- layer: 2
  transform: rotate
  params: [30]
  seed: 3
  modulate: {shape: square, rate: 1 bar, depth: 45, target: param}
";
    let angle_at = |song: f64| {
        if (song / 4.0).rem_euclid(1.0) < 0.5 {
            75.0
        } else {
            -15.0
        }
    };
    let static_at = |angle: f64| {
        format!("transforms:\n- layer: 2\n  transform: rotate\n  params: [{angle}]\n  seed: 3\n")
    };
    let render = |config: &str, name: &str, jumping: bool| {
        let path = dir.write(name, config);
        let (mut plugin, changes) = plugin_with(&path, &model);
        let transport = move |start: usize, latency: usize| {
            // The input block starting at `start` plays at the song position of its first
            // sample; the host reports the output's, `latency` samples earlier.
            jumping.then(|| (jumping_song(start) - latency as f64 / RATE, 60.0))
        };
        render_with_transport(
            &mut plugin,
            std::slice::from_ref(&input),
            &changes,
            &transport,
        )
        .0
        .remove(0)
    };
    let moving = render(square, "square.yaml", true);
    let up = render(&static_at(75.0), "up.yaml", false);
    let down = render(&static_at(-15.0), "down.yaml", false);

    // Input sample i is bent as the windows around it stand: those whose last frame lies from
    // 0.15 s before i (the output's DC blocker forgets an earlier difference within that) to
    // 0.3 s after it (a window's rows reach back 44 frames, 0.26 s, from its last frame). Where
    // all of them stand at one angle, the output is the static render at that angle.
    let (before, after) = ((0.15 * RATE) as usize, (0.3 * RATE) as usize);
    let expected: Vec<f64> = (0..n).map(|i| angle_at(jumping_song(i))).collect();
    let mut checked = [0usize; 2];
    let mut without_jumps_differs = 0;
    let mut i = before;
    while i + after < n {
        let a = expected[i];
        if expected[i - before..i + after].iter().all(|&e| e == a) {
            // A run of at least 1024 samples at one angle.
            let end = (i..n - after)
                .take_while(|&j| expected[j - before..j + after].iter().all(|&e| e == a))
                .last()
                .unwrap()
                + 1;
            if end - i >= 1024 {
                let reference = if a > 0.0 { &up } else { &down };
                let other = if a > 0.0 { &down } else { &up };
                let error = relative_error(&moving, reference, i..end);
                let versus_other = relative_error(&moving, other, i..end);
                eprintln!(
                    "input {:.2}..{:.2} s (song {:.2}..): {a} degrees, relative RMS {error:.1e} \
                     (against the other angle {versus_other:.2})",
                    i as f64 / RATE,
                    end as f64 / RATE,
                    jumping_song(i)
                );
                assert!(error < 1e-3, "at {i}..{end}: {error}");
                assert!(versus_other > 5e-2, "at {i}..{end}: {versus_other}");
                checked[usize::from(a > 0.0)] += end - i;
                // Without the jumps the song would be at i / 44100 s.
                without_jumps_differs +=
                    (i..end).filter(|&j| angle_at(j as f64 / RATE) != a).count();
            }
            i = end;
        } else {
            i += 512;
        }
    }
    eprintln!(
        "checked {} samples at 75 degrees, {} at -15; {without_jumps_differs} of them stand \
         elsewhere without the jumps",
        checked[1], checked[0]
    );
    assert!(
        checked.iter().all(|&c| c > RATE as usize / 2),
        "{checked:?}"
    );
    assert!(
        without_jumps_differs > RATE as usize / 2,
        "{without_jumps_differs}"
    );
}
