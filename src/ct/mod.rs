//! CT numbers and windows: reading DICOM CT slices, and turning Hounsfield units into the grey
//! levels the model sees.
//!
//! A CT scanner measures how much each voxel attenuates X-rays, on the Hounsfield scale: water
//! 0 HU, air −1000 HU; in a head, cerebrospinal fluid about 0–15 HU, brain about 20–45 HU,
//! fresh blood about 50–90 HU, bone several hundred to over 1000 HU. A screen shows about 256
//! grey levels and an eye tells far fewer apart, so a radiologist looks through a *window*: a
//! level and a width in HU ([`Window`]). The same slice in a brain window (40/80) shows a
//! bleed; in a bone window (600/2800) it shows the skull and hides the bleed.
//!
//! The Kaggle PNGs were windowed by whoever exported them; DICOM files hold CT numbers, and
//! the model's own windows ([`InputWindows`], a setting recorded in `model.json`) decide what
//! it sees:
//!
//! ```text
//!  DICOM file ──► stored values ──► x slope + intercept ──► CT numbers (HU) ──► window ──►
//!  (dicom.rs)     (decoded)         (modality LUT)          padding = air       (LINEAR)
//!      ──► MONOCHROME1 inverted ──► resized to 150x150 ──► one channel per window
//! ```
//!
//! - [`window`] (in [`crate::input`], re-exported here): [`Window`] (level/width and DICOM's
//!   LINEAR function), the presets brain, subdural and bone, and [`InputWindows`], the window
//!   of each input channel.
//! - [`dicom`]: [`read_ct_slice`], one slice in HU with notes on how it was read.
//! - [`header`]: [`read_dicom_header`], what a file is and where it sits in a study, without
//!   its pixels.
//! - [`write`](mod@write): [`CtImage`], a slice of CT numbers written as a DICOM CT image (the phantoms,
//!   and the tests' synthetic files).

pub mod dicom;
pub mod header;
mod scan;
pub mod write;

/// Windows live with the rest of the model's input ([`crate::input`]); they are CT's words.
pub use crate::input::window::{self, InputWindows, Window};
pub use dicom::{has_dicom_extension, has_dicom_marker, read_ct_slice, CtSlice, AIR_HU};
pub use header::{read_dicom_header, DicomHeader};
pub use write::{CtImage, SlicePlacement};
