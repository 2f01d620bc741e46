//! A DICOM file's header without its pixels: what a study reader groups, orders and skips by.
//!
//! dicom-rs stops before PixelData (`read_until`), so reading the header of a 512x512 slice
//! costs no pixel decoding; the file's bytes are still checked element by element first
//! ([`super::scan`]), which also tells whether it has pixel data at all.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use dicom_object::DefaultDicomObject;

use super::dicom::{check_file_size, floats, int, text};
use crate::{input::Limits, Error, Result};

/// Media Storage Directory Storage: the SOP class of a `DICOMDIR` (PS3.4 Annex F).
const MEDIA_STORAGE_DIRECTORY: &str = "1.2.840.10008.1.3.10";

/// The attributes of one DICOM file that say what it is and where it sits in a study. DICOM
/// PS3.3 C.7.2.1 (General Study), C.7.3.1 (General Series), C.7.6.1 (General Image), C.7.6.2
/// (Image Plane), C.12.1 (SOP Common). Patient name, id and birth date are not taken.
#[derive(Debug, Clone, PartialEq)]
pub struct DicomHeader {
    pub path: PathBuf,
    /// SOPClassUID (0008,0016), or the file meta's MediaStorageSOPClassUID.
    pub sop_class_uid: Option<String>,
    /// SOPInstanceUID (0008,0018).
    pub sop_instance_uid: Option<String>,
    /// StudyInstanceUID (0020,000D).
    pub study_uid: Option<String>,
    /// StudyDate (0008,0020), `YYYYMMDD` as stored.
    pub study_date: Option<String>,
    /// SeriesInstanceUID (0020,000E).
    pub series_uid: Option<String>,
    /// SeriesNumber (0020,0011).
    pub series_number: Option<i64>,
    /// SeriesDescription (0008,103E).
    pub series_description: Option<String>,
    /// Modality (0008,0060), `CT` for CT.
    pub modality: Option<String>,
    /// InstanceNumber (0020,0013).
    pub instance_number: Option<i64>,
    /// ImageType (0008,0008), every value (`ORIGINAL`, `PRIMARY`, `AXIAL` or `LOCALIZER`, ...).
    pub image_type: Vec<String>,
    /// ImagePositionPatient (0020,0032), mm: the centre of the first transmitted pixel.
    pub image_position_mm: Option<[f64; 3]>,
    /// ImageOrientationPatient (0020,0037): direction cosines of the first row, then of the
    /// first column.
    pub image_orientation: Option<[f64; 6]>,
    /// Rows (0028,0010) and Columns (0028,0011), pixels; 0 when absent.
    pub rows: u32,
    pub columns: u32,
    /// Whether the file has a PixelData element (7FE0,0010).
    pub has_pixel_data: bool,
}

impl DicomHeader {
    /// True when the file is a `DICOMDIR`, the index of a DICOM media folder.
    pub fn is_dicomdir(&self) -> bool {
        self.sop_class_uid.as_deref() == Some(MEDIA_STORAGE_DIRECTORY)
    }

    /// True when ImageType (value 3 or any later) says LOCALIZER: a scout image.
    pub fn is_localizer(&self) -> bool {
        self.image_type
            .iter()
            .skip(2)
            .any(|v| v.eq_ignore_ascii_case("LOCALIZER"))
    }

    /// The unit normal of the slice plane, row x column direction (PS3.3 C.7.6.2.1.1), when
    /// the orientation is present and its two vectors are not parallel.
    pub fn slice_normal(&self) -> Option<[f64; 3]> {
        let o = self.image_orientation?;
        let (r, c) = ([o[0], o[1], o[2]], [o[3], o[4], o[5]]);
        let n = [
            r[1] * c[2] - r[2] * c[1],
            r[2] * c[0] - r[0] * c[2],
            r[0] * c[1] - r[1] * c[0],
        ];
        let length = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
        (length > 1e-6).then(|| n.map(|v| v / length))
    }

    /// What kind of non-image object the SOP class names (PS3.4 Annex B), for a sentence:
    /// `Some("structured report")`, ...; `None` for image storage or an unknown class.
    pub fn non_image_kind(&self) -> Option<&'static str> {
        let class = self.sop_class_uid.as_deref()?;
        let kind = match class {
            MEDIA_STORAGE_DIRECTORY => "DICOMDIR (the index of a DICOM media folder)",
            c if c.starts_with("1.2.840.10008.5.1.4.1.1.88.59") => "key object selection",
            c if c.starts_with("1.2.840.10008.5.1.4.1.1.88.") => "structured report",
            c if c.starts_with("1.2.840.10008.5.1.4.1.1.11.") => "presentation state",
            "1.2.840.10008.5.1.4.1.1.481.3" => "RT structure set",
            c if c.starts_with("1.2.840.10008.5.1.4.1.1.481.") => "RT object",
            "1.2.840.10008.5.1.4.1.1.66.4" => "segmentation",
            c if c.starts_with("1.2.840.10008.5.1.4.1.1.66") => "raw data or registration",
            c if c.starts_with("1.2.840.10008.5.1.4.1.1.104.") => "encapsulated document",
            c if c.starts_with("1.2.840.10008.5.1.4.1.1.9.") => "waveform",
            _ => return None,
        };
        Some(kind)
    }
}

/// Reads the header of the DICOM file at `path` (with the 128-byte preamble and `DICM`),
/// within `limits`' file size. Errors name the file: unreadable, over the size limit, damaged
/// element lengths, or not parseable as DICOM.
pub fn read_dicom_header(path: &Path, limits: &Limits) -> Result<DicomHeader> {
    let io = || Error::io(&path);
    check_file_size(path, std::fs::metadata(path).map_err(io())?.len(), limits)?;
    let bytes = std::fs::read(path).map_err(io())?;
    let has_pixel_data = super::scan::check_element_lengths(path, &bytes)?;
    let (obj, _) = super::dicom::open_dicom(path, &bytes, true)?;
    Ok(header_of(path, &obj, has_pixel_data))
}

fn header_of(path: &Path, obj: &DefaultDicomObject, has_pixel_data: bool) -> DicomHeader {
    let fixed = |tag, want: usize| -> Option<Vec<f64>> {
        let v = floats(obj, tag);
        (v.len() == want && v.iter().all(|x| x.is_finite())).then_some(v)
    };
    let side = |tag| {
        int(obj, tag)
            .and_then(|v| u16::try_from(v).ok())
            .map_or(0, u32::from)
    };
    let sop_class_uid = text(obj, tags::SOP_CLASS_UID).or_else(|| {
        let class = obj.meta().media_storage_sop_class_uid();
        let class = class.trim_end_matches(['\0', ' ']);
        (!class.is_empty()).then(|| class.to_string())
    });
    DicomHeader {
        path: path.to_path_buf(),
        sop_class_uid,
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        study_uid: text(obj, tags::STUDY_INSTANCE_UID),
        study_date: text(obj, tags::STUDY_DATE),
        series_uid: text(obj, tags::SERIES_INSTANCE_UID),
        series_number: int(obj, tags::SERIES_NUMBER),
        series_description: text(obj, tags::SERIES_DESCRIPTION),
        modality: text(obj, tags::MODALITY),
        instance_number: int(obj, tags::INSTANCE_NUMBER),
        image_type: super::dicom::element(obj, tags::IMAGE_TYPE)
            .and_then(|e| e.to_multi_str().ok())
            .map(|v| v.iter().map(|s| s.trim().to_string()).collect())
            .unwrap_or_default(),
        image_position_mm: fixed(tags::IMAGE_POSITION_PATIENT, 3).map(|v| [v[0], v[1], v[2]]),
        image_orientation: fixed(tags::IMAGE_ORIENTATION_PATIENT, 6)
            .map(|v| [v[0], v[1], v[2], v[3], v[4], v[5]]),
        rows: side(tags::ROWS),
        columns: side(tags::COLUMNS),
        has_pixel_data,
    }
}
