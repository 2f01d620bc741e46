//! The whole job on synthetic phantoms: data → fit → evaluate → predict.

use dfdx::prelude::*;
use head_ct::{
    data::{phantoms::phantom_splits, prepare::SplitCounts, ImageSet, Sample, IMAGE_LEN},
    inference::{predict_set, DEFAULT_THRESHOLD},
    metrics::BinaryMetrics,
    model::build_teaching_net,
    progress::Silent,
    training::{fit, keras_adam, FitConfig, Trainer},
    Error,
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
fn the_same_seed_gives_the_same_history() {
    let data = small_phantoms(10, 5);
    let config = FitConfig {
        epochs: 2,
        ..FitConfig::default()
    };
    let run = || {
        let dev = Cpu::seed_from_u64(config.seed);
        let mut trainer = Trainer::new(build_teaching_net(&dev), keras_adam(config.learning_rate));
        fit(
            &mut trainer,
            &dev,
            &data.train,
            &data.validate,
            &config,
            &mut Silent,
        )
        .unwrap()
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

#[test]
fn a_non_finite_loss_stops_training_with_a_clear_message() {
    let good = small_phantoms(5, 5);
    let mut pixels = good.train.pixels().to_vec();
    pixels[..IMAGE_LEN].iter_mut().for_each(|p| *p = f32::NAN);
    let samples: Vec<Sample> = good.train.samples.clone();
    let poisoned = ImageSet::from_parts(good.train.class_names.clone(), samples, pixels).unwrap();
    let dev = Cpu::seed_from_u64(1);
    let mut trainer = Trainer::new(build_teaching_net(&dev), keras_adam(1e-3));
    let config = FitConfig {
        epochs: 1,
        batch_size: 10,
        ..FitConfig::default()
    };
    let before = trainer.model.clone();
    let err = fit(
        &mut trainer,
        &dev,
        &poisoned,
        &good.validate,
        &config,
        &mut Silent,
    )
    .unwrap_err();
    assert!(matches!(err, Error::NonFiniteLoss { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("epoch 1, batch 1 of 1"), "{message}");
    // The weights were not touched by the poisoned batch.
    assert_eq!(
        before.1 .3.weight.as_vec(),
        trainer.model.1 .3.weight.as_vec()
    );
}

/// The main job in miniature: the teaching model, trained 10 epochs on phantoms with the seed's
/// recipe, must tell held-out phantoms apart clearly better than chance.
#[test]
fn training_on_phantoms_clears_the_bar_on_held_out_phantoms() {
    let data = small_phantoms(70, 25);
    let config = FitConfig::default();
    let dev = Cpu::seed_from_u64(config.seed);
    let mut trainer = Trainer::new(build_teaching_net(&dev), keras_adam(config.learning_rate));
    let history = fit(
        &mut trainer,
        &dev,
        &data.train,
        &data.validate,
        &config,
        &mut Silent,
    )
    .unwrap();
    assert_eq!(history.epochs(), 10);

    let predictions = predict_set(&trainer.model, &dev, &data.validate, DEFAULT_THRESHOLD).unwrap();
    let probabilities: Vec<f32> = predictions.iter().map(|p| p.probability).collect();
    let labels: Vec<u8> = predictions.iter().map(|p| p.truth.unwrap()).collect();
    let metrics = BinaryMetrics::compute(&probabilities, &labels, DEFAULT_THRESHOLD, 0).unwrap();
    println!("{}", metrics.summary());
    assert!(
        metrics.accuracy.value >= 0.75,
        "held-out accuracy {} is below the bar",
        metrics.accuracy.value
    );
    assert!(metrics.auc.as_ref().unwrap().value >= 0.85);
}
