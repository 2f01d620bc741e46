//! The input gradient of a 3x3 convolution, computed directly on the AVX-512 path.
//!
//! By im2col's adjoint, one image's input gradient is `col2im(Wᵀ dY)`: a GEMM writes the column
//! matrix `Wᵀ dY` (`C*9 x OH*OW`, 3 MB per image in the second block), and col2im adds each
//! entry back onto the pixel it came from. With only `O` (32 in the second block) products per
//! entry, that GEMM stores a result for every 32 multiply-adds and ran at about half the rate
//! of the forward pass. Here each input row is computed in place instead: for a tile of 8 input
//! channels x 32 pixels (16 of AVX-512's 32 registers), and for each kernel offset `(ky, kx)` in
//! turn, the `O` products of that offset are fused-multiply-added into a register from zero,
//! and the sum is added to the gradient. That is exactly what the GEMM and col2im compute, in
//! the same order, so the bits are the same (the tests compare them):
//!
//! `grad_in[c][y][x] += t(0,0); += t(0,1); … += t(2,2)`, with
//! `t(ky,kx) = 0 + W[0][c][ky][kx]·dY[0][y-ky][x-kx] + W[1][c][ky][kx]·dY[1][y-ky][x-kx] + …`,
//!
//! skipping the offsets that fall outside the output (under a mask, so nothing is added there).
//! Each `t` is one depth block of the GEMM as long as `O` is at most 512 (gemm 0.18's smallest
//! depth block, see `direct.rs`).
//!
//! In a training step the fused block sums its input gradient from the pooling winners instead
//! (`winner_input_gradient.rs`, same bits); this kernel serves the plain [`Conv2D`] layer, whose
//! output gradient can be anything (Grad-CAM and saliency maps run it).
//!
//! [`Conv2D`]: crate::model::layers::Conv2D

use super::cpu::VectorPath;
use super::dims::{ConvDims, KERNEL};
use super::matmul::ONE_DEPTH_BLOCK;

/// Input channels per register tile.
const TILE_INPUT_CHANNELS: usize = 8;

/// Output rows at least this long run the direct kernel (the same rule as the direct forward
/// pass's `WIDE_ROW`): with 32-pixel tiles, shorter rows waste too many lanes. Measured per
/// image, one thread, on a 2-core AMD EPYC with AVX-512: the second block (72-pixel rows) 0.49
/// against 0.57 ms by GEMM and col2im; the third (34) 0.58 against 0.45 ms; the fourth (15)
/// 0.33 against 0.20 ms (`docs/BENCHMARKS.md`, "Every CPU").
const MIN_OUT_WIDTH: usize = 64;

/// Whether the input gradient runs [`add`]: on the AVX-512 path, for sizes [`supports`] allows
/// and output rows of at least [`MIN_OUT_WIDTH`] pixels (of the teaching net's blocks, only the
/// second). Elsewhere the GEMM and col2im run, with the same bits.
pub(super) fn applies(d: &ConvDims) -> bool {
    // `supports` first: it checks that the output sides do not wrap.
    supports(d) && VectorPath::active() == VectorPath::Avx512 && d.out_width() >= MIN_OUT_WIDTH
}

/// Whether [`add`] can compute the input gradient of a convolution of sizes `d` on this CPU with
/// the GEMM's bits: whole tiles of input channels; 3 to [`ONE_DEPTH_BLOCK`] output channels and
/// at least 2 output pixels (gemm 0.18 takes other routes, with other roundings, for a depth of 1
/// or 2 or a single column); lengths that do not overflow; and AVX-512 (F, with AVX2 and FMA).
fn supports(d: &ConvDims) -> bool {
    d.height >= KERNEL
        && d.width >= KERNEL
        && d.in_channels.is_multiple_of(TILE_INPUT_CHANNELS)
        && (3..=ONE_DEPTH_BLOCK).contains(&d.out_channels)
        && d.lengths_fit()
        && d.out_pixels() >= 2
        && VectorPath::Avx512.is_supported()
}

/// Adds one image's input gradient to `grad_input` (`C x H x W`), from the weights
/// (`O x C x 3 x 3`) and the gradient of the output (`O x (H-2) x (W-2)`). The same bits as
/// the GEMM `Wᵀ dY` followed by col2im. Panics unless [`supports`] is true.
pub(super) fn add(d: &ConvDims, weight: &[f32], grad_output: &[f32], grad_input: &mut [f32]) {
    assert!(
        supports(d),
        "direct input gradient called where it does not apply"
    );
    assert_eq!(weight.len(), d.weight_len());
    assert_eq!(grad_output.len(), d.output_len());
    assert_eq!(grad_input.len(), d.input_len());
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `supports` checked that the CPU has AVX-512 F, AVX2 and FMA; the asserts above
    // bound every index the kernel reads or writes (see `x86::add`).
    unsafe {
        x86::add(d, weight, grad_output, grad_input)
    }
    #[cfg(not(target_arch = "x86_64"))]
    unreachable!("supports() is false on this architecture")
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{ConvDims, KERNEL, TILE_INPUT_CHANNELS};
    use crate::model::kernels::lanes::LANES_512;

    /// See [`super::add`]. Safety: the CPU has AVX-512 F, AVX2 and FMA, and the slices have the
    /// lengths that function asserts.
    #[target_feature(enable = "avx512f,avx2,fma")]
    pub(super) unsafe fn add(
        d: &ConvDims,
        weight: &[f32],
        grad_output: &[f32],
        grad_input: &mut [f32],
    ) {
        for y in 0..d.height {
            for first_channel in (0..d.in_channels).step_by(TILE_INPUT_CHANNELS) {
                let mut x = 0;
                while x < d.width {
                    let tile = Tile {
                        d,
                        weight,
                        grad_output,
                        first_channel,
                        y,
                        x,
                    };
                    if d.width - x > LANES_512 {
                        tile.add_vectors::<2>(grad_input);
                        x += 2 * LANES_512;
                    } else {
                        tile.add_vectors::<1>(grad_input);
                        x += LANES_512;
                    }
                }
            }
        }
    }

    /// Input pixels `(y, x ..)` of channels `first_channel .. + TILE_INPUT_CHANNELS`.
    struct Tile<'a> {
        d: &'a ConvDims,
        weight: &'a [f32],
        grad_output: &'a [f32],
        first_channel: usize,
        y: usize,
        x: usize,
    }

    impl Tile<'_> {
        /// Adds the gradient of the tile's `V` vectors of 16 pixels (those inside the row).
        #[target_feature(enable = "avx512f,avx2,fma")]
        #[inline]
        unsafe fn add_vectors<const V: usize>(&self, grad_input: &mut [f32]) {
            let d = self.d;
            let (h, w, oh, ow) = (d.height, d.width, d.out_height(), d.out_width());
            let (k, out_plane) = (d.patch_len(), oh * ow);
            let (weight, grad) = (self.weight.as_ptr(), self.grad_output.as_ptr());
            let grad_in = grad_input.as_mut_ptr();
            for ky in 0..KERNEL {
                // The output row this kernel row draws on, if there is one.
                let Some(oy) = self.y.checked_sub(ky).filter(|&oy| oy < oh) else {
                    continue;
                };
                for kx in 0..KERNEL {
                    // Pixel x draws on output column x - kx: lanes with x in kx .. kx + ow.
                    let masks: [__mmask16; V] = std::array::from_fn(|v| {
                        let start = self.x + v * LANES_512;
                        let lo = kx.saturating_sub(start).min(LANES_512);
                        let hi = (kx + ow).saturating_sub(start).min(LANES_512);
                        (((1u32 << hi) - 1) & !((1u32 << lo) - 1)) as __mmask16
                    });
                    let mut sums = [[_mm512_setzero_ps(); V]; TILE_INPUT_CHANNELS];
                    for o in 0..d.out_channels {
                        // dY[o][oy][x - kx ..]: the masked lanes are never read, so the address
                        // may point before the row (wrapping arithmetic, no out-of-bounds offset).
                        let row = grad.wrapping_add(o * out_plane + oy * ow + self.x);
                        let g: [__m512; V] = std::array::from_fn(|v| {
                            let at = row.wrapping_add(v * LANES_512).wrapping_sub(kx);
                            _mm512_maskz_loadu_ps(masks[v], at)
                        });
                        let taps = weight.add(o * k + self.first_channel * KERNEL * KERNEL);
                        for (c, sums) in sums.iter_mut().enumerate() {
                            let wv =
                                _mm512_set1_ps(*taps.add(c * KERNEL * KERNEL + ky * KERNEL + kx));
                            for (sum, g) in sums.iter_mut().zip(g) {
                                *sum = _mm512_fmadd_ps(wv, g, *sum);
                            }
                        }
                    }
                    for (c, sums) in sums.iter().enumerate() {
                        let at = ((self.first_channel + c) * h + self.y) * w + self.x;
                        for (v, sum) in sums.iter().enumerate() {
                            let dst = grad_in.add(at + v * LANES_512);
                            let old = _mm512_maskz_loadu_ps(masks[v], dst);
                            _mm512_mask_storeu_ps(dst, masks[v], _mm512_add_ps(old, *sum));
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::{im2col::col2im_add, matmul::matmul};

    /// Deterministic values in [-1, 1), with some `-0.0` among them.
    fn values(len: usize, seed: u32) -> Vec<f32> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|i| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if i % 97 == 5 {
                    -0.0
                } else {
                    (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
                }
            })
            .collect()
    }

    /// The direct input gradient against the GEMM and col2im, bit for bit: the teaching net's
    /// second to fifth blocks, rows of 4 to 74 pixels (partly masked vectors, one or two per
    /// tile), 3 output channels and 512, and a gradient that starts with `-0.0` in places. The
    /// inputs sit between NaNs and the gradient between sentinels: a lane read outside its slice
    /// would turn a result into NaN, a lane written outside would change a sentinel.
    #[test]
    fn direct_input_gradient_equals_gemm_and_col2im_bit_for_bit() {
        if !VectorPath::Avx512.is_supported() {
            eprintln!("skipped: the direct input gradient needs AVX-512 (the avx512 path)");
            return;
        }
        let sizes = [
            (16, 32, 74, 74),
            (32, 64, 36, 36),
            (64, 64, 17, 17),
            (64, 128, 7, 7),
            (8, 3, 3, 4),
            (8, 5, 4, 16),
            (16, 3, 5, 17),
            (8, 7, 6, 18),
            (24, 9, 3, 33),
            (8, 512, 4, 40),
        ];
        const PAD: usize = 40;
        let padded = |values: Vec<f32>, fill: f32| {
            let mut v = vec![fill; PAD];
            v.extend(values);
            v.extend([fill; PAD]);
            v
        };
        let inner = |v: &[f32]| v[PAD..v.len() - PAD].to_vec();
        for (seed, &(c, o, height, width)) in sizes.iter().enumerate() {
            let d = ConvDims {
                batch: 1,
                in_channels: c,
                out_channels: o,
                height,
                width,
            };
            assert!(supports(&d), "{d:?}");
            let seed = seed as u32 * 3;
            let weight = padded(values(d.weight_len(), seed + 1), f32::NAN);
            let grad_output = padded(values(d.output_len(), seed + 2), f32::NAN);
            let start = values(d.input_len(), seed + 3);
            let (k, n) = (d.patch_len(), d.out_pixels());
            let mut by_gemm = start.clone();
            let mut col = vec![0.0; k * n];
            let (w, g) = (inner(&weight), inner(&grad_output));
            matmul(k, n, o, &mut col, false, &w, (1, k), &g, (n, 1));
            col2im_add(&d, &col, &mut by_gemm);
            const SENTINEL: f32 = 12345.0;
            let mut direct = padded(start, SENTINEL);
            let end = direct.len() - PAD;
            add(
                &d,
                &weight[PAD..weight.len() - PAD],
                &grad_output[PAD..grad_output.len() - PAD],
                &mut direct[PAD..end],
            );
            for (i, (a, b)) in direct[PAD..end].iter().zip(&by_gemm).enumerate() {
                assert_eq!(a.to_bits(), b.to_bits(), "{d:?} [{i}]: {a} vs {b}");
            }
            assert!(
                direct[..PAD]
                    .iter()
                    .chain(&direct[end..])
                    .all(|&v| v == SENTINEL),
                "{d:?}: wrote outside the gradient"
            );
        }
    }

    /// Sizes the kernel cannot take never reach it.
    #[test]
    fn unsupported_sizes_are_refused() {
        let dims = |c, o, h, w| ConvDims {
            batch: 1,
            in_channels: c,
            out_channels: o,
            height: h,
            width: w,
        };
        assert!(!supports(&dims(12, 4, 10, 10)), "not whole channel tiles");
        assert!(
            !supports(&dims(8, 513, 10, 10)),
            "more than one depth block"
        );
        assert!(
            !supports(&dims(8, 2, 10, 10)),
            "gemm's own route for a depth of 2"
        );
        assert!(
            !supports(&dims(8, 4, 3, 3)),
            "gemm's own route for a single column"
        );
        assert!(!supports(&dims(8, 4, 2, 10)), "no output rows");
        assert!(
            !supports(&dims(8, 4, 10, (1 << 62) + 10)),
            "lengths overflow"
        );
        assert_eq!(
            supports(&dims(8, 4, 10, 10)),
            VectorPath::Avx512.is_supported()
        );
    }
}
