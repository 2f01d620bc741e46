//! "Whatever data is here": how the notebooks (and any other program that should just work on a
//! fresh clone) find their images, and a sentence that says plainly which ones they got.
//!
//! The order, first match wins:
//! 1. the environment variable [`DATA_ENV`] (`HEAD_CT_DATA`), when set: `phantoms`, a
//!    Kaggle-style folder (`labels.csv` + images, prepared into `work_dir` with the default
//!    140/50/10 split), or a folder already in the seed layout (`train/`, `validate/`);
//! 2. `data/head_ct_slices/` in the repository (what `head-ct prepare` writes);
//! 3. the built-in synthetic phantoms.

use std::path::{Path, PathBuf};

use super::{
    load_seed_layout, phantoms,
    prepare::{self, PrepareOptions},
    DataSource, SeedData,
};
use crate::{error::Result, Error};

/// Environment variable naming the data: a Kaggle-style folder, a seed-layout folder, or the
/// word `phantoms` (to use the synthetic images even where real data is present).
pub const DATA_ENV: &str = "HEAD_CT_DATA";

/// The seed-layout folder inside the repository that `head-ct prepare` fills by default.
pub const DEFAULT_DATA_DIR: &str = "data/head_ct_slices";

/// Data found by [`find_lesson_data`], with where it came from.
#[derive(Debug, Clone)]
pub struct LessonData {
    pub data: SeedData,
    pub source: DataSource,
    /// True for the built-in phantoms, false for images read from a folder.
    pub synthetic: bool,
    /// One plain-language paragraph: which images, how many, from where.
    pub description: String,
}

/// Finds the data in the order of the module docs, reading [`DATA_ENV`] from the environment.
///
/// `repo_root` is the repository (the notebooks pass `".."`); `work_dir` is where a Kaggle
/// folder named by `HEAD_CT_DATA` is prepared (it is replaced each time: it holds nothing but
/// the copied split). `seed` is the phantoms' seed.
pub fn find_lesson_data(repo_root: &Path, work_dir: &Path, seed: u64) -> Result<LessonData> {
    let env = std::env::var_os(DATA_ENV).filter(|v| !v.is_empty());
    resolve_lesson_data(env.as_deref().map(Path::new), repo_root, work_dir, seed)
}

/// [`find_lesson_data`] with the value of `HEAD_CT_DATA` given (`None` = not set), for tests
/// and for programs that take the folder from elsewhere.
pub fn resolve_lesson_data(
    named: Option<&Path>,
    repo_root: &Path,
    work_dir: &Path,
    seed: u64,
) -> Result<LessonData> {
    if let Some(named) = named {
        if named == Path::new("phantoms") {
            return Ok(phantom_lesson(
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
            let data = load_seed_layout(&target)?;
            let description = format!(
                "Real CT images: the Kaggle folder {} (named by {DATA_ENV}), split at random \
                 (seed {}) into {} and loaded: {}.",
                named.display(),
                options.seed,
                target.display(),
                count_sentence(&data)
            );
            return Ok(real_lesson(data, target, description));
        }
        if named.join("train").is_dir() {
            let data = load_seed_layout(named)?;
            let description = format!(
                "Real images from {} (named by {DATA_ENV}): {}.",
                named.display(),
                count_sentence(&data)
            );
            return Ok(real_lesson(data, named.to_path_buf(), description));
        }
        return Err(Error::Data {
            path: named.to_path_buf(),
            message: format!(
                "{DATA_ENV} names this folder, but it holds neither labels.csv (the Kaggle \
                 download) nor train/ (the prepared layout); set {DATA_ENV}=phantoms for the \
                 synthetic images"
            ),
        });
    }
    let default_dir = repo_root.join(DEFAULT_DATA_DIR);
    if default_dir.exists() {
        let data = load_seed_layout(&default_dir)?;
        let description = format!(
            "Real images from {}: {}.",
            default_dir.display(),
            count_sentence(&data)
        );
        return Ok(real_lesson(data, default_dir, description));
    }
    Ok(phantom_lesson(
        seed,
        format!(
            "there is no {} and {DATA_ENV} is not set",
            default_dir.display()
        ),
    ))
}

fn real_lesson(data: SeedData, folder: PathBuf, description: String) -> LessonData {
    LessonData {
        data,
        source: DataSource::Folder(folder),
        synthetic: false,
        description,
    }
}

fn phantom_lesson(seed: u64, why: String) -> LessonData {
    let data = phantoms::phantom_seed_data(seed);
    let description = format!(
        "SYNTHETIC PHANTOMS, not real CT images ({why}): {}. They are drawn by the program to \
         look a little like head CT slices, some with a bright bleed, so that every step works \
         on a fresh clone. What the model learns on them says nothing about real patients. \
         data/README.md says how to get the real Kaggle set.",
        count_sentence(&data)
    );
    LessonData {
        data,
        source: DataSource::Phantoms { seed },
        synthetic: true,
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
