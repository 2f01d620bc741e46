//! The flags of every `head-ct` command (clap). Every command that trains flattens the one
//! [`Recipe`]; its defaults live there.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use head_ct::{
    data::{prepare::SplitCounts, Split, DEFAULT_DATA_DIR},
    experiments::DEFAULT_FOLDS,
    explain::{self, Method},
    training::Recipe,
    Error, Result, Threshold,
};

/// The seed of `train` and `cross-validate` when none is given.
const DEFAULT_SEED: u64 = 1;

/// Tell head CT slices with hemorrhage from normal ones with a small convolutional network.
///
/// With no command, `head-ct` trains the teaching model for 10 epochs on data/head_ct_slices, or
/// on built-in synthetic phantoms when that folder does not exist, and writes everything it made
/// into a new folder under runs/. This is for learning and research: it is not a medical device.
#[derive(Parser, Debug)]
#[command(
    name = "head-ct",
    version,
    about,
    long_about,
    after_help = "Examples:\n  \
      head-ct                                   train on data/head_ct_slices (or phantoms)\n  \
      head-ct prepare --source ~/Downloads/head-ct-hemorrhage\n  \
      head-ct train --seed 2 --epochs 20 --augment\n  \
      head-ct evaluate --model runs/<run> --split test\n  \
      head-ct predict --model runs/<run> scan1.png scan2.png\n  \
      head-ct explain --model runs/<run> scan1.png --out explanations\n\n\
      With cargo, put the arguments after `--`: cargo run --release -- train --seed 2"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Train the teaching model, evaluate it on the validation images, predict the test images,
    /// and save the model, its history, the figures and the predictions into a run folder.
    Train(TrainArgs),
    /// Measure a saved model on a labelled split: accuracy, sensitivity, specificity,
    /// precision and ROC AUC, each with a 95% interval.
    Evaluate(EvaluateArgs),
    /// Say, for each image, whether the model sees a hemorrhage and how sure it is.
    Predict(PredictArgs),
    /// Read whole CT studies (DICOM export folders, recursively): every series in slice order,
    /// each slice's probability, and a call for each series and study; every file not read is
    /// listed with the reason.
    Study(StudyArgs),
    /// Turn the Kaggle "Head CT - hemorrhage" download (labels.csv + images) into the
    /// train/validate/test folders, split at random but with both classes in equal numbers.
    Prepare(PrepareArgs),
    /// Write synthetic head-CT phantoms (with and without a bleed) in the same folder layout,
    /// to try everything without the real data.
    Phantoms(PhantomsArgs),
    /// Stratified k-fold cross-validation: train a fresh model per fold, predict the held-out
    /// fold, and report per-fold and pooled accuracy, sensitivity, specificity and ROC AUC with
    /// 95% intervals (table, CSV and a ROC figure).
    CrossValidate(CrossValidateArgs),
    /// Train the same split with several seeds and report the mean, sd, min and max of each
    /// validation metric: how much of a result is luck.
    Seeds(SeedsArgs),
    /// Show where the model looked: for each image, a PNG with the slice and heat maps
    /// (Grad-CAM, LayerCAM, saliency) laid over it, and the probability in plain words.
    Explain(ExplainArgs),
}

#[derive(Args, Debug)]
pub(crate) struct TrainArgs {
    /// Folder with train/ and validate/ (one subfolder per class) and optionally test/
    /// [default: data/head_ct_slices, or built-in synthetic phantoms when that folder does not
    /// exist]. A folder named here must exist.
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Where to write the run (default: a new folder under runs/).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Seed for the initial weights, the batch order, augmentation and phantoms: the same seed
    /// on the same machine gives the same run.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) recipe: Recipe,
}

impl Default for TrainArgs {
    /// `head-ct` alone is `head-ct train` with these.
    fn default() -> Self {
        Self {
            data: None,
            out: None,
            seed: DEFAULT_SEED,
            recipe: Recipe::TEACHING,
        }
    }
}

#[derive(Args, Debug)]
pub(crate) struct EvaluateArgs {
    /// A run folder (or checkpoint folder) holding model.safetensors and model.json.
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// Folder in the seed layout.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub(crate) data: PathBuf,
    /// Which labelled split to measure: validate, test or train.
    #[arg(long, value_enum, default_value_t = Split::Validate)]
    pub(crate) split: Split,
    /// Probability at or above which an image is called "hemorrhage" (default: the model's).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threshold: Option<Threshold>,
    /// Also write the confusion matrix and ROC figures into this folder.
    #[arg(long)]
    pub(crate) figures: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct PredictArgs {
    /// A run folder (or checkpoint folder) holding model.safetensors and model.json.
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// Image files, or folders of images (a folder with class subfolders is scored against
    /// them).
    #[arg(required = true)]
    pub(crate) images: Vec<PathBuf>,
    /// Probability at or above which an image is called "hemorrhage" (default: the model's).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threshold: Option<Threshold>,
    /// Also write the predictions as CSV.
    #[arg(long)]
    pub(crate) csv: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct StudyArgs {
    /// A run folder (or checkpoint folder) holding model.safetensors and model.json.
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// DICOM files, or folders read recursively (an export from a scanner or an archive).
    #[arg(required = true)]
    pub(crate) paths: Vec<PathBuf>,
    /// Write slices.csv, series.csv, skipped.csv and one figure per series into this folder.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Probability at or above which a slice counts (default: the model's threshold).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threshold: Option<Threshold>,
    /// Adjacent slices at or above the threshold that make a series' call "hemorrhage" (1: the
    /// highest slice decides).
    #[arg(long, default_value_t = 2)]
    pub(crate) adjacent: usize,
    /// A labels.csv of `study_uid, hemorrhage` (or `series_uid, hemorrhage`) rows: score the
    /// calls against it (sensitivity, specificity, AUC with 95% intervals).
    #[arg(long)]
    pub(crate) labels: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct PrepareArgs {
    /// The unpacked Kaggle download: labels.csv and the images (directly or in head_ct/).
    #[arg(long)]
    pub(crate) source: PathBuf,
    /// Where to write train/, validate/, test/ and split.csv.
    #[arg(long, default_value = DEFAULT_DATA_DIR)]
    pub(crate) target: PathBuf,
    #[command(flatten)]
    pub(crate) split: SplitArgs,
    /// Seed of the random split.
    #[arg(long, default_value_t = 42)]
    pub(crate) seed: u64,
    /// Replace the splits in a target folder that is not empty.
    #[arg(long)]
    pub(crate) force: bool,
}

/// How many images go into each split; the split takes as many of each class.
#[derive(Args, Debug)]
pub(crate) struct SplitArgs {
    /// Training images (even: half of each class).
    #[arg(long, default_value_t = 140)]
    pub(crate) train: usize,
    /// Validation images (even: half of each class).
    #[arg(long, default_value_t = 50)]
    pub(crate) validate: usize,
    /// Test images (even: half of each class; 0 for none).
    #[arg(long, default_value_t = 10)]
    pub(crate) test: usize,
}

impl SplitArgs {
    /// Per-class counts; an odd total is refused.
    pub(crate) fn per_class(&self) -> Result<SplitCounts> {
        Ok(SplitCounts {
            train: per_class("--train", self.train)?,
            validate: per_class("--validate", self.validate)?,
            test: per_class("--test", self.test)?,
        })
    }
}

/// What `head-ct phantoms` writes.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PhantomFormat {
    Png,
    Dicom,
}

#[derive(Args, Debug)]
pub(crate) struct PhantomsArgs {
    /// Where to write train/, validate/ and test/ [default: data/phantoms, or
    /// data/phantom-studies with --studies].
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Seed of the phantoms.
    #[arg(long, default_value_t = 1)]
    pub(crate) seed: u64,
    /// `png`: display images in a brain window, as the Kaggle set; `dicom`: DICOM CT images in
    /// Hounsfield units (the same slices), for training with `--windows`.
    #[arg(long, value_enum, default_value_t = PhantomFormat::Png)]
    pub(crate) format: PhantomFormat,
    #[command(flatten)]
    pub(crate) split: SplitArgs,
    /// Write this many whole synthetic CT studies instead of the train/validate/test layout
    /// (needs --format dicom): per study a 5 mm and a 10 mm axial series of one 3-D phantom
    /// head, a localizer and a text report, in DICOM/<study>/<series>/ with PACS-style file
    /// names, plus labels.csv (study_uid, hemorrhage) and truth.csv (the bleed of every slice).
    /// Half the studies have a bleed.
    #[arg(long, conflicts_with_all = ["train", "validate", "test"])]
    pub(crate) studies: Option<usize>,
    /// Replace the splits (or, with --studies, DICOM/, README.TXT, labels.csv and truth.csv)
    /// in a target folder that is not empty.
    #[arg(long)]
    pub(crate) force: bool,
}

#[derive(Args, Debug)]
pub(crate) struct CrossValidateArgs {
    /// A Kaggle-style folder (labels.csv + images, directly or in head_ct/): all its images
    /// form the pool.
    #[arg(long, conflicts_with = "data")]
    pub(crate) source: Option<PathBuf>,
    /// A folder in the seed layout: train/ and validate/ together form the pool (test/ stays
    /// out unless --include-test) [default: data/head_ct_slices, or built-in synthetic phantoms
    /// when that folder does not exist].
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// Also put the seed layout's labelled test/ images into the pool.
    #[arg(long, requires = "data")]
    pub(crate) include_test: bool,
    /// Number of folds (at least 2).
    #[arg(long, default_value_t = DEFAULT_FOLDS, value_parser = at_least_two_folds)]
    pub(crate) folds: usize,
    /// Seed of the fold assignment; fold f trains with seed `seed × 1000 + f`.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    pub(crate) seed: u64,
    #[command(flatten)]
    pub(crate) recipe: Recipe,
    /// Where to write cross_validation.csv, oof_predictions.csv and crossval_roc.png (default:
    /// a new folder under runs/).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct SeedsArgs {
    /// Folder with train/ and validate/ [default: data/head_ct_slices, or built-in synthetic
    /// phantoms when that folder does not exist].
    #[arg(long)]
    pub(crate) data: Option<PathBuf>,
    /// The seeds: a list such as 1,2,3,7, or one number N meaning the seeds 1 to N.
    #[arg(long, default_value = "5")]
    pub(crate) seeds: String,
    #[command(flatten)]
    pub(crate) recipe: Recipe,
    /// Where to write seeds.csv (default: a new folder under runs/).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct ExplainArgs {
    /// A run folder (or checkpoint folder) holding model.safetensors and model.json.
    #[arg(long)]
    pub(crate) model: PathBuf,
    /// Image files, or folders of images (with class subfolders, the figures say whether the
    /// call was right).
    #[arg(required = true)]
    pub(crate) images: Vec<PathBuf>,
    /// Where to write the figures, one `<image name>-explain.png` per image.
    #[arg(long, default_value = "explanations")]
    pub(crate) out: PathBuf,
    /// Which maps: grad-cam, layer-cam, saliency, both (Grad-CAM and saliency) or all three.
    #[arg(long, value_enum, default_value_t = ExplainMethod::All)]
    pub(crate) method: ExplainMethod,
    /// Convolution block (1 = next to the image, 5 = deepest) for Grad-CAM and LayerCAM.
    #[arg(long, default_value_t = explain::DEFAULT_BLOCK as u8,
          value_parser = clap::value_parser!(u8).range(1..=explain::BLOCKS as i64))]
    pub(crate) block: u8,
    /// Probability at or above which an image is called "hemorrhage" (default: the model's).
    #[arg(long, allow_negative_numbers = true)]
    pub(crate) threshold: Option<Threshold>,
}

/// The maps `head-ct explain` draws.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExplainMethod {
    GradCam,
    LayerCam,
    Saliency,
    Both,
    All,
}

impl ExplainMethod {
    pub(crate) fn methods(self, block: usize) -> Vec<Method> {
        let (grad, layer) = (Method::GradCam { block }, Method::LayerCam { block });
        match self {
            ExplainMethod::GradCam => vec![grad],
            ExplainMethod::LayerCam => vec![layer],
            ExplainMethod::Saliency => vec![Method::Saliency],
            ExplainMethod::Both => vec![grad, Method::Saliency],
            ExplainMethod::All => vec![grad, layer, Method::Saliency],
        }
    }
}

/// The split takes the same number of images from each class.
fn per_class(flag: &str, total: usize) -> Result<usize> {
    if total % 2 == 1 {
        return Err(Error::InvalidInput(format!(
            "{flag} {total}: the split takes as many hemorrhage as normal images, so the count must be even"
        )));
    }
    Ok(total / 2)
}

/// `--folds`: a whole number of at least 2, said in those words.
fn at_least_two_folds(text: &str) -> std::result::Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(folds) if folds >= 2 => Ok(folds),
        Ok(folds) => Err(format!(
            "cross-validation needs at least 2 folds, not {folds}"
        )),
        Err(_) => Err(format!("{text:?} is not a whole number of folds")),
    }
}
