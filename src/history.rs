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
}
