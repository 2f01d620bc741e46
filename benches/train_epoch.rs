//! Training speed: the 10-epoch fit against the sum of its parts, and against this machine's
//! own matrix-multiply rate, in one run.
//!
//! 1. **The fit**: `train_model` with the teaching recipe (10 epochs, batch 10, validation after
//!    every epoch), seed 1, on the phantoms' 140 training and 50 validation images, in this
//!    fresh process: what `head-ct train` and `benches/fit_compare.rs` time.
//! 2. **Its parts**, on a second model after one warm-up epoch: `EPOCHS` (default 3) training
//!    epochs over the same 140 images in batches already built, and as many validation passes
//!    (`evaluate_set` on the 50 images); medians.
//! 3. The fit over 10 x (training epoch + validation pass): what the fit spends outside the
//!    training kernels (building batches, the first epoch's allocations, the observer).
//! 4. A 1024x1024 f32 GEMM with the same `gemm` crate on all cores, and the training rate's ratio
//!    to it (forward = 129.85 MFLOP per image; training counted as 3x forward).
//!
//! It also prints the CPU's vector path for our own kernels (`HEAD_CT_VECTOR_PATH` lowers it).
//!
//! Run: `cargo bench --bench train_epoch`. Not a test: nothing is asserted here.

use std::time::Instant;

use dfdx::prelude::*;
use head_ct::{
    data::{phantoms::phantom_seed_data, sequential_batches},
    model::{build_teaching_net, kernels::VectorPath},
    training::{
        evaluate_set,
        observer::{EpochSummary, Observer},
        train_model, Recipe, Trainer,
    },
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const FORWARD_MFLOP_PER_IMAGE: f64 = 129.85;

/// Records each epoch's time as the fit reports it (training and validation).
#[derive(Default)]
struct EpochTimes(Vec<f64>);

impl Observer for EpochTimes {
    fn epoch_end(&mut self, epoch: &EpochSummary) {
        self.0.push(epoch.elapsed.as_secs_f64());
    }
}

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

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn list(times: &[f64]) -> String {
    times
        .iter()
        .map(|t| format!("{t:.3}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn main() {
    head_ct::allocator::keep_freed_memory();
    let timed: usize = std::env::var("EPOCHS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3);
    let path = VectorPath::active();
    println!(
        "CPU                  {}; vector path {path} (best here: {})",
        cpu_name(),
        VectorPath::best_supported()
    );
    println!("threads              {}", rayon::current_num_threads());
    let data = phantom_seed_data(1);
    let recipe = Recipe::TEACHING;

    // 1. The fit, first, in a fresh process (as `head-ct train` runs it).
    let t = Instant::now();
    let mut epoch_lines = EpochTimes::default();
    let trained =
        train_model(&data.train, &data.validate, &recipe, 1, &mut epoch_lines).expect("fit");
    let fit = t.elapsed().as_secs_f64();
    drop(trained);
    let epoch_lines = epoch_lines.0;

    // 2. Its parts, on a second model.
    let dev = Cpu::seed_from_u64(0);
    dev.enable_cache();
    let batches: Vec<_> = sequential_batches(data.train.len(), recipe.batch_size)
        .iter()
        .map(|indices| data.train.batch(&dev, indices))
        .collect();
    let mut trainer = Trainer::new(build_teaching_net(&dev), &recipe);
    let mut train_epoch = || {
        let t = Instant::now();
        for batch in &batches {
            trainer
                .train_step(batch.images.clone(), &batch.labels)
                .expect("training step");
        }
        t.elapsed().as_secs_f64()
    };
    train_epoch(); // warm-up: first-touch allocations
    let epochs: Vec<f64> = (0..timed).map(|_| train_epoch()).collect();
    let validations: Vec<f64> = (0..timed)
        .map(|_| {
            let t = Instant::now();
            evaluate_set(&trainer.model, &dev, &data.validate, recipe.threshold)
                .expect("validation");
            t.elapsed().as_secs_f64()
        })
        .collect();
    let (epoch, validation) = (median(epochs.clone()), median(validations.clone()));
    let parts = recipe.epochs as f64 * (epoch + validation);

    // 3. GEMM.
    let gemm = gemm_gflops(1024, 10);
    let images = data.train.len();
    let train_gflop = 3.0 * FORWARD_MFLOP_PER_IMAGE * images as f64 / 1e3;
    let achieved = train_gflop / epoch;
    println!(
        "fit, {} epochs        {fit:.3} s   (epoch lines: {})",
        recipe.epochs,
        list(&epoch_lines)
    );
    println!(
        "training epoch       {epoch:.3} s   median of {timed} [{}], {images} images",
        list(&epochs)
    );
    println!(
        "validation pass      {validation:.3} s   median of {timed} [{}], {} images",
        list(&validations),
        data.validate.len()
    );
    println!(
        "sum of the parts     {parts:.3} s   ({} x (epoch + validation))",
        recipe.epochs
    );
    println!("fit / parts          {:.2}   (target <= 1.15)", fit / parts);
    println!("images per second    {:.1}", images as f64 / epoch);
    println!("training GFLOP/s     {achieved:.1}   ({train_gflop:.1} GFLOP per epoch)");
    println!("GEMM 1024^2 GFLOP/s  {gemm:.1}");
    println!(
        "training / GEMM      {:.2}   (target >= 0.75)",
        achieved / gemm
    );
}

/// The CPU's model name and whether it has AVX-512 (from /proc/cpuinfo on Linux).
fn cpu_name() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let name = info
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown CPU".to_string(), |(_, n)| n.trim().to_string());
    let flags: Vec<&str> = info
        .lines()
        .find_map(|l| l.strip_prefix("flags"))
        .map(|l| {
            l.split_whitespace()
                .filter(|f| f.starts_with("avx512"))
                .collect()
        })
        .unwrap_or_default();
    if flags.is_empty() {
        format!("{name}, no AVX-512")
    } else {
        format!("{name}, {}", flags.join(" "))
    }
}
