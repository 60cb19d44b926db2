//! `netbend image`: bent images from an image model, one per seed (`--seed`, `--seeds A-B`) or
//! from a projected latent (`--latent w.npy`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};
use clap::Args;
use ndarray::{Axis, s};

use crate::image_io::{
    ImageModelArgs, batch_for, check_output_folder, parse_seeds, read_latent, to_rgb, write_png,
};
use crate::pipeline::bar;

#[derive(Args, Debug)]
pub struct ImageArgs {
    #[command(flatten)]
    model: ImageModelArgs,
    /// Image seed: its z and per-layer noise (docs/config.md, "Seeds")
    #[arg(long, default_value_t = 0, conflicts_with = "seeds")]
    seed: u64,
    /// Several images: `0-99`, `1,5,7` or a mix; --out is then a folder and the files are
    /// named by seed (seed0042.png)
    #[arg(long, value_name = "LIST")]
    seeds: Option<String>,
    /// Projected latents (.npy, float32/64): [D] (one w) or [rows, D] (a w+) give one image;
    /// a stack [N, D], [N, 1, D] (w's) or [N, rows, D] (w+'s) gives one image per latent in
    /// the folder --out (latent0000.png, ...); --seed then only chooses the noise
    #[arg(long, value_name = "NPY", conflicts_with = "seeds")]
    latent: Option<PathBuf>,
    /// Output PNG (with --seeds or a stack of latents: a folder, created if missing)
    #[arg(long = "out", value_name = "PATH")]
    output: PathBuf,
}

/// The file of `seed` in a `--seeds` folder: zero-padded to at least four digits so that the
/// files sort by seed.
pub fn seed_file(folder: &Path, seed: u64) -> PathBuf {
    folder.join(format!("seed{seed:04}.png"))
}

/// The file of the `index`-th latent of a `--latent` stack in its folder.
pub fn latent_file(folder: &Path, index: usize) -> PathBuf {
    folder.join(format!("latent{index:04}.png"))
}

/// With several images (--seeds, a stack of latents) `--out` is a folder: not an existing file.
fn check_out_folder(output: &Path, why: &str) -> Result<()> {
    if output.exists() && !output.is_dir() {
        bail!(
            "--out {}: with {why}, --out is a folder, and this is a file",
            output.display()
        );
    }
    Ok(())
}

pub fn run(args: &ImageArgs) -> Result<()> {
    let started = Instant::now();
    // Everything the user gave is checked before the first image is written.
    let seeds = match &args.seeds {
        Some(text) => Some(parse_seeds(text)?),
        None => None,
    };
    match &seeds {
        Some(_) => check_out_folder(&args.output, "--seeds")?,
        None if args.latent.is_none() => check_output_folder(&args.output)?,
        None => {} // checked below, once the latent says how many images it holds
    }
    let crate::image_io::Loaded {
        mut runtime, spec, ..
    } = args.model.load()?;
    let psi = args.model.truncation;
    let latent = match &args.latent {
        Some(path) => {
            let (rows, dim) = runtime.w_plus_shape();
            let w = read_latent(path, rows, dim)?;
            if w.dim().0 == 1 {
                check_output_folder(&args.output)?;
            } else {
                check_out_folder(&args.output, "a stack of latents")?;
            }
            Some(w)
        }
        None => None,
    };
    runtime.set_spec(&spec)?;

    if let Some(w) = latent.as_ref().filter(|w| w.dim().0 > 1) {
        return render_latent_stack(args, &mut runtime, w, started);
    }
    let Some(seeds) = seeds else {
        let image = match &latent {
            Some(w) => {
                let noise = runtime.noise_of_seeds(&[args.seed]);
                runtime.synthesize(w.view(), psi, &noise)?
            }
            None => runtime.render_seeds(&[args.seed], psi)?,
        };
        write_png(
            &args.output,
            &to_rgb(&runtime, image.index_axis(Axis(0), 0)),
        )?;
        eprintln!(
            "wrote {} (seed {}, psi {psi}) in {:.2} s",
            args.output.display(),
            args.seed,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    };

    create_folder(&args.output)?;
    let progress = bar(seeds.len() as u64, "image");
    let (h, w) = runtime.image_size();
    for chunk in seeds.chunks(batch_for(h, w)) {
        let images = runtime.render_seeds(chunk, psi)?;
        for (i, &seed) in chunk.iter().enumerate() {
            let rgb = to_rgb(&runtime, images.slice(s![i, .., .., ..]));
            write_png(&seed_file(&args.output, seed), &rgb)?;
        }
        progress.inc(chunk.len() as u64);
    }
    progress.finish_and_clear();
    report_many(seeds.len(), &args.output, started);
    Ok(())
}

/// One image per latent of a stack `[N, rows, D]`, all with the noise of `--seed` (so that only
/// the latent differs between them), into the folder `--out`: latent0000.png, ...
fn render_latent_stack(
    args: &ImageArgs,
    runtime: &mut engine::ImageRuntime,
    w: &ndarray::Array3<f32>,
    started: Instant,
) -> Result<()> {
    create_folder(&args.output)?;
    let count = w.dim().0;
    let (h, width) = runtime.image_size();
    let batch = batch_for(h, width);
    let progress = bar(count as u64, "image");
    for first in (0..count).step_by(batch) {
        let rows = first..(first + batch).min(count);
        let noise = runtime.noise_of_seeds(&vec![args.seed; rows.len()]);
        let images = runtime.synthesize(
            w.slice(s![rows.clone(), .., ..]),
            args.model.truncation,
            &noise,
        )?;
        for (i, index) in rows.enumerate() {
            let rgb = to_rgb(runtime, images.slice(s![i, .., .., ..]));
            write_png(&latent_file(&args.output, index), &rgb)?;
        }
        progress.inc((first + batch).min(count) as u64 - first as u64);
    }
    progress.finish_and_clear();
    report_many(count, &args.output, started);
    Ok(())
}

fn create_folder(folder: &Path) -> Result<()> {
    std::fs::create_dir_all(folder)
        .map_err(|e| anyhow::anyhow!("cannot create folder {}: {e}", folder.display()))
}

fn report_many(count: usize, folder: &Path, started: Instant) {
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {count} images to {} in {seconds:.2} s ({:.1} images/s)",
        folder.display(),
        count as f64 / seconds
    );
}
