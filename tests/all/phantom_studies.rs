//! Phantom studies (`head_ct::data::phantom_studies`, `head-ct phantoms --studies`): whole
//! synthetic CT studies, read back with dicom-object and checked against their ground truth.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
    sync::OnceLock,
};

use dicom_dictionary_std::tags;
use dicom_object::{open_file, DefaultDicomObject};
use head_ct::data::{
    phantom_studies::{
        write_phantom_studies, PhantomStudies, DICOM_DIR, MATRIX, MIN_BLEED_PIXELS, THICK_MM,
        THICK_SLICES, THIN_MM, THIN_SLICES,
    },
    phantoms::render_ct_phantom,
};

use crate::common::{head_ct, text};

/// One export shared by the tests of this module (6 studies, seed 7), written once per test
/// process under Cargo's temporary folder for integration tests.
fn export() -> &'static PhantomStudies {
    static EXPORT: OnceLock<PhantomStudies> = OnceLock::new();
    EXPORT.get_or_init(|| {
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        remove_stale_exports(tmp);
        let out = tmp.join(format!("phantom-studies-{}", std::process::id()));
        write_phantom_studies(&out, 7, 6, true).expect("write the shared phantom studies")
    })
}

/// Removes the shared exports of earlier test processes that have ended (where `/proc` says
/// which processes run; elsewhere they stay).
fn remove_stale_exports(tmp: &Path) {
    if !Path::new("/proc/self").exists() {
        return;
    }
    let Ok(entries) = fs::read_dir(tmp) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(pid) = name.strip_prefix("phantom-studies-") {
            if pid.parse::<u32>().is_ok() && !Path::new("/proc").join(pid).exists() {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

fn open(path: &Path) -> DefaultDicomObject {
    open_file(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn string(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> String {
    obj.element(tag)
        .unwrap_or_else(|e| panic!("{tag}: {e}"))
        .to_str()
        .unwrap()
        .trim()
        .to_string()
}

fn floats(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    obj.element(tag).unwrap().to_multi_float64().unwrap()
}

fn int(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> i32 {
    obj.element(tag).unwrap().to_int::<i32>().unwrap()
}

/// The slice's CT numbers (HU), from its stored values and its rescale.
fn hounsfield(obj: &DefaultDicomObject) -> Vec<f32> {
    let slope = floats(obj, tags::RESCALE_SLOPE)[0];
    let intercept = floats(obj, tags::RESCALE_INTERCEPT)[0];
    obj.element(tags::PIXEL_DATA)
        .unwrap()
        .to_multi_int::<i32>()
        .unwrap()
        .into_iter()
        .map(|v| (f64::from(v) * slope + intercept) as f32)
        .collect()
}

/// Every regular file under `dir`, relative to `root`.
fn files_under(root: &Path, dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files_under(root, &path, out);
        } else {
            out.push(path.strip_prefix(root).unwrap().to_path_buf());
        }
    }
}

/// Pixels of "blood in the brain": the 5x5 mean is 56–90 HU and no pixel of the 5x5
/// neighbourhood is outside −30–100 HU (so not bone, calcification or air, nor their partial
/// volume). Averaging over 25 pixels takes the noise (at most 3.6 HU) down to 0.7 HU; brain
/// without blood (25-40 HU, a denser cortex, texture) stays below 53 HU by this measure in 40
/// studies of 4 other seeds, and the bleeds are 60-80 HU.
fn blood_pixels(hu: &[f32], n: usize) -> usize {
    let mut count = 0;
    for y in 2..n - 2 {
        for x in 2..n - 2 {
            let mut sum = 0.0;
            let mut soft = true;
            for yy in y - 2..=y + 2 {
                for xx in x - 2..=x + 2 {
                    let v = hu[yy * n + xx];
                    soft &= (-30.0..=100.0).contains(&v);
                    sum += v;
                }
            }
            let mean = sum / 25.0;
            if soft && (56.0..=90.0).contains(&mean) {
                count += 1;
            }
        }
    }
    count
}

#[test]
fn the_same_seed_writes_the_same_bytes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let ra = write_phantom_studies(a.path(), 3, 2, false).unwrap();
    let rb = write_phantom_studies(b.path(), 3, 2, false).unwrap();
    assert_eq!(ra.studies, rb.studies);
    let (mut fa, mut fb) = (Vec::new(), Vec::new());
    files_under(a.path(), a.path(), &mut fa);
    files_under(b.path(), b.path(), &mut fb);
    fa.sort();
    fb.sort();
    assert_eq!(fa, fb);
    // 2 studies x (28 + 14 + localizer + report) DICOM files, and the three tables.
    assert_eq!(fa.len(), 2 * (THIN_SLICES + THICK_SLICES + 2) + 3);
    assert_eq!(ra.files, 2 * (THIN_SLICES + THICK_SLICES + 2));
    for f in &fa {
        assert!(
            fs::read(a.path().join(f)).unwrap() == fs::read(b.path().join(f)).unwrap(),
            "{} differs between two runs with seed 3",
            f.display()
        );
    }
    // Another seed: other studies, other pixels.
    let other = export();
    assert_ne!(
        ra.studies[0].study_instance_uid,
        other.studies[0].study_instance_uid
    );
    let mid = |r: &PhantomStudies, root: &Path| {
        hounsfield(&open(&root.join(&r.studies[0].series[0].slices[14].file)))
    };
    assert_ne!(mid(&ra, a.path()), mid(other, &other.out));
}

#[test]
fn the_export_holds_the_studies_in_nested_folders_with_pacs_file_names() {
    let r = export();
    assert_eq!(r.studies.len(), 6);
    assert_eq!(r.hemorrhage_count(), 3);
    let mut all = Vec::new();
    files_under(&r.out, &r.out, &mut all);
    let top: BTreeSet<_> = all
        .iter()
        .filter(|p| p.components().count() == 1)
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        top,
        ["README.TXT", "labels.csv", "truth.csv"]
            .map(String::from)
            .into()
    );
    let readme = fs::read_to_string(r.out.join("README.TXT")).unwrap();
    assert!(readme.contains("NOT PATIENT DATA"), "{readme}");
    // Every DICOM file is a slice, the localizer or the report of exactly one study.
    let mut expected: Vec<PathBuf> = r
        .studies
        .iter()
        .flat_map(|s| {
            s.series
                .iter()
                .flat_map(|se| se.slices.iter().map(|sl| sl.file.clone()))
                .chain([s.localizer.clone(), s.report.clone()])
        })
        .collect();
    expected.sort();
    let mut dicom: Vec<PathBuf> = all
        .into_iter()
        .filter(|p| p.starts_with(DICOM_DIR))
        .collect();
    dicom.sort();
    assert_eq!(dicom, expected);
    for f in &dicom {
        // DICOM/<study>/<series>/<file>
        assert_eq!(f.components().count(), 4, "{}", f.display());
        let name = f.file_name().unwrap().to_str().unwrap();
        assert!(
            name.chars().all(|c| c.is_ascii_digit() || c == '.'),
            "{name}: not a number or a UID"
        );
        assert!(!name.to_ascii_lowercase().ends_with(".dcm"));
    }
}

#[test]
fn file_name_order_is_not_slice_order() {
    let r = export();
    for study in &r.studies {
        for series in &study.series {
            let dir = r.out.join(series.slices[0].file.parent().unwrap());
            let mut names: Vec<PathBuf> = fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            assert_eq!(names.len(), series.slices.len());
            let z: Vec<f64> = names
                .iter()
                .map(|p| floats(&open(p), tags::IMAGE_POSITION_PATIENT)[2])
                .collect();
            let ascending = z.windows(2).all(|w| w[0] < w[1]);
            let descending = z.windows(2).all(|w| w[0] > w[1]);
            assert!(
                !ascending && !descending,
                "series {} of {}: file names sort in slice order",
                series.series_number,
                study.study_instance_uid
            );
        }
    }
}

#[test]
fn slices_are_placed_along_the_scan_and_instance_numbers_run_against_position_in_series_2() {
    let r = export();
    for study in &r.studies {
        assert_eq!(study.series.len(), 2);
        for (series, n, spacing) in [
            (&study.series[0], THIN_SLICES, THIN_MM),
            (&study.series[1], THICK_SLICES, THICK_MM),
        ] {
            assert_eq!(series.slices.len(), n);
            let mut previous: Option<(f64, i32)> = None;
            for slice in &series.slices {
                let obj = open(&r.out.join(&slice.file));
                assert_eq!(
                    string(&obj, tags::STUDY_INSTANCE_UID),
                    study.study_instance_uid
                );
                assert_eq!(string(&obj, tags::STUDY_DATE), study.study_date);
                assert_eq!(
                    string(&obj, tags::SERIES_INSTANCE_UID),
                    series.series_instance_uid
                );
                assert_eq!(string(&obj, tags::SERIES_DESCRIPTION), series.description);
                assert_eq!(int(&obj, tags::SERIES_NUMBER), series.series_number);
                assert_eq!(string(&obj, tags::SOP_INSTANCE_UID), slice.sop_instance_uid);
                assert_eq!(
                    floats(&obj, tags::IMAGE_ORIENTATION_PATIENT),
                    [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
                );
                assert_eq!(floats(&obj, tags::SLICE_THICKNESS), [spacing]);
                assert_eq!(int(&obj, tags::ROWS) as usize, MATRIX);
                assert!(string(&obj, tags::IMAGE_TYPE).ends_with("AXIAL"));
                let z = floats(&obj, tags::IMAGE_POSITION_PATIENT)[2];
                assert_eq!(z, slice.position_mm);
                let instance = int(&obj, tags::INSTANCE_NUMBER);
                assert_eq!(instance, slice.instance_number);
                if let Some((pz, pi)) = previous {
                    assert!((z - pz - spacing).abs() < 0.011, "{pz} then {z}");
                    if series.series_number == 2 {
                        assert_eq!(instance, pi - 1, "series 2 numbers from the top down");
                    } else {
                        assert_eq!(instance, pi + 1, "series 3 numbers from the bottom up");
                    }
                }
                previous = Some((z, instance));
            }
        }
        // The 10 mm slabs lie midway between pairs of 5 mm slices: the same volume.
        let (thin, thick) = (&study.series[0].slices, &study.series[1].slices);
        for (k, slab) in thick.iter().enumerate() {
            let mid = (thin[2 * k].position_mm + thin[2 * k + 1].position_mm) / 2.0;
            assert!((slab.position_mm - mid).abs() < 0.011);
        }
    }
}

#[test]
fn each_study_has_a_lateral_localizer_and_a_text_report_without_pixels() {
    let r = export();
    for study in &r.studies {
        let scout = open(&r.out.join(&study.localizer));
        assert_eq!(
            string(&scout, tags::IMAGE_TYPE),
            "ORIGINAL\\PRIMARY\\LOCALIZER"
        );
        assert_eq!(
            floats(&scout, tags::IMAGE_ORIENTATION_PATIENT),
            [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
        );
        assert_eq!(string(&scout, tags::SERIES_DESCRIPTION), "SCOUT");
        assert_eq!(int(&scout, tags::SERIES_NUMBER), 1);
        assert_eq!(
            string(&scout, tags::STUDY_INSTANCE_UID),
            study.study_instance_uid
        );
        // A projection through the head: air above it, denser than air through it.
        let hu = hounsfield(&scout);
        let (lo, hi) = hu
            .iter()
            .fold((f32::MAX, f32::MIN), |(a, b), &v| (a.min(v), b.max(v)));
        assert!(lo < -950.0 && hi > -700.0, "localizer range {lo}..{hi}");

        let report = open(&r.out.join(&study.report));
        assert_eq!(
            string(&report, tags::SOP_CLASS_UID),
            "1.2.840.10008.5.1.4.1.1.88.11"
        );
        assert_eq!(
            report.meta().media_storage_sop_class_uid(),
            "1.2.840.10008.5.1.4.1.1.88.11"
        );
        assert_eq!(string(&report, tags::MODALITY), "SR");
        assert_eq!(
            string(&report, tags::STUDY_INSTANCE_UID),
            study.study_instance_uid
        );
        assert!(
            report.element(tags::PIXEL_DATA).is_err(),
            "a report has no pixels"
        );
        assert!(report.element(tags::CONTENT_SEQUENCE).is_ok());
    }
}

#[test]
fn labels_csv_and_truth_csv_agree_with_the_ground_truth() {
    let r = export();
    let labels = fs::read_to_string(r.out.join("labels.csv")).unwrap();
    let mut lines = labels.lines();
    assert_eq!(lines.next(), Some("study_uid, hemorrhage"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), r.studies.len());
    for (row, study) in rows.iter().zip(&r.studies) {
        assert_eq!(
            *row,
            format!(
                "{}, {}",
                study.study_instance_uid,
                u8::from(study.hemorrhage)
            )
        );
    }

    let truth = fs::read_to_string(r.out.join("truth.csv")).unwrap();
    let mut lines = truth.lines();
    assert_eq!(
        lines.next(),
        Some("study_uid, series_uid, slice, position_mm, bleed")
    );
    let rows: Vec<Vec<String>> = lines
        .map(|l| l.split(", ").map(String::from).collect())
        .collect();
    let mut expected = Vec::new();
    for study in &r.studies {
        for series in &study.series {
            for (k, slice) in series.slices.iter().enumerate() {
                expected.push((study, series, k, slice));
            }
        }
    }
    assert_eq!(rows.len(), expected.len());
    for (row, (study, series, k, slice)) in rows.iter().zip(expected) {
        assert_eq!(row.len(), 5, "{row:?}");
        assert_eq!(row[0], study.study_instance_uid);
        assert_eq!(row[1], series.series_instance_uid);
        assert_eq!(row[2].parse::<usize>().unwrap(), k + 1);
        assert_eq!(row[3].parse::<f64>().unwrap(), slice.position_mm);
        assert_eq!(row[4], if slice.bleed { "1" } else { "0" });
        if !study.hemorrhage {
            assert_eq!(row[4], "0");
        }
    }
}

#[test]
fn bleeds_span_adjacent_slices_with_blood_in_the_brain_and_normal_studies_have_none() {
    let r = export();
    for study in &r.studies {
        let thin = &study.series[0];
        let bleed = thin.bleed_slices();
        if study.hemorrhage {
            assert!(study.lesion.is_some());
            assert!(
                (3..=7).contains(&bleed.len()),
                "{}: bleed on slices {bleed:?}",
                study.study_instance_uid
            );
            assert!(bleed.windows(2).all(|w| w[1] == w[0] + 1), "{bleed:?}");
            // Near the middle of the head, where the 2-D phantoms' slices lie.
            assert!(bleed[0] >= 6 && *bleed.last().unwrap() <= 23, "{bleed:?}");
            let thick = study.series[1].bleed_slices();
            assert!(!thick.is_empty());
            assert!(thick.windows(2).all(|w| w[1] == w[0] + 1), "{thick:?}");
        } else {
            assert!(study.lesion.is_none());
            assert!(bleed.is_empty());
            assert!(study.series[1].bleed_slices().is_empty());
        }
        for (k, slice) in thin.slices.iter().enumerate() {
            let hu = hounsfield(&open(&r.out.join(&slice.file)));
            let blood = blood_pixels(&hu, MATRIX);
            // The three lowest and highest slices cut the inner skull obliquely: there, as at a
            // real skull base, bone's partial volume alone reaches 50-90 HU over whole 5x5
            // patches (in about 1 study in 10), so they are not held to "no blood".
            let far_from_the_middle = !(3..THIN_SLICES - 3).contains(&k);
            if slice.bleed {
                assert!(
                    blood >= MIN_BLEED_PIXELS,
                    "slice {} of {}: {blood} pixels of blood",
                    k + 1,
                    study.study_instance_uid
                );
            } else if !far_from_the_middle {
                assert_eq!(
                    blood,
                    0,
                    "slice {} of {} (no bleed): pixels of blood",
                    k + 1,
                    study.study_instance_uid
                );
            }
        }
    }
}

/// Head area (pixels above −500 HU), bone share of it (above 300 HU) and the median of its soft
/// tissue (−30 to 100 HU), as fractions of the image and HU.
fn slice_stats(hu: &[f32]) -> (f64, f64, f32) {
    let head = hu.iter().filter(|&&v| v > -500.0).count();
    let bone = hu.iter().filter(|&&v| v > 300.0).count();
    let mut soft: Vec<f32> = hu
        .iter()
        .copied()
        .filter(|v| (-30.0..=100.0).contains(v))
        .collect();
    soft.sort_by(f32::total_cmp);
    (
        head as f64 / hu.len() as f64,
        bone as f64 / head.max(1) as f64,
        soft[soft.len() / 2],
    )
}

#[test]
fn mid_slices_resemble_the_2d_ct_phantoms_and_the_lowest_do_not() {
    let flat: Vec<_> = (0..40)
        .map(|i| slice_stats(&render_ct_phantom(5, 1000 + i, false).gray))
        .collect();
    let range = |f: fn(&(f64, f64, f32)) -> f64| {
        flat.iter()
            .map(f)
            .fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)))
    };
    let head = range(|s| s.0);
    let bone = range(|s| s.1);
    let soft = range(|s| f64::from(s.2));
    let r = export();
    for study in &r.studies {
        let slices = &study.series[0].slices;
        let mut mid_area = f64::MAX;
        for k in [THIN_SLICES / 2 - 1, THIN_SLICES / 2] {
            let (h, b, s) = slice_stats(&hounsfield(&open(&r.out.join(&slices[k].file))));
            mid_area = mid_area.min(h);
            let at = format!("slice {} of {}", k + 1, study.study_instance_uid);
            assert!(
                h >= head.0 * 0.9 && h <= head.1 * 1.1,
                "{at}: head area {h:.3}, 2-D {head:?}"
            );
            assert!(
                b >= bone.0 * 0.8 && b <= bone.1 * 1.25,
                "{at}: bone share {b:.3}, 2-D {bone:?}"
            );
            assert!(
                f64::from(s) >= soft.0 - 3.0 && f64::from(s) <= soft.1 + 3.0,
                "{at}: soft tissue median {s} HU, 2-D {soft:?}"
            );
        }
        // The lowest slice (skull base): a smaller head than in the middle, with more bone
        // than any 2-D phantom.
        let (h, b, _) = slice_stats(&hounsfield(&open(&r.out.join(&slices[0].file))));
        assert!(
            h < mid_area * 0.8 && b > bone.1 * 1.5,
            "lowest slice of {}: head area {h:.3} (middle {mid_area:.3}), bone share {b:.3} \
             (2-D {bone:?})",
            study.study_instance_uid
        );
    }
}

#[test]
fn bad_requests_are_refused_with_the_folder_named() {
    let dir = tempfile::tempdir().unwrap();
    assert!(write_phantom_studies(&dir.path().join("none"), 1, 0, false).is_err());
    let file = dir.path().join("a-file");
    fs::write(&file, "x").unwrap();
    let e = write_phantom_studies(&file, 1, 1, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("a-file") && e.contains("not a folder"), "{e}");
    let busy = dir.path().join("busy");
    fs::create_dir(&busy).unwrap();
    fs::write(busy.join("keep.txt"), "mine").unwrap();
    let e = write_phantom_studies(&busy, 1, 1, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("busy") && e.contains("--force"), "{e}");
    assert!(!busy.join("labels.csv").exists());
}

#[test]
fn the_command_writes_studies_with_dicom_only_and_force_replaces_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let out = head_ct(&["phantoms", "--studies", "1", "--out", "st"], d);
    assert!(!out.status.success());
    assert!(text(&out).contains("--format dicom"), "{}", text(&out));
    let out = head_ct(
        &[
            "phantoms",
            "--format",
            "dicom",
            "--studies",
            "1",
            "--train",
            "4",
        ],
        d,
    );
    assert!(!out.status.success(), "{}", text(&out));

    let args = [
        "phantoms",
        "--format",
        "dicom",
        "--studies",
        "1",
        "--out",
        "st",
    ];
    let out = head_ct(&args, d);
    let log = text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("Wrote 1 synthetic CT study (1 with a bleed, 0 without"),
        "{log}"
    );
    assert!(log.contains("st"), "{log}");
    let labels = fs::read_to_string(d.join("st/labels.csv")).unwrap();
    assert_eq!(labels.lines().count(), 2, "{labels}");

    let out = head_ct(&args, d);
    assert!(!out.status.success());
    assert!(text(&out).contains("--force"), "{}", text(&out));
    fs::write(d.join("st/mine.txt"), "keep").unwrap();
    let mut forced = args.to_vec();
    forced.push("--force");
    let out = head_ct(&forced, d);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        d.join("st/mine.txt").is_file(),
        "--force removes only what it wrote"
    );
    assert_eq!(fs::read_to_string(d.join("st/labels.csv")).unwrap(), labels);
}
