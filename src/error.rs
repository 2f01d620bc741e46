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

/// Shorthand for results with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
