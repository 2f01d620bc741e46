//! `Dense`: a fully connected layer, as Keras' `Dense(n)` (the activation is a separate module).

use dfdx::{
    nn::{modules::BuildOnDevice, tensor_collection::*, BuildModule, Module, NonMutableModule},
    prelude::{Cpu, CpuError},
    shapes::{Const, Dim, Dtype, HasShape, Rank1, Rank2},
    tensor::{Storage, Tape, Tensor},
    tensor_ops::{BroadcastTo, Device, PermuteTo, ReshapeTo, TryAdd, TryMatMul},
};
use rand_distr::Uniform;

use super::glorot_uniform_limit;
use crate::model::shapes::Flat;

/// Builder types, used in model type definitions: `builder::Dense<512, 256>`.
pub mod builder {
    /// A fully connected layer from `IN` to `OUT` features; see [`super::Dense`].
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Dense<const IN: usize, const OUT: usize>;
}

impl<const I: usize, const O: usize> BuildOnDevice<Cpu, f32> for builder::Dense<I, O> {
    type Built = Dense<I, O, f32, Cpu>;
    fn try_build_on_device(device: &Cpu) -> Result<Self::Built, CpuError> {
        Self::Built::try_build(device)
    }
}

/// A fully connected layer: `(batch, I)` → `(batch, O)`, `y = x Wᵀ + b`, weights `(O, I)`.
///
/// Unlike dfdx's `Linear` (PyTorch's default initialisation), it is initialised as Keras
/// initialises `Dense`: Glorot uniform weights in `±sqrt(6 / (I + O))` and zero bias.
/// It also accepts the `(batch, Flat<C, H, W>)` output of [`Flatten`](super::Flatten), and then
/// refuses to compile unless `I == C * H * W`.
#[derive(Debug, Clone)]
pub struct Dense<const I: usize, const O: usize, E: Dtype, D: Storage<E>> {
    pub weight: Tensor<Rank2<O, I>, E, D>,
    pub bias: Tensor<Rank1<O>, E, D>,
}

impl<const I: usize, const O: usize> NonMutableModule for Dense<I, O, f32, Cpu> {}

impl<const I: usize, const O: usize> TensorCollection<f32, Cpu> for Dense<I, O, f32, Cpu> {
    type To<E2: Dtype, D2: Device<E2>> = Dense<I, O, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, Cpu>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        visitor.visit_fields(
            (
                Self::tensor(
                    "weight",
                    |s| &s.weight,
                    |s| &mut s.weight,
                    TensorOptions::reset_with(|t| {
                        let limit = glorot_uniform_limit(I, O);
                        t.try_fill_with_distr(Uniform::new_inclusive(-limit, limit))
                    }),
                ),
                Self::tensor(
                    "bias",
                    |s| &s.bias,
                    |s| &mut s.bias,
                    TensorOptions::reset_to_zeros(),
                ),
            ),
            |(weight, bias)| Dense { weight, bias },
        )
    }
}

impl<B: Dim, T: Tape<f32, Cpu>, const I: usize, const O: usize>
    Module<Tensor<(B, Const<I>), f32, Cpu, T>> for Dense<I, O, f32, Cpu>
{
    type Output = Tensor<(B, Const<O>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Tensor<(B, Const<I>), f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        let batch = x.shape().0;
        let y = x.try_matmul(
            self.weight
                .retaped::<T>()
                .try_permute::<_, dfdx::shapes::Axes2<1, 0>>()?,
        )?;
        y.try_add(
            self.bias
                .retaped::<T>()
                .try_broadcast_like(&(batch, Const::<O>))?,
        )
    }
}

impl<
        B: Dim,
        T: Tape<f32, Cpu>,
        const C: usize,
        const H: usize,
        const W: usize,
        const I: usize,
        const O: usize,
    > Module<Tensor<(B, Flat<C, H, W>), f32, Cpu, T>> for Dense<I, O, f32, Cpu>
{
    type Output = Tensor<(B, Const<O>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, Flat<C, H, W>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        const {
            assert!(
                C * H * W == I,
                "Dense<IN, OUT> after Flatten: IN must equal channels x height x width of the block before Flatten"
            )
        };
        let batch = x.shape().0;
        self.try_forward(x.try_reshape_like(&(batch, Const::<I>))?)
    }
}
