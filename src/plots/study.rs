//! A series along the scan: each slice's probability of hemorrhage in slice order, with the
//! threshold, so that which slices carry the call, and whether they are neighbours, can be
//! read at a glance.

use plotters::prelude::*;

use super::{colors, legend_line, render, Figure, OrPlot, FONT};
use crate::{study::SeriesResult, Result, Threshold};

/// The probability of hemorrhage (calibrated when the model is) of every slice of `series`
/// against its slice number (1 = lowest position along the slice normal), the threshold as a
/// dashed line, slices at or above it in the colour of a call, slices that could not be read
/// as grey marks on the axis. `title` heads the figure. 1000 × 520 pixels.
pub fn series_probability_figure(
    title: &str,
    series: &SeriesResult,
    threshold: Threshold,
) -> Result<Figure> {
    let n = series.predictions.len().max(1);
    let points: Vec<(f64, Option<f64>)> = series
        .probabilities()
        .iter()
        .enumerate()
        .map(|(i, p)| ((i + 1) as f64, p.map(f64::from)))
        .collect();
    let kind = series
        .predictions
        .iter()
        .flatten()
        .next()
        .map_or("uncalibrated", |p| p.probability_kind());
    render(1000, 520, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                super::drawable(title),
                (FONT, 20.0).into_font().color(&colors::INK),
            )
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(0.5f64..n as f64 + 0.5, 0.0f64..1.0)
            .or_plot()?;
        chart
            .configure_mesh()
            .x_desc(match series.series.ordered_by {
                crate::study::SlicesOrderedBy::Position => {
                    "slice (1 = lowest position along the scan)"
                }
                crate::study::SlicesOrderedBy::InstanceNumber => {
                    "slice (in InstanceNumber order: positions missing)"
                }
            })
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_desc(format!("{kind} probability of hemorrhage"))
            .label_style((FONT, 14.0).into_font().color(&colors::INK))
            .light_line_style(colors::GREY.mix(0.15))
            .draw()
            .or_plot()?;
        let t = f64::from(threshold.value());
        chart
            .draw_series(DashedLineSeries::new(
                [(0.5, t), (n as f64 + 0.5, t)],
                8,
                6,
                colors::GREY.stroke_width(2),
            ))
            .or_plot()?
            .label(format!("threshold {threshold}"))
            .legend(legend_line(colors::GREY.stroke_width(2)));
        // The line breaks at slices that could not be read.
        for run in points.split(|(_, p)| p.is_none()) {
            chart
                .draw_series(LineSeries::new(
                    run.iter().map(|&(x, p)| (x, p.unwrap_or(0.0))),
                    colors::VALIDATION.stroke_width(2),
                ))
                .or_plot()?;
        }
        chart
            .draw_series(points.iter().filter_map(|&(x, p)| {
                let p = p?;
                let color = if threshold.calls_hemorrhage(p as f32) {
                    colors::WRONG
                } else {
                    colors::VALIDATION
                };
                Some(Circle::new((x, p), 5, color.filled()))
            }))
            .or_plot()?
            .label("slice at or above the threshold")
            .legend(|(x, y)| Circle::new((x + 10, y), 5, colors::WRONG.filled()));
        chart
            .draw_series(
                points
                    .iter()
                    .filter(|(_, p)| p.is_none())
                    .map(|&(x, _)| Cross::new((x, 0.02), 6, colors::GREY.stroke_width(2))),
            )
            .or_plot()?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font((FONT, 14.0).into_font().color(&colors::INK))
            .background_style(WHITE.mix(0.9))
            .border_style(colors::GREY)
            .draw()
            .or_plot()?;
        Ok(())
    })
}
