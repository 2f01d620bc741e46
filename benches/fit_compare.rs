//! head-ct's side of the comparison with Keras and PyTorch (`benches/compare.sh`).
//!
//! Trains the teaching net the way `head-ct train` does (seed 1, 10 epochs, batch 10, Adam 1e-3
//! with Keras' epsilon, shuffled batches, validation after every epoch; mimalloc and dfdx's tensor
//! cache) on a prepared seed-layout folder, then prints **one JSON line** with:
//!
//! - `load_s`: decoding and resizing train + validate + test (not part of `fit_s`);
//! - `fit_s`: the 10-epoch `train_model` call, validation passes included (as Keras' `model.fit`
//!   with `validation_data`; it also creates the seeded device and the initial weights, a few
//!   milliseconds);
//! - `train_images_per_s`: training images seen per second of `fit_s` (epochs x 140 / `fit_s`);
//! - `infer_images_per_s`: forward passes over the 50 validation images already in memory,
//!   batch 25 (best of 5);
//! - `single_image_ms`: one image file loaded, resized and predicted (batch of 1), median over
//!   the test images, 5 passes, after the model is trained (the "predict one file" latency);
//! - `val_accuracy`, `val_auc`: the trained model on the validation images (threshold 0.5;
//!   AUC by Mann-Whitney);
//! - `peak_rss_mib`: the process's peak resident memory (`VmHWM`, as `ru_maxrss`);
//! - `vector_path`: the vector path of our kernels (`HEAD_CT_VECTOR_PATH` lowers it).
//!
//! Run: `HEAD_CT_PREPARED=<folder with train/ validate/ test/> cargo bench --bench fit_compare`
//! (optional: `EPOCHS`, `SEED`). Not a test: nothing is asserted here.

use head_ct::data::Loader;
use std::{path::PathBuf, time::Instant};

use dfdx::prelude::*;
use head_ct::{
    metrics::mann_whitney_auc,
    model::{kernels::VectorPath, CHANNELS, IMAGE_LEN, IMAGE_SIZE},
    training::{evaluate_set, observer::Silent, predict_probabilities, train_model, Recipe},
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

/// Peak resident set size of this process in MiB (`VmHWM` in `/proc/self/status`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    head_ct::allocator::keep_freed_memory();
    let root = PathBuf::from(std::env::var("HEAD_CT_PREPARED").unwrap_or_else(|_| {
        eprintln!(
            "fit_compare: set HEAD_CT_PREPARED to a prepared data folder (train/, validate/, \
             test/), e.g. the output of `head-ct prepare`"
        );
        std::process::exit(2)
    }));
    let epochs: usize = env_or("EPOCHS", 10);
    let seed: u64 = env_or("SEED", 1);

    let t = Instant::now();
    let data = Loader::default().seed_layout(&root).unwrap_or_else(|e| {
        eprintln!("fit_compare: cannot load {}: {e}", root.display());
        std::process::exit(1)
    });
    let load_s = t.elapsed().as_secs_f64();

    let recipe = Recipe {
        epochs,
        ..Recipe::TEACHING
    };
    let t = Instant::now();
    // Seeds its own device (`Cpu::seed_from_u64(seed)` with the tensor cache on).
    let trained =
        train_model(&data.train, &data.validate, &recipe, seed, &mut Silent).expect("training");
    let fit_s = t.elapsed().as_secs_f64();
    let (model, dev, history) = (&trained.model, &*trained.dev, &trained.history);

    let val = evaluate_set(model, dev, &data.validate, recipe.threshold).expect("validation");
    let labels = data.validate.known_labels().expect("labelled");
    let val_auc = mann_whitney_auc(&val.probabilities, &labels).expect("AUC");

    let infer_s = (0..5)
        .map(|_| {
            let t = Instant::now();
            evaluate_set(model, dev, &data.validate, recipe.threshold).expect("validation");
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min);

    let files: Vec<PathBuf> = match &data.test {
        Some(test) => test.samples.iter().map(|s| s.path.clone()).collect(),
        None => data
            .validate
            .samples
            .iter()
            .take(10)
            .map(|s| s.path.clone())
            .collect(),
    };
    let mut single = Vec::new();
    for _ in 0..5 {
        for path in &files {
            let t = Instant::now();
            let pixels = Loader::default().file(path).expect("test image");
            assert_eq!(pixels.len(), IMAGE_LEN);
            let x = dev.tensor_from_vec(
                pixels,
                (
                    1usize,
                    Const::<CHANNELS>,
                    Const::<IMAGE_SIZE>,
                    Const::<IMAGE_SIZE>,
                ),
            );
            let p = predict_probabilities(model, x).expect("prediction");
            std::hint::black_box(p);
            single.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }

    let json = serde_json::json!({
        "stack": "head-ct",
        "threads": rayon::current_num_threads(),
        "vector_path": VectorPath::active().name(),
        "epochs": epochs,
        "load_s": load_s,
        "fit_s": fit_s,
        "train_images_per_s": (epochs * data.train.len()) as f64 / fit_s,
        "infer_images_per_s": data.validate.len() as f64 / infer_s,
        "single_image_ms": median(single),
        "val_accuracy": val.accuracy,
        "val_auc": val_auc,
        "final_loss": history.loss.last(),
        "peak_rss_mib": peak_rss_mib(),
    });
    println!("{json}");
}
