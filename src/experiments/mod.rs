//! Experiments that train the recipe more than once, to see how much a result can be trusted.
//!
//! - [`crossval`]: stratified k-fold cross-validation; every image is held out exactly once, so
//!   a result rests on all the images instead of one small validation split.
//! - [`seeds`]: the same split trained with several seeds: how much of a result is luck.
//! - [`folds`]: the fold assignment, the fold seeds and the pools of labelled images.
//! - [`spread`]: mean, standard deviation, minimum and maximum of a metric over models.
//!
//! Both experiments train every model with [`crate::training::train_model`] and report through
//! the one [`crate::training::observer::Observer`] trait (a line per model with
//! [`ModelLines`](crate::training::observer::ModelLines)). Both reports show as one table
//! through [`Report`](crate::table::Report): `report.table()` (Markdown when printed),
//! `report.html()`, `report.evcxr_display()`.

pub mod crossval;
pub mod folds;
pub mod seeds;
pub mod spread;

/// The trait the reports show their tables through, here too so that
/// `use head_ct::experiments::*` brings it into scope.
pub use crate::table::Report;
pub use crossval::{
    cross_validate, CrossValCalibration, CrossValConfig, CrossValReport, FoldCalibration,
    FoldPredictions, FoldResult, CROSS_FITTING,
};
pub use folds::{
    fold_seed, kaggle_pool, seed_layout_pool, stratified_folds, subset, DEFAULT_FOLDS,
};
pub use seeds::{parse_seeds, seed_spread, SeedRun, SeedSpreadReport};
pub use spread::Spread;
