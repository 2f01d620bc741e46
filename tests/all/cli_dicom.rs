//! The `head-ct` command with DICOM input: phantoms in CT numbers → train with three windows →
//! predict, evaluate and explain say which windows they apply; a model trained on PNGs sees
//! DICOM in the brain window and says so.

use crate::common;
use common::{head_ct, text, write_phantoms};

#[test]
fn a_three_window_model_is_trained_on_dicom_and_says_how_it_sees_dicom() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = head_ct(
        &[
            "phantoms",
            "--format",
            "dicom",
            "--out",
            "ct",
            "--train",
            "6",
            "--validate",
            "4",
            "--test",
            "2",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("DICOM CT images in Hounsfield units"), "{log}");
    assert!(d.join("ct/test/hemorrhage/phantom_000.dcm").is_file());

    let out = head_ct(
        &[
            "train",
            "--data",
            "ct",
            "--windows",
            "three",
            "--epochs",
            "1",
            "--out",
            "run",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("DICOM shown in three windows"), "{log}");
    let json = std::fs::read_to_string(d.join("run/model.json")).unwrap();
    assert!(
        json.contains("\"windows\": \"40/80,80/200,600/2800\""),
        "{json}"
    );
    assert!(json.contains("\"input\": \"ct_numbers\""), "{json}");

    let say = "DICOM input is shown to the model in the windows it was trained with: three windows";
    let out = head_ct(
        &[
            "predict",
            "--model",
            "run",
            "ct/test/hemorrhage/phantom_000.dcm",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains(say), "{log}");
    assert!(log.contains("phantom_000.dcm: "), "{log}");

    for args in [
        vec![
            "evaluate", "--model", "run", "--data", "ct", "--split", "validate",
        ],
        vec![
            "explain",
            "--model",
            "run",
            "--out",
            "maps",
            "ct/test/normal",
        ],
    ] {
        let out = head_ct(&args, d);
        let log = text(&out);
        assert!(out.status.success(), "{args:?}: {log}");
        assert!(log.contains(say), "{args:?}: {log}");
    }

    // A PNG cannot be windowed again: the three-window model refuses it, naming it.
    write_phantoms(d, 2, 2, 2);
    let out = head_ct(
        &[
            "predict",
            "--model",
            "run",
            "ph/test/normal/phantom_000.png",
        ],
        d,
    );
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("phantom_000.png") && log.contains("display image"),
        "{log}"
    );
}

#[test]
fn a_model_trained_on_pngs_sees_dicom_in_the_brain_window_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write_phantoms(d, 6, 4, 2);
    let out = head_ct(
        &["train", "--data", "ph", "--epochs", "1", "--out", "run"],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = head_ct(
        &[
            "phantoms",
            "--format",
            "dicom",
            "--out",
            "ct",
            "--train",
            "2",
            "--validate",
            "2",
            "--test",
            "2",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = head_ct(
        &[
            "predict",
            "--model",
            "run",
            "ct/test/hemorrhage/phantom_000.dcm",
            "ph/test/hemorrhage/phantom_000.png",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("trained on display images (PNG), not CT numbers")
            && log.contains("the brain window (level 40, width 80)"),
        "{log}"
    );
    assert!(
        log.contains("phantom_000.dcm: ") && log.contains("phantom_000.png: "),
        "{log}"
    );

    // Bad DICOM input: a sentence naming the file, no panic.
    std::fs::write(d.join("broken.dcm"), b"not a DICOM file").unwrap();
    let out = head_ct(&["predict", "--model", "run", "broken.dcm"], d);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(
        log.contains("broken.dcm") && log.contains("cannot read as DICOM"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");
}
