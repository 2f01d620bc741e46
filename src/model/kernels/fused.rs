//! One convolution block in one pass per image: 3x3 convolution, ReLU and 2x2 max-pooling.
//!
//! Run as three layers, a block writes its full-size activations three times over (convolution,
//! ReLU, and the pool's copy of its input) and, in the backward pass, two full-size gradients
//! (the pool's and the ReLU's): in the first block that is 14 MB per pass for a batch of 10,
//! several times the cost of the pooling itself. Fused, each image is computed in bands of a few
//! output rows: a band's im2col columns and activations live in thread-local scratch buffers
//! small enough to stay in the core's L2 cache from the matrix product to the pooling, and only
//! the pooled output (a quarter of the size) and the winner of each pooling window leave them.
//! (Where the direct kernel runs, in the first block and, on the AVX-512 path, the second, there
//! are no columns: it reads the image in place, and only its band of activations uses the
//! scratch buffer; the bands keep the size [`band_rows`] gives them for the columns.)
//!
//! In the backward pass the pooled gradient reaches only the winner of each window. Where the
//! winner kernels run (blocks 2-5 on AVX2 and AVX-512, see [`winners_suffice`]), the weight,
//! bias and input gradients are summed from the winners directly and the full-size gradient of
//! the activations is never written; elsewhere (the first block, the portable path) it is
//! expanded into a scratch buffer first.
//!
//! The results are bit-identical to [`conv3x3_forward`](super::conv3x3_forward), then
//! [`relu`](super::relu::relu), then [`maxpool2x2_forward`](super::maxpool2x2_forward) and their
//! backward passes: both run the same convolution kernels, each output sums the same products
//! in the same order (a band's GEMM computes its columns exactly as the whole image's would),
//! and the pooling makes the same comparisons (`tests/all/layers.rs` checks this, bit for bit).

use rayon::prelude::*;

use super::conv::{
    conv_backward_image, conv_backward_per_image, conv_forward_rows, tap_major_weight,
    winners_suffice, PooledGradient,
};
use super::dims::ConvDims;
use super::pool::{expand_to_winners, maxpool_image, PoolDims, PoolInput, Winner, NO_GRADIENT};
use super::scratch::with_activation_scratch;

/// How many floats of im2col columns one band of output rows may take: the band's columns and
/// activations then stay in the core's L2 cache between the matrix product and the pooling,
/// instead of going out to L3 and memory and back (see [`band_rows`]).
const BAND_FLOATS: usize = 1 << 16;

/// Output rows per band: even (pooling takes rows in pairs), at least 2, and as many as fit
/// [`BAND_FLOATS`] of columns.
fn band_rows(d: &ConvDims) -> usize {
    let per_row = d.patch_len() * d.out_width();
    ((BAND_FLOATS / per_row.max(1)) & !1).max(2)
}

/// The pooling that follows a convolution of sizes `d`.
fn pool_dims(d: &ConvDims) -> PoolDims {
    PoolDims {
        batch: d.batch,
        channels: d.out_channels,
        height: d.out_height(),
        width: d.out_width(),
    }
}

/// Forward pass of a block: `output = maxpool2x2(relu(conv3x3(input) + bias))`.
///
/// Shapes: `input` is `B x C x H x W`, `weight` is `O x C x 3 x 3`, `bias` is `O`; `output`
/// and `winners` are `B x O x ((H-2)/2) x ((W-2)/2)` and are overwritten. `winners` receives,
/// for each output, the [`Winner`] of its pooling window, or [`NO_GRADIENT`] when that winner
/// was not positive before the ReLU (the ReLU passes no gradient there).
pub fn conv3x3_relu_maxpool_forward(
    d: &ConvDims,
    input: &[f32],
    weight: &[f32],
    bias: &[f32],
    output: &mut [f32],
    winners: &mut [Winner],
) {
    let p = pool_dims(d);
    assert_eq!(input.len(), d.batch * d.input_len());
    assert_eq!(weight.len(), d.weight_len());
    assert_eq!(bias.len(), d.out_channels);
    assert_eq!(output.len(), d.batch * p.output_len());
    assert_eq!(winners.len(), output.len());
    if d.batch == 0 || p.output_len() == 0 {
        return;
    }
    output
        .par_chunks_exact_mut(p.output_len())
        .zip(winners.par_chunks_exact_mut(p.output_len()))
        .zip(input.par_chunks_exact(d.input_len()))
        .for_each(|((out, win), image)| {
            // The rows that pooling reads (an odd last row is dropped), a band at a time.
            let (used_rows, band) = (2 * p.out_height(), band_rows(d));
            let (pooled_plane, ow) = (p.out_height() * p.out_width(), d.out_width());
            with_activation_scratch(d.out_channels * band * ow, |activations| {
                for first in (0..used_rows).step_by(band) {
                    let rows = first..(first + band).min(used_rows);
                    let band_plane = rows.len() * ow;
                    let activations = &mut activations[..d.out_channels * band_plane];
                    conv_forward_rows(d, image, weight, bias, rows.clone(), activations);
                    let band_pool = PoolDims {
                        batch: 1,
                        channels: 1,
                        height: rows.len(),
                        width: ow,
                    };
                    let pooled_rows = (first / 2) * p.out_width()..(rows.end / 2) * p.out_width();
                    for (c, plane) in activations.chunks_exact(band_plane).enumerate() {
                        let at = c * pooled_plane;
                        let (out, win) = (
                            &mut out[at + pooled_rows.start..at + pooled_rows.end],
                            &mut win[at + pooled_rows.start..at + pooled_rows.end],
                        );
                        maxpool_image(&band_pool, plane, out, win, PoolInput::Relu);
                    }
                }
            });
            // The ReLU's gradient mask is "input > 0"; the winner's ReLU output is positive
            // exactly when its input was (a NaN or a zero passes no gradient).
            for (o, at) in out.iter().zip(win.iter_mut()) {
                if *o <= 0.0 || o.is_nan() {
                    *at = NO_GRADIENT;
                }
            }
        });
}

/// Backward pass of [`conv3x3_relu_maxpool_forward`]: from the gradient of the pooled output,
/// adds (`+=`) the gradients with respect to the input (when `grad_input` is given), the weight
/// and the bias.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_relu_maxpool_backward(
    d: &ConvDims,
    input: &[f32],
    weight: &[f32],
    winners: &[Winner],
    grad_output: &[f32],
    grad_input: Option<&mut [f32]>,
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    let p = pool_dims(d);
    assert_eq!(input.len(), d.batch * d.input_len());
    assert_eq!(grad_output.len(), d.batch * p.output_len());
    assert_eq!(winners.len(), grad_output.len());
    let tap_major_weight = tap_major_weight(d, weight, grad_input.is_some());
    conv_backward_per_image(
        d,
        weight,
        grad_input,
        grad_weight,
        grad_bias,
        |b, gw, gb, grad_in| {
            let image = &input[b * d.input_len()..(b + 1) * d.input_len()];
            let pooled = b * p.output_len()..(b + 1) * p.output_len();
            let (win, g_out) = (&winners[pooled.clone()], &grad_output[pooled]);
            let pooling = PooledGradient {
                winners: win,
                gradient: g_out,
                tap_major_weight: tap_major_weight.as_deref(),
            };
            if winners_suffice(d, grad_in.is_some(), &pooling) {
                // Every part of the backward pass reads the winners themselves.
                conv_backward_image(d, image, weight, &[], Some(pooling), grad_in, gw, gb);
                return;
            }
            with_activation_scratch(d.output_len(), |grad_activations| {
                // Each window's gradient goes to its winner, if the ReLU let it through; every
                // other activation (losers, dropped odd rows and columns) gets zero.
                expand_to_winners(&p, win, g_out, grad_activations);
                conv_backward_image(
                    d,
                    image,
                    weight,
                    grad_activations,
                    Some(pooling),
                    grad_in,
                    gw,
                    gb,
                );
            });
        },
    );
}
