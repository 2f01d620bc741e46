//! `ConvBlock`: a 3x3 convolution, ReLU and 2x2 max-pooling, computed as one layer.

use dfdx::{
    nn::{modules::BuildOnDevice, tensor_collection::*, BuildModule, Module, NonMutableModule},
    prelude::{Cpu, CpuError},
    shapes::{Const, Dim, HasShape},
    tensor::{PutTape, SplitTape, Tape, Tensor},
    tensor_ops::ReshapeTo,
};
use std::sync::Arc;

use super::{
    check_runtime_side, recycled::Recycled, to_contiguous_vec, CachedBuf, Conv2D, MaxPool2D, ReLU,
};
use crate::model::kernels::{
    conv3x3_relu_maxpool_backward, conv3x3_relu_maxpool_forward, ConvDims, Winner, KERNEL,
};
use crate::model::shapes::{ConvSide, PoolSide};

/// Builder types, used in model type definitions: `builder::ConvBlock<3, 16>`.
pub mod builder {
    /// A 3x3 convolution from `IN` to `OUT` channels, ReLU, then 2x2 max-pooling; see
    /// [`super::ConvBlock`].
    #[derive(Debug, Clone, Copy, Default)]
    pub struct ConvBlock<const IN: usize, const OUT: usize>;
}

impl<const I: usize, const O: usize> BuildOnDevice<Cpu, f32> for builder::ConvBlock<I, O> {
    type Built = ConvBlock<I, O, f32, Cpu>;
    fn try_build_on_device(device: &Cpu) -> Result<Self::Built, CpuError> {
        Self::Built::try_build(device)
    }
}

/// One block of the feature extractor: [`Conv2D`] (`I` → `O` channels), [`ReLU`], then
/// [`MaxPool2D`], as Keras' `Conv2D(O, (3, 3), activation="relu")` + `MaxPooling2D()`.
///
/// Input `(batch, I, H, W)` → output `(batch, O, (H - 2) / 2, (W - 2) / 2)`.
///
/// It computes exactly what the three layers compute one after the other (bit for bit, forward
/// and backward; `tests/all/layers.rs` checks it), but in one pass per image
/// ([`crate::model::kernels::conv3x3_relu_maxpool_forward`]): the full-size activations between the
/// three layers never leave a per-thread scratch buffer. That saves about a third of a training
/// step (`docs/BENCHMARKS.md`). Its only parameters are the convolution's, in [`Self::conv`].
///
/// [`Self::activations`] and [`Self::pool`] run the two halves separately, through the plain
/// layers, for code that needs the activations themselves (Grad-CAM, feature maps).
#[derive(Debug, Clone)]
pub struct ConvBlock<
    const I: usize,
    const O: usize,
    E: dfdx::shapes::Dtype,
    D: dfdx::tensor::Storage<E>,
> {
    pub conv: Conv2D<I, O, E, D>,
}

impl<const I: usize, const O: usize> NonMutableModule for ConvBlock<I, O, f32, Cpu> {}

impl<const I: usize, const O: usize> TensorCollection<f32, Cpu> for ConvBlock<I, O, f32, Cpu> {
    type To<E2: dfdx::shapes::Dtype, D2: dfdx::tensor_ops::Device<E2>> = ConvBlock<I, O, E2, D2>;

    fn iter_tensors<V: ModuleVisitor<Self, f32, Cpu>>(
        visitor: &mut V,
    ) -> Result<Option<Self::To<V::E2, V::D2>>, V::Err> {
        // Named "0", the convolution's place when a block was the tuple (Conv2D, ReLU,
        // MaxPool2D): the saved parameter names stay `0.0.0.weight` and so on, and checkpoints
        // saved before the fusion still load.
        visitor.visit_fields(Self::module("0", |s| &s.conv, |s| &mut s.conv), |conv| {
            ConvBlock { conv }
        })
    }
}

impl<const I: usize, const O: usize> ConvBlock<I, O, f32, Cpu> {
    /// The block's activations before pooling, `relu(conv(x))`: `(batch, O, H - 2, W - 2)`.
    /// Computed by the separate [`Conv2D`] and [`ReLU`] layers (slower than the fused forward,
    /// same values); the tape, if any, records them for gradients with respect to these
    /// activations.
    #[allow(clippy::type_complexity)]
    pub fn activations<B: Dim, H: ConvSide, W: ConvSide, T: Tape<f32, Cpu>>(
        &self,
        x: Tensor<(B, Const<I>, H, W), f32, Cpu, T>,
    ) -> Result<Tensor<(B, Const<O>, H::Output, W::Output), f32, Cpu, T>, CpuError> {
        ReLU.try_forward(self.conv.try_forward(x)?)
    }

    /// The block's pooling on its own: [`MaxPool2D`] applied to [`Self::activations`].
    #[allow(clippy::type_complexity)]
    pub fn pool<B: Dim, H: PoolSide, W: PoolSide, T: Tape<f32, Cpu>>(
        &self,
        activations: Tensor<(B, Const<O>, H, W), f32, Cpu, T>,
    ) -> Result<Tensor<(B, Const<O>, H::Output, W::Output), f32, Cpu, T>, CpuError> {
        MaxPool2D.try_forward(activations)
    }
}

impl<B, H, W, T, const I: usize, const O: usize> Module<Tensor<(B, Const<I>, H, W), f32, Cpu, T>>
    for ConvBlock<I, O, f32, Cpu>
where
    B: Dim,
    H: ConvSide,
    W: ConvSide,
    H::Output: PoolSide,
    W::Output: PoolSide,
    T: Tape<f32, Cpu>,
{
    type Output = Tensor<
        (
            B,
            Const<O>,
            <H::Output as PoolSide>::Output,
            <W::Output as PoolSide>::Output,
        ),
        f32,
        Cpu,
        T,
    >;
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
        check_runtime_side("ConvBlock", dims.height, KERNEL + 1);
        check_runtime_side("ConvBlock", dims.width, KERNEL + 1);

        let (x, mut tape) = x.try_contiguous()?.split_tape();
        // The input and the winners never become tensors: recycled buffers, not zeroed first.
        let input = Arc::new(Recycled::copy_of(&x)?);
        let weight = Arc::new(to_contiguous_vec(&self.conv.weight)?);
        let bias = to_contiguous_vec(&self.conv.bias)?;
        let pooled_len = dims.batch * O * (dims.out_height() / 2) * (dims.out_width() / 2);
        let mut output = CachedBuf::zeros(x.device(), pooled_len)?;
        let mut winners = Recycled::<Winner>::for_overwrite(pooled_len);
        conv3x3_relu_maxpool_forward(&dims, &input, &weight, &bias, &mut output, &mut winners);

        let out_shape = (
            batch,
            Const::<O>,
            height.conv_output().pool_output(),
            width.conv_output().pool_output(),
        );
        let out = output.into_tensor(out_shape)?;

        if T::OWNS_TAPE {
            let input_gradient = self.conv.input_gradient;
            let (x_ghost, w_ghost, b_ghost, out_ghost) = (
                x.ghost(),
                self.conv.weight.ghost(),
                self.conv.bias.ghost(),
                out.ghost(),
            );
            tape.add_backward_op(move |grads| {
                // One `&mut` at a time from dfdx's public API: move the buffers out and back.
                let grad_out: Vec<f32> = std::mem::take(&mut **grads.get_or_alloc_mut(&out_ghost)?);
                let mut grad_weight: Vec<f32> =
                    std::mem::take(&mut **grads.get_or_alloc_mut(&w_ghost)?);
                let mut grad_bias: Vec<f32> =
                    std::mem::take(&mut **grads.get_or_alloc_mut(&b_ghost)?);
                conv3x3_relu_maxpool_backward(
                    &dims,
                    &input,
                    &weight,
                    &winners,
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
