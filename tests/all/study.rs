//! Whole studies: every file of an export folder accounted for, series in slice order, calls per
//! series and study, and the `study` and `predict` commands on such folders.

use std::path::{Path, PathBuf};

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use head_ct::{
    ct::{CtImage, SlicePlacement},
    input::Limits,
    study::{order_studies, positive_runs, take_inventory, SlicesOrderedBy, StudyRule},
    Label, Threshold,
};

use crate::common::{head_ct, text};

const SIDE: usize = 64;
const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
const SAGITTAL: [f64; 6] = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0];
const STUDY: &str = "2.25.4711";

/// A 64x64 head-like slice (brain 30 HU in a 1000 HU ring, air outside), placed in a study.
fn slice(series: i32, instance: i32, z: f64, orientation: [f64; 6], sop: &str) -> CtImage {
    let hu: Vec<f32> = (0..SIDE * SIDE)
        .map(|i| {
            let (x, y) = ((i % SIDE) as f32 - 32.0, (i / SIDE) as f32 - 32.0);
            match (x * x + y * y).sqrt() {
                r if r < 24.0 => 30.0,
                r if r < 28.0 => 1000.0,
                _ => -1000.0,
            }
        })
        .collect();
    CtImage {
        placement: Some(SlicePlacement {
            study_instance_uid: STUDY.into(),
            study_date: Some("20261201".into()),
            series_instance_uid: format!("2.25.4711.{series}"),
            series_number: series,
            series_description: format!("HEAD series {series}"),
            instance_number: instance,
            image_position_mm: [-16.0, -16.0, z],
            image_orientation: orientation,
            slice_thickness_mm: 5.0,
            image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
        }),
        ..CtImage::from_hounsfield(SIDE, SIDE, &hu, sop.into())
    }
}

/// A DICOM file of `sop_class` without pixel data (a report, a DICOMDIR, ...).
fn non_image(path: &Path, sop_class: &str) {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(DataElement::new(
        tags::SOP_CLASS_UID,
        VR::UI,
        PrimitiveValue::from(sop_class),
    ));
    obj.put(DataElement::new(
        tags::SOP_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from("2.25.99"),
    ));
    obj.put(DataElement::new(
        tags::STUDY_INSTANCE_UID,
        VR::UI,
        PrimitiveValue::from(STUDY),
    ));
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1")
        .media_storage_sop_class_uid(sop_class)
        .media_storage_sop_instance_uid("2.25.99");
    let file = obj.with_meta(meta).unwrap();
    let mut bytes = Vec::new();
    file.write_all(&mut bytes).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The export: series 2 (6 axial slices, 5 mm, InstanceNumber running against position,
/// file names not in slice order) with one sagittal slice mixed in, series 3 (3 slices, 10 mm)
/// with a copy of one slice in a subfolder, a localizer, a structured report, a DICOMDIR, a
/// README.TXT, a hidden file and a damaged file. Returns the files that are slices, in the
/// expected slice order per series.
fn write_export(dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    std::fs::create_dir_all(dir.join("SE3/copies")).unwrap();
    let names = ["9138", "0007", "5521", "1203", "8864", "3310"];
    let mut series2 = vec![PathBuf::new(); 6];
    for (k, name) in names.iter().enumerate() {
        // File k holds the slice at position z = 5 * ((k * 5) % 6) (a shuffle).
        let step = (k * 5) % 6;
        let path = dir.join(name);
        slice(
            2,
            6 - step as i32,
            5.0 * step as f64,
            AXIAL,
            &format!("2.25.2.{step}"),
        )
        .write(&path)
        .unwrap();
        series2[step] = path;
    }
    let mut series3 = Vec::new();
    for step in 0..3 {
        let path = dir.join(format!("SE3/1.2.826.0.1.{}", 30 + step));
        slice(
            3,
            step + 1,
            10.0 * step as f64,
            AXIAL,
            &format!("2.25.3.{step}"),
        )
        .write(&path)
        .unwrap();
        series3.push(path);
    }
    std::fs::copy(&series3[1], dir.join("SE3/copies/copy_of_31")).unwrap();
    slice(2, 99, 12.0, SAGITTAL, "2.25.2.99")
        .write(&dir.join("reformat"))
        .unwrap();
    let mut scout = slice(1, 1, 0.0, SAGITTAL, "2.25.1.1");
    if let Some(p) = scout.placement.as_mut() {
        p.image_type = vec!["ORIGINAL".into(), "PRIMARY".into(), "LOCALIZER".into()];
    }
    scout.write(&dir.join("scout")).unwrap();
    non_image(&dir.join("report"), "1.2.840.10008.5.1.4.1.1.88.11");
    non_image(&dir.join("DICOMDIR"), "1.2.840.10008.1.3.10");
    std::fs::write(dir.join("README.TXT"), "Exported by a PACS\n").unwrap();
    std::fs::write(dir.join(".DS_Store"), [0u8; 8]).unwrap();
    let mut damaged = vec![0u8; 128];
    damaged.extend_from_slice(b"DICM");
    damaged.extend_from_slice(&[0x02, 0x00, 0x10, 0x00, b'U', b'I', 0xFF, 0x7F]);
    std::fs::write(dir.join("damaged"), damaged).unwrap();
    (series2, series3)
}

#[test]
fn an_export_folder_is_read_in_slice_order_and_every_file_is_accounted_for() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let (series2, series3) = write_export(&export);
    #[cfg(unix)]
    std::os::unix::fs::symlink("..", export.join("SE3/loop")).unwrap();

    let inventory = take_inventory(std::slice::from_ref(&export), &Limits::default());
    let mut skipped = inventory.skipped;
    let studies = order_studies(inventory.dicom_images, &mut skipped);

    assert_eq!(studies.len(), 1);
    assert_eq!(studies[0].uid, STUDY);
    assert_eq!(studies[0].date.as_deref(), Some("20261201"));
    let series = &studies[0].series;
    assert_eq!(
        series.iter().map(|s| s.number).collect::<Vec<_>>(),
        [Some(2), Some(3)]
    );
    for (s, expected) in series.iter().zip([&series2, &series3]) {
        assert_eq!(s.ordered_by, SlicesOrderedBy::Position);
        let order: Vec<&PathBuf> = s.slices.iter().map(|r| &r.header.path).collect();
        assert_eq!(order, expected.iter().collect::<Vec<_>>(), "{:?}", s.notes);
        let positions: Vec<f64> = s.slices.iter().map(|r| r.position_mm.unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
        assert!(s.notes.is_empty(), "{:?}", s.notes);
    }
    // InstanceNumber runs against position in series 2: position, not number, decided.
    let numbers: Vec<i64> = series[0]
        .slices
        .iter()
        .map(|r| r.header.instance_number.unwrap())
        .collect();
    assert_eq!(numbers, [6, 5, 4, 3, 2, 1]);

    let reason = |name: &str| -> String {
        skipped
            .iter()
            .filter(|s| s.path.ends_with(name))
            .map(|s| s.reason.clone())
            .collect::<Vec<_>>()
            .join(" | ")
    };
    assert!(reason("scout").contains("localizer"), "{skipped:?}");
    assert!(
        reason("reformat").contains("orientation unlike the rest of series 2"),
        "{skipped:?}"
    );
    assert!(
        reason("report").starts_with("structured report"),
        "{skipped:?}"
    );
    assert!(reason("DICOMDIR").starts_with("DICOMDIR"), "{skipped:?}");
    assert!(
        reason("README.TXT").contains("not a DICOM file"),
        "{skipped:?}"
    );
    assert!(reason(".DS_Store").contains("hidden"), "{skipped:?}");
    assert!(reason("damaged").starts_with("failed: "), "{skipped:?}");
    assert!(
        reason("copy_of_31").contains("same SOPInstanceUID as"),
        "{skipped:?}"
    );
    #[cfg(unix)]
    assert!(reason("loop").contains("symbolic link loop"), "{skipped:?}");

    // Every file is in exactly one place.
    let mut accounted: Vec<PathBuf> = series
        .iter()
        .flat_map(|s| s.slices.iter().map(|r| r.header.path.clone()))
        .chain(skipped.iter().map(|s| s.path.clone()))
        .collect();
    accounted.sort();
    let mut all: Vec<PathBuf> = walk(&export);
    all.sort();
    assert_eq!(accounted, all);
}

/// Every file (and the symlink loop) under `dir`, without following links.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_symlink() || !p.is_dir() {
            out.push(p);
        } else {
            out.extend(walk(&p));
        }
    }
    out
}

#[test]
fn positions_missing_duplicated_or_uneven_are_said() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, image: CtImage| {
        let path = dir.path().join(name);
        image.write(&path).unwrap();
        path
    };
    // Uneven: gaps 5, 5, 15 mm; one duplicated position; one slice of another size.
    for (k, z) in [0.0, 5.0, 10.0, 25.0, 25.0].iter().enumerate() {
        write(
            &format!("a{k}"),
            slice(2, k as i32 + 1, *z, AXIAL, &format!("2.25.8.{k}")),
        );
    }
    let mut big = slice(2, 9, 30.0, AXIAL, "2.25.8.9");
    big.rows = 48;
    big.stored.truncate(48 * SIDE);
    write("a9", big);
    // No positions: ordered by InstanceNumber, said so.
    for k in 0..3 {
        let mut image = slice(5, 3 - k, 0.0, AXIAL, &format!("2.25.9.{k}"));
        image.placement = None;
        let mut obj = image.to_dataset().unwrap();
        obj.put(DataElement::new(
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.90"),
        ));
        obj.put(DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.9"),
        ));
        obj.put(DataElement::new(
            tags::INSTANCE_NUMBER,
            VR::IS,
            PrimitiveValue::from((3 - k).to_string()),
        ));
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax("1.2.840.10008.1.2.1")
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.2")
            .media_storage_sop_instance_uid(format!("2.25.9.{k}"));
        obj.with_meta(meta)
            .unwrap()
            .write_to_file(dir.path().join(format!("n{k}")))
            .unwrap();
    }
    let inventory = take_inventory(&[dir.path().to_path_buf()], &Limits::default());
    let mut skipped = inventory.skipped;
    let studies = order_studies(inventory.dicom_images, &mut skipped);
    assert!(skipped.is_empty(), "{skipped:?}");
    let all: Vec<_> = studies.iter().flat_map(|s| &s.series).collect();
    let uneven = all.iter().find(|s| s.uid == "2.25.4711.2").unwrap();
    let notes = uneven.notes.join(" | ");
    assert!(notes.contains("uneven spacing"), "{notes}");
    assert!(notes.contains("1 slice at the same position"), "{notes}");
    assert!(notes.contains("slice 6 is 64x48"), "{notes}");
    let numbered = all.iter().find(|s| s.uid == "2.25.9").unwrap();
    assert_eq!(numbered.ordered_by, SlicesOrderedBy::InstanceNumber);
    assert!(
        numbered.notes[0].contains("ordered by InstanceNumber"),
        "{:?}",
        numbered.notes
    );
    let order: Vec<i64> = numbered
        .slices
        .iter()
        .map(|s| s.header.instance_number.unwrap())
        .collect();
    assert_eq!(order, [1, 2, 3]);
}

#[test]
fn the_series_score_is_the_rule_and_runs_are_listed() {
    let t = Threshold::new(0.5).unwrap();
    let p = |v: &[f32]| {
        v.iter()
            .map(|&x| (x >= 0.0).then_some(x))
            .collect::<Vec<_>>()
    };
    // -1 marks a slice that could not be read.
    let cases: [&[f32]; 6] = [
        &[0.1, 0.9, 0.2, 0.8, 0.1],
        &[0.1, 0.6, 0.7, 0.2],
        &[0.9],
        &[0.6, -1.0, 0.7],
        &[0.2, 0.55, 0.52, 0.9, 0.1, 0.7],
        &[-1.0, -1.0],
    ];
    for adjacent in 1..=3 {
        let rule = StudyRule::new(t, adjacent).unwrap();
        for case in cases {
            let probs = p(case);
            // By definition: the best run of `adjacent` neighbours (all slices when fewer),
            // scored by its lowest, an unread slice counting as -1; no slice read: no score.
            let k = adjacent.min(probs.len());
            let by_definition = (0..=probs.len() - k)
                .map(|i| {
                    probs[i..i + k]
                        .iter()
                        .map(|p| p.unwrap_or(-1.0))
                        .fold(1.0f32, f32::min)
                })
                .reduce(f32::max)
                .filter(|_| probs.iter().any(Option::is_some));
            assert_eq!(
                rule.series_score(&probs),
                by_definition,
                "{case:?} k={adjacent}"
            );
            let called = by_definition.is_some_and(|s| s >= 0.5);
            assert_eq!(rule.series_call(&probs).is_hemorrhage(), called);
        }
    }
    let two = StudyRule::new(t, 2).unwrap();
    assert_eq!(two.series_call(&p(cases[0])), Label::Normal);
    assert_eq!(two.series_call(&p(cases[1])), Label::Hemorrhage);
    assert_eq!(two.series_call(&p(cases[2])), Label::Hemorrhage);
    assert_eq!(two.series_call(&p(cases[3])), Label::Normal);
    assert_eq!(positive_runs(&p(cases[0]), t), "2;4");
    assert_eq!(positive_runs(&p(cases[4]), t), "2-4;6");
    assert_eq!(positive_runs(&p(cases[3]), t), "1;3");
    assert!(StudyRule::new(t, 0).is_err());
    // At threshold 0, slices that could not be read still do not count.
    let zero = StudyRule::new(Threshold::new(0.0).unwrap(), 2).unwrap();
    assert_eq!(zero.series_call(&p(&[-1.0, -1.0, 0.3])), Label::Normal);
    assert_eq!(zero.series_call(&p(&[0.0, 0.3])), Label::Hemorrhage);
    assert!(two.sentence().contains("at least 2 adjacent slices"));
}

/// Trains a one-epoch model on DICOM phantoms in `d/run`.
fn train_small_model(d: &Path) {
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
            "0",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = head_ct(
        &[
            "train",
            "--data",
            "ct",
            "--windows",
            "brain",
            "--epochs",
            "1",
            "--out",
            "run",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
}

fn csv_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(String::from).collect())
        .collect()
}

#[test]
fn study_and_predict_read_an_export_folder_and_list_what_they_skip() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_small_model(d);
    let (series2, series3) = write_export(&d.join("export"));
    std::fs::write(
        d.join("labels.csv"),
        format!("study_uid, hemorrhage\n{STUDY}, 1\n"),
    )
    .unwrap();

    let out = head_ct(
        &[
            "study",
            "--model",
            "run",
            "export",
            "--out",
            "study",
            "--labels",
            "labels.csv",
        ],
        d,
    );
    let log = text(&out);
    // The damaged file failed: the rest is still read, and the exit status says so.
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(!log.contains("panicked"), "{log}");
    assert!(
        log.contains("Rule: a series is called hemorrhage when at least 2 adjacent"),
        "{log}"
    );
    assert!(log.contains("Study 2.25.4711 (2026-12-01): "), "{log}");
    assert!(
        log.contains("series 2 'HEAD series 2', 6 slices: "),
        "{log}"
    );
    assert!(
        log.contains("series 3 'HEAD series 3', 3 slices: "),
        "{log}"
    );
    assert!(log.contains("Scored 1 studies against labels.csv"), "{log}");
    // No patient name or id anywhere.
    assert!(
        !log.contains("Phantom^Synthetic") && !log.contains("HEAD-CT-PHANTOM"),
        "{log}"
    );

    let slices = csv_rows(&d.join("study/slices.csv"));
    assert_eq!(slices.len(), 9);
    let files: Vec<PathBuf> = slices.iter().map(|r| PathBuf::from(&r[7])).collect();
    let expected: Vec<PathBuf> = series2
        .iter()
        .chain(&series3)
        .map(|p| p.strip_prefix(d).unwrap().to_path_buf())
        .collect();
    assert_eq!(files, expected);
    assert_eq!(
        slices.iter().map(|r| r[4].as_str()).collect::<Vec<_>>(),
        ["1", "2", "3", "4", "5", "6", "1", "2", "3"]
    );
    assert_eq!(slices[1][5], "5.000");
    for row in &slices {
        let p: f32 = row[8].parse().unwrap();
        assert!((0.0..=1.0).contains(&p), "{row:?}");
        assert_eq!(
            row[9],
            if p >= 0.5 { "hemorrhage" } else { "normal" },
            "{row:?}"
        );
    }
    let series = csv_rows(&d.join("study/series.csv"));
    assert_eq!(series.len(), 2);
    assert_eq!((series[0][2].as_str(), series[0][4].as_str()), ("2", "6"));
    let skipped = csv_rows(&d.join("study/skipped.csv"));
    assert_eq!(skipped.len(), 8, "{skipped:?}");
    assert!(d.join("study/study01_series2.png").is_file());
    assert!(d.join("study/study01_series3.png").is_file());
    assert!(d.join("study/study01_series2_top.png").is_file());
    assert!(log.contains("and 4 figures to study"), "{log}");
    for name in ["slices.csv", "series.csv", "skipped.csv"] {
        let t = std::fs::read_to_string(d.join("study").join(name)).unwrap();
        assert!(!t.contains("Phantom^Synthetic"), "{name}");
    }

    // The same folder named twice is read once; a labels file that matches no study stops the
    // command after the tables are written.
    std::fs::write(d.join("wrong.csv"), "study_uid, hemorrhage\n2.25.1, 1\n").unwrap();
    let out = head_ct(
        &[
            "study",
            "--model",
            "run",
            "export",
            "./export",
            "--out",
            "again",
            "--labels",
            "wrong.csv",
        ],
        d,
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(1), "{log}");
    assert!(
        log.contains("none of the 1 studies read has a row"),
        "{log}"
    );
    assert_eq!(csv_rows(&d.join("again/slices.csv")).len(), 9);
    assert_eq!(csv_rows(&d.join("again/skipped.csv")).len(), 8);

    // predict on the same folder: every image predicted, the rest listed, exit status 2
    // because of the damaged file; without it, 0.
    let out = head_ct(&["predict", "--model", "run", "export"], d);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(2), "{log}");
    assert!(
        log.contains("Skipped 5 files (1 could not be read):"),
        "{log}"
    );
    assert!(log.contains("README.TXT: not a DICOM file"), "{log}");
    std::fs::remove_file(d.join("export/damaged")).unwrap();
    let out = head_ct(&["predict", "--model", "run", "export"], d);
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    // 9 slices, the copy, the reformatted slice and the localizer are images.
    assert_eq!(
        log.matches(" probability of hemorrhage ").count(),
        12,
        "{log}"
    );
}

#[test]
fn study_reads_phantom_studies_in_slice_order_and_scores_their_labels() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    train_small_model(d);
    let out = head_ct(
        &[
            "phantoms",
            "--format",
            "dicom",
            "--studies",
            "2",
            "--out",
            "studies",
        ],
        d,
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = head_ct(
        &[
            "study",
            "--model",
            "run",
            "studies",
            "--out",
            "result",
            "--labels",
            "studies/labels.csv",
        ],
        d,
    );
    let log = text(&out);
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(
        log.contains("Read 86 DICOM images of 2 studies: 84 slices in 4 series"),
        "{log}"
    );
    assert!(
        log.contains("Scored 2 studies against studies/labels.csv"),
        "{log}"
    );
    // Slice k of each series in slices.csv is slice k of truth.csv (ascending position),
    // whatever the files are named, and positions rise along each series.
    let truth: std::collections::HashMap<(String, String, String), f64> =
        std::fs::read_to_string(d.join("studies/truth.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split(',').map(str::trim).collect();
                (
                    (f[0].into(), f[1].into(), f[2].into()),
                    f[3].parse().unwrap(),
                )
            })
            .collect();
    let slices = csv_rows(&d.join("result/slices.csv"));
    assert_eq!(slices.len(), truth.len());
    for pair in slices.windows(2) {
        if pair[0][1] == pair[1][1] {
            let (a, b): (f64, f64) = (pair[0][5].parse().unwrap(), pair[1][5].parse().unwrap());
            assert!(a < b, "{pair:?}");
        }
    }
    for r in &slices {
        let expected = truth[&(r[0].clone(), r[1].clone(), r[4].clone())];
        let position: f64 = r[5].parse().unwrap();
        assert!(
            (position - expected).abs() < 0.01,
            "{r:?}: truth {expected}"
        );
    }
    // Localizers, reports and the export's text files: skipped, each with a reason.
    let skipped = csv_rows(&d.join("result/skipped.csv"));
    assert_eq!(skipped.len(), 2 + 2 + 3, "{skipped:?}");
    assert_eq!(
        skipped
            .iter()
            .filter(|r| r[1].starts_with("localizer"))
            .count(),
        2
    );
    assert_eq!(
        skipped
            .iter()
            .filter(|r| r[1].starts_with("structured report"))
            .count(),
        2
    );
}
