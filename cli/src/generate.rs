//! `netbend generate`: random latents (engine::sample_latents) decoded window by window with the
//! bend, cross-faded like `render`'s windows, voiced by fast Griffin-Lim at the model rate, through
//! the plugin's output stage (`dsp::output_stage`).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use dsp::{AudioData, MODEL_SAMPLE_RATE, Stft, StftConfig};

use crate::griffin_lim::griffin_lim;
use crate::pipeline::{ModelArgs, OutputArgs, Renderer, bar};
use crate::spectrogram_png;

#[derive(Args, Debug)]
pub struct GenerateArgs {
    /// Seed of the latents (and of the config's random selections unless it sets its own)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Length of the output in seconds
    #[arg(long, default_value_t = 4.0)]
    seconds: f64,
    /// Output WAV file (mono, 32-bit float, 44.1 kHz)
    #[arg(long = "out", value_name = "FILE")]
    output: PathBuf,
    /// Bend config applied while decoding
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(flatten)]
    model: ModelArgs,
    /// Griffin-Lim iterations
    #[arg(long, default_value_t = 100, value_name = "N")]
    iterations: usize,
    /// Also write a PNG of the generated spectrogram
    #[arg(long, value_name = "PNG")]
    spectrogram: Option<PathBuf>,
    #[command(flatten)]
    output_stage: OutputArgs,
    #[command(flatten)]
    timeline: crate::timeline::TimelineArgs,
}

pub fn run(args: &GenerateArgs) -> Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        bail!("--seconds must be in (0, 3600], got {}", args.seconds);
    }
    if args.iterations == 0 {
        bail!("--iterations must be at least 1");
    }
    let gain = args.output_stage.gain()?;
    let started = Instant::now();
    let mut renderer = Renderer::load(&args.model)?;
    renderer.timeline = args.timeline.timeline()?;
    let spec = renderer.spec(args.config.as_deref(), Some(args.seed))?;
    renderer.set_spec(&spec)?;
    let samples = (args.seconds * MODEL_SAMPLE_RATE as f64).round().max(1.0) as usize;
    let frames = StftConfig::default().frames_for(samples);
    let layout = renderer.window_layout(frames);
    let latents = engine::sample_latents(args.seed, layout.count, renderer.latent_dim());
    // One bar: the windows, then the Griffin-Lim iterations.
    let progress = bar((layout.count + args.iterations) as u64, "generate");
    let magnitude = renderer.decode_magnitude(&latents, frames, &progress)?;
    let mut stft = Stft::new(StftConfig::default());
    let mut signal = griffin_lim(
        &mut stft,
        &magnitude,
        samples,
        args.iterations,
        args.seed,
        &progress,
    );
    progress.finish_and_clear();
    dsp::output_stage::apply_fully_wet(&mut signal, MODEL_SAMPLE_RATE as f32, gain, None);
    let audio = AudioData {
        channels: vec![signal],
        sample_rate: MODEL_SAMPLE_RATE,
    };
    spectrogram_png::write_with_wav(
        args.spectrogram.as_deref(),
        &[&audio.channels[0]],
        &args.output,
        &audio,
    )?;
    eprintln!(
        "wrote {} ({:.2} s, seed {}) in {:.1} s",
        args.output.display(),
        samples as f64 / MODEL_SAMPLE_RATE as f64,
        args.seed,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
