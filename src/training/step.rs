//! One training step and one evaluation pass on a batch: the two operations that everything
//! above the model (the fit loop, the run, the experiments, the benchmarks) is built from.

use dfdx::{
    losses::binary_cross_entropy_with_logits_loss,
    nn::{tensor_collection::TensorCollection, Module, ModuleMut, ZeroGrads},
    optim::{Adam, Optimizer},
    prelude::{Cpu, CpuError},
    shapes::Rank0,
    shapes::{HasShape, Shape},
    tensor::{AsArray, Gradients, NoneTape, OwnedTape, Tape, Tensor, Trace},
    tensor_ops::{Backward, MeanTo},
};

use super::Recipe;
use crate::{error::Result, labels::Threshold, model::Column, Error};

/// What one batch gave.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchStats {
    /// Mean binary cross-entropy over the batch.
    pub loss: f32,
    /// Images whose call ([`Threshold::call`] on `sigmoid(logit)`) equals their label.
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
    /// The recipe's call rule, for the accuracy of each batch.
    threshold: Threshold,
    /// The loss weight of `[normal, hemorrhage]` images, when the classes are weighed.
    class_weights: Option<[f32; 2]>,
    /// Kept between steps so their memory is reused (`None` only while a step runs).
    grads: Option<Gradients<f32, Cpu>>,
}

impl<M: TensorCollection<f32, Cpu>> Trainer<M> {
    /// Wraps `model` with a fresh Adam optimizer ([`Recipe::adam`]) and the recipe's threshold.
    /// Class weights depend on the training images, not only on the recipe: give them with
    /// [`Trainer::with_class_weights`] ([`super::train_model`] does).
    ///
    /// In a notebook, build the model, the trainer and run its steps in one cell (or call
    /// [`crate::lesson::Lesson`]'s training functions, which do): each evcxr cell has its own
    /// copy of dfdx's tensor-id counter, and a model made in an earlier cell would share ids
    /// with a later cell's tensors (see [`crate::model::copy_with_own_ids`]).
    pub fn new(model: M, recipe: &Recipe) -> Self {
        let grads = model.alloc_grads();
        let optimizer = Adam::new(&model, recipe.adam());
        Self {
            model,
            optimizer,
            threshold: recipe.threshold,
            class_weights: None,
            grads: Some(grads),
        }
    }

    /// Weighs each image's loss by its class: `[normal, hemorrhage]` (see
    /// [`Recipe::class_weights`]).
    pub fn with_class_weights(mut self, weights: Option<[f32; 2]>) -> Self {
        self.class_weights = weights;
        self
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
        let correct = count_correct(&logits.retaped::<NoneTape>(), labels, self.threshold);
        let count = labels.shape().0;
        let loss = batch_loss(logits, labels, self.class_weights);
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
}

/// The training loss of a batch: binary cross-entropy on the logits against `labels`, averaged
/// over the images; with `class_weights` (`[normal, hemorrhage]`), each image's term is first
/// multiplied by its class's weight, as Keras' `class_weight` does (its mean then divides by the
/// batch size, not by the sum of the weights). Without weights this is dfdx's
/// `binary_cross_entropy_with_logits_loss`, unchanged.
pub(crate) fn batch_loss<T: Tape<f32, Cpu>>(
    logits: Column<T>,
    labels: &Column,
    class_weights: Option<[f32; 2]>,
) -> Tensor<Rank0, f32, Cpu, T> {
    match class_weights {
        None => binary_cross_entropy_with_logits_loss(logits, labels.clone()),
        Some([normal, hemorrhage]) => {
            let weights = labels.clone() * (hemorrhage - normal) + normal;
            (logits.bce_with_logits(labels.clone()) * weights).mean()
        }
    }
}

/// One evaluation pass on a batch, without gradients: the mean loss, how many are right at
/// `threshold`, and the probability of hemorrhage for each image.
pub fn evaluate_batch<M, S: Shape>(
    model: &M,
    images: Tensor<S, f32, Cpu>,
    labels: &Column,
    threshold: Threshold,
) -> Result<BatchEvaluation>
where
    M: Module<Tensor<S, f32, Cpu>, Output = Column, Error = CpuError>,
{
    let logits = model.try_forward(images)?;
    let correct = count_correct(&logits, labels, threshold);
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

/// How many images the threshold calls right: the probability is dfdx's `sigmoid(logit)`, the
/// same number predictions report, so an image at exactly the threshold is called the same way
/// in the epoch's accuracy and in the predictions.
fn count_correct(logits: &Column, labels: &Column, threshold: Threshold) -> usize {
    logits
        .clone()
        .sigmoid()
        .as_vec()
        .iter()
        .zip(labels.as_vec())
        .filter(|(&p, target)| threshold.call(p).target() == *target)
        .count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dfdx::{shapes::Const, tensor::TensorFromVec};

    #[test]
    fn the_weighted_loss_matches_its_formula_and_its_gradient_finite_differences() {
        let dev = Cpu::default();
        let x = vec![1.3f32, -0.4, 0.2, -2.1, 0.9];
        let y = vec![1.0f32, 0.0, 1.0, 0.0, 0.0];
        let weights = [0.55f32, 5.5];
        let labels = dev.tensor_from_vec(y.clone(), (5, Const::<1>));
        let loss_at = |x: &[f32]| -> f64 {
            let logits = dev.tensor_from_vec(x.to_vec(), (5, Const::<1>));
            f64::from(batch_loss(logits, &labels, Some(weights)).array())
        };
        // By hand: mean over the images of w_y * (softplus(x) - y x).
        let by_hand: f64 = x
            .iter()
            .zip(&y)
            .map(|(&x, &y)| {
                let (x, y) = (f64::from(x), f64::from(y));
                let w = if y > 0.5 { 5.5 } else { 0.55 };
                w * ((1.0 + x.exp()).ln() - y * x)
            })
            .sum::<f64>()
            / 5.0;
        assert!(
            (loss_at(&x) - by_hand).abs() < 1e-5,
            "{} vs {by_hand}",
            loss_at(&x)
        );
        // Unweighted, it is dfdx's loss exactly.
        let logits = dev.tensor_from_vec(x.clone(), (5, Const::<1>));
        assert_eq!(
            batch_loss(logits.clone(), &labels, None).array(),
            binary_cross_entropy_with_logits_loss(logits, labels.clone()).array()
        );
        // Gradient against central differences.
        let leaf = dev.tensor_from_vec(x.clone(), (5, Const::<1>));
        let grads = batch_loss(leaf.leaky_trace(), &labels, Some(weights)).backward();
        let analytic = grads.get(&leaf).as_vec();
        let h = 1e-3f32;
        for i in 0..x.len() {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[i] += h;
            down[i] -= h;
            let numeric = (loss_at(&up) - loss_at(&down)) / (2.0 * f64::from(h));
            assert!(
                (f64::from(analytic[i]) - numeric).abs() < 1e-3,
                "logit {i}: {} vs {numeric}",
                analytic[i]
            );
        }
    }

    #[test]
    fn accuracy_counts_an_image_at_exactly_the_threshold_as_hemorrhage() {
        let dev = Cpu::default();
        // sigmoid(0) = 0.5 exactly; a logit just below 0 still rounds to 0.5 in f32.
        let logits = dev.tensor_from_vec(vec![0.0, -1e-9, -1.0, 1.0], (4, Const::<1>));
        let hemorrhage = dev.tensor_from_vec(vec![1.0; 4], (4, Const::<1>));
        let t = Threshold::DEFAULT;
        assert_eq!(logits.clone().sigmoid().as_vec()[1], 0.5);
        assert_eq!(count_correct(&logits, &hemorrhage, t), 3);
        let normal = dev.tensor_from_vec(vec![0.0; 4], (4, Const::<1>));
        assert_eq!(count_correct(&logits, &normal, t), 1);
        let strict = Threshold::new(0.9).unwrap();
        assert_eq!(count_correct(&logits, &hemorrhage, strict), 0);
    }
}
