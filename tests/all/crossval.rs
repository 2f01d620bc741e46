//! Cross-validation and seed spread: the fold logic (stratified, disjoint, complete,
//! deterministic), pooled metrics against a hand-built example, spread statistics against hand
//! values, and a tiny end-to-end run on phantoms.

use std::time::Duration;

use head_ct::{
    data::{phantoms::phantom_splits, prepare::SplitCounts},
    experiments::{
        cross_validate, fold_seed, parse_seeds, seed_layout_pool, seed_spread, stratified_folds,
        subset, CrossValConfig, CrossValReport, FoldPredictions, SeedRun, SeedSpreadReport, Spread,
    },
    metrics::BinaryMetrics,
    plots,
    table::Report,
    training::{observer::Silent, History, Recipe},
    Error, Label, Threshold,
};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// Labels from 0/1 flags (1 = hemorrhage), as the hand examples write them.
fn flags(flags: &[u8]) -> Vec<Label> {
    flags
        .iter()
        .map(|&f| Label::from_flag(f).expect("0 or 1"))
        .collect()
}

fn labels(positives: usize, negatives: usize) -> Vec<Label> {
    // Interleaved, so that the classes are not simply the first and second half.
    let mut l = Vec::new();
    let (mut p, mut n) = (positives, negatives);
    while p + n > 0 {
        if p > 0 {
            l.push(Label::Hemorrhage);
            p -= 1;
        }
        if n > 0 && (n > p || l.len() % 3 == 0) {
            l.push(Label::Normal);
            n -= 1;
        }
    }
    l
}

#[track_caller]
fn check_folds(labels: &[Label], k: usize, seed: u64) {
    let folds = stratified_folds(labels, k, seed).unwrap();
    assert_eq!(folds.len(), k);
    // Complete and disjoint: every image held out by exactly one fold.
    let mut seen = vec![0usize; labels.len()];
    for fold in &folds {
        assert!(fold.windows(2).all(|w| w[0] < w[1]), "sorted, no repeats");
        for &i in fold {
            seen[i] += 1;
        }
    }
    assert!(seen.iter().all(|&c| c == 1), "{seen:?}");
    // Stratified: per class, fold counts differ by at most one; so do fold sizes.
    for class in Label::POSITIVE_FIRST {
        let counts: Vec<usize> = folds
            .iter()
            .map(|f| f.iter().filter(|&&i| labels[i] == class).count())
            .collect();
        let (min, max) = (counts.iter().min().unwrap(), counts.iter().max().unwrap());
        assert!(max - min <= 1, "class {class}: {counts:?}");
        assert!(*min >= 1, "class {class} missing from a fold: {counts:?}");
    }
    let sizes: Vec<usize> = folds.iter().map(Vec::len).collect();
    assert!(
        sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1,
        "{sizes:?}"
    );
    // Deterministic.
    assert_eq!(folds, stratified_folds(labels, k, seed).unwrap());
}

#[test]
fn folds_are_stratified_disjoint_complete_and_deterministic() {
    for (p, n) in [(100, 100), (7, 13), (5, 5), (11, 6), (23, 40)] {
        for k in [2, 3, 5] {
            if p.min(n) < k {
                continue;
            }
            for seed in [0, 1, 42] {
                check_folds(&labels(p, n), k, seed);
            }
        }
    }
    // Exactly k of a class: one per fold.
    check_folds(&labels(5, 9), 5, 3);
}

#[test]
fn folds_depend_on_the_seed_and_are_shuffled() {
    let l = labels(100, 100);
    let a = stratified_folds(&l, 5, 1).unwrap();
    let b = stratified_folds(&l, 5, 2).unwrap();
    assert_ne!(a, b);
    // Not simply consecutive blocks of the input.
    assert!(a.iter().any(|f| f.windows(2).any(|w| w[1] - w[0] > 3)));
}

#[test]
fn folds_refuse_a_class_smaller_than_k() {
    let err = stratified_folds(&labels(4, 20), 5, 1).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::InvalidInput(_)), "{msg}");
    assert!(msg.contains("at least 5 `hemorrhage` images"), "{msg}");
    assert!(msg.contains("only 4"), "{msg}");
    let msg = stratified_folds(&labels(20, 3), 5, 1)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("`normal`"), "{msg}");
    assert!(stratified_folds(&labels(20, 20), 1, 1).is_err());
}

#[test]
fn fold_seeds_are_distinct() {
    assert_eq!(fold_seed(1, 1), 1001);
    assert_eq!(fold_seed(1, 5), 1005);
    assert_eq!(fold_seed(2, 1), 2001);
}

fn fold(
    fold: usize,
    held_out: Vec<usize>,
    probabilities: Vec<f32>,
    labels: &[u8],
) -> FoldPredictions {
    FoldPredictions {
        fold,
        seed: fold_seed(1, fold),
        train_images: 10 - held_out.len(),
        held_out,
        probabilities,
        labels: flags(labels),
        history: History {
            loss: vec![0.5, 0.25],
            ..History::default()
        },
        elapsed: Duration::ZERO,
    }
}

/// Two folds of five images of a pool of ten.
fn hand_report() -> CrossValReport {
    let f1 = fold(
        1,
        vec![0, 3, 4, 7, 8],
        vec![0.9, 0.6, 0.2, 0.4, 0.3],
        &[1, 0, 1, 0, 0],
    );
    let f2 = fold(
        2,
        vec![1, 2, 5, 6, 9],
        vec![0.8, 0.45, 0.7, 0.1, 0.55],
        &[1, 1, 0, 0, 1],
    );
    CrossValReport::from_folds(vec![f1, f2], Threshold::DEFAULT).unwrap()
}

#[test]
fn pooled_metrics_are_those_of_the_concatenated_out_of_fold_predictions() {
    let r = hand_report();
    // In pool order.
    let probabilities = [0.9, 0.8, 0.45, 0.6, 0.2, 0.7, 0.1, 0.4, 0.3, 0.55];
    let labels = flags(&[1, 1, 1, 0, 1, 0, 0, 0, 0, 1]);
    assert_eq!(r.oof_probabilities, probabilities);
    assert_eq!(r.labels, labels);
    assert_eq!(r.oof_fold, [1, 2, 2, 1, 1, 2, 2, 1, 1, 2]);
    // By hand, at 0.5: hemorrhages 0.9 0.8 0.55 found, 0.45 0.2 missed; normals 0.6 0.7 false
    // alarms, 0.1 0.4 0.3 cleared.
    let c = r.pooled.confusion;
    assert_eq!(
        (
            c.true_positives,
            c.false_negatives,
            c.false_positives,
            c.true_negatives
        ),
        (3, 2, 2, 3)
    );
    assert_eq!(r.pooled.accuracy.successes, 6);
    assert_eq!(r.pooled.accuracy.total, 10);
    // AUC by hand: pairs (hemorrhage above normal) of 25: 0.9→5, 0.8→5, 0.55→3, 0.45→3,
    // 0.2→1: 17/25.
    assert!(close(r.pooled.auc.unwrap().value, 17.0 / 25.0));
    // And exactly what BinaryMetrics says about the concatenation.
    assert_eq!(
        r.pooled,
        BinaryMetrics::compute(&probabilities, &labels, Threshold::DEFAULT).unwrap()
    );
    // Per fold: fold 1 holds 2 hemorrhages (0.9, 0.2) and 3 normals (0.6, 0.4, 0.3).
    let m1 = &r.folds[0].metrics;
    assert_eq!(m1.accuracy.successes, 3);
    assert!(close(m1.auc.unwrap().value, 3.0 / 6.0 + 0.0 / 6.0 + 0.0));
}

#[test]
fn spread_across_folds_table_and_csv() {
    let r = hand_report();
    let s = r.across_folds();
    // Accuracies 3/5 and 3/5; AUCs 0.5 and (fold 2: hemorrhages 0.8 0.45 0.55 vs normals 0.7
    // 0.1: 2 + 1 + 1 = 4 of 6).
    assert_eq!(s[0].0, "accuracy");
    assert!(close(s[0].1.mean, 0.6) && close(s[0].1.sd, 0.0));
    let auc2 = 4.0 / 6.0;
    assert!(close(s[3].1.mean, (0.5 + auc2) / 2.0));
    assert!(close(s[3].1.sd, (auc2 - 0.5) / 2f64.sqrt()));
    let table = r.markdown();
    assert_eq!(r.table().to_string(), table);
    assert!(table.contains("| **pooled** |"), "{table}");
    assert!(table.contains("6/10"), "{table}");
    assert!(table.contains("| mean ± sd |"), "{table}");
    let csv = r.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 1 + 2 + 3);
    assert!(lines[0].starts_with("row,seed,train_images,held_out_images,accuracy,"));
    assert!(lines[1].starts_with("1,1001,5,5,0.600000,"));
    assert!(lines[3].starts_with("pooled,,,10,0.600000,"));
    assert!(lines[4].starts_with("mean,,,,0.600000,"));
    assert!(lines[4].ends_with(",0.250000"), "{}", lines[4]);
    // Out-of-fold predictions in pool order; a comma in a file name is quoted.
    let mut pool = head_ct::data::ImageSet::from_parts(
        vec!["hemorrhage".into(), "normal".into()],
        (0..10)
            .map(|i| {
                head_ct::data::Sample::new(
                    format!("img{i}{}.png", if i == 3 { ",x" } else { "" }).into(),
                    Some(r.labels[i]),
                )
            })
            .collect(),
        vec![0.0; 10 * head_ct::model::IMAGE_LEN],
        head_ct::input::ModelInput::TEACHING,
    )
    .unwrap();
    let oof = r.predictions_csv(&pool);
    let oof_lines: Vec<&str> = oof.lines().collect();
    assert_eq!(
        oof_lines[0],
        "path,label,fold,probability,calibrated_probability,threshold,call"
    );
    // Before calibration: no calibrated probability, the recipe's threshold and its call.
    assert_eq!(oof_lines[1], "img0.png,1,1,0.900000,,0.5,hemorrhage");
    assert_eq!(oof_lines[4], "\"img3,x.png\",0,1,0.600000,,0.5,hemorrhage");
    pool.samples.truncate(0);
    assert_eq!(r.predictions_csv(&pool).lines().count(), 1);
    let header_cols = lines[0].split(',').count();
    assert!(
        lines.iter().all(|l| l.split(',').count() == header_cols),
        "{csv}"
    );
}

/// The body rows of an HTML table, each checked to be one well-formed `<tr>` with `cells`
/// cells.
#[track_caller]
fn html_rows(html: &str, cells: usize) -> Vec<String> {
    assert!(html.starts_with("<table>\n"), "{html}");
    assert!(html.ends_with("</tbody>\n</table>\n"), "{html}");
    assert_eq!(html.matches("<table>").count(), 1);
    assert_eq!(html.matches("<thead><tr>").count(), 1);
    let header = html.lines().find(|l| l.starts_with("<thead>")).unwrap();
    assert_eq!(header.matches("<th ").count(), cells, "{header}");
    assert_eq!(header.matches("</th>").count(), cells, "{header}");
    let rows: Vec<String> = html
        .lines()
        .filter(|l| l.starts_with("<tr>"))
        .map(str::to_string)
        .collect();
    for row in &rows {
        assert!(row.ends_with("</tr>"), "{row}");
        assert_eq!(row.matches("<td ").count(), cells, "{row}");
        assert_eq!(row.matches("</td>").count(), cells, "{row}");
        assert_eq!(
            row.matches("<strong>").count(),
            row.matches("</strong>").count()
        );
    }
    rows
}

#[test]
fn reports_show_as_html_tables_in_notebooks() {
    let r = hand_report();
    let html = r.html();
    let rows = html_rows(&html, 8);
    // Two folds, pooled, mean ± sd: the rows of the Markdown table.
    assert_eq!(rows.len(), 4);
    assert_eq!(r.markdown().lines().count(), 2 + rows.len());
    assert!(html.contains("<caption>2-fold cross-validation at threshold 0.5"));
    assert!(html.contains("<th style=\"text-align: left\">AUC (95% CI)</th>"));
    assert!(rows[0].starts_with(
        "<tr><td style=\"text-align: right\">1</td><td style=\"text-align: right\">1001</td>"
    ));
    assert!(rows[2].contains("<strong>pooled</strong>") && rows[2].contains("6/10"));
    assert!(rows[3].contains(">mean ± sd<"));
    // Markdown for the command line, unchanged.
    assert!(r.markdown().starts_with(
        "| fold | seed | trained on | held out | accuracy (95% CI) | sensitivity (95% CI) | specificity (95% CI) | AUC (95% CI) |\n\
         |---:|---:|---:|---:|---|---|---|---|\n| 1 | 1001 | 5 | 5 | 0.60 ("
    ));
    assert!(r.markdown().contains("\n| **pooled** | | | 10 | 0.60 ("));

    let report = SeedSpreadReport {
        runs: vec![run(1, 0.78, 0.928, 0.30), run(2, 0.84, 0.936, 0.20)],
    };
    let html = report.html();
    let rows = html_rows(&html, 7);
    assert_eq!(rows.len(), 2 + 4);
    assert!(html.contains("<caption>The same data and recipe trained with 2 seeds"));
    assert!(rows[2].contains("<strong>mean</strong>") && rows[2].contains(">0.81<"));
    assert!(rows[5].starts_with("<tr><td style=\"text-align: right\">max</td>"));
    // What evcxr reads: the HTML table, then the Markdown as plain text.
    let table = report.table();
    let content = table.evcxr_content();
    assert!(content.starts_with("EVCXR_BEGIN_CONTENT text/html\n<table>\n"));
    assert!(
        content.contains("</table>\nEVCXR_END_CONTENT\nEVCXR_BEGIN_CONTENT text/plain\n| seed |")
    );
    assert!(content
        .ends_with("| max | 0.84 | 0.936 | 0.80 | 0.84 | 0.300 | 0.400 |\nEVCXR_END_CONTENT\n"));
}

#[test]
fn reports_refuse_inconsistent_folds() {
    let t = Threshold::DEFAULT;
    let f1 = fold(1, vec![0, 1], vec![0.9, 0.1], &[1, 0]);
    let f2 = fold(2, vec![1, 2], vec![0.8, 0.2], &[1, 0]);
    assert!(CrossValReport::from_folds(vec![f1.clone(), f2], t).is_err());
    let short = fold(2, vec![2, 3], vec![0.8], &[1, 0]);
    assert!(CrossValReport::from_folds(vec![f1, short], t).is_err());
    assert!(CrossValReport::from_folds(Vec::new(), t).is_err());
}

#[test]
fn crossval_figure_draws_folds_and_pooled_curve() {
    let figure = plots::crossval_roc_figure(&hand_report()).unwrap();
    assert_eq!((figure.width, figure.height), (860, 800));
    // Something besides white was drawn.
    assert!(figure.rgb.iter().any(|&b| b < 100));
    // Without both classes there is no pooled curve.
    let one_class = CrossValReport::from_folds(
        vec![
            fold(1, vec![0], vec![0.9], &[1]),
            fold(2, vec![1], vec![0.2], &[1]),
        ],
        Threshold::DEFAULT,
    )
    .unwrap();
    assert!(plots::crossval_roc_figure(&one_class).is_err());
}

#[test]
fn spread_against_hand_values() {
    let s = Spread::of(&[0.8, 0.9, 0.7, 0.6]);
    assert_eq!(s.n, 4);
    assert!(close(s.mean, 0.75));
    // Squared deviations 0.0025 + 0.0225 + 0.0025 + 0.0225 = 0.05, over n − 1 = 3.
    assert!(close(s.sd, (0.05f64 / 3.0).sqrt()));
    assert_eq!((s.min, s.max), (0.6, 0.9));
    assert_eq!(s.mean_sd(2), "0.75 ± 0.13");
    let one = Spread::of(&[0.5, f64::NAN]);
    assert_eq!((one.n, one.mean, one.sd), (1, 0.5, 0.0));
    assert!(Spread::of(&[]).mean.is_nan());
}

fn run(seed: u64, val_accuracy: f64, val_auc: f64, final_loss: f64) -> SeedRun {
    SeedRun {
        seed,
        val_accuracy,
        val_auc,
        sensitivity: 0.8,
        specificity: val_accuracy,
        final_loss,
        val_loss: 0.4,
        elapsed: Duration::ZERO,
    }
}

#[test]
fn seed_spread_statistics_against_hand_values() {
    let report = SeedSpreadReport {
        runs: vec![
            run(1, 0.78, 0.928, 0.30),
            run(2, 0.84, 0.936, 0.20),
            run(3, 0.72, 0.918, 0.25),
        ],
    };
    let acc = report.spread("val accuracy").unwrap();
    // Mean 0.78; deviations 0, 0.06, −0.06; sd = √((0.0036 + 0.0036) / 2) = 0.06.
    assert!(close(acc.mean, 0.78));
    assert!(close(acc.sd, 0.06));
    assert_eq!((acc.min, acc.max), (0.72, 0.84));
    let auc = report.spread("val AUC").unwrap();
    assert!(close(auc.mean, (0.928 + 0.936 + 0.918) / 3.0));
    assert_eq!((auc.min, auc.max), (0.918, 0.936));
    let loss = report.spread("final loss").unwrap();
    assert!(close(loss.mean, 0.25) && close(loss.sd, 0.05));
    let sens = report.spread("sensitivity").unwrap();
    assert!(close(sens.sd, 0.0));
    assert!(report.spread("no such metric").is_none());

    let table = report.markdown();
    assert!(table.contains("| **mean** | 0.78 | 0.927 |"), "{table}");
    let csv = report.to_csv();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "row,val_accuracy,val_auc,sensitivity,specificity,final_loss,val_loss"
    );
    assert_eq!(lines.len(), 1 + 3 + 4);
    assert!(lines[4].starts_with("mean,0.780000,"), "{csv}");
    assert!(lines[6].starts_with("min,0.720000,0.918000,"), "{csv}");
}

#[test]
fn seeds_are_parsed_as_a_list_or_a_count() {
    assert_eq!(parse_seeds("5").unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(parse_seeds("1,2,3").unwrap(), vec![1, 2, 3]);
    assert_eq!(parse_seeds(" 7, 3 ").unwrap(), vec![7, 3]);
    for bad in ["0", "1,1", "a", "1,,2", "", "-1"] {
        assert!(parse_seeds(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn pools_subsets_and_a_tiny_cross_validation_on_phantoms() {
    let counts = SplitCounts {
        train: 3,
        validate: 2,
        test: 1,
    };
    let data = phantom_splits(3, counts).into_seed_data();
    let pool = seed_layout_pool(&data, false).unwrap();
    assert_eq!(pool.len(), 10);
    assert_eq!(seed_layout_pool(&data, true).unwrap().len(), 12);
    let s = subset(&pool, &[7, 2]).unwrap();
    assert_eq!(
        s.samples,
        vec![pool.samples[7].clone(), pool.samples[2].clone()]
    );
    assert_eq!(s.image(0), pool.image(7));
    assert!(subset(&pool, &[10]).is_err());

    let config = CrossValConfig {
        folds: 2,
        seed: 4,
        recipe: Recipe {
            epochs: 1,
            batch_size: 5,
            ..Recipe::TEACHING
        },
    };
    let report = cross_validate(&pool, &config, &mut Silent).unwrap();
    assert_eq!(report.folds.len(), 2);
    assert_eq!(report.pooled.confusion.total(), 10);
    assert!(report.oof_fold.iter().all(|&f| f == 1 || f == 2));
    assert!(report
        .oof_probabilities
        .iter()
        .all(|p| (0.0..=1.0).contains(p)));
    for (f, r) in report.folds.iter().enumerate() {
        assert_eq!(r.predictions.seed, fold_seed(4, f + 1));
        assert_eq!(
            r.predictions.train_images + r.predictions.held_out.len(),
            10
        );
        assert_eq!(r.predictions.history.epochs(), 1);
    }
    // The same seed gives the same predictions.
    let again = cross_validate(&pool, &config, &mut Silent).unwrap();
    assert_eq!(again.oof_probabilities, report.oof_probabilities);

    // Three folds need three of each class: 5 per class here, so 6 folds are refused.
    let err =
        cross_validate(&pool, &CrossValConfig { folds: 6, ..config }, &mut Silent).unwrap_err();
    assert!(err.to_string().contains("at least 6"), "{err}");

    let spread = seed_spread(
        &data.train,
        &data.validate,
        &[1, 2],
        &config.recipe,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(spread.runs.len(), 2);
    assert_eq!(spread.runs[1].seed, 2);
    assert!(spread.spread("val accuracy").unwrap().n == 2);
    assert!(seed_spread(
        &data.train,
        &data.validate,
        &[],
        &config.recipe,
        &mut Silent
    )
    .is_err());
}

/// Fold k's temperature and threshold come from the other folds' out-of-fold predictions only,
/// and `oof_predictions.csv` records what each image's fold did.
#[test]
fn each_fold_is_calibrated_without_its_own_images() {
    use head_ct::{calibration::*, operating_point::*};
    // Two folds of 30: fold 1 over-confident, fold 2 differently so; labels alternate.
    let make = |k: usize, scale: f64| {
        let held: Vec<usize> = (0..30).map(|i| (k - 1) * 30 + i).collect();
        let labels: Vec<u8> = (0..30).map(|i| (i % 2) as u8).collect();
        let p: Vec<f32> = (0..30)
            .map(|i| {
                let z = (0.2 + (i % 5) as f64 * 0.5)
                    * if (i % 2 == 1) ^ (i % 7 == 0) {
                        1.0
                    } else {
                        -1.0
                    };
                (1.0 / (1.0 + (-scale * z).exp())) as f32
            })
            .collect();
        FoldPredictions {
            fold: k,
            seed: fold_seed(1, k),
            train_images: 30,
            held_out: held,
            probabilities: p,
            labels: flags(&labels),
            history: History::default(),
            elapsed: Duration::ZERO,
        }
    };
    let folds = vec![make(1, 3.0), make(2, 1.5)];
    let (p2, y2) = (folds[1].probabilities.clone(), folds[1].labels.clone());
    let (p1, y1) = (folds[0].probabilities.clone(), folds[0].labels.clone());
    let mut r = CrossValReport::from_folds(folds, Threshold::DEFAULT).unwrap();
    let target = TargetSensitivity::new(0.9).unwrap();
    r.calibrate(CalibrationMode::Temperature, Some(target))
        .unwrap();
    let c = r.calibration.as_ref().unwrap();
    let from_fold_2 = fit_temperature(&p2, &y2, "x").unwrap().temperature;
    let from_fold_1 = fit_temperature(&p1, &y1, "x").unwrap().temperature;
    assert_eq!(c.folds[0].rule.temperature(), Some(from_fold_2));
    assert_eq!(c.folds[1].rule.temperature(), Some(from_fold_1));
    let threshold_1 = choose_threshold(&from_fold_2.apply_all(&p2), &y2, target, "x")
        .unwrap()
        .threshold;
    assert_eq!(c.folds[0].rule.threshold, threshold_1);
    // Pooled counts at each fold's own threshold.
    let calls: usize = (0..60)
        .filter(|&i| {
            c.thresholds[i].calls_hemorrhage(c.calibrated[i]) && r.labels[i].is_hemorrhage()
        })
        .count();
    assert_eq!(c.sensitivity().successes, calls);
    assert_eq!(c.sensitivity().total, 30);
    assert!(c.summary().contains("(asked: 0.90)"));
    // The CSV row of image 0: its calibrated probability, fold 1's threshold and the call.
    let pool = head_ct::data::ImageSet::from_parts(
        vec!["hemorrhage".into(), "normal".into()],
        (0..60)
            .map(|i| head_ct::data::Sample::new(format!("img{i}.png").into(), Some(r.labels[i])))
            .collect(),
        vec![0.0; 60 * head_ct::model::IMAGE_LEN],
        head_ct::input::ModelInput::TEACHING,
    )
    .unwrap();
    let cal = c.calibrated[0];
    let rule = &c.folds[0].rule;
    let expected = format!(
        "img0.png,0,1,{:.6},{cal:.6},{},{}",
        r.oof_probabilities[0],
        rule.threshold,
        rule.threshold.call(cal)
    );
    assert_eq!(r.predictions_csv(&pool).lines().nth(1).unwrap(), expected);
    assert_ne!(cal, r.oof_probabilities[0]);
    // Two folds and the pooled row.
    assert_eq!(c.to_csv().lines().count(), 4, "{}", c.to_csv());
}

/// A fold whose training loss is still at ln 2 after epoch 3 is named, in plain words.
#[test]
fn folds_that_sat_at_chance_are_named() {
    let mut stuck = fold(1, vec![0, 1, 2, 3, 4], vec![0.5; 5], &[1, 0, 1, 0, 1]);
    stuck.history.loss = vec![0.70, 0.695, 0.690, 0.689];
    let mut fine = fold(
        2,
        vec![5, 6, 7, 8, 9],
        vec![0.9, 0.1, 0.8, 0.2, 0.7],
        &[1, 0, 1, 0, 1],
    );
    fine.history.loss = vec![0.70, 0.60, 0.45, 0.30];
    let r = CrossValReport::from_folds(vec![stuck, fine], Threshold::DEFAULT).unwrap();
    let warnings = r.training_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("fold 1 (seed 1001): training sat at chance: the training loss was 0.6900 after epoch 3"),
        "{warnings:?}"
    );
    assert!(
        warnings[0].contains("still 0.6890 after epoch 4"),
        "{warnings:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("training_warnings.txt");
    r.write_training_warnings(&path).unwrap();
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        format!("{}\n", warnings[0])
    );
}
