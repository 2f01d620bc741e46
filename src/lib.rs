//! head-ct: a small convolutional network, on dfdx and stable Rust, that tells a head CT slice
//! with hemorrhage from a normal one.
//!
//! The layout follows the path of the data:
//! - [`data`]: the seed folder layout, preparing the Kaggle set, synthetic phantoms, augmentation.
//! - [`model`]: the teaching model, [`model::TeachingNet`], with every shape known at compile time.
//! - [`layers`]: `Conv2D`, `MaxPool2D`, `ReLU`, `Flatten` and `Dense` as dfdx modules (dfdx 0.13
//!   keeps its own convolution behind a `nightly` feature that no longer builds), and
//!   `ConvBlock`, the three convolution-block layers computed in one pass (the same values,
//!   faster); their kernels are in [`kernels`], the compile-time side lengths in [`shapes`].
//! - [`training`]: one training step, one evaluation pass, and the epoch loop [`training::fit`];
//!   [`progress`] reports it, [`history`] records it.
//! - [`inference`]: predictions in plain language; [`metrics`]: accuracy, sensitivity,
//!   specificity, ROC and AUC with 95% intervals; [`plots`]: the figures.
//! - [`checkpoint`]: weights (safetensors) plus metadata, written atomically.
//! - [`crossval`]: stratified k-fold cross-validation with pooled metrics; [`seeds`]: the spread
//!   of a result over training seeds.

pub mod allocator;
pub mod checkpoint;
pub mod crossval;
pub mod data;
pub mod error;
pub mod explain;
mod fsutil;
pub mod history;
pub mod inference;
pub mod kernels;
pub mod layers;
pub mod metrics;
pub mod model;
pub mod plots;
pub mod progress;
pub mod seeds;
pub mod shapes;
pub mod training;

pub use error::{Error, Result};

/// The dfdx this crate is built on, so that notebooks and programs use the very same version
/// (`use head_ct::dfdx::prelude::*;`) without pinning it themselves.
pub use dfdx;
