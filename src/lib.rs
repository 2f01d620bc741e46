//! head-ct: a small convolutional network, on dfdx and stable Rust, that tells a head CT slice
//! with hemorrhage from a normal one.
//!
//! # The pipeline
//!
//! ```text
//!  images on disk ──► data ──► model ──► training ──► run folder ──► inference / explain
//!  (or phantoms)      Loader    TeachingNet  train_model   run::train     predictions, heat maps
//!                     ImageSet               (Recipe, seed)  (checkpoint,   metrics, plots
//!                                                             figures)
//!        └──────── input::ModelInput: the loader reads with it, every ImageSet records it,
//!                  the Recipe and model.json hold it, training checks it, inference reads
//!                  images with the checkpoint's own
//!                              experiments: cross-validation and the seed spread repeat
//!                              training with other folds and seeds
//! ```
//!
//! 0. [`input`]: how an image becomes the model's input, as one value
//!    ([`input::ModelInput`]: windows, side, resize filter) that loading, training, the
//!    checkpoint and inference all carry, and the decoding [`input::Limits`].
//! 1. [`data`]: the one [`data::Loader`], the folder layout (Keras' `flow_from_directory`),
//!    preparing the Kaggle set, synthetic phantoms, augmentation, and [`data::source`], the one rule that picks real data
//!    or phantoms and says which.
//! 2. [`model`]: the teaching model, [`model::TeachingNet`], with every shape known at compile
//!    time; its layers, kernels and compile-time sides live inside it.
//! 3. [`training`]: the [`training::Recipe`] (every setting, one place), the training step,
//!    and [`training::train_model`], which seeds its own device.
//! 4. [`run`]: one whole training run, as the command line and notebook 03 do it: train, score
//!    on the validation images, predict the test images, and save weights, metadata, history,
//!    predictions and figures into a run folder ([`checkpoint`] writes the weights).
//! 5. [`inference`]: predictions in plain language; [`metrics`]: accuracy, sensitivity,
//!    specificity, ROC and AUC with 95% intervals; [`explain`]: Grad-CAM, LayerCAM and
//!    saliency; [`plots`]: the figures.
//! 6. [`study`]: whole CT studies as exported from a scanner or an archive: every file
//!    accounted for, series in slice order, a call for the series and the scan.
//! 7. [`experiments`]: stratified k-fold cross-validation and the spread over training seeds.
//!
//! For the notebooks: [`prelude`] (`use head_ct::prelude::*;`), [`lesson`], whose [`lesson::Lesson::open`] is each notebook's first line
//! (the data, real or phantoms, said which, and a seeded device), and [`table`], the reports'
//! tables as Markdown for the command line and as HTML in JupyterLab.
//!
//! The words of the task, used by every stage: [`labels::Label`] (normal / hemorrhage),
//! [`labels::Threshold`] (the one call rule) and [`labels::Verdict`].
//!
//! Infrastructure: [`settings`] (every environment variable, read in one place by the
//! programs), [`error`], [`allocator`] (the command's memory reuse), [`text`] (file names
//! that stay readable in lines, CSV cells and captions), atomic file writes.

#[cfg(feature = "cli")]
pub mod allocator;
pub mod calibration;
pub mod checkpoint;
pub mod ct;
pub mod data;
pub mod error;
pub mod experiments;
pub mod explain;
mod fsutil;
pub mod inference;
pub mod input;
pub mod labels;
pub mod lesson;
pub mod metrics;
pub mod model;
pub mod operating_point;
pub mod plots;
pub mod prelude;
pub mod run;
pub mod settings;
pub mod study;
pub mod table;
pub mod text;
pub mod training;

pub use error::{Error, Result};
pub use labels::{Label, Threshold, Verdict};

/// The dfdx this crate is built on, so that notebooks and programs use the very same version
/// (`use head_ct::dfdx::prelude::*;`) without pinning it themselves.
pub use dfdx;
