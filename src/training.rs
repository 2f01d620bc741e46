//! One training step and one evaluation pass on a batch: the two operations that everything
//! above the model (the fit loop, the CLI, the notebooks, the benchmarks) is built from.

use dfdx::{
    losses::binary_cross_entropy_with_logits_loss,
    nn::{tensor_collection::TensorCollection, Module, ModuleMut, ZeroGrads},
    optim::{Adam, AdamConfig, Optimizer},
    prelude::{Cpu, CpuError},
    shapes::{HasShape, Shape},
    tensor::{AsArray, Gradients, NoneTape, OwnedTape, Tensor, Trace},
    tensor_ops::Backward,
};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

use crate::{
    data::{epoch_batches, sequential_batches, Augmentation, ImageSet},
    error::Result,
    history::History,
    model::{Column, TeachingNet},
    progress::{EpochSummary, FitObserver},
    Error,
};

/// The optimizer settings of the Keras reference: Adam with learning rate 1e-3,
/// betas (0.9, 0.999) and Keras' epsilon 1e-7 (dfdx's default is 1e-8).
pub fn keras_adam(learning_rate: f64) -> AdamConfig {
    AdamConfig {
        lr: learning_rate,
        betas: [0.9, 0.999],
        eps: 1e-7,
        weight_decay: None,
    }
}

/// What one batch gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchStats {
    /// Mean binary cross-entropy over the batch.
    pub loss: f32,
    /// Images whose predicted class (probability ≥ 0.5) equals their label.
    pub correct: usize,
    /// Images in the batch.
    pub count: usize,
}

/// The model's verdicts on one batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchEvaluation {
    pub stats: BatchStats,
    /// Probability of hemorrhage, one per image, in batch order.
    pub probabilities: Vec<f32>,
}

/// A model with its optimizer state and gradient buffers: call [`Trainer::train_step`] once per
/// batch. `M` is any model that maps a batch `S` to one logit per image, such as
/// [`TeachingNet`](crate::model::TeachingNet).
pub struct Trainer<M> {
    pub model: M,
    optimizer: Adam<M, f32, Cpu>,
    /// Kept between steps so their memory is reused (`None` only while a step runs).
    grads: Option<Gradients<f32, Cpu>>,
}

impl<M: TensorCollection<f32, Cpu>> Trainer<M> {
    /// Wraps `model` with a fresh Adam optimizer (see [`keras_adam`]).
    pub fn new(model: M, adam: AdamConfig) -> Self {
        let grads = model.alloc_grads();
        let optimizer = Adam::new(&model, adam);
        Self {
            model,
            optimizer,
            grads: Some(grads),
        }
    }

    /// One step of gradient descent on a batch: forward pass, binary cross-entropy on the
    /// logits against `labels` (1 = hemorrhage), backward pass, Adam update.
    ///
    /// The statistics describe the batch *before* the update, as Keras reports them. A loss that
    /// is not finite stops here with [`Error::NonFiniteLoss`], before the weights are touched.
    pub fn train_step<S: Shape>(
        &mut self,
        images: Tensor<S, f32, Cpu>,
        labels: &Column,
    ) -> Result<BatchStats>
    where
        M: ModuleMut<
            Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>,
            Output = Column<OwnedTape<f32, Cpu>>,
            Error = CpuError,
        >,
    {
        let grads = self
            .grads
            .take()
            .unwrap_or_else(|| self.model.alloc_grads());
        let logits = self.model.try_forward_mut(images.traced(grads))?;
        let correct = count_correct(&logits.retaped::<NoneTape>(), labels);
        let count = labels.shape().0;
        let loss = binary_cross_entropy_with_logits_loss(logits, labels.clone());
        let loss_value = loss.array();
        let mut grads = loss.try_backward()?;
        if !loss_value.is_finite() {
            self.model.zero_grads(&mut grads);
            self.grads = Some(grads);
            return Err(Error::NonFiniteLoss {
                loss: loss_value,
                context: "a training step".into(),
            });
        }
        self.optimizer
            .update(&mut self.model, &grads)
            .map_err(|e| Error::Optimizer(e.to_string()))?;
        self.model.zero_grads(&mut grads);
        self.grads = Some(grads);
        Ok(BatchStats {
            loss: loss_value,
            correct,
            count,
        })
    }

    /// See [`evaluate_batch`].
    pub fn evaluate_batch<S: Shape>(
        &self,
        images: Tensor<S, f32, Cpu>,
        labels: &Column,
    ) -> Result<BatchEvaluation>
    where
        M: Module<Tensor<S, f32, Cpu>, Output = Column, Error = CpuError>,
    {
        evaluate_batch(&self.model, images, labels)
    }
}

/// One evaluation pass on a batch, without gradients: the mean loss, how many are right, and the
/// probability of hemorrhage for each image.
pub fn evaluate_batch<M, S: Shape>(
    model: &M,
    images: Tensor<S, f32, Cpu>,
    labels: &Column,
) -> Result<BatchEvaluation>
where
    M: Module<Tensor<S, f32, Cpu>, Output = Column, Error = CpuError>,
{
    let logits = model.try_forward(images)?;
    let correct = count_correct(&logits, labels);
    let count = labels.shape().0;
    let probabilities = logits.clone().sigmoid().as_vec();
    let loss = binary_cross_entropy_with_logits_loss(logits, labels.clone()).array();
    Ok(BatchEvaluation {
        stats: BatchStats {
            loss,
            correct,
            count,
        },
        probabilities,
    })
}

/// Probabilities of hemorrhage for a batch of images: `sigmoid(logit)`.
pub fn predict_probabilities<M, S: Shape>(
    model: &M,
    images: Tensor<S, f32, Cpu>,
) -> Result<Vec<f32>>
where
    M: Module<Tensor<S, f32, Cpu>, Output = Column, Error = CpuError>,
{
    Ok(model.try_forward(images)?.sigmoid().as_vec())
}

/// A logit above 0 is a probability above 0.5: the model says "hemorrhage".
fn count_correct(logits: &Column, labels: &Column) -> usize {
    logits
        .as_vec()
        .iter()
        .zip(labels.as_vec())
        .filter(|(&logit, label)| (logit > 0.0) == (*label >= 0.5))
        .count()
}

/// The training recipe. The defaults are the seed project's: 10 epochs, batch size 10,
/// Adam with learning rate 1e-3, no augmentation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Seeds the weights (through the device), the batch order of every epoch and the
    /// augmentation. The same seed on the same machine gives the same history.
    pub seed: u64,
    pub augmentation: Augmentation,
}

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            epochs: 10,
            batch_size: 10,
            learning_rate: 1e-3,
            seed: 1,
            augmentation: Augmentation::none(),
        }
    }
}

/// Batch size for validation and prediction passes: the default training batch size. Larger
/// batches only cost memory: with dfdx's tensor cache, buffers are reused by length, so evaluation
/// batches of the training batch's size reuse the training step's buffers, while any other size
/// (25 before) kept a second set of buffers alive next to them (about 70 MiB more peak memory).
pub const EVAL_BATCH_SIZE: usize = 10;

/// Trains `trainer.model` on `train` for `config.epochs` epochs, evaluating on `validate` after
/// each, and returns the history under Keras' names.
///
/// Each epoch visits every training image once in a fresh seeded order (the last batch may be
/// smaller). `loss` and `accuracy` are averaged over the epoch's batches as they were trained
/// (as Keras reports them); `val_loss` and `val_accuracy` come from the model at the end of the
/// epoch. `observer` hears about every batch and every epoch ([`crate::progress`]).
///
/// Stops with [`Error::NonFiniteLoss`] (naming the epoch and batch) if the loss becomes NaN or
/// infinite; the weights are left as they were before that batch.
pub fn fit(
    trainer: &mut Trainer<TeachingNet>,
    dev: &Cpu,
    train: &ImageSet,
    validate: &ImageSet,
    config: &FitConfig,
    observer: &mut dyn FitObserver,
) -> Result<History> {
    if train.is_empty() || !train.is_labelled() {
        return Err(Error::InvalidInput(
            "training needs a labelled, non-empty training set".into(),
        ));
    }
    if config.batch_size == 0 {
        return Err(Error::InvalidInput(
            "the batch size must be at least 1".into(),
        ));
    }
    let mut history = History::default();
    let mut augment_rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0xA06E_A1B0);
    for epoch in 1..=config.epochs {
        let started = Instant::now();
        let batches = epoch_batches(train.len(), config.batch_size, config.seed, epoch as u64);
        let (mut loss_sum, mut correct, mut seen) = (0.0f64, 0usize, 0usize);
        for (b, indices) in batches.iter().enumerate() {
            let batch = train.augmented_batch(dev, indices, &config.augmentation, &mut augment_rng);
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
        let val = evaluate_set(&trainer.model, dev, validate)?;
        let summary = EpochSummary {
            epoch,
            epochs: config.epochs,
            loss: (loss_sum / seen as f64) as f32,
            accuracy: correct as f32 / seen as f32,
            val_loss: val.loss,
            val_accuracy: val.accuracy,
            elapsed: started.elapsed(),
        };
        history.loss.push(summary.loss);
        history.accuracy.push(summary.accuracy);
        history.val_loss.push(summary.val_loss);
        history.val_accuracy.push(summary.val_accuracy);
        observer.epoch_end(&summary);
    }
    Ok(history)
}

/// The model's loss, accuracy and probabilities over a whole labelled set.
#[derive(Debug, Clone, PartialEq)]
pub struct SetEvaluation {
    pub loss: f32,
    pub accuracy: f32,
    /// Probability of hemorrhage per image, in the set's order.
    pub probabilities: Vec<f32>,
}

/// Evaluates `model` on every image of a labelled `set`, in order, without gradients.
pub fn evaluate_set(model: &TeachingNet, dev: &Cpu, set: &ImageSet) -> Result<SetEvaluation> {
    if set.is_empty() || !set.is_labelled() {
        return Err(Error::InvalidInput(
            "evaluation needs a labelled, non-empty set".into(),
        ));
    }
    let (mut loss_sum, mut correct) = (0.0f64, 0usize);
    let mut probabilities = Vec::with_capacity(set.len());
    for indices in sequential_batches(set.len(), EVAL_BATCH_SIZE) {
        let batch = set.batch(dev, &indices);
        let eval = evaluate_batch(model, batch.images, &batch.labels)?;
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
