//! The input gradient of a fused block, from the pooling winners only.
//!
//! By im2col's adjoint, one image's input gradient is `col2im(Wᵀ dY)`: a column of `Wᵀ dY` per
//! output pixel `q`, `T[q] = Σ_o dY[o][q] · W[o]` (`C x 3 x 3` values), added back onto the 3x3
//! neighbourhood `q` came from. After a 2x2 max-pooling, `dY[o][q]` is zero except where `q` won
//! its window in channel `o` (and the ReLU let it through): usually a few of the `O` channels
//! at each pixel, none at most. Here each column sums those channels only, a vector of `W[o]`
//! at a time, an output row at a time; as soon as the three output rows an input row needs are
//! there, that input row is finished, channels-last so that each addition is a vector of
//! channels.
//!
//! **Same bits as the GEMM and col2im** (and as the direct kernel of `input_gradient.rs`):
//!
//! `grad_in[c][y][x] += t(0,0); += t(0,1); … += t(2,2)` (taps that fall outside the output
//! skipped), with `t(ky,kx) = T[y-ky][x-kx][c][ky][kx]`, and each `T` entry summed over the
//! output channels in order, one fused multiply-add at a time from +0.0 (one depth block of
//! gemm 0.18.2 as long as `O` is at most 512). Skipping a product whose gradient is exactly zero
//! changes nothing (a sum from +0.0 is never -0.0); only a non-finite weight, which training
//! does not produce, would differ. The tests compare bit for bit.

use super::cpu::VectorPath;
use super::dims::{ConvDims, KERNEL};
use super::matmul::ONE_DEPTH_BLOCK;
use super::pool::{PoolDims, Winner};

/// Whether [`add`] runs for a fused block of sizes `d`: on the AVX2 and AVX-512 paths, with
/// whole vectors of input channels, at least one pooling window, 3 to [`ONE_DEPTH_BLOCK`] output
/// channels and at least 2 output pixels (gemm, whose bits this kernel gives, takes other routes
/// for a depth of 1 or 2 or a single column), and sizes whose lengths fit.
pub(super) fn applies(d: &ConvDims) -> bool {
    // `lengths_fit` first: the other sizes are only computed once they cannot overflow. Sides
    // of at least 4 give an output of at least 2x2: one pooling window.
    d.lengths_fit()
        && VectorPath::active() >= VectorPath::Avx2Fma
        && d.in_channels.is_multiple_of(8)
        && d.height > KERNEL
        && d.width > KERNEL
        && (3..=ONE_DEPTH_BLOCK).contains(&d.out_channels)
}

/// Floats of scratch [`add`] needs for sizes `d`: three output rows of columns and one input
/// row channels-last.
pub(super) fn scratch_len(d: &ConvDims) -> usize {
    3 * d.out_width() * d.patch_len() + d.width * d.in_channels
}

/// The weights (`O x C x 3 x 3`) as [`add`] reads them, `[o][tap][c]`: each tap's channels side
/// by side. Once per batch.
pub(super) fn tap_major(d: &ConvDims, weight: &[f32]) -> Vec<f32> {
    assert_eq!(weight.len(), d.weight_len());
    let taps = KERNEL * KERNEL;
    let mut reordered = vec![0.0; weight.len()];
    for (to, from) in reordered
        .chunks_exact_mut(d.patch_len())
        .zip(weight.chunks_exact(d.patch_len()))
    {
        for (c, w) in from.chunks_exact(taps).enumerate() {
            for (tap, &w) in w.iter().enumerate() {
                to[tap * d.in_channels + c] = w;
            }
        }
    }
    reordered
}

/// Adds one image's input gradient to `grad_input` (`C x H x W`), from the weights as
/// [`tap_major`] reorders them, the winners of its pooling and the gradient of the pooled
/// output (`O x OH/2 x OW/2` each). `scratch` holds [`scratch_len`] floats (overwritten). The
/// same bits as the GEMM `Wᵀ dY` followed by col2im. Panics unless [`applies`] is true.
pub(super) fn add(
    d: &ConvDims,
    tap_major: &[f32],
    winners: &[Winner],
    grad_pooled: &[f32],
    scratch: &mut [f32],
    grad_input: &mut [f32],
) {
    assert!(
        applies(d),
        "winner input gradient called where it does not apply"
    );
    let p = PoolDims {
        batch: 1,
        channels: d.out_channels,
        height: d.out_height(),
        width: d.out_width(),
    };
    assert_eq!(tap_major.len(), d.weight_len());
    assert_eq!(winners.len(), p.output_len());
    assert_eq!(grad_pooled.len(), p.output_len());
    assert_eq!(scratch.len(), scratch_len(d));
    assert_eq!(grad_input.len(), d.input_len());
    let (columns, row) = scratch.split_at_mut(3 * d.out_width() * d.patch_len());
    let job = Job {
        d,
        pooled_rows: p.out_height(),
        pooled_width: p.out_width(),
        tap_major,
        winners,
        grad_pooled,
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `applies` checked that the path is at least AVX2 + FMA (and AVX-512 where that
    // path is active); the asserts above bound every index the kernel reads or writes.
    unsafe {
        match VectorPath::active() {
            VectorPath::Avx512 if d.in_channels.is_multiple_of(16) => {
                x86::with_avx512(&job, columns, row, grad_input)
            }
            _ => x86::with_avx2(&job, columns, row, grad_input),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("applies() is false on this architecture")
}

/// One image's inputs to the kernel.
struct Job<'a> {
    d: &'a ConvDims,
    pooled_rows: usize,
    pooled_width: usize,
    /// The weights as `[o][tap][c]`.
    tap_major: &'a [f32],
    winners: &'a [Winner],
    grad_pooled: &'a [f32],
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::{__m256, __m512};

    use super::{Job, KERNEL};
    use crate::model::kernels::lanes::{channels_last_to_planes, planes_to_channels_last, Lanes};
    use crate::model::kernels::pool::window_row_winners;

    /// Safety: the CPU has AVX-512 F, AVX2 and FMA; the slices have the lengths
    /// [`super::add`] asserts, with input channels a multiple of 16.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn with_avx512(
        job: &Job,
        columns: &mut [f32],
        row: &mut [f32],
        grad_input: &mut [f32],
    ) {
        run::<__m512>(job, columns, row, grad_input)
    }

    /// Safety: the CPU has AVX2 and FMA; the slices have the lengths [`super::add`] asserts.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn with_avx2(
        job: &Job,
        columns: &mut [f32],
        row: &mut [f32],
        grad_input: &mut [f32],
    ) {
        run::<__m256>(job, columns, row, grad_input)
    }

    /// The kernel. `columns` holds three output rows of columns (`[qx][tap][c]` each), used
    /// in turn; `row` one input row channels-last.
    ///
    /// Safety: the CPU has the features of `V`; the slices have the lengths [`super::add`]
    /// asserts, with input channels a multiple of `V::LEN`.
    #[inline(always)]
    unsafe fn run<V: Lanes>(
        job: &Job,
        columns: &mut [f32],
        row: &mut [f32],
        grad_input: &mut [f32],
    ) {
        let d = job.d;
        let (c_n, k, h, w, oh, ow) = (
            d.in_channels,
            d.patch_len(),
            d.height,
            d.width,
            d.out_height(),
            d.out_width(),
        );
        let row_floats = ow * k;
        let mut winners = RowWinners::new(ow, d.out_channels);
        // Whether every value of the gradient is +0.0 (an OR of the bits, which vectorises).
        let was_zero = grad_input
            .chunks(64)
            .all(|chunk| chunk.iter().fold(0, |bits, v| bits | v.to_bits()) == 0);
        for y in 0..h {
            // Output row y's columns (while there is one); input row y needs rows y-2 ..= y.
            if y < oh {
                winners.collect(job, y);
                let out_row = &mut columns[(y % 3) * row_floats..][..row_floats];
                sum_columns::<V>(job, &winners, out_row);
            }
            // Input row y, channels-last: its values so far (all +0.0 in training, where the
            // gradient is new: then no need to reorder them) ...
            if was_zero {
                row.fill(0.0);
            } else {
                let from = grad_input.as_ptr().add(y * w);
                planes_to_channels_last(c_n, w, from, h * w, row.as_mut_ptr());
            }
            // ... plus each tap (ky, kx) in col2im's order, from output row y - ky, pixel x - kx.
            let sources = columns.as_ptr();
            let rows: [Option<*const f32>; 3] = std::array::from_fn(|ky| {
                (ky <= y && y - ky < oh).then(|| sources.add(((y - ky) % 3) * row_floats))
            });
            for x in 0..w {
                let taps_x = x.saturating_sub(ow - 1)..=x.min(KERNEL - 1);
                for first in (0..c_n).step_by(V::LEN) {
                    let at = row.as_mut_ptr().add(x * c_n + first);
                    let mut v = V::load(at);
                    for (ky, out_row) in rows.iter().enumerate() {
                        if let Some(out_row) = out_row {
                            for kx in taps_x.clone() {
                                let tap = (ky * KERNEL + kx) * c_n + first;
                                v = V::add(v, V::load(out_row.add((x - kx) * k + tap)));
                            }
                        }
                    }
                    v.store(at);
                }
            }
            let to = grad_input.as_mut_ptr().add(y * w);
            channels_last_to_planes(c_n, w, row.as_ptr(), to, h * w);
        }
    }

    /// The winners of one output row, by pixel: for pixel `qx`, the output channels whose
    /// window it won, in increasing order, with their gradients.
    struct RowWinners {
        out_channels: usize,
        counts: Vec<usize>,
        channels: Vec<usize>,
        grads: Vec<f32>,
    }

    impl RowWinners {
        fn new(out_width: usize, out_channels: usize) -> Self {
            Self {
                out_channels,
                counts: vec![0; out_width],
                channels: vec![0; out_width * out_channels],
                grads: vec![0.0; out_width * out_channels],
            }
        }

        /// Output row `qy`'s winners (none in an odd last row, which the pooling dropped).
        #[inline(always)]
        fn collect(&mut self, job: &Job, qy: usize) {
            self.counts.fill(0);
            let (window_row, top_or_bottom) = (qy / 2, qy % 2);
            if window_row >= job.pooled_rows {
                return;
            }
            let plane = job.pooled_rows * job.pooled_width;
            for o in 0..self.out_channels {
                let at = o * plane + window_row * job.pooled_width;
                let winners = &job.winners[at..at + job.pooled_width];
                let grads = &job.grad_pooled[at..at + job.pooled_width];
                // Every window writes its entry and only a live one counts it (no branches);
                // at most one entry per channel, so `counts[qx] <= o`, inside qx's slots.
                for (qx, g, live) in window_row_winners(winners, grads, top_or_bottom) {
                    let n = qx * self.out_channels + self.counts[qx];
                    self.channels[n] = o;
                    self.grads[n] = g;
                    self.counts[qx] += usize::from(live);
                }
            }
        }
    }

    /// One output row's columns, overwritten: `out_row[qx] = Σ_o dY[o][qx] · W[o]` (`[tap][c]`)
    /// over the channels `o` whose window `qx` won, in order, from +0.0; 9 vectors of a column
    /// at a time in registers.
    #[inline(always)]
    unsafe fn sum_columns<V: Lanes>(job: &Job, winners: &RowWinners, out_row: &mut [f32]) {
        let k = job.d.patch_len();
        let block = KERNEL * KERNEL * V::LEN;
        let weights = job.tap_major.as_ptr();
        for (qx, column) in out_row.chunks_exact_mut(k).enumerate() {
            let n = qx * winners.out_channels;
            let count = winners.counts[qx];
            let (channels, grads) = (
                &winners.channels[n..n + count],
                &winners.grads[n..n + count],
            );
            for first in (0..k).step_by(block) {
                let mut sums = [V::zero(); KERNEL * KERNEL];
                for (&o, &g) in channels.iter().zip(grads) {
                    let g = V::splat(g);
                    let from = weights.add(o * k + first);
                    for (i, sum) in sums.iter_mut().enumerate() {
                        *sum = V::mul_add(V::load(from.add(i * V::LEN)), g, *sum);
                    }
                }
                let to = column.as_mut_ptr().add(first);
                for (i, sum) in sums.iter().enumerate() {
                    sum.store(to.add(i * V::LEN));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::im2col::col2im_add;
    use crate::model::kernels::matmul::matmul;
    use crate::model::kernels::test_fixtures::{bit_differences, test_values, WinnerCase};

    /// Bit for bit against the GEMM `Wᵀ dY` and col2im, added to a gradient that already holds
    /// values and to a new one (all +0.0, which the kernel need not reorder), at
    /// [`WinnerCase::SIZES`].
    #[test]
    fn matches_the_gemm_and_col2im_bit_for_bit() {
        for (i, &size) in WinnerCase::SIZES.iter().enumerate() {
            let seed = i as u32 * 10;
            let Some(case) = WinnerCase::new(size, seed, applies) else {
                continue;
            };
            let (d, o) = (&case.d, case.d.out_channels);
            let (k, n) = (d.patch_len(), d.out_pixels());
            let mut col = vec![f32::NAN; k * n];
            matmul(
                k,
                n,
                o,
                &mut col,
                false,
                &case.weight,
                (1, k),
                &case.expanded(),
                (n, 1),
            );
            for before in [
                test_values(d.input_len(), seed + 5),
                vec![0.0; d.input_len()],
            ] {
                let mut by_gemm = before.clone();
                col2im_add(d, &col, &mut by_gemm);
                let mut by_winners = before.clone();
                let mut scratch = vec![f32::NAN; scratch_len(d)];
                let reordered = tap_major(d, &case.weight);
                let (winners, grads) = (&case.winners, &case.grad_pooled);
                add(d, &reordered, winners, grads, &mut scratch, &mut by_winners);
                let (differ, first) = bit_differences(&by_winners, &by_gemm);
                assert_eq!(differ, 0, "{size:?}: first at {first:?}");
            }
        }
    }
}
