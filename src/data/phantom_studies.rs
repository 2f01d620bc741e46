//! Synthetic whole head-CT studies ("phantom studies"): 3-D phantom heads in Hounsfield units,
//! written as a PACS export would give them, with the ground truth of every slice.
//!
//! Each study is one phantom head in HU (a skull shaped as a superellipsoid, wide over the
//! middle of the head and narrowing toward the base and the vertex, around brain, ventricles,
//! texture and calcifications) scanned as:
//!
//! - series 1 `SCOUT`: one lateral localizer (a projection through the head; ImageType
//!   `ORIGINAL\PRIMARY\LOCALIZER`, ImageOrientationPatient `[0, 1, 0, 0, 0, −1]`);
//! - series 2 `HEAD 5mm STND`: [`THIN_SLICES`] axial slices 5 mm apart (each the volume on its
//!   central plane), soft-tissue reconstruction; InstanceNumber 1 is the *highest* slice, so
//!   InstanceNumber runs against the position along the scan (as a scanner writing from the
//!   vertex down does);
//! - series 3 `HEAD 10mm BONE`: [`THICK_SLICES`] axial slices 10 mm apart, each the mean of two
//!   5 mm slices of the same volume, sharpened and noisier (a bone kernel); InstanceNumber
//!   runs with position;
//! - series 99 `REPORT`: one Basic Text SR document (no pixel data).
//!
//! Axial slices are [`MATRIX`] x [`MATRIX`] pixels of [`PIXEL_SPACING_MM`] mm (a 23 cm field of
//! view), so a reader resizes them to the model's 150x150 as it would a real scan. Near the
//! middle of the head a cross-section is drawn as [`render_ct_phantom`](super::phantoms::render_ct_phantom)
//! draws its 2-D slices (the same ranges of size, tissue levels, texture and noise, in units of
//! 1/150 of the field of view), so a model trained on `head-ct phantoms` sees familiar slices
//! there; toward the skull base and the vertex the head shrinks, the skull is cut obliquely
//! (thicker bone), and the base has thicker bone and an air sinus: the lowest and highest
//! slices are unlike the training images.
//!
//! A hemorrhage study has one bleed (60–80 HU): an ellipsoid inside the brain (three studies in
//! four) or a lens against the inner skull (epidural), spanning 3 to 7 adjacent slices of the
//! 5 mm series near the middle of the head. A slice "carries bleed" when at least
//! [`MIN_BLEED_PIXELS`] of its pixels are at least half covered by the bleed (for a 10 mm
//! slice: covered on average over its two 5 mm halves).
//!
//! The export (`out/`):
//!
//! ```text
//! out/README.TXT                       plain text, what this is
//! out/labels.csv                       study_uid, hemorrhage
//! out/truth.csv                        study_uid, series_uid, slice, position_mm, bleed
//! out/DICOM/<study>/<series>/<file>    <study> 00000001, 00000002, …; <series> the
//!                                      SeriesNumber in 8 digits; <file> no extension: an
//!                                      8-digit number (series 1, 2, 99) or the file's
//!                                      SOPInstanceUID (series 3)
//! ```
//!
//! File numbers are shuffled (seeded), so file-name order is not slice order. Everything is
//! deterministic per seed: study `i` draws from ChaCha8 generators seeded with `seed` on
//! streams derived from `i`, and slices are rendered in parallel.

use std::{
    f32::consts::PI,
    fs,
    path::{Path, PathBuf},
};

use dicom_core::{
    value::{DataSetSequence, PrimitiveValue},
    DataElement, Tag, VR,
};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::phantoms::LesionKind;
use crate::{
    ct::{write::uid_from, CtImage, SlicePlacement, Window},
    fsutil::write_atomically,
    Error, Result,
};

/// Rows and columns of an axial slice, pixels.
pub const MATRIX: usize = 256;
/// Pixel spacing of an axial slice, mm (PS3.3 C.7.6.2.1.1, PixelSpacing).
pub const PIXEL_SPACING_MM: f64 = 0.9;
/// Slices of series 2, `HEAD 5mm STND`.
pub const THIN_SLICES: usize = 28;
/// Slice spacing and thickness of series 2, mm.
pub const THIN_MM: f64 = 5.0;
/// Slices of series 3, `HEAD 10mm BONE` (two 5 mm slices each).
pub const THICK_SLICES: usize = THIN_SLICES / 2;
/// Slice spacing and thickness of series 3, mm.
pub const THICK_MM: f64 = 2.0 * THIN_MM;
/// Rows and columns of the localizer, pixels.
pub const SCOUT_MATRIX: usize = 128;
/// Pixel spacing of the localizer, mm.
pub const SCOUT_SPACING_MM: f64 = 1.8;
/// A slice carries bleed when at least this many of its pixels are half covered by it.
pub const MIN_BLEED_PIXELS: usize = 20;
/// The most studies one call writes.
pub const MAX_STUDIES: usize = 100_000;
/// The folder under `out/` that holds the studies.
pub const DICOM_DIR: &str = "DICOM";

/// The localizer's SeriesNumber (0020,0011) and SeriesDescription (0008,103E), PS3.3 C.7.3.1.
pub const SCOUT_SERIES: (i32, &str) = (1, "SCOUT");
/// The 5 mm soft-tissue series' SeriesNumber and SeriesDescription, PS3.3 C.7.3.1.
pub const THIN_SERIES: (i32, &str) = (2, "HEAD 5mm STND");
/// The 10 mm bone-kernel series' SeriesNumber and SeriesDescription, PS3.3 C.7.3.1.
pub const THICK_SERIES: (i32, &str) = (3, "HEAD 10mm BONE");
/// The text report's SeriesNumber and SeriesDescription, PS3.3 C.7.3.1 and C.17.1.
pub const REPORT_SERIES: (i32, &str) = (99, "REPORT");

/// The phantom unit of length: 1/150 of the field of view, mm (one pixel of the 2-D phantoms).
const MM_PER_UNIT: f32 = (MATRIX as f32 * PIXEL_SPACING_MM as f32) / 150.0;
const AIR_HU: f32 = -1000.0;
/// Random-stream tag of the phantom studies ("ST"), distinct from the 2-D phantoms' streams.
const STREAM_TAG: u64 = 0x5354;
/// UID tag: the UIDs of study `i` are drawn from `[seed, UID_TAG, i, …]`.
const UID_TAG: u64 = 0x5354_5544;

/// What [`write_phantom_studies`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomStudies {
    /// The export folder.
    pub out: PathBuf,
    /// The studies, in the order of `labels.csv`.
    pub studies: Vec<PhantomStudy>,
    /// DICOM files written (images and reports).
    pub files: usize,
}

impl PhantomStudies {
    /// Studies with a bleed.
    pub fn hemorrhage_count(&self) -> usize {
        self.studies.iter().filter(|s| s.hemorrhage).count()
    }
}

/// One written study and its ground truth.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomStudy {
    /// StudyInstanceUID (0020,000D), PS3.3 C.7.2.1.
    pub study_instance_uid: String,
    /// StudyDate (0008,0020), `YYYYMMDD`.
    pub study_date: String,
    /// The study's folder, relative to `out`.
    pub folder: PathBuf,
    /// Whether the head has a bleed.
    pub hemorrhage: bool,
    /// The kind of bleed (intraparenchymal ellipsoid or epidural lens), if any.
    pub lesion: Option<LesionKind>,
    /// The two axial series: series 2 (5 mm) then series 3 (10 mm).
    pub series: Vec<PhantomSeries>,
    /// The localizer's file, relative to `out`.
    pub localizer: PathBuf,
    /// The text report's file, relative to `out`.
    pub report: PathBuf,
}

/// An axial series of a phantom study, its slices in ascending position.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomSeries {
    /// SeriesInstanceUID (0020,000E), PS3.3 C.7.3.1.
    pub series_instance_uid: String,
    /// SeriesNumber (0020,0011).
    pub series_number: i32,
    /// SeriesDescription (0008,103E).
    pub description: String,
    /// SliceThickness (0018,0050) and spacing between slices, mm.
    pub slice_thickness_mm: f64,
    /// The slices, in ascending position along the scan (z, toward the head).
    pub slices: Vec<PhantomSlice>,
}

impl PhantomSeries {
    /// The 1-based indices (in ascending position) of the slices that carry bleed.
    pub fn bleed_slices(&self) -> Vec<usize> {
        (1..=self.slices.len())
            .filter(|&i| self.slices[i - 1].bleed)
            .collect()
    }
}

/// One axial slice of a phantom series.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomSlice {
    /// The file, relative to `out`.
    pub file: PathBuf,
    /// SOPInstanceUID (0008,0018), PS3.3 C.12.1.
    pub sop_instance_uid: String,
    /// InstanceNumber (0020,0013), PS3.3 C.7.6.1.
    pub instance_number: i32,
    /// Position along the scan, mm: the z of ImagePositionPatient (0020,0032), PS3.3
    /// C.7.6.2, which for an axial slice is the position along its normal.
    pub position_mm: f64,
    /// Whether the slice carries bleed (at least [`MIN_BLEED_PIXELS`] pixels half covered).
    pub bleed: bool,
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Coverage of a soft edge: 1 well inside (`d` > 0.5 unit), 0 well outside.
fn inside(d: f32) -> f32 {
    smoothstep(-0.7, 0.7, d)
}

/// Millimetres rounded to 0.01 mm, so that they print short (DS values are at most 16
/// characters, PS3.5 6.2).
fn round_mm(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// The random stream of part `part`, item `index` of study `study`.
fn stream(study: u64, part: u64, index: u64) -> u64 {
    (STREAM_TAG << 48) | (study << 20) | (part << 12) | index
}

fn rng_for(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

/// The bleed of a phantom head (head coordinates, phantom units).
#[derive(Debug, Clone)]
enum Bleed {
    /// An ellipsoid with a wobbly in-plane edge.
    Ellipsoid {
        u: f32,
        v: f32,
        w: f32,
        r1: f32,
        r2: f32,
        rz: f32,
        rot: f32,
        wobble: f32,
        phase: f32,
    },
    /// A biconvex lens against the inner skull.
    Lens {
        phi0: f32,
        half_width: f32,
        thickness: f32,
        w: f32,
        hz: f32,
    },
}

/// A 3-D phantom head. In-plane lengths are in phantom units ([`MM_PER_UNIT`] mm), as the 2-D
/// phantoms' pixels; `w` is the height above the head's centre in the same units.
#[derive(Debug, Clone)]
struct Head {
    /// The head's centre in the slice plane, mm from the image centre (x, y).
    centre_mm: (f32, f32),
    /// The head's centre along the scan, patient z, mm.
    z_mm: f64,
    a: f32,
    b: f32,
    c: f32,
    sin_t: f32,
    cos_t: f32,
    skull: f32,
    rim: f32,
    brain: f32,
    bone: f32,
    csf: f32,
    cortex: f32,
    sigma: f32,
    /// (frequency, direction, vertical frequency, phase, amplitude HU).
    texture: Vec<(f32, f32, f32, f32, f32)>,
    v_sep: f32,
    v_up: f32,
    v_rx: f32,
    v_ry: f32,
    v_tilt: f32,
    v_w: f32,
    v_h: f32,
    calcs: Vec<(f32, f32, f32, f32)>,
    bleed: Option<(Bleed, f32)>,
}

/// A noise-free sample of the head: CT number (HU), head coverage, bleed coverage.
struct Voxel {
    hu: f32,
    head: f32,
    bleed: f32,
}

impl Head {
    /// The head at `(dx, dy)` units from its centre in image axes (x right, y down) and `w`
    /// units above its centre.
    fn voxel(&self, dx: f32, dy: f32, w: f32) -> Voxel {
        let air = Voxel {
            hu: AIR_HU,
            head: 0.0,
            bleed: 0.0,
        };
        let u = self.cos_t * dx + self.sin_t * dy;
        let v = -self.sin_t * dx + self.cos_t * dy;
        // A superellipsoid of exponent 3 along the scan: cross-sections keep the 2-D phantoms'
        // size over the middle of the head (0.95 of it 40 mm from the centre) and shrink
        // quickly toward the base and the vertex (0.75 at 68 mm). At w = 0 it is the 2-D
        // phantoms' ellipse.
        let planar = (u / self.a).powi(2) + (v / self.b).powi(2);
        let rho = (planar * planar.sqrt() + (w / self.c).abs().powi(3))
            .cbrt()
            .max(1e-6);
        if rho > 1.2 {
            return air;
        }
        let ray = (u * u + v * v + w * w).sqrt() / rho;
        let depth_out = ray * (1.0 - rho);
        // Toward the skull base the bone thickens.
        let base = smoothstep(-0.45 * self.c, -0.9 * self.c, w);
        let depth = depth_out - self.skull * (1.0 + 2.0 * base);
        let head = inside(depth_out);
        if head == 0.0 {
            return air;
        }
        let in_brain = inside(depth);

        let mut tissue = self.brain + self.cortex * (1.0 - smoothstep(0.0, self.rim, depth));
        for &(freq, dir, fz, phase, amp) in &self.texture {
            tissue += amp * (freq * (u * dir.cos() + v * dir.sin()) + fz * w + phase).sin();
        }
        let mut vent = 0.0f32;
        for side in [-1.0f32, 1.0] {
            let (s, c) = (side * self.v_tilt).sin_cos();
            let pu = u - side * (self.v_sep + self.v_rx);
            let pv = v - self.v_up;
            let qu = c * pu + s * pv;
            let qv = -s * pu + c * pv;
            let e = ((qu / self.v_rx).powi(2)
                + (qv / self.v_ry).powi(2)
                + ((w - self.v_w) / self.v_h).powi(2))
            .sqrt();
            vent = vent.max(inside((1.0 - e) * self.v_rx));
        }
        tissue = tissue * (1.0 - vent) + self.csf * vent;
        for &(cu, cv, cw, cr) in &self.calcs {
            let d = cr - ((u - cu).powi(2) + (v - cv).powi(2) + (w - cw).powi(2)).sqrt();
            let k = inside(d * 2.0);
            tissue = tissue * (1.0 - k) + (self.bone * 0.9) * k;
        }
        let mut bleed = 0.0;
        if let Some((shape, hu)) = &self.bleed {
            let cover = match *shape {
                Bleed::Ellipsoid {
                    u: lu,
                    v: lv,
                    w: lw,
                    r1,
                    r2,
                    rz,
                    rot,
                    wobble,
                    phase,
                } => {
                    let s = (1.0 - ((w - lw) / rz).powi(2)).max(0.0).sqrt();
                    if s == 0.0 {
                        0.0
                    } else {
                        let (sr, cr) = rot.sin_cos();
                        let pu = u - lu;
                        let pv = v - lv;
                        let qu = cr * pu + sr * pv;
                        let qv = -sr * pu + cr * pv;
                        let ang = qv.atan2(qu);
                        let e = ((qu / r1).powi(2) + (qv / r2).powi(2)).sqrt();
                        let edge = (1.0 + wobble * (3.0 * ang + phase).sin()) * s;
                        inside((edge - e) * r2)
                    }
                }
                Bleed::Lens {
                    phi0,
                    half_width,
                    thickness,
                    w: lw,
                    hz,
                } => {
                    let s = (1.0 - ((w - lw) / hz).powi(2)).max(0.0).sqrt();
                    if s == 0.0 {
                        0.0
                    } else {
                        let phi = (v / self.b).atan2(u / self.a);
                        let mut dphi = (phi - phi0).abs();
                        if dphi > PI {
                            dphi = 2.0 * PI - dphi;
                        }
                        let t = (1.0 - (dphi / half_width).powi(2)).max(0.0).sqrt() * thickness * s;
                        inside(t - depth)
                    }
                }
            } * in_brain;
            tissue = tissue * (1.0 - cover) + hu * cover;
            bleed = cover;
        }
        let mut hu = tissue * in_brain + self.bone * (head - in_brain) + AIR_HU * (1.0 - head);
        // An air sinus in the front of the skull base.
        let sinus = ((u / (0.16 * self.a)).powi(2)
            + ((v + 0.8 * self.b) / (0.08 * self.b)).powi(2)
            + ((w + 0.75 * self.c) / (0.12 * self.c)).powi(2))
        .sqrt();
        let k = inside((1.0 - sinus) * 0.08 * self.b) * head;
        hu = hu * (1.0 - k) + AIR_HU * k;
        Voxel { hu, head, bleed }
    }

    /// The head at patient coordinates (mm).
    fn voxel_mm(&self, x: f64, y: f64, z: f64) -> Voxel {
        self.voxel(
            (x as f32 - self.centre_mm.0) / MM_PER_UNIT,
            (y as f32 - self.centre_mm.1) / MM_PER_UNIT,
            ((z - self.z_mm) as f32) / MM_PER_UNIT,
        )
    }
}

/// A study's head, scan geometry and date, drawn from its own stream.
struct Design {
    head: Head,
    /// Patient z of the lowest 5 mm slice, mm.
    first_z_mm: f64,
    lesion: Option<LesionKind>,
    study_date: String,
}

/// The patient x (columns) and y (rows) of pixel 0 of an axial slice, mm.
fn axial_origin_mm() -> f64 {
    round_mm(-((MATRIX - 1) as f64) / 2.0 * PIXEL_SPACING_MM)
}

fn thin_z(first: f64, k: usize) -> f64 {
    round_mm(first + k as f64 * THIN_MM)
}

fn thick_z(first: f64, k: usize) -> f64 {
    round_mm(first + THIN_MM / 2.0 + k as f64 * THICK_MM)
}

fn design(seed: u64, study: u64, hemorrhage: bool) -> Design {
    let r = &mut rng_for(seed, stream(study, 0, 0));
    // The scan: the head's centre and the lowest slice about 67.5 mm below it.
    let z_head = round_mm(-110.0 + r.gen_range(-8.0..8.0f64));
    let first_z_mm = round_mm(z_head - 67.5 + r.gen_range(-4.0..4.0f64));

    // The cross-section at the centre: the 2-D phantoms' ranges (render in phantoms.rs).
    let cx = r.gen_range(-3.5..3.5f32);
    let cy = r.gen_range(-3.5..3.5f32);
    let a = r.gen_range(49.5..56.5f32);
    let b = (a * r.gen_range(1.04..1.25f32)).min(72.0 - cy.abs());
    let c = r.gen_range(78.0..86.0f32) / MM_PER_UNIT;
    let theta = r.gen_range(-0.35..0.35f32);
    let (sin_t, cos_t) = theta.sin_cos();
    let skull = r.gen_range(3.0..5.0f32);
    let rim = r.gen_range(3.0..7.0f32);
    // Tissue levels in HU, as render_ct_phantom maps its brain-window draws.
    let brain = r.gen_range(25.0..40.0f32);
    let csf = r.gen_range(2.0..15.0f32);
    let bone = r.gen_range(700.0..1500.0f32);
    let cortex = r.gen_range(0.015..0.05f32) * 80.0;
    let sigma = r.gen_range(0.015..0.045f32) * 80.0;
    let texture = (0..3)
        .map(|_| {
            (
                r.gen_range(0.03..0.12f32),
                r.gen_range(0.0..PI),
                r.gen_range(-0.05..0.05f32),
                r.gen_range(0.0..2.0 * PI),
                r.gen_range(0.006..0.018f32) * 80.0,
            )
        })
        .collect();
    let v_sep = r.gen_range(4.0..9.0f32);
    let v_up = r.gen_range(-10.0..4.0f32);
    let v_rx = r.gen_range(3.0..7.0f32);
    let v_ry = r.gen_range(9.0..17.0f32);
    let v_tilt = r.gen_range(0.1..0.4f32);
    let v_w = r.gen_range(0.0..10.0f32) / MM_PER_UNIT;
    let v_h = r.gen_range(18.0..28.0f32) / MM_PER_UNIT;
    let n_calc = if r.gen_bool(0.4) {
        r.gen_range(1..=2)
    } else {
        0
    };
    let calcs = (0..n_calc)
        .map(|_| {
            (
                r.gen_range(-6.0..6.0f32),
                v_up + r.gen_range(-4.0..14.0f32),
                r.gen_range(-6.0..6.0f32),
                r.gen_range(0.8..1.8f32),
            )
        })
        .collect();
    let month: u32 = r.gen_range(1..=12);
    let day: u32 = r.gen_range(1..=28);
    let study_date = format!("2026{month:02}{day:02}");

    let mut lesion = None;
    let bleed = hemorrhage.then(|| {
        // 3 to 7 slices of the 5 mm series, centred near the middle of the head: on a slice
        // (odd count) or between two (even count); the half-height is count x 2.5 mm, so
        // exactly `count` slice centres fall inside.
        let count = r.gen_range(3..=7usize);
        let centre = r.gen_range(11..=16usize);
        let mut z0 = thin_z(first_z_mm, centre);
        if count.is_multiple_of(2) {
            z0 += THIN_MM / 2.0;
        }
        let w = ((z0 - z_head) as f32) / MM_PER_UNIT;
        let half = (count as f32 * THIN_MM as f32 / 2.0) / MM_PER_UNIT;
        let hu = r.gen_range(60.0..80.0f32);
        let shape = if r.gen_bool(0.75) {
            lesion = Some(LesionKind::Intraparenchymal);
            let rho = r.gen_range(0.15..0.6f32);
            let ang = r.gen_range(0.0..2.0 * PI);
            let r1 = 8.0 + 10.0 * r.gen::<f32>().powf(1.3);
            Bleed::Ellipsoid {
                u: rho * a * ang.cos(),
                v: rho * b * ang.sin(),
                w,
                r1,
                r2: r1 * r.gen_range(0.6..1.0f32),
                rz: half,
                rot: r.gen_range(0.0..PI),
                wobble: r.gen_range(0.0..0.2f32),
                phase: r.gen_range(0.0..2.0 * PI),
            }
        } else {
            lesion = Some(LesionKind::Epidural);
            Bleed::Lens {
                phi0: r.gen_range(-PI..PI),
                half_width: r.gen_range(0.39..0.78f32),
                thickness: r.gen_range(9.0..21.0f32),
                w,
                hz: half,
            }
        };
        (shape, hu)
    });
    Design {
        head: Head {
            centre_mm: (cx * MM_PER_UNIT, cy * MM_PER_UNIT),
            z_mm: z_head,
            a,
            b,
            c,
            sin_t,
            cos_t,
            skull,
            rim,
            brain,
            bone,
            csf,
            cortex,
            sigma,
            texture,
            v_sep,
            v_up,
            v_rx,
            v_ry,
            v_tilt,
            v_w,
            v_h,
            calcs,
            bleed,
        },
        first_z_mm,
        lesion,
        study_date,
    }
}

/// A noise-free axial slice: CT numbers (HU), head coverage and bleed coverage per pixel.
struct Clean {
    hu: Vec<f32>,
    head: Vec<f32>,
    bleed: Vec<f32>,
}

fn clean_axial(head: &Head, z: f64) -> Clean {
    let origin = axial_origin_mm();
    let n = MATRIX * MATRIX;
    let mut out = Clean {
        hu: Vec::with_capacity(n),
        head: Vec::with_capacity(n),
        bleed: Vec::with_capacity(n),
    };
    for row in 0..MATRIX {
        let y = origin + row as f64 * PIXEL_SPACING_MM;
        for col in 0..MATRIX {
            let x = origin + col as f64 * PIXEL_SPACING_MM;
            let v = head.voxel_mm(x, y, z);
            out.hu.push(v.hu);
            out.head.push(v.head);
            out.bleed.push(v.bleed);
        }
    }
    out
}

/// Adds scanner noise (Gaussian, `sigma` HU inside the head, 0.3 `sigma` in air, as the 2-D
/// phantoms) and clips to the 12-bit range.
fn noisy(hu: &[f32], head: &[f32], sigma: f32, rng: &mut ChaCha8Rng) -> Vec<f32> {
    hu.iter()
        .zip(head)
        .map(|(&v, &h)| {
            let noise: f32 = rng.sample(StandardNormal);
            (v + sigma * noise * (0.3 + 0.7 * h)).clamp(-1024.0, 3071.0)
        })
        .collect()
}

/// A bone kernel: the slice plus its difference from a 3x3 mean (edges sharpened).
fn sharpen(hu: &[f32]) -> Vec<f32> {
    let n = MATRIX as isize;
    let mut out = vec![0.0f32; hu.len()];
    for y in 0..n {
        for x in 0..n {
            let mut sum = 0.0;
            for dy in -1..=1 {
                for dx in -1..=1 {
                    let yy = (y + dy).clamp(0, n - 1);
                    let xx = (x + dx).clamp(0, n - 1);
                    sum += hu[(yy * n + xx) as usize];
                }
            }
            let v = hu[(y * n + x) as usize];
            out[(y * n + x) as usize] = v + (v - sum / 9.0);
        }
    }
    out
}

fn carries_bleed(cover: &[f32]) -> bool {
    cover.iter().filter(|&&c| c >= 0.5).count() >= MIN_BLEED_PIXELS
}

/// The lateral localizer: the mean CT number along each ray from the patient's right to left
/// (a simple projection), rows running feet-ward from above the head, columns posterior.
fn scout(head: &Head, rng: &mut ChaCha8Rng) -> (Vec<f32>, [f64; 3]) {
    let half = (SCOUT_MATRIX - 1) as f64 / 2.0 * SCOUT_SPACING_MM;
    let y0 = round_mm(-half);
    let z_top = round_mm(head.z_mm + half);
    const RAY_SAMPLES: usize = 128;
    let span = MATRIX as f64 * PIXEL_SPACING_MM;
    let rows: Vec<Vec<f32>> = (0..SCOUT_MATRIX)
        .into_par_iter()
        .map(|row| {
            let z = z_top - row as f64 * SCOUT_SPACING_MM;
            (0..SCOUT_MATRIX)
                .map(|col| {
                    let y = y0 + col as f64 * SCOUT_SPACING_MM;
                    let sum: f32 = (0..RAY_SAMPLES)
                        .map(|i| {
                            let x = -span / 2.0 + (i as f64 + 0.5) * span / RAY_SAMPLES as f64;
                            head.voxel_mm(x, y, z).hu
                        })
                        .sum();
                    sum / RAY_SAMPLES as f32
                })
                .collect()
        })
        .collect();
    let pixels = rows
        .into_iter()
        .flatten()
        .map(|v| {
            let noise: f32 = rng.sample(StandardNormal);
            (v + 2.0 * noise).clamp(-1024.0, 3071.0)
        })
        .collect();
    (pixels, [0.0, y0, z_top])
}

/// The pixels of one study: both axial series (ascending position) with their bleed flags,
/// and the localizer.
struct Rendered {
    thin: Vec<(Vec<f32>, bool)>,
    thick: Vec<(Vec<f32>, bool)>,
    scout: (Vec<f32>, [f64; 3]),
}

fn render_study(seed: u64, study: u64, d: &Design) -> Rendered {
    let head = &d.head;
    let clean: Vec<Clean> = (0..THIN_SLICES)
        .into_par_iter()
        .map(|k| clean_axial(head, thin_z(d.first_z_mm, k)))
        .collect();
    let thin = clean
        .par_iter()
        .enumerate()
        .map(|(k, c)| {
            let rng = &mut rng_for(seed, stream(study, 1, k as u64));
            (
                noisy(&c.hu, &c.head, head.sigma, rng),
                carries_bleed(&c.bleed),
            )
        })
        .collect();
    let thick = (0..THICK_SLICES)
        .into_par_iter()
        .map(|k| {
            let (lo, hi) = (&clean[2 * k], &clean[2 * k + 1]);
            let mean = |p: &[f32], q: &[f32]| -> Vec<f32> {
                p.iter().zip(q).map(|(a, b)| (a + b) / 2.0).collect()
            };
            let hu = sharpen(&mean(&lo.hu, &hi.hu));
            let cover = mean(&lo.bleed, &hi.bleed);
            let rng = &mut rng_for(seed, stream(study, 2, k as u64));
            let pixels = noisy(&hu, &mean(&lo.head, &hi.head), 3.0 * head.sigma, rng);
            (pixels, carries_bleed(&cover))
        })
        .collect();
    let scout = scout(head, &mut rng_for(seed, stream(study, 3, 0)));
    Rendered { thin, thick, scout }
}

/// Makes `out` ready: refuses a file, and a non-empty folder unless `force`, which removes
/// what a previous run wrote there (`DICOM/`, `README.TXT`, `labels.csv`, `truth.csv`) and
/// nothing else.
fn prepare_out(out: &Path, force: bool) -> Result<()> {
    if out.exists() {
        if !out.is_dir() {
            return Err(Error::data(out, "target exists and is not a folder"));
        }
        let non_empty = fs::read_dir(out).map_err(Error::io(out))?.next().is_some();
        if non_empty {
            if !force {
                return Err(Error::data(
                    out,
                    "target folder is not empty; refusing to write into it (use --force to \
                     replace its DICOM/, README.TXT, labels.csv and truth.csv)",
                ));
            }
            let dicom = out.join(DICOM_DIR);
            if dicom.exists() {
                fs::remove_dir_all(&dicom).map_err(Error::io(&dicom))?;
            }
            for name in ["README.TXT", "labels.csv", "truth.csv"] {
                let file = out.join(name);
                if file.exists() {
                    fs::remove_file(&file).map_err(Error::io(&file))?;
                }
            }
        }
    }
    crate::error::create_dir_all(out)
}

/// A folder or file name of `n` in 8 digits.
fn number_name(n: u64) -> String {
    format!("{n:08}")
}

/// The minimal Basic Text SR document of a study (PS3.3 A.35.1: SR Document Series C.17.1,
/// SR Document General C.17.2, SR Document Content C.17.3), without pixel data.
fn report_dataset(
    study_uid: &str,
    study_date: &str,
    series_uid: &str,
    sop_uid: &str,
    hemorrhage: bool,
) -> InMemDicomObject {
    let text = |s: &str| PrimitiveValue::from(s);
    let code = |value: &str, scheme: &str, meaning: &str| {
        let mut item = InMemDicomObject::new_empty();
        item.put(DataElement::new(tags::CODE_VALUE, VR::SH, text(value)));
        item.put(DataElement::new(
            tags::CODING_SCHEME_DESIGNATOR,
            VR::SH,
            text(scheme),
        ));
        item.put(DataElement::new(tags::CODE_MEANING, VR::LO, text(meaning)));
        item
    };
    let seq = |items: Vec<InMemDicomObject>| DataSetSequence::from(items);
    let mut obj = InMemDicomObject::new_empty();
    let mut put = |tag: Tag, vr: VR, value: PrimitiveValue| {
        obj.put(DataElement::new(tag, vr, value));
    };
    put(
        tags::SOP_CLASS_UID,
        VR::UI,
        text(uids::BASIC_TEXT_SR_STORAGE),
    );
    put(tags::SOP_INSTANCE_UID, VR::UI, text(sop_uid));
    put(tags::STUDY_DATE, VR::DA, text(study_date));
    put(tags::CONTENT_DATE, VR::DA, text(study_date));
    put(tags::STUDY_TIME, VR::TM, text("120000"));
    put(tags::CONTENT_TIME, VR::TM, text("121500"));
    put(tags::ACCESSION_NUMBER, VR::SH, PrimitiveValue::Empty);
    put(tags::MODALITY, VR::CS, text("SR"));
    put(tags::MANUFACTURER, VR::LO, text("head-ct phantom"));
    put(
        tags::REFERRING_PHYSICIAN_NAME,
        VR::PN,
        PrimitiveValue::Empty,
    );
    put(tags::SERIES_DESCRIPTION, VR::LO, text(REPORT_SERIES.1));
    put(tags::PATIENT_NAME, VR::PN, text("Phantom^Synthetic"));
    put(tags::PATIENT_ID, VR::LO, text("HEAD-CT-PHANTOM"));
    put(tags::PATIENT_BIRTH_DATE, VR::DA, PrimitiveValue::Empty);
    put(tags::PATIENT_SEX, VR::CS, PrimitiveValue::Empty);
    put(tags::STUDY_INSTANCE_UID, VR::UI, text(study_uid));
    put(tags::SERIES_INSTANCE_UID, VR::UI, text(series_uid));
    put(tags::STUDY_ID, VR::SH, text("1"));
    put(
        tags::SERIES_NUMBER,
        VR::IS,
        text(&REPORT_SERIES.0.to_string()),
    );
    put(tags::INSTANCE_NUMBER, VR::IS, text("1"));
    put(tags::VALUE_TYPE, VR::CS, text("CONTAINER"));
    put(tags::CONTINUITY_OF_CONTENT, VR::CS, text("SEPARATE"));
    put(tags::COMPLETION_FLAG, VR::CS, text("COMPLETE"));
    put(tags::VERIFICATION_FLAG, VR::CS, text("UNVERIFIED"));
    obj.put(DataElement::new(
        tags::REFERENCED_PERFORMED_PROCEDURE_STEP_SEQUENCE,
        VR::SQ,
        seq(Vec::new()),
    ));
    obj.put(DataElement::new(
        tags::PERFORMED_PROCEDURE_CODE_SEQUENCE,
        VR::SQ,
        seq(Vec::new()),
    ));
    obj.put(DataElement::new(
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        VR::SQ,
        seq(vec![code("18748-4", "LN", "Diagnostic imaging report")]),
    ));
    let mut finding = InMemDicomObject::new_empty();
    finding.put(DataElement::new(
        tags::RELATIONSHIP_TYPE,
        VR::CS,
        text("CONTAINS"),
    ));
    finding.put(DataElement::new(tags::VALUE_TYPE, VR::CS, text("TEXT")));
    finding.put(DataElement::new(
        tags::CONCEPT_NAME_CODE_SEQUENCE,
        VR::SQ,
        seq(vec![code("121071", "DCM", "Finding")]),
    ));
    finding.put(DataElement::new(
        tags::TEXT_VALUE,
        VR::UT,
        text(if hemorrhage {
            "Synthetic phantom study (not patient data): a bleed was drawn."
        } else {
            "Synthetic phantom study (not patient data): no bleed was drawn."
        }),
    ));
    obj.put(DataElement::new(
        tags::CONTENT_SEQUENCE,
        VR::SQ,
        seq(vec![finding]),
    ));
    obj
}

fn dataset_bytes(obj: InMemDicomObject, path: &Path) -> Result<Vec<u8>> {
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid("2.25.1207220426021103003")
        .implementation_version_name("HEAD-CT");
    let file = obj
        .with_meta(meta)
        .map_err(|e| Error::data(path, format!("cannot build the DICOM file meta: {e}")))?;
    let mut bytes = Vec::new();
    file.write_all(&mut bytes)
        .map_err(|e| Error::data(path, format!("cannot encode DICOM: {e}")))?;
    Ok(bytes)
}

/// Writes `studies` synthetic head-CT studies to `out` (layout in the [module
/// documentation](self)), half of them with a bleed (studies 1, 3, 5, … in `labels.csv`
/// order), with `labels.csv` (`study_uid, hemorrhage`), `truth.csv` (`study_uid, series_uid,
/// slice, position_mm, bleed`; `slice` 1-based in ascending position, `position_mm` the
/// ImagePositionPatient z in mm) and `README.TXT`. The same `seed` gives the same bytes.
///
/// Refuses `studies` of 0 or above [`MAX_STUDIES`], a target that is a file, and a non-empty
/// target unless `force` (which replaces `DICOM/`, `README.TXT`, `labels.csv` and
/// `truth.csv`, and leaves anything else). Files are written atomically.
pub fn write_phantom_studies(
    out: &Path,
    seed: u64,
    studies: usize,
    force: bool,
) -> Result<PhantomStudies> {
    if studies == 0 || studies > MAX_STUDIES {
        return Err(Error::InvalidInput(format!(
            "phantom studies: asked for {studies}; write 1 to {MAX_STUDIES}"
        )));
    }
    prepare_out(out, force)?;
    let mut written = Vec::with_capacity(studies);
    let mut files = 0;
    for i in 0..studies {
        let study = write_study(out, seed, i as u64)?;
        files += study.series.iter().map(|s| s.slices.len()).sum::<usize>() + 2;
        written.push(study);
    }
    let result = PhantomStudies {
        out: out.to_path_buf(),
        studies: written,
        files,
    };
    write_tables(&result)?;
    Ok(result)
}

fn write_study(out: &Path, seed: u64, i: u64) -> Result<PhantomStudy> {
    let hemorrhage = i.is_multiple_of(2);
    let d = design(seed, i, hemorrhage);
    let pixels = render_study(seed, i, &d);
    let study_uid = uid_from(&[seed, UID_TAG, i, 0]);
    let series_uid = |number: i32| uid_from(&[seed, UID_TAG, i, 1, number as u64]);
    let sop_uid = |number: i32, k: usize| uid_from(&[seed, UID_TAG, i, 2, number as u64, k as u64]);
    let folder = PathBuf::from(DICOM_DIR).join(number_name(i + 1));

    // File numbers: one shuffled pool per study (series 1, 2 and 99; series 3 is named by UIDs).
    let mut numbers: Vec<u64> = (1..=(THIN_SLICES + 2) as u64).collect();
    let names_rng = &mut rng_for(seed, stream(i, 4, 0));
    let base = names_rng.gen_range(100..900u64) * 100_000;
    numbers.shuffle(names_rng);
    let mut numbers = numbers.into_iter().map(|n| number_name(base + n));
    let mut next_name = || numbers.next().expect("enough file numbers");

    let series_dir = |number: i32| folder.join(number_name(number as u64));
    for number in [
        SCOUT_SERIES.0,
        THIN_SERIES.0,
        THICK_SERIES.0,
        REPORT_SERIES.0,
    ] {
        crate::error::create_dir_all(&out.join(series_dir(number)))?;
    }
    let placement = |(number, description): (i32, &str),
                     instance: i32,
                     position: [f64; 3],
                     orientation: [f64; 6],
                     thickness: f64,
                     kind: &str| SlicePlacement {
        study_instance_uid: study_uid.clone(),
        study_date: Some(d.study_date.clone()),
        series_instance_uid: series_uid(number),
        series_number: number,
        series_description: description.into(),
        instance_number: instance,
        image_position_mm: position,
        image_orientation: orientation,
        slice_thickness_mm: thickness,
        image_type: ["ORIGINAL", "PRIMARY", kind].map(String::from).to_vec(),
    };
    const AXIAL: [f64; 6] = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0];
    let origin = axial_origin_mm();

    let mut jobs: Vec<(PathBuf, CtImage)> = Vec::new();
    let mut series = Vec::new();
    for (spec, slices, thickness) in [
        (THIN_SERIES, &pixels.thin, THIN_MM),
        (THICK_SERIES, &pixels.thick, THICK_MM),
    ] {
        let n = slices.len();
        let mut truth = Vec::with_capacity(n);
        for (k, (hu, bleed)) in slices.iter().enumerate() {
            let z = if spec == THIN_SERIES {
                thin_z(d.first_z_mm, k)
            } else {
                thick_z(d.first_z_mm, k)
            };
            // Series 2 is numbered from the top down, series 3 from the bottom up.
            let instance = if spec == THIN_SERIES { n - k } else { k + 1 } as i32;
            let uid = sop_uid(spec.0, k);
            let name = if spec == THIN_SERIES {
                next_name()
            } else {
                uid.clone()
            };
            let file = series_dir(spec.0).join(name);
            let mut image = CtImage::from_hounsfield(MATRIX, MATRIX, hu, uid.clone());
            image.pixel_spacing_mm = PIXEL_SPACING_MM;
            if spec == THICK_SERIES {
                image.windows = vec![Window::BONE, Window::BRAIN];
            }
            image.placement = Some(placement(
                spec,
                instance,
                [origin, origin, z],
                AXIAL,
                thickness,
                "AXIAL",
            ));
            jobs.push((file.clone(), image));
            truth.push(PhantomSlice {
                file,
                sop_instance_uid: uid,
                instance_number: instance,
                position_mm: z,
                bleed: *bleed,
            });
        }
        series.push(PhantomSeries {
            series_instance_uid: series_uid(spec.0),
            series_number: spec.0,
            description: spec.1.into(),
            slice_thickness_mm: thickness,
            slices: truth,
        });
    }
    let localizer = series_dir(SCOUT_SERIES.0).join(next_name());
    let (scout_hu, scout_position) = &pixels.scout;
    let mut image = CtImage::from_hounsfield(
        SCOUT_MATRIX,
        SCOUT_MATRIX,
        scout_hu,
        sop_uid(SCOUT_SERIES.0, 0),
    );
    image.pixel_spacing_mm = SCOUT_SPACING_MM;
    image.windows = vec![Window {
        level: -500.0,
        width: 1200.0,
    }];
    image.placement = Some(placement(
        SCOUT_SERIES,
        1,
        *scout_position,
        [0.0, 1.0, 0.0, 0.0, 0.0, -1.0],
        1.0,
        "LOCALIZER",
    ));
    jobs.push((localizer.clone(), image));
    jobs.par_iter()
        .try_for_each(|(file, image)| image.write(&out.join(file)))?;

    let report = series_dir(REPORT_SERIES.0).join(next_name());
    let dest = out.join(&report);
    let obj = report_dataset(
        &study_uid,
        &d.study_date,
        &series_uid(REPORT_SERIES.0),
        &sop_uid(REPORT_SERIES.0, 0),
        hemorrhage,
    );
    write_atomically(&dest, &dataset_bytes(obj, &dest)?)?;

    Ok(PhantomStudy {
        study_instance_uid: study_uid.clone(),
        study_date: d.study_date.clone(),
        folder,
        hemorrhage,
        lesion: d.lesion,
        series,
        localizer,
        report,
    })
}

/// `labels.csv`, `truth.csv` and `README.TXT` at the top of the export.
fn write_tables(result: &PhantomStudies) -> Result<()> {
    let out = &result.out;
    let mut labels = String::from("study_uid, hemorrhage\n");
    let mut truth = String::from("study_uid, series_uid, slice, position_mm, bleed\n");
    for s in &result.studies {
        labels.push_str(&format!(
            "{}, {}\n",
            s.study_instance_uid,
            u8::from(s.hemorrhage)
        ));
        for series in &s.series {
            for (k, slice) in series.slices.iter().enumerate() {
                truth.push_str(&format!(
                    "{}, {}, {}, {}, {}\n",
                    s.study_instance_uid,
                    series.series_instance_uid,
                    k + 1,
                    slice.position_mm,
                    u8::from(slice.bleed)
                ));
            }
        }
    }
    write_atomically(&out.join("labels.csv"), labels.as_bytes())?;
    write_atomically(&out.join("truth.csv"), truth.as_bytes())?;
    let readme = format!(
        "HEAD-CT PHANTOM EXPORT\r\n\
         \r\n\
         Synthetic head CT studies written by head-ct {version} (`head-ct phantoms --format \
         dicom --studies N`).\r\n\
         NOT PATIENT DATA. Not for clinical use.\r\n\
         \r\n\
         {n} {studies} ({h} with a bleed), {files} DICOM files under DICOM/<study>/<series>/.\r\n\
         Per study: series 1 SCOUT (localizer), series 2 HEAD 5mm STND ({thin} slices),\r\n\
         series 3 HEAD 10mm BONE ({thick} slices), series 99 REPORT (Basic Text SR).\r\n\
         File names carry no extension and do not follow slice order.\r\n\
         \r\n\
         labels.csv: study_uid, hemorrhage (1 = a bleed)\r\n\
         truth.csv:  study_uid, series_uid, slice, position_mm, bleed (slice 1-based in\r\n\
         \x20           ascending position along the scan)\r\n",
        version = env!("CARGO_PKG_VERSION"),
        n = result.studies.len(),
        studies = if result.studies.len() == 1 {
            "study"
        } else {
            "studies"
        },
        h = result.hemorrhage_count(),
        files = result.files,
        thin = THIN_SLICES,
        thick = THICK_SLICES,
    );
    write_atomically(&out.join("README.TXT"), readme.as_bytes())
}
