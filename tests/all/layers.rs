//! Each layer against a naive reference, and its gradients against finite differences.
//!
//! The references are written the obvious way (nested loops over every index) so that they are
//! easy to check by eye; the layers under test use im2col + GEMM (and, for the first block's
//! sizes, the direct kernels of `head_ct::model::kernels`) and recorded backward closures.

use dfdx::prelude::*;
use head_ct::model::{
    kernels::internals::{self as kernels, ConvDims, PoolDims},
    layers::{Conv2D, ConvBlock, MaxPool2D},
};
use rand::{rngs::StdRng, Rng, SeedableRng};

fn random_vec(rng: &mut StdRng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.gen_range(-1.0..1.0)).collect()
}

/// out[b][o][y][x] = bias[o] + Σ_c Σ_ky Σ_kx w[o][c][ky][kx] · in[b][c][y+ky][x+kx], in f64.
fn naive_conv(d: &ConvDims, input: &[f32], weight: &[f32], bias: &[f32]) -> Vec<f64> {
    let (oh, ow) = (d.height - 2, d.width - 2);
    let mut out = vec![0.0f64; d.batch * d.out_channels * oh * ow];
    for b in 0..d.batch {
        for o in 0..d.out_channels {
            for y in 0..oh {
                for x in 0..ow {
                    let mut acc = bias[o] as f64;
                    for c in 0..d.in_channels {
                        for ky in 0..3 {
                            for kx in 0..3 {
                                let w = weight[((o * d.in_channels + c) * 3 + ky) * 3 + kx];
                                let v = input[((b * d.in_channels + c) * d.height + y + ky)
                                    * d.width
                                    + x
                                    + kx];
                                acc += w as f64 * v as f64;
                            }
                        }
                    }
                    out[((b * d.out_channels + o) * oh + y) * ow + x] = acc;
                }
            }
        }
    }
    out
}

/// out[b][c][y][x] = max over the 2x2 window at (2y, 2x); odd last rows/columns ignored.
fn naive_pool(d: &PoolDims, input: &[f32]) -> Vec<f32> {
    let (oh, ow) = (d.height / 2, d.width / 2);
    let mut out = Vec::new();
    for b in 0..d.batch {
        for c in 0..d.channels {
            for y in 0..oh {
                for x in 0..ow {
                    let at = |dy: usize, dx: usize| {
                        input[((b * d.channels + c) * d.height + 2 * y + dy) * d.width + 2 * x + dx]
                    };
                    out.push(at(0, 0).max(at(0, 1)).max(at(1, 0)).max(at(1, 1)));
                }
            }
        }
    }
    out
}

fn assert_close(actual: &[f32], expected: &[f64], tol: f64, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: length");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        let err = (a as f64 - e).abs();
        assert!(
            err <= tol * (1.0 + e.abs()),
            "{what}[{i}]: got {a}, expected {e} (error {err:.2e})"
        );
    }
}

#[test]
fn conv_kernel_matches_naive_reference_on_random_sizes() {
    let mut rng = StdRng::seed_from_u64(10);
    for _ in 0..25 {
        let d = ConvDims {
            batch: rng.gen_range(1..5),
            in_channels: rng.gen_range(1..9),
            out_channels: rng.gen_range(1..13),
            height: rng.gen_range(3..20),
            width: rng.gen_range(3..20),
        };
        let input = random_vec(&mut rng, d.batch * d.input_len());
        let weight = random_vec(&mut rng, d.weight_len());
        let bias = random_vec(&mut rng, d.out_channels);
        let mut out = vec![f32::NAN; d.batch * d.output_len()];
        kernels::conv3x3_forward(&d, &input, &weight, &bias, &mut out);
        assert_close(
            &out,
            &naive_conv(&d, &input, &weight, &bias),
            1e-5,
            &format!("{d:?}"),
        );
    }
}

#[test]
fn conv_module_matches_naive_reference() {
    let dev = Cpu::seed_from_u64(11);
    let mut rng = StdRng::seed_from_u64(11);
    let conv = dev.build_module::<head_ct::model::layers::builders::Conv2D<3, 5>, f32>();
    for _ in 0..5 {
        let (b, h, w) = (
            rng.gen_range(1..4),
            rng.gen_range(3..17),
            rng.gen_range(3..17),
        );
        let d = ConvDims {
            batch: b,
            in_channels: 3,
            out_channels: 5,
            height: h,
            width: w,
        };
        let input = random_vec(&mut rng, d.batch * d.input_len());
        let x = dev.tensor_from_vec(input.clone(), (b, Const::<3>, h, w));
        let y = conv.forward(x);
        assert_eq!(*y.shape(), (b, Const::<5>, h - 2, w - 2));
        let expected = naive_conv(&d, &input, &conv.weight.as_vec(), &conv.bias.as_vec());
        assert_close(&y.as_vec(), &expected, 1e-5, "Conv2D module");
    }
}

#[test]
fn pool_matches_naive_reference_including_odd_sizes() {
    let dev = Cpu::seed_from_u64(12);
    let mut rng = StdRng::seed_from_u64(12);
    for _ in 0..25 {
        let d = PoolDims {
            batch: rng.gen_range(1..4),
            channels: rng.gen_range(1..6),
            height: rng.gen_range(2..16),
            width: rng.gen_range(2..16),
        };
        let input = random_vec(&mut rng, d.batch * d.input_len());
        let x = dev.tensor_from_vec(input.clone(), (d.batch, d.channels, d.height, d.width));
        let y = MaxPool2D.forward(x);
        assert_eq!(*y.shape(), (d.batch, d.channels, d.height / 2, d.width / 2));
        assert_eq!(y.as_vec(), naive_pool(&d, &input), "{d:?}");
    }
}

/// Checks d(loss)/d(param) of `loss = Σ output · r` (a fixed random `r`) for every entry of
/// `values` against a central finite difference. The loss is linear in each parameter, so the
/// difference quotient is exact up to rounding.
fn check_gradient(what: &str, values: &[f32], analytic: &[f32], loss_with: impl Fn(&[f32]) -> f64) {
    let eps = 1e-2f32;
    let mut worst = 0.0f64;
    for i in 0..values.len() {
        let mut plus = values.to_vec();
        plus[i] += eps;
        let mut minus = values.to_vec();
        minus[i] -= eps;
        let numeric = (loss_with(&plus) - loss_with(&minus)) / (2.0 * eps as f64);
        let err = (numeric - analytic[i] as f64).abs() / (1.0 + numeric.abs());
        worst = worst.max(err);
        assert!(
            err < 2e-3,
            "{what}[{i}]: backward gives {}, finite difference {numeric}",
            analytic[i]
        );
    }
    assert!(worst.is_finite());
}

#[test]
fn conv_gradients_match_finite_differences() {
    check_conv_gradients::<2, 3>(2, 6, 5, 13);
}

/// The sizes on which the first block's direct kernels run (3 input channels, output channels
/// in fours, rows of 8 or more outputs): here 11 per row, one vector and a masked tail of 3.
#[test]
fn conv_gradients_match_finite_differences_with_the_direct_kernels() {
    check_conv_gradients::<3, 4>(2, 5, 13, 14);
}

/// The input, weight and bias gradients of a [`Conv2D`] on a batch of `b` random `I x h x w`
/// images against finite differences of the naive convolution.
fn check_conv_gradients<const I: usize, const O: usize>(b: usize, h: usize, w: usize, seed: u64) {
    let dev = Cpu::seed_from_u64(seed);
    let mut rng = StdRng::seed_from_u64(seed);
    let conv = dev.build_module::<head_ct::model::layers::builders::Conv2D<I, O>, f32>();
    // A nonzero bias so that the bias gradient is not trivially tested at zero.
    let mut conv = conv;
    conv.bias = dev.tensor_from_vec(random_vec(&mut rng, O), (Const::<O>,));
    let input = random_vec(&mut rng, b * I * h * w);
    let r = random_vec(&mut rng, b * O * (h - 2) * (w - 2));
    let r_t = dev.tensor_from_vec(r.clone(), (b, Const::<O>, h - 2, w - 2));

    let x = dev.tensor_from_vec(input.clone(), (b, Const::<I>, h, w));
    let y = conv.forward(x.leaky_trace());
    let g = (y * r_t).sum().backward();
    let (gx, gw, gb) = (
        g.get(&x).as_vec(),
        g.get(&conv.weight).as_vec(),
        g.get(&conv.bias).as_vec(),
    );

    let weight = conv.weight.as_vec();
    let bias = conv.bias.as_vec();
    let d = ConvDims {
        batch: b,
        in_channels: I,
        out_channels: O,
        height: h,
        width: w,
    };
    let loss = |inp: &[f32], wt: &[f32], bs: &[f32]| -> f64 {
        naive_conv(&d, inp, wt, bs)
            .iter()
            .zip(&r)
            .map(|(o, r)| o * *r as f64)
            .sum()
    };
    check_gradient("d/d input", &input, &gx, |v| loss(v, &weight, &bias));
    check_gradient("d/d weight", &weight, &gw, |v| loss(&input, v, &bias));
    check_gradient("d/d bias", &bias, &gb, |v| loss(&input, &weight, v));
}

#[test]
fn pool_gradients_match_finite_differences() {
    let dev = Cpu::seed_from_u64(14);
    let (b, c, h, w) = (2usize, 2usize, 5usize, 7usize);
    let n = b * c * h * w;
    // Distinct values 0.05 apart, shuffled: no ties within the finite-difference step.
    let mut rng = StdRng::seed_from_u64(14);
    let mut input: Vec<f32> = (0..n).map(|i| i as f32 * 0.05).collect();
    for i in (1..n).rev() {
        input.swap(i, rng.gen_range(0..=i));
    }
    let d = PoolDims {
        batch: b,
        channels: c,
        height: h,
        width: w,
    };
    let r = random_vec(&mut rng, b * c * (h / 2) * (w / 2));
    let r_t = dev.tensor_from_vec(r.clone(), (b, c, h / 2, w / 2));

    let x = dev.tensor_from_vec(input.clone(), (b, c, h, w));
    let y = MaxPool2D.forward(x.leaky_trace());
    let g = (y * r_t).sum().backward();
    let gx = g.get(&x).as_vec();
    check_gradient("d/d input", &input, &gx, |v| {
        naive_pool(&d, v)
            .iter()
            .zip(&r)
            .map(|(o, r)| *o as f64 * *r as f64)
            .sum()
    });
}

/// A tensor used twice must receive the sum of both gradients (the layers add into gradient
/// buffers; they never overwrite them).
#[test]
fn gradients_accumulate_when_an_input_is_used_twice() {
    let dev = Cpu::seed_from_u64(15);
    let conv: Conv2D<1, 2, f32, Cpu> =
        dev.build_module::<head_ct::model::layers::builders::Conv2D<1, 2>, f32>();
    let x: Tensor<(usize, Const<1>, usize, usize), f32, Cpu> =
        dev.sample_normal_like(&(1, Const, 6, 6));

    let once = {
        let y = conv.forward(x.leaky_trace());
        y.sum().backward().get(&x).as_vec()
    };
    let twice = {
        let traced = x.leaky_trace();
        let y1 = conv.forward(traced.with_empty_tape());
        let y2 = conv.forward(traced);
        (y1 + y2).sum().backward().get(&x).as_vec()
    };
    for (o, t) in once.iter().zip(&twice) {
        assert!((2.0 * o - t).abs() < 1e-5, "{o} vs {t}");
    }
}

#[test]
fn glorot_initialisation_is_bounded_and_bias_is_zero() {
    let dev = Cpu::seed_from_u64(16);
    let conv = dev.build_module::<head_ct::model::layers::builders::Conv2D<64, 128>, f32>();
    let limit = (6.0f32 / (64.0 * 9.0 + 128.0 * 9.0)).sqrt();
    let w = conv.weight.as_vec();
    assert!(w.iter().all(|v| v.abs() <= limit));
    // Spread over the whole range, not a narrower default.
    assert!(w.iter().any(|v| v.abs() > 0.95 * limit));
    assert!(conv.bias.as_vec().iter().all(|&v| v == 0.0));
}

/// Our vectorised ReLU must compute exactly what dfdx's ReLU computes, forward and backward.
#[test]
fn relu_matches_dfdx_relu() {
    let dev = Cpu::seed_from_u64(17);
    let x: Tensor<(usize, Const<3>, usize), f32, Cpu> = dev.sample_normal_like(&(70_000, Const, 2));
    let r: Tensor<(usize, Const<3>, usize), f32, Cpu> = dev.sample_normal_like(&(70_000, Const, 2));
    let ours = head_ct::model::layers::ReLU.forward(x.leaky_trace());
    let theirs = dfdx::nn::modules::ReLU.forward(x.leaky_trace());
    assert_eq!(ours.as_vec(), theirs.as_vec());
    let g_ours = (ours * r.clone()).sum().backward().get(&x).as_vec();
    let g_theirs = (theirs * r).sum().backward().get(&x).as_vec();
    assert_eq!(g_ours, g_theirs);
}

/// A NaN in the input must survive ReLU and max-pooling, so that the loss becomes NaN and
/// training stops with a clear message instead of learning from a silently zeroed image.
#[test]
fn nan_propagates_through_relu_and_pooling() {
    let dev = Cpu::seed_from_u64(18);
    for at in 0..4 {
        let mut v = vec![0.5f32, -1.0, 0.25, 2.0];
        v[at] = f32::NAN;
        let x = dev.tensor_from_vec(v, (1usize, 1usize, 2usize, 2usize));
        let pooled = MaxPool2D.forward(head_ct::model::layers::ReLU.forward(x));
        assert!(pooled.as_vec()[0].is_nan(), "NaN at {at} was lost");
    }
}

/// Switching off the input gradient (as the teaching net's first layer does) leaves the weight
/// and bias gradients exactly as they were and computes none for the input.
#[test]
fn conv_without_input_gradient_keeps_the_weight_gradients() {
    let dev = Cpu::seed_from_u64(19);
    let mut conv = dev.build_module::<head_ct::model::layers::builders::Conv2D<3, 4>, f32>();
    let x: Tensor<(usize, Const<3>, usize, usize), f32, Cpu> =
        dev.sample_normal_like(&(2, Const, 9, 8));
    let run = |conv: &Conv2D<3, 4, f32, Cpu>| {
        let g = conv.forward(x.leaky_trace()).square().sum().backward();
        (g.get(&conv.weight).as_vec(), g.get(&conv.bias).as_vec(), g)
    };
    assert!(conv.input_gradient, "on by default");
    let (w_on, b_on, g_on) = run(&conv);
    assert!(g_on.get(&x).as_vec().iter().any(|&v| v != 0.0));
    conv.input_gradient = false;
    let (w_off, b_off, g_off) = run(&conv);
    assert_eq!(w_on, w_off);
    assert_eq!(b_on, b_off);
    // No gradient was ever allocated for the input (dfdx's `get` panics on a missing one).
    let missing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| g_off.get(&x)));
    assert!(missing.is_err());
}

/// Runs `x` through `(conv, ReLU, MaxPool2D)` or through the fused [`ConvBlock`] holding the
/// same convolution, with a loss that weighs every output differently, and returns the output,
/// the weight, bias and (if the convolution computes it) input gradients.
fn block_results<const I: usize, const O: usize>(
    conv: &Conv2D<I, O, f32, Cpu>,
    fused: bool,
    x: &Tensor<(usize, Const<I>, usize, usize), f32, Cpu>,
) -> (Vec<f32>, Vec<f32>, Vec<f32>, Option<Vec<f32>>) {
    let dev = x.device().clone();
    let out = if fused {
        let block = ConvBlock { conv: conv.clone() };
        block.forward(x.leaky_trace())
    } else {
        (conv.clone(), head_ct::model::layers::ReLU, MaxPool2D).forward(x.leaky_trace())
    };
    let values = out.retaped::<NoneTape>().as_vec();
    let n = values.len();
    // Weights whose sums round (small multiples of 0.5 would add up exactly in any order, and
    // could not tell the order of the bias gradient's additions).
    let weights = dev.tensor_from_vec((0..n).map(|i| (i as f32 * 0.7391).sin()).collect(), (n,));
    let g = (out.reshape_like(&(n,)) * weights).sum().backward();
    let input_grad = conv.input_gradient.then(|| g.get(x).as_vec());
    (
        values,
        g.get(&conv.weight).as_vec(),
        g.get(&conv.bias).as_vec(),
        input_grad,
    )
}

/// The fused block computes exactly what the three layers compute one after the other: the
/// same output, weight, bias and input gradients, bit for bit, on odd and even sizes, with the
/// input gradient on and off, and with inputs that make many activations negative or zero.
/// (The separate layers are checked against naive loops and finite differences above; the
/// whole teaching net, built from fused blocks, against finite differences in `tests/model.rs`.)
#[test]
fn conv_block_equals_conv_relu_pool_bit_for_bit() {
    let dev = Cpu::seed_from_u64(21);
    // 5 output channels: the im2col + GEMM path, and pooled rows too short for a vector.
    let mut zeros_seen =
        block_equals_layers::<3, 5>(&dev, &[(1, 4, 4), (3, 9, 8), (2, 17, 12), (4, 11, 15)]);
    // 8 output channels and rows of 19 and 32 outputs: on an AVX2 CPU, the first block's
    // direct kernels (forward and weight gradient) and pooling 8 windows at a time (pooled rows
    // of 9 and 16: one group and a remainder, two whole groups).
    zeros_seen += block_equals_layers::<3, 8>(&dev, &[(2, 10, 21), (3, 20, 34)]);
    // 8 and 16 input channels: on AVX2 and AVX-512, the backward pass from the pooling winners
    // (bias, weight and input gradients; `winner_weight_gradient.rs`, `winner_input_gradient.rs`),
    // with output planes whose pixel count is not a multiple of 8 (the bias sum's tail: 6x7 and
    // 10x5 with winners in it, 9x13 and 7x6 with only rows the pooling drops), odd rows and
    // columns that the pooling drops, and a 38x38 plane (1444 pixels: more than one of gemm's
    // depth blocks for the weight gradient on common L1 caches).
    let sizes = [
        (2, 11, 15),
        (3, 9, 8),
        (3, 8, 9),
        (2, 12, 7),
        (2, 20, 34),
        (1, 40, 40),
    ];
    zeros_seen += block_equals_layers::<8, 5>(&dev, &sizes);
    zeros_seen += block_equals_layers::<16, 8>(&dev, &sizes);
    assert!(
        zeros_seen > 10,
        "the cases should include outputs zeroed by the ReLU"
    );
}

/// [`block_results`] through the layers and through the fused block, compared bit for bit on
/// `(batch, height, width)` inputs of `I` channels, with the input gradient on and off; returns
/// how many outputs were exactly zero.
fn block_equals_layers<const I: usize, const O: usize>(
    dev: &Cpu,
    sizes: &[(usize, usize, usize)],
) -> usize {
    let mut zeros_seen = 0;
    for &(batch, side_h, side_w) in sizes {
        for input_gradient in [true, false] {
            let mut conv =
                dev.build_module::<head_ct::model::layers::builders::Conv2D<I, O>, f32>();
            conv.input_gradient = input_gradient;
            // Some exact zeros and ties in the input, so that ReLU and pooling see them.
            let mut x: Tensor<(usize, Const<I>, usize, usize), f32, Cpu> =
                dev.sample_normal_like(&(batch, Const, side_h, side_w));
            let mut v = x.as_vec();
            for (i, e) in v.iter_mut().enumerate() {
                if i % 5 == 0 {
                    *e = 0.0;
                }
            }
            x.copy_from(&v);
            let separate = block_results(&conv, false, &x);
            let fused = block_results(&conv, true, &x);
            let case = format!(
                "{O} channels, batch {batch}, {side_h}x{side_w}, input gradient {input_gradient}"
            );
            zeros_seen += separate.0.iter().filter(|&&v| v == 0.0).count();
            // Bits, not values: `==` would take -0.0 for +0.0 and never match a NaN.
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&separate.0), bits(&fused.0), "{case}: outputs differ");
            assert_eq!(
                bits(&separate.1),
                bits(&fused.1),
                "{case}: weight gradients differ"
            );
            assert_eq!(
                bits(&separate.2),
                bits(&fused.2),
                "{case}: bias gradients differ"
            );
            assert_eq!(
                separate.3.as_deref().map(bits),
                fused.3.as_deref().map(bits),
                "{case}: input gradients differ"
            );
        }
    }
    zeros_seen
}

/// A NaN activation still reaches the block's output, as it does through the separate layers.
#[test]
fn nan_propagates_through_the_fused_block() {
    let dev = Cpu::seed_from_u64(23);
    let block = dev.build_module::<head_ct::model::layers::builders::ConvBlock<1, 2>, f32>();
    let mut v = vec![0.5f32; 16];
    v[5] = f32::NAN;
    let x: Tensor<(usize, Const<1>, usize, usize), f32, Cpu> =
        dev.tensor_from_vec(v, (1, Const, 4, 4));
    assert!(block.forward(x).as_vec().iter().all(|v| v.is_nan()));
}
