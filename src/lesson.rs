//! The first line of every notebook: open the lesson's images and a seeded device, in one call.
//!
//! ```no_run
//! use head_ct::lesson::Lesson;
//!
//! let lesson = Lesson::open()?; // prints which images it found: real CT or phantoms
//! println!("{}", lesson.data.train.describe());
//! let model = head_ct::model::build_teaching_net(&lesson.dev); // weights drawn from seed 1
//! # Ok::<(), head_ct::Error>(())
//! ```
//!
//! [`Lesson::open`] reads the environment once ([`Settings::from_env`]) and finds the images by
//! the notebooks' rule, [`resolve_lesson_data`]: the folder named by `HEAD_CT_DATA`, else the
//! prepared `data/head_ct_slices/`, else the built-in synthetic phantoms. It prints the sentence that says which (for phantoms: loudly that they
//! are not real CT images), and holds a [`SeededDevice`] whose random numbers start from the
//! seed, so that "random" weights are the same on every run.
//!
//! # The folders, and why
//!
//! The notebooks run in `notebooks/`, so every folder is seen from there:
//! - [`REPO_ROOT`], `..`: the repository. Its `data/head_ct_slices/` is where `head-ct prepare`
//!   puts the real images, and its `runs/` holds the run folders that notebook 3 saves and
//!   notebook 4 loads ([`Lesson::run_folder`]), next to the command line's runs;
//! - [`WORK_DIR`], `../target/notebook-data`: files a lesson makes along the way. A Kaggle
//!   folder named by `HEAD_CT_DATA` is split into it (replaced each time), and notebook 6
//!   writes its DICOM slices there ([`work_folder`]). It is under `target/`, so git ignores it
//!   and `cargo clean` removes it: nothing in it is worth keeping.
//!
//! # Seeds
//!
//! The seed of [`Lesson::open_with_seed`] is the device's: it draws a new model's starting
//! weights. The images do not depend on it: the phantoms are always those of
//! [`LESSON_DATA_SEED`], so every notebook (and every seed) sees the same images, and notebook
//! 4 tests the model of notebook 3 on the test images it never saw.

use std::ops::Deref;
use std::path::{Path, PathBuf};

use crate::{
    checkpoint::{load_checkpoint, ModelMetadata},
    data::{resolve_lesson_data, FoundData, Loader},
    model::TeachingNet,
    run::{self, TrainingRun},
    settings::Settings,
    training::{observer::Observer, Recipe, SeededDevice},
    Result,
};

/// The repository, seen from `notebooks/`.
pub const REPO_ROOT: &str = "..";

/// Where lessons put the files they make, seen from `notebooks/`.
pub const WORK_DIR: &str = "../target/notebook-data";

/// The seed of the lesson's phantoms (when there is no real data): the same images in every
/// notebook.
pub const LESSON_DATA_SEED: u64 = 1;

/// The seed [`Lesson::open`] gives the device.
pub const DEFAULT_SEED: u64 = 1;

/// A lesson's images and its seeded device.
///
/// `lesson.data.train`, `lesson.data.validate` and `lesson.data.test` are the three groups of
/// images (a lesson dereferences to the [`FoundData`] it opened: `lesson.data`,
/// `lesson.source`, `lesson.description`); `&lesson.dev` is the device to build, load and run
/// models on.
pub struct Lesson {
    /// The images, where they came from, and the paragraph [`Lesson::open`] printed.
    pub found: FoundData,
    /// The seed of `dev`.
    pub seed: u64,
    /// A CPU device whose random numbers start from `seed` (dereferences to dfdx's `Cpu`).
    pub dev: SeededDevice,
    /// What the environment said ([`Settings::from_env`]): the data folder, the decoding
    /// limits, a DICOM slice of your own.
    pub settings: Settings,
    /// The repository (for `runs/`).
    root: PathBuf,
}

impl Deref for Lesson {
    type Target = FoundData;
    fn deref(&self) -> &FoundData {
        &self.found
    }
}

impl Lesson {
    /// The lesson's images, found by the notebooks' rule from `notebooks/`, and a device seeded
    /// with 1. Prints which images it found.
    pub fn open() -> Result<Lesson> {
        Self::open_with_seed(DEFAULT_SEED)
    }

    /// [`Lesson::open`] with the device seeded with `seed` (the images stay the same).
    pub fn open_with_seed(seed: u64) -> Result<Lesson> {
        let settings = Settings::from_env()?;
        let lesson = Self::resolve(&settings, Path::new(REPO_ROOT), Path::new(WORK_DIR), seed)?;
        println!("{}", lesson.description);
        Ok(lesson)
    }

    /// What [`Lesson::open_with_seed`] finds, without printing, with the settings and folders
    /// given: the rule of [`resolve_lesson_data`] for `settings.data` (`HEAD_CT_DATA`), with the
    /// repository at `repo_root` and the work folder at `work_dir`. For tests and programs run
    /// from elsewhere.
    pub fn resolve(
        settings: &Settings,
        repo_root: &Path,
        work_dir: &Path,
        seed: u64,
    ) -> Result<Lesson> {
        let found = resolve_lesson_data(
            &Loader::default().with_limits(settings.limits),
            settings.data.as_deref(),
            repo_root,
            work_dir,
            LESSON_DATA_SEED,
        )?;
        Ok(Lesson {
            found,
            seed,
            dev: SeededDevice::new(seed),
            settings: settings.clone(),
            root: repo_root.to_path_buf(),
        })
    }

    /// A loader for `recipe`'s input within the lesson's limits: to load images for a recipe
    /// with other windows (notebook 06).
    pub fn loader(&self, recipe: &Recipe) -> Loader {
        Loader::new(recipe.input).with_limits(self.settings.limits)
    }

    /// The run folder `name` under the repository's `runs/` (`../runs/notebook` for
    /// `"notebook"`). Nothing is created.
    pub fn run_folder(&self, name: &str) -> PathBuf {
        self.root.join("runs").join(name)
    }

    /// Trains the teaching model on the training images with `recipe` and `seed` (which decides
    /// its starting weights, batch order and augmentation; `observer` hears every epoch),
    /// scores it on the validation images, predicts the test images, and saves all of it in
    /// the run folder `runs/<name>`: [`run::train`], as `head-ct train` does.
    /// [`TrainingRun::saved_sentence`] says where it went.
    pub fn train_and_save(
        &self,
        name: &str,
        recipe: &Recipe,
        seed: u64,
        observer: &mut dyn Observer,
    ) -> Result<TrainingRun> {
        run::train(&self.run_folder(name), &self.found, recipe, seed, observer)
    }

    /// Loads the model saved in the run folder `runs/<name>` onto the lesson's device, with what
    /// its `model.json` says about it (its threshold and input among them). Errors, naming
    /// the folder, when there is none: run the notebook that trains it first.
    pub fn load_model(&self, name: &str) -> Result<(TeachingNet, ModelMetadata)> {
        load_checkpoint(&self.dev, &self.run_folder(name))
    }

    /// The DICOM file named by `HEAD_CT_DICOM`, if it is set: a slice of your own for notebook
    /// 6 to show instead of its phantom.
    pub fn own_dicom_file(&self) -> Option<&Path> {
        self.settings.dicom.as_deref()
    }
}

/// The folder `name` under [`WORK_DIR`], created if missing: where a lesson writes the files
/// it makes (notebook 6: `work_folder("ct")` for its DICOM slices).
pub fn work_folder(name: &str) -> Result<PathBuf> {
    let folder = Path::new(WORK_DIR).join(name);
    crate::error::create_dir_all(&folder)?;
    Ok(folder)
}
