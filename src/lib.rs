//! head-ct: a small convolutional network, on dfdx and stable Rust, that tells a head CT slice
//! with hemorrhage from a normal one.
//!
//! - [`layers`]: `Conv2D`, `MaxPool2D`, `Flatten` and `Dense` as dfdx modules (dfdx 0.13 keeps
//!   its own convolution behind a `nightly` feature that no longer builds).
//! - [`shapes`]: the compile-time side lengths that make every layer's shape known.
//! - [`model`]: the teaching model, [`model::TeachingNet`].
//! - [`training`]: one training step and one evaluation pass on a batch.
//! - [`kernels`]: the im2col + GEMM convolution and the max-pool kernels underneath.

pub mod data;
pub mod error;
pub mod history;
pub mod kernels;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod plots;
pub mod shapes;
pub mod training;

pub use error::{Error, Result};
