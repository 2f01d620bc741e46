//! The convolution's entry points ([`conv3x3_forward`], [`conv3x3_backward`]) and the choice of
//! kernel for each part of a pass: a direct kernel (`direct.rs`, `input_gradient.rs`), the
//! winner kernels after a pooling (`winner_weight_gradient.rs`, `winner_input_gradient.rs`), or
//! im2col + GEMM wherever none of them applies. Batches are split over their images with rayon,
//! and the per-image weight gradients are summed in image order.

use rayon::prelude::*;
use std::ops::Range;

use super::dims::ConvDims;
use super::im2col::{col2im_add, im2col, im2col_rows};
use super::lanes::LANES;
use super::matmul::matmul;
use super::pool::Winner;
use super::scratch::{with_grad_scratch, with_scratch, with_transpose_scratch};
use super::{direct, input_gradient, winner_input_gradient, winner_weight_gradient};

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
pub(super) fn conv_forward_rows(
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
pub(super) fn conv_forward_rows_gemm(
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
/// fused block ([`fused`](super::fused)): runs
/// `image_backward(b, weight_grad_b, bias_grad_b, input_grad_b)` for every image `b` in
/// parallel, each writing (not adding) its own weight and bias gradient into a scratch slot,
/// then adds the slots to `grad_weight` and `grad_bias` in image order: deterministic whatever
/// the number of threads.
pub(super) fn conv_backward_per_image(
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
pub(super) struct PooledGradient<'a> {
    pub(super) winners: &'a [Winner],
    pub(super) gradient: &'a [f32],
    /// The weights as [`winner_input_gradient::tap_major`] reorders them (once per batch, see
    /// [`tap_major_weight`]), where that kernel computes the input gradient.
    pub(super) tap_major_weight: Option<&'a [f32]>,
}

/// The weights reordered for [`winner_input_gradient`], where that kernel computes the input
/// gradient of a block of sizes `d`; `None` elsewhere.
pub(super) fn tap_major_weight(
    d: &ConvDims,
    weight: &[f32],
    input_gradient: bool,
) -> Option<Vec<f32>> {
    (input_gradient && winner_input_gradient::applies(d))
        .then(|| winner_input_gradient::tap_major(d, weight))
}

/// Whether every part of a fused block's backward pass reads the pooling winners instead of
/// the expanded gradient of the activations (`O x OH x OW`, mostly zeros), which then need not
/// be written: the weight and bias gradients ([`winner_weight_gradient`]) and, when asked for
/// (`input_gradient`), the input gradient ([`winner_input_gradient`], with its reordered
/// weights in `pooled`).
pub(super) fn winners_suffice(d: &ConvDims, input_gradient: bool, pooled: &PooledGradient) -> bool {
    winner_weight_gradient::applies(d)
        && (!input_gradient
            || (winner_input_gradient::applies(d) && pooled.tap_major_weight.is_some()))
}

/// The backward pass of one image: writes its weight gradient `gw` and bias gradient `gb`, and
/// adds its input gradient to `grad_in` when given, from the gradient `g_out` of its output
/// (`O x OH x OW`), which `pooling`, when given, says came through a max-pooling. With
/// `pooling`, `g_out` may be empty where [`winners_suffice`]: nothing reads it then.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_backward_image(
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
pub(super) fn weight_gradient_gemm(d: &ConvDims, g_out: &[f32], col: &[f32], gw: &mut [f32]) {
    let (k, n, o) = (d.patch_len(), d.out_pixels(), d.out_channels);
    with_transpose_scratch(k * o, |transposed| {
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
pub(super) fn lane_sum(values: &[f32]) -> f32 {
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
