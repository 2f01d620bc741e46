//! Turns the Kaggle "Head CT - hemorrhage" download (`labels.csv` + `head_ct/000.png ...`) into
//! the seed project's layout, with a stratified, seeded, disjoint split:
//!
//! ```text
//! target/train/{hemorrhage,normal}/     70 + 70 by default
//! target/validate/{hemorrhage,normal}/  25 + 25
//! target/test/{hemorrhage,normal}/       5 + 5
//! target/split.csv                      id,label,split — one row per copied image
//! ```
//!
//! The source is only read. Images are copied byte for byte, each to a temporary name in its
//! target folder and then renamed, so an interrupted run never leaves a half-written image.

use std::{
    collections::HashMap,
    fs,
    path::{Path, PathBuf},
};

use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{has_image_extension, is_image_path, is_system_junk};
use crate::{error::Result, input::Limits, labels::Label, Error};

/// Images per class in each split (the same count for both classes: the split is stratified).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitCounts {
    pub train: usize,
    pub validate: usize,
    /// 0 means no `test/` folder.
    pub test: usize,
}

impl SplitCounts {
    /// Images per class in `split`.
    pub fn of(&self, split: super::Split) -> usize {
        match split {
            super::Split::Train => self.train,
            super::Split::Validate => self.validate,
            super::Split::Test => self.test,
        }
    }
}

impl Default for SplitCounts {
    /// The seed project's split: 70 + 25 + 5 per class (140 / 50 / 10 images).
    fn default() -> Self {
        Self {
            train: 70,
            validate: 25,
            test: 5,
        }
    }
}

/// Options of [`prepare_kaggle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PrepareOptions {
    pub counts: SplitCounts,
    /// Seed of the shuffle that assigns images to splits.
    pub seed: u64,
    /// Write into a non-empty target: its `train/`, `validate/`, `test/` folders and
    /// `split.csv` are replaced; anything else in it is left alone.
    pub force: bool,
    /// Limits of the DICOM headers read to match files named by SOPInstanceUID.
    pub limits: Limits,
}

impl Default for PrepareOptions {
    fn default() -> Self {
        Self {
            counts: SplitCounts::default(),
            seed: 42,
            force: false,
            limits: Limits::default(),
        }
    }
}

/// Images per class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassCount {
    pub hemorrhage: usize,
    pub normal: usize,
}

/// What [`prepare_kaggle`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrepareReport {
    pub target: PathBuf,
    pub manifest: PathBuf,
    pub train: ClassCount,
    pub validate: ClassCount,
    pub test: ClassCount,
    /// Labelled images left out of every split.
    pub unused: ClassCount,
}

/// One row of `labels.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelRow {
    /// The id as written (e.g. `000`).
    pub id: String,
    /// The label: `1` in the file is hemorrhage, `0` normal.
    pub label: Label,
    /// 1-based line number in the file.
    pub line: usize,
}

/// The key two ids match on: all-digit ids by value (`7`, `07` and `007` are the same image),
/// others as written.
fn id_key(id: &str) -> String {
    // An id written as a file name (`000.png`) is its stem.
    let id = if has_image_extension(Path::new(id)) || crate::ct::has_dicom_extension(Path::new(id))
    {
        Path::new(id)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(id)
    } else {
        id
    };
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) {
        let t = id.trim_start_matches('0');
        if t.is_empty() { "0" } else { t }.to_string()
    } else {
        id.to_string()
    }
}

/// Reads a Kaggle `labels.csv`: header `id,hemorrhage` (spaces around fields, a UTF-8 BOM and
/// CRLF line ends are accepted), then one `id,0|1` row per image. Blank lines are skipped. A
/// missing or duplicate id, a wrong field count or a label other than 0/1 is an error naming the
/// file and line.
pub fn read_labels_csv(path: &Path) -> Result<Vec<LabelRow>> {
    let bytes = fs::read(path).map_err(Error::io(path))?;
    parse_labels_csv(bytes, path)
}

/// [`read_labels_csv`] on the file's bytes; `path` names the file in errors (the fuzz target
/// `labels_csv` calls it).
pub fn parse_labels_csv(bytes: Vec<u8>, path: &Path) -> Result<Vec<LabelRow>> {
    parse_keyed_labels_csv(bytes, path, &["id"])
}

/// A `labels.csv` of studies or series for `head-ct study`: header `study_uid, hemorrhage` or
/// `series_uid, hemorrhage`, then one `uid, 0|1` row each, read as [`read_labels_csv`] reads
/// the Kaggle file. Returns the key column's name and the rows.
pub fn read_study_labels_csv(path: &Path) -> Result<(String, Vec<LabelRow>)> {
    let bytes = fs::read(path).map_err(Error::io(path))?;
    let keys = ["study_uid", "series_uid"];
    let rows = parse_keyed_labels_csv(bytes.clone(), path, &keys)?;
    let text = String::from_utf8_lossy(&bytes);
    let key = keys
        .into_iter()
        .find(|k| {
            text.trim_start_matches('\u{feff}')
                .trim_start()
                .to_ascii_lowercase()
                .starts_with(k)
        })
        .unwrap_or("study_uid");
    Ok((key.to_string(), rows))
}

/// The labels file's rows; its header's first column must be one of `keys`.
fn parse_keyed_labels_csv(bytes: Vec<u8>, path: &Path, keys: &[&str]) -> Result<Vec<LabelRow>> {
    let err = |line: usize, message: String| Error::data(path, format!("line {line}: {message}"));
    let text =
        String::from_utf8(bytes).map_err(|e| Error::data(path, format!("not UTF-8 text: {e}")))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut header_seen = false;
    for (i, raw) in text.split('\n').enumerate() {
        let line = i + 1;
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if raw.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = raw.split(',').map(str::trim).collect();
        if !header_seen {
            header_seen = true;
            let ok = fields.len() == 2
                && keys.iter().any(|k| fields[0].eq_ignore_ascii_case(k))
                && fields[1].eq_ignore_ascii_case(Label::Hemorrhage.name());
            if !ok {
                let expected = keys
                    .iter()
                    .map(|k| format!("`{k}, hemorrhage`"))
                    .collect::<Vec<_>>()
                    .join(" or ");
                return Err(err(
                    line,
                    format!("expected the header {expected}, found `{raw}`"),
                ));
            }
            continue;
        }
        if fields.len() != 2 {
            return Err(err(
                line,
                format!(
                    "expected 2 fields (id, hemorrhage), found {}: `{raw}`",
                    fields.len()
                ),
            ));
        }
        let (id, value) = (fields[0], fields[1]);
        if id.is_empty() {
            return Err(err(line, format!("missing id in `{raw}`")));
        }
        let label = match value {
            "0" => Label::Normal,
            "1" => Label::Hemorrhage,
            other => {
                return Err(err(
                    line,
                    format!("unknown label value `{other}` for id `{id}` (expected 0 or 1)"),
                ))
            }
        };
        if let Some(first) = seen.insert(id_key(id), line) {
            return Err(err(
                line,
                format!("duplicate id `{id}` (first given on line {first})"),
            ));
        }
        rows.push(LabelRow {
            id: id.to_string(),
            label,
            line,
        });
    }
    if !header_seen {
        return Err(Error::data(
            path,
            "empty file: expected the header `id, hemorrhage` and one row per image",
        ));
    }
    Ok(rows)
}

/// The folder holding the images of a Kaggle download, as people unpack it: the first of
/// `source/head_ct/`, `source/head_ct/head_ct/` (the archive unpacked into a folder of its own
/// name), `source/` itself, then any subfolder of `source/` or `source/head_ct/` (in name order)
/// that holds image files. `source/head_ct/` (or `source/`) when none holds any: the error that
/// follows then names it.
pub fn kaggle_image_dir(source: &Path) -> PathBuf {
    let nested = source.join("head_ct");
    let mut candidates = vec![nested.clone(), nested.join("head_ct"), source.to_path_buf()];
    for parent in [source, nested.as_path()] {
        let mut subdirs: Vec<PathBuf> = fs::read_dir(parent)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.is_dir())
            .collect();
        subdirs.sort();
        candidates.extend(subdirs);
    }
    candidates
        .into_iter()
        .find(|dir| holds_images(dir))
        .unwrap_or_else(|| {
            if nested.is_dir() {
                nested
            } else {
                source.to_path_buf()
            }
        })
}

/// True when `dir` directly holds at least one image file (junk skipped).
fn holds_images(dir: &Path) -> bool {
    fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let path = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        !is_system_junk(&name) && path.is_file() && is_image_path(&path)
    })
}

/// The labelled images of a Kaggle-style folder, in `labels.csv` order: `(image file, label)`. The same strict checks as [`prepare_kaggle`] (every row has exactly one
/// image and every image a row); nothing is copied. Cross-validation reads its pool this way.
pub fn kaggle_labelled_files(source: &Path, limits: &Limits) -> Result<Vec<(PathBuf, Label)>> {
    Ok(match_images(source, limits)?
        .into_iter()
        .map(|it| (it.file, it.label))
        .collect())
}

/// One labelled image of the source.
#[derive(Debug, Clone)]
struct Item {
    id: String,
    label: Label,
    file: PathBuf,
}

/// Matches `labels.csv` rows with image files: every row needs exactly one image (same stem,
/// numeric ids by value) and every image needs a row.
fn match_images(source: &Path, limits: &Limits) -> Result<Vec<Item>> {
    if !source.is_dir() {
        return Err(Error::data(source, "source folder not found"));
    }
    let csv = source.join("labels.csv");
    if !csv.is_file() {
        return Err(Error::data(
            csv,
            "labels.csv not found in the source folder",
        ));
    }
    let rows = read_labels_csv(&csv)?;
    let image_dir = kaggle_image_dir(source);
    let io = || Error::io(&image_dir);
    // Only image files count here: a download folder may hold other things (the zip's
    // leftovers, labels.csv itself), which are not our business.
    let mut images: HashMap<String, PathBuf> = HashMap::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(&image_dir).map_err(io())? {
        let path = entry.map_err(io())?.path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if is_system_junk(&name) || !path.is_file() || !is_image_path(&path) {
            continue;
        }
        files.push(path);
    }
    files.sort();
    for path in files {
        let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
        if let Some(other) = images.insert(id_key(&stem), path.clone()) {
            return Err(Error::Data {
                path,
                message: format!(
                    "two images for the same id `{stem}` (also {})",
                    other.display()
                ),
            });
        }
    }
    let mut items = Vec::with_capacity(rows.len());
    // An id that names no file may be a SOPInstanceUID (labels keyed by the DICOM header, as
    // archives export them): the UIDs of the DICOM files are read once, when first needed.
    let mut by_uid: Option<HashMap<String, String>> = None;
    for row in &rows {
        let mut file = images.remove(&id_key(&row.id));
        if file.is_none() && row.id.contains('.') {
            let uids = match &mut by_uid {
                Some(uids) => uids,
                None => by_uid.insert(dicom_uids(&images, limits)?),
            };
            file = uids.get(&row.id).and_then(|key| images.remove(key));
        }
        let Some(file) = file else {
            return Err(Error::data(
                &csv,
                format!(
                    "line {}: id `{}` has no image in {}",
                    row.line,
                    row.id,
                    image_dir.display()
                ),
            ));
        };
        items.push(Item {
            id: row.id.clone(),
            label: row.label,
            file,
        });
    }
    if !images.is_empty() {
        let mut left: Vec<_> = images.into_values().collect();
        left.sort();
        return Err(Error::data(
            &left[0],
            format!(
                "image has no row in {} ({} image(s) without a label in all)",
                csv.display(),
                left.len()
            ),
        ));
    }
    Ok(items)
}

/// The SOPInstanceUID of every DICOM file among `images` (keyed as `images` is): UID to key.
/// Errors name a file that cannot be read, or two files with one UID.
fn dicom_uids(
    images: &HashMap<String, PathBuf>,
    limits: &Limits,
) -> Result<HashMap<String, String>> {
    let mut uids: HashMap<String, String> = HashMap::new();
    let mut dicom: Vec<(&String, &PathBuf)> = images
        .iter()
        .filter(|(_, path)| crate::ct::dicom::is_dicom_file(path))
        .collect();
    dicom.sort();
    for (key, path) in dicom {
        if let Some(uid) = crate::ct::dicom::read_sop_instance_uid(path, limits)? {
            if let Some(other) = uids.insert(uid.clone(), key.clone()) {
                return Err(Error::data(
                    path,
                    format!(
                        "has the same SOPInstanceUID {uid} as {}: one slice, two files",
                        images[&other].display()
                    ),
                ));
            }
        }
    }
    Ok(uids)
}

/// The split folders, in the order of the split indices used below.
const SPLITS: [&str; 3] = [
    super::Split::Train.name_const(),
    super::Split::Validate.name_const(),
    super::Split::Test.name_const(),
];

/// Prepares the seed layout in `target` from a Kaggle-style `source` folder (see the module
/// docs). Refuses impossible counts (0 train or validation images per class, or more images
/// than a class has) and a non-empty `target` unless `options.force` is set.
pub fn prepare_kaggle(
    source: &Path,
    target: &Path,
    options: &PrepareOptions,
) -> Result<PrepareReport> {
    let counts = options.counts;
    if counts.train == 0 || counts.validate == 0 {
        return Err(Error::data(
            target,
            format!(
                "impossible split: train ({}) and validate ({}) need at least 1 image per class",
                counts.train, counts.validate
            ),
        ));
    }
    let items = match_images(source, &options.limits)?;
    let same_place = |a: &Path, b: &Path| match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same_place(source, target) || same_place(&kaggle_image_dir(source), target) {
        return Err(Error::data(
            target,
            "the target is the source folder; choose another target (the source is \
                      never written to)",
        ));
    }

    // Stratified, seeded split: each class is ordered by id, shuffled on its own stream, then cut.
    let need = counts.train + counts.validate + counts.test;
    let mut assigned: Vec<(usize, &Item)> = Vec::new(); // (split index, item)
    let mut report = PrepareReport {
        target: target.to_path_buf(),
        manifest: target.join("split.csv"),
        train: ClassCount::default(),
        validate: ClassCount::default(),
        test: ClassCount::default(),
        unused: ClassCount::default(),
    };
    for label in Label::POSITIVE_FIRST {
        let mut class: Vec<&Item> = items.iter().filter(|it| it.label == label).collect();
        let name = label.name();
        if class.len() < need {
            return Err(Error::data(
                source.join("labels.csv"),
                format!(
                    "impossible split: {} + {} + {} = {need} `{name}` images asked for \
                     (train + validate + test, per class), but only {} are labelled `{name}`",
                    counts.train,
                    counts.validate,
                    counts.test,
                    class.len()
                ),
            ));
        }
        class.sort_by(|a, b| {
            (id_key(&a.id).len(), id_key(&a.id)).cmp(&(id_key(&b.id).len(), id_key(&b.id)))
        });
        let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
        rng.set_stream(u64::from(label.flag()));
        class.shuffle(&mut rng);
        let bounds = [counts.train, counts.validate, counts.test];
        let mut start = 0;
        for (split, &n) in bounds.iter().enumerate() {
            for it in &class[start..start + n] {
                assigned.push((split, it));
            }
            start += n;
            let slot = match split {
                0 => &mut report.train,
                1 => &mut report.validate,
                _ => &mut report.test,
            };
            *class_slot(slot, label) = n;
        }
        *class_slot(&mut report.unused, label) = class.len() - start;
    }

    prepare_target(target, options.force)?;
    for (split, &name) in SPLITS.iter().enumerate() {
        let n = if split == 2 { counts.test } else { 1 };
        if n == 0 {
            continue;
        }
        for class in Label::POSITIVE_FIRST.map(Label::name) {
            let dir = target.join(name).join(class);
            crate::error::create_dir_all(&dir)?;
        }
    }
    let mut manifest = String::from("id,label,split\n");
    assigned.sort_by(|a, b| {
        (a.0, id_key(&a.1.id).len(), id_key(&a.1.id)).cmp(&(
            b.0,
            id_key(&b.1.id).len(),
            id_key(&b.1.id),
        ))
    });
    for (split, it) in &assigned {
        let class = it.label.name();
        let dest = target
            .join(SPLITS[*split])
            .join(class)
            .join(it.file.file_name().unwrap());
        copy_atomically(&it.file, &dest)?;
        manifest.push_str(&format!(
            "{},{},{}\n",
            it.id,
            it.label.flag(),
            SPLITS[*split]
        ));
    }
    write_atomically(&report.manifest, manifest.as_bytes())?;
    Ok(report)
}

fn class_slot(c: &mut ClassCount, label: Label) -> &mut usize {
    if label.is_hemorrhage() {
        &mut c.hemorrhage
    } else {
        &mut c.normal
    }
}

/// Makes sure `target` exists and may be written: it must be empty, or `force` set (then the
/// split folders and manifest from an earlier run are removed).
pub(crate) fn prepare_target(target: &Path, force: bool) -> Result<()> {
    let io = || Error::io(&target);
    if target.exists() {
        if !target.is_dir() {
            return Err(Error::data(target, "target exists and is not a folder"));
        }
        let non_empty = fs::read_dir(target).map_err(io())?.next().is_some();
        if non_empty {
            if !force {
                return Err(Error::data(
                    target,
                    "target folder is not empty; refusing to write into it (use --force \
                              to replace its train/, validate/, test/ and split.csv)",
                ));
            }
            for name in SPLITS {
                let dir = target.join(name);
                if dir.exists() {
                    fs::remove_dir_all(&dir).map_err(Error::io(&dir))?;
                }
            }
            let manifest = target.join("split.csv");
            if manifest.exists() {
                fs::remove_file(&manifest).map_err(Error::io(&manifest))?;
            }
        }
    }
    fs::create_dir_all(target).map_err(io())
}

/// Copies `src` to `dest` through a temporary file in `dest`'s folder, then renames it.
pub(crate) fn copy_atomically(src: &Path, dest: &Path) -> Result<()> {
    crate::fsutil::replace_atomically(dest, |tmp| {
        fs::copy(src, tmp).map(drop).map_err(Error::io(src))
    })
}

pub(crate) use crate::fsutil::write_atomically;
