//! One whole training run, as `head-ct train` and notebook 03 do it: train the teaching model
//! with a [`Recipe`] and a seed, score it on the validation images, predict the test images,
//! and save everything into a run folder.
//!
//! A run folder holds [`RUN_FILES`]: the weights and metadata ([`crate::checkpoint`]), the
//! history, the predictions and the figures. Every file is written atomically, and
//! [`new_run_folder`] never picks a folder that exists: a new run never overwrites an old one.
//!
//! ```no_run
//! use head_ct::{data::load_data, run, training::{observer::EpochLines, Recipe}};
//!
//! let found = load_data(None, "data/head_ct_slices".as_ref(), 1)?;
//! let folder = run::new_run_folder("runs".as_ref(), 1, None);
//! let done = run::train(&folder, &found, &Recipe::TEACHING, 1, &mut EpochLines)?;
//! println!("{}", done.validation_metrics);
//! # Ok::<(), head_ct::Error>(())
//! ```

use std::path::{Path, PathBuf};

use crate::{
    checkpoint::{save_checkpoint, FinalMetrics, ModelMetadata, TrainingSettings},
    data::{DataSource, FoundData, SeedData},
    inference::{predict_set, score_predictions, write_predictions_csv, Prediction},
    metrics::BinaryMetrics,
    plots,
    training::{observer::Observer, train_model, Recipe, TrainedModel},
    Result,
};

/// The files a run folder holds after [`train`] (`roc.png` only when the validation images hold
/// both classes).
pub const RUN_FILES: [&str; 9] = [
    "model.safetensors",
    "model.json",
    "history.csv",
    "predictions.csv",
    "samples.png",
    "curves.png",
    "confusion_matrix.png",
    "roc.png",
    "predictions.png",
];

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
    /// The model's calls on the validation images.
    pub validation: Vec<Prediction>,
    /// Accuracy, sensitivity, specificity, precision and AUC on the validation images.
    pub validation_metrics: BinaryMetrics,
    /// The model's calls on the test images (or the validation images, see `predicted`).
    pub predictions: Vec<Prediction>,
    pub predicted: PredictedSplit,
    /// What `model.json` says.
    pub metadata: ModelMetadata,
}

/// Trains the teaching model on `found`'s training images with `recipe` and `seed`
/// ([`train_model`]; `observer` hears every batch and epoch), scores it on the validation
/// images, predicts the test images (or, without a `test/` folder, the validation images), and
/// writes [`RUN_FILES`] into `folder` (created if missing).
///
/// Errors if the recipe cannot train, the folder cannot be written, or as training does; the
/// files written before an error stay (each one whole).
pub fn train(
    folder: &Path,
    found: &FoundData,
    recipe: &Recipe,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<TrainingRun> {
    train_on(folder, &found.data, &found.source, recipe, seed, observer)
}

/// [`train`] with the data and where it came from (`source`, recorded in `model.json`) given
/// apart, as [`crate::lesson::Lesson`] holds them.
pub fn train_on(
    folder: &Path,
    data: &SeedData,
    source: &DataSource,
    recipe: &Recipe,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<TrainingRun> {
    recipe.check()?;
    crate::error::create_dir_all(folder)?;
    plots::class_samples(&data.train, 4)?.save_png(folder.join("samples.png"))?;

    let trained = train_model(&data.train, &data.validate, recipe, seed, observer)?;
    trained.history.write_csv(&folder.join("history.csv"))?;
    plots::training_curves(&trained.history)?.save_png(folder.join("curves.png"))?;

    // How good is it on images it did not train on?
    let (model, dev) = (&trained.model, &*trained.dev);
    let validation = predict_set(model, dev, &data.validate, recipe.threshold)?;
    let validation_metrics = score_predictions(&validation)?;
    save_evaluation_figures(&validation_metrics, folder)?;

    let mut metadata = ModelMetadata::for_teaching_net(
        data.train.class_names.clone(),
        TrainingSettings::new(recipe, seed, source, &data.train, &data.validate),
    );
    metadata.final_metrics = FinalMetrics::from_history(
        &trained.history,
        validation_metrics.auc.as_ref().map(|a| a.value),
    );
    save_checkpoint(folder, model, &metadata)?;

    // The seed's last step: predict the test images, which played no part in training.
    let (predictions, predicted) = match &data.test {
        Some(test) => (
            predict_set(model, dev, test, recipe.threshold)?,
            PredictedSplit::Test,
        ),
        None => (validation.clone(), PredictedSplit::Validation),
    };
    write_predictions_csv(&folder.join("predictions.csv"), &predictions)?;
    plots::predictions_figure(&predictions, data.test.as_ref().unwrap_or(&data.validate))?
        .save_png(folder.join("predictions.png"))?;

    Ok(TrainingRun {
        folder: folder.to_path_buf(),
        trained,
        validation,
        validation_metrics,
        predictions,
        predicted,
        metadata,
    })
}

impl TrainingRun {
    /// Where the run went, in one sentence: `Saved in /home/me/head-ct/runs/notebook:
    /// model.safetensors, model.json, ...` (the folder made absolute, and the files of
    /// [`RUN_FILES`] that are there).
    pub fn saved_sentence(&self) -> String {
        let folder = std::fs::canonicalize(&self.folder).unwrap_or_else(|_| self.folder.clone());
        let files: Vec<&str> = RUN_FILES
            .iter()
            .copied()
            .filter(|f| self.folder.join(f).exists())
            .collect();
        format!(
            "Saved in {}: {}.",
            crate::text::printable_path(&folder),
            files.join(", ")
        )
    }
}

/// `confusion_matrix.png`, and `roc.png` when both classes are present, into `folder`.
pub fn save_evaluation_figures(metrics: &BinaryMetrics, folder: &Path) -> Result<()> {
    plots::confusion_matrix_figure(&metrics.confusion)?
        .save_png(folder.join("confusion_matrix.png"))?;
    if metrics.auc.is_some() {
        plots::roc_figure_from_metrics(metrics)?.save_png(folder.join("roc.png"))?;
    }
    Ok(())
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
