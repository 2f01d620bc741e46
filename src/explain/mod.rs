//! Where the model looks: Grad-CAM and input-gradient saliency maps for the teaching model,
//! computed with dfdx's autodiff through our layers.
//!
//! - [`grad_cam`]: the gradient of the hemorrhage logit with respect to one convolution block's
//!   activations (after its ReLU, before its pooling, as in the Grad-CAM paper), averaged over
//!   space to weigh each channel; `ReLU(Σ_c w_c · A_c)` is upsampled to 150x150 and scaled to
//!   `[0, 1]`. Coarse: one cell per [`BLOCK_SIDES`](crate::model::BLOCK_SIDES) of the block
//!   (the deepest block has the fewest).
//! - [`layer_cam`]: the same gradients and activations, multiplied element by element (each
//!   place weighed by its own positive gradient) before summing over channels. This network's
//!   head is Flatten + Dense, not global average pooling, so a channel's *mean* gradient says
//!   little about where the evidence lies; on phantoms LayerCAM finds the lesion where Grad-CAM
//!   on the deeper blocks lights up the skull.
//! - [`saliency`]: `|∂ logit / ∂ input|`, the largest over the three colour channels, scaled to
//!   `[0, 1]`. Full resolution but noisy.
//!
//! Both say where the evidence *for hemorrhage* lies (a low-probability image still gets a map:
//! the places that would most raise its score). They are not segmentations and not a diagnosis.
//!
//! ```no_run
//! use head_ct::{checkpoint::load_checkpoint, dfdx::prelude::*, input::Limits};
//! use head_ct::{explain, plots};
//!
//! let dev = Cpu::default();
//! let (model, meta) = load_checkpoint(&dev, "runs/my-run".as_ref())?;
//! // Images as this model sees them (its own input), not the default input.
//! let set = meta.loader(Limits::default()).folder("data/head_ct_slices/validate".as_ref())?;
//! let (i, block) = (0, explain::DEFAULT_BLOCK);
//! let image = set.image(i);
//! let grad = explain::heat_map(&model, &dev, image, explain::Method::GradCam { block })?;
//! let layer = explain::heat_map(&model, &dev, image, explain::Method::LayerCam { block })?;
//! let sal = explain::heat_map(&model, &dev, image, explain::Method::Saliency)?;
//! let name = set.samples[i].path.display().to_string();
//! let figure = plots::explanation_figure(
//!     image, &[&grad, &layer, &sal], &name, set.samples[i].label, meta.threshold(),
//!     meta.temperature())?;
//! figure.evcxr_display(); // or figure.save_png("explain.png")?
//!
//! // Several images at once, one method, as a grid.
//! let images: Vec<&[f32]> = (0..8).map(|i| set.image(i)).collect();
//! let maps = explain::layer_cam(&model, &dev, &images, block)?;
//! let refs: Vec<&explain::HeatMap> = maps.iter().collect();
//! plots::heatmap_grid(&images, &refs, &[], 4, "LayerCAM, block 3")?.evcxr_display();
//! # Ok::<(), head_ct::Error>(())
//! ```

use dfdx::prelude::*;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::{
    model::{
        copy_with_own_ids, layers::ReLU, TeachingNet, TeachingNetParts, CHANNELS, IMAGE_LEN,
        IMAGE_SIZE,
    },
    Error, Result,
};

mod gradients;

pub use crate::model::BLOCKS;
use gradients::{after_block1, check_block, image_batch};
pub use gradients::{block_geometry, block_gradients, logits_from_block, BlockGradients};

/// The block the CLI and the examples use: block 3 (`BLOCK_SIDES[2]` cells a side, one per 4
/// input pixels). Measured on held-out phantoms (`tests/all/explain.rs`): there Grad-CAM puts at least
/// twice the lesion's share of the image on the lesion for 79% of the correctly called bleeds,
/// against 0% on blocks 4 and 5, whose channel-mean weights spread the heat over the skull;
/// LayerCAM is on the lesion for all of them on blocks 2, 3 and 4.
pub const DEFAULT_BLOCK: usize = 3;

/// Images per forward/backward pass: bounds memory for long lists of images.
const CHUNK: usize = 16;

const N: usize = IMAGE_SIZE;

/// How a heat map was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Grad-CAM on convolution block `block` (1–5): channel weights are the spatial mean of
    /// the gradient.
    GradCam { block: usize },
    /// LayerCAM on convolution block `block` (1–5): each activation is weighed by its own
    /// positive gradient, not the channel's mean.
    LayerCam { block: usize },
    /// `|∂ logit / ∂ input|`, the largest over the colour channels.
    Saliency,
}

impl Method {
    /// A short name for captions: "Grad-CAM, block 4" or "saliency (input gradient)".
    pub fn describe(&self) -> String {
        match self {
            Method::GradCam { block } => format!("Grad-CAM, block {block}"),
            Method::LayerCam { block } => format!("LayerCAM, block {block}"),
            Method::Saliency => "saliency (input gradient)".to_string(),
        }
    }
}

/// A heat map over one image: `side × side` values in `[0, 1]`, row-major from the top left,
/// 1 where the map is hottest. All zero when nothing in the image raises the hemorrhage logit.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    /// Side in pixels (150, the model's input side).
    pub side: usize,
    /// `side * side` values in `[0, 1]`, row-major.
    pub values: Vec<f32>,
    /// How the map was made.
    pub method: Method,
    /// The model's probability of hemorrhage for the image, `sigmoid(logit)`.
    pub probability: f32,
}

impl HeatMap {
    /// The value at `(row, col)`.
    pub fn at(&self, row: usize, col: usize) -> f32 {
        self.values[row * self.side + col]
    }

    /// The share of the map's total heat that lies inside `mask` (`side * side`, row-major,
    /// `true` = inside), in `[0, 1]`; 0 for an all-zero map. Compare it with the share of the
    /// image the mask covers ([`area_fraction`]): a map that ignores the mask scores about that.
    ///
    /// Errors if the mask has the wrong length.
    pub fn fraction_inside(&self, mask: &[bool]) -> Result<f32> {
        check_mask(mask, self.values.len())?;
        let (mut inside, mut total) = (0.0f64, 0.0f64);
        for (&v, &m) in self.values.iter().zip(mask) {
            total += f64::from(v);
            if m {
                inside += f64::from(v);
            }
        }
        Ok(if total > 0.0 {
            (inside / total) as f32
        } else {
            0.0
        })
    }

    /// `(row, col)` of the hottest pixel (the first one, in row-major order, on a tie).
    pub fn peak(&self) -> (usize, usize) {
        let i = self
            .values
            .iter()
            .enumerate()
            .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
                if v > best.1 {
                    (i, v)
                } else {
                    best
                }
            })
            .0;
        (i / self.side, i % self.side)
    }
}

fn check_mask(mask: &[bool], len: usize) -> Result<()> {
    if mask.len() != len {
        return Err(Error::InvalidInput(format!(
            "a mask of {} values for a map of {len}",
            mask.len()
        )));
    }
    Ok(())
}

/// The share of the pixels that `mask` covers, in `[0, 1]`.
pub fn area_fraction(mask: &[bool]) -> f32 {
    if mask.is_empty() {
        return 0.0;
    }
    mask.iter().filter(|&&m| m).count() as f32 / mask.len() as f32
}

/// `mask` (`side × side`, row-major) grown by `margin` pixels: a pixel is in the result when it
/// lies within `margin` (Euclidean distance between pixel centres) of a mask pixel. Grad-CAM's
/// cells are 8 or 16 pixels wide, so "near the lesion" needs a margin of that order.
pub fn dilate(mask: &[bool], side: usize, margin: f32) -> Vec<bool> {
    let r = margin.max(0.0).floor() as isize;
    let r2 = margin * margin;
    let mut out = vec![false; mask.len()];
    for (i, _) in mask.iter().enumerate().filter(|(_, &m)| m) {
        let (y, x) = ((i / side) as isize, (i % side) as isize);
        for dy in -r..=r {
            for dx in -r..=r {
                let (yy, xx) = (y + dy, x + dx);
                if (dx * dx + dy * dy) as f32 <= r2
                    && (0..side as isize).contains(&yy)
                    && (0..side as isize).contains(&xx)
                {
                    out[yy as usize * side + xx as usize] = true;
                }
            }
        }
    }
    out
}

/// Grad-CAM maps of the hemorrhage logit on convolution block `block` (1–5;
/// [`DEFAULT_BLOCK`] is a good start), one [`HeatMap`] of 150x150 per image.
///
/// For each image: channel weights `w_c` = spatial mean of `∂ logit / ∂ A_c` over the block's
/// activations `A` (after ReLU, before pooling); `ReLU(Σ_c w_c · A_c)`; bilinear upsampling to
/// 150x150 with each cell placed at the centre of its receptive field ([`block_geometry`]; the
/// border beyond the outermost centres takes the nearest cell's value); divided by its maximum.
/// Images are `3 × 150 × 150` CHW floats in `[0, 1]`. The model is only read.
///
/// On this network Grad-CAM is blurred towards the skull and the image border (see
/// [`layer_cam`] for why and for a sharper alternative).
///
/// Errors if `block` is not 1–5 or an image has the wrong length.
pub fn grad_cam(
    model: &TeachingNet,
    dev: &Cpu,
    images: &[&[f32]],
    block: usize,
) -> Result<Vec<HeatMap>> {
    class_activation_maps(model, dev, images, Method::GradCam { block })
}

/// LayerCAM maps (see [`BlockGradients::layer_cam`]) on convolution block `block` (1–5), one
/// 150x150 [`HeatMap`] per image, upsampled and normalised as [`grad_cam`] does. On phantoms
/// its heat lies on the lesion where Grad-CAM's spreads over the skull (`tests/all/explain.rs`).
///
/// Errors if `block` is not 1–5 or an image has the wrong length.
pub fn layer_cam(
    model: &TeachingNet,
    dev: &Cpu,
    images: &[&[f32]],
    block: usize,
) -> Result<Vec<HeatMap>> {
    class_activation_maps(model, dev, images, Method::LayerCam { block })
}

/// Grad-CAM or LayerCAM by `method`; [`Method::Saliency`] goes to [`saliency`].
pub fn heat_maps(
    model: &TeachingNet,
    dev: &Cpu,
    images: &[&[f32]],
    method: Method,
) -> Result<Vec<HeatMap>> {
    match method {
        Method::Saliency => saliency(model, dev, images),
        _ => class_activation_maps(model, dev, images, method),
    }
}

/// The heat map of one image by `method` (Grad-CAM, LayerCAM or saliency): the one-image form
/// of [`heat_maps`], exactly the first (and only) map of `heat_maps(model, dev, &[image],
/// method)`. `image` is `3 × 150 × 150` CHW floats in `[0, 1]`; the model is only read.
///
/// ```no_run
/// # use head_ct::{dfdx::prelude::*, explain::{self, Method}, model::build_teaching_net};
/// # let dev = Cpu::default();
/// # let model = build_teaching_net(&dev);
/// # let image = vec![0.5f32; head_ct::model::IMAGE_LEN];
/// let block = explain::DEFAULT_BLOCK;
/// let grad = explain::heat_map(&model, &dev, &image, Method::GradCam { block })?;
/// let layer = explain::heat_map(&model, &dev, &image, Method::LayerCam { block })?;
/// let salient = explain::heat_map(&model, &dev, &image, Method::Saliency)?;
/// # Ok::<(), head_ct::Error>(())
/// ```
///
/// Errors as [`heat_maps`] does: a block not 1–5, or an image of the wrong length.
pub fn heat_map(model: &TeachingNet, dev: &Cpu, image: &[f32], method: Method) -> Result<HeatMap> {
    heat_maps(model, dev, &[image], method)?
        .pop()
        .ok_or_else(|| Error::InvalidInput("no heat map made for the image".into()))
}

fn class_activation_maps(
    model: &TeachingNet,
    dev: &Cpu,
    images: &[&[f32]],
    method: Method,
) -> Result<Vec<HeatMap>> {
    let block = match method {
        Method::GradCam { block } | Method::LayerCam { block } => block,
        Method::Saliency => unreachable!("saliency has no block"),
    };
    check_block(block)?;
    let mut maps = Vec::with_capacity(images.len());
    for chunk in images.chunks(CHUNK) {
        let g = block_gradients(model, dev, chunk, block)?;
        let [_, _, h, w] = g.shape;
        for n in 0..chunk.len() {
            let cam = match method {
                Method::GradCam { .. } => g.cam(n),
                _ => g.layer_cam(n),
            };
            let mut values = upsample(&cam, h, w, block_geometry(block), N);
            normalise(&mut values);
            maps.push(HeatMap {
                side: N,
                values,
                method,
                probability: sigmoid(g.logits[n]),
            });
        }
    }
    Ok(maps)
}

/// Input gradients: `∂ logit_n / ∂ image_n` for each image (`3 × 150 × 150` values each,
/// concatenated) and the logits. The first convolution normally skips this gradient
/// (`input_gradient = false`, see [`build_teaching_net`](crate::model::build_teaching_net));
/// a copy of that one layer with it switched on is used, so `model` is only read and stays as
/// it was.
///
/// Errors if an image has the wrong length.
pub fn input_gradients(
    model: &TeachingNet,
    dev: &Cpu,
    images: &[&[f32]],
) -> Result<(Vec<f32>, Vec<f32>)> {
    // Traced with ids of its own: see `copy_with_own_ids` (a model made in another notebook cell).
    let model = &copy_with_own_ids(model, dev)?;
    let x = image_batch(dev, images)?;
    let mut first = model.block1().conv.clone();
    first.input_gradient = true;
    let leaf = x.clone();
    let t = first.try_forward(x.traced(Gradients::leaky()))?;
    let t = ReLU.try_forward(t)?;
    let logits = after_block1(model, t)?;
    let logit_values = logits.retaped::<NoneTape>().as_vec();
    let grads = logits.try_sum::<Rank0, _>()?.try_backward()?;
    Ok((grads.get(&leaf).as_vec(), logit_values))
}

/// Saliency maps: `|∂ logit / ∂ input|`, the largest of the three colour channels at each pixel,
/// divided by its maximum; one 150x150 [`HeatMap`] per image. `model` is only read (see
/// [`input_gradients`]).
///
/// Errors if an image has the wrong length.
pub fn saliency(model: &TeachingNet, dev: &Cpu, images: &[&[f32]]) -> Result<Vec<HeatMap>> {
    let plane = N * N;
    let mut maps = Vec::with_capacity(images.len());
    for chunk in images.chunks(CHUNK) {
        let (grads, logits) = input_gradients(model, dev, chunk)?;
        for (n, logit) in logits.iter().enumerate() {
            let g = &grads[n * IMAGE_LEN..(n + 1) * IMAGE_LEN];
            let mut values: Vec<f32> = (0..plane)
                .map(|p| {
                    (0..CHANNELS)
                        .map(|c| g[c * plane + p].abs())
                        .fold(0.0, f32::max)
                })
                .collect();
            normalise(&mut values);
            maps.push(HeatMap {
                side: N,
                values,
                method: Method::Saliency,
                probability: sigmoid(*logit),
            });
        }
    }
    Ok(maps)
}

fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// Divides by the maximum (an all-zero or non-finite map becomes all zero).
fn normalise(values: &mut [f32]) {
    let max = values
        .iter()
        .copied()
        .filter(|v| v.is_finite())
        .fold(0.0f32, f32::max);
    for v in values.iter_mut() {
        *v = if max > 0.0 && v.is_finite() {
            (*v / max).clamp(0.0, 1.0)
        } else {
            0.0
        };
    }
}

/// Bilinear upsampling of an `h × w` grid to `side × side`, cell `(i, j)` centred on pixel
/// `offset + stride * (i, j)`; beyond the outermost centres the nearest value is kept.
fn upsample(
    grid: &[f32],
    h: usize,
    w: usize,
    (offset, stride): (f32, f32),
    side: usize,
) -> Vec<f32> {
    let coord = |p: usize, len: usize| -> (usize, usize, f32) {
        let f = ((p as f32 - offset) / stride).clamp(0.0, (len - 1) as f32);
        let i0 = f.floor() as usize;
        let i1 = (i0 + 1).min(len - 1);
        (i0, i1, f - i0 as f32)
    };
    let mut out = vec![0.0f32; side * side];
    for y in 0..side {
        let (y0, y1, ty) = coord(y, h);
        for x in 0..side {
            let (x0, x1, tx) = coord(x, w);
            let top = grid[y0 * w + x0] * (1.0 - tx) + grid[y0 * w + x1] * tx;
            let bottom = grid[y1 * w + x0] * (1.0 - tx) + grid[y1 * w + x1] * tx;
            out[y * side + x] = top * (1.0 - ty) + bottom * ty;
        }
    }
    out
}

/// Where `head-ct explain` puts the figure of `image`: `out/<stem>-explain.png`, with `-2`,
/// `-3`, ... when an earlier image (recorded in `used`) had the same name.
pub fn figure_path(out: &Path, image: &Path, used: &mut HashSet<PathBuf>) -> PathBuf {
    let stem = image
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "image".into());
    let mut dest = out.join(format!("{stem}-explain.png"));
    let mut n = 2;
    while !used.insert(dest.clone()) {
        dest = out.join(format!("{stem}-{n}-explain.png"));
        n += 1;
    }
    dest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geometry_follows_the_layers() {
        assert_eq!(block_geometry(1), (1.0, 1.0));
        assert_eq!(block_geometry(4), (18.5, 8.0));
        assert_eq!(block_geometry(5), (38.5, 16.0));
    }

    #[test]
    fn upsampling_puts_cells_at_their_centres() {
        // One hot cell in the middle of block 5's 5x5 grid lands on pixel 70.5.
        let mut grid = vec![0.0; 25];
        grid[12] = 1.0;
        let up = upsample(&grid, 5, 5, block_geometry(5), 150);
        assert!((up[70 * 150 + 70] - up[71 * 150 + 71]).abs() < 1e-6);
        assert!(up[70 * 150 + 70] > 0.9);
        assert_eq!(up[54 * 150 + 70], 0.0);
    }

    #[test]
    fn dilation_grows_by_the_margin() {
        let mut mask = vec![false; 100];
        mask[5 * 10 + 5] = true;
        let grown = dilate(&mask, 10, 2.0);
        assert_eq!(grown.iter().filter(|&&m| m).count(), 13);
        assert!(grown[3 * 10 + 5] && !grown[3 * 10 + 4]);
    }
}
