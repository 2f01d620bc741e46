//! The cross-validation figure: one ROC curve per fold and the pooled curve over all
//! out-of-fold predictions.

use plotters::prelude::*;

use super::{
    charts::{roc_chart, roc_curve, roc_legend},
    colors, render, Figure,
};
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
        let mut chart = roc_chart(root, format!("{k}-fold cross-validation: ROC curves"))?;
        for (i, fold) in report.folds.iter().enumerate() {
            if fold.metrics.roc.is_empty() {
                continue;
            }
            let color = FOLD_COLORS[i % FOLD_COLORS.len()];
            roc_curve(
                &mut chart,
                &fold.metrics.roc,
                color.mix(0.8).stroke_width(2),
                format!(
                    "fold {}: AUC {:.2} ({} images)",
                    fold.predictions.fold,
                    fold.auc(),
                    fold.predictions.held_out.len()
                ),
                color.stroke_width(2),
            )?;
        }
        roc_curve(
            &mut chart,
            &report.pooled.roc,
            colors::INK.stroke_width(4),
            format!(
                "pooled: AUC {:.2} (95% CI {:.2}–{:.2}, {} images)",
                pooled_auc.value,
                pooled_auc.low,
                pooled_auc.high,
                report.pooled.confusion.total()
            ),
            colors::INK.stroke_width(4),
        )?;
        roc_legend(&mut chart, 16.0)
    })
}
