//! A Netbend model directory (docs/bend-graph.md, "Model directory"): manifest plus ONNX files.
//! Loading checks everything that can be checked without ONNX Runtime; the graphs' actual inputs
//! and outputs are checked when the sessions are built ([`crate::Runtime::new`]).

use crate::error::{Error, Result};
use crate::manifest::{GraphInfo, LayerInfo, Manifest, name_set_difference};
use std::path::{Path, PathBuf};

pub const MANIFEST_FILE: &str = "manifest.json";

/// The model commands use when none is given: `NETBEND_MODEL_DIR` if set, else `models/vae/` of
/// the workspace (where the shipped default model is exported).
pub fn default_model_dir() -> PathBuf {
    match std::env::var_os("NETBEND_MODEL_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let engine = Path::new(env!("CARGO_MANIFEST_DIR"));
            engine.parent().unwrap_or(engine).join("models").join("vae")
        }
    }
}

/// The paper's configuration of the audio VAE (a 512-number latent vector), shipped beside the
/// default as `models/vae-paper/` of the workspace; bundles carry it in `netbend-models/`.
pub fn paper_model_dir() -> PathBuf {
    let engine = Path::new(env!("CARGO_MANIFEST_DIR"));
    engine
        .parent()
        .unwrap_or(engine)
        .join("models")
        .join("vae-paper")
}

/// The image model `netbend image` and `animate` use when none is given:
/// `NETBEND_IMAGE_MODEL_DIR` if set, else the shipped demo generator `models/stylegan2-demo/`
/// of the workspace.
pub fn default_image_model_dir() -> PathBuf {
    match std::env::var_os("NETBEND_IMAGE_MODEL_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => {
            let engine = Path::new(env!("CARGO_MANIFEST_DIR"));
            engine
                .parent()
                .unwrap_or(engine)
                .join("models")
                .join("stylegan2-demo")
        }
    }
}

/// A model directory whose manifest has been read and validated.
#[derive(Clone, Debug)]
pub struct Model {
    dir: PathBuf,
    manifest: Manifest,
}

impl Model {
    /// Reads `dir/manifest.json`, validates it and checks that the graph files exist and that
    /// the graph input/output names in the manifest are those of bend interface 1.
    pub fn load(dir: impl AsRef<Path>) -> Result<Model> {
        let dir = dir.as_ref();
        let not_a_model = |why: String| {
            Error::Model(format!(
                "model directory {} is not a Netbend model: {why}",
                dir.display()
            ))
        };
        if !dir.is_dir() {
            return Err(not_a_model(
                "it does not exist or is not a directory".into(),
            ));
        }
        let manifest_path = dir.join(MANIFEST_FILE);
        if !manifest_path.is_file() {
            return Err(not_a_model(format!("{MANIFEST_FILE} missing")));
        }
        let text = std::fs::read_to_string(&manifest_path)
            .map_err(|e| Error::Model(format!("cannot read {}: {e}", manifest_path.display())))?;
        let manifest = Manifest::parse(&text, &manifest_path)?;
        let model = Model {
            dir: dir.to_path_buf(),
            manifest,
        };
        model.check_graph_entries(&manifest_path)?;
        Ok(model)
    }

    /// Builds a model from an already parsed manifest (for tests and tools); does not touch the
    /// file system.
    pub fn from_manifest(dir: impl Into<PathBuf>, manifest: Manifest) -> Model {
        Model {
            dir: dir.into(),
            manifest,
        }
    }

    fn check_graph_entries(&self, manifest_path: &Path) -> Result<()> {
        let m = &self.manifest;
        let mpath = manifest_path.display();
        let check = |field: &str,
                     graph: &GraphInfo,
                     inputs: &[String],
                     outputs: &[String]|
         -> Result<()> {
            let file = self.dir.join(&graph.file);
            if !file.is_file() {
                return Err(Error::Model(format!(
                    "{mpath}: field `{field}.file`: graph file {} missing",
                    file.display()
                )));
            }
            if let Some(diff) = name_set_difference(inputs, &graph.inputs) {
                return Err(Error::Model(format!(
                    "{mpath}: field `{field}.inputs` does not match bend interface 1 (docs/bend-graph.md): {diff}"
                )));
            }
            if let Some(diff) = name_set_difference(outputs, &graph.outputs) {
                return Err(Error::Model(format!(
                    "{mpath}: field `{field}.outputs` does not match bend interface 1 (docs/bend-graph.md): {diff}"
                )));
            }
            Ok(())
        };
        if let Some(encoder) = &m.graphs.encoder {
            check(
                "graphs.encoder",
                encoder,
                &["spectrogram".to_string()],
                &["mu".to_string(), "logvar".to_string()],
            )?;
        }
        if let Some(mapping) = &m.graphs.mapping {
            check(
                "graphs.mapping",
                mapping,
                &["z".to_string()],
                &["w".to_string()],
            )?;
        }
        check(
            "graphs.decoder",
            &m.graphs.decoder,
            &m.expected_decoder_inputs(),
            &m.expected_decoder_outputs(),
        )
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    pub fn layers(&self) -> &[LayerInfo] {
        &self.manifest.layers
    }

    /// Layer `index` (1-based), if it exists.
    pub fn layer(&self, index: usize) -> Option<&LayerInfo> {
        self.manifest.layer(index)
    }

    pub fn encoder_path(&self) -> Option<PathBuf> {
        self.manifest
            .graphs
            .encoder
            .as_ref()
            .map(|g| self.dir.join(&g.file))
    }

    /// The mapping network of an image model (z -> w).
    pub fn mapping_path(&self) -> Option<PathBuf> {
        self.manifest
            .graphs
            .mapping
            .as_ref()
            .map(|g| self.dir.join(&g.file))
    }

    pub fn decoder_path(&self) -> PathBuf {
        self.dir.join(&self.manifest.graphs.decoder.file)
    }

    /// Window shape `(frames, bins)` of an audio model.
    pub fn window_shape(&self) -> Option<(usize, usize)> {
        self.manifest
            .signal
            .as_ref()
            .map(|s| (s.window_frames, s.bins))
    }
}

/// How an audio model wants its input: the normalisation and the window shape, checked against
/// the STFT this build uses (docs/signal.md). The CLI and the plugin both start from this.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AudioSignal {
    pub norm: dsp::Normalisation,
    /// Frames per model window (even).
    pub window: usize,
    pub bins: usize,
}

impl Model {
    /// The model's [`AudioSignal`]; the error names the model and the setting that does not fit.
    pub fn audio_signal(&self) -> Result<AudioSignal> {
        let dir = self.dir.display();
        let manifest = &self.manifest;
        let Some(signal) = &manifest.signal else {
            return Err(Error::Model(format!(
                "model {dir} (`{}`) is not an audio model: its manifest has no `signal`",
                manifest.name
            )));
        };
        if signal.sample_rate != dsp::MODEL_SAMPLE_RATE
            || signal.n_fft != dsp::N_FFT
            || signal.hop != dsp::HOP
        {
            return Err(Error::Model(format!(
                "model {dir}: signal settings {} Hz, n_fft {}, hop {} are not those of this build \
                 ({} Hz, n_fft {}, hop {})",
                signal.sample_rate,
                signal.n_fft,
                signal.hop,
                dsp::MODEL_SAMPLE_RATE,
                dsp::N_FFT,
                dsp::HOP
            )));
        }
        let norm = match &manifest.normalisation {
            Some(n) => dsp::Normalisation::new(n.amin as f32, n.db_min as f32, n.db_max as f32)
                .map_err(|e| Error::Model(format!("model {dir}: normalisation: {e}")))?,
            None => dsp::Normalisation::default(),
        };
        let (window, bins) = (signal.window_frames, signal.bins);
        if window < 2 || window % 2 != 0 {
            return Err(Error::Model(format!(
                "model {dir}: window_frames {window} must be even"
            )));
        }
        Ok(AudioSignal { norm, window, bins })
    }
}
