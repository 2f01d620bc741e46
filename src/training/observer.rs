//! How training reports itself while it runs: one observer trait for a single fit and for the
//! experiments that train several models; a progress bar on a terminal, one plain line per
//! epoch everywhere else (CI logs, notebooks, files), or one line per model.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

use super::step::BatchStats;

/// What one finished epoch gave, for reporting.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochSummary {
    /// 1-based epoch number.
    pub epoch: usize,
    pub epochs: usize,
    pub loss: f32,
    pub accuracy: f32,
    pub val_loss: f32,
    pub val_accuracy: f32,
    pub elapsed: Duration,
}

impl EpochSummary {
    /// One line in Keras' style:
    /// `Epoch 3/10 - 2.1s - loss: 0.6523 - accuracy: 0.6214 - val_loss: 0.6011 - val_accuracy: 0.7000`.
    pub fn line(&self) -> String {
        format!(
            "Epoch {}/{} - {:.1}s - loss: {:.4} - accuracy: {:.4} - val_loss: {:.4} - val_accuracy: {:.4}",
            self.epoch,
            self.epochs,
            self.elapsed.as_secs_f64(),
            self.loss,
            self.accuracy,
            self.val_loss,
            self.val_accuracy
        )
    }
}

/// Receives training events: of one fit (batches, epochs) and, in experiments that train
/// several models (cross-validation folds, the seed spread), of each model as it starts and
/// ends. Every method does nothing by default: implement the ones you need.
pub trait Observer {
    /// After each training batch of epoch `epoch` (1-based): `batch` of `batches` (1-based).
    fn batch_end(&mut self, _epoch: usize, _batch: usize, _batches: usize, _stats: &BatchStats) {}
    /// After each epoch, once validation is done.
    fn epoch_end(&mut self, _summary: &EpochSummary) {}
    /// Before model `index` (1-based) of `count` trains with `seed`.
    fn model_start(&mut self, _index: usize, _count: usize, _seed: u64) {}
    /// After a model has been trained and scored: `line` is its one-line result, such as
    /// `fold 2/5 (seed 1002): ... accuracy 0.85 ...` or `seed 3: val accuracy 0.84, ...`.
    fn model_end(&mut self, _line: &str) {}
}

/// Reports nothing.
#[derive(Debug, Default)]
pub struct Silent;
impl Observer for Silent {}

/// Prints one line per trained model and nothing per epoch: what the command line and the
/// notebooks want for experiments that train several models.
#[derive(Debug, Default)]
pub struct ModelLines;
impl Observer for ModelLines {
    fn model_end(&mut self, line: &str) {
        println!("{line}");
    }
}

/// Prints one line per epoch to standard output (what CI logs and notebooks want).
#[derive(Debug, Default)]
pub struct EpochLines;
impl Observer for EpochLines {
    fn epoch_end(&mut self, summary: &EpochSummary) {
        println!("{}", summary.line());
    }
}

/// A progress bar per epoch on the terminal, replaced by the epoch's summary line when the epoch
/// ends, so the scroll-back reads like Keras' output.
pub struct TerminalProgress {
    bar: Option<ProgressBar>,
}

impl TerminalProgress {
    pub fn new() -> Self {
        Self { bar: None }
    }
}

impl Default for TerminalProgress {
    fn default() -> Self {
        Self::new()
    }
}

impl Observer for TerminalProgress {
    fn batch_end(&mut self, epoch: usize, batch: usize, batches: usize, stats: &BatchStats) {
        let bar = self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::new(batches as u64);
            bar.set_style(
                ProgressStyle::with_template(
                    "Epoch {prefix} [{bar:30}] {pos}/{len} batches {elapsed} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            bar
        });
        bar.set_prefix(format!("{epoch}"));
        bar.set_position(batch as u64);
        bar.set_message(format!("loss: {:.4}", stats.loss));
    }

    fn epoch_end(&mut self, summary: &EpochSummary) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        println!("{}", summary.line());
    }
}

/// A progress bar when standard error is a terminal, plain epoch lines otherwise.
pub fn auto_observer() -> Box<dyn Observer> {
    if std::io::stderr().is_terminal() {
        Box::new(TerminalProgress::new())
    } else {
        Box::new(EpochLines)
    }
}
