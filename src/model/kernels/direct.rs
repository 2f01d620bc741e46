//! Direct 3x3 convolution kernels for the first block, on x86-64 CPUs with AVX2 and FMA (and a
//! wider forward pass with AVX-512, which also runs the second block's forward pass), where the
//! process's [`VectorPath`] allows them.
//!
//! im2col + GEMM first copies every 3x3 neighbourhood into a column matrix (9 copies of the
//! image), then the GEMM packs that matrix again before multiplying. With 3 input channels (27
//! products per output) those copies cost as much as the arithmetic, and the first block ran at
//! half the GEMM rate of the others. These kernels read the image in place instead
//! (`cargo bench --bench layer_times`, batch 10, both cores):
//!
//! - [`forward_rows`]: a tile of 4 output channels x 16 pixels lives in 8 AVX registers while the
//!   27 products are added in, each input vector loaded once for 4 channels: about 1.5 ms
//!   against 3.5 ms by im2col + GEMM. On the AVX-512 path a tile is 8 channels x 32 pixels in 16
//!   of the 32 registers (1.12 → 0.95 ms per batch on a 2-core AMD EPYC with AVX-512), fast
//!   enough to beat the GEMM in the second block too ([`WIDE_ROW`]). It computes exactly the
//!   GEMM's bits: every output is
//!   `bias + (0 + w₀x₀ + w₁x₁ + …)`, fused-multiply-added one product at a time in patch order
//!   `(c, ky, kx)` into one accumulator, as the GEMM's microkernel does when a patch fits one
//!   of its depth blocks (the tests check this).
//! - [`weight_gradient`]: 4 output channels x 3 kernel columns of weight sums in 12 registers,
//!   over bands of rows that stay in L1: about 2.4 ms against 4.3 ms. Its sums are split into
//!   8 lanes instead of the GEMM's depth blocks, so its last bits differ from the GEMM's (still
//!   the same whatever the number of threads). It has no AVX-512 version: 16 lanes would split
//!   the sums differently (other bits) for at most a tenth of a millisecond per batch.
//!
//! Everywhere else, and on the portable path, im2col + GEMM runs.

use std::ops::Range;

use super::cpu::VectorPath;
use super::dims::{ConvDims, KERNEL};
use super::lanes::LANES;
use super::matmul::ONE_DEPTH_BLOCK;

/// Output channels per register tile.
const TILE_CHANNELS: usize = 4;

/// The largest patch (`in_channels * 9`) these kernels are used for on every vector path: the
/// first block's. Measured (`layer_times`, batch 10): 3 → 16 channels at 150x150, 1.5 ms against
/// 3.5 ms by im2col + GEMM; with 16 or 32 input channels the AVX2 kernel's 4-channel tiles are
/// as fast as the GEMM or slower (3.9 against 4.1 ms, 3.8 against 4.8 ms), its copies being
/// small next to the arithmetic.
pub(super) const MAX_PATCH: usize = 27;

/// On the AVX-512 path, the forward kernel also runs for larger patches (up to
/// `ONE_DEPTH_BLOCK`, so with the same bits) where output rows are at least this long: its
/// 8-channel x 32-pixel tiles then cover a row with little waste. Measured per image, one thread,
/// on a 2-core AMD EPYC with AVX-512: the second block (16 → 32 channels, 72-pixel rows) 0.48
/// against 0.66 ms by im2col + GEMM; the third (32 → 64, 34-pixel rows, a 32-pixel tile and
/// an 8-pixel vector for the last 2) 0.51 against 0.46 ms, so it keeps the GEMM.
const WIDE_ROW: usize = 64;

/// Whether the forward convolution runs [`forward_rows`]: the first block's small patch on the
/// AVX2 and AVX-512 paths, and wide rows of a patch that fits the GEMM's depth block on the
/// AVX-512 path. Elsewhere im2col + GEMM runs, with the same bits.
pub(super) fn forward_applies(d: &ConvDims) -> bool {
    let patch = d.patch_len();
    let applies_on = |path: VectorPath| match path {
        VectorPath::Avx512 => {
            patch <= MAX_PATCH || (patch <= ONE_DEPTH_BLOCK && d.out_width() >= WIDE_ROW)
        }
        VectorPath::Avx2Fma => patch <= MAX_PATCH,
        VectorPath::Portable => false,
    };
    // `supports` first: it checks that the output sides do not wrap.
    supports(d) && applies_on(VectorPath::active())
}

/// Whether the weight gradient runs [`weight_gradient`]: the first block's small patch, where
/// the process's [`VectorPath`] is AVX2 or AVX-512. Elsewhere im2col + GEMM runs, with other
/// last bits.
pub(super) fn weight_gradient_applies(d: &ConvDims) -> bool {
    d.patch_len() <= MAX_PATCH && VectorPath::active() >= VectorPath::Avx2Fma && supports(d)
}

/// Whether [`forward_rows_on`] and [`weight_gradient`] can compute a convolution of sizes `d` on
/// this CPU: whole tiles of output channels, rows of at least one vector, lengths that do not
/// overflow (the kernels index by the sizes, so the length checks must not wrap), AVX2 and FMA.
fn supports(d: &ConvDims) -> bool {
    d.height >= KERNEL
        && d.width >= KERNEL - 1 + LANES
        && d.out_channels.is_multiple_of(TILE_CHANNELS)
        && d.lengths_fit()
        && VectorPath::Avx2Fma.is_supported()
}

/// The output rows `rows` of one image's convolution (`image` is `C x H x W`) into `out`
/// (`O x rows.len() x OW`, overwritten), on the process's [`VectorPath`]. Panics unless
/// [`forward_applies`] is true.
pub(super) fn forward_rows(
    d: &ConvDims,
    image: &[f32],
    weight: &[f32],
    bias: &[f32],
    rows: Range<usize>,
    out: &mut [f32],
) {
    forward_rows_on(VectorPath::active(), d, image, weight, bias, rows, out)
}

/// [`forward_rows`] on `path` (AVX2 or AVX-512), whatever the process's path: the tests run
/// every path the CPU has. Every path computes the same bits (each output is the same chain of
/// fused multiply-adds); AVX-512 does 16 pixels per vector and, with its 32 registers, 8 output
/// channels per tile. Panics unless [`supports`] is true and the CPU has `path`.
pub(super) fn forward_rows_on(
    path: VectorPath,
    d: &ConvDims,
    image: &[f32],
    weight: &[f32],
    bias: &[f32],
    rows: Range<usize>,
    out: &mut [f32],
) {
    assert!(
        supports(d) && path >= VectorPath::Avx2Fma && path.is_supported(),
        "direct convolution called where it does not apply ({path} path)"
    );
    assert_eq!(image.len(), d.input_len());
    assert_eq!(weight.len(), d.weight_len());
    assert_eq!(bias.len(), d.out_channels);
    assert!(rows.end <= d.out_height());
    assert_eq!(out.len(), d.out_channels * rows.len() * d.out_width());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `path.is_supported()` checked that the CPU has the path's features (AVX-512
    // implies AVX2 and FMA); the asserts above bound every index the kernels read or write (see
    // `x86::forward_rows`).
    unsafe {
        match path {
            VectorPath::Avx512 => x86::forward_rows_avx512(d, image, weight, bias, rows, out),
            _ => x86::forward_rows(d, image, weight, bias, rows, out),
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("supports() is false on this architecture")
}

/// The weight gradient of one image, written (not added) into `grad_weight` (`O x C x 3 x 3`):
/// `grad_weight[o][c][ky][kx] = Σ_{y,x} grad_output[o][y][x] · image[c][y+ky][x+kx]`.
/// Panics unless [`supports`] is true.
///
/// Unlike the forward pass, this is not bit-identical to the GEMM: each weight's sum over the
/// image's pixels is split over 8 vector lanes (summed at the end, in a fixed order), where the
/// GEMM splits it into its depth blocks. Both orders are fixed, so results still do not depend
/// on the number of threads.
pub(super) fn weight_gradient(
    d: &ConvDims,
    image: &[f32],
    grad_output: &[f32],
    grad_weight: &mut [f32],
) {
    assert!(
        supports(d),
        "direct convolution called where it does not apply"
    );
    assert_eq!(image.len(), d.input_len());
    assert_eq!(grad_output.len(), d.output_len());
    assert_eq!(grad_weight.len(), d.weight_len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `supports` checked that the CPU has AVX2 and FMA; the asserts above bound every
    // index the kernel reads or writes (see `x86::weight_gradient`).
    unsafe {
        x86::weight_gradient(d, image, grad_output, grad_weight)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("supports() is false on this architecture")
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;
    use std::ops::Range;

    use super::{ConvDims, KERNEL, LANES, TILE_CHANNELS};
    use crate::model::kernels::lanes::LANES_512;

    /// See [`super::forward_rows`]. Safety: the CPU has AVX2 and FMA, and the slices have the
    /// lengths that function asserts.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn forward_rows(
        d: &ConvDims,
        image: &[f32],
        weight: &[f32],
        bias: &[f32],
        rows: Range<usize>,
        out: &mut [f32],
    ) {
        let ow = d.out_width();
        let plane = rows.len() * ow;
        for first_channel in (0..d.out_channels).step_by(TILE_CHANNELS) {
            let tile = Tile {
                d,
                image,
                weight: &weight[first_channel * d.patch_len()..],
                bias: &bias[first_channel..first_channel + TILE_CHANNELS],
            };
            let out = &mut out[first_channel * plane..(first_channel + TILE_CHANNELS) * plane];
            for (r, oy) in rows.clone().enumerate() {
                let mut ox = 0;
                while ox + 2 * LANES <= ow {
                    tile.vectors::<2>(oy, ox, out, plane, r * ow + ox);
                    ox += 2 * LANES;
                }
                while ox + LANES <= ow {
                    tile.vectors::<1>(oy, ox, out, plane, r * ow + ox);
                    ox += LANES;
                }
                if ox < ow {
                    // The last few pixels: one vector ending at the row's end, overlapping
                    // outputs already written (recomputed to the same bits). A serial chain of
                    // scalar multiply-adds per pixel would cost more than the rest of the row.
                    let ox = ow - LANES;
                    tile.vectors::<1>(oy, ox, out, plane, r * ow + ox);
                }
            }
        }
    }

    /// Output channels per AVX-512 tile: 8 channels x 2 vectors = 16 accumulators of the 32
    /// registers (4-channel tiles where the channel count is not a multiple of 8).
    const TILE_CHANNELS_512: usize = 8;

    /// [`forward_rows`] with 16-pixel vectors: the same fused multiply-adds per output, in the
    /// same order, so the same bits. Rows end with 8-pixel AVX2 vectors where fewer than 16
    /// pixels are left. Safety: the CPU has AVX-512 F, AVX2 and FMA, and the slices have the
    /// lengths [`super::forward_rows_on`] asserts.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn forward_rows_avx512(
        d: &ConvDims,
        image: &[f32],
        weight: &[f32],
        bias: &[f32],
        rows: Range<usize>,
        out: &mut [f32],
    ) {
        let ow = d.out_width();
        let plane = rows.len() * ow;
        let tile_channels = if d.out_channels.is_multiple_of(TILE_CHANNELS_512) {
            TILE_CHANNELS_512
        } else {
            TILE_CHANNELS
        };
        for first_channel in (0..d.out_channels).step_by(tile_channels) {
            let tile = Tile {
                d,
                image,
                weight: &weight[first_channel * d.patch_len()..],
                bias: &bias[first_channel..first_channel + tile_channels],
            };
            let out = &mut out[first_channel * plane..(first_channel + tile_channels) * plane];
            for (r, oy) in rows.clone().enumerate() {
                let mut ox = 0;
                while ox + 2 * LANES_512 <= ow {
                    match tile_channels {
                        TILE_CHANNELS_512 => {
                            tile.vectors_512::<8, 2>(oy, ox, out, plane, r * ow + ox)
                        }
                        _ => tile.vectors_512::<4, 2>(oy, ox, out, plane, r * ow + ox),
                    }
                    ox += 2 * LANES_512;
                }
                while ox + LANES_512 <= ow {
                    match tile_channels {
                        TILE_CHANNELS_512 => {
                            tile.vectors_512::<8, 1>(oy, ox, out, plane, r * ow + ox)
                        }
                        _ => tile.vectors_512::<4, 1>(oy, ox, out, plane, r * ow + ox),
                    }
                    ox += LANES_512;
                }
                // The rest with 8-pixel vectors, the last one overlapping as in `forward_rows`.
                let avx2_tiles = tile_channels / TILE_CHANNELS;
                while ox < ow {
                    let x = ox.min(ow - LANES);
                    for t in 0..avx2_tiles {
                        let c = t * TILE_CHANNELS;
                        let part = Tile {
                            d,
                            image,
                            weight: &tile.weight[c * d.patch_len()..],
                            bias: &tile.bias[c..c + TILE_CHANNELS],
                        };
                        part.vectors::<1>(oy, x, &mut out[c * plane..], plane, r * ow + x);
                    }
                    ox = x + LANES;
                }
            }
        }
    }

    /// The inputs of one tile of output channels ([`TILE_CHANNELS`] on the AVX2 path, 4 or
    /// [`TILE_CHANNELS_512`] on the AVX-512 path): `weight` and `bias` start at the tile's
    /// first channel.
    struct Tile<'a> {
        d: &'a ConvDims,
        image: &'a [f32],
        weight: &'a [f32],
        bias: &'a [f32],
    }

    impl Tile<'_> {
        /// Outputs `(oy, ox .. ox + V * 8)` of the tile's channels, written at `at` of each
        /// channel's plane (`plane` floats apart) in `out`.
        #[target_feature(enable = "avx2,fma")]
        #[inline]
        unsafe fn vectors<const V: usize>(
            &self,
            oy: usize,
            ox: usize,
            out: &mut [f32],
            plane: usize,
            at: usize,
        ) {
            let (h, w, k) = (self.d.height, self.d.width, self.d.patch_len());
            debug_assert!(ox + V * LANES + KERNEL - 1 <= w && oy + KERNEL <= h);
            debug_assert!(at + V * LANES + (TILE_CHANNELS - 1) * plane <= out.len());
            let (image, weight) = (self.image.as_ptr(), self.weight.as_ptr());
            let mut acc = [[_mm256_setzero_ps(); V]; TILE_CHANNELS];
            let mut tap = 0;
            for c in 0..self.d.in_channels {
                for ky in 0..KERNEL {
                    let row = image.add((c * h + oy + ky) * w + ox);
                    for kx in 0..KERNEL {
                        let mut x = [_mm256_setzero_ps(); V];
                        for (v, x) in x.iter_mut().enumerate() {
                            *x = _mm256_loadu_ps(row.add(kx + v * LANES));
                        }
                        for (o, acc) in acc.iter_mut().enumerate() {
                            let wv = _mm256_broadcast_ss(&*weight.add(o * k + tap));
                            for (acc, x) in acc.iter_mut().zip(x) {
                                *acc = _mm256_fmadd_ps(wv, x, *acc);
                            }
                        }
                        tap += 1;
                    }
                }
            }
            let out = out.as_mut_ptr();
            for (o, acc) in acc.iter().enumerate() {
                let b = _mm256_set1_ps(self.bias[o]);
                for (v, acc) in acc.iter().enumerate() {
                    _mm256_storeu_ps(out.add(o * plane + at + v * LANES), _mm256_add_ps(b, *acc));
                }
            }
        }
    }

    impl Tile<'_> {
        /// [`Tile::vectors`] for `C` channels of 16-pixel vectors.
        #[target_feature(enable = "avx512f,avx2,fma")]
        #[inline]
        unsafe fn vectors_512<const C: usize, const V: usize>(
            &self,
            oy: usize,
            ox: usize,
            out: &mut [f32],
            plane: usize,
            at: usize,
        ) {
            let (h, w, k) = (self.d.height, self.d.width, self.d.patch_len());
            debug_assert!(ox + V * LANES_512 + KERNEL - 1 <= w && oy + KERNEL <= h);
            debug_assert!(at + V * LANES_512 + (C - 1) * plane <= out.len());
            let (image, weight) = (self.image.as_ptr(), self.weight.as_ptr());
            let mut acc = [[_mm512_setzero_ps(); V]; C];
            let mut tap = 0;
            for c in 0..self.d.in_channels {
                for ky in 0..KERNEL {
                    let row = image.add((c * h + oy + ky) * w + ox);
                    for kx in 0..KERNEL {
                        let mut x = [_mm512_setzero_ps(); V];
                        for (v, x) in x.iter_mut().enumerate() {
                            *x = _mm512_loadu_ps(row.add(kx + v * LANES_512));
                        }
                        for (o, acc) in acc.iter_mut().enumerate() {
                            let wv = _mm512_set1_ps(*weight.add(o * k + tap));
                            for (acc, x) in acc.iter_mut().zip(x) {
                                *acc = _mm512_fmadd_ps(wv, x, *acc);
                            }
                        }
                        tap += 1;
                    }
                }
            }
            let out = out.as_mut_ptr();
            for (o, acc) in acc.iter().enumerate() {
                let b = _mm512_set1_ps(self.bias[o]);
                for (v, acc) in acc.iter().enumerate() {
                    _mm512_storeu_ps(
                        out.add(o * plane + at + v * LANES_512),
                        _mm512_add_ps(b, *acc),
                    );
                }
            }
        }
    }

    /// Output channels per pass of [`weight_gradient`]: 4 channels x 3 kernel columns = 12
    /// accumulators, with 3 input vectors and 1 gradient vector: the 16 AVX registers. (2
    /// channels measured 10-25 % slower in `layer_times`.)
    const GRAD_CHANNELS: usize = 4;
    // `supports` checks whole tiles of `TILE_CHANNELS`; they must split into passes.
    const _: () = assert!(TILE_CHANNELS.is_multiple_of(GRAD_CHANNELS));

    /// Output rows per band in [`weight_gradient`]: a band's gradient rows (`GRAD_CHANNELS`) and
    /// input rows stay in the L1 cache across the `C x 3` passes over it.
    const GRAD_BAND_ROWS: usize = 8;

    /// See [`super::weight_gradient`]. Safety: the CPU has AVX2 and FMA, and the slices have the
    /// lengths that function asserts.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn weight_gradient(
        d: &ConvDims,
        image: &[f32],
        grad_output: &[f32],
        grad_weight: &mut [f32],
    ) {
        let (h, w, oh, ow) = (d.height, d.width, d.out_height(), d.out_width());
        let (plane, k) = (oh * ow, d.patch_len());
        // The row's last `ow % 8` pixels, loaded under a mask (zeros elsewhere, no reads past
        // the row's end).
        let tail = ow % LANES;
        let tail_mask = {
            let lanes: [i32; LANES] = std::array::from_fn(|i| if i < tail { -1 } else { 0 });
            _mm256_loadu_si256(lanes.as_ptr().cast())
        };
        // Per weight, 8 lane sums carried from band to band; summed across lanes at the end.
        let mut lane_sums = vec![_mm256_setzero_ps(); d.weight_len()];
        let (image, grad) = (image.as_ptr(), grad_output.as_ptr());
        for first_row in (0..oh).step_by(GRAD_BAND_ROWS) {
            let rows = first_row..(first_row + GRAD_BAND_ROWS).min(oh);
            for o0 in (0..d.out_channels).step_by(GRAD_CHANNELS) {
                for c in 0..d.in_channels {
                    for ky in 0..KERNEL {
                        // Weights (o0 + o, c, ky, 0..3): lane_sums[at(o)..at(o) + 3].
                        let at = |o: usize| (o0 + o) * k + (c * KERNEL + ky) * KERNEL;
                        let mut acc = [[_mm256_setzero_ps(); KERNEL]; GRAD_CHANNELS];
                        for (o, acc) in acc.iter_mut().enumerate() {
                            acc.copy_from_slice(&lane_sums[at(o)..at(o) + KERNEL]);
                        }
                        for y in rows.clone() {
                            let g_row = grad.add(o0 * plane + y * ow);
                            let in_row = image.add((c * h + y + ky) * w);
                            let mut x = 0;
                            while x + LANES <= ow {
                                let input: [__m256; KERNEL] =
                                    std::array::from_fn(|kx| _mm256_loadu_ps(in_row.add(x + kx)));
                                for (o, acc) in acc.iter_mut().enumerate() {
                                    let g = _mm256_loadu_ps(g_row.add(o * plane + x));
                                    for (acc, input) in acc.iter_mut().zip(input) {
                                        *acc = _mm256_fmadd_ps(g, input, *acc);
                                    }
                                }
                                x += LANES;
                            }
                            if tail > 0 {
                                let input: [__m256; KERNEL] = std::array::from_fn(|kx| {
                                    _mm256_maskload_ps(in_row.add(x + kx), tail_mask)
                                });
                                for (o, acc) in acc.iter_mut().enumerate() {
                                    let g = _mm256_maskload_ps(g_row.add(o * plane + x), tail_mask);
                                    for (acc, input) in acc.iter_mut().zip(input) {
                                        *acc = _mm256_fmadd_ps(g, input, *acc);
                                    }
                                }
                            }
                        }
                        for (o, acc) in acc.iter().enumerate() {
                            lane_sums[at(o)..at(o) + KERNEL].copy_from_slice(acc);
                        }
                    }
                }
            }
        }
        for (gw, sums) in grad_weight.iter_mut().zip(&lane_sums) {
            let mut lanes = [0.0f32; LANES];
            _mm256_storeu_ps(lanes.as_mut_ptr(), *sums);
            *gw = lanes.iter().sum();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::{conv::conv_forward_rows_gemm, test_fixtures::test_values};

    /// The direct kernel against the im2col + GEMM path, bit for bit: the first block's sizes,
    /// rows whose last vector overlaps (widths 37, 29, 34), 1 to 56 input channels (patches up to
    /// the GEMM's depth block), whole images and bands of rows.
    #[test]
    fn direct_forward_equals_gemm_bit_for_bit() {
        for path in [VectorPath::Avx2Fma, VectorPath::Avx512] {
            if path.is_supported() {
                direct_forward_equals_gemm_on(path);
            } else {
                eprintln!("skipped the {path} path: this CPU does not have it");
            }
        }
    }

    fn direct_forward_equals_gemm_on(path: VectorPath) {
        let dims = [
            (3, 16, 150, 150),
            (3, 4, 9, 37),
            (1, 8, 12, 10),
            (2, 12, 20, 29),
            (3, 16, 11, 34),
            (16, 32, 74, 74),
            (32, 64, 36, 36),
            (56, 8, 12, 17),
            // Widths around AVX-512's 16 and 32 pixels; 4-channel tiles on that path.
            (3, 8, 5, 18),
            (3, 4, 7, 34),
            (2, 16, 6, 35),
            (3, 16, 6, 50),
        ];
        for (seed, &(c, o, h, w)) in dims.iter().enumerate() {
            let d = ConvDims {
                batch: 1,
                in_channels: c,
                out_channels: o,
                height: h,
                width: w,
            };
            assert!(supports(&d) && d.patch_len() <= ONE_DEPTH_BLOCK, "{d:?}");
            let seed = seed as u32 * 3;
            let image = test_values(d.input_len(), seed + 1);
            let weight = test_values(d.weight_len(), seed + 2);
            let bias = test_values(o, seed + 3);
            for rows in [0..d.out_height(), 1..d.out_height().min(4)] {
                let len = o * rows.len() * d.out_width();
                let (mut direct, mut gemm) = (vec![f32::NAN; len], vec![f32::NAN; len]);
                forward_rows_on(path, &d, &image, &weight, &bias, rows.clone(), &mut direct);
                conv_forward_rows_gemm(&d, &image, &weight, &bias, rows.clone(), &mut gemm);
                for (i, (a, b)) in direct.iter().zip(&gemm).enumerate() {
                    assert_eq!(
                        a.to_bits(),
                        b.to_bits(),
                        "{path}: {d:?} rows {rows:?} [{i}]: {a} vs {b}"
                    );
                }
            }
        }
    }

    /// The direct weight gradient against a naive sum in f64: the first block's size, rows
    /// with and without a masked tail (widths 150, 13, 17), bands that end early (heights 6, 20).
    #[test]
    fn direct_weight_gradient_matches_naive_sum() {
        if !VectorPath::Avx2Fma.is_supported() {
            eprintln!("skipped: the direct weight gradient needs AVX2 and FMA");
            return;
        }
        for (seed, &(c, o, h, w)) in [
            (3, 16, 150, 150),
            (3, 4, 6, 13),
            (2, 8, 20, 17),
            (1, 4, 11, 10),
        ]
        .iter()
        .enumerate()
        {
            let d = ConvDims {
                batch: 1,
                in_channels: c,
                out_channels: o,
                height: h,
                width: w,
            };
            let seed = seed as u32 * 2;
            let image = test_values(d.input_len(), seed + 1);
            let grad_output = test_values(d.output_len(), seed + 2);
            let mut direct = vec![f32::NAN; d.weight_len()];
            weight_gradient(&d, &image, &grad_output, &mut direct);
            let (oh, ow) = (d.out_height(), d.out_width());
            for (i, &got) in direct.iter().enumerate() {
                let (o, c, ky, kx) = (i / (c * 9), i / 9 % c, i / 3 % 3, i % 3);
                let mut sum = 0.0f64;
                for y in 0..oh {
                    for x in 0..ow {
                        let g = grad_output[(o * oh + y) * ow + x] as f64;
                        sum += g * image[(c * h + y + ky) * w + x + kx] as f64;
                    }
                }
                // Each sum has up to 21,904 products of values in [-1, 1).
                let tolerance = 1e-6 * (oh * ow) as f64;
                assert!(
                    (got as f64 - sum).abs() <= tolerance,
                    "{d:?} [{i}]: {got} vs {sum}"
                );
            }
        }
    }

    /// Sizes whose lengths would wrap around never reach the kernels, which index by the sizes:
    /// a 1x1 image (its output side wraps to `usize::MAX`) and a row so long that the image's
    /// length overflows.
    #[test]
    fn sizes_that_wrap_are_not_supported() {
        let dims = |c, h, w| ConvDims {
            batch: 1,
            in_channels: c,
            out_channels: 4,
            height: h,
            width: w,
        };
        assert!(!supports(&dims(3, 1, 1)));
        assert!(!supports(&dims(3, 2, 20)));
        assert!(!supports(&dims(1, 4, (1 << 62) + 10)));
        assert!(
            !supports(&dims(3, 20, 9)),
            "an output row shorter than a vector"
        );
        assert_eq!(
            supports(&dims(3, 20, 10)),
            VectorPath::Avx2Fma.is_supported()
        );
    }

    /// The teaching net's first block runs the direct kernels; the second block's forward pass
    /// and input gradient run direct kernels on the AVX-512 path only; everything else runs the
    /// GEMM. (The first block computes no input gradient.)
    #[test]
    fn which_blocks_run_the_direct_kernels() {
        let block = |c, o, side| ConvDims {
            batch: 10,
            in_channels: c,
            out_channels: o,
            height: side,
            width: side,
        };
        let path = VectorPath::active();
        let first = block(3, 16, 150);
        assert_eq!(forward_applies(&first), path >= VectorPath::Avx2Fma);
        assert_eq!(weight_gradient_applies(&first), path >= VectorPath::Avx2Fma);
        let second = block(16, 32, 74);
        assert_eq!(forward_applies(&second), path == VectorPath::Avx512);
        assert!(!weight_gradient_applies(&second));
        assert_eq!(
            super::super::input_gradient::applies(&second),
            path == VectorPath::Avx512
        );
        for (c, o, side) in [(32, 64, 36), (64, 64, 17), (64, 128, 7)] {
            assert!(!forward_applies(&block(c, o, side)));
            assert!(!weight_gradient_applies(&block(c, o, side)));
            assert!(!super::super::input_gradient::applies(&block(c, o, side)));
        }
    }
}
