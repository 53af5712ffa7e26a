//! Layered basis pursuit and layered ISTA: one Lasso per layer, each on the previous layer's
//! estimate, solved with the Lasso solvers of `pursuit`.

use faer::{Mat, MatRef, Par};
use pursuit::lasso::{Fista, Ista, Lars};
use sparse_core::{check, Dictionary, LinearOperator, Shrinkage};

use super::{check_per_layer, check_signals, MlSolution};
use crate::error::{invalid, Error, Result};
use crate::layer::Layer;
use crate::model::MlModel;
use sparse_core::solve::Solve;

/// Which single-layer Lasso solver of `pursuit` a layered pursuit uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LassoSolver {
    /// [`pursuit::lasso::Fista`] on the layer operator (any layer). The default.
    #[default]
    Fista,
    /// [`pursuit::lasso::Ista`] on the layer operator (any layer).
    Ista,
    /// [`pursuit::lasso::Lars`] (exact homotopy) on a dense layer with unit-norm atoms.
    Lars,
}

/// Layered basis pursuit (the layered Lasso of Papyan, Romano & Elad, JMLR 2017):
/// `Gamma_i = argmin 1/2 ||Gamma_{i-1} - D_i Gamma||_2^2 + lambda_i ||Gamma||_1`, `Gamma_0 = Y`.
///
/// Its stability theorem (Theorem 8 there): if `||Gamma_i||_0 < (1 + 1/mu(D_i)) / 3` and
/// `lambda_i = 4 eps_{i-1}`, the supports are contained in the true ones and
/// `||Gamma_i^LBP - Gamma_i||_2 <= eps_i = 7.5^i ||E||_2 prod_{j <= i} sqrt(||Gamma_j||_0)`.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambdas` | (required) | penalty of every layer |
/// | `solver` | [`LassoSolver::Fista`] | single-layer solver |
/// | `gap_tol` | `1e-8` | relative duality gap at which a layer's solver stops |
/// | `max_iter` | `20000` | iteration cap of the iterative solvers |
/// | `nonneg` | `false` | non-negative Lasso on every layer |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone)]
pub struct LayeredBp {
    /// Penalty `lambda_i` of every layer.
    pub lambdas: Vec<f64>,
    /// Single-layer solver.
    pub solver: LassoSolver,
    /// Relative duality-gap tolerance of every layer.
    pub gap_tol: f64,
    /// Iteration cap of the iterative solvers.
    pub max_iter: usize,
    /// Non-negative codes.
    pub nonneg: bool,
    /// Parallelism.
    pub par: Par,
}

impl LayeredBp {
    /// Layered BP with penalties `lambdas` and the defaults of the table.
    pub fn new(lambdas: Vec<f64>) -> Self {
        Self {
            lambdas,
            solver: LassoSolver::Fista,
            gap_tol: 1e-8,
            max_iter: 20_000,
            nonneg: false,
            par: Par::rayon(0),
        }
    }
    sparse_core::setters! {
        /// Sets `solver`.
        solver: LassoSolver,
        /// Sets `gap_tol`.
        gap_tol: f64,
        /// Sets `max_iter`.
        max_iter: usize,
        /// Sets `nonneg`.
        nonneg: bool,
        /// Sets `par`.
        par: Par,
    }
}

/// Solves one layer's Lasso.
#[allow(clippy::too_many_arguments)]
fn solve_layer(
    layer: &Layer,
    lipschitz: f64,
    above: MatRef<'_, f64>,
    lambda: f64,
    solver: LassoSolver,
    gap_tol: f64,
    max_iter: usize,
    nonneg: bool,
    warm: Option<MatRef<'_, f64>>,
    par: Par,
    index: usize,
) -> Result<pursuit::Solution> {
    let l = lipschitz;
    Ok(match solver {
        LassoSolver::Fista => {
            let f = Fista::new(lambda)
                .gap_tol(gap_tol)
                .max_iter(max_iter)
                .nonneg(nonneg)
                .lipschitz(l)
                .par(par);
            match warm {
                Some(x0) => f.solve_warm(layer, above, x0)?,
                None => f.solve(layer, above)?,
            }
        }
        LassoSolver::Ista => {
            let f = Ista::new(lambda)
                .gap_tol(gap_tol)
                .max_iter(max_iter)
                .nonneg(nonneg)
                .lipschitz(l)
                .par(par);
            match warm {
                Some(x0) => f.solve_warm(layer, above, x0)?,
                None => f.solve(layer, above)?,
            }
        }
        LassoSolver::Lars => {
            let (Some(m), true) = (layer.as_dense(), layer.is_normalized()) else {
                return Err(invalid(
                    "solver",
                    format!("Lars on layer {index}"),
                    "a dense layer with unit-norm atoms (use Fista or Ista)",
                ));
            };
            let d = Dictionary::from_matrix(m)?;
            Lars::new(lambda)
                .gap_tol(gap_tol)
                .nonneg(nonneg)
                .par(par)
                .solve(&d, above)?
        }
    })
}

/// Moves the single-layer solutions' diagnostics into `out.layers` and derives the
/// whole-pursuit diagnostics of every signal: the largest iteration count over layers, and
/// converged when every layer converged.
fn layered_outcome(out: &mut MlSolution, results: Vec<pursuit::Solution>) {
    let iters = |j: usize| {
        results
            .iter()
            .map(|r| r.diagnostics[j].iterations)
            .max()
            .unwrap_or(0)
    };
    let conv = |j: usize| results.iter().all(|r| r.diagnostics[j].converged);
    out.set_outcome(iters, conv, None);
    out.layers = results.into_iter().map(|r| r.diagnostics).collect();
}

impl Solve<MlModel> for LayeredBp {
    type Output = MlSolution;
    type Error = Error;

    fn solve(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<MlSolution> {
        check_signals(model, y)?;
        check_per_layer("lambdas", &self.lambdas, model)?;
        for &l in &self.lambdas {
            check::non_negative("lambdas", l)?;
        }
        let mut codes: Vec<Mat<f64>> = Vec::with_capacity(model.depth());
        let mut results = Vec::with_capacity(model.depth());
        for (i, layer) in model.layers().iter().enumerate() {
            let above = if i == 0 { y } else { codes[i - 1].as_ref() };
            let res = solve_layer(
                layer,
                model.lipschitz(i + 1)?,
                above,
                self.lambdas[i],
                self.solver,
                self.gap_tol,
                self.max_iter,
                self.nonneg,
                None,
                self.par,
                i + 1,
            )?;
            codes.push(res.codes.clone());
            results.push(res);
        }
        let mut out = MlSolution::assemble(model, y, codes, self.par);
        layered_outcome(&mut out, results);
        Ok(out)
    }
}

/// Layered ISTA (layered iterative soft thresholding, Papyan, Romano & Elad 2017): on every
/// layer, `iterations` ISTA steps for `min 1/2 ||Gamma_{i-1} - D_i Gamma||^2 + lambda_i
/// ||Gamma||_1`, warm-started from that layer's thresholding estimate
/// `S_lambda_i(D_i^T Gamma_{i-1})` (or from zero). It sits between the forward pass (no ISTA
/// step) and layered BP (ISTA to convergence).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambdas` | (required) | penalty of every layer |
/// | `iterations` | `10` | ISTA steps per layer |
/// | `warm_start` | `true` | start each layer from its (soft) thresholding estimate |
/// | `nonneg` | `false` | non-negative codes (ReLU thresholding) |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone)]
pub struct LayeredIsta {
    /// Penalty `lambda_i` of every layer.
    pub lambdas: Vec<f64>,
    /// ISTA steps per layer.
    pub iterations: usize,
    /// Warm start from thresholding.
    pub warm_start: bool,
    /// Non-negative codes.
    pub nonneg: bool,
    /// Parallelism.
    pub par: Par,
}

impl LayeredIsta {
    /// Layered ISTA with penalties `lambdas` and the defaults of the table.
    pub fn new(lambdas: Vec<f64>) -> Self {
        Self {
            lambdas,
            iterations: 10,
            warm_start: true,
            nonneg: false,
            par: Par::rayon(0),
        }
    }
    sparse_core::setters! {
        /// Sets `iterations`.
        iterations: usize,
        /// Sets `warm_start`.
        warm_start: bool,
        /// Sets `nonneg`.
        nonneg: bool,
        /// Sets `par`.
        par: Par,
    }
}

impl Solve<MlModel> for LayeredIsta {
    type Output = MlSolution;
    type Error = Error;

    fn solve(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<MlSolution> {
        check_signals(model, y)?;
        check_per_layer("lambdas", &self.lambdas, model)?;
        check::count("iterations", self.iterations, usize::MAX)?;
        for &l in &self.lambdas {
            check::non_negative("lambdas", l)?;
        }
        let b = y.ncols();
        let mut codes: Vec<Mat<f64>> = Vec::with_capacity(model.depth());
        let mut results = Vec::with_capacity(model.depth());
        for (i, layer) in model.layers().iter().enumerate() {
            let above = if i == 0 { y } else { codes[i - 1].as_ref() };
            let warm = if self.warm_start {
                let mut g = Mat::<f64>::zeros(layer.ncols(), b);
                layer.apply_adjoint_raw(above, g.as_mut(), self.par);
                let s = if self.nonneg {
                    Shrinkage::NonNegSoft(self.lambdas[i])
                } else {
                    Shrinkage::Soft(self.lambdas[i])
                };
                crate::linalg::shrink_in_place(s, &mut g);
                Some(g)
            } else {
                None
            };
            let res = solve_layer(
                layer,
                model.lipschitz(i + 1)?,
                above,
                self.lambdas[i],
                LassoSolver::Ista,
                0.0,
                self.iterations,
                self.nonneg,
                warm.as_ref().map(|w| w.as_ref()),
                self.par,
                i + 1,
            )?;
            codes.push(res.codes.clone());
            results.push(res);
        }
        let mut out = MlSolution::assemble(model, y, codes, self.par);
        // A fixed number of ISTA steps per layer: `converged` reports whether every layer's
        // ISTA met its duality-gap rule within them (at `gap_tol = 0` it never does), never `true`
        // by construction.
        layered_outcome(&mut out, results);
        Ok(out)
    }
}
