//! Training: the recipe ([`Recipe`]), one step on a batch ([`Trainer`]), the epoch loop
//! ([`train_model`]), what it records ([`History`]) and how it reports itself ([`observer`]).
//!
//! [`train_model`] is the one way a model is trained here: it creates the seeded device itself,
//! so the seed decides the initial weights, the batch order and the augmentation by
//! construction. The command line, the run folder ([`crate::run`]), cross-validation, the seed
//! spread and the notebooks all train through it.
//!
//! ```no_run
//! use head_ct::{data::phantoms::phantom_seed_data, training::{train_model, observer::EpochLines, Recipe}};
//!
//! let data = phantom_seed_data(1);
//! let trained = train_model(&data.train, &data.validate, &Recipe::TEACHING, 1, &mut EpochLines)?;
//! println!("final loss {:.4}", trained.history.loss.last().unwrap());
//! # Ok::<(), head_ct::Error>(())
//! ```

mod history;
pub mod observer;
mod recipe;
mod step;

use std::ops::Deref;
use std::time::Instant;

use dfdx::prelude::Cpu;
use dfdx::tensor::Cache;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

pub use history::{History, Overfitting, CHANCE_MARGIN};
pub use recipe::{imbalance_warning, ClassWeight, Recipe};
pub use step::{evaluate_batch, predict_probabilities, BatchEvaluation, BatchStats, Trainer};

use crate::{
    data::{epoch_batches, sequential_batches, ImageSet},
    error::Result,
    labels::Threshold,
    model::{build_teaching_net, TeachingNet},
    Error,
};
use observer::{EpochSummary, Observer};

/// Batch size for validation and prediction passes: the default training batch size. Larger
/// batches only cost memory: with dfdx's tensor cache, buffers are reused by length, so evaluation
/// batches of the training batch's size reuse the training step's buffers, while any other size
/// (25 before) kept a second set of buffers alive next to them (about 70 MiB more peak memory).
pub const EVAL_BATCH_SIZE: usize = 10;

/// A CPU device whose random generator is seeded (it draws the initial weights) and whose
/// tensor cache is on (every batch asks for the same buffer sizes again, and our layers borrow
/// their large buffers from it). Dereferences to dfdx's [`Cpu`].
///
/// Dropping it empties and turns off the cache: dfdx 0.13's cache has no `Drop`, so a device
/// dropped with its cache on would leak every cached buffer (about 300 MB per trained model),
/// and a 5-fold cross-validation would grow past 1.5 GB. Tensors still alive then free their
/// memory normally.
pub struct SeededDevice(Cpu);

impl SeededDevice {
    /// `Cpu::seed_from_u64(seed)` with the tensor cache on.
    pub fn new(seed: u64) -> Self {
        let dev = Cpu::seed_from_u64(seed);
        dev.enable_cache();
        Self(dev)
    }

    /// A device for a model whose weights are loaded from a checkpoint: nothing is drawn from
    /// its random generator, so its seed (0) does not matter.
    pub fn for_inference() -> Self {
        Self::new(0)
    }
}

impl Deref for SeededDevice {
    type Target = Cpu;
    fn deref(&self) -> &Cpu {
        &self.0
    }
}

impl Drop for SeededDevice {
    fn drop(&mut self) {
        self.0.disable_cache();
    }
}

/// A trained teaching model with the device it lives on and its training history.
///
/// Fields drop in order: the model before the device, so its buffers go back to the cache
/// that the device then empties.
pub struct TrainedModel {
    pub model: TeachingNet,
    pub history: History,
    /// The recipe it was trained with.
    pub recipe: Recipe,
    /// The seed of its initial weights, batch order and augmentation.
    pub seed: u64,
    pub dev: SeededDevice,
}

/// Trains a fresh teaching model on `train` with `recipe` for `recipe.epochs` epochs,
/// evaluating on `validate` after each, on a new [`SeededDevice`] of `seed`: the same seed on
/// the same machine (and thread count) gives the same weights, history and predictions.
///
/// Each epoch visits every training image once in a fresh seeded order (the last batch may be
/// smaller). `loss` and `accuracy` are averaged over the epoch's batches as they were trained
/// (as Keras reports them); `val_loss` and `val_accuracy` come from the model at the end of the
/// epoch. Accuracy counts calls at `recipe.threshold`. `observer` hears about every batch and
/// every epoch.
///
/// Errors if the recipe cannot train ([`Recipe::check`]), `train` is empty or unlabelled, or
/// either set was loaded for another input than the recipe's ([`check_input`]: the model's
/// `model.json` would otherwise record windows it never saw), and with
/// [`Error::NonFiniteLoss`] (naming the epoch and batch) if the loss becomes NaN or infinite.
pub fn train_model(
    train: &ImageSet,
    validate: &ImageSet,
    recipe: &Recipe,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<TrainedModel> {
    recipe.check()?;
    if train.is_empty() || !train.is_labelled() {
        return Err(Error::InvalidInput(
            "training needs a labelled, non-empty training set".into(),
        ));
    }
    check_input(recipe, &[("training", train), ("validation", validate)])?;
    let counts = train.class_counts_by_label();
    let weights = recipe.class_weights(counts[0], counts[1])?;
    let dev = SeededDevice::new(seed);
    let mut trainer = Trainer::new(build_teaching_net(&dev), recipe).with_class_weights(weights);
    let history = fit(&mut trainer, &dev, train, validate, recipe, seed, observer)?;
    Ok(TrainedModel {
        model: trainer.model,
        history,
        recipe: *recipe,
        seed,
        dev,
    })
}

/// Refuses sets (named, e.g. `("training", &train)`) whose images were loaded for another
/// input than the recipe's, with a sentence that says both and how to load them.
pub fn check_input(recipe: &Recipe, sets: &[(&str, &ImageSet)]) -> Result<()> {
    for (name, set) in sets {
        if *set.input() != recipe.input {
            return Err(Error::InvalidInput(format!(
                "the {name} images were loaded for an input of {}, but the recipe trains a \
                 model for {}: load them with the recipe's input \
                 (`Loader::new(recipe.input)`)",
                set.input().describe(),
                recipe.input.describe()
            )));
        }
    }
    Ok(())
}

/// The epoch loop of [`train_model`].
fn fit(
    trainer: &mut Trainer<TeachingNet>,
    dev: &Cpu,
    train: &ImageSet,
    validate: &ImageSet,
    recipe: &Recipe,
    seed: u64,
    observer: &mut dyn Observer,
) -> Result<History> {
    let augmentation = recipe.augmentation();
    let mut history = History::default();
    let mut augment_rng = ChaCha8Rng::seed_from_u64(seed ^ 0xA06E_A1B0);
    for epoch in 1..=recipe.epochs {
        let started = Instant::now();
        let batches = epoch_batches(train.len(), recipe.batch_size, seed, epoch as u64);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        for (b, indices) in batches.iter().enumerate() {
            let batch = train.augmented_batch(dev, indices, &augmentation, &mut augment_rng);
            let stats = trainer
                .train_step(batch.images, &batch.labels)
                .map_err(|e| match e {
                    Error::NonFiniteLoss { loss, .. } => Error::NonFiniteLoss {
                        loss,
                        context: format!("epoch {epoch}, batch {} of {}", b + 1, batches.len()),
                    },
                    other => other,
                })?;
            loss_sum += stats.loss as f64 * stats.count as f64;
            correct += stats.correct;
            seen += stats.count;
            observer.batch_end(epoch, b + 1, batches.len(), &stats);
        }
        let val = evaluate_set(&trainer.model, dev, validate, recipe.threshold)?;
        let summary = EpochSummary {
            epoch,
            epochs: recipe.epochs,
            loss: (loss_sum / seen as f64) as f32,
            accuracy: correct as f32 / seen as f32,
            val_loss: val.loss,
            val_accuracy: val.accuracy,
            elapsed: started.elapsed(),
        };
        history.push(&summary);
        observer.epoch_end(&summary);
    }
    Ok(history)
}

/// The model's loss, accuracy and probabilities over a whole labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetEvaluation {
    pub loss: f32,
    /// Share of images called right at the threshold.
    pub accuracy: f32,
    /// Probability of hemorrhage per image, in the set's order.
    pub probabilities: Vec<f32>,
}

/// Evaluates `model` on every image of a labelled `set`, in order, without gradients; the
/// accuracy counts calls at `threshold`.
pub fn evaluate_set(
    model: &TeachingNet,
    dev: &Cpu,
    set: &ImageSet,
    threshold: Threshold,
) -> Result<SetEvaluation> {
    if set.is_empty() || !set.is_labelled() {
        return Err(Error::InvalidInput(
            "evaluation needs a labelled, non-empty set".into(),
        ));
    }
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    let mut probabilities = Vec::with_capacity(set.len());
    for indices in sequential_batches(set.len(), EVAL_BATCH_SIZE) {
        let batch = set.batch(dev, &indices);
        let eval = evaluate_batch(model, batch.images, &batch.labels, threshold)?;
        loss_sum += eval.stats.loss as f64 * eval.stats.count as f64;
        correct += eval.stats.correct;
        probabilities.extend(eval.probabilities);
    }
    let loss = (loss_sum / set.len() as f64) as f32;
    if !loss.is_finite() {
        return Err(Error::NonFiniteLoss {
            loss,
            context: "evaluation".into(),
        });
    }
    Ok(SetEvaluation {
        loss,
        accuracy: correct as f32 / set.len() as f32,
        probabilities,
    })
}
