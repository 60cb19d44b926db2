//! `netbend bench --unbent-decoder FILE`: the bend graph's overhead through the engine the plugin
//! and the renderer use. One model window (encoder, then decoder) per run, side by side with
//! the same model's decoder exported without bend blocks, repetitions interleaved so that load
//! from other processes hits every case alike; medians of wall and process CPU time.
//!
//! The cases are those of `python -m netbend_models.bench.vae` (models/README.md): every bend
//! input neutral; every one of the 14 stages on one channel of every layer; every stage on a
//! random eighth of every layer's channels; and the `--config` if one is given.

use anyhow::{Context, Result};
use engine::{BendEntry, BendSpec, Selection, Stage, Transform, UnbentDecoder};
use ndarray::Array3;
use std::path::Path;
use std::time::Instant;

use crate::bench_args::BenchArgs;
use crate::pipeline::Renderer;
use crate::process_usage::process_cpu_ms;

/// A typical value for each stage's parameters (Python's `netbend_models.bend.inputs.ACTIVE_PARAMS`).
fn active_params(stage: Stage) -> &'static [f64] {
    match stage {
        Stage::Translate => &[0.1, -0.05],
        Stage::Scale => &[0.8, 1.25],
        Stage::Rotate => &[20.0],
        Stage::Erode | Stage::Dilate => &[2.0],
        Stage::ScalarMultiply => &[1.5],
        Stage::Offset => &[0.1],
        Stage::BinaryThresh => &[0.0],
        Stage::Noise => &[0.3],
        _ => &[],
    }
}

/// Every stage of every layer, in the graph's stage order (so the chain is expressible), on the
/// channels `select(layer, stage)` gives, mix 0.75, each entry with its own seed.
fn every_stage(layers: usize, select: impl Fn(usize, Stage) -> Selection) -> Result<BendSpec> {
    let mut spec = BendSpec::neutral();
    for layer in 1..=layers {
        for (i, stage) in Stage::ALL.into_iter().enumerate() {
            let transform = Transform::new(stage, active_params(stage))
                .map_err(|e| anyhow::anyhow!("{stage}: {e}"))?;
            let entry = BendEntry::new(layer, transform, select(layer, stage))
                .with_mix(0.75)
                .with_seed((layer * 100 + i) as u64);
            spec = spec.push(entry);
        }
    }
    Ok(spec)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        0.5 * (v[n / 2 - 1] + v[n / 2])
    }
}

pub fn run(args: &BenchArgs, unbent_path: &Path) -> Result<()> {
    let mut renderer = Renderer::load(&args.model)?;
    let mut unbent = UnbentDecoder::load(unbent_path, &args.model.runtime_options())?;
    let manifest = renderer.runtime.model().manifest().clone();
    let layers = &manifest.layers;
    let channels = |layer: usize| layers[layer - 1].channels;

    let mut cases: Vec<(String, BendSpec)> = vec![
        ("bend graph, all neutral".into(), BendSpec::neutral()),
        (
            "bend graph, all 14 stages on 1 channel of every layer".into(),
            every_stage(layers.len(), |layer, stage| {
                Selection::Channels(vec![(stage.position() * 7) % channels(layer)])
            })?,
        ),
        (
            "bend graph, all 14 stages on C/8 channels of every layer".into(),
            every_stage(layers.len(), |_, _| Selection::Random { fraction: 0.125 })?,
        ),
    ];
    if let Some(config) = &args.config {
        cases.push((
            format!("bend graph, {}", config.display()),
            renderer.spec(Some(config), None)?,
        ));
    }
    // Compile every case once up front: a chain the graph cannot express fails here.
    let compiled = cases
        .iter()
        .map(|(name, spec)| {
            engine::compile(spec, &manifest).with_context(|| format!("case `{name}`"))
        })
        .collect::<Result<Vec<_>>>()?;

    // One window of normalised values in [0, 1) (a fixed xorshift sequence).
    let (frames, bins) = renderer
        .runtime
        .model()
        .window_shape()
        .context("window shape")?;
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let window = Array3::from_shape_fn((1, frames, bins), |_| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 40) as f32 / (1u64 << 24) as f32
    });

    let labels: Vec<String> = std::iter::once("unbent export".to_string())
        .chain(cases.iter().map(|(name, _)| name.clone()))
        .collect();
    let mut wall: Vec<Vec<f64>> = vec![Vec::new(); labels.len()];
    let mut cpu: Vec<Vec<f64>> = vec![Vec::new(); labels.len()];
    let reps = args.window_reps;
    let warmup = 3;
    for rep in 0..warmup + reps {
        // Rotate the order each repetition, as the Python benchmark does.
        for k in 0..labels.len() {
            let case = (rep + k) % labels.len();
            if case > 0 {
                // Setting the bend happens when it changes, not per window: not timed.
                renderer.runtime.set_bend(&compiled[case - 1])?;
            }
            let (start, start_cpu) = (Instant::now(), process_cpu_ms());
            let mu = renderer.runtime.encode(window.view())?;
            let out = if case == 0 {
                unbent.decode(mu.view())?
            } else {
                renderer.runtime.decode(mu.view())?
            };
            let (elapsed, elapsed_cpu) = (start.elapsed(), process_cpu_ms() - start_cpu);
            std::hint::black_box(out);
            if rep >= warmup {
                wall[case].push(elapsed.as_secs_f64() * 1e3);
                cpu[case].push(elapsed_cpu);
            }
        }
    }
    println!(
        "model `{}` ({}) vs {}; threads {}; {reps} interleaved repetitions of one window \
         (encoder + decoder), medians",
        manifest.name,
        renderer.runtime.model().dir().display(),
        unbent_path.display(),
        args.model
            .threads
            .map_or("default".to_string(), |n| n.to_string())
    );
    println!("| case | wall ms | ratio | CPU ms | ratio |\n|---|---|---|---|---|");
    let medians: Vec<(f64, f64)> = wall
        .into_iter()
        .zip(cpu)
        .map(|(w, c)| (median(w), median(c)))
        .collect();
    let reference = medians[0];
    for (label, (w, c)) in labels.iter().zip(&medians) {
        println!(
            "| {label} | {w:.2} | {:.3} | {c:.2} | {:.3} |",
            w / reference.0,
            c / reference.1
        );
    }
    Ok(())
}
