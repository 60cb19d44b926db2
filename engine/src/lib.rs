//! Netbend's engine: model directories (docs/model-manifest.md), bend specs and config files
//! (docs/config.md), their compilation into the decoder's bend inputs (docs/bend-graph.md), and the
//! ONNX Runtime sessions that run them.

pub mod compile;
pub mod config;
pub mod error;
pub mod manifest;
pub mod model;
pub mod onnxruntime;
mod random;
pub mod runtime;
pub mod spec;
pub mod stages;

#[cfg(test)]
mod test_support;

pub use compile::{CompiledBend, LayerInputs, StageInputs, compile};
pub use config::{BendConfig, ClusterFile, load_config};
pub use error::{Error, Result};
pub use manifest::{LayerInfo, Manifest, ModelKind};
pub use model::{Model, default_model_dir};
pub use onnxruntime::locate_onnxruntime;
pub use runtime::{Device, GraphPort, Runtime, RuntimeOptions};
pub use spec::{BendEntry, BendSpec, ClusterSource, Selection, Transform};
pub use stages::Stage;
