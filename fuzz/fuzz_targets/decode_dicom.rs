//! Any bytes as a DICOM file (`scan.dcm`): the reader must return pixels (through the model's
//! three windows) or an error, never panic, and never allocate past its limits.
#![no_main]

use head_ct::ct::InputWindows;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    if let Ok(slice) = head_ct::ct::dicom::read_ct_slice_bytes(Path::new("scan.dcm"), data, &head_ct::input::Limits::default()) {
        assert_eq!(slice.hounsfield.len(), slice.rows * slice.columns);
        let mut pixels = vec![0.0f32; head_ct::model::IMAGE_LEN];
        slice.to_chw(&head_ct::input::ModelInput::with_windows(InputWindows::THREE), &mut pixels);
        assert!(pixels.iter().all(|v| (0.0..=1.0).contains(v)), "pixel outside [0, 1]");
    }
});
