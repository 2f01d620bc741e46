//! The layers of the teaching CNN as dfdx modules that build, train and save on stable Rust.
//!
//! dfdx 0.13 keeps its own convolution and pooling behind the `nightly` feature, which no longer
//! builds, so [`Conv2D`] and [`MaxPool2D`] are written here on top of dfdx's public tape API:
//! each forward pass runs our kernels ([`crate::kernels`]) and records one backward closure on
//! the tape. [`Flatten`], [`Dense`] and a fast [`ReLU`] complete the Keras layer set.
//!
//! Every layer sits in dfdx tuples, is built by `dev.build_module::<Model, f32>()`, gets its
//! gradients from `alloc_grads`/`backward`, is updated by dfdx's `Adam`, and is saved and loaded
//! by dfdx's safetensors support.

mod conv2d;
mod dense;
mod flatten;
mod maxpool2d;
mod relu;

pub use conv2d::Conv2D;
pub use dense::Dense;
pub use flatten::Flatten;
pub use maxpool2d::MaxPool2D;
pub use relu::ReLU;

/// Builder types for model type definitions, in the style of `dfdx::nn::builders`.
pub mod builders {
    pub use super::conv2d::builder::Conv2D;
    pub use super::dense::builder::Dense;
    pub use super::flatten::Flatten;
    pub use super::maxpool2d::MaxPool2D;
    pub use super::relu::ReLU;
}

use dfdx::{
    prelude::Cpu,
    shapes::{HasShape, Shape},
    tensor::Tensor,
    tensor_ops::ReshapeTo,
};

/// Keras' Glorot (Xavier) uniform bound: weights are drawn from `±sqrt(6 / (fan_in + fan_out))`.
pub(crate) fn glorot_uniform_limit(fan_in: usize, fan_out: usize) -> f32 {
    (6.0 / (fan_in + fan_out) as f64).sqrt() as f32
}

/// The values of a tensor in row-major order, as one `memcpy` when it is contiguous.
pub(crate) fn to_contiguous_vec<S: Shape>(t: &Tensor<S, f32, Cpu>) -> Vec<f32> {
    let t = t.clone().contiguous();
    let mut values = vec![0.0f32; t.shape().num_elements()];
    t.copy_into(&mut values);
    values
}

/// Runtime (`usize`) sides are only known when the layer runs: check them there, with a message
/// that says which layer and what size.
pub(crate) fn check_runtime_side(layer: &str, side: usize, min: usize) {
    assert!(
        side >= min,
        "{layer}: an input side of {side} pixels is too small (needs at least {min})"
    );
}
