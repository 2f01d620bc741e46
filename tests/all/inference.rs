//! Predictions in plain language, their scores, and the figures the notebooks and the CLI share.

use std::path::PathBuf;

use head_ct::{
    data::phantoms::phantom_splits,
    data::prepare::SplitCounts,
    inference::{predictions_report, score_predictions, score_predictions_at, Prediction},
    plots, Label, Threshold,
};

fn prediction(name: &str, probability: f32, truth: Option<Label>) -> Prediction {
    Prediction {
        path: PathBuf::from(name),
        probability,
        calibrated: None,
        threshold: Threshold::DEFAULT,
        truth,
        note: None,
    }
}

#[test]
fn the_report_says_each_verdict_and_counts_the_correct_ones() {
    let predictions = [
        prediction("hemorrhage/1.png", 0.9, Some(Label::Hemorrhage)),
        prediction("hemorrhage/2.png", 0.2, Some(Label::Hemorrhage)),
        prediction("normal/3.png", 0.7, Some(Label::Normal)),
        prediction("normal/4.png", 0.1, Some(Label::Normal)),
    ];
    let report = predictions_report(&predictions);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines.len(), 5, "{report}");
    assert!(lines[0].ends_with("— correct"), "{report}");
    assert!(lines[1].ends_with("— missed"), "{report}");
    assert!(lines[2].ends_with("— false alarm"), "{report}");
    assert_eq!(lines[4], "  2 of 4 correct");

    let metrics = score_predictions(&predictions).unwrap();
    assert_eq!(metrics.confusion.true_positives, 1);
    assert_eq!(metrics.confusion.false_negatives, 1);
    assert_eq!(metrics.confusion.false_positives, 1);
    assert_eq!(metrics.confusion.true_negatives, 1);
    assert_eq!(metrics.auc.as_ref().unwrap().value, 0.75);

    // The same probabilities called at 0.15: the missed bleed (0.2) is found, and the normal
    // image at 0.1 stays normal; the AUC does not move.
    let lower = score_predictions_at(&predictions, Threshold::new(0.15).unwrap()).unwrap();
    assert_eq!(lower.confusion.true_positives, 2);
    assert_eq!(lower.confusion.false_negatives, 0);
    assert_eq!(lower.confusion.false_positives, 1);
    assert_eq!(lower.confusion.true_negatives, 1);
    assert_eq!(lower.auc.as_ref().unwrap().value, 0.75);
    assert_eq!(
        score_predictions_at(&predictions, Threshold::DEFAULT).unwrap(),
        metrics
    );
}

#[test]
fn unlabelled_predictions_are_reported_but_not_scored() {
    let predictions = [prediction("a.png", 0.9, None)];
    let report = predictions_report(&predictions);
    assert_eq!(report.lines().count(), 1, "{report}");
    let err = score_predictions(&predictions).unwrap_err().to_string();
    assert!(err.contains("a.png") && err.contains("no label"), "{err}");
}

#[test]
fn sets_describe_themselves_and_figures_follow_the_set() {
    let splits = phantom_splits(
        5,
        SplitCounts {
            train: 3,
            validate: 2,
            test: 1,
        },
    );
    let set = splits.train.images;
    assert_eq!(set.describe(), "6 images (3 hemorrhage, 3 normal)");
    let hemorrhage = (0..set.len())
        .find(|&i| set.samples[i].label == Some(Label::Hemorrhage))
        .unwrap();
    let normal = (0..set.len())
        .find(|&i| set.samples[i].label == Some(Label::Normal))
        .unwrap();
    assert_eq!(set.class_name_of(hemorrhage), Some("hemorrhage"));
    assert_eq!(set.class_name_of(normal), Some("normal"));

    let figure = plots::class_samples(&set, 2).unwrap();
    assert!(!figure.to_png_bytes().unwrap().is_empty());

    let predictions: Vec<Prediction> = set
        .samples
        .iter()
        .map(|s| Prediction {
            path: s.path.clone(),
            probability: 0.5,
            calibrated: None,
            threshold: Threshold::DEFAULT,
            truth: s.label,
            note: s.note.clone(),
        })
        .collect();
    assert!(plots::predictions_figure(&predictions, &set).is_ok());
    let err = plots::predictions_figure(&predictions[..2], &set)
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 predictions for a set of 6 images"), "{err}");
}

#[test]
fn feature_maps_draw_each_map_and_refuse_a_wrong_count() {
    // Two 4x4 maps: a ramp and a constant (which must not divide by zero).
    let mut maps: Vec<f32> = (0..16).map(|v| v as f32).collect();
    maps.extend([3.0; 16]);
    let figure = plots::feature_maps(&maps, 2, 4, "two maps").unwrap();
    let png = figure.to_png_bytes().unwrap();
    assert!(png.starts_with(b"\x89PNG"));
    let err = plots::feature_maps(&maps, 3, 4, "x")
        .unwrap_err()
        .to_string();
    assert!(err.contains("32 values are not 3 maps of 4x4"), "{err}");
    assert!(plots::feature_maps(&[], 0, 0, "x").is_err());
}

#[test]
fn a_probability_just_under_the_threshold_is_not_shown_as_the_threshold() {
    let p = prediction("normal/1.png", 0.495, Some(Label::Normal));
    assert_eq!(p.shown_probability(), "0.495");
    assert!(p
        .sentence()
        .contains("normal (uncalibrated probability of hemorrhage 0.495)"));
    // Calibrated, the sentence says so and calls on the calibrated probability: at T = 0.5 the
    // score doubles, σ(2 · ln(0.8 / 0.2)) = 16/17 = 0.941.
    let t = head_ct::calibration::Temperature::new(0.5).unwrap();
    let c = prediction("a.png", 0.8, None).calibrated_with(Some(t));
    assert!(c
        .sentence()
        .contains("hemorrhage (calibrated probability of hemorrhage 0.94)"));
    assert_eq!(c.probability, 0.8);
    assert_eq!(prediction("a.png", 0.92, None).shown_probability(), "0.92");
    assert_eq!(prediction("a.png", 0.5, None).shown_probability(), "0.50");
    assert_eq!(
        prediction("a.png", 0.4999999, None).shown_probability(),
        "0.4999999"
    );
}
