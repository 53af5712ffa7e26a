//! Pursuits of the multi-layer model: given `Y = X + E` with `X = D_1 Gamma_1`,
//! `Gamma_{i-1} = D_i Gamma_i`, estimate every `Gamma_i`.
//!
//! | pursuit | what it solves | reference |
//! | --- | --- | --- |
//! | [`LayeredThresholding`] | `Gamma_i = P_beta_i(D_i^T Gamma_{i-1})`: the forward pass of a CNN | Papyan, Romano & Elad, JMLR 2017 |
//! | [`LayeredBp`] | one Lasso per layer on the previous estimate | Papyan, Romano & Elad, JMLR 2017 |
//! | [`LayeredIsta`] | a few warm-started ISTA steps per layer | Papyan, Romano & Elad, JMLR 2017 |
//! | [`MlIsta`], [`MlFista`] | multi-layer basis pursuit by nested proximal gradient | Sulam, Aberdam, Beck & Elad, TPAMI 2019 |
//! | [`Projection`] | deepest layer on `D_(1,K)`, then `Gamma_i = D_(i+1,K) Gamma_K` | Sulam, Papyan, Romano & Elad, TSP 2018 |
//! | [`Holistic`] | alternating synthesis (deepest support) and analysis (co-supports) steps | Aberdam, Sulam & Elad, SIMODS 2019 |
//!
//! Every pursuit works on batches (columns of `Y` are signals) and returns an [`MlCodes`]: every
//! layer's estimate plus diagnostics.

mod holistic;
mod layered;
pub mod mlista;
mod projection;
mod thresholding;

pub use holistic::Holistic;
pub use layered::{LassoSolver, LayeredBp, LayeredIsta};
pub use mlista::{ml_objective, MlFista, MlIsta, StepConditions};
pub use projection::{DeepestPursuit, Projection};
pub use thresholding::LayeredThresholding;

use faer::{Mat, MatRef, Par};
use pursuit::CodingResult;
use sparse_core::{check, LinearOperator};

use crate::error::{mismatch, Result};
use crate::model::MlModel;

/// A pursuit of the multi-layer model.
pub trait MlPursuit {
    /// Estimates every layer's code of the columns of `y` (`model.signal_len() x b`).
    fn pursue(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<MlCodes>;
}

/// What every multi-layer pursuit returns: the estimate of every layer and diagnostics.
#[derive(Debug, Clone)]
pub struct MlCodes {
    /// `codes[i - 1]` estimates `Gamma_i` (`n_i x b`), `i = 1..=K`.
    pub codes: Vec<Mat<f64>>,
    /// Iterations run (1 for one-shot pursuits, the largest count over layers and signals
    /// for layered iterative pursuits).
    pub iterations: usize,
    /// Whether the pursuit met its stopping rule (always true for one-shot pursuits).
    pub converged: bool,
    /// The objective the pursuit minimises at the returned codes, per signal, where it has
    /// one (the multi-layer BP objective for ML-ISTA / ML-FISTA).
    pub objective: Option<Vec<f64>>,
    /// Mean objective over the batch after every iteration, when tracked.
    pub objective_trace: Vec<f64>,
    /// `||y - D_1 Gamma_1||_2` per signal.
    pub residual_norm: Vec<f64>,
    /// Per layer `i = 1..=K`, the largest (over signals) model mismatch
    /// `||Gamma_{i-1} - D_i Gamma_i||_2` (`Gamma_0 = y`): zero for consistent estimates
    /// (projection, holistic, ML-ISTA) below the first layer.
    pub layer_mismatch: Vec<f64>,
    /// ML-ISTA / ML-FISTA: the step sizes and the conditions of the convergence theorem.
    pub step_conditions: Option<StepConditions>,
    /// Layered pursuits: the single-layer solver's diagnostics of every layer.
    pub layer_results: Vec<CodingResult>,
}

impl MlCodes {
    /// The estimate of `Gamma_i`, `1 <= i <= K`.
    pub fn layer(&self, i: usize) -> Option<&Mat<f64>> {
        i.checked_sub(1).and_then(|k| self.codes.get(k))
    }

    /// The depth `K`.
    pub fn depth(&self) -> usize {
        self.codes.len()
    }

    /// The deepest estimate `Gamma_K`.
    pub fn deepest(&self) -> &Mat<f64> {
        &self.codes[self.codes.len() - 1]
    }

    /// Mean number of non-zeros per signal of every layer.
    pub fn mean_sparsity(&self) -> Vec<f64> {
        self.codes
            .iter()
            .map(|c| {
                let nnz: usize = (0..c.ncols())
                    .map(|j| c.col(j).iter().filter(|v| **v != 0.0).count())
                    .sum();
                nnz as f64 / c.ncols().max(1) as f64
            })
            .collect()
    }

    /// A result from codes, measuring the residual and the model mismatch of every layer.
    pub(crate) fn assemble(
        model: &MlModel,
        y: MatRef<'_, f64>,
        codes: Vec<Mat<f64>>,
        par: Par,
    ) -> Self {
        let b = y.ncols();
        let mut mismatch = Vec::with_capacity(codes.len());
        let mut residual_norm = vec![0.0; b];
        for (i, layer) in model.layers().iter().enumerate() {
            let mut d = Mat::<f64>::zeros(layer.nrows(), b);
            layer.apply_raw(codes[i].as_ref(), d.as_mut(), par);
            let above = if i == 0 { y } else { codes[i - 1].as_ref() };
            let mut worst = 0.0f64;
            for j in 0..b {
                let r = (0..d.nrows())
                    .map(|q| (above[(q, j)] - d[(q, j)]).powi(2))
                    .sum::<f64>()
                    .sqrt();
                if i == 0 {
                    residual_norm[j] = r;
                }
                worst = worst.max(r);
            }
            mismatch.push(worst);
        }
        Self {
            codes,
            iterations: 1,
            converged: true,
            objective: None,
            objective_trace: Vec::new(),
            residual_norm,
            layer_mismatch: mismatch,
            step_conditions: None,
            layer_results: Vec::new(),
        }
    }
}

/// Checks a batch of signals for `model`.
pub(crate) fn check_signals(model: &MlModel, y: MatRef<'_, f64>) -> Result<()> {
    check::batch("y", y, model.signal_len())?;
    Ok(())
}

/// Checks a per-layer parameter list has one entry per layer.
pub(crate) fn check_per_layer<T>(name: &'static str, v: &[T], model: &MlModel) -> Result<()> {
    if v.len() != model.depth() {
        return Err(mismatch(
            name,
            format!("{} entries (one per layer)", model.depth()),
            format!("{} entries", v.len()),
        ));
    }
    Ok(())
}
