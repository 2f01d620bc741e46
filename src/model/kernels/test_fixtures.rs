//! Fixtures shared by the kernels' unit tests: deterministic values, the winner kernels' test
//! cases ([`WinnerCase`]) and a bit-for-bit comparison.

use super::cpu::VectorPath;
use super::dims::ConvDims;
use super::fused::conv3x3_relu_maxpool_forward;
use super::pool::{expand_to_winners, PoolDims, Winner, NO_GRADIENT};

/// Deterministic pseudo-random values in [-1, 1) for the kernels' tests (an LCG).
pub(super) fn test_values(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

/// One image's case for the winner kernels' tests: sizes `(C, O, H, W)`, an image and
/// weights, the winners of its pooling from the real forward pass (some windows blocked by the
/// ReLU), and a pooled gradient with some exact +0.0 and -0.0; `None` (named as skipped) where
/// the active vector path does not run the kernel (`applies`), which must then be below AVX2.
pub(super) struct WinnerCase {
    pub(super) d: ConvDims,
    pub(super) p: PoolDims,
    pub(super) image: Vec<f32>,
    pub(super) weight: Vec<f32>,
    pub(super) winners: Vec<Winner>,
    pub(super) grad_pooled: Vec<f32>,
}

impl WinnerCase {
    /// The sizes both winner kernels are tested at: the teaching net's blocks 2-5, odd sides
    /// (whose last row and column the pooling drops), channels a multiple of 8 but not 16, few
    /// output channels, planes whose pixel count is not a multiple of 8.
    pub(super) const SIZES: [(usize, usize, usize, usize); 8] = [
        (16, 32, 74, 74),
        (32, 64, 36, 36),
        (64, 64, 17, 17),
        (64, 128, 7, 7),
        (8, 5, 9, 12),
        (16, 70, 41, 23),
        (24, 3, 60, 61),
        (8, 4, 8, 9),
    ];

    pub(super) fn new(
        (c, o, h, w): (usize, usize, usize, usize),
        seed: u32,
        applies: impl Fn(&ConvDims) -> bool,
    ) -> Option<Self> {
        let d = ConvDims {
            batch: 1,
            in_channels: c,
            out_channels: o,
            height: h,
            width: w,
        };
        if !applies(&d) {
            let path = VectorPath::active();
            assert!(path < VectorPath::Avx2Fma, "{c}->{o} @ {h}x{w} on {path}");
            eprintln!("skipped {c}->{o} @ {h}x{w}: the {path} path does not run it");
            return None;
        }
        let image = test_values(d.input_len(), seed + 1);
        let weight: Vec<f32> = test_values(d.weight_len(), seed + 2)
            .iter()
            .map(|v| v * 0.3)
            .collect();
        let p = PoolDims {
            batch: 1,
            channels: o,
            height: d.out_height(),
            width: d.out_width(),
        };
        let (mut pooled, mut winners) = (vec![0.0; p.output_len()], vec![0; p.output_len()]);
        let bias = test_values(o, seed + 3);
        conv3x3_relu_maxpool_forward(&d, &image, &weight, &bias, &mut pooled, &mut winners);
        assert!(
            winners.contains(&NO_GRADIENT),
            "the test needs blocked windows"
        );
        let mut grad_pooled = test_values(p.output_len(), seed + 4);
        for (j, g) in grad_pooled.iter_mut().enumerate().step_by(7) {
            *g = if j % 2 == 0 { 0.0 } else { -0.0 };
        }
        Some(Self {
            d,
            p,
            image,
            weight,
            winners,
            grad_pooled,
        })
    }

    /// The dense gradient of the activations (`O x OH x OW`) that the GEMM path reads.
    pub(super) fn expanded(&self) -> Vec<f32> {
        let mut expanded = vec![f32::NAN; self.d.output_len()];
        expand_to_winners(&self.p, &self.winners, &self.grad_pooled, &mut expanded);
        expanded
    }
}

/// How many values of `a` and `b` differ in their bits, and the first index where they do.
pub(super) fn bit_differences(a: &[f32], b: &[f32]) -> (usize, Option<usize>) {
    assert_eq!(a.len(), b.len());
    let differs = |(x, y): (&f32, &f32)| x.to_bits() != y.to_bits();
    (
        a.iter().zip(b).filter(|&pair| differs(pair)).count(),
        a.iter().zip(b).position(differs),
    )
}
