//! Why do some three-window runs sit at chance? Measures, on a seed-layout folder of DICOM
//! phantoms, the input statistics per channel, then for each seed trains the teaching recipe
//! and reports the training loss after epoch 3 and 10 and how many of the 256 hidden units of
//! the classifier (after its ReLU) are dead: zero for every validation image.
//!
//!     cargo run --release --example stuck_runs -- /tmp/ct-phantoms three 1,2,3,4,5
use dfdx::prelude::*;
use head_ct::{
    data::{load_data, sequential_batches, Loader},
    input::{InputWindows, ModelInput},
    model::{TeachingNetParts, CHANNELS, IMAGE_SIZE},
    training::{observer::Silent, train_model, Recipe},
};

fn main() -> head_ct::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let windows = if args[2] == "three" {
        InputWindows::THREE
    } else {
        ModelInput::TEACHING.windows
    };
    let input = ModelInput::with_windows(windows);
    let recipe = Recipe {
        input,
        ..Recipe::TEACHING
    };
    let found = load_data(&Loader::new(input), Some(args[1].as_ref()), "x".as_ref(), 1)?;
    let train = &found.data.train;
    let plane = IMAGE_SIZE * IMAGE_SIZE;
    for c in 0..CHANNELS {
        let (mut s, mut s2, mut n) = (0f64, 0f64, 0f64);
        for i in 0..train.len() {
            for &v in &train.image(i)[c * plane..(c + 1) * plane] {
                s += f64::from(v);
                s2 += f64::from(v) * f64::from(v);
                n += 1.0;
            }
        }
        let mean = s / n;
        println!(
            "channel {c}: mean {mean:.3}, sd {:.3}",
            (s2 / n - mean * mean).sqrt()
        );
    }
    for seed in args[3].split(',').map(|s| s.parse::<u64>().unwrap()) {
        let trained = train_model(train, &found.data.validate, &recipe, seed, &mut Silent)?;
        let (model, dev) = (&trained.model, &*trained.dev);
        let validate = &found.data.validate;
        let mut alive = vec![false; 256];
        for idx in sequential_batches(validate.len(), 10) {
            let batch = validate.batch(dev, &idx);
            let features = model.0.forward(batch.images);
            let head = model.classifier();
            let hidden = head.2.forward(head.1.forward(head.0.forward(features)));
            for (k, v) in hidden.as_vec().iter().enumerate() {
                if *v > 0.0 {
                    alive[k % 256] = true;
                }
            }
        }
        let dead = alive.iter().filter(|a| !**a).count();
        let h = &trained.history;
        println!(
            "seed {seed}: loss epoch 1 {:.4}, epoch 3 {:.4}, epoch 10 {:.4}; dead hidden units {dead}/256; block5 output bias of head {:?}",
            h.loss[0], h.loss[2], h.loss[h.epochs() - 1], head_bias(model)
        );
    }
    Ok(())
}

fn head_bias(model: &head_ct::model::TeachingNet) -> Vec<f32> {
    model.classifier().3.bias.as_vec()
}
