//! One convolution block in one pass per image: 3x3 convolution, ReLU and 2x2 max-pooling.
//!
//! Run as three layers, a block writes its full-size activations three times over (convolution,
//! ReLU, and the pool's copy of its input) and, in the backward pass, two full-size gradients
//! (the pool's and the ReLU's): in the first block that is 14 MB per pass for a batch of 10,
//! several times the cost of the pooling itself. Fused, each image's activations live in a
//! thread-local scratch buffer that stays warm in the cache, and only the pooled output (a
//! quarter of the size) and the winner of each pooling window leave it.
//!
//! The results are bit-identical to [`conv3x3_forward`](super::conv3x3_forward), then
//! [`relu`](super::relu), then [`maxpool2x2_forward`](super::maxpool2x2_forward) and their
//! backward passes: the same GEMM calls on the same values, the same comparisons
//! (`tests/layers.rs` checks this).

use rayon::prelude::*;

use super::{
    add_to_winners, conv_backward_image, conv_backward_per_image, conv_forward_image,
    maxpool_image, relu, with_activation_scratch, ConvDims, PoolDims, Winner, NO_GRADIENT,
};

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
            with_activation_scratch(d.output_len(), |activations| {
                conv_forward_image(d, image, weight, bias, activations);
                maxpool_image(&p, activations, out, win, relu);
            });
            // The ReLU's gradient mask is "input > 0"; the winner's ReLU output is positive
            // exactly when its input was (a NaN or a zero passes no gradient).
            for (o, at) in out.iter().zip(win.iter_mut()) {
                if !(*o > 0.0) {
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
    conv_backward_per_image(
        d,
        weight,
        grad_input,
        grad_weight,
        grad_bias,
        |b, gw, gb, grad_in| {
            let image = &input[b * d.input_len()..(b + 1) * d.input_len()];
            let pooled = b * p.output_len()..(b + 1) * p.output_len();
            with_activation_scratch(d.output_len(), |grad_activations| {
                // Each window's gradient goes to its winner, if the ReLU let it through; every
                // other activation (losers, dropped odd rows and columns) gets zero.
                grad_activations.fill(0.0);
                let (win, g_out) = (&winners[pooled.clone()], &grad_output[pooled]);
                add_to_winners(&p, win, g_out, grad_activations);
                conv_backward_image(d, image, weight, grad_activations, grad_in, gw, gb);
            });
        },
    );
}
