//! Reading one CT slice from a DICOM file: stored values to CT numbers (Hounsfield units), with
//! everything the user should know about how they were read.
//!
//! The order is the standard's (DICOM PS3.3 C.11.1 and C.11.2): stored value x RescaleSlope +
//! RescaleIntercept = CT number (the modality LUT); then a window ([`Window::grey`], the VOI
//! LUT); then MONOCHROME1 inverted (the presentation). Pixels equal to PixelPaddingValue (or
//! within PixelPaddingRangeLimit) lie outside the patient and are given the CT number of air.
//! The file's own WindowCenter/WindowWidth are read ([`CtSlice::file_windows`]) but never
//! applied: the model's windows are.

use std::path::Path;

use crate::{
    input::{self, resize, Limits, ModelInput, Window, MIN_IMAGE_SIDE},
    Error, Result,
};
use dicom_dictionary_std::tags;
use dicom_object::{mem::InMemElement, DefaultDicomObject, OpenFileOptions};
use dicom_pixeldata::{ConvertOptions, ModalityLutOption, PixelDecoder};

/// The CT number of air, HU. Padding pixels get it.
pub const AIR_HU: f32 = -1000.0;

/// File name extensions (lower case) read as DICOM. Files with no extension are read as DICOM
/// when they carry the `DICM` marker ([`has_dicom_marker`]), as PACS exports often do.
pub const DICOM_EXTENSIONS: &[&str] = &["dcm", "dicom"];

/// One CT slice in Hounsfield units.
#[derive(Debug, Clone, PartialEq)]
pub struct CtSlice {
    /// Rows (height) and columns (width), pixels.
    pub rows: usize,
    pub columns: usize,
    /// CT numbers, HU, row-major (`rows x columns`). Padding pixels hold [`AIR_HU`].
    pub hounsfield: Vec<f32>,
    /// Padding pixels (PixelPaddingValue) found, now air.
    pub padding_pixels: usize,
    /// PhotometricInterpretation MONOCHROME1: low values display white, so grey levels are
    /// inverted after windowing.
    pub monochrome1: bool,
    /// The windows the file suggests (WindowCenter/WindowWidth, every value pair), for
    /// display only: the model's windows are what is applied.
    pub file_windows: Vec<Window>,
    /// The Modality (0008,0060), when the file has one (`CT` for CT).
    pub modality: Option<String>,
    /// SOPInstanceUID (0008,0018), when present: the key of many label files (RSNA).
    pub sop_instance_uid: Option<String>,
    /// What the user should know about how the file was read (a non-CT modality, a missing
    /// rescale, the frame taken from a multi-frame file), one sentence each.
    pub notes: Vec<String>,
}

/// True when `bytes` carry the DICOM file marker: `DICM` after the 128-byte preamble (PS3.10
/// 7.1).
pub fn has_dicom_marker(bytes: &[u8]) -> bool {
    bytes.len() >= 132 && &bytes[128..132] == b"DICM"
}

/// True when `path` ends in a DICOM extension ([`DICOM_EXTENSIONS`], any case).
pub fn has_dicom_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .map(|e| DICOM_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// True when the file at `path` is DICOM: a DICOM extension, the `DICM` marker, or the start
/// of a raw data set ([`raw_dataset_transfer_syntax`]), read from the file (a file that cannot
/// be read is not).
pub fn is_dicom_file(path: &Path) -> bool {
    if has_dicom_extension(path) {
        return true;
    }
    let mut head = Vec::with_capacity(132);
    std::fs::File::open(path)
        .and_then(|f| std::io::Read::read_to_end(&mut std::io::Read::take(f, 132), &mut head))
        .is_ok()
        && (has_dicom_marker(&head) || raw_dataset_transfer_syntax(&head).is_some())
}

/// Reads the slice in the DICOM file at `path`, within `limits` ([`Limits::default`] reads up
/// to 4096 x 4096 pixels). Errors name the file and the problem; see [`read_ct_slice_bytes`].
pub fn read_ct_slice(path: &Path, limits: &Limits) -> Result<CtSlice> {
    let io = || Error::io(&path);
    let size = std::fs::metadata(path).map_err(io())?.len();
    check_file_size(path, size, limits)?;
    let bytes = std::fs::read(path).map_err(io())?;
    read_ct_slice_bytes(path, &bytes, limits)
}

/// Refuses a DICOM file of `size` bytes over [`Limits::max_dicom_bytes`], before it is read.
pub(crate) fn check_file_size(path: &Path, size: u64, limits: &Limits) -> Result<()> {
    let Some(limit) = limits.max_dicom_bytes() else {
        return Ok(());
    };
    if size > limit {
        return Err(Error::data(
            path,
            format!(
                "DICOM file is {} MiB, over the {} MiB read at once (a long multi-frame \
                 series?): split it into single slices",
                size >> 20,
                limit >> 20
            ),
        ));
    }
    Ok(())
}

/// The transfer syntax of a DICOM data set stored without the preamble and the file meta group
/// (the "raw" form older archives and converters write, PS3.5 7.1): explicit VR little endian
/// when a value representation follows the first tag, implicit VR little endian otherwise;
/// `None` when the bytes do not start with a data set's first element (an even group from
/// 0008 to 0028, as a data set's first attributes are).
pub fn raw_dataset_transfer_syntax(bytes: &[u8]) -> Option<&'static str> {
    if bytes.len() < 8 || has_dicom_marker(bytes) || bytes.starts_with(b"DICM") {
        return None;
    }
    let group = u16::from_le_bytes([bytes[0], bytes[1]]);
    if !group.is_multiple_of(2) || !(0x0008..=0x0028).contains(&group) {
        return None;
    }
    if bytes[4..6].iter().all(u8::is_ascii_uppercase) {
        Some("1.2.840.10008.1.2.1")
    } else {
        // Implicit VR: a 4-byte length that fits in the bytes that remain.
        let len = u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        (len <= bytes.len() - 8).then_some("1.2.840.10008.1.2")
    }
}

/// The note on a data set read without a file meta header.
fn raw_dataset_note(transfer_syntax: &str) -> String {
    let encoding = if transfer_syntax == "1.2.840.10008.1.2" {
        "implicit"
    } else {
        "explicit"
    };
    format!(
        "no file meta header (no preamble, no DICM: the older raw data set form): read as \
         {encoding} VR little endian"
    )
}

/// Opens DICOM bytes: a file with the file meta group (preamble optional, PS3.10 7.1), read up
/// to the pixel data when `header_only`, or a raw data set without it
/// ([`raw_dataset_transfer_syntax`]), given a file meta group of its own (read whole, pixel
/// data included, whatever `header_only` asks: such files are rare); the note says so for the
/// latter. Errors name the file: not DICOM, truncated, or a raw data set without
/// SOPClassUID and SOPInstanceUID.
pub(super) fn open_dicom(
    path: &Path,
    bytes: &[u8],
    header_only: bool,
) -> Result<(DefaultDicomObject, Option<String>)> {
    let not_dicom = |e: &dyn std::fmt::Display| {
        Error::data(
            path,
            format!("cannot read as DICOM (not a DICOM file, or truncated?): {e}"),
        )
    };
    let Some(ts_uid) = raw_dataset_transfer_syntax(bytes) else {
        let options = if header_only {
            OpenFileOptions::new().read_until(tags::PIXEL_DATA)
        } else {
            OpenFileOptions::new()
        };
        let obj = options.from_reader(bytes).map_err(|e| not_dicom(&e))?;
        return Ok((obj, None));
    };
    use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
    let ts = TransferSyntaxRegistry
        .get(ts_uid)
        .ok_or_else(|| not_dicom(&"no transfer syntax"))?;
    let dataset = dicom_object::InMemDicomObject::read_dataset_with_ts(bytes, ts)
        .map_err(|e| not_dicom(&e))?;
    if dataset.get(tags::SOP_CLASS_UID).is_none() || dataset.get(tags::SOP_INSTANCE_UID).is_none() {
        return Err(Error::data(
            path,
            "a DICOM data set without a file meta header, and without SOPClassUID or \
             SOPInstanceUID: not a valid data set (damaged, or not DICOM)",
        ));
    }
    let obj = dataset
        .with_meta(dicom_object::FileMetaTableBuilder::new().transfer_syntax(ts_uid))
        .map_err(|e| not_dicom(&e))?;
    Ok((obj, Some(raw_dataset_note(ts_uid))))
}

/// Reads a DICOM file's bytes (with or without the 128-byte preamble); `path` names it in
/// errors.
///
/// - Errors: not DICOM or truncated; no PixelData; colour (SamplesPerPixel other than 1, or a
///   photometric interpretation other than MONOCHROME1/2); an image smaller than
///   [`MIN_IMAGE_SIDE`] or over the pixel limit; a transfer syntax whose pixel data cannot be
///   decoded in pure Rust (the error names its UID).
/// - Notes ([`CtSlice::notes`]): a modality other than CT; RescaleSlope or RescaleIntercept
///   missing (1 and 0 assumed); a multi-frame file (its middle frame is read).
pub fn read_ct_slice_bytes(path: &Path, bytes: &[u8], limits: &Limits) -> Result<CtSlice> {
    check_file_size(path, bytes.len() as u64, limits)?;
    super::scan::check_element_lengths(path, bytes)?;
    let (obj, raw_note) = open_dicom(path, bytes, false)?;
    let mut notes: Vec<String> = raw_note.into_iter().collect();

    let modality = text(&obj, tags::MODALITY);
    if let Some(m) = &modality {
        if m != "CT" {
            notes.push(format!(
                "modality {m}, not CT: its values are not CT numbers, and windows made for \
                 Hounsfield units may show nothing useful"
            ));
        }
    }
    let Some(pixel_data) = element(&obj, tags::PIXEL_DATA) else {
        return Err(Error::data(
            path,
            "DICOM file has no pixel data (PixelData, 7FE0,0010): it is not an image (a \
             structured report or a presentation state?)",
        ));
    };
    let samples = int(&obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1);
    let photometric = text(&obj, tags::PHOTOMETRIC_INTERPRETATION).unwrap_or_default();
    if samples != 1 || !matches!(photometric.as_str(), "MONOCHROME1" | "MONOCHROME2") {
        return Err(Error::data(
            path,
            format!(
                "colour DICOM ({samples} samples per pixel, photometric interpretation \
                 {photometric:?}): a CT slice is MONOCHROME1 or MONOCHROME2, one sample per pixel"
            ),
        ));
    }
    if int(&obj, tags::BITS_ALLOCATED) == Some(1) {
        let class = text(&obj, tags::SOP_CLASS_UID).unwrap_or_else(|| "none".into());
        return Err(Error::data(
            path,
            format!(
                "1-bit pixel data (a segmentation or a mask, SOP class {class}): not a CT image \
                 of CT numbers"
            ),
        ));
    }
    // Rows and Columns are US (at most 65535); anything else is a damaged header.
    let side = |tag| {
        int(&obj, tag)
            .and_then(|v| u16::try_from(v).ok())
            .map_or(0, i64::from)
    };
    let rows = side(tags::ROWS);
    let columns = side(tags::COLUMNS);
    if rows < i64::from(MIN_IMAGE_SIDE) || columns < i64::from(MIN_IMAGE_SIDE) {
        return Err(Error::data(
            path,
            format!(
                "DICOM image is {columns}x{rows} pixels: at least {MIN_IMAGE_SIDE} pixels a side \
                 are needed"
            ),
        ));
    }
    let pixels = (rows as u64) * (columns as u64);
    limits.check_image(path, "DICOM image", columns as u64, rows as u64)?;
    // Large images are decoded one at a time, whatever the file's size.
    let _one_at_a_time = input::one_at_a_time_if_large(pixels);
    let frames = int(&obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1);
    // Uncompressed pixel data must hold what the header promises, checked before anything of
    // that size is allocated (a 2 KB file can claim 4096 x 4096 pixels).
    if let Some(native) = pixel_data.value().primitive() {
        let bytes_per_value =
            (int(&obj, tags::BITS_ALLOCATED).unwrap_or(16).clamp(1, 64) as u64).div_ceil(8);
        let need = pixels
            .saturating_mul(bytes_per_value)
            .saturating_mul(frames as u64);
        let have = native.calculate_byte_len() as u64;
        if have < need {
            return Err(Error::data(
                path,
                format!(
                    "pixel data holds {have} bytes, but {frames} frame(s) of {columns}x{rows} \
                     pixels of {bytes_per_value} byte(s) need {need}: truncated or damaged file"
                ),
            ));
        }
    }
    let frame = (frames / 2) as u32;
    if frames > 1 {
        notes.push(format!(
            "multi-frame file ({frames} frames): frame {} (the middle one) is read; split the \
             series into single slices to classify each",
            frame + 1
        ));
    }

    let (slope, intercept) = match (
        float(&obj, tags::RESCALE_SLOPE)
            .or_else(|| functional_group(&obj, frame, tags::RESCALE_SLOPE)),
        float(&obj, tags::RESCALE_INTERCEPT)
            .or_else(|| functional_group(&obj, frame, tags::RESCALE_INTERCEPT)),
    ) {
        (Some(s), Some(i)) => (s, i),
        (s, i) => {
            notes.push(format!(
                "no {}: assumed {} (stored values taken as CT numbers{})",
                match (s, i) {
                    (None, None) => "RescaleSlope or RescaleIntercept",
                    (None, _) => "RescaleSlope",
                    _ => "RescaleIntercept",
                },
                match (s, i) {
                    (None, None) => "slope 1, intercept 0".to_string(),
                    (None, Some(i)) => format!("slope 1 with the file's intercept {i}"),
                    (Some(s), _) => format!("intercept 0 with the file's slope {s}"),
                },
                if s.is_none() && i.is_none() {
                    ", which is wrong for files that store CT number + 1024"
                } else {
                    ""
                }
            ));
            (s.unwrap_or(1.0), i.unwrap_or(0.0))
        }
    };
    if !slope.is_finite() || !intercept.is_finite() || slope == 0.0 {
        return Err(Error::data(
            path,
            format!("RescaleSlope {slope} / RescaleIntercept {intercept} cannot give CT numbers"),
        ));
    }

    let transfer_syntax = obj
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    let decodable = DECODED_TRANSFER_SYNTAXES.contains(&transfer_syntax.as_str());
    // JPEG extended holds 8- or 12-bit samples; the pure-Rust JPEG decoder reads only 8.
    let twelve_bit_jpeg =
        transfer_syntax == JPEG_EXTENDED && int(&obj, tags::BITS_STORED).is_some_and(|b| b > 8);
    let decode_err = |e: dicom_pixeldata::Error| {
        Error::data(
            path,
            if twelve_bit_jpeg {
                format!(
                    "12-bit JPEG (extended, transfer syntax {JPEG_EXTENDED}) is not supported: \
                     the pure-Rust JPEG decoder reads 8-bit JPEG only ({e}); convert the file \
                     first (e.g. `gdcmconv --raw in.dcm out.dcm`)"
                )
            } else if decodable {
                format!("cannot decode the pixel data (transfer syntax {transfer_syntax}): {e}")
            } else {
                format!(
                    "cannot decode the pixel data of transfer syntax {transfer_syntax} ({e}): \
                     this program decodes uncompressed, RLE and JPEG (baseline, 8-bit \
                     extended, lossless) DICOM, not JPEG 2000, JPEG-LS or others; convert the file first \
                     (e.g. `gdcmconv --raw in.dcm out.dcm`)"
                )
            },
        )
    };
    let decoded = obj.decode_pixel_data_frame(frame).map_err(decode_err)?;
    if decoded.rows() as i64 != rows || decoded.columns() as i64 != columns {
        return Err(Error::data(
            path,
            "pixel data does not match Rows and Columns",
        ));
    }
    let stored: Vec<i32> = decoded
        .to_vec_frame_with_options(
            0,
            &ConvertOptions::new().with_modality_lut(ModalityLutOption::None),
        )
        .map_err(decode_err)?;
    if stored.len() != pixels as usize {
        return Err(Error::data(
            path,
            format!(
                "pixel data holds {} values for a {columns}x{rows} image",
                stored.len()
            ),
        ));
    }
    // The stored value is the low BitsStored bits of each word, two's complement when
    // PixelRepresentation is 1 (PS3.5 8.1.1): the bits above may hold overlays, and a signed
    // 12-bit value in a 16-bit word may not be sign-extended.
    let stored_value = StoredValue::new(
        decoded.bits_stored(),
        decoded.pixel_representation() == dicom_pixeldata::PixelRepresentation::Signed,
    );
    let stored: Vec<i32> = stored
        .into_iter()
        .map(|v| stored_value.of(i64::from(v)))
        .collect();

    // Padding: PixelPaddingValue alone, or the range it spans with PixelPaddingRangeLimit, as
    // stored values.
    let padding = int(&obj, tags::PIXEL_PADDING_VALUE).map(|value| {
        let value = i64::from(stored_value.of(value));
        let limit = int(&obj, tags::PIXEL_PADDING_RANGE_LIMIT)
            .map_or(value, |l| i64::from(stored_value.of(l)));
        (value.min(limit), value.max(limit))
    });
    let mut padding_pixels = 0;
    let hounsfield = stored
        .iter()
        .map(|&v| match padding {
            Some((lo, hi)) if (lo..=hi).contains(&i64::from(v)) => {
                padding_pixels += 1;
                AIR_HU
            }
            _ => (f64::from(v) * slope + intercept) as f32,
        })
        .collect();

    let centres = floats(&obj, tags::WINDOW_CENTER);
    let widths = floats(&obj, tags::WINDOW_WIDTH);
    let file_windows = centres
        .iter()
        .zip(&widths)
        .filter_map(|(&c, &w)| Window::new(c as f32, w as f32).ok())
        .collect();

    if photometric == "MONOCHROME1" {
        notes.push(
            "MONOCHROME1: low values display white, so the grey levels are inverted after \
             windowing, as the standard displays them"
                .into(),
        );
    }
    Ok(CtSlice {
        rows: rows as usize,
        columns: columns as usize,
        hounsfield,
        padding_pixels,
        monochrome1: photometric == "MONOCHROME1",
        file_windows,
        modality,
        sop_instance_uid: text(&obj, tags::SOP_INSTANCE_UID),
        notes,
    })
}

/// Reads only the SOPInstanceUID of a DICOM file (for labels keyed by it); `None` when absent.
pub fn read_sop_instance_uid(path: &Path, limits: &Limits) -> Result<Option<String>> {
    let io = || Error::io(&path);
    check_file_size(path, std::fs::metadata(path).map_err(io())?.len(), limits)?;
    let bytes = std::fs::read(path).map_err(io())?;
    super::scan::check_element_lengths(path, &bytes)?;
    let (obj, _) = open_dicom(path, &bytes, true)?;
    Ok(text(&obj, tags::SOP_INSTANCE_UID))
}

/// JPEG Extended (Process 2 & 4): 8-bit samples are read, 12-bit ones are not.
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// Transfer syntaxes whose pixel data this build decodes (dicom-rs' `native` set, without
/// deflate, which [`super::scan`] refuses): implicit and explicit VR little endian, explicit
/// big endian, RLE lossless, JPEG baseline, extended (8-bit samples only) and lossless.
const DECODED_TRANSFER_SYNTAXES: [&str; 8] = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
];

/// How a word of pixel data holds a stored value: its low `bits` bits, signed or not.
#[derive(Clone, Copy)]
struct StoredValue {
    bits: u32,
    signed: bool,
}

impl StoredValue {
    fn new(bits_stored: u16, signed: bool) -> Self {
        Self {
            bits: u32::from(bits_stored).clamp(1, 32),
            signed,
        }
    }

    /// The stored value in `word` (the word as dicom-rs gives it, or as a header writes it).
    fn of(self, word: i64) -> i32 {
        let mask = if self.bits >= 32 {
            u32::MAX
        } else {
            (1u32 << self.bits) - 1
        };
        let v = (word as u32) & mask;
        if self.signed && self.bits < 32 && v >> (self.bits - 1) & 1 == 1 {
            (i64::from(v) - (1i64 << self.bits)) as i32
        } else {
            v as i32
        }
    }
}

/// An attribute of an enhanced (multi-frame) image's functional groups for `frame`: the
/// per-frame group first, then the shared one (PS3.3 C.7.6.16), looked up inside their Pixel
/// Value Transformation Sequence (0028,9145), where enhanced CT keeps its rescale.
fn functional_group(obj: &DefaultDicomObject, frame: u32, tag: dicom_core::Tag) -> Option<f64> {
    let in_groups = |groups: &InMemElement, index: usize| -> Option<f64> {
        let group = groups.items()?.get(index)?;
        let transform = group
            .element(tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE)
            .ok()?;
        transform
            .items()?
            .first()?
            .element(tag)
            .ok()?
            .to_float64()
            .ok()
    };
    element(obj, tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|g| in_groups(g, frame as usize))
        .or_else(|| {
            element(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE).and_then(|g| in_groups(g, 0))
        })
}

pub(super) fn element(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<&InMemElement> {
    obj.element_opt(tag).ok().flatten()
}

pub(super) fn text(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let s = element(obj, tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

pub(super) fn int(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    element(obj, tag)?.to_int::<i64>().ok()
}

fn float(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Option<f64> {
    element(obj, tag)?.to_float64().ok()
}

pub(super) fn floats(obj: &DefaultDicomObject, tag: dicom_core::Tag) -> Vec<f64> {
    element(obj, tag)
        .and_then(|e| e.to_multi_float64().ok())
        .unwrap_or_default()
}

impl CtSlice {
    /// The slice in `window`: grey levels in `[0, 1]`, row-major, inverted for MONOCHROME1.
    pub fn grey(&self, window: &Window) -> Vec<f32> {
        self.hounsfield
            .iter()
            .map(|&hu| {
                let g = window.grey(hu);
                if self.monochrome1 {
                    1.0 - g
                } else {
                    g
                }
            })
            .collect()
    }

    /// Writes the model input: channel `c` is the slice in `input.windows.channels[c]`, resized
    /// to `input.side x input.side` with the input's filter ([`resize::grey_plane_into`]:
    /// windowed first, then resized, as a display would), CHW into `out` (`3 x side x side`
    /// floats in `[0, 1]`).
    pub fn to_chw(&self, input: &ModelInput, out: &mut [f32]) {
        let plane = input.side * input.side;
        let mut done: Vec<(Window, usize)> = Vec::new();
        for (c, window) in input.windows.channels.iter().enumerate() {
            if let Some(&(_, from)) = done.iter().find(|(w, _)| w == window) {
                out.copy_within(from * plane..(from + 1) * plane, c * plane);
                continue;
            }
            let grey = self.grey(window);
            let dst = &mut out[c * plane..(c + 1) * plane];
            resize::grey_plane_into(grey, self.columns, self.rows, input, dst);
            done.push((*window, c));
        }
    }
}
