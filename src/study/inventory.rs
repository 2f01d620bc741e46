//! Every file under the paths a user names, accounted for: a DICOM image to order, a display
//! image, or skipped with a reason.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::{
    ct::{self, DicomHeader},
    data::has_image_extension,
    input::Limits,
};

/// A file (or folder) left out, and why, in one sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    pub path: PathBuf,
    /// Why, e.g. `structured report (SOP class 1.2.840.10008.5.1.4.1.1.88.11): not an image`.
    /// Files that are images but could not be read start with `failed: `.
    pub reason: String,
}

impl Skipped {
    /// A file left out for `reason` (start it with `failed: ` for an image that could not be
    /// read: [`Skipped::failed`]).
    pub fn new(path: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Skipped {
            path: path.into(),
            reason: reason.into(),
        }
    }

    /// An image that could not be read, for `reason`.
    pub fn failed(path: impl Into<PathBuf>, reason: impl std::fmt::Display) -> Self {
        Skipped::new(path, format!("{FAILED}{reason}"))
    }

    /// A file that should have been read as an image but could not be (the reason starts with
    /// `failed: `).
    pub fn is_failure(&self) -> bool {
        self.reason.starts_with(FAILED)
    }
}

pub(crate) const FAILED: &str = "failed: ";

/// What [`take_inventory`] found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inventory {
    /// DICOM files with pixel data, their headers read (not yet ordered; see
    /// [`super::order_studies`]).
    pub dicom_images: Vec<DicomHeader>,
    /// PNG, JPEG, BMP and TIFF files: already windowed pictures, with no study or position.
    pub display_images: Vec<PathBuf>,
    /// Everything else, with its reason.
    pub skipped: Vec<Skipped>,
}

/// Walks `paths` (files, and folders recursively, following symbolic links with loops
/// detected; entries sorted by name), reads every DICOM file's header in parallel (no pixel
/// data is decoded), and sorts every file into [`Inventory`]:
///
/// - hidden files and folders (name starting with `.`), `Thumbs.db` and `desktop.ini`:
///   skipped, as system files;
/// - a `DICOMDIR`, a structured report, an RT object, a presentation state or any DICOM file
///   without pixel data: skipped, naming its kind;
/// - files that are neither DICOM (the `DICM` marker or a `.dcm` name) nor a display image:
///   skipped ("not a DICOM file");
/// - damaged DICOM files, unreadable files and folders, symbolic-link loops: skipped with
///   `failed: ` and the reason.
///
/// Never fails as a whole: a folder with nothing readable gives an empty inventory whose
/// `skipped` says why.
pub fn take_inventory(paths: &[PathBuf], limits: &Limits) -> Inventory {
    let mut inventory = Inventory::default();
    let mut candidates = Vec::new();
    for root in paths {
        walk(root, &mut candidates, &mut inventory.skipped);
    }
    // A file named twice (a folder and a file inside it, `dir` and `./dir`, a link) is read
    // once.
    let mut once = std::collections::HashSet::new();
    let canonical = |p: &PathBuf| std::fs::canonicalize(p).unwrap_or_else(|_| p.clone());
    candidates.retain(|p| once.insert(canonical(p)));
    inventory
        .skipped
        .retain(|s| once.insert(canonical(&s.path)));
    let sorted: Vec<Sorted> = candidates
        .par_iter()
        .map(|path| sort_file(path, limits))
        .collect();
    for s in sorted {
        match s {
            Sorted::Dicom(h) => inventory.dicom_images.push(*h),
            Sorted::Display(p) => inventory.display_images.push(p),
            Sorted::Skipped(s) => inventory.skipped.push(s),
        }
    }
    inventory
}

/// The files under `root`, in name order; what cannot be walked goes to `skipped`.
fn walk(root: &Path, files: &mut Vec<PathBuf>, skipped: &mut Vec<Skipped>) {
    if !root.exists() {
        skipped.push(Skipped::new(
            root,
            format!("{FAILED}no such file or folder"),
        ));
        return;
    }
    let mut it = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter();
    while let Some(entry) = it.next() {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e.path().unwrap_or(root).to_path_buf();
                let reason = match e.loop_ancestor() {
                    Some(ancestor) => format!(
                        "{FAILED}symbolic link loop: leads back to {}, already read",
                        ancestor.display()
                    ),
                    None => format!(
                        "{FAILED}cannot read: {}",
                        e.io_error().map_or(e.to_string(), |io| io.to_string())
                    ),
                };
                skipped.push(Skipped::new(path, reason));
                continue;
            }
        };
        let name = entry.file_name().to_string_lossy();
        let is_root = entry.depth() == 0;
        if entry.file_type().is_dir() {
            if !is_root && name.starts_with('.') {
                skipped.push(Skipped::new(entry.path(), "hidden folder: not read"));
                it.skip_current_dir();
            }
            continue;
        }
        if !is_root && name.starts_with('.') {
            skipped.push(Skipped::new(entry.path(), "hidden file"));
        } else if name.eq_ignore_ascii_case("thumbs.db") || name.eq_ignore_ascii_case("desktop.ini")
        {
            skipped.push(Skipped::new(entry.path(), "system file (Windows)"));
        } else {
            files.push(entry.into_path());
        }
    }
}

enum Sorted {
    Dicom(Box<DicomHeader>),
    Display(PathBuf),
    Skipped(Skipped),
}

fn sort_file(path: &Path, limits: &Limits) -> Sorted {
    if has_image_extension(path) {
        return Sorted::Display(path.to_path_buf());
    }
    if !ct::dicom::is_dicom_file(path) {
        let reason = match std::fs::metadata(path) {
            Err(e) => format!("{FAILED}cannot read: {e}"),
            Ok(m) if m.len() == 0 => "empty file (0 bytes)".to_string(),
            Ok(_) => "not a DICOM file (no DICM marker) and not an image".to_string(),
        };
        return Sorted::Skipped(Skipped::new(path, reason));
    }
    let header = match ct::read_dicom_header(path, limits) {
        Ok(h) => h,
        Err(e) => return Sorted::Skipped(Skipped::new(path, format!("{FAILED}{}", e.reason()))),
    };
    let class = header.sop_class_uid.as_deref().unwrap_or("none");
    if let Some(kind) = header.non_image_kind() {
        return Sorted::Skipped(Skipped::new(
            path,
            format!("{kind} (SOP class {class}): not an image"),
        ));
    }
    if !header.has_pixel_data {
        return Sorted::Skipped(Skipped::new(
            path,
            format!("DICOM object without pixel data (SOP class {class}): not an image"),
        ));
    }
    Sorted::Dicom(Box::new(header))
}
