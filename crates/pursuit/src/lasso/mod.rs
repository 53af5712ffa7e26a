//! The Lasso `min_x 1/2 ||y - D x||_2^2 + lambda ||x||_1` (Tibshirani 1996; basis pursuit
//! denoising, Chen, Donoho & Saunders 1998) and its non-negative variant (`x >= 0`, the problem
//! a ReLU layer solves).
//!
//! Four solvers, all stopping on the relative duality gap and reporting it:
//! ISTA and FISTA (Beck & Teboulle 2009, with O'Donoghue & Candès adaptive restart) on any
//! [`LinearOperator`](sparse_core::LinearOperator); cyclic coordinate descent with a precomputed
//! Gram (Friedman, Hastie & Tibshirani 2010) on working sets with Gap Safe screening
//! (Massias, Gramfort & Salmon 2018; Fercoq, Gramfort & Salmon 2015); and LARS-Lasso /
//! homotopy (Efron et al. 2004; Osborne, Presnell & Turlach 2000), which computes the whole
//! regularisation path.
//!
//! | solver | operator | work per signal | best for |
//! | --- | --- | --- | --- |
//! | [`Ista`] | any `LinearOperator` | two products per step (GEMM on blocks) | reference, monotone |
//! | [`Fista`] | any `LinearOperator` | two products per step (GEMM on blocks) | large or implicit operators |
//! | [`CoordinateDescent`] | `Dictionary` (Gram) | `O(|W|)` per changed coordinate (working set `W`) | moderate `lambda` |
//! | [`Lars`] | `Dictionary` (Gram) | `O(m k)` per path event | sparse solutions, whole paths |
//!
//! ```
//! use pursuit::{Solve, Summary};
//! use pursuit::lasso::{Fista, Lars};
//! use pursuit::SparseCoder;
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(3);
//! let d = Dictionary::random_gaussian(32, 64, &mut rng)?;
//! let x = generate::sparseland_codes(64, 3, 8, 0.5, 1.0, &mut rng)?;
//! let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)?;
//! let a = Lars::new(0.05).solve(&d, y.noisy.as_ref())?;
//! let b = Fista::new(0.05).gap_tol(1e-10).solve(&d, y.noisy.as_ref())?;
//! assert!(a.max_duality_gap().unwrap() < 1e-6 && b.all_converged());
//! # Ok::<(), pursuit::Error>(())
//! ```
//!
//! ## float32
//! Every solver also codes `f32` signals in `f32` on a dense [`Dictionary`](sparse_core::Dictionary)
//! (`Solve<Dictionary, f32>`, selected by the input type): the atoms (and the Gram) are
//! rounded to `f32` once per call, the iterations run in `f32`, and the diagnostics are
//! recomputed in `f64` against the exact dictionary, so `converged` certifies the `f32` code
//! as a solution of the `f64` problem to a relative gap `max(gap_tol, F32_GAP_FLOOR)`
//! ([`F32_GAP_FLOOR`] = `1e-4`, the resolution of an `f32` code).
//!
//! ```
//! use faer::Mat;
//! use pursuit::{Solve, Summary};
//! use pursuit::lasso::CoordinateDescent;
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(3);
//! let d = Dictionary::random_gaussian(32, 64, &mut rng)?;
//! let x = generate::sparseland_codes(64, 3, 8, 0.5, 1.0, &mut rng)?;
//! let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)?.noisy;
//! let y32 = Mat::<f32>::from_fn(32, 8, |i, j| y[(i, j)] as f32);
//! let sol = CoordinateDescent::new(0.05).solve(&d, y32.as_ref())?; // codes: Mat<f32>
//! assert!(sol.all_converged() && sol.max_duality_gap().unwrap() <= 1e-4);
//! # Ok::<(), pursuit::Error>(())
//! ```
//!
//! ## Duality gap
//! With residual `r = y - D x`, the point `theta = s r`, `s = min(1, lambda / ||D^T r||_inf)`
//! is dual feasible (`||D^T theta||_inf <= lambda`; for the non-negative Lasso the constraint is
//! `max(D^T theta) <= lambda`), and
//! `gap = P(x) - (<theta, y> - 1/2 ||theta||^2) >= P(x) - P(x*) >= 0`.
//! Solvers stop when `gap <= gap_tol * P(x)` and report `gap / P(x)`.

use std::fmt;
use std::sync::Arc;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::error::{invalid, Result};
use crate::result::Report;
use sparse_core::check;

pub mod cd;
pub mod fista;
pub mod ista;
pub mod lars;

pub use cd::CoordinateDescent;
pub use fista::Fista;
pub use ista::Ista;
pub use lars::{Lars, F32_GAP_FLOOR};

/// The regularisation path of one signal: the knots `(lambda_k, x_k)` where the active set
/// changes, from `lambda_0 = lambda_max` (`x_0 = 0`) down to the requested `lambda` (the last
/// knot). Between knots, `x(lambda)` is linear (see [`at`](Self::at)).
#[derive(Debug, Clone, PartialEq)]
pub struct LarsPath {
    /// Knot penalties, non-increasing.
    pub lambdas: Vec<f64>,
    /// Codes at the knots, one column per knot (`n_atoms x n_knots`).
    pub coefs: Mat<f64>,
    /// `||y - D x_k||_2` at each knot (exact, from the codes).
    pub residual_norms: Vec<f64>,
    /// Whether the path reached the requested `lambda` (see [`Lars`] for when it cannot).
    pub reached: bool,
}

impl LarsPath {
    /// Number of knots.
    pub fn len(&self) -> usize {
        self.lambdas.len()
    }

    /// Whether there are no knots (never, for a path returned by [`Lars::path`]).
    pub fn is_empty(&self) -> bool {
        self.lambdas.is_empty()
    }

    /// The code at penalty `lambda`, interpolated linearly between the knots around it
    /// (`x = 0` above `lambda_max`). `None` below the last knot or for a negative or NaN
    /// `lambda`.
    pub fn at(&self, lambda: f64) -> Option<Vec<f64>> {
        let last = *self.lambdas.last()?;
        if !(lambda >= 0.0 && lambda >= last) {
            return None;
        }
        let col = |k: usize| self.coefs.col(k).iter().copied().collect::<Vec<_>>();
        if lambda >= self.lambdas[0] {
            return Some(col(0));
        }
        let k = self.lambdas.windows(2).position(|w| w[1] <= lambda)?;
        let (l0, l1) = (self.lambdas[k], self.lambdas[k + 1]);
        if l0 == l1 {
            return Some(col(k + 1));
        }
        let t = (l0 - lambda) / (l0 - l1);
        let (a, b) = (self.coefs.col(k), self.coefs.col(k + 1));
        Some(
            a.iter()
                .zip(b.iter())
                .map(|(u, v)| (1.0 - t) * u + t * v)
                .collect(),
        )
    }
}

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
/// penalty. Returns `(P(x), gap / max(P(x), eps P(0)))` with `P(0) = 1/2 ||y||^2` and `eps`
/// the machine epsilon: the gap relative to the objective, or to the rounding level of the
/// signal's energy when the objective is below it (an exact fit at `lambda = 0`, where no dual
/// point certifies a tiny objective relatively); 0 when `P(x) = 0`. For the non-negative
/// problem an `x` with a negative entry is infeasible and gets an infinite gap.
pub fn lasso_gap(
    y: &[f64],
    r: &[f64],
    dtr: &[f64],
    x: &[f64],
    lambda: f64,
    nonneg: bool,
) -> (f64, f64) {
    lasso_gap_of(y, r, dtr, x, lambda, nonneg)
}

/// [`lasso_gap`] of `f32` or `f64` vectors, accumulated in `f64`.
pub(crate) fn lasso_gap_of<T: Copy + Into<f64>>(
    y: &[T],
    r: &[T],
    dtr: &[T],
    x: &[T],
    lambda: f64,
    nonneg: bool,
) -> (f64, f64) {
    let r2: f64 = r.iter().map(|&v| v.into() * v.into()).sum();
    let ry: f64 = r.iter().zip(y).map(|(&a, &b)| a.into() * b.into()).sum();
    let y2: f64 = y.iter().map(|&v| v.into() * v.into()).sum();
    gap_from_parts(r2, ry, y2, dtr, x, lambda, nonneg)
}

/// The Lasso dual objective `D(theta) = <theta, y> - 1/2 ||theta||^2` at the feasible dual
/// point `theta = s r`, `s = min(1, lambda / ||D^T r||_inf)` (the positive part's maximum for
/// the non-negative Lasso), from `||r||^2`, `<r, y>` and `D^T r`.
pub(crate) fn dual_from_parts<T: Copy + Into<f64>>(
    r2: f64,
    ry: f64,
    dtr: &[T],
    lambda: f64,
    nonneg: bool,
) -> f64 {
    let dual_norm = if nonneg {
        dtr.iter().fold(0.0f64, |m, &v| m.max(v.into()))
    } else {
        dtr.iter().fold(0.0f64, |m, &v| m.max(v.into().abs()))
    };
    let s = if dual_norm > lambda {
        lambda / dual_norm
    } else {
        1.0
    };
    s * ry - 0.5 * s * s * r2
}

/// [`lasso_gap`] from `||r||^2`, `<r, y>` and `||y||^2` instead of the vectors `r` and `y`
/// (for solvers that track them through the Gram matrix).
pub(crate) fn gap_from_parts<T: Copy + Into<f64>>(
    r2: f64,
    ry: f64,
    y2: f64,
    dtr: &[T],
    x: &[T],
    lambda: f64,
    nonneg: bool,
) -> (f64, f64) {
    let l1: f64 = x.iter().map(|&v| v.into().abs()).sum();
    let primal = 0.5 * r2 + lambda * l1;
    if nonneg && x.iter().any(|&v| v.into() < 0.0) {
        return (primal, f64::INFINITY);
    }
    let dual = dual_from_parts(r2, ry, dtr, lambda, nonneg);
    if !(primal.is_finite() && dual.is_finite()) {
        // A diverged or overflowed state: no certificate (never a gap of 0 from `NaN.max(0)`).
        return (primal, f64::NAN);
    }
    let gap = (primal - dual).max(0.0);
    let rel = if primal > 0.0 {
        gap / primal.max(f64::EPSILON * 0.5 * y2)
    } else {
        0.0
    };
    (primal, rel)
}

/// The checks shared by every Lasso solver: `lambda >= 0`, `gap_tol >= 0`, `max_iter >= 1`.
pub(crate) fn check_common(lambda: f64, gap_tol: f64, max_iter: usize) -> Result<()> {
    check::non_negative("lambda", lambda)?;
    check::non_negative("gap_tol", gap_tol)?;
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
pub(crate) fn compact_columns<T: Copy>(mut m: MatMut<'_, T>, keep: &[usize]) {
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

/// Columns `cols` of `x`, multiplied by `factor` (a warm start for a rescaled group of signals,
/// see [`sparse_core::solve::by_magnitude`]).
pub(crate) fn select_columns(x: MatRef<'_, f64>, cols: &[usize], factor: f64) -> Mat<f64> {
    Mat::from_fn(x.nrows(), cols.len(), |i, c| x[(i, cols[c])] * factor)
}

/// An observer for a rescaled group of signals (see [`sparse_core::solve::by_magnitude`]):
/// reports signal `cols[j]` of the whole batch for the group's signal `j`, with the objective
/// of the signal as given (`s^2` times the group's).
pub(crate) fn rescaled_observer(o: &Observer, cols: &[usize], s: f64) -> Observer {
    let (inner, cols) = (o.clone(), cols.to_vec());
    Observer::new(move |p| {
        inner.report(Progress {
            signal: cols[p.signal],
            objective: p.objective * s * s,
            ..p
        })
    })
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
    sparse_residual(d, g, y, dty, x, r, dtr);
    let (obj, gap) = lasso_gap(y, r, dtr, x, lambda, nonneg);
    let rn = r.iter().map(|v| v * v).sum::<f64>().sqrt();
    (obj, gap, rn)
}

/// `r = y - D x` and `dtr = D^T r = D^T y - G x`, formed over the support of `x` only
/// (`O((n + m) ||x||_0)`). Each entry subtracts `x_i * col_i` in the order of the support, one
/// rounding per product and per difference, on either build (the AVX2 one only vectorises).
pub(crate) fn sparse_residual(
    d: MatRef<'_, f64>,
    g: MatRef<'_, f64>,
    y: &[f64],
    dty: &[f64],
    x: &[f64],
    r: &mut [f64],
    dtr: &mut [f64],
) {
    thread_local! {
        /// The support list of the last call on this thread, kept so that the certificates of
        /// a batch allocate it once per thread, not once per signal.
        static SUPPORT: std::cell::RefCell<Vec<(usize, f64)>> = const {
            std::cell::RefCell::new(Vec::new())
        };
    }
    SUPPORT.with_borrow_mut(|support| {
        support.clear();
        support.extend(
            x.iter()
                .enumerate()
                .filter(|&(_, &v)| v != 0.0)
                .map(|(i, &v)| (i, v)),
        );
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = sparse_core::simd::Avx2Fma::detect() {
            // SAFETY: the token proves that the CPU supports AVX2 and FMA.
            unsafe {
                subtract_columns_avx2(token, r, y, d, support);
                subtract_columns_avx2(token, dtr, dty, g, support);
            }
            return;
        }
        subtract_columns(r, y, d, support);
        subtract_columns(dtr, dty, g, support);
    });
}

/// [`subtract_columns`] compiled for AVX2 (no FMA contraction: the same values).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn subtract_columns_avx2(
    _: sparse_core::simd::Avx2Fma,
    out: &mut [f64],
    base: &[f64],
    mat: MatRef<'_, f64>,
    support: &[(usize, f64)],
) {
    subtract_columns(out, base, mat, support)
}

/// `out = base - sum_(i, x_i) x_i mat[:, i]`, the sum in the order of `support`: blocks of
/// rows held across the columns when `mat` has unit row stride.
#[inline(always)]
fn subtract_columns(out: &mut [f64], base: &[f64], mat: MatRef<'_, f64>, support: &[(usize, f64)]) {
    const B: usize = 32;
    out.copy_from_slice(base);
    if mat.row_stride() != 1 || mat.nrows() != out.len() {
        for &(i, xi) in support {
            for (o, v) in out.iter_mut().zip(mat.col(i).iter()) {
                *o -= xi * v;
            }
        }
        return;
    }
    let col = |i: usize| {
        mat.col(i)
            .try_as_col_major()
            .expect("unit row stride")
            .as_slice()
    };
    let full = out.len() / B * B;
    for i0 in (0..full).step_by(B) {
        let mut acc = [0.0f64; B];
        acc.copy_from_slice(&out[i0..i0 + B]);
        for &(i, xi) in support {
            for (a, &v) in acc.iter_mut().zip(&col(i)[i0..i0 + B]) {
                *a -= xi * v;
            }
        }
        out[i0..i0 + B].copy_from_slice(&acc);
    }
    for &(i, xi) in support {
        for (o, &v) in out[full..].iter_mut().zip(&col(i)[full..]) {
            *o -= xi * v;
        }
    }
}

/// `G = D^T D` and `D^T Y` (two GEMMs).
pub(crate) fn gram_and_correlations(
    d: &sparse_core::Dictionary,
    y: MatRef<'_, f64>,
    par: Par,
) -> (Mat<f64>, Mat<f64>) {
    let g = d.gram_par(par);
    let mut dty = Mat::<f64>::zeros(d.n_atoms(), y.ncols());
    matmul(
        dty.as_mut(),
        Accum::Replace,
        d.matrix().transpose(),
        y,
        1.0,
        par,
    );
    (g, dty)
}

/// Splits a batch of `b` signals with codes of length `m` into blocks of at most `block_size`
/// columns (fewer when that leaves threads idle) and runs `block(first, codes, reports, par)`
/// on each: blocks in parallel with sequential products when there are several, else one block
/// with the parallelism `par` inside its products.
pub(crate) fn run_blocks<T: faer::traits::ComplexField, F>(
    par: Par,
    block_size: usize,
    m: usize,
    b: usize,
    block: F,
) -> (Mat<T>, Vec<Report>)
where
    F: Fn(usize, MatMut<'_, T>, &mut [Report], Par) + Sync + Send,
{
    let mut codes = Mat::<T>::zeros(m, b);
    let reports = sparse_core::batch::for_each_block(
        codes.as_mut(),
        block_size,
        par,
        || (),
        |_, first, xc, rc, inner| block(first, xc, rc, inner),
    );
    (codes, reports)
}

/// Copies `x` into column `j` of `out`.
pub(crate) fn store_column<T: Copy>(mut out: MatMut<'_, T>, j: usize, x: &[T]) {
    out.as_mut()
        .col_mut(j)
        .iter_mut()
        .zip(x)
        .for_each(|(o, v)| *o = *v);
}

/// The signals of a block that are still iterating (block solvers drop converged signals so
/// that the products shrink): their columns in the block, one scalar of state each (FISTA's
/// momentum `t`, ADMM's penalty `rho`), and the width `w` of the working matrices.
pub(crate) struct WorkingSet {
    /// Column of the block of each working column.
    pub idx: Vec<usize>,
    /// Per-signal scalar state.
    pub val: Vec<f64>,
    /// Working columns to keep at the next [`compact`](Self::compact).
    pub keep: Vec<usize>,
    /// Number of working columns.
    pub w: usize,
}

impl WorkingSet {
    /// All `val.len()` signals of a block, with their initial state.
    pub fn new(val: Vec<f64>) -> Self {
        let w = val.len();
        Self {
            idx: (0..w).collect(),
            val,
            keep: Vec::with_capacity(w),
            w,
        }
    }

    /// Stores `x` and `report` as the result of working column `j`.
    pub fn finish<T: Copy>(
        &self,
        j: usize,
        x: &[T],
        report: Report,
        out: MatMut<'_, T>,
        reports: &mut [Report],
    ) {
        store_column(out, self.idx[j], x);
        reports[self.idx[j]] = report;
    }

    /// Keeps only the working columns listed in `keep`, in `mats` and in the set; returns
    /// false when none is left.
    pub fn compact<T: Copy>(&mut self, mats: &mut [&mut Mat<T>]) -> bool {
        if self.keep.len() < self.w {
            for mat in mats.iter_mut() {
                compact_columns(mat.as_mut(), &self.keep);
            }
            for (i, &j) in self.keep.iter().enumerate() {
                (self.val[i], self.idx[i]) = (self.val[j], self.idx[j]);
            }
            self.w = self.keep.len();
        }
        self.w > 0
    }
}

/// The first `w` columns of `m`.
pub(crate) fn head(m: &Mat<f64>, w: usize) -> MatRef<'_, f64> {
    m.as_ref().subcols(0, w)
}

/// The first `w` columns of `m`, mutably.
pub(crate) fn headm(m: &mut Mat<f64>, w: usize) -> MatMut<'_, f64> {
    m.as_mut().subcols_mut(0, w)
}

/// `dst = alpha lhs rhs` (`add = false`) or `dst += alpha lhs rhs` (`add = true`).
pub(crate) fn gemm(
    dst: MatMut<'_, f64>,
    add: bool,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
    par: Par,
) {
    let accum = if add { Accum::Add } else { Accum::Replace };
    matmul(dst, accum, lhs, rhs, alpha, par);
}
