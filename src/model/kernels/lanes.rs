//! The vector widths every kernel counts in ([`LANES`], [`LANES_512`]), and on x86-64 the few
//! vector operations the winner kernels need ([`super::winner_weight_gradient`],
//! [`super::winner_input_gradient`]), on AVX-512 and on AVX2 + FMA, so that each kernel is
//! written once, and the channels-last copies both make. The methods are `#[inline(always)]`:
//! inlined into a kernel function compiled with `#[target_feature]`, they become single
//! instructions.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

/// Floats per AVX register.
pub(super) const LANES: usize = 8;
/// Floats per AVX-512 register.
pub(super) const LANES_512: usize = 16;

/// The few vector operations the winner kernels need, on one instruction set.
#[cfg(target_arch = "x86_64")]
pub(super) trait Lanes: Copy {
    /// Floats per vector.
    const LEN: usize;
    unsafe fn zero() -> Self;
    unsafe fn splat(v: f32) -> Self;
    unsafe fn load(from: *const f32) -> Self;
    unsafe fn store(self, to: *mut f32);
    /// `a · b + c`, rounded once (a fused multiply-add, as gemm's microkernel does).
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self;
    unsafe fn add(a: Self, b: Self) -> Self;
}

#[cfg(target_arch = "x86_64")]
impl Lanes for __m512 {
    const LEN: usize = LANES_512;
    #[inline(always)]
    unsafe fn zero() -> Self {
        _mm512_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        _mm512_set1_ps(v)
    }
    #[inline(always)]
    unsafe fn load(from: *const f32) -> Self {
        _mm512_loadu_ps(from)
    }
    #[inline(always)]
    unsafe fn store(self, to: *mut f32) {
        _mm512_storeu_ps(to, self)
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        _mm512_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        _mm512_add_ps(a, b)
    }
}

#[cfg(target_arch = "x86_64")]
impl Lanes for __m256 {
    const LEN: usize = LANES;
    #[inline(always)]
    unsafe fn zero() -> Self {
        _mm256_setzero_ps()
    }
    #[inline(always)]
    unsafe fn splat(v: f32) -> Self {
        _mm256_set1_ps(v)
    }
    #[inline(always)]
    unsafe fn load(from: *const f32) -> Self {
        _mm256_loadu_ps(from)
    }
    #[inline(always)]
    unsafe fn store(self, to: *mut f32) {
        _mm256_storeu_ps(to, self)
    }
    #[inline(always)]
    unsafe fn mul_add(a: Self, b: Self, c: Self) -> Self {
        _mm256_fmadd_ps(a, b, c)
    }
    #[inline(always)]
    unsafe fn add(a: Self, b: Self) -> Self {
        _mm256_add_ps(a, b)
    }
}

/// `to[p * channels + c] = from[c * plane + p]` for `p < pixels`: `channels` planes (`plane`
/// floats apart) copied channels-last, 8 channels x 8 pixels at a time (an 8x8 transpose in
/// registers), the last `pixels % 8` pixels one by one.
///
/// Safety: the CPU has AVX; `from` and `to` can be read and written at every index above;
/// `channels` is a multiple of 8.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
pub(super) unsafe fn planes_to_channels_last(
    channels: usize,
    pixels: usize,
    from: *const f32,
    plane: usize,
    to: *mut f32,
) {
    let whole = pixels - pixels % 8;
    for first in (0..channels).step_by(8) {
        for pixel in (0..whole).step_by(8) {
            let rows: [__m256; 8] =
                std::array::from_fn(|c| _mm256_loadu_ps(from.add((first + c) * plane + pixel)));
            for (i, column) in transpose_8x8(rows).into_iter().enumerate() {
                _mm256_storeu_ps(to.add((pixel + i) * channels + first), column);
            }
        }
        for pixel in whole..pixels {
            for c in first..first + 8 {
                *to.add(pixel * channels + c) = *from.add(c * plane + pixel);
            }
        }
    }
}

/// The inverse of [`planes_to_channels_last`]: `to[c * plane + p] = from[p * channels + c]`.
///
/// Safety: as [`planes_to_channels_last`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
#[inline]
pub(super) unsafe fn channels_last_to_planes(
    channels: usize,
    pixels: usize,
    from: *const f32,
    to: *mut f32,
    plane: usize,
) {
    let whole = pixels - pixels % 8;
    for first in (0..channels).step_by(8) {
        for pixel in (0..whole).step_by(8) {
            let rows: [__m256; 8] =
                std::array::from_fn(|i| _mm256_loadu_ps(from.add((pixel + i) * channels + first)));
            for (c, row) in transpose_8x8(rows).into_iter().enumerate() {
                _mm256_storeu_ps(to.add((first + c) * plane + pixel), row);
            }
        }
        for pixel in whole..pixels {
            for c in first..first + 8 {
                *to.add(c * plane + pixel) = *from.add(pixel * channels + c);
            }
        }
    }
}

/// The transpose of 8 rows of 8 floats (the usual unpack, shuffle and lane-swap steps).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn transpose_8x8(r: [__m256; 8]) -> [__m256; 8] {
    let t: [__m256; 8] = [
        _mm256_unpacklo_ps(r[0], r[1]),
        _mm256_unpackhi_ps(r[0], r[1]),
        _mm256_unpacklo_ps(r[2], r[3]),
        _mm256_unpackhi_ps(r[2], r[3]),
        _mm256_unpacklo_ps(r[4], r[5]),
        _mm256_unpackhi_ps(r[4], r[5]),
        _mm256_unpacklo_ps(r[6], r[7]),
        _mm256_unpackhi_ps(r[6], r[7]),
    ];
    let u: [__m256; 8] = [
        _mm256_shuffle_ps::<0x44>(t[0], t[2]),
        _mm256_shuffle_ps::<0xEE>(t[0], t[2]),
        _mm256_shuffle_ps::<0x44>(t[1], t[3]),
        _mm256_shuffle_ps::<0xEE>(t[1], t[3]),
        _mm256_shuffle_ps::<0x44>(t[4], t[6]),
        _mm256_shuffle_ps::<0xEE>(t[4], t[6]),
        _mm256_shuffle_ps::<0x44>(t[5], t[7]),
        _mm256_shuffle_ps::<0xEE>(t[5], t[7]),
    ];
    [
        _mm256_permute2f128_ps::<0x20>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x20>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x20>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x20>(u[3], u[7]),
        _mm256_permute2f128_ps::<0x31>(u[0], u[4]),
        _mm256_permute2f128_ps::<0x31>(u[1], u[5]),
        _mm256_permute2f128_ps::<0x31>(u[2], u[6]),
        _mm256_permute2f128_ps::<0x31>(u[3], u[7]),
    ]
}
