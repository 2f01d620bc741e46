//! N synthetic 512x512 DICOM CT slices, fast, for the archive-scale benchmark
//! (`benches/study_scale.sh`, issue 25).
//!
//! ```text
//! cargo run --release --example synthetic_study -- OUT_DIR N [SLICES_PER_SERIES]
//! ```
//!
//! Writes `N` slices into `OUT_DIR` as series of `SLICES_PER_SERIES` (default 200) axial slices,
//! 2.5 mm apart, 10 series per study, with ImagePositionPatient and InstanceNumber, under
//! PACS-like names without extension (`OUT_DIR/<study>/<series>/IM<8 hex digits>`, the hex
//! digits a hash of the slice, so name order is not slice order). Each slice is a head-like
//! ellipse (brain ~30 HU inside a skull ring of ~1000 HU, air outside) whose size follows the
//! slice's height, with cheap per-pixel noise (a hash, not a random stream): the pixels differ
//! from slice to slice, and a run takes seconds. Files are written in parallel (rayon). Nothing is
//! downloaded and no patient data is involved.

use std::{fs, path::PathBuf, time::Instant};

use head_ct::ct::{write::uid_from, CtImage, SlicePlacement};
use rayon::prelude::*;

const SIDE: usize = 512;
const SERIES_PER_STUDY: usize = 10;
const SPACING_MM: f64 = 2.5;

fn hash(mut x: u64) -> u64 {
    // splitmix64's finaliser.
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Slice `k` of `n` in its series: CT numbers of a head-like ellipse with noise.
fn hounsfield(global: u64, k: usize, n: usize) -> Vec<f32> {
    // Radius shrinks towards the top and bottom of the head.
    let t = (k as f64 + 0.5) / n as f64; // 0..1 along the series
    let scale = (1.0 - (2.0 * t - 1.0).powi(2)).sqrt().max(0.15);
    let (ax, ay) = (200.0 * scale, 240.0 * scale);
    let (cx, cy) = (256.0, 256.0);
    let mut hu = vec![-1000.0f32; SIDE * SIDE];
    for (y, row) in hu.chunks_exact_mut(SIDE).enumerate() {
        let dy = (y as f64 - cy) / ay;
        if dy.abs() > 1.0 {
            continue;
        }
        let mut h = hash(global.wrapping_mul(1_000_003) ^ y as u64);
        for (x, v) in row.iter_mut().enumerate() {
            let dx = (x as f64 - cx) / ax;
            let r = dx * dx + dy * dy;
            if r > 1.0 {
                continue;
            }
            // Cheap noise: 16 bits of a running hash per pixel, refreshed every 4 pixels.
            if x % 4 == 0 {
                h = hash(h);
            }
            let noise = ((h >> ((x % 4) * 16)) & 0xffff) as f32 / 65535.0 - 0.5; // -0.5..0.5
            *v = if r > 0.88 {
                1000.0 + 200.0 * noise
            } else {
                30.0 + 16.0 * noise
            };
        }
    }
    hu
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args.len() > 3 {
        return Err("usage: synthetic_study OUT_DIR N [SLICES_PER_SERIES]".into());
    }
    let out = PathBuf::from(&args[0]);
    let n: usize = args[1].parse()?;
    let per_series: usize = args.get(2).map_or(Ok(200), |s| s.parse())?;
    if per_series == 0 {
        return Err("SLICES_PER_SERIES must be at least 1".into());
    }
    let start = Instant::now();
    let written: Result<u64, String> = (0..n)
        .into_par_iter()
        .map(|i| {
            let series = i / per_series;
            let study = series / SERIES_PER_STUDY;
            let k = i % per_series;
            let in_series = per_series.min(n - series * per_series);
            let dir = out
                .join(format!("S{study:04}"))
                .join(format!("SE{:02}", series % SERIES_PER_STUDY));
            fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            let mut image = CtImage::from_hounsfield(
                SIDE,
                SIDE,
                &hounsfield(i as u64, k, in_series),
                uid_from(&[0x5354_5544, i as u64]),
            );
            image.placement = Some(SlicePlacement {
                study_instance_uid: uid_from(&[0x5354_5544, 1 << 40, study as u64]),
                study_date: Some("20261201".into()),
                series_instance_uid: uid_from(&[0x5354_5544, 2 << 40, series as u64]),
                series_number: (series % SERIES_PER_STUDY) as i32 + 1,
                series_description: "HEAD 2.5mm SYNTH".into(),
                // Against position, as some scanners number from the top.
                instance_number: (in_series - k) as i32,
                image_position_mm: [-128.0, -128.0, k as f64 * SPACING_MM],
                image_orientation: [1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
                slice_thickness_mm: SPACING_MM,
                image_type: vec!["ORIGINAL".into(), "PRIMARY".into(), "AXIAL".into()],
            });
            let bytes = image.to_dicom_bytes().map_err(|e| e.to_string())?;
            let path = dir.join(format!("IM{:012X}", hash(i as u64) >> 16));
            fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            Ok(bytes.len() as u64)
        })
        .try_reduce(|| 0, |a, b| Ok(a + b));
    let bytes = written?;
    eprintln!(
        "synthetic_study: {n} slices ({} series of up to {per_series}), {:.1} GB in {} in {:.1} s",
        n.div_ceil(per_series),
        bytes as f64 / 1e9,
        out.display(),
        start.elapsed().as_secs_f64()
    );
    Ok(())
}
