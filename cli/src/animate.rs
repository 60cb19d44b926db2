//! `netbend animate`: image sequences from an image model, written as PNG frames, an animated GIF
//! and (when ffmpeg is on the PATH, `video`) an MP4, all in one output folder that appears only
//! when every file is written.
//!
//! - `sweep`: one transform's parameter from `--from` to `--to` over the frames, on a layer's
//!   channels (all, a random fraction or a cluster), as the reference implementation's animate;
//! - `fragments`: the channels of a layer ablated where 2-D Perlin noise over (channel, time)
//!   exceeds a threshold (the paper's "Fragments of Self");
//! - `interpolate`: a fixed bend while the latent moves between seeds (the paper's "Disembodied
//!   gaze").

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use engine::{BendEntry, BendSpec, ImageRuntime, Selection, Stage, Transform, compile};
use image::RgbImage;
use ndarray::{Array3, Axis};
use noise::{NoiseFn, Perlin};

use crate::image_io::{ImageModelArgs, Loaded, parse_seeds, to_rgb, write_gif, write_png};
use crate::pipeline::bar;
use crate::video::{ffmpeg_available, ffmpeg_missing_message, write_mp4};

#[derive(Args, Debug)]
pub struct AnimateArgs {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand, Debug)]
enum Mode {
    /// Sweep one transform parameter from --from to --to across the frames
    Sweep(SweepArgs),
    /// Ablate a layer's channels where Perlin noise over (channel, time) exceeds a threshold
    Fragments(FragmentsArgs),
    /// Move the latent between seeds (linearly in w) under a fixed bend
    Interpolate(InterpolateArgs),
}

#[derive(Args, Debug)]
struct Common {
    #[command(flatten)]
    model: ImageModelArgs,
    /// Image seed (z and noise); `interpolate` uses --seeds instead
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Frames (for `interpolate`: per pair of seeds)
    #[arg(long, default_value_t = 24, value_name = "N")]
    frames: usize,
    /// Frames per second of the GIF and MP4
    #[arg(long, default_value_t = 12.0)]
    fps: f64,
    /// Output folder: frame0000.png ..., animation.gif, animation.mp4 (with ffmpeg)
    #[arg(long = "out", value_name = "DIR")]
    output: PathBuf,
    /// Replace --out if it exists
    #[arg(long)]
    force: bool,
    /// Do not write the MP4 even when ffmpeg is available
    #[arg(long, conflicts_with = "mp4")]
    no_mp4: bool,
    /// Require the MP4: fail before rendering when ffmpeg is not on the PATH (by default the MP4
    /// is skipped with a note then)
    #[arg(long)]
    mp4: bool,
}

#[derive(Args, Debug)]
struct SweepArgs {
    #[command(flatten)]
    common: Common,
    /// Layer to bend (1-based; `netbend inspect` lists them)
    #[arg(long)]
    layer: usize,
    /// Transform whose parameter is swept, e.g. rotate, scalar-multiply, translate
    #[arg(long)]
    transform: String,
    /// Parameter value of the first frame
    #[arg(long, allow_negative_numbers = true)]
    from: f64,
    /// Parameter value of the last frame
    #[arg(long, allow_negative_numbers = true)]
    to: f64,
    /// Which parameter of a two-parameter transform is swept (0 or 1); the other stays neutral
    /// (translate 0, scale 1)
    #[arg(long, default_value_t = 0)]
    param_index: usize,
    /// Only this cluster of the layer (from --clusters, else the manifest's `general` map;
    /// default: every channel)
    #[arg(long, conflicts_with = "random")]
    cluster: Option<usize>,
    /// Only this fraction of the channels, drawn from --bend-seed
    #[arg(long, value_name = "FRACTION")]
    random: Option<f64>,
    /// Seed of the random channel selection
    #[arg(long, default_value_t = 0)]
    bend_seed: u64,
}

#[derive(Args, Debug)]
struct FragmentsArgs {
    #[command(flatten)]
    common: Common,
    /// Layer whose channels are ablated
    #[arg(long)]
    layer: usize,
    /// A channel is ablated while its noise value exceeds this (Perlin noise lies in about
    /// [-1, 1]; 0 ablates about half)
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    threshold: f64,
    /// Noise time step per frame (smaller = slower changes)
    #[arg(long, default_value_t = 0.15)]
    speed: f64,
    /// Noise distance between neighbouring channels
    #[arg(long, default_value_t = 0.35)]
    spread: f64,
    /// Seed of the Perlin noise
    #[arg(long, default_value_t = 0)]
    noise_seed: u32,
}

#[derive(Args, Debug)]
struct InterpolateArgs {
    #[command(flatten)]
    common: Common,
    /// The seeds visited in order, at least two: `3,8,21` or `0-4`; the noise stays that of the
    /// first
    #[arg(long, value_name = "LIST")]
    seeds: String,
}

pub fn run(args: &AnimateArgs) -> Result<()> {
    match &args.mode {
        Mode::Sweep(a) => sweep(a),
        Mode::Fragments(a) => fragments(a),
        Mode::Interpolate(a) => interpolate(a),
    }
}

/// The swept entry's parameters at `value`.
fn sweep_params(stage: Stage, index: usize, value: f64) -> Result<Vec<f64>> {
    let names = stage.param_names();
    if names.is_empty() {
        bail!(
            "--transform {}: it has no parameter to sweep (transforms with one: {})",
            stage.name(),
            Stage::ALL
                .iter()
                .filter(|s| !s.param_names().is_empty())
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    if index >= names.len() {
        bail!(
            "--param-index {index}: {} has {} parameter(s) ({}), allowed 0..={}",
            stage.name(),
            names.len(),
            names.join(", "),
            names.len() - 1
        );
    }
    let neutral = if stage == Stage::Scale { 1.0 } else { 0.0 };
    let mut params = vec![neutral; names.len()];
    params[index] = value;
    Ok(params)
}

fn sweep(args: &SweepArgs) -> Result<()> {
    let c = &args.common;
    let stage = Stage::from_name(&args.transform).with_context(|| {
        format!(
            "--transform `{}` is not a transform (allowed: {})",
            args.transform,
            Stage::all_names()
        )
    })?;
    let Loaded {
        mut runtime,
        spec: base,
        clusters,
    } = c.model.load()?;
    let selection = match (args.cluster, args.random) {
        (Some(index), _) => Selection::Cluster {
            index,
            map: clusters,
        },
        (None, Some(fraction)) => Selection::Random { fraction },
        (None, None) => Selection::All,
    };
    let frames = c.frames;
    let value = |i: usize| {
        let t = if frames > 1 {
            i as f64 / (frames - 1) as f64
        } else {
            0.0
        };
        args.from + (args.to - args.from) * t
    };
    let specs = (0..frames)
        .map(|i| {
            let params = sweep_params(stage, args.param_index, value(i))?;
            let transform = Transform::new(stage, &params).map_err(|e| {
                anyhow::anyhow!("--transform {} at {}: {e}", stage.name(), value(i))
            })?;
            let mut spec = base.clone();
            spec.entries.push(
                BendEntry::new(args.layer, transform, selection.clone()).with_seed(args.bend_seed),
            );
            Ok(spec)
        })
        .collect::<Result<Vec<_>>>()?;
    let w = runtime.w_plus_of_seeds(&[c.seed])?;
    let noise = runtime.noise_of_seeds(&[c.seed]);
    render(c, &mut runtime, &specs, |_, _| {
        Ok((w.clone(), noise.clone()))
    })
}

fn fragments(args: &FragmentsArgs) -> Result<()> {
    let c = &args.common;
    let Loaded {
        mut runtime,
        spec: base,
        ..
    } = c.model.load()?;
    let channels = match runtime.model().layer(args.layer) {
        Some(l) => l.channels,
        None => bail!(
            "--layer {} is out of range for model `{}`: allowed 1..={}",
            args.layer,
            runtime.model().manifest().name,
            runtime.model().layers().len()
        ),
    };
    let perlin = Perlin::new(args.noise_seed);
    let specs: Vec<BendSpec> = (0..c.frames)
        .map(|t| {
            // Offsets of 0.5 keep samples off the lattice, where Perlin noise is always 0.
            let ablated: Vec<usize> = (0..channels)
                .filter(|&ch| {
                    perlin.get([ch as f64 * args.spread + 0.5, t as f64 * args.speed + 0.5])
                        > args.threshold
                })
                .collect();
            let mut spec = base.clone();
            if !ablated.is_empty() {
                let ablate = Transform::new(Stage::Ablate, &[]).expect("ablate has no params");
                spec.entries.push(BendEntry::new(
                    args.layer,
                    ablate,
                    Selection::Channels(ablated),
                ));
            }
            spec
        })
        .collect();
    let w = runtime.w_plus_of_seeds(&[c.seed])?;
    let noise = runtime.noise_of_seeds(&[c.seed]);
    render(c, &mut runtime, &specs, |_, _| {
        Ok((w.clone(), noise.clone()))
    })
}

fn interpolate(args: &InterpolateArgs) -> Result<()> {
    let c = &args.common;
    let seeds = parse_seeds(&args.seeds)?;
    if seeds.len() < 2 {
        bail!(
            "--seeds: interpolation needs at least two seeds, got {}",
            seeds.len()
        );
    }
    let Loaded {
        mut runtime, spec, ..
    } = c.model.load()?;
    let ws = runtime.w_plus_of_seeds(&seeds)?;
    let noise = runtime.noise_of_seeds(&seeds[..1]);
    let per = c.frames.max(1);
    let total = (seeds.len() - 1) * per + 1;
    let specs = vec![spec; total];
    render(c, &mut runtime, &specs, |_, i| {
        // Frame i lies in segment i / per at fraction (i % per) / per; the last frame is the
        // last seed exactly.
        let (segment, t) = if i + 1 == total {
            (seeds.len() - 2, 1.0)
        } else {
            (i / per, (i % per) as f32 / per as f32)
        };
        let a = ws.index_axis(Axis(0), segment);
        let b = ws.index_axis(Axis(0), segment + 1);
        let w = (&a * (1.0 - t) + &b * t).insert_axis(Axis(0));
        Ok((w, noise.clone()))
    })
}

/// Renders one frame per spec into a temporary sibling of `--out`, adds the GIF (and MP4), then
/// renames the folder into place: on any error nothing is left under `--out`.
fn render(
    c: &Common,
    runtime: &mut ImageRuntime,
    specs: &[BendSpec],
    mut latent: impl FnMut(&mut ImageRuntime, usize) -> Result<(Array3<f32>, Vec<ndarray::Array4<f32>>)>,
) -> Result<()> {
    let started = Instant::now();
    if c.frames == 0 || c.frames > 100_000 {
        bail!("--frames must be in 1..=100000, got {}", c.frames);
    }
    if !(c.fps > 0.0 && c.fps <= 100.0) {
        bail!("--fps must be in (0, 100], got {}", c.fps);
    }
    if c.output.exists() && !c.force {
        bail!(
            "--out {} exists; pass --force to replace it",
            c.output.display()
        );
    }
    let mp4 = !c.no_mp4 && ffmpeg_available();
    if !mp4 && !c.no_mp4 {
        if c.mp4 {
            bail!("--mp4: {}", ffmpeg_missing_message());
        }
        eprintln!(
            "netbend: note: {} to get animation.mp4 too (the PNG frames and GIF are written)",
            ffmpeg_missing_message()
        );
    }
    // Every frame's bend is checked before anything is rendered.
    for spec in specs {
        compile(spec, runtime.model().manifest())?;
    }
    let parent = match c.output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !parent.is_dir() {
        bail!(
            "cannot write {}: folder {} does not exist",
            c.output.display(),
            parent.display()
        );
    }
    let name = c
        .output
        .file_name()
        .with_context(|| format!("--out {}: not a folder path", c.output.display()))?
        .to_string_lossy()
        .into_owned();
    let temp = parent.join(format!(".{name}.partial-{}", std::process::id()));
    let result = (|| -> Result<usize> {
        std::fs::create_dir(&temp).with_context(|| format!("cannot create {}", temp.display()))?;
        let progress = bar(specs.len() as u64, "animate");
        let mut frames: Vec<RgbImage> = Vec::with_capacity(specs.len());
        for (i, spec) in specs.iter().enumerate() {
            runtime.set_spec(spec)?;
            let (w, noise) = latent(runtime, i)?;
            let psi = c.model.truncation;
            let image = runtime.synthesize(w.view(), psi, &noise)?;
            let rgb = to_rgb(runtime, image.index_axis(Axis(0), 0));
            write_png(&temp.join(format!("frame{i:04}.png")), &rgb)?;
            frames.push(rgb);
            progress.inc(1);
        }
        progress.finish_and_clear();
        write_gif(&temp.join("animation.gif"), &frames, c.fps)?;
        if mp4 {
            write_mp4(&temp.join("animation.mp4"), &frames, c.fps)?;
        }
        Ok(frames.len())
    })();
    let count = match result {
        Ok(n) => n,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&temp);
            return Err(e);
        }
    };
    if c.output.exists() {
        std::fs::remove_dir_all(&c.output)
            .with_context(|| format!("cannot replace {}", c.output.display()))?;
    }
    std::fs::rename(&temp, &c.output).with_context(|| {
        let _ = std::fs::remove_dir_all(&temp);
        format!("cannot move the frames to {}", c.output.display())
    })?;
    eprintln!(
        "wrote {count} frames, animation.gif{} to {} in {:.1} s",
        if mp4 { ", animation.mp4" } else { "" },
        c.output.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
