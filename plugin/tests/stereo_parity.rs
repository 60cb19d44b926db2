//! Stereo and mono offline renders are what the plugin renders: the committed music (stereo, its
//! right channel at half level so that the channels differ) and the drum break (mono) through
//! the plugin in a real CLAP host (offline, blocks of 512, quality mode Default, every slot off)
//! against `netbend render --layout plugin-default` on the same file. Both link stereo the same
//! way (`dsp::stereo_link`: the model on the mid, its ratio to the mid's magnitude a per-bin gain
//! on each channel) and end in the same output stage (`dsp::output_stage`: guard, DC blocker,
//! limiter, gain), so what is left is rounding.

mod common;

use common::parity::{max_abs_diff, relative_error, render_cli, render_offline, rms};
use std::path::Path;

/// Relative RMS difference allowed per channel, plugin vs CLI: a tenth of the 1 % the issue asked
/// for. Measured: 1.8e-6 / 5.1e-7 (stereo music, left / right), 1.3e-5 (mono drum break); the
/// CLI before it linked stereo and had the output stage: 1.70 / 1.93 and 5.3e-2.
const TOLERANCE: f64 = 1e-3;

fn write_input(path: &Path, channels: Vec<Vec<f32>>) {
    let audio = dsp::AudioData {
        channels,
        sample_rate: 44_100,
    };
    dsp::write_wav(path, &audio).unwrap();
}

/// Plugin vs CLI per channel over the whole file; prints and returns the relative differences.
fn compare(what: &str, plugin: &[Vec<f32>], cli: &[Vec<f32>]) -> Vec<f64> {
    assert_eq!(plugin.len(), cli.len(), "{what}: channel count");
    plugin
        .iter()
        .zip(cli)
        .enumerate()
        .map(|(c, (p, l))| {
            assert_eq!(p.len(), l.len(), "{what}: length");
            let n = l.len();
            let error = relative_error(p, l, 0..n);
            eprintln!(
                "{what}, channel {c}: plugin vs CLI relative RMS difference {error:.2e}, max |diff| \
                 {:.2e} (output RMS {:.2e})",
                max_abs_diff(p, l, 0..n),
                rms(l),
            );
            error
        })
        .collect()
}

#[test]
fn neutral_stereo_music_and_mono_drum_break_render_like_the_plugin() {
    let _serial = common::serial();
    let model = common::shipped_model();
    let dir = std::env::temp_dir().join(format!("netbend-stereo-parity-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();

    // Stereo: the music with its right channel at half level.
    let music = dsp::read_audio(common::test_data("music_excerpt.flac")).unwrap();
    assert_eq!((music.channel_count(), music.sample_rate), (2, 44_100));
    let mut stereo = music.channels.clone();
    for x in &mut stereo[1] {
        *x *= 0.5;
    }
    let stereo_path = dir.join("music.wav");
    write_input(&stereo_path, stereo.clone());
    let mut plugin = common::load_offline(&model);
    let (bent, latency) = render_offline(&mut plugin, &stereo, &[]);
    assert_eq!(latency, 14080, "quality mode Default at 44.1 kHz");
    let linked = render_cli(
        &model,
        &stereo_path,
        &dir.join("linked.wav"),
        &["--layout", "plugin-default"],
    );
    let errors = compare("stereo music, linked", &bent, &linked);
    // Each channel through the model on its own: what the CLI did before it linked stereo.
    let independent = render_cli(
        &model,
        &stereo_path,
        &dir.join("independent.wav"),
        &["--layout", "plugin-default", "--stereo", "independent"],
    );
    let apart = compare("stereo music, independent", &bent, &independent);
    for (c, (&e, &a)) in errors.iter().zip(&apart).enumerate() {
        assert!(e < TOLERANCE, "channel {c}: plugin vs CLI {e}");
        assert!(
            a > 10.0 * TOLERANCE,
            "channel {c}: independent channels only {a} apart"
        );
    }

    // Mono: the drum break, on the mono port configuration.
    let drums = dsp::read_audio(common::test_data("drum_break.flac")).unwrap();
    assert_eq!((drums.channel_count(), drums.sample_rate), (1, 44_100));
    let mut plugin = common::load_offline(&model);
    let configs = plugin.port_configs();
    let mono = configs.iter().find(|c| (c.1, c.2) == (1, 1)).unwrap();
    plugin.select_port_config(mono.0);
    let (bent, _) = render_offline(&mut plugin, &drums.channels, &[]);
    let cli = render_cli(
        &model,
        &common::test_data("drum_break.flac"),
        &dir.join("drums.wav"),
        &["--layout", "plugin-default"],
    );
    let errors = compare("mono drum break", &bent, &cli);
    assert!(errors[0] < TOLERANCE, "mono: plugin vs CLI {}", errors[0]);
    let _ = std::fs::remove_dir_all(&dir);
}
