//! Training speed of the teaching net against this machine's own matrix-multiply rate.
//!
//! Trains epochs of 140 images of 3x150x150 at batch size 10 (the seed's recipe) and, in the same
//! run, times a 1024x1024 f32 GEMM with the same `gemm` crate on all cores. Prints seconds per
//! epoch, images per second, the achieved GFLOP/s of training (forward = 129.85 MFLOP per image;
//! training counted as 3x forward), the GEMM GFLOP/s, and the ratio of the two.
//!
//! Run: `cargo bench --bench train_epoch` (set `EPOCHS=n` for more timed epochs).

use std::time::Instant;

use dfdx::prelude::*;
use head_ct::{
    model::{build_teaching_net, ImageBatch},
    training::{Recipe, Trainer},
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const IMAGES: usize = 140;
const BATCH: usize = 10;
const FORWARD_MFLOP_PER_IMAGE: f64 = 129.85;

fn gemm_gflops(n: usize, repeats: usize) -> f64 {
    let a = vec![1.0f32; n * n];
    let b = vec![0.5f32; n * n];
    let mut c = vec![0.0f32; n * n];
    let run = |c: &mut [f32]| unsafe {
        gemm::gemm(
            n,
            n,
            n,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            n as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        )
    };
    run(&mut c); // warm-up
    let mut best = f64::INFINITY;
    for _ in 0..repeats {
        let t = Instant::now();
        run(&mut c);
        best = best.min(t.elapsed().as_secs_f64());
    }
    2.0 * (n * n * n) as f64 / best / 1e9
}

fn main() {
    head_ct::allocator::keep_freed_memory();
    let timed_epochs: usize = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let dev = Cpu::seed_from_u64(0);
    dev.enable_cache();
    let images: Vec<ImageBatch> = (0..IMAGES / BATCH)
        .map(|_| dev.sample_uniform_like(&(BATCH, Const, Const, Const)))
        .collect();
    let labels: Vec<_> = (0..IMAGES / BATCH)
        .map(|i| {
            let v: Vec<f32> = (0..BATCH).map(|j| ((i + j) % 2) as f32).collect();
            dev.tensor_from_vec(v, (BATCH, Const::<1>))
        })
        .collect();
    let mut trainer = Trainer::new(build_teaching_net(&dev), &Recipe::TEACHING);
    let mut epoch = || {
        let t = Instant::now();
        for (x, y) in images.iter().zip(&labels) {
            trainer.train_step(x.clone(), y).expect("training step");
        }
        t.elapsed().as_secs_f64()
    };
    epoch(); // warm-up: first-touch allocations, thread pool start
    let mut times: Vec<f64> = (0..timed_epochs).map(|_| epoch()).collect();
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];

    let gemm = gemm_gflops(1024, 10);
    let train_gflop = 3.0 * FORWARD_MFLOP_PER_IMAGE * IMAGES as f64 / 1e3;
    let achieved = train_gflop / median;
    println!("threads              {}", rayon::current_num_threads());
    println!(
        "epoch (median of {timed_epochs})  {median:.3} s   [{}]",
        times
            .iter()
            .map(|t| format!("{t:.3}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("images per second    {:.1}", IMAGES as f64 / median);
    println!("training GFLOP/s     {achieved:.1}   ({train_gflop:.1} GFLOP per epoch)");
    println!("GEMM 1024^2 GFLOP/s  {gemm:.1}");
    println!(
        "ratio                {:.2}   (target >= 0.40)",
        achieved / gemm
    );
}
