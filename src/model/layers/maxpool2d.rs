//! `MaxPool2D`: 2x2 max-pooling with stride 2, as Keras' `MaxPooling2D()`.

use dfdx::{
    nn::{Module, NonMutableModule, ZeroSizedModule},
    prelude::{Cpu, CpuError},
    shapes::{Dim, HasShape},
    tensor::{PutTape, SplitTape, Tape, Tensor},
    tensor_ops::ReshapeTo,
};
use std::sync::Arc;

use super::{check_runtime_side, to_contiguous_vec, CachedBuf};
use crate::model::kernels::{maxpool2x2_backward, maxpool2x2_forward, PoolDims, Winner};
use crate::model::shapes::PoolSide;

/// 2x2 max-pooling with stride 2: input `(batch, C, H, W)` → `(batch, C, H / 2, W / 2)`.
///
/// Each output is the largest of a 2x2 window; an odd last row or column is dropped (Keras'
/// default `padding="valid"`). The gradient flows back only to the value that won the max
/// (the first one in row-major order on a tie). It has no parameters.
#[derive(Debug, Clone, Copy, Default)]
pub struct MaxPool2D;

impl ZeroSizedModule for MaxPool2D {}
impl NonMutableModule for MaxPool2D {}

impl<B, C, H, W, T> Module<Tensor<(B, C, H, W), f32, Cpu, T>> for MaxPool2D
where
    B: Dim,
    C: Dim,
    H: PoolSide,
    W: PoolSide,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<(B, C, H::Output, W::Output), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(&self, x: Tensor<(B, C, H, W), f32, Cpu, T>) -> Result<Self::Output, CpuError> {
        let (batch, channels, height, width) = *x.shape();
        let dims = PoolDims {
            batch: batch.size(),
            channels: channels.size(),
            height: height.size(),
            width: width.size(),
        };
        check_runtime_side("MaxPool2D", dims.height, 2);
        check_runtime_side("MaxPool2D", dims.width, 2);

        let (x, mut tape) = x.try_contiguous()?.split_tape();
        let input = to_contiguous_vec(&x)?;
        let mut output = CachedBuf::zeros(x.device(), dims.batch * dims.output_len())?;
        let mut winners = CachedBuf::<Winner>::zeros(x.device(), output.len())?;
        maxpool2x2_forward(&dims, &input, &mut output, &mut winners);
        drop(input);

        let out_shape = (batch, channels, height.pool_output(), width.pool_output());
        let out = output.into_tensor(out_shape)?;

        if T::OWNS_TAPE {
            let winners = Arc::new(winners);
            let (x_ghost, out_ghost) = (x.ghost(), out.ghost());
            tape.add_backward_op(move |grads| {
                let grad_out: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
                maxpool2x2_backward(
                    &dims,
                    &winners,
                    &grad_out,
                    grads.get_or_alloc_mut(&x_ghost)?,
                );
                **grads.get_or_alloc_mut(&out_ghost)? = grad_out;
                Ok(())
            });
        }
        Ok(out.put_tape(tape))
    }
}
