//! The CPU kernels behind [`Conv2D`](crate::model::layers::Conv2D) and
//! [`MaxPool2D`](crate::model::layers::MaxPool2D), on plain `f32` slices in NCHW order.
//!
//! The convolution is im2col + GEMM: the 3x3 neighbourhoods of one image are laid out as the
//! columns of a `(C*9) x (OH*OW)` matrix, and one matrix product with the `O x (C*9)` weights
//! gives all output channels at once. The GEMM is the blocked, vectorised `gemm` crate (0.18;
//! dfdx itself uses 0.15 for its matmul). Work is split over the images of a batch with rayon;
//! each image is computed by one thread with a single-threaded GEMM. That keeps the results
//! bit-identical whatever the number of threads: nothing is ever summed in an order that depends
//! on scheduling (the weight gradient is summed over images in image order).
//!
//! The first block (3 input channels, so only 27 products per output) is the exception: there
//! im2col's copies cost as much as the arithmetic, and direct kernels (`direct.rs`) compute the
//! forward pass and the weight gradient from the image in place, on CPUs with AVX2 and FMA. On
//! the AVX-512 path the second block's forward pass runs a direct kernel too (`direct.rs`), with
//! the GEMM's bits.
//!
//! In the fused block's backward pass (blocks 2-5, AVX2 and AVX-512), the gradient of the
//! activations is zero except at the pooling winners, and the weight, bias and input gradients
//! are summed over the winners only (`winner_weight_gradient.rs`, `winner_input_gradient.rs`),
//! again with the bits of the GEMM (and col2im) they replace. The direct input-gradient kernel of
//! `input_gradient.rs` remains for a second block whose output gradient did not come through a
//! pooling.
//!
//! Scratch matrices live in thread-local buffers that grow once and are reused, so the hot loop
//! does not allocate.
//!
//! Where things are: the convolution's entry points and the choice of kernel for each part of a
//! pass in `conv.rs`; its sizes (`ConvDims`, [`KERNEL`]) in `dims.rs`; im2col and col2im in
//! `im2col.rs`; the wrapper around the `gemm` crate in `matmul.rs`; the thread-local scratch
//! buffers in `scratch.rs`; the vector widths and the winner kernels' vector operations in
//! `lanes.rs`; pooling in `pool.rs` (and `pool_simd.rs`); the fused block in `fused.rs`;
//! [`VectorPath`] in [`cpu`]. The layers ([`crate::model::layers`]) are the interface; the
//! benchmarks and integration tests reach the kernels themselves through the hidden module
//! `internals`.

mod conv;
pub mod cpu;
mod dims;
mod direct;
mod fused;
mod im2col;
mod input_gradient;
mod lanes;
mod matmul;
mod pool;
mod pool_simd;
mod relu;
mod scratch;
#[cfg(test)]
mod test_fixtures;
mod winner_input_gradient;
mod winner_weight_gradient;

pub use cpu::VectorPath;
pub use dims::KERNEL;

pub(crate) use conv::{conv3x3_backward, conv3x3_forward};
pub(crate) use dims::ConvDims;
pub(crate) use fused::{conv3x3_relu_maxpool_backward, conv3x3_relu_maxpool_forward};
pub(crate) use pool::{maxpool2x2_backward, maxpool2x2_forward, PoolDims, Winner};
pub(crate) use relu::relu;

/// The kernels themselves (and the pooling winners their signatures and docs name), for the
/// benchmarks (`benches/layer_times.rs`) and the integration tests (`tests/all/layers.rs`), which
/// cannot reach the crate-private items above: not part of the crate's interface, hidden from
/// its documentation. Everything else goes through the layers.
#[doc(hidden)]
pub mod internals {
    pub use super::conv::{conv3x3_backward, conv3x3_forward, conv3x3_forward_im2col};
    pub use super::dims::ConvDims;
    pub use super::fused::{conv3x3_relu_maxpool_backward, conv3x3_relu_maxpool_forward};
    pub use super::pool::{maxpool2x2_backward, maxpool2x2_forward, PoolDims, Winner, NO_GRADIENT};
}
