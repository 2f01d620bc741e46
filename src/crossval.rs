//! Stratified k-fold cross-validation: every image is held out exactly once, so a result rests on
//! all the images instead of one small validation split.
//!
//! With 200 images, a single 50-image validation split gives an accuracy whose 95% interval is
//! about ±0.11 wide, and a different split moves it by more than that. Cross-validation trains
//! `k` fresh models, each on `k − 1` folds, and predicts the fold it did not see; the `k`
//! held-out predictions together cover every image once (the *out-of-fold* predictions), so the
//! **pooled** metrics count all images, and the spread **across folds** shows how much one split
//! can mislead.
//!
//! - [`stratified_folds`]: the fold assignment (pure, seeded, stratified).
//! - [`kaggle_pool`] / [`seed_layout_pool`]: the labelled images to cross-validate.
//! - [`cross_validate`]: train and evaluate one model per fold; [`CrossValReport`] holds the
//!   per-fold and pooled metrics, prints a table and writes CSV files.
//! - [`Spread`]: mean, sample standard deviation, minimum and maximum of a metric over runs.
//!
//! # Seeds
//! The fold assignment is drawn from `seed`; fold `f` (1-based) trains a fresh model whose
//! weights, batch order and augmentation come from [`fold_seed`]`(seed, f)` = `seed × 1000 + f`,
//! so no two folds (and no two base seeds, for fewer than 1000 folds) share a model seed.
//!
//! # No leak from the held-out fold
//! The held-out fold never influences training: it is passed to [`fit`] only so the per-epoch
//! log shows its loss, and nothing (no epoch count, no weights) is chosen from it. A recipe that
//! wants early stopping must carve its own validation set out of the training folds.
//!
//! ```no_run
//! use head_ct::{crossval::*, data::phantoms::phantom_seed_data, training::FitConfig};
//!
//! let pool = seed_layout_pool(&phantom_seed_data(1), false)?;
//! let config = CrossValConfig { folds: 3, fit: FitConfig { epochs: 3, ..FitConfig::default() }, ..CrossValConfig::default() };
//! let report = cross_validate(&pool, &config, &mut RunLines)?;
//! println!("{}", report.table());
//! # Ok::<(), head_ct::Error>(())
//! ```

use std::{fmt::Write as _, path::Path, path::PathBuf, time::Duration, time::Instant};

use dfdx::{prelude::Cpu, tensor::Cache};
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{
    data::{
        load_image_files, prepare::kaggle_labelled_files, ImageSet, Sample, SeedData, IMAGE_LEN,
        NEGATIVE_CLASS, POSITIVE_CLASS,
    },
    history::History,
    inference::DEFAULT_THRESHOLD,
    metrics::{BinaryMetrics, Estimate},
    model::build_teaching_net,
    progress::{FitObserver, Silent},
    training::{evaluate_set, fit, keras_adam, FitConfig, SetEvaluation, Trainer},
    Error, Result,
};

/// Folds when nothing else is said: 5, the usual choice for a data set this small (each model
/// trains on 80% of the images, each held-out fold is large enough to hold both classes).
pub const DEFAULT_FOLDS: usize = 5;

/// Splits images into `k` folds for cross-validation, stratified by label: returns, for each
/// fold, the indices (into `labels`, ascending) of the images it holds out.
///
/// Each class is shuffled on its own ChaCha8 stream from `seed` and dealt round-robin to the
/// folds; the second class starts dealing where the first stopped, so fold **sizes** also differ
/// by at most one. Hence: the folds are disjoint, together they hold every image exactly once,
/// the count of each class differs by at most one between folds, and the same `(labels, k,
/// seed)` always gives the same folds, on every platform.
///
/// Errors if `k < 2`, a label is not 0 or 1, or a class has fewer than `k` images (then some
/// fold would hold out none of that class, and its sensitivity or specificity, and its AUC,
/// would not be defined).
pub fn stratified_folds(labels: &[u8], k: usize, seed: u64) -> Result<Vec<Vec<usize>>> {
    if k < 2 {
        return Err(Error::InvalidInput(format!(
            "cross-validation needs at least 2 folds, not {k}"
        )));
    }
    if let Some(i) = labels.iter().position(|&y| y > 1) {
        return Err(Error::InvalidInput(format!(
            "label {} at index {i} is neither 0 (normal) nor 1 (hemorrhage)",
            labels[i]
        )));
    }
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for label in [1u8, 0] {
        let mut class: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == label).collect();
        if class.len() < k {
            let name = if label == 1 {
                POSITIVE_CLASS
            } else {
                NEGATIVE_CLASS
            };
            return Err(Error::InvalidInput(format!(
                "{k}-fold cross-validation needs at least {k} `{name}` images (one per fold), \
                 but there are only {}; use fewer folds or more images",
                class.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::from(label));
        class.shuffle(&mut rng);
        for i in class {
            folds[next].push(i);
            next = (next + 1) % k;
        }
    }
    for fold in &mut folds {
        fold.sort_unstable();
    }
    Ok(folds)
}

/// The model seed of fold `fold` (1-based) under base seed `seed`: `seed × 1000 + fold`
/// (wrapping). Distinct for every fold, and for every base seed when there are fewer than 1000
/// folds.
pub fn fold_seed(seed: u64, fold: usize) -> u64 {
    seed.wrapping_mul(1000).wrapping_add(fold as u64)
}

/// The images `indices` of `set`, in that order, as a new set (pixels copied).
pub fn subset(set: &ImageSet, indices: &[usize]) -> Result<ImageSet> {
    let mut pixels = Vec::with_capacity(indices.len() * IMAGE_LEN);
    let mut samples = Vec::with_capacity(indices.len());
    for &i in indices {
        if i >= set.len() {
            return Err(Error::InvalidInput(format!(
                "index {i} is outside a set of {} images",
                set.len()
            )));
        }
        pixels.extend_from_slice(set.image(i));
        samples.push(set.samples[i].clone());
    }
    ImageSet::from_parts(set.class_names.clone(), samples, pixels)
}

/// All labelled images of a Kaggle-style folder (`labels.csv` + images, directly or in
/// `head_ct/`) as one set, in `labels.csv` order, with the class names `hemorrhage` and
/// `normal`. The checks are those of [`crate::data::prepare::prepare_kaggle`]; errors name the
/// file.
pub fn kaggle_pool(source: &Path) -> Result<ImageSet> {
    let files = kaggle_labelled_files(source)?;
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let decoded = load_image_files(&paths)?;
    let samples = files
        .into_iter()
        .map(|(path, label)| Sample {
            path,
            label: Some(label),
        })
        .collect();
    ImageSet::from_parts(
        vec![POSITIVE_CLASS.to_string(), NEGATIVE_CLASS.to_string()],
        samples,
        decoded.pixels().to_vec(),
    )
}

/// The labelled images of a seed layout as one pool: `train/` then `validate/`, and `test/` too
/// when `include_test` is set and `test/` has class folders.
///
/// Leaving `test/` out (the default in the command line) keeps those images unseen by every
/// model, for a final check after a recipe has been chosen by cross-validation.
pub fn seed_layout_pool(data: &SeedData, include_test: bool) -> Result<ImageSet> {
    let mut parts = vec![&data.train, &data.validate];
    if include_test {
        match &data.test {
            Some(test) if test.is_labelled() => parts.push(test),
            Some(_) => {
                return Err(Error::InvalidInput(
                    "test/ holds unlabelled images: it cannot join the cross-validation pool"
                        .into(),
                ))
            }
            None => {
                return Err(Error::InvalidInput(
                    "there is no test/ folder to include".into(),
                ))
            }
        }
    }
    let mut pixels = Vec::with_capacity(parts.iter().map(|s| s.pixels().len()).sum());
    let mut samples = Vec::new();
    for part in parts {
        if part.class_names != data.train.class_names || !part.is_labelled() {
            return Err(Error::InvalidInput(format!(
                "every split of the pool needs the class folders {:?} and labels",
                data.train.class_names
            )));
        }
        pixels.extend_from_slice(part.pixels());
        samples.extend(part.samples.iter().cloned());
    }
    ImageSet::from_parts(data.train.class_names.clone(), samples, pixels)
}

/// The labels of a labelled set as `u8` (1 = hemorrhage); an error for an unlabelled image.
pub fn labels_of(set: &ImageSet) -> Result<Vec<u8>> {
    set.samples
        .iter()
        .map(|s| {
            s.label.ok_or_else(|| Error::Data {
                path: s.path.clone(),
                message: "image has no label (no class folder)".into(),
            })
        })
        .collect()
}

/// Settings of [`cross_validate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossValConfig {
    /// Number of folds `k` (at least 2).
    pub folds: usize,
    /// Seeds the fold assignment, the per-fold models ([`fold_seed`]) and the bootstrap
    /// intervals of the AUC.
    pub seed: u64,
    /// The training recipe of every fold. Its `seed` is ignored: each fold uses its own.
    pub fit: FitConfig,
    /// Probability at or above which an image is called hemorrhage.
    pub threshold: f32,
}

impl Default for CrossValConfig {
    /// 5 folds, seed 1, the teaching recipe (10 epochs, batch 10, Adam 1e-3), threshold 0.5.
    fn default() -> Self {
        Self {
            folds: DEFAULT_FOLDS,
            seed: 1,
            fit: FitConfig::default(),
            threshold: DEFAULT_THRESHOLD,
        }
    }
}

/// What one fold's model predicted on the images it did not see: the input of
/// [`CrossValReport::from_folds`].
#[derive(Debug, Clone, PartialEq)]
pub struct FoldPredictions {
    /// 1-based.
    pub fold: usize,
    /// The model seed of this fold.
    pub seed: u64,
    /// Images the model trained on.
    pub train_images: usize,
    /// Indices into the pool of the held-out images.
    pub held_out: Vec<usize>,
    /// Probability of hemorrhage per held-out image, in `held_out` order.
    pub probabilities: Vec<f32>,
    /// Label per held-out image (1 = hemorrhage).
    pub labels: Vec<u8>,
    /// The training history (validation columns: the held-out fold, for information only).
    pub history: History,
    /// Wall-clock time to train and evaluate the fold.
    pub elapsed: Duration,
}

/// One fold's predictions with their metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldResult {
    pub predictions: FoldPredictions,
    /// Metrics of the held-out images (Wilson intervals, bootstrap AUC).
    pub metrics: BinaryMetrics,
}

impl FoldResult {
    /// The AUC of the fold (NaN if a class is missing, which stratification prevents).
    pub fn auc(&self) -> f64 {
        self.metrics.auc.map_or(f64::NAN, |a| a.value)
    }

    /// Training loss of the last epoch (NaN without epochs).
    pub fn final_loss(&self) -> f64 {
        self.predictions
            .history
            .loss
            .last()
            .map_or(f64::NAN, |&l| f64::from(l))
    }

    /// `fold 2/5 (seed 1002): trained on 160, held out 40 - accuracy 0.85 (34 of 40),
    /// sensitivity 0.90, specificity 0.80, AUC 0.93 - 31.2s`.
    pub fn line(&self, folds: usize) -> String {
        let p = &self.predictions;
        let m = &self.metrics;
        format!(
            "fold {}/{folds} (seed {}): trained on {}, held out {} - accuracy {:.2} ({} of {}), \
             sensitivity {:.2}, specificity {:.2}, AUC {:.3} - {:.1}s",
            p.fold,
            p.seed,
            p.train_images,
            p.held_out.len(),
            m.accuracy.value,
            m.accuracy.successes,
            m.accuracy.total,
            m.sensitivity.value,
            m.specificity.value,
            self.auc(),
            p.elapsed.as_secs_f64()
        )
    }
}

/// Mean, sample standard deviation (`n − 1` in the denominator; 0 for a single value), minimum
/// and maximum of a metric over folds or seeds. Values that are NaN are left out (`n` counts the
/// rest).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spread {
    pub n: usize,
    pub mean: f64,
    pub sd: f64,
    pub min: f64,
    pub max: f64,
}

impl Spread {
    /// The spread of `values`; all fields NaN (and `n` 0) when no value is a number.
    pub fn of(values: &[f64]) -> Self {
        let v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
        let n = v.len();
        if n == 0 {
            return Self {
                n,
                mean: f64::NAN,
                sd: f64::NAN,
                min: f64::NAN,
                max: f64::NAN,
            };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let sd = if n > 1 {
            (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
        } else {
            0.0
        };
        Self {
            n,
            mean,
            sd,
            min: v.iter().copied().fold(f64::INFINITY, f64::min),
            max: v.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }

    /// `0.84 ± 0.04` with `digits` decimals.
    pub fn mean_sd(&self, digits: usize) -> String {
        format!("{:.digits$} ± {:.digits$}", self.mean, self.sd)
    }
}

/// Everything cross-validation found: per fold, pooled over the out-of-fold predictions, and the
/// spread across folds.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValReport {
    pub folds: Vec<FoldResult>,
    /// Metrics of all out-of-fold predictions together (every pooled image once).
    pub pooled: BinaryMetrics,
    /// The out-of-fold probability of every pool image, in pool order.
    pub oof_probabilities: Vec<f32>,
    /// The label of every pool image, in pool order.
    pub labels: Vec<u8>,
    /// The fold (1-based) that held out each pool image, in pool order.
    pub oof_fold: Vec<usize>,
    pub threshold: f32,
}

impl CrossValReport {
    /// Computes per-fold and pooled metrics from the folds' predictions (pure: no training).
    ///
    /// The pooled metrics are those of the out-of-fold predictions concatenated: accuracy,
    /// sensitivity and specificity with Wilson intervals on the counts over all images, and the
    /// AUC of one ROC curve over all images with a bootstrap interval from `seed`. (Pooling
    /// compares probabilities from different models on one scale; the per-fold AUCs and their
    /// spread show whether that hides anything.)
    ///
    /// Errors if the folds are empty, a fold's lengths disagree, or the held-out indices are not
    /// each of `0..n` exactly once.
    pub fn from_folds(folds: Vec<FoldPredictions>, threshold: f32, seed: u64) -> Result<Self> {
        if folds.is_empty() {
            return Err(Error::InvalidInput("no folds to report".into()));
        }
        let n: usize = folds.iter().map(|f| f.held_out.len()).sum();
        let mut oof_probabilities = vec![f32::NAN; n];
        let mut labels = vec![0u8; n];
        let mut oof_fold = vec![0usize; n];
        let mut results = Vec::with_capacity(folds.len());
        for f in folds {
            if f.probabilities.len() != f.held_out.len() || f.labels.len() != f.held_out.len() {
                return Err(Error::InvalidInput(format!(
                    "fold {}: {} held-out images, {} probabilities, {} labels",
                    f.fold,
                    f.held_out.len(),
                    f.probabilities.len(),
                    f.labels.len()
                )));
            }
            for ((&i, &p), &y) in f.held_out.iter().zip(&f.probabilities).zip(&f.labels) {
                if i >= n || oof_fold[i] != 0 {
                    return Err(Error::InvalidInput(format!(
                        "fold {}: image {i} is out of range or held out twice",
                        f.fold
                    )));
                }
                oof_probabilities[i] = p;
                labels[i] = y;
                oof_fold[i] = f.fold.max(1);
            }
            let metrics = BinaryMetrics::compute(&f.probabilities, &f.labels, threshold, seed)?;
            results.push(FoldResult {
                predictions: f,
                metrics,
            });
        }
        let pooled = BinaryMetrics::compute(&oof_probabilities, &labels, threshold, seed)?;
        Ok(Self {
            folds: results,
            pooled,
            oof_probabilities,
            labels,
            oof_fold,
            threshold,
        })
    }

    /// Spread across folds of accuracy, sensitivity, specificity and AUC, in that order.
    pub fn across_folds(&self) -> [(&'static str, Spread); 4] {
        let of = |f: &dyn Fn(&FoldResult) -> f64| {
            Spread::of(&self.folds.iter().map(f).collect::<Vec<_>>())
        };
        [
            ("accuracy", of(&|r| r.metrics.accuracy.value)),
            ("sensitivity", of(&|r| r.metrics.sensitivity.value)),
            ("specificity", of(&|r| r.metrics.specificity.value)),
            ("AUC", of(&|r| r.auc())),
        ]
    }

    /// A Markdown table (it also reads well in a terminal): one row per fold with 95% intervals,
    /// then the pooled row (counts over all images) and mean ± sd across folds.
    pub fn table(&self) -> String {
        let mut t = String::from(
            "| fold | seed | trained on | held out | accuracy (95% CI) | sensitivity (95% CI) | specificity (95% CI) | AUC (95% CI) |\n\
             |---:|---:|---:|---:|---|---|---|---|\n",
        );
        for r in &self.folds {
            let p = &r.predictions;
            let _ = writeln!(
                t,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                p.fold,
                p.seed,
                p.train_images,
                p.held_out.len(),
                short(&r.metrics.accuracy),
                short(&r.metrics.sensitivity),
                short(&r.metrics.specificity),
                auc_text(&r.metrics)
            );
        }
        let m = &self.pooled;
        let _ = writeln!(
            t,
            "| **pooled** | | | {} | {} | {} | {} | {} |",
            m.confusion.total(),
            counted(&m.accuracy),
            counted(&m.sensitivity),
            counted(&m.specificity),
            auc_text(m)
        );
        let s = self.across_folds();
        let _ = writeln!(
            t,
            "| mean ± sd | | | | {} | {} | {} | {} |",
            s[0].1.mean_sd(2),
            s[1].1.mean_sd(2),
            s[2].1.mean_sd(2),
            s[3].1.mean_sd(3)
        );
        t
    }

    /// One line: `pooled over 200 images: accuracy 0.84 (95% CI 0.78–0.88, 168 of 200), ...`.
    pub fn pooled_line(&self) -> String {
        let m = &self.pooled;
        format!(
            "pooled over {} images: accuracy {}, sensitivity {}, specificity {}, AUC {}",
            m.confusion.total(),
            m.accuracy,
            m.sensitivity,
            m.specificity,
            auc_text(m)
        )
    }

    /// The per-fold, pooled, mean and sd rows as CSV:
    /// `row,seed,train_images,held_out_images,accuracy,accuracy_low,accuracy_high,sensitivity,…,auc,auc_low,auc_high,final_loss`.
    /// Interval columns are empty on the `mean` and `sd` rows.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from(
            "row,seed,train_images,held_out_images,accuracy,accuracy_low,accuracy_high,\
             sensitivity,sensitivity_low,sensitivity_high,specificity,specificity_low,\
             specificity_high,auc,auc_low,auc_high,final_loss\n",
        );
        let metrics_cols = |m: &BinaryMetrics| {
            let e = |e: &Estimate| format!("{:.6},{:.6},{:.6}", e.value, e.low, e.high);
            let auc = m.auc.map_or(",,".to_string(), |a| {
                format!("{:.6},{:.6},{:.6}", a.value, a.low, a.high)
            });
            format!(
                "{},{},{},{auc}",
                e(&m.accuracy),
                e(&m.sensitivity),
                e(&m.specificity)
            )
        };
        for r in &self.folds {
            let p = &r.predictions;
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{:.6}",
                p.fold,
                p.seed,
                p.train_images,
                p.held_out.len(),
                metrics_cols(&r.metrics),
                r.final_loss()
            );
        }
        let _ = writeln!(
            csv,
            "pooled,,,{},{},",
            self.pooled.confusion.total(),
            metrics_cols(&self.pooled)
        );
        let s = self.across_folds();
        let loss = Spread::of(
            &self
                .folds
                .iter()
                .map(FoldResult::final_loss)
                .collect::<Vec<_>>(),
        );
        for (name, pick) in [("mean", true), ("sd", false)] {
            let v = |x: &Spread| if pick { x.mean } else { x.sd };
            let _ = writeln!(
                csv,
                "{name},,,,{:.6},,,{:.6},,,{:.6},,,{:.6},,,{:.6}",
                v(&s[0].1),
                v(&s[1].1),
                v(&s[2].1),
                v(&s[3].1),
                v(&loss)
            );
        }
        csv
    }

    /// The out-of-fold predictions as CSV, `path,label,fold,probability`, one row per pool
    /// image in pool order (`paths` are the pool's sample paths).
    pub fn predictions_csv(&self, pool: &ImageSet) -> String {
        let mut csv = String::from("path,label,fold,probability\n");
        for (i, s) in pool.samples.iter().enumerate().take(self.labels.len()) {
            let _ = writeln!(
                csv,
                "{},{},{},{:.6}",
                csv_field(&s.path.display().to_string()),
                self.labels[i],
                self.oof_fold[i],
                self.oof_probabilities[i]
            );
        }
        csv
    }

    /// Writes [`CrossValReport::to_csv`] to `path`, atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomically(path, self.to_csv().as_bytes())
    }

    /// Writes [`CrossValReport::predictions_csv`] to `path`, atomically.
    pub fn write_predictions_csv(&self, path: &Path, pool: &ImageSet) -> Result<()> {
        crate::fsutil::write_atomically(path, self.predictions_csv(pool).as_bytes())
    }
}

/// A CSV field, quoted (RFC 4180) when it holds a comma, a quote or a line break: file names
/// may.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// `0.85 (0.71–0.93)`, or `n/a`.
fn short(e: &Estimate) -> String {
    if e.is_defined() {
        format!("{:.2} ({:.2}–{:.2})", e.value, e.low, e.high)
    } else {
        "n/a".into()
    }
}

/// `0.84 (0.78–0.88), 168/200`.
fn counted(e: &Estimate) -> String {
    if e.is_defined() {
        format!("{}, {}/{}", short(e), e.successes, e.total)
    } else {
        "n/a".into()
    }
}

/// `0.931 (0.897–0.962)`, or `n/a`.
fn auc_text(m: &BinaryMetrics) -> String {
    m.auc.map_or("n/a".into(), |a| {
        format!("{:.3} ({:.3}–{:.3})", a.value, a.low, a.high)
    })
}

/// Hears about folds as they start and end, and (as a [`FitObserver`]) about every epoch
/// inside them.
pub trait CrossValObserver: FitObserver {
    /// Before fold `fold` (1-based) of `folds` trains.
    fn fold_start(&mut self, _fold: usize, _folds: usize, _seed: u64) {}
    /// After fold `result.predictions.fold` has been evaluated.
    fn fold_end(&mut self, _result: &FoldResult, _folds: usize) {}
}

impl CrossValObserver for Silent {}

/// Prints one line per fold (or per seed, see [`crate::seeds`]) and nothing per epoch: what the
/// command line and notebooks want for runs of several models.
#[derive(Debug, Default)]
pub struct RunLines;
impl FitObserver for RunLines {}
impl CrossValObserver for RunLines {
    fn fold_end(&mut self, result: &FoldResult, folds: usize) {
        println!("{}", result.line(folds));
    }
}

/// Trains a fresh teaching net on `train` with `config` (its seed seeds the weights too), then
/// evaluates it on `evaluate` (e.g. the held-out fold). `monitor` is evaluated after every epoch,
/// for the log only: nothing is chosen from it.
///
/// Every run gets its own device, whose tensor cache is emptied when the run ends: dfdx 0.13's
/// cache has no `Drop`, so a device dropped with its cache on would leak every cached buffer
/// (about 300 MB per run here), and a 5-fold run would grow past 1.5 GB.
pub fn train_and_evaluate(
    train: &ImageSet,
    monitor: &ImageSet,
    evaluate: &ImageSet,
    config: &FitConfig,
    observer: &mut dyn FitObserver,
) -> Result<(History, SetEvaluation)> {
    /// Empties and turns off the cache when dropped, after everything declared later (the
    /// model, the optimizer state) has been dropped and has returned its buffers to it.
    struct FreeCacheOnDrop(Cpu);
    impl Drop for FreeCacheOnDrop {
        fn drop(&mut self) {
            self.0.disable_cache();
        }
    }
    let dev = FreeCacheOnDrop(Cpu::seed_from_u64(config.seed));
    // Reuse freed buffers between batches, as the command line does.
    dev.0.enable_cache();
    let mut trainer = Trainer::new(build_teaching_net(&dev.0), keras_adam(config.learning_rate));
    let history = fit(&mut trainer, &dev.0, train, monitor, config, observer)?;
    let evaluation = evaluate_set(&trainer.model, &dev.0, evaluate)?;
    Ok((history, evaluation))
}

/// Runs stratified k-fold cross-validation of the recipe `config.fit` on `pool` (labelled):
/// assigns folds with [`stratified_folds`], then for each fold trains a fresh model (seed
/// [`fold_seed`]) on the other folds and predicts the held-out one. `observer` hears about every
/// fold and epoch.
///
/// Errors as [`stratified_folds`] does (too few images of a class for the folds), for an
/// unlabelled pool, and as training does.
pub fn cross_validate(
    pool: &ImageSet,
    config: &CrossValConfig,
    observer: &mut dyn CrossValObserver,
) -> Result<CrossValReport> {
    let labels = labels_of(pool)?;
    let folds = stratified_folds(&labels, config.folds, config.seed)?;
    let mut predictions = Vec::with_capacity(folds.len());
    for (f, held_out) in folds.iter().enumerate() {
        let fold = f + 1;
        let started = Instant::now();
        let seed = fold_seed(config.seed, fold);
        observer.fold_start(fold, folds.len(), seed);
        let train_idx: Vec<usize> = folds
            .iter()
            .enumerate()
            .filter(|&(g, _)| g != f)
            .flat_map(|(_, idx)| idx.iter().copied())
            .collect();
        let train = subset(pool, &train_idx)?;
        let test = subset(pool, held_out)?;
        let fit_config = FitConfig { seed, ..config.fit };
        let (history, eval) = train_and_evaluate(&train, &test, &test, &fit_config, observer)?;
        let fold_predictions = FoldPredictions {
            fold,
            seed,
            train_images: train.len(),
            held_out: held_out.clone(),
            labels: held_out.iter().map(|&i| labels[i]).collect(),
            probabilities: eval.probabilities,
            history,
            elapsed: started.elapsed(),
        };
        let metrics = BinaryMetrics::compute(
            &fold_predictions.probabilities,
            &fold_predictions.labels,
            config.threshold,
            config.seed,
        )?;
        observer.fold_end(
            &FoldResult {
                predictions: fold_predictions.clone(),
                metrics,
            },
            folds.len(),
        );
        predictions.push(fold_predictions);
    }
    CrossValReport::from_folds(predictions, config.threshold, config.seed)
}
