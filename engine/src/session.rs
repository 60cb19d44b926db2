//! Building ONNX Runtime sessions with the user's device and thread choices, shared by the audio
//! [`crate::Runtime`] and the [`crate::ImageRuntime`]: one place for the CUDA fallback rule.

use crate::error::{Error, Result};
use crate::onnxruntime;
use crate::runtime_options::{Device, RuntimeOptions};
use ort::ep::ExecutionProvider;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use std::path::{Path, PathBuf};

/// Loads ONNX Runtime and builds sessions on the device actually available, collecting notes
/// for the user (a CUDA request falls back to the CPU with a note, never with an error).
pub(crate) struct SessionFactory<'o> {
    env: ort::environment::Environment,
    options: &'o RuntimeOptions,
    pub device: Device,
    pub notes: Vec<String>,
    pub library: PathBuf,
}

impl<'o> SessionFactory<'o> {
    pub fn new(options: &'o RuntimeOptions) -> Result<SessionFactory<'o>> {
        let (env, library) = onnxruntime::environment(&options.library_dirs)?;
        let mut notes = Vec::new();
        let mut device = options.device;
        if let Device::Cuda { device_id } = options.device {
            let available = ort::ep::CUDA::is_available().unwrap_or(false);
            if !available {
                notes.push(format!(
                    "CUDA was requested (device {device_id}) but the ONNX Runtime at {} has no \
                     CUDA execution provider (the GPU build is the onnxruntime-gpu package, with \
                     CUDA 12 and cuDNN 9); running on the CPU",
                    library.display()
                ));
                device = Device::Cpu;
            }
        }
        Ok(SessionFactory {
            env,
            options,
            device,
            notes,
            library,
        })
    }

    /// A session for the graph at `path`, with ONNX Runtime's memory pattern (the default).
    pub fn build(&mut self, path: &Path) -> Result<Session> {
        self.build_with(path, true)
    }

    /// A session without the memory pattern, for graphs with large activations (image
    /// decoders): with it, the second run allocates the planned block on top of the arena the
    /// first run grew, and each new set of input shapes (K = 0, K > 0) plans another. Measured
    /// on a 1024 px StyleGAN2 decoder: 7.2 GB and 6.6-7.4 s per run with it, 4.5 GB and
    /// 4.0-4.9 s without (Python onnxruntime, same session otherwise).
    pub fn build_without_memory_pattern(&mut self, path: &Path) -> Result<Session> {
        self.build_with(path, false)
    }

    fn build_with(&mut self, path: &Path, memory_pattern: bool) -> Result<Session> {
        let what = format!(
            "cannot build an ONNX Runtime session for {}",
            path.display()
        );
        let err = |e: ort::Error| Error::Runtime(format!("{what}: {e}"));
        let mut builder = Session::builder(&self.env).map_err(err)?;
        builder = builder
            .with_optimization_level(GraphOptimizationLevel::All)
            .map_err(|e| Error::Runtime(format!("{what}: {e}")))?;
        if !memory_pattern {
            builder = builder
                .with_memory_pattern(false)
                .map_err(|e| Error::Runtime(format!("{what}: {e}")))?;
        }
        if let Some(n) = self.options.intra_threads {
            builder = builder
                .with_intra_threads(n)
                .map_err(|e| Error::Runtime(format!("{what}: {e}")))?;
        }
        if let Device::Cuda { device_id } = self.device {
            let cuda = ort::ep::CUDA::default().with_device_id(device_id);
            if let Err(e) = cuda.register(&mut builder) {
                self.notes.push(format!(
                    "CUDA device {device_id} could not be used ({e}); running on the CPU"
                ));
                self.device = Device::Cpu;
            }
        }
        builder.commit_from_file(path).map_err(err)
    }
}
