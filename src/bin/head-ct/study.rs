//! `head-ct study`: whole CT studies, as exported, to a call per series and per study.

use std::path::Path;

use head_ct::{
    checkpoint::load_checkpoint,
    data::prepare::read_study_labels_csv,
    input::Limits,
    labels::Label,
    metrics::BinaryMetrics,
    plots,
    study::{
        order_studies, predict_studies, take_inventory, top_slices_figure, write_series_csv,
        write_skipped_csv, write_slices_csv, Skipped, StudyModel, StudyResult, StudyRule,
        TOP_SLICES,
    },
    training::SeededDevice,
    Error, Result,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::{args::StudyArgs, Outcome};

/// Skipped files printed on the console; the rest are in skipped.csv.
const SKIPPED_SHOWN: usize = 20;

pub(crate) fn study(args: StudyArgs, limits: Limits) -> Result<Outcome> {
    let dev = SeededDevice::for_inference();
    let (model, metadata) = load_checkpoint(&dev, &args.model)?;
    let rule = StudyRule::new(
        args.threshold.unwrap_or(metadata.threshold()),
        args.adjacent,
    )?;
    // Labels first: a malformed file is refused before the long part.
    let labels = args
        .labels
        .as_deref()
        .map(read_study_labels_csv)
        .transpose()?;
    let mut inventory = take_inventory(&args.paths, &limits);
    let display = std::mem::take(&mut inventory.display_images);
    let mut skipped = inventory.skipped;
    for p in display {
        skipped.push(Skipped::new(
            p,
            "a display image (PNG, JPEG, ...), not DICOM: it has no study or position (head-ct \
             predict reads it)",
        ));
    }
    let images = inventory.dicom_images.len();
    let studies = order_studies(inventory.dicom_images, &mut skipped);
    if studies.is_empty() {
        return Err(crate::nothing_to_read(
            "no CT series to read",
            &args.paths,
            &skipped,
        ));
    }
    let slices: usize = studies
        .iter()
        .flat_map(|s| &s.series)
        .map(|s| s.slices.len())
        .sum();
    println!("{}", metadata.probability_sentence());
    println!("{}", metadata.dicom_input_sentence());
    println!("{}", rule.sentence());
    let bar = progress_bar(slices as u64);
    let study_model = StudyModel {
        model: &model,
        dev: &dev,
        loader: metadata.loader(limits),
        temperature: metadata.temperature(),
    };
    let results = predict_studies(&study_model, studies, &rule, &mut skipped, &mut |n| {
        bar.inc(n as u64)
    })?;
    bar.finish_and_clear();
    let failed = skipped.iter().filter(|s| s.is_failure()).count();
    let series: usize = results.iter().map(|s| s.series.len()).sum();
    println!(
        "Read {images} DICOM image{} of {} studies: {slices} slices in {series} series; {} \
         file{} skipped{}.",
        plural(images),
        results.len(),
        skipped.len(),
        plural(skipped.len()),
        if failed > 0 {
            format!(", {failed} of them could not be read")
        } else {
            String::new()
        }
    );
    for study in &results {
        println!("{}", study.sentence());
        for s in &study.series {
            println!("  {}", s.sentence(&rule));
            for note in &s.series.notes {
                println!("    note: {note}");
            }
        }
    }
    if !skipped.is_empty() {
        println!("Skipped:");
        for s in skipped.iter().take(SKIPPED_SHOWN) {
            println!("  {}: {}", head_ct::text::printable_path(&s.path), s.reason);
        }
        if skipped.len() > SKIPPED_SHOWN {
            println!(
                "  ... and {} more{}",
                skipped.len() - SKIPPED_SHOWN,
                if args.out.is_some() {
                    " (all in skipped.csv)"
                } else {
                    " (--out writes them all to skipped.csv)"
                }
            );
        }
    }
    // The tables and figures first: a labels file that matches nothing must not lose them.
    if let Some(out) = &args.out {
        write_outputs(out, &study_model, &results, &skipped, &rule)?;
    }
    if let Some((key, rows)) = labels {
        let path = args.labels.as_deref().unwrap_or(Path::new("labels.csv"));
        score(&results, &key, &rows, &rule, path)?;
    }
    Ok(if failed > 0 {
        Outcome::SomeImagesFailed
    } else {
        Outcome::Done
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("Slices [{bar:30}] {pos}/{len} {elapsed} ({eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    // Short runs finish before the bar would help; a non-terminal stderr hides it anyway.
    if len < 2 * head_ct::study::STUDY_BATCH as u64 {
        bar.set_draw_target(ProgressDrawTarget::hidden());
    }
    bar
}

/// Scores the study (or series) calls against labelled rows, keyed by `key` (`study_uid` or
/// `series_uid`); studies without a label are left out, and said so.
fn score(
    results: &[StudyResult],
    key: &str,
    rows: &[head_ct::data::prepare::LabelRow],
    rule: &StudyRule,
    path: &Path,
) -> Result<()> {
    let by_series = key == "series_uid";
    let mut scored: Vec<(String, f32, Label)> = Vec::new();
    let mut unreadable = 0;
    for study in results {
        let mut add = |uid: &str, score: Option<f32>, call: Label| match score {
            Some(score) => scored.push((uid.to_string(), score, call)),
            None => unreadable += 1,
        };
        if by_series {
            for s in &study.series {
                add(&s.series.uid, s.score, s.call);
            }
        } else {
            add(&study.uid, study.score, study.call);
        }
    }
    let mut probabilities = Vec::new();
    let mut labels = Vec::new();
    let mut unlabelled = 0;
    for (uid, score, _) in &scored {
        match rows.iter().find(|r| &r.id == uid) {
            Some(r) => {
                probabilities.push(*score);
                labels.push(r.label);
            }
            None => unlabelled += 1,
        }
    }
    let what = if by_series { "series" } else { "studies" };
    if probabilities.is_empty() {
        return Err(Error::data(
            path,
            format!(
                "none of the {} {what} read has a row in this labels file",
                scored.len()
            ),
        ));
    }
    let metrics = BinaryMetrics::compute(&probabilities, &labels, rule.threshold)?;
    println!(
        "Scored {} {what} against {} (score: the rule's number per {}):",
        probabilities.len(),
        head_ct::text::printable_path(path),
        if by_series { "series" } else { "study" }
    );
    println!("{}", metrics.summary());
    if unlabelled > 0 {
        println!("({unlabelled} {what} read have no label and are not scored.)");
    }
    if unreadable > 0 {
        println!("({unreadable} {what} could not be read at all and are not scored.)");
    }
    Ok(())
}

fn write_outputs(
    out: &Path,
    model: &StudyModel<'_>,
    results: &[StudyResult],
    skipped: &[Skipped],
    rule: &StudyRule,
) -> Result<()> {
    head_ct::error::create_dir_all(out)?;
    write_slices_csv(&out.join("slices.csv"), results)?;
    write_series_csv(&out.join("series.csv"), results, rule)?;
    write_skipped_csv(&out.join("skipped.csv"), skipped)?;
    let mut figures = 0;
    for (k, study) in results.iter().enumerate() {
        let mut used = std::collections::HashSet::new();
        for (j, s) in study.series.iter().enumerate() {
            // By SeriesNumber; a series without one, or sharing it, by its place in the study.
            let number = match s.series.number {
                Some(n) if used.insert(n) => n.to_string(),
                _ => format!("{}of{}", j + 1, study.series.len()),
            };
            let path = out.join(format!("study{:02}_series{number}.png", k + 1));
            let title = format!("{}: {}", study.sentence(), s.name());
            plots::series_probability_figure(&title, s, rule.threshold)?.save_png(&path)?;
            figures += 1;
            let top = format!("{}: the {TOP_SLICES} highest slices, LayerCAM", s.name());
            if let Some(figure) = top_slices_figure(model, s, &top)? {
                figure.save_png(
                    path.with_file_name(format!("study{:02}_series{number}_top.png", k + 1)),
                )?;
                figures += 1;
            }
        }
    }
    println!(
        "Wrote slices.csv, series.csv, skipped.csv and {figures} figure{} to {}",
        plural(figures),
        out.display()
    );
    Ok(())
}
