//! Any bytes as a checkpoint: as model.safetensors next to a valid model.json (first byte even),
//! or as model.json next to valid weights (odd). Loading gives the model or an error naming the
//! file, never a panic (dfdx itself panics on an F64 tensor: we must refuse it first).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use head_ct::{
    checkpoint::{
        load_checkpoint, save_checkpoint, ComputePath, ModelMetadata, TrainingInput, TrainingSettings,
        METADATA_FILE, WEIGHTS_FILE,
    },
    dfdx::prelude::Cpu,
    model::build_teaching_net,
    training::Recipe,
};
use libfuzzer_sys::fuzz_target;

/// A folder holding a valid checkpoint, made once per process; each input overwrites one file.
fn folder() -> &'static (PathBuf, Vec<u8>, Vec<u8>) {
    static FOLDER: OnceLock<(PathBuf, Vec<u8>, Vec<u8>)> = OnceLock::new();
    FOLDER.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("head-ct-fuzz-{}", std::process::id()));
        let dev = Cpu::default();
        let metadata = ModelMetadata::for_teaching_net(
            vec!["hemorrhage".into(), "normal".into()],
            TrainingSettings {
                recipe: Recipe::TEACHING,
                seed: 1,
                data: "fuzz".into(),
                train_images: 1,
                validate_images: 1,
                input: TrainingInput::DisplayImages,
                compute: Some(ComputePath::current()),
            },
        );
        save_checkpoint(&dir, &build_teaching_net(&dev), &metadata).unwrap();
        let weights = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
        let json = std::fs::read(dir.join(METADATA_FILE)).unwrap();
        (dir, weights, json)
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let (dir, weights, json) = folder();
    let (fuzzed, kept, kept_bytes) = if mode % 2 == 0 {
        (WEIGHTS_FILE, METADATA_FILE, json)
    } else {
        (METADATA_FILE, WEIGHTS_FILE, weights)
    };
    std::fs::write(dir.join(kept), kept_bytes).unwrap();
    std::fs::write(dir.join(fuzzed), rest).unwrap();
    if let Err(e) = load_checkpoint(&Cpu::default(), dir) {
        let text = e.to_string();
        assert!(text.contains(fuzzed), "{text}");
    }
});
