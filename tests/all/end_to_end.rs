//! The whole job on synthetic phantoms: data → train → evaluate → predict.

use head_ct::{
    data::{phantoms::phantom_splits, prepare::SplitCounts, ImageSet, Sample},
    inference::predict_set,
    metrics::BinaryMetrics,
    model::{build_teaching_net, TeachingNetParts, IMAGE_LEN},
    training::{observer::Silent, train_model, History, Recipe, SeededDevice, Trainer},
    Error, Label, Threshold,
};

fn small_phantoms(per_class_train: usize, per_class_validate: usize) -> head_ct::data::SeedData {
    phantom_splits(
        3,
        SplitCounts {
            train: per_class_train,
            validate: per_class_validate,
            test: 0,
        },
    )
    .into_seed_data()
}

#[test]
fn training_refuses_images_loaded_for_another_input_than_the_recipes() {
    use head_ct::input::{InputWindows, ModelInput};
    // Brain-window images with a three-window recipe: its model.json would record windows the
    // model never saw.
    let data = small_phantoms(2, 1);
    let three = Recipe {
        epochs: 1,
        input: ModelInput::with_windows(InputWindows::THREE),
        ..Recipe::TEACHING
    };
    let err = train_model(&data.train, &data.validate, &three, 1, &mut Silent)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        err.contains("training images were loaded for an input of 150x150")
            && err.contains("the brain window")
            && err.contains("three windows"),
        "{err}"
    );
    // The same for the validation images alone, and for a whole run (nothing written).
    let ct = head_ct::data::phantoms::ct_phantom_seed_data(3, &three.input);
    let err = train_model(&ct.train, &data.validate, &three, 1, &mut Silent)
        .err()
        .expect("refused")
        .to_string();
    assert!(err.contains("the validation images were loaded"), "{err}");
    let out = tempfile::tempdir().unwrap();
    let found = head_ct::data::FoundData {
        data,
        source: head_ct::data::DataSource::Phantoms { seed: 3 },
        description: String::new(),
    };
    let folder = out.path().join("run");
    assert!(head_ct::run::train(&folder, &found, &three, 1, &mut Silent).is_err());
    assert!(
        !folder.exists(),
        "nothing is written for a run that cannot start"
    );
}

#[test]
fn the_same_seed_gives_the_same_history() {
    let data = small_phantoms(10, 5);
    let recipe = Recipe {
        epochs: 2,
        ..Recipe::TEACHING
    };
    let run = || {
        train_model(&data.train, &data.validate, &recipe, 1, &mut Silent)
            .unwrap()
            .history
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b);
    assert_eq!(a.epochs(), 2);
    for v in [&a.loss, &a.accuracy, &a.val_loss, &a.val_accuracy] {
        assert!(v.iter().all(|x| x.is_finite()));
    }
    // Accuracy is a fraction of 20 training and 10 validation images.
    assert!(a
        .accuracy
        .iter()
        .all(|x| (x * 20.0 - (x * 20.0).round()).abs() < 1e-4));
    assert!(a
        .val_accuracy
        .iter()
        .all(|x| (x * 10.0 - (x * 10.0).round()).abs() < 1e-4));
}

/// Every number of a history, as bits: equal only if bit for bit the same (NaN included).
fn history_bits(h: &History) -> Vec<Vec<u32>> {
    [&h.loss, &h.accuracy, &h.val_loss, &h.val_accuracy]
        .iter()
        .map(|v| v.iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// `train_model` seeds its own device, so the seed alone decides the initial weights, the batch
/// order and the augmentation: the same seed gives a bit-identical history and bit-identical
/// predictions, another seed a different history.
#[test]
fn the_seed_decides_the_history_and_the_predictions_bit_for_bit() {
    let data = small_phantoms(5, 5);
    let recipe = Recipe {
        epochs: 2,
        batch_size: 4,
        augment: true,
        ..Recipe::TEACHING
    };
    let run = |seed: u64| {
        let trained = train_model(&data.train, &data.validate, &recipe, seed, &mut Silent).unwrap();
        assert_eq!((trained.seed, trained.recipe), (seed, recipe));
        assert_eq!(trained.history.epochs(), 2);
        let probabilities: Vec<u32> = predict_set(
            &trained.model,
            &trained.dev,
            &data.validate,
            recipe.threshold,
        )
        .unwrap()
        .iter()
        .map(|p| p.probability.to_bits())
        .collect();
        (history_bits(&trained.history), probabilities)
    };
    let (first, again, other) = (run(7), run(7), run(8));
    assert_eq!(first.0, again.0, "same seed, different history");
    assert_eq!(first.1, again.1, "same seed, different predictions");
    assert_eq!(first.1.len(), data.validate.len());
    assert_ne!(first.0, other.0, "seeds 7 and 8 gave the same history");
}

#[test]
fn a_non_finite_loss_stops_training_with_a_clear_message() {
    let good = small_phantoms(5, 5);
    let mut pixels = good.train.pixels().to_vec();
    pixels[..IMAGE_LEN].iter_mut().for_each(|p| *p = f32::NAN);
    let samples: Vec<Sample> = good.train.samples.clone();
    let poisoned = ImageSet::from_parts(
        good.train.class_names.clone(),
        samples,
        pixels,
        *good.train.input(),
    )
    .unwrap();
    // One batch of all 10 images: the poisoned one is in batch 1 of 1.
    let recipe = Recipe {
        epochs: 1,
        batch_size: 10,
        ..Recipe::TEACHING
    };
    let err = match train_model(&poisoned, &good.validate, &recipe, 1, &mut Silent) {
        Ok(_) => panic!("training on a NaN image succeeded"),
        Err(e) => e,
    };
    assert!(matches!(err, Error::NonFiniteLoss { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("epoch 1, batch 1 of 1"), "{message}");

    // The step that meets the non-finite loss leaves the weights as they were.
    let dev = SeededDevice::new(1);
    let mut trainer = Trainer::new(build_teaching_net(&dev), &recipe);
    let before = trainer.model.clone();
    let batch = poisoned.batch(&dev, &(0..poisoned.len()).collect::<Vec<_>>());
    let err = trainer.train_step(batch.images, &batch.labels).unwrap_err();
    assert!(matches!(err, Error::NonFiniteLoss { .. }), "{err}");
    assert_eq!(
        before.classifier().3.weight.as_vec(),
        trainer.model.classifier().3.weight.as_vec()
    );
    assert_eq!(
        before.block1().conv.weight.as_vec(),
        trainer.model.block1().conv.weight.as_vec()
    );
}

/// The main job in miniature: the teaching model, trained 10 epochs on phantoms with the seed's
/// recipe, must tell held-out phantoms apart clearly better than chance.
#[test]
fn training_on_phantoms_clears_the_bar_on_held_out_phantoms() {
    let data = small_phantoms(70, 25);
    let trained = train_model(
        &data.train,
        &data.validate,
        &Recipe::TEACHING,
        1,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(trained.history.epochs(), 10);

    let predictions = predict_set(
        &trained.model,
        &trained.dev,
        &data.validate,
        Threshold::DEFAULT,
    )
    .unwrap();
    let probabilities: Vec<f32> = predictions.iter().map(|p| p.probability).collect();
    let labels: Vec<Label> = predictions.iter().map(|p| p.truth.unwrap()).collect();
    let metrics = BinaryMetrics::compute(&probabilities, &labels, Threshold::DEFAULT).unwrap();
    println!("{}", metrics.summary());
    assert!(
        metrics.accuracy.value >= 0.75,
        "held-out accuracy {} is below the bar",
        metrics.accuracy.value
    );
    assert!(metrics.auc.as_ref().unwrap().value >= 0.85);
}
