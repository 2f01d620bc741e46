//! The data side of the experiments: which images each fold holds out ([`stratified_folds`]),
//! which seed each fold's model trains with ([`fold_seed`]), and the pools of labelled images
//! that cross-validation splits ([`kaggle_pool`], [`seed_layout_pool`]).

use std::path::{Path, PathBuf};

use rand::{seq::SliceRandom, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::{
    data::{prepare::kaggle_labelled_files, ImageSet, Loader, Sample, SeedData},
    labels::Label,
    model::IMAGE_LEN,
    Error, Result,
};

/// Folds when nothing else is said: 5, the usual choice for a data set this small (each model
/// trains on 80% of the images, each held-out fold is large enough to hold both classes).
pub const DEFAULT_FOLDS: usize = 5;

/// Splits images into `k` folds for cross-validation, stratified by label: returns, for each
/// fold, the indices (into `labels`, ascending) of the images it holds out.
///
/// Each class is shuffled on its own ChaCha8 stream from `seed` and dealt round-robin to the
/// folds; the second class starts dealing where the first stopped, so fold **sizes** also differ
/// by at most one. Hence: the folds are disjoint, together they hold every image exactly once,
/// the count of each class differs by at most one between folds, and the same `(labels, k,
/// seed)` always gives the same folds, on every platform.
///
/// Errors if `k < 2` or a class has fewer than `k` images (then some fold would hold out none of
/// that class, and its sensitivity or specificity, and its AUC, would not be defined).
pub fn stratified_folds(labels: &[Label], k: usize, seed: u64) -> Result<Vec<Vec<usize>>> {
    if k < 2 {
        return Err(Error::InvalidInput(format!(
            "cross-validation needs at least 2 folds, not {k}"
        )));
    }
    if k > labels.len() {
        // Checked before anything is allocated for the folds.
        return Err(Error::InvalidInput(format!(
            "{k}-fold cross-validation needs at least {k} images of each class, but there are \
             only {} images in all; use fewer folds",
            labels.len()
        )));
    }
    let mut folds = vec![Vec::new(); k];
    let mut next = 0;
    for label in Label::POSITIVE_FIRST {
        let mut class: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == label).collect();
        if class.len() < k {
            let name = label.name();
            return Err(Error::InvalidInput(format!(
                "{k}-fold cross-validation needs at least {k} `{name}` images (one per fold), \
                 but there are only {}; use fewer folds or more images",
                class.len()
            )));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(u64::from(label.flag()));
        class.shuffle(&mut rng);
        for i in class {
            folds[next].push(i);
            next = (next + 1) % k;
        }
    }
    for fold in &mut folds {
        fold.sort_unstable();
    }
    Ok(folds)
}

/// The model seed of fold `fold` (1-based) under base seed `seed`: `seed × 1000 + fold`
/// (wrapping). Distinct for every fold, and for every base seed when there are fewer than 1000
/// folds.
pub fn fold_seed(seed: u64, fold: usize) -> u64 {
    seed.wrapping_mul(1000).wrapping_add(fold as u64)
}

/// The images `indices` of `set`, in that order, as a new set (pixels copied).
pub fn subset(set: &ImageSet, indices: &[usize]) -> Result<ImageSet> {
    let mut pixels = Vec::with_capacity(indices.len() * IMAGE_LEN);
    let mut samples = Vec::with_capacity(indices.len());
    for &i in indices {
        if i >= set.len() {
            return Err(Error::InvalidInput(format!(
                "index {i} is outside a set of {} images",
                set.len()
            )));
        }
        pixels.extend_from_slice(set.image(i));
        samples.push(set.samples[i].clone());
    }
    ImageSet::from_parts(set.class_names.clone(), samples, pixels, *set.input())
}

/// All labelled images of a Kaggle-style folder (`labels.csv` + images, directly or in
/// `head_ct/`) as one set, in `labels.csv` order, with the class names `hemorrhage` and
/// `normal`. The checks are those of [`crate::data::prepare::prepare_kaggle`]; errors name the
/// file.
///
/// Every image is read by `loader` (DICOM shown in its input's windows).
pub fn kaggle_pool(source: &Path, loader: &Loader) -> Result<ImageSet> {
    let files = kaggle_labelled_files(source, loader.limits())?;
    let paths: Vec<PathBuf> = files.iter().map(|(p, _)| p.clone()).collect();
    let decoded = loader.files(&paths)?;
    let samples = files
        .into_iter()
        .zip(&decoded.samples)
        .map(|((path, label), loaded)| Sample {
            path,
            label: Some(label),
            note: loaded.note.clone(),
            source: loaded.source,
        })
        .collect();
    ImageSet::from_parts(
        Label::class_names(),
        samples,
        decoded.pixels().to_vec(),
        *decoded.input(),
    )
}

/// The labelled images of a seed layout as one pool: `train/` then `validate/`, and `test/` too
/// when `include_test` is set and `test/` has class folders.
///
/// Leaving `test/` out (the default in the command line) keeps those images unseen by every
/// model, for a final check after a recipe has been chosen by cross-validation.
pub fn seed_layout_pool(data: &SeedData, include_test: bool) -> Result<ImageSet> {
    let mut parts = vec![&data.train, &data.validate];
    if include_test {
        match &data.test {
            Some(test) if test.is_labelled() => parts.push(test),
            Some(_) => {
                return Err(Error::InvalidInput(
                    "test/ holds unlabelled images: it cannot join the cross-validation pool"
                        .into(),
                ))
            }
            None => {
                return Err(Error::InvalidInput(
                    "there is no test/ folder to include".into(),
                ))
            }
        }
    }
    let mut pixels = Vec::with_capacity(parts.iter().map(|s| s.pixels().len()).sum());
    let mut samples = Vec::new();
    for part in parts {
        if part.input() != data.train.input() {
            return Err(Error::InvalidInput(
                "the splits of the pool were loaded for different model inputs".into(),
            ));
        }
        if part.class_names != data.train.class_names || !part.is_labelled() {
            return Err(Error::InvalidInput(format!(
                "every split of the pool needs the class folders {:?} and labels",
                data.train.class_names
            )));
        }
        pixels.extend_from_slice(part.pixels());
        samples.extend(part.samples.iter().cloned());
    }
    ImageSet::from_parts(
        data.train.class_names.clone(),
        samples,
        pixels,
        *data.train.input(),
    )
}
