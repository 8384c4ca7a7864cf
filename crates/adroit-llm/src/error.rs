//! The one error type of the crate, shared by the local model, the server and the client.
//! Every message names what it is about (a file, a field, a URL) and what is wrong.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A model file, its weights, its tokenizer or a generation step failed.
    #[error("{0}")]
    Model(String),
    /// A request was invalid before anything ran (a bad field, an empty message list…).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A server answered with a non-success status.
    #[error("HTTP {status}: {message}")]
    Http { status: u16, message: String },
    /// A connection could not be made or broke off.
    #[error("network: {0}")]
    Network(String),
    /// No answer came in time.
    #[error("timed out: {0}")]
    Timeout(String),
    /// An answer did not follow the wire protocol (bad JSON, missing fields, broken stream).
    #[error("protocol: {0}")]
    Protocol(String),
    /// A model's answer did not match the schema asked for.
    #[error("schema: {0}")]
    Schema(String),
    /// A client setting is missing or invalid (an unset model, a bad base URL…).
    #[error("configuration: {0}")]
    Config(String),
    /// A server could not be started or stopped.
    #[error("server: {0}")]
    Server(String),
}

impl LlmError {
    /// An [`LlmError::Io`] about `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
