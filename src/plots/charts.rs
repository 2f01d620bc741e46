//! Charts: training curves, the confusion matrix and the ROC curve.

use plotters::{
    coord::types::RangedCoordf64,
    prelude::*,
    style::text_anchor::{HPos, Pos, VPos},
};

use super::{bold, colors, empty_state, legend_line, render, text, Area, Figure, OrPlot, FONT};
use crate::{
    labels::Label,
    metrics::{BinaryMetrics, ConfusionMatrix, RocPoint},
    training::History,
    Error, Result,
};

/// Training curves: loss (left) and accuracy (right) per epoch, training against validation,
/// with a legend. 1000 × 460 pixels.
///
/// Series of different lengths are drawn as they are (an empty validation series is left out);
/// values that are not finite are skipped. With no epochs the figure says so.
pub fn training_curves(history: &History) -> Result<Figure> {
    let epochs = [
        history.loss.len(),
        history.accuracy.len(),
        history.val_loss.len(),
        history.val_accuracy.len(),
    ]
    .into_iter()
    .max()
    .unwrap_or(0);
    if epochs == 0 {
        return empty_state("Training curves", "No epochs recorded yet.");
    }
    let (width, height) = (1000, 460);
    render(width, height, |root| {
        let title = format!(
            "Training curves ({epochs} epoch{})",
            if epochs == 1 { "" } else { "s" }
        );
        let body = root.titled(&title, bold(22.0, colors::INK)).or_plot()?;
        let (left, right) = body.split_horizontally(width / 2);
        let loss_max = history
            .loss
            .iter()
            .chain(&history.val_loss)
            .copied()
            .filter(|v| v.is_finite())
            .fold(0.0f32, f32::max);
        let loss_top = if loss_max > 0.0 { loss_max * 1.1 } else { 1.0 };
        panel(
            &left,
            "Loss",
            "loss (binary cross-entropy)",
            epochs,
            loss_top,
            &history.loss,
            &history.val_loss,
            SeriesLabelPosition::UpperRight,
        )?;
        panel(
            &right,
            "Accuracy",
            "accuracy",
            epochs,
            1.0,
            &history.accuracy,
            &history.val_accuracy,
            SeriesLabelPosition::LowerRight,
        )
    })
}

/// One panel of [`training_curves`].
#[allow(clippy::too_many_arguments)]
fn panel(
    area: &Area<'_>,
    caption: &str,
    y_label: &str,
    epochs: usize,
    y_top: f32,
    train: &[f32],
    validation: &[f32],
    legend: SeriesLabelPosition,
) -> Result<()> {
    let epochs = epochs as i32;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, bold(18.0, colors::INK))
        .margin(12)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(0..epochs + 1, 0f32..y_top)
        .or_plot()?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(y_label)
        .x_labels((epochs as usize + 2).min(12))
        .x_label_formatter(&|x| {
            if (1..=epochs).contains(x) {
                x.to_string()
            } else {
                String::new()
            }
        })
        .y_label_formatter(&|y| format!("{y:.2}"))
        .label_style(text(14.0, colors::INK))
        .axis_desc_style(text(16.0, colors::INK))
        .light_line_style(RGBColor(244, 244, 244))
        .draw()
        .or_plot()?;
    for (values, name, color) in [
        (train, "training", colors::TRAIN),
        (validation, "validation", colors::VALIDATION),
    ] {
        if values.is_empty() {
            continue;
        }
        let points = values
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| (i as i32 + 1, v));
        chart
            .draw_series(LineSeries::new(points, color.stroke_width(3)).point_size(4))
            .or_plot()?
            .label(name)
            .legend(legend_line(color.stroke_width(3)));
    }
    chart
        .configure_series_labels()
        .position(legend)
        .label_font(text(15.0, colors::INK))
        .background_style(WHITE.mix(0.85))
        .border_style(colors::GREY)
        .draw()
        .or_plot()
}

/// The confusion matrix as a 2 × 2 table: rows are the truth, columns the model's call,
/// hemorrhage first. Right calls are green and wrong ones red, deeper for a larger share of the
/// row. Each cell shows its count, what it means and its share of the row. 820 × 620 pixels.
///
/// An all-zero matrix gives a figure that says there is nothing to show.
pub fn confusion_matrix_figure(matrix: &ConfusionMatrix) -> Result<Figure> {
    let total = matrix.total();
    if total == 0 {
        return empty_state("Confusion matrix", "No predictions to count.");
    }
    let (width, height) = (820u32, 620u32);
    render(width, height, |root| {
        let centre = Pos::new(HPos::Center, VPos::Center);
        root.draw(&Text::new(
            format!(
                "Confusion matrix: {} of {total} images right",
                matrix.correct()
            ),
            (width as i32 / 2, 30),
            bold(24.0, colors::INK).pos(centre),
        ))
        .or_plot()?;
        let (x0, y0, cell_w, cell_h) = (230i32, 130i32, 280i32, 220i32);
        // Column and row headings.
        root.draw(&Text::new(
            "model's call",
            (x0 + cell_w, 72),
            bold(18.0, colors::GREY).pos(centre),
        ))
        .or_plot()?;
        for (k, name) in Label::POSITIVE_FIRST.map(Label::name).iter().enumerate() {
            root.draw(&Text::new(
                format!("called {name}"),
                (x0 + cell_w / 2 + k as i32 * cell_w, 108),
                bold(18.0, colors::INK).pos(centre),
            ))
            .or_plot()?;
            let row_y = y0 + cell_h / 2 + k as i32 * cell_h;
            root.draw(&Text::new(
                "truth",
                (x0 / 2, row_y - 16),
                bold(16.0, colors::GREY).pos(centre),
            ))
            .or_plot()?;
            root.draw(&Text::new(
                name.to_string(),
                (x0 / 2, row_y + 12),
                bold(20.0, colors::INK).pos(centre),
            ))
            .or_plot()?;
        }
        let positives = matrix.positives();
        let negatives = matrix.negatives();
        let cells = [
            (
                0,
                0,
                matrix.true_positives,
                positives,
                "true positive",
                "of hemorrhages",
                true,
            ),
            (
                0,
                1,
                matrix.false_negatives,
                positives,
                "missed hemorrhage",
                "of hemorrhages",
                false,
            ),
            (
                1,
                0,
                matrix.false_positives,
                negatives,
                "false alarm",
                "of normal images",
                false,
            ),
            (
                1,
                1,
                matrix.true_negatives,
                negatives,
                "true negative",
                "of normal images",
                true,
            ),
        ];
        for (row, col, count, row_total, meaning, of, right) in cells {
            let share = if row_total == 0 {
                0.0
            } else {
                count as f64 / row_total as f64
            };
            let base = if right {
                colors::CORRECT
            } else {
                colors::WRONG
            };
            let fill = blend(base, 0.08 + 0.55 * share);
            let (cx, cy) = (x0 + col * cell_w, y0 + row * cell_h);
            root.draw(&Rectangle::new(
                [(cx, cy), (cx + cell_w, cy + cell_h)],
                fill.filled(),
            ))
            .or_plot()?;
            root.draw(&Rectangle::new(
                [(cx, cy), (cx + cell_w, cy + cell_h)],
                WHITE.stroke_width(3),
            ))
            .or_plot()?;
            let mid = cx + cell_w / 2;
            root.draw(&Text::new(
                count.to_string(),
                (mid, cy + 70),
                bold(48.0, colors::INK).pos(centre),
            ))
            .or_plot()?;
            root.draw(&Text::new(
                meaning.to_string(),
                (mid, cy + 130),
                bold(18.0, colors::INK).pos(centre),
            ))
            .or_plot()?;
            let share_text = if row_total == 0 {
                format!("(no images {})", of.trim_start_matches("of "))
            } else {
                format!("{:.0}% {of}", 100.0 * share)
            };
            root.draw(&Text::new(
                share_text,
                (mid, cy + 162),
                text(16.0, colors::INK).pos(centre),
            ))
            .or_plot()?;
        }
        Ok(())
    })
}

/// `base` mixed into white: `amount` 0 is white, 1 is `base`.
fn blend(base: RGBColor, amount: f64) -> RGBColor {
    let mix = |c: u8| (255.0 + (c as f64 - 255.0) * amount.clamp(0.0, 1.0)).round() as u8;
    RGBColor(mix(base.0), mix(base.1), mix(base.2))
}

/// The ROC curve with the diagonal of a coin toss, and the AUC (with its interval, if given) in
/// the legend. 820 × 760 pixels.
///
/// Errors if `points` is empty (a ROC curve needs both classes) or a rate is not in `[0, 1]`.
pub fn roc_figure(
    points: &[RocPoint],
    auc: f64,
    auc_interval: Option<(f64, f64)>,
) -> Result<Figure> {
    if points.is_empty() {
        return Err(Error::InvalidInput(
            "no ROC points: a ROC curve needs both hemorrhage and normal images".into(),
        ));
    }
    let valid = |v: f64| (0.0..=1.0).contains(&v);
    if let Some(p) = points.iter().find(|p| !valid(p.fpr) || !valid(p.tpr)) {
        return Err(Error::InvalidInput(format!(
            "ROC point ({}, {}) is outside the unit square",
            p.fpr, p.tpr
        )));
    }
    let label = match auc_interval {
        Some((low, high)) => format!("model: AUC {auc:.2} (95% CI {low:.2}–{high:.2})"),
        None => format!("model: AUC {auc:.2}"),
    };
    render(820, 760, |root| {
        let mut chart = roc_chart(root, format!("ROC curve (AUC {auc:.2})"))?;
        roc_curve(
            &mut chart,
            points,
            colors::TRAIN.stroke_width(3),
            label,
            colors::TRAIN.stroke_width(3),
        )?;
        roc_legend(&mut chart, 17.0)
    })
}

/// The coordinates of a ROC chart: false positive rate across, true positive rate up.
type Rates = Cartesian2d<RangedCoordf64, RangedCoordf64>;

/// A ROC chart on `root`: the unit square under `caption` (bold, 24 px), both rates on its
/// axes, and the dashed diagonal of chance with its legend entry. What [`roc_figure`] and
/// [`crossval_roc_figure`](super::crossval_roc_figure) draw their curves on.
pub(crate) fn roc_chart<'a, 'b>(
    root: &'a Area<'b>,
    caption: String,
) -> Result<ChartContext<'a, BitMapBackend<'b>, Rates>> {
    unit_square_chart(
        root,
        caption,
        24.0,
        (
            "false positive rate (1 − specificity): normal images called hemorrhage",
            "true positive rate (sensitivity): hemorrhages found",
        ),
        "chance: AUC 0.50",
    )
}

/// The unit square on `root` under `caption` (bold, `caption_px`), with `axes` = (x, y)
/// descriptions, tenths on both axes and the dashed grey diagonal named `diagonal` in the
/// legend: the frame of the ROC chart and of the reliability diagram
/// ([`reliability_figure`](super::reliability_figure)).
pub(crate) fn unit_square_chart<'a, 'b>(
    root: &'a Area<'b>,
    caption: String,
    caption_px: f64,
    axes: (&str, &str),
    diagonal: &str,
) -> Result<ChartContext<'a, BitMapBackend<'b>, Rates>> {
    let mut chart = ChartBuilder::on(root)
        .caption(caption, bold(caption_px, colors::INK))
        .margin(20)
        .x_label_area_size(56)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..1f64, 0f64..1f64)
        .or_plot()?;
    chart
        .configure_mesh()
        .x_desc(axes.0)
        .y_desc(axes.1)
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
        .label(diagonal.to_string())
        .legend(legend_line(colors::GREY.stroke_width(2)));
    Ok(chart)
}

/// One ROC curve through `points` in `line`, named `label` in the legend with a sample in
/// `legend`.
pub(crate) fn roc_curve<'a, 'b: 'a>(
    chart: &mut ChartContext<'a, BitMapBackend<'b>, Rates>,
    points: &[RocPoint],
    line: ShapeStyle,
    label: String,
    legend: ShapeStyle,
) -> Result<()> {
    chart
        .draw_series(LineSeries::new(points.iter().map(|p| (p.fpr, p.tpr)), line))
        .or_plot()?
        .label(label)
        .legend(legend_line(legend));
    Ok(())
}

/// The legend of a ROC chart, lower right (below the diagonal, where a useful curve never
/// goes), its text `font_size` px.
pub(crate) fn roc_legend<'a, 'b: 'a>(
    chart: &mut ChartContext<'a, BitMapBackend<'b>, Rates>,
    font_size: f64,
) -> Result<()> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, font_size).into_font().color(&colors::INK))
        .background_style(WHITE.mix(0.9))
        .border_style(colors::GREY)
        .margin(12)
        .draw()
        .or_plot()
}

/// [`roc_figure`] for the ROC curve and AUC of `metrics`. Errors if they have none (one class
/// missing).
pub fn roc_figure_from_metrics(metrics: &BinaryMetrics) -> Result<Figure> {
    match &metrics.auc {
        Some(auc) => roc_figure(&metrics.roc, auc.value, Some((auc.low, auc.high))),
        None => Err(Error::InvalidInput(
            "no ROC curve: it needs both hemorrhage and normal images".into(),
        )),
    }
}
