//! Decoding, converting and resizing image files; scanning class folders: the [`Loader`].

use std::{
    fs,
    io::Cursor,
    path::{Path, PathBuf},
};

use image::{ColorType, DynamicImage, ImageDecoder, ImageReader};
use rayon::prelude::*;

use super::{is_image_path, is_system_junk, ImageSet, Sample};
use crate::{
    ct,
    error::Result,
    input::{self, resize, Limits, ModelInput, PixelSource, MIN_IMAGE_SIDE},
    labels::Label,
    Error,
};

/// Reads image files into the model's input: one value made of the [`ModelInput`] (windows,
/// side, resize filter: the model's) and the decoding [`Limits`] (the reader's), as the `image`
/// crate pairs a reader with its `Limits`.
///
/// Every set it loads records its input ([`ImageSet::input`]), and every sample whether it was
/// DICOM ([`Sample::source`]). Display images (PNG, JPEG, BMP, TIFF; the format is recognised
/// from the content), gray / gray+alpha / RGB / RGBA, 8 or 16 bits per channel, become RGB in
/// `[0, 1]`: gray is repeated in the three channels; alpha is dropped (as PIL's
/// `convert("RGB")` does). A display image is refused unless the input's windows are the brain
/// window alone: it was windowed by whoever exported it, and cannot be windowed again. DICOM
/// files (by extension or marker) are read as CT numbers and shown in the input's windows, one
/// per channel ([`crate::ct`]).
///
/// ```no_run
/// use head_ct::{data::Loader, input::{InputWindows, Limits, ModelInput}};
///
/// let loader = Loader::default(); // the teaching input, images up to 4096 x 4096
/// let set = loader.folder("data/head_ct_slices/test".as_ref())?;
/// let three = Loader::new(ModelInput::with_windows(InputWindows::THREE))
///     .with_limits(Limits::no_limits());
/// let pixels = three.file("slice.dcm".as_ref())?; // 3 x 150 x 150 floats
/// # Ok::<(), head_ct::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Loader {
    input: ModelInput,
    limits: Limits,
}

/// What decoding one file gave besides its pixels.
pub(crate) struct Decoded {
    /// What the user should know about how its pixels were read ([`Sample::note`]).
    pub note: Option<String>,
    pub source: PixelSource,
}

impl Loader {
    /// A loader for `input`, with the default [`Limits`].
    pub fn new(input: ModelInput) -> Loader {
        Loader {
            input,
            limits: Limits::default(),
        }
    }

    /// The same loader with other decoding limits.
    pub fn with_limits(self, limits: Limits) -> Loader {
        Loader { limits, ..self }
    }

    /// The model input it loads for.
    pub fn input(&self) -> &ModelInput {
        &self.input
    }

    /// Its decoding limits.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decodes one image file to `3 x side x side` floats in `[0, 1]` (CHW; side 150 for the
    /// teaching input). Errors name the file and the problem.
    pub fn file(&self, path: &Path) -> Result<Vec<f32>> {
        let mut out = vec![0.0f32; self.input_len()];
        self.decode_into(path, &mut out)?;
        Ok(out)
    }

    /// [`Loader::file`] on a file's bytes, with `path` naming it in errors and deciding the
    /// format when the content does not (the fuzz target `decode_image` calls it). Returns the
    /// pixels and the loader's note ([`Sample::note`]).
    pub fn bytes(&self, path: &Path, bytes: &[u8]) -> Result<(Vec<f32>, Option<String>)> {
        let mut out = vec![0.0f32; self.input_len()];
        let decoded = self.decode_bytes_into(path, bytes, &mut out)?;
        Ok((out, decoded.note))
    }

    /// Decodes `paths` (in parallel) into an unlabelled [`ImageSet`], in the given order. For
    /// prediction on a list of files; the first failing file (in list order) is reported.
    pub fn files(&self, paths: &[PathBuf]) -> Result<ImageSet> {
        let samples = paths.iter().map(|p| Sample::new(p.clone(), None)).collect();
        self.decode_set(Vec::new(), samples)
    }

    /// Decodes what it can of `paths` (in parallel): the unlabelled set of the files that
    /// decoded, in the given order, and every file that did not with its error (errors only for
    /// an input of another side than the model's). For prediction
    /// over folders as users have them, where one damaged file must not stop the rest.
    pub fn readable_files(&self, paths: &[PathBuf]) -> Result<(ImageSet, Vec<(PathBuf, Error)>)> {
        let len = self.input_len();
        let results: Vec<(Vec<f32>, Result<Decoded>)> = paths
            .par_iter()
            .map(|p| {
                let mut out = vec![0.0f32; len];
                let r = self.decode_into(p, &mut out);
                (out, r)
            })
            .collect();
        let mut samples = Vec::with_capacity(paths.len());
        let mut pixels = Vec::with_capacity(paths.len() * len);
        let mut failed = Vec::new();
        for (path, (out, r)) in paths.iter().zip(results) {
            match r {
                Ok(decoded) => {
                    pixels.extend_from_slice(&out);
                    samples.push(Sample {
                        note: decoded.note,
                        source: decoded.source,
                        ..Sample::new(path.clone(), None)
                    });
                }
                Err(e) => failed.push((path.clone(), e)),
            }
        }
        let set = ImageSet::from_parts(Vec::new(), samples, pixels, self.input)?;
        Ok((set, failed))
    }

    /// Loads a folder as Keras' `flow_from_directory` does.
    ///
    /// - With class subfolders: class names are the folder names, sorted; there must be
    ///   exactly two, one named `hemorrhage` (label 1; the other gets label 0); each must hold
    ///   at least one image.
    /// - With no subfolder: the loose image files, unlabelled (`class_names` empty, labels
    ///   `None`).
    /// - Mixing class folders and loose images is an error, as is a folder with no image at all.
    ///
    /// Files are taken in sorted name order within each class; see the module docs of
    /// [`crate::data`] for what counts as an image and which junk files are skipped. Every
    /// image is decoded once, in parallel.
    pub fn folder(&self, dir: &Path) -> Result<ImageSet> {
        let (subdirs, files) = scan_dir(dir)?;
        if subdirs.is_empty() {
            if files.is_empty() {
                return Err(Error::data(
                    dir,
                    "folder is empty: no class folders and no images",
                ));
            }
            let samples = files.into_iter().map(|p| Sample::new(p, None)).collect();
            return self.decode_set(Vec::new(), samples);
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
            samples.extend(files.into_iter().map(|p| Sample::new(p, Some(label))));
        }
        self.decode_set(class_names, samples)
    }

    /// Floats per image: `3 x side x side`.
    fn input_len(&self) -> usize {
        3 * self.input.side * self.input.side
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
    pub(crate) fn test_folder(
        &self,
        dir: &Path,
        class_names: &[String],
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
        Ok((Some(self.decode_set(class_names.to_vec(), samples)?), notes))
    }
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

impl Loader {
    fn decode_set(&self, class_names: Vec<String>, mut samples: Vec<Sample>) -> Result<ImageSet> {
        let len = self.input_len();
        let mut pixels = vec![0.0f32; samples.len() * len];
        let results: Vec<Result<Decoded>> = pixels
            .par_chunks_mut(len)
            .zip(samples.par_iter())
            .map(|(out, s)| self.decode_into(&s.path, out))
            .collect();
        for (sample, r) in samples.iter_mut().zip(results) {
            let decoded = r?;
            sample.note = decoded.note;
            sample.source = decoded.source;
        }
        ImageSet::from_parts(class_names, samples, pixels, self.input)
    }

    /// Decodes `path` into `out` (`3 x side x side` floats, CHW).
    pub(crate) fn decode_into(&self, path: &Path, out: &mut [f32]) -> Result<Decoded> {
        let io = || Error::io(path);
        if !super::has_image_extension(path) {
            // A DICOM file (by name or by marker) is read whole: its size is checked before it is.
            ct::dicom::check_file_size(
                path,
                fs::metadata(path).map_err(io())?.len(),
                &self.limits,
            )?;
        }
        let bytes = fs::read(path).map_err(io())?;
        self.decode_bytes_into(path, &bytes, out)
    }

    fn decode_bytes_into(&self, path: &Path, bytes: &[u8], out: &mut [f32]) -> Result<Decoded> {
        if bytes.is_empty() {
            return Err(Error::data(path, "empty file (0 bytes), not an image"));
        }
        if ct::has_dicom_extension(path)
            || ct::has_dicom_marker(bytes)
            || ct::dicom::raw_dataset_transfer_syntax(bytes).is_some()
        {
            // Large images are read one at a time: the reader takes the lock once it knows their
            // size.
            let slice = ct::dicom::read_ct_slice_bytes(path, bytes, &self.limits)?;
            slice.to_chw(&self.input, out);
            return Ok(Decoded {
                note: (!slice.notes.is_empty()).then(|| slice.notes.join("; ")),
                source: PixelSource::Dicom,
            });
        }
        if !self.input.accepts_display_images() {
            return Err(Error::data(
                path,
                format!(
                    "a display image (already windowed by whoever exported it) cannot be shown \
                     in {}: windows apply to CT numbers, so this model or setting needs DICOM \
                     files",
                    self.input.windows.describe()
                ),
            ));
        }
        // Held until the image has been converted: large images are decoded one at a time.
        let (img, _one_at_a_time) = decode_bytes(path, bytes, &self.limits)?;
        let (scale, note) = bits_in_use(&img, bytes);
        image_to_chw(path, &img, out, scale, &self.input)?;
        Ok(Decoded {
            note,
            source: PixelSource::DisplayImage,
        })
    }
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
    limits: &Limits,
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
    limits.check_image(path, "image", u64::from(width), u64::from(height))?;
    let pixels = u64::from(width) * u64::from(height);
    let one_at_a_time = input::one_at_a_time_if_large(pixels);
    let mut reader = reader()?;
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_image_width = Some(width);
    decoder_limits.max_image_height = Some(height);
    // The largest decoded form: 4 channels of 32-bit floats, plus the decoder's own buffers.
    decoder_limits.max_alloc = Some(pixels.saturating_mul(32).saturating_add(64 << 20));
    reader.limits(decoder_limits);
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

/// Converts a decoded image to RGB, resizes it to the input's side ([`resize::to_input_side`])
/// and writes it as CHW floats in `[0, 1]`.
fn image_to_chw(
    path: &Path,
    img: &DynamicImage,
    out: &mut [f32],
    scale16: f32,
    input: &ModelInput,
) -> Result<()> {
    let (w, h) = (img.width(), img.height());
    if w < MIN_IMAGE_SIDE || h < MIN_IMAGE_SIDE {
        return Err(Error::data(
            path,
            format!(
                "image is too small ({w}x{h} pixels): at least {MIN_IMAGE_SIDE} pixels a side \
                 are needed to resize it sensibly to {0}x{0}",
                input.side
            ),
        ));
    }
    let plane = input.side * input.side;
    let eight_bit = matches!(
        img.color(),
        ColorType::L8 | ColorType::La8 | ColorType::Rgb8 | ColorType::Rgba8
    );
    if eight_bit {
        // The Keras path: resize the 8-bit image, then rescale by 1/255.
        let rgb = resize::to_input_side(img.to_rgb8(), input);
        for (i, px) in rgb.pixels().enumerate() {
            for c in 0..3 {
                out[c * plane + i] = f32::from(px.0[c]) * (1.0 / 255.0);
            }
        }
    } else {
        // 16-bit or float: keep the precision (to_rgb32f scales 16-bit by 1/65535).
        let rgb = resize::to_input_side(img.to_rgb32f(), input);
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
