//! Checkpoints: a saved model comes back bit for bit, and a file that does not fit is refused
//! with a message that says why.

use dfdx::prelude::*;
use head_ct::{
    checkpoint::{
        load_checkpoint, save_checkpoint, ComputePath, ModelMetadata, TrainingInput,
        TrainingSettings, METADATA_FILE, WEIGHTS_FILE,
    },
    data::Augmentation,
    input::{InputWindows, ModelInput, ResizeFilter},
    model::layers::builders::{Conv2D, Dense, Flatten, MaxPool2D, ReLU},
    model::{build_teaching_net, kernels::VectorPath, ImageBatch},
    training::Recipe,
    Threshold,
};
use serde_json::{json, Value};

fn metadata() -> ModelMetadata {
    ModelMetadata::for_teaching_net(
        vec!["hemorrhage".into(), "normal".into()],
        TrainingSettings {
            recipe: Recipe::TEACHING,
            seed: 7,
            data: "test".into(),
            train_images: 140,
            validate_images: 50,
            input: TrainingInput::DisplayImages,
            compute: Some(ComputePath::current()),
        },
    )
}

/// The saved `model.json` of the checkpoint in `dir`, as JSON.
fn read_json(dir: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(dir.join(METADATA_FILE)).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn write_json(dir: &std::path::Path, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap();
    std::fs::write(dir.join(METADATA_FILE), text).unwrap();
}

/// The scaling sentence that format versions 1 to 3 wrote in place of the model's input.
const OLD_SCALING: &str = "RGB, resized to 150x150 with the Triangle filter, pixel values / 255";

/// `current` (a `model.json` of this version) rewritten in the version-3 layout: the recipe's
/// `windows` and a free-text `scaling` in place of the recipe's `input`.
fn version_3(current: &Value) -> Value {
    let mut value = current.clone();
    let recipe = value["training"]["recipe"].as_object_mut().unwrap();
    let input = recipe.remove("input").unwrap();
    recipe.insert("windows".into(), input["windows"].clone());
    value["scaling"] = json!(OLD_SCALING);
    value["format_version"] = json!(3);
    value
}

/// `current` (a `model.json` of this version) rewritten in the version-1 layout: the threshold at the
/// top level and the augmentation as a `Debug` string.
fn version_1(current: &Value, augmentation: &str) -> Value {
    json!({
        "format_version": 1,
        "model": current["model"],
        "crate_version": current["crate_version"],
        "input_shape": current["input_shape"],
        "parameters": current["parameters"],
        "class_names": current["class_names"],
        "positive_class": current["positive_class"],
        "scaling": OLD_SCALING,
        "threshold": 0.3,
        "training": {
            "epochs": 4,
            "batch_size": 6,
            "learning_rate": 0.0005,
            "seed": 11,
            "augmentation": augmentation,
            "data": "version-1 data",
            "train_images": 30,
            "validate_images": 12,
        },
        "final_metrics": null,
    })
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
    assert_eq!(meta.threshold(), Threshold::DEFAULT);
    let images: ImageBatch = dev.sample_uniform_like(&(3, Const, Const, Const));
    let bits = |v: Vec<f32>| v.into_iter().map(f32::to_bits).collect::<Vec<_>>();
    assert_eq!(
        bits(model.forward(images.clone()).as_vec()),
        bits(loaded.forward(images).as_vec())
    );
    // The weights file's path works as well as the folder.
    load_checkpoint(&dev, &dir.path().join(WEIGHTS_FILE)).unwrap();
}

/// `model.json` says which vector path and how many threads computed the weights (a seeded run
/// repeats bit for bit only on the same), and a file written before that field existed loads.
#[test]
fn the_vector_path_and_threads_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::seed_from_u64(5);
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let mut json = read_json(dir.path());
    let compute = &json["training"]["compute"];
    assert_eq!(compute["vector_path"], VectorPath::active().name());
    assert_eq!(compute["threads"], rayon::current_num_threads());
    assert!(["portable", "avx2", "avx512"].contains(&compute["vector_path"].as_str().unwrap()));

    json["training"].as_object_mut().unwrap().remove("compute");
    write_json(dir.path(), &json);
    let (_, meta) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(meta.training.compute, None);
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

#[test]
fn version_1_metadata_still_loads() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let current = read_json(dir.path());

    let none = format!("{:?}", Augmentation::none());
    write_json(dir.path(), &version_1(&current, &none));
    let (_, meta) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(meta.format_version, 5, "upgraded to the current format");
    assert_eq!(*meta.input(), ModelInput::TEACHING);
    assert_eq!(meta.threshold().value(), 0.3);
    let recipe = meta.training.recipe;
    assert_eq!(
        (recipe.epochs, recipe.batch_size, recipe.learning_rate),
        (4, 6, 0.0005)
    );
    assert!(!recipe.augment);
    assert_eq!(recipe.threshold.value(), 0.3);
    assert_eq!(meta.training.recipe.augmentation(), Augmentation::none());
    assert_eq!(meta.training.seed, 11);
    assert_eq!(meta.training.data, "version-1 data");
    assert_eq!(
        (meta.training.train_images, meta.training.validate_images),
        (30, 12)
    );
    assert_eq!(meta.final_metrics, None);
    assert_eq!(meta.class_names, metadata().class_names);

    // The other augmentation version 1 wrote, the Keras tutorial's, becomes `augment`.
    let keras = format!("{:?}", Augmentation::keras_tutorial());
    write_json(dir.path(), &version_1(&current, &keras));
    let (_, meta) = load_checkpoint(&dev, dir.path()).unwrap();
    assert!(meta.training.recipe.augment);
    assert_eq!(
        meta.training.recipe.augmentation(),
        Augmentation::keras_tutorial()
    );
}

#[test]
fn version_2_metadata_loads_as_a_display_image_model_in_the_brain_window() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let mut value = version_3(&read_json(dir.path()));
    assert_eq!(
        value["training"]["recipe"]["windows"],
        json!("40/80,40/80,40/80")
    );
    assert_eq!(value["training"]["input"], json!("display_images"));
    value["format_version"] = json!(2);
    value["training"]["recipe"]
        .as_object_mut()
        .unwrap()
        .remove("windows");
    value["training"].as_object_mut().unwrap().remove("input");
    write_json(dir.path(), &value);
    let (_, meta) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(meta.format_version, 5);
    assert_eq!(*meta.input(), ModelInput::TEACHING);
    assert_eq!(meta.training.input, TrainingInput::DisplayImages);
    assert!(meta
        .dicom_input_sentence()
        .contains("trained on display images (PNG)"));
}

#[test]
fn version_3_metadata_converts_its_windows_and_scaling_into_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    let mut meta = metadata();
    meta.training.recipe.input = ModelInput::with_windows(InputWindows::THREE);
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &meta).unwrap();
    let old = version_3(&read_json(dir.path()));
    write_json(dir.path(), &old);
    let (_, back) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(back, meta, "the same metadata, read from the older layout");
    // A scaling sentence that names a filter this program does not know is refused, named.
    let mut odd = old.clone();
    odd["scaling"] = json!("RGB, resized to 150x150 with the Bicubic filter, pixel values / 255");
    write_json(dir.path(), &odd);
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(METADATA_FILE) && err.contains("names no resize filter"),
        "{err}"
    );
    // Another filter, named, is read as such.
    let mut nearest = old;
    nearest["scaling"] =
        json!("RGB, resized to 150x150 with the Nearest filter, pixel values / 255");
    write_json(dir.path(), &nearest);
    let (_, back) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(back.input().resize_filter, ResizeFilter::Nearest);
}

#[test]
fn the_input_of_a_model_is_saved_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    let mut meta = metadata();
    meta.training.recipe.input = ModelInput::with_windows(InputWindows::THREE);
    meta.training.input = TrainingInput::CtNumbers;
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &meta).unwrap();
    // The values, not the preset names: a model keeps its meaning should a preset change.
    assert_eq!(
        read_json(dir.path())["training"]["recipe"]["input"],
        json!({"windows": "40/80,80/200,600/2800", "side": 150, "resize_filter": "triangle"})
    );
    assert!(read_json(dir.path()).get("scaling").is_none());
    let (_, back) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(back, meta);
    let sentence = back.dicom_input_sentence();
    assert!(
        sentence.contains("windows it was trained with") && sentence.contains("subdural"),
        "{sentence}"
    );
    // A window that is not one is refused with the file named.
    let mut value = read_json(dir.path());
    value["training"]["recipe"]["input"]["windows"] = json!("40/0");
    write_json(dir.path(), &value);
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(METADATA_FILE) && err.contains("width of at least 1 HU"),
        "{err}"
    );
    // A side the network cannot take is refused too.
    let mut value = read_json(dir.path());
    value["training"]["recipe"]["input"] =
        json!({"windows": "brain", "side": 224, "resize_filter": "triangle"});
    write_json(dir.path(), &value);
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(
        err.contains(METADATA_FILE) && err.contains("224x224"),
        "{err}"
    );
}

#[test]
fn a_checkpoint_loads_images_with_its_own_input() {
    // A three-window model reads DICOM in its three windows and refuses a display image; the
    // teaching model reads both, DICOM in the brain window.
    let dir = tempfile::tempdir().unwrap();
    let images = tempfile::tempdir().unwrap();
    head_ct::data::phantoms::write_ct_phantom_layout(
        images.path(),
        1,
        head_ct::data::prepare::SplitCounts {
            train: 1,
            validate: 1,
            test: 0,
        },
        false,
    )
    .unwrap();
    let dicom = images.path().join("train/hemorrhage/phantom_000.dcm");
    let dev = Cpu::default();
    let mut meta = metadata();
    meta.training.recipe.input = ModelInput::with_windows(InputWindows::THREE);
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &meta).unwrap();
    let (_, back) = load_checkpoint(&dev, dir.path()).unwrap();
    let loader = back.loader(head_ct::input::Limits::default());
    assert_eq!(
        *loader.input(),
        ModelInput::with_windows(InputWindows::THREE)
    );
    let set = loader.files(std::slice::from_ref(&dicom)).unwrap();
    assert_eq!(*set.input(), *back.input());
    assert!(set.samples[0].is_dicom());
    let brain = head_ct::data::Loader::default().file(&dicom).unwrap();
    assert_ne!(
        set.image(0),
        &brain[..],
        "the windows are the model's, not the default"
    );
    // A display image is refused by the three-window model's loader.
    let png = images.path().join("slice.png");
    image::GrayImage::new(64, 64).save(&png).unwrap();
    let err = loader.file(&png).unwrap_err().to_string();
    assert!(
        err.contains("slice.png") && err.contains("display image"),
        "{err}"
    );
}

#[test]
fn version_1_metadata_with_an_unknown_augmentation_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let current = read_json(dir.path());
    write_json(
        dir.path(),
        &version_1(&current, "Augmentation { rotation_range: 7.0 }"),
    );
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains(METADATA_FILE), "{err}");
    assert!(err.contains("rotation_range: 7.0"), "{err}");
}

#[test]
fn a_recipe_threshold_outside_0_to_1_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let mut value = read_json(dir.path());
    assert_eq!(value["training"]["recipe"]["threshold"], json!(0.5));
    value["training"]["recipe"]["threshold"] = json!(-0.2);
    write_json(dir.path(), &value);
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains(METADATA_FILE), "{err}");
    assert!(err.contains("-0.2"), "{err}");
}

#[test]
fn a_newer_or_missing_format_version_is_refused_with_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let mut value = read_json(dir.path());
    value["format_version"] = json!(6);
    // A newer writer may have added fields: the version is read first, whatever else changed.
    value["training"]["recipe"]["class_weight"] = json!("balanced");
    write_json(dir.path(), &value);
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains(METADATA_FILE), "{err}");
    assert!(err.contains("format version 6, newer than"), "{err}");

    // Another positive class: the output would be read the wrong way round.
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let mut other = read_json(dir.path());
    other["positive_class"] = json!("normal");
    write_json(dir.path(), &other);
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains("probability of \"normal\""), "{err}");

    value.as_object_mut().unwrap().remove("format_version");
    write_json(dir.path(), &value);
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains("no valid `format_version`"), "{err}");
}

/// The saved weights, re-serialised with the first tensor (by name) stored as `dtype`, its
/// values encoded by `encode`.
fn weights_with_first_tensor_as(
    dir: &std::path::Path,
    dtype: ::safetensors::Dtype,
    encode: fn(f32) -> Vec<u8>,
) -> Vec<u8> {
    use ::safetensors::tensor::{serialize, TensorView};
    let bytes = std::fs::read(dir.join(WEIGHTS_FILE)).unwrap();
    let file = ::safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut names: Vec<String> = file.names().into_iter().cloned().collect();
    names.sort();
    let mut stored = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let view = file.tensor(name).unwrap();
        let (dt, data): (::safetensors::Dtype, Vec<u8>) = if i == 0 {
            let values = view.data().chunks_exact(4);
            let encoded = values.flat_map(|b| encode(f32::from_le_bytes(b.try_into().unwrap())));
            (dtype, encoded.collect())
        } else {
            (view.dtype(), view.data().to_vec())
        };
        stored.push((name.clone(), dt, view.shape().to_vec(), data));
    }
    let views: Vec<(String, TensorView)> = stored
        .iter()
        .map(|(n, dt, shape, data)| {
            (
                n.clone(),
                TensorView::new(*dt, shape.clone(), data).unwrap(),
            )
        })
        .collect();
    serialize(views.iter().map(|(n, v)| (n.clone(), v)), &None).unwrap()
}

#[test]
fn weights_of_another_dtype_or_damaged_files_are_refused_by_name_without_a_panic() {
    use ::safetensors::Dtype;
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let weights = dir.path().join(WEIGHTS_FILE);
    let original = std::fs::read(&weights).unwrap();

    // Re-serialised as F32 the weights still load: the rewriting itself is sound.
    let same = weights_with_first_tensor_as(dir.path(), Dtype::F32, |x| x.to_le_bytes().to_vec());
    std::fs::write(&weights, &same).unwrap();
    load_checkpoint(&dev, dir.path()).unwrap();

    let f64_bytes: fn(f32) -> Vec<u8> = |x| f64::from(x).to_le_bytes().to_vec();
    let half_bytes: fn(f32) -> Vec<u8> = |x| ((x.to_bits() >> 16) as u16).to_le_bytes().to_vec();
    let same_bytes: fn(f32) -> Vec<u8> = |x| x.to_le_bytes().to_vec();
    for (dtype, encode, name) in [
        (Dtype::F64, f64_bytes, "F64"),
        (Dtype::F16, half_bytes, "F16"),
        (Dtype::BF16, half_bytes, "BF16"),
        (Dtype::I32, same_bytes, "I32"),
    ] {
        std::fs::write(&weights, &original).unwrap();
        let bytes = weights_with_first_tensor_as(dir.path(), dtype, encode);
        std::fs::write(&weights, &bytes).unwrap();
        let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
        assert!(err.contains(WEIGHTS_FILE), "{name}: {err}");
        assert!(err.contains(&format!("stored as {name}")), "{name}: {err}");
        assert!(err.contains("tensor `"), "{name}: {err}");
    }

    // Truncated, not safetensors at all, and far too large.
    std::fs::write(&weights, &original[..original.len() / 2]).unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains("truncated or damaged"), "{err}");
    std::fs::write(&weights, b"PK\x03\x04 a zip file, say").unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains("not a safetensors file"), "{err}");
    std::fs::File::create(&weights)
        .unwrap()
        .set_len(head_ct::checkpoint::MAX_WEIGHTS_BYTES + 1)
        .unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains("not its checkpoint"), "{err}");
}

/// A calibrated model with a chosen threshold, as `train --target-sensitivity` saves it.
fn calibrated_metadata() -> ModelMetadata {
    use head_ct::{calibration::*, operating_point::*, Label::*};
    let mut meta = metadata();
    let p = [0.95f32, 0.9, 0.7, 0.4, 0.85, 0.6, 0.3, 0.2, 0.1, 0.05];
    let y = [
        Hemorrhage, Hemorrhage, Hemorrhage, Hemorrhage, Hemorrhage, Normal, Normal, Normal, Normal,
        Normal,
    ];
    let (p, y): (Vec<f32>, Vec<_>) = p.iter().cycle().zip(y.iter().cycle()).take(20).unzip();
    let rule = fit_call_rule(
        &p,
        &y,
        CalibrationMode::Temperature,
        Some(TargetSensitivity::new(0.9).unwrap()),
        Threshold::DEFAULT,
        "validation images",
    )
    .unwrap();
    meta.calibration = rule.calibration;
    meta.operating_point = rule.operating_point;
    meta.training_warnings = vec!["training sat at chance".into()];
    meta
}

#[test]
fn the_temperature_and_the_chosen_threshold_are_saved_with_their_provenance() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    let meta = calibrated_metadata();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &meta).unwrap();
    let json = read_json(dir.path());
    assert_eq!(json["format_version"], json!(5));
    assert!(json["calibration"]["fitted_on"]
        .as_str()
        .unwrap()
        .starts_with("20 validation images (10 hemorrhage, 10 normal)"));
    assert!(json["operating_point"]["chosen_on"]
        .as_str()
        .unwrap()
        .contains("for sensitivity ≥ 0.90"));
    let (_, loaded) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(loaded, meta);
    // Every command calls at the chosen threshold, on the calibrated probability.
    let chosen = meta.operating_point.as_ref().unwrap().threshold;
    assert_eq!(loaded.threshold(), chosen);
    assert_ne!(chosen, Threshold::DEFAULT);
    assert_eq!(
        loaded.temperature(),
        meta.calibration.as_ref().map(|c| c.temperature)
    );
    assert!(loaded
        .probability_sentence()
        .starts_with("Probabilities are calibrated: temperature"));
}

#[test]
fn a_version_4_file_loads_as_uncalibrated_at_its_recipe_threshold() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(dir.path(), &build_teaching_net(&dev), &metadata()).unwrap();
    let mut value = read_json(dir.path());
    value["format_version"] = json!(4);
    value["training"]["recipe"]["threshold"] = json!(0.4);
    let recipe = value["training"]["recipe"].as_object_mut().unwrap();
    recipe.remove("calibration");
    write_json(dir.path(), &value);
    let (_, meta) = load_checkpoint(&dev, dir.path()).unwrap();
    assert_eq!(meta.format_version, 5);
    assert_eq!(meta.temperature(), None);
    assert_eq!(meta.operating_point, None);
    assert_eq!(meta.threshold().value(), 0.4);
    assert!(meta.probability_sentence().contains("uncalibrated"));
}

#[test]
fn a_temperature_that_is_not_finite_and_positive_is_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let dev = Cpu::default();
    save_checkpoint(
        dir.path(),
        &build_teaching_net(&dev),
        &calibrated_metadata(),
    )
    .unwrap();
    for bad in [json!(0.0), json!(-1.5), json!("NaN"), json!(null)] {
        let mut value = read_json(dir.path());
        value["calibration"]["temperature"] = bad.clone();
        write_json(dir.path(), &value);
        let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
        assert!(err.contains(METADATA_FILE), "{bad}: {err}");
        assert!(
            err.contains("temperature") || err.contains("invalid type"),
            "{bad}: {err}"
        );
    }
    // Infinity cannot be written in JSON; a number too large for f64 is refused too.
    let text = std::fs::read_to_string(dir.path().join(METADATA_FILE)).unwrap();
    let huge = regex_free_replace(&text, "\"temperature\": null", "\"temperature\": 1e999");
    std::fs::write(dir.path().join(METADATA_FILE), huge).unwrap();
    let err = load_checkpoint(&dev, dir.path()).unwrap_err().to_string();
    assert!(err.contains(METADATA_FILE), "{err}");
}

fn regex_free_replace(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "{from} not in {text}");
    text.replace(from, to)
}
