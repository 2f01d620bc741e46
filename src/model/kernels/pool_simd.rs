//! 2x2 max-pooling of 8 windows at a time with AVX2, for
//! [`maxpool_image`](super::pool::maxpool_image), where the process's [`VectorPath`] is AVX2 or
//! AVX-512 (the AVX-512 path pools with these AVX2 instructions: see docs/BENCHMARKS.md for why
//! it has no wider pooling).
//!
//! The scalar loop compares each window's four values one after the other, with a branch per
//! comparison that the CPU cannot predict (which value wins is random). In the first block that
//! took about as long as the convolution itself (1.3 ms per batch of 10). Here the same
//! comparisons run on 8 windows at once, as blends: same order, same strict `>` (the first
//! maximum wins), a NaN wins: bit-identical outputs and winners (the tests below check this).

use super::cpu::VectorPath;
use super::lanes::LANES;
use super::pool::Winner;

/// Pools the first windows of one row pair (`top` and `bottom` hold 2 values per window), 8 at
/// a time, into `out` and `win`; returns how many windows it did (a multiple of 8; the caller
/// does the rest). With `relu`, each value goes through [`relu`](super::relu::relu) first.
pub(super) fn pool_row(
    top: &[f32],
    bottom: &[f32],
    out: &mut [f32],
    win: &mut [Winner],
    relu: bool,
) -> usize {
    let groups = out.len() / LANES;
    assert!(top.len() >= 2 * LANES * groups && bottom.len() >= 2 * LANES * groups);
    assert!(win.len() >= LANES * groups);
    #[cfg(target_arch = "x86_64")]
    if VectorPath::active() >= VectorPath::Avx2Fma {
        // SAFETY: the active path is supported, so AVX2 is present; the asserts above bound
        // every index read or written.
        unsafe { x86::pool_groups(groups, top, bottom, out, win, relu) };
        return LANES * groups;
    }
    0
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{Winner, LANES};

    /// The even- and odd-indexed values of 16 consecutive floats (the left and right values of
    /// 8 windows), each in window order.
    #[target_feature(enable = "avx2")]
    #[inline]
    unsafe fn left_right(values: *const f32) -> (__m256, __m256) {
        let (a, b) = (_mm256_loadu_ps(values), _mm256_loadu_ps(values.add(LANES)));
        // Per 128-bit half: [a0 a2 b0 b2 | a4 a6 b4 b6], then the 64-bit pairs into order.
        let even = _mm256_shuffle_ps::<0b10_00_10_00>(a, b);
        let odd = _mm256_shuffle_ps::<0b11_01_11_01>(a, b);
        let order = |v: __m256| {
            _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(v)))
        };
        (order(even), order(odd))
    }

    /// Safety: the CPU has AVX2; `top` and `bottom` hold `16 * groups` values, `out` and `win`
    /// `8 * groups`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn pool_groups(
        groups: usize,
        top: &[f32],
        bottom: &[f32],
        out: &mut [f32],
        win: &mut [Winner],
        relu: bool,
    ) {
        let zero = _mm256_setzero_ps();
        // relu(x) = 0 where x < 0, else x (a NaN stays a NaN), as `super::super::relu`.
        let act = |v: __m256| {
            if relu {
                _mm256_blendv_ps(v, zero, _mm256_cmp_ps::<_CMP_LT_OQ>(v, zero))
            } else {
                v
            }
        };
        for g in 0..groups {
            let (t0, t1) = left_right(top.as_ptr().add(2 * LANES * g));
            let (b0, b1) = left_right(bottom.as_ptr().add(2 * LANES * g));
            let (mut best, mut winner) = (act(t0), _mm256_setzero_si256());
            for (code, candidate) in [(1, t1), (2, b0), (3, b1)] {
                let candidate = act(candidate);
                // candidate > best || candidate is NaN: the scalar loop's test.
                let beats = _mm256_or_ps(
                    _mm256_cmp_ps::<_CMP_GT_OQ>(candidate, best),
                    _mm256_cmp_ps::<_CMP_UNORD_Q>(candidate, candidate),
                );
                best = _mm256_blendv_ps(best, candidate, beats);
                winner =
                    _mm256_blendv_epi8(winner, _mm256_set1_epi32(code), _mm256_castps_si256(beats));
            }
            _mm256_storeu_ps(out.as_mut_ptr().add(LANES * g), best);
            let mut codes = [0i32; LANES];
            _mm256_storeu_si256(codes.as_mut_ptr().cast(), winner);
            for (w, code) in win[LANES * g..LANES * (g + 1)].iter_mut().zip(codes) {
                *w = code as Winner;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kernels::pool::{pool_row_pair, pool_windows};

    /// The vector path against the scalar loop, bit for bit (values and winners), on values
    /// with many ties, negative values, zeros of both signs and NaNs, with and without ReLU.
    #[test]
    fn vector_pooling_equals_the_scalar_loop() {
        let specials = [0.0, -0.0, f32::NAN, -1.5, 2.0];
        let mut state = 12345u32;
        let mut next = || {
            state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            state >> 8
        };
        for windows in [8, 13, 40, 74] {
            let mut row = || -> Vec<f32> {
                (0..2 * windows)
                    .map(|_| match next() % 8 {
                        0..=2 => specials[(next() % 5) as usize],
                        // Few distinct values: many ties.
                        _ => (next() % 7) as f32 - 3.0,
                    })
                    .collect()
            };
            let (top, bottom) = (row(), row());
            for relu_first in [false, true] {
                let (mut out, mut win) = (vec![9.0; windows], vec![99; windows]);
                pool_row_pair(&top, &bottom, &mut out, &mut win, relu_first);
                let (mut expected, mut expected_win) = (vec![9.0; windows], vec![99; windows]);
                pool_windows(&top, &bottom, &mut expected, &mut expected_win, relu_first);
                for i in 0..windows {
                    assert_eq!(
                        out[i].to_bits(),
                        expected[i].to_bits(),
                        "{windows} windows, relu {relu_first}, [{i}]"
                    );
                    assert_eq!(
                        win[i], expected_win[i],
                        "{windows} windows, relu {relu_first}, [{i}]"
                    );
                }
                // On an AVX2 CPU the comparison above did test the vector path.
                #[cfg(target_arch = "x86_64")]
                if VectorPath::active() >= VectorPath::Avx2Fma {
                    let (mut o, mut w) = (vec![0.0; windows], vec![0; windows]);
                    let done = pool_row(&top, &bottom, &mut o, &mut w, relu_first);
                    assert_eq!(done, windows / LANES * LANES);
                }
            }
        }
    }
}
