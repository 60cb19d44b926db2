//! How the user wants a model's ONNX Runtime sessions built: the device and thread settings.
//! Below the runtimes and the session factory that read them, so that building sessions does
//! not depend on the audio runtime (imports run one way).

use std::path::PathBuf;

/// Where the graphs run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Device {
    #[default]
    Cpu,
    /// CUDA device `device_id`; falls back to the CPU with a note when CUDA is not available.
    Cuda { device_id: i32 },
}

/// How to build a [`crate::Runtime`].
#[derive(Clone, Debug, Default)]
pub struct RuntimeOptions {
    /// Intra-op threads per session; `None` leaves ONNX Runtime's default (one per core).
    pub intra_threads: Option<usize>,
    pub device: Device,
    /// Extra directories to search for ONNX Runtime before the defaults (the plugin passes the
    /// directory of its binary).
    pub library_dirs: Vec<PathBuf>,
}
