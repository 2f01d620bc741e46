//! CT numbers and windows: DICOM files made here (64x64, no download), read back in the
//! standard's order (rescale, window, MONOCHROME1, padding), and the bad files users meet.

use head_ct::data::Loader;
use head_ct::data::Split;
use head_ct::input::{Limits, ModelInput};
use std::path::{Path, PathBuf};

use dicom_core::{value::PrimitiveValue, DataElement, VR};
use dicom_dictionary_std::tags;
use head_ct::{
    ct::{read_ct_slice, CtImage, InputWindows, Window},
    data::{
        phantoms::{ct_phantom_set, generate_ct_phantoms, write_ct_phantom_layout},
        prepare::SplitCounts,
    },
    inference::predict_set,
    model::IMAGE_SIZE,
    training::{observer::Silent, train_model, Recipe},
    Threshold,
};

const SIDE: usize = 64;
const PLANE: usize = IMAGE_SIZE * IMAGE_SIZE;

/// A 64x64 CT image, 12 bits stored, slope 1, intercept -1024, whose three vertical bands hold
/// the stored values 984, 1064 and 1144 (HU -40, 40, 120).
fn three_bands() -> CtImage {
    let stored = (0..SIDE * SIDE)
        .map(|i| match (i % SIDE) * 3 / SIDE {
            0 => 984,
            1 => 1064,
            _ => 1144,
        })
        .collect();
    CtImage {
        stored,
        ..CtImage::from_hounsfield(SIDE, SIDE, &[0.0; SIDE * SIDE], "2.25.1".into())
    }
}

fn write(dir: &Path, name: &str, image: &CtImage) -> PathBuf {
    let path = dir.join(name);
    image.write(&path).unwrap();
    path
}

/// The grey level of the band centres (columns 10, 32, 53, row 32) in a 64x64 slice windowed
/// without resizing.
fn band_greys(image: &CtImage, dir: &Path, name: &str) -> [f32; 3] {
    let slice = read_ct_slice(&write(dir, name, image), &Limits::default()).unwrap();
    let grey = slice.grey(&Window::BRAIN);
    [10, 32, 53].map(|col| grey[32 * SIDE + col])
}

#[test]
fn stored_values_become_hounsfield_units_then_the_brain_window() {
    let dir = tempfile::tempdir().unwrap();
    let slice = read_ct_slice(
        &write(dir.path(), "bands.dcm", &three_bands()),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(slice.hounsfield[32 * SIDE + 10], -40.0);
    assert_eq!(slice.hounsfield[32 * SIDE + 32], 40.0);
    assert_eq!(slice.hounsfield[32 * SIDE + 53], 120.0);
    // LINEAR (PS3.3 C.11.2.1.2.1): HU 40 in level 40 / width 80 is 0.5 + 0.5/79 = 0.50633.
    let [low, middle, high] = band_greys(&three_bands(), dir.path(), "bands.dcm");
    assert_eq!(low, 0.0);
    assert!((middle - 0.506_329).abs() < 1e-5, "{middle}");
    assert_eq!(high, 1.0);
    assert!(slice.notes.is_empty(), "{:?}", slice.notes);
}

#[test]
fn monochrome1_is_inverted_after_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let image = CtImage {
        monochrome1: true,
        ..three_bands()
    };
    let [low, middle, high] = band_greys(&image, dir.path(), "m1.dcm");
    let notes = read_ct_slice(&dir.path().join("m1.dcm"), &Limits::default())
        .unwrap()
        .notes;
    assert!(
        notes.iter().any(|n| n.starts_with("MONOCHROME1")),
        "{notes:?}"
    );
    assert_eq!(low, 1.0);
    assert!((middle - (1.0 - 0.506_329)).abs() < 1e-5, "{middle}");
    assert_eq!(high, 0.0);
}

#[test]
fn signed_pixels_with_padding_are_air_and_never_stretched() {
    let dir = tempfile::tempdir().unwrap();
    // Signed, slope 1, intercept 0: stored value = HU. Brain (30 HU) inside, a 10-pixel corner
    // of padding (-2000) in each corner.
    let corner = |i: usize| {
        let (r, c) = (i / SIDE, i % SIDE);
        !(10..SIDE - 10).contains(&r) && !(10..SIDE - 10).contains(&c)
    };
    let mut padded = three_bands();
    padded.signed = true;
    padded.rescale = Some((1.0, 0.0));
    padded.padding_value = Some(-2000);
    padded.stored = (0..SIDE * SIDE)
        .map(|i| if corner(i) { -2000 } else { 30 })
        .collect();
    let slice = read_ct_slice(
        &write(dir.path(), "padded.dcm", &padded),
        &Limits::default(),
    )
    .unwrap();
    assert_eq!(slice.padding_pixels, 4 * 100);
    assert_eq!(slice.hounsfield[0], head_ct::ct::AIR_HU);
    let grey = slice.grey(&Window::BRAIN);
    assert_eq!(grey[0], 0.0, "padding shows as air");
    assert_eq!(grey[SIDE * SIDE - 1], 0.0);

    // The same slice with air instead of padding gives the same model input everywhere: no
    // per-image stretching.
    let mut air = padded.clone();
    air.padding_value = None;
    air.stored = (0..SIDE * SIDE)
        .map(|i| if corner(i) { -1000 } else { 30 })
        .collect();
    let a = Loader::default()
        .file(&write(dir.path(), "padded.dcm", &padded))
        .unwrap();
    let b = Loader::default()
        .file(&write(dir.path(), "air.dcm", &air))
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn a_multi_valued_window_centre_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let image = CtImage {
        windows: vec![Window::BRAIN, Window::new(600.0, 2800.0).unwrap()],
        ..three_bands()
    };
    let slice = read_ct_slice(&write(dir.path(), "two.dcm", &image), &Limits::default()).unwrap();
    assert_eq!(slice.file_windows, vec![Window::BRAIN, Window::BONE]);
    // ... and never applied: the file's windows are not the model's.
    let mut bone_only = image.clone();
    bone_only.windows = vec![Window::BONE];
    assert_eq!(
        Loader::default()
            .file(&write(dir.path(), "two.dcm", &image))
            .unwrap(),
        Loader::default()
            .file(&write(dir.path(), "bone.dcm", &bone_only))
            .unwrap()
    );
}

#[test]
fn stored_values_are_the_low_bits_stored_sign_extended_when_signed() {
    let dir = tempfile::tempdir().unwrap();
    let read = |name: &str, image: &CtImage| {
        read_ct_slice(&write(dir.path(), name, image), &Limits::default()).unwrap()
    };
    // 8-bit signed: -5 is stored as the byte 251.
    let mut eight = three_bands();
    eight.bits_stored = 8;
    eight.signed = true;
    eight.rescale = Some((1.0, 0.0));
    eight.stored = vec![-5; SIDE * SIDE];
    assert_eq!(read("s8.dcm", &eight).hounsfield[0], -5.0);
    // 12-bit signed in a 16-bit word without sign extension (as JPEG lossless decoders give
    // it): -1000 is the word 0x0C18 (4096 - 1000 = 3096).
    let mut twelve = three_bands();
    twelve.signed = true;
    twelve.rescale = Some((1.0, 0.0));
    twelve.stored = vec![3096; SIDE * SIDE];
    assert_eq!(read("s12.dcm", &twelve).hounsfield[0], -1000.0);
    // Bits above BitsStored (an overlay bit 15 in a 12-bit unsigned image) are not the value.
    let mut overlay = three_bands();
    overlay.stored = vec![0x8000 | 1064; SIDE * SIDE];
    assert_eq!(read("ov.dcm", &overlay).hounsfield[0], 40.0);
    // A padding value written as a 12-bit signed word is matched as a stored value.
    let mut padded = twelve.clone();
    padded.padding_value = Some(2048); // 12-bit two's complement of -2048
    padded.stored = vec![-2048i32 & 0xFFF; SIDE * SIDE];
    let slice = read("pad.dcm", &padded);
    assert_eq!(slice.padding_pixels, SIDE * SIDE);
}

#[test]
fn files_named_by_their_uid_or_without_extension_are_read_and_dicomdir_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("scan");
    std::fs::create_dir_all(&folder).unwrap();
    three_bands()
        .write(&folder.join("1.2.840.113619.2.55.3.604688119"))
        .unwrap();
    three_bands().write(&folder.join("IM0001")).unwrap();
    // A DICOMDIR carries the marker but no image: skipped, as Thumbs.db is.
    std::fs::write(
        folder.join("DICOMDIR"),
        three_bands().to_dicom_bytes().unwrap(),
    )
    .unwrap();
    let set = Loader::new(ModelInput::with_windows(InputWindows::BRAIN))
        .folder(&folder)
        .unwrap();
    assert_eq!(set.len(), 2);
    // Any other file is still an error that names it.
    std::fs::write(folder.join("notes.v2"), b"text").unwrap();
    let err = Loader::new(ModelInput::with_windows(InputWindows::BRAIN))
        .folder(&folder)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("notes.v2") && err.contains("not an image file"),
        "{err}"
    );
}

#[test]
fn enhanced_multi_frame_ct_takes_its_rescale_from_the_functional_groups() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = bands_file_with(|o| {
        o.remove_element(tags::RESCALE_SLOPE);
        o.remove_element(tags::RESCALE_INTERCEPT);
        let transform = dicom_object::InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::RESCALE_INTERCEPT,
                VR::DS,
                PrimitiveValue::from("-1024"),
            ),
            DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from("1")),
        ]);
        let group = dicom_object::InMemDicomObject::from_element_iter([DataElement::new(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![transform]),
        )]);
        o.put(DataElement::new(
            tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
            VR::SQ,
            dicom_core::value::DataSetSequence::from(vec![group]),
        ));
    });
    let path = dir.path().join("enhanced.dcm");
    std::fs::write(&path, bytes).unwrap();
    let slice = read_ct_slice(&path, &Limits::default()).unwrap();
    assert!(slice.notes.is_empty(), "{:?}", slice.notes);
    assert_eq!(slice.hounsfield[32 * SIDE + 32], 40.0);
}

#[test]
fn eight_and_sixteen_bits_stored_read_the_same_ct_numbers() {
    let dir = tempfile::tempdir().unwrap();
    // 8 bits: stored 0..=255, slope 8, intercept -1024 -> HU -1024..1016.
    let stored8: Vec<i32> = (0..SIDE * SIDE).map(|i| (i % 256) as i32).collect();
    let mut eight = three_bands();
    eight.bits_stored = 8;
    eight.rescale = Some((8.0, -1024.0));
    eight.stored = stored8.clone();
    let s8 = read_ct_slice(&write(dir.path(), "8.dcm", &eight), &Limits::default()).unwrap();
    // 16 bits, signed: stored = HU.
    let mut sixteen = three_bands();
    sixteen.bits_stored = 16;
    sixteen.signed = true;
    sixteen.rescale = Some((1.0, 0.0));
    sixteen.stored = stored8.iter().map(|v| v * 8 - 1024).collect();
    let s16 = read_ct_slice(&write(dir.path(), "16.dcm", &sixteen), &Limits::default()).unwrap();
    assert_eq!(s8.hounsfield, s16.hounsfield);
    assert_eq!(s16.hounsfield[255], 1016.0);
}

#[test]
fn three_windows_give_three_different_channels_where_blood_meets_bone() {
    let dir = tempfile::tempdir().unwrap();
    // Left half bone (1000 HU), then a band of blood (70 HU), then brain (30 HU).
    let hu: Vec<f32> = (0..SIDE * SIDE)
        .map(|i| match i % SIDE {
            0..=21 => 1000.0,
            22..=42 => 70.0,
            _ => 30.0,
        })
        .collect();
    let path = write(
        dir.path(),
        "rim.dcm",
        &CtImage::from_hounsfield(SIDE, SIDE, &hu, "2.25.2".into()),
    );
    let x = Loader::new(ModelInput::with_windows(InputWindows::THREE))
        .file(&path)
        .unwrap();
    let channel = |c: usize| &x[c * PLANE..(c + 1) * PLANE];
    let at = |c: usize, col: usize| channel(c)[75 * IMAGE_SIZE + col];
    // Brain window: blood and bone both near white; subdural: blood mid-grey, bone white;
    // bone window: blood and brain nearly one grey, bone bright.
    let blood = 75; // column 75 of 150 is the blood band
    assert!(
        at(0, blood) > 0.85 && at(1, blood) < 0.6,
        "{} {}",
        at(0, blood),
        at(1, blood)
    );
    assert!((at(2, blood) - at(2, 140)).abs() < 0.03);
    assert_ne!(channel(0), channel(1));
    assert_ne!(channel(1), channel(2));
    assert_ne!(channel(0), channel(2));
    // One window fills the three channels alike.
    let one = Loader::new(ModelInput::with_windows(InputWindows::BRAIN))
        .file(&path)
        .unwrap();
    assert_eq!(&one[..PLANE], &one[PLANE..2 * PLANE]);
    assert_eq!(&one[..PLANE], channel(0));
}

#[test]
fn a_dicom_phantom_and_its_png_get_the_same_probability() {
    let dir = tempfile::tempdir().unwrap();
    // A model trained briefly on the CT phantoms in the brain window.
    let train = ct_phantom_set(
        4,
        Split::Train,
        20,
        &ModelInput::with_windows(InputWindows::BRAIN),
    )
    .images;
    let validate = ct_phantom_set(
        4,
        Split::Validate,
        5,
        &ModelInput::with_windows(InputWindows::BRAIN),
    )
    .images;
    let recipe = Recipe {
        epochs: 2,
        ..Recipe::TEACHING
    };
    let trained = train_model(&train, &validate, &recipe, 4, &mut Silent).unwrap();

    // The test phantoms as DICOM, and as 8-bit PNGs of the same slices in the same window.
    let mut dicoms = Vec::new();
    let mut pngs = Vec::new();
    for (i, (_, phantom)) in generate_ct_phantoms(4, Split::Test, 4).iter().enumerate() {
        let image = CtImage::from_hounsfield(
            IMAGE_SIZE,
            IMAGE_SIZE,
            &phantom.gray,
            format!("2.25.{}", 10 + i),
        );
        let dicom = write(dir.path(), &format!("{i}.dcm"), &image);
        let grey = read_ct_slice(&dicom, &Limits::default())
            .unwrap()
            .grey(&Window::BRAIN);
        let bytes: Vec<u8> = grey.iter().map(|g| (g * 255.0).round() as u8).collect();
        let png = dir.path().join(format!("{i}.png"));
        image::save_buffer(
            &png,
            &bytes,
            IMAGE_SIZE as u32,
            IMAGE_SIZE as u32,
            image::ColorType::L8,
        )
        .unwrap();
        dicoms.push(dicom);
        pngs.push(png);
    }
    let threshold = Threshold::DEFAULT;
    let from_dicom = Loader::new(ModelInput::with_windows(InputWindows::BRAIN))
        .files(&dicoms)
        .unwrap();
    let from_png = Loader::new(ModelInput::with_windows(InputWindows::BRAIN))
        .files(&pngs)
        .unwrap();
    let p_dicom = predict_set(&trained.model, &trained.dev, &from_dicom, threshold).unwrap();
    let p_png = predict_set(&trained.model, &trained.dev, &from_png, threshold).unwrap();
    for (a, b) in p_dicom.iter().zip(&p_png) {
        assert!(
            (a.probability - b.probability).abs() < 0.01,
            "{}: DICOM {} vs PNG {}",
            a.path.display(),
            a.probability,
            b.probability
        );
    }
    // The model is not a constant: the comparison means something.
    let spread = p_dicom
        .iter()
        .map(|p| p.probability)
        .fold((1.0f32, 0.0f32), |(lo, hi), p| (lo.min(p), hi.max(p)));
    assert!(spread.1 - spread.0 > 0.01, "{spread:?}");
}

#[test]
fn the_dicom_phantom_layout_loads_like_the_in_memory_phantoms() {
    let dir = tempfile::tempdir().unwrap();
    let counts = SplitCounts {
        train: 2,
        validate: 1,
        test: 0,
    };
    let written = write_ct_phantom_layout(dir.path(), 5, counts, false).unwrap();
    assert_eq!((written.hemorrhage, written.normal), (3, 3));
    let loaded = Loader::new(ModelInput::with_windows(InputWindows::THREE))
        .folder(&dir.path().join("train"))
        .unwrap();
    let memory = ct_phantom_set(
        5,
        Split::Train,
        2,
        &ModelInput::with_windows(InputWindows::THREE),
    )
    .images;
    assert_eq!(loaded.pixels(), memory.pixels());
    // Realistic CT numbers: air, brain, bone.
    let slice = read_ct_slice(
        &dir.path().join("train/hemorrhage/phantom_000.dcm"),
        &Limits::default(),
    )
    .unwrap();
    let hu = &slice.hounsfield;
    assert!((hu[0] - -1000.0).abs() < 20.0, "corner is air: {}", hu[0]);
    let centre = hu[75 * IMAGE_SIZE + 75];
    assert!(
        (0.0..=90.0).contains(&centre),
        "centre is brain or CSF or blood: {centre}"
    );
    let max = hu.iter().cloned().fold(f32::MIN, f32::max);
    assert!((600.0..=1600.0).contains(&max), "skull: {max}");
}

#[test]
fn a_display_image_is_refused_by_windows_other_than_brain() {
    let dir = tempfile::tempdir().unwrap();
    let png = dir.path().join("slice.png");
    image::save_buffer(&png, &[128u8; 64 * 64], 64, 64, image::ColorType::L8).unwrap();
    let err = Loader::new(ModelInput::with_windows(InputWindows::THREE))
        .file(&png)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("slice.png") && err.contains("display image"),
        "{err}"
    );
    assert!(Loader::new(ModelInput::with_windows(InputWindows::BRAIN))
        .file(&png)
        .is_ok());
}

/// The dataset of [`three_bands`], to edit into bad files.
fn bands_file_with(edit: impl FnOnce(&mut dicom_object::InMemDicomObject)) -> Vec<u8> {
    let mut obj = three_bands().to_dataset().unwrap();
    edit(&mut obj);
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax(dicom_dictionary_std::uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .implementation_class_uid("2.25.3");
    let mut bytes = Vec::new();
    obj.with_meta(meta).unwrap().write_all(&mut bytes).unwrap();
    bytes
}

fn error_of(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    let err = read_ct_slice(&path, &Limits::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains(name), "the error names the file: {err}");
    err
}

fn notes_of(dir: &Path, name: &str, bytes: &[u8]) -> Vec<String> {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    read_ct_slice(&path, &Limits::default()).unwrap().notes
}

#[test]
fn bad_dicom_files_get_a_sentence() {
    let dir = tempfile::tempdir().unwrap();
    let good = three_bands().to_dicom_bytes().unwrap();

    // Truncated, at several places (header, pixel data), and empty.
    for cut in [10, 140, 400, good.len() - 100] {
        let err = error_of(dir.path(), "cut.dcm", &good[..cut]);
        assert!(
            err.contains("DICOM") || err.contains("pixel"),
            "{cut}: {err}"
        );
    }
    // No pixel data.
    let err = error_of(
        dir.path(),
        "nopixels.dcm",
        &bands_file_with(|o| {
            o.remove_element(tags::PIXEL_DATA);
        }),
    );
    assert!(err.contains("no pixel data"), "{err}");
    // Colour.
    let err = error_of(
        dir.path(),
        "colour.dcm",
        &bands_file_with(|o| {
            o.put(DataElement::new(
                tags::SAMPLES_PER_PIXEL,
                VR::US,
                PrimitiveValue::from(3u16),
            ));
            o.put(DataElement::new(
                tags::PHOTOMETRIC_INTERPRETATION,
                VR::CS,
                PrimitiveValue::from("RGB"),
            ));
        }),
    );
    assert!(err.contains("colour DICOM"), "{err}");
    // Pixel data shorter than Rows x Columns say, or of another size than BitsAllocated says.
    let err = error_of(
        dir.path(),
        "short.dcm",
        &bands_file_with(|o| {
            o.put(DataElement::new(
                tags::PIXEL_DATA,
                VR::OW,
                PrimitiveValue::U16(vec![1024u16; 100].into()),
            ));
        }),
    );
    assert!(err.contains("pixel"), "{err}");
    let err = error_of(
        dir.path(),
        "bits.dcm",
        &bands_file_with(|o| {
            o.put(DataElement::new(
                tags::BITS_ALLOCATED,
                VR::US,
                PrimitiveValue::from(32u16),
            ));
        }),
    );
    assert!(err.contains("pixel"), "{err}");
    // A small file claiming a huge image (found by fuzzing: it took gigabytes before the check).
    let err = error_of(
        dir.path(),
        "huge.dcm",
        &bands_file_with(|o| {
            o.put(DataElement::new(
                tags::ROWS,
                VR::US,
                PrimitiveValue::from(4096u16),
            ));
            o.put(DataElement::new(
                tags::COLUMNS,
                VR::US,
                PrimitiveValue::from(4096u16),
            ));
        }),
    );
    assert!(err.contains("pixel data holds 8192 bytes"), "{err}");
    // An element that claims more bytes than the file has (a 4 GB string in a small file took
    // 4 GB of memory in dicom-rs before the header walk refused it).
    let mut claim = good.clone();
    let at = claim
        .windows(4)
        .position(|w| w == [0x08, 0x00, 0x60, 0x00]) // (0008,0060) Modality, "CS"
        .unwrap();
    claim[at + 6..at + 8].copy_from_slice(&0xFFF0u16.to_le_bytes());
    let err = error_of(dir.path(), "claims.dcm", &claim);
    assert!(err.contains("(0008,0060) claims 65520 bytes"), "{err}");
    let mut claim = good.clone();
    let at = claim
        .windows(4)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00])
        .unwrap();
    claim[at + 8..at + 12].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let err = error_of(dir.path(), "claims4g.dcm", &claim);
    assert!(err.contains("(7FE0,0010) claims 4294967280 bytes"), "{err}");
    // Rows written as a number that does not fit a US.
    let err = error_of(
        dir.path(),
        "rows.dcm",
        &bands_file_with(|o| {
            o.put(DataElement::new(
                tags::ROWS,
                VR::IS,
                PrimitiveValue::from("4294967296"),
            ));
        }),
    );
    assert!(err.contains("pixels"), "{err}");
    // Deflated: its inflated size is unknown beforehand.
    let mut obj = three_bands().to_dataset().unwrap();
    obj.remove_element(tags::PIXEL_PADDING_VALUE);
    let deflated = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.1.99")
        .implementation_class_uid("2.25.3");
    let mut bytes = Vec::new();
    obj.with_meta(deflated)
        .unwrap()
        .write_all(&mut bytes)
        .unwrap();
    let err = error_of(dir.path(), "deflated.dcm", &bytes);
    assert!(err.contains("deflated DICOM"), "{err}");
    // Not DICOM at all, with a .dcm name.
    let err = error_of(dir.path(), "text.dcm", b"hello, this is not DICOM at all");
    assert!(err.contains("cannot read as DICOM"), "{err}");
}

#[test]
fn unusual_dicom_files_are_read_with_a_note() {
    let dir = tempfile::tempdir().unwrap();
    // Another modality: a warning.
    let notes = notes_of(
        dir.path(),
        "mr.dcm",
        &CtImage {
            modality: "MR".into(),
            ..three_bands()
        }
        .to_dicom_bytes()
        .unwrap(),
    );
    assert!(
        notes.iter().any(|n| n.contains("modality MR, not CT")),
        "{notes:?}"
    );
    // No rescale: stored values taken as CT numbers, said so.
    let path = write(
        dir.path(),
        "norescale.dcm",
        &CtImage {
            rescale: None,
            ..three_bands()
        },
    );
    let slice = read_ct_slice(&path, &Limits::default()).unwrap();
    assert!(
        slice.notes[0].contains("slope 1, intercept 0"),
        "{:?}",
        slice.notes
    );
    assert_eq!(slice.hounsfield[32 * SIDE + 10], 984.0);
    // Multi-frame: the middle frame is read, and said so.
    let frames = 3;
    let bytes = bands_file_with(|o| {
        o.put(DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from("3"),
        ));
        let mut values = Vec::new();
        for f in 0..frames {
            values.extend((0..SIDE * SIDE).map(|_| 1024u16 + 100 * f as u16));
        }
        o.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16(values.into()),
        ));
    });
    let path = dir.path().join("multi.dcm");
    std::fs::write(&path, &bytes).unwrap();
    let slice = read_ct_slice(&path, &Limits::default()).unwrap();
    assert!(
        slice
            .notes
            .iter()
            .any(|n| n.contains("frame 2 (the middle one)")),
        "{:?}",
        slice.notes
    );
    assert_eq!(slice.hounsfield[0], 100.0, "frame 2 holds HU 100");
}

#[test]
fn a_transfer_syntax_without_a_pure_rust_decoder_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // JPEG 2000 (lossless only): dicom-rs reads the file, but no pure-Rust decoder is built in.
    let jpeg2000 = "1.2.840.10008.1.2.4.90";
    let mut obj = three_bands().to_dataset().unwrap();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            vec![],
            vec![vec![0xFF, 0x4F, 0xFF, 0x51, 0, 0]],
        )),
    ));
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax(jpeg2000)
        .implementation_class_uid("2.25.3");
    let mut bytes = Vec::new();
    obj.with_meta(meta).unwrap().write_all(&mut bytes).unwrap();
    let err = error_of(dir.path(), "j2k.dcm", &bytes);
    assert!(err.contains(jpeg2000), "{err}");
}

#[test]
fn a_data_set_without_a_file_meta_header_is_read_with_a_note() {
    use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
    let dir = tempfile::tempdir().unwrap();
    let image = three_bands();
    let with_meta =
        read_ct_slice(&write(dir.path(), "full.dcm", &image), &Limits::default()).unwrap();
    for (ts, encoding) in [
        ("1.2.840.10008.1.2", "implicit"),
        ("1.2.840.10008.1.2.1", "explicit"),
    ] {
        let mut raw = Vec::new();
        image
            .to_dataset()
            .unwrap()
            .write_dataset_with_ts(&mut raw, TransferSyntaxRegistry.get(ts).unwrap())
            .unwrap();
        assert!(!raw.windows(4).any(|w| w == b"DICM"));
        // No extension: recognised from its first element, as PACS exports are named.
        let name = format!("raw_{encoding}");
        std::fs::write(dir.path().join(&name), &raw).unwrap();
        let path = dir.path().join(&name);
        assert!(head_ct::ct::dicom::is_dicom_file(&path), "{name}");
        let slice = read_ct_slice(&path, &Limits::default()).unwrap();
        assert_eq!(slice.hounsfield, with_meta.hounsfield, "{name}");
        assert!(
            slice.notes.iter().any(|n| n.contains("no file meta header")
                && n.contains(&format!("{encoding} VR little endian"))),
            "{:?}",
            slice.notes
        );
        // The loader and the study reader take it too.
        assert_eq!(
            Loader::default().file(&path).unwrap(),
            Loader::default()
                .file(&dir.path().join("full.dcm"))
                .unwrap()
        );
        let header = head_ct::ct::read_dicom_header(&path, &Limits::default()).unwrap();
        assert!(header.has_pixel_data && header.sop_instance_uid.is_some());
        // Cut short: a sentence, not a panic.
        let err = error_of(dir.path(), &format!("{name}.dcm"), &raw[..raw.len() / 3]);
        assert!(
            err.contains("truncated") || err.contains("cannot read"),
            "{err}"
        );
    }
    // Bytes that start like a data set but are not one.
    let mut junk = vec![0x08, 0x00, 0x05, 0x00, b'C', b'S', 0x02, 0x00, b'x', b'x'];
    junk.extend_from_slice(&[0u8; 40]);
    let err = error_of(dir.path(), "junk.dcm", &junk);
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_one_bit_segmentation_is_refused_as_not_a_ct_image() {
    let dir = tempfile::tempdir().unwrap();
    let us = |v: u16| PrimitiveValue::from(v);
    let bytes = bands_file_with(|obj| {
        obj.put(DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.66.4"),
        ));
        obj.put(DataElement::new(tags::BITS_ALLOCATED, VR::US, us(1)));
        obj.put(DataElement::new(tags::BITS_STORED, VR::US, us(1)));
        obj.put(DataElement::new(tags::HIGH_BIT, VR::US, us(0)));
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OB,
            PrimitiveValue::U8(vec![0u8; 64 * 64 / 8].into()),
        ));
    });
    let err = error_of(dir.path(), "seg.dcm", &bytes);
    assert!(err.contains("1-bit pixel data (a segmentation"), "{err}");
    assert!(!err.contains("truncated"), "{err}");
}

#[test]
fn twelve_bit_jpeg_extended_is_refused_in_a_sentence_that_says_so() {
    let dir = tempfile::tempdir().unwrap();
    // A 12-bit JPEG extended frame (SOF1, precision 12): the pure-Rust decoder stops at its
    // frame header, as it does on real 12-bit CT slices.
    let mut jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xC1, 0x00, 0x0B, 12, 0x00, 0x40, 0x00, 0x40, 1,
    ];
    jpeg.extend_from_slice(&[1, 0x11, 0, 0xFF, 0xD9]);
    let mut obj = three_bands().to_dataset().unwrap();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            vec![],
            vec![jpeg],
        )),
    ));
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.4.51")
        .implementation_class_uid("2.25.3");
    let mut bytes = Vec::new();
    obj.with_meta(meta).unwrap().write_all(&mut bytes).unwrap();
    let err = error_of(dir.path(), "jpeg12.dcm", &bytes);
    assert!(
        err.contains(
            "12-bit JPEG (extended, transfer syntax 1.2.840.10008.1.2.4.51) is not supported"
        ),
        "{err}"
    );
    assert!(err.contains("jpeg12.dcm"), "{err}");
}

#[test]
fn prepare_reads_a_dicom_folder_with_labels_keyed_by_file_name_or_sop_instance_uid() {
    use head_ct::data::prepare::{prepare_kaggle, PrepareOptions};
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("source");
    std::fs::create_dir_all(&source).unwrap();
    let mut csv = String::from("id, hemorrhage\n");
    for i in 0..6 {
        let uid = format!("1.2.826.0.1.3680043.2.{}", 100 + i);
        let image = CtImage {
            sop_instance_uid: uid.clone(),
            ..three_bands()
        };
        // Half the files carry no extension, as PACS exports do.
        let name = if i % 2 == 0 {
            format!("slice_{i}.dcm")
        } else {
            format!("IM{i:04}")
        };
        image.write(&source.join(&name)).unwrap();
        let label = i % 2;
        // Rows 0-2 by file name, 3-5 by SOPInstanceUID.
        let id = if i < 3 {
            name.trim_end_matches(".dcm").to_string()
        } else {
            uid
        };
        csv.push_str(&format!("{id},{label}\n"));
    }
    std::fs::write(source.join("labels.csv"), csv).unwrap();
    let target = dir.path().join("slices");
    let options = PrepareOptions {
        counts: SplitCounts {
            train: 2,
            validate: 1,
            test: 0,
        },
        ..PrepareOptions::default()
    };
    let report = prepare_kaggle(&source, &target, &options).unwrap();
    assert_eq!((report.train.hemorrhage, report.train.normal), (2, 2));
    let train = Loader::new(ModelInput::with_windows(InputWindows::BRAIN))
        .folder(&target.join("train"))
        .unwrap();
    assert_eq!(train.len(), 4);
    assert!(train.samples.iter().any(|s| s.path.extension().is_none()));

    // An id that is neither a file name nor a UID is named.
    std::fs::write(source.join("labels.csv"), "id, hemorrhage\n1.2.3.4,1\n").unwrap();
    let err = prepare_kaggle(&source, &dir.path().join("other"), &options)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("1.2.3.4") && err.contains("labels.csv"),
        "{err}"
    );
}

/// Another reader, pydicom, reads the DICOM phantoms and this file's synthetic DICOMs with the
/// same CT numbers as head-ct. Needs a Python with pydicom and numpy, named by
/// `PYDICOM_PYTHON` (`.ci/run` installs them into `.venv`):
/// `PYDICOM_PYTHON=.venv/bin/python cargo test --test ct_dicom -- --ignored pydicom`.
#[test]
#[ignore = "needs pydicom: PYDICOM_PYTHON=.venv/bin/python cargo test --test ct_dicom -- --ignored pydicom"]
fn pydicom_reads_the_same_hounsfield_units() {
    let python = std::env::var("PYDICOM_PYTHON")
        .expect("PYDICOM_PYTHON must name a Python with pydicom and numpy (see the doc comment)");
    let dir = tempfile::tempdir().unwrap();
    let counts = SplitCounts {
        train: 2,
        validate: 1,
        test: 0,
    };
    write_ct_phantom_layout(&dir.path().join("ph"), 3, counts, false).unwrap();
    let mut files: Vec<PathBuf> = ["train/hemorrhage", "train/normal", "validate/hemorrhage"]
        .iter()
        .flat_map(|d| std::fs::read_dir(dir.path().join("ph").join(d)).unwrap())
        .map(|e| e.unwrap().path())
        .collect();
    // The encodings of this file: signed with padding, MONOCHROME1, 8 bits, no rescale.
    let mut signed = three_bands();
    signed.signed = true;
    signed.rescale = Some((1.0, 0.0));
    signed.stored = (0..SIDE * SIDE).map(|i| i as i32 % 3000 - 1500).collect();
    let mut eight = three_bands();
    eight.bits_stored = 8;
    eight.rescale = Some((8.0, -1024.0));
    eight.stored = (0..SIDE * SIDE).map(|i| (i % 256) as i32).collect();
    let mut signed8 = three_bands();
    signed8.bits_stored = 8;
    signed8.signed = true;
    signed8.rescale = Some((4.0, 0.0));
    signed8.stored = (0..SIDE * SIDE).map(|i| (i % 256) as i32 - 128).collect();
    for (name, image) in [
        ("signed.dcm", signed),
        ("eight.dcm", eight),
        ("signed8.dcm", signed8),
    ] {
        files.push(write(dir.path(), name, &image));
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/pydicom-hounsfield.py");
    let out = std::process::Command::new(&python)
        .arg(&script)
        .args(&files)
        .output()
        .expect("run PYDICOM_PYTHON");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for file in &files {
        let theirs: Vec<f32> = std::fs::read(format!("{}.hu.f32", file.display()))
            .unwrap()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        let ours = read_ct_slice(file, &Limits::default()).unwrap().hounsfield;
        assert_eq!(ours, theirs, "{}", file.display());
    }
    println!("{}", String::from_utf8_lossy(&out.stdout));
}

/// PackBits literal runs (the RLE Lossless segment coding, DICOM PS3.5 G.3.1), padded to an even
/// length.
fn packbits(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for run in bytes.chunks(128) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
    if out.len() % 2 == 1 {
        out.push(0x80); // a no-op control byte
    }
    out
}

#[test]
fn rle_lossless_dicom_reads_the_same_ct_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let image = three_bands();
    // Two segments for 16-bit pixels: the high bytes, then the low bytes (PS3.5 G.2).
    let high: Vec<u8> = image.stored.iter().map(|&v| (v >> 8) as u8).collect();
    let low: Vec<u8> = image.stored.iter().map(|&v| v as u8).collect();
    let (high, low) = (packbits(&high), packbits(&low));
    let mut frame = Vec::new();
    let mut header = [0u32; 16];
    header[0] = 2;
    header[1] = 64;
    header[2] = 64 + high.len() as u32;
    for word in header {
        frame.extend_from_slice(&word.to_le_bytes());
    }
    frame.extend(high);
    frame.extend(low);
    let mut obj = image.to_dataset().unwrap();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::PixelSequence(dicom_core::value::PixelFragmentSequence::new(
            vec![],
            vec![frame],
        )),
    ));
    let meta = dicom_object::FileMetaTableBuilder::new()
        .transfer_syntax("1.2.840.10008.1.2.5")
        .implementation_class_uid("2.25.3");
    let path = dir.path().join("rle.dcm");
    obj.with_meta(meta).unwrap().write_to_file(&path).unwrap();
    let rle = read_ct_slice(&path, &Limits::default()).unwrap();
    let plain = read_ct_slice(&write(dir.path(), "plain.dcm", &image), &Limits::default()).unwrap();
    assert_eq!(rle.hounsfield, plain.hounsfield);
}

#[test]
fn jpeg_baseline_dicom_reads_close_to_the_original() {
    use dicom_pixeldata::Transcode;
    use dicom_transfer_syntax_registry::entries::JPEG_BASELINE;
    let dir = tempfile::tempdir().unwrap();
    // 8 bits stored (JPEG baseline holds 8-bit samples): slope 8, intercept -1024; a smooth ramp.
    let mut image = three_bands();
    image.bits_stored = 8;
    image.rescale = Some((8.0, -1024.0));
    image.stored = (0..SIDE * SIDE).map(|i| (i % SIDE * 4) as i32).collect();
    let plain = write(dir.path(), "plain.dcm", &image);
    let mut obj = dicom_object::open_file(&plain).unwrap();
    obj.transcode(&JPEG_BASELINE.erased()).unwrap();
    let path = dir.path().join("jpeg.dcm");
    obj.write_to_file(&path).unwrap();
    let jpeg = read_ct_slice(&path, &Limits::default()).unwrap();
    let original = read_ct_slice(&plain, &Limits::default()).unwrap();
    let mean_error = jpeg
        .hounsfield
        .iter()
        .zip(&original.hounsfield)
        .map(|(a, b)| (a - b).abs())
        .sum::<f32>()
        / original.hounsfield.len() as f32;
    // Lossy, but within a few stored levels (8 HU each) on average.
    assert!(mean_error < 24.0, "mean error {mean_error} HU");
    assert_ne!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&plain).unwrap()
    );
}
