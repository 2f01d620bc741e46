// Five convolution blocks need an input of at least 94 x 94 pixels; 32 x 32 runs out of pixels
// in the fourth block. The compiler says which layer cannot take its input.
use head_ct::dfdx::prelude::*;
use head_ct::model::build_teaching_net;

fn main() {
    let dev = Cpu::default();
    let model = build_teaching_net(&dev);
    let images: Tensor<(usize, Const<3>, Const<32>, Const<32>), f32, Cpu> =
        dev.zeros_like(&(1, Const, Const, Const));
    let _logits = model.forward(images);
}
