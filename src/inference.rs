//! Predictions in plain language: "047.png: hemorrhage (calibrated probability of hemorrhage
//! 0.92) — correct".
//!
//! A prediction keeps the network's raw probability and, for a calibrated model, the
//! temperature-scaled one ([`crate::calibration::Temperature`]); the call and every printed
//! number use the calibrated probability when there is one, and say which it is.

use dfdx::prelude::Cpu;

use crate::{
    calibration::{CalibrationReport, Temperature},
    data::{sequential_batches, ImageSet},
    error::Result,
    labels::{Label, Threshold, Verdict},
    metrics::BinaryMetrics,
    model::TeachingNet,
    training::{predict_probabilities, EVAL_BATCH_SIZE},
};
use std::path::{Path, PathBuf};

/// The model's call on one image.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub path: PathBuf,
    /// Probability of hemorrhage as the network gave it (raw, uncalibrated), in `[0, 1]`.
    pub probability: f32,
    /// The calibrated probability of hemorrhage (temperature-scaled), when the model is
    /// calibrated; the call uses it.
    pub calibrated: Option<f32>,
    /// The threshold the call was made with (on [`Prediction::reported_probability`]).
    pub threshold: Threshold,
    /// The true label when known.
    pub truth: Option<Label>,
    /// What the loader noticed about the image's pixels ([`crate::data::Sample::note`]).
    pub note: Option<String>,
}

impl Prediction {
    /// The probability the model reports and calls with: the calibrated one when there is one,
    /// otherwise the raw one.
    pub fn reported_probability(&self) -> f32 {
        self.calibrated.unwrap_or(self.probability)
    }

    /// `"calibrated"` or `"uncalibrated"`: what [`Prediction::reported_probability`] is.
    pub fn probability_kind(&self) -> &'static str {
        if self.calibrated.is_some() {
            "calibrated"
        } else {
            "uncalibrated"
        }
    }

    /// The same prediction with its probability scaled by `temperature` (none: raw).
    pub fn calibrated_with(mut self, temperature: Option<Temperature>) -> Self {
        self.calibrated = temperature.map(|t| t.apply(self.probability));
        self
    }

    /// The model's call: [`Threshold::call`] on the reported probability.
    pub fn call(&self) -> Label {
        self.threshold.call(self.reported_probability())
    }

    /// True when the model calls this image "hemorrhage".
    pub fn is_hemorrhage(&self) -> bool {
        self.call().is_hemorrhage()
    }

    /// "hemorrhage" or "normal".
    pub fn class_name(&self) -> &'static str {
        self.call().name()
    }

    /// Correct, missed or false alarm, when the truth is known.
    pub fn verdict(&self) -> Option<Verdict> {
        self.truth.map(|t| Verdict::of(self.call(), t))
    }

    /// The file name for display; for a labelled image, with its class folder
    /// (`hemorrhage/047.png`), since two class folders may hold files of the same name. Control
    /// characters are escaped ([`crate::text::printable`]): a name never breaks a line.
    pub fn name(&self) -> String {
        let file = self
            .path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string());
        let name = match (self.truth, self.path.parent().and_then(Path::file_name)) {
            (Some(_), Some(folder)) => format!("{}/{file}", folder.to_string_lossy()),
            _ => file,
        };
        crate::text::printable(&name)
    }

    /// The probability with 2 decimals, or with as many more as it takes to show which side of
    /// the threshold it lies on (0.495 is not shown as "0.50" under a threshold of 0.50).
    pub fn shown_probability(&self) -> String {
        let probability = self.reported_probability();
        for digits in 2..=6 {
            let shown = format!("{:.*}", digits, probability);
            let rounded: f32 = shown.parse().unwrap_or(probability);
            if self.threshold.call(rounded) == self.call() {
                return shown;
            }
        }
        // The shortest text that reads back as this very number.
        probability.to_string()
    }

    /// One sentence: `047.png: hemorrhage (calibrated probability of hemorrhage 0.92) —
    /// correct`. The probability is always that of hemorrhage, so a "normal" call shows a low
    /// number, and it says whether it is calibrated.
    pub fn sentence(&self) -> String {
        let mut s = format!(
            "{}: {} ({} probability of hemorrhage {})",
            self.name(),
            self.class_name(),
            self.probability_kind(),
            self.shown_probability()
        );
        if let Some(v) = self.verdict() {
            s.push_str(" — ");
            s.push_str(v.as_str());
        }
        if let Some(note) = &self.note {
            s.push_str(" [note: ");
            s.push_str(note);
            s.push(']');
        }
        s
    }
}

/// Predicts every image of `set`, in order, with the network's raw (uncalibrated)
/// probabilities; [`predict_set_calibrated`] scales them.
pub fn predict_set(
    model: &TeachingNet,
    dev: &Cpu,
    set: &ImageSet,
    threshold: Threshold,
) -> Result<Vec<Prediction>> {
    predict_set_calibrated(model, dev, set, threshold, None)
}

/// Predicts every image of `set`, in order; with a `temperature`, the probabilities are
/// calibrated with it and called at `threshold` on that scale (what a calibrated model's
/// `model.json` asks for: [`crate::checkpoint::ModelMetadata::temperature`]).
pub fn predict_set_calibrated(
    model: &TeachingNet,
    dev: &Cpu,
    set: &ImageSet,
    threshold: Threshold,
    temperature: Option<Temperature>,
) -> Result<Vec<Prediction>> {
    let mut predictions = Vec::with_capacity(set.len());
    for indices in sequential_batches(set.len(), EVAL_BATCH_SIZE) {
        let batch = set.batch(dev, &indices);
        let probabilities = predict_probabilities(model, batch.images)?;
        for (&i, probability) in indices.iter().zip(probabilities) {
            predictions.push(
                Prediction {
                    path: set.samples[i].path.clone(),
                    probability,
                    calibrated: None,
                    threshold,
                    truth: set.samples[i].label,
                    note: set.samples[i].note.clone(),
                }
                .calibrated_with(temperature),
            );
        }
    }
    Ok(predictions)
}

/// Loads, resizes and predicts image files (truth unknown) as the model was made to see them:
/// with its input (windows, side, filter), calibrated with its temperature and called at its
/// threshold (all from its `model.json`), each file read within `limits`.
pub fn predict_files(
    model: &TeachingNet,
    dev: &Cpu,
    paths: &[PathBuf],
    metadata: &crate::checkpoint::ModelMetadata,
    limits: crate::input::Limits,
) -> Result<Vec<Prediction>> {
    let set = metadata.loader(limits).files(paths)?;
    predict_set_calibrated(
        model,
        dev,
        &set,
        metadata.threshold(),
        metadata.temperature(),
    )
}

/// Writes predictions as CSV
/// (`file,probability_hemorrhage,predicted,truth,verdict,note,calibrated_probability,threshold`),
/// atomically: `probability_hemorrhage` is the network's raw probability,
/// `calibrated_probability` the temperature-scaled one (empty for an uncalibrated model), and
/// `predicted` the call at `threshold` on the calibrated probability when there is one. File
/// names are [`crate::text::csv_field`]s.
pub fn write_predictions_csv(path: &Path, predictions: &[Prediction]) -> Result<()> {
    let mut csv = String::from(
        "file,probability_hemorrhage,predicted,truth,verdict,note,calibrated_probability,threshold\n",
    );
    for p in predictions {
        let truth = p.truth.map_or("", Label::name);
        let verdict = p.verdict().map(Verdict::as_str).unwrap_or("");
        csv.push_str(&format!(
            "{},{:.6},{},{},{},{},{},{}\n",
            crate::text::csv_field(&p.path.display().to_string()),
            p.probability,
            p.class_name(),
            truth,
            verdict,
            crate::text::csv_field(p.note.as_deref().unwrap_or("")),
            p.calibrated.map_or(String::new(), |c| format!("{c:.6}")),
            p.threshold
        ));
    }
    crate::fsutil::write_atomically(path, csv.as_bytes())
}

/// Accuracy, sensitivity, specificity, precision and ROC AUC (with 95% intervals) of labelled
/// predictions' reported (calibrated, when they are) probabilities, at their threshold (the AUC's bootstrap follows [`BinaryMetrics::compute`]: the
/// same predictions always get the same interval). Errors if a prediction has no label (an
/// unlabelled image cannot be scored) or the list is empty.
pub fn score_predictions(predictions: &[Prediction]) -> Result<BinaryMetrics> {
    let threshold = predictions
        .first()
        .map_or(Threshold::DEFAULT, |p| p.threshold);
    score_predictions_at(predictions, threshold)
}

/// [`score_predictions`] with the calls made at `threshold` instead of the predictions' own:
/// the same probabilities, called by another rule (the AUC does not depend on it).
pub fn score_predictions_at(
    predictions: &[Prediction],
    threshold: Threshold,
) -> Result<BinaryMetrics> {
    let (probabilities, labels) = labelled_probabilities(predictions, true)?;
    BinaryMetrics::compute(&probabilities, &labels, threshold)
}

/// The probabilities (reported ones when `reported`, raw ones otherwise) and labels of labelled
/// predictions. Errors if a prediction has no label.
pub fn labelled_probabilities(
    predictions: &[Prediction],
    reported: bool,
) -> Result<(Vec<f32>, Vec<Label>)> {
    let mut probabilities = Vec::with_capacity(predictions.len());
    let mut labels = Vec::with_capacity(predictions.len());
    for p in predictions {
        let Some(truth) = p.truth else {
            return Err(crate::Error::InvalidInput(format!(
                "{} has no label: only labelled images (in class folders) can be scored",
                p.path.display()
            )));
        };
        probabilities.push(if reported {
            p.reported_probability()
        } else {
            p.probability
        });
        labels.push(truth);
    }
    Ok((probabilities, labels))
}

/// How well labelled predictions are calibrated ([`CalibrationReport`], `bins` bins): of their
/// reported probabilities, and, when those are calibrated, also of the raw ones (`None`
/// otherwise). Errors as [`labelled_probabilities`] and [`CalibrationReport::compute`].
pub fn calibration_of_predictions(
    predictions: &[Prediction],
    bins: usize,
) -> Result<(CalibrationReport, Option<CalibrationReport>)> {
    let (reported, labels) = labelled_probabilities(predictions, true)?;
    let report = CalibrationReport::compute(&reported, &labels, bins)?;
    let raw = if predictions.iter().any(|p| p.calibrated.is_some()) {
        let (raw, _) = labelled_probabilities(predictions, false)?;
        Some(CalibrationReport::compute(&raw, &labels, bins)?)
    } else {
        None
    };
    Ok((report, raw))
}

/// One [`Prediction::sentence`] a line, indented by two spaces, then `"  9 of 10 correct"` when
/// the images are labelled.
pub fn predictions_report(predictions: &[Prediction]) -> String {
    let mut report = String::new();
    for p in predictions {
        report.push_str("  ");
        report.push_str(&p.sentence());
        report.push('\n');
    }
    let scored: Vec<Verdict> = predictions.iter().filter_map(Prediction::verdict).collect();
    if !scored.is_empty() {
        let correct = scored.iter().filter(|v| **v == Verdict::Correct).count();
        report.push_str(&format!("  {correct} of {} correct\n", scored.len()));
    }
    report
}
