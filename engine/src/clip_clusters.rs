//! Per-clip clustering "on the fly" (Entropy 2022 Sec. 4, the first approach): run the model on
//! one clip, embed every feature's activation map with its layer's embedding CNN, average per
//! feature over the clip's windows and cluster with k-means. The result replaces the manifest's
//! general clusters in bend configs (`netbend render --clusters`).
//!
//! The steps match the Python reference `python -m netbend_models.clustering.clip_clusters`
//! exactly (docs/model-manifest.md, "Per-clip clustering"):
//!
//! 1. audio at the model rate, mixed to mono; STFT, db-minmax normalisation with the manifest's
//!    constants; windows of `window_frames` frames every `window_frames / 2` with the normalised
//!    value of silence as padding (`dsp::WindowLayout`, as `netbend render` cuts them);
//! 2. encoder, decoder on `mu` with every bend neutral; each layer's `act.L{l}` `[B, C, H, W]`;
//! 3. every map as a 1-channel image `[B * C, 1, H, W]` (raw float32 values, no normalisation)
//!    through `embed.L{l}.onnx` -> `[B * C, D]`;
//! 4. per feature, the mean (in f64) of its float32 embeddings over all windows;
//! 5. per layer, k-means (crate::kmeans) on the `C` means with `k = min(k_l, C)` and the seed;
//!    cluster `j` lists the channels labelled `j`; empty clusters are dropped.
//!
//! [`ClipClusterer`] builds its sessions once and is `Send`, so a plugin can own one on a
//! background thread and call [`ClipClusterer::cluster_audio`] on its last seconds of input.

use crate::clustering::{ClusterMap, ClusteringInfo};
use crate::error::{Error, Result};
use crate::kmeans::{Points, clusters_from_labels, kmeans};
use crate::model::{MANIFEST_FILE, Model};
use crate::model_runtime::output_array;
use crate::onnxruntime;
use crate::runtime::Runtime;
use crate::runtime_options::RuntimeOptions;
use ndarray::{Array2, Array3, ArrayView3, s};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::TensorRef;

/// Windows per model and embedding call: as `netbend render` batches them.
pub const BATCH: usize = 8;

/// Map values per embedding call at most (16 maps of layer 4's 64x257): ONNX Runtime keeps each
/// session's peak working memory, which grows with the rows per call (measured: 63 maps of layer
/// 4 -> +150 MB, 128 -> +380 MB).
const MAX_EMBED_VALUES: usize = 1 << 18;

/// How to cluster: clusters per layer and the Forgy seed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClipClusterOptions {
    /// Clusters per layer in layer order; `None` takes the manifest's `clustering.k`. A count
    /// above a layer's channel count is capped at it.
    pub k: Option<Vec<usize>>,
    /// `None` takes the manifest's `clustering.seed`.
    pub seed: Option<u64>,
}

/// Progress of [`ClipClusterer::embed_windows`]: windows done of all. Returning `false` stops
/// the work with an error (a plugin cancelling a stale request).
pub type Progress<'a> = &'a mut dyn FnMut(usize, usize) -> bool;

/// The model's runtime (neutral bend) and one embedding session per layer, built once.
pub struct ClipClusterer {
    runtime: Runtime,
    info: ClusteringInfo,
    embedders: Vec<Session>,
    norm: dsp::Normalisation,
    window: usize,
}

impl ClipClusterer {
    /// Builds the model's sessions and its embedding CNNs' (`clustering.embeddings`).
    pub fn new(model: Model, options: &RuntimeOptions) -> Result<ClipClusterer> {
        let manifest_path = model.dir().join(MANIFEST_FILE);
        let info = ClusteringInfo::from_manifest(model.manifest(), &manifest_path)?;
        let m = model.manifest();
        let signal = m.signal.as_ref().ok_or_else(|| {
            Error::Model(format!(
                "{}: model `{}` is not an audio model (no `signal`); per-clip clustering reads audio",
                manifest_path.display(),
                m.name
            ))
        })?;
        let norm = match &m.normalisation {
            Some(n) => dsp::Normalisation::new(n.amin as f32, n.db_min as f32, n.db_max as f32)
                .map_err(|e| {
                    Error::Model(format!(
                        "{}: field `normalisation`: {e}",
                        manifest_path.display()
                    ))
                })?,
            None => dsp::Normalisation::default(),
        };
        let window = signal.window_frames;
        if window < 2 || !window.is_multiple_of(2) {
            return Err(Error::Model(format!(
                "{}: field `signal.window_frames`: {window} must be even and at least 2",
                manifest_path.display()
            )));
        }
        let (env, _) = onnxruntime::environment(&options.library_dirs)?;
        let mut embedders = Vec::new();
        for (layer, e) in model.layers().iter().zip(&info.embeddings) {
            let path = model.dir().join(&e.file);
            if !path.is_file() {
                return Err(Error::Model(format!(
                    "{}: field `clustering.embeddings.{}.file`: {} missing",
                    manifest_path.display(),
                    layer.index,
                    path.display()
                )));
            }
            let what = format!(
                "cannot build an ONNX Runtime session for {}",
                path.display()
            );
            let err = |e: &dyn std::fmt::Display| Error::Runtime(format!("{what}: {e}"));
            let mut builder = Session::builder(&env).map_err(|e| err(&e))?;
            builder = builder
                .with_optimization_level(GraphOptimizationLevel::All)
                .map_err(|e| err(&e))?;
            if let Some(n) = options.intra_threads {
                builder = builder.with_intra_threads(n).map_err(|e| err(&e))?;
            }
            let session = builder.commit_from_file(&path).map_err(|e| err(&e))?;
            let has =
                |ports: &[ort::value::Outlet], name: &str| ports.iter().any(|o| o.name() == name);
            if !has(session.inputs(), &e.input) || !has(session.outputs(), &e.output) {
                return Err(Error::Model(format!(
                    "{}: the graph has no input `{}` or no output `{}` (clustering.embeddings.{})",
                    path.display(),
                    e.input,
                    e.output,
                    layer.index
                )));
            }
            embedders.push(session);
        }
        let runtime = Runtime::new(model, options)?;
        Ok(ClipClusterer {
            runtime,
            info,
            embedders,
            norm,
            window,
        })
    }

    pub fn info(&self) -> &ClusteringInfo {
        &self.info
    }

    pub fn model(&self) -> &Model {
        self.runtime.model()
    }

    /// The normalised windows `[count, window_frames, bins]` of a mono signal at the model rate,
    /// cut as `netbend render` cuts them (step 1 of the module docs).
    pub fn windows(&self, mono: &[f32]) -> Array3<f32> {
        let mut stft = dsp::Stft::new(dsp::StftConfig::default());
        let magnitude = stft.analyse(mono).magnitudes();
        let bins = dsp::StftConfig::default().n_fft / 2 + 1;
        let mut normalised = vec![0.0; magnitude.len()];
        self.norm.normalise_slice(&magnitude, &mut normalised);
        let layout = dsp::WindowLayout::new(magnitude.len() / bins, self.window);
        let data = layout.split(&normalised, bins, self.norm.normalise(0.0));
        Array3::from_shape_vec((layout.count, self.window, bins), data)
            .expect("split returns [count, window, bins]")
    }

    /// Mean embedding `[C_l, D]` (f64) of every feature of every layer over `windows` (steps 2-4).
    pub fn embed_windows(
        &mut self,
        windows: ArrayView3<f32>,
        progress: Progress,
    ) -> Result<Vec<Array2<f64>>> {
        let count = windows.dim().0;
        if count == 0 {
            return Err(Error::Runtime(
                "per-clip clustering needs at least one window of audio".into(),
            ));
        }
        self.runtime.clear_bend()?;
        let dim = self.info.embedding_dim;
        let mut sums: Vec<Array2<f64>> = self
            .model()
            .layers()
            .iter()
            .map(|l| Array2::zeros((l.channels, dim)))
            .collect();
        let mut start = 0;
        while start < count {
            let end = (start + BATCH).min(count);
            let acts = self
                .runtime
                .activations(windows.slice(s![start..end, .., ..]))?;
            for (l, act) in acts.iter().enumerate() {
                let (b, c, h, w) = act.dim();
                let maps = act.as_standard_layout();
                let maps = maps.as_slice().expect("standard layout");
                let rows = b * c;
                // Bounded calls: all of a batch's layer-4 maps at once made the CNN's first
                // feature maps take ~1.5 GB; each row's embedding does not depend on the others.
                let chunk = (MAX_EMBED_VALUES / (h * w)).max(1);
                let mut first = 0;
                while first < rows {
                    let last = (first + chunk).min(rows);
                    let emb = self.embed_maps(
                        l,
                        &maps[first * h * w..last * h * w],
                        [last - first, 1, h, w],
                    )?;
                    // Row window * C + channel: sum each channel's rows in window order.
                    for (i, v) in emb.outer_iter().enumerate() {
                        let mut acc = sums[l].row_mut((first + i) % c);
                        for (a, x) in acc.iter_mut().zip(v) {
                            *a += f64::from(*x);
                        }
                    }
                    first = last;
                }
            }
            start = end;
            if !progress(start, count) {
                return Err(Error::Runtime("per-clip clustering was cancelled".into()));
            }
        }
        for s in &mut sums {
            s.mapv_inplace(|x| x / count as f64);
        }
        Ok(sums)
    }

    /// Layer `l`'s (0-based) embedding CNN on maps of `shape` `[N, 1, H, W]`: `[N, D]`.
    fn embed_maps(&mut self, l: usize, maps: &[f32], shape: [usize; 4]) -> Result<Array2<f32>> {
        let dim = self.info.embedding_dim;
        let e = &self.info.embeddings[l];
        let what = format!("embedding CNN {} (layer {})", e.file, l + 1);
        let input = TensorRef::from_array_view((shape, maps))
            .map_err(|err| Error::Runtime(format!("{what}: cannot make the input: {err}")))?;
        let outputs = self.embedders[l]
            .run(ort::inputs![e.input.as_str() => input])
            .map_err(|err| Error::Runtime(format!("{what} failed: {err}")))?;
        let emb: Array2<f32> = output_array(&outputs, &what, &e.output)?;
        if emb.dim() != (shape[0], dim) {
            return Err(Error::Runtime(format!(
                "{what}: output `{}` has shape {:?}, expected [{}, {dim}] (clustering.embedding_dim)",
                e.output,
                emb.dim(),
                shape[0]
            )));
        }
        Ok(emb)
    }

    /// k-means per layer on mean embeddings (step 5).
    pub fn cluster_embeddings(
        &self,
        embeddings: &[Array2<f64>],
        options: &ClipClusterOptions,
    ) -> Result<ClusterMap> {
        let n_layers = self.model().layers().len();
        let k = options.k.clone().unwrap_or_else(|| self.info.k.clone());
        if k.len() != n_layers || k.contains(&0) {
            return Err(Error::Bend(format!(
                "cluster counts {k:?}: need one count of at least 1 per layer ({n_layers} layers)"
            )));
        }
        let seed = options.seed.unwrap_or(self.info.seed);
        let mut layers = Vec::new();
        for (l, e) in embeddings.iter().enumerate() {
            let e = e.as_standard_layout();
            let points = Points::new(e.as_slice().expect("standard layout"), e.ncols())?;
            let kl = k[l].min(points.len());
            let result = kmeans(points, kl, seed, self.info.max_iter)
                .map_err(|err| Error::Bend(format!("layer {}: {err}", l + 1)))?;
            let clusters: Vec<Vec<usize>> = clusters_from_labels(&result.labels, kl)
                .into_iter()
                .filter(|c| !c.is_empty())
                .collect();
            layers.push(clusters);
        }
        Ok(ClusterMap { layers })
    }

    /// Clusters a clip given as channels at `rate` Hz: mixed to mono, resampled to the model rate,
    /// then steps 1-5. The call a plugin's "cluster this audio" action makes on its thread.
    pub fn cluster_audio(
        &mut self,
        channels: &[Vec<f32>],
        rate: u32,
        options: &ClipClusterOptions,
        progress: Progress,
    ) -> Result<ClusterMap> {
        let embeddings = self.embed_audio(channels, rate, progress)?;
        self.cluster_embeddings(&embeddings.means, options)
    }

    /// Steps 1-4 on audio at any rate (channels mixed to mono): the mean embeddings and how
    /// many windows they average. `progress(done, total)` counts windows.
    pub fn embed_audio(
        &mut self,
        channels: &[Vec<f32>],
        rate: u32,
        progress: Progress,
    ) -> Result<ClipEmbeddings> {
        let mono = mix_to_mono(channels);
        let mono = dsp::resample(&mono, rate, dsp::MODEL_SAMPLE_RATE).map_err(|e| {
            Error::Runtime(format!("cannot resample {rate} Hz to the model rate: {e}"))
        })?;
        let windows = self.windows(&mono);
        let means = self.embed_windows(windows.view(), progress)?;
        Ok(ClipEmbeddings {
            means,
            windows: windows.dim().0,
        })
    }
}

/// A clip's mean embeddings per layer (`[C_l, D]`, f64) over its `windows` windows.
pub struct ClipEmbeddings {
    pub means: Vec<Array2<f64>>,
    pub windows: usize,
}

/// The mean of the channels (the Python side's `data.mean(axis=1)`, in f32 like soundfile's
/// float32 read).
pub fn mix_to_mono(channels: &[Vec<f32>]) -> Vec<f32> {
    match channels {
        [] => Vec::new(),
        [one] => one.clone(),
        _ => {
            let n = channels.iter().map(|c| c.len()).min().unwrap_or(0);
            (0..n)
                .map(|i| channels.iter().map(|c| c[i]).sum::<f32>() / channels.len() as f32)
                .collect()
        }
    }
}

#[allow(dead_code)]
fn clip_clusterer_is_send() {
    fn send<T: Send>() {}
    send::<ClipClusterer>();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::default_model_dir;

    fn clusterer() -> ClipClusterer {
        let model = Model::load(default_model_dir()).expect("the shipped model models/vae");
        let options = RuntimeOptions {
            intra_threads: Some(1),
            ..RuntimeOptions::default()
        };
        ClipClusterer::new(model, &options).unwrap()
    }

    /// 1.5 s of a decaying 220 Hz tone with a click every 0.25 s, at 48 kHz stereo.
    fn clip() -> Vec<Vec<f32>> {
        let left: Vec<f32> = (0..72_000)
            .map(|i| {
                let t = i as f32 / 48_000.0;
                let click = if i % 12_000 < 40 { 0.8 } else { 0.0 };
                0.3 * (std::f32::consts::TAU * 220.0 * t).sin() * (-t).exp() + click
            })
            .collect();
        let right = left.iter().map(|x| 0.5 * x).collect();
        vec![left, right]
    }

    #[test]
    fn cluster_audio_partitions_every_layer_and_reports_progress() {
        let mut c = clusterer();
        let mut calls = Vec::new();
        let options = ClipClusterOptions {
            k: Some(vec![3, 3, 2, 2]),
            seed: Some(9),
        };
        let map = c
            .cluster_audio(&clip(), 48_000, &options, &mut |done, total| {
                calls.push((done, total));
                true
            })
            .unwrap();
        // 1.5 s at 44.1 kHz: 262 frames -> ceil(262 / 64) + 1 = 6 windows, batches of 8.
        assert_eq!(calls, [(6, 6)]);
        for (layer, clusters) in c.model().layers().iter().zip(&map.layers) {
            let mut all: Vec<usize> = clusters.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(
                all,
                (0..layer.channels).collect::<Vec<_>>(),
                "layer {}",
                layer.index
            );
            assert!(clusters.len() <= 3 && !clusters.is_empty());
        }
        // Same input and seed: the same clusters (sessions reused, no state carried over).
        let again = c
            .cluster_audio(&clip(), 48_000, &options, &mut |_, _| true)
            .unwrap();
        assert_eq!(again, map);
    }

    #[test]
    fn a_progress_callback_returning_false_cancels() {
        let mut c = clusterer();
        let err = c
            .cluster_audio(
                &clip(),
                48_000,
                &ClipClusterOptions {
                    k: None,
                    seed: None,
                },
                &mut |_, _| false,
            )
            .unwrap_err()
            .to_string();
        assert!(err.contains("cancelled"), "{err}");
        let err = c
            .cluster_embeddings(
                &[],
                &ClipClusterOptions {
                    k: Some(vec![2, 2]),
                    seed: None,
                },
            )
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("one count of at least 1 per layer (4 layers)"),
            "{err}"
        );
    }
}
