//! The Lasso `min_x 1/2 ||y - D x||_2^2 + lambda ||x||_1` (Tibshirani 1996; basis pursuit
//! denoising, Chen, Donoho & Saunders 1998) and its non-negative variant (`x >= 0`, the problem
//! a ReLU layer solves).
//!
//! Four solvers, all stopping on the relative duality gap and reporting it:
//! ISTA and FISTA (Beck & Teboulle 2009, with O'Donoghue & Candès adaptive restart) on any
//! [`LinearOperator`](sparse_core::LinearOperator); cyclic coordinate descent with a precomputed
//! Gram (Friedman, Hastie & Tibshirani 2010); and LARS-Lasso / homotopy (Efron et al. 2004;
//! Osborne, Presnell & Turlach 2000), which computes the whole regularisation path.
//!
//! | solver | operator | work per signal | best for |
//! | --- | --- | --- | --- |
//! | [`Ista`] | any `LinearOperator` | two products per step (GEMM on blocks) | reference, monotone |
//! | [`Fista`] | any `LinearOperator` | two products per step (GEMM on blocks) | large or implicit operators |
//! | [`CoordinateDescent`] | `Dictionary` (Gram) | `O(m)` per changed coordinate | moderate `lambda` |
//! | [`Lars`] | `Dictionary` (Gram) | `O(m k)` per path event | sparse solutions, whole paths |
//!
//! ```
//! use pursuit::lasso::{Fista, Lars};
//! use pursuit::SparseCoder;
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(3);
//! let d = Dictionary::random_gaussian(32, 64, &mut rng)?;
//! let x = generate::sparseland_codes(64, 3, 8, 0.5, 1.0, &mut rng)?;
//! let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)?;
//! let a = Lars::new(0.05).code(&d, y.noisy.as_ref())?;
//! let b = Fista::new(0.05).tol(1e-10).solve(&d, y.noisy.as_ref())?;
//! assert!(a.max_duality_gap().unwrap() < 1e-6 && b.all_converged());
//! # Ok::<(), pursuit::Error>(())
//! ```
//!
//! ## Duality gap
//! With residual `r = y - D x`, the point `theta = s r`, `s = min(1, lambda / ||D^T r||_inf)`
//! is dual feasible (`||D^T theta||_inf <= lambda`; for the non-negative Lasso the constraint is
//! `max(D^T theta) <= lambda`), and
//! `gap = P(x) - (<theta, y> - 1/2 ||theta||^2) >= P(x) - P(x*) >= 0`.
//! Solvers stop when `gap <= tol * P(x)` and report `gap / P(x)`.

use std::fmt;
use std::sync::Arc;

use faer::{MatMut, MatRef};

use crate::error::{invalid, Result};
use sparse_core::check;

pub mod cd;
pub mod fista;
pub mod ista;
pub mod lars;

pub use cd::CoordinateDescent;
pub use fista::Fista;
pub use ista::Ista;
pub use lars::{Lars, LarsPath};

/// One progress report of an iterative solver: the objective of one signal after one iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Column of the batch.
    pub signal: usize,
    /// Iteration (proximal step or sweep) after which the objective was measured; 0 is the
    /// starting point.
    pub iteration: usize,
    /// The Lasso objective `1/2 ||y - D x||^2 + lambda ||x||_1` at that iterate.
    pub objective: f64,
}

/// A progress callback for the iterative Lasso solvers (no solver prints). It is called from
/// the worker threads, so it must be `Send + Sync`; with a parallel batch the calls of
/// different signals interleave, those of one signal arrive in order.
///
/// ```
/// use std::sync::{Arc, Mutex};
/// use pursuit::lasso::{Ista, Observer};
/// let log = Arc::new(Mutex::new(Vec::new()));
/// let sink = log.clone();
/// let ista = Ista::new(0.1).observer(Observer::new(move |p| sink.lock().unwrap().push(p)));
/// # let _ = ista;
/// ```
#[derive(Clone)]
pub struct Observer(Arc<dyn Fn(Progress) + Send + Sync>);

impl Observer {
    /// Wraps a callback.
    pub fn new(f: impl Fn(Progress) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Reports one progress event.
    pub fn report(&self, p: Progress) {
        (self.0)(p)
    }
}

impl fmt::Debug for Observer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Observer(..)")
    }
}

/// Primal value and relative duality gap of the (non-negative, if `nonneg`) Lasso at `x`.
///
/// `y` is the signal, `r = y - D x` the residual, `dtr = D^T r` the correlations, `lambda` the
/// penalty. Returns `(P(x), gap / P(x))`; the relative gap is 0 when `P(x) = 0`. For the
/// non-negative problem an `x` with a negative entry is infeasible and gets an infinite gap.
pub fn lasso_gap(
    y: &[f64],
    r: &[f64],
    dtr: &[f64],
    x: &[f64],
    lambda: f64,
    nonneg: bool,
) -> (f64, f64) {
    let r2: f64 = r.iter().map(|v| v * v).sum();
    let ry: f64 = r.iter().zip(y).map(|(a, b)| a * b).sum();
    gap_from_parts(r2, ry, dtr, x, lambda, nonneg)
}

/// [`lasso_gap`] from `||r||^2` and `<r, y>` instead of the vectors `r` and `y` (for solvers
/// that track them through the Gram matrix).
pub(crate) fn gap_from_parts(
    r2: f64,
    ry: f64,
    dtr: &[f64],
    x: &[f64],
    lambda: f64,
    nonneg: bool,
) -> (f64, f64) {
    let l1: f64 = x.iter().map(|v| v.abs()).sum();
    let primal = 0.5 * r2 + lambda * l1;
    if nonneg && x.iter().any(|&v| v < 0.0) {
        return (primal, f64::INFINITY);
    }
    let dual_norm = if nonneg {
        dtr.iter().fold(0.0f64, |m, &v| m.max(v))
    } else {
        dtr.iter().fold(0.0f64, |m, &v| m.max(v.abs()))
    };
    let s = if dual_norm > lambda {
        lambda / dual_norm
    } else {
        1.0
    };
    // D(theta) = <theta, y> - 1/2 ||theta||^2 with theta = s r.
    let dual = s * ry - 0.5 * s * s * r2;
    let gap = (primal - dual).max(0.0);
    let rel = if primal > 0.0 { gap / primal } else { 0.0 };
    (primal, rel)
}

/// The checks shared by every Lasso solver: `lambda >= 0`, `tol >= 0`, `max_iter >= 1`.
pub(crate) fn check_common(lambda: f64, tol: f64, max_iter: usize) -> Result<()> {
    check::non_negative("lambda", lambda)?;
    check::non_negative("tol", tol)?;
    check::count("max_iter", max_iter, usize::MAX)?;
    Ok(())
}

/// Checks an optional warm start against the expected `ncols x n_signals` shape.
pub(crate) fn check_warm(x0: MatRef<'_, f64>, n_atoms: usize, n_signals: usize) -> Result<()> {
    check::shape("x0", x0, n_atoms, n_signals)?;
    check::finite("x0", x0)?;
    Ok(())
}

/// `lambda_max = ||D^T y||_inf` (or `max(D^T y)` for the non-negative Lasso): the smallest
/// penalty for which `x = 0` solves the Lasso for the signal with correlations `dty`.
pub fn lambda_max(dty: &[f64], nonneg: bool) -> f64 {
    if nonneg {
        dty.iter().fold(0.0f64, |m, &v| m.max(v))
    } else {
        dty.iter().fold(0.0f64, |m, &v| m.max(v.abs()))
    }
}

/// Moves columns `keep[i]` to position `i` (with `keep` strictly increasing, so `keep[i] >= i`
/// and the move never overwrites a column still to be read).
pub(crate) fn compact_columns(mut m: MatMut<'_, f64>, keep: &[usize]) {
    for (i, &j) in keep.iter().enumerate() {
        debug_assert!(j >= i);
        if i != j {
            for r in 0..m.nrows() {
                let v = m[(r, j)];
                m[(r, i)] = v;
            }
        }
    }
}

/// `Err` unless the Lipschitz constant is finite and positive.
pub(crate) fn check_lipschitz(l: f64) -> Result<()> {
    if !(l.is_finite() && l > 0.0) {
        return Err(invalid(
            "lipschitz",
            l,
            "a finite number > 0 (the operator is zero or its norm is not finite)",
        ));
    }
    Ok(())
}

/// Exact diagnostics at a code `x` from the dictionary `d`, its Gram `g` and `dty = D^T y`:
/// `r = y - D x` and `D^T r = D^T y - G x` are formed over the support of `x` only
/// (`O((n + m) ||x||_0)`). Returns `(objective, relative gap, ||r||)`; `r` and `dtr` are
/// scratch of lengths `n` and `m`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn sparse_diagnostics(
    d: MatRef<'_, f64>,
    g: MatRef<'_, f64>,
    y: &[f64],
    dty: &[f64],
    x: &[f64],
    lambda: f64,
    nonneg: bool,
    r: &mut [f64],
    dtr: &mut [f64],
) -> (f64, f64, f64) {
    r.copy_from_slice(y);
    dtr.copy_from_slice(dty);
    for (i, &xi) in x.iter().enumerate() {
        if xi != 0.0 {
            let di = d.col(i);
            for (rv, dv) in r.iter_mut().zip(di.iter()) {
                *rv -= xi * dv;
            }
            let gi = g.col(i);
            for (cv, gv) in dtr.iter_mut().zip(gi.iter()) {
                *cv -= xi * gv;
            }
        }
    }
    let (obj, gap) = lasso_gap(y, r, dtr, x, lambda, nonneg);
    let rn = r.iter().map(|v| v * v).sum::<f64>().sqrt();
    (obj, gap, rn)
}
