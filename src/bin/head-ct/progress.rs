//! The progress shown while the command trains: a bar per epoch on a terminal (indicatif),
//! plain epoch lines otherwise.

use std::io::IsTerminal;

use head_ct::training::{
    observer::{EpochLines, EpochSummary, Observer},
    BatchStats,
};
use indicatif::{ProgressBar, ProgressStyle};

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
