//! Loader tests: formats, conversion, resizing, class folders and every bad-input case.

use std::{
    fs,
    path::{Path, PathBuf},
};

use head_ct::{data::Loader, input::MIN_IMAGE_SIDE, model::IMAGE_LEN, Label};

const H: Option<Label> = Some(Label::Hemorrhage);
const N: Option<Label> = Some(Label::Normal);
use image::{ImageBuffer, Luma, Rgb, Rgba};

const PLANE: usize = 150 * 150;
/// The loader multiplies by 1/255, as Keras' `rescale=1./255` does.
const K: f32 = 1.0 / 255.0;

fn rgb_png(path: &Path, w: u32, h: u32, f: impl Fn(u32, u32) -> [u8; 3]) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    ImageBuffer::from_fn(w, h, |x, y| Rgb(f(x, y)))
        .save(path)
        .unwrap();
}

fn uniform(path: &Path, w: u32, h: u32, v: u8) {
    rgb_png(path, w, h, |_, _| [v, v, v]);
}

/// A labelled folder with `n` images in each of `classes`.
fn class_folder(dir: &Path, classes: &[&str], n: usize) {
    for (k, c) in classes.iter().enumerate() {
        for i in 0..n {
            uniform(
                &dir.join(c).join(format!("{i:03}.png")),
                60,
                50,
                (k * 100 + i) as u8,
            );
        }
    }
}

fn err_text<T: std::fmt::Debug>(r: head_ct::Result<T>) -> String {
    r.expect_err("expected an error").to_string()
}

fn assert_err<T: std::fmt::Debug>(r: head_ct::Result<T>, parts: &[&str]) {
    let msg = err_text(r);
    for p in parts {
        assert!(msg.contains(p), "error `{msg}` should contain `{p}`");
    }
}

#[test]
fn gray_8bit_at_size_is_exact_and_repeated_in_three_channels() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g.png");
    ImageBuffer::from_fn(150, 150, |x, y| Luma([((x + 2 * y) % 256) as u8]))
        .save(&p)
        .unwrap();
    let img = Loader::default().file(&p).unwrap();
    assert_eq!(img.len(), IMAGE_LEN);
    for (x, y) in [(0usize, 0usize), (7, 3), (149, 149), (100, 20)] {
        let want = ((x + 2 * y) % 256) as f32 * K;
        for c in 0..3 {
            assert_eq!(
                img[c * PLANE + y * 150 + x],
                want,
                "channel {c} at ({x},{y})"
            );
        }
    }
}

#[test]
fn rgba_drops_alpha_and_keeps_channel_order() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("a.png");
    ImageBuffer::from_fn(150, 150, |_, _| Rgba([10u8, 20, 30, 0]))
        .save(&p)
        .unwrap();
    let img = Loader::default().file(&p).unwrap();
    assert_eq!(img[0], 10.0 * K);
    assert_eq!(img[PLANE], 20.0 * K);
    assert_eq!(img[2 * PLANE + 77], 30.0 * K);
}

#[test]
fn sixteen_bit_gray_is_scaled_by_65535() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("g16.png");
    ImageBuffer::from_fn(300, 200, |_, _| Luma([49_151u16]))
        .save(&p)
        .unwrap();
    let img = Loader::default().file(&p).unwrap();
    let want = 49_151.0 / 65_535.0;
    assert!(img.iter().all(|&v| (v - want).abs() < 1e-5), "{}", img[0]);
}

#[test]
fn resize_of_uniform_image_keeps_its_value_and_shape() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("u.png");
    rgb_png(&p, 821, 957, |_, _| [200, 100, 0]);
    let img = Loader::default().file(&p).unwrap();
    assert_eq!(img.len(), 3 * PLANE);
    assert!(img[..PLANE].iter().all(|&v| v == 200.0 * K));
    assert!(img[PLANE..2 * PLANE].iter().all(|&v| v == 100.0 * K));
    assert!(img[2 * PLANE..].iter().all(|&v| v == 0.0));
}

#[test]
fn triangle_filter_averages_fine_stripes_instead_of_aliasing() {
    // 1-pixel black/white stripes shrunk 4x: nearest would give pure 0 or 1, Triangle ~0.5.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("s.png");
    rgb_png(
        &p,
        600,
        600,
        |x, _| if x % 2 == 0 { [0; 3] } else { [255; 3] },
    );
    let img = Loader::default().file(&p).unwrap();
    for &v in &img[150 * 75 + 10..150 * 75 + 140] {
        assert!((v - 0.5).abs() < 0.05, "{v}");
    }
}

#[test]
fn jpeg_bmp_and_tiff_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let buf = ImageBuffer::from_fn(64, 80, |x, _| Rgb([(x * 3) as u8, 50, 90]));
    for ext in ["jpg", "bmp", "tiff"] {
        let p = dir.path().join(format!("x.{ext}"));
        buf.save(&p).unwrap();
        let img = Loader::default().file(&p).unwrap();
        assert_eq!(img.len(), IMAGE_LEN, "{ext}");
        assert!(img.iter().all(|v| (0.0..=1.0).contains(v)), "{ext}");
        assert!((img[PLANE + 500] - 50.0 * K).abs() < 0.03, "{ext}");
    }
}

#[test]
fn class_folders_are_sorted_and_hemorrhage_is_label_one_whatever_the_order() {
    let dir = tempfile::tempdir().unwrap();
    // "healthy" sorts before "hemorrhage": the hemorrhage label must still be 1.
    class_folder(dir.path(), &["healthy", "hemorrhage"], 3);
    let set = Loader::default().folder(dir.path()).unwrap();
    assert_eq!(set.class_names, ["healthy", "hemorrhage"]);
    assert_eq!(set.len(), 6);
    assert_eq!(set.labels(), [N, N, N, H, H, H]);
    assert!(set.samples[3].path.ends_with("hemorrhage/000.png"));
    // The pixels follow the samples: image 4 is hemorrhage/001.png, value 101.
    assert_eq!(set.image(4)[0], 101.0 * K);
    assert_eq!(
        set.class_counts(),
        [("healthy".to_string(), 3), ("hemorrhage".to_string(), 3)]
    );

    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 2);
    let set = Loader::default().folder(dir.path()).unwrap();
    assert_eq!(set.class_names, ["hemorrhage", "normal"]);
    assert_eq!(set.labels(), [H, H, N, N]);
}

#[test]
fn seed_layout_with_labelled_unlabelled_and_missing_test() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    class_folder(&root.join("train"), &["hemorrhage", "normal"], 3);
    class_folder(&root.join("validate"), &["hemorrhage", "normal"], 2);
    let data = Loader::default().seed_layout(root).unwrap();
    assert_eq!((data.train.len(), data.validate.len()), (6, 4));
    assert!(data.test.is_none());

    uniform(&root.join("test/a.png"), 40, 40, 7);
    uniform(&root.join("test/b.jpg"), 40, 40, 7);
    let test = Loader::default().seed_layout(root).unwrap().test.unwrap();
    assert_eq!(test.labels(), [None, None]);
    // The training classes, so that labelled and unlabelled test images share one naming.
    assert!(test.class_names == ["hemorrhage", "normal"] && !test.is_labelled());

    fs::remove_dir_all(root.join("test")).unwrap();
    class_folder(&root.join("test"), &["hemorrhage", "normal"], 1);
    let test = Loader::default().seed_layout(root).unwrap().test.unwrap();
    assert_eq!(test.labels(), [H, N]);
}

#[test]
fn hidden_and_system_files_are_skipped_silently() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 2);
    fs::write(dir.path().join("hemorrhage/.DS_Store"), b"junk").unwrap();
    fs::write(dir.path().join("normal/Thumbs.db"), b"junk").unwrap();
    fs::write(dir.path().join(".DS_Store"), b"junk").unwrap();
    fs::create_dir(dir.path().join(".ipynb_checkpoints")).unwrap();
    assert_eq!(Loader::default().folder(dir.path()).unwrap().len(), 4);
}

#[test]
fn load_image_files_keeps_the_order_given() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.png");
    let b = dir.path().join("b.png");
    uniform(&a, 50, 50, 10);
    uniform(&b, 50, 50, 20);
    let set = Loader::default().files(&[b.clone(), a.clone()]).unwrap();
    assert_eq!(set.samples[0].path, b);
    assert_eq!(set.image(1)[0], 10.0 * K);
}

// ---- bad input: each error names the file and the problem ----

#[test]
fn missing_folder() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nope");
    assert_err(Loader::default().folder(&p), &["nope", "folder not found"]);
    assert_err(Loader::default().seed_layout(&p), &["nope", "not found"]);
    let only_train = dir.path().join("only_train");
    class_folder(&only_train.join("train"), &["hemorrhage", "normal"], 1);
    assert_err(
        Loader::default().seed_layout(&only_train),
        &["validate", "folder not found"],
    );
}

#[test]
fn empty_folder() {
    let dir = tempfile::tempdir().unwrap();
    assert_err(Loader::default().folder(dir.path()), &["folder is empty"]);
}

#[test]
fn class_folder_without_images() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage"], 2);
    fs::create_dir(dir.path().join("normal")).unwrap();
    fs::write(dir.path().join("normal/.DS_Store"), b"x").unwrap();
    assert_err(
        Loader::default().folder(dir.path()),
        &["normal", "holds no images"],
    );
}

#[test]
fn zero_byte_image() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 2);
    fs::write(dir.path().join("normal/empty.png"), b"").unwrap();
    assert_err(
        Loader::default().folder(dir.path()),
        &["empty.png", "empty file (0 bytes)"],
    );
}

#[test]
fn truncated_image() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 2);
    let p = dir.path().join("hemorrhage/001.png");
    uniform(&p, 300, 300, 1);
    let bytes = fs::read(&p).unwrap();
    fs::write(&p, &bytes[..bytes.len() / 2]).unwrap();
    assert_err(
        Loader::default().folder(dir.path()),
        &["001.png", "cannot decode image"],
    );
}

#[test]
fn unreadable_image_content() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 2);
    fs::write(dir.path().join("normal/fake.png"), b"this is not a picture").unwrap();
    assert_err(
        Loader::default().folder(dir.path()),
        &["fake.png", "cannot decode image"],
    );
    assert_err(
        Loader::default().file(&dir.path().join("missing.png")),
        &["missing.png"],
    );
}

#[test]
fn image_too_small() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("tiny.png");
    uniform(&p, MIN_IMAGE_SIDE - 1, 200, 3);
    assert_err(
        Loader::default().file(&p),
        &["tiny.png", "too small", "31x200", "32 pixels"],
    );
    uniform(&p, MIN_IMAGE_SIDE, MIN_IMAGE_SIDE, 3);
    assert!(Loader::default().file(&p).is_ok());
}

#[test]
fn non_image_file_in_class_folder() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 2);
    fs::write(dir.path().join("normal/README.md"), b"notes").unwrap();
    assert_err(
        Loader::default().folder(dir.path()),
        &["README.md", "not an image file"],
    );
}

#[test]
fn wrong_class_sets() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal", "other"], 1);
    assert_err(
        Loader::default().folder(dir.path()),
        &["exactly two class folders", "other"],
    );

    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["bleed", "normal"], 1);
    assert_err(
        Loader::default().folder(dir.path()),
        &["`hemorrhage`", "bleed"],
    );

    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage"], 1);
    assert_err(
        Loader::default().folder(dir.path()),
        &["exactly two class folders"],
    );
}

#[test]
fn loose_files_next_to_class_folders_and_in_train() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 1);
    uniform(&dir.path().join("stray.png"), 40, 40, 0);
    assert_err(
        Loader::default().folder(dir.path()),
        &["stray.png", "loose image file"],
    );

    let root = tempfile::tempdir().unwrap();
    uniform(&root.path().join("train/a.png"), 40, 40, 0);
    class_folder(&root.path().join("validate"), &["hemorrhage", "normal"], 1);
    assert_err(
        Loader::default().seed_layout(root.path()),
        &["train", "loose image files"],
    );
}

#[test]
fn nested_folder_in_class_folder() {
    let dir = tempfile::tempdir().unwrap();
    class_folder(dir.path(), &["hemorrhage", "normal"], 1);
    let nested: PathBuf = dir.path().join("normal/more");
    uniform(&nested.join("x.png"), 40, 40, 0);
    assert_err(
        Loader::default().folder(dir.path()),
        &["more", "unexpected folder"],
    );
}
