//! The words of the task: the two classes ([`Label`]), the one rule that turns a probability
//! into a call ([`Threshold`]), and how a call compares with the truth ([`Verdict`]).
//!
//! Everything that names a class, calls an image or scores a call (training accuracy,
//! predictions, metrics, figures, CSV files) goes through these three types, so the class names
//! and the call rule live in one place.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// The class of a head CT slice. The model outputs the probability of [`Label::Hemorrhage`],
/// the *positive* class (target 1 in the loss); [`Label::Normal`] is the negative class
/// (target 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Label {
    Normal,
    Hemorrhage,
}

impl Label {
    /// Both classes, the positive one first: the order in which splits, folds and figures
    /// deal with them.
    pub const POSITIVE_FIRST: [Label; 2] = [Label::Hemorrhage, Label::Normal];

    /// The class name, as in folder names, CSV files and sentences: `"hemorrhage"` or
    /// `"normal"`.
    pub const fn name(self) -> &'static str {
        match self {
            Label::Hemorrhage => "hemorrhage",
            Label::Normal => "normal",
        }
    }

    /// True for the positive class.
    pub const fn is_hemorrhage(self) -> bool {
        matches!(self, Label::Hemorrhage)
    }

    /// The binary-cross-entropy target: 1.0 for hemorrhage, 0.0 for normal.
    pub const fn target(self) -> f32 {
        if self.is_hemorrhage() {
            1.0
        } else {
            0.0
        }
    }

    /// The Kaggle `labels.csv` and our CSV files' number: 1 for hemorrhage, 0 for normal.
    pub const fn flag(self) -> u8 {
        self.is_hemorrhage() as u8
    }

    /// The label of a 0/1 flag (`labels.csv`); `None` for any other number.
    pub const fn from_flag(flag: u8) -> Option<Self> {
        match flag {
            1 => Some(Label::Hemorrhage),
            0 => Some(Label::Normal),
            _ => None,
        }
    }

    /// The class folder names that `prepare` and the phantoms write, sorted as the loader sorts
    /// them: `["hemorrhage", "normal"]`.
    pub fn class_names() -> Vec<String> {
        Label::POSITIVE_FIRST
            .iter()
            .map(|l| l.name().to_string())
            .collect()
    }

    /// The label of a class folder: a folder named [`Label::Hemorrhage`]'s name holds the
    /// positive class; any other name is the negative class (loaded folders may call their
    /// negative class anything, e.g. `no_bleed/`).
    pub fn of_class_folder(name: &str) -> Self {
        if name == Label::Hemorrhage.name() {
            Label::Hemorrhage
        } else {
            Label::Normal
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The probability of hemorrhage at or above which an image is called "hemorrhage": a number in
/// `[0, 1]`, finite by construction. It owns the call rule (`probability >= threshold`, see
/// [`Threshold::call`]); lower it to miss fewer bleeds at the cost of more false alarms.
///
/// Serialised as a plain number; reading one outside `[0, 1]` (or NaN) is an error.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f32", into = "f32")]
pub struct Threshold(f32);

impl Threshold {
    /// 0.5: the call of the larger probability, what Keras' accuracy uses.
    pub const DEFAULT: Threshold = Threshold(0.5);

    /// A threshold of `probability`. Errors unless it is a finite number in `[0, 1]`.
    pub fn new(probability: f32) -> Result<Self> {
        if probability.is_finite() && (0.0..=1.0).contains(&probability) {
            Ok(Self(probability))
        } else {
            Err(Error::InvalidInput(format!(
                "a threshold is a probability of hemorrhage between 0 and 1, not {probability}"
            )))
        }
    }

    /// The threshold as a probability in `[0, 1]`.
    pub const fn value(self) -> f32 {
        self.0
    }

    /// The one call rule: `probability >= threshold` is "hemorrhage", anything else (including
    /// NaN) "normal".
    pub fn call(self, probability: f32) -> Label {
        if self.calls_hemorrhage(probability) {
            Label::Hemorrhage
        } else {
            Label::Normal
        }
    }

    /// True when [`Threshold::call`] says "hemorrhage".
    pub fn calls_hemorrhage(self, probability: f32) -> bool {
        probability >= self.0
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl TryFrom<f32> for Threshold {
    type Error = Error;
    fn try_from(probability: f32) -> Result<Self> {
        Self::new(probability)
    }
}

impl From<Threshold> for f32 {
    fn from(t: Threshold) -> f32 {
        t.0
    }
}

impl FromStr for Threshold {
    type Err = Error;
    /// Parses a number such as `0.3` (what `--threshold` takes) and checks it.
    fn from_str(text: &str) -> Result<Self> {
        let value: f32 = text.trim().parse().map_err(|_| {
            Error::InvalidInput(format!(
                "a threshold is a probability of hemorrhage between 0 and 1, not {text:?}"
            ))
        })?;
        Self::new(value)
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// How a call compares with the truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The call matches the label.
    Correct,
    /// A hemorrhage called "normal": a false negative.
    Missed,
    /// A normal slice called "hemorrhage": a false positive.
    FalseAlarm,
}

impl Verdict {
    /// The verdict on calling an image `called` when it truly is `truth`.
    pub fn of(called: Label, truth: Label) -> Self {
        match (called, truth) {
            (a, b) if a == b => Verdict::Correct,
            (Label::Normal, _) => Verdict::Missed,
            (Label::Hemorrhage, _) => Verdict::FalseAlarm,
        }
    }

    /// "correct", "missed" or "false alarm".
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Correct => "correct",
            Verdict::Missed => "missed",
            Verdict::FalseAlarm => "false alarm",
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_rule_puts_the_threshold_itself_on_the_hemorrhage_side() {
        let t = Threshold::DEFAULT;
        assert_eq!(t.call(0.5), Label::Hemorrhage);
        assert_eq!(t.call(f32::from_bits(0.5f32.to_bits() - 1)), Label::Normal);
        assert_eq!(t.call(f32::NAN), Label::Normal);
        assert_eq!(Threshold::new(0.0).unwrap().call(0.0), Label::Hemorrhage);
    }

    #[test]
    fn thresholds_outside_0_to_1_are_refused_everywhere_they_enter() {
        for bad in [-0.2, 1.5, f32::INFINITY, f32::NAN] {
            assert!(Threshold::new(bad).is_err(), "{bad}");
            assert!(
                serde_json::from_str::<Threshold>(&format!("{bad}")).is_err(),
                "{bad}"
            );
        }
        assert!("inf".parse::<Threshold>().is_err());
        assert!("half".parse::<Threshold>().is_err());
        assert_eq!("0.3".parse::<Threshold>().unwrap().value(), 0.3);
        assert_eq!(serde_json::from_str::<Threshold>("1").unwrap().value(), 1.0);
        assert_eq!(serde_json::to_string(&Threshold::DEFAULT).unwrap(), "0.5");
    }

    #[test]
    fn labels_have_one_name_flag_and_target_each() {
        for label in Label::POSITIVE_FIRST {
            assert_eq!(Label::from_flag(label.flag()), Some(label));
            assert_eq!(Label::of_class_folder(label.name()), label);
            assert_eq!(label.target(), f32::from(label.flag()));
            let json = serde_json::to_string(&label).unwrap();
            assert_eq!(json, format!("\"{}\"", label.name()));
        }
        assert_eq!(Label::from_flag(2), None);
        assert_eq!(Label::of_class_folder("no_bleed"), Label::Normal);
    }

    #[test]
    fn verdicts_name_both_kinds_of_error() {
        use Label::*;
        assert_eq!(Verdict::of(Hemorrhage, Hemorrhage), Verdict::Correct);
        assert_eq!(Verdict::of(Normal, Normal), Verdict::Correct);
        assert_eq!(Verdict::of(Normal, Hemorrhage), Verdict::Missed);
        assert_eq!(Verdict::of(Hemorrhage, Normal), Verdict::FalseAlarm);
    }
}
