//! `head-ct cross-validate` and `head-ct seeds` from the outside, on tiny phantom data with one
//! epoch: the tables, the files they write, and clear errors.

use std::fs;
use std::path::Path;

use crate::common;
use common::{head_ct, text};

/// Phantoms in the seed layout at `d/ph`: 4 + 2 (+ 1 test) per class.
fn phantoms(d: &Path) {
    let out = head_ct(
        &[
            "phantoms",
            "--out",
            "ph",
            "--train",
            "8",
            "--validate",
            "4",
            "--test",
            "2",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn cross_validate_a_seed_layout_prints_folds_and_pooled_and_writes_files() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    phantoms(d);
    let out = head_ct(
        &[
            "cross-validate",
            "--data",
            "ph",
            "--folds",
            "2",
            "--epochs",
            "1",
            "--out",
            "cv",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("test/ left out"), "{log}");
    assert!(log.contains("fold 1/2 (seed 1001)"), "{log}");
    assert!(log.contains("fold 2/2 (seed 1002)"), "{log}");
    assert!(log.contains("| **pooled** | | | 12 |"), "{log}");
    assert!(log.contains("pooled over 12 images: accuracy"), "{log}");
    for file in [
        "cross_validation.csv",
        "oof_predictions.csv",
        "crossval_roc.png",
    ] {
        assert!(d.join("cv").join(file).is_file(), "{file} missing\n{log}");
    }
    let csv = fs::read_to_string(d.join("cv/cross_validation.csv")).unwrap();
    assert!(csv.starts_with("row,seed,"), "{csv}");
    assert!(csv.contains("\npooled,,,12,"), "{csv}");
    let oof = fs::read_to_string(d.join("cv/oof_predictions.csv")).unwrap();
    assert_eq!(oof.lines().count(), 1 + 12, "{oof}");

    // --include-test adds the 2 test images.
    let out = head_ct(
        &[
            "cross-validate",
            "--data",
            "ph",
            "--include-test",
            "--folds",
            "2",
            "--epochs",
            "1",
            "--out",
            "cv2",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("pooled over 14 images"), "{log}");
}

#[test]
fn cross_validate_a_kaggle_folder() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    phantoms(d);
    // A Kaggle-style folder: labels.csv and NNN.png, made of the phantom training images.
    let kaggle = d.join("kaggle");
    fs::create_dir_all(&kaggle).unwrap();
    let mut csv = String::from("id,hemorrhage\n");
    let mut id = 0;
    for (class, label) in [("hemorrhage", 1), ("normal", 0)] {
        let mut files: Vec<_> = fs::read_dir(d.join("ph/train").join(class))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        files.sort();
        for f in files {
            fs::copy(&f, kaggle.join(format!("{id:03}.png"))).unwrap();
            csv.push_str(&format!("{id:03},{label}\n"));
            id += 1;
        }
    }
    fs::write(kaggle.join("labels.csv"), &csv).unwrap();
    let out = head_ct(
        &[
            "cross-validate",
            "--source",
            "kaggle",
            "--folds",
            "2",
            "--epochs",
            "1",
            "--out",
            "cv",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("pool: 8 images (4 hemorrhage, 4 normal)"),
        "{log}"
    );
    assert!(log.contains("pooled over 8 images"), "{log}");
    let oof = fs::read_to_string(d.join("cv/oof_predictions.csv")).unwrap();
    assert!(oof.contains("000.png,1,"), "{oof}");

    // A label without its image is an error naming labels.csv, not a panic.
    fs::write(kaggle.join("labels.csv"), format!("{csv}099,1\n")).unwrap();
    let out = head_ct(&["cross-validate", "--source", "kaggle", "--out", "cv3"], d);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("labels.csv"), "{log}");
    assert!(log.contains("`099` has no image"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn cross_validate_mistakes_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    phantoms(d);
    // 6 images per class in the pool: 7 folds cannot each hold one of each class.
    let out = head_ct(
        &[
            "cross-validate",
            "--data",
            "ph",
            "--folds",
            "7",
            "--out",
            "cv",
        ],
        d,
    );
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("at least 7 `hemorrhage` images"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(!d.join("cv").exists(), "nothing written before the check");

    let out = head_ct(&["cross-validate", "--source", "no-such-folder"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("no-such-folder"), "{}", text(&out));

    let out = head_ct(&["cross-validate", "--data", "no-such-layout"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("no-such-layout"), "{}", text(&out));

    let out = head_ct(&["cross-validate", "--source", "a", "--data", "b"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("cannot be used with"), "{}", text(&out));
}

#[test]
fn cross_validate_without_data_says_it_uses_phantoms() {
    let dir = tempfile::tempdir().unwrap();
    // One short epoch per fold: only the announcement and the bookkeeping are checked.
    let out = head_ct(
        &[
            "cross-validate",
            "--folds",
            "2",
            "--epochs",
            "1",
            "--batch-size",
            "50",
            "--out",
            "cv",
        ],
        dir.path(),
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("SYNTHETIC PHANTOMS"), "{log}");
    assert!(log.contains("pooled over 190 images"), "{log}");
    assert!(
        log.contains("Reminder: these were synthetic phantoms"),
        "{log}"
    );
}

#[test]
fn seeds_reports_every_seed_and_the_spread() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    phantoms(d);
    let out = head_ct(
        &[
            "seeds", "--data", "ph", "--seeds", "2", "--epochs", "1", "--out", "s",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Training with seeds 1, 2"), "{log}");
    assert!(log.contains("seed 1: val accuracy"), "{log}");
    assert!(log.contains("seed 2: val accuracy"), "{log}");
    for row in ["| **mean** |", "| sd |", "| min |", "| max |"] {
        assert!(log.contains(row), "{row}\n{log}");
    }
    let csv = fs::read_to_string(d.join("s/seeds.csv")).unwrap();
    assert_eq!(csv.lines().count(), 1 + 2 + 4, "{csv}");

    let out = head_ct(&["seeds", "--data", "ph", "--seeds", "3,3"], d);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("seed 3 is given twice"),
        "{}",
        text(&out)
    );
    let out = head_ct(&["seeds", "--data", "ph", "--seeds", "x"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("not a whole number"), "{}", text(&out));
}
