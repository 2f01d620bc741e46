//! What a notebook (or a small program) needs, in one line: `use head_ct::prelude::*;`.
//!
//! The lesson and its data, the model's input and the loader, the recipe and the observers that
//! print training, predictions and their scores, the experiments, the words of the task, and
//! the modules whose functions are called by name (`plots::training_curves`,
//! `explain::layer_cam`). Everything else stays one `use` away, under the module that explains
//! it.

pub use crate::{
    calibration::{CalibrationMode, CalibrationReport, Temperature},
    checkpoint::{load_checkpoint, ModelMetadata},
    ct::{read_ct_slice, CtImage, CtSlice},
    data::{ImageSet, Loader, SeedData, Split},
    experiments::{cross_validate, seed_layout_pool, seed_spread, CrossValConfig},
    explain::{self, Method},
    inference::{
        calibration_of_predictions, predict_set, predict_set_calibrated, predictions_report,
        score_predictions, score_predictions_at,
    },
    input::{InputWindows, Limits, ModelInput, Window},
    labels::{Label, Threshold},
    lesson::{self, Lesson},
    model::{build_teaching_net, TeachingNet, IMAGE_LEN, IMAGE_SIZE},
    operating_point::{choose_threshold, TargetSensitivity},
    plots,
    settings::Settings,
    table::Report,
    training::{
        observer::{EpochLines, ModelLines, Silent},
        Recipe,
    },
    Error, Result,
};
