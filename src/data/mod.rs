//! The data pipeline: images on disk (or synthetic phantoms) to batches in the model's input
//! shape.
//!
//! - [`Loader`]: the one way files become the model's input. Built from a
//!   [`ModelInput`](crate::input::ModelInput) (windows, side, resize filter) and decoding
//!   [`Limits`](crate::input::Limits); [`Loader::folder`] and [`Loader::seed_layout`] follow
//!   Keras' `flow_from_directory` semantics. One subfolder per class, class names = folder
//!   names sorted, every image decoded once (in parallel), converted to RGB, resized to
//!   150x150 and scaled to `[0, 1]`. The decoded set lives in memory as one contiguous
//!   `Vec<f32>`, and records the input it was loaded with ([`ImageSet::input`]).
//! - [`ImageSet::batch`], [`ImageSet::augmented_batch`], [`epoch_order`], [`epoch_batches`]:
//!   dfdx tensors of shape `(batch, 3, 150, 150)` and a seeded shuffle per epoch.
//! - [`prepare`]: a Kaggle-style folder (`labels.csv` + images) to the seed layout, with a
//!   stratified, seeded, disjoint split and a `split.csv` manifest.
//! - [`phantoms`]: synthetic head-CT slices (with lesion masks), the default when there is no
//!   real data.
//! - [`phantom_studies`]: whole synthetic head-CT studies (3-D phantom heads in HU, two axial
//!   series, a localizer, a text report, PACS-style file names) with slice-level ground truth.
//! - [`augment`]: `ImageDataGenerator`-style augmentation, off by default.
//! - [`source`]: which data a program gets when it asks for "whatever is here": a named folder,
//!   `HEAD_CT_DATA`, `data/head_ct_slices`, or the phantoms, and a sentence that says which.
//! - [`Split`]: the names of the three splits as a type.
//!
//! # Labels
//! The learned label is [`Label::Hemorrhage`] (target 1) whatever the folder names sort to: a
//! labelled folder must hold exactly two class folders, one of them named `hemorrhage`
//! ([`Label::name`]); the other may have any name (`normal/` in the folders we write).
//!
//! # What counts as an image; junk files
//! Files ending in `.png`, `.jpg`, `.jpeg`, `.bmp`, `.tif` or `.tiff` (any case) are images.
//! Hidden entries (name starting with `.`, e.g. `.DS_Store`, `._x.png`, `.ipynb_checkpoints/`)
//! and the Windows system files `Thumbs.db` and `desktop.ini`, and `DICOMDIR` (the index of a
//! DICOM media folder), are skipped silently. Any other
//! file (a `README`, a `.txt`, a `.csv`, ...) in an image folder is an error that names it:
//! nothing is skipped without saying so.

pub mod augment;
mod load;
pub mod phantom_studies;
pub mod phantoms;
pub mod prepare;
pub mod source;

use std::path::{Path, PathBuf};

use dfdx::{prelude::Cpu, shapes::Const};
use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{
    error::Result,
    input::{ModelInput, PixelSource},
    labels::Label,
    model::layers::CachedBuf,
    model::{Column, ImageBatch, CHANNELS, IMAGE_LEN, IMAGE_SIZE},
    Error,
};

pub use augment::Augmentation;
pub use load::Loader;
pub use phantom_studies::{
    write_phantom_studies, PhantomSeries, PhantomSlice, PhantomStudies, PhantomStudy,
};
pub use source::{load_data, resolve_lesson_data, DataSource, FoundData, DEFAULT_DATA_DIR};
/// File extensions (lower case) read as images.
pub const IMAGE_EXTENSIONS: &[&str] = &["png", "jpg", "jpeg", "bmp", "tif", "tiff"];

/// One image of a set: where it came from and its label (`None` = unlabelled, e.g. loose files
/// in `test/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sample {
    pub path: PathBuf,
    pub label: Option<Label>,
    /// What the loader noticed about how the file's pixels were read (a 16-bit file read as
    /// 12-bit, say), to be shown with every result on this image; `None` when nothing.
    pub note: Option<String>,
    /// What the pixels were read from: a display image or CT numbers (DICOM).
    pub source: PixelSource,
}

impl Sample {
    /// A sample of a display image with nothing noted (the loader sets `note` and `source`
    /// when it decodes the file).
    pub fn new(path: PathBuf, label: Option<Label>) -> Self {
        Self {
            path,
            label,
            note: None,
            source: PixelSource::DisplayImage,
        }
    }

    /// True when the pixels are CT numbers (a DICOM file).
    pub fn is_dicom(&self) -> bool {
        self.source == PixelSource::Dicom
    }
}

/// A decoded set of images, all in memory: `len()` images of `3 x 150 x 150` floats in `[0, 1]`,
/// stored back to back (CHW per image) in one `Vec<f32>`, with the [`ModelInput`] they were
/// made for.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    /// Class folder names, sorted (empty for an unlabelled set).
    pub class_names: Vec<String>,
    /// One per image, in the order of the pixel data (class by class, then file name).
    pub samples: Vec<Sample>,
    pixels: Vec<f32>,
    input: ModelInput,
}

/// One batch in the model's input shape.
#[derive(Debug, Clone)]
pub struct Batch {
    /// `(batch, 3, 150, 150)`, values in `[0, 1]`.
    pub images: ImageBatch,
    /// `(batch, 1)`: [`Label::target`] (1.0 for hemorrhage, 0.0 for the other class), **NaN for an unlabelled
    /// image** (so training on unlabelled data fails loudly with a non-finite loss).
    pub labels: Column,
    /// The indices into the [`ImageSet`] of the images in this batch, in batch order.
    pub indices: Vec<usize>,
}

impl ImageSet {
    /// Builds a set from its parts: `pixels` (`samples.len() * IMAGE_LEN` floats) made for
    /// `input`, whose side must be the model's.
    pub fn from_parts(
        class_names: Vec<String>,
        samples: Vec<Sample>,
        pixels: Vec<f32>,
        input: ModelInput,
    ) -> Result<Self> {
        input.check(IMAGE_SIZE)?;
        if pixels.len() != samples.len() * IMAGE_LEN {
            return Err(Error::data(
                PathBuf::from("<in memory>"),
                format!(
                    "{} samples need {} floats, got {}",
                    samples.len(),
                    samples.len() * IMAGE_LEN,
                    pixels.len()
                ),
            ));
        }
        Ok(Self {
            class_names,
            samples,
            pixels,
            input,
        })
    }

    /// The input the images were made for (windows, side, resize filter).
    pub fn input(&self) -> &ModelInput {
        &self.input
    }

    /// Number of images.
    pub fn len(&self) -> usize {
        self.samples.len()
    }

    /// True when the set holds no image.
    pub fn is_empty(&self) -> bool {
        self.samples.is_empty()
    }

    /// Image `i` as `3 x 150 x 150` floats (CHW). Panics if `i >= len()`.
    pub fn image(&self, i: usize) -> &[f32] {
        &self.pixels[i * IMAGE_LEN..(i + 1) * IMAGE_LEN]
    }

    /// All pixels, image after image.
    pub fn pixels(&self) -> &[f32] {
        &self.pixels
    }

    /// The label of every image, in order.
    pub fn labels(&self) -> Vec<Option<Label>> {
        self.samples.iter().map(|s| s.label).collect()
    }

    /// The labels of a labelled set, in order; an error naming the first unlabelled image.
    pub fn known_labels(&self) -> Result<Vec<Label>> {
        self.samples
            .iter()
            .map(|s| {
                s.label
                    .ok_or_else(|| Error::data(&s.path, "image has no label (no class folder)"))
            })
            .collect()
    }

    /// One sentence about the images whose pixels the loader noted ([`Sample::note`], e.g. a
    /// 16-bit file read as 12-bit), naming the first; `None` when there are none.
    pub fn pixel_notes(&self) -> Option<String> {
        pixel_notes(self.samples.iter())
    }

    /// True when every image has a label.
    pub fn is_labelled(&self) -> bool {
        !self.samples.is_empty() && self.samples.iter().all(|s| s.label.is_some())
    }

    /// The class folder name of image `i` (`None` when unlabelled). Panics if `i` is out of
    /// range.
    pub fn class_name_of(&self, i: usize) -> Option<&str> {
        let label = self.samples[i].label?;
        self.class_names
            .iter()
            .find(|name| Label::of_class_folder(name) == label)
            .map(String::as_str)
    }

    /// `"140 images (70 hemorrhage, 70 normal)"`, `"10 unlabelled images"`, or for a mixed
    /// `test/`, `"3 images (1 hemorrhage, 2 unlabelled)"` (classes with no image left out).
    pub fn describe(&self) -> String {
        let unlabelled = self.samples.iter().filter(|s| s.label.is_none()).count();
        if unlabelled == self.len() {
            return format!("{} unlabelled images", self.len());
        }
        let mut parts: Vec<String> = self
            .class_counts()
            .iter()
            .filter(|(_, n)| *n > 0 || unlabelled == 0)
            .map(|(c, n)| format!("{n} {c}"))
            .collect();
        if unlabelled > 0 {
            parts.push(format!("{unlabelled} unlabelled"));
        }
        format!("{} images ({})", self.len(), parts.join(", "))
    }

    /// Labelled images per class, `[normal, hemorrhage]` (indexed by [`Label::flag`]).
    pub fn class_counts_by_label(&self) -> [usize; 2] {
        let mut counts = [0; 2];
        for label in self.samples.iter().filter_map(|s| s.label) {
            counts[usize::from(label.flag())] += 1;
        }
        counts
    }

    /// Images per class, as `(class name, count)` in `class_names` order (empty for an
    /// unlabelled set).
    pub fn class_counts(&self) -> Vec<(String, usize)> {
        self.class_names
            .iter()
            .map(|name| {
                let label = Label::of_class_folder(name);
                let n = self
                    .samples
                    .iter()
                    .filter(|s| s.label == Some(label))
                    .count();
                (name.clone(), n)
            })
            .collect()
    }

    /// The images `indices` (in that order) as one batch. Panics if an index is out of range.
    pub fn batch(&self, dev: &Cpu, indices: &[usize]) -> Batch {
        let mut data = CachedBuf::zeros(dev, indices.len() * IMAGE_LEN).expect("allocation");
        for (dst, &i) in data.chunks_exact_mut(IMAGE_LEN).zip(indices) {
            dst.copy_from_slice(self.image(i));
        }
        self.make_batch(dev, indices, data)
    }

    /// Like [`ImageSet::batch`], with each image transformed by `aug` (parameters drawn from
    /// `rng` in batch order, so the same rng state gives the same batch). With an identity
    /// augmentation this is exactly [`ImageSet::batch`] and `rng` is not touched. Use it for
    /// training batches only.
    pub fn augmented_batch<R: rand::Rng + ?Sized>(
        &self,
        dev: &Cpu,
        indices: &[usize],
        aug: &Augmentation,
        rng: &mut R,
    ) -> Batch {
        if aug.is_identity() {
            return self.batch(dev, indices);
        }
        let params: Vec<_> = indices.iter().map(|_| aug.sample(rng)).collect();
        let mut data = CachedBuf::zeros(dev, indices.len() * IMAGE_LEN).expect("allocation");
        use rayon::prelude::*;
        data.par_chunks_mut(IMAGE_LEN)
            .zip(indices.par_iter().zip(params.par_iter()))
            .for_each(|(dst, (&i, p))| augment::apply(self.image(i), dst, p));
        self.make_batch(dev, indices, data)
    }

    /// Wraps a batch's pixels and labels as tensors. Both buffers come from the device's tensor
    /// cache ([`CachedBuf`]): with `dev.enable_cache()`, a tensor made from a fresh `Vec` would
    /// put its memory into the cache when dropped and never take any out, so the cache would
    /// grow by a batch's worth of memory every step.
    fn make_batch(&self, dev: &Cpu, indices: &[usize], data: CachedBuf<f32>) -> Batch {
        let n = indices.len();
        let mut labels = CachedBuf::zeros(dev, n).expect("allocation");
        for (label, &i) in labels.iter_mut().zip(indices) {
            *label = self.samples[i].label.map_or(f32::NAN, Label::target);
        }
        let images = data
            .into_tensor((
                n,
                Const::<CHANNELS>,
                Const::<IMAGE_SIZE>,
                Const::<IMAGE_SIZE>,
            ))
            .expect("the batch holds n images");
        let labels = labels
            .into_tensor((n, Const::<1>))
            .expect("one label per image");
        Batch {
            images,
            labels,
            indices: indices.to_vec(),
        }
    }
}

/// The image order for one epoch: `0..len` shuffled by a ChaCha8 generator seeded with `seed`,
/// on stream `epoch`. The same `(seed, epoch)` always gives the same order, on every platform;
/// different epochs give different orders.
pub fn epoch_order(len: usize, seed: u64, epoch: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(epoch);
    let mut order: Vec<usize> = (0..len).collect();
    order.shuffle(&mut rng);
    order
}

/// The batches of one epoch: [`epoch_order`] cut into chunks of `batch_size`; the last batch
/// holds the remainder (it is kept, as in Keras). Panics if `batch_size` is 0.
pub fn epoch_batches(len: usize, batch_size: usize, seed: u64, epoch: u64) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "batch_size must be at least 1");
    epoch_order(len, seed, epoch)
        .chunks(batch_size)
        .map(<[usize]>::to_vec)
        .collect()
}

/// Batches in file order, without shuffling (for validation and test). Panics if `batch_size`
/// is 0.
pub fn sequential_batches(len: usize, batch_size: usize) -> Vec<Vec<usize>> {
    assert!(batch_size > 0, "batch_size must be at least 1");
    (0..len)
        .collect::<Vec<_>>()
        .chunks(batch_size)
        .map(<[usize]>::to_vec)
        .collect()
}

/// The three splits of the seed project's layout.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedData {
    pub train: ImageSet,
    pub validate: ImageSet,
    /// `None` when there is no `test/` folder or it holds no image. Images in a folder named
    /// like a training class are labelled; loose files and other folders are not (see
    /// `notes`).
    pub test: Option<ImageSet>,
    /// Sentences for the user about what was found (an unknown `test/` subfolder, an empty
    /// `test/`); empty when there is nothing to say.
    pub notes: Vec<String>,
}

/// The three splits of the seed layout, `train/`, `validate/` and `test/`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum Split {
    Train,
    Validate,
    Test,
}

impl Split {
    /// In the layout's order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Validate, Split::Test];

    /// The folder name: `train`, `validate` or `test`.
    pub fn name(self) -> &'static str {
        self.name_const()
    }

    pub(crate) const fn name_const(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Validate => "validate",
            Split::Test => "test",
        }
    }
}

impl std::fmt::Display for Split {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Split {
    type Err = Error;

    /// `train`, `validate` or `test`; anything else is refused with a sentence.
    fn from_str(text: &str) -> Result<Split> {
        Split::ALL
            .into_iter()
            .find(|s| s.name() == text)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "the split must be validate, test or train, not {text:?}"
                ))
            })
    }
}

impl SeedData {
    /// The labelled split `split` of the layout at `root`, to score a model on. Errors, naming
    /// the folder, if there is no such split, or if it holds unlabelled images (nothing to
    /// score against).
    pub fn labelled_split(self, root: &Path, split: Split) -> Result<ImageSet> {
        let set = match split {
            Split::Train => self.train,
            Split::Validate => self.validate,
            Split::Test => self
                .test
                .ok_or_else(|| Error::data(root.join("test"), "there is no test/ folder"))?,
        };
        if !set.is_labelled() {
            return Err(Error::data(
                root.join(split.name()),
                "holds unlabelled images (loose files, or folders that are not a training \
                 class): nothing to score them against; use `head-ct predict` instead",
            ));
        }
        Ok(set)
    }

    /// The input every split was made for.
    pub fn input(&self) -> &ModelInput {
        self.train.input()
    }
}

impl Loader {
    /// Loads the seed project's layout: `root/train/<class>/`, `root/validate/<class>/` (both
    /// required, labelled, with the same two class names) and, if present, `root/test/` (class
    /// folders, other folders or loose files: it never blocks training, see
    /// [`SeedData::notes`]).
    pub fn seed_layout(&self, root: &Path) -> Result<SeedData> {
        if !root.is_dir() {
            return Err(Error::data(
                root,
                "data folder not found (expected train/ and validate/ inside)",
            ));
        }
        let train = self.labelled_split(&root.join(Split::Train.name()))?;
        let validate = self.labelled_split(&root.join(Split::Validate.name()))?;
        if train.class_names != validate.class_names {
            return Err(Error::data(
                root.join(Split::Validate.name()),
                format!(
                    "class folders {:?} differ from train/'s {:?}",
                    validate.class_names, train.class_names
                ),
            ));
        }
        let test_dir = root.join(Split::Test.name());
        let (test, notes) = if test_dir.exists() {
            self.test_folder(&test_dir, &train.class_names)
                .map_err(|e| match e {
                    // test/ is optional: say that nothing has started, and how to go on.
                    Error::Data { path, message } => Error::data(
                        path,
                        format!(
                            "{message} (in the optional test/ folder, read with the rest of the \
                             layout: fix it or move test/ aside)"
                        ),
                    ),
                    other => other,
                })?
        } else {
            (None, Vec::new())
        };
        let mut notes = notes;
        notes.extend(pixel_notes(
            [&train, &validate]
                .into_iter()
                .chain(test.as_ref())
                .flat_map(|set| &set.samples),
        ));
        Ok(SeedData {
            train,
            validate,
            test,
            notes,
        })
    }

    fn labelled_split(&self, dir: &Path) -> Result<ImageSet> {
        let set = self.folder(dir)?;
        if set.class_names.is_empty() {
            return Err(Error::data(
                dir,
                format!(
                    "holds loose image files; a training or validation split needs one folder \
                     per class (`{}/` and `{}/`)",
                    Label::Hemorrhage,
                    Label::Normal
                ),
            ));
        }
        Ok(set)
    }
}

/// One sentence about the samples whose pixels the loader noted ([`Sample::note`]): the first
/// one by name, and how many there are.
fn pixel_notes<'a>(samples: impl Iterator<Item = &'a Sample>) -> Option<String> {
    let noted: Vec<&Sample> = samples.filter(|s| s.note.is_some()).collect();
    let first = noted.first()?;
    let note = first.note.as_deref().unwrap_or_default();
    Some(if noted.len() == 1 {
        format!("{}: {note}", crate::text::printable_path(&first.path))
    } else {
        format!(
            "{} images were read with a note, the first {}: {note}",
            noted.len(),
            crate::text::printable_path(&first.path)
        )
    })
}

/// True for a file or folder name that loaders skip silently: hidden entries and the Windows
/// system files `Thumbs.db` and `desktop.ini`.
pub fn is_system_junk(name: &str) -> bool {
    name.starts_with('.')
        || name.eq_ignore_ascii_case("thumbs.db")
        || name.eq_ignore_ascii_case("desktop.ini")
        // The index of a DICOM media folder: it carries the DICOM marker but no image.
        || name.eq_ignore_ascii_case("DICOMDIR")
}

/// True for a file the loaders read: one of [`IMAGE_EXTENSIONS`] or
/// [`crate::ct::dicom::DICOM_EXTENSIONS`] (any case), or any other file that carries the DICOM
/// marker (PACS exports name files `IM0001` or by their UID).
pub fn is_image_path(path: &Path) -> bool {
    // Files named by their UID (`1.2.840.113619...`) have an "extension" too: any file that is
    // not a known image type is checked for the marker.
    has_image_extension(path)
        || crate::ct::has_dicom_extension(path)
        || crate::ct::dicom::is_dicom_file(path)
}

/// True if `path` has one of [`IMAGE_EXTENSIONS`] (any case).
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}
