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
//! ## Duality gap
//! With residual `r = y - D x`, the point `theta = s r`, `s = min(1, lambda / ||D^T r||_inf)`
//! is dual feasible (`||D^T theta||_inf <= lambda`; for the non-negative Lasso the constraint is
//! `max(D^T theta) <= lambda`), and
//! `gap = P(x) - (<theta, y> - 1/2 ||theta||^2) >= P(x) - P(x*) >= 0`.
//! Solvers stop when `gap <= tol * P(x)` and report `gap / P(x)`.

pub mod cd;
pub mod fista;
pub mod ista;
pub mod lars;

// Re-exports enabled as the solvers land:
// pub use cd::CoordinateDescent;
// pub use fista::Fista;
// pub use ista::Ista;
// pub use lars::{Lars, LarsPath};

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
    let ry: f64 = r.iter().zip(y).map(|(a, b)| a * b).sum();
    let dual = s * ry - 0.5 * s * s * r2;
    let gap = (primal - dual).max(0.0);
    let rel = if primal > 0.0 { gap / primal } else { 0.0 };
    (primal, rel)
}
