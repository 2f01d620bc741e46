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
    calibration::{Calibration, Temperature},
    data::{DataSource, ImageSet, Loader},
    fsutil::{replace_atomically, write_atomically},
    input::{Limits, ModelInput, ResizeFilter},
    labels::{Label, Threshold},
    model::{
        build_teaching_net, kernels::VectorPath, TeachingNet, CHANNELS, IMAGE_SIZE,
        TEACHING_NET_PARAMS,
    },
    operating_point::OperatingPoint,
    training::{History, Recipe},
    Error, Result,
};

/// The weights, in safetensors format (dfdx's parameter names, e.g. `0.0.0.weight`).
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// The metadata, as JSON ([`ModelMetadata`]).
pub const METADATA_FILE: &str = "model.json";
/// The model name written into, and expected in, the metadata.
pub const MODEL_NAME: &str = "head-ct TeachingNet";
/// Version of the metadata layout. Version 5 adds the temperature of a calibrated model
/// ([`Calibration`]), the threshold chosen for a target sensitivity ([`OperatingPoint`]) and the
/// warnings of its training (`training_warnings`), each with what it was fitted or chosen on;
/// older files load as uncalibrated, called at their recipe's threshold. Version 4 records the model's whole input
/// ([`ModelInput`]: windows, side, resize filter) in the recipe, in place of version 3's
/// recipe `windows` and free-text `scaling`; version 3 added the windows and what the model was
/// trained on ([`TrainingInput`]); version 2 recorded the training settings as a [`Recipe`]
/// and keeps the threshold in it. Versions 1 to 3 are still read and converted (see
/// [`load_checkpoint`]): a version-2 model was trained on display images, with the brain
/// window for any DICOM.
pub const FORMAT_VERSION: u32 = 5;

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
    /// Every setting of the training, its recipe among them, which holds the model's input
    /// ([`ModelMetadata::input`]).
    pub training: TrainingSettings,
    /// Metrics at the end of training (on the last epoch).
    pub final_metrics: Option<FinalMetrics>,
    /// Temperature scaling fitted after training, with what it was fitted on; `None`: the
    /// model prints its raw (uncalibrated) probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub calibration: Option<Calibration>,
    /// The threshold chosen for a target sensitivity, with what it was chosen on; `None`: the
    /// recipe's threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operating_point: Option<OperatingPoint>,
    /// What went wrong in training, in plain words (e.g. a loss still at chance after the
    /// third epoch: [`crate::training::History::stuck_at_chance`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub training_warnings: Vec<String>,
}

/// How the weights were trained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainingSettings {
    /// Every setting of the training, including the threshold that predictions use.
    pub recipe: Recipe,
    /// The seed of the initial weights, the batch order and the augmentation.
    pub seed: u64,
    /// Where the data came from (a folder, or "synthetic phantoms (seed N)").
    pub data: String,
    pub train_images: usize,
    pub validate_images: usize,
    /// What the training images were: display images, CT numbers (DICOM), or both.
    #[serde(default)]
    pub input: TrainingInput,
    /// Where the weights were computed: a seeded run repeats bit for bit on the same machine
    /// with the same vector path and thread count (the GEMMs also depend on the CPU: with or
    /// without FMA). `None` in files written before head-ct recorded it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute: Option<ComputePath>,
}

/// The vector path of our kernels and the number of threads a model was trained with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComputePath {
    /// [`VectorPath::name`]: `avx512`, `avx2` or `portable`.
    pub vector_path: String,
    /// Threads of the rayon pool the kernels ran on. Our kernels give the same bits whatever
    /// the count; dfdx's own operations are not checked for that, so it is recorded.
    pub threads: usize,
}

impl ComputePath {
    /// This process's path: [`VectorPath::active`] and the rayon pool's size.
    pub fn current() -> Self {
        Self {
            vector_path: VectorPath::active().name().to_string(),
            threads: rayon::current_num_threads(),
        }
    }
}

impl std::fmt::Display for ComputePath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} vector path, {} threads",
            self.vector_path, self.threads
        )
    }
}

/// What a model's training images were, which decides what it says about DICOM input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrainingInput {
    /// Display images (PNG, JPEG, ...), already windowed by whoever exported them.
    #[default]
    DisplayImages,
    /// DICOM files: CT numbers shown in the recipe's windows.
    CtNumbers,
    /// Some of each.
    Both,
}

impl TrainingInput {
    /// What the images of `sets` are, as the loader recorded it ([`crate::data::Sample::source`]).
    pub fn of(sets: &[&ImageSet]) -> TrainingInput {
        let (mut dicom, mut display) = (false, false);
        for s in sets.iter().flat_map(|set| &set.samples) {
            if s.is_dicom() {
                dicom = true;
            } else {
                display = true;
            }
        }
        match (dicom, display) {
            (true, false) => TrainingInput::CtNumbers,
            (true, true) => TrainingInput::Both,
            _ => TrainingInput::DisplayImages,
        }
    }
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
    /// The settings of a model trained with `recipe` and `seed` on `train` and `validate`,
    /// which came from `source`.
    pub fn new(
        recipe: &Recipe,
        seed: u64,
        source: &DataSource,
        train: &ImageSet,
        validate: &ImageSet,
    ) -> Self {
        Self {
            recipe: *recipe,
            seed,
            data: source.short_name(),
            train_images: train.len(),
            validate_images: validate.len(),
            input: TrainingInput::of(&[train, validate]),
            compute: Some(ComputePath::current()),
        }
    }
}

impl FinalMetrics {
    /// The last epoch of `history` (`None` when it has no epoch), with the validation AUC.
    pub fn from_history(history: &History, val_auc: Option<f64>) -> Option<Self> {
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
            positive_class: Label::Hemorrhage.name().into(),
            training,
            final_metrics: None,
            calibration: None,
            operating_point: None,
            training_warnings: Vec::new(),
        }
    }

    /// The threshold predictions use: the operating point's when one was chosen
    /// ([`ModelMetadata::operating_point`]), otherwise the recipe's. It applies to the
    /// probabilities the model prints ([`ModelMetadata::temperature`]).
    pub fn threshold(&self) -> Threshold {
        self.operating_point
            .as_ref()
            .map_or(self.training.recipe.threshold, |o| o.threshold)
    }

    /// The temperature the model's probabilities are scaled with, when it is calibrated.
    pub fn temperature(&self) -> Option<Temperature> {
        self.calibration.as_ref().map(|c| c.temperature)
    }

    /// What the model's printed probabilities are, and the threshold it calls with, with their
    /// provenance: `Probabilities are calibrated (temperature 1.280, fitted on 50 validation
    /// images ...). Called hemorrhage at probability >= 0.231 (chosen on ...).`
    pub fn probability_sentence(&self) -> String {
        let what = match &self.calibration {
            Some(c) => format!("Probabilities are calibrated: {}.", c.sentence()),
            None => "Probabilities are uncalibrated (the network's raw output: no temperature \
                     was fitted for this model)."
                .to_string(),
        };
        let threshold = match &self.operating_point {
            Some(o) => format!(
                " Called hemorrhage at probability >= {:.3}, {} (validation sensitivity {:.2}, \
                 specificity {:.2}).",
                o.threshold.value(),
                o.chosen_on,
                o.sensitivity,
                o.specificity
            ),
            None => format!(
                " Called hemorrhage at probability >= {} (the recipe's threshold).",
                self.training.recipe.threshold
            ),
        };
        what + &threshold
    }

    /// How an image becomes this model's input: the recipe's.
    pub fn input(&self) -> &ModelInput {
        &self.training.recipe.input
    }

    /// A loader of images as this model was made to see them ([`ModelMetadata::input`]),
    /// within `limits`: what `predict`, `evaluate` and `explain` read images with.
    pub fn loader(&self, limits: Limits) -> Loader {
        Loader::new(*self.input()).with_limits(limits)
    }

    /// One sentence on how this model sees DICOM input: in the windows it was trained with, or,
    /// for a model trained on display images, in the brain window, said as such.
    pub fn dicom_input_sentence(&self) -> String {
        match self.training.input {
            TrainingInput::DisplayImages => format!(
                "This model was trained on display images (PNG), not CT numbers: DICOM input is \
                 shown to it in {}, the window closest to how the Kaggle PNGs were exported.",
                self.input().windows.describe()
            ),
            _ => format!(
                "DICOM input is shown to the model in the windows it was trained with: {}.",
                self.input().windows.describe()
            ),
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
        } else if self.positive_class != Label::Hemorrhage.name()
            || self.class_names.len() != 2
            || !self
                .class_names
                .iter()
                .any(|c| c == Label::Hemorrhage.name())
        {
            Some(format!(
                "says the model outputs the probability of {:?} among the classes {:?}; the \
                 teaching model outputs that of \"hemorrhage\", one of two classes",
                self.positive_class, self.class_names
            ))
        } else if let Err(e) = self
            .training
            .recipe
            .check()
            .and_then(|()| self.input().check(IMAGE_SIZE))
        {
            Some(format!(
                "records a recipe that cannot have trained it ({e})"
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
            Some(problem) => Err(Error::data(
                path,
                format!("this checkpoint does not fit the teaching model: it {problem}"),
            )),
            None => Ok(()),
        }
    }
}

/// Saves `model` and `metadata` into the folder `dir` (created if missing).
pub fn save_checkpoint(dir: &Path, model: &TeachingNet, metadata: &ModelMetadata) -> Result<()> {
    crate::error::create_dir_all(dir)?;
    let weights = dir.join(WEIGHTS_FILE);
    replace_atomically(&weights, |tmp| {
        model
            .save_safetensors(tmp)
            .map_err(|e| Error::data(tmp, format!("could not write the weights: {e:?}")))
    })?;
    let json = serde_json::to_vec_pretty(metadata).expect("metadata serialises");
    write_atomically(&dir.join(METADATA_FILE), &json)
}

/// Loads a checkpoint folder (or the path of its `model.safetensors`), checking that it fits the
/// teaching model before reading the weights. Metadata of format version 1 (before the recipe
/// was recorded as data) is read and converted; its augmentation, a `Debug` string, is
/// recognised when it is one of the two that version wrote (none or the Keras tutorial's).
pub fn load_checkpoint(dev: &Cpu, path: &Path) -> Result<(TeachingNet, ModelMetadata)> {
    if !path.exists() {
        return Err(Error::data(
            path,
            format!("no such run folder (a run folder holds {METADATA_FILE} and {WEIGHTS_FILE})"),
        ));
    }
    let dir: PathBuf = if path.is_dir() {
        path.to_path_buf()
    } else {
        path.parent().map(Path::to_path_buf).unwrap_or_default()
    };
    let meta_path = dir.join(METADATA_FILE);
    if !meta_path.is_file() {
        return Err(missing_model(&dir));
    }
    let text = std::fs::read_to_string(&meta_path).map_err(Error::io(&meta_path))?;
    let metadata = parse_metadata(&text, &meta_path)?;
    metadata.check_fits_teaching_net(&meta_path)?;

    let weights = dir.join(WEIGHTS_FILE);
    if !weights.is_file() {
        return Err(Error::data(
            weights,
            format!(
                "the weights file is missing: the training run that wrote {} did not finish \
                 saving (interrupted?); train again into it",
                crate::text::printable_path(&dir)
            ),
        ));
    }
    check_weights_file(&weights)?;
    let mut model = build_teaching_net(dev);
    model.load_safetensors(&weights).map_err(|e| {
        Error::data(
            &weights,
            format!(
                "the weights do not fit the teaching model: {}",
                describe_load_error(&e)
            ),
        )
    })?;
    debug_assert_eq!(model.num_trainable_params(), TEACHING_NET_PARAMS);
    Ok((model, metadata))
}

/// Why `dir` holds no model: it does not exist, it is not a run folder, or the run that wrote
/// it stopped before saving (a killed or interrupted `train` leaves its first figures only).
fn missing_model(dir: &Path) -> Error {
    let shown = crate::text::printable_path(dir);
    if !dir.is_dir() {
        return Error::data(
            dir,
            format!("no such run folder ({METADATA_FILE} expected in it)"),
        );
    }
    let started = std::fs::read_dir(dir)
        .map(|entries| entries.flatten().next().is_some())
        .unwrap_or(false);
    Error::data(
        dir,
        if started {
            format!(
                "no trained model here ({METADATA_FILE} and {WEIGHTS_FILE} are written when \
                 training ends): the training run that wrote this folder did not finish \
                 (interrupted?); train again, e.g. `head-ct train --out {shown}`"
            )
        } else {
            format!("an empty folder, not a run folder ({METADATA_FILE} missing)")
        },
    )
}

/// The largest weights file read: the teaching model's weights take about 1 MiB (265,953
/// 32-bit floats and a small header), so anything this large is not its checkpoint.
pub const MAX_WEIGHTS_BYTES: u64 = 16 << 20;

/// Checks a weights file before dfdx reads it: a safetensors file (whole, not truncated) whose
/// every tensor is stored as F32. dfdx 0.13 checks shapes but not dtypes: an F64 or F16 tensor
/// (what Python tools easily write) makes it panic, and an I32 one would load as garbage.
/// Errors name the file and, for a wrong dtype, the tensor and its dtype.
fn check_weights_file(path: &Path) -> Result<()> {
    use safetensors::{Dtype, SafeTensors};
    let refuse = |message: String| Error::Data {
        path: path.to_path_buf(),
        message,
    };
    let size = std::fs::metadata(path).map_err(Error::io(path))?.len();
    if size > MAX_WEIGHTS_BYTES {
        return Err(refuse(format!(
            "{size} bytes is far more than the teaching model's weights (about 1 MiB): this is \
             not its checkpoint"
        )));
    }
    let bytes = std::fs::read(path).map_err(Error::io(path))?;
    let tensors = SafeTensors::deserialize(&bytes).map_err(|e| {
        refuse(format!(
            "not a safetensors file, or a truncated or damaged one ({e:?})"
        ))
    })?;
    let mut names = tensors.names();
    names.sort();
    for name in names {
        let dtype = tensors
            .tensor(name)
            .map_err(|e| refuse(format!("tensor `{name}` cannot be read ({e:?})")))?
            .dtype();
        if dtype != Dtype::F32 {
            return Err(refuse(format!(
                "tensor `{name}` is stored as {dtype:?}, but the teaching model's weights are \
                 F32 (32-bit floats); convert the file to F32 (in PyTorch: `.float()` on every \
                 tensor before saving) or train the model with head-ct"
            )));
        }
    }
    Ok(())
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

/// Reads `model.json`: its format version first, then the current format, or version 1
/// converted to it. A newer version, or a file without one, is refused with a sentence.
fn parse_metadata(text: &str, path: &Path) -> Result<ModelMetadata> {
    let refuse = |message: String| Error::Data {
        path: path.to_path_buf(),
        message,
    };
    let bad = |e: serde_json::Error| refuse(format!("not a head-ct checkpoint description: {e}"));
    let value: serde_json::Value = serde_json::from_str(text).map_err(bad)?;
    let version = value
        .get("format_version")
        .and_then(serde_json::Value::as_u64);
    match version {
        Some(1) => serde_json::from_value::<v1::ModelMetadata>(value)
            .map_err(bad)?
            .upgrade(path),
        // Versions 2 and 3 kept the input as a free-text `scaling` sentence (which names the
        // resize filter) and, from version 3, the recipe's `windows`: the brain window when
        // absent (version 2, trained on display images).
        Some(2 | 3) => {
            let value = from_version_3(value).map_err(refuse)?;
            serde_json::from_value(value).map_err(bad)
        }
        // Version 4 is version 5 without calibration, operating point and warnings.
        Some(4) => {
            let mut metadata: ModelMetadata = serde_json::from_value(value).map_err(bad)?;
            metadata.format_version = FORMAT_VERSION;
            Ok(metadata)
        }
        Some(v) if v == u64::from(FORMAT_VERSION) => serde_json::from_value(value).map_err(bad),
        Some(v) if v > u64::from(FORMAT_VERSION) => Err(refuse(format!(
            "has format version {v}, newer than this program understands ({FORMAT_VERSION}): \
             update head-ct to use this checkpoint"
        ))),
        _ => Err(refuse(
            "not a head-ct checkpoint description: it has no valid `format_version`".into(),
        )),
    }
}

/// A version-2 or -3 `model.json` as version 4: `scaling` and the recipe's `windows` become
/// the recipe's `input`. Errors with a sentence when the scaling names no known filter.
fn from_version_3(mut value: serde_json::Value) -> std::result::Result<serde_json::Value, String> {
    use serde_json::Value;
    let object = value
        .as_object_mut()
        .ok_or("not a head-ct checkpoint description: not a JSON object")?;
    let scaling = object
        .remove("scaling")
        .and_then(|s| s.as_str().map(str::to_string))
        .unwrap_or_default();
    let resize_filter = resize_filter_of_scaling(&scaling)?;
    let recipe = object
        .get_mut("training")
        .and_then(|t| t.get_mut("recipe"))
        .and_then(Value::as_object_mut)
        .ok_or("not a head-ct checkpoint description: it has no training recipe")?;
    let windows = recipe
        .remove("windows")
        .unwrap_or_else(|| Value::from(String::from(ModelInput::TEACHING.windows)));
    let side = IMAGE_SIZE;
    recipe.insert(
        "input".into(),
        serde_json::json!({ "windows": windows, "side": side, "resize_filter": resize_filter }),
    );
    object.insert("format_version".into(), Value::from(FORMAT_VERSION));
    Ok(value)
}

/// The resize filter a `scaling` sentence of format versions 1 to 3 names (`RGB, resized to
/// 150x150 with the Triangle filter, pixel values / 255`), in `model.json`'s spelling.
fn resize_filter_of_scaling(scaling: &str) -> std::result::Result<serde_json::Value, String> {
    let named = scaling
        .split_once("with the ")
        .and_then(|(_, rest)| rest.split_whitespace().next());
    match named.and_then(ResizeFilter::from_image_name) {
        Some(filter) => Ok(serde_json::to_value(filter).expect("a filter serialises")),
        None => Err(format!(
            "records its input as {scaling:?}, which names no resize filter this program \
             knows: retrain the model with this version of head-ct"
        )),
    }
}

/// The metadata layout of format version 1 (head-ct 0.1 before the recipe type).
mod v1 {
    use std::path::Path;

    use serde::Deserialize;

    use super::FinalMetrics;
    use crate::{input::ModelInput, labels::Threshold, training::Recipe, Error, Result};

    /// The two augmentation records version 1 wrote (`format!("{:?}", augmentation)` of
    /// `Augmentation::none()` and `Augmentation::keras_tutorial()` at the time), kept as text so
    /// that a later change to `Augmentation` cannot break old checkpoints.
    const NONE: &str = "Augmentation { rotation_range: 0.0, width_shift_range: 0.0, \
                        height_shift_range: 0.0, zoom_range: 0.0, horizontal_flip: false }";
    const KERAS_TUTORIAL: &str = "Augmentation { rotation_range: 40.0, width_shift_range: 0.2, \
                                  height_shift_range: 0.2, zoom_range: 0.2, horizontal_flip: true }";

    #[derive(Deserialize)]
    pub(super) struct ModelMetadata {
        model: String,
        crate_version: String,
        input_shape: [usize; 3],
        parameters: usize,
        class_names: Vec<String>,
        positive_class: String,
        scaling: String,
        threshold: Threshold,
        training: TrainingSettings,
        final_metrics: Option<FinalMetrics>,
    }

    #[derive(Deserialize)]
    struct TrainingSettings {
        epochs: usize,
        batch_size: usize,
        learning_rate: f64,
        seed: u64,
        augmentation: String,
        data: String,
        train_images: usize,
        validate_images: usize,
    }

    impl ModelMetadata {
        pub(super) fn upgrade(self, path: &Path) -> Result<super::ModelMetadata> {
            let t = self.training;
            let augment = if t.augmentation == NONE {
                false
            } else if t.augmentation == KERAS_TUTORIAL {
                true
            } else {
                return Err(Error::data(
                    path,
                    format!(
                        "this version-1 checkpoint records an augmentation this program does not \
                         know ({}); retrain the model with this version of head-ct",
                        t.augmentation
                    ),
                ));
            };
            let recipe = Recipe {
                epochs: t.epochs,
                batch_size: t.batch_size,
                learning_rate: t.learning_rate,
                augment,
                class_weight: crate::training::ClassWeight::None,
                threshold: self.threshold,
                input: ModelInput {
                    resize_filter: super::resize_filter_of_scaling(&self.scaling)
                        .ok()
                        .and_then(|v| serde_json::from_value(v).ok())
                        .ok_or_else(|| Error::Data {
                            path: path.to_path_buf(),
                            message: format!(
                                "this version-1 checkpoint records its input as {:?}, which \
                                 names no resize filter this program knows",
                                self.scaling
                            ),
                        })?,
                    ..ModelInput::TEACHING
                },
                ..Recipe::TEACHING
            };
            Ok(super::ModelMetadata {
                format_version: super::FORMAT_VERSION,
                model: self.model,
                crate_version: self.crate_version,
                input_shape: self.input_shape,
                parameters: self.parameters,
                class_names: self.class_names,
                positive_class: self.positive_class,
                training: super::TrainingSettings {
                    recipe,
                    seed: t.seed,
                    data: t.data,
                    train_images: t.train_images,
                    validate_images: t.validate_images,
                    input: super::TrainingInput::DisplayImages,
                    compute: None,
                },
                final_metrics: self.final_metrics,
                calibration: None,
                operating_point: None,
                training_warnings: Vec::new(),
            })
        }
    }
}
