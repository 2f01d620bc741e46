//! Figures for notebooks and reports: sample images, training curves, the confusion matrix, the
//! ROC curve, the reliability diagram, a grid of predictions, and the spread of cross-validation folds and of seeds.
//!
//! Every figure function draws into memory and returns a [`Figure`]: an RGB image that can be
//! saved as a PNG ([`Figure::save_png`]), turned into PNG bytes ([`Figure::to_png_bytes`]) or
//! shown inline in a Jupyter notebook running the evcxr Rust kernel: make the figure the last
//! expression of a cell, or call [`Figure::evcxr_display`].
//!
//! ```no_run
//! use head_ct::{plots, training::History};
//!
//! let history = History {
//!     loss: vec![0.69, 0.52, 0.41],
//!     accuracy: vec![0.55, 0.74, 0.81],
//!     val_loss: vec![0.66, 0.55, 0.50],
//!     val_accuracy: vec![0.60, 0.72, 0.76],
//! };
//! let figure = plots::training_curves(&history)?;
//! figure.save_png("runs/training_curves.png")?;
//! # Ok::<(), head_ct::Error>(())
//! ```
//!
//! # Text without system fonts
//!
//! Text is drawn with DejaVu Sans, embedded in the program (the `dejavu` crate) and rendered by
//! `ab_glyph`: figures look the same on a fresh machine, in CI and in the notebook kernel,
//! whether or not the system has fonts or fontconfig.

mod charts;
mod crossval;
mod grids;
mod heatmap;
mod reliability;
mod seeds;
mod study;

use std::{path::Path, sync::Once};

use base64::Engine as _;
use plotters::{
    coord::Shift,
    prelude::*,
    style::{
        register_font,
        text_anchor::{HPos, Pos, VPos},
        FontStyle,
    },
};

use crate::{Error, Result};

pub use charts::{confusion_matrix_figure, roc_figure, roc_figure_from_metrics, training_curves};
pub use crossval::crossval_roc_figure;
pub use grids::{class_samples, feature_maps, predictions_figure, predictions_grid, sample_grid};
pub use heatmap::{explanation_figure, explanation_title, heatmap_grid, turbo};
pub use reliability::reliability_figure;
pub use seeds::seed_spread_figure;
pub use study::series_probability_figure;

/// A rendered figure: `width × height` pixels, RGB, row by row from the top left (3 bytes a
/// pixel, `rgb.len() == width * height * 3`).
#[derive(Clone, PartialEq, Eq)]
pub struct Figure {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The pixels, `[r, g, b, r, g, b, ...]`, rows from the top.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Figure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Figure({}x{} RGB)", self.width, self.height)
    }
}

impl Figure {
    /// The figure as a PNG file's bytes.
    ///
    /// Errors only if `rgb` does not hold `width × height` RGB pixels.
    pub fn to_png_bytes(&self) -> Result<Vec<u8>> {
        let expected = self.width as usize * self.height as usize * 3;
        if self.rgb.len() != expected || self.width == 0 || self.height == 0 {
            return Err(Error::InvalidInput(format!(
                "a {}x{} figure needs {expected} RGB bytes, it has {}",
                self.width,
                self.height,
                self.rgb.len()
            )));
        }
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, self.width, self.height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let png_error = |e: png::EncodingError| Error::Plot(format!("PNG encoding failed: {e}"));
        let mut writer = encoder.write_header().map_err(png_error)?;
        writer.write_image_data(&self.rgb).map_err(png_error)?;
        writer.finish().map_err(png_error)?;
        Ok(out)
    }

    /// Saves the figure as a PNG file at `path`, atomically: the bytes go to a temporary file in
    /// the same folder, which is then renamed to `path`. A reader never sees half a file, and a
    /// failed save leaves any earlier file at `path` as it was. The folder must exist.
    pub fn save_png(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let bytes = self.to_png_bytes()?;
        crate::fsutil::write_atomically(path, &bytes)
    }

    /// What [`Figure::evcxr_display`] prints: the evcxr kernel's inline-content protocol,
    /// `EVCXR_BEGIN_CONTENT image/png`, the PNG in base64, `EVCXR_END_CONTENT`.
    pub fn evcxr_content(&self) -> Result<String> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(self.to_png_bytes()?);
        Ok(format!(
            "EVCXR_BEGIN_CONTENT image/png\n{encoded}\nEVCXR_END_CONTENT\n"
        ))
    }

    /// Shows the figure inline in a Jupyter notebook with the evcxr kernel. evcxr calls this by
    /// itself when a figure is the value of a cell's last expression. Outside a notebook it
    /// prints a screenful of base64.
    pub fn evcxr_display(&self) {
        match self.evcxr_content() {
            Ok(content) => print!("{content}"),
            Err(e) => eprintln!("{e}"),
        }
    }
}

/// Colours shared by the figures.
pub(crate) mod colors {
    use plotters::style::RGBColor;
    /// Training series.
    pub const TRAIN: RGBColor = RGBColor(31, 119, 180);
    /// Validation series.
    pub const VALIDATION: RGBColor = RGBColor(230, 110, 0);
    /// Right decisions.
    pub const CORRECT: RGBColor = RGBColor(34, 139, 34);
    /// Wrong decisions.
    pub const WRONG: RGBColor = RGBColor(200, 30, 30);
    /// Neutral lines and chance.
    pub const GREY: RGBColor = RGBColor(130, 130, 130);
    /// Text.
    pub const INK: RGBColor = RGBColor(25, 25, 25);
}

/// The font family every figure uses (registered from the embedded DejaVu Sans).
pub(crate) const FONT: &str = "sans-serif";

/// Registers DejaVu Sans with plotters under the generic family names, once per process.
fn ensure_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for family in ["sans-serif", "serif", "monospace"] {
            // These are valid TrueType files shipped by the `dejavu` crate; registration only
            // fails on unparsable bytes.
            let _ = register_font(family, FontStyle::Normal, dejavu::sans::regular());
            let _ = register_font(family, FontStyle::Bold, dejavu::sans::bold());
            let _ = register_font(family, FontStyle::Oblique, dejavu::sans::oblique());
            let _ = register_font(family, FontStyle::Italic, dejavu::sans::oblique());
        }
    });
}

/// Turns plotters' errors into [`Error::Plot`].
pub(crate) trait OrPlot<T> {
    fn or_plot(self) -> Result<T>;
}

impl<T, E: std::fmt::Display> OrPlot<T> for std::result::Result<T, E> {
    fn or_plot(self) -> Result<T> {
        self.map_err(|e| Error::Plot(e.to_string()))
    }
}

/// The drawing area figures draw on.
pub(crate) type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;

/// Renders a `width × height` figure on a white background with `draw`.
pub(crate) fn render(
    width: u32,
    height: u32,
    draw: impl FnOnce(&Area<'_>) -> Result<()>,
) -> Result<Figure> {
    ensure_fonts();
    let mut rgb = vec![255u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, (width, height)).into_drawing_area();
        root.fill(&WHITE).or_plot()?;
        draw(&root)?;
        root.present().or_plot()?;
    }
    Ok(Figure { width, height, rgb })
}

/// The embedded DejaVu Sans as `ab_glyph` reads it, to ask which characters it has.
fn font() -> &'static ab_glyph::FontRef<'static> {
    static FONT_REF: std::sync::OnceLock<ab_glyph::FontRef<'static>> = std::sync::OnceLock::new();
    FONT_REF.get_or_init(|| {
        ab_glyph::FontRef::try_from_slice(dejavu::sans::regular())
            .expect("the dejavu crate ships a valid TrueType file")
    })
}

/// The characters of `text` that the figures' font (DejaVu Sans) has no glyph for, such as
/// Chinese or Japanese characters, in order of first appearance.
pub fn undrawable_chars(text: &str) -> Vec<char> {
    use ab_glyph::Font;
    let mut missing = Vec::new();
    for c in text.chars() {
        if !c.is_control() && font().glyph_id(c).0 == 0 && !missing.contains(&c) {
            missing.push(c);
        }
    }
    missing
}

/// `text` as a figure can draw it: control characters escaped ([`crate::text::printable`]),
/// characters the font has no glyph for replaced by `?` (instead of empty boxes; see
/// [`undrawable_chars`] to warn about them).
pub fn drawable(text: &str) -> String {
    let missing = undrawable_chars(text);
    crate::text::printable(text)
        .chars()
        .map(|c| if missing.contains(&c) { '?' } else { c })
        .collect()
}

/// `text` ([`drawable`]), shortened in the middle until it fits `width` pixels in `style`.
pub(crate) fn fit_text(area: &Area<'_>, text: &str, style: &TextStyle<'_>, width: u32) -> String {
    let mut line = drawable(text);
    let mut chars = line.chars().count();
    while chars > 3 {
        match area.estimate_text_size(&line, style) {
            Ok((w, _)) if w + 4 > width => {
                chars -= 1;
                line = crate::text::shorten_middle(&drawable(text), chars);
            }
            _ => break,
        }
    }
    line
}

/// A legend's sample of a line series: a 24-pixel stroke in `style`, at the legend's point.
pub(crate) fn legend_line(style: ShapeStyle) -> impl Fn((i32, i32)) -> PathElement<(i32, i32)> {
    move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style)
}

/// A text style in the figures' font.
pub(crate) fn text(size: f64, color: RGBColor) -> TextStyle<'static> {
    (FONT, size).into_font().color(&color)
}

/// A bold text style in the figures' font.
pub(crate) fn bold(size: f64, color: RGBColor) -> TextStyle<'static> {
    (FONT, size, FontStyle::Bold).into_font().color(&color)
}

/// A figure that only says `message` under `title`: what the figure functions return when there
/// is nothing to draw.
pub(crate) fn empty_state(title: &str, message: &str) -> Result<Figure> {
    render(900, 240, |root| {
        let centre = text(20.0, colors::GREY).pos(Pos::new(HPos::Center, VPos::Center));
        let heading = bold(24.0, colors::INK).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(title.to_string(), (450, 50), heading))
            .or_plot()?;
        root.draw(&Text::new(message.to_string(), (450, 140), centre))
            .or_plot()?;
        Ok(())
    })
}
