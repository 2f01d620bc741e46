//! The reliability diagram: for each bin of predicted probability of hemorrhage, the share of
//! its images that really show one, with the bin's count beside each point.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{colors, legend_line, render, text, Figure, OrPlot, FONT};
use crate::{calibration::CalibrationReport, Error, Result};

/// A reliability diagram of one or more calibration reports, each a named series (e.g.
/// `("raw", &before)`, `("calibrated", &after)`): one point per non-empty bin at (mean
/// probability of hemorrhage, observed share of hemorrhages), labelled with the bin's image
/// count, joined by a line; the diagonal is perfect calibration. Below the diagonal the model
/// claims more hemorrhage than there is (over-confident towards hemorrhage), above it less. The
/// legend gives each series' ECE and Brier score. 900 × 820 pixels.
///
/// Errors if `series` is empty or holds more than four reports.
pub fn reliability_figure(title: &str, series: &[(&str, &CalibrationReport)]) -> Result<Figure> {
    if series.is_empty() || series.len() > 4 {
        return Err(Error::InvalidInput(format!(
            "a reliability diagram draws 1 to 4 series, not {}",
            series.len()
        )));
    }
    let palette = [
        colors::TRAIN,
        colors::VALIDATION,
        colors::CORRECT,
        colors::WRONG,
    ];
    render(900, 820, |root| {
        let mut chart = super::charts::unit_square_chart(
            root,
            super::drawable(title),
            22.0,
            (
                "probability of hemorrhage the model gave (mean of the bin)",
                "share of the bin's images that show a hemorrhage",
            ),
            "perfect calibration",
        )?;
        for (k, (name, report)) in series.iter().enumerate() {
            let color = palette[k];
            let points: Vec<(f64, f64, usize)> = report
                .reliability_bins
                .iter()
                .filter(|b| b.count > 0)
                .map(|b| (b.mean_probability, b.observed_frequency, b.count))
                .collect();
            chart
                .draw_series(LineSeries::new(
                    points.iter().map(|&(x, y, _)| (x, y)),
                    color.stroke_width(2),
                ))
                .or_plot()?
                .label(super::drawable(&format!(
                    "{name}: ECE {:.3}, Brier {:.3} ({} images, {} bins)",
                    report.ece.value, report.brier.value, report.images, report.bins
                )))
                .legend(legend_line(color.stroke_width(3)));
            chart
                .draw_series(
                    points
                        .iter()
                        .map(|&(x, y, _)| Circle::new((x, y), 5, color.filled())),
                )
                .or_plot()?;
            // Counts beside the points, the series apart vertically so that they do not overlap.
            let offset = 14 + 16 * k as i32;
            let style = text(13.0, color).pos(Pos::new(HPos::Left, VPos::Center));
            chart
                .draw_series(points.iter().map(|&(x, y, n)| {
                    EmptyElement::at((x, y))
                        + plotters::element::Text::new(
                            format!("{n}"),
                            (8, if y > 0.85 { offset } else { -offset }),
                            style.clone(),
                        )
                }))
                .or_plot()?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 15.0).into_font().color(&colors::INK))
            .background_style(WHITE.mix(0.9))
            .border_style(colors::GREY)
            .margin(10)
            .draw()
            .or_plot()?;
        root.draw(&plotters::element::Text::new(
            "numbers: images in each bin",
            (880, 800),
            text(13.0, colors::GREY).pos(Pos::new(HPos::Right, VPos::Bottom)),
        ))
        .or_plot()?;
        Ok(())
    })
}
