//! A spectrogram decoder exported without bend blocks (`python -m netbend_models.bench.vae
//! --save-model DIR` writes one as `DIR/decoder-unbent.onnx`): the reference that the bend
//! graph's overhead is measured against (`netbend bench --unbent-decoder`). Not a model
//! directory: it takes only `z`, so no bend can reach it.

use crate::error::{Error, Result};
use crate::model_runtime::run_on_latents;
use crate::runtime::spectrogram_windows;
use crate::runtime_options::RuntimeOptions;
use crate::session::SessionFactory;
use ndarray::{Array3, ArrayView2};
use ort::session::Session;
use std::path::Path;

pub struct UnbentDecoder {
    session: Session,
}

impl UnbentDecoder {
    /// Builds the session as [`crate::Runtime`] builds its decoder's (same options), and checks
    /// that the graph is a decoder without bend inputs: `z` in, `spectrogram` out.
    pub fn load(path: &Path, options: &RuntimeOptions) -> Result<UnbentDecoder> {
        let session = SessionFactory::new(options)?.build(path)?;
        let inputs: Vec<&str> = session.inputs().iter().map(|i| i.name()).collect();
        let outputs: Vec<&str> = session.outputs().iter().map(|o| o.name()).collect();
        if inputs != ["z"] || !outputs.contains(&"spectrogram") {
            return Err(Error::Model(format!(
                "{} is not a decoder without bend blocks: it takes {inputs:?} and gives \
                 {outputs:?} (expected exactly `z` in and `spectrogram` out)",
                path.display()
            )));
        }
        Ok(UnbentDecoder { session })
    }

    /// Decodes latents `[B, latent_dim]` to spectrogram windows `[B, frames, bins]`.
    pub fn decode(&mut self, z: ArrayView2<f32>) -> Result<Array3<f32>> {
        let outputs = run_on_latents(&mut self.session, z, "unbent decoder")?;
        spectrogram_windows(&outputs)
    }
}
