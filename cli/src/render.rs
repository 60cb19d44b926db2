//! `netbend render`: one file through the model with a bend config (neutral without one).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use crate::pipeline::{Keep, RendererArgs, bar, read_input, render_audio, render_steps};
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
    #[command(flatten)]
    renderer: RendererArgs,
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
    let phase = args.renderer.phase.options()?;
    let started = Instant::now();
    let mut renderer = args.renderer.renderer()?;
    let spec = args
        .renderer
        .spec(&renderer, args.config.as_deref(), args.seed)?;
    renderer.set_spec(&spec)?;
    let audio = read_input(&args.input)?;
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
