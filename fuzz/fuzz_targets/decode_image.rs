//! Any bytes as an image file: the loader must return pixels or an error, never panic, and
//! never allocate past its pixel limit (run with -rss_limit_mb).
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    // The extension decides the format only when the content does not; try each kind.
    let name = match data.first().map(|b| b % 4) {
        Some(0) => "scan.png",
        Some(1) => "scan.jpg",
        Some(2) => "scan.tif",
        _ => "scan.bmp",
    };
    if let Ok((pixels, _note)) = head_ct::data::Loader::default().bytes(Path::new(name), data) {
        assert_eq!(pixels.len(), head_ct::model::IMAGE_LEN);
        assert!(pixels.iter().all(|v| (0.0..=1.0).contains(v)), "pixel outside [0, 1]");
    }
});
