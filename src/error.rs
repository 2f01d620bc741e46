//! The library's error type: every failure says what went wrong and, where there is one, which
//! file.

use std::path::PathBuf;

/// Errors from the library. Messages are written for the person running the program.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The tensor device failed (in practice: out of memory).
    #[error("tensor device error: {0}")]
    Device(#[from] dfdx::prelude::CpuError),

    /// The loss became NaN or infinite: training cannot go on from there.
    #[error("the loss is not a finite number ({loss}) at {context}; try a lower learning rate, and check the input images for NaN values")]
    NonFiniteLoss { loss: f32, context: String },

    /// The optimizer could not update the model.
    #[error("optimizer update failed: {0}")]
    Optimizer(String),

    /// A file could not be read or written.
    #[error("{}: {source}", crate::text::printable_path(path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Input data is not what it should be; the message names the file and the problem.
    #[error(
        "{}: {}",
        crate::text::printable_path(path),
        crate::text::printable(message)
    )]
    Data { path: PathBuf, message: String },

    /// Values passed to a function cannot be used (lengths differ, a label is not 0 or 1, a
    /// probability is NaN, ...); the message says which.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// A figure could not be drawn.
    #[error("could not draw the figure: {0}")]
    Plot(String),
}

impl Error {
    /// A file error for `path`, to pass to `map_err`: `fs::read(p).map_err(Error::io(p))`.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }

    /// Bad input in the file (or folder) `path`: `message` says what is wrong with it.
    pub fn data(path: impl Into<PathBuf>, message: impl Into<String>) -> Error {
        Error::Data {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl Error {
    /// The problem without the file's name, for a table that names the file in a column of
    /// its own (`skipped.csv`): the message of [`Error::Data`], the system's words for
    /// [`Error::Io`], the whole text otherwise.
    pub fn reason(&self) -> String {
        match self {
            Error::Data { message, .. } => crate::text::printable(message),
            Error::Io { source, .. } => source.to_string(),
            other => other.to_string(),
        }
    }
}

/// Creates `dir` and its parents (nothing happens if it exists); an error names the folder.
pub fn create_dir_all(dir: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(Error::io(dir))
}

/// Shorthand for results with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
