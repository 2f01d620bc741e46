//! Heat maps ([`crate::explain`]) laid over the CT slice: one image with its maps side by side,
//! or a grid of images, each with a colour bar.

use plotters::{
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{bold, colors, empty_state, render, text, Figure, OrPlot};
use crate::{
    calibration::Temperature,
    explain::HeatMap,
    labels::{Label, Threshold, Verdict},
    model::{CHANNELS, IMAGE_LEN, IMAGE_SIZE},
    Error, Result,
};

const N: usize = IMAGE_SIZE;
/// Side of one drawn panel, in pixels (the 150x150 slice scaled 2x).
const PANEL: u32 = 300;
/// Width kept for the colour bar and its labels.
const LEGEND: u32 = 120;
/// Opacity of the hottest colour over the slice; cooler colours are proportionally more
/// transparent, so the anatomy stays visible where the map is cold.
const MAX_ALPHA: f32 = 0.65;

/// The "turbo" colour map (Google's polynomial fit): dark blue (0) through green and yellow to
/// dark red (1). Perceptually smoother than "jet", and still reads as cold-to-hot.
pub fn turbo(v: f32) -> RGBColor {
    let x = if v.is_finite() {
        v.clamp(0.0, 1.0)
    } else {
        0.0
    } as f64;
    let r = 0.135_721_38
        + x * (4.615_392_6
            + x * (-42.660_322_58
                + x * (132.131_082_34 + x * (-152.942_393_96 + x * 59.286_379_43))));
    let g = 0.091_402_61
        + x * (2.194_188_39
            + x * (4.842_966_58 + x * (-14.185_033_33 + x * (4.277_298_57 + x * 2.829_566_04))));
    let b = 0.106_673_3
        + x * (12.641_946_08
            + x * (-60.582_048_36
                + x * (110.362_767_71 + x * (-89.903_109_12 + x * 27.348_249_73))));
    let byte = |c: f64| (c.clamp(0.0, 1.0) * 255.0).round() as u8;
    RGBColor(byte(r), byte(g), byte(b))
}

/// The title line for an image: `scan.png — called hemorrhage (calibrated probability of
/// hemorrhage 0.92)`, with ` — correct` / ` — missed` / ` — false alarm` when the truth is
/// known. `probability` is the network's raw output; with a `temperature` it is calibrated
/// first ([`Temperature::apply`]), and the call is made at `threshold` on what is shown.
pub fn explanation_title(
    name: &str,
    probability: f32,
    truth: Option<Label>,
    threshold: Threshold,
    temperature: Option<Temperature>,
) -> String {
    let (probability, kind) = match temperature {
        Some(t) => (t.apply(probability), "calibrated"),
        None => (probability, "uncalibrated"),
    };
    let called = threshold.call(probability);
    let mut title =
        format!("{name} — called {called} ({kind} probability of hemorrhage {probability:.2})");
    if let Some(label) = truth {
        title.push_str(" — ");
        title.push_str(Verdict::of(called, label).as_str());
    }
    title
}

/// One CT slice, then each heat map laid over it, side by side, with a colour bar; the title
/// names the image, the model's call and its probability of hemorrhage (from the first map),
/// and the verdict when `truth` is given; the probability is calibrated with `temperature`
/// when one is given (a calibrated model's [`crate::checkpoint::ModelMetadata::temperature`]).
///
/// `image` is `3 × 150 × 150` CHW floats in `[0, 1]`; maps are 150x150. With no map, the slice
/// is shown alone.
///
/// Errors if the image or a map has the wrong size.
pub fn explanation_figure(
    image: &[f32],
    maps: &[&HeatMap],
    name: &str,
    truth: Option<Label>,
    threshold: Threshold,
    temperature: Option<Temperature>,
) -> Result<Figure> {
    check_image(image, 0)?;
    check_maps(maps)?;
    let panels = 1 + maps.len() as u32;
    let (margin, gap, header, caption) = (16u32, 12u32, 78u32, 34u32);
    let width = 2 * margin + panels * PANEL + (panels - 1) * gap + LEGEND;
    let height = header + PANEL + caption + 30;
    let origin = |k: u32| (margin + k * (PANEL + gap), header);
    let title = match maps.first() {
        Some(m) => explanation_title(name, m.probability, truth, threshold, temperature),
        None => name.to_string(),
    };
    let bar_x = margin + panels * PANEL + (panels - 1) * gap + 24;
    let mut figure = render(width, height, |root| {
        let centre = Pos::new(HPos::Center, VPos::Center);
        let title_style = bold(20.0, colors::INK).pos(centre);
        root.draw(&Text::new(
            super::fit_text(root, &title, &title_style, width - 20),
            (width as i32 / 2, 22),
            title_style.clone(),
        ))
        .or_plot()?;
        root.draw(&Text::new(
            "Warm colours: where the evidence for \"hemorrhage\" lies (each map scaled to its own maximum). Not a diagnosis.",
            (width as i32 / 2, 52),
            text(14.0, colors::GREY).pos(centre),
        ))
        .or_plot()?;
        let mut captions = vec!["CT slice".to_string()];
        captions.extend(maps.iter().map(|m| m.method.describe()));
        for (k, c) in captions.iter().enumerate() {
            let (x, y) = origin(k as u32);
            root.draw(&Text::new(
                c.clone(),
                ((x + PANEL / 2) as i32, (y + PANEL + 18) as i32),
                text(16.0, colors::INK).pos(centre),
            ))
            .or_plot()?;
        }
        if !maps.is_empty() {
            draw_bar_labels(root, bar_x, header, PANEL)?;
        }
        Ok(())
    })?;
    let (x, y) = origin(0);
    paint(&mut figure, image, None, x, y, PANEL);
    for (k, m) in maps.iter().enumerate() {
        let (x, y) = origin(k as u32 + 1);
        paint(&mut figure, image, Some(m), x, y, PANEL);
    }
    if !maps.is_empty() {
        paint_bar(&mut figure, bar_x, header, PANEL);
    }
    Ok(figure)
}

/// Several slices with their heat maps laid over them, `columns` across, `captions[i]` under
/// image `i` (or none when `captions` is empty), and one colour bar. For a grid of Grad-CAM
/// maps over a validation set, say. With no images the figure says so.
///
/// Errors if the counts differ, an image or map has the wrong size, or `columns` is 0.
pub fn heatmap_grid(
    images: &[&[f32]],
    maps: &[&HeatMap],
    captions: &[String],
    columns: usize,
    title: &str,
) -> Result<Figure> {
    if maps.len() != images.len() || (!captions.is_empty() && captions.len() != images.len()) {
        return Err(Error::InvalidInput(format!(
            "{} images, {} maps and {} captions",
            images.len(),
            maps.len(),
            captions.len()
        )));
    }
    if columns == 0 {
        return Err(Error::InvalidInput(
            "a grid needs at least one column".into(),
        ));
    }
    for (i, image) in images.iter().enumerate() {
        check_image(image, i)?;
    }
    check_maps(maps)?;
    if images.is_empty() {
        return empty_state(title, "No images to show.");
    }
    let columns = columns.min(images.len()) as u32;
    let rows = images.len().div_ceil(columns as usize) as u32;
    let side = 220u32;
    let (margin, gap, header, caption) = (16u32, 10u32, 64u32, 44u32);
    let cell_h = side + caption;
    let grid_w = columns * side + (columns - 1) * gap;
    let width = 2 * margin + grid_w + LEGEND;
    let height = header + rows * cell_h + margin;
    let origin = |i: usize| {
        let (r, c) = (i as u32 / columns, i as u32 % columns);
        (margin + c * (side + gap), header + r * cell_h)
    };
    let bar_x = margin + grid_w + 24;
    let bar_h = (rows * cell_h - caption).min(320);
    let mut figure = render(width, height, |root| {
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            title.to_string(),
            (width as i32 / 2, 20),
            bold(20.0, colors::INK).pos(centre),
        ))
        .or_plot()?;
        root.draw(&Text::new(
            "Warm colours: where the evidence for \"hemorrhage\" lies. Not a diagnosis.",
            (width as i32 / 2, 46),
            text(14.0, colors::GREY).pos(centre),
        ))
        .or_plot()?;
        for (i, c) in captions.iter().enumerate() {
            let (x, y) = origin(i);
            let style = text(13.0, colors::INK).pos(Pos::new(HPos::Center, VPos::Top));
            root.draw(&Text::new(
                super::fit_text(root, c, &style, side),
                ((x + side / 2) as i32, (y + side + 6) as i32),
                style.clone(),
            ))
            .or_plot()?;
        }
        draw_bar_labels(root, bar_x, header, bar_h)
    })?;
    for (i, (image, map)) in images.iter().zip(maps).enumerate() {
        let (x, y) = origin(i);
        paint(&mut figure, image, Some(map), x, y, side);
    }
    paint_bar(&mut figure, bar_x, header, bar_h);
    Ok(figure)
}

fn check_image(image: &[f32], i: usize) -> Result<()> {
    if image.len() != IMAGE_LEN {
        return Err(Error::InvalidInput(format!(
            "image {i} has {} values; a {CHANNELS}x{N}x{N} image has {IMAGE_LEN}",
            image.len()
        )));
    }
    Ok(())
}

fn check_maps(maps: &[&HeatMap]) -> Result<()> {
    for (i, m) in maps.iter().enumerate() {
        if m.side != N || m.values.len() != N * N {
            return Err(Error::InvalidInput(format!(
                "heat map {i} is {}x{} with {} values; the figures draw {N}x{N} maps",
                m.side,
                m.side,
                m.values.len()
            )));
        }
    }
    Ok(())
}

/// Labels beside the colour bar at `(x, y)`, `height` tall: 1 at the top, 0 at the bottom.
fn draw_bar_labels(root: &super::Area<'_>, x: u32, y: u32, height: u32) -> Result<()> {
    let style = text(13.0, colors::INK).pos(Pos::new(HPos::Left, VPos::Center));
    for (v, label) in [(1.0f32, "1 max"), (0.5, "0.5"), (0.0, "0")] {
        let py = y as f32 + (1.0 - v) * (height - 1) as f32;
        root.draw(&Text::new(
            label,
            ((x + 26) as i32, py as i32),
            style.clone(),
        ))
        .or_plot()?;
    }
    root.draw(&Text::new(
        "heat",
        ((x + 10) as i32, (y + height + 14) as i32),
        text(13.0, colors::GREY).pos(Pos::new(HPos::Center, VPos::Center)),
    ))
    .or_plot()
}

/// The colour bar itself: 20 px wide, hottest at the top, in the colours of the overlay at
/// full heat (what a value looks like over a mid-gray slice would depend on the slice).
fn paint_bar(figure: &mut Figure, x: u32, y: u32, height: u32) {
    for dy in 0..height {
        let v = 1.0 - dy as f32 / (height - 1).max(1) as f32;
        let RGBColor(r, g, b) = turbo(v);
        for dx in 0..20 {
            set(figure, x + dx, y + dy, [r, g, b]);
        }
    }
}

fn set(figure: &mut Figure, x: u32, y: u32, rgb: [u8; 3]) {
    if x < figure.width && y < figure.height {
        let o = (y as usize * figure.width as usize + x as usize) * 3;
        figure.rgb[o..o + 3].copy_from_slice(&rgb);
    }
}

/// Draws the CHW `image` at `(x, y)` scaled to `side × side` (bilinear), with `map` blended over
/// it: colour `turbo(v)` at opacity `MAX_ALPHA · v`.
fn paint(figure: &mut Figure, image: &[f32], map: Option<&HeatMap>, x: u32, y: u32, side: u32) {
    let plane = N * N;
    let scale = N as f32 / side as f32;
    let clean = |v: f32| if v.is_nan() { 0.0 } else { v.clamp(0.0, 1.0) };
    let coord = |d: u32| {
        let f = ((d as f32 + 0.5) * scale - 0.5).clamp(0.0, (N - 1) as f32);
        let i0 = f.floor() as usize;
        (i0, (i0 + 1).min(N - 1), f - i0 as f32)
    };
    let lerp2 = |get: &dyn Fn(usize, usize) -> f32,
                 (y0, y1, ty): (usize, usize, f32),
                 (x0, x1, tx): (usize, usize, f32)| {
        let top = get(y0, x0) * (1.0 - tx) + get(y0, x1) * tx;
        let bottom = get(y1, x0) * (1.0 - tx) + get(y1, x1) * tx;
        top * (1.0 - ty) + bottom * ty
    };
    for dy in 0..side {
        let cy = coord(dy);
        for dx in 0..side {
            let cx = coord(dx);
            let mut rgb = [0f32; 3];
            for (c, out) in rgb.iter_mut().enumerate() {
                *out = lerp2(&|r, k| clean(image[c * plane + r * N + k]), cy, cx);
            }
            if let Some(m) = map {
                let v = lerp2(&|r, k| clean(m.values[r * N + k]), cy, cx);
                let RGBColor(r, g, b) = turbo(v);
                let alpha = MAX_ALPHA * v;
                for (out, col) in rgb.iter_mut().zip([r, g, b]) {
                    *out = *out * (1.0 - alpha) + f32::from(col) / 255.0 * alpha;
                }
            }
            set(
                figure,
                x + dx,
                y + dy,
                rgb.map(|v| (v * 255.0).round() as u8),
            );
        }
    }
}
