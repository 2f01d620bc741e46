//! `Conv2D`: a 3x3 "valid" convolution with bias, stride 1, as Keras' `Conv2D(n, (3, 3))`.

use dfdx::{
    nn::{modules::BuildOnDevice, tensor_collection::*, BuildModule, Module, NonMutableModule},
    prelude::{Cpu, CpuError},
    shapes::{Const, Dim, HasShape, Rank1, Rank4},
    tensor::{PutTape, SplitTape, Tape, Tensor},
    tensor_ops::ReshapeTo,
};
use rand_distr::Uniform;
use std::sync::Arc;

use super::{check_runtime_side, glorot_uniform_limit, to_contiguous_vec, CachedBuf};
use crate::model::kernels::{conv3x3_backward, conv3x3_forward, ConvDims, KERNEL};
use crate::model::shapes::ConvSide;

/// Builder types, used in model type definitions: `builder::Conv2D<3, 16>`.
pub mod builder {
    /// A 3x3 convolution from `IN` to `OUT` channels; see [`super::Conv2D`].
    #[derive(Debug, Clone, Copy, Default)]
    pub struct Conv2D<const IN: usize, const OUT: usize>;
}

impl<const I: usize, const O: usize> BuildOnDevice<Cpu, f32> for builder::Conv2D<I, O> {
    type Built = Conv2D<I, O, f32, Cpu>;
    fn try_build_on_device(device: &Cpu) -> Result<Self::Built, CpuError> {
        Self::Built::try_build(device)
    }
}

/// A 3x3 "valid" convolution (no padding, stride 1) from `I` to `O` channels, with bias.
///
/// Input `(batch, I, H, W)` → output `(batch, O, H - 2, W - 2)`; `H` and `W` are compile-time
/// `Const<N>` sides (or runtime `usize`). The weights are laid out as dfdx and PyTorch do,
/// `(O, I, 3, 3)`.
///
/// Initialised as Keras initialises `Conv2D`: Glorot (Xavier) uniform weights in
/// `±sqrt(6 / (fan_in + fan_out))` with `fan_in = I*9`, `fan_out = O*9`, and zero bias, so that
/// training starts where the Keras reference starts.
///
/// `input_gradient` (true when built) says whether the backward pass computes the gradient with
/// respect to the input. The first layer of a network can switch it off: nobody reads the
/// gradient of the images during training, and computing it costs a matrix product and a col2im
/// pass over the largest feature map ([`build_teaching_net`](crate::model::build_teaching_net)
/// does this). Switch it back on to ask for input gradients, e.g. for a saliency map.
#[derive(Debug, Clone)]
pub struct Conv2D<
    const I: usize,
    const O: usize,
    E: dfdx::shapes::Dtype,
    D: dfdx::tensor::Storage<E>,
> {
    pub weight: Tensor<Rank4<O, I, KERNEL, KERNEL>, E, D>,
    pub bias: Tensor<Rank1<O>, E, D>,
    /// Compute the gradient with respect to the input in the backward pass (see above).
    pub input_gradient: bool,
}

impl<const I: usize, const O: usize> NonMutableModule for Conv2D<I, O, f32, Cpu> {}

impl<const I: usize, const O: usize> TensorCollection<f32, Cpu> for Conv2D<I, O, f32, Cpu> {
    type To<E2: dfdx::shapes::Dtype, D2: dfdx::tensor_ops::Device<E2>> = Conv2D<I, O, E2, D2>;

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
                        let limit = glorot_uniform_limit(I * KERNEL * KERNEL, O * KERNEL * KERNEL);
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
            |(weight, bias)| Conv2D {
                weight,
                bias,
                input_gradient: true,
            },
        )
    }
}

impl<B, H, W, T, const I: usize, const O: usize> Module<Tensor<(B, Const<I>, H, W), f32, Cpu, T>>
    for Conv2D<I, O, f32, Cpu>
where
    B: Dim,
    H: ConvSide,
    W: ConvSide,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<(B, Const<O>, H::Output, W::Output), f32, Cpu, T>;
    type Error = CpuError;

    fn try_forward(
        &self,
        x: Tensor<(B, Const<I>, H, W), f32, Cpu, T>,
    ) -> Result<Self::Output, CpuError> {
        let (batch, _, height, width) = *x.shape();
        let dims = ConvDims {
            batch: batch.size(),
            in_channels: I,
            out_channels: O,
            height: height.size(),
            width: width.size(),
        };
        check_runtime_side("Conv2D", dims.height, KERNEL);
        check_runtime_side("Conv2D", dims.width, KERNEL);

        // Our kernels read plain NCHW memory; `try_contiguous` is free when it already is.
        let (x, mut tape) = x.try_contiguous()?.split_tape();
        let input = Arc::new(to_contiguous_vec(&x)?);
        let weight = Arc::new(to_contiguous_vec(&self.weight)?);
        let bias = to_contiguous_vec(&self.bias)?;
        let mut output = CachedBuf::zeros(x.device(), dims.batch * dims.output_len())?;
        conv3x3_forward(&dims, &input, &weight, &bias, &mut output);

        let out_shape = (batch, Const::<O>, height.conv_output(), width.conv_output());
        let out = output.into_tensor(out_shape)?;

        if T::OWNS_TAPE {
            let input_gradient = self.input_gradient;
            let (x_ghost, w_ghost, b_ghost, out_ghost) = (
                x.ghost(),
                self.weight.ghost(),
                self.bias.ghost(),
                out.ghost(),
            );
            tape.add_backward_op(move |grads| {
                // Borrow the gradient buffers one at a time by moving them out and back in:
                // dfdx's public API hands out one `&mut` at a time.
                let grad_out: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
                let mut grad_weight: Vec<f32> =
                    std::mem::take(&mut **grads.get_or_alloc_mut(&w_ghost)?);
                let mut grad_bias: Vec<f32> =
                    std::mem::take(&mut **grads.get_or_alloc_mut(&b_ghost)?);
                conv3x3_backward(
                    &dims,
                    &input,
                    &weight,
                    &grad_out,
                    if input_gradient {
                        Some(grads.get_or_alloc_mut(&x_ghost)?)
                    } else {
                        None
                    },
                    &mut grad_weight,
                    &mut grad_bias,
                );
                **grads.get_or_alloc_mut(&w_ghost)? = grad_weight;
                **grads.get_or_alloc_mut(&b_ghost)? = grad_bias;
                **grads.get_or_alloc_mut(&out_ghost)? = grad_out;
                Ok(())
            });
        }
        Ok(out.put_tape(tape))
    }
}
