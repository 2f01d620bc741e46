//! Checkpoints: a saved model comes back bit for bit, and a file that does not fit is refused
//! with a message that says why.

use dfdx::prelude::*;
use head_ct::{
    checkpoint::{
        load_checkpoint, save_checkpoint, ModelMetadata, TrainingSettings, METADATA_FILE,
        WEIGHTS_FILE,
    },
    layers::builders::{Conv2D, Dense, Flatten, MaxPool2D, ReLU},
    model::{build_teaching_net, ImageBatch},
};

fn metadata() -> ModelMetadata {
    ModelMetadata::for_teaching_net(
        vec!["hemorrhage".into(), "normal".into()],
        TrainingSettings {
            epochs: 10,
            batch_size: 10,
            learning_rate: 1e-3,
            seed: 7,
            augmentation: "none".into(),
            data: "test".into(),
            train_images: 140,
            validate_images: 50,
        },
    )
}

#[test]
fn checkpoint_round_trip_is_bit_identical() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(5);
    let model = build_teaching_net(&dev);
    save_checkpoint(dir.path(), &model, &metadata()).unwrap();
    // Only the two files: no temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![METADATA_FILE.to_string(), WEIGHTS_FILE.to_string()]
    );

    let (loaded, meta) = load_checkpoint(&Cpu::seed_from_u64(6), dir.path()).unwrap();
    assert_eq!(meta, metadata());
    let images: ImageBatch = dev.sample_uniform_like(&(3, Const, Const, Const));
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(
        bits(model.forward(images.clone()).as_vec()),
        bits(loaded.forward(images).as_vec())
    );
    // The weights file's path works as well as the folder.
    load_checkpoint(&dev, &dir.path().join(WEIGHTS_FILE)).unwrap();
}

#[test]
fn metadata_for_another_model_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    let mut meta = metadata();
    meta.input_shape = [3, 224, 224];
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &meta).unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains("model.json"), "{err}");
    assert!(err.contains("does not fit the teaching model"), "{err}");
    assert!(err.contains("[3, 224, 224]"), "{err}");
}

#[test]
fn weights_of_another_shape_are_refused() {
    use dfdx::nn::SaveToSafetensors;
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    // Overwrite the weights with those of a smaller network of the same layer kinds.
    type Small = (
        (Conv2D<3, 8>, ReLU, MaxPool2D),
        (Flatten, Dense<8, 4>, ReLU, Dense<4, 1>),
    );
    let small = dev.build_module::<Small, f32>();
    small
        .save_safetensors(dir.path().join(WEIGHTS_FILE))
        .unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains(WEIGHTS_FILE), "{err}");
    assert!(err.contains("do not fit the teaching model"), "{err}");
}

#[test]
fn missing_or_garbled_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains(METADATA_FILE), "{err}");

    std::fs::write(dir.path().join(METADATA_FILE), "{ not json").unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains("not a head-ct checkpoint description"),
        "{err}"
    );

    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    std::fs::write(dir.path().join(WEIGHTS_FILE), b"truncated").unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains(WEIGHTS_FILE), "{err}");
}
