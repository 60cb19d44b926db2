//! `netbend render`: one file through the model with a bend config (neutral without one).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use dsp::read_audio;

use crate::pipeline::{
    Keep, LayoutArgs, ModelArgs, PhaseArgs, Renderer, bar, render_audio, render_steps,
};
use crate::spectrogram_png;

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// Bend config (YAML, docs/config.md); without it the model only autoencodes
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Input audio file (WAV, FLAC, OGG Vorbis or MP3; mono or stereo; any rate)
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
    /// Output WAV file (32-bit float, at the input's rate and channel count)
    #[arg(long = "out", value_name = "FILE")]
    output: PathBuf,
    /// Cluster file ({layer: [{cluster_index, feature_index}, ...]}, e.g. from `netbend
    /// clusters`) that the config's `features: cluster` entries select from, instead of the
    /// model's general clusters
    #[arg(long, value_name = "FILE")]
    clusters: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    phase: PhaseArgs,
    #[command(flatten)]
    layout: LayoutArgs,
    /// Seed of the config's random selections and noise (overrides the config's `seed`)
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Also write a PNG of the input (top) and output (bottom) spectrograms
    #[arg(long, value_name = "PNG")]
    spectrogram: Option<PathBuf>,
    /// Tests: write channel 0's bent magnitude (before the phase) as raw little-endian f32
    /// `[frames, 513]`
    #[arg(long, value_name = "FILE", hide = true)]
    dump_magnitude: Option<PathBuf>,
}

pub fn run(args: &RenderArgs) -> Result<()> {
    let phase = args.phase.options()?;
    let started = Instant::now();
    let mut renderer = Renderer::load(&args.model)?;
    renderer.layout = args.layout.layout;
    let spec =
        renderer.spec_with_clusters(args.config.as_deref(), args.seed, args.clusters.as_deref())?;
    renderer.set_spec(&spec)?;
    let audio = read_audio(&args.input)?;
    eprintln!(
        "read {} ({} ch, {} Hz, {:.2} s)",
        args.input.display(),
        audio.channel_count(),
        audio.sample_rate,
        audio.frames() as f64 / audio.sample_rate as f64
    );
    let progress = bar(render_steps(&audio, &renderer, &phase), "render");
    let keep = Keep {
        model_rate: args.spectrogram.is_some(),
        magnitude: args.dump_magnitude.is_some(),
    };
    let rendered = render_audio(&mut renderer, &audio, &phase, keep, &progress)?;
    progress.finish_and_clear();
    spectrogram_png::write_with_wav(
        args.spectrogram.as_deref(),
        &[&rendered.input_model_rate, &rendered.output_model_rate],
        &args.output,
        &rendered.audio,
    )?;
    if let Some(dump) = &args.dump_magnitude {
        let bytes: Vec<u8> = rendered
            .bent_magnitude
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        std::fs::write(dump, bytes).with_context(|| format!("cannot write {}", dump.display()))?;
    }
    eprintln!(
        "wrote {} ({} ch, {} Hz) in {:.1} s",
        args.output.display(),
        rendered.audio.channel_count(),
        rendered.audio.sample_rate,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
