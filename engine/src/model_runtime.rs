//! What the audio [`crate::Runtime`] and the [`crate::ImageRuntime`] have in common: the model,
//! the decoder's current bend as input tensors (docs/bend-graph.md: both decoders take the same
//! bend inputs) and how their sessions were built. Each runtime is this type with its own
//! sessions, so the bend calls and the session setup are written once for both.

use crate::bend_tensors::BendTensors;
use crate::compile::{CompiledBend, compile};
use crate::error::{Error, Result};
use crate::model::Model;
use crate::runtime_options::{Device, RuntimeOptions};
use crate::session::SessionFactory;
use crate::spec::BendSpec;
use ndarray::{Array, ArrayView2, Dimension};
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session, SessionOutputs};
use ort::value::TensorRef;
use std::path::{Path, PathBuf};

/// A model's sessions (`Sessions`: [`crate::runtime::AudioSessions`] or
/// [`crate::image::ImageSessions`]) and its current bend.
pub struct ModelRuntime<Sessions> {
    pub(crate) model: Model,
    pub(crate) sessions: Sessions,
    pub(crate) bend: BendTensors,
    device: Device,
    notes: Vec<String>,
    library: PathBuf,
}

impl<Sessions> ModelRuntime<Sessions> {
    /// Loads ONNX Runtime (once per process), builds the sessions with `build_sessions` (which
    /// also checks them against the manifest) and the neutral bend's tensors.
    pub(crate) fn build(
        model: Model,
        options: &RuntimeOptions,
        build_sessions: impl FnOnce(&Model, &mut SessionFactory) -> Result<Sessions>,
    ) -> Result<ModelRuntime<Sessions>> {
        let mut factory = SessionFactory::new(options)?;
        let sessions = build_sessions(&model, &mut factory)?;
        let bend = BendTensors::neutral(model.manifest())?;
        Ok(ModelRuntime {
            model,
            sessions,
            bend,
            device: factory.device,
            notes: factory.notes,
            library: factory.library,
        })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// The device the sessions actually run on (CPU after a CUDA fallback).
    pub fn device(&self) -> Device {
        self.device
    }

    /// Messages for the user from building the runtime (e.g. the CUDA fallback).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// The ONNX Runtime library in use.
    pub fn library(&self) -> &Path {
        &self.library
    }

    /// The bend the decoder currently runs with.
    pub fn bend(&self) -> &CompiledBend {
        self.bend.bend()
    }

    /// Compiles `spec` for this model and makes it the current bend.
    pub fn set_spec(&mut self, spec: &BendSpec) -> Result<()> {
        let compiled = compile(spec, self.model.manifest())?;
        self.set_bend(&compiled)
    }

    /// Makes `bend` the current bend. Only the tensors of stages that changed are rebuilt.
    pub fn set_bend(&mut self, bend: &CompiledBend) -> Result<()> {
        self.bend.set(bend, self.model.manifest())
    }

    /// Back to the neutral bend (every stage `K = 0`).
    pub fn clear_bend(&mut self) -> Result<()> {
        let neutral = CompiledBend::neutral(self.model.manifest());
        self.set_bend(&neutral)
    }
}

/// The f32 output `name` of a run of `graph` as an owned array of dimension `D`.
pub(crate) fn output_array<D: Dimension>(
    outputs: &SessionOutputs,
    graph: &str,
    name: &str,
) -> Result<Array<f32, D>> {
    let error =
        |e: &dyn std::fmt::Display| Error::Runtime(format!("the {graph}'s `{name}` output: {e}"));
    outputs[name]
        .try_extract_array::<f32>()
        .map_err(|e| error(&e))?
        .into_dimensionality::<D>()
        .map(|a| a.to_owned())
        .map_err(|e| error(&e))
}

/// An ONNX Runtime error as the engine's, saying what failed.
pub(crate) fn runtime_error(what: &str) -> impl Fn(ort::Error) -> Error + '_ {
    move |e| Error::Runtime(format!("{what}: {e}"))
}

/// Runs `session` (the `graph` named in errors) on its one input `z`, latents `[B, D]`: the
/// image model's mapping network and a decoder exported without bend blocks take nothing else.
pub(crate) fn run_on_latents<'s>(
    session: &'s mut Session,
    z: ArrayView2<f32>,
    graph: &str,
) -> Result<SessionOutputs<'s>> {
    let z = z.as_standard_layout();
    let (b, d) = z.dim();
    let making = format!("cannot make the {graph} input `z`");
    let input = TensorRef::from_array_view(([b, d], z.as_slice().expect("standard layout")))
        .map_err(runtime_error(&making))?;
    let failed = format!("the {graph} failed");
    session
        .run(ort::inputs!["z" => input])
        .map_err(runtime_error(&failed))
}

/// Run options that copy out only the output `name` (a decoder's activations stay inside).
pub(crate) fn only_output(name: &str) -> Result<RunOptions<HasSelectedOutputs>> {
    Ok(RunOptions::new()
        .map_err(runtime_error("cannot create run options"))?
        .with_outputs(OutputSelector::no_default().with(name)))
}
