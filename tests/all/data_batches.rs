//! Batches, epoch shuffles and augmentation.

use dfdx::{
    prelude::Cpu,
    shapes::{HasShape, Shape},
};
use head_ct::data::Split;
use head_ct::data::{
    augment::Augmentation, epoch_batches, epoch_order, phantoms::generate_phantom_set,
    sequential_batches, ImageSet, Sample,
};
use head_ct::input::{ModelInput, PixelSource};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn small_set() -> ImageSet {
    // 3 hemorrhage + 3 normal phantoms.
    generate_phantom_set(5, Split::Train, 3).images
}

#[test]
fn batch_has_model_shape_labels_and_pixels() {
    let dev = Cpu::default();
    let set = small_set();
    let b = set.batch(&dev, &[4, 0, 2]);
    assert_eq!(b.images.shape().concrete(), [3, 3, 150, 150]);
    assert_eq!(b.labels.shape().concrete(), [3, 1]);
    assert_eq!(b.labels.as_vec(), [0.0, 1.0, 1.0]);
    assert_eq!(b.indices, [4, 0, 2]);
    let data = b.images.as_vec();
    assert_eq!(&data[..set.image(4).len()], set.image(4));
}

#[test]
fn unlabelled_images_get_nan_labels() {
    let dev = Cpu::default();
    let set = small_set();
    let samples = vec![Sample {
        path: "x.png".into(),
        label: None,
        note: None,
        source: PixelSource::DisplayImage,
    }];
    let input = ModelInput::TEACHING;
    let one = ImageSet::from_parts(vec![], samples, set.image(0).to_vec(), input).unwrap();
    assert!(one.batch(&dev, &[0]).labels.as_vec()[0].is_nan());
    assert!(ImageSet::from_parts(vec![], vec![], vec![0.0], input).is_err());
    // An input the network cannot take is refused too.
    let wide = ModelInput { side: 224, ..input };
    assert!(ImageSet::from_parts(vec![], vec![], vec![], wide).is_err());
}

#[test]
fn epochs_are_seeded_permutations_with_a_partial_last_batch() {
    let a = epoch_order(140, 7, 0);
    assert_eq!(a, epoch_order(140, 7, 0));
    assert_ne!(a, epoch_order(140, 7, 1));
    assert_ne!(a, epoch_order(140, 8, 0));
    let mut sorted = a.clone();
    sorted.sort();
    assert_eq!(sorted, (0..140).collect::<Vec<_>>());

    let batches = epoch_batches(140, 20, 7, 3);
    assert_eq!(batches.len(), 7);
    let batches = epoch_batches(50, 20, 7, 3);
    assert_eq!(
        batches.iter().map(Vec::len).collect::<Vec<_>>(),
        [20, 20, 10]
    );
    assert_eq!(batches.concat(), epoch_order(50, 7, 3));
    assert_eq!(sequential_batches(5, 2), [vec![0, 1], vec![2, 3], vec![4]]);

    let dev = Cpu::default();
    let set = small_set();
    let last = epoch_batches(set.len(), 4, 1, 0).pop().unwrap();
    assert_eq!(set.batch(&dev, &last).images.shape().0, 2);
}

#[test]
fn augmentation_off_is_identity_and_leaves_the_rng_alone() {
    let dev = Cpu::default();
    let set = small_set();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let before = rng.clone();
    let aug = Augmentation::none();
    assert!(aug.is_identity() && Augmentation::default().is_identity());
    let b = set.augmented_batch(&dev, &[0, 1, 5], &aug, &mut rng);
    assert_eq!(
        b.images.as_vec(),
        set.batch(&dev, &[0, 1, 5]).images.as_vec()
    );
    assert_eq!(rng, before);
}

#[test]
fn augmentation_is_seeded_and_changes_images() {
    let dev = Cpu::default();
    let set = small_set();
    let aug = Augmentation::keras_tutorial();
    let run = |seed| {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        set.augmented_batch(&dev, &[0, 3], &aug, &mut rng)
            .images
            .as_vec()
    };
    let a = run(1);
    assert_eq!(a, run(1));
    assert_ne!(a, run(2));
    assert_ne!(a, set.batch(&dev, &[0, 3]).images.as_vec());
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    // Labels are untouched.
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let b = set.augmented_batch(&dev, &[0, 3], &aug, &mut rng);
    assert_eq!(b.labels.as_vec(), [1.0, 0.0]);
}

#[test]
fn a_flip_alone_mirrors_exactly() {
    let set = small_set();
    let src = set.image(0);
    let mut dst = vec![0.0; src.len()];
    let p = head_ct::data::augment::TransformParams {
        rotation: 0.0,
        shift_x: 0.0,
        shift_y: 0.0,
        zoom_x: 1.0,
        zoom_y: 1.0,
        flip: true,
    };
    head_ct::data::augment::apply(src, &mut dst, &p);
    for y in [0usize, 70, 149] {
        for x in [0usize, 33, 149] {
            assert_eq!(dst[y * 150 + x], src[y * 150 + 149 - x]);
        }
    }
}
