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
//! Every pursuit works on batches (columns of `Y` are signals) and returns an [`MlSolution`]: every
//! layer's estimate plus the workspace's per-signal [`Diagnostics`] (whole pursuit and per layer).

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
use sparse_core::solve::{mean_sparsity, Diagnostics, Solve, Summary};
use sparse_core::{check, LinearOperator};

use crate::error::{mismatch, Error, Result};
use crate::model::MlModel;

/// A pursuit of the multi-layer model: any [`Solve`] on an [`MlModel`] returning an
/// [`MlSolution`] (implemented automatically; every pursuit of this module is one).
pub trait MlPursuit: Solve<MlModel, Output = MlSolution, Error = Error> {}

impl<T> MlPursuit for T where T: Solve<MlModel, Output = MlSolution, Error = Error> {}

/// What every multi-layer pursuit returns: the estimate of every layer, and the workspace's
/// [`Diagnostics`] per signal for the whole pursuit and per layer and signal.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct MlSolution {
    /// `codes[i - 1]` estimates `Gamma_i` (`n_i x b`), `i = 1..=K`.
    pub codes: Vec<Mat<f64>>,
    /// One entry per signal for the whole pursuit: iterations (1 for one-shot pursuits, the
    /// largest count over layers for layered ones), whether the stopping rule was met (one-shot
    /// pursuits have nothing to converge and report `true`; a fixed number of `iterations`
    /// reports `false`), the objective (the multi-layer BP objective for ML-ISTA / ML-FISTA,
    /// otherwise `||y - D_1 Gamma_1||_2`), and `||y - D_1 Gamma_1||_2`. ML-ISTA / ML-FISTA stop
    /// on the whole batch, so their signals share the iteration count and the flag.
    pub diagnostics: Vec<Diagnostics>,
    /// `layers[i - 1][j]`: layer `i` on signal `j`. The residual norm is the model mismatch
    /// `||Gamma_{i-1} - D_i Gamma_i||_2` (`Gamma_0 = y`): zero below the first layer for
    /// consistent estimates (projection, holistic, ML-ISTA). Layered pursuits put their
    /// single-layer solver's diagnostics here.
    pub layers: Vec<Vec<Diagnostics>>,
    /// Mean objective over the batch after every iteration, when tracked.
    pub objective_trace: Vec<f64>,
    /// ML-ISTA / ML-FISTA: the step sizes and the conditions of the convergence theorem.
    pub step_conditions: Option<StepConditions>,
}

/// Batch summaries of the whole-pursuit diagnostics (`residual_norms` is
/// `||y - D_1 Gamma_1||_2` per signal).
impl Summary for MlSolution {
    fn diagnostics(&self) -> &[Diagnostics] {
        &self.diagnostics
    }
}

impl MlSolution {
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

    /// Per layer `i = 1..=K`, the largest (over signals) model mismatch
    /// `||Gamma_{i-1} - D_i Gamma_i||_2`.
    pub fn layer_mismatch(&self) -> Vec<f64> {
        self.layers
            .iter()
            .map(|l| l.iter().fold(0.0f64, |m, d| m.max(d.residual_norm)))
            .collect()
    }

    /// Mean number of non-zeros per signal of every layer (by
    /// [`sparse_core::solve::mean_sparsity`], the count every result type uses).
    pub fn mean_sparsity(&self) -> Vec<f64> {
        self.codes
            .iter()
            .map(|c| mean_sparsity(c.as_ref()))
            .collect()
    }

    /// A one-shot result from codes: one iteration, converged, the residual and the model
    /// mismatch of every layer measured; callers overwrite what their pursuit knows better.
    pub(crate) fn assemble(
        model: &MlModel,
        y: MatRef<'_, f64>,
        codes: Vec<Mat<f64>>,
        par: Par,
    ) -> Self {
        let b = y.ncols();
        let mut layers = Vec::with_capacity(codes.len());
        for (i, layer) in model.layers().iter().enumerate() {
            let mut d = Mat::<f64>::zeros(layer.nrows(), b);
            layer.apply_raw(codes[i].as_ref(), d.as_mut(), par);
            let above = if i == 0 { y } else { codes[i - 1].as_ref() };
            d -= above;
            layers.push(
                (0..b)
                    .map(|j| {
                        let r = d.col(j).norm_l2();
                        Diagnostics::new(1, true, r, r)
                    })
                    .collect::<Vec<_>>(),
            );
        }
        let diagnostics = layers.first().cloned().unwrap_or_default();
        Self {
            codes,
            diagnostics,
            layers,
            objective_trace: Vec::new(),
            step_conditions: None,
        }
    }

    /// Overwrites the whole-pursuit diagnostics of every signal with `iterations`, `converged`
    /// and, where given, the objective (keeping the measured residual norm).
    pub(crate) fn set_outcome(
        &mut self,
        iterations: impl Fn(usize) -> usize,
        converged: impl Fn(usize) -> bool,
        objective: Option<&[f64]>,
    ) {
        for (j, d) in self.diagnostics.iter_mut().enumerate() {
            let obj = objective.map_or(d.objective, |o| o[j]);
            *d = Diagnostics::new(iterations(j), converged(j), obj, d.residual_norm);
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
