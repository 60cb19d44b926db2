//! Running an image model (docs/bend-graph.md, "Image models"): the mapping and synthesis
//! sessions (built once), the bend tensors (rebuilt only when the bend changes), and the rule
//! that turns an image seed into `z` and per-layer noise (docs/config.md, "Seeds").

use crate::error::{Error, Result};
use crate::image_manifest::{ImageSettings, StyleGan2Settings};
use crate::manifest::ModelKind;
use crate::model::Model;
use crate::model_runtime::{
    ModelRuntime, only_output, output_array, run_on_latents, runtime_error,
};
use crate::random::{sample_latents, sample_noise};
use crate::runtime::{GraphPort, check_session_io, ports};
use crate::runtime_options::RuntimeOptions;
use ndarray::{Array2, Array3, Array4, ArrayView2, ArrayView3, Axis};
use ort::session::{HasSelectedOutputs, RunOptions, Session, SessionInputValue};
use ort::value::TensorRef;
use std::borrow::Cow;

/// The per-layer noise of a batch: one `[B, 1, H_l, W_l]` array per layer.
pub type NoiseMaps = Vec<Array4<f32>>;

/// The sessions of an image model: the mapping and the synthesis network (its decoder).
pub struct ImageSessions {
    mapping: Session,
    decoder: Session,
    /// Runs the decoder for `image` only (the activations are not copied out).
    image_only: RunOptions<HasSelectedOutputs>,
}

/// The sessions of one image model and its current bend.
pub type ImageRuntime = ModelRuntime<ImageSessions>;

impl ImageRuntime {
    /// Builds the mapping and decoder sessions and checks their inputs and outputs against the
    /// manifest. An audio model is refused with a message saying so.
    pub fn new(model: Model, options: &RuntimeOptions) -> Result<ImageRuntime> {
        let m = model.manifest();
        let mapping_path = match (m.kind, model.mapping_path()) {
            (ModelKind::StyleGan2, Some(path)) => path,
            _ => {
                return Err(Error::Model(format!(
                    "model `{}` in {} is not an image model (its kind is {}; images need a \
                     stylegan2 model with a mapping graph)",
                    m.name,
                    model.dir().display(),
                    m.kind.name()
                )));
            }
        };
        ModelRuntime::build(model, options, |model, factory| {
            let mapping = factory.build(&mapping_path)?;
            let decoder = factory.build_without_memory_pattern(&model.decoder_path())?;
            check_session_io(&mapping, mapping_path, vec!["z".into()], vec!["w".into()])?;
            let m = model.manifest();
            check_session_io(
                &decoder,
                model.decoder_path(),
                m.expected_decoder_inputs(),
                m.expected_decoder_outputs(),
            )?;
            Ok(ImageSessions {
                mapping,
                decoder,
                image_only: only_output("image")?,
            })
        })
    }

    /// `(graph, inputs, outputs)` of the mapping and the decoder as ONNX Runtime reports them.
    pub fn graph_ports(&self) -> Vec<(&'static str, Vec<GraphPort>, Vec<GraphPort>)> {
        vec![
            (
                "mapping",
                ports(self.sessions.mapping.inputs()),
                ports(self.sessions.mapping.outputs()),
            ),
            (
                "decoder",
                ports(self.sessions.decoder.inputs()),
                ports(self.sessions.decoder.outputs()),
            ),
        ]
    }

    fn settings(&self) -> (&ImageSettings, &StyleGan2Settings) {
        let m = self.model.manifest();
        // Both are checked present for stylegan2 manifests when the manifest is parsed.
        (
            m.image.as_ref().expect("validated image model"),
            m.stylegan2.as_ref().expect("validated image model"),
        )
    }

    /// Output `(height, width)`.
    pub fn image_size(&self) -> (usize, usize) {
        let (image, _) = self.settings();
        (image.height, image.width)
    }

    /// Nominal output range (`[-1, 1]` for StyleGAN2).
    pub fn value_range(&self) -> [f32; 2] {
        self.settings().0.range
    }

    /// `(n_latent, latent_dim)`: the shape of one w+.
    pub fn w_plus_shape(&self) -> (usize, usize) {
        (self.settings().1.n_latent, self.model.manifest().latent_dim)
    }

    /// The mean latent truncation pulls towards.
    pub fn mean_latent(&self) -> &[f32] {
        &self.settings().1.mean_latent
    }

    /// z `[B, latent_dim]` through the mapping network: w `[B, latent_dim]`.
    pub fn map(&mut self, z: ArrayView2<f32>) -> Result<Array2<f32>> {
        let dim = self.model.manifest().latent_dim;
        let (b, d) = z.dim();
        if d != dim {
            return Err(Error::Runtime(format!(
                "z has shape [{b}, {d}], the mapping takes [B, {dim}]"
            )));
        }
        let outputs = run_on_latents(&mut self.sessions.mapping, z, "mapping")?;
        output_array(&outputs, "mapping", "w")
    }

    /// w+ `[B, n_latent, D]` with every row the mapping of the seed's z (docs/config.md, "Seeds").
    pub fn w_plus_of_seeds(&mut self, seeds: &[u64]) -> Result<Array3<f32>> {
        let dim = self.model.manifest().latent_dim;
        let mut z = Array2::zeros((seeds.len(), dim));
        for (row, &seed) in z.rows_mut().into_iter().zip(seeds) {
            let sampled = sample_latents(seed, 1, dim);
            let mut row = row;
            row.assign(&sampled.row(0));
        }
        let w = self.map(z.view())?;
        Ok(broadcast_rows(w.view(), self.w_plus_shape().0))
    }

    /// The per-layer noise of `seeds` (one batch item per seed), drawn by [`sample_noise`].
    pub fn noise_of_seeds(&self, seeds: &[u64]) -> NoiseMaps {
        let (_, sg) = self.settings();
        let sizes: Vec<(usize, usize)> = sg.noise.iter().map(|n| (n.height, n.width)).collect();
        let mut maps: NoiseMaps = sizes
            .iter()
            .map(|&(h, w)| Array4::zeros((seeds.len(), 1, h, w)))
            .collect();
        for (b, &seed) in seeds.iter().enumerate() {
            for (layer, values) in sample_noise(seed, &sizes).into_iter().enumerate() {
                let target = maps[layer].index_axis_mut(Axis(0), b);
                let (h, w) = sizes[layer];
                let source =
                    ndarray::ArrayView3::from_shape((1, h, w), &values).expect("h * w values");
                let mut target = target;
                target.assign(&source);
            }
        }
        maps
    }

    /// Images `[B, 3, H, W]` of `seeds` with truncation `psi` and the current bend.
    pub fn render_seeds(&mut self, seeds: &[u64], psi: f32) -> Result<Array4<f32>> {
        let w = self.w_plus_of_seeds(seeds)?;
        let noise = self.noise_of_seeds(seeds);
        self.synthesize(w.view(), psi, &noise)
    }

    /// The synthesis network on w+ `[B, n_latent, D]`, truncation `psi` (the graph computes
    /// `mean + psi * (w - mean)` with the manifest's mean latent) and per-layer noise, with the
    /// current bend: images `[B, 3, H, W]`, nominally in [`ImageRuntime::value_range`].
    pub fn synthesize(
        &mut self,
        w: ArrayView3<f32>,
        psi: f32,
        noise: &[Array4<f32>],
    ) -> Result<Array4<f32>> {
        let (rows, dim) = self.w_plus_shape();
        let (b, r, d) = w.dim();
        if (r, d) != (rows, dim) {
            return Err(Error::Runtime(format!(
                "w+ has shape [{b}, {r}, {d}], the model takes [B, {rows}, {dim}]"
            )));
        }
        if !psi.is_finite() {
            return Err(Error::Runtime(format!(
                "truncation psi {psi} is not finite"
            )));
        }
        let (_, sg) = self.settings();
        if noise.len() != sg.noise.len() {
            return Err(Error::Runtime(format!(
                "{} noise maps given, the model has {} noise inputs",
                noise.len(),
                sg.noise.len()
            )));
        }
        for (map, n) in noise.iter().zip(&sg.noise) {
            if map.dim() != (b, 1, n.height, n.width) {
                return Err(Error::Runtime(format!(
                    "noise map `{}` has shape {:?}, expected [{b}, 1, {}, {}]",
                    n.input,
                    map.dim(),
                    n.height,
                    n.width
                )));
            }
        }
        let names: Vec<String> = sg.noise.iter().map(|n| n.input.clone()).collect();
        let w = w.as_standard_layout();
        let noise: Vec<_> = noise.iter().map(|n| n.as_standard_layout()).collect();
        let psi = vec![psi; b];
        let err = runtime_error("cannot make a decoder input");
        let mut inputs: Vec<(Cow<str>, SessionInputValue)> =
            Vec::with_capacity(2 + noise.len() + self.bend.len());
        inputs.push((
            Cow::Borrowed("w"),
            TensorRef::from_array_view(([b, r, d], w.as_slice().expect("standard layout")))
                .map_err(&err)?
                .into(),
        ));
        inputs.push((
            Cow::Borrowed("psi"),
            TensorRef::from_array_view(([b], psi.as_slice()))
                .map_err(&err)?
                .into(),
        ));
        for (name, map) in names.iter().zip(&noise) {
            let shape: Vec<usize> = map.shape().to_vec();
            inputs.push((
                Cow::Borrowed(name.as_str()),
                TensorRef::from_array_view((shape, map.as_slice().expect("standard layout")))
                    .map_err(&err)?
                    .into(),
            ));
        }
        self.bend.push_inputs(&mut inputs);
        let outputs = self
            .sessions
            .decoder
            .run_with_options(inputs, &self.sessions.image_only)
            .map_err(runtime_error("the decoder failed"))?;
        output_array(&outputs, "decoder", "image")
    }
}

/// `[B, D]` -> `[B, rows, D]`, every row the same w (the w+ of a single w).
pub fn broadcast_rows(w: ArrayView2<f32>, rows: usize) -> Array3<f32> {
    let (b, d) = w.dim();
    let mut out = Array3::zeros((b, rows, d));
    for (mut item, src) in out.outer_iter_mut().zip(w.outer_iter()) {
        for mut row in item.outer_iter_mut() {
            row.assign(&src);
        }
    }
    out
}

/// One image `[3, H, W]` with values nominally in `range` as 8-bit RGB, row-major `H x W x 3`:
/// `(x - lo) / (hi - lo) * 255`, rounded and clamped (for `[-1, 1]` this is the usual
/// `(x + 1) * 127.5`).
pub fn image_to_rgb8(image: ArrayView3<f32>, range: [f32; 2]) -> Vec<u8> {
    let (c, h, w) = image.dim();
    let scale = 255.0 / (range[1] - range[0]);
    let mut out = Vec::with_capacity(h * w * 3);
    for i in 0..h {
        for j in 0..w {
            for ch in 0..3 {
                // A grey image (1 channel) repeats its one channel.
                let v = image[[ch.min(c - 1), i, j]];
                out.push(((v - range[0]) * scale).round().clamp(0.0, 255.0) as u8);
            }
        }
    }
    out
}

/// The runtime moves to worker threads like the audio one.
#[allow(dead_code)]
fn image_runtime_is_send() {
    fn send<T: Send>() {}
    send::<ImageRuntime>();
}
