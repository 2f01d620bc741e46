//! Calibration and the operating point, checked against values computed by hand from their
//! definitions: the Brier score (Brier 1950) and Murphy's (1973) decomposition, the NLL, the
//! expected calibration error of Guo et al. 2017 (eq. 3), temperature scaling against a
//! brute-force search of the NLL, and the threshold rule on hand-made cases.

use head_ct::{
    calibration::*,
    operating_point::*,
    Label::{self, Hemorrhage, Normal},
    Threshold,
};

/// Six images: three hemorrhages at 0.9, 0.8, 0.3 and three normal at 0.6, 0.2, 0.1.
fn six() -> ([f32; 6], [Label; 6]) {
    (
        [0.9, 0.8, 0.3, 0.6, 0.2, 0.1],
        [Hemorrhage, Hemorrhage, Hemorrhage, Normal, Normal, Normal],
    )
}

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

#[test]
fn brier_and_nll_match_their_definitions() {
    let (p, y) = six();
    // (0.1² + 0.2² + 0.7² + 0.6² + 0.2² + 0.1²) / 6 = 0.95 / 6
    assert!(close(brier_score(&p, &y).unwrap(), 0.95 / 6.0, 1e-7));
    // −(ln 0.9 + ln 0.8 + ln 0.3 + ln 0.4 + ln 0.8 + ln 0.9) / 6
    let by_hand =
        -(0.9f64.ln() + 0.8f64.ln() + 0.3f64.ln() + 0.4f64.ln() + 0.8f64.ln() + 0.9f64.ln()) / 6.0;
    assert!(close(by_hand, 0.462_878_6, 1e-6));
    assert!(close(
        negative_log_likelihood(&p, &y).unwrap(),
        by_hand,
        1e-6
    ));
    // Saying 0.5 for everything: Brier 0.25, NLL ln 2.
    let half = [0.5f32; 6];
    assert!(close(brier_score(&half, &y).unwrap(), 0.25, 1e-12));
    assert!(close(
        negative_log_likelihood(&half, &y).unwrap(),
        std::f64::consts::LN_2,
        1e-12
    ));
    // A certain and wrong 0 or 1 is kept finite by the floor, not infinite.
    let wrong = negative_log_likelihood(&[0.0], &[Hemorrhage]).unwrap();
    assert!(close(wrong, -PROBABILITY_FLOOR.ln(), 1e-9), "{wrong}");
}

#[test]
fn murphys_decomposition_by_hand_with_two_bins() {
    let (p, y) = six();
    // Bins [0, 0.5] and (0.5, 1]: {0.3 H, 0.2 N, 0.1 N} mean 0.2, share 1/3;
    // {0.9 H, 0.8 H, 0.6 N} mean 23/30, share 2/3; base rate 1/2.
    let d = brier_decomposition(&p, &y, 2).unwrap();
    let rel = 0.5 * (0.2f64 - 1.0 / 3.0).powi(2) + 0.5 * (23.0f64 / 30.0 - 2.0 / 3.0).powi(2);
    let res = 0.5 * (1.0f64 / 3.0 - 0.5).powi(2) + 0.5 * (2.0f64 / 3.0 - 0.5).powi(2);
    assert!(close(d.reliability, rel, 1e-7), "{d:?}");
    assert!(close(d.reliability, 0.013_888_9, 1e-6));
    assert!(close(d.resolution, res, 1e-7));
    assert!(close(d.resolution, 1.0 / 36.0, 1e-7));
    assert!(close(d.uncertainty, 0.25, 1e-12));
    // The remainder is the within-bin variance minus twice the within-bin covariance
    // (Stephenson, Coelho & Jolliffe 2008), computed here independently.
    let wbv = (0.1f64.powi(2) + 0.0 + 0.1f64.powi(2))
        + ((0.9 - 23.0 / 30.0f64).powi(2)
            + (0.8 - 23.0 / 30.0f64).powi(2)
            + (0.6 - 23.0 / 30.0f64).powi(2));
    let wbc = 2.0
        * ((0.1 * (2.0 / 3.0) + 0.0 + (-0.1) * (-1.0 / 3.0))
            + ((0.9 - 23.0 / 30.0) * (1.0 / 3.0)
                + (0.8 - 23.0 / 30.0) * (1.0 / 3.0)
                + (0.6 - 23.0 / 30.0) * (-2.0 / 3.0)));
    assert!(close(d.within_bins, (wbv - wbc) / 6.0, 1e-6), "{d:?}");
    let brier = brier_score(&p, &y).unwrap();
    assert!(close(
        d.reliability - d.resolution + d.uncertainty + d.within_bins,
        brier,
        1e-12
    ));
}

#[test]
fn murphys_identity_is_exact_when_a_bin_holds_one_forecast_value() {
    // Five slices at 0.8 (four bleed) and five at 0.2 (one bleeds): perfectly calibrated.
    let p = [0.8f32, 0.8, 0.8, 0.8, 0.8, 0.2, 0.2, 0.2, 0.2, 0.2];
    let y = [
        Hemorrhage, Hemorrhage, Hemorrhage, Hemorrhage, Normal, Normal, Normal, Normal, Hemorrhage,
        Normal,
    ];
    let d = brier_decomposition(&p, &y, 10).unwrap();
    assert!(close(d.reliability, 0.0, 1e-12), "{d:?}");
    assert!(close(d.resolution, 0.09, 1e-7)); // 0.5·0.3² + 0.5·0.3²
    assert!(close(d.uncertainty, 0.25, 1e-12));
    assert!(close(d.within_bins, 0.0, 1e-7));
    assert!(close(brier_score(&p, &y).unwrap(), 0.16, 1e-7));
    // And its ECE is 0: each confidence bin's accuracy (0.8) equals its confidence.
    assert!(close(
        expected_calibration_error(&p, &y, 15).unwrap(),
        0.0,
        1e-7
    ));
}

#[test]
fn ece_uses_confidence_bins_as_guo_et_al() {
    let (p, y) = six();
    // Calls at 0.5: 0.9 H ✓ (conf 0.9), 0.8 H ✓ (0.8), 0.3 → normal ✗ (0.7), 0.6 → hemorrhage
    // ✗ (0.6), 0.2 N ✓ (0.8), 0.1 N ✓ (0.9). Four bins of width 0.25: (0.75, 1] holds
    // {0.9, 0.8, 0.8, 0.9}, all right, mean confidence 0.85; (0.5, 0.75] holds {0.7, 0.6}, both
    // wrong, mean confidence 0.65.
    // ECE = 4/6 · |1 − 0.85| + 2/6 · |0 − 0.65| = 0.1 + 0.21667.
    let ece = expected_calibration_error(&p, &y, 4).unwrap();
    assert!(close(ece, 0.1 + 0.65 / 3.0, 1e-6), "{ece}");
    // One bin over [0, 1]: |accuracy − mean confidence| = |4/6 − 4.7/6|.
    let one = expected_calibration_error(&p, &y, 1).unwrap();
    assert!(close(one, 0.7 / 6.0, 1e-6), "{one}");
}

#[test]
fn reliability_bins_count_every_image_once_in_the_bin_that_holds_it() {
    let (p, y) = six();
    let bins = reliability_bins(&p, &y, 5).unwrap();
    assert_eq!(bins.len(), 5);
    assert_eq!(bins.iter().map(|b| b.count).sum::<usize>(), 6);
    for &q in &p {
        let q = f64::from(q);
        let holding: Vec<_> = bins.iter().filter(|b| b.low < q && q <= b.high).collect();
        assert_eq!(holding.len(), 1, "{q}");
    }
    // (0.8, 1] holds 0.9 and 0.8 (0.8 as f32 is 0.800000012, above the edge): both bleeds.
    let top = bins.last().unwrap();
    assert_eq!((top.count, top.observed_frequency), (2, 1.0));
    assert!(close(
        top.mean_probability,
        (0.9f32 as f64 + 0.8f32 as f64) / 2.0,
        1e-12
    ));
    // An empty bin is drawn at its middle with no images.
    assert_eq!(bins[2].count, 0);
    assert!(close(bins[2].mean_probability, 0.5, 1e-12));
}

#[test]
fn the_report_brackets_each_value_with_its_bootstrap_interval() {
    let (p, y) = six();
    let (p, y): (Vec<f32>, Vec<Label>) = p.iter().cycle().zip(y.iter().cycle()).take(60).unzip();
    let r = CalibrationReport::compute_with_resamples(&p, &y, DEFAULT_BINS, 500).unwrap();
    for (name, i) in [
        ("brier", r.brier),
        ("nll", r.nll),
        ("ece", r.ece),
        ("reliability", r.reliability),
        ("resolution", r.resolution),
    ] {
        assert!(i.low <= i.value && i.value <= i.high, "{name}: {i:?}");
        assert!(i.low < i.high, "{name}: a resample moves it: {i:?}");
    }
    assert!(close(r.brier.value, 0.95 / 6.0, 1e-7));
    // The same predictions always give the same intervals.
    assert_eq!(
        r,
        CalibrationReport::compute_with_resamples(&p, &y, DEFAULT_BINS, 500).unwrap()
    );
    let text = r.to_string();
    assert!(text.contains("Brier score  0.158"), "{text}");
    assert!(text.contains("15 equal-width confidence bins"), "{text}");
}

#[test]
fn bad_input_is_refused_with_a_sentence() {
    let (p, y) = six();
    assert!(brier_score(&p[..5], &y).is_err());
    assert!(brier_score(&[], &[]).is_err());
    let err = brier_score(&[1.5], &[Normal]).unwrap_err().to_string();
    assert!(err.contains("index 0 is 1.5"), "{err}");
    assert!(negative_log_likelihood(&[f32::NAN], &[Normal]).is_err());
    assert!(expected_calibration_error(&p, &y, 0).is_err());
    assert!(CalibrationReport::compute_with_resamples(&p, &y, 15, 0).is_err());
}

/// A deterministic, over-confident set: 40 images whose scores are twice what would be
/// calibrated, with a few confident mistakes.
fn overconfident() -> (Vec<f32>, Vec<Label>) {
    let mut p = Vec::new();
    let mut y = Vec::new();
    for i in 0..40 {
        let hemorrhage = i % 2 == 0;
        let z = 0.3 + (i % 7) as f64 * 0.6;
        let z = if (i % 9 == 0) ^ hemorrhage { z } else { -z };
        p.push((1.0 / (1.0 + (-2.0 * z).exp())) as f32);
        y.push(if hemorrhage { Hemorrhage } else { Normal });
    }
    (p, y)
}

#[test]
fn the_fitted_temperature_is_the_brute_force_minimum_of_the_nll() {
    let (p, y) = overconfident();
    let fit = fit_temperature(&p, &y, "validation images").unwrap();
    let nll_at = |t: f64| {
        let q: Vec<f32> = p
            .iter()
            .map(|&p| Temperature::new(t).unwrap().apply_f64(f64::from(p)) as f32)
            .collect();
        negative_log_likelihood(&q, &y).unwrap()
    };
    // A grid of 20 000 temperatures over the whole range, evenly in log.
    let (lo, hi) = TEMPERATURE_RANGE;
    let (best_t, best) = (0..=20_000)
        .map(|k| (lo.ln() + (hi.ln() - lo.ln()) * k as f64 / 20_000.0).exp())
        .map(|t| (t, nll_at(t)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap();
    let t = fit.temperature.value();
    assert!(t > 1.0, "over-confident probabilities need T > 1, got {t}");
    assert!(close(t, best_t, 2e-3 * best_t), "fit {t}, grid {best_t}");
    assert!(fit.nll_after <= best + 1e-6, "{} vs {best}", fit.nll_after);
    assert!(fit.nll_after < fit.nll_before);
    assert!(close(
        fit.nll_before,
        negative_log_likelihood(&p, &y).unwrap(),
        1e-6
    ));
    assert!(!fit.at_range_end);
    // Scaling keeps the calls at 0.5 and the order of the images.
    let q = fit.temperature.apply_all(&p);
    for (a, b) in p.iter().zip(&q) {
        assert_eq!(*a >= 0.5, *b >= 0.5);
    }
}

#[test]
fn a_temperature_needs_enough_images_of_both_classes() {
    let (p, y) = overconfident();
    let err = fit_temperature(&p[..12], &y[..12], "validation images")
        .unwrap_err()
        .to_string();
    assert!(err.contains("12 validation images"), "{err}");
    assert!(err.contains("at least 20 images"), "{err}");
    let normal: Vec<Label> = vec![Normal; 40];
    let err = fit_temperature(&p, &normal, "validation images")
        .unwrap_err()
        .to_string();
    assert!(err.contains("0 hemorrhage"), "{err}");
    // `auto` leaves a small set uncalibrated and says why; `temperature` refuses it.
    let rule = fit_call_rule(
        &p[..12],
        &y[..12],
        CalibrationMode::Auto,
        None,
        Threshold::DEFAULT,
        "validation images",
    )
    .unwrap();
    assert_eq!(rule.temperature(), None);
    assert!(rule.note.unwrap().contains("too few"));
    assert!(check_call_rule_data(&y[..12], CalibrationMode::Temperature, None, "x").is_err());
    assert!(check_call_rule_data(&y[..12], CalibrationMode::None, None, "x").is_ok());
}

#[test]
fn the_threshold_is_the_highest_that_reaches_the_target_on_hand_made_cases() {
    let p = [0.9f32, 0.7, 0.4, 0.2, 0.6, 0.1, 0.05];
    let y = [
        Hemorrhage, Hemorrhage, Hemorrhage, Hemorrhage, Normal, Normal, Normal,
    ];
    let at = |s: f64| {
        choose_threshold(
            &p,
            &y,
            TargetSensitivity::new(s).unwrap(),
            "validation images",
        )
        .unwrap()
    };
    // 4 hemorrhages: a target of 0.5 needs 2 (0.7), 0.75 needs 3 (0.4), 0.76 and 1.0 need all 4
    // (0.2), 0.01 needs 1 (0.9).
    assert_eq!(at(0.5).threshold.value(), 0.7);
    assert_eq!(at(0.75).threshold.value(), 0.4);
    assert_eq!(at(0.76).threshold.value(), 0.2);
    assert_eq!(at(1.0).threshold.value(), 0.2);
    assert_eq!(at(0.01).threshold.value(), 0.9);
    let point = at(0.75);
    assert_eq!(point.sensitivity, 0.75);
    assert!(close(point.specificity, 2.0 / 3.0, 1e-12)); // 0.6 is a false alarm
    assert_eq!(
        point.chosen_on,
        "chosen on 7 validation images (4 hemorrhage) for sensitivity ≥ 0.75"
    );
    // Ties cross together: the threshold reaches at least the target.
    let tied = choose_threshold(
        &[0.7, 0.7, 0.5, 0.3],
        &[Hemorrhage, Hemorrhage, Hemorrhage, Normal],
        TargetSensitivity::new(0.5).unwrap(),
        "x",
    )
    .unwrap();
    assert_eq!(tied.threshold.value(), 0.7);
    assert!(close(tied.sensitivity, 2.0 / 3.0, 1e-12));
    // 0.9 of 50 hemorrhages is 45 exactly, not 46 from rounding.
    let many: Vec<f32> = (0..50).map(|i| 1.0 - i as f32 / 100.0).collect();
    let point = choose_threshold(
        &many,
        &[Hemorrhage; 50],
        TargetSensitivity::new(0.9).unwrap(),
        "x",
    )
    .unwrap();
    assert_eq!(point.threshold.value(), many[44]);
    assert_eq!(point.sensitivity, 0.9);
}

#[test]
fn a_target_outside_0_to_1_or_no_hemorrhage_is_refused() {
    for bad in [0.0, -0.1, 1.01, f64::NAN, f64::INFINITY] {
        let err = TargetSensitivity::new(bad).unwrap_err().to_string();
        assert!(err.contains("--target-sensitivity"), "{bad}: {err}");
    }
    assert!("nan".parse::<TargetSensitivity>().is_err());
    assert!("0.9x".parse::<TargetSensitivity>().is_err());
    assert_eq!("1".parse::<TargetSensitivity>().unwrap().value(), 1.0);
    let err = choose_threshold(
        &[0.2, 0.3],
        &[Normal, Normal],
        TargetSensitivity::new(0.9).unwrap(),
        "validation images",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("hold no hemorrhage"), "{err}");
    let err = check_call_rule_data(
        &[Normal; 30],
        CalibrationMode::Auto,
        Some(TargetSensitivity::new(0.9).unwrap()),
        "validation images",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("validation images"), "{err}");
}

#[test]
fn the_call_rule_chooses_the_threshold_on_calibrated_probabilities() {
    let (p, y) = overconfident();
    let target = TargetSensitivity::new(0.9).unwrap();
    let rule = fit_call_rule(
        &p,
        &y,
        CalibrationMode::Auto,
        Some(target),
        Threshold::DEFAULT,
        "validation images",
    )
    .unwrap();
    let t = rule.temperature().expect("40 images are enough");
    let point = rule.operating_point.as_ref().unwrap();
    assert!(point.on_calibrated);
    assert_eq!(rule.threshold, point.threshold);
    let direct = choose_threshold(&t.apply_all(&p), &y, target, "validation images").unwrap();
    assert_eq!(direct.threshold, rule.threshold);
    assert!(point.sensitivity >= 0.9);
}
