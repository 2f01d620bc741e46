//! The cross-validation figure: one ROC curve per fold and the pooled curve over all
//! out-of-fold predictions.

use plotters::prelude::*;

use super::{bold, colors, render, text, Figure, OrPlot, FONT};
use crate::{experiments::CrossValReport, Error, Result};

/// Fold colours (they repeat after ten folds).
const FOLD_COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
    RGBColor(127, 127, 127),
];

/// Per-fold ROC curves (thin, coloured, each with its AUC in the legend) and the pooled ROC
/// curve of all out-of-fold predictions (thick, black, with its bootstrap interval), over the
/// chance diagonal. 860 × 800 pixels.
///
/// The fan of fold curves shows how much a single held-out split of this size can vary. Errors if
/// the pooled predictions have no ROC curve (one class missing).
pub fn crossval_roc_figure(report: &CrossValReport) -> Result<Figure> {
    let pooled_auc = report.pooled.auc.ok_or_else(|| {
        Error::InvalidInput(
            "no pooled ROC curve: it needs both hemorrhage and normal images".into(),
        )
    })?;
    let k = report.folds.len();
    render(860, 800, |root| {
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{k}-fold cross-validation: ROC curves"),
                bold(24.0, colors::INK),
            )
            .margin(20)
            .x_label_area_size(56)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .or_plot()?;
        chart
            .configure_mesh()
            .x_desc("false positive rate (1 − specificity): normal images called hemorrhage")
            .y_desc("true positive rate (sensitivity): hemorrhages found")
            .x_label_formatter(&|v| format!("{v:.1}"))
            .y_label_formatter(&|v| format!("{v:.1}"))
            .label_style(text(15.0, colors::INK))
            .axis_desc_style(text(16.0, colors::INK))
            .light_line_style(RGBColor(244, 244, 244))
            .draw()
            .or_plot()?;
        chart
            .draw_series(DashedLineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                10,
                7,
                colors::GREY.stroke_width(2),
            ))
            .or_plot()?
            .label("chance: AUC 0.50")
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colors::GREY.stroke_width(2))
            });
        for (i, fold) in report.folds.iter().enumerate() {
            if fold.metrics.roc.is_empty() {
                continue;
            }
            let color = FOLD_COLORS[i % FOLD_COLORS.len()];
            chart
                .draw_series(LineSeries::new(
                    fold.metrics.roc.iter().map(|p| (p.fpr, p.tpr)),
                    color.mix(0.8).stroke_width(2),
                ))
                .or_plot()?
                .label(format!(
                    "fold {}: AUC {:.2} ({} images)",
                    fold.predictions.fold,
                    fold.auc(),
                    fold.predictions.held_out.len()
                ))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 24, y)], color.stroke_width(2))
                });
        }
        chart
            .draw_series(LineSeries::new(
                report.pooled.roc.iter().map(|p| (p.fpr, p.tpr)),
                colors::INK.stroke_width(4),
            ))
            .or_plot()?
            .label(format!(
                "pooled: AUC {:.2} (95% CI {:.2}–{:.2}, {} images)",
                pooled_auc.value,
                pooled_auc.low,
                pooled_auc.high,
                report.pooled.confusion.total()
            ))
            .legend(|(x, y)| {
                PathElement::new(vec![(x, y), (x + 24, y)], colors::INK.stroke_width(4))
            });
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 16.0).into_font().color(&colors::INK))
            .background_style(WHITE.mix(0.9))
            .border_style(colors::GREY)
            .margin(12)
            .draw()
            .or_plot()
    })
}
