//! `head-ct`: train, evaluate and use a small CNN that tells a head CT slice with hemorrhage from
//! a normal one. Run `head-ct --help` for the commands; with no command it trains.
//!
//! This file is the command line only: the flags (clap) and what is printed. Every step is a
//! library call: [`head_ct::run::train`], [`head_ct::experiments`], [`head_ct::inference`],
//! [`head_ct::explain`], [`head_ct::data`].

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use head_ct::{
    calibration::{probability_kind, DEFAULT_BINS},
    checkpoint::load_checkpoint,
    checkpoint::ModelMetadata,
    data::{
        load_data,
        phantom_studies::{self, write_phantom_studies},
        phantoms::{write_ct_phantom_layout, write_phantom_layout},
        prepare::{prepare_kaggle, PrepareOptions},
        FoundData, ImageSet, Loader, DEFAULT_DATA_DIR,
    },
    experiments::{self, CrossValConfig, Report},
    explain::{self, HeatMap},
    inference::{
        calibration_of_predictions, predict_set_calibrated, predictions_report, score_predictions,
        write_predictions_csv, Prediction,
    },
    input::{Limits, ModelInput},
    labels::Label,
    plots,
    run::{self, new_run_folder},
    settings::Settings,
    study::{take_inventory, Skipped},
    training::{observer::ModelLines, SeededDevice},
    Error, Result,
};

/// Large buffers are reused instead of being returned to the system after every batch.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Where run folders go.
const RUNS_DIR: &str = "runs";

mod args;
mod progress;
use args::*;
mod study;
use progress::auto_observer;

fn main() -> ExitCode {
    head_ct::allocator::keep_freed_memory();
    let cli = Cli::parse();
    let command = cli
        .command
        .unwrap_or_else(|| Command::Train(TrainArgs::default()));
    // The environment, read once: a malformed setting is refused before any work.
    let result = Settings::from_env().and_then(|settings| {
        let limits = settings.limits;
        match command {
            Command::Train(args) => train(args, limits).map(done),
            Command::Evaluate(args) => evaluate(args, limits).map(done),
            Command::Predict(args) => predict(args, limits),
            Command::Study(args) => study::study(args, limits),
            Command::Prepare(args) => prepare(args, limits).map(done),
            Command::Phantoms(args) => phantoms(args).map(done),
            Command::CrossValidate(args) => cross_validate(args, limits).map(done),
            Command::Seeds(args) => seeds(args, limits).map(done),
            Command::Explain(args) => explain(args, limits).map(done),
        }
    });
    match result {
        Ok(Outcome::Done) => ExitCode::SUCCESS,
        Ok(Outcome::SomeImagesFailed) => ExitCode::from(SOME_IMAGES_FAILED),
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// How a command that reads many images ended: every image read, or some could not be (the
/// rest were still predicted, and the failures listed).
pub(crate) enum Outcome {
    Done,
    SomeImagesFailed,
}

/// The exit status when some images could not be read but the rest were predicted (1 is an
/// error that stopped the command).
const SOME_IMAGES_FAILED: u8 = 2;

fn done(_: ()) -> Outcome {
    Outcome::Done
}

fn train(args: TrainArgs, limits: Limits) -> Result<()> {
    args.recipe.check()?;
    let found = find_data(args.data.as_deref(), args.seed, &args.recipe.input, limits)?;
    let data = &found.data;
    describe_set("train", &data.train);
    describe_set("validate", &data.validate);
    if let Some(test) = &data.test {
        describe_set("test", test);
    }
    warn_if_imbalanced(&args.recipe, &data.train);
    let folder = args
        .out
        .unwrap_or_else(|| new_run_folder(Path::new(RUNS_DIR), args.seed, None));
    println!("Writing the run to {}", folder.display());
    println!("Training: {}, seed {}", args.recipe.sentence(), args.seed);

    let mut observer = auto_observer();
    let done = run::train(&folder, &found, &args.recipe, args.seed, observer.as_mut())?;
    for warning in &done.warnings {
        println!("\nWARNING: {warning}.");
    }

    println!(
        "\nCalibration of the {} validation images' raw probabilities:\n{}",
        data.validate.len(),
        done.validation_calibration_raw
    );
    if let Some(after) = &done.validation_calibration {
        println!(
            "After temperature scaling (on the same images it was fitted on, so optimistic; \
             `cross-validate` measures it on held-out images):\n{after}"
        );
    }
    if let Some(note) = &done.call_rule.note {
        println!("Note: {note}.");
    }
    println!("{}", done.metadata.probability_sentence());
    println!(
        "\nOn the {} validation images:\n{}",
        data.validate.len(),
        done.validation_metrics.summary()
    );
    println!("\nPredictions on the {} images:", done.predicted.describe());
    print!("{}", predictions_report(&done.predictions));
    println!("\nSaved in {}: {}.", folder.display(), done.written_list());
    remind_if_synthetic(&found);
    Ok(())
}

fn evaluate(args: EvaluateArgs, limits: Limits) -> Result<()> {
    let dev = SeededDevice::for_inference();
    let (model, metadata) = load_checkpoint(&dev, &args.model)?;
    let threshold = args.threshold.unwrap_or(metadata.threshold());
    let set = metadata
        .loader(limits)
        .seed_layout(&args.data)?
        .labelled_split(&args.data, args.split)?;
    say_how_dicom_is_shown(&metadata, std::slice::from_ref(&set));
    if let Some(note) = set.pixel_notes() {
        println!("Note: {note}");
    }
    let predictions =
        predict_set_calibrated(&model, &dev, &set, threshold, metadata.temperature())?;
    let metrics = score_predictions(&predictions)?;
    println!("{}", metadata.probability_sentence());
    if args.threshold.is_some() {
        println!("(--threshold {threshold} replaces the model's threshold here.)");
    }
    println!(
        "On the {} {} images:\n{}",
        set.len(),
        args.split,
        metrics.summary()
    );
    let (calibration, raw) = calibration_of_predictions(&predictions, DEFAULT_BINS)?;
    let kind = probability_kind(metadata.temperature());
    println!("\nCalibration of the {kind} probabilities:\n{calibration}");
    if let Some(raw) = &raw {
        println!("Before temperature scaling (the network's raw output):\n{raw}");
    }
    if let Some(dir) = args.figures {
        create_dir(&dir)?;
        run::save_evaluation_figures(&metrics, &dir)?;
        let title = format!("Reliability on the {} {} images", set.len(), args.split);
        let figure = match &raw {
            Some(raw) => {
                plots::reliability_figure(&title, &[("raw", raw), ("calibrated", &calibration)])?
            }
            None => plots::reliability_figure(&title, &[("uncalibrated", &calibration)])?,
        };
        figure.save_png(run::RunFile::Reliability.path_in(&dir))?;
        println!("Figures written to {}", dir.display());
    }
    Ok(())
}

fn predict(args: PredictArgs, limits: Limits) -> Result<Outcome> {
    let dev = SeededDevice::for_inference();
    let (model, metadata) = load_checkpoint(&dev, &args.model)?;
    let threshold = args.threshold.unwrap_or(metadata.threshold());
    let (inputs, mut skipped) = find_inputs(&args.images, &limits);
    if inputs.is_empty() {
        return Err(nothing_to_read(
            "no image to predict",
            &args.images,
            &skipped,
        ));
    }
    println!("{}", metadata.probability_sentence());
    if args.threshold.is_some() {
        println!("(--threshold {threshold} replaces the model's threshold here.)");
    }
    let loader = metadata.loader(limits);
    let mut predictions = Vec::with_capacity(inputs.len());
    let mut any_dicom = false;
    for chunk in inputs.chunks(head_ct::study::STUDY_BATCH) {
        let paths: Vec<PathBuf> = chunk.iter().map(|(p, _)| p.clone()).collect();
        let (set, failed) = loader.readable_files(&paths)?;
        any_dicom |= set.samples.iter().any(|s| s.is_dicom());
        let truth: std::collections::HashMap<&Path, Option<Label>> =
            chunk.iter().map(|(p, l)| (p.as_path(), *l)).collect();
        for mut p in predict_set_calibrated(&model, &dev, &set, threshold, metadata.temperature())?
        {
            p.truth = truth.get(p.path.as_path()).copied().flatten();
            predictions.push(p);
        }
        for (path, e) in failed {
            skipped.push(Skipped::failed(path, e.reason()));
        }
    }
    if any_dicom {
        println!("{}", metadata.dicom_input_sentence());
    }
    print!("{}", predictions_report(&predictions));
    let failed = skipped.iter().filter(|s| s.is_failure()).count();
    if !skipped.is_empty() {
        println!(
            "Skipped {} file{}{}:",
            skipped.len(),
            if skipped.len() == 1 { "" } else { "s" },
            if failed > 0 {
                format!(" ({failed} could not be read)")
            } else {
                String::new()
            }
        );
        for s in &skipped {
            println!("  {}: {}", head_ct::text::printable_path(&s.path), s.reason);
        }
    }
    if let Some(csv) = args.csv {
        write_predictions_csv(&csv, &predictions)?;
        println!("Written to {}", csv.display());
    }
    Ok(if failed > 0 {
        Outcome::SomeImagesFailed
    } else {
        Outcome::Done
    })
}

/// The error of a command that found nothing to read under `paths`: `what`, where, and the
/// first reasons files were skipped (the folder given, the DICOMDIR alone, ...).
pub(crate) fn nothing_to_read(what: &str, paths: &[PathBuf], skipped: &[Skipped]) -> Error {
    let shown = |p: &Path| head_ct::text::printable_path(p);
    let reasons: Vec<String> = skipped
        .iter()
        .take(5)
        .map(|s| format!("{}: {}", shown(&s.path), s.reason))
        .collect();
    let paths: Vec<String> = paths.iter().map(|p| shown(p)).collect();
    let n = skipped.len();
    Error::InvalidInput(format!(
        "{what} in {} ({n} file{} skipped{})",
        paths.join(", "),
        if n == 1 { "" } else { "s" },
        if reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", reasons.join("; "))
        }
    ))
}

/// The images to predict under `paths`, each with its truth when it lies in a class folder,
/// and every other file with the reason it is skipped ([`head_ct::study::take_inventory`]).
/// A folder with a `hemorrhage/` subfolder is a labelled folder: each of its subfolders is a
/// class ([`Label::of_class_folder`]); its loose files are unlabelled. Images come in the
/// walk's order: folder by folder, file names sorted.
fn find_inputs(
    paths: &[PathBuf],
    limits: &Limits,
) -> (Vec<(PathBuf, Option<Label>)>, Vec<Skipped>) {
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    let mut add = |paths: &[PathBuf], truth: Option<Label>, skipped: &mut Vec<Skipped>| {
        let inventory = take_inventory(paths, limits);
        let mut found: Vec<PathBuf> = inventory
            .dicom_images
            .into_iter()
            .map(|h| h.path)
            .chain(inventory.display_images)
            .collect();
        found.sort();
        inputs.extend(found.into_iter().map(|p| (p, truth)));
        skipped.extend(inventory.skipped);
    };
    for path in paths {
        let class_folders = labelled_class_folders(path);
        if class_folders.is_empty() {
            add(std::slice::from_ref(path), None, &mut skipped);
            continue;
        }
        for (folder, label) in class_folders {
            add(&[folder], Some(label), &mut skipped);
        }
        // Loose files beside the class folders: unlabelled.
        let loose: Vec<PathBuf> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(|e| e.path())
            .filter(|p| !p.is_dir())
            .collect();
        if !loose.is_empty() {
            add(&loose, None, &mut skipped);
        }
    }
    // A file named twice (`dir` and `dir/x.dcm`) is predicted once.
    let mut once = HashSet::new();
    inputs.retain(|(p, _)| once.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    (inputs, skipped)
}

/// The class subfolders of `dir` and their labels, when it has a `hemorrhage/` subfolder;
/// empty otherwise. Hidden folders are not classes.
fn labelled_class_folders(dir: &Path) -> Vec<(PathBuf, Label)> {
    if !dir.join(Label::Hemorrhage.name()).is_dir() {
        return Vec::new();
    }
    let mut folders: Vec<(PathBuf, Label)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().is_dir() && !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| {
            let label = Label::of_class_folder(&e.file_name().to_string_lossy());
            (e.path(), label)
        })
        .collect();
    folders.sort();
    folders
}

fn prepare(args: PrepareArgs, limits: Limits) -> Result<()> {
    let counts = args.split.per_class()?;
    let report = prepare_kaggle(
        &args.source,
        &args.target,
        &PrepareOptions {
            counts,
            seed: args.seed,
            force: args.force,
            limits,
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
    if let Some(studies) = args.studies {
        if args.format != PhantomFormat::Dicom {
            return Err(Error::InvalidInput(
                "--studies writes DICOM studies: add --format dicom".into(),
            ));
        }
        let out = args
            .out
            .unwrap_or_else(|| PathBuf::from("data/phantom-studies"));
        let written = write_phantom_studies(&out, args.seed, studies, args.force)?;
        let h = written.hemorrhage_count();
        println!(
            "Wrote {} synthetic CT {} ({h} with a bleed, {} without; {} DICOM files: per \
             study series 2 '{}' {} slices, series 3 '{}' {} slices, a localizer and a text \
             report) to {} (labels.csv, truth.csv, README.TXT; studies in {}/)",
            written.studies.len(),
            if written.studies.len() == 1 {
                "study"
            } else {
                "studies"
            },
            written.studies.len() - h,
            written.files,
            phantom_studies::THIN_SERIES.1,
            phantom_studies::THIN_SLICES,
            phantom_studies::THICK_SERIES.1,
            phantom_studies::THICK_SLICES,
            out.display(),
            out.join(phantom_studies::DICOM_DIR).display(),
        );
        return Ok(());
    }
    let out = args.out.unwrap_or_else(|| PathBuf::from("data/phantoms"));
    let counts = args.split.per_class()?;
    let (total, what) = match args.format {
        PhantomFormat::Png => (
            write_phantom_layout(&out, args.seed, counts, args.force)?,
            "display PNGs, brain window",
        ),
        PhantomFormat::Dicom => (
            write_ct_phantom_layout(&out, args.seed, counts, args.force)?,
            "DICOM CT images in Hounsfield units",
        ),
    };
    println!(
        "Wrote {} synthetic phantoms ({} with a bleed, {} without; {what}) to {}",
        total.hemorrhage + total.normal,
        total.hemorrhage,
        total.normal,
        out.display()
    );
    Ok(())
}

fn cross_validate(args: CrossValidateArgs, limits: Limits) -> Result<()> {
    args.recipe.check()?;
    let (pool, found) = match &args.source {
        Some(source) => {
            println!("Data: {} (labels.csv + images)", source.display());
            let loader = Loader::new(args.recipe.input).with_limits(limits);
            (experiments::kaggle_pool(source, &loader)?, None)
        }
        None => {
            let found = find_data(args.data.as_deref(), args.seed, &args.recipe.input, limits)?;
            let pool = experiments::seed_layout_pool(&found.data, args.include_test)?;
            let test_note = match (&found.data.test, args.include_test) {
                (_, true) => "train/ + validate/ + test/",
                (Some(_), false) => "train/ + validate/; test/ left out (--include-test adds it)",
                (None, false) => "train/ + validate/",
            };
            println!("Pool: {test_note}");
            (pool, Some(found))
        }
    };
    describe_set("pool", &pool);
    warn_if_imbalanced(&args.recipe, &pool);
    if let (None, Some(note)) = (&found, pool.pixel_notes()) {
        println!("Note: {note}");
    }
    let config = CrossValConfig {
        folds: args.folds,
        seed: args.seed,
        recipe: args.recipe,
    };
    // Check the folds before creating anything on disk.
    experiments::stratified_folds(&pool.known_labels()?, config.folds, config.seed)?;
    let out = args
        .out
        .unwrap_or_else(|| new_run_folder(Path::new(RUNS_DIR), args.seed, Some("cv")));
    create_dir(&out)?;
    println!(
        "{}-fold cross-validation (fold assignment seed {}, fold f trains with seed {} × 1000 + f), \
         {}",
        config.folds,
        config.seed,
        config.seed,
        config.recipe.sentence()
    );
    let report = experiments::cross_validate(&pool, &config, &mut ModelLines)?;
    println!("\n{}\n{}", report.table(), report.pooled_line());
    report.write_csv(&out.join("cross_validation.csv"))?;
    report.write_predictions_csv(&out.join("oof_predictions.csv"), &pool)?;
    plots::crossval_roc_figure(&report)?.save_png(out.join("crossval_roc.png"))?;
    let mut files = vec![
        "cross_validation.csv",
        "oof_predictions.csv",
        "crossval_roc.png",
    ];
    if let Some(c) = &report.calibration {
        println!("\n{}", c.summary());
        c.write_csv(&out.join("calibration.csv"))?;
        let series: Vec<(&str, &head_ct::calibration::CalibrationReport)> =
            if c.folds.iter().any(|f| f.rule.calibration.is_some()) {
                vec![("raw", &c.pooled_before), ("calibrated", &c.pooled_after)]
            } else {
                vec![("uncalibrated", &c.pooled_before)]
            };
        plots::reliability_figure(
            &format!(
                "Reliability of the {} out-of-fold predictions",
                c.pooled_before.images
            ),
            &series,
        )?
        .save_png(out.join("reliability.png"))?;
        files.extend(["calibration.csv", "reliability.png"]);
    }
    let warnings = report.training_warnings();
    if !warnings.is_empty() {
        for w in &warnings {
            println!("WARNING: {w}.");
        }
        report.write_training_warnings(&out.join("training_warnings.txt"))?;
        files.push("training_warnings.txt");
    }
    println!("Saved in {}: {}.", out.display(), files.join(", "));
    if let Some(found) = &found {
        remind_if_synthetic(found);
    }
    Ok(())
}

fn seeds(args: SeedsArgs, limits: Limits) -> Result<()> {
    args.recipe.check()?;
    if args.recipe.target_sensitivity.is_some() {
        return Err(Error::InvalidInput(
            "`seeds` reports every seed's validation metrics at --threshold and chooses no \
             threshold: --target-sensitivity is for `train` and `cross-validate`"
                .into(),
        ));
    }
    let seed_list = experiments::parse_seeds(&args.seeds)?;
    let found = find_data(args.data.as_deref(), 1, &args.recipe.input, limits)?;
    describe_set("train", &found.data.train);
    describe_set("validate", &found.data.validate);
    warn_if_imbalanced(&args.recipe, &found.data.train);
    let out = args
        .out
        .unwrap_or_else(|| new_run_folder(Path::new(RUNS_DIR), seed_list[0], Some("seeds")));
    create_dir(&out)?;
    let list: Vec<String> = seed_list.iter().map(u64::to_string).collect();
    println!(
        "Training with seeds {}: {}",
        list.join(", "),
        args.recipe.sentence()
    );
    let report = experiments::seed_spread(
        &found.data.train,
        &found.data.validate,
        &seed_list,
        &args.recipe,
        &mut ModelLines,
    )?;
    println!("\n{}", report.table());
    report.write_csv(&out.join("seeds.csv"))?;
    println!("Saved in {}: seeds.csv.", out.display());
    remind_if_synthetic(&found);
    Ok(())
}

fn explain(args: ExplainArgs, limits: Limits) -> Result<()> {
    if !args.model.exists() {
        return Err(Error::data(
            args.model,
            "no such model: give a run folder holding model.safetensors and model.json",
        ));
    }
    let dev = SeededDevice::for_inference();
    let (model, metadata) = load_checkpoint(&dev, &args.model)?;
    let threshold = args.threshold.unwrap_or(metadata.threshold());
    // Every image first, so that a bad one stops the command before anything is written.
    let sets = load_inputs(&args.images, &metadata, limits)?;
    create_dir(&args.out)?;
    println!("{}", metadata.probability_sentence());
    let methods = args.method.methods(usize::from(args.block));
    let names: Vec<String> = methods.iter().map(|m| m.describe()).collect();
    println!(
        "Heat maps: {}. Warm colours show where the evidence for hemorrhage lies; they are not \
         a diagnosis.",
        names.join("; ")
    );
    let mut used = HashSet::new();
    let mut written = 0;
    for set in &sets {
        let images: Vec<&[f32]> = (0..set.len()).map(|i| set.image(i)).collect();
        let mut maps = Vec::new();
        for &method in &methods {
            maps.push(explain::heat_maps(&model, &dev, &images, method)?);
        }
        for (i, sample) in set.samples.iter().enumerate() {
            let prediction = Prediction {
                path: sample.path.clone(),
                probability: maps[0][i].probability,
                calibrated: None,
                threshold,
                truth: sample.label,
                note: sample.note.clone(),
            }
            .calibrated_with(metadata.temperature());
            let per_image: Vec<&HeatMap> = maps.iter().map(|m| &m[i]).collect();
            let figure = plots::explanation_figure(
                images[i],
                &per_image,
                &prediction.name(),
                sample.label,
                threshold,
                metadata.temperature(),
            )?;
            let dest = explain::figure_path(&args.out, &sample.path, &mut used);
            figure.save_png(&dest)?;
            println!(
                "  {} → {}",
                prediction.sentence(),
                head_ct::text::printable_path(&dest)
            );
            let missing = plots::undrawable_chars(&prediction.name());
            if !missing.is_empty() {
                println!(
                    "    note: the figure's font has no glyph for {:?}; they are drawn as '?'",
                    missing
                );
            }
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

/// The images of `paths` (files, and folders of images) as the model was made to see them
/// ([`ModelMetadata::loader`]), and a sentence on how DICOM is shown when there is any.
fn load_inputs(
    paths: &[PathBuf],
    metadata: &ModelMetadata,
    limits: Limits,
) -> Result<Vec<ImageSet>> {
    let loader = metadata.loader(limits);
    let (folders, files): (Vec<PathBuf>, Vec<PathBuf>) =
        paths.iter().cloned().partition(|p| p.is_dir());
    let mut sets = folders
        .iter()
        .map(|dir| loader.folder(dir))
        .collect::<Result<Vec<_>>>()?;
    if !files.is_empty() {
        sets.push(loader.files(&files)?);
    }
    say_how_dicom_is_shown(metadata, &sets);
    Ok(sets)
}

/// Prints which windows DICOM input is shown in, when `sets` hold any DICOM file.
fn say_how_dicom_is_shown(metadata: &ModelMetadata, sets: &[ImageSet]) {
    let any_dicom = sets.iter().flat_map(|s| &s.samples).any(|s| s.is_dicom());
    if any_dicom {
        println!("{}", metadata.dicom_input_sentence());
    }
}

/// The seed layout named by `--data`, or the default folder, or phantoms
/// ([`head_ct::data::load_data`]), loaded for `input` within `limits`; prints which.
fn find_data(
    named: Option<&Path>,
    phantom_seed: u64,
    input: &ModelInput,
    limits: Limits,
) -> Result<FoundData> {
    let loader = Loader::new(*input).with_limits(limits);
    let found = load_data(&loader, named, Path::new(DEFAULT_DATA_DIR), phantom_seed)?;
    println!("{}", found.description);
    Ok(found)
}

/// Says so when the training classes are far from balanced (see `imbalance_warning`).
fn warn_if_imbalanced(recipe: &head_ct::training::Recipe, train: &ImageSet) {
    let [normal, hemorrhage] = train.class_counts_by_label();
    if let Some(warning) = head_ct::training::imbalance_warning(recipe, normal, hemorrhage) {
        println!("{warning}");
    }
}

fn remind_if_synthetic(found: &FoundData) {
    if found.is_synthetic() {
        println!(
            "Reminder: these were synthetic phantoms; the figures say nothing about real CT images."
        );
    }
}

fn describe_set(name: &str, set: &ImageSet) {
    println!("{name:>9}: {}", set.describe());
}

fn create_dir(dir: &Path) -> Result<()> {
    head_ct::error::create_dir_all(dir)
}
