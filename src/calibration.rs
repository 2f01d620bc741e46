//! Can we trust the probability? How well the model's probabilities match how often it is right
//! (calibration), and temperature scaling, which corrects them with one number.
//!
//! A model is *calibrated* when, of all the slices it gives a probability of hemorrhage near
//! 0.8, about 80% do show a hemorrhage. Good ranking (a high AUC) does not imply it: a network
//! trained to a small loss tends to be over-confident (Guo et al., "On Calibration of Modern
//! Neural Networks", ICML 2017).
//!
//! - [`brier_score`], [`brier_decomposition`] (Murphy 1973), [`negative_log_likelihood`] and
//!   [`expected_calibration_error`] (Guo et al. 2017): the measures, on probabilities of
//!   hemorrhage and labels;
//! - [`CalibrationReport`]: all of them at once, each with a bootstrap interval, plus the bins
//!   of the reliability diagram ([`crate::plots::reliability_figure`]);
//! - [`Temperature`] and [`fit_temperature`]: temperature scaling, fitted by NLL on images that
//!   took no part in training; [`Calibration`] is what `model.json` records about the fit.
//!
//! ```
//! use head_ct::{calibration::*, Label::{Hemorrhage, Normal}};
//!
//! let p = [0.9, 0.8, 0.3, 0.6, 0.2, 0.1];
//! let y = [Hemorrhage, Hemorrhage, Hemorrhage, Normal, Normal, Normal];
//! // (0.01 + 0.04 + 0.49 + 0.36 + 0.04 + 0.01) / 6
//! assert!((brier_score(&p, &y).unwrap() - 0.95 / 6.0).abs() < 1e-7);
//! ```

use std::fmt;

use rand::{rngs::StdRng, Rng, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::{
    labels::{Label, Threshold},
    metrics::{BOOTSTRAP_SEED, DEFAULT_BOOTSTRAP_RESAMPLES},
    Error, Result,
};

/// Bins of the expected calibration error and the reliability diagram: 15, as Guo et al. 2017.
pub const DEFAULT_BINS: usize = 15;

/// The fewest images a temperature is fitted on. With fewer, one image moves the fitted value a
/// lot, and the "calibrated" probabilities would be as noisy as the raw ones are wrong.
pub const MIN_CALIBRATION_IMAGES: usize = 20;

/// The fewest images of each class a temperature is fitted on: with only one class the NLL
/// falls without end as the probabilities are pushed towards it.
pub const MIN_CALIBRATION_PER_CLASS: usize = 5;

/// Probabilities are kept within `[PROBABILITY_FLOOR, 1 − PROBABILITY_FLOOR]` before a logarithm
/// or a logit is taken: the network's `f32` sigmoid reaches exactly 0 and 1 for scores beyond
/// about ±17, whose log-likelihood would otherwise be infinite.
pub const PROBABILITY_FLOOR: f64 = 1e-7;

/// The lowest and highest temperature [`fit_temperature`] searches. Beyond them the fit is
/// driven by one or two images (a set the model separates perfectly pushes the temperature
/// towards 0), and the result is flagged as on the edge.
pub const TEMPERATURE_RANGE: (f64, f64) = (0.05, 20.0);

/// Checks probabilities (each a number in `[0, 1]`) against labels (the same count, not none).
fn check(probabilities: &[f32], labels: &[Label]) -> Result<()> {
    if probabilities.len() != labels.len() {
        return Err(Error::InvalidInput(format!(
            "{} probabilities but {} labels",
            probabilities.len(),
            labels.len()
        )));
    }
    if probabilities.is_empty() {
        return Err(Error::InvalidInput(
            "calibration needs at least one prediction".into(),
        ));
    }
    if let Some((i, p)) = probabilities
        .iter()
        .enumerate()
        .find(|(_, p)| !(0.0..=1.0).contains(*p))
    {
        return Err(Error::InvalidInput(format!(
            "the probability at index {i} is {p}, not a number between 0 and 1"
        )));
    }
    Ok(())
}

fn clamp(p: f64) -> f64 {
    p.clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
}

/// The Brier score (Brier 1950): the mean of `(p − y)²` over the images, `y` being 1 for a
/// hemorrhage and 0 for a normal slice. 0 is perfect; always saying 0.5 scores 0.25. Unitless.
///
/// Errors if the lengths differ, there is no image, or a probability is not in `[0, 1]`.
pub fn brier_score(probabilities: &[f32], labels: &[Label]) -> Result<f64> {
    check(probabilities, labels)?;
    Ok(probabilities
        .iter()
        .zip(labels)
        .map(|(&p, y)| (f64::from(p) - f64::from(y.target())).powi(2))
        .sum::<f64>()
        / probabilities.len() as f64)
}

/// The negative log-likelihood (the binary cross-entropy, natural log, in nats per image):
/// the mean of `−[y ln p + (1 − y) ln(1 − p)]`, each `p` kept within [`PROBABILITY_FLOOR`] of 0
/// and 1. What training minimises and what [`fit_temperature`] fits. Always saying 0.5 scores
/// ln 2 ≈ 0.693.
///
/// Errors like [`brier_score`].
pub fn negative_log_likelihood(probabilities: &[f32], labels: &[Label]) -> Result<f64> {
    check(probabilities, labels)?;
    Ok(probabilities
        .iter()
        .zip(labels)
        .map(|(&p, y)| nll_term(clamp(f64::from(p)), y.is_hemorrhage()))
        .sum::<f64>()
        / probabilities.len() as f64)
}

fn nll_term(p: f64, hemorrhage: bool) -> f64 {
    if hemorrhage {
        -p.ln()
    } else {
        -(1.0 - p).ln()
    }
}

/// The bin (0-based, of `bins` equal-width bins over `[0, 1]`) that `value` falls in: bin `m`
/// holds `(m/bins, (m+1)/bins]`, bin 0 also holds 0 (right-closed, as Guo et al. 2017 and
/// scikit-learn's `calibration_curve`).
fn bin_of(value: f64, bins: usize) -> usize {
    (0..bins)
        .find(|&m| value <= (m + 1) as f64 / bins as f64)
        .unwrap_or(bins - 1)
}

fn check_bins(bins: usize) -> Result<()> {
    if bins == 0 {
        return Err(Error::InvalidInput(
            "calibration needs at least one bin".into(),
        ));
    }
    Ok(())
}

/// One bin of the reliability diagram: the images whose probability of hemorrhage lies in
/// `(low, high]` (bin 0: `[0, high]`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReliabilityBin {
    /// Lower edge of the bin, a probability.
    pub low: f64,
    /// Upper edge of the bin, a probability.
    pub high: f64,
    /// Images in the bin.
    pub count: usize,
    /// Their mean probability of hemorrhage (the bin's middle when empty).
    pub mean_probability: f64,
    /// The share of them that show a hemorrhage (0 when empty).
    pub observed_frequency: f64,
}

/// The images sorted into `bins` equal-width bins of their **probability of hemorrhage**
/// (see [`ReliabilityBin`]): what the reliability diagram draws and what
/// [`brier_decomposition`] sums over. Every bin is returned, empty ones too, in order.
///
/// Errors like [`brier_score`], and if `bins` is 0.
pub fn reliability_bins(
    probabilities: &[f32],
    labels: &[Label],
    bins: usize,
) -> Result<Vec<ReliabilityBin>> {
    check(probabilities, labels)?;
    check_bins(bins)?;
    let mut sum_p = vec![0.0f64; bins];
    let mut positives = vec![0usize; bins];
    let mut counts = vec![0usize; bins];
    for (&p, y) in probabilities.iter().zip(labels) {
        let m = bin_of(f64::from(p), bins);
        sum_p[m] += f64::from(p);
        positives[m] += usize::from(y.is_hemorrhage());
        counts[m] += 1;
    }
    Ok((0..bins)
        .map(|m| {
            let (low, high) = (m as f64 / bins as f64, (m + 1) as f64 / bins as f64);
            let n = counts[m];
            ReliabilityBin {
                low,
                high,
                count: n,
                mean_probability: if n == 0 {
                    (low + high) / 2.0
                } else {
                    sum_p[m] / n as f64
                },
                observed_frequency: if n == 0 {
                    0.0
                } else {
                    positives[m] as f64 / n as f64
                },
            }
        })
        .collect())
}

/// Murphy's (1973) decomposition of the Brier score over the bins of [`reliability_bins`]:
/// `Brier = reliability − resolution + uncertainty + within_bins`.
///
/// With `N` images, bin `k` holding `n_k` images of mean probability `f_k` and hemorrhage share
/// `o_k`, and `o` the share of hemorrhages over all images (Murphy, "A New Vector Partition of
/// the Probability Score", J. Appl. Meteorology 12, 1973):
/// - reliability `= Σ n_k (f_k − o_k)² / N`: how far the probabilities are from the observed
///   frequencies (0 is perfectly calibrated; lower is better);
/// - resolution `= Σ n_k (o_k − o)² / N`: how much the bins' frequencies differ from the base
///   rate (higher is better: the model separates the cases);
/// - uncertainty `= o (1 − o)`: the Brier score of always saying the base rate, a property of
///   the images alone.
///
/// Murphy's identity is exact when every image in a bin has the same probability; with binned
/// continuous probabilities a small remainder is left, reported as `within_bins` (the
/// within-bin variance minus covariance terms of Stephenson, Coelho & Jolliffe 2008).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BrierDecomposition {
    pub reliability: f64,
    pub resolution: f64,
    pub uncertainty: f64,
    /// `Brier − (reliability − resolution + uncertainty)`.
    pub within_bins: f64,
}

/// [`BrierDecomposition`] of `probabilities` against `labels` over `bins` equal-width bins of
/// the probability of hemorrhage. Errors like [`reliability_bins`].
pub fn brier_decomposition(
    probabilities: &[f32],
    labels: &[Label],
    bins: usize,
) -> Result<BrierDecomposition> {
    let bs = brier_score(probabilities, labels)?;
    let binned = reliability_bins(probabilities, labels, bins)?;
    let n = probabilities.len() as f64;
    let base = labels.iter().filter(|y| y.is_hemorrhage()).count() as f64 / n;
    let (mut reliability, mut resolution) = (0.0, 0.0);
    for b in binned.iter().filter(|b| b.count > 0) {
        let w = b.count as f64 / n;
        reliability += w * (b.mean_probability - b.observed_frequency).powi(2);
        resolution += w * (b.observed_frequency - base).powi(2);
    }
    let uncertainty = base * (1.0 - base);
    Ok(BrierDecomposition {
        reliability,
        resolution,
        uncertainty,
        within_bins: bs - (reliability - resolution + uncertainty),
    })
}

/// The expected calibration error of Guo et al. 2017 (their eq. 3), on **confidence** bins:
/// each image's confidence is that of its call at 0.5, `max(p, 1 − p)`, and it is correct when
/// that call (hemorrhage when `p ≥ 0.5`) matches its label. The images are sorted into `bins`
/// equal-width bins of confidence over `[0, 1]` (right-closed, see [`ReliabilityBin`]; with two
/// classes only the upper half is used), and
/// `ECE = Σ_m |B_m| / N · |accuracy(B_m) − mean confidence(B_m)|`. 0 is perfect; unitless.
///
/// (scikit-learn's `calibration_curve` bins the probability of the positive class instead, 10
/// bins by default, as [`reliability_bins`] does: on the 200 out-of-fold predictions of
/// `cross-validate` on the real data that convention gives 0.058 where this ECE gives 0.046,
/// both recomputed from `oof_predictions.csv` outside the project.)
///
/// Errors like [`reliability_bins`].
pub fn expected_calibration_error(
    probabilities: &[f32],
    labels: &[Label],
    bins: usize,
) -> Result<f64> {
    check(probabilities, labels)?;
    check_bins(bins)?;
    let mut confidence = vec![0.0f64; bins];
    let mut correct = vec![0usize; bins];
    let mut counts = vec![0usize; bins];
    for (&p, y) in probabilities.iter().zip(labels) {
        let call = Threshold::DEFAULT.call(p);
        let c = f64::from(p.max(1.0 - p));
        let m = bin_of(c, bins);
        confidence[m] += c;
        correct[m] += usize::from(call == *y);
        counts[m] += 1;
    }
    let n = probabilities.len() as f64;
    Ok((0..bins)
        .filter(|&m| counts[m] > 0)
        .map(|m| (correct[m] as f64 - confidence[m]).abs() / n)
        .sum())
}

/// A value with a 95% bootstrap percentile interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    pub value: f64,
    /// 2.5th percentile of the bootstrap values.
    pub low: f64,
    /// 97.5th percentile of the bootstrap values.
    pub high: f64,
}

/// `0.104 (95% bootstrap CI 0.078–0.133)`.
impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.3} (95% bootstrap CI {:.3}–{:.3})",
            self.value, self.low, self.high
        )
    }
}

/// How well a set of probabilities is calibrated, each measure with a 95% bootstrap interval.
///
/// `Display` prints it in plain words, one measure a line.
#[derive(Debug, Clone, PartialEq)]
pub struct CalibrationReport {
    /// Images measured.
    pub images: usize,
    /// Hemorrhages among them.
    pub hemorrhages: usize,
    /// Number of equal-width bins of the ECE and the decomposition.
    pub bins: usize,
    /// [`brier_score`].
    pub brier: Interval,
    /// [`BrierDecomposition::reliability`].
    pub reliability: Interval,
    /// [`BrierDecomposition::resolution`].
    pub resolution: Interval,
    /// [`BrierDecomposition::uncertainty`].
    pub uncertainty: Interval,
    /// [`BrierDecomposition::within_bins`] (no interval: a remainder of the binning).
    pub within_bins: f64,
    /// [`negative_log_likelihood`].
    pub nll: Interval,
    /// [`expected_calibration_error`].
    pub ece: Interval,
    /// [`reliability_bins`], for the diagram.
    pub reliability_bins: Vec<ReliabilityBin>,
}

impl CalibrationReport {
    /// Every measure on `probabilities` against `labels` with `bins` bins, each with a 95%
    /// percentile interval from [`DEFAULT_BOOTSTRAP_RESAMPLES`] bootstrap resamples of the
    /// images (drawn with replacement, all images alike, from [`BOOTSTRAP_SEED`]: the same
    /// predictions always get the same intervals).
    ///
    /// Errors like [`reliability_bins`].
    pub fn compute(probabilities: &[f32], labels: &[Label], bins: usize) -> Result<Self> {
        Self::compute_with_resamples(probabilities, labels, bins, DEFAULT_BOOTSTRAP_RESAMPLES)
    }

    /// [`CalibrationReport::compute`] with a chosen number of resamples (at least 1).
    pub fn compute_with_resamples(
        probabilities: &[f32],
        labels: &[Label],
        bins: usize,
        resamples: usize,
    ) -> Result<Self> {
        if resamples == 0 {
            return Err(Error::InvalidInput(
                "the bootstrap needs at least one resample".into(),
            ));
        }
        let measure = |p: &[f32], y: &[Label]| -> Result<[f64; 6]> {
            let d = brier_decomposition(p, y, bins)?;
            Ok([
                brier_score(p, y)?,
                d.reliability,
                d.resolution,
                d.uncertainty,
                negative_log_likelihood(p, y)?,
                expected_calibration_error(p, y, bins)?,
            ])
        };
        let point = measure(probabilities, labels)?;
        let n = probabilities.len();
        let mut rng = StdRng::seed_from_u64(BOOTSTRAP_SEED);
        let mut draws: [Vec<f64>; 6] = Default::default();
        let (mut p, mut y) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..resamples {
            p.clear();
            y.clear();
            for _ in 0..n {
                let i = rng.gen_range(0..n);
                p.push(probabilities[i]);
                y.push(labels[i]);
            }
            for (d, v) in draws.iter_mut().zip(measure(&p, &y)?) {
                d.push(v);
            }
        }
        let interval = |k: usize| {
            let mut sorted = draws[k].clone();
            sorted.sort_by(f64::total_cmp);
            Interval {
                value: point[k],
                low: percentile(&sorted, 0.025),
                high: percentile(&sorted, 0.975),
            }
        };
        let d = brier_decomposition(probabilities, labels, bins)?;
        Ok(Self {
            images: n,
            hemorrhages: labels.iter().filter(|l| l.is_hemorrhage()).count(),
            bins,
            brier: interval(0),
            reliability: interval(1),
            resolution: interval(2),
            uncertainty: interval(3),
            within_bins: d.within_bins,
            nll: interval(4),
            ece: interval(5),
            reliability_bins: reliability_bins(probabilities, labels, bins)?,
        })
    }
}

/// Linear-interpolated percentile `q` of sorted, non-empty `values` (as in [`crate::metrics`]).
fn percentile(sorted: &[f64], q: f64) -> f64 {
    let rank = q * (sorted.len() - 1) as f64;
    let (below, above) = (rank.floor() as usize, rank.ceil() as usize);
    sorted[below] + (sorted[above] - sorted[below]) * (rank - below as f64)
}

impl fmt::Display for CalibrationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "Brier score  {}: mean squared distance of the probability from the truth (0 best, \
             0.25 = always 0.5)",
            self.brier
        )?;
        writeln!(
            f,
            "  = reliability {:.3} (CI {:.3}–{:.3}, 0 best) − resolution {:.3} (CI {:.3}–{:.3}, \
             higher better) + uncertainty {:.3} (of the images alone){} [Murphy 1973, {} bins of \
             P(hemorrhage)]",
            self.reliability.value,
            self.reliability.low,
            self.reliability.high,
            self.resolution.value,
            self.resolution.low,
            self.resolution.high,
            self.uncertainty.value,
            if self.within_bins.abs() >= 0.0005 {
                format!(" {:+.3} (within bins)", self.within_bins)
            } else {
                String::new()
            },
            self.bins
        )?;
        writeln!(
            f,
            "NLL          {}: log-loss in nats (0 best, 0.693 = always 0.5)",
            self.nll
        )?;
        write!(
            f,
            "ECE          {}: expected calibration error, {} equal-width confidence bins (Guo \
             et al. 2017; 0 best)",
            self.ece, self.bins
        )
    }
}

/// Temperature scaling's one number `T` (Guo et al. 2017): a probability `p` of score
/// `z = ln(p / (1 − p))` becomes `σ(z / T)`. `T > 1` softens over-confident probabilities
/// towards 0.5, `T < 1` sharpens them; `T = 1` changes nothing. Dividing the score by a
/// positive number never changes which side of 0.5 a probability lies on, nor the order of two
/// images: accuracy at 0.5 and the AUC stay the same; only what the numbers claim changes.
///
/// Finite and positive by construction; serialised as a plain number, and reading any other is
/// an error.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Serialize, Deserialize)]
#[serde(try_from = "f64", into = "f64")]
pub struct Temperature(f64);

impl Temperature {
    /// No change: `T = 1`.
    pub const IDENTITY: Temperature = Temperature(1.0);

    /// A temperature of `t`. Errors unless it is a finite positive number.
    pub fn new(t: f64) -> Result<Self> {
        if t.is_finite() && t > 0.0 {
            Ok(Self(t))
        } else {
            Err(Error::InvalidInput(format!(
                "a temperature must be a finite positive number, not {t}"
            )))
        }
    }

    /// `T`.
    pub const fn value(self) -> f64 {
        self.0
    }

    /// `σ(z / T)` in `f64`, `z` the logit of `p` (kept within [`PROBABILITY_FLOOR`] of 0 and 1).
    pub fn apply_f64(self, p: f64) -> f64 {
        let p = clamp(p);
        let z = (p / (1.0 - p)).ln() / self.0;
        1.0 / (1.0 + (-z).exp())
    }

    /// The calibrated probability of `p`, as the `f32` the rest of head-ct uses. `T = 1` gives
    /// `p` back unchanged, and the result is on the same side of 0.5 as `p` even where `f32`
    /// rounding would put it at 0.5 exactly (so that calls at 0.5 never move).
    pub fn apply(self, p: f32) -> f32 {
        if self.0 == 1.0 {
            return p;
        }
        let c = self.apply_f64(f64::from(p)) as f32;
        if p < 0.5 && c >= 0.5 {
            0.5f32.next_down()
        } else if p >= 0.5 && c < 0.5 {
            0.5
        } else {
            c
        }
    }

    /// [`Temperature::apply`] to each probability.
    pub fn apply_all(self, probabilities: &[f32]) -> Vec<f32> {
        probabilities.iter().map(|&p| self.apply(p)).collect()
    }
}

impl TryFrom<f64> for Temperature {
    type Error = Error;
    fn try_from(t: f64) -> Result<Self> {
        Self::new(t)
    }
}

impl From<Temperature> for f64 {
    fn from(t: Temperature) -> f64 {
        t.0
    }
}

impl fmt::Display for Temperature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}", self.0)
    }
}

/// What [`fit_temperature`] found.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemperatureFit {
    pub temperature: Temperature,
    /// NLL of the images before (`T = 1`) and after scaling, in nats per image.
    pub nll_before: f64,
    pub nll_after: f64,
    /// Images fitted on, and the hemorrhages among them.
    pub images: usize,
    pub hemorrhages: usize,
    /// True when the minimum lies at an end of [`TEMPERATURE_RANGE`] (the images push the
    /// temperature further: typically a set the model separates perfectly).
    pub at_range_end: bool,
}

/// Checks that `labels` are enough to fit a temperature on: at least
/// [`MIN_CALIBRATION_IMAGES`] images, [`MIN_CALIBRATION_PER_CLASS`] of each class. The error
/// says how many there are and how many are needed; `what` names them ("validation images").
pub fn check_enough_to_fit(labels: &[Label], what: &str) -> Result<()> {
    let hemorrhages = labels.iter().filter(|l| l.is_hemorrhage()).count();
    let normal = labels.len() - hemorrhages;
    if labels.len() < MIN_CALIBRATION_IMAGES
        || hemorrhages < MIN_CALIBRATION_PER_CLASS
        || normal < MIN_CALIBRATION_PER_CLASS
    {
        return Err(Error::InvalidInput(format!(
            "a temperature cannot be fitted on {} {what} ({hemorrhages} hemorrhage, {normal} \
             normal): calibration needs at least {MIN_CALIBRATION_IMAGES} images with at least \
             {MIN_CALIBRATION_PER_CLASS} of each class (or `--calibration none`)",
            labels.len()
        )));
    }
    Ok(())
}

/// Fits temperature scaling to `probabilities` (of hemorrhage, from images that took no part in
/// training) against `labels`: the `T` in [`TEMPERATURE_RANGE`] that minimises the
/// [`negative_log_likelihood`] of `σ(z / T)`.
///
/// Why a golden-section search of our own: the problem is one-dimensional, and the NLL is a
/// convex function of `1/T` (a logistic regression on one feature without intercept), so it has
/// one minimum on the range and a golden-section search on `ln T` finds it to 1e-9 in 60 steps,
/// in 20 lines without an optimisation crate.
///
/// Errors as [`check_enough_to_fit`] (with `what` naming the images), or as [`brier_score`].
pub fn fit_temperature(
    probabilities: &[f32],
    labels: &[Label],
    what: &str,
) -> Result<TemperatureFit> {
    check(probabilities, labels)?;
    check_enough_to_fit(labels, what)?;
    let logits: Vec<(f64, bool)> = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, y)| {
            let p = clamp(f64::from(p));
            ((p / (1.0 - p)).ln(), y.is_hemorrhage())
        })
        .collect();
    let nll = |ln_t: f64| -> f64 {
        let t = ln_t.exp();
        logits
            .iter()
            .map(|&(z, y)| {
                // −ln σ(±z/T) = softplus(∓z/T), computed without overflow.
                let s = if y { -z / t } else { z / t };
                s.max(0.0) + (-s.abs()).exp().ln_1p()
            })
            .sum::<f64>()
            / logits.len() as f64
    };
    let (mut a, mut b) = (TEMPERATURE_RANGE.0.ln(), TEMPERATURE_RANGE.1.ln());
    let ratio = (5f64.sqrt() - 1.0) / 2.0;
    let (mut c, mut d) = (b - ratio * (b - a), a + ratio * (b - a));
    let (mut fc, mut fd) = (nll(c), nll(d));
    while b - a > 1e-9 {
        if fc <= fd {
            (b, d, fd) = (d, c, fc);
            c = b - ratio * (b - a);
            fc = nll(c);
        } else {
            (a, c, fc) = (c, d, fd);
            d = a + ratio * (b - a);
            fd = nll(d);
        }
    }
    let ln_t = (a + b) / 2.0;
    let edge = 1e-6;
    let at_range_end =
        ln_t - TEMPERATURE_RANGE.0.ln() < edge || TEMPERATURE_RANGE.1.ln() - ln_t < edge;
    Ok(TemperatureFit {
        temperature: Temperature::new(ln_t.exp())?,
        nll_before: nll(0.0),
        nll_after: nll(ln_t),
        images: labels.len(),
        hemorrhages: labels.iter().filter(|l| l.is_hemorrhage()).count(),
        at_range_end,
    })
}

/// Whether, and how, a model's probabilities are calibrated after training (`--calibration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
#[serde(rename_all = "lowercase")]
pub enum CalibrationMode {
    /// Temperature scaling when there are enough images to fit it on
    /// ([`check_enough_to_fit`]), none otherwise (said in the output).
    #[default]
    Auto,
    /// Temperature scaling; too few images to fit it on is an error, before training.
    Temperature,
    /// The network's raw probabilities.
    None,
}

/// What `model.json` records about a model's temperature scaling: the temperature and what it
/// was fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Calibration {
    /// `"temperature scaling (Guo et al. 2017), fitted by NLL"`.
    pub method: String,
    pub temperature: Temperature,
    /// `"50 validation images (25 hemorrhage, 25 normal)"`.
    pub fitted_on: String,
    /// Images fitted on.
    pub images: usize,
    /// NLL of those images before and after, in nats per image.
    pub nll_before: f64,
    pub nll_after: f64,
}

impl Calibration {
    /// The method's name as recorded.
    pub const METHOD: &'static str = "temperature scaling (Guo et al. 2017), fitted by NLL";

    /// The record of `fit`, fitted on `what` (`"validation images"`).
    pub fn from_fit(fit: &TemperatureFit, what: &str) -> Self {
        Self {
            method: Self::METHOD.into(),
            temperature: fit.temperature,
            fitted_on: format!(
                "{} {what} ({} hemorrhage, {} normal)",
                fit.images,
                fit.hemorrhages,
                fit.images - fit.hemorrhages
            ),
            images: fit.images,
            nll_before: fit.nll_before,
            nll_after: fit.nll_after,
        }
    }

    /// `temperature 1.280, fitted on 50 validation images (25 hemorrhage, 25 normal): NLL there
    /// 0.412 → 0.398`.
    pub fn sentence(&self) -> String {
        format!(
            "temperature {}, fitted on {}: NLL there {:.3} → {:.3}",
            self.temperature, self.fitted_on, self.nll_before, self.nll_after
        )
    }
}

/// The words that say what a printed probability is: `"calibrated (temperature 1.280)"` or
/// `"uncalibrated (the network's raw output)"`.
pub fn probability_kind(temperature: Option<Temperature>) -> String {
    match temperature {
        Some(t) => format!("calibrated (temperature {t})"),
        None => "uncalibrated (the network's raw output)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_are_right_closed() {
        assert_eq!(bin_of(0.0, 10), 0);
        assert_eq!(bin_of(0.1, 10), 0);
        assert_eq!(bin_of(0.1000001, 10), 1);
        assert_eq!(bin_of(1.0, 10), 9);
        assert_eq!(bin_of(0.55, 2), 1);
    }

    #[test]
    fn temperature_one_changes_nothing_and_scaling_keeps_the_side_of_one_half() {
        for p in [
            0.0f32,
            0.2,
            0.5,
            0.5f32.next_down(),
            0.5f32.next_up(),
            0.97,
            1.0,
        ] {
            assert_eq!(Temperature::IDENTITY.apply(p), p);
            for t in [0.3, 1.28, 7.0] {
                let c = Temperature::new(t).unwrap().apply(p);
                assert_eq!(c >= 0.5, p >= 0.5, "p {p}, T {t}");
            }
        }
        // T > 1 moves a probability towards 0.5, T < 1 away from it.
        let soft = Temperature::new(2.0).unwrap().apply(0.9);
        let sharp = Temperature::new(0.5).unwrap().apply(0.9);
        assert!(soft < 0.9 && soft > 0.5 && sharp > 0.9, "{soft} {sharp}");
        // σ(ln 9 / 2) = 3/4.
        assert!((soft - 0.75).abs() < 1e-6);
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(Temperature::new(bad).is_err());
        }
    }
}
