//! Calibration and the chosen threshold from the command line: `train --target-sensitivity`
//! saves both, `predict` and `evaluate` use them and say so, and every bad input is refused with
//! a sentence before any training.

use crate::common;
use common::{head_ct, text, write_phantoms};

#[test]
fn a_calibrated_model_with_a_chosen_threshold_is_saved_used_and_said() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_phantoms(d, 20, 24, 4);
    let out = head_ct(
        &[
            "train",
            "--data",
            "ph",
            "--epochs",
            "1",
            "--out",
            "run",
            "--target-sensitivity",
            "0.9",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("Calibration of the 24 validation images' raw probabilities"),
        "{log}"
    );
    assert!(log.contains("ECE "), "{log}");
    assert!(
        log.contains("Probabilities are calibrated: temperature"),
        "{log}"
    );
    assert!(log.contains("for sensitivity ≥ 0.90"), "{log}");
    assert!(d.join("run/reliability.png").is_file());
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("run/model.json")).unwrap()).unwrap();
    assert_eq!(json["format_version"], 5);
    assert!(json["calibration"]["temperature"].as_f64().unwrap() > 0.0);
    let threshold = json["operating_point"]["threshold"].as_f64().unwrap();
    assert!(json["operating_point"]["chosen_on"]
        .as_str()
        .unwrap()
        .starts_with("chosen on 24 validation images (12 hemorrhage)"));

    let out = head_ct(&["predict", "--model", "run", "ph/test"], d);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("calibrated probability of hemorrhage"),
        "{log}"
    );
    assert!(!log.contains("uncalibrated probability"), "{log}");

    let out = head_ct(
        &[
            "evaluate",
            "--model",
            "run",
            "--data",
            "ph",
            "--figures",
            "figs",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains(&format!(
            "called hemorrhage at probability >= {threshold:.2}"
        )),
        "{log}"
    );
    assert!(
        log.contains("Calibration of the calibrated (temperature"),
        "{log}"
    );
    assert!(log.contains("Before temperature scaling"), "{log}");
    assert!(d.join("figs/reliability.png").is_file());

    // A temperature that is not a finite positive number is refused, naming the file.
    let mut bad = json.clone();
    bad["calibration"]["temperature"] = serde_json::json!(-1.0);
    std::fs::write(d.join("run/model.json"), bad.to_string()).unwrap();
    let out = head_ct(&["predict", "--model", "run", "ph/test"], d);
    let log = text(&out);
    assert!(!out.status.success());
    assert!(log.contains("model.json"), "{log}");
    assert!(log.contains("finite positive"), "{log}");
}

#[test]
fn bad_targets_and_too_little_validation_data_are_refused_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_phantoms(d, 10, 6, 0);
    for bad in ["0", "1.5", "nan", "-0.2"] {
        let out = head_ct(
            &[
                "train",
                "--data",
                "ph",
                "--epochs",
                "1",
                "--target-sensitivity",
                bad,
            ],
            d,
        );
        let log = text(&out);
        assert!(!out.status.success(), "{bad}: {log}");
        assert!(log.contains("--target-sensitivity"), "{bad}: {log}");
        assert!(!log.contains("Epoch"), "{bad}: {log}");
    }
    // Six validation images are too few to fit a temperature on: said, with how many are needed.
    let out = head_ct(
        &[
            "train",
            "--data",
            "ph",
            "--epochs",
            "1",
            "--calibration",
            "temperature",
            "--out",
            "r1",
        ],
        d,
    );
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("at least 20 images"), "{log}");
    assert!(!log.contains("Epoch"), "{log}");
    assert!(!d.join("r1").exists());
    // Under the default (`auto`) the run goes on, uncalibrated, and says so.
    let out = head_ct(
        &["train", "--data", "ph", "--epochs", "1", "--out", "r2"],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("not calibrated: 6 validation images are too few"),
        "{log}"
    );
    assert!(
        log.contains("uncalibrated probability of hemorrhage"),
        "{log}"
    );
    // No hemorrhage among the validation images: no threshold can be chosen, no training.
    for f in std::fs::read_dir(d.join("ph/validate/hemorrhage")).unwrap() {
        std::fs::remove_file(f.unwrap().path()).unwrap();
    }
    let out = head_ct(
        &[
            "train",
            "--data",
            "ph",
            "--epochs",
            "1",
            "--target-sensitivity",
            "0.9",
            "--out",
            "r3",
        ],
        d,
    );
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    // The loader already refuses a class folder without images, naming it; the library's own
    // check (`calibration.rs`) covers sets built in code.
    assert!(
        log.contains("validate/hemorrhage") && log.contains("no images"),
        "{log}"
    );
    assert!(!log.contains("Epoch"), "{log}");
    assert!(!d.join("r3").exists());
    // `seeds` chooses no threshold, and says so instead of ignoring the flag.
    let out = head_ct(
        &[
            "seeds",
            "--data",
            "ph",
            "--seeds",
            "1",
            "--target-sensitivity",
            "0.9",
        ],
        d,
    );
    assert!(!out.status.success());
    assert!(text(&out).contains("is for `train` and `cross-validate`"));
}
