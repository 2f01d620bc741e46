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

use rayon::prelude::*;
use std::{cell::RefCell, ops::Range};

pub mod cpu;
mod direct;
mod fused;
mod input_gradient;
#[cfg(target_arch = "x86_64")]
mod lanes;
mod pool;
mod pool_simd;
mod winner_input_gradient;
mod winner_weight_gradient;

pub use cpu::VectorPath;
use pool::{expand_to_winners, maxpool_image, PoolInput};
pub use pool::{maxpool2x2_backward, maxpool2x2_forward, PoolDims, Winner, NO_GRADIENT};
#[cfg(test)]
use pool::{pool_row_pair, pool_windows};

/// Floats per AVX register.
const LANES: usize = 8;
pub use fused::{conv3x3_relu_maxpool_backward, conv3x3_relu_maxpool_forward};

/// Deterministic pseudo-random values in [-1, 1) for the kernels' tests (an LCG).
#[cfg(test)]
fn test_values(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// One image's case for the winner kernels' tests: sizes `(C, O, H, W)`, an image and
/// weights, the winners of its pooling from the real forward pass (some windows blocked by the
/// ReLU), and a pooled gradient with some exact +0.0 and -0.0; `None` (named as skipped) where
/// the active vector path does not run the kernel (`applies`), which must then be below AVX2.
#[cfg(test)]
struct WinnerCase {
    d: ConvDims,
    p: PoolDims,
    image: Vec<f32>,
    weight: Vec<f32>,
    winners: Vec<Winner>,
    grad_pooled: Vec<f32>,
}

#[cfg(test)]
impl WinnerCase {
    /// The sizes both winner kernels are tested at: the teaching net's blocks 2-5, odd sides
    /// (whose last row and column the pooling drops), channels a multiple of 8 but not 16, few
    /// output channels, planes whose pixel count is not a multiple of 8.
    const SIZES: [(usize, usize, usize, usize); 8] = [
        (16, 32, 74, 74),
        (32, 64, 36, 36),
        (64, 64, 17, 17),
        (64, 128, 7, 7),
        (8, 5, 9, 12),
        (16, 70, 41, 23),
        (24, 3, 60, 61),
        (8, 4, 8, 9),
    ];

    fn new(
        (c, o, h, w): (usize, usize, usize, usize),
        seed: u32,
        applies: impl Fn(&ConvDims) -> bool,
    ) -> Option<Self> {
        let d = ConvDims {
            batch: 1,
            in_channels: c,
            out_channels: o,
            height: h,
            width: w,
        };
        if !applies(&d) {
            let path = VectorPath::active();
            assert!(path < VectorPath::Avx2Fma, "{c}->{o} @ {h}x{w} on {path}");
            eprintln!("skipped {c}->{o} @ {h}x{w}: the {path} path does not run it");
            return None;
        }
        let image = test_values(d.input_len(), seed + 1);
        let weight: Vec<f32> = test_values(d.weight_len(), seed + 2)
            .iter()
            .map(|v| v * 0.3)
            .collect();
        let p = PoolDims {
            batch: 1,
            channels: o,
            height: d.out_height(),
            width: d.out_width(),
        };
        let (mut pooled, mut winners) = (vec![0.0; p.output_len()], vec![0; p.output_len()]);
        let bias = test_values(o, seed + 3);
        conv3x3_relu_maxpool_forward(&d, &image, &weight, &bias, &mut pooled, &mut winners);
        assert!(
            winners.contains(&NO_GRADIENT),
            "the test needs blocked windows"
        );
        let mut grad_pooled = test_values(p.output_len(), seed + 4);
        for (j, g) in grad_pooled.iter_mut().enumerate().step_by(7) {
            *g = if j % 2 == 0 { 0.0 } else { -0.0 };
        }
        Some(Self {
            d,
            p,
            image,
            weight,
            winners,
            grad_pooled,
        })
    }

    /// The dense gradient of the activations (`O x OH x OW`) that the GEMM path reads.
    fn expanded(&self) -> Vec<f32> {
        let mut expanded = vec![f32::NAN; self.d.output_len()];
        expand_to_winners(&self.p, &self.winners, &self.grad_pooled, &mut expanded);
        expanded
    }
}

/// How many values of `a` and `b` differ in their bits, and the first index where they do.
#[cfg(test)]
fn bit_differences(a: &[f32], b: &[f32]) -> (usize, Option<usize>) {
    assert_eq!(a.len(), b.len());
    let differs = |(x, y): (&f32, &f32)| x.to_bits() != y.to_bits();
    (
        a.iter().zip(b).filter(|&pair| differs(pair)).count(),
        a.iter().zip(b).position(differs),
    )
}

/// Side of the square convolution kernel.
pub const KERNEL: usize = 3;

/// Up to this depth (products per output), gemm 0.18.2 sums each output in one depth block
/// (`gemm-common`'s `kernel_params`: its depth block is at least 512), one fused multiply-add
/// at a time from +0.0. That is what lets the direct kernels (`direct.rs`,
/// `input_gradient.rs`) give the GEMM's bits; `Cargo.toml` pins gemm to that version, and the
/// kernels' tests compare bit for bit.
const ONE_DEPTH_BLOCK: usize = 512;

/// The sizes of one convolution call: a batch of `in_channels x height x width` images
/// convolved into `out_channels x (height-2) x (width-2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvDims {
    pub batch: usize,
    pub in_channels: usize,
    pub out_channels: usize,
    pub height: usize,
    pub width: usize,
}

impl ConvDims {
    pub fn out_height(&self) -> usize {
        self.height - (KERNEL - 1)
    }
    pub fn out_width(&self) -> usize {
        self.width - (KERNEL - 1)
    }
    /// Rows of the im2col matrix: one per (input channel, kernel row, kernel column).
    pub fn patch_len(&self) -> usize {
        self.in_channels * KERNEL * KERNEL
    }
    /// Columns of the im2col matrix: one per output pixel.
    pub fn out_pixels(&self) -> usize {
        self.out_height() * self.out_width()
    }
    pub fn input_len(&self) -> usize {
        self.in_channels * self.height * self.width
    }
    pub fn output_len(&self) -> usize {
        self.out_channels * self.out_pixels()
    }
    pub fn weight_len(&self) -> usize {
        self.out_channels * self.patch_len()
    }
    /// Whether the output sides do not wrap and every length the direct kernels index by (input,
    /// weights, output) fits in a `usize`: those kernels compute indices from the sizes, so the
    /// length checks before them must not wrap around.
    fn lengths_fit(&self) -> bool {
        let fit = || -> Option<()> {
            let out_height = self.height.checked_sub(KERNEL - 1)?;
            let out_width = self.width.checked_sub(KERNEL - 1)?;
            self.in_channels
                .checked_mul(self.height)?
                .checked_mul(self.width)?;
            self.out_channels
                .checked_mul(self.in_channels)?
                .checked_mul(KERNEL * KERNEL)?;
            let out_pixels = out_height.checked_mul(out_width)?;
            self.out_channels.checked_mul(out_pixels).map(|_| ())
        };
        fit().is_some()
    }
}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static GRAD_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static ACTIVATION_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    static TRANSPOSE_SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with the calling thread's buffer for per-image weight gradients, `len` floats
/// (contents unspecified): a fresh multi-megabyte `Vec` per backward pass cost page faults.
/// Falls back to a fresh buffer if the thread is already inside this function (a rayon
/// worker that picked up another backward pass while waiting).
fn with_grad_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    GRAD_SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            f(&mut buf[..len])
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

/// Runs `f` with a thread-local scratch slice of `len` floats (contents unspecified), for the
/// im2col matrix of one image.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_local(&SCRATCH, len, f)
}

/// Runs `f` with a second thread-local scratch slice (contents unspecified), for one image's
/// activations or their gradient in the fused block, while [`with_scratch`] holds the columns.
fn with_activation_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    with_local(&ACTIVATION_SCRATCH, len, f)
}

fn with_local<R>(
    key: &'static std::thread::LocalKey<RefCell<Vec<f32>>>,
    len: usize,
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    key.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// Lays out the 3x3 neighbourhoods of one image as columns:
/// `col[(c*3 + ky)*3 + kx][oy*OW + ox] = image[c][oy + ky][ox + kx]`.
fn im2col(d: &ConvDims, image: &[f32], col: &mut [f32]) {
    im2col_rows(d, image, 0..d.out_height(), col);
}

/// [`im2col`] for the output rows `rows` only: `col` has `rows.len() * OW` columns.
fn im2col_rows(d: &ConvDims, image: &[f32], rows: Range<usize>, col: &mut [f32]) {
    let (h, w, ow) = (d.height, d.width, d.out_width());
    let n = rows.len() * ow;
    let mut col_rows = col.chunks_exact_mut(n);
    for c in 0..d.in_channels {
        let plane = &image[c * h * w..(c + 1) * h * w];
        for ky in 0..KERNEL {
            for kx in 0..KERNEL {
                let col_row = col_rows.next().expect("col has patch_len rows");
                for (oy, dst) in rows.clone().zip(col_row.chunks_exact_mut(ow)) {
                    let start = (oy + ky) * w + kx;
                    dst.copy_from_slice(&plane[start..start + ow]);
                }
            }
        }
    }
}

/// The adjoint of [`im2col`]: adds each column entry back onto the pixel it came from.
fn col2im_add(d: &ConvDims, col: &[f32], image: &mut [f32]) {
    let (h, w, oh, ow) = (d.height, d.width, d.out_height(), d.out_width());
    let n = oh * ow;
    let mut rows = col.chunks_exact(n);
    for c in 0..d.in_channels {
        let plane = &mut image[c * h * w..(c + 1) * h * w];
        for ky in 0..KERNEL {
            for kx in 0..KERNEL {
                let row = rows.next().expect("col has patch_len rows");
                for (oy, src) in row.chunks_exact(ow).enumerate() {
                    let start = (oy + ky) * w + kx;
                    for (dst, s) in plane[start..start + ow].iter_mut().zip(src) {
                        *dst += s;
                    }
                }
            }
        }
    }
}

/// `dst (m x n, row-major) = [dst +] lhs (m x k) * rhs (k x n)`, single-threaded.
/// Strides are given as (row stride, column stride) for each operand.
#[allow(clippy::too_many_arguments)]
fn matmul(
    m: usize,
    n: usize,
    k: usize,
    dst: &mut [f32],
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: (usize, usize),
    rhs: &[f32],
    rhs_strides: (usize, usize),
) {
    // The last element a (rows x cols) matrix with these strides touches, if it has any and the
    // index does not overflow (an overflow must fail the check, not wrap past it).
    let last = |rows: usize, cols: usize, (row_stride, col_stride): (usize, usize)| {
        if rows == 0 || cols == 0 {
            return Some(None);
        }
        let at = (rows - 1).checked_mul(row_stride)?;
        at.checked_add((cols - 1).checked_mul(col_stride)?)
            .map(Some)
    };
    let fits = |len: usize, last: Option<Option<usize>>| match last {
        Some(Some(at)) => at < len,
        Some(None) => true,
        None => false,
    };
    assert!(fits(dst.len(), last(m, n, (n, 1))), "matmul: dst too short");
    assert!(
        k == 0 || fits(lhs.len(), last(m, k, lhs_strides)),
        "matmul: lhs too short"
    );
    assert!(
        k == 0 || fits(rhs.len(), last(k, n, rhs_strides)),
        "matmul: rhs too short"
    );
    // SAFETY: the asserts above keep every index that gemm reads or writes inside the slices.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_strides.1 as isize,
            lhs_strides.0 as isize,
            rhs.as_ptr(),
            rhs_strides.1 as isize,
            rhs_strides.0 as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        )
    }
}

/// Forward 3x3 valid convolution with bias:
/// `output[b][o][y][x] = bias[o] + sum_{c,ky,kx} weight[o][c][ky][kx] * input[b][c][y+ky][x+kx]`.
///
/// Shapes: `input` is `B x C x H x W`, `weight` is `O x C x 3 x 3`, `bias` is `O`,
/// `output` is `B x O x (H-2) x (W-2)` and is overwritten.
pub fn conv3x3_forward(
    d: &ConvDims,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
) {
    conv3x3_forward_by(conv_forward_rows, d, input, weight, bias, output);
}

/// [`conv3x3_forward`] always by im2col + GEMM, never by the direct kernel (`direct.rs`): the
/// baseline that `benches/layer_times.rs` measures the direct kernel against (same results, bit
/// for bit).
pub fn conv3x3_forward_im2col(
    d: &ConvDims,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
) {
    conv3x3_forward_by(conv_forward_rows_gemm, d, input, weight, bias, output);
}

/// The rows function of [`conv_forward_rows`] or [`conv_forward_rows_gemm`].
type ForwardRows = fn(&ConvDims, &[f32], &[f32], &[f32], Range<usize>, &mut [f32]);

/// A batch's forward convolution, one image per rayon task, each computed by `rows`.
fn conv3x3_forward_by(
    rows: ForwardRows,
    d: &ConvDims,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
) {
    assert_eq!(input.len(), d.batch * d.input_len());
    assert_eq!(weight.len(), d.weight_len());
    assert_eq!(bias.len(), d.out_channels);
    assert_eq!(output.len(), d.batch * d.output_len());
    if d.batch == 0 || d.output_len() == 0 {
        return;
    }
    output
        .par_chunks_exact_mut(d.output_len())
        .zip(input.par_chunks_exact(d.input_len()))
        .for_each(|(out, image)| rows(d, image, weight, bias, 0..d.out_height(), out));
}

/// One image's forward convolution ([`conv3x3_forward`]) for the output rows `rows` only: `out`
/// is `O x rows.len() x OW`.
/// Each output is `bias + (the products summed in patch order)`, whichever rows are computed
/// together, and whichever of the two paths computes them: the direct kernel where it
/// applies (`direct::forward_applies`), im2col + GEMM elsewhere.
fn conv_forward_rows(
    d: &ConvDims,
    image: &[f32],
    weight: &[f32],
    bias: &[f32],
    rows: Range<usize>,
    out: &mut [f32],
) {
    if direct::forward_applies(d) {
        direct::forward_rows(d, image, weight, bias, rows, out)
    } else {
        conv_forward_rows_gemm(d, image, weight, bias, rows, out)
    }
}

/// [`conv_forward_rows`] by im2col + GEMM.
fn conv_forward_rows_gemm(
    d: &ConvDims,
    image: &[f32],
    weight: &[f32],
    bias: &[f32],
    rows: Range<usize>,
    out: &mut [f32],
) {
    let (k, n) = (d.patch_len(), rows.len() * d.out_width());
    for (plane, &b) in out.chunks_exact_mut(n).zip(bias) {
        plane.fill(b);
    }
    with_scratch(k * n, |col| {
        im2col_rows(d, image, rows, col);
        matmul(d.out_channels, n, k, out, true, weight, (k, 1), col, (n, 1));
    });
}

/// Backward pass of [`conv3x3_forward`]. Adds (`+=`) the gradients of the loss with respect to
/// the input (when `grad_input` is given), the weight and the bias, given `grad_output`.
pub fn conv3x3_backward(
    d: &ConvDims,
    input: &[f32],
    weight: &[f32],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    assert_eq!(input.len(), d.batch * d.input_len());
    assert_eq!(grad_output.len(), d.batch * d.output_len());
    conv_backward_per_image(
        d,
        weight,
        grad_input,
        grad_weight,
        grad_bias,
        |b, gw, gb, grad_in| {
            let image = &input[b * d.input_len()..(b + 1) * d.input_len()];
            let g_out = &grad_output[b * d.output_len()..(b + 1) * d.output_len()];
            conv_backward_image(d, image, weight, g_out, None, grad_in, gw, gb);
        },
    );
}

/// The batch part of a convolution's backward pass, shared by [`conv3x3_backward`] and the
/// fused block ([`fused`]): runs `image_backward(b, weight_grad_b, bias_grad_b, input_grad_b)`
/// for every image `b` in parallel, each writing (not adding) its own weight and bias gradient
/// into a scratch slot, then adds the slots to `grad_weight` and `grad_bias` in image order:
/// deterministic whatever the number of threads.
fn conv_backward_per_image(
    d: &ConvDims,
    weight: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
    image_backward: impl Fn(usize, &mut [f32], &mut [f32], Option<&mut [f32]>) + Sync,
) {
    assert_eq!(weight.len(), d.weight_len());
    assert_eq!(grad_weight.len(), d.weight_len());
    assert_eq!(grad_bias.len(), d.out_channels);
    if d.batch == 0 || d.output_len() == 0 {
        return;
    }
    let per_image_len = d.weight_len() + d.out_channels;
    with_grad_scratch(d.batch * per_image_len, |per_image_grads| {
        let per_image = |(b, grads): (usize, &mut [f32]), grad_in: Option<&mut [f32]>| {
            let (gw, gb) = grads.split_at_mut(d.weight_len());
            image_backward(b, gw, gb, grad_in);
        };
        match grad_input {
            Some(grad_input) => {
                assert_eq!(grad_input.len(), d.batch * d.input_len());
                per_image_grads
                    .par_chunks_exact_mut(per_image_len)
                    .enumerate()
                    .zip(grad_input.par_chunks_exact_mut(d.input_len()))
                    .for_each(|(g, gi)| per_image(g, Some(gi)));
            }
            None => per_image_grads
                .par_chunks_exact_mut(per_image_len)
                .enumerate()
                .for_each(|g| per_image(g, None)),
        }
        for g in per_image_grads.chunks_exact(per_image_len) {
            let (gw, gb) = g.split_at(d.weight_len());
            for (acc, g) in grad_weight.iter_mut().zip(gw) {
                *acc += g;
            }
            for (acc, g) in grad_bias.iter_mut().zip(gb) {
                *acc += g;
            }
        }
    });
}

/// Where the gradient of a convolution's output came from, when a 2x2 max-pooling followed it:
/// one image's pooling [`Winner`]s and the gradient of the pooled output (`O x OH/2 x OW/2`
/// each). The output's gradient is zero except at the winners, and the weight, bias and input
/// gradients can be summed over them only ([`winner_weight_gradient`],
/// [`winner_input_gradient`]).
#[derive(Clone, Copy)]
struct PooledGradient<'a> {
    winners: &'a [Winner],
    gradient: &'a [f32],
    /// The weights as [`winner_input_gradient::tap_major`] reorders them (once per batch, see
    /// [`tap_major_weight`]), where that kernel computes the input gradient.
    tap_major_weight: Option<&'a [f32]>,
}

/// The weights reordered for [`winner_input_gradient`], where that kernel computes the input
/// gradient of a block of sizes `d`; `None` elsewhere.
fn tap_major_weight(d: &ConvDims, weight: &[f32], input_gradient: bool) -> Option<Vec<f32>> {
    (input_gradient && winner_input_gradient::applies(d))
        .then(|| winner_input_gradient::tap_major(d, weight))
}

/// Whether every part of a fused block's backward pass reads the pooling winners instead of
/// the expanded gradient of the activations (`O x OH x OW`, mostly zeros), which then need not
/// be written: the weight and bias gradients ([`winner_weight_gradient`]) and, when asked for
/// (`input_gradient`), the input gradient ([`winner_input_gradient`], with its reordered
/// weights in `pooled`).
fn winners_suffice(d: &ConvDims, input_gradient: bool, pooled: &PooledGradient) -> bool {
    winner_weight_gradient::applies(d)
        && (!input_gradient
            || (winner_input_gradient::applies(d) && pooled.tap_major_weight.is_some()))
}

/// The backward pass of one image: writes its weight gradient `gw` and bias gradient `gb`, and
/// adds its input gradient to `grad_in` when given, from the gradient `g_out` of its output
/// (`O x OH x OW`), which `pooling`, when given, says came through a max-pooling. With
/// `pooling`, `g_out` may be empty where [`winners_suffice`]: nothing reads it then.
#[allow(clippy::too_many_arguments)]
fn conv_backward_image(
    d: &ConvDims,
    image: &[f32],
    weight: &[f32],
    g_out: &[f32],
    pooling: Option<PooledGradient>,
    grad_in: Option<&mut [f32]>,
    gw: &mut [f32],
    gb: &mut [f32],
) {
    let (k, n, o) = (d.patch_len(), d.out_pixels(), d.out_channels);
    // Whether the weight gradient is done without the column matrix (and the bias with it).
    let weight_gradient_done =
        if let Some(pooled) = pooling.filter(|_| winner_weight_gradient::applies(d)) {
            // The weight and the bias gradients, from the winners.
            with_scratch(d.input_len(), |channels_last| {
                winner_weight_gradient::weight_gradient(
                    d,
                    image,
                    pooled.winners,
                    pooled.gradient,
                    channels_last,
                    gw,
                    gb,
                )
            });
            true
        } else {
            for (gb, plane) in gb.iter_mut().zip(g_out.chunks_exact(n)) {
                *gb = lane_sum(plane);
            }
            if direct::weight_gradient_applies(d) {
                direct::weight_gradient(d, image, g_out, gw);
                true
            } else {
                false
            }
        };
    let grad_in = match (grad_in, pooling) {
        (
            Some(grad_in),
            Some(
                pooled @ PooledGradient {
                    tap_major_weight: Some(reordered),
                    ..
                },
            ),
        ) if winner_input_gradient::applies(d) => {
            with_scratch(winner_input_gradient::scratch_len(d), |scratch| {
                winner_input_gradient::add(
                    d,
                    reordered,
                    pooled.winners,
                    pooled.gradient,
                    scratch,
                    grad_in,
                )
            });
            None
        }
        (Some(grad_in), _) if input_gradient::applies(d) => {
            input_gradient::add(d, weight, g_out, grad_in);
            None
        }
        (other, _) => other,
    };
    if weight_gradient_done && grad_in.is_none() {
        return; // No column matrix needed.
    }
    with_scratch(k * n, |col| {
        if !weight_gradient_done {
            im2col(d, image, col);
            weight_gradient_gemm(d, g_out, col, gw);
        }
        if let Some(grad_in) = grad_in {
            // dcol = W^T (K x O) * dY (O x N), in the col buffer.
            matmul(k, n, o, col, false, weight, (1, k), g_out, (n, 1));
            col2im_add(d, col, grad_in);
        }
    });
}

/// One image's weight gradient `gw = dY (O x N) * col^T (N x K)` (written, not added), computed
/// as its transpose `col (K x N) * dY^T (N x O)` into a `K x O` scratch and transposed back: the
/// GEMM then packs `col` along its rows instead of striding down its columns. Measured per image
/// on a 2-core AMD EPYC with AVX-512 (block 2: 0.47 against 0.66 ms; block 3: 0.40 against 0.48;
/// the teaching net's blocks 15-28 % faster) with the same bits at all five blocks' sizes: each
/// weight is the same dot product over the pixels, in the same depth blocks.
fn weight_gradient_gemm(d: &ConvDims, g_out: &[f32], col: &[f32], gw: &mut [f32]) {
    let (k, n, o) = (d.patch_len(), d.out_pixels(), d.out_channels);
    with_local(&TRANSPOSE_SCRATCH, k * o, |transposed| {
        matmul(k, o, n, transposed, false, col, (n, 1), g_out, (1, n));
        for (j, row) in transposed.chunks_exact(o).enumerate() {
            for (i, &g) in row.iter().enumerate() {
                gw[i * k + j] = g;
            }
        }
    });
}

/// The sum of `values` in eight interleaved partial sums (fixed order, so deterministic): a
/// plain `iter().sum()` is one serial chain of dependent additions that cannot vectorise.
fn lane_sum(values: &[f32]) -> f32 {
    const LANES: usize = 8;
    let mut acc = [0.0f32; LANES];
    let chunks = values.chunks_exact(LANES);
    let tail: f32 = chunks.remainder().iter().sum();
    for chunk in chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    acc.iter().sum::<f32>() + tail
}

/// `max(x, 0)` that lets NaN through (`f32::max` would turn it into 0): a NaN in the input must
/// reach the loss, where training stops with a clear message, instead of being silently erased.
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}
