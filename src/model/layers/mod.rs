//! The layers of the teaching CNN as dfdx modules that build, train and save on stable Rust.
//!
//! dfdx 0.13 keeps its own convolution and pooling behind the `nightly` feature, which no longer
//! builds, so [`Conv2D`] and [`MaxPool2D`] are written here on top of dfdx's public tape API:
//! each forward pass runs our kernels ([`crate::model::kernels`]) and records one backward closure on
//! the tape. [`Flatten`], [`Dense`] and a fast [`ReLU`] complete the Keras layer set.
//! [`ConvBlock`] computes Conv2D + ReLU + MaxPool2D in one pass, with the same results, for
//! speed: the teaching net is built from it.
//!
//! Every layer sits in dfdx tuples, is built by `dev.build_module::<Model, f32>()`, gets its
//! gradients from `alloc_grads`/`backward`, is updated by dfdx's `Adam`, and is saved and loaded
//! by dfdx's safetensors support.

mod conv2d;
mod conv_block;
mod dense;
mod flatten;
mod maxpool2d;
mod recycled;
mod relu;

pub use conv2d::Conv2D;
pub use conv_block::ConvBlock;
pub use dense::Dense;
pub use flatten::Flatten;
pub use maxpool2d::MaxPool2D;
pub use relu::ReLU;

/// Builder types for model type definitions, in the style of `dfdx::nn::builders`.
pub mod builders {
    pub use super::conv2d::builder::Conv2D;
    pub use super::conv_block::builder::ConvBlock;
    pub use super::dense::builder::Dense;
    pub use super::flatten::Flatten;
    pub use super::maxpool2d::MaxPool2D;
    pub use super::relu::ReLU;
}

use dfdx::{
    dtypes::Unit,
    prelude::{Cpu, CpuError},
    shapes::{HasShape, Shape},
    tensor::{Storage, Tensor, TensorFromVec},
    tensor_ops::ReshapeTo,
};

/// A zeroed buffer borrowed from the device's tensor cache and given back to it when dropped.
///
/// Our layers need several large buffers per batch (outputs, saved inputs, masks: up to 14 MB
/// each in the first block). Fresh `vec![0.0; n]`s made the allocator return and re-fault those
/// pages every step (a sixth of the training time went to the kernel zeroing pages). With
/// `dev.enable_cache()`, the buffers of dropped tensors wait in dfdx's cache, keyed by length:
/// borrowing from it and handing our buffers back (as a throw-away tensor) recycles warm memory.
/// Without the cache this is a plain zeroed `Vec`. Each borrow leaves one empty (0-byte)
/// entry in dfdx's cache, 8 bytes of bookkeeping, which `dev.empty_cache()` clears.
pub(crate) struct CachedBuf<E: Unit> {
    vec: Vec<E>,
    dev: Cpu,
}

impl<E: Unit> CachedBuf<E> {
    pub(crate) fn zeros(dev: &Cpu, len: usize) -> Result<Self, CpuError> {
        let mut cached = dev.try_alloc_len(len)?;
        let vec = std::mem::take(&mut *cached);
        Ok(Self {
            vec,
            dev: dev.clone(),
        })
    }

    /// Moves the buffer into a new tensor, which gives it back to the cache when dropped.
    pub(crate) fn into_tensor<S: Shape>(mut self, shape: S) -> Result<Tensor<S, E, Cpu>, CpuError>
    where
        Cpu: TensorFromVec<E>,
    {
        let vec = std::mem::take(&mut self.vec);
        self.dev.try_tensor_from_vec(vec, shape)
    }
}

impl<E: Unit> Drop for CachedBuf<E> {
    fn drop(&mut self) {
        let vec = std::mem::take(&mut self.vec);
        if vec.capacity() > 0 {
            let len = vec.len();
            // Dropping the tensor puts its memory in the cache (or frees it without one).
            drop(self.dev.try_tensor_from_vec(vec, (len,)));
        }
    }
}

impl<E: Unit> std::ops::Deref for CachedBuf<E> {
    type Target = [E];
    fn deref(&self) -> &[E] {
        &self.vec
    }
}

impl<E: Unit> std::ops::DerefMut for CachedBuf<E> {
    fn deref_mut(&mut self) -> &mut [E] {
        &mut self.vec
    }
}

/// Keras' Glorot (Xavier) uniform bound: weights are drawn from `±sqrt(6 / (fan_in + fan_out))`.
pub(crate) fn glorot_uniform_limit(fan_in: usize, fan_out: usize) -> f32 {
    (6.0 / (fan_in + fan_out) as f64).sqrt() as f32
}

/// The values of a tensor in row-major order, as one `memcpy` when it is contiguous, in a
/// buffer from the device's cache (see [`CachedBuf`]).
pub(crate) fn to_contiguous_vec<S: Shape>(
    t: &Tensor<S, f32, Cpu>,
) -> Result<CachedBuf<f32>, CpuError> {
    let t = t.clone().try_contiguous()?;
    let mut values = CachedBuf::zeros(t.device(), t.shape().num_elements())?;
    t.copy_into(&mut values);
    Ok(values)
}

/// Runtime (`usize`) sides are only known when the layer runs: check them there, with a message
/// that says which layer and what size.
pub(crate) fn check_runtime_side(layer: &str, side: usize, min: usize) {
    assert!(
        side >= min,
        "{layer}: an input side of {side} pixels is too small (needs at least {min})"
    );
}
