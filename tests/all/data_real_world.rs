//! Files of the kinds people who classify CT images really have: huge headers, EXIF
//! orientation. Each test builds its own files; nothing is downloaded.

use crate::common;

use head_ct::data::Loader;
use head_ct::data::Split;
use std::{fs, path::Path};

use head_ct::input::Limits;
use image::{GrayImage, ImageBuffer, Luma};

/// CRC-32 (ISO-HDLC, as PNG uses it), bit by bit: small files only.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn png_chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let mut body = kind.to_vec();
    body.extend_from_slice(data);
    out.extend_from_slice(&body);
    out.extend_from_slice(&crc32(&body).to_be_bytes());
}

/// A PNG whose header says `width` x `height`, 16-bit gray, with a few bytes of compressed
/// zeros as its data: a small file that claims a huge image.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[16, 0, 0, 0, 0]); // 16-bit gray, deflate, no filter, no interlace
    png_chunk(&mut png, b"IHDR", &ihdr);
    // zlib: a stored block of 64 zero bytes (the rest of the image is missing).
    let mut idat = vec![0x78, 0x01, 0x01, 64, 0, !64u8, 0xFF];
    idat.extend_from_slice(&[0; 64]);
    png_chunk(&mut png, b"IDAT", &idat);
    png_chunk(&mut png, b"IEND", &[]);
    png
}

#[test]
fn a_small_file_claiming_a_huge_image_is_refused_before_its_pixels_are_allocated() {
    let dir = tempfile::tempdir().unwrap();
    let folder = dir.path().join("test");
    fs::create_dir_all(&folder).unwrap();
    for name in ["a.png", "b.png", "c.png"] {
        fs::write(folder.join(name), png_claiming(16_000, 16_000)).unwrap();
    }
    let err = Loader::default()
        .file(&folder.join("a.png"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("a.png"), "{err}");
    assert!(err.contains("16000x16000 pixels"), "{err}");
    assert!(err.contains("over the limit"), "{err}");
    // A folder of them, decoded in parallel: the first one (in name order) is reported.
    let err = Loader::default().folder(&folder).unwrap_err().to_string();
    assert!(
        err.contains("a.png") && err.contains("over the limit"),
        "{err}"
    );
    // Just over the limit is refused, as is a long, thin image of the same area.
    let side = (Limits::DEFAULT_MAX_IMAGE_PIXELS as f64).sqrt() as u32;
    fs::write(folder.join("d.png"), png_claiming(side, side + 1)).unwrap();
    let err = Loader::default()
        .file(&folder.join("d.png"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("over the limit"), "{err}");
    fs::write(folder.join("e.png"), png_claiming(64, 1 << 20)).unwrap();
    let err = Loader::default()
        .file(&folder.join("e.png"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("over the limit"), "{err}");
}

#[test]
fn the_pixel_limit_is_a_value_of_the_loader_for_one_call() {
    // No environment: one loader refuses what another, with other limits, reads.
    let dir = tempfile::tempdir().unwrap();
    common::write_phantoms(dir.path(), 2, 2, 0);
    let file = dir.path().join("ph/train/hemorrhage/phantom_000.png");
    let small = Loader::default().with_limits(Limits::max_pixels(150 * 150 - 1).unwrap());
    let err = small.file(&file).unwrap_err().to_string();
    assert!(
        err.contains("phantom_000.png") && err.contains("over the limit of 22499 pixels"),
        "{err}"
    );
    let exact = Loader::default().with_limits(Limits::max_pixels(150 * 150).unwrap());
    let unbounded = Loader::default().with_limits(Limits::no_limits());
    assert_eq!(exact.file(&file).unwrap(), unbounded.file(&file).unwrap());
    assert_eq!(
        exact.file(&file).unwrap(),
        Loader::default().file(&file).unwrap()
    );
}

#[test]
fn the_pixel_limit_is_a_setting_and_a_bad_setting_is_named() {
    // In a separate process: the variable would reach this binary's other tests.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    common::write_phantoms(d, 2, 2, 0);
    let train = |limit: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_head-ct"))
            .args(["train", "--data", "ph", "--epochs", "1", "--out", "run"])
            .env(head_ct::settings::MAX_PIXELS_VARIABLE, limit)
            .current_dir(d)
            .output()
            .unwrap()
    };
    let out = train("1000");
    let text = common::text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("phantom_000.png"), "{text}");
    assert!(text.contains("150x150 pixels"), "{text}");
    assert!(
        text.contains("22500 in all, over the limit of 1000 pixels"),
        "{text}"
    );
    let out = train("many");
    let text = common::text(&out);
    assert!(!out.status.success(), "{text}");
    assert!(text.contains("HEAD_CT_MAX_PIXELS=\"many\""), "{text}");
    assert!(!d.join("run").exists());
}

/// The TIFF block of an EXIF record holding one tag, Orientation (0x0112) = `value`.
fn exif_orientation(value: u16) -> Vec<u8> {
    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00".to_vec(); // little-endian, IFD at offset 8
    tiff.extend_from_slice(&1u16.to_le_bytes()); // one entry
    tiff.extend_from_slice(&0x0112u16.to_le_bytes()); // Orientation
    tiff.extend_from_slice(&3u16.to_le_bytes()); // SHORT
    tiff.extend_from_slice(&1u32.to_le_bytes()); // one value
    tiff.extend_from_slice(&value.to_le_bytes());
    tiff.extend_from_slice(&[0, 0]); // padding of the 4-byte value field
    tiff.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    tiff
}

/// An asymmetric test card: every pixel differs, so any flip or turn shows.
fn card(width: u32, height: u32) -> GrayImage {
    ImageBuffer::from_fn(width, height, |x, y| Luma([((x * 7 + y * 3) % 251) as u8]))
}

/// The picture a viewer shows for a stored `img` with EXIF orientation `value` (EXIF 2.3,
/// tag 0x0112), written out pixel by pixel.
fn as_displayed(img: &GrayImage, value: u16) -> GrayImage {
    let (w, h) = img.dimensions();
    let at = |x: u32, y: u32| img.get_pixel(x, y).0[0];
    let (ow, oh) = if value >= 5 { (h, w) } else { (w, h) };
    ImageBuffer::from_fn(ow, oh, |x, y| {
        Luma([match value {
            1 => at(x, y),
            2 => at(w - 1 - x, y),
            3 => at(w - 1 - x, h - 1 - y),
            4 => at(x, h - 1 - y),
            5 => at(y, x),
            6 => at(y, h - 1 - x),
            7 => at(w - 1 - y, h - 1 - x),
            8 => at(w - 1 - y, x),
            _ => unreachable!(),
        }])
    })
}

fn png_with_exif(img: &GrayImage, exif: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, img.width(), img.height());
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_chunk(png::chunk::ChunkType(*b"eXIf"), exif)
            .unwrap();
        writer.write_image_data(img.as_raw()).unwrap();
    }
    bytes
}

/// `jpeg` with an APP1 EXIF segment inserted after its start-of-image marker.
fn jpeg_with_exif(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

fn load(path: &Path) -> Vec<f32> {
    Loader::default()
        .file(path)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn all_eight_exif_orientations_are_applied_to_png() {
    let dir = tempfile::tempdir().unwrap();
    let stored = card(48, 64);
    for value in 1..=8u16 {
        let tagged = dir.path().join(format!("tagged-{value}.png"));
        fs::write(&tagged, png_with_exif(&stored, &exif_orientation(value))).unwrap();
        let upright = dir.path().join(format!("upright-{value}.png"));
        as_displayed(&stored, value).save(&upright).unwrap();
        assert!(
            load(&tagged) == load(&upright),
            "orientation {value}: the loaded image is not the one a viewer shows"
        );
    }
    // Without the tag, a turned picture stays turned: the comparison can fail.
    let plain = dir.path().join("plain.png");
    stored.save(&plain).unwrap();
    assert!(load(&plain) != load(&dir.path().join("upright-6.png")));
}

#[test]
fn exif_orientation_6_and_3_are_applied_to_jpeg() {
    let dir = tempfile::tempdir().unwrap();
    // Large flat areas, so JPEG's loss stays far below the difference a turn makes.
    let stored: GrayImage = ImageBuffer::from_fn(300, 200, |x, y| {
        Luma([if x < 100 {
            230
        } else if y < 50 {
            120
        } else {
            20
        }])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 95)
        .encode_image(&stored)
        .unwrap();
    for value in [3u16, 6] {
        let tagged = dir.path().join(format!("tagged-{value}.jpg"));
        fs::write(&tagged, jpeg_with_exif(&jpeg, &exif_orientation(value))).unwrap();
        let upright = dir.path().join(format!("upright-{value}.png"));
        as_displayed(&stored, value).save(&upright).unwrap();
        let (a, b) = (load(&tagged), load(&upright));
        let worst = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 0.1, "orientation {value}: off by {worst}");
    }
    // Portrait after orientation 6: the bright left band is now the top band.
    let turned = load(&dir.path().join("tagged-6.jpg"));
    assert!(turned[10 * 150 + 75] > 0.8, "{}", turned[10 * 150 + 75]);
    assert!(turned[140 * 150 + 75] < 0.2, "{}", turned[140 * 150 + 75]);
}

/// A small seed layout of phantoms in `dir/ph` (train 4, validate 4, no test/).
fn phantom_layout(dir: &Path) {
    common::write_phantoms(dir, 4, 4, 0);
}

#[test]
fn a_test_folder_of_unknown_or_single_classes_never_blocks_training() {
    use head_ct::Label;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    phantom_layout(d);
    let source = d.join("ph/train/hemorrhage/phantom_000.png");
    // Keras' layout for unlabelled images: test/unknown/.
    fs::create_dir_all(d.join("ph/test/unknown")).unwrap();
    for name in ["a.png", "b.png"] {
        fs::copy(&source, d.join("ph/test/unknown").join(name)).unwrap();
    }
    let data = Loader::default().seed_layout(&d.join("ph")).unwrap();
    let test = data.test.as_ref().unwrap();
    assert_eq!(test.labels(), vec![None, None]);
    assert!(data.notes[0].contains("unknown"), "{:?}", data.notes);
    let out = common::head_ct(
        &["train", "--data", "ph", "--epochs", "1", "--out", "run"],
        d,
    );
    let log = common::text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("Note: ") && log.contains("without a label"),
        "{log}"
    );
    assert!(log.contains("a.png: ") && log.contains("b.png: "), "{log}");
    assert!(log.contains("test: 2 unlabelled images"), "{log}");

    // Only hemorrhage/ in test/: labelled, one class; scored with what is defined.
    fs::remove_dir_all(d.join("ph/test/unknown")).unwrap();
    fs::create_dir_all(d.join("ph/test/hemorrhage")).unwrap();
    fs::copy(&source, d.join("ph/test/hemorrhage/c.png")).unwrap();
    let data = Loader::default().seed_layout(&d.join("ph")).unwrap();
    assert_eq!(
        data.test.as_ref().unwrap().labels(),
        vec![Some(Label::Hemorrhage)]
    );
    assert!(data.notes.is_empty(), "{:?}", data.notes);
    let out = common::head_ct(
        &[
            "evaluate", "--model", "run", "--data", "ph", "--split", "test",
        ],
        d,
    );
    let log = common::text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("specificity  not defined"), "{log}");
    assert!(log.contains("ROC AUC      not defined"), "{log}");

    // An empty test/ is no test images, with a note.
    fs::remove_dir_all(d.join("ph/test/hemorrhage")).unwrap();
    let data = Loader::default().seed_layout(&d.join("ph")).unwrap();
    assert!(data.test.is_none());
    assert!(
        data.notes[0].contains("holds no images"),
        "{:?}",
        data.notes
    );

    // A broken file in test/ is still an error, which says that nothing has started.
    fs::write(d.join("ph/test/broken.png"), b"not a png").unwrap();
    let err = Loader::default()
        .seed_layout(&d.join("ph"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("broken.png"), "{err}");
    assert!(err.contains("optional test/ folder"), "{err}");
}

#[test]
fn file_names_stay_readable_in_lines_csv_and_figures() {
    use head_ct::plots::{drawable, undrawable_chars};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    phantom_layout(d);
    let out = common::head_ct(
        &["train", "--data", "ph", "--epochs", "1", "--out", "run"],
        d,
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let source = d.join("ph/validate/normal/phantom_000.png");
    let odd = d.join("scans");
    fs::create_dir_all(&odd).unwrap();
    let newline = "line\nbreak.png";
    let chinese = "出血_患者_0001.png";
    let long = format!("{}.png", "very_long_export_name_".repeat(8));
    for name in [newline, chinese, long.as_str()] {
        fs::copy(&source, odd.join(name)).unwrap();
    }
    let out = common::head_ct(&["predict", "--model", "run", "scans", "--csv", "p.csv"], d);
    let log = common::text(&out);
    assert!(out.status.success(), "{log}");
    assert!(log.contains("line\\nbreak.png: "), "{log}");
    assert!(!log.contains("line\nbreak"), "{log}");
    let csv = fs::read_to_string(d.join("p.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4, "{csv}");
    assert!(csv.contains("line\\nbreak.png"), "{csv}");

    let out = common::head_ct(
        &[
            "explain", "--model", "run", "scans", "--out", "why", "--method", "saliency",
        ],
        d,
    );
    let log = common::text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("no glyph for ['出', '血', '患', '者']"),
        "{log}"
    );
    assert_eq!(fs::read_dir(d.join("why")).unwrap().count(), 3);

    assert_eq!(undrawable_chars(chinese), vec!['出', '血', '患', '者']);
    assert_eq!(drawable(chinese), "??_??_0001.png");
    assert_eq!(drawable(newline), "line\\nbreak.png");
    assert!(undrawable_chars("hémorragie – Ü.png").is_empty());
}

/// A 16-bit gray PNG of `values` (`width` x `height`), with an `sBIT` chunk when given.
fn png16(width: u32, height: u32, values: &[u16], sbit: Option<u8>) -> Vec<u8> {
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, width, height);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut writer = encoder.write_header().unwrap();
        if let Some(bits) = sbit {
            writer
                .write_chunk(png::chunk::ChunkType(*b"sBIT"), &[bits])
                .unwrap();
        }
        let data: Vec<u8> = values.iter().flat_map(|v| v.to_be_bytes()).collect();
        writer.write_image_data(&data).unwrap();
    }
    bytes
}

#[test]
fn a_12_bit_image_in_a_16_bit_file_is_read_at_its_brightness_and_said_so() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (w, h) = (64u32, 48u32);
    let eight: Vec<u8> = (0..w * h).map(|i| ((i * 37) % 256) as u8).collect();
    GrayImage::from_raw(w, h, eight.clone())
        .unwrap()
        .save(d.join("8bit.png"))
        .unwrap();
    let times = |k: u16| -> Vec<u16> { eight.iter().map(|&v| u16::from(v) * k).collect() };
    // The case: 8-bit values times 16, no sBIT (values 0..4080).
    fs::write(d.join("12bit.png"), png16(w, h, &times(16), None)).unwrap();
    // Full range (x 257): read as it is.
    fs::write(d.join("full.png"), png16(w, h, &times(257), None)).unwrap();
    // sBIT says 10 bits and the values stay below 1024: read as 10-bit.
    let ten: Vec<u16> = eight.iter().map(|&v| u16::from(v) * 4).collect();
    fs::write(d.join("10bit.png"), png16(w, h, &ten, Some(10))).unwrap();
    // sBIT says 12 bits but the values use the full range (as the PNG standard says they
    // should): read as they are.
    fs::write(
        d.join("sbit-scaled.png"),
        png16(w, h, &times(257), Some(12)),
    )
    .unwrap();

    let names = [
        "8bit.png",
        "12bit.png",
        "full.png",
        "10bit.png",
        "sbit-scaled.png",
    ];
    let paths: Vec<_> = names.iter().map(|n| d.join(n)).collect();
    let set = Loader::default().files(&paths).unwrap();
    let reference = set.image(0);
    for (k, name) in names.iter().enumerate().skip(1) {
        let worst = set
            .image(k)
            .iter()
            .zip(reference)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 0.01,
            "{name}: differs from the 8-bit original by {worst}"
        );
    }
    let notes: Vec<Option<&str>> = set.samples.iter().map(|s| s.note.as_deref()).collect();
    assert_eq!(notes[0], None);
    assert!(
        notes[1].unwrap().contains("read as 12-bit, 4095 = white"),
        "{notes:?}"
    );
    assert_eq!(notes[2], None);
    assert!(
        notes[3].unwrap().contains("sBIT chunk says 10"),
        "{notes:?}"
    );
    assert_eq!(notes[4], None);

    // Every command that reads it says so: predict in its line and in predictions.csv.
    phantom_layout(d);
    let out = common::head_ct(
        &["train", "--data", "ph", "--epochs", "1", "--out", "run"],
        d,
    );
    assert!(out.status.success(), "{}", common::text(&out));
    let out = common::head_ct(
        &["predict", "--model", "run", "12bit.png", "--csv", "p.csv"],
        d,
    );
    let log = common::text(&out);
    assert!(out.status.success(), "{log}");
    assert!(
        log.contains("12bit.png: ") && log.contains("[note: 16-bit file using 12 bits"),
        "{log}"
    );
    let csv = fs::read_to_string(d.join("p.csv")).unwrap();
    assert!(csv.starts_with(
        "file,probability_hemorrhage,predicted,truth,verdict,note,calibrated_probability,threshold\n"
    ));
    assert!(csv.contains("read as 12-bit"), "{csv}");
}

#[test]
fn sixty_normal_and_six_hemorrhage_images_get_a_warning_and_balanced_weights_find_bleeds() {
    use head_ct::{
        data::phantoms::generate_phantom_set,
        experiments::subset,
        metrics::BinaryMetrics,
        training::{
            evaluate_set, imbalance_warning, observer::Silent, train_model, ClassWeight, Recipe,
        },
        Label,
    };
    let pool = generate_phantom_set(3, Split::Train, 60).images;
    let hemorrhage: Vec<usize> = (0..pool.len())
        .filter(|&i| pool.samples[i].label == Some(Label::Hemorrhage))
        .take(6)
        .collect();
    let normal = (0..pool.len()).filter(|&i| pool.samples[i].label == Some(Label::Normal));
    let indices: Vec<usize> = hemorrhage.iter().copied().chain(normal).collect();
    let train = subset(&pool, &indices).unwrap();
    assert_eq!(train.class_counts_by_label(), [60, 6]);
    let validate = generate_phantom_set(3, Split::Validate, 15).images;

    // Six epochs with batches of 22: enough to show the effect, quick in a debug build.
    let plain = Recipe {
        epochs: 6,
        batch_size: 22,
        ..Recipe::TEACHING
    };
    let balanced = Recipe {
        class_weight: ClassWeight::Balanced,
        ..plain
    };
    let warning = imbalance_warning(&plain, 60, 6).unwrap();
    assert!(warning.contains("60 normal and 6 hemorrhage"), "{warning}");
    assert!(warning.contains("--class-weight balanced"), "{warning}");
    assert!(imbalance_warning(&balanced, 60, 6).is_none());
    assert!(imbalance_warning(&plain, 60, 40).is_none());
    assert_eq!(balanced.class_weights(60, 6).unwrap(), Some([0.55, 5.5]));

    let sensitivity = |recipe: &Recipe| {
        let trained = train_model(&train, &validate, recipe, 1, &mut Silent).unwrap();
        let eval = evaluate_set(&trained.model, &trained.dev, &validate, recipe.threshold).unwrap();
        let labels = validate.known_labels().unwrap();
        BinaryMetrics::compute(&eval.probabilities, &labels, recipe.threshold)
            .unwrap()
            .sensitivity
            .value
    };
    let (without, with) = (sensitivity(&plain), sensitivity(&balanced));
    eprintln!("sensitivity on 15 + 15 phantoms: {without:.2} unweighted, {with:.2} balanced");
    assert!(with > without, "balanced {with} vs unweighted {without}");
}

#[test]
fn sbit_of_a_gray_and_alpha_image_is_read_from_its_gray_entry() {
    let dir = tempfile::tempdir().unwrap();
    let (w, h) = (40u32, 40u32);
    let mut bytes = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut bytes, w, h);
        encoder.set_color(png::ColorType::GrayscaleAlpha);
        encoder.set_depth(png::BitDepth::Sixteen);
        let mut writer = encoder.write_header().unwrap();
        // 12 significant gray bits, 16 alpha bits.
        writer
            .write_chunk(png::chunk::ChunkType(*b"sBIT"), &[12, 16])
            .unwrap();
        let data: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let gray = ((i * 97) % 4096) as u16;
                [gray.to_be_bytes(), u16::MAX.to_be_bytes()].concat()
            })
            .collect();
        writer.write_image_data(&data).unwrap();
    }
    let path = dir.path().join("gray-alpha.png");
    fs::write(&path, bytes).unwrap();
    let (pixels, note) = head_ct::data::Loader::default()
        .bytes(&path, &fs::read(&path).unwrap())
        .unwrap();
    assert!(note.unwrap().contains("sBIT chunk says 12"));
    let max = pixels.iter().copied().fold(0.0f32, f32::max);
    assert!(
        max > 0.9,
        "read {max} as the brightest value: 16 times too dark?"
    );
}

#[test]
fn more_folds_than_images_or_seeds_by_the_billion_are_refused_at_once() {
    use head_ct::{experiments::stratified_folds, Label};
    let labels = [
        Label::Hemorrhage,
        Label::Normal,
        Label::Hemorrhage,
        Label::Normal,
    ];
    let err = stratified_folds(&labels, 100_000_000_000, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("only 4 images"), "{err}");
    let err = head_ct::experiments::parse_seeds("10000000000")
        .unwrap_err()
        .to_string();
    assert!(err.contains("at most 1000"), "{err}");
}

#[test]
fn a_float_image_with_nan_pixels_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("float.tif");
    let image = image::Rgb32FImage::from_fn(40, 40, |x, _| {
        image::Rgb(if x < 20 { [f32::NAN; 3] } else { [0.5; 3] })
    });
    if let Err(e) = image.save(&path) {
        eprintln!("this image crate cannot write float TIFF ({e}): nothing to check");
        return;
    }
    let err = Loader::default().file(&path).unwrap_err().to_string();
    assert!(err.contains("float.tif"), "{err}");
    assert!(err.contains("not numbers"), "{err}");
}
