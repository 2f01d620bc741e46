//! Any bytes as a Kaggle labels.csv: rows or an error naming the file, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::Path;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("labels.csv");
    match head_ct::data::prepare::parse_labels_csv(data.to_vec(), path) {
        Ok(rows) => {
            for row in rows {
                assert!(!row.id.is_empty());
            }
        }
        Err(e) => assert!(e.to_string().contains("labels.csv"), "{e}"),
    }
});
