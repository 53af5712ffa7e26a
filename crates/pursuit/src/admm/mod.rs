//! Basis Pursuit `min ||x||_1 s.t. D x = y` (Chen, Donoho & Saunders 1998) and its noisy form
//! BPDN `min ||x||_1 s.t. ||D x - y||_2 <= eps`, by ADMM (Boyd, Parikh, Chu, Peleato & Eckstein,
//! *Distributed optimization and statistical learning via the alternating direction method of
//! multipliers*, Found. Trends Mach. Learn. 2011, sections 3 and 6.2) and, for BPDN, by the
//! Lasso homotopy.
//!
//! Both ADMM solvers run on blocks of signals: every linear step uses the same matrices for all
//! signals (a projection or a Woodbury solve factored once), so an iteration is a few GEMMs.
//! Each signal has its own penalty `rho`, adapted by residual balancing (Boyd et al. 2011,
//! section 3.4.1), and its own stopping test on the primal and dual residuals (section 3.3.1):
//! `||r|| <= sqrt(p) abs_residual_tol + rel_residual_tol max(...)`, `||s|| <= sqrt(m) abs_residual_tol + rel_residual_tol ||A^T y||`.
//!
//! The duality gap is not reported (`duality_gap: None`); `objective` is `||x||_1` and
//! `residual_norm` is `||y - D x||_2` of the returned code.
// Index loops over several parallel arrays read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve as _;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use sparse_core::check;

use crate::error::{invalid, Result};
use crate::lasso::{gemm, WorkingSet};
use crate::result::Report;

/// Residual balancing adapts `rho` only during this many iterations, after which the penalty is
/// fixed so that the usual ADMM convergence theory applies (Boyd et al. 2011, section 3.4.1).
const ADAPT_UNTIL: usize = 300;

/// ADMM parameters shared by [`BasisPursuit`] and [`Bpdn`].
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `rho` | `10.0` | initial penalty, relative: signal `j` starts at `rho / ||D^T y_j||_inf` |
/// | `adaptive_rho` | `true` | residual balancing (`mu = 10`, `tau = 2`) every 10 iterations during the first 300 |
/// | `alpha` | `1.6` (BPDN), `1.0` (BP) | over-relaxation, in `(0, 2)` |
/// | `abs_residual_tol` | `1e-9` | absolute tolerance of the residual tests |
/// | `rel_residual_tol` | `1e-7` | relative tolerance of the residual tests |
/// | `max_iter` | `20000` | cap on iterations per signal (`converged = false` when hit) |
/// | `check_every` | `5` | residual tests every this many iterations |
/// | `block_size` | `128` | signals per block (the width of the GEMMs) |
/// | `par` | `Par::rayon(0)` | parallelism across blocks (inside one block if only one) |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Admm {
    /// Initial penalty `rho > 0`, relative to the scale `||D^T y||_inf` of each signal.
    pub rho: f64,
    /// Adapt `rho` per signal by residual balancing.
    pub adaptive_rho: bool,
    /// Over-relaxation `alpha` in `(0, 2)`.
    pub alpha: f64,
    /// Absolute tolerance.
    pub abs_residual_tol: f64,
    /// Relative tolerance.
    pub rel_residual_tol: f64,
    /// Maximum iterations per signal.
    pub max_iter: usize,
    /// Residual-test period.
    pub check_every: usize,
    /// Signals per block.
    pub block_size: usize,
    /// Parallelism.
    pub par: Par,
}

impl Default for Admm {
    fn default() -> Self {
        Self {
            rho: 10.0,
            adaptive_rho: true,
            alpha: 1.6,
            abs_residual_tol: 1e-9,
            rel_residual_tol: 1e-7,
            max_iter: 20_000,
            check_every: 5,
            block_size: 128,
            par: Par::rayon(0),
        }
    }
}

impl Admm {
    fn validate(&self) -> Result<()> {
        check::positive("rho", self.rho)?;
        if !(self.alpha > 0.0 && self.alpha < 2.0) {
            return Err(invalid("alpha", self.alpha, "a number in (0, 2)"));
        }
        check::non_negative("abs_residual_tol", self.abs_residual_tol)?;
        check::non_negative("rel_residual_tol", self.rel_residual_tol)?;
        check::count("max_iter", self.max_iter, usize::MAX)?;
        check::count("check_every", self.check_every, usize::MAX)?;
        check::count("block_size", self.block_size, usize::MAX)?;
        Ok(())
    }

    /// Residual balancing (`mu = 10`, `tau = 2`): returns the factor `rho` was multiplied by
    /// (the scaled duals are divided by it).
    fn balance(&self, rho: &mut f64, r: f64, s: f64) -> f64 {
        let (mu, tau) = (10.0, 2.0);
        if !self.adaptive_rho {
            1.0
        } else if r > mu * s {
            *rho *= tau;
            tau
        } else if s > mu * r {
            *rho /= tau;
            1.0 / tau
        } else {
            1.0
        }
    }

    /// The end of a residual test on working column `j` at iteration `k` (Boyd et al. 2011,
    /// sections 3.3.1 and 3.4.1), shared by both ADMMs: with primal and dual residuals
    /// `(r, s)` and tolerances `(eps_pri, eps_dual)`, finishes the signal with code `xj` when
    /// both residuals are within tolerance, or unconverged at `max_iter`; otherwise keeps it
    /// iterating and, every `2 max(check_every, 5)` iterations of the first [`ADAPT_UNTIL`],
    /// rebalances its penalty. Returns the factor the caller divides the signal's scaled duals
    /// by (`1` when the penalty did not change).
    #[allow(clippy::too_many_arguments)]
    fn residual_test(
        &self,
        k: usize,
        j: usize,
        (r, s): (f64, f64),
        (eps_pri, eps_dual): (f64, f64),
        xj: &[f64],
        ws: &mut WorkingSet,
        out: MatMut<'_, f64>,
        reports: &mut [Report],
    ) -> f64 {
        let converged = r <= eps_pri && s <= eps_dual;
        if converged || k == self.max_iter {
            let rep = Report {
                iterations: k,
                converged,
                ..Report::default()
            };
            ws.finish(j, xj, rep, out, reports);
            return 1.0;
        }
        ws.keep.push(j);
        if k.is_multiple_of(2 * self.check_every.max(5)) && k <= ADAPT_UNTIL {
            self.balance(&mut ws.val[j], r, s)
        } else {
            1.0
        }
    }
}

/// The builder setters of a solver holding its ADMM parameters in a field `admm`: the list
/// shared by [`BasisPursuit`] and [`Bpdn`], generated by the workspace's one setter macro.
macro_rules! admm_setters {
    () => {
        sparse_core::setters! {
            /// Sets all ADMM parameters.
            admm: Admm,
            /// Sets the initial (relative) penalty `rho`.
            rho: f64 => admm,
            /// Sets whether `rho` adapts by residual balancing.
            adaptive_rho: bool => admm,
            /// Sets the over-relaxation `alpha`.
            alpha: f64 => admm,
            /// Sets the absolute tolerance of the residual tests.
            abs_residual_tol: f64 => admm,
            /// Sets the relative tolerance of the residual tests.
            rel_residual_tol: f64 => admm,
            /// Sets `max_iter`.
            max_iter: usize => admm,
            /// Sets the residual-test period.
            check_every: usize => admm,
            /// Sets the signals per block.
            block_size: usize => admm,
            /// Sets `par`.
            par: Par => admm,
        }
    };
}

/// `(D D^T)^{-1} D` (`n x m`), so that `D^+ = Q^T` and the projection onto `{D x = y}` is
/// `x = v - Q^T (D v - y)`. `None` when `D D^T` is singular (`D` without full row rank).
fn pinv_t(d: MatRef<'_, f64>, par: Par) -> Option<Mat<f64>> {
    let mut s = Mat::<f64>::zeros(d.nrows(), d.nrows());
    matmul(s.as_mut(), Accum::Replace, d, d.transpose(), 1.0, par);
    let llt = s.llt(Side::Lower).ok()?;
    let mut q = d.to_owned();
    llt.solve_in_place(q.as_mut());
    Some(q)
}

/// Per-signal starting penalty `rho / ||D^T y||_inf`, so that the threshold `1/rho` of the
/// z-update scales with the signal (ADMM is then invariant to rescaling `y`).
fn initial_rho(a: &Admm, d: MatRef<'_, f64>, y: MatRef<'_, f64>, par: Par) -> Vec<f64> {
    let mut c = Mat::<f64>::zeros(d.ncols(), y.ncols());
    matmul(c.as_mut(), Accum::Replace, d.transpose(), y, 1.0, par);
    (0..y.ncols())
        .map(|j| {
            let s = c.col(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
            if s > 0.0 && (a.rho / s).is_finite() {
                a.rho / s
            } else {
                a.rho
            }
        })
        .collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum::<f64>().sqrt()
}

/// Fills `objective = ||x||_1` and `residual_norm = ||D x - y||` of a block's reports.
fn fill_reports(
    d: MatRef<'_, f64>,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    rep: &mut [Report],
    par: Par,
) {
    let mut e = y.to_owned();
    gemm(e.as_mut(), true, d, x, -1.0, par);
    for (j, r) in rep.iter_mut().enumerate() {
        r.residual_norm = norm(e.col_as_slice(j));
        r.objective = x.col(j).iter().map(|v| v.abs()).sum();
    }
}

mod basis;
mod bpdn;

pub use basis::BasisPursuit;
pub use bpdn::{Bpdn, BpdnMethod};
