//! Metrics against values computed by hand or taken from the literature.

use head_ct::metrics::{
    auc_from_roc, bootstrap_auc_interval, mann_whitney_auc, roc_curve, wilson_interval,
    BinaryMetrics, ConfusionMatrix, Estimate, Z_95,
};
use head_ct::{Error, Label, Threshold};

/// Labels from 0/1 flags (1 = hemorrhage), to keep the cases short.
fn labels(flags: &[u8]) -> Vec<Label> {
    flags
        .iter()
        .map(|&f| Label::from_flag(f).unwrap())
        .collect()
}

fn t(p: f32) -> Threshold {
    Threshold::new(p).unwrap()
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[track_caller]
fn assert_interval(successes: usize, n: usize, low: f64, high: f64, tol: f64) {
    let (l, h) = wilson_interval(successes, n, Z_95);
    assert!(
        close(l, low, tol) && close(h, high, tol),
        "{successes}/{n}: got ({l:.5}, {h:.5}), expected ({low}, {high})"
    );
}

#[test]
fn wilson_42_of_50() {
    // By hand: centre 0.815741, half-width 0.100884.
    assert_interval(42, 50, 0.714857, 0.916625, 1e-5);
}

#[test]
fn wilson_matches_newcombe_1998_table() {
    // Newcombe, "Two-sided confidence intervals for the single proportion", Stat Med 1998,
    // Table II, method 3 (score interval without continuity correction).
    assert_interval(81, 263, 0.2553, 0.3662, 1e-4);
    assert_interval(15, 148, 0.0624, 0.1605, 1e-4);
    assert_interval(0, 20, 0.0, 0.1611, 1e-4);
    assert_interval(1, 29, 0.0061, 0.1718, 1e-4);
}

#[test]
fn wilson_edges() {
    assert_eq!(wilson_interval(0, 0, Z_95), (0.0, 1.0));
    let (l, h) = wilson_interval(50, 50, Z_95);
    assert_eq!(h, 1.0);
    assert!(close(l, 0.928652, 1e-5), "{l}");
    // Symmetric around one half.
    let (l, h) = wilson_interval(25, 50, Z_95);
    assert!(close(l + h, 1.0, 1e-12));
    // z = 0: the interval is the point estimate.
    let (l, h) = wilson_interval(3, 4, 0.0);
    assert!(close(l, 0.75, 1e-12) && close(h, 0.75, 1e-12));
    // More successes than trials are clamped.
    assert_eq!(wilson_interval(7, 5, Z_95), wilson_interval(5, 5, Z_95));
}

#[test]
fn estimate_display() {
    let e = Estimate::new(42, 50);
    assert_eq!(e.value, 0.84);
    assert_eq!(e.to_string(), "0.84 (95% CI 0.71–0.92, 42 of 50)");
    let empty = Estimate::new(0, 0);
    assert!(!empty.is_defined());
    assert_eq!((empty.value, empty.low, empty.high), (0.0, 0.0, 1.0));
    assert!(empty.to_string().contains("not defined"));
}

// Hemorrhage scores 0.9, 0.6, 0.4; normal scores 0.7, 0.4, 0.2. Pairs won by the hemorrhage:
// 3 + 2 + 1.5 (a tie at 0.4) = 6.5 of 9.
const MIXED_P: [f32; 6] = [0.9, 0.6, 0.4, 0.7, 0.4, 0.2];
const MIXED_Y: [u8; 6] = [1, 1, 1, 0, 0, 0];

#[test]
fn confusion_counts() {
    let m = ConfusionMatrix::from_probabilities(&MIXED_P, &labels(&MIXED_Y), t(0.6)).unwrap();
    // >= threshold is hemorrhage: 0.6 itself counts as a hemorrhage call.
    assert_eq!(
        m,
        ConfusionMatrix {
            true_positives: 2,
            false_negatives: 1,
            false_positives: 1,
            true_negatives: 2,
        }
    );
    assert_eq!(
        (m.total(), m.positives(), m.negatives(), m.correct()),
        (6, 3, 3, 4)
    );
    let all = ConfusionMatrix::from_probabilities(&MIXED_P, &labels(&MIXED_Y), t(0.0)).unwrap();
    assert_eq!((all.true_positives, all.false_positives), (3, 3));
}

#[test]
fn auc_mixed_case_with_tie() {
    let y = labels(&MIXED_Y);
    let auc = mann_whitney_auc(&MIXED_P, &y).unwrap();
    assert!(close(auc, 6.5 / 9.0, 1e-12), "{auc}");
    let roc = roc_curve(&MIXED_P, &y).unwrap();
    let third = 1.0 / 3.0;
    let expected = [
        (0.0, 0.0),
        (0.0, third),
        (third, third),
        (third, 2.0 * third),
        (2.0 * third, 1.0),
        (1.0, 1.0),
    ];
    assert_eq!(roc.len(), expected.len());
    for (p, (fpr, tpr)) in roc.iter().zip(expected) {
        assert!(
            close(p.fpr, fpr, 1e-12) && close(p.tpr, tpr, 1e-12),
            "{p:?}"
        );
    }
    assert_eq!(roc[0].threshold, f32::INFINITY);
    assert_eq!(roc[4].threshold, 0.4);
    assert!(close(auc_from_roc(&roc), 6.5 / 9.0, 1e-12));
}

#[test]
fn auc_constant_scores_is_one_half() {
    let p = [0.3f32; 7];
    let y = labels(&[1, 0, 1, 0, 0, 1, 0]);
    assert_eq!(mann_whitney_auc(&p, &y).unwrap(), 0.5);
    let roc = roc_curve(&p, &y).unwrap();
    assert_eq!(roc.len(), 2, "all ties: one diagonal step");
    assert_eq!(auc_from_roc(&roc), 0.5);
}

#[test]
fn auc_perfect_and_reversed() {
    let p = [0.1, 0.2, 0.8, 0.95, 0.3];
    let y = labels(&[0, 0, 1, 1, 0]);
    assert_eq!(mann_whitney_auc(&p, &y).unwrap(), 1.0);
    assert_eq!(auc_from_roc(&roc_curve(&p, &y).unwrap()), 1.0);
    let flipped: Vec<Label> = y
        .iter()
        .map(|v| match v {
            Label::Hemorrhage => Label::Normal,
            Label::Normal => Label::Hemorrhage,
        })
        .collect();
    assert_eq!(mann_whitney_auc(&p, &flipped).unwrap(), 0.0);
}

#[test]
fn roc_is_monotone_from_origin_to_corner() {
    let mut state = 12345u64;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 33) as f32 / (1u64 << 31) as f32
    };
    let p: Vec<f32> = (0..200).map(|_| (next() * 20.0).round() / 20.0).collect();
    let y: Vec<Label> = p
        .iter()
        .map(|&v| {
            if next() < v {
                Label::Hemorrhage
            } else {
                Label::Normal
            }
        })
        .collect();
    let roc = roc_curve(&p, &y).unwrap();
    assert_eq!((roc[0].fpr, roc[0].tpr), (0.0, 0.0));
    let last = roc.last().unwrap();
    assert_eq!((last.fpr, last.tpr), (1.0, 1.0));
    for w in roc.windows(2) {
        assert!(w[1].fpr >= w[0].fpr && w[1].tpr >= w[0].tpr);
        assert!(w[1].threshold < w[0].threshold);
    }
    let a = auc_from_roc(&roc);
    assert!(close(a, mann_whitney_auc(&p, &y).unwrap(), 1e-12));
    assert!(a > 0.5, "scores were made informative: {a}");
}

#[test]
fn bootstrap_interval_is_reproducible_and_contains_the_auc() {
    let p = [
        0.9, 0.8, 0.75, 0.6, 0.55, 0.4, 0.35, 0.3, 0.2, 0.1, 0.7, 0.45,
    ];
    let y = labels(&[1, 1, 0, 1, 1, 0, 1, 0, 0, 0, 1, 0]);
    let auc = mann_whitney_auc(&p, &y).unwrap();
    let a = bootstrap_auc_interval(&p, &y, 2000, 7).unwrap();
    let b = bootstrap_auc_interval(&p, &y, 2000, 7).unwrap();
    let c = bootstrap_auc_interval(&p, &y, 2000, 8).unwrap();
    assert_eq!(a, b, "same seed, same interval");
    assert_ne!(a, c, "another seed, another draw");
    assert!(a.0 <= auc && auc <= a.1, "{a:?} should contain {auc}");
    assert!(a.0 >= 0.0 && a.1 <= 1.0 && a.0 < a.1);
    assert!(bootstrap_auc_interval(&p, &y, 0, 7).is_err());
}

#[test]
fn binary_metrics_on_the_mixed_case() {
    let y = labels(&MIXED_Y);
    let m = BinaryMetrics::compute(&MIXED_P, &y, t(0.5)).unwrap();
    // 0.9, 0.6, 0.7 are calls: TP 2, FN 1, FP 1, TN 2.
    assert_eq!((m.accuracy.successes, m.accuracy.total), (4, 6));
    assert_eq!((m.sensitivity.successes, m.sensitivity.total), (2, 3));
    assert_eq!((m.specificity.successes, m.specificity.total), (2, 3));
    assert_eq!((m.precision.successes, m.precision.total), (2, 3));
    let auc = m.auc.unwrap();
    assert!(close(auc.value, 6.5 / 9.0, 1e-12));
    assert!(auc.low <= auc.value && auc.value <= auc.high);
    assert_eq!(auc.resamples, 2000);
    assert_eq!(m.roc.len(), 6);
    // The same predictions always get the same metrics, interval included.
    assert_eq!(m, BinaryMetrics::compute(&MIXED_P, &y, t(0.5)).unwrap());
    assert_eq!(m.threshold, t(0.5));
    let text = m.summary();
    assert!(text.contains("accuracy     0.67 (95% CI"), "{text}");
    assert!(text.contains("4 of 6"), "{text}");
    assert!(text.contains("1 missed"), "{text}");
    assert!(text.contains("ROC AUC      0.72"), "{text}");
}

#[test]
fn single_class_is_not_an_error() {
    let m = BinaryMetrics::compute(&[0.2, 0.7, 0.4], &labels(&[0, 0, 0]), t(0.5)).unwrap();
    assert_eq!((m.accuracy.successes, m.accuracy.total), (2, 3));
    assert!(!m.sensitivity.is_defined());
    assert_eq!(m.specificity.successes, 2);
    assert!(m.auc.is_none() && m.roc.is_empty());
    let all = [
        m.accuracy.value,
        m.sensitivity.value,
        m.sensitivity.low,
        m.sensitivity.high,
    ];
    assert!(all.iter().all(|v| v.is_finite()));
    let text = m.to_string();
    assert!(text.contains("sensitivity  not defined"), "{text}");
    assert!(text.contains("ROC AUC      not defined"), "{text}");

    // Nothing called hemorrhage: precision is not defined.
    let m = BinaryMetrics::compute(&[0.1, 0.2], &labels(&[1, 0]), t(0.5)).unwrap();
    assert!(!m.precision.is_defined());
    assert!(m.auc.is_some());

    assert!(roc_curve(&[0.5, 0.6], &labels(&[1, 1])).is_err());
    assert!(mann_whitney_auc(&[], &[]).is_err());
}

#[test]
fn invalid_inputs_are_errors() {
    let invalid = |r: Result<BinaryMetrics, Error>| matches!(r, Err(Error::InvalidInput(_)));
    let half = t(0.5);
    assert!(invalid(BinaryMetrics::compute(&[], &[], half)));
    assert!(invalid(BinaryMetrics::compute(
        &[0.5],
        &labels(&[1, 0]),
        half
    )));
    assert!(invalid(BinaryMetrics::compute(
        &[f32::NAN, 0.2],
        &labels(&[1, 0]),
        half
    )));
    // A NaN threshold can no longer reach the metrics: making one is the error.
    assert!(matches!(
        Threshold::new(f32::NAN),
        Err(Error::InvalidInput(_))
    ));
    let message = BinaryMetrics::compute(&[0.5], &labels(&[1, 0]), half)
        .unwrap_err()
        .to_string();
    assert!(
        message.contains("1 probabilities but 2 labels"),
        "{message}"
    );
}
