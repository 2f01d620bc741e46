// The teaching net written out in full compiles, and its output type is one logit per image.
use head_ct::dfdx::prelude::*;
use head_ct::model::layers::builders::{Conv2D, Dense, Flatten, MaxPool2D};

type ConvBlock<const I: usize, const O: usize> = (Conv2D<I, O>, ReLU, MaxPool2D);
type Net = (
    (
        ConvBlock<3, 16>,
        ConvBlock<16, 32>,
        ConvBlock<32, 64>,
        ConvBlock<64, 64>,
        ConvBlock<64, 128>,
    ),
    (Flatten, Dense<512, 256>, ReLU, Dense<256, 1>),
);

fn main() {
    let dev = Cpu::default();
    let model = dev.build_module::<Net, f32>();
    let images: Tensor<(usize, Const<3>, Const<150>, Const<150>), f32, Cpu> =
        dev.zeros_like(&(1, Const, Const, Const));
    let _logits: Tensor<(usize, Const<1>), f32, Cpu> = model.forward(images);
}
