//! The seed-spread figure: each seed's validation accuracy and AUC as a dot, with the mean and
//! the range from the lowest to the highest seed.

use plotters::{
    coord::types::{RangedCoordf64, RangedCoordi32},
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{bold, colors, empty_state, legend_line, render, text, Area, Figure, OrPlot};
use crate::experiments::{SeedSpreadReport, Spread};

/// Two panels, validation accuracy (left) and validation AUC (right), for the models of a seed
/// spread ([`crate::experiments::seed_spread`]): one dot per seed (labelled with its value when
/// there are at most 12 seeds), a line at the mean, a shaded band from the lowest to the
/// highest value, and the dashed line of chance (0.5, for balanced classes), on the whole scale
/// from 0 to 1. 1000 × 460 pixels.
///
/// The height of the band is how far the seed alone moves the result. Values that are not
/// numbers (an AUC without both classes) are left out and the panel says so; with no runs the
/// figure says there is nothing to show.
pub fn seed_spread_figure(report: &SeedSpreadReport) -> Result<Figure, crate::Error> {
    let n = report.runs.len();
    if n == 0 {
        return empty_state("Spread over seeds", "No trained models to show.");
    }
    let (width, height) = (1000, 460);
    let seeds: Vec<u64> = report.runs.iter().map(|r| r.seed).collect();
    let accuracy: Vec<f64> = report.runs.iter().map(|r| r.val_accuracy).collect();
    let auc: Vec<f64> = report.runs.iter().map(|r| r.val_auc).collect();
    render(width, height, |root| {
        let title = format!(
            "Validation accuracy and AUC over {n} seed{} (same data, same recipe)",
            if n == 1 { "" } else { "s" }
        );
        let body = root.titled(&title, bold(22.0, colors::INK)).or_plot()?;
        let (left, right) = body.split_horizontally(width / 2);
        panel(
            &left,
            "Validation accuracy",
            "accuracy on the validation images",
            2,
            &seeds,
            &accuracy,
            colors::TRAIN,
        )?;
        panel(
            &right,
            "Validation AUC",
            "AUC on the validation images",
            3,
            &seeds,
            &auc,
            colors::VALIDATION,
        )
    })
}

/// One panel of [`seed_spread_figure`]: `values[i]` belongs to `seeds[i]`.
fn panel(
    area: &Area<'_>,
    caption: &str,
    y_label: &str,
    digits: usize,
    seeds: &[u64],
    values: &[f64],
    color: RGBColor,
) -> crate::Result<()> {
    let n = seeds.len() as i32;
    let spread = Spread::of(values);
    let mut chart = ChartBuilder::on(area)
        .caption(caption, bold(18.0, colors::INK))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0..n + 1, 0f64..1.0f64)
        .or_plot()?;
    chart
        .configure_mesh()
        .x_desc("training seed")
        .y_desc(y_label)
        .x_labels((n as usize + 2).min(12))
        .x_label_formatter(&|x| {
            if (1..=n).contains(x) {
                seeds[*x as usize - 1].to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.1}"))
        .label_style(text(14.0, colors::INK))
        .axis_desc_style(text(16.0, colors::INK))
        .light_line_style(RGBColor(244, 244, 244))
        .draw()
        .or_plot()?;
    chart
        .draw_series(DashedLineSeries::new(
            [(0, 0.5), (n + 1, 0.5)],
            10,
            7,
            colors::GREY.stroke_width(2),
        ))
        .or_plot()?
        .label("chance: 0.5")
        .legend(legend_line(colors::GREY.stroke_width(2)));
    if spread.n == 0 {
        let plot = chart.plotting_area().strip_coord_spec();
        let (w, h) = plot.dim_in_pixel();
        plot.draw(&Text::new(
            "not defined: the validation images lack a class",
            (w as i32 / 2, h as i32 / 4),
            text(16.0, colors::GREY).pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .or_plot()?;
        return legend(&mut chart);
    }
    // The range from the lowest to the highest seed, then the mean across it.
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(0, spread.min), (n + 1, spread.max)],
            color.mix(0.15).filled(),
        )))
        .or_plot()?
        .label(format!(
            "range: {:.*} to {:.*}",
            digits, spread.min, digits, spread.max
        ))
        .legend(move |(x, y)| {
            Rectangle::new([(x, y - 6), (x + 24, y + 6)], color.mix(0.25).filled())
        });
    chart
        .draw_series(LineSeries::new(
            [(0, spread.mean), (n + 1, spread.mean)],
            color.stroke_width(3),
        ))
        .or_plot()?
        .label(format!(
            "mean {:.*} (sd {:.*})",
            digits, spread.mean, digits, spread.sd
        ))
        .legend(legend_line(color.stroke_width(3)));
    let points: Vec<(i32, f64)> = values
        .iter()
        .enumerate()
        .filter(|(_, v)| v.is_finite())
        .map(|(i, &v)| (i as i32 + 1, v))
        .collect();
    let radius = if n <= 12 { 7 } else { 4 };
    chart
        .draw_series(
            points
                .iter()
                .map(|&p| Circle::new(p, radius, colors::INK.filled())),
        )
        .or_plot()?
        .label("one seed's model")
        .legend(|(x, y)| Circle::new((x + 12, y), 6, colors::INK.filled()));
    if n <= 12 {
        // Each value to the right of its dot, on a white patch so that the mean line under it
        // does not cross it out.
        let label = text(14.0, colors::INK).pos(Pos::new(HPos::Left, VPos::Center));
        chart
            .draw_series(points.iter().map(|&(x, v)| {
                let shown = format!("{v:.digits$}");
                let width = 8 * shown.len() as i32 + 4;
                EmptyElement::at((x, v))
                    + Rectangle::new([(radius + 3, -9), (radius + 3 + width, 9)], WHITE.filled())
                    + Text::new(shown, (radius + 5, 0), label.clone())
            }))
            .or_plot()?;
    }
    legend(&mut chart)
}

/// A panel's coordinates: seed positions across, values up.
type Seeds = Cartesian2d<RangedCoordi32, RangedCoordf64>;

/// The legend of a panel, lower right (where values below chance would be: rarely any).
fn legend<'a>(chart: &mut ChartContext<'a, BitMapBackend<'a>, Seeds>) -> crate::Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font(text(15.0, colors::INK))
        .background_style(WHITE.mix(0.85))
        .border_style(colors::GREY)
        .draw()
        .or_plot()
}
