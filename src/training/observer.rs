//! How training reports itself while it runs: one observer trait for a single fit and for the
//! experiments that train several models; one plain line per epoch (CI logs, notebooks, files)
//! or one line per model. (The command line adds a progress bar on a terminal.)

use std::time::Duration;

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
    /// `Epoch 3/10 - 2.14s - loss: 0.6523 - accuracy: 0.6214 - val_loss: 0.6011 - val_accuracy: 0.7000`.
    pub fn line(&self) -> String {
        format!(
            "Epoch {}/{} - {:.2}s - loss: {:.4} - accuracy: {:.4} - val_loss: {:.4} - val_accuracy: {:.4}",
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
