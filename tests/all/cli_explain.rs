//! `head-ct explain` from the outside: figures for files and folders, plain-language output, and
//! clear errors that name the file.

use std::path::Path;

use crate::common;
use common::{head_ct, text};

/// Width and height of a PNG file, decoding it fully.
fn png_size(path: &Path) -> (u32, u32) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    (info.width, info.height)
}

#[test]
fn explain_writes_one_figure_per_image_and_says_what_it_did() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = head_ct(
        &[
            "phantoms",
            "--out",
            "ph",
            "--train",
            "6",
            "--validate",
            "4",
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
    assert!(out.status.success(), "{}", text(&out));

    // Two files, the default maps (all three).
    let out = head_ct(
        &[
            "explain",
            "--model",
            "run",
            "ph/test/hemorrhage/phantom_000.png",
            "ph/test/normal/phantom_000.png",
            "--out",
            "why",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("phantom_000.png: "), "{log}");
    assert!(log.contains("probability of hemorrhage 0."), "{log}");
    assert!(log.contains("Wrote 2 figures to why"), "{log}");
    // Same file name twice: the second figure gets a suffix instead of overwriting the first.
    for name in ["phantom_000-explain.png", "phantom_000-2-explain.png"] {
        let path = d.join("why").join(name);
        assert!(path.is_file(), "{name} missing\n{log}");
        assert_eq!(png_size(&path), (1388, 442), "{name}");
    }
    assert!(log.contains("why/phantom_000-2-explain.png"), "{log}");

    // A labelled folder, one method on a named block: the verdict is known.
    let out = head_ct(
        &[
            "explain", "--model", "run", "ph/test", "--out", "folder", "--method", "grad-cam",
            "--block", "5",
        ],
        d,
    );
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Grad-CAM, block 5"), "{log}");
    assert!(log.contains("Wrote 4 figures"), "{log}");
    assert!(
        log.contains(" — correct") || log.contains(" — missed") || log.contains(" — false alarm"),
        "{log}"
    );
    let written: Vec<_> = std::fs::read_dir(d.join("folder")).unwrap().collect();
    assert_eq!(written.len(), 4, "no temporary files are left behind");
    assert_eq!(
        png_size(&d.join("folder/phantom_001-explain.png")),
        (764, 442)
    );
}

#[test]
fn explain_mistakes_get_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("broken.png"), b"not a png").unwrap();

    let out = head_ct(&["explain", "--model", "no-such-run", "broken.png"], d);
    assert!(!out.status.success());
    let log = text(&out);
    assert!(
        log.contains("no-such-run") && log.contains("model.json"),
        "{log}"
    );
    assert!(!log.contains("panicked"), "{log}");

    // A real (tiny, barely trained) checkpoint, then bad images.
    let out = head_ct(
        &[
            "train",
            "--epochs",
            "1",
            "--batch-size",
            "70",
            "--out",
            "run",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = head_ct(&["explain", "--model", "run", "broken.png"], d);
    let log = text(&out);
    assert!(!out.status.success(), "{log}");
    assert!(log.contains("broken.png"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        !d.join("explanations").exists(),
        "nothing is written for a bad image"
    );

    let out = head_ct(&["explain", "--model", "run", "missing.png"], d);
    let log = text(&out);
    assert!(!out.status.success());
    assert!(log.contains("missing.png"), "{log}");

    let out = head_ct(&["explain", "--model", "run", "--block", "6", "x.png"], d);
    let log = text(&out);
    assert!(!out.status.success());
    assert!(log.contains("--block"), "{log}");
}
