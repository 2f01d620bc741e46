//! Grids of CT slices: samples with captions, and predictions with their verdicts.

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{bold, colors, empty_state, render, text, Area, Figure, OrPlot};
use crate::{
    data::ImageSet,
    inference::Prediction,
    labels::{Label, Threshold, Verdict},
    model::{CHANNELS, IMAGE_LEN, IMAGE_SIZE},
    Error, Result,
};
/// Target figure width.
const TARGET_WIDTH: u32 = 960;
/// Columns of [`predictions_grid`].
const PREDICTION_COLUMNS: usize = 4;

/// One cell of a grid.
struct Cell<'a> {
    image: &'a [f32],
    caption: String,
    caption_color: RGBColor,
    border: Option<RGBColor>,
}

/// A grid of CT slices, `columns` across, with `captions[i]` under `images[i]`.
///
/// Each image is `3 × 150 × 150` floats in CHW order (the model's input), values in `[0, 1]`
/// (values outside are clipped). `captions` must have one caption per image, or be empty for no
/// captions; long captions wrap onto a second line. With no images the figure says so.
///
/// Errors if an image has the wrong length, the caption count differs, or `columns` is 0.
pub fn sample_grid(images: &[&[f32]], captions: &[String], columns: usize) -> Result<Figure> {
    if !captions.is_empty() && captions.len() != images.len() {
        return Err(Error::InvalidInput(format!(
            "{} images but {} captions",
            images.len(),
            captions.len()
        )));
    }
    let cells: Vec<Cell> = images
        .iter()
        .enumerate()
        .map(|(i, image)| Cell {
            image,
            caption: captions.get(i).cloned().unwrap_or_default(),
            caption_color: colors::INK,
            border: None,
        })
        .collect();
    grid(&cells, columns, "Sample images", None)
}

/// Up to `per_class` images of each class of a labelled `set` (hemorrhage first), captioned
/// with their class and file name, four across. An unlabelled set shows its first images.
pub fn class_samples(set: &ImageSet, per_class: usize) -> Result<Figure> {
    let picked: Vec<usize> = if set.is_labelled() {
        Label::POSITIVE_FIRST
            .iter()
            .flat_map(|&class| {
                (0..set.len())
                    .filter(move |&i| set.samples[i].label == Some(class))
                    .take(per_class)
            })
            .collect()
    } else {
        (0..set.len().min(2 * per_class)).collect()
    };
    let images: Vec<&[f32]> = picked.iter().map(|&i| set.image(i)).collect();
    let captions: Vec<String> = picked
        .iter()
        .map(|&i| {
            let name = set.samples[i]
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match set.class_name_of(i) {
                Some(class) => format!("{class} ({name})"),
                None => name,
            }
        })
        .collect();
    sample_grid(&images, &captions, 4)
}

/// [`predictions_grid`] for the first 16 predictions of `set`, as
/// [`crate::inference::predict_set`] returns them (prediction `i` is of image `i`), at their
/// threshold. Errors if the counts differ.
pub fn predictions_figure(predictions: &[Prediction], set: &ImageSet) -> Result<Figure> {
    if predictions.len() != set.len() {
        return Err(Error::InvalidInput(format!(
            "{} predictions for a set of {} images",
            predictions.len(),
            set.len()
        )));
    }
    let shown = predictions.len().min(16);
    let images: Vec<&[f32]> = (0..shown).map(|i| set.image(i)).collect();
    let probabilities: Vec<f32> = predictions[..shown].iter().map(|p| p.probability).collect();
    let truths: Option<Vec<Label>> = predictions[..shown].iter().map(|p| p.truth).collect();
    let threshold = predictions
        .first()
        .map_or(Threshold::DEFAULT, |p| p.threshold);
    predictions_grid(&images, &probabilities, truths.as_deref(), threshold)
}

/// The feature maps of one image after a layer, as grey pictures eight across: `maps` holds
/// `channels` maps of `side x side` values (CHW order, as `tensor.as_vec()` gives them for one
/// image). Each map is stretched to black (its lowest value) ... white (its highest) and scaled
/// up to 150 px, so that small maps stay visible. `title` says which layer. At most 32 maps are
/// drawn.
///
/// Errors if `maps` does not hold `channels * side * side` values or `side` is 0.
pub fn feature_maps(maps: &[f32], channels: usize, side: usize, title: &str) -> Result<Figure> {
    if side == 0 || maps.len() != channels * side * side {
        return Err(Error::InvalidInput(format!(
            "{} values are not {channels} maps of {side}x{side}",
            maps.len()
        )));
    }
    let shown = channels.min(32);
    let pictures: Vec<Vec<f32>> = maps
        .chunks(side * side)
        .take(shown)
        .map(|map| {
            let (low, high) = map
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
                    (l.min(v), h.max(v))
                });
            let range = if high > low { high - low } else { 1.0 };
            let plane: Vec<f32> = (0..IMAGE_SIZE * IMAGE_SIZE)
                .map(|i| {
                    let (y, x) = (
                        i / IMAGE_SIZE * side / IMAGE_SIZE,
                        i % IMAGE_SIZE * side / IMAGE_SIZE,
                    );
                    (map[y * side + x] - low) / range
                })
                .collect();
            plane.repeat(CHANNELS)
        })
        .collect();
    let cells: Vec<Cell> = pictures
        .iter()
        .enumerate()
        .map(|(i, image)| Cell {
            image,
            caption: format!("map {}", i + 1),
            caption_color: colors::INK,
            border: None,
        })
        .collect();
    let subtitle = format!(
        "{shown} of {channels} feature maps, {side}x{side} each; white = strongest response"
    );
    grid(&cells, 8, title, Some(&subtitle))
}

/// A grid of CT slices with the model's call under each: `"hemorrhage 0.92 — correct"`,
/// `"normal 0.31 — missed"`, `"hemorrhage 0.71 — false alarm"`. The number is always the
/// probability of **hemorrhage**; the call is [`Threshold::call`].
///
/// With `truths` each image gets a green (correct) or red (wrong) border and the title counts
/// the mistakes; without, captions give only the call. Four columns; with no images the figure
/// says so.
///
/// Errors if the lengths differ or an image has the wrong length.
pub fn predictions_grid(
    images: &[&[f32]],
    probabilities: &[f32],
    truths: Option<&[Label]>,
    threshold: Threshold,
) -> Result<Figure> {
    if probabilities.len() != images.len() {
        return Err(Error::InvalidInput(format!(
            "{} images but {} probabilities",
            images.len(),
            probabilities.len()
        )));
    }
    if let Some(labels) = truths {
        if labels.len() != images.len() {
            return Err(Error::InvalidInput(format!(
                "{} images but {} labels",
                images.len(),
                labels.len()
            )));
        }
    }
    let mut counts = [0usize; 3];
    let cells: Vec<Cell> = images
        .iter()
        .zip(probabilities)
        .enumerate()
        .map(|(i, (image, &p))| {
            let called = threshold.call(p);
            let call = called.name();
            let shown = if p.is_nan() {
                "?".to_string()
            } else {
                format!("{p:.2}")
            };
            match truths {
                Some(labels) => {
                    let verdict = Verdict::of(called, labels[i]);
                    counts[verdict as usize] += 1;
                    let color = if verdict == Verdict::Correct {
                        colors::CORRECT
                    } else {
                        colors::WRONG
                    };
                    Cell {
                        image,
                        caption: format!("{call} {shown} — {}", verdict.as_str()),
                        caption_color: color,
                        border: Some(color),
                    }
                }
                None => Cell {
                    image,
                    caption: format!("{call} {shown}"),
                    caption_color: colors::INK,
                    border: None,
                },
            }
        })
        .collect();
    let title = match truths {
        _ if images.is_empty() => "Predictions".to_string(),
        Some(_) => format!(
            "Predictions: {} of {} correct, {} missed, {} false {}",
            counts[0],
            images.len(),
            counts[1],
            counts[2],
            if counts[2] == 1 { "alarm" } else { "alarms" }
        ),
        None => format!("Predictions for {} images", images.len()),
    };
    let subtitle =
        format!("number = probability of hemorrhage; called hemorrhage at >= {threshold:.2}");
    grid(
        &cells,
        PREDICTION_COLUMNS.min(images.len()).max(1),
        &title,
        Some(&subtitle),
    )
}

/// Lays out and draws a grid of cells.
fn grid(cells: &[Cell], columns: usize, title: &str, subtitle: Option<&str>) -> Result<Figure> {
    if columns == 0 {
        return Err(Error::InvalidInput(
            "a grid needs at least one column".into(),
        ));
    }
    for (i, cell) in cells.iter().enumerate() {
        if cell.image.len() != IMAGE_LEN {
            return Err(Error::InvalidInput(format!(
                "image {i} has {} values; a {CHANNELS}x{IMAGE_SIZE}x{IMAGE_SIZE} image has {IMAGE_LEN}",
                cell.image.len()
            )));
        }
    }
    if cells.is_empty() {
        return empty_state(title, "No images to show.");
    }
    let columns = columns.min(cells.len());
    let rows = cells.len().div_ceil(columns);
    let cell_width = (TARGET_WIDTH / columns as u32).clamp(140, 320);
    let pad = 8u32;
    let side = cell_width - 2 * pad;
    let caption_size = if cell_width < 200 { 13.0 } else { 16.0 };
    let caption_height = (2.6 * caption_size) as u32 + 10;
    let cell_height = side + 2 * pad + caption_height;
    let margin = 12u32;
    let header = if subtitle.is_some() { 74 } else { 48 };
    let width = (columns as u32 * cell_width + 2 * margin).max(480);
    let height = header + rows as u32 * cell_height + margin;
    let left = (width - columns as u32 * cell_width) / 2;
    let origin = |i: usize| {
        let (r, c) = ((i / columns) as u32, (i % columns) as u32);
        (left + c * cell_width, header + r * cell_height)
    };

    let mut figure = render(width, height, |root| {
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            title.to_string(),
            (width as i32 / 2, 24),
            bold(22.0, colors::INK).pos(centre),
        ))
        .or_plot()?;
        if let Some(subtitle) = subtitle {
            root.draw(&Text::new(
                subtitle.to_string(),
                (width as i32 / 2, 54),
                text(16.0, colors::GREY).pos(centre),
            ))
            .or_plot()?;
        }
        for (i, cell) in cells.iter().enumerate() {
            let (x, y) = origin(i);
            let (x0, y0) = ((x + pad) as i32, (y + pad) as i32);
            let s = side as i32;
            if let Some(color) = cell.border {
                root.draw(&Rectangle::new(
                    [(x0 - 5, y0 - 5), (x0 + s + 4, y0 + s + 4)],
                    color.filled(),
                ))
                .or_plot()?;
            }
            let caption_area = root.clone().shrink(
                (x + 2, y + pad + side + 10),
                (cell_width - 4, caption_height),
            );
            draw_caption(
                &caption_area,
                &cell.caption,
                caption_size,
                cell.caption_color,
            )?;
        }
        Ok(())
    })?;
    for (i, cell) in cells.iter().enumerate() {
        let (x, y) = origin(i);
        blit(&mut figure, cell.image, x + pad, y + pad, side);
    }
    Ok(figure)
}

/// Draws `caption` centred in `area`, on one line or wrapped onto two; a line that still does
/// not fit (a long file name) is shortened in the middle, and characters the font lacks are
/// drawn as `?` ([`super::drawable`]).
fn draw_caption(area: &Area<'_>, caption: &str, size: f64, color: RGBColor) -> Result<()> {
    if caption.is_empty() {
        return Ok(());
    }
    let caption = super::drawable(caption);
    let caption = caption.as_str();
    let (width, _) = area.dim_in_pixel();
    let style = text(size, color).pos(Pos::new(HPos::Center, VPos::Top));
    let fits = |s: &str| -> Result<bool> {
        Ok(area.estimate_text_size(s, &style).or_plot()?.0 + 4 <= width)
    };
    let mut lines = vec![caption.to_string()];
    if !fits(caption)? {
        // Break at the last space that keeps the first line within the width.
        let words: Vec<&str> = caption.split(' ').collect();
        let mut split = 1;
        for k in 1..words.len() {
            if fits(&words[..k].join(" "))? {
                split = k;
            }
        }
        if split < words.len() {
            lines = vec![words[..split].join(" "), words[split..].join(" ")];
        }
    }
    let line_height = (size * 1.25) as i32;
    for (k, line) in lines.iter().enumerate() {
        area.draw(&Text::new(
            super::fit_text(area, line, &style, width),
            (width as i32 / 2, k as i32 * line_height),
            style.clone(),
        ))
        .or_plot()?;
    }
    Ok(())
}

/// Copies a CHW image into the figure at `(x, y)`, scaled to `side × side` (bilinear).
fn blit(figure: &mut Figure, image: &[f32], x: u32, y: u32, side: u32) {
    let n = IMAGE_SIZE;
    let plane = n * n;
    let scale = n as f32 / side as f32;
    let value = |c: usize, sy: usize, sx: usize| -> f32 {
        let v = image[c * plane + sy * n + sx];
        if v.is_nan() {
            0.0
        } else {
            v.clamp(0.0, 1.0)
        }
    };
    for dy in 0..side {
        let fy = ((dy as f32 + 0.5) * scale - 0.5).clamp(0.0, (n - 1) as f32);
        let (y0, ty) = (fy.floor() as usize, fy.fract());
        let y1 = (y0 + 1).min(n - 1);
        for dx in 0..side {
            let fx = ((dx as f32 + 0.5) * scale - 0.5).clamp(0.0, (n - 1) as f32);
            let (x0, tx) = (fx.floor() as usize, fx.fract());
            let x1 = (x0 + 1).min(n - 1);
            let (px, py) = ((x + dx) as usize, (y + dy) as usize);
            if px >= figure.width as usize || py >= figure.height as usize {
                continue;
            }
            let offset = (py * figure.width as usize + px) * 3;
            for c in 0..CHANNELS {
                let top = value(c, y0, x0) * (1.0 - tx) + value(c, y0, x1) * tx;
                let bottom = value(c, y1, x0) * (1.0 - tx) + value(c, y1, x1) * tx;
                let v = top * (1.0 - ty) + bottom * ty;
                figure.rgb[offset + c] = (v * 255.0).round() as u8;
            }
        }
    }
}
