//! An operating point chosen honestly: the threshold that reaches a target sensitivity,
//! chosen on images that took no part in training, recorded with where it came from, and checked
//! on images that took no part in the choice.
//!
//! **The rule, in one sentence:** the threshold is the highest probability of hemorrhage at
//! which at least the target share of the choosing images' hemorrhages are called hemorrhage
//! (called when their probability is at or above it, [`Threshold::call`]). It is one of those
//! hemorrhages' probabilities: the `k`-th highest, `k` the smallest count with
//! `k / hemorrhages ≥ target`.
//!
//! ```
//! use head_ct::{operating_point::*, Label::{Hemorrhage, Normal}};
//!
//! let p = [0.9, 0.7, 0.4, 0.2, 0.6, 0.1];
//! let y = [Hemorrhage, Hemorrhage, Hemorrhage, Hemorrhage, Normal, Normal];
//! // 3 of the 4 hemorrhages (0.75) need a threshold of 0.4, the third-highest of them.
//! let chosen = choose_threshold(&p, &y, TargetSensitivity::new(0.75)?, "validation images")?;
//! assert_eq!(chosen.threshold.value(), 0.4);
//! assert_eq!(chosen.specificity, 0.5); // 0.6 is a false alarm
//! # Ok::<(), head_ct::Error>(())
//! ```

use std::{fmt, str::FromStr};

use serde::{Deserialize, Serialize};

use crate::{
    calibration::{
        check_enough_to_fit, fit_temperature, Calibration, CalibrationMode, Temperature,
        MIN_CALIBRATION_IMAGES, MIN_CALIBRATION_PER_CLASS, TEMPERATURE_RANGE,
    },
    labels::{Label, Threshold},
    Error, Result,
};

/// The sensitivity a threshold must reach on the images it is chosen on: a number in `(0, 1]`,
/// finite by construction (`--target-sensitivity`).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct TargetSensitivity(f64);

impl TargetSensitivity {
    /// A target of `s`. Errors unless `0 < s ≤ 1`.
    pub fn new(s: f64) -> Result<Self> {
        if s.is_finite() && s > 0.0 && s <= 1.0 {
            Ok(Self(s))
        } else {
            Err(Error::InvalidInput(format!(
                "--target-sensitivity is the share of hemorrhages to find, a number above 0 and \
                 at most 1 (0.90 = find 90 of 100 bleeds), not {s}"
            )))
        }
    }

    /// The target, in `(0, 1]`.
    pub const fn value(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for TargetSensitivity {
    type Error = Error;
    fn try_from(s: f64) -> Result<Self> {
        Self::new(s)
    }
}

impl From<TargetSensitivity> for f64 {
    fn from(s: TargetSensitivity) -> f64 {
        s.0
    }
}

impl FromStr for TargetSensitivity {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        let s: f64 = text.trim().parse().map_err(|_| {
            Error::InvalidInput(format!(
                "--target-sensitivity is a number above 0 and at most 1, not {text:?}"
            ))
        })?;
        Self::new(s)
    }
}

impl fmt::Display for TargetSensitivity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.2}", self.0)
    }
}

/// A threshold chosen for a target sensitivity, as `model.json` records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OperatingPoint {
    /// The threshold every command calls with, on the probabilities the model prints
    /// (calibrated when the model has a temperature: see `on_calibrated`).
    pub threshold: Threshold,
    pub target_sensitivity: TargetSensitivity,
    /// `"chosen on 50 validation images (25 hemorrhage) for sensitivity ≥ 0.90"`.
    pub chosen_on: String,
    /// Images it was chosen on, and the hemorrhages among them.
    pub images: usize,
    pub hemorrhages: usize,
    /// What it gives on those images (optimistic: it was chosen there).
    pub sensitivity: f64,
    pub specificity: f64,
    /// True when it was chosen on calibrated probabilities.
    pub on_calibrated: bool,
}

impl OperatingPoint {
    /// `threshold 0.231 chosen on 50 validation images (25 hemorrhage) for sensitivity ≥ 0.90:
    /// there, sensitivity 0.92 and specificity 0.76`.
    pub fn sentence(&self) -> String {
        format!(
            "threshold {:.3} {}: there, sensitivity {:.2} and specificity {:.2} (measured on the \
             images it was chosen on, so optimistic)",
            self.threshold.value(),
            self.chosen_on,
            self.sensitivity,
            self.specificity
        )
    }
}

/// Chooses the threshold for `target` on `probabilities` of hemorrhage and their `labels`, by
/// the rule of this module, and says what it gives there. `what` names the images
/// (`"validation images"`) in the record and in errors.
///
/// Errors when there is no hemorrhage among the images (no threshold can be chosen for a
/// sensitivity), or when the lengths differ or a probability is NaN.
pub fn choose_threshold(
    probabilities: &[f32],
    labels: &[Label],
    target: TargetSensitivity,
    what: &str,
) -> Result<OperatingPoint> {
    crate::metrics::validate(probabilities, labels)?;
    check_can_choose(labels, what)?;
    let mut positives: Vec<f32> = probabilities
        .iter()
        .zip(labels)
        .filter(|(_, y)| y.is_hemorrhage())
        .map(|(&p, _)| p)
        .collect();
    positives.sort_by(|a, b| b.total_cmp(a));
    let n = positives.len();
    // The smallest k with k / n ≥ target (the 1e-9 absorbs 0.9 × 50 = 45.000000000000007).
    let k = (1..=n)
        .find(|&k| k as f64 >= target.value() * n as f64 - 1e-9)
        .unwrap_or(n);
    let threshold = Threshold::new(positives[k - 1].clamp(0.0, 1.0))?;
    let (mut tp, mut tn, mut negatives) = (0usize, 0usize, 0usize);
    for (&p, y) in probabilities.iter().zip(labels) {
        let called = threshold.calls_hemorrhage(p);
        if y.is_hemorrhage() {
            tp += usize::from(called);
        } else {
            negatives += 1;
            tn += usize::from(!called);
        }
    }
    Ok(OperatingPoint {
        threshold,
        target_sensitivity: target,
        chosen_on: format!(
            "chosen on {} {what} ({n} hemorrhage) for sensitivity ≥ {target}",
            labels.len()
        ),
        images: labels.len(),
        hemorrhages: n,
        sensitivity: tp as f64 / n as f64,
        specificity: if negatives == 0 {
            f64::NAN
        } else {
            tn as f64 / negatives as f64
        },
        on_calibrated: false,
    })
}

/// Refuses images without a hemorrhage, on which no threshold can be chosen for a sensitivity;
/// the command line calls it before training, so no training is wasted.
pub fn check_can_choose(labels: &[Label], what: &str) -> Result<()> {
    if !labels.iter().any(|y| y.is_hemorrhage()) {
        return Err(Error::InvalidInput(format!(
            "--target-sensitivity chooses the threshold on the {what}, but the {} of them hold \
             no hemorrhage: no threshold can be chosen for a sensitivity there. Add hemorrhage \
             images to them, or leave out --target-sensitivity",
            labels.len()
        )));
    }
    Ok(())
}

/// How a trained model turns its raw output into a call: the temperature it is calibrated with
/// (if any) and the threshold on the calibrated probability, each with its record for
/// `model.json`. Made by [`fit_call_rule`].
#[derive(Debug, Clone, PartialEq)]
pub struct CallRule {
    pub calibration: Option<Calibration>,
    pub operating_point: Option<OperatingPoint>,
    /// The threshold calls use: the operating point's, or the recipe's.
    pub threshold: Threshold,
    /// Why the model stays uncalibrated under [`CalibrationMode::Auto`], when it does.
    pub note: Option<String>,
}

impl CallRule {
    /// The temperature, when the model is calibrated.
    pub fn temperature(&self) -> Option<Temperature> {
        self.calibration.as_ref().map(|c| c.temperature)
    }

    /// `probabilities` as the model reports them: scaled by the temperature, if any.
    pub fn reported(&self, probabilities: &[f32]) -> Vec<f32> {
        match self.temperature() {
            Some(t) => t.apply_all(probabilities),
            None => probabilities.to_vec(),
        }
    }
}

/// Checks, before any training, that the images a [`CallRule`] will be fitted on allow what is
/// asked: a temperature under [`CalibrationMode::Temperature`] needs enough images
/// ([`check_enough_to_fit`]); a target sensitivity needs a hemorrhage among them
/// ([`check_can_choose`]). `what` names the images.
pub fn check_call_rule_data(
    labels: &[Label],
    mode: CalibrationMode,
    target: Option<TargetSensitivity>,
    what: &str,
) -> Result<()> {
    if mode == CalibrationMode::Temperature {
        check_enough_to_fit(labels, what)?;
    }
    if target.is_some() {
        check_can_choose(labels, what)?;
    }
    Ok(())
}

/// Fits the call rule of a trained model on raw `probabilities` of images that took no part in
/// its training, with their `labels` (`what` names them, e.g. `"validation images"`): first
/// the temperature ([`fit_temperature`], by `mode`; under [`CalibrationMode::Auto`] with too
/// few images the model stays uncalibrated and [`CallRule::note`] says why), then, with a
/// `target`, the threshold on the calibrated probabilities ([`choose_threshold`]); without
/// one, `default` (the recipe's threshold).
///
/// Errors as [`check_call_rule_data`], [`fit_temperature`] and [`choose_threshold`].
pub fn fit_call_rule(
    probabilities: &[f32],
    labels: &[Label],
    mode: CalibrationMode,
    target: Option<TargetSensitivity>,
    default: Threshold,
    what: &str,
) -> Result<CallRule> {
    check_call_rule_data(labels, mode, target, what)?;
    let (calibration, note) = match mode {
        CalibrationMode::None => (None, None),
        CalibrationMode::Auto if check_enough_to_fit(labels, what).is_err() => (
            None,
            Some(format!(
                "not calibrated: {} {what} are too few to fit a temperature on (it needs at least \
                 {MIN_CALIBRATION_IMAGES}, with {MIN_CALIBRATION_PER_CLASS} of each class); the \
                 probabilities are the network's raw output",
                labels.len()
            )),
        ),
        _ => {
            let fit = fit_temperature(probabilities, labels, what)?;
            let note = fit.at_range_end.then(|| {
                format!(
                    "the temperature {} lies at the end of the range searched ({}–{}): the {what} \
                     push it further (the model separates them almost perfectly), so the \
                     calibrated probabilities rest on very few images",
                    fit.temperature, TEMPERATURE_RANGE.0, TEMPERATURE_RANGE.1
                )
            });
            (Some(Calibration::from_fit(&fit, what)), note)
        }
    };
    let mut rule = CallRule {
        calibration,
        operating_point: None,
        threshold: default,
        note,
    };
    if let Some(target) = target {
        let reported = rule.reported(probabilities);
        let mut point = choose_threshold(&reported, labels, target, what)?;
        point.on_calibrated = rule.calibration.is_some();
        rule.threshold = point.threshold;
        rule.operating_point = Some(point);
    }
    Ok(rule)
}
