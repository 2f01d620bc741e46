//! Whole CT studies as people export them: every file accounted for, series in slice order, a
//! call for the series and the scan.
//!
//! ```text
//!  files and folders ──► take_inventory ──► order_studies ──► predict_studies ──► StudyReport
//!  (recursive)           headers only,      by StudyInstanceUID,  batches of        slices.csv,
//!                        skipped + reason   SeriesInstanceUID,     STUDY_BATCH       series.csv,
//!                                           along the normal       slices            skipped.csv
//! ```
//!
//! - [`take_inventory`]: reads DICOM **headers only** (no pixel decoding) and sorts every file
//!   into images, display images and [`Skipped`] with a reason: nothing is dropped silently.
//! - [`order_studies`]: groups by StudyInstanceUID and SeriesInstanceUID and orders each series
//!   along its slice normal: ImagePositionPatient projected on the cross product of the two
//!   ImageOrientationPatient vectors (DICOM PS3.3 C.7.6.2.1.1), ties broken by
//!   SOPInstanceUID; InstanceNumber only when positions are missing ([`SlicesOrderedBy`]).
//!   Series notes say when positions are duplicated or unevenly spaced, or sizes differ.
//!   Localizers (ImageType LOCALIZER, or a slice normal unlike the series'), copies (a
//!   SOPInstanceUID seen before) and other modalities are skipped with a reason.
//! - [`predict_studies`]: decodes, windows, resizes and predicts [`STUDY_BATCH`] slices at a
//!   time (decoding in parallel), so memory stays bounded whatever the number of files; a slice
//!   that fails to decode is listed as failed and the rest is still predicted.
//! - [`StudyRule`]: the call for a series and a study, in one sentence.
//!
//! No patient name, patient id or birth date is printed or written.

mod call;
mod figures;
mod inventory;
mod order;
mod report;

use std::path::PathBuf;

use dfdx::prelude::Cpu;

pub use call::{positive_runs, StudyRule};
pub use figures::{top_slices_figure, TOP_SLICES};
pub use inventory::{take_inventory, Inventory, Skipped};
pub use order::order_studies;
pub use report::{write_series_csv, write_skipped_csv, write_slices_csv};

use crate::{
    calibration::Temperature,
    ct::DicomHeader,
    data::Loader,
    inference::{predict_set_calibrated, Prediction},
    labels::Label,
    model::TeachingNet,
    Result,
};

/// Slices decoded and predicted at a time: what bounds the memory a study run holds (32
/// slices of 3 x 150 x 150 floats, 8.6 MB, besides the decoders' own buffers).
pub const STUDY_BATCH: usize = 32;

/// How a series' slices were put in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlicesOrderedBy {
    /// Along the slice normal, from ImagePositionPatient and ImageOrientationPatient.
    Position,
    /// By InstanceNumber, because positions were missing.
    InstanceNumber,
}

/// One slice of a series, in order.
#[derive(Debug, Clone, PartialEq)]
pub struct SliceRef {
    pub header: DicomHeader,
    /// The position along the series' slice normal, mm (DICOM patient coordinates); `None`
    /// when the series is ordered by InstanceNumber.
    pub position_mm: Option<f64>,
}

/// The images of one series (SeriesInstanceUID), in slice order.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// SeriesInstanceUID (empty when the files had none).
    pub uid: String,
    /// SeriesNumber.
    pub number: Option<i64>,
    /// SeriesDescription, e.g. `HEAD 5mm STND`.
    pub description: Option<String>,
    pub ordered_by: SlicesOrderedBy,
    /// Slice 1 first: ascending position along the normal.
    pub slices: Vec<SliceRef>,
    /// What the reader noticed (missing positions, uneven spacing, ...), one sentence each.
    pub notes: Vec<String>,
}

/// The series of one study (StudyInstanceUID).
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// StudyInstanceUID (empty when the files had none).
    pub uid: String,
    /// StudyDate, `YYYYMMDD` as stored.
    pub date: Option<String>,
    pub series: Vec<Series>,
}

/// A series with its slices' predictions and its call.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesResult {
    pub series: Series,
    /// One per slice, in slice order; `None` for a slice that could not be read (it is in the
    /// report's skipped list with `failed:`).
    pub predictions: Vec<Option<Prediction>>,
    /// [`StudyRule::series_score`] of the reported probabilities.
    pub score: Option<f32>,
    pub call: Label,
}

impl SeriesResult {
    /// The reported (calibrated when the model is) probabilities, in slice order.
    pub fn probabilities(&self) -> Vec<Option<f32>> {
        self.predictions
            .iter()
            .map(|p| p.as_ref().map(Prediction::reported_probability))
            .collect()
    }

    /// The highest probability and its slice (1-based).
    pub fn highest(&self) -> Option<(f32, usize)> {
        self.probabilities()
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (p, i + 1)))
            .fold(None, |best: Option<(f32, usize)>, (p, i)| match best {
                Some((b, _)) if b >= p => best,
                _ => Some((p, i)),
            })
    }

    /// "series 2 'HEAD 5mm STND'".
    pub fn name(&self) -> String {
        let mut name = match self.series.number {
            Some(n) => format!("series {n}"),
            None => "series (no number)".to_string(),
        };
        if let Some(d) = &self.series.description {
            name.push_str(&format!(" '{}'", crate::text::printable(d)));
        }
        name
    }

    /// False when not one of its slices could be read: it has no call.
    pub fn is_readable(&self) -> bool {
        self.score.is_some()
    }

    /// The call as a word for tables: `hemorrhage`, `normal`, or `unreadable` when no slice
    /// could be read.
    pub fn call_name(&self) -> &'static str {
        if self.is_readable() {
            self.call.name()
        } else {
            "unreadable"
        }
    }

    /// One sentence: "series 2 'HEAD 5mm STND', 28 slices: hemorrhage likely — slices 11–16
    /// of 28 at or above 0.50 (highest 0.93, slice 13)".
    pub fn sentence(&self, rule: &StudyRule) -> String {
        let n = self.predictions.len();
        if !self.is_readable() {
            return format!(
                "{}, {n} slice{}: could not be read (no slice decoded; see the skipped list)",
                self.name(),
                if n == 1 { "" } else { "s" }
            );
        }
        let runs = positive_runs(&self.probabilities(), rule.threshold).replace('-', "–");
        let verdict = if self.call.is_hemorrhage() {
            "hemorrhage likely"
        } else {
            "no hemorrhage found"
        };
        let above = if runs.is_empty() {
            format!("no slice at or above {}", rule.threshold)
        } else {
            let word = if runs.contains(['–', ';']) {
                "slices"
            } else {
                "slice"
            };
            format!(
                "{word} {} of {n} at or above {}",
                runs.replace(';', ", "),
                rule.threshold
            )
        };
        let highest = self
            .highest()
            .map(|(p, i)| format!(" (highest {p:.2}, slice {i})"))
            .unwrap_or_default();
        let failed = self.predictions.iter().filter(|p| p.is_none()).count();
        let failed = if failed > 0 {
            format!("; {failed} slice(s) could not be read")
        } else {
            String::new()
        };
        format!(
            "{}, {n} slice{}: {verdict} — {above}{highest}{failed}",
            self.name(),
            if n == 1 { "" } else { "s" }
        )
    }
}

/// A study with its series' results and its call.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyResult {
    pub uid: String,
    pub date: Option<String>,
    pub series: Vec<SeriesResult>,
    /// The highest series score; `None` when no slice of the study could be read (then the
    /// study has no call, whatever `call` holds).
    pub score: Option<f32>,
    pub call: Label,
}

impl StudyResult {
    /// "Study 1.2.840…4711 (2026-12-01): hemorrhage likely (2 series)".
    pub fn sentence(&self) -> String {
        let date = self
            .date
            .as_deref()
            .filter(|d| d.len() == 8 && d.bytes().all(|b| b.is_ascii_digit()))
            .map(|d| format!(" ({}-{}-{})", &d[..4], &d[4..6], &d[6..]))
            .unwrap_or_default();
        let uid = if self.uid.is_empty() {
            "(no StudyInstanceUID)".to_string()
        } else {
            crate::text::shorten_middle(&crate::text::printable(&self.uid), 24)
        };
        let n = self.series.len();
        format!(
            "Study {uid}{date}: {} ({n} series)",
            if self.call.is_hemorrhage() {
                "hemorrhage likely"
            } else if self.score.is_none() {
                "could not be read"
            } else {
                "no hemorrhage found"
            }
        )
    }
}

/// A model as a study run uses it: the network on its device, the loader of its input
/// ([`crate::checkpoint::ModelMetadata::loader`]) and its temperature, when calibrated.
pub struct StudyModel<'a> {
    pub model: &'a TeachingNet,
    pub dev: &'a Cpu,
    pub loader: Loader,
    pub temperature: Option<Temperature>,
}

/// Predicts every slice of `studies`, [`STUDY_BATCH`] at a time, with `model` (read with its
/// loader, calibrated with its temperature) and called by `rule`. Slices that fail to
/// decode are added to `skipped` (`failed: ` and the reason) and left out of their series'
/// runs. `progress` is told how many slices each batch held.
pub fn predict_studies(
    model: &StudyModel<'_>,
    studies: Vec<Study>,
    rule: &StudyRule,
    skipped: &mut Vec<Skipped>,
    progress: &mut dyn FnMut(usize),
) -> Result<Vec<StudyResult>> {
    let mut results = Vec::with_capacity(studies.len());
    for study in studies {
        let mut series_results = Vec::with_capacity(study.series.len());
        for series in study.series {
            let paths: Vec<PathBuf> = series
                .slices
                .iter()
                .map(|s| s.header.path.clone())
                .collect();
            let mut predictions = Vec::with_capacity(paths.len());
            for chunk in paths.chunks(STUDY_BATCH) {
                let (set, failed) = model.loader.readable_files(chunk)?;
                let mut got = predict_set_calibrated(
                    model.model,
                    model.dev,
                    &set,
                    rule.threshold,
                    model.temperature,
                )?
                .into_iter()
                .peekable();
                for path in chunk {
                    if got.peek().is_some_and(|p| &p.path == path) {
                        predictions.push(got.next());
                    } else {
                        predictions.push(None);
                    }
                }
                for (path, e) in failed {
                    skipped.push(Skipped::failed(path, e.reason()));
                }
                progress(chunk.len());
            }
            let probabilities: Vec<Option<f32>> = predictions
                .iter()
                .map(|p| p.as_ref().map(Prediction::reported_probability))
                .collect();
            let score = rule.series_score(&probabilities);
            series_results.push(SeriesResult {
                call: rule.series_call(&probabilities),
                series,
                predictions,
                score,
            });
        }
        let score = series_results
            .iter()
            .filter_map(|s| s.score)
            .reduce(f32::max);
        let call = if series_results.iter().any(|s| s.call.is_hemorrhage()) {
            Label::Hemorrhage
        } else {
            Label::Normal
        };
        results.push(StudyResult {
            uid: study.uid,
            date: study.date,
            series: series_results,
            score,
            call,
        });
    }
    Ok(results)
}
