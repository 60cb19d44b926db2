//! `netbend variations`: the paper's Sec. 6 "chaining stochastic layers" workflow. Variation `i`
//! renders the input with the config's seed replaced by `seed + i`, into `STEM_seedNNNN.wav`.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;
use dsp::read_audio;

use crate::pipeline::{Keep, RendererArgs, bar, render_audio, render_steps};
use crate::spectrogram_png;

#[derive(Args, Debug)]
pub struct VariationsArgs {
    /// Bend config (YAML) with random selections or noise
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Input audio file
    #[arg(long = "in", value_name = "FILE")]
    input: PathBuf,
    /// Number of variations
    #[arg(long, default_value_t = 16)]
    count: u64,
    /// Seed of the first variation; variation i uses seed + i
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output folder (created if missing)
    #[arg(long, value_name = "DIR")]
    out_dir: PathBuf,
    #[command(flatten)]
    renderer: RendererArgs,
    /// Also write a spectrogram PNG per variation (input on top), named like the WAV
    #[arg(long)]
    spectrogram: bool,
}

/// `drum_break` + 7 -> `drum_break_seed0007.wav`.
pub fn file_name(stem: &str, seed: u64, ext: &str) -> String {
    format!("{stem}_seed{seed:04}.{ext}")
}

pub fn run(args: &VariationsArgs) -> Result<()> {
    let phase = args.renderer.phase.options()?;
    if args.count == 0 {
        bail!("--count must be at least 1");
    }
    let last = args
        .seed
        .checked_add(args.count - 1)
        .context("--seed + --count overflows")?;
    let started = Instant::now();
    let mut renderer = args.renderer.renderer()?;
    // Checked once against the model before any audio work.
    let mut spec = args.renderer.spec(&renderer, Some(&args.config), None)?;
    let audio = read_audio(&args.input)?;
    let stem = args
        .input
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "variation".into());
    std::fs::create_dir_all(&args.out_dir)
        .with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let per = render_steps(&audio, &renderer, &phase);
    let progress = bar(per * args.count, "variations");
    for seed in args.seed..=last {
        spec.seed = seed;
        renderer.set_spec(&spec)?;
        progress.set_message(format!("seed {seed}"));
        let keep = Keep {
            model_rate: args.spectrogram,
            magnitude: false,
        };
        let rendered = render_audio(&mut renderer, &audio, &phase, keep, &progress)?;
        let png = args
            .spectrogram
            .then(|| args.out_dir.join(file_name(&stem, seed, "png")));
        let out = args.out_dir.join(file_name(&stem, seed, "wav"));
        spectrogram_png::write_with_wav(
            png.as_deref(),
            &[&rendered.input_model_rate, &rendered.output_model_rate],
            &out,
            &rendered.audio,
        )?;
        progress.suspend(|| eprintln!("wrote {}", out.display()));
    }
    progress.finish_and_clear();
    eprintln!(
        "{} variations (seeds {}..={last}) in {} in {:.1} s",
        args.count,
        args.seed,
        args.out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
