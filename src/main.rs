//! `head-ct`: train, evaluate and use a small CNN that tells a head CT slice with hemorrhage from
//! a normal one. Run `head-ct --help` for the commands; with no command it trains.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use dfdx::prelude::*;

use head_ct::{
    checkpoint::{load_checkpoint, save_checkpoint, FinalMetrics, ModelMetadata, TrainingSettings},
    data::{
        load_default, load_image_folder, load_seed_layout,
        phantoms::write_phantom_layout,
        prepare::{prepare_kaggle, PrepareOptions, SplitCounts},
        Augmentation, DataSource, ImageSet,
    },
    inference::{
        predict_files, predict_set, predictions_report, score_predictions, write_predictions_csv,
        DEFAULT_THRESHOLD,
    },
    metrics::BinaryMetrics,
    model::build_teaching_net,
    plots,
    progress::auto_observer,
    training::{fit, keras_adam, FitConfig, Trainer},
    Error, Result,
};

/// Large buffers are reused instead of being returned to the system after every batch.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The default data folder, in the layout of the seed project (see data/README.md).
const DEFAULT_DATA: &str = "data/head_ct_slices";

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
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Train the teaching model, evaluate it on the validation images, predict the test images,
    /// and save the model, its history, the figures and the predictions into a run folder.
    Train(TrainArgs),
    /// Measure a saved model on a labelled split: accuracy, sensitivity, specificity,
    /// precision and ROC AUC, each with a 95% interval.
    Evaluate(EvaluateArgs),
    /// Say, for each image, whether the model sees a hemorrhage and how sure it is.
    Predict(PredictArgs),
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
struct TrainArgs {
    /// Folder with train/ and validate/ (one subfolder per class) and optionally test/
    /// [default: data/head_ct_slices, or built-in synthetic phantoms when that folder does not
    /// exist]. A folder named here must exist.
    #[arg(long)]
    data: Option<PathBuf>,
    /// Where to write the run (default: a new folder under runs/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Passes over the training images.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Images per training step.
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Seed for the initial weights, the batch order, augmentation and phantoms: the same seed
    /// on the same machine gives the same run.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Randomly rotate, shift, zoom and mirror the training images (Keras-tutorial ranges).
    #[arg(long)]
    augment: bool,
    /// Probability of hemorrhage at or above which an image is called "hemorrhage".
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f32,
}

impl Default for TrainArgs {
    fn default() -> Self {
        // The same defaults as the flags above: `head-ct` alone is `head-ct train`.
        let Cli {
            command: Some(Command::Train(args)),
        } = Cli::parse_from(["head-ct", "train"])
        else {
            unreachable!("`train` parses to Command::Train")
        };
        args
    }
}

#[derive(Args, Debug)]
struct EvaluateArgs {
    /// A run folder (or checkpoint folder) holding model.safetensors and model.json.
    #[arg(long)]
    model: PathBuf,
    /// Folder in the seed layout.
    #[arg(long, default_value = DEFAULT_DATA)]
    data: PathBuf,
    /// Which labelled split to measure: validate, test or train.
    #[arg(long, default_value = "validate")]
    split: String,
    /// Probability at or above which an image is called "hemorrhage" (default: the model's).
    #[arg(long)]
    threshold: Option<f32>,
    /// Also write the confusion matrix and ROC figures into this folder.
    #[arg(long)]
    figures: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct PredictArgs {
    /// A run folder (or checkpoint folder) holding model.safetensors and model.json.
    #[arg(long)]
    model: PathBuf,
    /// Image files, or folders of images (a folder with class subfolders is scored against
    /// them).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Probability at or above which an image is called "hemorrhage" (default: the model's).
    #[arg(long)]
    threshold: Option<f32>,
    /// Also write the predictions as CSV.
    #[arg(long)]
    csv: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct PrepareArgs {
    /// The unpacked Kaggle download: labels.csv and the images (directly or in head_ct/).
    #[arg(long)]
    source: PathBuf,
    /// Where to write train/, validate/, test/ and split.csv.
    #[arg(long, default_value = DEFAULT_DATA)]
    target: PathBuf,
    #[command(flatten)]
    split: SplitArgs,
    /// Seed of the random split.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Replace the splits in a target folder that is not empty.
    #[arg(long)]
    force: bool,
}

/// How many images go into each split; the split takes as many of each class.
#[derive(Args, Debug)]
struct SplitArgs {
    /// Training images (even: half of each class).
    #[arg(long, default_value_t = 140)]
    train: usize,
    /// Validation images (even: half of each class).
    #[arg(long, default_value_t = 50)]
    validate: usize,
    /// Test images (even: half of each class; 0 for none).
    #[arg(long, default_value_t = 10)]
    test: usize,
}

impl SplitArgs {
    /// Per-class counts; an odd total is refused.
    fn per_class(&self) -> Result<SplitCounts> {
        Ok(SplitCounts {
            train: per_class("--train", self.train)?,
            validate: per_class("--validate", self.validate)?,
            test: per_class("--test", self.test)?,
        })
    }
}

#[derive(Args, Debug)]
struct PhantomsArgs {
    /// Where to write train/, validate/ and test/.
    #[arg(long, default_value = "data/phantoms")]
    out: PathBuf,
    /// Seed of the phantoms.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    split: SplitArgs,
    /// Replace the splits in a target folder that is not empty.
    #[arg(long)]
    force: bool,
}

/// The training recipe shared by `cross-validate` and `seeds` (the same flags as `train`).
#[derive(Args, Debug)]
struct RecipeArgs {
    /// Passes over the training images.
    #[arg(long, default_value_t = 10)]
    epochs: usize,
    /// Images per training step.
    #[arg(long, default_value_t = 10)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    learning_rate: f64,
    /// Randomly rotate, shift, zoom and mirror the training images (Keras-tutorial ranges).
    #[arg(long)]
    augment: bool,
    /// Probability of hemorrhage at or above which an image is called "hemorrhage".
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f32,
}

impl RecipeArgs {
    fn fit_config(&self, seed: u64) -> FitConfig {
        FitConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            learning_rate: self.learning_rate,
            seed,
            augmentation: if self.augment {
                Augmentation::keras_tutorial()
            } else {
                Augmentation::none()
            },
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} epoch(s), batch size {}, learning rate {}{}",
            self.epochs,
            self.batch_size,
            self.learning_rate,
            if self.augment {
                ", with augmentation"
            } else {
                ""
            }
        )
    }
}

#[derive(Args, Debug)]
struct CrossValidateArgs {
    /// A Kaggle-style folder (labels.csv + images, directly or in head_ct/): all its images
    /// form the pool.
    #[arg(long, conflicts_with = "data")]
    source: Option<PathBuf>,
    /// A folder in the seed layout: train/ and validate/ together form the pool (test/ stays
    /// out unless --include-test) [default: data/head_ct_slices, or built-in synthetic phantoms
    /// when that folder does not exist].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Also put the seed layout's labelled test/ images into the pool.
    #[arg(long, requires = "data")]
    include_test: bool,
    /// Number of folds.
    #[arg(long, default_value_t = head_ct::crossval::DEFAULT_FOLDS)]
    folds: usize,
    /// Seed of the fold assignment; fold f trains with seed `seed × 1000 + f`.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Where to write cross_validation.csv, oof_predictions.csv and crossval_roc.png (default:
    /// a new folder under runs/).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SeedsArgs {
    /// Folder with train/ and validate/ [default: data/head_ct_slices, or built-in synthetic
    /// phantoms when that folder does not exist].
    #[arg(long)]
    data: Option<PathBuf>,
    /// The seeds: a list such as 1,2,3,7, or one number N meaning the seeds 1 to N.
    #[arg(long, default_value = "5")]
    seeds: String,
    #[command(flatten)]
    recipe: RecipeArgs,
    /// Where to write seeds.csv (default: a new folder under runs/).
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ExplainArgs {
    /// A run folder (or checkpoint folder) holding model.safetensors and model.json.
    #[arg(long)]
    model: PathBuf,
    /// Image files, or folders of images (with class subfolders, the figures say whether the
    /// call was right).
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Where to write the figures, one `<image name>-explain.png` per image.
    #[arg(long, default_value = "explanations")]
    out: PathBuf,
    /// Which maps: grad-cam, layer-cam, saliency, both (Grad-CAM and saliency) or all three.
    #[arg(long, value_enum, default_value_t = ExplainMethod::All)]
    method: ExplainMethod,
    /// Convolution block (1 = next to the image, 5 = deepest) for Grad-CAM and LayerCAM.
    #[arg(long, default_value_t = head_ct::explain::DEFAULT_BLOCK as u8,
          value_parser = clap::value_parser!(u8).range(1..=5))]
    block: u8,
    /// Probability at or above which an image is called "hemorrhage" (default: the model's).
    #[arg(long)]
    threshold: Option<f32>,
}

/// The maps `head-ct explain` draws.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ExplainMethod {
    GradCam,
    LayerCam,
    Saliency,
    Both,
    All,
}

impl ExplainMethod {
    fn methods(self, block: usize) -> Vec<head_ct::explain::Method> {
        use head_ct::explain::Method;
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

fn main() -> ExitCode {
    head_ct::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let result = match cli
        .command
        .unwrap_or_else(|| Command::Train(TrainArgs::default()))
    {
        Command::Train(args) => train(args),
        Command::Evaluate(args) => evaluate(args),
        Command::Predict(args) => predict(args),
        Command::Prepare(args) => prepare(args),
        Command::Phantoms(args) => phantoms(args),
        Command::CrossValidate(args) => cross_validate(args),
        Command::Seeds(args) => seeds(args),
        Command::Explain(args) => explain(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn device(seed: u64) -> Cpu {
    let dev = Cpu::seed_from_u64(seed);
    // Reuse freed tensor buffers: every batch asks for the same sizes again, and our layers
    // borrow their large buffers from this cache too.
    dev.enable_cache();
    dev
}

fn train(args: TrainArgs) -> Result<()> {
    let data_folder = args
        .data
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    let (data, source) = match &args.data {
        // Asked for by name: a missing folder is an error, not a reason to use phantoms.
        Some(folder) => (
            load_seed_layout(folder)?,
            DataSource::Folder(folder.clone()),
        ),
        None => load_default(&data_folder, args.seed)?,
    };
    let data_description = match &source {
        DataSource::Folder(path) => {
            println!("Data: {}", path.display());
            path.display().to_string()
        }
        DataSource::Phantoms { seed } => {
            println!(
                "No data folder at {}: training on built-in SYNTHETIC PHANTOMS (seed {seed}), \
                 not real CT images.\nTo train on the real Kaggle \"Head CT - hemorrhage\" images, \
                 see data/README.md.",
                data_folder.display()
            );
            format!("synthetic phantoms (seed {seed})")
        }
    };
    describe_set("train", &data.train);
    describe_set("validate", &data.validate);
    if let Some(test) = &data.test {
        describe_set("test", test);
    }

    let out = match args.out {
        Some(out) => out,
        None => new_run_folder(args.seed)?,
    };
    create_dir(&out)?;
    println!("Writing the run to {}", out.display());
    plots::class_samples(&data.train, 4)?.save_png(out.join("samples.png"))?;

    let config = FitConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.learning_rate,
        seed: args.seed,
        augmentation: if args.augment {
            Augmentation::keras_tutorial()
        } else {
            Augmentation::none()
        },
    };
    let dev = device(args.seed);
    let mut trainer = Trainer::new(build_teaching_net(&dev), keras_adam(config.learning_rate));
    println!(
        "Training {} epochs, batch size {}, learning rate {}, seed {}{}",
        config.epochs,
        config.batch_size,
        config.learning_rate,
        config.seed,
        if args.augment {
            ", with augmentation"
        } else {
            ""
        }
    );
    let mut observer = auto_observer();
    let history = fit(
        &mut trainer,
        &dev,
        &data.train,
        &data.validate,
        &config,
        observer.as_mut(),
    )?;
    history.write_csv(&out.join("history.csv"))?;
    plots::training_curves(&history)?.save_png(out.join("curves.png"))?;

    // How good is it on images it did not train on?
    let val_predictions = predict_set(&trainer.model, &dev, &data.validate, args.threshold)?;
    let val_metrics = score_predictions(&val_predictions, args.seed)?;
    println!(
        "\nOn the {} validation images:\n{}",
        data.validate.len(),
        val_metrics.summary()
    );
    save_evaluation_figures(&val_metrics, &out)?;

    let mut metadata = ModelMetadata::for_teaching_net(
        data.train.class_names.clone(),
        TrainingSettings::from_fit(&config, data_description, &data.train, &data.validate),
    );
    metadata.threshold = args.threshold;
    metadata.final_metrics =
        FinalMetrics::from_history(&history, val_metrics.auc.as_ref().map(|a| a.value));
    save_checkpoint(&out, &trainer.model, &metadata)?;

    // The seed's last step: predict the test images, which played no part in training.
    let (predictions, which) = match &data.test {
        Some(test) => (
            predict_set(&trainer.model, &dev, test, args.threshold)?,
            "test",
        ),
        None => (val_predictions, "validation (there is no test/ folder)"),
    };
    println!("\nPredictions on the {which} images:");
    print!("{}", predictions_report(&predictions));
    write_predictions_csv(&out.join("predictions.csv"), &predictions)?;
    plots::predictions_figure(&predictions, data.test.as_ref().unwrap_or(&data.validate))?
        .save_png(out.join("predictions.png"))?;
    println!(
        "\nSaved in {}: model.safetensors, model.json, history.csv, predictions.csv and the \
         figures samples.png, curves.png, confusion_matrix.png, roc.png, predictions.png.",
        out.display()
    );
    if matches!(source, DataSource::Phantoms { .. }) {
        println!("Reminder: these were synthetic phantoms; the figures say nothing about real CT images.");
    }
    Ok(())
}

fn evaluate(args: EvaluateArgs) -> Result<()> {
    let dev = device(0);
    let (model, metadata) = load_checkpoint(&dev, &args.model)?;
    let threshold = args.threshold.unwrap_or(metadata.threshold);
    let data = load_seed_layout(&args.data)?;
    let set = match args.split.as_str() {
        "validate" => data.validate,
        "train" => data.train,
        "test" => data.test.ok_or_else(|| Error::Data {
            path: args.data.join("test"),
            message: "there is no test/ folder".into(),
        })?,
        other => {
            return Err(Error::InvalidInput(format!(
                "--split must be validate, test or train, not {other:?}"
            )))
        }
    };
    if !set.is_labelled() {
        return Err(Error::Data {
            path: args.data.join(&args.split),
            message: "holds unlabelled images (no class folders): nothing to score against; use `head-ct predict` instead".into(),
        });
    }
    let predictions = predict_set(&model, &dev, &set, threshold)?;
    let metrics = score_predictions(&predictions, 0)?;
    println!(
        "On the {} {} images:\n{}",
        set.len(),
        args.split,
        metrics.summary()
    );
    if let Some(dir) = args.figures {
        create_dir(&dir)?;
        save_evaluation_figures(&metrics, &dir)?;
        println!("Figures written to {}", dir.display());
    }
    Ok(())
}

fn predict(args: PredictArgs) -> Result<()> {
    let dev = device(0);
    let (model, metadata) = load_checkpoint(&dev, &args.model)?;
    let threshold = args.threshold.unwrap_or(metadata.threshold);
    let mut predictions = Vec::new();
    let mut files = Vec::new();
    for path in &args.images {
        if path.is_dir() {
            predictions.extend(predict_set(
                &model,
                &dev,
                &load_image_folder(path)?,
                threshold,
            )?);
        } else {
            files.push(path.clone());
        }
    }
    if !files.is_empty() {
        predictions.extend(predict_files(&model, &dev, &files, threshold)?);
    }
    print!("{}", predictions_report(&predictions));
    if let Some(csv) = args.csv {
        write_predictions_csv(&csv, &predictions)?;
        println!("Written to {}", csv.display());
    }
    Ok(())
}

fn prepare(args: PrepareArgs) -> Result<()> {
    let counts = args.split.per_class()?;
    let report = prepare_kaggle(
        &args.source,
        &args.target,
        &PrepareOptions {
            counts,
            seed: args.seed,
            force: args.force,
        },
    )?;
    for (name, c) in [
        ("train", report.train),
        ("validate", report.validate),
        ("test", report.test),
    ] {
        println!(
            "{name:>9}: {:3} hemorrhage + {:3} normal",
            c.hemorrhage, c.normal
        );
    }
    println!(
        "Wrote {} (the split is listed in {}). Train with: cargo run --release -- train --data {}",
        report.target.display(),
        report.manifest.display(),
        report.target.display()
    );
    Ok(())
}

fn phantoms(args: PhantomsArgs) -> Result<()> {
    let counts = args.split.per_class()?;
    let total = write_phantom_layout(&args.out, args.seed, counts, args.force)?;
    println!(
        "Wrote {} synthetic phantoms ({} with a bleed, {} without) to {}",
        total.hemorrhage + total.normal,
        total.hemorrhage,
        total.normal,
        args.out.display()
    );
    Ok(())
}

fn explain(args: ExplainArgs) -> Result<()> {
    if !args.model.exists() {
        return Err(Error::Data {
            path: args.model,
            message: "no such model: give a run folder holding model.safetensors and model.json"
                .into(),
        });
    }
    let dev = device(0);
    let (model, metadata) = load_checkpoint(&dev, &args.model)?;
    let threshold = args.threshold.unwrap_or(metadata.threshold);
    // Every image first, so that a bad one stops the command before anything is written.
    let mut sets = Vec::new();
    let mut files = Vec::new();
    for path in &args.images {
        if path.is_dir() {
            sets.push(load_image_folder(path)?);
        } else {
            files.push(path.clone());
        }
    }
    if !files.is_empty() {
        sets.push(head_ct::data::load_image_files(&files)?);
    }
    create_dir(&args.out)?;
    let methods = args.method.methods(usize::from(args.block));
    let names: Vec<String> = methods.iter().map(|m| m.describe()).collect();
    println!(
        "Heat maps: {}. Warm colours show where the evidence for hemorrhage lies; they are not \
         a diagnosis.",
        names.join("; ")
    );
    let mut used = std::collections::HashSet::new();
    let mut written = 0;
    for set in &sets {
        let images: Vec<&[f32]> = (0..set.len()).map(|i| set.image(i)).collect();
        let mut maps = Vec::new();
        for &method in &methods {
            maps.push(head_ct::explain::heat_maps(&model, &dev, &images, method)?);
        }
        for (i, sample) in set.samples.iter().enumerate() {
            let prediction = head_ct::inference::Prediction {
                path: sample.path.clone(),
                probability: maps[0][i].probability,
                threshold,
                truth: sample.label,
            };
            let per_image: Vec<&head_ct::explain::HeatMap> = maps.iter().map(|m| &m[i]).collect();
            let figure = plots::explanation_figure(
                images[i],
                &per_image,
                &prediction.name(),
                sample.label,
                threshold,
            )?;
            let dest = explain_path(&args.out, &sample.path, &mut used);
            figure.save_png(&dest)?;
            println!("  {} → {}", prediction.sentence(), dest.display());
            written += 1;
        }
    }
    println!(
        "Wrote {written} figure{} to {}",
        if written == 1 { "" } else { "s" },
        args.out.display()
    );
    Ok(())
}

/// `out/<stem>-explain.png`, with `-2`, `-3`, ... when two images share a name.
fn explain_path(
    out: &Path,
    image: &Path,
    used: &mut std::collections::HashSet<PathBuf>,
) -> PathBuf {
    let stem = image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let mut dest = out.join(format!("{stem}-explain.png"));
    let mut n = 2;
    while !used.insert(dest.clone()) {
        dest = out.join(format!("{stem}-{n}-explain.png"));
        n += 1;
    }
    dest
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

fn describe_set(name: &str, set: &ImageSet) {
    println!("{name:>9}: {}", set.describe());
}

/// `confusion_matrix.png`, and `roc.png` when both classes are present.
fn save_evaluation_figures(metrics: &BinaryMetrics, dir: &Path) -> Result<()> {
    plots::confusion_matrix_figure(&metrics.confusion)?
        .save_png(dir.join("confusion_matrix.png"))?;
    if metrics.auc.is_some() {
        plots::roc_figure_from_metrics(metrics)?.save_png(dir.join("roc.png"))?;
    }
    Ok(())
}

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// `runs/2026-11-27T01-02-03-seed1`, with a suffix if that folder exists already: a new run
/// never overwrites an old one.
fn new_run_folder(seed: u64) -> Result<PathBuf> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    let stamp = format!(
        "{y:04}-{m:02}-{d:02}T{:02}-{:02}-{:02}-seed{seed}",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    );
    let base = Path::new("runs").join(&stamp);
    let mut candidate = base.clone();
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    Ok(candidate)
}

/// Days since 1970-01-01 to a (year, month, day) date in the proleptic Gregorian calendar
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// The seed layout named by `--data`, or the default folder, or phantoms; says plainly which.
fn seed_data_or_phantoms(
    data: &Option<PathBuf>,
    seed: u64,
) -> Result<(head_ct::data::SeedData, bool)> {
    let folder = data.clone().unwrap_or_else(|| PathBuf::from(DEFAULT_DATA));
    let (loaded, source) = match data {
        Some(folder) => (
            load_seed_layout(folder)?,
            DataSource::Folder(folder.clone()),
        ),
        None => load_default(&folder, seed)?,
    };
    let phantoms = match source {
        DataSource::Folder(path) => {
            println!("Data: {}", path.display());
            false
        }
        DataSource::Phantoms { seed } => {
            println!(
                "No data folder at {}: using built-in SYNTHETIC PHANTOMS (seed {seed}), not real \
                 CT images.\nTo use the real Kaggle \"Head CT - hemorrhage\" images, see \
                 data/README.md.",
                folder.display()
            );
            true
        }
    };
    Ok((loaded, phantoms))
}

fn cross_validate(args: CrossValidateArgs) -> Result<()> {
    use head_ct::crossval::{self, CrossValConfig, RunLines};
    let (pool, phantoms) = match &args.source {
        Some(source) => {
            println!("Data: {} (labels.csv + images)", source.display());
            (crossval::kaggle_pool(source)?, false)
        }
        None => {
            let (data, phantoms) = seed_data_or_phantoms(&args.data, args.seed)?;
            let pool = crossval::seed_layout_pool(&data, args.include_test)?;
            let test_note = match (&data.test, args.include_test) {
                (_, true) => "train/ + validate/ + test/",
                (Some(_), false) => "train/ + validate/; test/ left out (--include-test adds it)",
                (None, false) => "train/ + validate/",
            };
            println!("Pool: {test_note}");
            (pool, phantoms)
        }
    };
    describe_set("pool", &pool);
    let config = CrossValConfig {
        folds: args.folds,
        seed: args.seed,
        fit: args.recipe.fit_config(args.seed),
        threshold: args.recipe.threshold,
    };
    // Check the folds before creating anything on disk.
    crossval::stratified_folds(&crossval::labels_of(&pool)?, config.folds, config.seed)?;
    let out = match args.out {
        Some(out) => out,
        None => new_suffixed_run_folder(args.seed, "cv")?,
    };
    create_dir(&out)?;
    println!(
        "{}-fold cross-validation (fold assignment seed {}, fold f trains with seed {} × 1000 + f), \
         {}",
        config.folds,
        config.seed,
        config.seed,
        args.recipe.describe()
    );
    let report = crossval::cross_validate(&pool, &config, &mut RunLines)?;
    println!("\n{}\n{}", report.table(), report.pooled_line());
    report.write_csv(&out.join("cross_validation.csv"))?;
    report.write_predictions_csv(&out.join("oof_predictions.csv"), &pool)?;
    plots::crossval_roc_figure(&report)?.save_png(out.join("crossval_roc.png"))?;
    println!(
        "Saved in {}: cross_validation.csv, oof_predictions.csv, crossval_roc.png.",
        out.display()
    );
    if phantoms {
        println!("Reminder: these were synthetic phantoms; the figures say nothing about real CT images.");
    }
    Ok(())
}

fn seeds(args: SeedsArgs) -> Result<()> {
    use head_ct::{crossval::RunLines, seeds};
    let seed_list = seeds::parse_seeds(&args.seeds)?;
    let (data, phantoms) = seed_data_or_phantoms(&args.data, 1)?;
    describe_set("train", &data.train);
    describe_set("validate", &data.validate);
    let out = match args.out {
        Some(out) => out,
        None => new_suffixed_run_folder(seed_list[0], "seeds")?,
    };
    create_dir(&out)?;
    let list: Vec<String> = seed_list.iter().map(u64::to_string).collect();
    println!(
        "Training with seeds {}: {}",
        list.join(", "),
        args.recipe.describe()
    );
    let report = seeds::seed_spread(
        &data.train,
        &data.validate,
        &seed_list,
        &args.recipe.fit_config(seed_list[0]),
        args.recipe.threshold,
        &mut RunLines,
    )?;
    println!("\n{}", report.table());
    report.write_csv(&out.join("seeds.csv"))?;
    println!("Saved in {}: seeds.csv.", out.display());
    if phantoms {
        println!("Reminder: these were synthetic phantoms; the figures say nothing about real CT images.");
    }
    Ok(())
}

/// Like [`new_run_folder`], with `-suffix` after the stamp (`runs/<stamp>-seed1-cv`), and again
/// never an existing folder.
fn new_suffixed_run_folder(seed: u64, suffix: &str) -> Result<PathBuf> {
    let base = new_run_folder(seed)?;
    let mut candidate = PathBuf::from(format!("{}-{suffix}", base.display()));
    let mut n = 2;
    while candidate.exists() {
        candidate = PathBuf::from(format!("{}-{suffix}-{n}", base.display()));
        n += 1;
    }
    Ok(candidate)
}
