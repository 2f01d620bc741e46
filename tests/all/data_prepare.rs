//! prepare: Kaggle folder → seed layout; labels.csv parsing and every bad-input case; real data
//! when HEAD_CT_DATA is set.

use head_ct::data::Loader;
use std::{
    collections::{BTreeMap, HashSet},
    fs,
    path::{Path, PathBuf},
};

use head_ct::{
    data::prepare::{prepare_kaggle, read_labels_csv, PrepareOptions, SplitCounts},
    Label,
};
use image::{ImageBuffer, Rgb};

/// A Kaggle-style folder: `labels.csv` (with `csv` as its text) and `head_ct/NNN.png` for `ids`.
fn kaggle(dir: &Path, csv: &str, ids: &[&str]) {
    fs::create_dir_all(dir.join("head_ct")).unwrap();
    fs::write(dir.join("labels.csv"), csv).unwrap();
    for id in ids {
        ImageBuffer::from_fn(40, 36, |_, _| Rgb([1u8, 2, 3]))
            .save(dir.join("head_ct").join(format!("{id}.png")))
            .unwrap();
    }
}

/// `n` ids per class, Kaggle style (`000`...; first half hemorrhage).
fn kaggle_n(dir: &Path, n: usize) {
    let ids: Vec<String> = (0..2 * n).map(|i| format!("{i:03}")).collect();
    let mut csv = String::from("id, hemorrhage\n");
    for (i, id) in ids.iter().enumerate() {
        csv.push_str(&format!("{id},{}\n", u8::from(i < n)));
    }
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    kaggle(dir, &csv, &refs);
}

fn opts(train: usize, validate: usize, test: usize) -> PrepareOptions {
    PrepareOptions {
        counts: SplitCounts {
            train,
            validate,
            test,
        },
        ..PrepareOptions::default()
    }
}

fn files_under(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.insert(p.clone(), fs::read(&p).unwrap());
        }
    }
    out
}

fn split_ids(root: &Path) -> BTreeMap<(String, String), Vec<String>> {
    let mut out = BTreeMap::new();
    for split in ["train", "validate", "test"] {
        for class in ["hemorrhage", "normal"] {
            let dir = root.join(split).join(class);
            let mut ids: Vec<String> = match fs::read_dir(&dir) {
                Ok(rd) => rd
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .collect(),
                Err(_) => vec![],
            };
            ids.sort();
            out.insert((split.to_string(), class.to_string()), ids);
        }
    }
    out
}

fn assert_disjoint_stratified(root: &Path, t: usize, v: usize, s: usize) {
    let ids = split_ids(root);
    let mut all = HashSet::new();
    for ((split, class), list) in &ids {
        let want = match split.as_str() {
            "train" => t,
            "validate" => v,
            _ => s,
        };
        assert_eq!(list.len(), want, "{split}/{class}");
        for id in list {
            assert!(all.insert(id.clone()), "{id} in two splits");
        }
    }
}

fn err<T: std::fmt::Debug>(r: head_ct::Result<T>, parts: &[&str]) {
    let msg = r.expect_err("expected an error").to_string();
    for p in parts {
        assert!(msg.contains(p), "error `{msg}` should contain `{p}`");
    }
}

#[test]
fn default_split_is_disjoint_stratified_seeded_and_leaves_the_source_alone() {
    let src = tempfile::tempdir().unwrap();
    kaggle_n(src.path(), 100);
    let before = files_under(src.path());
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("slices");
    let report = prepare_kaggle(src.path(), &target, &PrepareOptions::default()).unwrap();
    assert_eq!((report.train.hemorrhage, report.train.normal), (70, 70));
    assert_eq!(
        (report.validate.hemorrhage, report.validate.normal),
        (25, 25)
    );
    assert_eq!((report.test.hemorrhage, report.test.normal), (5, 5));
    assert_eq!((report.unused.hemorrhage, report.unused.normal), (0, 0));
    assert_disjoint_stratified(&target, 70, 25, 5);
    // Labels follow labels.csv: ids 000-099 are hemorrhage.
    for name in &split_ids(&target)[&("train".into(), "hemorrhage".into())] {
        assert!(name.as_str() < "100.png", "{name}");
    }
    assert_eq!(files_under(src.path()), before, "source changed");
    // Manifest: header + 200 rows; no temp file left behind.
    let manifest = fs::read_to_string(target.join("split.csv")).unwrap();
    assert!(manifest.starts_with("id,label,split\n"));
    assert_eq!(manifest.lines().count(), 201);
    assert!(files_under(&target)
        .keys()
        .all(|p| !p.to_string_lossy().ends_with(".tmp")));
    // Copies are byte-identical.
    let some = target.join("test/normal");
    let f = fs::read_dir(&some).unwrap().next().unwrap().unwrap().path();
    let orig = src.path().join("head_ct").join(f.file_name().unwrap());
    assert_eq!(fs::read(&f).unwrap(), fs::read(orig).unwrap());
    // Loadable.
    let data = Loader::default().seed_layout(&target).unwrap();
    assert_eq!(
        data.train.len() + data.validate.len() + data.test.unwrap().len(),
        200
    );

    // Same seed → same split; another seed → another split.
    let again = out.path().join("again");
    prepare_kaggle(src.path(), &again, &PrepareOptions::default()).unwrap();
    assert_eq!(split_ids(&again), split_ids(&target));
    let other = out.path().join("other");
    let o = PrepareOptions {
        seed: 7,
        ..PrepareOptions::default()
    };
    prepare_kaggle(src.path(), &other, &o).unwrap();
    assert_ne!(split_ids(&other), split_ids(&target));
}

#[test]
fn custom_counts_leave_the_rest_unused_and_test_zero_means_no_test_folder() {
    let src = tempfile::tempdir().unwrap();
    kaggle_n(src.path(), 10);
    let out = tempfile::tempdir().unwrap();
    let r = prepare_kaggle(src.path(), out.path(), &opts(4, 2, 0)).unwrap();
    assert_eq!((r.unused.hemorrhage, r.unused.normal), (4, 4));
    assert_disjoint_stratified(out.path(), 4, 2, 0);
    assert!(!out.path().join("test").exists());
    assert!(Loader::default()
        .seed_layout(out.path())
        .unwrap()
        .test
        .is_none());
}

#[test]
fn impossible_counts_are_refused() {
    let src = tempfile::tempdir().unwrap();
    kaggle_n(src.path(), 10);
    let out = tempfile::tempdir().unwrap();
    err(
        prepare_kaggle(src.path(), &out.path().join("a"), &opts(8, 2, 1)),
        &["impossible split", "11", "only 10"],
    );
    err(
        prepare_kaggle(src.path(), &out.path().join("b"), &opts(0, 2, 1)),
        &["impossible split", "at least 1"],
    );
    assert!(!out.path().join("a").exists());
}

#[test]
fn non_empty_target_is_refused_unless_forced() {
    let src = tempfile::tempdir().unwrap();
    kaggle_n(src.path(), 5);
    let out = tempfile::tempdir().unwrap();
    fs::write(out.path().join("keep.txt"), "mine").unwrap();
    err(
        prepare_kaggle(src.path(), out.path(), &opts(2, 2, 1)),
        &["not empty"],
    );
    let forced = PrepareOptions {
        force: true,
        ..opts(2, 2, 1)
    };
    prepare_kaggle(src.path(), out.path(), &forced).unwrap();
    prepare_kaggle(
        src.path(),
        out.path(),
        &PrepareOptions {
            force: true,
            ..opts(3, 1, 1)
        },
    )
    .unwrap();
    assert_disjoint_stratified(out.path(), 3, 1, 1);
    assert_eq!(
        fs::read_to_string(out.path().join("keep.txt")).unwrap(),
        "mine"
    );
    err(prepare_kaggle(src.path(), src.path(), &forced), &["source"]);
}

#[test]
fn images_next_to_labels_csv_and_short_ids_work() {
    // The layout of the shared copy: images beside labels.csv; ids written 0, 1, ...
    let src = tempfile::tempdir().unwrap();
    let mut csv = String::from("\u{feff}id , hemorrhage \r\n");
    for i in 0..6 {
        csv.push_str(&format!(" {i} , {} \r\n", u8::from(i < 3)));
        ImageBuffer::from_fn(40, 40, |_, _| Rgb([9u8, 9, 9]))
            .save(src.path().join(format!("{i:03}.png")))
            .unwrap();
    }
    csv.push('\n');
    fs::write(src.path().join("labels.csv"), csv).unwrap();
    let out = tempfile::tempdir().unwrap();
    let r = prepare_kaggle(src.path(), &out.path().join("t"), &opts(1, 1, 1)).unwrap();
    assert_eq!(r.train.hemorrhage, 1);
}

// ---- labels.csv bad input: errors name the file, the line and the problem ----

fn csv_err(csv: &str, ids: &[&str], parts: &[&str]) {
    let src = tempfile::tempdir().unwrap();
    kaggle(src.path(), csv, ids);
    let out = tempfile::tempdir().unwrap();
    err(
        prepare_kaggle(src.path(), &out.path().join("t"), &opts(1, 1, 0)),
        parts,
    );
}

#[test]
fn missing_id() {
    csv_err(
        "id, hemorrhage\n000,1\n,0\n",
        &["000", "001"],
        &["labels.csv", "line 3", "missing id"],
    );
}

#[test]
fn duplicate_id() {
    csv_err(
        "id, hemorrhage\n000,1\n001,0\n0,1\n",
        &["000", "001"],
        &["labels.csv", "line 4", "duplicate id `0`", "line 2"],
    );
}

#[test]
fn unknown_label() {
    csv_err(
        "id, hemorrhage\n000,1\n001,yes\n",
        &["000", "001"],
        &["labels.csv", "line 3", "unknown label value `yes`"],
    );
}

#[test]
fn wrong_header_and_field_count() {
    csv_err(
        "name,label\n000,1\n",
        &["000"],
        &["labels.csv", "line 1", "header"],
    );
    csv_err(
        "id, hemorrhage\n000,1,2\n",
        &["000"],
        &["line 2", "expected 2 fields"],
    );
    csv_err("", &[], &["labels.csv", "empty file"]);
}

#[test]
fn id_without_image() {
    csv_err(
        "id, hemorrhage\n000,1\n001,0\n002,0\n",
        &["000", "001"],
        &["labels.csv", "line 4", "`002` has no image"],
    );
}

#[test]
fn image_without_id() {
    csv_err(
        "id, hemorrhage\n000,1\n001,0\n",
        &["000", "001", "017"],
        &["017.png", "no row in", "labels.csv"],
    );
}

#[test]
fn missing_labels_csv_and_source() {
    let src = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    err(
        prepare_kaggle(src.path(), &out.path().join("t"), &opts(1, 1, 0)),
        &["labels.csv", "not found"],
    );
    err(
        prepare_kaggle(
            &src.path().join("nope"),
            &out.path().join("t"),
            &opts(1, 1, 0),
        ),
        &["nope", "not found"],
    );
}

#[test]
fn bom_crlf_and_spaces_are_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("labels.csv");
    fs::write(&p, "\u{feff}id, hemorrhage\r\n000, 1\r\n  001 ,0  \r\n\r\n").unwrap();
    let rows = read_labels_csv(&p).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (rows[0].id.as_str(), rows[0].label, rows[0].line),
        ("000", Label::Hemorrhage, 2)
    );
    assert_eq!((rows[1].id.as_str(), rows[1].label), ("001", Label::Normal));
}

// ---- the real Kaggle data, when HEAD_CT_DATA points to it ----

fn real_data() -> Option<PathBuf> {
    match std::env::var_os("HEAD_CT_DATA") {
        Some(p) => Some(PathBuf::from(p)),
        None => {
            println!("note: HEAD_CT_DATA is not set; skipping the real-data test");
            None
        }
    }
}

#[test]
fn real_data_prepares_to_140_50_10_and_loads() {
    let Some(src) = real_data() else { return };
    let out = tempfile::tempdir().unwrap();
    let target = out.path().join("head_ct_slices");
    let r = prepare_kaggle(&src, &target, &PrepareOptions::default()).unwrap();
    assert_eq!((r.train.hemorrhage, r.train.normal), (70, 70));
    assert_eq!((r.validate.hemorrhage, r.validate.normal), (25, 25));
    assert_eq!((r.test.hemorrhage, r.test.normal), (5, 5));
    assert_disjoint_stratified(&target, 70, 25, 5);
    let data = Loader::default().seed_layout(&target).unwrap();
    assert_eq!(data.train.len(), 140);
    assert_eq!(data.validate.len(), 50);
    let test = data.test.unwrap();
    assert_eq!(test.len(), 10);
    assert!(test.is_labelled());
    assert!(data.train.pixels().iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn the_archive_unpacked_one_folder_deeper_is_found() {
    let src = tempfile::tempdir().unwrap();
    kaggle_n(src.path(), 4);
    // As the Kaggle archive unpacks into a folder of its own name: head_ct/head_ct/*.png.
    let deeper = src.path().join("head_ct/head_ct");
    fs::create_dir_all(&deeper).unwrap();
    for entry in fs::read_dir(src.path().join("head_ct")).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            fs::rename(&path, deeper.join(path.file_name().unwrap())).unwrap();
        }
    }
    let out = tempfile::tempdir().unwrap();
    let report = prepare_kaggle(src.path(), &out.path().join("slices"), &opts(2, 1, 1)).unwrap();
    assert_eq!(report.train.hemorrhage + report.train.normal, 4);
    // Any other folder name under the source works too.
    fs::rename(&deeper, src.path().join("images")).unwrap();
    let report = prepare_kaggle(src.path(), &out.path().join("again"), &opts(2, 1, 1)).unwrap();
    assert_eq!(report.validate.hemorrhage + report.validate.normal, 2);
}

#[test]
fn ids_written_as_file_names_match_their_images() {
    let src = tempfile::tempdir().unwrap();
    kaggle_n(src.path(), 3);
    let csv = fs::read_to_string(src.path().join("labels.csv")).unwrap();
    let renamed: String = csv
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("{l}\n")
            } else {
                let (id, label) = l.split_once(',').unwrap();
                format!("{id}.png, {label}\n")
            }
        })
        .collect();
    fs::write(src.path().join("labels.csv"), renamed).unwrap();
    let out = tempfile::tempdir().unwrap();
    let report = prepare_kaggle(src.path(), &out.path().join("slices"), &opts(1, 1, 1)).unwrap();
    assert_eq!(report.test.hemorrhage + report.test.normal, 2);
}
