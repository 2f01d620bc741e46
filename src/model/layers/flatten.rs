//! `Flatten`: one feature vector per image, as Keras' `Flatten()`.

use dfdx::{
    nn::{Module, NonMutableModule, ZeroSizedModule},
    prelude::{Cpu, CpuError},
    shapes::{Const, Dim, HasShape},
    tensor::{Tape, Tensor},
    tensor_ops::ReshapeTo,
};

use crate::model::shapes::Flat;

/// Flattens `(batch, C, H, W)` into `(batch, Flat<C, H, W>)`: `C * H * W` features per image, in
/// channel-major order (as PyTorch does; Keras flattens channels-last, which only permutes the
/// Dense weights). The next [`Dense`](super::Dense) layer checks at compile time that it takes
/// exactly `C * H * W` inputs. No parameters; no copy when the input is contiguous.
#[derive(Debug, Clone, Copy, Default)]
pub struct Flatten;

impl ZeroSizedModule for Flatten {}
impl NonMutableModule for Flatten {}

impl<B, T, const C: usize, const H: usize, const W: usize>
    Module<Tensor<(B, Const<C>, Const<H>, Const<W>), f32, Cpu, T>> for Flatten
where
    B: Dim,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<(B, Flat<C, H, W>), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, Const<C>, Const<H>, Const<W>), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let batch = x.shape().0;
        x.try_reshape_like(&(batch, Flat::<C, H, W>))
    }
}
