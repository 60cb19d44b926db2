//! `netbend bench --model IMAGE_MODEL`: images per second of an image model, unbent and with a
//! transform on every layer (and with `--config` if given), side by side in one run, plus the
//! process's peak memory.

use std::time::Instant;

use anyhow::{Result, bail};
use engine::{
    BendEntry, BendSpec, Device, ImageRuntime, Model, RuntimeOptions, Selection, Stage, Transform,
    load_config,
};

use crate::bench_args::BenchArgs;
use crate::process_usage::peak_memory_mib;

/// Every layer bent: rotate 45 degrees (bilinear grid sampling, the costliest kind of stage) on
/// half of the channels, and ablate a quarter.
fn every_layer_bent(runtime: &ImageRuntime) -> BendSpec {
    let mut spec = BendSpec::neutral();
    for layer in runtime.model().layers() {
        let rotate = Transform::new(Stage::Rotate, &[45.0]).expect("valid rotate");
        spec.entries.push(
            BendEntry::new(layer.index, rotate, Selection::Random { fraction: 0.5 }).with_seed(1),
        );
        let ablate = Transform::new(Stage::Ablate, &[]).expect("valid ablate");
        spec.entries.push(
            BendEntry::new(layer.index, ablate, Selection::Random { fraction: 0.25 }).with_seed(2),
        );
    }
    spec
}

pub fn run(args: &BenchArgs, model: Model) -> Result<()> {
    if args.repeats == 0 {
        bail!("--repeats must be at least 1");
    }
    let options = RuntimeOptions {
        device: Device::Cpu,
        ..args.model.runtime_options()
    };
    let mut runtime = ImageRuntime::new(model, &options)?;
    let mut cases = vec![
        ("unbent".to_string(), BendSpec::neutral()),
        (
            "every layer bent (rotate 45 on 1/2, ablate 1/4)".to_string(),
            every_layer_bent(&runtime),
        ),
    ];
    if let Some(config) = &args.config {
        cases.push((
            config.display().to_string(),
            load_config(config, runtime.model().manifest())?,
        ));
    }
    let (h, w) = runtime.image_size();
    // One timed run is one decoder call of the batch `netbend image --seeds` uses.
    let batch = crate::image_io::batch_for(h, w);
    println!(
        "model `{}` ({}), {h}x{w} px, {} layers, batches of {batch}, threads {}",
        runtime.model().manifest().name,
        runtime.model().dir().display(),
        runtime.model().layers().len(),
        args.model
            .threads
            .map_or("default".to_string(), |n| n.to_string())
    );
    let seeds: Vec<u64> = (0..batch as u64).collect();
    // Inputs drawn once: the timing covers the mapping and the synthesis network.
    let w_plus = runtime.w_plus_of_seeds(&seeds)?;
    let noise = runtime.noise_of_seeds(&seeds);
    for (name, spec) in &cases {
        runtime.set_spec(spec)?;
        runtime.synthesize(w_plus.view(), 1.0, &noise)?;
        let mut best = f64::INFINITY;
        for _ in 0..args.repeats {
            let started = Instant::now();
            runtime.synthesize(w_plus.view(), 1.0, &noise)?;
            best = best.min(started.elapsed().as_secs_f64());
        }
        println!(
            "{name}: {:.3} s per batch, {:.2} images/s",
            best,
            batch as f64 / best
        );
    }
    if let Some(mib) = peak_memory_mib() {
        println!("peak memory: {mib:.0} MiB");
    }
    Ok(())
}
