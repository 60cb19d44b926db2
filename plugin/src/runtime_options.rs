//! The ONNX Runtime settings of the plugin's sessions, in a module of their own so that the
//! clip clusterer takes them from below instead of from the crate root that uses it (imports run
//! one way).

/// ONNX Runtime settings of the plugin's sessions (the worker's and the clip clusterer's).
pub fn runtime_options() -> engine::RuntimeOptions {
    let library_dirs = engine::onnxruntime::containing_binary()
        .and_then(|b| b.parent().map(|d| d.to_path_buf()))
        .into_iter()
        .collect();
    // One intra-op thread: the audio thread needs the other core of a two-core machine.
    engine::RuntimeOptions {
        intra_threads: Some(1),
        library_dirs,
        ..Default::default()
    }
}
