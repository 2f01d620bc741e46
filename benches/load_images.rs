//! Loading speed: decode + convert + resize the 200 real Kaggle images, and phantom generation.
//!
//! `cargo bench --bench load_images`. The real images are read from `HEAD_CT_DATA`, default
//! `../shared/data/head_ct` relative to the crate root (images in `head_ct/` or next to
//! `labels.csv`); without them only the phantom timing is printed.

use head_ct::data::Loader;
use std::{
    path::PathBuf,
    time::{Duration, Instant},
};

use head_ct::data::{has_image_extension, phantoms, prepare::kaggle_image_dir};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let runs = 7;
    let dir = std::env::var_os("HEAD_CT_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data/head_ct")
        });
    println!("rayon threads: {}", rayon::current_num_threads());
    if dir.is_dir() {
        let image_dir = kaggle_image_dir(&dir);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&image_dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| has_image_extension(p))
            .collect();
        files.sort();
        let mut times = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let set = Loader::default()
                .files(&files)
                .expect("loading the real images");
            times.push(t.elapsed());
            assert_eq!(set.len(), files.len());
        }
        let m = median(times);
        println!(
            "load + resize {} real images from {}: median {:.1} ms over {runs} runs, {:.0} images/s",
            files.len(),
            image_dir.display(),
            m.as_secs_f64() * 1e3,
            files.len() as f64 / m.as_secs_f64()
        );
    } else {
        println!(
            "no real data at {} (set HEAD_CT_DATA): skipped",
            dir.display()
        );
    }
    let mut times = Vec::new();
    for seed in 0..runs as u64 {
        let t = Instant::now();
        let data = phantoms::phantom_seed_data(seed);
        times.push(t.elapsed());
        assert_eq!(
            data.train.len() + data.validate.len() + data.test.map_or(0, |t| t.len()),
            200
        );
    }
    let m = median(times);
    println!(
        "phantom_seed_data (200 images): median {:.1} ms, {:.0} images/s",
        m.as_secs_f64() * 1e3,
        200.0 / m.as_secs_f64()
    );
}
