//! Figures: size, not blank, valid PNG saved atomically, evcxr markers, edge cases.
//! `write_example_figures` leaves one PNG of each figure in `target/tmp/figures/` to look at.

use std::path::{Path, PathBuf};

use head_ct::{
    experiments::{SeedRun, SeedSpreadReport},
    metrics::{BinaryMetrics, ConfusionMatrix},
    plots::{self, Figure},
    training::History,
    Error, Label, Threshold,
};

const SIDE: usize = 150;

/// Labels from 0/1 flags (1 = hemorrhage).
fn labels(flags: &[u8]) -> Vec<Label> {
    flags
        .iter()
        .map(|&f| Label::from_flag(f).unwrap())
        .collect()
}

/// A phantom head CT slice: dark background, bright skull ring, grey brain and, for a
/// hemorrhage, a bright blob.
fn phantom(hemorrhage: bool, shift: f32) -> Vec<f32> {
    let mut image = vec![0.0f32; 3 * SIDE * SIDE];
    for y in 0..SIDE {
        for x in 0..SIDE {
            let (dx, dy) = ((x as f32 - 75.0) / 60.0, (y as f32 - 75.0 - shift) / 68.0);
            let r = (dx * dx + dy * dy).sqrt();
            let mut v = if r < 0.9 {
                0.45 + 0.05 * ((x * 7 + y * 3) % 5) as f32 / 5.0
            } else if r < 1.0 {
                0.95
            } else {
                0.02
            };
            let (bx, by) = (x as f32 - 95.0, y as f32 - 60.0 - shift);
            if hemorrhage && bx * bx + by * by < 150.0 {
                v = 0.8;
            }
            for c in 0..3 {
                image[c * SIDE * SIDE + y * SIDE + x] = v;
            }
        }
    }
    image
}

fn history(epochs: usize) -> History {
    let e = |i: usize| i as f32 / epochs.max(1) as f32;
    History {
        loss: (0..epochs).map(|i| 0.69 - 0.45 * e(i)).collect(),
        accuracy: (0..epochs).map(|i| 0.5 + 0.42 * e(i)).collect(),
        val_loss: (0..epochs)
            .map(|i| 0.68 - 0.3 * e(i) + 0.02 * (i % 3) as f32)
            .collect(),
        val_accuracy: (0..epochs).map(|i| 0.52 + 0.3 * e(i)).collect(),
    }
}

/// Probabilities and labels of a decent, imperfect classifier.
fn predictions() -> (Vec<f32>, Vec<Label>) {
    let probabilities = vec![
        0.92, 0.81, 0.35, 0.66, 0.12, 0.05, 0.71, 0.28, 0.88, 0.44, 0.18, 0.57,
    ];
    let truths = labels(&[1, 1, 1, 1, 0, 0, 0, 0, 1, 0, 0, 1]);
    (probabilities, truths)
}

fn variance(figure: &Figure) -> f64 {
    let n = figure.rgb.len() as f64;
    let mean = figure.rgb.iter().map(|&v| v as f64).sum::<f64>() / n;
    figure
        .rgb
        .iter()
        .map(|&v| (v as f64 - mean).powi(2))
        .sum::<f64>()
        / n
}

fn decode(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buffer = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buffer).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buffer.truncate(info.buffer_size());
    (info.width, info.height, buffer)
}

fn fresh_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Size, not blank, PNG round trip through an atomic save, evcxr markers.
#[track_caller]
fn check(figure: &Figure, width: u32, height: u32, dir: &Path, name: &str) {
    assert_eq!((figure.width, figure.height), (width, height), "{name}");
    assert_eq!(figure.rgb.len(), (width * height * 3) as usize);
    assert!(variance(figure) > 100.0, "{name} looks blank");
    let path = dir.join(format!("{name}.png"));
    figure.save_png(&path).unwrap();
    let (w, h, pixels) = decode(&path);
    assert_eq!((w, h), (width, height));
    assert_eq!(
        pixels, figure.rgb,
        "{name}: the PNG holds the figure's pixels"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
    let content = figure.evcxr_content().unwrap();
    assert!(content.starts_with("EVCXR_BEGIN_CONTENT image/png\n"));
    assert!(content.ends_with("\nEVCXR_END_CONTENT\n"));
    // base64 of the PNG signature.
    assert!(content.contains("\niVBORw0KGgo"));
}

#[test]
fn write_example_figures() {
    let dir = fresh_dir("figures");
    let images: Vec<Vec<f32>> = (0..8).map(|i| phantom(i % 2 == 0, i as f32)).collect();
    let refs: Vec<&[f32]> = images.iter().map(Vec::as_slice).collect();
    let captions: Vec<String> = (0..8)
        .map(|i| {
            if i % 2 == 0 {
                format!("hemorrhage (scan {:03})", i)
            } else {
                format!("normal (scan {:03})", i)
            }
        })
        .collect();
    let f = plots::sample_grid(&refs, &captions, 4).unwrap();
    check(&f, 984, 2 * (224 + 16 + 51) + 48 + 12, &dir, "sample_grid");

    let f = plots::training_curves(&history(15)).unwrap();
    check(&f, 1000, 460, &dir, "training_curves");

    let (p, y) = predictions();
    let m = BinaryMetrics::compute(&p, &y, Threshold::DEFAULT).unwrap();
    let f = plots::confusion_matrix_figure(&m.confusion).unwrap();
    check(&f, 820, 620, &dir, "confusion_matrix");

    let f = plots::roc_figure_from_metrics(&m).unwrap();
    check(&f, 820, 760, &dir, "roc");

    let images: Vec<Vec<f32>> = y.iter().map(|l| phantom(l.is_hemorrhage(), 0.0)).collect();
    let refs: Vec<&[f32]> = images.iter().map(Vec::as_slice).collect();
    let f = plots::predictions_grid(&refs, &p, Some(&y), Threshold::DEFAULT).unwrap();
    assert_eq!(f.width, 984);
    check(&f, 984, f.height, &dir, "predictions_grid");
    let f = plots::predictions_grid(&refs[..3], &p[..3], None, Threshold::DEFAULT).unwrap();
    check(&f, f.width, f.height, &dir, "predictions_unlabelled");
}

/// A seed spread of `accuracies` and `aucs`, seeds 1, 2, ...
fn seed_report(accuracies: &[f64], aucs: &[f64]) -> SeedSpreadReport {
    SeedSpreadReport {
        runs: accuracies
            .iter()
            .zip(aucs)
            .enumerate()
            .map(|(i, (&val_accuracy, &val_auc))| SeedRun {
                seed: i as u64 + 1,
                val_accuracy,
                val_auc,
                sensitivity: 0.8,
                specificity: 0.8,
                final_loss: 0.3,
                val_loss: 0.4,
                elapsed: std::time::Duration::ZERO,
            })
            .collect(),
    }
}

#[test]
fn seed_spread_figure_shows_every_seed_the_mean_and_the_range() {
    let dir = fresh_dir("seed_spread");
    let report = seed_report(&[0.78, 0.84, 0.72], &[0.928, 0.936, 0.918]);
    let f = plots::seed_spread_figure(&report).unwrap();
    check(&f, 1000, 460, &dir, "seed_spread");
    // Both panels drew: dark dots in the left half and in the right half.
    let dark_in = |x0: usize, x1: usize| {
        (0..f.height as usize).any(|y| {
            (x0..x1).any(|x| {
                let i = (y * f.width as usize + x) * 3;
                f.rgb[i] < 60 && f.rgb[i + 1] < 60 && f.rgb[i + 2] < 60
            })
        })
    };
    assert!(dark_in(80, 500) && dark_in(580, 1000));
    // Twelve seeds with labels, many more without, one seed, an AUC that is not defined.
    let many: Vec<f64> = (0..12).map(|i| 0.6 + 0.02 * i as f64).collect();
    check(
        &plots::seed_spread_figure(&seed_report(&many, &many)).unwrap(),
        1000,
        460,
        &dir,
        "twelve_seeds",
    );
    let lots: Vec<f64> = (0..40).map(|i| 0.5 + 0.01 * i as f64).collect();
    check(
        &plots::seed_spread_figure(&seed_report(&lots, &lots)).unwrap(),
        1000,
        460,
        &dir,
        "forty_seeds",
    );
    check(
        &plots::seed_spread_figure(&seed_report(&[0.5], &[f64::NAN])).unwrap(),
        1000,
        460,
        &dir,
        "one_seed_no_auc",
    );
    let empty = plots::seed_spread_figure(&SeedSpreadReport { runs: Vec::new() }).unwrap();
    check(&empty, 900, 240, &dir, "no_seeds");
}

#[test]
fn save_replaces_an_existing_file_and_reports_missing_folders() {
    let dir = fresh_dir("save");
    let path = dir.join("curves.png");
    std::fs::write(&path, b"old").unwrap();
    let figure = plots::training_curves(&history(3)).unwrap();
    figure.save_png(&path).unwrap();
    assert_eq!(decode(&path).2, figure.rgb);
    let missing = dir.join("no such folder").join("x.png");
    match figure.save_png(&missing) {
        Err(Error::Io { path, .. }) => assert!(path.starts_with(dir.join("no such folder"))),
        other => panic!("expected an Io error, got {other:?}"),
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}

#[test]
fn edge_cases_do_not_panic() {
    let dir = fresh_dir("edges");
    // One epoch, and training without validation.
    let f = plots::training_curves(&history(1)).unwrap();
    check(&f, 1000, 460, &dir, "one_epoch");
    let mut h = history(4);
    h.val_loss.clear();
    h.val_accuracy.clear();
    h.loss[2] = f32::NAN;
    check(
        &plots::training_curves(&h).unwrap(),
        1000,
        460,
        &dir,
        "no_validation",
    );
    // Nothing recorded or nothing to show: an empty-state figure.
    let empty = plots::training_curves(&History::default()).unwrap();
    check(&empty, 900, 240, &dir, "no_epochs");
    let none = plots::predictions_grid(&[], &[], Some(&[]), Threshold::DEFAULT).unwrap();
    check(&none, 900, 240, &dir, "no_predictions");
    check(
        &plots::sample_grid(&[], &[], 3).unwrap(),
        900,
        240,
        &dir,
        "no_samples",
    );
    check(
        &plots::confusion_matrix_figure(&ConfusionMatrix::default()).unwrap(),
        900,
        240,
        &dir,
        "empty_matrix",
    );
    // A single class: the matrix shows it, the ROC figure refuses with a reason.
    let m = BinaryMetrics::compute(&[0.2, 0.7], &labels(&[0, 0]), Threshold::DEFAULT).unwrap();
    check(
        &plots::confusion_matrix_figure(&m.confusion).unwrap(),
        820,
        620,
        &dir,
        "single_class_matrix",
    );
    assert!(matches!(
        plots::roc_figure_from_metrics(&m),
        Err(Error::InvalidInput(_))
    ));
    assert!(plots::roc_figure(&[], 0.5, None).is_err());
    // One image, no captions, a caption too long for one line.
    let image = phantom(true, 0.0);
    let f = plots::sample_grid(&[&image], &[], 5).unwrap();
    check(&f, f.width, f.height, &dir, "one_image");
    let long = vec!["a very long caption that will certainly not fit on one line".to_string()];
    plots::sample_grid(&[&image], &long, 1).unwrap();
}

#[test]
fn invalid_inputs_are_errors() {
    let image = phantom(false, 0.0);
    let invalid = |r: Result<Figure, Error>| matches!(r, Err(Error::InvalidInput(_)));
    assert!(invalid(plots::sample_grid(&[&image[..10]], &[], 2)));
    assert!(invalid(plots::sample_grid(&[&image], &[], 0)));
    assert!(invalid(plots::sample_grid(
        &[&image],
        &["a".into(), "b".into()],
        2
    )));
    let half = Threshold::DEFAULT;
    assert!(invalid(plots::predictions_grid(&[&image], &[], None, half)));
    // A NaN threshold cannot reach the figure: making one is the error.
    assert!(Threshold::new(f32::NAN).is_err());
    let broken = Figure {
        width: 10,
        height: 10,
        rgb: vec![0; 5],
    };
    assert!(invalid(broken.to_png_bytes().map(|_| broken.clone())));
}
