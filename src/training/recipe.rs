//! The training recipe: every setting that decides how a model is trained and called, with its
//! defaults in one place.
//!
//! The same struct is the library's configuration, the command line's flags (`#[command(flatten)]`
//! in every command that trains), the record in a checkpoint's `model.json` (as data, through
//! serde) and a sentence in the log ([`Recipe::sentence`]). The seed is not part of it: a recipe
//! is what cross-validation and the seed spread repeat with different seeds.

use dfdx::optim::AdamConfig;
use serde::{Deserialize, Serialize};

use crate::{
    calibration::CalibrationMode, data::Augmentation, input::ModelInput, labels::Threshold,
    operating_point::TargetSensitivity, Error, Result,
};

/// How to train the teaching model. [`Recipe::TEACHING`] (the default) is the seed project's:
/// 10 epochs, batch size 10, Adam with learning rate 1e-3, no augmentation, threshold 0.5.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Passes over the training images.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = Recipe::TEACHING.epochs))]
    pub epochs: usize,
    /// Images per training step.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = Recipe::TEACHING.batch_size))]
    pub batch_size: usize,
    /// Adam's learning rate.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = Recipe::TEACHING.learning_rate, allow_negative_numbers = true))]
    pub learning_rate: f64,
    /// Randomly rotate, shift, zoom and mirror the training images (Keras-tutorial ranges).
    #[cfg_attr(feature = "cli", arg(long))]
    pub augment: bool,
    /// How the loss weighs the two classes: `none` (every image alike) or `balanced` (Keras'
    /// `class_weight` "balanced": each class weighs `images / (2 x images of the class)`, so a
    /// rare class counts as much as a common one).
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = ClassWeight::None))]
    #[serde(default)]
    pub class_weight: ClassWeight,
    /// Probability of hemorrhage at or above which an image is called "hemorrhage": in the
    /// training and validation accuracy of every epoch, the predictions, the metrics and the
    /// figures.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = Recipe::TEACHING.threshold, allow_negative_numbers = true))]
    pub threshold: Threshold,
    /// How an image becomes the model's input: the windows DICOM is shown in (`--windows`),
    /// the side and the resize filter. Training refuses images loaded for another input, and
    /// every command that uses the model loads images with this one.
    #[cfg_attr(feature = "cli", command(flatten))]
    pub input: ModelInput,
    /// After training, fit temperature scaling on the validation images (images that took no
    /// part in training): `auto` (when there are enough of them, at least 20 with 5 of each
    /// class), `temperature` (an error when there are too few) or `none`.
    #[cfg_attr(feature = "cli", arg(long, value_enum, default_value_t = CalibrationMode::Auto))]
    #[serde(default)]
    pub calibration: CalibrationMode,
    /// Choose the threshold on the validation images: the highest at which at least this share
    /// of their hemorrhages is called hemorrhage (e.g. 0.90). It replaces --threshold for every
    /// call of the saved model; --threshold still counts the training accuracy of each epoch.
    #[cfg_attr(feature = "cli", arg(long, allow_negative_numbers = true))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_sensitivity: Option<TargetSensitivity>,
}

impl Recipe {
    /// The seed project's recipe, as the Keras tutorial trains it.
    pub const TEACHING: Recipe = Recipe {
        epochs: 10,
        batch_size: 10,
        learning_rate: 1e-3,
        augment: false,
        class_weight: ClassWeight::None,
        threshold: Threshold::DEFAULT,
        input: ModelInput::TEACHING,
        calibration: CalibrationMode::Auto,
        target_sensitivity: None,
    };

    /// The augmentation the recipe trains with: [`Augmentation::keras_tutorial`] when
    /// `augment` is set, none otherwise.
    pub fn augmentation(&self) -> Augmentation {
        if self.augment {
            Augmentation::keras_tutorial()
        } else {
            Augmentation::none()
        }
    }

    /// The optimizer settings of the Keras reference: Adam with this learning rate, betas
    /// (0.9, 0.999) and Keras' epsilon 1e-7 (dfdx's default is 1e-8).
    pub fn adam(&self) -> AdamConfig {
        AdamConfig {
            lr: self.learning_rate,
            betas: [0.9, 0.999],
            eps: 1e-7,
            weight_decay: None,
        }
    }

    /// Refuses a recipe that cannot train: no epoch, a batch of 0 images, or a learning rate
    /// that is not a positive finite number (the threshold is valid by its type). The command
    /// line calls it before any data is loaded or any file is written.
    pub fn check(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(Error::InvalidInput(
                "a recipe of 0 epochs trains nothing: give at least 1 epoch".into(),
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::InvalidInput(
                "the batch size must be at least 1".into(),
            ));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return Err(Error::InvalidInput(format!(
                "the learning rate must be a positive number, not {}",
                self.learning_rate
            )));
        }
        Ok(())
    }

    /// The weight of each class's images in the loss, `[normal, hemorrhage]`, for a training set
    /// of `normal` and `hemorrhage` images: `None` for [`ClassWeight::None`]; for
    /// [`ClassWeight::Balanced`], `images / (2 x images of the class)` (scikit-learn's and
    /// Keras' "balanced" weights). Errors if a class has no image.
    pub fn class_weights(&self, normal: usize, hemorrhage: usize) -> Result<Option<[f32; 2]>> {
        match self.class_weight {
            ClassWeight::None => Ok(None),
            ClassWeight::Balanced => {
                if normal == 0 || hemorrhage == 0 {
                    return Err(Error::InvalidInput(format!(
                        "balanced class weights need images of both classes, but the training \
                         images are {normal} normal and {hemorrhage} hemorrhage"
                    )));
                }
                let total = (normal + hemorrhage) as f64;
                Ok(Some([
                    (total / (2.0 * normal as f64)) as f32,
                    (total / (2.0 * hemorrhage as f64)) as f32,
                ]))
            }
        }
    }

    /// `10 epochs, batch size 10, Adam with learning rate 0.001, no augmentation, threshold 0.5`
    /// (and `, balanced class weights` when they are, and the windows when they are not the
    /// brain window alone).
    pub fn sentence(&self) -> String {
        format!(
            "{} epoch{}, batch size {}, Adam with learning rate {}, {}{}, threshold {}{}{}{}",
            self.epochs,
            if self.epochs == 1 { "" } else { "s" },
            self.batch_size,
            self.learning_rate,
            if self.augment {
                "with augmentation"
            } else {
                "no augmentation"
            },
            match self.class_weight {
                ClassWeight::None => "",
                ClassWeight::Balanced => ", balanced class weights",
            },
            self.threshold,
            if self.input.windows == ModelInput::TEACHING.windows {
                String::new()
            } else {
                format!(", DICOM shown in {}", self.input.windows.describe())
            },
            match self.calibration {
                CalibrationMode::Auto => "",
                CalibrationMode::Temperature => ", temperature scaling",
                CalibrationMode::None => ", no calibration",
            },
            match self.target_sensitivity {
                Some(s) => format!(
                    ", threshold chosen for sensitivity ≥ {s} on images that took no part in training"
                ),
                None => String::new(),
            }
        )
    }
}

/// How the training loss weighs the classes ([`Recipe::class_weights`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum ClassWeight {
    /// Every image weighs the same (the seed project's recipe).
    #[default]
    None,
    /// Each class weighs `images / (2 x images of the class)`.
    Balanced,
}

/// A sentence of warning when the training classes differ by more than 1.5 times in number:
/// a model can then score well by calling everything the common class (training on 60 normal
/// and 6 hemorrhage images can end with no bleed found). `None` when they are balanced enough
/// or weighed with [`ClassWeight::Balanced`].
pub fn imbalance_warning(recipe: &Recipe, normal: usize, hemorrhage: usize) -> Option<String> {
    let (few, many) = (normal.min(hemorrhage), normal.max(hemorrhage));
    if recipe.class_weight == ClassWeight::Balanced || (many as f64) <= 1.5 * few as f64 {
        return None;
    }
    Some(format!(
        "warning: the training images are {normal} normal and {hemorrhage} hemorrhage, more than \
         1.5 times as many of one class: the model may learn to call everything \
         \"{}\"; watch the sensitivity and specificity, or train with --class-weight balanced",
        if normal > hemorrhage {
            "normal"
        } else {
            "hemorrhage"
        }
    ))
}

impl Default for Recipe {
    fn default() -> Self {
        Self::TEACHING
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(feature = "cli")]
    use clap::Parser;

    #[cfg(feature = "cli")]
    #[derive(Parser)]
    struct Flags {
        #[command(flatten)]
        recipe: Recipe,
    }

    #[cfg(feature = "cli")]
    #[test]
    fn the_flags_default_to_the_teaching_recipe() {
        let flags = Flags::try_parse_from(["test"]).unwrap();
        assert_eq!(flags.recipe, Recipe::TEACHING);
        let flags =
            Flags::try_parse_from(["test", "--epochs", "3", "--augment", "--threshold", "0.3"])
                .unwrap();
        assert_eq!(flags.recipe.epochs, 3);
        assert!(flags.recipe.augment);
        assert_eq!(flags.recipe.threshold.value(), 0.3);
        assert!(Flags::try_parse_from(["test", "--threshold", "1.5"]).is_err());
        assert!(Flags::try_parse_from(["test", "--threshold", "nan"]).is_err());
        for bad in ["0", "-0.5", "1.2", "nan"] {
            assert!(
                Flags::try_parse_from(["test", "--target-sensitivity", bad]).is_err(),
                "{bad}"
            );
        }
        let flags = Flags::try_parse_from(["test", "--target-sensitivity", "0.9"]).unwrap();
        assert_eq!(flags.recipe.target_sensitivity.unwrap().value(), 0.9);
    }

    #[test]
    fn a_recipe_round_trips_through_json_as_data() {
        let recipe = Recipe {
            augment: true,
            threshold: Threshold::new(0.25).unwrap(),
            ..Recipe::TEACHING
        };
        let json = serde_json::to_string(&recipe).unwrap();
        assert_eq!(
            json,
            r#"{"epochs":10,"batch_size":10,"learning_rate":0.001,"augment":true,"class_weight":"none","threshold":0.25,"input":{"windows":"40/80,40/80,40/80","side":150,"resize_filter":"triangle"},"calibration":"auto"}"#
        );
        assert_eq!(serde_json::from_str::<Recipe>(&json).unwrap(), recipe);
        // A target sensitivity is recorded when there is one, and a bad one is refused.
        let target = Recipe {
            target_sensitivity: Some("0.9".parse().unwrap()),
            ..recipe
        };
        let json = serde_json::to_string(&target).unwrap();
        assert!(
            json.ends_with(r#""calibration":"auto","target_sensitivity":0.9}"#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<Recipe>(&json).unwrap(), target);
        let bad = json.replace("0.9}", "1.5}");
        assert!(serde_json::from_str::<Recipe>(&bad).is_err());
        let three = Recipe {
            input: ModelInput::with_windows(crate::input::InputWindows::THREE),
            ..recipe
        };
        let json = serde_json::to_string(&three).unwrap();
        assert!(
            json.contains(r#""input":{"windows":"40/80,80/200,600/2800","#),
            "{json}"
        );
        // Window names are still read.
        let named = json.replace("40/80,80/200,600/2800", "three");
        assert_eq!(serde_json::from_str::<Recipe>(&named).unwrap(), three);
        assert!(three.sentence().ends_with(
            "DICOM shown in three windows, one per channel: brain (level 40, width 80), \
             subdural (level 80, width 200), bone (level 600, width 2800)"
        ));
        // Older recipes (a `windows` field, before format version 4) are converted by the
        // checkpoint reader, which knows their version; a recipe alone is read strictly.
        let older = r#"{"epochs":10,"batch_size":10,"learning_rate":0.001,"augment":true,"threshold":0.25,"windows":"40/80"}"#;
        assert!(serde_json::from_str::<Recipe>(older).is_err());
    }

    #[test]
    fn recipes_that_cannot_train_are_refused() {
        for bad in [
            Recipe {
                epochs: 0,
                ..Recipe::TEACHING
            },
            Recipe {
                batch_size: 0,
                ..Recipe::TEACHING
            },
            Recipe {
                learning_rate: f64::NAN,
                ..Recipe::TEACHING
            },
            Recipe {
                learning_rate: -1e-3,
                ..Recipe::TEACHING
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
        assert!(Recipe::TEACHING.check().is_ok());
        assert_eq!(
            Recipe::TEACHING.sentence(),
            "10 epochs, batch size 10, Adam with learning rate 0.001, no augmentation, threshold 0.5"
        );
    }
}
