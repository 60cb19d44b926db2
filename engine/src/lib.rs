//! Netbend's engine: model directories (docs/model-manifest.md), bend specs and config files
//! (docs/config.md), their compilation into the decoder's bend inputs (docs/bend-graph.md), and the
//! ONNX Runtime sessions that run them.
//!
//! ```no_run
//! use engine::{Model, Runtime, RuntimeOptions, load_config};
//! # fn main() -> engine::Result<()> {
//! let model = Model::load("tests/data/tiny-vae")?;             // manifest checked
//! let mut spec = load_config("examples/figure3-stochastic.yaml", model.manifest())?;
//! spec.seed = 7;                                               // e.g. one of `variations`
//! let mut runtime = Runtime::new(model, &RuntimeOptions::default())?; // graphs checked
//! runtime.set_spec(&spec)?;                                    // compiled, tensors built once
//! let windows = ndarray::Array3::<f32>::zeros((4, 128, 513));  // normalised dB windows
//! let bent = runtime.autoencode(windows.view())?;              // [4, 128, 513]
//! let generated = runtime.decode(engine::sample_latents(7, 1, 512).view())?;
//! # Ok(()) }
//! ```
//!
//! Image models (StyleGAN2 exports) run in an [`ImageRuntime`] with the same bend specs:
//!
//! ```no_run
//! # fn main() -> engine::Result<()> {
//! let model = engine::Model::load("tests/data/tiny-stylegan2")?;
//! let mut images = engine::ImageRuntime::new(model, &engine::RuntimeOptions::default())?;
//! let rgb = images.render_seeds(&[42, 43], 0.5)?;               // [2, 3, H, W], psi 0.5
//! # Ok(()) }
//! ```

mod bend_tensors;
pub mod clip_clusters;
pub mod clustering;
pub mod compile;
pub mod config;
pub mod error;
pub mod image;
pub mod image_manifest;
pub mod kmeans;
pub mod manifest;
pub mod model;
pub mod model_runtime;
pub mod modulation;
pub mod motion;
pub mod onnxruntime;
pub mod random;
pub mod runtime;
pub mod runtime_options;
mod session;
pub mod spec;
pub mod stages;
pub mod unbent;

#[cfg(test)]
mod test_manifest_json;
#[cfg(test)]
mod test_support;

pub use clip_clusters::{ClipClusterOptions, ClipClusterer, ClipEmbeddings};
pub use clustering::{ClusterMap, ClusteringInfo};
pub use compile::{CompiledBend, LayerInputs, StageInputs, compile};
pub use config::{BendConfig, ClusterFile, load_config};
pub use error::{Error, Result};
pub use image::{ImageRuntime, image_to_rgb8};
pub use image_manifest::{ImageSettings, StyleGan2Settings};
pub use manifest::{LayerInfo, Manifest, ModelKind};
pub use model::{AudioSignal, Model, default_image_model_dir, default_model_dir, paper_model_dir};
pub use model_runtime::ModelRuntime;
pub use motion::{Modulator, Motion, Rate, Shape, SongPosition, Target};
pub use onnxruntime::locate_onnxruntime;
pub use random::{sample_latents, sample_noise};
pub use runtime::{GraphPort, Runtime};
pub use runtime_options::{Device, RuntimeOptions};
pub use spec::{BendEntry, BendSpec, ClusterSource, Selection, Transform};
pub use stages::Stage;
pub use unbent::UnbentDecoder;
