//! The raw material of Grad-CAM and LayerCAM: one block's activations and the gradient of the
//! hemorrhage logit with respect to them, computed by running the model in two parts (the blocks
//! up to the chosen one without a tape, the rest traced).

use dfdx::prelude::*;

use crate::{
    model::{
        copy_with_own_ids, Column, TeachingNet, TeachingNetParts, BLOCKS, BLOCK_CHANNELS as C,
        BLOCK_SIDES as S, CHANNELS, IMAGE_LEN, IMAGE_SIZE as N,
    },
    Error, Result,
};

/// One block's activations and the gradient of the hemorrhage logit with respect to them, for a
/// batch of images: the raw material of Grad-CAM.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockGradients {
    /// The block (1–5).
    pub block: usize,
    /// `[batch, channels, height, width]` of the activations (after the block's ReLU, before
    /// its pooling): `[n, BLOCK_CHANNELS[b - 1], BLOCK_SIDES[b - 1], BLOCK_SIDES[b - 1]]` for block `b`
    /// (see [`crate::model::BLOCK_SIDES`]).
    pub shape: [usize; 4],
    /// The activations, NCHW, row-major.
    pub activations: Vec<f32>,
    /// `∂ logit_n / ∂ activation`, same layout (each image's logit depends only on its own
    /// activations).
    pub gradients: Vec<f32>,
    /// The hemorrhage logit of each image.
    pub logits: Vec<f32>,
}

impl BlockGradients {
    /// Grad-CAM's channel weights for image `n`: the spatial mean of the gradient, one per
    /// channel (`shape[1]` values).
    pub fn channel_weights(&self, n: usize) -> Vec<f32> {
        let [_, c, h, w] = self.shape;
        let plane = h * w;
        (0..c)
            .map(|k| {
                let start = (n * c + k) * plane;
                self.gradients[start..start + plane].iter().sum::<f32>() / plane as f32
            })
            .collect()
    }

    /// Grad-CAM at the block's resolution for image `n`: `ReLU(Σ_c w_c · A_c)`, `h × w`
    /// values, not normalised.
    pub fn cam(&self, n: usize) -> Vec<f32> {
        let [_, c, h, w] = self.shape;
        let plane = h * w;
        let weights = self.channel_weights(n);
        let mut cam = vec![0.0f32; plane];
        for (k, wk) in weights.iter().enumerate() {
            let start = (n * c + k) * plane;
            for (out, a) in cam.iter_mut().zip(&self.activations[start..start + plane]) {
                *out += wk * a;
            }
        }
        cam.iter_mut().for_each(|v| *v = v.max(0.0));
        cam
    }

    /// LayerCAM at the block's resolution for image `n`: `Σ_c ReLU(∂ logit / ∂ A_c) · A_c`,
    /// element by element (Jiang et al., 2021), `h × w` values, not normalised. Unlike
    /// Grad-CAM it keeps *where* in a channel the gradient is large, which matters here: the
    /// teaching net's head is Flatten + Dense, whose weights differ from place to place, so a
    /// channel's mean gradient says little about where the evidence is.
    pub fn layer_cam(&self, n: usize) -> Vec<f32> {
        let [_, c, h, w] = self.shape;
        let plane = h * w;
        let mut cam = vec![0.0f32; plane];
        for k in 0..c {
            let start = (n * c + k) * plane;
            let (a, g) = (
                &self.activations[start..start + plane],
                &self.gradients[start..start + plane],
            );
            for ((out, a), g) in cam.iter_mut().zip(a).zip(g) {
                *out += g.max(0.0) * a;
            }
        }
        cam
    }
}

/// Where block `block`'s activation cell `(i, j)` sits in the input: its receptive field is
/// centred on input pixel `offset + stride * i` (rows and columns alike). Valid 3x3
/// convolutions shift by one pixel, 2x2 pooling doubles the stride and shifts by half a cell.
pub fn block_geometry(block: usize) -> (f32, f32) {
    let (mut offset, mut stride) = (1.0f32, 1.0f32);
    for _ in 1..block {
        offset += 2.5 * stride;
        stride *= 2.0;
    }
    (offset, stride)
}

type Act<const C: usize, const H: usize, T> =
    Tensor<(usize, Const<C>, Const<H>, Const<H>), f32, Cpu, T>;

// The network after each block's activation (pooling of that block, the later blocks, the head),
// generic over the tape so that the same code runs traced (for gradients) and plain (for the
// finite-difference checks of `logits_from_block`).

pub(super) fn after_block1<T: Tape<f32, Cpu>>(
    m: &TeachingNet,
    a: Act<{ C[0] }, { S[0] }, T>,
) -> Result<Column<T>, CpuError> {
    let x = m.block1().pool(a)?;
    let x = m.block2().try_forward(x)?;
    let x = m.block3().try_forward(x)?;
    let x = m.block4().try_forward(x)?;
    let x = m.block5().try_forward(x)?;
    m.classifier().try_forward(x)
}

fn after_block2<T: Tape<f32, Cpu>>(
    m: &TeachingNet,
    a: Act<{ C[1] }, { S[1] }, T>,
) -> Result<Column<T>, CpuError> {
    let x = m.block2().pool(a)?;
    let x = m.block3().try_forward(x)?;
    let x = m.block4().try_forward(x)?;
    let x = m.block5().try_forward(x)?;
    m.classifier().try_forward(x)
}

fn after_block3<T: Tape<f32, Cpu>>(
    m: &TeachingNet,
    a: Act<{ C[2] }, { S[2] }, T>,
) -> Result<Column<T>, CpuError> {
    let x = m.block3().pool(a)?;
    let x = m.block4().try_forward(x)?;
    let x = m.block5().try_forward(x)?;
    m.classifier().try_forward(x)
}

fn after_block4<T: Tape<f32, Cpu>>(
    m: &TeachingNet,
    a: Act<{ C[3] }, { S[3] }, T>,
) -> Result<Column<T>, CpuError> {
    let x = m.block4().pool(a)?;
    let x = m.block5().try_forward(x)?;
    m.classifier().try_forward(x)
}

fn after_block5<T: Tape<f32, Cpu>>(
    m: &TeachingNet,
    a: Act<{ C[4] }, { S[4] }, T>,
) -> Result<Column<T>, CpuError> {
    let x = m.block5().pool(a)?;
    m.classifier().try_forward(x)
}

/// Makes `activation` a traced leaf, runs `rest` on it with a tape, and reads the gradient of
/// the summed logits at the leaf (the images are independent, so that is each image's own
/// gradient).
pub(super) fn trace_from<S: Shape<Concrete = [usize; 4]>>(
    block: usize,
    activation: Tensor<S, f32, Cpu>,
    rest: impl FnOnce(
        Tensor<S, f32, Cpu, OwnedTape<f32, Cpu>>,
    ) -> Result<Column<OwnedTape<f32, Cpu>>, CpuError>,
) -> Result<BlockGradients> {
    let leaf = activation.clone();
    // A leaky gradient set keeps every gradient, not only the parameters': we want the leaf's.
    let logits = rest(activation.traced(Gradients::leaky()))?;
    let logit_values = logits.retaped::<NoneTape>().as_vec();
    let grads = logits.try_sum::<Rank0, _>()?.try_backward()?;
    Ok(BlockGradients {
        block,
        shape: leaf.shape().concrete(),
        activations: leaf.as_vec(),
        gradients: grads.get(&leaf).as_vec(),
        logits: logit_values,
    })
}

pub(super) fn check_block(block: usize) -> Result<()> {
    if !(1..=BLOCKS).contains(&block) {
        return Err(Error::InvalidInput(format!(
            "the teaching model has convolution blocks 1 to {BLOCKS}, not {block}"
        )));
    }
    Ok(())
}

/// Stacks images (`3 × 150 × 150` floats each, CHW) into a `(n, 3, 150, 150)` tensor.
pub(super) fn image_batch(dev: &Cpu, images: &[&[f32]]) -> Result<crate::model::ImageBatch> {
    let mut pixels = Vec::with_capacity(images.len() * IMAGE_LEN);
    for (i, image) in images.iter().enumerate() {
        if image.len() != IMAGE_LEN {
            return Err(Error::InvalidInput(format!(
                "image {i} has {} values; a {CHANNELS}x{N}x{N} image has {IMAGE_LEN}",
                image.len()
            )));
        }
        pixels.extend_from_slice(image);
    }
    Ok(dev.try_tensor_from_vec(pixels, (images.len(), Const, Const, Const))?)
}

/// Activations of block `block` (after its ReLU, before its pooling) and the gradient of each
/// image's hemorrhage logit with respect to them. Images are `3 × 150 × 150` CHW floats in
/// `[0, 1]`; all are run as one batch. The model is only read.
///
/// Errors if `block` is not 1–5 or an image has the wrong length.
pub fn block_gradients(
    model: &TeachingNet,
    dev: &Cpu,
    images: &[&[f32]],
    block: usize,
) -> Result<BlockGradients> {
    check_block(block)?;
    // Traced with ids of its own: see `copy_with_own_ids` (a model made in another notebook cell).
    let model = &copy_with_own_ids(model, dev)?;
    let x = image_batch(dev, images)?;
    let m = model;
    // The blocks before the chosen one run without a tape: nothing is recorded for them.
    match block {
        1 => {
            let a = m.block1().activations(x)?;
            trace_from(1, a, |t| after_block1(model, t))
        }
        2 => {
            let x = m.block1().try_forward(x)?;
            let a = m.block2().activations(x)?;
            trace_from(2, a, |t| after_block2(model, t))
        }
        3 => {
            let x = m.block2().try_forward(m.block1().try_forward(x)?)?;
            let a = m.block3().activations(x)?;
            trace_from(3, a, |t| after_block3(model, t))
        }
        4 => {
            let x = m.block2().try_forward(m.block1().try_forward(x)?)?;
            let x = m.block3().try_forward(x)?;
            let a = m.block4().activations(x)?;
            trace_from(4, a, |t| after_block4(model, t))
        }
        _ => {
            let x = m.block2().try_forward(m.block1().try_forward(x)?)?;
            let x = m.block4().try_forward(m.block3().try_forward(x)?)?;
            let a = m.block5().activations(x)?;
            trace_from(5, a, |t| after_block5(model, t))
        }
    }
}

/// The hemorrhage logits computed from block `block`'s activations (laid out as
/// [`BlockGradients::activations`], `batch` images): the rest of the network on its own. For
/// checking the gradients against finite differences.
///
/// Errors if `block` is not 1–5 or `activations` does not hold `batch` images' worth.
pub fn logits_from_block(
    model: &TeachingNet,
    dev: &Cpu,
    block: usize,
    batch: usize,
    activations: &[f32],
) -> Result<Vec<f32>> {
    check_block(block)?;
    let per_image = C[block - 1] * S[block - 1] * S[block - 1];
    if activations.len() != batch * per_image {
        return Err(Error::InvalidInput(format!(
            "{} activations for {batch} images of block {block} ({per_image} each)",
            activations.len(),
        )));
    }
    let v = activations.to_vec();
    macro_rules! t {
        () => {
            dev.try_tensor_from_vec(v, (batch, Const, Const, Const))?
        };
    }
    let logits = match block {
        1 => after_block1(model, t!())?,
        2 => after_block2(model, t!())?,
        3 => after_block3(model, t!())?,
        4 => after_block4(model, t!())?,
        _ => after_block5(model, t!())?,
    };
    Ok(logits.as_vec())
}
