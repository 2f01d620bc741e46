//! The `head-ct` command from the outside, as a user runs it: phantoms → train → predict →
//! evaluate, and clear errors for mistakes.

use crate::common;
use common::{head_ct, text};

#[test]
fn train_then_predict_and_evaluate_in_plain_language() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = head_ct(
        &[
            "phantoms",
            "--out",
            "ph",
            "--train",
            "10",
            "--validate",
            "6",
            "--test",
            "4",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));

    let out = head_ct(
        &["train", "--data", "ph", "--epochs", "1", "--out", "run"],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Epoch 1/1"), "{log}");
    assert!(log.contains("accuracy"), "{log}");
    // Every file of a run folder is written (the validation images hold both classes, so
    // roc.png too), and the closing line names exactly those files.
    for file in head_ct::run::RunFile::ALL {
        assert!(
            file.path_in(&d.join("run")).is_file(),
            "{file} missing\n{log}"
        );
    }
    let names: Vec<&str> = head_ct::run::RunFile::ALL
        .iter()
        .map(|f| f.name())
        .collect();
    assert!(
        log.contains(&format!("Saved in run: {}.", names.join(", "))),
        "{log}"
    );
    let history = std::fs::read_to_string(d.join("run/history.csv")).unwrap();
    assert!(history.starts_with("epoch,loss,accuracy,val_loss,val_accuracy\n1,"));

    let out = head_ct(
        &[
            "predict",
            "--model",
            "run",
            "ph/test/hemorrhage/phantom_000.png",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("phantom_000.png: "), "{log}");
    assert!(log.contains("probability of hemorrhage 0."), "{log}");

    let out = head_ct(&["predict", "--model", "run", "ph/test"], d);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(" of 4 correct"), "{log}");

    let out = head_ct(
        &[
            "evaluate", "--model", "run", "--data", "ph", "--split", "test",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("sensitivity"), "{log}");
}

#[test]
fn without_data_it_says_it_uses_phantoms() {
    let dir = tempfile::tempdir().unwrap();
    let out = head_ct(
        &[
            "train",
            "--epochs",
            "1",
            "--batch-size",
            "35",
            "--out",
            "run",
        ],
        dir.path(),
    );
    let log = text(&out);
    assert!(log.contains("SYNTHETIC PHANTOMS"), "{log}");
    assert!(log.contains("data/README.md"), "{log}");
}

#[test]
fn mistakes_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = head_ct(&["train", "--data", "no-such-folder"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("no-such-folder"), "{}", text(&out));

    let out = head_ct(&["predict", "--model", "no-such-run", "x.png"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("model.json"), "{}", text(&out));

    let out = head_ct(&["prepare", "--source", "src", "--train", "141"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("must be even"), "{}", text(&out));
}

#[test]
fn train_and_evaluate_give_the_same_interval_for_the_same_model_and_split() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::write_phantoms(d, 10, 12, 0);
    // A seed other than 0: the AUC bootstrap must not follow the training seed.
    let out = head_ct(
        &[
            "train", "--data", "ph", "--epochs", "1", "--seed", "3", "--out", "run",
        ],
        d,
    );
    let train_log = text(&out);
    assert!(out.status.success(), "{train_log}");
    let out = head_ct(
        &[
            "evaluate", "--model", "run", "--data", "ph", "--split", "validate",
        ],
        d,
    );
    let evaluate_log = text(&out);
    assert!(out.status.success(), "{evaluate_log}");
    let auc_line = |log: &str| {
        log.lines()
            .find(|l| l.starts_with("ROC AUC"))
            .unwrap_or_else(|| panic!("no ROC AUC line in\n{log}"))
            .to_string()
    };
    assert_eq!(auc_line(&train_log), auc_line(&evaluate_log));
}

#[test]
fn settings_are_checked_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (args, expected) in [
        (&["train", "--threshold", "1.5"][..], "between 0 and 1"),
        (&["train", "--threshold", "nan"], "between 0 and 1"),
        (
            &["evaluate", "--model", "run", "--threshold", "inf"],
            "between 0 and 1",
        ),
        (
            &["predict", "--model", "run", "--threshold=-0.2", "x.png"],
            "between 0 and 1",
        ),
        (&["train", "--learning-rate", "nan"], "learning rate"),
        (&["train", "--batch-size", "0"], "batch size"),
        (&["train", "--epochs", "0"], "0 epochs"),
        (&["seeds", "--seeds", "2", "--epochs", "0"], "0 epochs"),
        (&["cross-validate", "--folds", "1"], "--folds"),
        (&["seeds", "--seeds", "10000000000"], "at most 1000"),
    ] {
        let out = head_ct(args, d);
        let log = text(&out);
        assert!(!out.status.success(), "{args:?}\n{log}");
        assert!(log.contains(expected), "{args:?}\n{log}");
        // Refused before the data was looked at.
        assert!(!log.contains("PHANTOMS"), "{args:?}\n{log}");
    }
    assert!(!d.join("runs").exists());
}

#[test]
fn an_interrupted_training_run_says_so_and_can_be_trained_again() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_head-ct"))
        .args(["train", "--epochs", "50", "--out", "run"])
        .current_dir(d)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Killed (as by the machine or an impatient user) once it trains.
    let stdout = child.stdout.take().unwrap();
    for line in BufReader::new(stdout).lines() {
        if line.unwrap().starts_with("Epoch 1/") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!d.join("run/model.json").exists());
    // No half-written file is left under its final name.
    for entry in std::fs::read_dir(d.join("run")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(name == "samples.png" || name.starts_with('.'), "{name}");
    }
    common::write_phantoms(d, 8, 4, 2);
    let out = head_ct(&["predict", "--model", "run", "ph/test"], d);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("run: no trained model here") && log.contains("did not finish (interrupted?)"),
        "{log}"
    );
    let out = head_ct(
        &["train", "--data", "ph", "--epochs", "1", "--out", "run"],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = head_ct(&["predict", "--model", "run", "ph/test"], d);
    assert!(out.status.success(), "{}", text(&out));
}
