//! A call for a series and for a study from the slices' probabilities in slice order.

use crate::{labels::Label, Error, Result, Threshold};

/// How slice probabilities become a call for a series and a study: a series is called
/// hemorrhage when at least `adjacent` neighbouring slices (in slice order) are at or above the
/// threshold; a study when any of its series is.
///
/// Why two adjacent slices by default: a bleed large enough to matter spans more than one 5 mm
/// slice, so a lone high slice (noise, a calcification) is not enough. It does not protect
/// against runs of wrong slices: the skull base and the vertex, whose bone and partial-volume
/// edges look like nothing in the training slices, can score high on several neighbours
/// (notebook 07 shows it). One
/// (`adjacent = 1`) is the rule "the highest slice probability", which CQ500's scan-level
/// reads and the RSNA 2019 solutions' "any" score resemble. The rule is ours, a teaching
/// choice; it has not been validated on scans.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StudyRule {
    pub threshold: Threshold,
    /// Neighbouring slices that must all be at or above the threshold, at least 1. A series
    /// with fewer slices needs all of them.
    pub adjacent: usize,
}

impl StudyRule {
    /// The rule at `threshold` with `adjacent` neighbouring slices. Errors when `adjacent` is 0.
    pub fn new(threshold: Threshold, adjacent: usize) -> Result<Self> {
        if adjacent == 0 {
            return Err(Error::InvalidInput(
                "a series call needs at least 1 slice at or above the threshold".into(),
            ));
        }
        Ok(StudyRule {
            threshold,
            adjacent,
        })
    }

    /// The rule in one sentence, as the output prints it.
    pub fn sentence(&self) -> String {
        let slices = match self.adjacent {
            1 => "at least one slice is".to_string(),
            n => format!("at least {n} adjacent slices are"),
        };
        format!(
            "Rule: a series is called hemorrhage when {slices} at or above {} (a series of \
             fewer slices needs all of them); a study, when any of its series is.",
            self.threshold
        )
    }

    /// The series' score: the highest, over every run of `adjacent` neighbouring slices (all
    /// slices when the series has fewer), of the lowest probability in the run, so that
    /// `score >= threshold` is exactly the rule. A slice without a probability (`None`: it
    /// could not be read) or with a NaN one counts as −1, below any threshold, so it breaks
    /// runs. `None` when no slice has one.
    pub fn series_score(&self, probabilities: &[Option<f32>]) -> Option<f32> {
        if probabilities.iter().all(Option::is_none) {
            return None;
        }
        let k = self.adjacent.min(probabilities.len());
        probabilities
            .windows(k)
            .map(|run| {
                run.iter()
                    .map(|p| p.filter(|p| !p.is_nan()).unwrap_or(UNREAD))
                    .fold(f32::INFINITY, f32::min)
            })
            .reduce(f32::max)
    }

    /// The call for a series of these probabilities (in slice order).
    pub fn series_call(&self, probabilities: &[Option<f32>]) -> Label {
        match self.series_score(probabilities) {
            Some(score) => self.threshold.call(score),
            None => Label::Normal,
        }
    }
}

/// What a slice that could not be read counts as in a run: below any threshold.
const UNREAD: f32 = -1.0;

/// The runs of neighbouring slices at or above `threshold`, 1-based, e.g. `11-16;20`; empty
/// when none.
pub fn positive_runs(probabilities: &[Option<f32>], threshold: Threshold) -> String {
    let mut runs = Vec::new();
    let mut start: Option<usize> = None;
    for (i, p) in probabilities
        .iter()
        .map(|p| p.is_some_and(|p| threshold.calls_hemorrhage(p)))
        .chain([false])
        .enumerate()
    {
        match (p, start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                runs.push(if s + 1 == i {
                    format!("{}", s + 1)
                } else {
                    format!("{}-{}", s + 1, i)
                });
                start = None;
            }
            _ => {}
        }
    }
    runs.join(";")
}
