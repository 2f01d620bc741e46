//! Where a training step's time goes: each layer kernel of the teaching net timed on its own,
//! at the training batch size (10 images, all cores), median of several calls.
//!
//! Prints, per convolution block, the forward and backward convolution, the max-pool, the
//! GFLOP/s each convolution reaches, and the fused block (convolution + ReLU + max-pool in one
//! pass, what the teaching net runs), so a change to one kernel can be measured in isolation.
//!
//! Run: `cargo bench --bench layer_times`. Not a test: nothing is asserted here.

use std::time::Instant;

use head_ct::model::kernels::internals::{
    conv3x3_backward, conv3x3_forward, conv3x3_forward_im2col, conv3x3_relu_maxpool_backward,
    conv3x3_relu_maxpool_forward, maxpool2x2_backward, maxpool2x2_forward, ConvDims, PoolDims,
};
use head_ct::model::kernels::VectorPath;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BATCH: usize = 10;
const REPEATS: usize = 31;

/// Median wall time of `REPEATS` calls of `f`, in milliseconds, after one warm-up call.
fn median_ms(mut f: impl FnMut()) -> f64 {
    f();
    let mut times: Vec<f64> = (0..REPEATS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[REPEATS / 2]
}

/// Deterministic values in [-1, 1) (a simple LCG; the values do not matter for timing).
fn values(len: usize, seed: u32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    (0..len)
        .map(|_| {
            s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (s >> 8) as f32 / (1u32 << 23) as f32 - 1.0
        })
        .collect()
}

fn main() {
    println!(
        "vector path {} (best on this CPU: {}; HEAD_CT_VECTOR_PATH lowers it)",
        VectorPath::active(),
        VectorPath::best_supported()
    );
    // (in channels, out channels, input side) of the five blocks.
    let blocks = [
        (3, 16, 150),
        (16, 32, 74),
        (32, 64, 36),
        (64, 64, 17),
        (64, 128, 7),
    ];
    println!(
        "{:<22} {:>9} {:>11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>11} {:>11}",
        "block (batch 10)",
        "fwd ms",
        "im2col ms",
        "bwd ms",
        "pool f ms",
        "pool b ms",
        "fwd GF/s",
        "bwd GF/s",
        "fused f ms",
        "fused b ms"
    );
    let (mut total_fwd, mut total_bwd, mut total_pool) = (0.0, 0.0, 0.0);
    let (mut total_fused_fwd, mut total_fused_bwd) = (0.0, 0.0);
    for (i, &(c, o, side)) in blocks.iter().enumerate() {
        let d = ConvDims {
            batch: BATCH,
            in_channels: c,
            out_channels: o,
            height: side,
            width: side,
        };
        let input = values(BATCH * d.input_len(), 1);
        let weight = values(d.weight_len(), 2);
        let bias = values(o, 3);
        let mut output = vec![0.0; BATCH * d.output_len()];
        let fwd = median_ms(|| conv3x3_forward(&d, &input, &weight, &bias, &mut output));
        let fwd_im2col =
            median_ms(|| conv3x3_forward_im2col(&d, &input, &weight, &bias, &mut output));

        let grad_out = values(output.len(), 4);
        let mut grad_in = vec![0.0; input.len()];
        let mut grad_w = vec![0.0; weight.len()];
        let mut grad_b = vec![0.0; o];
        // The first block does not compute the input gradient in training.
        let bwd = median_ms(|| {
            let gi = if i == 0 { None } else { Some(&mut grad_in[..]) };
            conv3x3_backward(&d, &input, &weight, &grad_out, gi, &mut grad_w, &mut grad_b)
        });

        let p = PoolDims {
            batch: BATCH,
            channels: o,
            height: d.out_height(),
            width: d.out_width(),
        };
        let mut pooled = vec![0.0; BATCH * p.output_len()];
        let mut winners = vec![0u8; pooled.len()];
        let pool_f = median_ms(|| maxpool2x2_forward(&p, &output, &mut pooled, &mut winners));
        let g_pooled = values(pooled.len(), 5);
        let mut g_act = vec![0.0; output.len()];
        let pool_b = median_ms(|| maxpool2x2_backward(&p, &winners, &g_pooled, &mut g_act));

        let fused_f = median_ms(|| {
            conv3x3_relu_maxpool_forward(&d, &input, &weight, &bias, &mut pooled, &mut winners)
        });
        let fused_b = median_ms(|| {
            let gi = if i == 0 { None } else { Some(&mut grad_in[..]) };
            conv3x3_relu_maxpool_backward(
                &d,
                &input,
                &weight,
                &winners,
                &g_pooled,
                gi,
                &mut grad_w,
                &mut grad_b,
            )
        });

        let fwd_flop = 2.0 * (BATCH * d.output_len() * d.patch_len()) as f64;
        let bwd_flop = fwd_flop * if i == 0 { 1.0 } else { 2.0 };
        println!(
            "{:<22} {:>9.2} {:>11.2} {:>9.2} {:>9.2} {:>9.2} {:>9.1} {:>9.1} {:>11.2} {:>11.2}",
            format!("{c}->{o} @ {side}x{side}"),
            fwd,
            fwd_im2col,
            bwd,
            pool_f,
            pool_b,
            fwd_flop / fwd / 1e6,
            bwd_flop / bwd / 1e6,
            fused_f,
            fused_b
        );
        total_fused_fwd += fused_f;
        total_fused_bwd += fused_b;
        total_fwd += fwd;
        total_bwd += bwd;
        total_pool += pool_f + pool_b;
    }
    println!(
        "total: conv forward {total_fwd:.1} ms, conv backward {total_bwd:.1} ms, pool {total_pool:.1} ms per batch of {BATCH}"
    );
    println!(
        "fused blocks: forward {total_fused_fwd:.1} ms, backward {total_fused_bwd:.1} ms per batch of {BATCH}"
    );
    let big = values(BATCH * 16 * 148 * 148, 6);
    let mut dst = vec![0.0; big.len()];
    let copy = median_ms(|| dst.copy_from_slice(&big));
    println!(
        "one copy of the first block's activations ({} MB): {copy:.2} ms",
        big.len() * 4 / 1_000_000
    );
}
