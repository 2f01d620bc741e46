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
//! - [`stratified_folds`]: the fold assignment (pure, seeded, stratified);
//!   [`kaggle_pool`](super::kaggle_pool) / [`seed_layout_pool`](super::seed_layout_pool): the
//!   labelled images to cross-validate.
//! - [`cross_validate`]: train and evaluate one model per fold; [`CrossValReport`] holds the
//!   per-fold and pooled metrics, prints a table and writes CSV files.
//!
//! # Seeds
//! The fold assignment is drawn from `seed`; fold `f` (1-based) trains a fresh model whose
//! weights, batch order and augmentation come from [`fold_seed`]`(seed, f)` = `seed × 1000 + f`,
//! so no two folds (and no two base seeds, for fewer than 1000 folds) share a model seed.
//!
//! # No leak from the held-out fold
//! The held-out fold never influences training: it is passed to [`train_model`] only so the
//! per-epoch log shows its loss, and nothing (no epoch count, no weights) is chosen from it. A
//! recipe that wants early stopping must carve its own validation set out of the training folds.
//!
//! ```no_run
//! use head_ct::{data::phantoms::phantom_seed_data, experiments::*};
//! use head_ct::training::{observer::ModelLines, Recipe};
//!
//! let pool = seed_layout_pool(&phantom_seed_data(1), false)?;
//! let recipe = Recipe { epochs: 3, ..Recipe::TEACHING };
//! let config = CrossValConfig { folds: 3, recipe, ..CrossValConfig::default() };
//! println!("{}", config.sentence());
//! let report = cross_validate(&pool, &config, &mut ModelLines)?;
//! println!("{}", report.table());
//! # Ok::<(), head_ct::Error>(())
//! ```
//!
//! In a notebook, make the report the last expression of a cell: it shows as an HTML table
//! ([`CrossValReport::evcxr_display`]).

use std::{fmt::Write as _, path::Path, time::Duration, time::Instant};

use super::{fold_seed, stratified_folds, subset, Spread, DEFAULT_FOLDS};
use crate::{
    calibration::{CalibrationMode, CalibrationReport, Interval, DEFAULT_BINS},
    data::ImageSet,
    labels::{Label, Threshold},
    metrics::{BinaryMetrics, ConfusionMatrix, Estimate},
    operating_point::{check_call_rule_data, fit_call_rule, CallRule, TargetSensitivity},
    table::{Align, Cell, Report, Table},
    text::csv_field,
    training::{evaluate_set, observer::Observer, train_model, History, Recipe},
    Error, Result,
};

/// Settings of [`cross_validate`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CrossValConfig {
    /// Number of folds `k` (at least 2).
    pub folds: usize,
    /// Seeds the fold assignment and the per-fold models ([`fold_seed`]).
    pub seed: u64,
    /// The training recipe of every fold; its threshold makes the calls.
    pub recipe: Recipe,
}

impl CrossValConfig {
    /// The settings as a sentence: `3-fold cross-validation, fold assignment seed 1 (fold
    /// models seeded 1001 to 1003), each fold trained with: 10 epochs, batch size 10, ...`
    /// (the rest is [`Recipe::sentence`]).
    pub fn sentence(&self) -> String {
        let models = match self.folds {
            0 => String::new(),
            1 => format!(" (the fold model seeded {})", fold_seed(self.seed, 1)),
            k => format!(
                " (fold models seeded {} to {})",
                fold_seed(self.seed, 1),
                fold_seed(self.seed, k)
            ),
        };
        format!(
            "{}-fold cross-validation, fold assignment seed {}{models}, each fold trained with: {}",
            self.folds,
            self.seed,
            self.recipe.sentence()
        )
    }
}

impl Default for CrossValConfig {
    /// 5 folds, seed 1, the teaching recipe.
    fn default() -> Self {
        Self {
            folds: DEFAULT_FOLDS,
            seed: 1,
            recipe: Recipe::TEACHING,
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
    /// Label per held-out image.
    pub labels: Vec<Label>,
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
    pub labels: Vec<Label>,
    /// The fold (1-based) that held out each pool image, in pool order.
    pub oof_fold: Vec<usize>,
    pub threshold: Threshold,
    /// Temperature scaling and chosen thresholds, per fold, fitted without the fold's images
    /// ([`CrossValReport::calibrate`]); `None` until then.
    pub calibration: Option<CrossValCalibration>,
}

/// How fold `k`'s call rule is fitted without fold `k`'s images, as the output says it.
pub const CROSS_FITTING: &str = "fold k's temperature (and threshold) are fitted on the \
    out-of-fold predictions of the other folds, each made by a model that never saw those \
    images; fold k's images take no part, so the pooled figures after calibration are held out";

/// The images fold `k`'s call rule is fitted on, as records and errors name them.
const OTHER_FOLDS: &str = "out-of-fold images of the other folds";

/// One fold's call rule and what it does on the fold's held-out images.
#[derive(Debug, Clone, PartialEq)]
pub struct FoldCalibration {
    /// 1-based.
    pub fold: usize,
    /// Temperature and threshold, fitted on the other folds' out-of-fold predictions.
    pub rule: CallRule,
    /// Calibration of the fold's held-out raw probabilities, and of the calibrated ones.
    pub before: CalibrationReport,
    pub after: CalibrationReport,
    /// Counts on the held-out images at the rule's threshold (on calibrated probabilities).
    pub confusion: ConfusionMatrix,
}

/// Calibration measured on held-out images, before and after temperature scaling, and the
/// chosen thresholds checked there.
#[derive(Debug, Clone, PartialEq)]
pub struct CrossValCalibration {
    pub folds: Vec<FoldCalibration>,
    /// The calibrated out-of-fold probability of every pool image (its fold's temperature; the
    /// raw one when the fold is uncalibrated), in pool order.
    pub calibrated: Vec<f32>,
    /// The threshold each pool image was called at (its fold's), in pool order.
    pub thresholds: Vec<Threshold>,
    /// Pooled calibration of the raw and of the calibrated out-of-fold probabilities.
    pub pooled_before: CalibrationReport,
    pub pooled_after: CalibrationReport,
    /// The target sensitivity the thresholds were chosen for, if any.
    pub target: Option<TargetSensitivity>,
    /// Pooled counts over all images, each called at its fold's threshold.
    pub confusion: ConfusionMatrix,
}

impl CrossValCalibration {
    /// Pooled held-out sensitivity at the chosen thresholds, with its Wilson interval.
    pub fn sensitivity(&self) -> Estimate {
        Estimate::new(self.confusion.true_positives, self.confusion.positives())
    }

    /// Pooled held-out specificity at the chosen thresholds, with its Wilson interval.
    pub fn specificity(&self) -> Estimate {
        Estimate::new(self.confusion.true_negatives, self.confusion.negatives())
    }

    /// The pooled findings in plain words, several lines: what the temperature did to the
    /// held-out Brier score, NLL and ECE, and, with a target, the sensitivity asked and achieved.
    pub fn summary(&self) -> String {
        let (b, a) = (&self.pooled_before, &self.pooled_after);
        let temps: Vec<String> = self
            .folds
            .iter()
            .map(|f| {
                f.rule
                    .temperature()
                    .map_or("none".into(), |t| t.to_string())
            })
            .collect();
        let mut s = format!(
            "Calibration on the {} held-out images ({CROSS_FITTING}). Temperatures per fold: {}.\n\
             Brier score {} raw → {} calibrated\n\
             NLL         {} raw → {} calibrated\n\
             ECE         {} raw → {} calibrated ({} equal-width confidence bins)",
            b.images,
            temps.join(", "),
            b.brier,
            a.brier,
            b.nll,
            a.nll,
            b.ece,
            a.ece,
            b.bins
        );
        if let Some(target) = self.target {
            let thresholds: Vec<String> = self
                .folds
                .iter()
                .map(|f| format!("{:.3}", f.rule.threshold.value()))
                .collect();
            s.push_str(&format!(
                "\nThresholds chosen for sensitivity ≥ {target} on the other folds: {}.\n\
                 Held out, at those thresholds: sensitivity {} (asked: {target}), specificity {}.",
                thresholds.join(", "),
                self.sensitivity(),
                self.specificity()
            ));
        }
        s
    }

    /// Per fold and pooled, before and after: `row,temperature,threshold,brier,brier_low,
    /// brier_high,calibrated_brier,…,nll,…,ece,…,sensitivity,specificity`, where the `_low` and
    /// `_high` columns are the bootstrap interval.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from(
            "row,temperature,threshold,images,brier,brier_low,brier_high,calibrated_brier,\
             calibrated_brier_low,calibrated_brier_high,reliability,resolution,uncertainty,\
             calibrated_reliability,calibrated_resolution,nll,nll_low,nll_high,calibrated_nll,\
             calibrated_nll_low,calibrated_nll_high,ece,ece_low,ece_high,calibrated_ece,\
             calibrated_ece_low,calibrated_ece_high,sensitivity,specificity\n",
        );
        let i = |x: &Interval| format!("{:.6},{:.6},{:.6}", x.value, x.low, x.high);
        let cols = |b: &CalibrationReport, a: &CalibrationReport| {
            format!(
                "{},{},{},{:.6},{:.6},{:.6},{:.6},{:.6},{},{},{},{}",
                b.images,
                i(&b.brier),
                i(&a.brier),
                b.reliability.value,
                b.resolution.value,
                b.uncertainty.value,
                a.reliability.value,
                a.resolution.value,
                i(&b.nll),
                i(&a.nll),
                i(&b.ece),
                i(&a.ece)
            )
        };
        let rate = |e: Estimate| {
            if e.is_defined() {
                format!("{:.6}", e.value)
            } else {
                String::new()
            }
        };
        for f in &self.folds {
            let _ = writeln!(
                csv,
                "{},{},{},{},{},{}",
                f.fold,
                f.rule
                    .temperature()
                    .map_or(String::new(), |t| format!("{:.6}", t.value())),
                f.rule.threshold,
                cols(&f.before, &f.after),
                rate(Estimate::new(
                    f.confusion.true_positives,
                    f.confusion.positives()
                )),
                rate(Estimate::new(
                    f.confusion.true_negatives,
                    f.confusion.negatives()
                ))
            );
        }
        let _ = writeln!(
            csv,
            "pooled,,,{},{},{}",
            cols(&self.pooled_before, &self.pooled_after),
            rate(self.sensitivity()),
            rate(self.specificity())
        );
        csv
    }

    /// Writes [`CrossValCalibration::to_csv`] to `path`, atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomically(path, self.to_csv().as_bytes())
    }
}

impl CrossValReport {
    /// Computes per-fold and pooled metrics from the folds' predictions (pure: no training).
    ///
    /// The pooled metrics are those of the out-of-fold predictions concatenated: accuracy,
    /// sensitivity and specificity with Wilson intervals on the counts over all images, and the
    /// AUC of one ROC curve over all images with a bootstrap interval. (Pooling
    /// compares probabilities from different models on one scale; the per-fold AUCs and their
    /// spread show whether that hides anything.)
    ///
    /// Errors if the folds are empty, a fold's lengths disagree, or the held-out indices are not
    /// each of `0..n` exactly once.
    pub fn from_folds(folds: Vec<FoldPredictions>, threshold: Threshold) -> Result<Self> {
        if folds.is_empty() {
            return Err(Error::InvalidInput("no folds to report".into()));
        }
        let n: usize = folds.iter().map(|f| f.held_out.len()).sum();
        let mut oof_probabilities = vec![f32::NAN; n];
        let mut labels = vec![Label::Normal; n];
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
            let metrics = BinaryMetrics::compute(&f.probabilities, &f.labels, threshold)?;
            results.push(FoldResult {
                predictions: f,
                metrics,
            });
        }
        let pooled = BinaryMetrics::compute(&oof_probabilities, &labels, threshold)?;
        Ok(Self {
            folds: results,
            pooled,
            oof_probabilities,
            labels,
            oof_fold,
            threshold,
            calibration: None,
        })
    }

    /// Fits each fold's call rule without that fold's images ([`CROSS_FITTING`]): a temperature
    /// by `mode` and, with a `target`, a threshold ([`fit_call_rule`] on the out-of-fold
    /// predictions of the other folds), then measures them on the fold's held-out images and
    /// pooled ([`CrossValReport::calibration`]). Pure: no training.
    ///
    /// Errors as [`fit_call_rule`] (e.g. too few images in the other folds under
    /// [`CalibrationMode::Temperature`]).
    pub fn calibrate(
        &mut self,
        mode: CalibrationMode,
        target: Option<TargetSensitivity>,
    ) -> Result<()> {
        let n = self.labels.len();
        let mut calibrated = self.oof_probabilities.clone();
        let mut thresholds = vec![self.threshold; n];
        let mut folds = Vec::with_capacity(self.folds.len());
        for r in &self.folds {
            let fold = r.predictions.fold;
            let (others, labels): (Vec<f32>, Vec<Label>) = (0..n)
                .filter(|&i| self.oof_fold[i] != fold)
                .map(|i| (self.oof_probabilities[i], self.labels[i]))
                .unzip();
            let rule = fit_call_rule(&others, &labels, mode, target, self.threshold, OTHER_FOLDS)?;
            let raw = &r.predictions.probabilities;
            let after = rule.reported(raw);
            for (&i, &p) in r.predictions.held_out.iter().zip(&after) {
                calibrated[i] = p;
                thresholds[i] = rule.threshold;
            }
            let y = &r.predictions.labels;
            folds.push(FoldCalibration {
                fold,
                before: CalibrationReport::compute(raw, y, DEFAULT_BINS)?,
                after: CalibrationReport::compute(&after, y, DEFAULT_BINS)?,
                confusion: ConfusionMatrix::from_probabilities(&after, y, rule.threshold)?,
                rule,
            });
        }
        let mut confusion = ConfusionMatrix::default();
        for f in &folds {
            confusion.true_positives += f.confusion.true_positives;
            confusion.false_negatives += f.confusion.false_negatives;
            confusion.false_positives += f.confusion.false_positives;
            confusion.true_negatives += f.confusion.true_negatives;
        }
        self.calibration = Some(CrossValCalibration {
            pooled_before: CalibrationReport::compute(
                &self.oof_probabilities,
                &self.labels,
                DEFAULT_BINS,
            )?,
            pooled_after: CalibrationReport::compute(&calibrated, &self.labels, DEFAULT_BINS)?,
            folds,
            calibrated,
            thresholds,
            target,
            confusion,
        });
        Ok(())
    }

    /// The folds whose training sat at chance ([`History::stuck_at_chance`]), one sentence
    /// each: `fold 3: training sat at chance: ...`. Empty when every fold trained.
    pub fn training_warnings(&self) -> Vec<String> {
        self.folds
            .iter()
            .filter_map(|r| {
                let p = &r.predictions;
                p.history
                    .stuck_at_chance()
                    .map(|w| format!("fold {} (seed {}): {w}", p.fold, p.seed))
            })
            .collect()
    }

    /// Writes [`CrossValReport::training_warnings`] to `path`, one a line, atomically (what
    /// `cross-validate` leaves in its folder, as `training_warnings.txt`, when there are any).
    pub fn write_training_warnings(&self, path: &Path) -> Result<()> {
        let mut text = self.training_warnings().join("\n");
        text.push('\n');
        crate::fsutil::write_atomically(path, text.as_bytes())
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

    /// Shows the table as an HTML table in a Jupyter notebook ([`Report::evcxr_display`]);
    /// inherent so that evcxr finds it on a cell's last expression without the trait in scope.
    pub fn evcxr_display(&self) {
        Report::evcxr_display(self);
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

    /// The out-of-fold predictions as CSV,
    /// `path,label,fold,probability,calibrated_probability,threshold,call`, one row per pool
    /// image in pool order (`paths` are the pool's sample paths): `probability` is the fold
    /// model's raw output, `calibrated_probability` its fold's calibrated one (empty before
    /// [`CrossValReport::calibrate`] or for an uncalibrated fold), `threshold` the one its
    /// call used and `call` `hemorrhage` or `normal`. Every figure can be recomputed from it.
    pub fn predictions_csv(&self, pool: &ImageSet) -> String {
        let mut csv =
            String::from("path,label,fold,probability,calibrated_probability,threshold,call\n");
        for (i, s) in pool.samples.iter().enumerate().take(self.labels.len()) {
            let (calibrated, threshold) = match &self.calibration {
                Some(c) => {
                    let fold = c.folds.iter().find(|f| f.fold == self.oof_fold[i]);
                    let calibrated = fold
                        .filter(|f| f.rule.calibration.is_some())
                        .map(|_| c.calibrated[i]);
                    (calibrated, c.thresholds[i])
                }
                None => (None, self.threshold),
            };
            let reported = calibrated.unwrap_or(self.oof_probabilities[i]);
            let _ = writeln!(
                csv,
                "{},{},{},{:.6},{},{},{}",
                csv_field(&s.path.display().to_string()),
                self.labels[i].flag(),
                self.oof_fold[i],
                self.oof_probabilities[i],
                calibrated.map_or(String::new(), |c| format!("{c:.6}")),
                threshold,
                threshold.call(reported)
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

impl Report for CrossValReport {
    /// One row per fold with 95% intervals, then the pooled row (counts over all images, in
    /// bold) and mean ± sd across folds; the command line prints it as Markdown, a notebook
    /// shows it as HTML.
    fn table(&self) -> Table {
        let mut t = Table::new([
            ("fold", Align::Right),
            ("seed", Align::Right),
            ("trained on", Align::Right),
            ("held out", Align::Right),
            ("accuracy (95% CI)", Align::Left),
            ("sensitivity (95% CI)", Align::Left),
            ("specificity (95% CI)", Align::Left),
            ("AUC (95% CI)", Align::Left),
        ])
        .with_caption(format!(
            "{}-fold cross-validation at threshold {}: each fold's model judged on the images \
             it did not train on, then all held-out predictions pooled, then the mean ± sd of \
             the folds.",
            self.folds.len(),
            self.threshold
        ));
        for r in &self.folds {
            let p = &r.predictions;
            t.row([
                p.fold.to_string(),
                p.seed.to_string(),
                p.train_images.to_string(),
                p.held_out.len().to_string(),
                short(&r.metrics.accuracy),
                short(&r.metrics.sensitivity),
                short(&r.metrics.specificity),
                auc_text(&r.metrics),
            ]);
        }
        let m = &self.pooled;
        t.row([
            Cell::strong("pooled"),
            Cell::default(),
            Cell::default(),
            m.confusion.total().to_string().into(),
            counted(&m.accuracy).into(),
            counted(&m.sensitivity).into(),
            counted(&m.specificity).into(),
            auc_text(m).into(),
        ]);
        let s = self.across_folds();
        t.row([
            "mean ± sd".to_string(),
            String::new(),
            String::new(),
            String::new(),
            s[0].1.mean_sd(2),
            s[1].1.mean_sd(2),
            s[2].1.mean_sd(2),
            s[3].1.mean_sd(3),
        ]);
        t
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

/// Runs stratified k-fold cross-validation of `config.recipe` on `pool` (labelled): assigns
/// folds with [`stratified_folds`], then for each fold trains a fresh model (seed
/// [`fold_seed`]) on the other folds with [`train_model`] and predicts the held-out one.
/// `observer` hears about every fold (one line each) and every epoch.
///
/// Errors as [`stratified_folds`] does (too few images of a class for the folds), for an
/// unlabelled pool, and as training does.
pub fn cross_validate(
    pool: &ImageSet,
    config: &CrossValConfig,
    observer: &mut dyn Observer,
) -> Result<CrossValReport> {
    let labels = pool.known_labels()?;
    let folds = stratified_folds(&labels, config.folds, config.seed)?;
    let threshold = config.recipe.threshold;
    let recipe = &config.recipe;
    let calibrates =
        recipe.calibration != CalibrationMode::None || recipe.target_sensitivity.is_some();
    if calibrates {
        // Each fold's rule is fitted on the other folds: check them before any training.
        for held_out in &folds {
            let others: Vec<Label> = (0..labels.len())
                .filter(|i| !held_out.contains(i))
                .map(|i| labels[i])
                .collect();
            check_call_rule_data(
                &others,
                recipe.calibration,
                recipe.target_sensitivity,
                OTHER_FOLDS,
            )?;
        }
    }
    let mut predictions = Vec::with_capacity(folds.len());
    for (f, held_out) in folds.iter().enumerate() {
        let fold = f + 1;
        let started = Instant::now();
        let seed = fold_seed(config.seed, fold);
        observer.model_start(fold, folds.len(), seed);
        let train_idx: Vec<usize> = folds
            .iter()
            .enumerate()
            .filter(|&(g, _)| g != f)
            .flat_map(|(_, idx)| idx.iter().copied())
            .collect();
        let train = subset(pool, &train_idx)?;
        let test = subset(pool, held_out)?;
        // The held-out fold is the per-epoch monitor, for the log only.
        let trained = train_model(&train, &test, &config.recipe, seed, observer)?;
        let eval = evaluate_set(&trained.model, &trained.dev, &test, threshold)?;
        let fold_predictions = FoldPredictions {
            fold,
            seed,
            train_images: train.len(),
            held_out: held_out.clone(),
            labels: held_out.iter().map(|&i| labels[i]).collect(),
            probabilities: eval.probabilities,
            history: trained.history.clone(),
            elapsed: started.elapsed(),
        };
        drop(trained);
        let metrics = BinaryMetrics::compute(
            &fold_predictions.probabilities,
            &fold_predictions.labels,
            threshold,
        )?;
        let result = FoldResult {
            predictions: fold_predictions,
            metrics,
        };
        let mut line = result.line(folds.len());
        if let Some(warning) = result.predictions.history.stuck_at_chance() {
            line.push_str(&format!("\n  WARNING (fold {fold}): {warning}"));
        }
        observer.model_end(&line);
        predictions.push(result.predictions);
    }
    let mut report = CrossValReport::from_folds(predictions, threshold)?;
    if calibrates {
        report.calibrate(recipe.calibration, recipe.target_sensitivity)?;
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_settings_read_as_a_sentence() {
        let config = CrossValConfig {
            folds: 3,
            ..CrossValConfig::default()
        };
        assert_eq!(
            config.sentence(),
            "3-fold cross-validation, fold assignment seed 1 (fold models seeded 1001 to 1003), \
             each fold trained with: 10 epochs, batch size 10, Adam with learning rate 0.001, \
             no augmentation, threshold 0.5"
        );
        let other = CrossValConfig {
            seed: 7,
            recipe: Recipe {
                epochs: 1,
                augment: true,
                ..Recipe::TEACHING
            },
            ..CrossValConfig::default()
        };
        assert!(other
            .sentence()
            .starts_with("5-fold cross-validation, fold assignment seed 7 (fold models seeded 7001 to 7005), each fold trained with: 1 epoch,"));
        assert!(other.sentence().contains("with augmentation"));
    }
}
