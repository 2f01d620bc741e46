//! Saving and loading a trained model: the weights through dfdx's safetensors support, plus a
//! small JSON file that says what the weights are for and how they were made.
//!
//! A checkpoint is a folder holding [`WEIGHTS_FILE`] and [`METADATA_FILE`]. Both are written
//! atomically (temporary file, then rename): a crash never leaves half a checkpoint behind.

use std::path::{Path, PathBuf};

use dfdx::{
    nn::{LoadFromSafetensors, NumParams, SaveToSafetensors},
    prelude::Cpu,
};
use serde::{Deserialize, Serialize};

use crate::{
    fsutil::{replace_atomically, write_atomically},
    model::{build_teaching_net, TeachingNet, CHANNELS, IMAGE_SIZE, TEACHING_NET_PARAMS},
    Error, Result,
};

/// The weights, in safetensors format (dfdx's parameter names, e.g. `0.0.0.weight`).
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The metadata, as JSON ([`ModelMetadata`]).
pub const METADATA_FILE: &str = "model.json";
/// The model name written into, and expected in, the metadata.
pub const MODEL_NAME: &str = "head-ct TeachingNet";
/// Version of the metadata layout.
pub const FORMAT_VERSION: u32 = 1;

/// What a checkpoint says about its weights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelMetadata {
    pub format_version: u32,
    pub model: String,
    pub crate_version: String,
    /// `[channels, height, width]` of the input.
    pub input_shape: [usize; 3],
    pub parameters: usize,
    /// Class folder names of the training data, sorted.
    pub class_names: Vec<String>,
    /// The class whose probability the model outputs.
    pub positive_class: String,
    /// How an image becomes model input.
    pub scaling: String,
    /// Probability at or above which an image is called the positive class.
    pub threshold: f32,
    pub training: TrainingSettings,
    /// Metrics at the end of training (on the last epoch).
    pub final_metrics: Option<FinalMetrics>,
}

/// How the weights were trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub seed: u64,
    pub augmentation: String,
    /// Where the data came from (a folder, or "synthetic phantoms (seed N)").
    pub data: String,
    pub train_images: usize,
    pub validate_images: usize,
}

/// The last epoch's metrics, under Keras' names, plus the validation AUC.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinalMetrics {
    pub loss: f32,
    pub accuracy: f32,
    pub val_loss: f32,
    pub val_accuracy: f32,
    pub val_auc: Option<f64>,
}

impl TrainingSettings {
    /// The settings of a [`fit`](crate::training::fit) run with `config` on `train` and
    /// `validate`; `data` says where the images came from.
    pub fn from_fit(
        config: &crate::training::FitConfig,
        data: impl Into<String>,
        train: &crate::data::ImageSet,
        validate: &crate::data::ImageSet,
    ) -> Self {
        Self {
            epochs: config.epochs,
            batch_size: config.batch_size,
            learning_rate: config.learning_rate,
            seed: config.seed,
            augmentation: format!("{:?}", config.augmentation),
            data: data.into(),
            train_images: train.len(),
            validate_images: validate.len(),
        }
    }
}

impl FinalMetrics {
    /// The last epoch of `history` (`None` when it has no epoch), with the validation AUC.
    pub fn from_history(history: &crate::history::History, val_auc: Option<f64>) -> Option<Self> {
        let last = history.epochs().checked_sub(1)?;
        Some(Self {
            loss: history.loss[last],
            accuracy: history.accuracy[last],
            val_loss: history.val_loss[last],
            val_accuracy: history.val_accuracy[last],
            val_auc,
        })
    }
}

impl ModelMetadata {
    /// Metadata for the teaching model with the fields that do not depend on training filled in.
    pub fn for_teaching_net(class_names: Vec<String>, training: TrainingSettings) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            model: MODEL_NAME.into(),
            crate_version: env!("CARGO_PKG_VERSION").into(),
            input_shape: [CHANNELS, IMAGE_SIZE, IMAGE_SIZE],
            parameters: TEACHING_NET_PARAMS,
            class_names,
            positive_class: crate::data::POSITIVE_CLASS.into(),
            scaling: format!(
                "RGB, resized to {IMAGE_SIZE}x{IMAGE_SIZE} with the {:?} filter, pixel values / 255",
                crate::data::RESIZE_FILTER
            ),
            threshold: crate::inference::DEFAULT_THRESHOLD,
            training,
            final_metrics: None,
        }
    }

    /// Refuses metadata written for another model or input size.
    fn check_fits_teaching_net(&self, path: &Path) -> Result<()> {
        let problem = if self.model != MODEL_NAME {
            Some(format!(
                "is for the model {:?}, not {MODEL_NAME:?}",
                self.model
            ))
        } else if self.format_version > FORMAT_VERSION {
            Some(format!(
                "has format version {}, newer than this program understands ({FORMAT_VERSION})",
                self.format_version
            ))
        } else if self.input_shape != [CHANNELS, IMAGE_SIZE, IMAGE_SIZE] {
            Some(format!(
                "expects inputs of shape {:?}, but this model takes {:?}",
                self.input_shape,
                [CHANNELS, IMAGE_SIZE, IMAGE_SIZE]
            ))
        } else if self.parameters != TEACHING_NET_PARAMS {
            Some(format!(
                "describes {} parameters, but this model has {TEACHING_NET_PARAMS}",
                self.parameters
            ))
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::Data {
                path: path.to_path_buf(),
                message: format!("this checkpoint does not fit the teaching model: it {problem}"),
            }),
            None => Ok(()),
        }
    }
}

/// Saves `model` and `metadata` into the folder `dir` (created if missing).
pub fn save_checkpoint(dir: &Path, model: &TeachingNet, metadata: &ModelMetadata) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let weights = dir.join(WEIGHTS_FILE);
    replace_atomically(&weights, |tmp| {
        model.save_safetensors(tmp).map_err(|e| Error::Data {
            path: tmp.to_path_buf(),
            message: format!("could not write the weights: {e:?}"),
        })
    })?;
    let json = serde_json::to_vec_pretty(metadata).expect("metadata serialises");
    write_atomically(&dir.join(METADATA_FILE), &json)
}

/// Loads a checkpoint folder (or the path of its `model.safetensors`), checking that it fits the
/// teaching model before reading the weights.
pub fn load_checkpoint(dev: &Cpu, path: &Path) -> Result<(TeachingNet, ModelMetadata)> {
    let dir: PathBuf = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let meta_path = dir.join(METADATA_FILE);
    let text = std::fs::read_to_string(&meta_path).map_err(|source| Error::Io {
        path: meta_path.clone(),
        source,
    })?;
    let metadata: ModelMetadata = serde_json::from_str(&text).map_err(|e| Error::Data {
        path: meta_path.clone(),
        message: format!("not a head-ct checkpoint description: {e}"),
    })?;
    metadata.check_fits_teaching_net(&meta_path)?;

    let weights = dir.join(WEIGHTS_FILE);
    if !weights.is_file() {
        return Err(Error::Data {
            path: weights,
            message: "the weights file is missing".into(),
        });
    }
    let mut model = build_teaching_net(dev);
    model.load_safetensors(&weights).map_err(|e| Error::Data {
        path: weights.clone(),
        message: format!(
            "the weights do not fit the teaching model: {}",
            describe_load_error(&e)
        ),
    })?;
    debug_assert_eq!(model.num_trainable_params(), TEACHING_NET_PARAMS);
    Ok((model, metadata))
}

fn describe_load_error(e: &dfdx::tensor::safetensors::Error) -> String {
    use dfdx::tensor::safetensors::Error as E;
    match e {
        E::MismatchedDimension((found, expected)) => {
            format!("a tensor has shape {found:?} where {expected:?} was expected")
        }
        E::SafeTensorError(inner) => format!("{inner:?}"),
        E::IoError(inner) => inner.to_string(),
    }
}
