//! The teaching model: parameter count, shapes, training, and the safetensors round trip.

use dfdx::{
    nn::{DeviceBuildExt, LoadFromSafetensors, Module, NumParams, SaveToSafetensors},
    prelude::*,
};
use head_ct::{
    model::{
        build_teaching_net,
        layers::builders::{Conv2D, Dense, Flatten, MaxPool2D},
        ImageBatch, TeachingNetParts, TEACHING_NET_PARAMS,
    },
    training::{Recipe, Trainer},
};

fn random_images(dev: &Cpu, batch: usize) -> ImageBatch {
    dev.sample_uniform_like(&(batch, Const::<3>, Const::<150>, Const::<150>))
}

#[test]
fn teaching_net_has_the_keras_parameter_count() {
    let dev = Cpu::seed_from_u64(0);
    let model = build_teaching_net(&dev);
    assert_eq!(model.num_trainable_params(), TEACHING_NET_PARAMS);
}

#[test]
fn teaching_net_maps_a_batch_to_one_probability_each() {
    let dev = Cpu::seed_from_u64(1);
    let model = build_teaching_net(&dev);
    let logits: Tensor<(usize, Const<1>), f32, Cpu> = model.forward(random_images(&dev, 3));
    assert_eq!(logits.shape().0, 3);
    assert!(logits.as_vec().iter().all(|v| v.is_finite()));
}

/// A tiny network of the same kind (conv, pool, flatten, dense) must learn one small batch by
/// heart: if any gradient were wrong, the loss would not fall this far.
#[test]
fn tiny_model_overfits_one_batch() {
    type Tiny = (
        (Conv2D<1, 4>, ReLU, MaxPool2D),
        (Conv2D<4, 8>, ReLU, MaxPool2D),
        (Flatten, Dense<32, 16>, ReLU, Dense<16, 1>),
    );
    let dev = Cpu::seed_from_u64(2);
    let model = dev.build_module::<Tiny, f32>();
    let images: Tensor<(usize, Const<1>, Const<14>, Const<14>), f32, Cpu> =
        dev.sample_normal_like(&(8, Const, Const, Const));
    let labels = dev.tensor_from_vec(
        vec![0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0],
        (8usize, Const::<1>),
    );
    let recipe = Recipe {
        learning_rate: 1e-2,
        ..Recipe::TEACHING
    };
    let mut trainer = Trainer::new(model, &recipe);
    let first = trainer.train_step(images.clone(), &labels).unwrap();
    let mut last = first;
    for _ in 0..150 {
        last = trainer.train_step(images.clone(), &labels).unwrap();
    }
    assert!(
        last.loss < 0.1 * first.loss,
        "loss fell from {} to {} only",
        first.loss,
        last.loss
    );
    assert_eq!(last.correct, 8);
}

#[test]
fn safetensors_round_trip_gives_bit_identical_outputs() {
    let dev = Cpu::seed_from_u64(3);
    let model = build_teaching_net(&dev);
    let dir = std::env::temp_dir().join(format!("head-ct-roundtrip-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("model.safetensors");
    model.save_safetensors(&path).unwrap();

    let mut loaded = build_teaching_net(&Cpu::seed_from_u64(99));
    let images = random_images(&dev, 2);
    assert_ne!(
        model.forward(images.clone()).as_vec(),
        loaded.forward(images.clone()).as_vec(),
        "a differently seeded model should differ before loading"
    );
    loaded.load_safetensors(&path).unwrap();
    let before: Vec<u32> = model
        .forward(images.clone())
        .as_vec()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    let after: Vec<u32> = loaded
        .forward(images)
        .as_vec()
        .iter()
        .map(|v| v.to_bits())
        .collect();
    assert_eq!(before, after);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The whole teaching net at full size: the gradient of the loss with respect to a few weights of
/// the first and third convolutions and of the first dense layer, against finite differences.
#[test]
fn teaching_net_gradients_match_finite_differences_at_full_size() {
    use dfdx::losses::binary_cross_entropy_with_logits_loss;
    let dev = Cpu::seed_from_u64(21);
    let model = build_teaching_net(&dev);
    let images = random_images(&dev, 2);
    let labels = dev.tensor_from_vec(vec![1.0f32, 0.0], (2usize, Const::<1>));
    let loss_of = |m: &head_ct::model::TeachingNet| -> f64 {
        binary_cross_entropy_with_logits_loss(m.forward(images.clone()), labels.clone()).array()
            as f64
    };
    let logits = model.forward(images.leaky_trace());
    let grads = binary_cross_entropy_with_logits_loss(logits, labels.clone()).backward();
    let g_conv1 = grads.get(&model.block1().conv.weight).as_vec();
    let g_conv3 = grads.get(&model.block3().conv.weight).as_vec();
    let g_dense = grads.get(&model.classifier().1.weight).as_vec();

    // Small enough that no ReLU in the net flips between the two evaluations.
    let eps = 3e-4f32;
    let mut checked = 0;
    // Nudges entry `i` of the weight at `$($field)+` by ±eps and compares the loss difference.
    // The weight is named by its tuple path (`0.0` is block 1, `0.2` block 3, `1.1` the first
    // dense layer): `TeachingNetParts` has no mutable access to block 3 or the classifier.
    macro_rules! check_top_entries {
        ($analytic:expr, $name:literal, $($field:tt).+) => {{
            let analytic: &Vec<f32> = &$analytic;
            // The entries with the largest gradients: well above the finite-difference noise.
            let mut order: Vec<usize> = (0..analytic.len()).collect();
            order.sort_by(|&a, &b| analytic[b].abs().total_cmp(&analytic[a].abs()));
            for &i in order.iter().take(3) {
                let f = |delta: f32| {
                    let mut m = model.clone();
                    let mut v = m.$($field).+.as_vec();
                    v[i] += delta;
                    m.$($field).+.copy_from(&v);
                    loss_of(&m)
                };
                let numeric = (f(eps) - f(-eps)) / (2.0 * eps as f64);
                let a = analytic[i] as f64;
                assert!(
                    (numeric - a).abs() <= 0.05 * a.abs() + 2e-4,
                    "{} weight {i}: backward {a}, finite difference {numeric}",
                    $name
                );
                checked += 1;
            }
        }};
    }
    check_top_entries!(g_conv1, "conv1", 0.0.conv.weight);
    check_top_entries!(g_conv3, "conv3", 0.2.conv.weight);
    check_top_entries!(g_dense, "dense1", 1.1.weight);
    assert_eq!(checked, 9);
}
