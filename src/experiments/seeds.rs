//! Seed spread: the same split and recipe, trained with several seeds, to see how much of a
//! result is luck.
//!
//! The seed sets the initial weights, the batch order and the augmentation. On 200 images a new
//! seed alone can move validation accuracy by several images; [`seed_spread`] trains once per
//! seed and reports each metric's mean, standard deviation, minimum and maximum ([`Spread`]).
//!
//! ```no_run
//! use head_ct::{data::phantoms::phantom_seed_data, experiments::seed_spread};
//! use head_ct::training::{observer::ModelLines, Recipe};
//! use head_ct::table::Report; // for `report.table()`
//!
//! let data = phantom_seed_data(1);
//! let recipe = Recipe { epochs: 3, ..Recipe::TEACHING };
//! let report = seed_spread(&data.train, &data.validate, &[1, 2, 3], &recipe, &mut ModelLines)?;
//! println!("{}", report.table());
//! # Ok::<(), head_ct::Error>(())
//! ```
//!
//! In a notebook, make the report the last expression of a cell: it shows as an HTML table
//! ([`SeedSpreadReport::evcxr_display`]); [`crate::plots::seed_spread_figure`] draws it.

use std::{fmt::Write as _, path::Path, time::Duration, time::Instant};

use super::Spread;
use crate::{
    data::ImageSet,
    metrics::BinaryMetrics,
    table::{Align, Cell, Report, Table},
    training::{evaluate_set, observer::Observer, train_model, Recipe},
    Error, Result,
};

/// One training run of [`seed_spread`]: the metrics on the validation images after the last
/// epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedRun {
    pub seed: u64,
    pub val_accuracy: f64,
    /// NaN when the validation set lacks a class.
    pub val_auc: f64,
    pub sensitivity: f64,
    pub specificity: f64,
    /// Training loss of the last epoch (as Keras reports it: averaged over its batches).
    pub final_loss: f64,
    /// Validation loss after the last epoch.
    pub val_loss: f64,
    pub elapsed: Duration,
}

impl SeedRun {
    /// `seed 3: val accuracy 0.84, AUC 0.933, sensitivity 0.88, specificity 0.80, loss 0.2910,
    /// val loss 0.3510 - 25.1s`.
    pub fn line(&self) -> String {
        format!(
            "seed {}: val accuracy {:.2}, AUC {:.3}, sensitivity {:.2}, specificity {:.2}, \
             loss {:.4}, val loss {:.4} - {:.1}s",
            self.seed,
            self.val_accuracy,
            self.val_auc,
            self.sensitivity,
            self.specificity,
            self.final_loss,
            self.val_loss,
            self.elapsed.as_secs_f64()
        )
    }
}

/// The runs of [`seed_spread`] and the spread of each metric.
#[derive(Debug, Clone, PartialEq)]
pub struct SeedSpreadReport {
    pub runs: Vec<SeedRun>,
}

/// The metrics [`SeedSpreadReport`] summarises: column name and how to read it from a run.
type Metric = (&'static str, fn(&SeedRun) -> f64);

const METRICS: [Metric; 6] = [
    ("val accuracy", |r| r.val_accuracy),
    ("val AUC", |r| r.val_auc),
    ("sensitivity", |r| r.sensitivity),
    ("specificity", |r| r.specificity),
    ("final loss", |r| r.final_loss),
    ("val loss", |r| r.val_loss),
];

impl SeedSpreadReport {
    /// The spread of every metric over the runs, in the order val accuracy, val AUC,
    /// sensitivity, specificity, final (training) loss, val loss.
    pub fn spreads(&self) -> Vec<(&'static str, Spread)> {
        METRICS
            .iter()
            .map(|(name, get)| {
                (
                    *name,
                    Spread::of(&self.runs.iter().map(get).collect::<Vec<_>>()),
                )
            })
            .collect()
    }

    /// The spread of one metric by its name in [`SeedSpreadReport::spreads`].
    pub fn spread(&self, metric: &str) -> Option<Spread> {
        self.spreads()
            .into_iter()
            .find(|(n, _)| *n == metric)
            .map(|(_, s)| s)
    }

    /// Shows the table as an HTML table in a Jupyter notebook ([`Report::evcxr_display`]);
    /// inherent so that evcxr finds it on a cell's last expression without the trait in scope.
    pub fn evcxr_display(&self) {
        Report::evcxr_display(self);
    }

    /// Per-seed rows, then `mean`, `sd`, `min`, `max` rows, as CSV:
    /// `row,val_accuracy,val_auc,sensitivity,specificity,final_loss,val_loss`.
    pub fn to_csv(&self) -> String {
        let mut csv =
            String::from("row,val_accuracy,val_auc,sensitivity,specificity,final_loss,val_loss\n");
        for r in &self.runs {
            let _ = write!(csv, "{}", r.seed);
            for (_, get) in METRICS {
                let _ = write!(csv, ",{:.6}", get(r));
            }
            csv.push('\n');
        }
        let spreads = self.spreads();
        for (row, pick) in [
            ("mean", (|s: &Spread| s.mean) as fn(&Spread) -> f64),
            ("sd", |s| s.sd),
            ("min", |s| s.min),
            ("max", |s| s.max),
        ] {
            csv.push_str(row);
            for (_, s) in &spreads {
                let _ = write!(csv, ",{:.6}", pick(s));
            }
            csv.push('\n');
        }
        csv
    }

    /// Writes [`SeedSpreadReport::to_csv`] to `path`, atomically.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        crate::fsutil::write_atomically(path, self.to_csv().as_bytes())
    }
}

impl Report for SeedSpreadReport {
    /// One row per seed, then mean, sd, min and max (mean in bold); the command line prints
    /// it as Markdown, a notebook shows it as HTML.
    fn table(&self) -> Table {
        let mut columns = vec![("seed", Align::Right)];
        columns.extend(METRICS.iter().map(|(name, _)| (*name, Align::Right)));
        let mut t = Table::new(columns).with_caption(format!(
            "The same data and recipe trained with {} seed{}: the validation metrics of each \
             model after its last epoch, then their mean, standard deviation (sd), minimum and \
             maximum.",
            self.runs.len(),
            if self.runs.len() == 1 { "" } else { "s" }
        ));
        let digits = |name: &str| {
            if name.contains("AUC") || name.contains("loss") {
                3
            } else {
                2
            }
        };
        for r in &self.runs {
            let mut row = vec![Cell::from(r.seed.to_string())];
            for (name, get) in METRICS {
                row.push(format!("{:.*}", digits(name), get(r)).into());
            }
            t.row(row);
        }
        let spreads = self.spreads();
        for (label, pick) in [
            (
                Cell::strong("mean"),
                (|s: &Spread| s.mean) as fn(&Spread) -> f64,
            ),
            (Cell::from("sd"), |s| s.sd),
            (Cell::from("min"), |s| s.min),
            (Cell::from("max"), |s| s.max),
        ] {
            let mut row = vec![label];
            for (name, s) in &spreads {
                row.push(format!("{:.*}", digits(name), pick(s)).into());
            }
            t.row(row);
        }
        t
    }
}

/// Trains a fresh teaching model on `train` once per seed in `seeds` with
/// [`train_model`] (the seed sets the weights, batch order and augmentation), evaluates it on
/// `validate` after the last epoch at the recipe's threshold, and reports every run (one line
/// each through `observer`). The AUC's bootstrap interval is not needed here, so the metrics use
/// a single resample.
///
/// Errors if `seeds` is empty or `validate` is unlabelled, and as training does.
pub fn seed_spread(
    train: &ImageSet,
    validate: &ImageSet,
    seeds: &[u64],
    recipe: &Recipe,
    observer: &mut dyn Observer,
) -> Result<SeedSpreadReport> {
    if seeds.is_empty() {
        return Err(Error::InvalidInput("no seeds given".into()));
    }
    let labels = validate.known_labels()?;
    let mut runs = Vec::with_capacity(seeds.len());
    for (i, &seed) in seeds.iter().enumerate() {
        let started = Instant::now();
        observer.model_start(i + 1, seeds.len(), seed);
        let trained = train_model(train, validate, recipe, seed, observer)?;
        let eval = evaluate_set(&trained.model, &trained.dev, validate, recipe.threshold)?;
        let stuck = trained.history.stuck_at_chance();
        let final_loss = trained
            .history
            .loss
            .last()
            .map_or(f64::NAN, |&l| f64::from(l));
        drop(trained);
        let m = BinaryMetrics::compute_with_resamples(
            &eval.probabilities,
            &labels,
            recipe.threshold,
            1,
        )?;
        let run = SeedRun {
            seed,
            val_accuracy: m.accuracy.value,
            val_auc: m.auc.map_or(f64::NAN, |a| a.value),
            sensitivity: if m.sensitivity.is_defined() {
                m.sensitivity.value
            } else {
                f64::NAN
            },
            specificity: if m.specificity.is_defined() {
                m.specificity.value
            } else {
                f64::NAN
            },
            final_loss,
            val_loss: f64::from(eval.loss),
            elapsed: started.elapsed(),
        };
        let mut line = run.line();
        if let Some(warning) = stuck {
            line.push_str(&format!("\n  WARNING (seed {seed}): {warning}"));
        }
        observer.model_end(&line);
        runs.push(run);
    }
    Ok(SeedSpreadReport { runs })
}

/// The most seeds `--seeds` takes: each trains a whole model.
pub const MAX_SEEDS: usize = 1000;

/// Reads a `--seeds` value: a comma-separated list (`1,2,3,7`) is those seeds, in that order; a
/// single number `n` is the seeds `1..=n` (so `5` is `1,2,3,4,5`; to train one seed, use
/// `train --seed`). Repeated seeds are refused: they would count one run twice.
pub fn parse_seeds(text: &str) -> Result<Vec<u64>> {
    let bad = |why: String| Error::InvalidInput(format!("--seeds {text:?}: {why}"));
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let numbers = parts
        .iter()
        .map(|p| {
            p.parse::<u64>()
                .map_err(|_| bad(format!("`{p}` is not a whole number")))
        })
        .collect::<Result<Vec<u64>>>()?;
    let seeds = if numbers.len() == 1 {
        if numbers[0] > MAX_SEEDS as u64 {
            return Err(bad(format!(
                "{} seeds would train {} models; at most {MAX_SEEDS} are allowed",
                numbers[0], numbers[0]
            )));
        }
        if numbers[0] == 0 {
            return Err(bad("a count of 0 seeds trains nothing".into()));
        }
        (1..=numbers[0]).collect()
    } else {
        numbers
    };
    for (i, s) in seeds.iter().enumerate() {
        if seeds[..i].contains(s) {
            return Err(bad(format!("seed {s} is given twice")));
        }
    }
    Ok(seeds)
}
