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

use dfdx::{nn::BuildOnDevice, prelude::Cpu, shapes::Const, tensor::Tensor};

use crate::layers::builders::{Dense, Flatten, ReLU};

/// Side of the square input image, in pixels.
pub const IMAGE_SIZE: usize = 150;
/// Colour channels of the input image (RGB).
pub const CHANNELS: usize = 3;
/// Trainable parameters of [`TeachingNet`], as Keras' `model.summary()` counts them.
pub const TEACHING_NET_PARAMS: usize = 265_953;

/// A batch of images in the model's input shape: `(batch, 3, 150, 150)`, values in `[0, 1]`.
/// The batch size is a runtime `usize`: the last batch of an epoch may be smaller.
pub type ImageBatch<T = dfdx::tensor::NoneTape> =
    Tensor<(usize, Const<CHANNELS>, Const<IMAGE_SIZE>, Const<IMAGE_SIZE>), f32, Cpu, T>;

/// One column of per-image values: `(batch, 1)`. Used for logits, probabilities and labels.
pub type Column<T = dfdx::tensor::NoneTape> = Tensor<(usize, Const<1>), f32, Cpu, T>;

/// A convolution block: 3x3 convolution, ReLU, then 2x2 max-pooling, computed in one pass
/// ([`crate::layers::ConvBlock`]; the same values as the tuple `(Conv2D<IN, OUT>, ReLU,
/// MaxPool2D)`, faster).
pub type ConvBlock<const IN: usize, const OUT: usize> = crate::layers::builders::ConvBlock<IN, OUT>;

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
    (Flatten, Dense<512, 256>, ReLU, Dense<256, 1>),
);

/// The teaching model with its weights on the CPU.
pub type TeachingNet = <TeachingNetArch as BuildOnDevice<Cpu, f32>>::Built;

/// Builds the teaching model with fresh Keras-style weights (Glorot uniform, zero bias) drawn
/// from `dev`'s random generator: the same seed gives the same weights.
///
/// The first convolution does not compute the gradient of the input images (nobody reads it
/// while training, and it is the costliest part of that layer's backward pass). For an
/// input-gradient saliency map, set `model.0 .0.conv.input_gradient = true`.
pub fn build_teaching_net(dev: &Cpu) -> TeachingNet {
    use dfdx::nn::DeviceBuildExt;
    let mut model = dev.build_module::<TeachingNetArch, f32>();
    model.0 .0.conv.input_gradient = false;
    model
}
