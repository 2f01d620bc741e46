//! 2x2, stride-2 max-pooling on `f32` slices in NCHW order: the forward pass records which value
//! of each window won (one byte per output), and the backward pass sends each gradient to its
//! winner. AVX2 machines pool 8 windows at a time (`pool_simd.rs`), with the same values and
//! winners as the scalar loop here.

use rayon::prelude::*;

use super::pool_simd;
use super::relu::relu;

/// The sizes of one 2x2, stride-2 max-pool call over `channels x height x width` images.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolDims {
    pub batch: usize,
    pub channels: usize,
    pub height: usize,
    pub width: usize,
}

impl PoolDims {
    pub(super) fn out_height(&self) -> usize {
        self.height / 2
    }
    pub(super) fn out_width(&self) -> usize {
        self.width / 2
    }
    pub fn input_len(&self) -> usize {
        self.channels * self.height * self.width
    }
    pub fn output_len(&self) -> usize {
        self.channels * self.out_height() * self.out_width()
    }
}

/// Which value of a 2x2 pooling window won the max: `2 * row + column` within the window
/// (0 top left, 1 top right, 2 bottom left, 3 bottom right), or [`NO_GRADIENT`]. One byte per
/// output instead of a full index: a quarter of the memory to fill, write and read.
pub type Winner = u8;

/// The [`Winner`] of a window that passes no gradient back (in the fused block: the winner was
/// not positive before the ReLU).
pub const NO_GRADIENT: Winner = u8::MAX;

/// The winners of one row of pooling windows that sit in the window's top row
/// (`top_or_bottom` 0) or its bottom row (1), for the kernels that sum over winners only: for
/// every window `j`, `(x, 0.0 + g, live)`, with `x` the winner's column when it sits in that
/// row, `0.0 + g` the value the expanded gradient holds there, and `live` whether it does and
/// passes a gradient. Every window yields an item (its `x` is in the row either way), so that a
/// caller can write each one and count only the live ones, without branches.
#[inline(always)]
pub(super) fn window_row_winners<'a>(
    winners: &'a [Winner],
    grads: &'a [f32],
    top_or_bottom: usize,
) -> impl Iterator<Item = (usize, f32, bool)> + 'a {
    winners
        .iter()
        .zip(grads)
        .enumerate()
        .map(move |(j, (&code, &g))| {
            let live = code != NO_GRADIENT && usize::from(code >> 1) == top_or_bottom;
            (2 * j + usize::from(code & 1), 0.0 + g, live)
        })
}

/// Forward 2x2, stride-2 max-pool (odd last rows and columns are dropped, as in Keras).
/// Writes the pooled `output` and, for each output value, the [`Winner`] of its window; on ties
/// the first in row-major order wins.
pub fn maxpool2x2_forward(d: &PoolDims, input: &[f32], output: &mut [f32], winners: &mut [Winner]) {
    assert_eq!(input.len(), d.batch * d.input_len());
    assert_eq!(output.len(), d.batch * d.output_len());
    assert_eq!(winners.len(), output.len());
    if d.batch == 0 || d.output_len() == 0 {
        return;
    }
    output
        .par_chunks_exact_mut(d.output_len())
        .zip(winners.par_chunks_exact_mut(d.output_len()))
        .zip(input.par_chunks_exact(d.input_len()))
        .for_each(|((out, win), image)| maxpool_image(d, image, out, win, PoolInput::AsIs));
}

/// What the pooling applies to each value before comparing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PoolInput {
    /// The values themselves ([`maxpool2x2_forward`]).
    AsIs,
    /// [`relu`] of the values (the fused block).
    Relu,
}

/// Max-pools one image (`C x H x W`) into `out` and `win` (`C x H/2 x W/2`), after applying
/// `input` to every value. Eight windows at a time with AVX2 ([`pool_simd`]), one at a time for
/// the rest of each row and on other CPUs: the same comparisons either way.
pub(super) fn maxpool_image(
    d: &PoolDims,
    image: &[f32],
    out: &mut [f32],
    win: &mut [Winner],
    input: PoolInput,
) {
    let (h, w, oh, ow) = (d.height, d.width, d.out_height(), d.out_width());
    // Row by row over exact chunks: no index arithmetic or bounds checks per window.
    let planes = image.chunks_exact(h * w).zip(
        out.chunks_exact_mut(oh * ow)
            .zip(win.chunks_exact_mut(oh * ow)),
    );
    let relu_first = input == PoolInput::Relu;
    for (plane, (out, win)) in planes {
        let rows = out.chunks_exact_mut(ow).zip(win.chunks_exact_mut(ow));
        for (oy, (out, win)) in rows.enumerate() {
            let top_start = 2 * oy * w;
            let top = &plane[top_start..top_start + 2 * ow];
            let bottom = &plane[top_start + w..top_start + w + 2 * ow];
            pool_row_pair(top, bottom, out, win, relu_first);
        }
    }
}

/// Pools the windows of one row pair (`top` and `bottom` hold 2 values per window): 8 at a
/// time with AVX2 ([`pool_simd`]), then the rest (or all, on other CPUs) one at a time.
pub(super) fn pool_row_pair(
    top: &[f32],
    bottom: &[f32],
    out: &mut [f32],
    win: &mut [Winner],
    relu_first: bool,
) {
    let done = pool_simd::pool_row(top, bottom, out, win, relu_first);
    pool_windows(
        &top[2 * done..],
        &bottom[2 * done..],
        &mut out[done..],
        &mut win[done..],
        relu_first,
    );
}

/// Pools the windows of one row pair one at a time (`top` and `bottom` hold 2 values per
/// window), after [`relu`] when `relu_first`.
pub(super) fn pool_windows(
    top: &[f32],
    bottom: &[f32],
    out: &mut [f32],
    win: &mut [Winner],
    relu_first: bool,
) {
    let act = |v: f32| if relu_first { relu(v) } else { v };
    let windows = top.chunks_exact(2).zip(bottom.chunks_exact(2));
    for ((o, at), (t, b)) in out.iter_mut().zip(win).zip(windows) {
        // Same order and strict `>` as row-major scanning: the first max wins.
        // A NaN wins too, so that a broken input reaches the loss.
        let beats = |candidate: f32, best: f32| candidate > best || candidate.is_nan();
        let (mut best, mut winner) = (act(t[0]), 0);
        if beats(act(t[1]), best) {
            (best, winner) = (act(t[1]), 1);
        }
        if beats(act(b[0]), best) {
            (best, winner) = (act(b[0]), 2);
        }
        if beats(act(b[1]), best) {
            (best, winner) = (act(b[1]), 3);
        }
        *o = best;
        *at = winner;
    }
}

/// Backward pass of [`maxpool2x2_forward`]: each output gradient is added to the input value
/// that won the max.
pub fn maxpool2x2_backward(
    d: &PoolDims,
    winners: &[Winner],
    grad_output: &[f32],
    grad_input: &mut [f32],
) {
    assert_eq!(grad_output.len(), d.batch * d.output_len());
    assert_eq!(winners.len(), grad_output.len());
    assert_eq!(grad_input.len(), d.batch * d.input_len());
    if d.batch == 0 || d.output_len() == 0 {
        return;
    }
    grad_input
        .par_chunks_exact_mut(d.input_len())
        .zip(winners.par_chunks_exact(d.output_len()))
        .zip(grad_output.par_chunks_exact(d.output_len()))
        .for_each(|((g_in, win), g_out)| add_to_winners(d, win, g_out, g_in));
}

/// Adds each pooled gradient of one image (`C x H/2 x W/2`) to the input value that won its
/// window (`g_in`, `C x H x W`); windows marked [`NO_GRADIENT`] add nothing.
pub(super) fn add_to_winners(d: &PoolDims, win: &[Winner], g_out: &[f32], g_in: &mut [f32]) {
    let (h, w, oh, ow) = (d.height, d.width, d.out_height(), d.out_width());
    let planes = g_in
        .chunks_exact_mut(h * w)
        .zip(win.chunks_exact(oh * ow).zip(g_out.chunks_exact(oh * ow)));
    for (plane, (win, g_out)) in planes {
        let rows = win.chunks_exact(ow).zip(g_out.chunks_exact(ow));
        for (oy, (win, g_out)) in rows.enumerate() {
            let top_start = 2 * oy * w;
            for (ox, (&at, &g)) in win.iter().zip(g_out).enumerate() {
                if at != NO_GRADIENT {
                    let (dy, dx) = (usize::from(at >> 1), usize::from(at & 1));
                    plane[top_start + dy * w + 2 * ox + dx] += g;
                }
            }
        }
    }
}

/// Writes one image's activation gradients (`g_in`, `C x H x W`, overwritten) from its pooled
/// gradients: each window's gradient at its winner, zero everywhere else (losers, windows marked
/// [`NO_GRADIENT`], dropped odd rows and columns). The same values as zero-filling `g_in` and
/// then [`add_to_winners`] (`0.0 + g`, so a `-0.0` gradient becomes `0.0` in both), in one pass
/// that writes each value once, in order, instead of a fill and a scatter.
pub(super) fn expand_to_winners(d: &PoolDims, win: &[Winner], g_out: &[f32], g_in: &mut [f32]) {
    let (h, w, oh, ow) = (d.height, d.width, d.out_height(), d.out_width());
    let planes = g_in
        .chunks_exact_mut(h * w)
        .zip(win.chunks_exact(oh * ow).zip(g_out.chunks_exact(oh * ow)));
    for (plane, (win, g_out)) in planes {
        let (pooled_rows, dropped_row) = plane.split_at_mut(2 * oh * w);
        dropped_row.fill(0.0);
        let rows = win.chunks_exact(ow).zip(g_out.chunks_exact(ow));
        for (row_pair, (win, g_out)) in pooled_rows.chunks_exact_mut(2 * w).zip(rows) {
            let (top, bottom) = row_pair.split_at_mut(w);
            let (top, top_dropped) = top.split_at_mut(2 * ow);
            let (bottom, bottom_dropped) = bottom.split_at_mut(2 * ow);
            top_dropped.fill(0.0);
            bottom_dropped.fill(0.0);
            let windows = top.chunks_exact_mut(2).zip(bottom.chunks_exact_mut(2));
            for ((t, b), (&at, &g)) in windows.zip(win.iter().zip(g_out)) {
                let g = 0.0 + g;
                let to = |code: Winner| if at == code { g } else { 0.0 };
                (t[0], t[1], b[0], b[1]) = (to(0), to(1), to(2), to(3));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One write pass gives the same bits as a zero fill and the scatter: odd and even sides,
    /// every winner code, windows with no gradient, and -0.0 gradients.
    #[test]
    fn expand_to_winners_equals_fill_and_add() {
        for (height, width) in [(4, 6), (5, 7), (3, 2), (7, 4)] {
            let d = PoolDims {
                batch: 1,
                channels: 3,
                height,
                width,
            };
            let codes = [0, 1, 2, 3, NO_GRADIENT];
            let win: Vec<Winner> = (0..d.output_len())
                .map(|i| codes[(i * 7 + 3) % 5])
                .collect();
            let g_out: Vec<f32> = (0..d.output_len())
                .map(|i| if i % 4 == 0 { -0.0 } else { i as f32 - 5.5 })
                .collect();
            let mut added = vec![0.0; d.input_len()];
            add_to_winners(&d, &win, &g_out, &mut added);
            let mut expanded = vec![f32::NAN; d.input_len()];
            expand_to_winners(&d, &win, &g_out, &mut expanded);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&expanded), bits(&added), "{height}x{width}");
        }
    }
}
