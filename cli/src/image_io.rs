//! What `netbend image` and `netbend animate` share: the model options, loading the image
//! runtime, seed ranges, projected latents (.npy), and atomic PNG/GIF writing.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use engine::{
    BendConfig, BendSpec, ClusterFile, ClusterSource, Device, ImageRuntime, Model, RuntimeOptions,
    Selection, load_config,
};
use image::RgbImage;
use ndarray::{Array3, ArrayView3};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DeviceArg {
    Cpu,
    /// CUDA device 0; falls back to the CPU with a note when unavailable
    Cuda,
}

/// Options of the commands that run an image model.
#[derive(Args, Debug, Clone)]
pub struct ImageModelArgs {
    /// Image model directory (a stylegan2 export: manifest.json, mapping.onnx, decoder.onnx)
    /// [default: the shipped demo generator, models/stylegan2-demo/, or NETBEND_IMAGE_MODEL_DIR]
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Bend config applied to every image (neutral without one)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A cluster file in the reference format (e.g. the model's clusters.yaml): `features:
    /// cluster` entries (and `animate sweep --cluster`) select from it instead of the manifest's
    /// cluster map
    #[arg(long, value_name = "FILE")]
    pub clusters: Option<PathBuf>,
    /// Truncation psi: 1 = no truncation, 0 = the model's mean latent
    #[arg(long, default_value_t = 1.0, value_name = "PSI")]
    pub truncation: f32,
    /// ONNX Runtime intra-op threads [default: one per core]
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Execution provider
    #[arg(long, value_enum, default_value_t = DeviceArg::Cpu)]
    pub device: DeviceArg,
}

/// A loaded image model with the config's bend and where cluster selections come from.
pub struct Loaded {
    pub runtime: ImageRuntime,
    pub spec: BendSpec,
    pub clusters: ClusterSource,
}

impl ImageModelArgs {
    /// Checks the options, loads the model and its runtime (notes such as a CUDA fallback are
    /// printed), the cluster file and the config's bend.
    pub fn load(&self) -> Result<Loaded> {
        if self.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        if !(self.truncation.is_finite() && (-1.0..=2.0).contains(&self.truncation)) {
            bail!(
                "--truncation must be in [-1, 2] (1 = none, 0 = the mean latent), got {}",
                self.truncation
            );
        }
        let dir = self
            .model
            .clone()
            .unwrap_or_else(engine::default_image_model_dir);
        let model = Model::load(&dir)?;
        let options = RuntimeOptions {
            intra_threads: self.threads,
            device: match self.device {
                DeviceArg::Cpu => Device::Cpu,
                DeviceArg::Cuda => Device::Cuda { device_id: 0 },
            },
            ..RuntimeOptions::default()
        };
        let runtime = ImageRuntime::new(model, &options)?;
        for note in runtime.notes() {
            eprintln!("netbend: note: {note}");
        }
        let manifest = runtime.model().manifest();
        let file_clusters = match &self.clusters {
            Some(path) => Some(ClusterFile::read(path)?.per_layer(manifest)?),
            None => None,
        };
        let spec = match (&self.config, &file_clusters) {
            (None, _) => BendSpec::neutral(),
            (Some(path), None) => load_config(path, manifest)?,
            (Some(path), Some(per_layer)) => {
                // The config's cluster indices are checked against the file: a copy of the
                // manifest whose every cluster map is the file's clusters.
                let mut patched = manifest.clone();
                let as_map: std::collections::BTreeMap<String, Vec<Vec<usize>>> = per_layer
                    .iter()
                    .enumerate()
                    .map(|(i, c)| ((i + 1).to_string(), c.clone()))
                    .collect();
                let names: Vec<String> = patched.clusters.keys().cloned().collect();
                for name in names.into_iter().chain(["general".to_string()]) {
                    patched.clusters.insert(name, as_map.clone());
                }
                let mut spec = BendConfig::read(path)?.to_spec(&patched)?;
                for entry in &mut spec.entries {
                    if let Selection::Cluster { map, .. } = &mut entry.selection {
                        if matches!(map, ClusterSource::Explicit(_)) {
                            bail!(
                                "{} names its own `cluster-file` and --clusters gives another: \
                                 keep one",
                                path.display()
                            );
                        }
                        *map = ClusterSource::Explicit(per_layer.clone());
                    }
                }
                spec
            }
        };
        let clusters = match file_clusters {
            Some(per_layer) => ClusterSource::Explicit(per_layer),
            None => ClusterSource::Manifest("general".into()),
        };
        Ok(Loaded {
            runtime,
            spec,
            clusters,
        })
    }
}

/// Images per decoder call for `h x w` images: 8 up to 64x64, fewer above, 1 from 256x256 on.
/// Every activation of a batch is held at once: at 256 px one image's run peaked at 1.3 GB and
/// a batch of 8 at 13.4 GB (docs/performance.md, "Images"), so large models go one image at a time.
pub fn batch_for(h: usize, w: usize) -> usize {
    (8 * 64 * 64 / (h * w).max(1)).clamp(1, 8)
}

/// `"42"`, `"0-99"` (inclusive) or a comma list of those, e.g. `"1,5,10-12"`; in order, at most
/// 100000 seeds.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>> {
    let mut seeds = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let number = |s: &str| -> Result<u64> {
            s.trim().parse::<u64>().with_context(|| {
                format!("--seeds: `{s}` is not a seed (expected N, A-B or a comma list of those)")
            })
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (number(a)?, number(b)?);
                if a > b {
                    bail!("--seeds: range {a}-{b} is empty (start after end)");
                }
                if b - a >= 100_000 || seeds.len() as u64 + (b - a) >= 100_000 {
                    bail!("--seeds: more than 100000 seeds");
                }
                seeds.extend(a..=b);
            }
            None => seeds.push(number(part)?),
        }
    }
    Ok(seeds)
}

/// Projected latents from a .npy file (float32 or float64), as `[N, rows, D]` w+ (one image
/// each):
/// - `[D]`: one w (repeated on every row), `[rows, D]` or `[1, rows, D]`: one w+;
/// - a stack: `[N, D]` with N other than `rows` (N w's; a stack of exactly `rows` w's is
///   written `[N, 1, D]`), `[N, 1, D]` (N w's) or `[N, rows, D]` (N w+'s).
pub fn read_latent(path: &Path, rows: usize, dim: usize) -> Result<Array3<f32>> {
    let context = || format!("cannot read the latent {}", path.display());
    let file = std::fs::File::open(path).with_context(context)?;
    let array: ndarray::ArrayD<f32> = match ndarray_npy::ReadNpyExt::read_npy(&file) {
        Ok(a) => a,
        Err(first) => {
            let file = std::fs::File::open(path).with_context(context)?;
            let a: ndarray::ArrayD<f64> = ndarray_npy::ReadNpyExt::read_npy(file)
                .map_err(|_| anyhow::anyhow!("{first}"))
                .with_context(|| {
                    format!("{} is not a float32 or float64 .npy array", path.display())
                })?;
            a.mapv(|v| v as f32)
        }
    };
    let shape = array.shape().to_vec();
    let wrong = || {
        anyhow::anyhow!(
            "{}: latent of shape {shape:?}; this model takes [{dim}] (a w), [{rows}, {dim}] or \
             [1, {rows}, {dim}] (a w+), [N, {dim}] or [N, 1, {dim}] (N w's), [N, {rows}, {dim}] \
             (N w+'s)",
            path.display()
        )
    };
    let w = match *shape.as_slice() {
        [d] if d == dim => {
            let w = array.into_shape_with_order((1, dim)).map_err(|_| wrong())?;
            engine::image::broadcast_rows(w.view(), rows)
        }
        [r, d] if r == rows && d == dim => array
            .into_shape_with_order((1, rows, dim))
            .map_err(|_| wrong())?,
        [n, d] if n > 0 && d == dim => {
            let w = array.into_shape_with_order((n, dim)).map_err(|_| wrong())?;
            engine::image::broadcast_rows(w.view(), rows)
        }
        [n, 1, d] if n > 0 && d == dim => {
            let w = array.into_shape_with_order((n, dim)).map_err(|_| wrong())?;
            engine::image::broadcast_rows(w.view(), rows)
        }
        [n, r, d] if n > 0 && r == rows && d == dim => array
            .into_shape_with_order((n, rows, dim))
            .map_err(|_| wrong())?,
        _ => return Err(wrong()),
    };
    if let Some(v) = w.iter().find(|v| !v.is_finite()) {
        bail!(
            "{}: the latent holds a non-finite value ({v})",
            path.display()
        );
    }
    Ok(w)
}

/// One image `[3, H, W]` of the runtime's model as an 8-bit RGB picture.
pub fn to_rgb(runtime: &ImageRuntime, image: ArrayView3<f32>) -> RgbImage {
    let (_, h, w) = image.dim();
    let pixels = engine::image_to_rgb8(image, runtime.value_range());
    RgbImage::from_raw(w as u32, h as u32, pixels).expect("h * w * 3 bytes")
}

/// Writes `path` through a temporary file in the same folder renamed into place, so that a
/// failed or interrupted write never leaves a partial file under the final name.
pub fn write_atomically(path: &Path, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .with_context(|| format!("{}: not a file path", path.display()))?;
    let temp = folder.join(format!(
        ".{}.{}.partial",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = write(&temp).and_then(|()| std::fs::rename(&temp, path).map_err(Into::into));
    if let Err(e) = result {
        let _ = std::fs::remove_file(&temp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

pub fn write_png(path: &Path, image: &RgbImage) -> Result<()> {
    write_atomically(path, |temp| {
        image
            .save_with_format(temp, image::ImageFormat::Png)
            .map_err(Into::into)
    })
}

/// An animated GIF of `frames` at `fps`, looping forever.
pub fn write_gif(path: &Path, frames: &[RgbImage], fps: f64) -> Result<()> {
    use image::codecs::gif::{GifEncoder, Repeat};
    use image::{Delay, Frame};
    write_atomically(path, |temp| {
        let file = std::io::BufWriter::new(std::fs::File::create(temp)?);
        let mut encoder = GifEncoder::new_with_speed(file, 10);
        encoder.set_repeat(Repeat::Infinite)?;
        let delay = Delay::from_numer_denom_ms((1000.0 / fps).round().max(1.0) as u32, 1);
        for frame in frames {
            let rgba = image::DynamicImage::ImageRgb8(frame.clone()).into_rgba8();
            encoder.encode_frame(Frame::from_parts(rgba, 0, 0, delay))?;
        }
        Ok(())
    })
}

/// Checks before any rendering that `path`'s folder exists, so that a typo fails at once.
pub fn check_output_folder(path: &Path) -> Result<()> {
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !folder.is_dir()
    {
        bail!(
            "cannot write {}: folder {} does not exist",
            path.display(),
            folder.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_shrink_with_the_image() {
        assert_eq!(batch_for(16, 16), 8);
        assert_eq!(batch_for(64, 64), 8);
        assert_eq!(batch_for(128, 128), 2);
        assert_eq!(batch_for(256, 256), 1);
        assert_eq!(batch_for(1024, 1024), 1);
    }

    #[test]
    fn seed_lists_and_ranges() {
        assert_eq!(parse_seeds("42").unwrap(), [42]);
        assert_eq!(parse_seeds("0-3").unwrap(), [0, 1, 2, 3]);
        assert_eq!(parse_seeds("1, 5,10-12").unwrap(), [1, 5, 10, 11, 12]);
        for bad in ["", "a", "3-1", "1-", "-4", "0-100000"] {
            assert!(parse_seeds(bad).is_err(), "{bad}");
        }
    }
}
