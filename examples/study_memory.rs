//! Where the time and the memory of `head-ct study` go, stage by stage (issue 25's benchmark).
//!
//! ```text
//! cargo run --release --example study_memory -- --model RUN FOLDER
//! ```
//!
//! Runs what `head-ct study` runs (same allocator: mimalloc, freed memory kept), and after each
//! stage prints its wall time and the process's resident memory (VmRSS) and peak (VmHWM):
//! the header pass ([`take_inventory`]), the ordering ([`order_studies`]), the decode + predict
//! pass ([`predict_studies`]), and what the results hold per slice. `HEADERS_ONLY=1` stops
//! after the header pass.

use std::{path::PathBuf, time::Instant};

use head_ct::{
    checkpoint::load_checkpoint,
    input::Limits,
    study::{order_studies, predict_studies, take_inventory, StudyModel, StudyRule},
    training::SeededDevice,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn status(field: &str) -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn report(stage: &str, start: Instant) {
    eprintln!(
        "{stage:<28} {:>8.2} s   RSS {:>6.1} MiB   peak {:>6.1} MiB",
        start.elapsed().as_secs_f64(),
        status("VmRSS:"),
        status("VmHWM:")
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    head_ct::allocator::keep_freed_memory();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model_dir, folder) = match args.as_slice() {
        [flag, m, f] if flag == "--model" => (PathBuf::from(m), PathBuf::from(f)),
        _ => return Err("usage: study_memory --model RUN FOLDER".into()),
    };
    let t = Instant::now();
    let dev = SeededDevice::for_inference();
    let (model, metadata) = load_checkpoint(&dev, &model_dir)?;
    let rule = StudyRule::new(metadata.threshold(), 2)?;
    report("model loaded", t);

    let t = Instant::now();
    let limits = Limits::default();
    let inventory = take_inventory(&[folder], &limits);
    let n = inventory.dicom_images.len();
    let heap: usize = inventory
        .dicom_images
        .iter()
        .map(|h| {
            h.path.as_os_str().len()
                + [
                    &h.sop_class_uid,
                    &h.sop_instance_uid,
                    &h.study_uid,
                    &h.study_date,
                    &h.series_uid,
                    &h.series_description,
                    &h.modality,
                ]
                .iter()
                .map(|s| s.as_ref().map_or(0, |s| s.len()))
                .sum::<usize>()
                + h.image_type.iter().map(|s| s.len() + 24).sum::<usize>()
        })
        .sum();
    report(&format!("header pass ({n} images)"), t);
    eprintln!(
        "  DicomHeader: {} bytes inline + {:.0} bytes of strings per image on average",
        std::mem::size_of::<head_ct::ct::DicomHeader>(),
        heap as f64 / n.max(1) as f64
    );

    if std::env::var_os("HEADERS_ONLY").is_some() {
        return Ok(());
    }
    let t = Instant::now();
    let mut skipped = inventory.skipped;
    let studies = order_studies(inventory.dicom_images, &mut skipped);
    report("ordered", t);

    let t = Instant::now();
    let study_model = StudyModel {
        model: &model,
        dev: &dev,
        loader: metadata.loader(limits),
        temperature: metadata.temperature(),
    };
    // RSS along the decode + predict pass, every 2,000 slices: what grows with N.
    let mut done = 0;
    let results = predict_studies(&study_model, studies, &rule, &mut skipped, &mut |n| {
        done += n;
        if done % 2000 < n {
            report(&format!("  {done} slices"), t);
        }
    })?;
    report("decoded and predicted", t);
    eprintln!(
        "  Prediction: {} bytes inline, SliceRef {} bytes inline",
        std::mem::size_of::<head_ct::inference::Prediction>(),
        std::mem::size_of::<head_ct::study::SliceRef>()
    );
    let slices: usize = results
        .iter()
        .flat_map(|s| &s.series)
        .map(|s| s.predictions.len())
        .sum();
    println!("{slices} slices predicted, {} skipped", skipped.len());
    Ok(())
}
