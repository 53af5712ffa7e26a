//! The loss and the accuracy of a trained network from one forward pass.

use faer::MatRef;

use super::net::{cross_entropy, Precision, UnfoldedNet};
use crate::error::Result;

/// Mean softmax cross-entropy and accuracy of a classifier on a labelled batch.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Evaluation {
    /// `mean_j -log softmax(z_j)[label_j]`, the training loss of Sulam, Aberdam, Beck & Elad
    /// (2019) (PyTorch's `nll_loss(log_softmax(z))`).
    pub loss: f64,
    /// The fraction of columns whose largest logit is their label.
    pub accuracy: f64,
}

impl UnfoldedNet {
    /// [`loss`](Self::loss) and [`accuracy_with`](Self::accuracy_with) together, from one
    /// forward pass run in `precision` (the logits of [`logits_with`](Self::logits_with)).
    ///
    /// Errors: `x` not a batch of inputs of the network, `labels` not one per column or not all
    /// below the number of classes, an empty batch; each naming the argument.
    pub fn evaluate_with(
        &self,
        x: MatRef<'_, f64>,
        labels: &[usize],
        precision: Precision,
    ) -> Result<Evaluation> {
        self.check_labels(x, labels)?;
        if labels.is_empty() {
            return Err(sparse_core::Error::Empty {
                argument: "x",
                expected: "at least one labelled column".into(),
            }
            .into());
        }
        let z = self.logits_with(x, precision)?;
        let n = labels.len() as f64;
        let loss = cross_entropy(&z, labels, None) / n;
        let right = labels
            .iter()
            .enumerate()
            .filter(|&(j, &l)| {
                (0..z.nrows())
                    .max_by(|&a, &b| z[(a, j)].total_cmp(&z[(b, j)]))
                    .is_some_and(|best| best == l)
            })
            .count();
        Ok(Evaluation {
            loss,
            accuracy: right as f64 / n,
        })
    }
}
