// The last convolution block gives 128 x 2 x 2 = 512 features, but the Dense layer after
// Flatten was written for 500. The compiler refuses the model.
use head_ct::dfdx::prelude::*;
use head_ct::model::layers::builders::{Conv2D, Dense, Flatten, MaxPool2D};

type ConvBlock<const I: usize, const O: usize> = (Conv2D<I, O>, ReLU, MaxPool2D);
type WrongNet = (
    (
        ConvBlock<3, 16>,
        ConvBlock<16, 32>,
        ConvBlock<32, 64>,
        ConvBlock<64, 64>,
        ConvBlock<64, 128>,
    ),
    (Flatten, Dense<500, 256>, ReLU, Dense<256, 1>),
);

fn main() {
    let dev = Cpu::default();
    let model = dev.build_module::<WrongNet, f32>();
    let images: Tensor<(usize, Const<3>, Const<150>, Const<150>), f32, Cpu> =
        dev.zeros_like(&(1, Const, Const, Const));
    let _logits = model.forward(images);
}
