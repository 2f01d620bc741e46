//! How good is the classifier? Accuracy, sensitivity, specificity, precision and the ROC curve,
//! each with a 95% confidence interval.
//!
//! The positive class is [`Label::Hemorrhage`]; an image counts as a hemorrhage call when
//! [`Threshold::call`] says so (its probability is **at or above** the threshold).
//!
//! # Why the intervals matter
//!
//! The head CT data set is small: a validation set of 50 images is typical. With 50 images, one
//! image is **two points of accuracy**, so "0.84" and "0.88" differ by two images, which chance
//! alone easily moves. The Wilson interval says how far the true rate could plausibly be from the
//! one measured: 42 right out of 50 is an accuracy of 0.84, but anything from about 0.71 to 0.92
//! is consistent with it. Two models whose intervals overlap that much have not been shown to
//! differ. Always report the interval and the counts (`42 of 50`), not the rate alone.
//!
//! ```
//! use head_ct::{metrics::BinaryMetrics, Label::{Hemorrhage, Normal}, Threshold};
//!
//! let probabilities = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1];
//! let labels = [Hemorrhage, Hemorrhage, Hemorrhage, Normal, Normal, Normal];
//! let m = BinaryMetrics::compute(&probabilities, &labels, Threshold::DEFAULT).unwrap();
//! assert_eq!(m.confusion.true_positives, 2);
//! assert_eq!(m.accuracy.successes, 4);
//! println!("{m}");
//! ```

use std::fmt;

use rand::{rngs::StdRng, Rng, SeedableRng};

use crate::{
    labels::{Label, Threshold},
    Error, Result,
};

/// The `z` of a two-sided 95% interval: the 97.5th percentile of the standard normal.
pub const Z_95: f64 = 1.959964;

/// Bootstrap resamples that [`BinaryMetrics::compute`] draws for the AUC interval.
pub const DEFAULT_BOOTSTRAP_RESAMPLES: usize = 2000;

/// The seed of every AUC bootstrap that [`BinaryMetrics`] draws: one fixed stream, so the
/// interval depends on the predictions and labels alone. The same model on the same images
/// gets the same interval from `train`, `evaluate`, cross-validation and the notebooks.
pub const BOOTSTRAP_SEED: u64 = 0;

/// The Wilson score interval for a proportion: `successes` out of `n`, with `z` standard errors
/// (use [`Z_95`] for 95%). Returns `(low, high)`, both within `[0, 1]`.
///
/// Unlike the textbook "p ± z·√(p(1−p)/n)" interval, Wilson's stays inside `[0, 1]` and does not
/// collapse to a single point at 0 of `n` or `n` of `n`: 50 of 50 right still leaves room for a
/// true accuracy of about 0.93.
///
/// With `n = 0` there is no evidence at all, and the interval is the whole range `(0, 1)` (the
/// limit of Wilson's formula). `successes` larger than `n` is clamped to `n`; a negative or NaN
/// `z` is treated as 0.
pub fn wilson_interval(successes: usize, n: usize, z: f64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let z = if z.is_nan() { 0.0 } else { z.abs() };
    let n_f = n as f64;
    let p = successes.min(n) as f64 / n_f;
    let z2 = z * z;
    let denominator = 1.0 + z2 / n_f;
    let centre = (p + z2 / (2.0 * n_f)) / denominator;
    let half_width = z * (p * (1.0 - p) / n_f + z2 / (4.0 * n_f * n_f)).sqrt() / denominator;
    // At 0 of n and n of n the bound is exactly 0 or 1; say so without rounding error.
    let low = if successes == 0 {
        0.0
    } else {
        (centre - half_width).max(0.0)
    };
    let high = if successes >= n {
        1.0
    } else {
        (centre + half_width).min(1.0)
    };
    (low, high)
}

/// Counts of the four outcomes of a yes/no decision, with hemorrhage as "positive".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct ConfusionMatrix {
    /// Hemorrhage, called hemorrhage.
    pub true_positives: usize,
    /// Hemorrhage, called normal: a **missed** hemorrhage.
    pub false_negatives: usize,
    /// Normal, called hemorrhage: a **false alarm**.
    pub false_positives: usize,
    /// Normal, called normal.
    pub true_negatives: usize,
}

impl ConfusionMatrix {
    /// Counts the outcomes of calling each image with [`Threshold::call`].
    ///
    /// Errors if the lengths differ or a probability is NaN.
    pub fn from_probabilities(
        probabilities: &[f32],
        labels: &[Label],
        threshold: Threshold,
    ) -> Result<Self> {
        validate(probabilities, labels)?;
        let mut m = Self::default();
        for (&p, &y) in probabilities.iter().zip(labels) {
            match (y.is_hemorrhage(), threshold.calls_hemorrhage(p)) {
                (true, true) => m.true_positives += 1,
                (true, false) => m.false_negatives += 1,
                (false, true) => m.false_positives += 1,
                (false, false) => m.true_negatives += 1,
            }
        }
        Ok(m)
    }

    /// Number of images counted.
    pub fn total(&self) -> usize {
        self.true_positives + self.false_negatives + self.false_positives + self.true_negatives
    }

    /// Images that really show a hemorrhage.
    pub fn positives(&self) -> usize {
        self.true_positives + self.false_negatives
    }

    /// Images that are really normal.
    pub fn negatives(&self) -> usize {
        self.false_positives + self.true_negatives
    }

    /// Images classified correctly.
    pub fn correct(&self) -> usize {
        self.true_positives + self.true_negatives
    }
}

/// A proportion measured on a finite sample: `successes` of `total`, with its Wilson 95%
/// interval `[low, high]`.
///
/// When `total` is 0 the proportion is not defined (for example the sensitivity of a set with no
/// hemorrhage): then `value` is 0, the interval is `(0, 1)` and [`Estimate::is_defined`] is
/// false; the `Display` form says "not defined".
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// `successes / total` (0 when `total` is 0).
    pub value: f64,
    /// Lower end of the 95% Wilson interval.
    pub low: f64,
    /// Upper end of the 95% Wilson interval.
    pub high: f64,
    /// The numerator, e.g. images classified correctly.
    pub successes: usize,
    /// The denominator, e.g. images classified.
    pub total: usize,
}

impl Estimate {
    /// `successes` of `total` with a 95% Wilson interval.
    pub fn new(successes: usize, total: usize) -> Self {
        let successes = successes.min(total);
        let (low, high) = wilson_interval(successes, total, Z_95);
        let value = if total == 0 {
            0.0
        } else {
            successes as f64 / total as f64
        };
        Self {
            value,
            low,
            high,
            successes,
            total,
        }
    }

    /// False when there was nothing to count (`total == 0`).
    pub fn is_defined(&self) -> bool {
        self.total > 0
    }
}

/// `0.84 (95% CI 0.71–0.92, 42 of 50)`, or `not defined (0 of 0)`.
impl fmt::Display for Estimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.is_defined() {
            return write!(f, "not defined (0 of 0)");
        }
        write!(
            f,
            "{:.2} (95% CI {:.2}–{:.2}, {} of {})",
            self.value, self.low, self.high, self.successes, self.total
        )
    }
}

/// One point of a ROC curve: calling every image with probability `>= threshold` hemorrhage
/// gives this false positive rate and true positive rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RocPoint {
    /// False positive rate, `1 − specificity`: the share of normal images called hemorrhage.
    pub fpr: f64,
    /// True positive rate, the sensitivity: the share of hemorrhages found.
    pub tpr: f64,
    /// The threshold that gives this point; `+∞` for the first point (nothing is called
    /// hemorrhage).
    pub threshold: f32,
}

/// The ROC curve: one point per distinct probability, from the highest threshold to the lowest.
///
/// The curve starts at `(0, 0)` (threshold `+∞`) and ends at `(1, 1)` (the lowest probability);
/// both rates never decrease along it. Images with **tied** probabilities cross the threshold
/// together, so a tie between a hemorrhage and a normal image is one diagonal step, not two
/// right-angle steps whose order would depend on how the images were sorted.
///
/// Errors if the inputs are invalid (see [`ConfusionMatrix::from_probabilities`]) or if either
/// class is missing: a ROC curve needs at least one hemorrhage and one normal image.
pub fn roc_curve(probabilities: &[f32], labels: &[Label]) -> Result<Vec<RocPoint>> {
    let groups = ScoreGroups::new(probabilities, labels)?;
    let (pos, neg) = (groups.positives as f64, groups.negatives as f64);
    let mut points = Vec::with_capacity(groups.scores.len() + 1);
    points.push(RocPoint {
        fpr: 0.0,
        tpr: 0.0,
        threshold: f32::INFINITY,
    });
    let (mut tp, mut fp) = (0usize, 0usize);
    // Groups are in ascending order of score; the curve goes from the highest threshold down.
    for i in (0..groups.scores.len()).rev() {
        tp += groups.pos_counts[i];
        fp += groups.neg_counts[i];
        points.push(RocPoint {
            fpr: fp as f64 / neg,
            tpr: tp as f64 / pos,
            threshold: groups.scores[i],
        });
    }
    Ok(points)
}

/// Area under a ROC curve by the trapezoid rule. With the points of [`roc_curve`] this equals
/// [`mann_whitney_auc`].
pub fn auc_from_roc(points: &[RocPoint]) -> f64 {
    points
        .windows(2)
        .map(|w| (w[1].fpr - w[0].fpr) * (w[1].tpr + w[0].tpr) / 2.0)
        .sum()
}

/// The AUC as a probability: pick one hemorrhage image and one normal image at random; the AUC
/// is the chance that the hemorrhage gets the higher probability, ties counting one half (the
/// Mann-Whitney U statistic divided by `positives × negatives`). 0.5 is chance, 1.0 is a
/// perfect ranking.
///
/// Errors like [`roc_curve`].
pub fn mann_whitney_auc(probabilities: &[f32], labels: &[Label]) -> Result<f64> {
    let groups = ScoreGroups::new(probabilities, labels)?;
    Ok(groups.auc(&groups.pos_counts, &groups.neg_counts))
}

/// A 95% bootstrap percentile interval for the AUC.
///
/// Each of the `resamples` rounds draws, with replacement, as many hemorrhage images as there
/// are from the hemorrhage images, and as many normal images as there are from the normal ones
/// (stratified, so every round has both classes), and computes the AUC; the interval is the
/// 2.5th and 97.5th percentiles of those AUCs. The same `seed` gives the same interval.
///
/// Errors like [`roc_curve`], and if `resamples` is 0.
pub fn bootstrap_auc_interval(
    probabilities: &[f32],
    labels: &[Label],
    resamples: usize,
    seed: u64,
) -> Result<(f64, f64)> {
    if resamples == 0 {
        return Err(Error::InvalidInput(
            "the bootstrap needs at least one resample".into(),
        ));
    }
    let groups = ScoreGroups::new(probabilities, labels)?;
    // Which score group each hemorrhage / normal image belongs to.
    let mut pos_members = Vec::with_capacity(groups.positives);
    let mut neg_members = Vec::with_capacity(groups.negatives);
    for (g, (&p, &n)) in groups.pos_counts.iter().zip(&groups.neg_counts).enumerate() {
        pos_members.extend(std::iter::repeat_n(g, p));
        neg_members.extend(std::iter::repeat_n(g, n));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pos_counts = vec![0usize; groups.scores.len()];
    let mut neg_counts = vec![0usize; groups.scores.len()];
    let mut aucs = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        pos_counts.iter_mut().for_each(|c| *c = 0);
        neg_counts.iter_mut().for_each(|c| *c = 0);
        for _ in 0..pos_members.len() {
            pos_counts[pos_members[rng.gen_range(0..pos_members.len())]] += 1;
        }
        for _ in 0..neg_members.len() {
            neg_counts[neg_members[rng.gen_range(0..neg_members.len())]] += 1;
        }
        aucs.push(groups.auc(&pos_counts, &neg_counts));
    }
    aucs.sort_by(f64::total_cmp);
    Ok((percentile(&aucs, 0.025), percentile(&aucs, 0.975)))
}

/// The AUC with its bootstrap interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AucEstimate {
    /// Area under the ROC curve (= the Mann-Whitney probability).
    pub value: f64,
    /// 2.5th percentile of the bootstrap AUCs.
    pub low: f64,
    /// 97.5th percentile of the bootstrap AUCs.
    pub high: f64,
    /// Number of bootstrap resamples behind the interval.
    pub resamples: usize,
}

/// `0.91 (95% bootstrap CI 0.82–0.97)`.
impl fmt::Display for AucEstimate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2} (95% bootstrap CI {:.2}–{:.2})",
            self.value, self.low, self.high
        )
    }
}

/// Everything about a set of predictions at one threshold, with 95% intervals.
///
/// `Display` (or [`BinaryMetrics::summary`]) prints a plain-language report.
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryMetrics {
    /// The call rule the counts were made with.
    pub threshold: Threshold,
    /// The four counts.
    pub confusion: ConfusionMatrix,
    /// Images classified correctly, of all images.
    pub accuracy: Estimate,
    /// Hemorrhages found, of all hemorrhages (recall, true positive rate). Not defined without
    /// hemorrhage images.
    pub sensitivity: Estimate,
    /// Normal images cleared, of all normal images (true negative rate). Not defined without
    /// normal images.
    pub specificity: Estimate,
    /// Hemorrhage calls that were right, of all hemorrhage calls (positive predictive value).
    /// Not defined when nothing was called hemorrhage.
    pub precision: Estimate,
    /// The ROC curve (see [`roc_curve`]); empty when one class is missing.
    pub roc: Vec<RocPoint>,
    /// The AUC with its bootstrap interval; `None` when one class is missing.
    pub auc: Option<AucEstimate>,
}

impl BinaryMetrics {
    /// Computes every metric for `probabilities` (of hemorrhage) against `labels` at
    /// `threshold`. The AUC interval uses [`DEFAULT_BOOTSTRAP_RESAMPLES`] resamples drawn from
    /// [`BOOTSTRAP_SEED`].
    ///
    /// Errors if there are no predictions, the lengths differ, or a probability is NaN. A set
    /// with a single class is fine: the rates that need the missing class are "not defined" and
    /// there is no ROC curve or AUC.
    pub fn compute(probabilities: &[f32], labels: &[Label], threshold: Threshold) -> Result<Self> {
        Self::compute_with_resamples(
            probabilities,
            labels,
            threshold,
            DEFAULT_BOOTSTRAP_RESAMPLES,
        )
    }

    /// [`BinaryMetrics::compute`] with a chosen number of bootstrap resamples (at least 1).
    pub fn compute_with_resamples(
        probabilities: &[f32],
        labels: &[Label],
        threshold: Threshold,
        resamples: usize,
    ) -> Result<Self> {
        if probabilities.is_empty() && labels.is_empty() {
            return Err(Error::InvalidInput(
                "there are no predictions to evaluate".into(),
            ));
        }
        let confusion = ConfusionMatrix::from_probabilities(probabilities, labels, threshold)?;
        let c = &confusion;
        let (roc, auc) = if c.positives() > 0 && c.negatives() > 0 {
            let roc = roc_curve(probabilities, labels)?;
            let value = auc_from_roc(&roc);
            let (low, high) =
                bootstrap_auc_interval(probabilities, labels, resamples, BOOTSTRAP_SEED)?;
            (
                roc,
                Some(AucEstimate {
                    value,
                    low,
                    high,
                    resamples,
                }),
            )
        } else {
            (Vec::new(), None)
        };
        Ok(Self {
            threshold,
            confusion,
            accuracy: Estimate::new(c.correct(), c.total()),
            sensitivity: Estimate::new(c.true_positives, c.positives()),
            specificity: Estimate::new(c.true_negatives, c.negatives()),
            precision: Estimate::new(c.true_positives, c.true_positives + c.false_positives),
            roc,
            auc,
        })
    }

    /// A plain-language report, one metric a line, e.g.
    ///
    /// ```text
    /// 50 images (25 hemorrhage, 25 normal), called hemorrhage at probability >= 0.50
    /// accuracy     0.84 (95% CI 0.71–0.92, 42 of 50): images classified correctly
    /// sensitivity  0.88 (95% CI 0.70–0.96, 22 of 25): hemorrhages found (3 missed)
    /// specificity  0.80 (95% CI 0.61–0.91, 20 of 25): normal images cleared (5 false alarms)
    /// precision    0.81 (95% CI 0.63–0.92, 22 of 27): hemorrhage calls that were right
    /// ROC AUC      0.91 (95% bootstrap CI 0.82–0.97): chance that a hemorrhage scores above a normal image
    /// ```
    pub fn summary(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for BinaryMetrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.confusion;
        writeln!(
            f,
            "{} images ({} hemorrhage, {} normal), called hemorrhage at probability >= {:.2}",
            c.total(),
            c.positives(),
            c.negatives(),
            self.threshold.value()
        )?;
        writeln!(
            f,
            "accuracy     {}: images classified correctly",
            self.accuracy
        )?;
        if self.sensitivity.is_defined() {
            writeln!(
                f,
                "sensitivity  {}: hemorrhages found ({} missed)",
                self.sensitivity, c.false_negatives
            )?;
        } else {
            writeln!(f, "sensitivity  not defined: no hemorrhage images")?;
        }
        if self.specificity.is_defined() {
            writeln!(
                f,
                "specificity  {}: normal images cleared ({} false {})",
                self.specificity,
                c.false_positives,
                if c.false_positives == 1 {
                    "alarm"
                } else {
                    "alarms"
                }
            )?;
        } else {
            writeln!(f, "specificity  not defined: no normal images")?;
        }
        if self.precision.is_defined() {
            writeln!(
                f,
                "precision    {}: hemorrhage calls that were right",
                self.precision
            )?;
        } else {
            writeln!(f, "precision    not defined: nothing was called hemorrhage")?;
        }
        match &self.auc {
            Some(auc) => write!(
                f,
                "ROC AUC      {auc}: chance that a hemorrhage scores above a normal image"
            ),
            None => write!(
                f,
                "ROC AUC      not defined: needs both hemorrhage and normal images"
            ),
        }
    }
}

/// Checks lengths and probabilities: as many probabilities as labels, none NaN (also what
/// `operating_point::choose_threshold` checks first).
pub(crate) fn validate(probabilities: &[f32], labels: &[Label]) -> Result<()> {
    if probabilities.len() != labels.len() {
        return Err(Error::InvalidInput(format!(
            "{} probabilities but {} labels",
            probabilities.len(),
            labels.len()
        )));
    }
    if let Some(i) = probabilities.iter().position(|p| p.is_nan()) {
        return Err(Error::InvalidInput(format!(
            "the probability at index {i} is NaN"
        )));
    }
    Ok(())
}

/// The distinct scores in ascending order, with how many hemorrhage and normal images have
/// each. Both the ROC curve and the (bootstrap) AUC work on these groups, which is what makes
/// ties come out right.
struct ScoreGroups {
    scores: Vec<f32>,
    pos_counts: Vec<usize>,
    neg_counts: Vec<usize>,
    positives: usize,
    negatives: usize,
}

impl ScoreGroups {
    fn new(probabilities: &[f32], labels: &[Label]) -> Result<Self> {
        validate(probabilities, labels)?;
        let positives = labels.iter().filter(|y| y.is_hemorrhage()).count();
        let negatives = labels.len() - positives;
        if positives == 0 || negatives == 0 {
            return Err(Error::InvalidInput(format!(
                "the ROC curve and its AUC need both classes, but there are {positives} hemorrhage and {negatives} normal images"
            )));
        }
        let mut order: Vec<usize> = (0..probabilities.len()).collect();
        order.sort_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
        let mut groups = Self {
            scores: Vec::new(),
            pos_counts: Vec::new(),
            neg_counts: Vec::new(),
            positives,
            negatives,
        };
        for i in order {
            let p = probabilities[i];
            // -0.0 and 0.0 are the same score.
            if groups.scores.last() != Some(&p) {
                groups.scores.push(p);
                groups.pos_counts.push(0);
                groups.neg_counts.push(0);
            }
            let last = groups.scores.len() - 1;
            if labels[i].is_hemorrhage() {
                groups.pos_counts[last] += 1;
            } else {
                groups.neg_counts[last] += 1;
            }
        }
        Ok(groups)
    }

    /// Mann-Whitney AUC for the given per-group counts (the original ones, or a resample's).
    fn auc(&self, pos_counts: &[usize], neg_counts: &[usize]) -> f64 {
        let (mut negatives_below, mut wins) = (0usize, 0.0f64);
        for (&p, &n) in pos_counts.iter().zip(neg_counts) {
            wins += p as f64 * (negatives_below as f64 + 0.5 * n as f64);
            negatives_below += n;
        }
        let positives: usize = pos_counts.iter().sum();
        wins / (positives as f64 * negatives_below as f64)
    }
}

/// Linear-interpolated percentile `q` (in `[0, 1]`) of sorted, non-empty `values`.
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
    let fraction = rank - below as f64;
    sorted[below] + (sorted[above] - sorted[below]) * fraction
}
