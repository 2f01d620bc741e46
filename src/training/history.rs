//! What training recorded, epoch by epoch, under the names Keras uses.

/// Per-epoch metrics of one training run: `loss`, `accuracy`, `val_loss`, `val_accuracy`, as in
/// Keras' `History.history`. Element `i` belongs to epoch `i + 1`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    /// Mean training loss over the batches of each epoch (binary cross-entropy).
    pub loss: Vec<f32>,
    /// Fraction of training images classified correctly during each epoch.
    pub accuracy: Vec<f32>,
    /// Loss on the validation set after each epoch.
    pub val_loss: Vec<f32>,
    /// Fraction of validation images classified correctly after each epoch.
    pub val_accuracy: Vec<f32>,
}

impl History {
    /// Number of epochs recorded.
    pub fn epochs(&self) -> usize {
        self.loss.len()
    }

    /// Appends one epoch.
    pub fn push(&mut self, epoch: &super::observer::EpochSummary) {
        self.loss.push(epoch.loss);
        self.accuracy.push(epoch.accuracy);
        self.val_loss.push(epoch.val_loss);
        self.val_accuracy.push(epoch.val_accuracy);
    }
}

impl History {
    /// The history as CSV: `epoch,loss,accuracy,val_loss,val_accuracy`, one row per epoch.
    pub fn to_csv(&self) -> String {
        let mut csv = String::from("epoch,loss,accuracy,val_loss,val_accuracy\n");
        for e in 0..self.epochs() {
            csv.push_str(&format!(
                "{},{:.6},{:.6},{:.6},{:.6}\n",
                e + 1,
                self.loss[e],
                self.accuracy[e],
                self.val_loss[e],
                self.val_accuracy[e]
            ));
        }
        csv
    }

    /// Writes [`History::to_csv`] to `path` atomically.
    pub fn write_csv(&self, path: &std::path::Path) -> crate::Result<()> {
        crate::fsutil::write_atomically(path, self.to_csv().as_bytes())
    }
}
