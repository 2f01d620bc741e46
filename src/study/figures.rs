//! The figures of a series: the probability along the scan ([`crate::plots::series_probability_figure`])
//! and its most suspicious slices with where the model looked.

use super::{SeriesResult, StudyModel};
use crate::{explain, plots, Result};

/// Slices shown in [`top_slices_figure`].
pub const TOP_SLICES: usize = 4;

/// The `TOP_SLICES` slices of `series` with the highest probabilities (fewer when the series
/// has fewer readable slices), highest first, each with its LayerCAM heat map (block
/// [`explain::DEFAULT_BLOCK`]) and the caption "slice 13 of 28: 0.93". The slices are decoded
/// again from their files (a study run keeps no pixels). `None` when no slice was read.
pub fn top_slices_figure(
    model: &StudyModel<'_>,
    series: &SeriesResult,
    title: &str,
) -> Result<Option<plots::Figure>> {
    let mut ranked: Vec<(usize, f32)> = series
        .probabilities()
        .iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
        .collect();
    ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    ranked.truncate(TOP_SLICES);
    if ranked.is_empty() {
        return Ok(None);
    }
    let paths: Vec<_> = ranked
        .iter()
        .map(|&(i, _)| series.series.slices[i].header.path.clone())
        .collect();
    let (set, _) = model.loader.readable_files(&paths)?;
    let shown: Vec<(usize, f32)> = ranked
        .into_iter()
        .filter(|&(i, _)| {
            set.samples
                .iter()
                .any(|s| s.path == series.series.slices[i].header.path)
        })
        .collect();
    let images: Vec<&[f32]> = (0..set.len()).map(|k| set.image(k)).collect();
    let maps = explain::layer_cam(model.model, model.dev, &images, explain::DEFAULT_BLOCK)?;
    let n = series.predictions.len();
    let captions: Vec<String> = shown
        .iter()
        .map(|&(i, p)| format!("slice {} of {n}: {p:.2}", i + 1))
        .collect();
    let map_refs: Vec<&explain::HeatMap> = maps.iter().collect();
    plots::heatmap_grid(&images, &map_refs, &captions, TOP_SLICES, title).map(Some)
}
