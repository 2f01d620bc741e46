//! Writing a slice of CT numbers as a DICOM CT image (CT Image Storage, explicit VR little
//! endian, uncompressed): the DICOM phantoms, and the synthetic files the tests make.

use std::path::Path;

use dicom_core::{value::PrimitiveValue, DataElement, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::input::Window;
use crate::{Error, Result};

/// One DICOM CT slice to write: stored values and the attributes that say how they become CT
/// numbers. Build it with [`CtImage::from_hounsfield`] (12 bits stored, intercept −1024, as
/// most scanners write) and change fields for other encodings.
#[derive(Debug, Clone, PartialEq)]
pub struct CtImage {
    /// Rows (height) and columns (width), pixels.
    pub rows: usize,
    pub columns: usize,
    /// Stored values, row-major (`rows x columns`).
    pub stored: Vec<i32>,
    /// BitsStored, 1 to 16: 8 or fewer are written in 8-bit words, more in 16-bit words.
    pub bits_stored: u16,
    /// PixelRepresentation: signed (two's complement) or unsigned stored values.
    pub signed: bool,
    /// RescaleSlope and RescaleIntercept (CT number = stored x slope + intercept); `None`
    /// leaves both out.
    pub rescale: Option<(f64, f64)>,
    /// PhotometricInterpretation MONOCHROME1 (low values white) instead of MONOCHROME2.
    pub monochrome1: bool,
    /// PixelPaddingValue, a stored value that marks pixels outside the patient.
    pub padding_value: Option<i32>,
    /// WindowCenter/WindowWidth pairs the file suggests (multi-valued when more than one).
    pub windows: Vec<Window>,
    /// Modality, `CT` for a CT image.
    pub modality: String,
    /// SOPInstanceUID, unique per slice ([`uid_from`]).
    pub sop_instance_uid: String,
    /// PixelSpacing, millimetres per pixel (rows and columns alike).
    pub pixel_spacing_mm: f64,
    /// Where the slice sits in a study and series; `None` gives every slice a study and a
    /// series of its own, drawn from its SOPInstanceUID, and no position.
    pub placement: Option<SlicePlacement>,
}

/// Where a slice sits in a study: what a study reader groups and orders by. DICOM PS3.3
/// C.7.2.1 (General Study), C.7.3.1 (General Series), C.7.6.1 (General Image) and C.7.6.2
/// (Image Plane).
#[derive(Debug, Clone, PartialEq)]
pub struct SlicePlacement {
    /// StudyInstanceUID (0020,000D).
    pub study_instance_uid: String,
    /// StudyDate (0008,0020), `YYYYMMDD`.
    pub study_date: Option<String>,
    /// SeriesInstanceUID (0020,000E).
    pub series_instance_uid: String,
    /// SeriesNumber (0020,0011).
    pub series_number: i32,
    /// SeriesDescription (0008,103E), e.g. `HEAD 5mm STND`.
    pub series_description: String,
    /// InstanceNumber (0020,0013).
    pub instance_number: i32,
    /// ImagePositionPatient (0020,0032): the centre of the first transmitted pixel, mm, in
    /// the patient coordinate system (x to the patient's left, y posterior, z head-ward).
    pub image_position_mm: [f64; 3],
    /// ImageOrientationPatient (0020,0037): direction cosines of the first row and the first
    /// column. Axial: `[1, 0, 0, 0, 1, 0]`.
    pub image_orientation: [f64; 6],
    /// SliceThickness (0018,0050), mm.
    pub slice_thickness_mm: f64,
    /// ImageType (0008,0008), e.g. `ORIGINAL\PRIMARY\AXIAL` or `ORIGINAL\PRIMARY\LOCALIZER`.
    pub image_type: Vec<String>,
}

/// The DICOM offset of 12-bit CT: stored value = CT number + 1024.
pub const CT_INTERCEPT: f64 = -1024.0;

impl CtImage {
    /// A slice of CT numbers `hounsfield` (HU, row-major), stored as most scanners do: unsigned,
    /// 12 bits stored, slope 1, intercept −1024 (so −1024 to 3071 HU; values outside are
    /// clipped, and rounded to whole HU). The file suggests the brain and bone windows, as
    /// scanners often write two window pairs.
    pub fn from_hounsfield(
        rows: usize,
        columns: usize,
        hounsfield: &[f32],
        sop_instance_uid: String,
    ) -> CtImage {
        assert_eq!(
            hounsfield.len(),
            rows * columns,
            "rows x columns CT numbers"
        );
        CtImage {
            rows,
            columns,
            stored: hounsfield
                .iter()
                .map(|&hu| (f64::from(hu) - CT_INTERCEPT).round().clamp(0.0, 4095.0) as i32)
                .collect(),
            bits_stored: 12,
            signed: false,
            rescale: Some((1.0, CT_INTERCEPT)),
            monochrome1: false,
            padding_value: None,
            windows: vec![Window::BRAIN, Window::BONE],
            modality: "CT".into(),
            sop_instance_uid,
            pixel_spacing_mm: 0.5,
            placement: None,
        }
    }

    /// The DICOM dataset (without the file meta group).
    pub fn to_dataset(&self) -> Result<InMemDicomObject> {
        if self.stored.len() != self.rows * self.columns
            || self.rows > usize::from(u16::MAX)
            || self.columns > usize::from(u16::MAX)
            || !(1..=16).contains(&self.bits_stored)
        {
            return Err(Error::InvalidInput(format!(
                "a CT image of {}x{} pixels with {} values and {} bits stored cannot be written",
                self.columns,
                self.rows,
                self.stored.len(),
                self.bits_stored
            )));
        }
        let eight = self.bits_stored <= 8;
        let mut obj = InMemDicomObject::new_empty();
        let mut put = |tag: Tag, vr: VR, value: PrimitiveValue| {
            obj.put(DataElement::new(tag, vr, value));
        };
        let text = |s: &str| PrimitiveValue::from(s);
        put(tags::SOP_CLASS_UID, VR::UI, text(uids::CT_IMAGE_STORAGE));
        put(tags::SOP_INSTANCE_UID, VR::UI, text(&self.sop_instance_uid));
        put(tags::MODALITY, VR::CS, text(&self.modality));
        put(tags::PATIENT_NAME, VR::PN, text("Phantom^Synthetic"));
        put(tags::PATIENT_ID, VR::LO, text("HEAD-CT-PHANTOM"));
        let strs = |v: &[String]| PrimitiveValue::Strs(v.iter().cloned().collect());
        let decimals = |v: &[f64]| strs(&v.iter().map(|x| x.to_string()).collect::<Vec<_>>());
        match &self.placement {
            None => {
                // One study and series per slice, drawn from its SOPInstanceUID.
                let key = self
                    .sop_instance_uid
                    .bytes()
                    .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
                    });
                let (study, series) = (uid_from(&[key, 1]), uid_from(&[key, 2]));
                put(tags::STUDY_INSTANCE_UID, VR::UI, text(&study));
                put(tags::SERIES_INSTANCE_UID, VR::UI, text(&series));
                put(
                    tags::IMAGE_TYPE,
                    VR::CS,
                    strs(&["DERIVED".into(), "SECONDARY".into(), "AXIAL".into()]),
                );
            }
            Some(p) => {
                put(
                    tags::STUDY_INSTANCE_UID,
                    VR::UI,
                    text(&p.study_instance_uid),
                );
                if let Some(date) = &p.study_date {
                    put(tags::STUDY_DATE, VR::DA, text(date));
                }
                put(
                    tags::SERIES_INSTANCE_UID,
                    VR::UI,
                    text(&p.series_instance_uid),
                );
                put(
                    tags::SERIES_NUMBER,
                    VR::IS,
                    text(&p.series_number.to_string()),
                );
                put(
                    tags::SERIES_DESCRIPTION,
                    VR::LO,
                    text(&p.series_description),
                );
                put(
                    tags::INSTANCE_NUMBER,
                    VR::IS,
                    text(&p.instance_number.to_string()),
                );
                put(tags::IMAGE_TYPE, VR::CS, strs(&p.image_type));
                put(
                    tags::IMAGE_POSITION_PATIENT,
                    VR::DS,
                    decimals(&p.image_position_mm),
                );
                put(
                    tags::IMAGE_ORIENTATION_PATIENT,
                    VR::DS,
                    decimals(&p.image_orientation),
                );
                put(
                    tags::SLICE_THICKNESS,
                    VR::DS,
                    text(&p.slice_thickness_mm.to_string()),
                );
            }
        }
        put(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16));
        put(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            text(if self.monochrome1 {
                "MONOCHROME1"
            } else {
                "MONOCHROME2"
            }),
        );
        put(tags::ROWS, VR::US, PrimitiveValue::from(self.rows as u16));
        put(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(self.columns as u16),
        );
        let spacing = format!("{}", self.pixel_spacing_mm);
        put(
            tags::PIXEL_SPACING,
            VR::DS,
            PrimitiveValue::Strs([spacing.clone(), spacing].into()),
        );
        put(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(if eight { 8u16 } else { 16 }),
        );
        put(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(self.bits_stored),
        );
        put(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(self.bits_stored - 1),
        );
        put(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(u16::from(self.signed)),
        );
        if let Some((slope, intercept)) = self.rescale {
            put(
                tags::RESCALE_INTERCEPT,
                VR::DS,
                text(&intercept.to_string()),
            );
            put(tags::RESCALE_SLOPE, VR::DS, text(&slope.to_string()));
            put(tags::RESCALE_TYPE, VR::LO, text("HU"));
        }
        if !self.windows.is_empty() {
            let list = |f: fn(&Window) -> f32| -> PrimitiveValue {
                PrimitiveValue::Strs(self.windows.iter().map(|w| f(w).to_string()).collect())
            };
            put(tags::WINDOW_CENTER, VR::DS, list(|w| w.level));
            put(tags::WINDOW_WIDTH, VR::DS, list(|w| w.width));
        }
        if let Some(p) = self.padding_value {
            let value = if self.signed {
                PrimitiveValue::from(p as i16)
            } else {
                PrimitiveValue::from(p as u16)
            };
            put(
                tags::PIXEL_PADDING_VALUE,
                if self.signed { VR::SS } else { VR::US },
                value,
            );
        }
        let pixels = if eight {
            PrimitiveValue::U8(self.stored.iter().map(|&v| v as u8).collect())
        } else {
            PrimitiveValue::U16(self.stored.iter().map(|&v| v as u16).collect())
        };
        put(
            tags::PIXEL_DATA,
            if eight { VR::OB } else { VR::OW },
            pixels,
        );
        Ok(obj)
    }

    /// The whole DICOM file (preamble, `DICM`, file meta group, dataset).
    pub fn to_dicom_bytes(&self) -> Result<Vec<u8>> {
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
            .implementation_class_uid("2.25.1207220426021103003")
            .implementation_version_name("HEAD-CT");
        let file = self
            .to_dataset()?
            .with_meta(meta)
            .map_err(|e| Error::InvalidInput(format!("cannot build the DICOM file meta: {e}")))?;
        let mut bytes = Vec::new();
        file.write_all(&mut bytes)
            .map_err(|e| Error::InvalidInput(format!("cannot encode DICOM: {e}")))?;
        Ok(bytes)
    }

    /// Writes the file atomically (temporary file, then rename).
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = self
            .to_dicom_bytes()
            .map_err(|e| Error::data(path, e.to_string()))?;
        crate::fsutil::write_atomically(path, &bytes)
    }
}

/// A DICOM UID drawn from `parts` (the same parts give the same UID): `2.25.` and a 128-bit
/// number, the UUID-derived form of PS3.5 B.2 (no registered root needed).
pub fn uid_from(parts: &[u64]) -> String {
    let mut seed = 0x6865_6164_2d63_7421u64; // "head-ct!"
    for &p in parts {
        seed = seed.rotate_left(17) ^ p.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
    let n: u128 = ChaCha8Rng::seed_from_u64(seed).gen();
    // PS3.5 B.2: the integer of a UUID; drop the top bit so it stays a 128-bit value.
    format!("2.25.{}", n >> 1)
}
