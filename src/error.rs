//! One error type for the library. Every message names what is at fault (a
//! file, a shape, a setting) and what to do about it, so that a notebook cell
//! shows a sentence a student can act on instead of a panic.
use std::path::PathBuf;

/// The library's error.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A data file could not be read or is not what it claims to be.
    #[error("{path}: {what}")]
    Data { path: PathBuf, what: String },

    /// A setting (config field, CLI flag, environment variable) is out of range.
    #[error("invalid setting `{name}`: {what}")]
    Config { name: String, what: String },

    /// CUDA or another device was asked for and cannot be used.
    #[error("device: {0}")]
    Device(String),

    /// A download failed, or its content did not match the expected checksum.
    #[error("download of {url}: {what}")]
    Download { url: String, what: String },

    /// A tensor had a shape or kind the function cannot take.
    #[error("shape: {0}")]
    Shape(String),

    /// Reading or writing a file failed. The message already holds the OS
    /// error, so it is not also given as `source()` (a printed chain would
    /// say it twice); match on `cause` for its kind.
    #[error("{path}: {cause}")]
    Io { path: PathBuf, cause: std::io::Error },

    /// libtorch reported an error (its text is in the message, as for `Io`).
    #[error("libtorch: {0}")]
    Torch(tch::TchError),

    /// Drawing a figure failed.
    #[error("plot: {0}")]
    Plot(String),

    /// Training produced a non-finite number and stopped there.
    #[error("training diverged at step {step}: {quantity} is {value}; lower the learning rates or use a bounded objective{kept}")]
    Diverged {
        step: usize,
        /// What was not finite: `d_loss`, `g_loss`, `d_real`, ...
        quantity: String,
        value: f64,
        /// Where the last finite state was kept, as a sentence (empty when nothing was recorded).
        kept: String,
    },

    /// The run was asked to stop (Ctrl-C, SIGTERM) and stopped between two steps.
    #[error("interrupted at step {step}{kept}")]
    Interrupted { step: usize, kept: String },

    /// Another process is recording a run into the same directory.
    #[error("{dir}: another run (process {pid}) is recording into this directory; wait for it, or choose another --out")]
    Busy { dir: PathBuf, pid: u32 },

    /// JSON (de)serialisation failed.
    #[error("json: {0}")]
    Json(serde_json::Error),
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn data(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Error::Data { path: path.into(), what: what.into() }
    }
    pub(crate) fn config(name: impl Into<String>, what: impl Into<String>) -> Self {
        Error::Config { name: name.into(), what: what.into() }
    }
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), cause: source }
    }
}

impl From<tch::TchError> for Error {
    fn from(e: tch::TchError) -> Self {
        Error::Torch(e)
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::Json(e)
    }
}
