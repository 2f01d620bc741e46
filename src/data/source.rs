//! "Whatever data is here": the one rule by which the command line, the notebooks and any other
//! program that should just work on a fresh clone get their images, and a sentence that says
//! plainly which ones they got.
//!
//! The order, first match wins:
//! 1. a folder the user named (`--data`; for the notebooks the environment variable
//!    `HEAD_CT_DATA`, [`crate::settings::DATA_VARIABLE`], read by the notebook's
//!    [`crate::lesson::Lesson::open`] and passed in here): a folder in the seed layout (`train/`, `validate/`), or, for
//!    `HEAD_CT_DATA`, also `phantoms` or a Kaggle-style folder (`labels.csv` + images, prepared
//!    into a work folder with the default 140/50/10 split). A folder named but missing is an
//!    error, never a reason to fall back to phantoms;
//! 2. the default folder `data/head_ct_slices/` (what `head-ct prepare` writes); any error in
//!    it is returned, never papered over;
//! 3. the built-in synthetic phantoms.

use std::path::{Path, PathBuf};

use super::{
    phantoms,
    prepare::{self, PrepareOptions},
    Loader, SeedData,
};
use crate::{error::Result, settings::DATA_VARIABLE as DATA_ENV, Error};

/// The seed-layout folder, relative to the repository, that `head-ct prepare` fills by default.
pub const DEFAULT_DATA_DIR: &str = "data/head_ct_slices";

/// Where the images came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DataSource {
    /// A seed-layout folder on disk.
    Folder(PathBuf),
    /// Built-in synthetic phantoms drawn from `seed`.
    Phantoms { seed: u64 },
}

impl DataSource {
    /// True for the built-in phantoms.
    pub fn is_synthetic(&self) -> bool {
        matches!(self, DataSource::Phantoms { .. })
    }

    /// A short name for records (`model.json`): the folder, or `synthetic phantoms (seed 1)`.
    pub fn short_name(&self) -> String {
        match self {
            DataSource::Folder(path) => path.display().to_string(),
            DataSource::Phantoms { seed } => format!("synthetic phantoms (seed {seed})"),
        }
    }
}

/// Data found by [`load_data`] or [`resolve_lesson_data`], with where it came from.
#[derive(Debug, Clone)]
pub struct FoundData {
    pub data: SeedData,
    pub source: DataSource,
    /// One plain-language paragraph: which images, how many, from where; for phantoms it says
    /// loudly that they are not real CT images and how to get the real ones.
    pub description: String,
}

impl FoundData {
    /// True for the built-in phantoms.
    pub fn is_synthetic(&self) -> bool {
        self.source.is_synthetic()
    }
}

/// The command line's rule: the seed layout at `named` if given (it must exist), else at
/// `default_dir` if that exists, else synthetic phantoms from `phantom_seed`; every image read
/// by `loader`. With no data and windows other than the brain window alone, the phantoms are
/// the CT-number ones ([`phantoms::ct_phantom_seed_data`]) shown in those windows.
pub fn load_data(
    loader: &Loader,
    named: Option<&Path>,
    default_dir: &Path,
    phantom_seed: u64,
) -> Result<FoundData> {
    match named {
        Some(folder) => folder_data(loader, folder, Origin::Named("")),
        None => {
            let input = loader.input();
            if !default_dir.exists() && !input.accepts_display_images() {
                let mut found = phantom_data(
                    phantom_seed,
                    format!("there is no data folder at {}", default_dir.display()),
                );
                found.data = phantoms::ct_phantom_seed_data(phantom_seed, input);
                found.description = found.description.replacen(
                    "SYNTHETIC PHANTOMS",
                    &format!(
                        "SYNTHETIC CT-NUMBER PHANTOMS shown in {}",
                        input.windows.describe()
                    ),
                    1,
                );
                return Ok(found);
            }
            default_or_phantoms(loader, default_dir, phantom_seed, "")
        }
    }
}

/// The notebooks' rule, with the value of `HEAD_CT_DATA` given (`named`, `None` = not set):
/// that folder (a seed layout, a Kaggle folder, or `phantoms`), else
/// `repo_root/data/head_ct_slices`, else phantoms; images read with the teaching input within
/// `loader`'s limits.
///
/// `repo_root` is the repository (the notebooks pass `".."`); `work_dir` is where a Kaggle
/// folder named by `HEAD_CT_DATA` is prepared (it is replaced each time: it holds nothing but
/// the copied split). `seed` is the phantoms' seed.
pub fn resolve_lesson_data(
    loader: &Loader,
    named: Option<&Path>,
    repo_root: &Path,
    work_dir: &Path,
    seed: u64,
) -> Result<FoundData> {
    let Some(named) = named else {
        let also = format!(" and {DATA_ENV} is not set");
        return default_or_phantoms(loader, &repo_root.join(DEFAULT_DATA_DIR), seed, &also);
    };
    if named == Path::new("phantoms") {
        return Ok(phantom_data(
            seed,
            format!("{DATA_ENV}=phantoms asks for them"),
        ));
    }
    if named.join("labels.csv").is_file() {
        let target = work_dir.join("head_ct_slices");
        let options = PrepareOptions {
            force: true,
            ..PrepareOptions::default()
        };
        prepare::prepare_kaggle(named, &target, &options)?;
        return folder_data(
            loader,
            &target,
            Origin::Kaggle {
                source: named,
                split_seed: options.seed,
            },
        );
    }
    if named.join("train").is_dir() {
        return folder_data(loader, named, Origin::Named(" (named by HEAD_CT_DATA)"));
    }
    Err(Error::data(
        named,
        format!(
            "{DATA_ENV} names this folder, but it holds neither labels.csv (the Kaggle \
             download) nor train/ (the prepared layout); set {DATA_ENV}=phantoms for the \
             synthetic images"
        ),
    ))
}

/// The one fallback: the seed layout at `default_dir` when that folder exists (any error in it
/// is returned, never papered over), else the phantoms, saying why (`also` adds to the reason).
fn default_or_phantoms(
    loader: &Loader,
    default_dir: &Path,
    seed: u64,
    also: &str,
) -> Result<FoundData> {
    if default_dir.exists() {
        return folder_data(loader, default_dir, Origin::Named(""));
    }
    Ok(phantom_data(
        seed,
        format!("there is no data folder at {}{also}", default_dir.display()),
    ))
}

/// How a data folder was chosen, for its sentence.
enum Origin<'a> {
    /// Named by the user or the default folder; the text follows the folder's name.
    Named(&'a str),
    /// Prepared from the Kaggle folder `source` with the split seed `split_seed`.
    Kaggle { source: &'a Path, split_seed: u64 },
}

/// The seed layout at `folder`, described by where it came from.
fn folder_data(loader: &Loader, folder: &Path, origin: Origin) -> Result<FoundData> {
    let data = loader.seed_layout(folder)?;
    let mut description = match origin {
        Origin::Named(note) => format!(
            "Real images from {}{note}: {}.",
            folder.display(),
            count_sentence(&data)
        ),
        Origin::Kaggle { source, split_seed } => format!(
            "Real CT images: the Kaggle folder {} (named by {DATA_ENV}), split at random (seed \
             {split_seed}) into {} and loaded: {}.",
            source.display(),
            folder.display(),
            count_sentence(&data)
        ),
    };
    for note in &data.notes {
        description.push_str("\nNote: ");
        description.push_str(note);
    }
    Ok(FoundData {
        data,
        source: DataSource::Folder(folder.to_path_buf()),
        description,
    })
}

fn phantom_data(seed: u64, why: String) -> FoundData {
    let data = phantoms::phantom_seed_data(seed);
    let description = format!(
        "SYNTHETIC PHANTOMS (seed {seed}), not real CT images ({why}): {}. They are drawn by \
         the program to look a little like head CT slices, some with a bright bleed, so that \
         every step works on a fresh clone. What a model learns on them says nothing about real \
         patients. data/README.md says how to get the real Kaggle \"Head CT - hemorrhage\" set.",
        count_sentence(&data)
    );
    FoundData {
        data,
        source: DataSource::Phantoms { seed },
        description,
    }
}

fn count_sentence(data: &SeedData) -> String {
    let test = data.test.as_ref().map_or(0, |t| t.len());
    format!(
        "{} training, {} validation and {} test images",
        data.train.len(),
        data.validate.len(),
        test
    )
}
