//! One whole training run, as `head-ct train` and notebook 03 do it: train the teaching model
//! with a [`Recipe`] and a seed, score it on the validation images, predict the test images,
//! and save everything into a run folder.
//!
//! A run folder holds the files of [`RunFile::ALL`] (their names come from there alone): the
//! weights and metadata ([`crate::checkpoint`]), the history, the predictions and the figures;
//! [`TrainingRun::written`] lists the ones a run wrote. Every file is written atomically, and
//! [`new_run_folder`] never picks a folder that exists: a new run never overwrites an old one.
//!
//! ```no_run
//! use head_ct::{data::{load_data, Loader}, run, training::{observer::EpochLines, Recipe}};
//!
//! let found = load_data(&Loader::default(), None, "data/head_ct_slices".as_ref(), 1)?;
//! let folder = run::new_run_folder("runs".as_ref(), 1, None);
//! let done = run::train(&folder, &found, &Recipe::TEACHING, 1, &mut EpochLines)?;
//! println!("{}", done.validation_metrics);
//! # Ok::<(), head_ct::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::{
    calibration::{CalibrationReport, DEFAULT_BINS},
    checkpoint::{save_checkpoint, FinalMetrics, ModelMetadata, TrainingSettings},
    data::FoundData,
    inference::{
        labelled_probabilities, predict_set, predict_set_calibrated, score_predictions,
        write_predictions_csv, Prediction,
    },
    metrics::BinaryMetrics,
    operating_point::{check_call_rule_data, fit_call_rule, CallRule},
    plots,
    training::{observer::Observer, train_model, Recipe, TrainedModel},
    Result,
};

/// A file of a run folder: its name, in one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RunFile {
    /// `model.safetensors` ([`crate::checkpoint::WEIGHTS_FILE`]).
    Weights,
    /// `model.json` ([`crate::checkpoint::METADATA_FILE`]).
    Metadata,
    /// `history.csv`: loss and accuracy per epoch.
    History,
    /// `predictions.csv`: the test images' calls.
    Predictions,
    /// `samples.png`: training images of each class.
    Samples,
    /// `curves.png`: the learning curves.
    Curves,
    /// `confusion_matrix.png`, on the validation images.
    ConfusionMatrix,
    /// `roc.png`, on the validation images (only when they hold both classes).
    Roc,
    /// `reliability.png`: the reliability diagram of the validation images, raw and (when the
    /// model is calibrated) calibrated.
    Reliability,
    /// `predictions.png`: the test images with their calls.
    PredictionsFigure,
}

impl RunFile {
    /// Every file, in the order [`train`] writes and reports them.
    pub const ALL: [RunFile; 10] = [
        RunFile::Weights,
        RunFile::Metadata,
        RunFile::History,
        RunFile::Predictions,
        RunFile::Samples,
        RunFile::Curves,
        RunFile::ConfusionMatrix,
        RunFile::Roc,
        RunFile::Reliability,
        RunFile::PredictionsFigure,
    ];

    /// The file name.
    pub fn name(self) -> &'static str {
        match self {
            RunFile::Weights => crate::checkpoint::WEIGHTS_FILE,
            RunFile::Metadata => crate::checkpoint::METADATA_FILE,
            RunFile::History => "history.csv",
            RunFile::Predictions => "predictions.csv",
            RunFile::Samples => "samples.png",
            RunFile::Curves => "curves.png",
            RunFile::ConfusionMatrix => "confusion_matrix.png",
            RunFile::Roc => "roc.png",
            RunFile::Reliability => "reliability.png",
            RunFile::PredictionsFigure => "predictions.png",
        }
    }

    /// Its path in the run folder `folder`.
    pub fn path_in(self, folder: &Path) -> PathBuf {
        folder.join(self.name())
    }
}

impl std::fmt::Display for RunFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Which images [`TrainingRun::predictions`] are of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PredictedSplit {
    /// The test images, which played no part in training.
    Test,
    /// The validation images, when there is no `test/` folder.
    Validation,
}

impl PredictedSplit {
    /// `"test"` or `"validation (there is no test/ folder)"`.
    pub fn describe(self) -> &'static str {
        match self {
            PredictedSplit::Test => "test",
            PredictedSplit::Validation => "validation (there is no test/ folder)",
        }
    }
}

/// Everything a run made, besides its files.
pub struct TrainingRun {
    /// The run folder.
    pub folder: PathBuf,
    /// The model, its device and its history.
    pub trained: TrainedModel,
    /// The model's calls on the validation images (calibrated, at the call rule's threshold).
    pub validation: Vec<Prediction>,
    /// Accuracy, sensitivity, specificity, precision and AUC on the validation images.
    pub validation_metrics: BinaryMetrics,
    /// How the model turns its output into a call: temperature and threshold, fitted on the
    /// validation images after training.
    pub call_rule: CallRule,
    /// Calibration of the validation images' raw probabilities (before temperature scaling).
    pub validation_calibration_raw: CalibrationReport,
    /// Calibration of their calibrated probabilities, when the model is calibrated (measured on
    /// the images the temperature was fitted on: optimistic).
    pub validation_calibration: Option<CalibrationReport>,
    /// What went wrong in training, in plain words (also in `model.json`).
    pub warnings: Vec<String>,
    /// The model's calls on the test images (or the validation images, see `predicted`).
    pub predictions: Vec<Prediction>,
    pub predicted: PredictedSplit,
    /// What `model.json` says.
    pub metadata: ModelMetadata,
    /// The files the run wrote, in [`RunFile::ALL`]'s order.
    pub written: Vec<RunFile>,
}

/// Trains the teaching model on `found`'s training images with `recipe` and `seed`
/// ([`train_model`]; `observer` hears every batch and epoch), scores it on the validation
/// images, predicts the test images (or, without a `test/` folder, the validation images), and
/// writes the files of [`RunFile::ALL`] into `folder` (created if missing; `roc.png` only when
/// the validation images hold both classes).
///
/// After training, the call rule is fitted on the validation images ([`fit_call_rule`]): a
/// temperature by the recipe's `calibration`, then, with a `target_sensitivity`, the threshold;
/// both are saved in `model.json` with what they were fitted on, and the validation and test
/// predictions use them. A training loss still at chance after the third epoch
/// ([`crate::training::History::stuck_at_chance`]) is recorded in `model.json`'s
/// `training_warnings` and [`TrainingRun::warnings`].
///
/// Errors if the recipe cannot train, the images were loaded for another input than the
/// recipe's, the validation images cannot give what the recipe asks (too few to calibrate
/// under `temperature`, no hemorrhage for a target sensitivity: said before any training), the
/// folder cannot be written, or as training does; the files written before an error stay (each
/// one whole).
pub fn train(
    folder: &Path,
    found: &FoundData,
    recipe: &Recipe,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<TrainingRun> {
    let (data, source) = (&found.data, &found.source);
    recipe.check()?;
    crate::training::check_input(recipe, &[("training", &data.train)])?;
    check_call_rule_data(
        &data.validate.known_labels()?,
        recipe.calibration,
        recipe.target_sensitivity,
        VALIDATION_IMAGES,
    )?;
    crate::error::create_dir_all(folder)?;
    plots::class_samples(&data.train, 4)?.save_png(RunFile::Samples.path_in(folder))?;
    let mut written = vec![RunFile::Samples];

    let trained = train_model(&data.train, &data.validate, recipe, seed, observer)?;
    trained
        .history
        .write_csv(&RunFile::History.path_in(folder))?;
    plots::training_curves(&trained.history)?.save_png(RunFile::Curves.path_in(folder))?;
    written.extend([RunFile::History, RunFile::Curves]);

    // How good is it on images it did not train on?
    let (model, dev) = (&trained.model, &*trained.dev);
    let raw = predict_set(model, dev, &data.validate, recipe.threshold)?;
    let (raw_probabilities, labels) = labelled_probabilities(&raw, false)?;
    let call_rule = fit_call_rule(
        &raw_probabilities,
        &labels,
        recipe.calibration,
        recipe.target_sensitivity,
        recipe.threshold,
        VALIDATION_IMAGES,
    )?;
    let calibrate = |p: Prediction| Prediction {
        threshold: call_rule.threshold,
        ..p.calibrated_with(call_rule.temperature())
    };
    let validation: Vec<Prediction> = raw.into_iter().map(calibrate).collect();
    let validation_metrics = score_predictions(&validation)?;
    written.extend(save_evaluation_figures(&validation_metrics, folder)?);
    let validation_calibration_raw =
        CalibrationReport::compute(&raw_probabilities, &labels, DEFAULT_BINS)?;
    let validation_calibration = match call_rule.temperature() {
        Some(_) => Some(CalibrationReport::compute(
            &call_rule.reported(&raw_probabilities),
            &labels,
            DEFAULT_BINS,
        )?),
        None => None,
    };
    reliability_of_run(&validation_calibration_raw, validation_calibration.as_ref())?
        .save_png(RunFile::Reliability.path_in(folder))?;
    written.push(RunFile::Reliability);
    let warnings: Vec<String> = trained.history.stuck_at_chance().into_iter().collect();

    let mut metadata = ModelMetadata::for_teaching_net(
        data.train.class_names.clone(),
        TrainingSettings::new(recipe, seed, source, &data.train, &data.validate),
    );
    metadata.final_metrics = FinalMetrics::from_history(
        &trained.history,
        validation_metrics.auc.as_ref().map(|a| a.value),
    );
    metadata.calibration = call_rule.calibration.clone();
    metadata.operating_point = call_rule.operating_point.clone();
    metadata.training_warnings = warnings.clone();
    save_checkpoint(folder, model, &metadata)?;
    written.extend([RunFile::Weights, RunFile::Metadata]);

    // The seed's last step: predict the test images, which played no part in training.
    let (predictions, predicted) = match &data.test {
        Some(test) => (
            predict_set_calibrated(
                model,
                dev,
                test,
                call_rule.threshold,
                call_rule.temperature(),
            )?,
            PredictedSplit::Test,
        ),
        None => (validation.clone(), PredictedSplit::Validation),
    };
    write_predictions_csv(&RunFile::Predictions.path_in(folder), &predictions)?;
    plots::predictions_figure(&predictions, data.test.as_ref().unwrap_or(&data.validate))?
        .save_png(RunFile::PredictionsFigure.path_in(folder))?;
    written.extend([RunFile::Predictions, RunFile::PredictionsFigure]);
    written.sort_by_key(|f| RunFile::ALL.iter().position(|a| a == f));

    Ok(TrainingRun {
        folder: folder.to_path_buf(),
        trained,
        validation,
        validation_metrics,
        call_rule,
        validation_calibration_raw,
        validation_calibration,
        warnings,
        predictions,
        predicted,
        metadata,
        written,
    })
}

/// How [`train`] names the images its call rule is fitted on.
const VALIDATION_IMAGES: &str = "validation images";

/// The reliability diagram of a run's validation images: raw, and calibrated when there is a
/// temperature.
pub fn reliability_of_run(
    raw: &CalibrationReport,
    calibrated: Option<&CalibrationReport>,
) -> Result<plots::Figure> {
    match calibrated {
        Some(c) => plots::reliability_figure(
            "Reliability on the validation images (the temperature was fitted on them)",
            &[("raw", raw), ("calibrated", c)],
        ),
        None => plots::reliability_figure(
            "Reliability on the validation images (uncalibrated)",
            &[("raw", raw)],
        ),
    }
}

impl TrainingRun {
    /// Where the run went, in one sentence: `Saved in /home/me/head-ct/runs/notebook:
    /// model.safetensors, model.json, ...` (the folder made absolute, and the files the run
    /// wrote).
    pub fn saved_sentence(&self) -> String {
        let folder = std::fs::canonicalize(&self.folder).unwrap_or_else(|_| self.folder.clone());
        format!(
            "Saved in {}: {}.",
            crate::text::printable_path(&folder),
            self.written_list()
        )
    }

    /// The files the run wrote, joined by commas: `model.safetensors, model.json, ...`.
    pub fn written_list(&self) -> String {
        let names: Vec<&str> = self.written.iter().map(|f| f.name()).collect();
        names.join(", ")
    }
}

/// `confusion_matrix.png`, and `roc.png` when both classes are present, into `folder`; returns
/// the files written.
pub fn save_evaluation_figures(metrics: &BinaryMetrics, folder: &Path) -> Result<Vec<RunFile>> {
    plots::confusion_matrix_figure(&metrics.confusion)?
        .save_png(RunFile::ConfusionMatrix.path_in(folder))?;
    let mut written = vec![RunFile::ConfusionMatrix];
    if metrics.auc.is_some() {
        plots::roc_figure_from_metrics(metrics)?.save_png(RunFile::Roc.path_in(folder))?;
        written.push(RunFile::Roc);
    }
    Ok(written)
}

/// The name of a run folder started at `time` (UTC) with `seed`: `2026-11-27T01-02-03-seed1`,
/// then `-suffix` when given (`...-seed1-cv`). Sortable, and free of `:` (not allowed in
/// Windows file names).
pub fn run_folder_name(
    time: chrono::DateTime<chrono::Utc>,
    seed: u64,
    suffix: Option<&str>,
) -> String {
    let mut name = format!("{}-seed{seed}", time.format("%Y-%m-%dT%H-%M-%S"));
    if let Some(suffix) = suffix {
        name.push('-');
        name.push_str(suffix);
    }
    name
}

/// A new folder under `parent` named by [`run_folder_name`] for now, with `-2`, `-3`, ... when
/// that name exists already. Nothing is created.
pub fn new_run_folder(parent: &Path, seed: u64, suffix: Option<&str>) -> PathBuf {
    let base = run_folder_name(chrono::Utc::now(), seed, suffix);
    let mut candidate = parent.join(&base);
    let mut n = 2;
    while candidate.exists() {
        candidate = parent.join(format!("{base}-{n}"));
        n += 1;
    }
    candidate
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn run_folders_are_named_by_utc_time_and_seed_and_never_reused() {
        let t = chrono::Utc.with_ymd_and_hms(2024, 2, 29, 23, 5, 9).unwrap();
        assert_eq!(run_folder_name(t, 7, None), "2024-02-29T23-05-09-seed7");
        assert_eq!(
            run_folder_name(t, 1, Some("cv")),
            "2024-02-29T23-05-09-seed1-cv"
        );
        let parent = tempfile::tempdir().unwrap();
        let first = new_run_folder(parent.path(), 3, Some("seeds"));
        std::fs::create_dir(&first).unwrap();
        let second = new_run_folder(parent.path(), 3, Some("seeds"));
        assert_ne!(first, second);
        // Created within the same second, the second folder gets a number.
        if second
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&*first.file_name().unwrap().to_string_lossy())
        {
            assert!(second.to_string_lossy().ends_with("-seeds-2"), "{second:?}");
        }
    }
}
