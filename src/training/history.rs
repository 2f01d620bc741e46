//! What training recorded, epoch by epoch, under the names Keras uses.

/// How close to ln 2 a training loss must be, after the third epoch, for
/// [`History::stuck_at_chance`] to say that training sits at chance.
pub const CHANCE_MARGIN: f32 = 0.01;

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

    /// Says so when training sits at chance: the training loss after the third epoch is still
    /// within [`CHANCE_MARGIN`] of ln 2 ≈ 0.693, the binary cross-entropy of saying 0.5 for
    /// every image. Such a network has learnt nothing (its calls are one class, or a coin), and
    /// more epochs rarely rescue it. `None` when it does not, or before the third epoch.
    pub fn stuck_at_chance(&self) -> Option<String> {
        let third = *self.loss.get(2)?;
        let chance = std::f32::consts::LN_2;
        if (third - chance).abs() >= CHANCE_MARGIN {
            return None;
        }
        let last = *self.loss.last()?;
        let (later, advice) = if self.epochs() > 3 && (last - chance).abs() >= CHANCE_MARGIN {
            (
                format!(
                    " (it left chance later: {last:.4} after epoch {})",
                    self.epochs()
                ),
                "check its learning curves and validation figures before trusting it",
            )
        } else if self.epochs() > 3 {
            (
                format!(", and still {last:.4} after epoch {}", self.epochs()),
                "this model has not learnt to tell the classes apart; do not use it: train \
                 again with another seed or a lower learning rate",
            )
        } else {
            (
                String::new(),
                "so far it has not learnt to tell the classes apart",
            )
        };
        Some(format!(
            "training sat at chance: the training loss was {third:.4} after epoch 3, within \
             {CHANCE_MARGIN} of ln 2 = 0.6931 (the loss of saying 0.5 for every image){later}. \
             {}{}",
            advice[..1].to_uppercase(),
            &advice[1..]
        ))
    }

    /// Appends one epoch.
    pub fn push(&mut self, epoch: &super::observer::EpochSummary) {
        self.loss.push(epoch.loss);
        self.accuracy.push(epoch.accuracy);
        self.val_loss.push(epoch.val_loss);
        self.val_accuracy.push(epoch.val_accuracy);
    }
}

/// What a [`History`] says about overfitting after its last epoch ([`History::overfitting`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Overfitting {
    /// The validation loss reached its lowest before the last epoch and has since risen by more
    /// than 10% of that lowest value: the start of overfitting.
    ValidationLossRising {
        /// 1-based epoch of the lowest validation loss.
        lowest_epoch: usize,
        /// The lowest validation loss.
        lowest: f32,
        /// The validation loss after the last epoch.
        last: f32,
    },
    /// Training accuracy more than 0.10 ahead of validation accuracy after the last epoch: the
    /// model fits its own images better than new ones.
    AccuracyGap {
        /// Training accuracy minus validation accuracy after the last epoch.
        gap: f32,
    },
    /// Neither (also what a history without epochs says).
    NoClearSign,
}

impl Overfitting {
    /// The finding as a sentence for a learner, e.g. `training accuracy is 0.15 ahead of
    /// validation: it fits its own images better than new ones`.
    pub fn sentence(&self) -> String {
        match self {
            Overfitting::ValidationLossRising { .. } => {
                "the validation loss has risen again while the training loss kept falling: \
                 the start of overfitting"
                    .to_string()
            }
            Overfitting::AccuracyGap { gap } => format!(
                "training accuracy is {gap:.2} ahead of validation: it fits its own images \
                 better than new ones"
            ),
            Overfitting::NoClearSign => "no clear sign of overfitting yet".to_string(),
        }
    }
}

impl History {
    /// The lowest validation loss as `(epoch, loss)`, with `epoch` 1-based (the first one on a
    /// tie; NaN counts as the highest); `None` without validation losses.
    pub fn lowest_val_loss(&self) -> Option<(usize, f32)> {
        self.val_loss
            .iter()
            .enumerate()
            .min_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, &loss)| (i + 1, loss))
    }

    /// Whether the run shows signs of overfitting after its last epoch, checked in this order:
    ///
    /// 1. [`Overfitting::ValidationLossRising`] when the lowest validation loss
    ///    ([`History::lowest_val_loss`]) came before the last epoch and the last validation loss
    ///    is more than 1.1 times it;
    /// 2. else [`Overfitting::AccuracyGap`] when training accuracy is more than 0.10 ahead of
    ///    validation accuracy after the last epoch;
    /// 3. else [`Overfitting::NoClearSign`] (also without epochs, or when the last epoch lacks
    ///    a validation loss or an accuracy).
    pub fn overfitting(&self) -> Overfitting {
        let epochs = self.epochs();
        if epochs == 0 {
            return Overfitting::NoClearSign;
        }
        let last = epochs - 1;
        if let (Some((lowest_epoch, lowest)), Some(&last_loss)) =
            (self.lowest_val_loss(), self.val_loss.get(last))
        {
            if lowest_epoch - 1 < last && last_loss > 1.1 * lowest {
                return Overfitting::ValidationLossRising {
                    lowest_epoch,
                    lowest,
                    last: last_loss,
                };
            }
        }
        if let (Some(&train), Some(&validation)) =
            (self.accuracy.get(last), self.val_accuracy.get(last))
        {
            let gap = train - validation;
            if gap > 0.10 {
                return Overfitting::AccuracyGap { gap };
            }
        }
        Overfitting::NoClearSign
    }

    /// [`History::overfitting`] as a sentence ([`Overfitting::sentence`]), what notebook 03
    /// prints after training.
    pub fn overfitting_sentence(&self) -> String {
        self.overfitting().sentence()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_loss_within_0_01_of_ln_2_after_the_third_epoch_is_called_chance() {
        let at = |loss: &[f32]| {
            History {
                loss: loss.to_vec(),
                ..History::default()
            }
            .stuck_at_chance()
        };
        // ln 2 = 0.693147: 0.6832 is 0.0099 away (chance), 0.6831 is 0.0100 away (not).
        assert!(at(&[0.70, 0.69, 0.6832]).is_some());
        assert!(at(&[0.70, 0.69, 0.6831]).is_none());
        assert!(at(&[0.70, 0.69, 0.7031]).is_some());
        // Only epoch 3 decides; fewer epochs say nothing.
        assert!(at(&[0.69, 0.69]).is_none());
        assert!(at(&[0.69, 0.60, 0.50, 0.69]).is_none());
        let left = at(&[0.70, 0.69, 0.692, 0.40]).unwrap();
        assert!(
            left.contains("it left chance later: 0.4000 after epoch 4"),
            "{left}"
        );
        let still = at(&[0.70, 0.69, 0.692, 0.690]).unwrap();
        assert!(still.contains("and still 0.6900 after epoch 4"), "{still}");
        assert!(still.contains("do not use it"), "{still}");
        assert!(at(&[0.70, 0.69, 0.692])
            .unwrap()
            .contains("So far it has not learnt"));
    }

    fn history(loss: &[f32], accuracy: &[f32], val_loss: &[f32], val_accuracy: &[f32]) -> History {
        History {
            loss: loss.to_vec(),
            accuracy: accuracy.to_vec(),
            val_loss: val_loss.to_vec(),
            val_accuracy: val_accuracy.to_vec(),
        }
    }

    #[test]
    fn a_validation_loss_rising_above_its_lowest_is_the_start_of_overfitting() {
        // Lowest 0.40 after epoch 2; 0.45 at the end is more than 1.1 × 0.40 = 0.44.
        let h = history(
            &[0.7, 0.5, 0.3, 0.2],
            &[0.6, 0.8, 0.9, 0.95],
            &[0.6, 0.40, 0.42, 0.45],
            &[0.6, 0.8, 0.8, 0.8],
        );
        assert_eq!(h.lowest_val_loss(), Some((2, 0.40)));
        assert_eq!(
            h.overfitting(),
            Overfitting::ValidationLossRising {
                lowest_epoch: 2,
                lowest: 0.40,
                last: 0.45
            }
        );
        assert_eq!(
            h.overfitting_sentence(),
            "the validation loss has risen again while the training loss kept falling: the \
             start of overfitting"
        );
    }

    #[test]
    fn a_training_accuracy_far_ahead_is_a_gap() {
        // The validation loss rose, but only to 0.43 (not more than 0.44): the gap decides.
        let h = history(
            &[0.7, 0.5, 0.3],
            &[0.6, 0.8, 0.95],
            &[0.6, 0.40, 0.43],
            &[0.6, 0.8, 0.80],
        );
        let Overfitting::AccuracyGap { gap } = h.overfitting() else {
            panic!("{:?}", h.overfitting());
        };
        assert_eq!(gap, 0.95f32 - 0.80f32);
        assert_eq!(
            h.overfitting_sentence(),
            "training accuracy is 0.15 ahead of validation: it fits its own images better than \
             new ones"
        );
    }

    #[test]
    fn a_falling_validation_loss_and_a_small_gap_show_no_clear_sign() {
        // Lowest validation loss at the last epoch; training accuracy only 0.05 ahead.
        let h = history(&[0.7, 0.5], &[0.6, 0.70], &[0.6, 0.5], &[0.6, 0.65]);
        assert_eq!(h.overfitting(), Overfitting::NoClearSign);
        assert_eq!(h.overfitting_sentence(), "no clear sign of overfitting yet");
        // The lowest is the first on a tie: a flat validation loss has not risen.
        let flat = history(&[0.7, 0.5], &[0.6, 0.6], &[0.5, 0.5], &[0.6, 0.6]);
        assert_eq!(flat.lowest_val_loss(), Some((1, 0.5)));
        assert_eq!(flat.overfitting(), Overfitting::NoClearSign);
    }

    #[test]
    fn a_history_without_epochs_or_validation_shows_no_clear_sign() {
        assert_eq!(History::default().overfitting(), Overfitting::NoClearSign);
        assert_eq!(History::default().lowest_val_loss(), None);
        let no_validation = history(&[0.7, 0.2], &[0.5, 0.9], &[], &[]);
        assert_eq!(no_validation.overfitting(), Overfitting::NoClearSign);
    }

    /// Notebook 03's cell as it was, printing replaced by returning the sentence.
    fn notebook_cell(history: &History) -> String {
        let last = history.epochs() - 1;
        let best = (0..history.epochs())
            .min_by(|&a, &b| history.val_loss[a].total_cmp(&history.val_loss[b]))
            .unwrap();
        let gap = history.accuracy[last] - history.val_accuracy[last];
        if best < last && history.val_loss[last] > 1.1 * history.val_loss[best] {
            "the validation loss has risen again while the training loss kept falling: \
             the start of overfitting"
                .to_string()
        } else if gap > 0.10 {
            format!("training accuracy is {gap:.2} ahead of validation: it fits its own images better than new ones")
        } else {
            "no clear sign of overfitting yet".to_string()
        }
    }

    #[test]
    fn the_sentence_is_the_one_notebook_03_printed() {
        // Many small histories, values on a coarse grid so that ties and borders occur.
        let mut state = 7u64;
        let mut next = |steps: u64| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 33) % steps
        };
        for _ in 0..2000 {
            let epochs = 1 + next(5) as usize;
            let mut series =
                |scale: f32| -> Vec<f32> { (0..epochs).map(|_| next(21) as f32 * scale).collect() };
            let h = history(&series(0.05), &series(0.05), &series(0.05), &series(0.05));
            assert_eq!(h.overfitting_sentence(), notebook_cell(&h), "{h:?}");
        }
    }
}
