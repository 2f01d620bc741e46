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

use crate::{error::Result, model::Column, Error};

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
