//! The loss of an [`UnfoldedNet`], its gradient by back-propagation, and the cross-entropy.

use faer::{Mat, MatRef};

use super::{Precision, UnfoldedNet};
use crate::error::{mismatch, Result};
use crate::supervised::engine::{Engine, Work};

impl UnfoldedNet {
    /// Mean softmax cross-entropy over the columns.
    pub fn loss(&self, x: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
        self.check_labels(x, labels)?;
        let z = self.logits_of(&self.run(x, Precision::F64));
        Ok(cross_entropy(&z, labels, None) / labels.len() as f64)
    }

    /// Mean softmax cross-entropy over the columns and its gradient with respect to the flat
    /// parameters (written into `grad`, added to what is there), by back-propagation through the
    /// `K` unfolded iterations. Returns the mean loss.
    pub fn loss_grad(&self, x: MatRef<'_, f64>, labels: &[usize], grad: &mut [f64]) -> Result<f64> {
        self.check_labels(x, labels)?;
        if grad.len() != self.params.len() {
            return Err(mismatch(
                "grad",
                format!("{} entries", self.params.len()),
                format!("{}", grad.len()),
            ));
        }
        Ok(self.backprop(x, labels, grad))
    }

    pub(crate) fn backprop(&self, x: MatRef<'_, f64>, labels: &[usize], grad: &mut [f64]) -> f64 {
        let plan = self.plan();
        let p = plan.params_in::<f64>(&self.params);
        let xi = plan.input_in::<f64>(x);
        let mut g = vec![0.0; p.len()];
        let eng = Engine { plan: &plan, p: &p };
        let (loss, _) = eng.backprop(
            &xi,
            labels,
            1.0 / labels.len().max(1) as f64,
            &mut g,
            &mut Work::default(),
        );
        for (i, &c) in plan.perm.iter().enumerate() {
            grad[c] += g[i];
        }
        loss
    }
}

/// Sum over columns of `-log softmax(z)_label`; with `dz`, writes `softmax(z) - onehot`.
pub(crate) fn cross_entropy(z: &Mat<f64>, labels: &[usize], mut dz: Option<&mut Mat<f64>>) -> f64 {
    let mut total = 0.0;
    for (j, &l) in labels.iter().enumerate() {
        let mx = (0..z.nrows())
            .map(|c| z[(c, j)])
            .fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..z.nrows()).map(|c| (z[(c, j)] - mx).exp()).sum();
        total += -(z[(l, j)] - mx) + sum.ln();
        if let Some(d) = dz.as_deref_mut() {
            for c in 0..z.nrows() {
                d[(c, j)] = (z[(c, j)] - mx).exp() / sum - if c == l { 1.0 } else { 0.0 };
            }
        }
    }
    total
}
