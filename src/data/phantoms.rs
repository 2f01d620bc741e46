//! Synthetic head-CT slices ("phantoms"): the built-in data when no real data is present, and
//! test data with known lesion masks.
//!
//! Each phantom is a 150x150 axial slice in a brain window, gray (the same value in R, G, B, as
//! the real PNGs): black air, a bright elliptic skull ring of varied thickness, brain tissue with
//! a slightly brighter cortical rim and low-frequency texture, two dark lateral ventricles,
//! sometimes small bright calcifications (in normal slices too, so "a bright spot" alone is not
//! a hemorrhage), then Gaussian noise. Head size, aspect, position, rotation, tissue levels and
//! noise vary per image.
//!
//! A hemorrhage phantom adds one lesion, brighter than brain (as fresh blood is on CT), of one of
//! three kinds ([`LesionKind`]) with varied size, place and contrast (three in four are
//! intraparenchymal; epidural and subdural ones hug the skull and are harder to tell from it),
//! so the task is learnable within 10 epochs but not trivial. Its mask (pixels where the lesion covers at least
//! half the pixel) is returned alongside.
//!
//! Everything is deterministic: image `i` of class `c` in split `s` is drawn from a ChaCha8
//! generator seeded with `seed`, on a stream derived from `(s, c, i)`, so sets are generated in
//! parallel and still reproducible.

use std::{
    f32::consts::PI,
    path::{Path, PathBuf},
};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use rayon::prelude::*;

use super::{
    prepare::{self, ClassCount, SplitCounts},
    ImageSet, Sample, SeedData, Split,
};
use crate::{
    ct::{write::uid_from, CtImage, CtSlice},
    error::Result,
    input::{ModelInput, PixelSource},
    labels::Label,
    model::{IMAGE_LEN, IMAGE_SIZE},
    Error,
};

const N: usize = IMAGE_SIZE;
const PLANE: usize = N * N;

/// The kinds of hemorrhage drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LesionKind {
    /// A roundish, irregular blob inside the brain.
    Intraparenchymal,
    /// A biconvex lens against the inner skull, short and thick.
    Epidural,
    /// A thin crescent along the inner skull, long and flat.
    Subdural,
}

/// A drawn hemorrhage: its kind and mask (150x150, row-major, `true` = lesion).
#[derive(Debug, Clone, PartialEq)]
pub struct Lesion {
    pub kind: LesionKind,
    pub mask: Vec<bool>,
}

impl Lesion {
    /// Lesion pixels in the mask.
    pub fn area(&self) -> usize {
        self.mask.iter().filter(|&&m| m).count()
    }
}

/// One phantom: a gray 150x150 image (row-major, values in `[0, 1]`) and its lesion, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Phantom {
    pub gray: Vec<f32>,
    pub lesion: Option<Lesion>,
}

impl Phantom {
    /// The image as CHW RGB floats (gray repeated in the three channels).
    pub fn to_chw(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(IMAGE_LEN);
        for _ in 0..3 {
            out.extend_from_slice(&self.gray);
        }
        out
    }
}

/// An in-memory phantom split: the images (as loaded from disk would be) and, per sample, the
/// lesion of a hemorrhage image (`None` for a normal one).
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomSet {
    pub images: ImageSet,
    pub lesions: Vec<Option<Lesion>>,
}

/// The three phantom splits.
#[derive(Debug, Clone, PartialEq)]
pub struct PhantomSplits {
    pub train: PhantomSet,
    pub validate: PhantomSet,
    /// `None` when `counts.test` is 0.
    pub test: Option<PhantomSet>,
}

impl PhantomSplits {
    /// Drops the masks.
    pub fn into_seed_data(self) -> SeedData {
        SeedData {
            train: self.train.images,
            validate: self.validate.images,
            test: self.test.map(|t| t.images),
            notes: Vec::new(),
        }
    }
}

fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// Coverage of a soft edge: 1 well inside (`d` > 0.5 px), 0 well outside.
fn inside(d: f32) -> f32 {
    smoothstep(-0.7, 0.7, d)
}

/// Renders one phantom from a ChaCha8 generator seeded with `seed` on stream `stream`.
pub fn render_phantom(seed: u64, stream: u64, hemorrhage: bool) -> Phantom {
    render(seed, stream, hemorrhage, Units::Display)
}

/// The same slice as [`render_phantom`] (same geometry, lesion and noise draws) in CT numbers:
/// `gray` holds Hounsfield units. Air −1000 HU; CSF about 2–15 HU; brain 25–40 HU with a
/// slightly denser cortex; fresh blood 24–40 HU above brain (about 50–80 HU); skull 700–1500
/// HU; calcifications 0.9 of the skull's value; noise 1–4 HU. The levels map the display
/// phantom's grey levels through the brain window (80 HU per unit of grey), except air, CSF and
/// bone, which a brain window clips and which are given their own CT numbers.
pub fn render_ct_phantom(seed: u64, stream: u64, hemorrhage: bool) -> Phantom {
    render(seed, stream, hemorrhage, Units::Hounsfield)
}

/// What a phantom's values are.
#[derive(Clone, Copy, PartialEq)]
enum Units {
    /// Grey levels of a brain-window display image, 0–1.
    Display,
    /// CT numbers, HU.
    Hounsfield,
}

/// CT number of air in the CT phantoms, HU.
const AIR_HU: f32 = -1000.0;
/// HU per unit of display grey: the brain window's width.
const HU_PER_GREY: f32 = 80.0;

fn render(seed: u64, stream: u64, hemorrhage: bool, units: Units) -> Phantom {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    let r = &mut rng;

    // Head geometry. Position and size vary moderately: with wider ranges the skull edge moves so
    // much between images that rim lesions against it are lost in the nuisance variation.
    let cx = 74.5 + r.gen_range(-3.5..3.5f32);
    let cy = 74.5 + r.gen_range(-3.5..3.5f32);
    let a = r.gen_range(49.5..56.5f32);
    let b = (a * r.gen_range(1.04..1.25f32)).min(72.0 - (cy - 74.5).abs());
    let theta = r.gen_range(-0.35..0.35f32);
    let (sin_t, cos_t) = theta.sin_cos();
    let skull = r.gen_range(3.0..5.0f32);
    let rim = r.gen_range(3.0..7.0f32);

    // Tissue levels (a brain window with varied level and width).
    let brain = r.gen_range(0.40..0.46f32);
    let bone = r.gen_range(0.95..1.0f32);
    let csf = brain - r.gen_range(0.14..0.24f32);
    let cortex = r.gen_range(0.015..0.05f32);
    let sigma = r.gen_range(0.015..0.045f32);
    let texture: Vec<(f32, f32, f32, f32)> = (0..3)
        .map(|_| {
            (
                r.gen_range(0.03..0.12f32),
                r.gen_range(0.0..PI),
                r.gen_range(0.0..2.0 * PI),
                r.gen_range(0.006..0.018f32),
            )
        })
        .collect();
    // The same draws in CT numbers (the display path keeps its values untouched).
    let hu = units == Units::Hounsfield;
    let (brain, bone, csf, cortex, sigma, scale) = if hu {
        let brain_hu = 25.0 + (brain - 0.40) / 0.06 * 15.0;
        let csf_hu = 15.0 - ((brain - csf) - 0.14) / 0.10 * 13.0;
        let bone_hu = 700.0 + (bone - 0.95) / 0.05 * 800.0;
        (
            brain_hu,
            bone_hu,
            csf_hu,
            cortex * HU_PER_GREY,
            sigma * HU_PER_GREY,
            HU_PER_GREY,
        )
    } else {
        (brain, bone, csf, cortex, sigma, 1.0)
    };

    // Ventricles: two ellipses either side of the midline (local coordinates).
    let v_sep = r.gen_range(4.0..9.0f32);
    let v_up = r.gen_range(-10.0..4.0f32);
    let v_rx = r.gen_range(3.0..7.0f32);
    let v_ry = r.gen_range(9.0..17.0f32);
    let v_tilt = r.gen_range(0.1..0.4f32);

    // Calcifications (both classes).
    let n_calc = if r.gen_bool(0.4) {
        r.gen_range(1..=2)
    } else {
        0
    };
    let calcs: Vec<(f32, f32, f32)> = (0..n_calc)
        .map(|_| {
            (
                r.gen_range(-6.0..6.0f32),
                v_up + r.gen_range(-4.0..14.0f32),
                r.gen_range(0.8..1.8f32),
            )
        })
        .collect();

    // The lesion.
    enum Shape {
        Blob {
            u: f32,
            v: f32,
            r1: f32,
            r2: f32,
            rot: f32,
            wobble: f32,
            phase: f32,
        },
        Rim {
            phi0: f32,
            half_width: f32,
            thickness: f32,
            power: f32,
        },
    }
    let lesion = hemorrhage.then(|| {
        let kr: f32 = r.gen();
        // Mostly intraparenchymal: rim lesions merge with the bright skull and are much harder
        // for the teaching net to pick up from 140 images (alone they stay near chance).
        let pi = 0.75;
        let kind = if kr < pi {
            LesionKind::Intraparenchymal
        } else if kr < pi + (1.0 - pi) / 2.0 {
            LesionKind::Epidural
        } else {
            LesionKind::Subdural
        };
        // Contrast over brain. Fresh blood (60-80 HU) against brain (about 30 HU) is bright in a
        // brain window; skewed towards the fainter end, but always clearly above the noise.
        let delta = 0.3 + 0.2 * r.gen::<f32>().powf(1.5);
        let shape = match kind {
            LesionKind::Intraparenchymal => {
                let rho = r.gen_range(0.15..0.7f32);
                let ang = r.gen_range(0.0..2.0 * PI);
                let r1 = 8.0 + 10.0 * r.gen::<f32>().powf(1.3);
                Shape::Blob {
                    u: rho * a * ang.cos(),
                    v: rho * b * ang.sin(),
                    r1,
                    r2: r1 * r.gen_range(0.6..1.0f32),
                    rot: r.gen_range(0.0..PI),
                    wobble: r.gen_range(0.0..0.2f32),
                    phase: r.gen_range(0.0..2.0 * PI),
                }
            }
            LesionKind::Epidural => Shape::Rim {
                phi0: r.gen_range(-PI..PI),
                half_width: r.gen_range(0.39..0.78f32),
                thickness: r.gen_range(9.0..21.0f32),
                power: 2.0,
            },
            LesionKind::Subdural => Shape::Rim {
                phi0: r.gen_range(-PI..PI),
                half_width: r.gen_range(0.78..1.69f32),
                thickness: r.gen_range(6.0..13.5f32),
                power: 6.0,
            },
        };
        (kind, delta, shape)
    });

    let mut gray = vec![0.0f32; PLANE];
    let mut mask = vec![false; PLANE];
    for y in 0..N {
        for x in 0..N {
            let dx = x as f32 - cx;
            let dy = y as f32 - cy;
            let u = cos_t * dx + sin_t * dy;
            let v = -sin_t * dx + cos_t * dy;
            let rho = ((u / a).powi(2) + (v / b).powi(2)).sqrt().max(1e-6);
            let ray = (u * u + v * v).sqrt() / rho; // head radius along this ray
            let depth_out = ray * (1.0 - rho); // px inside the outer skull surface
            let depth = depth_out - skull; // px inside the inner skull surface
            let head = inside(depth_out);
            let in_brain = inside(depth);
            if head == 0.0 {
                // Air: no tissue to compute (same values, same random draws, just faster).
                let noise: f32 = r.sample(StandardNormal);
                gray[y * N + x] = if hu {
                    AIR_HU + sigma * noise * 0.3
                } else {
                    (sigma * noise * 0.3).clamp(0.0, 1.0)
                };
                continue;
            }

            // Brain with cortex rim and texture.
            let mut tissue = brain + cortex * (1.0 - smoothstep(0.0, rim, depth));
            for &(freq, dir, phase, amp) in &texture {
                let amp = if hu { amp * scale } else { amp };
                tissue += amp * (freq * (u * dir.cos() + v * dir.sin()) + phase).sin();
            }
            // Ventricles.
            let mut vent = 0.0f32;
            for side in [-1.0f32, 1.0] {
                let (s, c) = (side * v_tilt).sin_cos();
                let pu = u - side * (v_sep + v_rx);
                let pv = v - v_up;
                let qu = c * pu + s * pv;
                let qv = -s * pu + c * pv;
                let e = ((qu / v_rx).powi(2) + (qv / v_ry).powi(2)).sqrt();
                vent = vent.max(inside((1.0 - e) * v_rx));
            }
            tissue = tissue * (1.0 - vent) + csf * vent;
            for &(cu, cv, cr) in &calcs {
                let d = cr - ((u - cu).powi(2) + (v - cv).powi(2)).sqrt();
                let k = inside(d * 2.0);
                tissue = tissue * (1.0 - k) + (bone * 0.9) * k;
            }
            // Lesion.
            if let Some((_, delta, shape)) = &lesion {
                let cover = match *shape {
                    Shape::Blob {
                        u: lu,
                        v: lv,
                        r1,
                        r2,
                        rot,
                        wobble,
                        phase,
                    } => {
                        let (s, c) = rot.sin_cos();
                        let pu = u - lu;
                        let pv = v - lv;
                        let qu = c * pu + s * pv;
                        let qv = -s * pu + c * pv;
                        let ang = qv.atan2(qu);
                        let e = ((qu / r1).powi(2) + (qv / r2).powi(2)).sqrt();
                        let edge = 1.0 + wobble * (3.0 * ang + phase).sin();
                        inside((edge - e) * r2)
                    }
                    Shape::Rim {
                        phi0,
                        half_width,
                        thickness,
                        power,
                    } => {
                        let phi = (v / b).atan2(u / a);
                        let mut dphi = (phi - phi0).abs();
                        if dphi > PI {
                            dphi = 2.0 * PI - dphi;
                        }
                        let t = (1.0 - (dphi / half_width).powf(power)).max(0.0).sqrt() * thickness;
                        inside(t - depth)
                    }
                } * in_brain;
                if cover >= 0.5 {
                    mask[y * N + x] = true;
                }
                let delta = if hu { delta * scale } else { *delta };
                tissue = tissue * (1.0 - cover) + (brain + delta) * cover;
            }

            let value = tissue * in_brain + bone * (head - in_brain);
            let noise: f32 = r.sample(StandardNormal);
            gray[y * N + x] = if hu {
                (value + AIR_HU * (1.0 - head) + sigma * noise * (0.3 + 0.7 * head))
                    .clamp(-1024.0, 3071.0)
            } else {
                (value + sigma * noise * (0.3 + 0.7 * head)).clamp(0.0, 1.0)
            };
        }
    }
    Phantom {
        gray,
        lesion: lesion.map(|(kind, _, _)| Lesion { kind, mask }),
    }
}

/// The split's part of every phantom's random stream.
fn split_index(split: Split) -> u64 {
    match split {
        Split::Train => 0,
        Split::Validate => 1,
        Split::Test => 2,
    }
}

/// Generates `per_class` hemorrhage then `per_class` normal phantoms for `split` (in parallel),
/// as an [`ImageSet`] with classes `["hemorrhage", "normal"]` and sample paths
/// `split/class/phantom_NNN.png` (where [`write_phantom_layout`] puts them).
pub fn generate_phantom_set(seed: u64, split: Split, per_class: usize) -> PhantomSet {
    let jobs: Vec<(Label, usize)> = Label::POSITIVE_FIRST
        .iter()
        .flat_map(|&l| (0..per_class).map(move |i| (l, i)))
        .collect();
    let s = split_index(split);
    let phantoms: Vec<Phantom> = jobs
        .par_iter()
        .map(|&(label, i)| {
            render_phantom(
                seed,
                (s << 40) | (u64::from(label.flag()) << 32) | i as u64,
                label.is_hemorrhage(),
            )
        })
        .collect();
    let mut pixels = Vec::with_capacity(jobs.len() * IMAGE_LEN);
    let mut samples = Vec::with_capacity(jobs.len());
    let mut lesions = Vec::with_capacity(jobs.len());
    for (&(label, i), p) in jobs.iter().zip(phantoms) {
        for _ in 0..3 {
            pixels.extend_from_slice(&p.gray);
        }
        samples.push(Sample::new(
            PathBuf::from(split.name())
                .join(label.name())
                .join(format!("phantom_{i:03}.png")),
            Some(label),
        ));
        lesions.push(p.lesion);
    }
    PhantomSet {
        images: ImageSet::from_parts(Label::class_names(), samples, pixels, ModelInput::TEACHING)
            .expect("phantom sizes are consistent"),
        lesions,
    }
}

/// The CT-number phantoms of `split` ([`render_ct_phantom`], the same slices as
/// [`generate_phantom_set`]): per image, its sample (path `split/class/phantom_NNN.dcm`, where
/// [`write_ct_phantom_layout`] puts it) and the phantom, `gray` in HU.
pub fn generate_ct_phantoms(seed: u64, split: Split, per_class: usize) -> Vec<(Sample, Phantom)> {
    let jobs: Vec<(Label, usize)> = Label::POSITIVE_FIRST
        .iter()
        .flat_map(|&l| (0..per_class).map(move |i| (l, i)))
        .collect();
    let s = split_index(split);
    jobs.par_iter()
        .map(|&(label, i)| {
            let phantom = render_ct_phantom(
                seed,
                (s << 40) | (u64::from(label.flag()) << 32) | i as u64,
                label.is_hemorrhage(),
            );
            let path = PathBuf::from(split.name())
                .join(label.name())
                .join(format!("phantom_{i:03}.dcm"));
            let sample = Sample {
                source: PixelSource::Dicom,
                ..Sample::new(path, Some(label))
            };
            (sample, phantom)
        })
        .collect()
}

/// The CT-number phantoms of `split` as the model sees them through `input` (in memory, as
/// loading the DICOM files [`write_ct_phantom_layout`] writes gives, to within their rounding
/// to whole HU).
pub fn ct_phantom_set(seed: u64, split: Split, per_class: usize, input: &ModelInput) -> PhantomSet {
    let phantoms = generate_ct_phantoms(seed, split, per_class);
    let mut pixels = vec![0.0f32; phantoms.len() * IMAGE_LEN];
    pixels
        .par_chunks_mut(IMAGE_LEN)
        .zip(phantoms.par_iter())
        .for_each(|(out, (_, p))| ct_slice_of(p).to_chw(input, out));
    let (samples, lesions) = phantoms
        .into_iter()
        .map(|(sample, p)| (sample, p.lesion))
        .unzip();
    PhantomSet {
        images: ImageSet::from_parts(Label::class_names(), samples, pixels, *input)
            .expect("phantom sizes are consistent"),
        lesions,
    }
}

/// The default synthetic data in CT numbers, shown through `input`: 140 / 50 / 10 images, the
/// same slices as [`phantom_seed_data`].
pub fn ct_phantom_seed_data(seed: u64, input: &ModelInput) -> SeedData {
    let counts = SplitCounts::default();
    SeedData {
        train: ct_phantom_set(seed, Split::Train, counts.train, input).images,
        validate: ct_phantom_set(seed, Split::Validate, counts.validate, input).images,
        test: (counts.test > 0)
            .then(|| ct_phantom_set(seed, Split::Test, counts.test, input).images),
        notes: Vec::new(),
    }
}

/// A CT phantom as a slice of CT numbers, rounded to whole HU as its DICOM file stores them.
fn ct_slice_of(p: &Phantom) -> CtSlice {
    CtSlice {
        rows: N,
        columns: N,
        hounsfield: p.gray.iter().map(|hu| hu.round()).collect(),
        padding_pixels: 0,
        monochrome1: false,
        file_windows: Vec::new(),
        modality: Some("CT".into()),
        sop_instance_uid: None,
        notes: Vec::new(),
    }
}

/// Writes the CT-number phantoms to `target` in the seed layout as DICOM CT images
/// ([`CtImage::from_hounsfield`]: 150x150, 12 bits stored, intercept −1024, 1.6 mm pixels, a
/// 24 cm field of view), refusing a non-empty target unless `force` (as
/// [`write_phantom_layout`]). Returns the images per class written.
pub fn write_ct_phantom_layout(
    target: &Path,
    seed: u64,
    counts: SplitCounts,
    force: bool,
) -> Result<ClassCount> {
    prepare::prepare_target(target, force)?;
    let mut total = ClassCount::default();
    for split in Split::ALL {
        let per_class = counts.of(split);
        let phantoms = generate_ct_phantoms(seed, split, per_class);
        for (i, (sample, p)) in phantoms.iter().enumerate() {
            let dest = target.join(&sample.path);
            let dir = dest.parent().unwrap();
            crate::error::create_dir_all(dir)?;
            let uid = uid_from(&[
                seed,
                split_index(split),
                u64::from(sample.label.map_or(0, Label::flag)),
                i as u64,
            ]);
            let mut image = CtImage::from_hounsfield(N, N, &p.gray, uid);
            image.pixel_spacing_mm = 1.6;
            image.write(&dest)?;
            if sample.label == Some(Label::Hemorrhage) {
                total.hemorrhage += 1;
            } else {
                total.normal += 1;
            }
        }
    }
    Ok(total)
}

/// All three phantom splits with `counts` images per class.
pub fn phantom_splits(seed: u64, counts: SplitCounts) -> PhantomSplits {
    PhantomSplits {
        train: generate_phantom_set(seed, Split::Train, counts.train),
        validate: generate_phantom_set(seed, Split::Validate, counts.validate),
        test: (counts.test > 0).then(|| generate_phantom_set(seed, Split::Test, counts.test)),
    }
}

/// The default synthetic data: 140 / 50 / 10 images (70 / 25 / 5 per class), as the seed split.
pub fn phantom_seed_data(seed: u64) -> SeedData {
    phantom_splits(seed, SplitCounts::default()).into_seed_data()
}

/// Writes phantoms to `target` in the seed layout as 8-bit RGB PNGs (so loading them gives the
/// in-memory values to within 1/510), with the same refusal of a non-empty target as
/// [`prepare::prepare_kaggle`] unless `force`. Returns the images per class written in all.
pub fn write_phantom_layout(
    target: &Path,
    seed: u64,
    counts: SplitCounts,
    force: bool,
) -> Result<ClassCount> {
    prepare::prepare_target(target, force)?;
    let splits = phantom_splits(seed, counts);
    let mut total = ClassCount::default();
    for set in [
        Some(&splits.train),
        Some(&splits.validate),
        splits.test.as_ref(),
    ]
    .into_iter()
    .flatten()
    {
        for (i, s) in set.images.samples.iter().enumerate() {
            let dest = target.join(&s.path);
            let dir = dest.parent().unwrap();
            crate::error::create_dir_all(dir)?;
            let gray = &set.images.image(i)[..PLANE];
            let rgb: Vec<u8> = gray
                .iter()
                .flat_map(|&g| {
                    let b = (g * 255.0).round() as u8;
                    [b, b, b]
                })
                .collect();
            let mut png = Vec::new();
            image::codecs::png::PngEncoder::new(&mut png)
                .write_image_data_rgb(&rgb)
                .map_err(|e| Error::data(&dest, format!("cannot encode PNG: {e}")))?;
            prepare::write_atomically(&dest, &png)?;
            if s.label == Some(Label::Hemorrhage) {
                total.hemorrhage += 1;
            } else {
                total.normal += 1;
            }
        }
    }
    Ok(total)
}

trait WriteRgb {
    fn write_image_data_rgb(self, rgb: &[u8]) -> image::ImageResult<()>;
}

impl<W: std::io::Write> WriteRgb for image::codecs::png::PngEncoder<W> {
    fn write_image_data_rgb(self, rgb: &[u8]) -> image::ImageResult<()> {
        use image::ImageEncoder;
        self.write_image(rgb, N as u32, N as u32, image::ExtendedColorType::Rgb8)
    }
}
