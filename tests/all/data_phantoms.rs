//! Synthetic phantoms: deterministic, varied, with masks, and loadable from disk.

use head_ct::data::Loader;
use head_ct::data::Split;
use head_ct::{
    data::{
        phantoms::{
            generate_phantom_set, phantom_seed_data, phantom_splits, render_phantom,
            write_phantom_layout, LesionKind,
        },
        prepare::SplitCounts,
    },
    Label,
};

#[test]
fn deterministic_per_seed_and_different_across_seeds() {
    let a = generate_phantom_set(1, Split::Train, 4);
    assert_eq!(a, generate_phantom_set(1, Split::Train, 4));
    let b = generate_phantom_set(2, Split::Train, 4);
    assert_ne!(a.images.pixels(), b.images.pixels());
    let v = generate_phantom_set(1, Split::Validate, 4);
    assert_ne!(a.images.pixels(), v.images.pixels());
}

#[test]
fn default_seed_data_has_the_seed_counts() {
    let d = phantom_seed_data(3);
    assert_eq!(d.train.len(), 140);
    assert_eq!(d.validate.len(), 50);
    assert_eq!(d.test.as_ref().unwrap().len(), 10);
    assert_eq!(
        d.train.class_counts(),
        [("hemorrhage".into(), 70), ("normal".into(), 70)]
    );
    assert!(d.train.pixels().iter().all(|v| (0.0..=1.0).contains(v)));
}

#[test]
fn hemorrhages_have_brighter_nonempty_masks_of_every_kind() {
    let set = generate_phantom_set(11, Split::Train, 40);
    let mut kinds = Vec::new();
    for (i, (s, lesion)) in set.images.samples.iter().zip(&set.lesions).enumerate() {
        match (s.label, lesion) {
            (Some(Label::Hemorrhage), Some(l)) => {
                assert!(l.area() > 0, "empty mask for image {i}");
                kinds.push(l.kind);
                // The lesion is brighter than the brain around it on average.
                let img = &set.images.image(i)[..150 * 150];
                let inside: f32 = l
                    .mask
                    .iter()
                    .zip(img)
                    .filter(|(m, _)| **m)
                    .map(|(_, v)| v)
                    .sum::<f32>()
                    / l.area() as f32;
                assert!(inside > 0.3, "lesion mean {inside}");
            }
            (Some(Label::Normal), None) => {}
            other => panic!("label/lesion mismatch: {other:?}"),
        }
    }
    for k in [
        LesionKind::Intraparenchymal,
        LesionKind::Epidural,
        LesionKind::Subdural,
    ] {
        assert!(kinds.contains(&k), "{k:?} never drawn");
    }
    // Sizes vary: some small, some large (a brain is about 8000 px; bleeds cover roughly 2-12%).
    let areas: Vec<usize> = set.lesions.iter().flatten().map(|l| l.area()).collect();
    assert!(
        areas.iter().min().unwrap() < &250 && areas.iter().max().unwrap() > &700,
        "{areas:?}"
    );
}

#[test]
fn a_lesion_changes_the_slice() {
    let normal = render_phantom(9, 0, false);
    let bleed = render_phantom(9, 0, true);
    assert!(normal.lesion.is_none());
    assert_ne!(normal.gray, bleed.gray);
}

#[test]
fn written_layout_loads_back_close_to_memory() {
    let dir = tempfile::tempdir().unwrap();
    let counts = SplitCounts {
        train: 2,
        validate: 1,
        test: 1,
    };
    let n = write_phantom_layout(dir.path(), 4, counts, false).unwrap();
    assert_eq!((n.hemorrhage, n.normal), (4, 4));
    let loaded = Loader::default().seed_layout(dir.path()).unwrap();
    let mem = phantom_splits(4, counts);
    assert_eq!(loaded.train.len(), 4);
    assert_eq!(loaded.train.labels(), mem.train.images.labels());
    let diff = loaded
        .train
        .pixels()
        .iter()
        .zip(mem.train.images.pixels())
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(diff <= 0.5 / 255.0 + 1e-6, "{diff}");
    // A second write into the now non-empty folder is refused.
    let err = write_phantom_layout(dir.path(), 4, counts, false)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not empty"), "{err}");
}
