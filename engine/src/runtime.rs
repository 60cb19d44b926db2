//! Running a model: the encoder and decoder sessions (built once), the decoder's bend input
//! tensors (built when the bend changes, reused for every run), and the calls `autoencode`,
//! `encode`, `decode` and `activations`.

use crate::bend_tensors::BendTensors;
use crate::error::{Error, Result};
use crate::manifest::{ModelKind, name_set_difference};
use crate::model::Model;
use crate::model_runtime::{ModelRuntime, only_output, output_array, runtime_error};
use crate::runtime_options::RuntimeOptions;
use ndarray::{Array2, Array3, Array4, ArrayView2, ArrayView3, CowArray, Ix2};
use ort::session::{HasSelectedOutputs, RunOptions, Session, SessionInputValue, SessionOutputs};
use ort::value::{TensorElementType, TensorRef};
use std::borrow::Cow;
use std::path::PathBuf;

/// One input or output of a graph as ONNX Runtime reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphPort {
    pub name: String,
    /// Element type and shape, e.g. `Tensor<f32>(batch, 1, 128, 513)`.
    pub kind: String,
}

pub(crate) fn ports(outlets: &[ort::value::Outlet]) -> Vec<GraphPort> {
    outlets
        .iter()
        .map(|o| GraphPort {
            name: o.name().to_string(),
            kind: o.dtype().to_string(),
        })
        .collect()
}

/// The sessions of a spectrogram model: its encoder (none for a generator) and decoder.
pub struct AudioSessions {
    encoder: Option<Session>,
    decoder: Session,
    /// The neutral bend's tensors, for the neutral decode beside the bent one
    /// ([`Runtime::autoencode_with_neutral`]); they never change.
    neutral: BendTensors,
    /// Runs the decoder for `spectrogram` only (the activations are not copied out).
    spectrogram_only: RunOptions<HasSelectedOutputs>,
}

/// The sessions of one model and its current bend.
pub type Runtime = ModelRuntime<AudioSessions>;

impl Runtime {
    /// Loads ONNX Runtime (once per process), builds the sessions and checks that the graphs'
    /// inputs and outputs are those of bend interface 1 for this model's layers.
    pub fn new(model: Model, options: &RuntimeOptions) -> Result<Runtime> {
        if model.manifest().kind != ModelKind::SpectrogramVae {
            return Err(Error::Model(format!(
                "model `{}` in {} is an image model ({}): it is rendered by the image runtime \
                 (`netbend image`), not the audio one",
                model.manifest().name,
                model.dir().display(),
                model.manifest().kind.name()
            )));
        }
        ModelRuntime::build(model, options, |model, factory| {
            let encoder = match model.encoder_path() {
                Some(path) => Some(factory.build(&path)?),
                None => None,
            };
            let decoder = factory.build(&model.decoder_path())?;
            check_graph_io(model, encoder.as_ref(), &decoder)?;
            Ok(AudioSessions {
                encoder,
                decoder,
                neutral: BendTensors::neutral(model.manifest())?,
                spectrogram_only: only_output("spectrogram")?,
            })
        })
    }

    /// The encoder's (inputs, outputs), if the model has an encoder.
    pub fn encoder_ports(&self) -> Option<(Vec<GraphPort>, Vec<GraphPort>)> {
        self.sessions
            .encoder
            .as_ref()
            .map(|s| (ports(s.inputs()), ports(s.outputs())))
    }

    /// The decoder's (inputs, outputs).
    pub fn decoder_ports(&self) -> (Vec<GraphPort>, Vec<GraphPort>) {
        (
            ports(self.sessions.decoder.inputs()),
            ports(self.sessions.decoder.outputs()),
        )
    }

    fn window_dims(&self) -> Result<(usize, usize)> {
        self.model.window_shape().ok_or_else(|| {
            Error::Runtime(format!(
                "model `{}` is not an audio model (no `signal` in its manifest)",
                self.model.manifest().name
            ))
        })
    }

    fn check_latents(&self, z: ArrayView2<f32>) -> Result<()> {
        let latent_dim = self.model.manifest().latent_dim;
        let (b, d) = z.dim();
        if d != latent_dim {
            return Err(Error::Runtime(format!(
                "latents have shape [{b}, {d}], the model takes [B, {latent_dim}]"
            )));
        }
        Ok(())
    }

    /// Encodes normalised windows `[B, frames, bins]` to latent means `[B, latent_dim]`.
    pub fn encode(&mut self, windows: ArrayView3<f32>) -> Result<Array2<f32>> {
        let (frames, bins) = self.window_dims()?;
        let (b, t, f) = windows.dim();
        if (t, f) != (frames, bins) {
            return Err(Error::Runtime(format!(
                "windows have shape [{b}, {t}, {f}], the model takes [B, {frames}, {bins}]"
            )));
        }
        let encoder = self.sessions.encoder.as_mut().ok_or_else(|| {
            Error::Runtime("this model has no encoder (a generator only decodes)".into())
        })?;
        let data = windows.as_standard_layout();
        let input =
            TensorRef::from_array_view(([b, 1, t, f], data.as_slice().expect("standard layout")))
                .map_err(runtime_error("cannot make the encoder input"))?;
        let outputs = encoder
            .run(ort::inputs!["spectrogram" => input])
            .map_err(runtime_error("the encoder failed"))?;
        output_array(&outputs, "encoder", "mu")
    }

    /// Decodes latents `[B, latent_dim]` with the current bend to spectrogram windows
    /// `[B, frames, bins]` (normalised values). Used by `generate` and by `autoencode`.
    pub fn decode(&mut self, z: ArrayView2<f32>) -> Result<Array3<f32>> {
        self.check_latents(z)?;
        let z = z.as_standard_layout();
        let outputs = self
            .sessions
            .run_decoder_with(&z, Some(&self.bend), false)?;
        spectrogram_windows(&outputs)
    }

    /// Autoencodes normalised windows `[B, frames, bins]`: encoder, then the decoder on `mu`
    /// with the current bend.
    pub fn autoencode(&mut self, windows: ArrayView3<f32>) -> Result<Array3<f32>> {
        let mu = self.encode(windows)?;
        self.decode(mu.view())
    }

    /// Autoencodes normalised windows `[B, frames, bins]` once with the current bend and, when
    /// that bend is not neutral, decodes the same latents a second time with the neutral bend
    /// (the voice's reference, `dsp::voice`): `(bent, Some(neutral))`, or `(bent, None)` without
    /// the second decode when the current bend is neutral (then the two are the same).
    pub fn autoencode_with_neutral(
        &mut self,
        windows: ArrayView3<f32>,
    ) -> Result<(Array3<f32>, Option<Array3<f32>>)> {
        let mu = self.encode(windows)?;
        let bent = self.decode(mu.view())?;
        if self.bend.bend().is_neutral() {
            return Ok((bent, None));
        }
        let z = mu.as_standard_layout();
        let sessions = &mut self.sessions;
        let outputs = sessions.run_decoder_with(&z, None, false)?;
        Ok((bent, Some(spectrogram_windows(&outputs)?)))
    }

    /// Decodes `z` and returns every layer's activation `act.L{l}` (`[B, C_l, H_l, W_l]`, in layer
    /// order) with the spectrogram. Activations are unbent when every block before the layer is
    /// neutral: for clustering, call [`Runtime::clear_bend`] first.
    pub fn decode_with_activations(
        &mut self,
        z: ArrayView2<f32>,
    ) -> Result<(Array3<f32>, Vec<Array4<f32>>)> {
        self.check_latents(z)?;
        let z = z.as_standard_layout();
        let outputs = self.sessions.run_decoder_with(&z, Some(&self.bend), true)?;
        let spec = spectrogram_windows(&outputs)?;
        let acts = self
            .model
            .layers()
            .iter()
            .map(|l| output_array(&outputs, "decoder", &l.activation))
            .collect::<Result<Vec<_>>>()?;
        Ok((spec, acts))
    }

    /// The activations `act.L{l}` of every layer for windows `[B, frames, bins]` (encoder, then
    /// decoder on `mu` with the current bend).
    pub fn activations(&mut self, windows: ArrayView3<f32>) -> Result<Vec<Array4<f32>>> {
        let mu = self.encode(windows)?;
        Ok(self.decode_with_activations(mu.view())?.1)
    }
}

/// The decoder's `[B, 1, frames, bins]` spectrogram output as windows `[B, frames, bins]`.
pub(crate) fn spectrogram_windows(outputs: &SessionOutputs) -> Result<Array3<f32>> {
    let spec: Array4<f32> = output_array(outputs, "decoder", "spectrogram")?;
    let (b, _, t, f) = spec.dim();
    // The owned array is in standard layout: the reshape moves it, it does not copy.
    spec.into_shape_with_order((b, t, f))
        .map_err(|e| Error::Runtime(format!("the decoder's `spectrogram` output: {e}")))
}

impl AudioSessions {
    /// Runs the decoder on latents `z` with `bend` (`None`: the neutral bend); `activations` says
    /// whether the layers' activations are copied out besides the spectrogram.
    fn run_decoder_with<'r>(
        &'r mut self,
        z: &'r CowArray<'_, f32, Ix2>,
        bend: Option<&'r BendTensors>,
        activations: bool,
    ) -> Result<SessionOutputs<'r>> {
        let bend = bend.unwrap_or(&self.neutral);
        let (b, d) = z.dim();
        let z_tensor = TensorRef::from_array_view(([b, d], z.as_slice().expect("standard layout")))
            .map_err(runtime_error("cannot make the decoder input `z`"))?;
        let mut inputs: Vec<(Cow<str>, SessionInputValue)> = Vec::with_capacity(bend.len() + 1);
        inputs.push((Cow::Borrowed("z"), z_tensor.into()));
        bend.push_inputs(&mut inputs);
        let outputs = if activations {
            self.decoder.run(inputs)
        } else {
            self.decoder
                .run_with_options(inputs, &self.spectrogram_only)
        };
        outputs.map_err(runtime_error("the decoder failed"))
    }
}

/// Checks the sessions' actual inputs and outputs against bend interface 1 and the manifest.
fn check_graph_io(model: &Model, encoder: Option<&Session>, decoder: &Session) -> Result<()> {
    let m = model.manifest();
    if let (Some(session), Some(path)) = (encoder, model.encoder_path()) {
        check_session_io(
            session,
            path,
            vec!["spectrogram".into()],
            vec!["mu".into(), "logvar".into()],
        )?;
    }
    check_session_io(
        decoder,
        model.decoder_path(),
        m.expected_decoder_inputs(),
        m.expected_decoder_outputs(),
    )
}

/// Checks one session's input and output names against `inputs` and `outputs`, and its inputs'
/// element types (int64 for `.idx` and `.source`, float32 otherwise).
pub(crate) fn check_session_io(
    session: &Session,
    file: PathBuf,
    inputs: Vec<String>,
    outputs: Vec<String>,
) -> Result<()> {
    {
        let got_in: Vec<String> = session
            .inputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let got_out: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        if let Some(diff) = name_set_difference(&inputs, &got_in) {
            return Err(Error::Model(format!(
                "{}: the graph's inputs do not match bend interface 1 (docs/bend-graph.md) for this manifest: {diff}",
                file.display()
            )));
        }
        if let Some(diff) = name_set_difference(&outputs, &got_out) {
            return Err(Error::Model(format!(
                "{}: the graph's outputs do not match bend interface 1 (docs/bend-graph.md) for this manifest: {diff}",
                file.display()
            )));
        }
        for input in session.inputs() {
            let name = input.name();
            let want = if name.ends_with(".idx") || name.ends_with(".source") {
                TensorElementType::Int64
            } else {
                TensorElementType::Float32
            };
            if input.dtype().tensor_type() != Some(want) {
                return Err(Error::Model(format!(
                    "{}: graph input `{name}` is {}, bend interface 1 says its elements are {want}",
                    file.display(),
                    input.dtype()
                )));
            }
        }
        Ok(())
    }
}

/// The plugin runs inference on a worker thread: the runtime must move there.
#[allow(dead_code)]
fn runtime_is_send() {
    fn send<T: Send>() {}
    send::<Runtime>();
}
