//! The study run's tables: `slices.csv`, `series.csv` and `skipped.csv`, written atomically.
//!
//! Column names are what scripts rely on; a new column goes at the end of a row.

use std::path::Path;

use super::{positive_runs, Skipped, StudyResult, StudyRule};
use crate::{text::csv_field, Result};

fn file_name(path: &Path) -> String {
    csv_field(&path.display().to_string())
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

/// `slices.csv`: one row per predicted slice, in slice order within each series:
/// `study_uid, series_uid, series_number, series_description, slice, position_mm,
/// instance_number, file, probability_hemorrhage, call, probability_kind, raw_probability`.
/// `slice` is 1-based in ascending `position_mm` (mm along the slice normal, DICOM patient
/// coordinates; empty when the series was ordered by InstanceNumber) and counts slices that
/// failed to decode, which have no row (they are in `skipped.csv`). `probability_hemorrhage` is
/// the probability the call uses: calibrated when the model is (`probability_kind` says which),
/// `raw_probability` the network's own.
pub fn write_slices_csv(path: &Path, studies: &[StudyResult]) -> Result<()> {
    let mut csv = String::from(
        "study_uid,series_uid,series_number,series_description,slice,position_mm,\
         instance_number,file,probability_hemorrhage,call,probability_kind,raw_probability\n",
    );
    for study in studies {
        for s in &study.series {
            for (i, (slice, p)) in s.series.slices.iter().zip(&s.predictions).enumerate() {
                let Some(p) = p else { continue };
                csv.push_str(&format!(
                    "{},{},{},{},{},{},{},{},{:.6},{},{},{:.6}\n",
                    csv_field(&study.uid),
                    csv_field(&s.series.uid),
                    opt(s.series.number),
                    csv_field(s.series.description.as_deref().unwrap_or("")),
                    i + 1,
                    opt(slice.position_mm.map(|x| format!("{x:.3}"))),
                    opt(slice.header.instance_number),
                    file_name(&p.path),
                    p.reported_probability(),
                    p.class_name(),
                    p.probability_kind(),
                    p.probability,
                ));
            }
        }
    }
    crate::fsutil::write_atomically(path, csv.as_bytes())
}

/// `series.csv`: one row per series: `study_uid, series_uid, series_number,
/// series_description, slices, max_probability, max_slice, call, positive_slices, score,
/// study_call`. `positive_slices` are the runs at or above the threshold (`11-16;20`);
/// `score` is [`StudyRule::series_score`], the number the call compares with the threshold;
/// `study_call` the call of the series' study. A call is `unreadable` when no slice could be
/// read.
pub fn write_series_csv(path: &Path, studies: &[StudyResult], rule: &StudyRule) -> Result<()> {
    let mut csv = String::from(
        "study_uid,series_uid,series_number,series_description,slices,max_probability,\
         max_slice,call,positive_slices,score,study_call\n",
    );
    for study in studies {
        for s in &study.series {
            let highest = s.highest();
            csv.push_str(&format!(
                "{},{},{},{},{},{},{},{},{},{},{}\n",
                csv_field(&study.uid),
                csv_field(&s.series.uid),
                opt(s.series.number),
                csv_field(s.series.description.as_deref().unwrap_or("")),
                s.predictions.len(),
                opt(highest.map(|(p, _)| format!("{p:.6}"))),
                opt(highest.map(|(_, i)| i)),
                s.call_name(),
                positive_runs(&s.probabilities(), rule.threshold),
                opt(s.score.map(|x| format!("{x:.6}"))),
                if study.score.is_some() {
                    study.call.name()
                } else {
                    "unreadable"
                },
            ));
        }
    }
    crate::fsutil::write_atomically(path, csv.as_bytes())
}

/// `skipped.csv`: `file, reason`, one row per file (or folder) left out, in the order met.
pub fn write_skipped_csv(path: &Path, skipped: &[Skipped]) -> Result<()> {
    let mut csv = String::from("file,reason\n");
    for s in skipped {
        csv.push_str(&format!(
            "{},{}\n",
            file_name(&s.path),
            csv_field(&s.reason)
        ));
    }
    crate::fsutil::write_atomically(path, csv.as_bytes())
}
