//! How an image becomes the model's input, as one value: [`ModelInput`].
//!
//! Every stage that turns a file into the `3 x 150 x 150` floats the network takes uses the same
//! [`ModelInput`]: the loader ([`crate::data::Loader`]) decodes with it, every
//! [`crate::data::ImageSet`] records the one it was loaded with, the training
//! [`crate::training::Recipe`] holds one (and `model.json` holds that recipe), training refuses
//! images loaded for another input, and inference loads images with the checkpoint's own. So
//! loading, training, checkpoint and inference cannot disagree about windows, size or filter.
//!
//! What is *not* part of the model's input, and so not saved with it: the decoding [`Limits`]
//! (how large a file this machine is willing to read), which belong to whoever runs the program
//! and are passed to the loader beside the input, as the `image` crate passes its `Limits`.
//!
//! This module is a leaf: it depends on nothing in the crate but the error type.
//!
//! - [`window`]: [`Window`] (level/width and DICOM's LINEAR function), the presets brain,
//!   subdural and bone, and [`InputWindows`], the window of each input channel.
//! - [`ModelInput`], [`ResizeFilter`], [`PixelSource`]: the model's side of the input.
//! - [`Limits`]: the reader's side.
//! - [`resize`]: the one resize function every decoder calls.

pub mod resize;
pub mod window;

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

pub use window::{InputWindows, Window};

/// Smallest accepted image side, in pixels. A smaller image would be blown up more than ~4.7x
/// to 150x150: it holds too little of a slice to be a meaningful input, so it is refused rather
/// than silently upscaled.
pub const MIN_IMAGE_SIDE: u32 = 32;

/// How an image becomes the model's input: which windows show CT numbers (DICOM) in the three
/// channels, the side the image is resized to, and the resize filter.
///
/// Display images (PNG, JPEG, BMP, TIFF) become RGB in `[0, 1]`: 8-bit values / 255, 16-bit
/// values / 65535 (or / the largest value of the bits they use, see [`crate::data`]); they were
/// windowed by whoever exported them, so only the brain window alone accepts them. DICOM files
/// become CT numbers (Hounsfield units), each channel shown in its window
/// ([`Window::grey`]). Both are then resized to `side x side` with `resize_filter`.
///
/// Saved verbatim in `model.json` (through the recipe); [`ModelInput::TEACHING`] is the default.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "cli", derive(clap::Args))]
#[serde(deny_unknown_fields)]
pub struct ModelInput {
    /// How DICOM files (CT numbers) become the three input channels: `brain` (level 40,
    /// width 80 HU, in all three), `subdural`, `bone`, `LEVEL/WIDTH`, or `three` (brain,
    /// subdural and bone, one per channel). Display images (PNG) need the brain window alone.
    #[cfg_attr(feature = "cli", arg(long, default_value_t = ModelInput::TEACHING.windows, allow_hyphen_values = true))]
    pub windows: InputWindows,
    /// The side of the square input, pixels: 150, fixed by the network's compile-time shapes
    /// ([`crate::model::IMAGE_SIZE`]).
    #[cfg_attr(feature = "cli", arg(skip = ModelInput::TEACHING.side))]
    pub side: usize,
    /// The filter that resizes every image to `side x side`.
    #[cfg_attr(feature = "cli", arg(skip = ModelInput::TEACHING.resize_filter))]
    pub resize_filter: ResizeFilter,
}

impl ModelInput {
    /// The teaching model's input: the brain window, 150 x 150, the Triangle filter.
    pub const TEACHING: ModelInput = ModelInput {
        windows: InputWindows::BRAIN,
        side: 150,
        resize_filter: ResizeFilter::Triangle,
    };

    /// The teaching input with other windows.
    pub const fn with_windows(windows: InputWindows) -> ModelInput {
        ModelInput {
            windows,
            ..ModelInput::TEACHING
        }
    }

    /// True when display images (PNG, JPEG, ...) can be shown to the model: they were windowed
    /// by whoever exported them, which only the brain window alone stands for.
    pub fn accepts_display_images(&self) -> bool {
        self.windows == InputWindows::BRAIN
    }

    /// Refuses an input the network cannot take: a side other than `model_side`.
    pub fn check(&self, model_side: usize) -> Result<()> {
        if self.side != model_side {
            return Err(Error::InvalidInput(format!(
                "an input of {0}x{0} pixels does not fit this network, which takes \
                 {model_side}x{model_side}",
                self.side
            )));
        }
        Ok(())
    }

    /// One sentence: `150x150 (Triangle filter); display images as RGB / 255, DICOM in the
    /// brain window (level 40, width 80) in all three channels`.
    pub fn describe(&self) -> String {
        format!(
            "{0}x{0} ({1} filter); display images as RGB / 255, DICOM in {2}",
            self.side,
            self.resize_filter,
            self.windows.describe()
        )
    }
}

impl Default for ModelInput {
    fn default() -> Self {
        ModelInput::TEACHING
    }
}

/// The resampling filter that brings every image to the model's side.
///
/// **Triangle** (the default) is bilinear with a support that widens with the downscaling
/// factor, i.e. an area-averaging, anti-aliased resize. Keras' `load_img` defaults to
/// *nearest*, which, when shrinking the 134x158 to 821x957 source slices by up to 6x, keeps one
/// source pixel in 36 and aliases thin structures (the skull, a thin subdural rim) and noise.
/// Triangle averages every source pixel into the result, so a small or faint bleed still shows,
/// and it costs little more than nearest. It is faster than CatmullRom/Lanczos3 and does not
/// ring at the bright skull edge. The trade-off: values differ slightly from a Keras pipeline
/// that used the default `nearest`. The other filters are the `image` crate's
/// ([`image::imageops::FilterType`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResizeFilter {
    Nearest,
    #[default]
    Triangle,
    CatmullRom,
    Gaussian,
    Lanczos3,
}

impl ResizeFilter {
    /// The `image` crate's filter of this name.
    pub fn filter_type(self) -> image::imageops::FilterType {
        use image::imageops::FilterType as F;
        match self {
            ResizeFilter::Nearest => F::Nearest,
            ResizeFilter::Triangle => F::Triangle,
            ResizeFilter::CatmullRom => F::CatmullRom,
            ResizeFilter::Gaussian => F::Gaussian,
            ResizeFilter::Lanczos3 => F::Lanczos3,
        }
    }

    /// The filter named `name` as the `image` crate's `Debug` prints it (`Triangle`), as
    /// `model.json` files before format version 4 wrote it in their scaling sentence.
    pub fn from_image_name(name: &str) -> Option<ResizeFilter> {
        [
            ResizeFilter::Nearest,
            ResizeFilter::Triangle,
            ResizeFilter::CatmullRom,
            ResizeFilter::Gaussian,
            ResizeFilter::Lanczos3,
        ]
        .into_iter()
        .find(|f| format!("{:?}", f.filter_type()) == name)
    }
}

impl fmt::Display for ResizeFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.filter_type())
    }
}

/// What a sample's pixels were read from, which decides what its values mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PixelSource {
    /// A display image (PNG, JPEG, BMP, TIFF), windowed by whoever exported it.
    #[default]
    DisplayImage,
    /// CT numbers (Hounsfield units): a DICOM file, or the CT-number phantoms (what their
    /// DICOM files hold), shown in the input's windows.
    Dicom,
}

/// How large an image the loader is willing to read: a setting of whoever runs the program,
/// not of the model (so it is not saved with it). Modelled on [`image::Limits`]: the default
/// has a documented limit, and [`Limits::no_limits`] says "no limit" explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest image read, in pixels (width x height); `None` = no limit. The header is
    /// read first, so nothing is allocated for an image over it, and the decoders' own
    /// allocations are bounded by it.
    pub max_image_pixels: Option<u64>,
}

impl Limits {
    /// 4096 x 4096 pixels, about 16.8 megapixels. CT slices are 512 x 512; exports and photos
    /// of films rarely pass 4000 pixels a side. The limit keeps a file whose header claims a
    /// huge size (a 0.5 MB PNG can claim 16000 x 16000) from taking gigabytes.
    pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 4096 * 4096;

    /// No limit on the image size (the decoders' allocations are then bounded only by the
    /// header's claim).
    pub fn no_limits() -> Limits {
        Limits {
            max_image_pixels: None,
        }
    }

    /// At most `pixels` pixels per image. Errors if `pixels` is 0.
    pub fn max_pixels(pixels: u64) -> Result<Limits> {
        if pixels == 0 {
            return Err(Error::InvalidInput(
                "a pixel limit of 0 refuses every image: give a positive number of pixels".into(),
            ));
        }
        Ok(Limits {
            max_image_pixels: Some(pixels),
        })
    }

    /// The largest DICOM file read, in bytes: 8 bytes per pixel of the pixel limit plus 16 MiB
    /// of header, 144 MiB by default; `None` without a pixel limit. A DICOM file is read whole
    /// (dicom-rs keeps it in memory): a long multi-frame series over the limit should be split
    /// into slices.
    pub fn max_dicom_bytes(&self) -> Option<u64> {
        self.max_image_pixels
            .map(|p| p.saturating_mul(8).saturating_add(16 << 20))
    }

    /// Refuses an image of `width x height` pixels over the limit: `what` names it in the
    /// sentence (`image`, `DICOM image`), `path` in the error.
    pub fn check_image(
        &self,
        path: &std::path::Path,
        what: &str,
        width: u64,
        height: u64,
    ) -> Result<()> {
        let pixels = width.saturating_mul(height);
        match self.max_image_pixels {
            Some(limit) if pixels > limit => Err(Error::data(
                path,
                format!(
                    "{what} is {width}x{height} pixels, {pixels} in all, over the limit of \
                     {limit} pixels{}",
                    if limit == Limits::DEFAULT_MAX_IMAGE_PIXELS {
                        " (4096x4096, larger than any CT slice, unless HEAD_CT_MAX_PIXELS sets another limit)"
                    } else {
                        ""
                    }
                ),
            )),
            _ => Ok(()),
        }
    }
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_image_pixels: Some(Limits::DEFAULT_MAX_IMAGE_PIXELS),
        }
    }
}

/// Images above this many pixels (2048 x 2048) are decoded one at a time, not one per core:
/// a 16-megapixel 16-bit image takes several hundred megabytes while it is decoded, turned and
/// converted, and two at once would pass the project's memory goal. CT slices (512 x 512) and
/// the Kaggle images (up to about 1000 x 1000) decode in parallel.
const LARGE_IMAGE_PIXELS: u64 = 2048 * 2048;

/// Taken while a large image is decoded and converted.
static LARGE_IMAGE: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Held while an image of `pixels` pixels is decoded, when it is a large one
/// ([`LARGE_IMAGE_PIXELS`]): large images are decoded one at a time, not one per core. The
/// DICOM reader takes it once it knows Rows x Columns (a small compressed file can decode to
/// 16 megapixels).
pub(crate) fn one_at_a_time_if_large(pixels: u64) -> Option<std::sync::MutexGuard<'static, ()>> {
    (pixels > LARGE_IMAGE_PIXELS).then(|| {
        LARGE_IMAGE
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_teaching_input_round_trips_through_json() {
        let json = serde_json::to_string(&ModelInput::TEACHING).unwrap();
        assert_eq!(
            json,
            r#"{"windows":"40/80,40/80,40/80","side":150,"resize_filter":"triangle"}"#
        );
        assert_eq!(
            serde_json::from_str::<ModelInput>(&json).unwrap(),
            ModelInput::TEACHING
        );
        let three = ModelInput::with_windows(InputWindows::THREE);
        let back: ModelInput =
            serde_json::from_str(&serde_json::to_string(&three).unwrap()).unwrap();
        assert_eq!(back, three);
        assert!(!three.accepts_display_images());
        assert!(ModelInput::TEACHING.accepts_display_images());
    }

    #[test]
    fn an_input_of_another_side_is_refused() {
        assert!(ModelInput::TEACHING.check(150).is_ok());
        let other = ModelInput {
            side: 224,
            ..ModelInput::TEACHING
        };
        let e = other.check(150).unwrap_err().to_string();
        assert!(e.contains("224x224") && e.contains("150x150"), "{e}");
    }

    #[test]
    fn filters_are_named_as_the_image_crate_names_them() {
        assert_eq!(ResizeFilter::Triangle.to_string(), "Triangle");
        assert_eq!(
            ResizeFilter::from_image_name("CatmullRom"),
            Some(ResizeFilter::CatmullRom)
        );
        assert_eq!(ResizeFilter::from_image_name("Bicubic"), None);
    }

    #[test]
    fn limits_default_to_4096_squared_and_no_limits_is_explicit() {
        let d = Limits::default();
        assert_eq!(d.max_image_pixels, Some(4096 * 4096));
        assert_eq!(d.max_dicom_bytes(), Some(4096 * 4096 * 8 + (16 << 20)));
        assert_eq!(Limits::no_limits().max_dicom_bytes(), None);
        assert!(Limits::max_pixels(0).is_err());
        let p = std::path::Path::new("big.png");
        assert!(d.check_image(p, "image", 4096, 4096).is_ok());
        let e = d
            .check_image(p, "image", 4097, 4096)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("big.png: image is 4097x4096 pixels"), "{e}");
        assert!(Limits::no_limits()
            .check_image(p, "image", 100_000, 100_000)
            .is_ok());
    }
}
