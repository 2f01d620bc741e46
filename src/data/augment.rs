//! Random image transforms in the spirit of Keras' `ImageDataGenerator`: rotation, width and
//! height shift, zoom and horizontal flip. Off by default ([`Augmentation::none`]); apply it to
//! training batches only ([`ImageSet::augmented_batch`](super::ImageSet::augmented_batch)).
//!
//! As in Keras (`apply_affine_transform`): each output pixel is sampled from the source with
//! bilinear interpolation at the inverse-transformed position, and positions outside the image
//! take the nearest edge pixel (`fill_mode="nearest"`). The zoom factors are drawn separately
//! for x and y in `[1 - zoom_range, 1 + zoom_range]`; a factor above 1 shows a larger area
//! (zooms out), as in Keras.

use rand::Rng;

use crate::model::IMAGE_LEN;
use crate::model::{CHANNELS, IMAGE_SIZE};

/// Augmentation ranges; all zero / false means no augmentation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Augmentation {
    /// Rotation in degrees, drawn uniformly in `[-rotation_range, rotation_range]`.
    pub rotation_range: f32,
    /// Horizontal shift as a fraction of the width, drawn in `[-r, r]`.
    pub width_shift_range: f32,
    /// Vertical shift as a fraction of the height, drawn in `[-r, r]`.
    pub height_shift_range: f32,
    /// Zoom factors drawn in `[1 - zoom_range, 1 + zoom_range]` (x and y separately).
    pub zoom_range: f32,
    /// Mirror left-right with probability 1/2.
    pub horizontal_flip: bool,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self::none()
    }
}

/// The transform drawn for one image.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransformParams {
    /// Radians.
    pub rotation: f32,
    /// Pixels.
    pub shift_x: f32,
    /// Pixels.
    pub shift_y: f32,
    pub zoom_x: f32,
    pub zoom_y: f32,
    pub flip: bool,
}

impl Augmentation {
    /// No augmentation (the default).
    pub const fn none() -> Self {
        Self {
            rotation_range: 0.0,
            width_shift_range: 0.0,
            height_shift_range: 0.0,
            zoom_range: 0.0,
            horizontal_flip: false,
        }
    }

    /// The classic Keras tutorial settings: rotation 40°, shifts 0.2, zoom 0.2, horizontal flip.
    /// (Keras' shear is not implemented.)
    pub const fn keras_tutorial() -> Self {
        Self {
            rotation_range: 40.0,
            width_shift_range: 0.2,
            height_shift_range: 0.2,
            zoom_range: 0.2,
            horizontal_flip: true,
        }
    }

    /// True when this augmentation leaves every image unchanged.
    pub fn is_identity(&self) -> bool {
        self.rotation_range == 0.0
            && self.width_shift_range == 0.0
            && self.height_shift_range == 0.0
            && self.zoom_range == 0.0
            && !self.horizontal_flip
    }

    /// Draws one image's transform from `rng`. Always draws the same number of values, so the
    /// rng advances identically whatever the ranges.
    pub fn sample<R: Rng + ?Sized>(&self, rng: &mut R) -> TransformParams {
        let size = IMAGE_SIZE as f32;
        let mut sym = |r: f32| {
            let u: f32 = rng.gen_range(-1.0..=1.0);
            u * r.abs()
        };
        let rotation = sym(self.rotation_range).to_radians();
        let shift_x = sym(self.width_shift_range) * size;
        let shift_y = sym(self.height_shift_range) * size;
        let zoom_x = 1.0 + sym(self.zoom_range);
        let zoom_y = 1.0 + sym(self.zoom_range);
        let flip = rng.gen_bool(0.5) && self.horizontal_flip;
        TransformParams {
            rotation,
            shift_x,
            shift_y,
            zoom_x,
            zoom_y,
            flip,
        }
    }
}

/// Transforms one CHW image `src` into `dst` (both `IMAGE_LEN` floats).
pub fn apply(src: &[f32], dst: &mut [f32], p: &TransformParams) {
    assert_eq!(src.len(), IMAGE_LEN);
    assert_eq!(dst.len(), IMAGE_LEN);
    let n = IMAGE_SIZE;
    let plane = n * n;
    let c0 = (n as f32 - 1.0) / 2.0;
    let (sin, cos) = p.rotation.sin_cos();
    let max = (n - 1) as f32;
    for y in 0..n {
        for x in 0..n {
            // Output pixel → source position: undo the shift, then rotate and zoom about the
            // centre; the flip is applied last to the output.
            let ox = if p.flip { max - x as f32 } else { x as f32 };
            let dx = ox - c0 - p.shift_x;
            let dy = y as f32 - c0 - p.shift_y;
            let sx = (cos * dx - sin * dy) * p.zoom_x + c0;
            let sy = (sin * dx + cos * dy) * p.zoom_y + c0;
            let sx = sx.clamp(0.0, max);
            let sy = sy.clamp(0.0, max);
            let x0 = (sx.floor() as usize).min(n - 1);
            let y0 = (sy.floor() as usize).min(n - 1);
            let x1 = (x0 + 1).min(n - 1);
            let y1 = (y0 + 1).min(n - 1);
            let fx = sx - x0 as f32;
            let fy = sy - y0 as f32;
            for c in 0..CHANNELS {
                let s = &src[c * plane..(c + 1) * plane];
                let top = s[y0 * n + x0] * (1.0 - fx) + s[y0 * n + x1] * fx;
                let bottom = s[y1 * n + x0] * (1.0 - fx) + s[y1 * n + x1] * fx;
                dst[c * plane + y * n + x] = top * (1.0 - fy) + bottom * fy;
            }
        }
    }
}
