//! `netbend bench`: render speed in multiples of real time (seconds of audio rendered per second
//! of wall time) for a model, neutral and with a config, plus the process's peak memory.
//! The input is a synthetic mono signal at the model rate (chirp plus noise), so the figure
//! covers STFT, windows through the model, overlap-add, input-phase ISTFT; no file I/O.

use std::time::Instant;

use anyhow::{Result, bail};
use dsp::{AudioData, MODEL_SAMPLE_RATE};

use crate::bench_args::BenchArgs;
use crate::pipeline::{
    Keep, ModelArgs, PhaseOptions, PhaseSource, Renderer, render_audio, window_count,
};
use crate::process_usage::peak_memory_mib;

fn test_signal(samples: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..samples)
        .map(|i| {
            let t = i as f64 / MODEL_SAMPLE_RATE as f64;
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f64 / (1u64 << 24) as f64 - 0.5;
            (0.3 * (2.0 * std::f64::consts::PI * (100.0 + 400.0 * t) * t).sin() + 0.05 * noise)
                as f32
        })
        .collect()
}

pub fn run(args: &BenchArgs) -> Result<()> {
    if !(args.seconds > 0.0 && args.seconds <= 600.0) {
        bail!("--seconds must be in (0, 600], got {}", args.seconds);
    }
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    // Image models are measured in images per second (image_bench.rs).
    if let Some(dir) = &args.model.model {
        let model = engine::Model::load(dir)?;
        if model.manifest().kind == engine::ModelKind::StyleGan2 {
            return crate::image_bench::run(args, model);
        }
    }
    if let Some(unbent) = &args.unbent_decoder {
        if args.window_reps == 0 {
            bail!("--window-reps must be at least 1");
        }
        return crate::bend_overhead::run(args, unbent);
    }
    let samples = (args.seconds * MODEL_SAMPLE_RATE as f64).round() as usize;
    let audio = AudioData {
        channels: vec![test_signal(samples)],
        sample_rate: MODEL_SAMPLE_RATE,
    };
    // Each case: a label, its renderer (index into `renderers`), its bend and its voice.
    let mut renderers = vec![Renderer::load(&args.model)?];
    let mut cases = vec![(
        "neutral".to_string(),
        0,
        renderers[0].spec(None, None)?,
        0.0,
    )];
    if let Some(config) = &args.config {
        let spec = renderers[0].spec(Some(config), None)?;
        let name = config.display().to_string();
        cases.push((name.clone(), 0, spec.clone(), 0.0));
        // The input voice decodes every bent window a second time, neutral (dsp::voice).
        cases.push((format!("{name} --voice 1"), 0, spec, 1.0));
    }
    if let Some(other) = &args.against {
        let other_args = ModelArgs {
            model: Some(other.clone()),
            ..args.model.clone()
        };
        let renderer = Renderer::load(&other_args)?;
        let name = renderer.runtime.model().manifest().name.clone();
        let spec = renderer.spec(None, None)?;
        renderers.push(renderer);
        cases.push((format!("neutral, model `{name}` (--against)"), 1, spec, 0.0));
    }
    let threads = args
        .model
        .threads
        .map_or("default".to_string(), |n| n.to_string());
    let model = renderers[0].runtime.model();
    println!(
        "model `{}` ({}), {:.1} s mono at {MODEL_SAMPLE_RATE} Hz, threads {threads}",
        model.manifest().name,
        model.dir().display(),
        args.seconds,
    );
    let phase = PhaseOptions {
        phase: PhaseSource::Input,
        iterations: 0,
    };
    let hidden = indicatif::ProgressBar::hidden();
    let mut run_case = |case: usize| -> Result<f64> {
        let (_, r, spec, voice) = &cases[case];
        let renderer = &mut renderers[*r];
        renderer.set_spec(spec)?;
        renderer.voice = *voice;
        let started = Instant::now();
        render_audio(renderer, &audio, &phase, Keep::default(), &hidden)?;
        Ok(started.elapsed().as_secs_f64())
    };
    // One warm-up run per case, then the repeats interleaved case by case, so that a change in
    // the machine's load falls on every case alike and the ratios stay comparable.
    let mut best = vec![f64::INFINITY; cases.len()];
    for case in 0..best.len() {
        run_case(case)?;
    }
    for _ in 0..args.repeats {
        for (case, best) in best.iter_mut().enumerate() {
            *best = best.min(run_case(case)?);
        }
    }
    let windows = window_count(&renderers[0], samples) as f64;
    for ((name, _, _, _), time) in cases.iter().zip(&best) {
        println!(
            "{name}: {time:.2} s per run, {:.1} ms per window ({windows} windows), {:.1}x real \
             time, {:.2}x the first case's time",
            1e3 * time / windows,
            args.seconds / time,
            time / best[0],
        );
    }
    if let Some(mib) = peak_memory_mib() {
        println!("peak memory: {mib:.0} MiB");
    }
    Ok(())
}
