//! Grad-CAM and saliency: gradients against finite differences, the caller's model untouched,
//! the figures, and the bar on phantoms (the heat lies on the known lesion).

use head_ct::data::Split;
use std::sync::OnceLock;

use dfdx::prelude::*;
use head_ct::{
    data::{
        phantoms::{generate_phantom_set, phantom_splits, PhantomSet},
        prepare::SplitCounts,
    },
    explain::{
        area_fraction, block_gradients, dilate, grad_cam, heat_map, heat_maps, input_gradients,
        layer_cam, logits_from_block, saliency, HeatMap, Method, DEFAULT_BLOCK,
    },
    model::{build_teaching_net, TeachingNet, TeachingNetParts, IMAGE_SIZE},
    plots,
    training::{observer::Silent, train_model, Recipe, TrainedModel},
    Label, Threshold,
};

const N: usize = IMAGE_SIZE;

/// The teaching net trained as `tests/end_to_end.rs` trains it (10 epochs on 70 + 70 phantoms),
/// once for all the tests of this file.
fn trained() -> (&'static TeachingNet, &'static Cpu) {
    static MODEL: OnceLock<TrainedModel> = OnceLock::new();
    let trained = MODEL.get_or_init(|| {
        let data = phantom_splits(
            3,
            SplitCounts {
                train: 70,
                validate: 25,
                test: 0,
            },
        )
        .into_seed_data();
        train_model(
            &data.train,
            &data.validate,
            &Recipe::TEACHING,
            1,
            &mut Silent,
        )
        .unwrap()
    });
    (&trained.model, &trained.dev)
}

/// Held-out phantoms (a split the model never saw): 40 with a bleed, 40 without.
fn held_out() -> &'static PhantomSet {
    static SET: OnceLock<PhantomSet> = OnceLock::new();
    SET.get_or_init(|| generate_phantom_set(3, Split::Test, 40))
}

/// Untrained weights give gradients of every sign and size: a fair test of the chain rule.
fn fresh_model(seed: u64) -> (TeachingNet, Cpu) {
    let dev = Cpu::seed_from_u64(seed);
    (build_teaching_net(&dev), dev)
}

/// Our layers are piecewise linear (ReLU, max-pooling), so a finite step may cross a kink. The
/// gradient agrees when it matches the central difference, or, at a kink, lies between the two
/// one-sided differences (as a subgradient does). Returns whether it matched the central one.
fn agrees(what: &str, gradient: f32, forward: f32, backward: f32, tolerance: f32) -> bool {
    let central = 0.5 * (forward + backward);
    if (gradient - central).abs() <= tolerance {
        return true;
    }
    let (lo, hi) = (forward.min(backward), forward.max(backward));
    assert!(
        gradient >= lo - tolerance && gradient <= hi + tolerance,
        "{what}: gradient {gradient} vs finite differences {backward} (backward), {forward} (forward)"
    );
    false
}

fn phantom_images(count: usize) -> Vec<Vec<f32>> {
    let set = generate_phantom_set(11, Split::Validate, count.div_ceil(2));
    (0..count).map(|i| set.images.image(i).to_vec()).collect()
}

/// Grad-CAM's channel weights are `mean_ij ∂ logit / ∂ A_cij`; shifting channel `c` by `h`
/// everywhere moves the logit by `h · Σ_ij ∂ logit / ∂ A_cij`, so a central difference of that
/// shift, divided by the plane's size, must give the weight. (A uniform shift does not change
/// which value wins a max-pool window, so the check is exact up to later ReLU kinks.)
#[test]
fn grad_cam_channel_weights_match_finite_differences() {
    let (model, dev) = fresh_model(5);
    let images = phantom_images(2);
    let refs: Vec<&[f32]> = images.iter().map(|v| v.as_slice()).collect();
    for block in [5, 4, 2] {
        let g = block_gradients(&model, &dev, &refs, block).unwrap();
        let [batch, channels, h, w] = g.shape;
        assert_eq!(batch, 2);
        let plane = h * w;
        let base = logits_from_block(&model, &dev, block, batch, &g.activations).unwrap();
        for (a, b) in base.iter().zip(&g.logits) {
            assert!((a - b).abs() < 1e-4, "block {block}: logits {a} vs {b}");
        }
        let step = 2e-3f32;
        let n = 1; // the second image: checks that images do not mix
        let weights = g.channel_weights(n);
        let largest = weights.iter().fold(0.0f32, |m, w| m.max(w.abs()));
        assert!(largest > 0.0, "block {block}: all weights are zero");
        let (mut checked, mut central) = (0, 0);
        for c in (0..channels).step_by(channels / 8) {
            let shifted = |sign: f32| {
                let mut a = g.activations.clone();
                let start = (n * channels + c) * plane;
                a[start..start + plane]
                    .iter_mut()
                    .for_each(|v| *v += sign * step);
                logits_from_block(&model, &dev, block, batch, &a).unwrap()
            };
            let (up, down) = (shifted(1.0), shifted(-1.0));
            assert!(
                (up[0] - base[0]).abs() < 1e-5,
                "block {block}: image 0 moved"
            );
            let per = step * plane as f32;
            let tolerance = 0.05 * weights[c].abs() + 0.01 * largest + 1e-6;
            central += usize::from(agrees(
                &format!("block {block}, channel {c}"),
                weights[c],
                (up[n] - base[n]) / per,
                (base[n] - down[n]) / per,
                tolerance,
            ));
            checked += 1;
        }
        assert!(checked >= 8);
        assert!(
            2 * central >= checked,
            "block {block}: {central} of {checked} match"
        );
    }
}

/// Single activations of block 5: the gradient itself, not only its mean.
#[test]
fn block_gradients_match_finite_differences_elementwise() {
    let (model, dev) = fresh_model(6);
    let images = phantom_images(1);
    let g = block_gradients(&model, &dev, &[&images[0]], 5).unwrap();
    // Positive activations only: a zero one ties with its zero neighbours in the pooling.
    let mut order: Vec<usize> = (0..g.gradients.len())
        .filter(|&i| g.activations[i] > 0.0)
        .collect();
    order.sort_by(|&a, &b| g.gradients[b].abs().total_cmp(&g.gradients[a].abs()));
    let largest = g.gradients[order[0]].abs();
    assert!(largest > 0.0);
    let step = 1e-3f32;
    let mut central = 0;
    for &i in order.iter().take(6) {
        let at = |delta: f32| {
            let mut a = g.activations.clone();
            a[i] += delta;
            logits_from_block(&model, &dev, 5, 1, &a).unwrap()[0]
        };
        let base = g.logits[0];
        central += usize::from(agrees(
            &format!("activation {i}"),
            g.gradients[i],
            (at(step) - base) / step,
            (base - at(-step)) / step,
            0.05 * g.gradients[i].abs() + 0.005 * largest,
        ));
    }
    assert!(
        central >= 3,
        "only {central} of 6 match the central difference"
    );
}

/// The saliency map's input gradient against central differences of the logit, pixel by pixel
/// (where the gradient is largest) and along a random direction over a patch.
#[test]
fn input_gradients_match_finite_differences() {
    let (model, dev) = fresh_model(7);
    let image = phantom_images(1).remove(0);
    let (grads, logits) = input_gradients(&model, &dev, &[&image]).unwrap();
    assert_eq!(grads.len(), 3 * N * N);
    let logit = |img: &[f32]| -> f32 {
        model
            .forward(
                dev.tensor_from_vec(img.to_vec(), (1usize, Const::<3>, Const::<N>, Const::<N>)),
            )
            .as_vec()[0]
    };
    assert!((logit(&image) - logits[0]).abs() < 1e-4);
    let mut order: Vec<usize> = (0..grads.len()).collect();
    order.sort_by(|&a, &b| grads[b].abs().total_cmp(&grads[a].abs()));
    let largest = grads[order[0]].abs();
    assert!(largest > 0.0);
    let step = 2e-3f32;
    let base = logits[0];
    let mut central = 0;
    for &i in order.iter().take(6) {
        let shifted = |d: f32| {
            let mut img = image.clone();
            img[i] += d;
            logit(&img)
        };
        central += usize::from(agrees(
            &format!("pixel {i}"),
            grads[i],
            (shifted(step) - base) / step,
            (base - shifted(-step)) / step,
            0.05 * grads[i].abs() + 0.01 * largest,
        ));
    }
    assert!(
        central >= 3,
        "only {central} of 6 pixels match the central difference"
    );
    // A ±1 pattern over a 12x12 patch of the green channel, centred in the head.
    let direction: Vec<(usize, f32)> = (0..144)
        .map(|k| {
            let (y, x) = (69 + k / 12, 69 + k % 12);
            let sign = if (k * 7919) % 3 == 0 { -1.0 } else { 1.0 };
            (N * N + y * N + x, sign)
        })
        .collect();
    let along = |t: f32| {
        let mut img = image.clone();
        for &(i, s) in &direction {
            img[i] += t * s;
        }
        logit(&img)
    };
    let predicted: f32 = direction.iter().map(|&(i, s)| grads[i] * s).sum();
    agrees(
        "directional derivative",
        predicted,
        (along(step) - base) / step,
        (base - along(-step)) / step,
        0.05 * predicted.abs() + 0.02 * largest,
    );
}

#[test]
fn saliency_leaves_the_callers_model_as_it_was() {
    let (model, dev) = fresh_model(8);
    assert!(!model.block1().conv.input_gradient);
    let before = model.clone();
    let images = phantom_images(2);
    let refs: Vec<&[f32]> = images.iter().map(|v| v.as_slice()).collect();
    let maps = saliency(&model, &dev, &refs).unwrap();
    assert!(
        !model.block1().conv.input_gradient,
        "the flag was left switched on"
    );
    assert_eq!(
        model.block1().conv.weight.as_vec(),
        before.block1().conv.weight.as_vec()
    );
    assert_eq!(
        model.classifier().3.weight.as_vec(),
        before.classifier().3.weight.as_vec()
    );
    assert_eq!(maps.len(), 2);
    // The map is |gradient|, largest over channels, divided by its maximum.
    let (grads, _) = input_gradients(&model, &dev, &refs).unwrap();
    let plane = N * N;
    let g = &grads[3 * plane..];
    let raw: Vec<f32> = (0..plane)
        .map(|p| (0..3).map(|c| g[c * plane + p].abs()).fold(0.0, f32::max))
        .collect();
    let max = raw.iter().copied().fold(0.0, f32::max);
    for p in (0..plane).step_by(997) {
        assert!((maps[1].values[p] - raw[p] / max).abs() < 1e-5);
    }
    assert_eq!(maps[1].method, Method::Saliency);
    // And a model trained without the flag keeps training without it: the flag is read per pass.
    assert!(!before.block1().conv.input_gradient);
}

#[test]
fn maps_are_normalised_and_labelled() {
    let (model, dev) = fresh_model(9);
    let images = phantom_images(3);
    let refs: Vec<&[f32]> = images.iter().map(|v| v.as_slice()).collect();
    for block in 1..=5 {
        let maps = grad_cam(&model, &dev, &refs, block).unwrap();
        assert_eq!(maps.len(), 3);
        for m in &maps {
            assert_eq!((m.side, m.values.len()), (N, N * N));
            assert_eq!(m.method, Method::GradCam { block });
            assert!(m.values.iter().all(|v| (0.0..=1.0).contains(v)));
            let max = m.values.iter().copied().fold(0.0, f32::max);
            assert!(max == 1.0 || max == 0.0, "block {block}: max {max}");
            assert!((0.0..=1.0).contains(&m.probability));
        }
    }
    assert!(grad_cam(&model, &dev, &refs, 0).is_err());
    assert!(grad_cam(&model, &dev, &refs, 6).is_err());
    assert!(grad_cam(&model, &dev, &[&images[0][..10]], 5).is_err());
    let m = &grad_cam(&model, &dev, &refs, 5).unwrap()[0];
    assert!(m.fraction_inside(&[true; 3]).is_err());
    assert!((m.fraction_inside(&vec![true; N * N]).unwrap() - 1.0).abs() < 1e-6);
}

#[test]
fn one_image_heat_map_is_the_first_map_of_the_batch_call() {
    let (model, dev) = fresh_model(11);
    let images = phantom_images(2);
    let image = &images[1][..];
    for method in [
        Method::GradCam { block: 2 },
        Method::LayerCam {
            block: DEFAULT_BLOCK,
        },
        Method::Saliency,
    ] {
        let one = heat_map(&model, &dev, image, method).unwrap();
        let batch = heat_maps(&model, &dev, &[image], method).unwrap().remove(0);
        assert_eq!(one.method, method);
        assert_eq!(one.side, batch.side);
        assert_eq!(one.probability.to_bits(), batch.probability.to_bits());
        let bits = |m: &HeatMap| m.values.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&one), bits(&batch), "{method:?}");
    }
    // The named calls give the same maps.
    let block = DEFAULT_BLOCK;
    let named = [
        grad_cam(&model, &dev, &[image], block).unwrap().remove(0),
        layer_cam(&model, &dev, &[image], block).unwrap().remove(0),
        saliency(&model, &dev, &[image]).unwrap().remove(0),
    ];
    for m in named {
        assert_eq!(heat_map(&model, &dev, image, m.method).unwrap(), m);
    }
    assert!(heat_map(&model, &dev, &image[..10], Method::Saliency).is_err());
    assert!(heat_map(&model, &dev, image, Method::GradCam { block: 6 }).is_err());
}

/// Margin by which the lesion mask is grown before asking whether the heat lies on it: half a
/// block-4 cell's receptive-field stride (8 px) plus a little, so "on or next to the lesion".
const MARGIN: f32 = 8.0;

struct Localisation {
    /// Share of the heat inside the dilated mask.
    inside: f32,
    /// Share of the image the dilated mask covers.
    area: f32,
    /// The hottest pixel lies inside the dilated mask.
    peak_inside: bool,
}

fn localise(map: &HeatMap, mask: &[bool]) -> Localisation {
    let grown = dilate(mask, N, MARGIN);
    let (r, c) = map.peak();
    Localisation {
        inside: map.fraction_inside(&grown).unwrap(),
        area: area_fraction(&grown),
        peak_inside: grown[r * N + c],
    }
}

/// The bar, on the held-out hemorrhage phantoms the trained model calls correctly, with the
/// lesion mask grown by [`MARGIN`]:
/// - LayerCAM on the default block: heat inside ≥ 2 × the grown mask's share of the image for
///   at least 90% of them, and the peak inside for at least 80%;
/// - Grad-CAM on the default block: heat inside ≥ 2 × area for at least 70% (its peak often
///   sits on the skull, so no bar on the peak);
/// - saliency: the peak inside for at least 80%.
///
/// Printed with `cargo test --test explain heat_lies -- --nocapture`; set
/// `HEAD_CT_ALL_BLOCKS=1` to measure the other blocks too (slower).
#[test]
fn heat_lies_on_the_lesion_of_phantoms() {
    let (model, dev) = trained();
    let set = held_out();
    let bleeds: Vec<usize> = (0..set.images.len())
        .filter(|&i| set.lesions[i].is_some())
        .collect();
    let images: Vec<&[f32]> = bleeds.iter().map(|&i| set.images.image(i)).collect();
    let grad = grad_cam(model, dev, &images, DEFAULT_BLOCK).unwrap();
    let correct: Vec<usize> = (0..bleeds.len())
        .filter(|&k| grad[k].probability >= 0.5)
        .collect();
    println!(
        "{} of {} held-out hemorrhage phantoms called hemorrhage; margin {MARGIN} px",
        correct.len(),
        bleeds.len()
    );
    assert!(
        correct.len() >= bleeds.len() / 2,
        "the model is too weak to judge its maps"
    );

    // (share with heat inside ≥ 2 × area, share with the peak inside)
    let report = |maps: &[HeatMap]| -> (f32, f32) {
        let results: Vec<Localisation> = correct
            .iter()
            .map(|&k| localise(&maps[k], &set.lesions[bleeds[k]].as_ref().unwrap().mask))
            .collect();
        let share = |f: &dyn Fn(&Localisation) -> bool| {
            results.iter().filter(|l| f(l)).count() as f32 / results.len() as f32
        };
        let twice = share(&|l| l.inside >= 2.0 * l.area);
        let peak = share(&|l| l.peak_inside);
        let mean_inside = results.iter().map(|l| l.inside).sum::<f32>() / results.len() as f32;
        let mean_area = results.iter().map(|l| l.area).sum::<f32>() / results.len() as f32;
        println!(
            "{:<26} heat inside >= 2x area: {:5.1}%   peak inside: {:5.1}%   \
             mean heat inside {:.3} vs mean area {:.3}",
            maps[0].method.describe(),
            100.0 * twice,
            100.0 * peak,
            mean_inside,
            mean_area
        );
        (twice, peak)
    };
    let (grad_twice, _) = report(&grad);
    let (layer_twice, layer_peak) = report(&layer_cam(model, dev, &images, DEFAULT_BLOCK).unwrap());
    let (_, saliency_peak) = report(&saliency(model, dev, &images).unwrap());
    let all_blocks = std::env::var_os("HEAD_CT_ALL_BLOCKS").is_some();
    for block in (1..=5).filter(|&b| all_blocks && b != DEFAULT_BLOCK) {
        report(&grad_cam(model, dev, &images, block).unwrap());
        report(&layer_cam(model, dev, &images, block).unwrap());
    }

    assert!(
        layer_twice >= 0.9,
        "LayerCAM: {:.0}% clear 2x",
        100.0 * layer_twice
    );
    assert!(
        layer_peak >= 0.8,
        "LayerCAM: peak inside for {:.0}%",
        100.0 * layer_peak
    );
    assert!(
        grad_twice >= 0.7,
        "Grad-CAM: {:.0}% clear 2x",
        100.0 * grad_twice
    );
    assert!(
        saliency_peak >= 0.8,
        "saliency: peak inside for {:.0}%",
        100.0 * saliency_peak
    );
}

#[test]
fn figures_decode_at_the_expected_size() {
    let (model, dev) = fresh_model(10);
    let images = phantom_images(3);
    let refs: Vec<&[f32]> = images.iter().map(|v| v.as_slice()).collect();
    let cams = grad_cam(&model, &dev, &refs, DEFAULT_BLOCK).unwrap();
    let sal = saliency(&model, &dev, &refs).unwrap();
    let decode = |figure: &plots::Figure| {
        let bytes = figure.to_png_bytes().unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        (info.width, info.height)
    };

    let figure = plots::explanation_figure(
        &images[0],
        &[&cams[0], &sal[0]],
        "phantom_000.png",
        Some(Label::Hemorrhage),
        Threshold::DEFAULT,
        None,
    )
    .unwrap();
    assert_eq!(decode(&figure), (1076, 442));
    assert_eq!((figure.width, figure.height), (1076, 442));
    // The overlay is coloured where the map is hot, the plain slice stays gray.
    let (r, c) = cams[0].peak();
    let at = |x: u32, y: u32| {
        let o = (y as usize * figure.width as usize + x as usize) * 3;
        [figure.rgb[o], figure.rgb[o + 1], figure.rgb[o + 2]]
    };
    let hot = at(16 + 312 + 2 * c as u32, 78 + 2 * r as u32);
    assert!(hot[0] != hot[1] || hot[1] != hot[2], "{hot:?} is gray");
    let plain = at(16 + 2 * c as u32, 78 + 2 * r as u32);
    assert!(plain[0] == plain[1] && plain[1] == plain[2], "{plain:?}");

    let title =
        plots::explanation_title("a.png", 0.92, Some(Label::Normal), Threshold::DEFAULT, None);
    assert_eq!(
        title,
        "a.png — called hemorrhage (uncalibrated probability of hemorrhage 0.92) — false alarm"
    );
    // Calibrated at T = 2: σ(ln(0.92 / 0.08) / 2) = 0.772, and the title says so.
    let t = head_ct::calibration::Temperature::new(2.0).unwrap();
    let title =
        plots::explanation_title("a.png", 0.92, None, Threshold::new(0.8).unwrap(), Some(t));
    assert_eq!(
        title,
        "a.png — called normal (calibrated probability of hemorrhage 0.77)"
    );

    let maps: Vec<&HeatMap> = cams.iter().collect();
    let captions: Vec<String> = (0..3).map(|i| format!("image {i}")).collect();
    let grid = plots::heatmap_grid(&refs, &maps, &captions, 2, "Grad-CAM").unwrap();
    assert_eq!(
        decode(&grid),
        (2 * 16 + 2 * 220 + 10 + 120, 64 + 2 * 264 + 16)
    );
    assert!(plots::heatmap_grid(&refs, &maps[..2], &[], 2, "x").is_err());
    assert!(
        plots::explanation_figure(&images[0][..5], &[], "x", None, Threshold::DEFAULT, None)
            .is_err()
    );
    let empty = plots::heatmap_grid(&[], &[], &[], 3, "Nothing").unwrap();
    decode(&empty);
}
