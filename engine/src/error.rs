//! The engine's error type. Every message is meant for a person: it names the file, the field and
//! what would have been accepted.

/// What went wrong, by the part of the engine that found it. The message says the rest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model directory that is not a (valid) Netbend model: manifest, graph files, graph inputs.
    #[error("{0}")]
    Model(String),
    /// A config or cluster file that cannot be read or parsed (message starts with `file:line:column`).
    #[error("{0}")]
    Config(String),
    /// A bend that cannot be applied to this model: selection out of range, a chain the graph
    /// cannot express.
    #[error("{0}")]
    Bend(String),
    /// ONNX Runtime could not be found or loaded.
    #[error("{0}")]
    OnnxRuntimeMissing(String),
    /// ONNX Runtime failed to build a session or run a graph, or inputs had the wrong shape.
    #[error("{0}")]
    Runtime(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
