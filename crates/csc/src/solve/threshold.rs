//! Convolutional thresholding `Gamma = P_beta(D^T y)`: the simplest convolutional pursuit and,
//! with non-negative soft thresholding and one bias per filter, exactly the first layer of a
//! CNN, `ReLU(W^T y - b)` (Papyan, Romano & Elad 2017, "Convolutional neural networks analyzed
//! via convolutional sparse coding", JMLR 18).

use faer::{MatRef, Par};
use sparse_core::solve::{Iteration, Solve};
use sparse_core::{check, LinearOperator, Shrinkage};

use super::{Solution, Trace};
use crate::error::{invalid, shape_mismatch, Error, Result};
use crate::operator::ConvOperator;

/// Convolutional thresholding: `P(D^T y)` for a [`Shrinkage`] `P`, optionally with one threshold
/// per filter (the biases of a convolutional layer).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `shrinkage` | (required) | the non-linearity and its threshold |
/// | `per_filter` | `None` | one threshold per filter, replacing the shrinkage's own (not for `TopK`) |
/// | `par` | `Par::rayon(0)` | parallelism |
///
/// `TopK(k)` keeps the `k` largest correlations of each signal over all filters and positions.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvThresholding {
    /// The non-linearity.
    pub shrinkage: Shrinkage,
    /// Per-filter thresholds (`m` values).
    pub per_filter: Option<Vec<f64>>,
    /// Parallelism.
    pub par: Par,
}

impl ConvThresholding {
    /// Thresholding with one non-linearity for every coefficient.
    pub fn new(shrinkage: Shrinkage) -> Self {
        Self {
            shrinkage,
            per_filter: None,
            par: Par::rayon(0),
        }
    }

    /// The forward pass of a convolutional ReLU layer: `max(D^T y - b_i, 0)` with bias `b_i`
    /// for filter `i`.
    pub fn relu(biases: Vec<f64>) -> Self {
        Self {
            shrinkage: Shrinkage::NonNegSoft(0.0),
            per_filter: Some(biases),
            par: Par::rayon(0),
        }
    }

    /// Sets per-filter thresholds.
    pub fn per_filter(mut self, thresholds: Vec<f64>) -> Self {
        self.per_filter = Some(thresholds);
        self
    }

    sparse_core::setters! {
        /// Sets the parallelism.
        par: Par,
    }

    /// The shrinkage of filter `i`.
    fn of_filter(&self, i: usize) -> Shrinkage {
        match (&self.per_filter, self.shrinkage) {
            (Some(t), Shrinkage::Soft(_)) => Shrinkage::Soft(t[i]),
            (Some(t), Shrinkage::Hard(_)) => Shrinkage::Hard(t[i]),
            (Some(t), Shrinkage::NonNegSoft(_)) => Shrinkage::NonNegSoft(t[i]),
            (_, s) => s,
        }
    }

    /// Codes every column of `y` (`signal_len x b`). The diagnostics hold one iteration with
    /// the data fidelity `1/2 ||y - D Gamma||^2` of the result.
    fn run(&self, op: &ConvOperator, y: MatRef<'_, f64>) -> Result<Solution> {
        check::batch("y", y, op.signal_len())?;
        self.shrinkage.validate()?;
        let m = op.dictionary().n_filters();
        if let Some(t) = &self.per_filter {
            if matches!(self.shrinkage, Shrinkage::TopK(_)) {
                return Err(invalid(
                    "per_filter",
                    "Some(..)",
                    "no per-filter thresholds with TopK",
                ));
            }
            if t.len() != m {
                return Err(shape_mismatch(
                    "per_filter",
                    format!("{m} thresholds (one per filter)"),
                    format!("{} values", t.len()),
                ));
            }
            for i in 0..m {
                self.of_filter(i).validate()?;
            }
        }
        let mut codes = op.analyze(y, self.par)?;
        let n = op.n();
        match self.shrinkage {
            Shrinkage::TopK(_) => self.shrinkage.apply_batch(codes.as_mut()),
            _ => {
                for j in 0..codes.ncols() {
                    for (map, g) in codes.col_as_slice_mut(j).chunks_mut(n).enumerate() {
                        self.of_filter(map % m).apply_slice(g);
                    }
                }
            }
        }
        let mut rec = op.synthesize(codes.as_ref(), self.par)?;
        rec -= y;
        let info = (0..y.ncols())
            .map(|j| {
                let df = 0.5 * rec.col(j).squared_norm_l2();
                Trace {
                    iterations: 1,
                    converged: true,
                    history: vec![Iteration::new(df, 0.0)],
                    final_state: None,
                }
                .into_diagnostics()
            })
            .collect();
        debug_assert_eq!(codes.nrows(), op.ncols());
        Ok(Solution::new(codes, info)?)
    }
}

impl Solve<ConvOperator> for ConvThresholding {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, op: &ConvOperator, y: MatRef<'_, f64>) -> Result<Solution> {
        self.run(op, y)
    }
}
