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
    /// A projected latent (.npy, float32/64): [D] (one w) or [rows, D] (w+); --seed then only
    /// chooses the noise
    #[arg(long, value_name = "NPY", conflicts_with = "seeds")]
    latent: Option<PathBuf>,
    /// Output PNG (with --seeds: a folder, created if missing)
    #[arg(long = "out", value_name = "PATH")]
    output: PathBuf,
}

/// The file of `seed` in a `--seeds` folder: zero-padded to at least four digits so that the
/// files sort by seed.
pub fn seed_file(folder: &Path, seed: u64) -> PathBuf {
    folder.join(format!("seed{seed:04}.png"))
}

pub fn run(args: &ImageArgs) -> Result<()> {
    let started = Instant::now();
    // Everything the user gave is checked before the first image is written.
    let seeds = match &args.seeds {
        Some(text) => Some(parse_seeds(text)?),
        None => None,
    };
    match &seeds {
        Some(_) => {
            if args.output.exists() && !args.output.is_dir() {
                bail!(
                    "--out {}: with --seeds, --out is a folder, and this is a file",
                    args.output.display()
                );
            }
        }
        None => check_output_folder(&args.output)?,
    }
    let crate::image_io::Loaded {
        mut runtime, spec, ..
    } = args.model.load()?;
    let psi = args.model.truncation;
    let latent = match &args.latent {
        Some(path) => {
            let (rows, dim) = runtime.w_plus_shape();
            Some(read_latent(path, rows, dim)?)
        }
        None => None,
    };
    runtime.set_spec(&spec)?;

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

    std::fs::create_dir_all(&args.output)
        .map_err(|e| anyhow::anyhow!("cannot create folder {}: {e}", args.output.display()))?;
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
    let seconds = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} images to {} in {seconds:.2} s ({:.1} images/s)",
        seeds.len(),
        args.output.display(),
        seeds.len() as f64 / seconds
    );
    Ok(())
}
