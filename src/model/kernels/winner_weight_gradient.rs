//! The weight gradient of a fused block, summed over the pooling winners only.
//!
//! After a 2x2 max-pooling, the gradient of a block's activations is zero everywhere except at
//! the winner of each pooling window (and there too where the ReLU blocked it): at most a
//! quarter of the pixels of each output channel. The GEMM `dW = dY · colᵀ` multiplies all the
//! zeros as well. Here each weight's sum runs over the winners only:
//!
//! `dW[o][c][ky][kx] = Σ over the winners (y, x) of channel o: dY[o][y][x] · input[c][y+ky][x+kx]`,
//!
//! with the input laid out channels-last first, so that the `C` values a winner multiplies are
//! contiguous (vectors along `c`, one accumulator per `(ky, kx, c)`).
//!
//! **Same bits as the GEMM.** gemm 0.18.2 sums each weight over the pixels one fused
//! multiply-add at a time, in pixel order, from +0.0, in depth blocks of `kc` pixels
//! ([`depth_block`]), adding each block's sum to the result (`mul_add(1, block, result)`).
//! This kernel does the same in the same order and skips only the products whose gradient is
//! exactly zero; adding such a product (`±0`) to a sum changes nothing, since a sum started from
//! +0.0 is never -0.0. (Only a non-finite input at a skipped pixel would differ: the GEMM's
//! `0 · ∞` is NaN. Such an input has already made the forward pass's loss NaN, and training
//! stops there.) The tests compare bit for bit with the GEMM at the teaching net's sizes.

use super::cpu::VectorPath;
use super::dims::{ConvDims, KERNEL};
use super::direct;
use super::pool::{PoolDims, Winner};

/// gemm 0.18.2's f32 microkernel where the CPU has FMA (it keeps its AVX-512 kernels behind a
/// nightly feature, so this is the one it runs on every CPU our AVX2 and AVX-512 paths run on):
/// 16 rows x 6 columns. Its depth block depends on these.
const GEMM_MR: usize = 16;
const GEMM_NR: usize = 6;

/// Whether [`weight_gradient`] runs for a fused block of sizes `d`: on the AVX2 and AVX-512
/// paths (where gemm runs its FMA kernel, whose order this kernel follows), for whole vectors of
/// input channels (so a patch of at least 72: the first block, 27, keeps its direct kernel, with
/// other bits), at least one pooling window, and sizes where gemm takes its blocked route: at
/// least 2 output channels and more than 256 weights (smaller products go to its `gemv` or its
/// "horizontal" kernel, which sums in vector lanes; see [`depth_block`]).
pub(super) fn applies(d: &ConvDims) -> bool {
    // `lengths_fit` first: the other sizes are only computed once they cannot overflow. Sides
    // of at least 4 give an output of at least 2x2: one pooling window.
    d.lengths_fit()
        && VectorPath::active() >= VectorPath::Avx2Fma
        && d.in_channels.is_multiple_of(8)
        && d.patch_len() > direct::MAX_PATCH
        && d.height > KERNEL
        && d.width > KERNEL
        && d.out_channels >= 2
        && d.out_channels * d.patch_len() > 256
}

/// The depth block (pixels) of gemm 0.18.2's product for the weight gradient,
/// `col (K x N) · dYᵀ (N x O)` with `N = pixels`, which gemm computes transposed (`O x K`, as its
/// microkernel prefers a column-major result). In `gemm_common::gemm::gemm_basic_generic`, the
/// depth block is `min(N, 512)` when both sides are at most 64 (never here: `K = 9 C >= 72`),
/// else `gemm_common::cache::kernel_params(..).kc`, which depends on the depth, the microkernel
/// and the CPU's L1 cache only (864 pixels for the second block on a 2-core AMD EPYC with
/// AVX-512, in 6 blocks).
fn depth_block(d: &ConvDims) -> usize {
    let (k, o, n) = (d.patch_len(), d.out_channels, d.out_pixels());
    gemm_common::cache::kernel_params(o, k, n, GEMM_MR, GEMM_NR, std::mem::size_of::<f32>()).kc
}

/// One image's weight gradient, written (not added) into `grad_weight` (`O x C x 3 x 3`), from
/// the image (`C x H x W`), the winners of its pooling (`O x OH/2 x OW/2`, as the fused forward
/// pass wrote them) and the gradient of the pooled output (same shape). `channels_last` is a
/// scratch buffer of `C x H x W` floats (overwritten). Panics unless [`applies`] is true.
pub(super) fn weight_gradient(
    d: &ConvDims,
    image: &[f32],
    winners: &[Winner],
    grad_pooled: &[f32],
    channels_last: &mut [f32],
    grad_weight: &mut [f32],
    grad_bias: &mut [f32],
) {
    assert!(
        applies(d),
        "winner weight gradient called where it does not apply"
    );
    let p = PoolDims {
        batch: 1,
        channels: d.out_channels,
        height: d.out_height(),
        width: d.out_width(),
    };
    assert_eq!(image.len(), d.input_len());
    assert_eq!(winners.len(), p.output_len());
    assert_eq!(grad_pooled.len(), p.output_len());
    assert_eq!(channels_last.len(), d.input_len());
    assert_eq!(grad_weight.len(), d.weight_len());
    assert_eq!(grad_bias.len(), d.out_channels);
    to_channels_last(d, image, channels_last);
    let job = Job {
        d,
        pooled_rows: p.out_height(),
        pooled_width: p.out_width(),
        depth_block: depth_block(d),
        winners,
        grad_pooled,
        channels_last,
    };
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `applies` checked that the path is at least AVX2 + FMA (and AVX-512 where that
    // path is active); the asserts above bound every index the kernel reads or writes.
    unsafe {
        match VectorPath::active() {
            VectorPath::Avx512 if d.in_channels.is_multiple_of(16) => {
                x86::with_avx512(&job, grad_weight, grad_bias)
            }
            _ => x86::with_avx2(&job, grad_weight, grad_bias),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("applies() is false on this architecture")
}

/// `out[(y * W + x) * C + c] = image[c][y][x]`: the image channels-last, so that the `C`
/// values one winner multiplies are side by side. Needs AVX (which [`applies`] implies).
fn to_channels_last(d: &ConvDims, image: &[f32], out: &mut [f32]) {
    assert_eq!(image.len(), d.input_len());
    assert_eq!(out.len(), d.input_len());
    assert!(d.in_channels.is_multiple_of(8));
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `applies` (asserted by the caller) implies AVX; the asserts above bound every
    // index (8 whole channels at a time, pixels in groups of 8 and a scalar tail).
    unsafe {
        let pixels = d.height * d.width;
        crate::model::kernels::lanes::planes_to_channels_last(
            d.in_channels,
            pixels,
            image.as_ptr(),
            pixels,
            out.as_mut_ptr(),
        )
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("applies() is false on this architecture")
}

/// One image's inputs to the kernel.
struct Job<'a> {
    d: &'a ConvDims,
    pooled_rows: usize,
    pooled_width: usize,
    depth_block: usize,
    winners: &'a [Winner],
    grad_pooled: &'a [f32],
    channels_last: &'a [f32],
}

/// One output channel's bias gradient as `lane_sum` (in `conv.rs`) sums the expanded
/// plane of `n` pixels: 8 interleaved sums over the first `n - n % 8` pixels, from +0.0, and the
/// last `n % 8` pixels summed in order. Adding only the winners gives the same bits: the other
/// pixels hold +0.0, and adding +0.0 to a sum that started at +0.0 changes nothing.
#[derive(Clone)]
struct BiasSums {
    pixels: usize,
    lanes: [f32; 8],
    tail: [f32; 8],
}

impl BiasSums {
    fn new(pixels: usize) -> Self {
        Self {
            pixels,
            lanes: [0.0; 8],
            tail: [0.0; 8],
        }
    }

    /// Adds the expanded gradient `g` of `pixel`; pixels come in increasing order.
    #[inline(always)]
    fn add(&mut self, pixel: usize, g: f32) {
        let main = self.pixels - self.pixels % 8;
        if pixel < main {
            self.lanes[pixel % 8] += g;
        } else {
            self.tail[pixel - main] = g;
        }
    }

    fn total(&self) -> f32 {
        let tail: f32 = self.tail[..self.pixels % 8].iter().sum();
        self.lanes.iter().sum::<f32>() + tail
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::{
        arch::x86_64::{__m256, __m512},
        cell::RefCell,
    };

    use super::{BiasSums, Job, KERNEL};
    use crate::model::kernels::lanes::Lanes;
    use crate::model::kernels::pool::window_row_winners;

    /// Safety: the CPU has AVX-512 F, AVX2 and FMA; `job` holds the lengths
    /// [`super::weight_gradient`] asserts, with input channels a multiple of 16.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn with_avx512(job: &Job, grad_weight: &mut [f32], grad_bias: &mut [f32]) {
        run::<__m512>(job, grad_weight, grad_bias)
    }

    /// Safety: the CPU has AVX2 and FMA; `job` holds the lengths [`super::weight_gradient`]
    /// asserts.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn with_avx2(job: &Job, grad_weight: &mut [f32], grad_bias: &mut [f32]) {
        run::<__m256>(job, grad_weight, grad_bias)
    }

    thread_local! {
        /// [`run`]'s per-channel sums (up to 2 x 128 x 64 x 9 floats in the teaching net).
        static SUMS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    }

    /// Floats of one output channel's sums for one vector of input channels: 9 taps x `LEN`.
    const fn tap_floats<V: Lanes>() -> usize {
        KERNEL * KERNEL * V::LEN
    }

    /// The kernel, one vector of input channels at a time: the 9 taps' sums of the current
    /// depth block live in 9 registers while the winners are added in.
    ///
    /// Loop order: one row of pooling windows at a time and, within it, every output channel.
    /// The four input rows such a row reads (at most 19 KB in the teaching net) then stay in
    /// the L1 cache for all the output channels, instead of being read again from L2 for each.
    /// Between rows, each output channel's sums wait in `totals` (finished depth blocks) and
    /// `blocks` (the current one).
    ///
    /// Safety: the CPU has the features of `V`; `job` holds the lengths
    /// [`super::weight_gradient`] asserts, with input channels a multiple of `V::LEN`.
    #[inline(always)]
    unsafe fn run<V: Lanes>(job: &Job, grad_weight: &mut [f32], grad_bias: &mut [f32]) {
        let d = job.d;
        let (c_n, w, ow) = (d.in_channels, d.width, d.out_width());
        let slots = d.out_channels * (c_n / V::LEN);
        // The sums of every output channel: a thread-local buffer, grown once and reused.
        let mut sums = SUMS.with_borrow_mut(std::mem::take);
        sums.clear();
        sums.resize(2 * slots * tap_floats::<V>(), 0.0);
        let (totals, blocks) = sums.split_at_mut(slots * tap_floats::<V>());
        let mut current = vec![0usize; slots];
        // Offset of each tap (ky, kx) from its pixel in the channels-last input.
        let taps: [usize; 9] = std::array::from_fn(|t| ((t / KERNEL) * w + t % KERNEL) * c_n);
        let input = job.channels_last.as_ptr();
        let mut bias = vec![BiasSums::new(d.out_pixels()); d.out_channels];
        // One window row's live winners of one channel, in pixel order: their pixel `y * ow + x`
        // (its depth block and bias lane), where their neighbourhood starts in the
        // channels-last input, and `0.0 + g`.
        let mut pixels = vec![0usize; 2 * job.pooled_width];
        let mut inputs_at = vec![0usize; 2 * job.pooled_width];
        let mut grads_at = vec![0.0f32; 2 * job.pooled_width];
        let plane = job.pooled_rows * job.pooled_width;
        for row in 0..job.pooled_rows {
            for (o, bias) in bias.iter_mut().enumerate() {
                let at = o * plane + row * job.pooled_width;
                let winners = &job.winners[at..at + job.pooled_width];
                let grads = &job.grad_pooled[at..at + job.pooled_width];
                // The top pixels of the windows first, then the bottom ones; every window
                // writes an entry and only a live one counts it (no branches).
                let mut live = 0;
                for top_or_bottom in 0..2 {
                    let y = 2 * row + top_or_bottom;
                    for (x, g, is_live) in window_row_winners(winners, grads, top_or_bottom) {
                        pixels[live] = y * ow + x;
                        inputs_at[live] = (y * w + x) * c_n;
                        grads_at[live] = g;
                        live += usize::from(is_live);
                    }
                }
                if live == 0 {
                    continue;
                }
                // The bias gradient: the expanded plane's `lane_sum`, winners only (see
                // `BiasSums`).
                for (&pixel, &g) in pixels[..live].iter().zip(&grads_at[..live]) {
                    bias.add(pixel, g);
                }
                for first in (0..c_n).step_by(V::LEN) {
                    let slot = o * (c_n / V::LEN) + first / V::LEN;
                    let saved = blocks.as_mut_ptr().add(slot * tap_floats::<V>());
                    let mut block: [V; 9] = std::array::from_fn(|t| V::load(saved.add(t * V::LEN)));
                    let winners = pixels[..live].iter().zip(&inputs_at[..live]);
                    for ((&pixel, &input_at), &g) in winners.zip(&grads_at[..live]) {
                        let depth_block = pixel / job.depth_block;
                        if depth_block != current[slot] {
                            let total = totals.as_mut_ptr().add(slot * tap_floats::<V>());
                            for (t, b) in block.iter_mut().enumerate() {
                                let to = total.add(t * V::LEN);
                                V::add(V::load(to), *b).store(to);
                                *b = V::zero();
                            }
                            current[slot] = depth_block;
                        }
                        let g = V::splat(g);
                        let at = input.add(input_at + first);
                        for (b, &tap) in block.iter_mut().zip(&taps) {
                            *b = V::mul_add(V::load(at.add(tap)), g, *b);
                        }
                    }
                    for (t, b) in block.iter().enumerate() {
                        b.store(saved.add(t * V::LEN));
                    }
                }
            }
        }
        for (gb, sums) in grad_bias.iter_mut().zip(&bias) {
            *gb = sums.total();
        }
        // The last depth block, then `[o][c][tap]` order.
        for slot in 0..slots {
            let (o, first) = (slot / (c_n / V::LEN), (slot % (c_n / V::LEN)) * V::LEN);
            let range = slot * tap_floats::<V>()..(slot + 1) * tap_floats::<V>();
            let (total, block) = (&totals[range.clone()], &blocks[range]);
            for t in 0..KERNEL * KERNEL {
                for c in 0..V::LEN {
                    let i = t * V::LEN + c;
                    grad_weight[(o * c_n + first + c) * KERNEL * KERNEL + t] = total[i] + block[i];
                }
            }
        }
        SUMS.with_borrow_mut(|kept| *kept = sums);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::conv::{lane_sum, weight_gradient_gemm};
    use crate::model::kernels::im2col::im2col;
    use crate::model::kernels::scratch::with_scratch;
    use crate::model::kernels::test_fixtures::{bit_differences, test_values, WinnerCase};

    /// The channels-last copy against the plain loop, with a pixel count that is not a
    /// multiple of 8.
    #[test]
    fn to_channels_last_transposes() {
        if !VectorPath::Avx2Fma.is_supported() {
            eprintln!("skipped: this CPU has no AVX2 + FMA");
            return;
        }
        for (c, h, w) in [(8, 3, 5), (16, 74, 74), (24, 4, 4)] {
            let d = ConvDims {
                batch: 1,
                in_channels: c,
                out_channels: 4,
                height: h,
                width: w,
            };
            let image = test_values(d.input_len(), 9);
            let mut out = vec![f32::NAN; d.input_len()];
            to_channels_last(&d, &image, &mut out);
            for (i, &v) in image.iter().enumerate() {
                let (channel, pixel) = (i / (h * w), i % (h * w));
                assert_eq!(
                    out[pixel * c + channel].to_bits(),
                    v.to_bits(),
                    "{c}x{h}x{w}"
                );
            }
        }
    }

    /// The sizes where gemm takes another route than its blocked FMA kernel (one output
    /// channel, 256 weights or fewer: `gemv` or the lane-summing "horizontal" kernel), and an
    /// output one pixel wide (no pooling window), are left to the GEMM.
    #[test]
    fn leaves_the_gemms_other_routes_alone() {
        let d = |in_channels, out_channels, height, width| ConvDims {
            batch: 1,
            in_channels,
            out_channels,
            height,
            width,
        };
        assert!(!applies(&d(16, 1, 20, 20)));
        assert!(!applies(&d(8, 3, 20, 20)));
        assert!(!applies(&d(8, 5, 20, 3)));
        assert_eq!(
            applies(&d(8, 4, 20, 20)),
            VectorPath::active() >= VectorPath::Avx2Fma
        );
    }

    /// Bit for bit against im2col and the GEMM, and the bias against `lane_sum` of the expanded
    /// gradient, at [`WinnerCase::SIZES`] (one depth block and several).
    #[test]
    fn matches_the_gemm_bit_for_bit() {
        for (i, &size) in WinnerCase::SIZES.iter().enumerate() {
            let Some(case) = WinnerCase::new(size, i as u32 * 10, applies) else {
                continue;
            };
            let (d, o) = (&case.d, case.d.out_channels);
            let expanded = case.expanded();
            let mut by_gemm = vec![f32::NAN; d.weight_len()];
            with_scratch(d.patch_len() * d.out_pixels(), |col| {
                im2col(d, &case.image, col);
                weight_gradient_gemm(d, &expanded, col, &mut by_gemm);
            });
            let bias_by_lanes: Vec<f32> = expanded
                .chunks_exact(d.out_pixels())
                .map(lane_sum)
                .collect();
            let mut by_winners = vec![f32::NAN; d.weight_len()];
            let mut bias_by_winners = vec![f32::NAN; o];
            let mut channels_last = vec![f32::NAN; d.input_len()];
            let (winners, grads) = (&case.winners, &case.grad_pooled);
            let (weights, biases) = (&mut by_winners, &mut bias_by_winners);
            weight_gradient(
                d,
                &case.image,
                winners,
                grads,
                &mut channels_last,
                weights,
                biases,
            );
            let (differ, first) = bit_differences(&bias_by_winners, &bias_by_lanes);
            assert_eq!(differ, 0, "{size:?}: bias, first at {first:?}");
            let (differ, first) = bit_differences(&by_winners, &by_gemm);
            assert_eq!(differ, 0, "{size:?}: weights, first at {first:?}");
        }
    }
}
