//! Decoding, converting and resizing image files; scanning class folders.

use std::{
    fs,
    io::Cursor,
    path::{Path, PathBuf},
};

use image::{imageops::FilterType, ColorType, DynamicImage, ImageDecoder, ImageReader};
use rayon::prelude::*;

use super::{is_image_path, is_system_junk, ImageSet, Sample};
use crate::{
    ct::{self, InputWindows},
    error::Result,
    labels::Label,
    model::{IMAGE_LEN, IMAGE_SIZE},
    Error,
};

/// The resampling filter used to bring every image to 150x150: **Triangle** (bilinear with a
/// support that widens with the downscaling factor, i.e. an area-averaging, anti-aliased
/// resize).
///
/// Keras' `load_img` defaults to *nearest*, which, when shrinking the 134x158 to 821x957
/// source slices by up to 6x, keeps one source pixel in 36 and aliases thin structures (the
/// skull, a thin subdural rim) and noise. Triangle averages every source pixel into the result,
/// so a small or faint bleed still shows, and it costs little more than nearest. It is faster
/// than CatmullRom/Lanczos3 and does not ring at the bright skull edge. The trade-off: values
/// differ slightly from a Keras pipeline that used the default `nearest`.
pub const RESIZE_FILTER: FilterType = FilterType::Triangle;

/// Smallest accepted image side, in pixels. A smaller image would be blown up more than ~4.7x
/// to 150x150: it holds too little of a slice to be a meaningful input, so it is refused rather
/// than silently upscaled.
pub const MIN_IMAGE_SIDE: u32 = 32;

/// Decodes one image file to `3 x 150 x 150` floats in `[0, 1]` (CHW): any format the loader
/// reads (PNG, JPEG, BMP, TIFF; the format is recognised from the content), gray / gray+alpha /
/// RGB / RGBA, 8 or 16 bits per channel. Gray is repeated in the three channels; alpha is
/// dropped (as PIL's `convert("RGB")` does). Resized with [`RESIZE_FILTER`].
///
/// A DICOM file is read in the brain window ([`InputWindows::BRAIN`]); see
/// [`load_image_file_with`] for other windows.
pub fn load_image_file(path: &Path) -> Result<Vec<f32>> {
    load_image_file_with(path, &InputWindows::BRAIN)
}

/// [`load_image_file`], with DICOM files (CT numbers) shown to the model in `windows`, one per
/// channel ([`crate::ct`]). A display image (PNG, JPEG, ...) is refused unless `windows` is the
/// brain window alone: it was windowed by whoever exported it, and cannot be windowed again.
pub fn load_image_file_with(path: &Path, windows: &InputWindows) -> Result<Vec<f32>> {
    let mut out = vec![0.0f32; IMAGE_LEN];
    decode_into(path, &mut out, windows)?;
    Ok(out)
}

/// Decodes `paths` (in parallel) into an unlabelled [`ImageSet`], in the given order. For
/// prediction on a list of files; the first failing file (in list order) is reported.
pub fn load_image_files(paths: &[PathBuf]) -> Result<ImageSet> {
    load_image_files_with(paths, &InputWindows::BRAIN)
}

/// [`load_image_files`] with DICOM files shown in `windows` (see [`load_image_file_with`]).
pub fn load_image_files_with(paths: &[PathBuf], windows: &InputWindows) -> Result<ImageSet> {
    let samples = paths
        .iter()
        .map(|p| Sample {
            path: p.clone(),
            label: None,
            note: None,
        })
        .collect();
    decode_set(Vec::new(), samples, windows)
}

/// Loads a folder as Keras' `flow_from_directory` does.
///
/// - With class subfolders: class names are the folder names, sorted; there must be exactly two,
///   one named `hemorrhage` (label 1; the other gets label 0); each must hold at least one image.
/// - With no subfolder: the loose image files, unlabelled (`class_names` empty, labels `None`).
/// - Mixing class folders and loose images is an error, as is a folder with no image at all.
///
/// Files are taken in sorted name order within each class; see the module docs for what counts
/// as an image and which junk files are skipped. Every image is decoded once, in parallel.
///
/// DICOM files are read in the brain window; see [`load_image_folder_with`].
pub fn load_image_folder(dir: &Path) -> Result<ImageSet> {
    load_image_folder_with(dir, &InputWindows::BRAIN)
}

/// [`load_image_folder`] with DICOM files shown in `windows` (see [`load_image_file_with`]).
pub fn load_image_folder_with(dir: &Path, windows: &InputWindows) -> Result<ImageSet> {
    let (subdirs, files) = scan_dir(dir)?;
    if subdirs.is_empty() {
        if files.is_empty() {
            return Err(Error::data(
                dir,
                "folder is empty: no class folders and no images",
            ));
        }
        let samples = files
            .into_iter()
            .map(|path| Sample {
                path,
                label: None,
                note: None,
            })
            .collect();
        return decode_set(Vec::new(), samples, windows);
    }
    if let Some(f) = files.first() {
        return Err(Error::data(
            f,
            format!(
                "loose image file next to class folders in {}; move it into a class folder",
                dir.display()
            ),
        ));
    }
    let class_names: Vec<String> = subdirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let positive = Label::Hemorrhage.name();
    if class_names.len() != 2 || !class_names.iter().any(|c| c == positive) {
        return Err(Error::data(
            dir,
            format!(
                "expected exactly two class folders, one named `{positive}`; found {:?}",
                class_names
            ),
        ));
    }
    let mut samples = Vec::new();
    for (sub, name) in subdirs.iter().zip(&class_names) {
        let (nested, files) = scan_dir(sub)?;
        if let Some(d) = nested.first() {
            return Err(Error::data(
                d,
                "unexpected folder inside a class folder (images must sit directly in it)",
            ));
        }
        if files.is_empty() {
            return Err(Error::data(
                sub,
                format!("class folder `{name}` holds no images"),
            ));
        }
        let label = Label::of_class_folder(name);
        samples.extend(files.into_iter().map(|path| Sample {
            path,
            label: Some(label),
            note: None,
        }));
    }
    decode_set(class_names, samples, windows)
}

/// Loads the optional `test/` folder of a seed layout, which must never block training:
///
/// - loose image files are unlabelled images to predict (Keras' layout for unlabelled data);
/// - a subfolder named like one of the training classes (`class_names`) holds labelled images
///   of that class: one class alone is fine (it is scored with what is defined for it);
/// - any other subfolder (`unknown/`, say) holds unlabelled images, and a note says so;
/// - an empty folder is no test images, with a note.
///
/// Returns `None` for no images, and the notes to show the user. The set's class names are the
/// training classes. Errors (a broken image, a folder inside a class folder) name the file.
pub(crate) fn load_test_folder(
    dir: &Path,
    class_names: &[String],
    windows: &InputWindows,
) -> Result<(Option<ImageSet>, Vec<String>)> {
    let (subdirs, loose) = scan_dir(dir)?;
    let mut notes = Vec::new();
    let mut samples: Vec<Sample> = loose
        .into_iter()
        .map(|path| Sample::new(path, None))
        .collect();
    for sub in &subdirs {
        let name = sub.file_name().unwrap().to_string_lossy().into_owned();
        let (nested, files) = scan_dir(sub)?;
        if let Some(d) = nested.first() {
            return Err(Error::data(
                d,
                "unexpected folder inside a test/ subfolder (images must sit directly in it)",
            ));
        }
        let label = if class_names.contains(&name) {
            Some(Label::of_class_folder(&name))
        } else {
            notes.push(format!(
                "{}: not one of the training classes {:?}, so its {} image(s) are predicted \
                 without a label",
                sub.display(),
                class_names,
                files.len()
            ));
            None
        };
        samples.extend(files.into_iter().map(|path| Sample::new(path, label)));
    }
    if samples.is_empty() {
        notes.push(format!(
            "{}: holds no images, so there is nothing to predict after training",
            dir.display()
        ));
        return Ok((None, notes));
    }
    Ok((
        Some(decode_set(class_names.to_vec(), samples, windows)?),
        notes,
    ))
}

/// Lists a folder: (subfolders, image files), both sorted by name, junk skipped, any other file
/// an error.
fn scan_dir(dir: &Path) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    if !dir.exists() {
        return Err(Error::data(dir, "folder not found"));
    }
    if !dir.is_dir() {
        return Err(Error::data(dir, "not a folder"));
    }
    let io = || Error::io(&dir);
    let mut dirs = Vec::new();
    let mut files = Vec::new();
    for entry in fs::read_dir(dir).map_err(io())? {
        let entry = entry.map_err(io())?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if is_system_junk(&name) {
            continue;
        }
        if path.is_dir() {
            dirs.push(path);
        } else if is_image_path(&path) {
            files.push(path);
        } else {
            return Err(Error::data(
                &path,
                format!(
                    "not an image file (expected one of: {}, {}, or a DICOM file without an \
                     extension); remove it or move it out of the image folder",
                    super::IMAGE_EXTENSIONS.join(", "),
                    ct::dicom::DICOM_EXTENSIONS.join(", ")
                ),
            ));
        }
    }
    dirs.sort();
    files.sort();
    Ok((dirs, files))
}

fn decode_set(
    class_names: Vec<String>,
    mut samples: Vec<Sample>,
    windows: &InputWindows,
) -> Result<ImageSet> {
    let mut pixels = vec![0.0f32; samples.len() * IMAGE_LEN];
    let results: Vec<Result<Option<String>>> = pixels
        .par_chunks_mut(IMAGE_LEN)
        .zip(samples.par_iter())
        .map(|(out, s)| decode_into(&s.path, out, windows))
        .collect();
    for (sample, r) in samples.iter_mut().zip(results) {
        sample.note = r?;
    }
    ImageSet::from_parts(class_names, samples, pixels)
}

/// [`load_image_file`] on a file's bytes, with `path` naming it in errors and deciding the
/// format when the content does not (the fuzz target `decode_image` calls it). Returns the
/// pixels and the loader's note ([`Sample::note`]).
pub fn load_image_bytes(path: &Path, bytes: &[u8]) -> Result<(Vec<f32>, Option<String>)> {
    let mut out = vec![0.0f32; IMAGE_LEN];
    let note = decode_bytes_into(path, bytes, &mut out, &InputWindows::BRAIN)?;
    Ok((out, note))
}

/// Decodes `path` into `out` (`IMAGE_LEN` floats, CHW); returns what the user should know about
/// how its pixels were read (see [`bits_in_use`]), if anything.
pub(crate) fn decode_into(
    path: &Path,
    out: &mut [f32],
    windows: &InputWindows,
) -> Result<Option<String>> {
    let io = || Error::io(&path);
    if !super::has_image_extension(path) {
        // A DICOM file (by name or by marker) is read whole: its size is checked before it is.
        ct::dicom::check_file_size(path, fs::metadata(path).map_err(io())?.len())?;
    }
    let bytes = fs::read(path).map_err(io())?;
    decode_bytes_into(path, &bytes, out, windows)
}

fn decode_bytes_into(
    path: &Path,
    bytes: &[u8],
    out: &mut [f32],
    windows: &InputWindows,
) -> Result<Option<String>> {
    if bytes.is_empty() {
        return Err(Error::data(path, "empty file (0 bytes), not an image"));
    }
    if ct::has_dicom_extension(path) || ct::has_dicom_marker(bytes) {
        // Large images are read one at a time: the reader takes the lock once it knows their size.
        let slice = ct::dicom::read_ct_slice_bytes(path, bytes)?;
        slice.to_chw(windows, out);
        return Ok((!slice.notes.is_empty()).then(|| slice.notes.join("; ")));
    }
    if *windows != InputWindows::BRAIN {
        return Err(Error::data(
            path,
            format!(
                "a display image (already windowed by whoever exported it) cannot be shown in \
                 {}: windows apply to CT numbers, so this model or setting needs DICOM files",
                windows.describe()
            ),
        ));
    }
    // Held until the image has been converted: large images are decoded one at a time.
    let (img, _one_at_a_time) = decode_bytes(path, bytes)?;
    let (scale, note) = bits_in_use(&img, bytes);
    image_to_chw(path, &img, out, scale)?;
    Ok(note)
}

/// Images above this many pixels (2048 x 2048) are decoded one at a time, not one per core:
/// a 16-megapixel 16-bit image takes several hundred megabytes while it is decoded, turned and
/// converted, and two at once would pass the project's memory goal. CT slices (512 x 512) and
/// the Kaggle images (up to about 1000 x 1000) decode in parallel as before.
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

/// The number of bits a 16-bit image really uses, and what that means for its pixels.
///
/// A 16-bit file is read as `value / 65535`, unless its values use fewer bits:
/// - a PNG `sBIT` chunk saying `n` significant bits, with every value within `0..2^n`: the
///   values were stored unscaled, and are read as `value / (2^n − 1)`;
/// - no `sBIT`, and every value within 0–4095: a 12-bit image (exports of CT numbers and many
///   detectors look exactly like this), read as `value / 4095`. Read as `value / 65535`, such a
///   slice would be 16 times too dark, and the model would call a black image.
///
/// Returns the factor to multiply `value / 65535` by, and a note for the user when it is not 1.
/// 8-bit images and images that use the full range are read as they are (factor 1, no note).
fn bits_in_use(img: &DynamicImage, file: &[u8]) -> (f32, Option<String>) {
    // The largest colour value (alpha left out), without copying the image.
    let largest = |raw: &[u16], channels: usize, colours: usize| -> u16 {
        raw.chunks_exact(channels)
            .flat_map(|p| p[..colours].iter().copied())
            .max()
            .unwrap_or(0)
    };
    let max = match img {
        DynamicImage::ImageLuma16(b) => largest(b.as_raw(), 1, 1),
        DynamicImage::ImageLumaA16(b) => largest(b.as_raw(), 2, 1),
        DynamicImage::ImageRgb16(b) => largest(b.as_raw(), 3, 3),
        DynamicImage::ImageRgba16(b) => largest(b.as_raw(), 4, 3),
        _ => return (1.0, None),
    };
    if max == 0 {
        return (1.0, None);
    }
    let (bits, why) = match png_significant_bits(file) {
        Some(n) if n < 16 && u32::from(max) < (1u32 << n) => {
            (n, format!("its sBIT chunk says {n}"))
        }
        Some(_) => return (1.0, None),
        None if max <= 4095 => (12, "no sBIT chunk, and no value above 4095".to_string()),
        None => return (1.0, None),
    };
    let top = (1u32 << bits) - 1;
    (
        65535.0 / top as f32,
        Some(format!(
            "16-bit file using {bits} bits ({why}): read as {bits}-bit, {top} = white"
        )),
    )
}

/// The largest significant-bit count of a PNG's `sBIT` chunk; `None` for other files or
/// without the chunk.
fn png_significant_bits(file: &[u8]) -> Option<u8> {
    if !file.starts_with(b"\x89PNG") {
        return None;
    }
    let reader = png::Decoder::new(Cursor::new(file)).read_info().ok()?;
    let info = reader.info();
    let sbit = info.sbit.as_ref()?;
    // One entry per channel; the alpha entry (gray + alpha, RGBA) says nothing of the colours.
    let colours = match info.color_type {
        png::ColorType::GrayscaleAlpha => 1,
        png::ColorType::Rgba => 3,
        _ => sbit.len(),
    };
    sbit.iter().take(colours).copied().max()
}

fn decode_bytes(
    path: &Path,
    bytes: &[u8],
) -> Result<(DynamicImage, Option<std::sync::MutexGuard<'static, ()>>)> {
    let reader = || -> Result<ImageReader<Cursor<&[u8]>>> {
        let mut reader = ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::data(path, format!("cannot read image: {e}")))?;
        if reader.format().is_none() {
            // Content not recognised: fall back on the extension (the decoder then says what's
            // wrong).
            reader.set_format(
                image::ImageFormat::from_path(path)
                    .map_err(|_| Error::data(path, "not a recognised image format"))?,
            );
        }
        Ok(reader)
    };
    let corrupt = |e: image::ImageError| {
        Error::data(
            path,
            format!("cannot decode image (corrupt or truncated file?): {e}"),
        )
    };
    // The size from the header first: nothing is allocated for an image over the limit.
    let (width, height) = reader()?.into_dimensions().map_err(corrupt)?;
    let max_pixels = max_image_pixels()?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels > max_pixels {
        return Err(Error::data(
            path,
            format!(
                "image is {width}x{height} pixels, {pixels} in all, over the limit of \
                 {max_pixels} pixels (4096x4096, larger than any CT slice, unless \
                 {MAX_PIXELS_ENV} sets another limit)"
            ),
        ));
    }
    let one_at_a_time = one_at_a_time_if_large(pixels);
    let mut reader = reader()?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(width);
    limits.max_image_height = Some(height);
    // The largest decoded form: 4 channels of 32-bit floats, plus the decoder's own buffers.
    limits.max_alloc = Some(pixels.saturating_mul(32).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    // EXIF orientation (JPEG, PNG eXIf, TIFF): left and right matter in a head CT. An unreadable
    // EXIF block is treated as no orientation, as viewers do.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    img.apply_orientation(orientation);
    Ok((img, one_at_a_time))
}

/// The largest image read, in pixels (width x height), unless [`MAX_PIXELS_ENV`] says
/// otherwise: 4096 x 4096, about 16.8 megapixels. CT slices are 512 x 512; exports and photos of
/// films rarely pass 4000 pixels a side. The limit keeps a file whose header claims a huge size
/// (a 0.5 MB PNG can claim 16000 x 16000) from taking gigabytes: the header is read first, and
/// the decoder's allocations are bounded too.
pub const DEFAULT_MAX_IMAGE_PIXELS: u64 = 4096 * 4096;

/// Environment variable that sets the pixel limit ([`DEFAULT_MAX_IMAGE_PIXELS`]), in pixels.
pub const MAX_PIXELS_ENV: &str = "HEAD_CT_MAX_PIXELS";

/// The pixel limit: [`MAX_PIXELS_ENV`] when set, else [`DEFAULT_MAX_IMAGE_PIXELS`]. Errors if
/// the variable is not a positive whole number.
pub fn max_image_pixels() -> Result<u64> {
    match std::env::var(MAX_PIXELS_ENV) {
        Err(_) => Ok(DEFAULT_MAX_IMAGE_PIXELS),
        Ok(text) => match text.trim().parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(Error::InvalidInput(format!(
                "{MAX_PIXELS_ENV}={text:?} is not a positive whole number of pixels"
            ))),
        },
    }
}

/// Converts a decoded image to RGB, resizes it to 150x150 and writes it as CHW floats in
/// `[0, 1]`.
pub(crate) fn image_to_chw(
    path: &Path,
    img: &DynamicImage,
    out: &mut [f32],
    scale16: f32,
) -> Result<()> {
    let (w, h) = (img.width(), img.height());
    if w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE {
        return Err(Error::data(
            path,
            format!(
                "image is too small ({w}x{h} pixels): at least {MIN_IMAGE_SIDE} pixels a side \
                 are needed to resize it sensibly to {IMAGE_SIZE}x{IMAGE_SIZE}"
            ),
        ));
    }
    let s = IMAGE_SIZE as u32;
    let plane = IMAGE_SIZE * IMAGE_SIZE;
    let eight_bit = matches!(
        img.color(),
        ColorType::L8 | ColorType::La8 | ColorType::Rgb8 | ColorType::Rgba8
    );
    if eight_bit {
        // The Keras path: resize the 8-bit image, then rescale by 1/255.
        let rgb = img.to_rgb8();
        let rgb = if (w, h) == (s, s) {
            rgb
        } else {
            image::imageops::resize(&rgb, s, s, RESIZE_FILTER)
        };
        for (i, px) in rgb.pixels().enumerate() {
            for c in 0..3 {
                out[c * plane + i] = f32::from(px.0[c]) * (1.0 / 255.0);
            }
        }
    } else {
        // 16-bit or float: keep the precision (to_rgb32f scales 16-bit by 1/65535).
        let rgb = img.to_rgb32f();
        let rgb = if (w, h) == (s, s) {
            rgb
        } else {
            image::imageops::resize(&rgb, s, s, RESIZE_FILTER)
        };
        for (i, px) in rgb.pixels().enumerate() {
            for c in 0..3 {
                let v = px.0[c] * scale16;
                if !v.is_finite() {
                    return Err(Error::data(
                        path,
                        "holds pixel values that are not numbers (NaN or infinite): the model \
                         cannot see such an image",
                    ));
                }
                out[c * plane + i] = v.clamp(0.0, 1.0);
            }
        }
    }
    Ok(())
}
