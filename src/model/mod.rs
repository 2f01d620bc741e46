//! The teaching model: the classic small CNN for 150x150 RGB images, with every shape known to
//! the compiler.
//!
//! ```text
//! input                        (batch, 3, 150, 150)
//! Conv2D(3→16)   + ReLU        (batch, 16, 148, 148)   448 parameters
//! MaxPool2D                    (batch, 16, 74, 74)
//! Conv2D(16→32)  + ReLU        (batch, 32, 72, 72)     4,640
//! MaxPool2D                    (batch, 32, 36, 36)
//! Conv2D(32→64)  + ReLU        (batch, 64, 34, 34)     18,496
//! MaxPool2D                    (batch, 64, 17, 17)
//! Conv2D(64→64)  + ReLU        (batch, 64, 15, 15)     36,928
//! MaxPool2D                    (batch, 64, 7, 7)
//! Conv2D(64→128) + ReLU        (batch, 128, 5, 5)      73,856
//! MaxPool2D                    (batch, 128, 2, 2)
//! Flatten                      (batch, Flat<128, 2, 2>) = 512 features
//! Dense(512→256) + ReLU        (batch, 256)            131,328
//! Dense(256→1)                 (batch, 1)              257      → logit of "hemorrhage"
//!                                                      265,953 in all (as Keras' summary)
//! ```
//!
//! The network ends in a logit; `sigmoid(logit)` is the probability of **hemorrhage** (the
//! positive class, label 1). Training uses binary cross-entropy on the logit, which is the same
//! loss as Keras' sigmoid + `binary_crossentropy`, computed without overflow.
//!
//! The parts of the model, from the top down:
//! - this module: the architecture as one type, [`TeachingNet`], its sizes, and named access
//!   to its blocks ([`TeachingNetParts`]);
//! - [`layers`]: `Conv2D`, `MaxPool2D`, `ReLU`, `Flatten`, `Dense` and the fused `ConvBlock` as
//!   dfdx modules on stable Rust;
//! - [`kernels`]: the arithmetic behind the layers (im2col + GEMM, direct AVX2 kernels, pooling);
//! - [`shapes`]: the side lengths at compile time (150 → 148 → 74 → ...).

pub mod kernels;
pub mod layers;
pub mod shapes;

use dfdx::{
    nn::BuildOnDevice,
    prelude::{Cpu, CpuError},
    shapes::Const,
    tensor::Tensor,
};

use layers::builders::{Dense, Flatten, ReLU};

/// Side of the square input image, in pixels.
pub const IMAGE_SIZE: usize = 150;
/// Colour channels of the input image (RGB).
pub const CHANNELS: usize = 3;
/// Floats per input image: `3 x 150 x 150`, channel-major (CHW), values in `[0, 1]`.
pub const IMAGE_LEN: usize = CHANNELS * IMAGE_SIZE * IMAGE_SIZE;

/// Convolution blocks of the teaching model, numbered 1 (next to the image) to 5.
pub const BLOCKS: usize = 5;
/// Output channels of blocks 1 to 5 (the `OUT` of each [`ConvBlock`] in [`TeachingNetArch`]).
pub const BLOCK_CHANNELS: [usize; BLOCKS] = [16, 32, 64, 64, 128];
/// Side of each block's activations (after its convolution and ReLU, before its pooling):
/// 148, 72, 34, 15, 5. A valid 3x3 convolution removes 2 pixels, a 2x2 pooling halves the side
/// (rounding down), as [`shapes`] checks at compile time.
pub const BLOCK_SIDES: [usize; BLOCKS] = block_sides();
/// Features after the last pooling: `128 x 2 x 2` = 512, the input of the first `Dense`.
pub const FEATURES: usize = BLOCK_CHANNELS[BLOCKS - 1] * (BLOCK_SIDES[BLOCKS - 1] / 2).pow(2);

const fn block_sides() -> [usize; BLOCKS] {
    let mut sides = [0; BLOCKS];
    let mut side = IMAGE_SIZE;
    let mut b = 0;
    while b < BLOCKS {
        sides[b] = side - 2;
        side = (side - 2) / 2;
        b += 1;
    }
    sides
}
/// Trainable parameters of [`TeachingNet`], as Keras' `model.summary()` counts them.
pub const TEACHING_NET_PARAMS: usize = 265_953;

/// A batch of images in the model's input shape: `(batch, 3, 150, 150)`, values in `[0, 1]`.
/// The batch size is a runtime `usize`: the last batch of an epoch may be smaller.
pub type ImageBatch<T = dfdx::tensor::NoneTape> =
    Tensor<(usize, Const<CHANNELS>, Const<IMAGE_SIZE>, Const<IMAGE_SIZE>), f32, Cpu, T>;

/// One column of per-image values: `(batch, 1)`. Used for logits, probabilities and labels.
pub type Column<T = dfdx::tensor::NoneTape> = Tensor<(usize, Const<1>), f32, Cpu, T>;

/// A convolution block: 3x3 convolution, ReLU, then 2x2 max-pooling, computed in one pass
/// ([`crate::model::layers::ConvBlock`]; the same values as the tuple `(Conv2D<IN, OUT>, ReLU,
/// MaxPool2D)`, faster).
pub type ConvBlock<const IN: usize, const OUT: usize> =
    crate::model::layers::builders::ConvBlock<IN, OUT>;

/// The architecture of the teaching model, as a dfdx builder type: five convolution blocks (the
/// feature extractor), then the classifier head. Build it with
/// `dev.build_module::<TeachingNetArch, f32>()` or [`build_teaching_net`].
pub type TeachingNetArch = (
    (
        ConvBlock<3, 16>,
        ConvBlock<16, 32>,
        ConvBlock<32, 64>,
        ConvBlock<64, 64>,
        ConvBlock<64, 128>,
    ),
    (Flatten, Dense<FEATURES, 256>, ReLU, Dense<256, 1>),
);

/// The teaching model with its weights on the CPU.
pub type TeachingNet = <TeachingNetArch as BuildOnDevice<Cpu, f32>>::Built;

/// A built convolution block of the teaching model, from `IN` to `OUT` channels.
pub type Block<const IN: usize, const OUT: usize> = layers::ConvBlock<IN, OUT, f32, Cpu>;

/// The classifier head: Flatten, Dense(512 → 256), ReLU, Dense(256 → 1).
pub type Classifier =
    <(Flatten, Dense<FEATURES, 256>, ReLU, Dense<256, 1>) as BuildOnDevice<Cpu, f32>>::Built;

/// Named access to the parts of [`TeachingNet`], a dfdx tuple whose fields only have numbers:
/// `model.block3()` reads better than the tuple path it stands for, and says which block it is.
pub trait TeachingNetParts {
    /// Block 1: 3 → 16 channels, activations 148x148.
    fn block1(&self) -> &Block<CHANNELS, 16>;
    /// Block 2: 16 → 32 channels, activations 72x72.
    fn block2(&self) -> &Block<16, 32>;
    /// Block 3: 32 → 64 channels, activations 34x34.
    fn block3(&self) -> &Block<32, 64>;
    /// Block 4: 64 → 64 channels, activations 15x15.
    fn block4(&self) -> &Block<64, 64>;
    /// Block 5: 64 → 128 channels, activations 5x5.
    fn block5(&self) -> &Block<64, 128>;
    /// Block 1, to change how it computes (e.g. its input gradient).
    fn block1_mut(&mut self) -> &mut Block<CHANNELS, 16>;
    /// The head after the blocks: logit of hemorrhage from the 512 features.
    fn classifier(&self) -> &Classifier;
}

impl TeachingNetParts for TeachingNet {
    fn block1(&self) -> &Block<CHANNELS, 16> {
        &self.0 .0
    }
    fn block2(&self) -> &Block<16, 32> {
        &self.0 .1
    }
    fn block3(&self) -> &Block<32, 64> {
        &self.0 .2
    }
    fn block4(&self) -> &Block<64, 64> {
        &self.0 .3
    }
    fn block5(&self) -> &Block<64, 128> {
        &self.0 .4
    }
    fn block1_mut(&mut self) -> &mut Block<CHANNELS, 16> {
        &mut self.0 .0
    }
    fn classifier(&self) -> &Classifier {
        &self.1
    }
}

/// Builds the teaching model with fresh Keras-style weights (Glorot uniform, zero bias) drawn
/// from `dev`'s random generator: the same seed gives the same weights.
///
/// The first convolution does not compute the gradient of the input images (nobody reads it
/// while training, and it is the costliest part of that layer's backward pass). For an
/// input-gradient saliency map, set `model.block1_mut().conv.input_gradient = true`.
pub fn build_teaching_net(dev: &Cpu) -> TeachingNet {
    use dfdx::nn::DeviceBuildExt;
    let mut model = dev.build_module::<TeachingNetArch, f32>();
    model.block1_mut().conv.input_gradient = false;
    model
}

/// A copy of `model` (same weights and settings) whose tensors carry new dfdx ids, taken from
/// the counter of the code that calls this.
///
/// Why: dfdx keys gradients by tensor id, from one global counter. In a notebook, evcxr links
/// every dependency statically into each cell's library, so each cell has its own copy of that
/// counter, starting again at 0 (evcxr issue 331). A model made in one cell and traced for
/// gradients in another then shares ids with the second cell's new tensors, and their
/// gradients get mixed up: a gradient of the wrong length (a panic), or silently the wrong one.
/// Tracing a copy made here, in the same call as the trace, keeps every id apart. It costs one
/// copy of the weights (1 MB). Errors only if the device cannot allocate.
pub fn copy_with_own_ids(model: &TeachingNet, dev: &Cpu) -> Result<TeachingNet, CpuError> {
    use dfdx::nn::ToDevice;
    let mut copy = model.try_to_device(dev)?;
    // `to_device` rebuilds each layer from its tensors: copy the one setting that is not one.
    let ((c1, c2, c3, c4, c5), _) = &mut copy;
    let ((m1, m2, m3, m4, m5), _) = model;
    c1.conv.input_gradient = m1.conv.input_gradient;
    c2.conv.input_gradient = m2.conv.input_gradient;
    c3.conv.input_gradient = m3.conv.input_gradient;
    c4.conv.input_gradient = m4.conv.input_gradient;
    c5.conv.input_gradient = m5.conv.input_gradient;
    Ok(copy)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The copy computes the same logits as the model, keeps every block's input-gradient
    /// setting, and shares no tensor with it.
    #[test]
    fn a_copy_with_own_ids_is_the_same_model() {
        use dfdx::prelude::*;
        let dev = Cpu::seed_from_u64(3);
        let mut model = build_teaching_net(&dev);
        model.0 .2.conv.input_gradient = false;
        let copy = copy_with_own_ids(&model, &dev).unwrap();
        let x: Tensor<(usize, Const<3>, Const<150>, Const<150>), f32, Cpu> =
            dev.sample_uniform_like(&(2, Const, Const, Const));
        assert_eq!(model.forward(x.clone()).as_vec(), copy.forward(x).as_vec());
        let flags = |m: &TeachingNet| {
            let ((a, b, c, d, e), _) = m;
            [
                a.conv.input_gradient,
                b.conv.input_gradient,
                c.conv.input_gradient,
                d.conv.input_gradient,
                e.conv.input_gradient,
            ]
        };
        assert_eq!(flags(&copy), [false, true, false, true, true]);
        assert_eq!(flags(&copy), flags(&model));
        // A gradient set for the copy's weights holds nothing for the model's.
        let grads = copy.alloc_grads();
        let missing = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            grads.get(&model.0 .0.conv.weight)
        }));
        assert!(
            missing.is_err(),
            "the copy shares a tensor id with the model"
        );
    }

    #[test]
    fn the_block_sides_follow_conv_then_pool() {
        assert_eq!(BLOCK_SIDES, [148, 72, 34, 15, 5]);
        assert_eq!(FEATURES, 512);
        assert_eq!(IMAGE_LEN, 67_500);
    }
}
