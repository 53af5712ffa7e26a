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
use sparse_core::shrink::soft;
use sparse_core::{check, Dictionary};

use crate::error::{invalid, Error, Result};
use crate::lasso::lars::bpdn_homotopy;
use crate::lasso::{gemm, head, headm, run_blocks, WorkingSet};
use crate::result::{assemble, Report, Solution};
use crate::Solve;

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

    /// Residual balancing: returns the factor `rho` was multiplied by (the scaled duals are
    /// divided by it).
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
}

/// The builder setters of a solver holding its ADMM parameters in a field `admm`.
macro_rules! admm_setters {
    () => {
        /// Sets all ADMM parameters.
        pub fn admm(mut self, admm: Admm) -> Self {
            self.admm = admm;
            self
        }
        /// Sets the initial (relative) penalty `rho`.
        pub fn rho(mut self, rho: f64) -> Self {
            self.admm.rho = rho;
            self
        }
        /// Sets the over-relaxation `alpha`.
        pub fn alpha(mut self, alpha: f64) -> Self {
            self.admm.alpha = alpha;
            self
        }
        /// Sets the absolute tolerance of the residual tests.
        pub fn abs_residual_tol(mut self, abs_residual_tol: f64) -> Self {
            self.admm.abs_residual_tol = abs_residual_tol;
            self
        }

        /// Sets the relative tolerance of the residual tests.
        pub fn rel_residual_tol(mut self, rel_residual_tol: f64) -> Self {
            self.admm.rel_residual_tol = rel_residual_tol;
            self
        }
        /// Sets `max_iter`.
        pub fn max_iter(mut self, max_iter: usize) -> Self {
            self.admm.max_iter = max_iter;
            self
        }
        /// Sets `par`.
        pub fn par(mut self, par: Par) -> Self {
            self.admm.par = par;
            self
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

/// Basis Pursuit `min ||x||_1 s.t. D x = y` by ADMM (Boyd et al. 2011, section 6.2), for a
/// dictionary with full row rank (`n <= m`):
///
/// `x <- P(z - u)`, `z <- soft(alpha x + (1 - alpha) z + u, 1/rho)`,
/// `u <- u + alpha x + (1 - alpha) z_old - z`,
///
/// where `P(v) = v - D^T (D D^T)^{-1} (D v - y)` is the projection onto `{D x = y}`, factored
/// once (Cholesky of `D D^T`) and applied to a block of signals with two GEMMs. The returned
/// code is the projected iterate `x`, so `D x = y` holds to rounding; its small entries off the
/// support shrink with the tolerances. Parameters: see [`Admm`].
///
/// ```
/// use pursuit::Solve;
/// use pursuit::admm::BasisPursuit;
/// use sparse_core::{generate, Dictionary, Noise};
/// let mut rng = generate::rng(2);
/// let d = Dictionary::identity_dct(16)?;
/// let x = generate::sparseland_codes(32, 2, 4, 0.5, 1.0, &mut rng)?;
/// let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng)?;
/// let res = BasisPursuit::new().solve(&d, y.clean.as_ref())?;
/// assert!(res.residual_norms().iter().all(|&r| r < 1e-10));
/// # Ok::<(), pursuit::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BasisPursuit {
    /// ADMM parameters.
    pub admm: Admm,
}

impl Default for BasisPursuit {
    fn default() -> Self {
        Self {
            admm: Admm {
                alpha: 1.0,
                ..Admm::default()
            },
        }
    }
}

impl BasisPursuit {
    /// Basis Pursuit with the default [`Admm`] parameters, except `alpha = 1` (over-relaxation
    /// does not pay off for the exact projection step).
    pub fn new() -> Self {
        Self::default()
    }
    admm_setters!();

    /// Solves Basis Pursuit for every column of `y` (`d.signal_len() x n_signals`).
    /// Errors when `D` does not have full row rank (`D D^T` not positive definite).
    fn run(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        let a = &self.admm;
        a.validate()?;
        check::batch("y", y, d.signal_len())?;
        let q = pinv_t(d.matrix(), a.par).ok_or_else(|| {
            Error::Core(sparse_core::Error::LinearAlgebra {
                context: "Basis Pursuit projection (Cholesky of D D^T)",
                message: "D D^T is not positive definite: D needs full row rank (n <= m)".into(),
            })
        })?;
        let (codes, reports) = run_blocks(
            a.par,
            a.block_size,
            d.n_atoms(),
            y.ncols(),
            |first, out, rep, par| {
                let w = out.ncols();
                bp_block(
                    a,
                    d.matrix(),
                    q.as_ref(),
                    y.subcols(first, w),
                    out,
                    rep,
                    par,
                )
            },
        );
        let mut codes = codes;
        let mut reports = reports;
        polish_supports(d, y, &mut codes, &mut reports);
        Ok(assemble(codes, &reports, false))
    }
}

/// Replaces each ADMM solution of Basis Pursuit by the least-squares solution on its support
/// (entries above `1e-6 max|x|`) when that is feasible to round-off and no larger in l1 norm.
/// ADMM's projected iterate is feasible but carries round-off-sized entries off the support;
/// when the support is identified, the BP minimiser *is* `D_S^+ y`, so this returns it exactly.
fn polish_supports(
    d: &Dictionary,
    y: MatRef<'_, f64>,
    codes: &mut Mat<f64>,
    reports: &mut [Report],
) {
    use faer::linalg::solvers::SolveLstsq;
    use rayon::prelude::*;
    let dm = d.matrix();
    let n = d.signal_len();
    /// A polished code: support, coefficients on it, residual norm.
    type Polished = Option<(Vec<usize>, Vec<f64>, f64)>;
    let polished: Vec<Polished> = (0..codes.ncols())
        .into_par_iter()
        .map(|j| {
            let x = codes.col_as_slice(j);
            let big = x.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let support: Vec<usize> = (0..x.len()).filter(|&i| x[i].abs() > 1e-6 * big).collect();
            if support.is_empty() || support.len() > n {
                return None;
            }
            let ds = Mat::<f64>::from_fn(n, support.len(), |r, c| dm[(r, support[c])]);
            let c = ds.qr().solve_lstsq(y.subcols(j, 1).to_owned());
            let r = (y.subcols(j, 1) - &ds * &c).norm_l2();
            let l1_new: f64 = (0..support.len()).map(|k| c[(k, 0)].abs()).sum();
            let l1_old: f64 = x.iter().map(|v| v.abs()).sum();
            let ynorm = y.col(j).norm_l2();
            let feasible = r <= (1e-12 * ynorm).max(reports[j].residual_norm);
            (feasible && l1_new <= l1_old * (1.0 + 1e-9))
                .then(|| (support, (0..c.nrows()).map(|k| c[(k, 0)]).collect(), r))
        })
        .collect();
    for (j, p) in polished.into_iter().enumerate() {
        if let Some((support, coef, r)) = p {
            let col = codes.col_as_slice_mut(j);
            col.fill(0.0);
            for (&i, &c) in support.iter().zip(&coef) {
                col[i] = c;
            }
            reports[j].objective = coef.iter().map(|v| v.abs()).sum();
            reports[j].residual_norm = r;
        }
    }
}

impl Solve<Dictionary> for BasisPursuit {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        self.run(d, y)
    }
}

/// ADMM for Basis Pursuit on one block.
fn bp_block(
    a: &Admm,
    d: MatRef<'_, f64>,
    q: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    mut out: MatMut<'_, f64>,
    reports: &mut [Report],
    par: Par,
) {
    let (n, m, w0) = (d.nrows(), d.ncols(), y.ncols());
    let mut yb = y.to_owned();
    let (mut x, mut z, mut u) = (Mat::zeros(m, w0), Mat::zeros(m, w0), Mat::zeros(m, w0));
    let mut t = Mat::<f64>::zeros(n, w0);
    let mut ws = WorkingSet::new(initial_rho(a, d, y, par));
    let sqm = (m as f64).sqrt();
    for k in 1..=a.max_iter {
        // x = P(v) = v + Q^T (y - D v) with v = z - u.
        let w = ws.w;
        for j in 0..w {
            let (xj, zj, uj) = (x.col_as_slice_mut(j), z.col_as_slice(j), u.col_as_slice(j));
            xj.iter_mut()
                .zip(zj.iter().zip(uj))
                .for_each(|(x, (z, u))| *x = z - u);
        }
        headm(&mut t, w).copy_from(head(&yb, w));
        gemm(headm(&mut t, w), true, d, head(&x, w), -1.0, par);
        gemm(headm(&mut x, w), true, q.transpose(), head(&t, w), 1.0, par);
        let check = k % a.check_every == 0 || k == a.max_iter;
        ws.keep.clear();
        for j in 0..w {
            let (xj, zj, uj) = (
                x.col_as_slice(j),
                z.col_as_slice_mut(j),
                u.col_as_slice_mut(j),
            );
            let thr = 1.0 / ws.val[j];
            let (mut r2, mut s2, mut z2) = (0.0, 0.0, 0.0);
            for i in 0..m {
                let xh = a.alpha * xj[i] + (1.0 - a.alpha) * zj[i];
                let zn = soft(xh + uj[i], thr);
                uj[i] += xh - zn;
                s2 += (zn - zj[i]) * (zn - zj[i]);
                r2 += (xj[i] - zn) * (xj[i] - zn);
                z2 += zn * zn;
                zj[i] = zn;
            }
            if !check {
                continue;
            }
            let (r, s) = (r2.sqrt(), ws.val[j] * s2.sqrt());
            let eps_pri = sqm * a.abs_residual_tol + a.rel_residual_tol * norm(xj).max(z2.sqrt());
            let eps_dual = sqm * a.abs_residual_tol + a.rel_residual_tol * ws.val[j] * norm(uj);
            let converged = r <= eps_pri && s <= eps_dual;
            if converged || k == a.max_iter {
                let rep = Report {
                    iterations: k,
                    converged,
                    ..Report::default()
                };
                ws.finish(j, xj, rep, out.as_mut(), reports);
                continue;
            }
            ws.keep.push(j);
            if k % (2 * a.check_every.max(5)) == 0 && k <= ADAPT_UNTIL {
                let f = a.balance(&mut ws.val[j], r, s);
                uj.iter_mut().for_each(|v| *v /= f);
            }
        }
        if check && !ws.compact(&mut [&mut yb, &mut z, &mut u]) {
            break;
        }
    }
    fill_reports(d, out.as_ref(), y, reports, par);
}

/// How [`Bpdn`] solves its problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BpdnMethod {
    /// ADMM with the splitting `u = D x`, `z = x`.
    #[default]
    Admm,
    /// The Lasso homotopy (LARS-Lasso path) stopped where `||y - D x(lambda)|| = eps`: exact
    /// and fast for sparse solutions; the code is exactly sparse.
    Homotopy,
}

/// Basis Pursuit denoising in constraint form, `min ||x||_1 s.t. ||D x - y||_2 <= eps`.
///
/// **ADMM** (Boyd et al. 2011) on `min ||z||_1 + I(||u - y|| <= eps)` s.t. `u = D x`, `z = x`:
/// the `x`-update solves `(D^T D + I) x = D^T (u - w1) + z - w2` by the Woodbury identity with a
/// Cholesky factor of `I + D D^T` (`n x n`, factored once; `D x` comes for free as
/// `(I + D D^T)^{-1} D b`), the `u`-update projects onto the ball of radius `eps` around `y`,
/// the `z`-update soft-thresholds. The returned `x` is finally moved along `D^+` onto the
/// constraint set when it is still outside (by at most the primal residual), so
/// `||D x - y|| <= eps` holds to rounding whenever `D` has full row rank.
///
/// **Homotopy** ([`BpdnMethod::Homotopy`]): for `eps < ||y||` the BPDN solution is the Lasso
/// solution at the `lambda` where `||y - D x(lambda)|| = eps`; the LARS path is followed until
/// the residual norm, a quadratic in `lambda` on each segment, reaches `eps`, and the quadratic
/// is solved on that segment (Osborne, Presnell & Turlach 2000; Efron et al. 2004).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `eps` | (required) | noise level `eps >= 0` |
/// | `method` | `Admm` | [`BpdnMethod`] |
/// | `admm` | [`Admm::default()`] | ADMM parameters (`par` and `max_iter` also drive homotopy) |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bpdn {
    /// Constraint radius `eps >= 0`.
    pub eps: f64,
    /// Solution method.
    pub method: BpdnMethod,
    /// ADMM parameters; `par` and `max_iter` (path events) also apply to the homotopy.
    pub admm: Admm,
}

impl Bpdn {
    /// BPDN with radius `eps`, solved by ADMM with the default parameters.
    pub fn new(eps: f64) -> Self {
        Self {
            eps,
            method: BpdnMethod::Admm,
            admm: Admm::default(),
        }
    }
    /// Sets the method.
    pub fn method(mut self, method: BpdnMethod) -> Self {
        self.method = method;
        self
    }
    /// Solve by the Lasso homotopy.
    pub fn homotopy(self) -> Self {
        self.method(BpdnMethod::Homotopy)
    }
    admm_setters!();

    /// Solves BPDN for every column of `y` (`d.signal_len() x n_signals`).
    fn run(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check::non_negative("eps", self.eps)?;
        self.admm.validate()?;
        check::batch("y", y, d.signal_len())?;
        match self.method {
            BpdnMethod::Admm => self.solve_admm(d, y),
            BpdnMethod::Homotopy => self.solve_homotopy(d, y),
        }
    }

    fn solve_homotopy(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        let a = &self.admm;
        Ok(bpdn_homotopy(d, y, self.eps, a.max_iter, a.par))
    }

    fn solve_admm(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        let a = &self.admm;
        let dm = d.matrix();
        let n = d.signal_len();
        let mut ddt = Mat::<f64>::zeros(n, n);
        matmul(ddt.as_mut(), Accum::Replace, dm, dm.transpose(), 1.0, a.par);
        let kmat = Mat::<f64>::from_fn(n, n, |i, j| ddt[(i, j)] + if i == j { 1.0 } else { 0.0 });
        let llt = kmat.llt(Side::Lower).map_err(|e| {
            Error::Core(sparse_core::Error::LinearAlgebra {
                context: "BPDN x-update (Cholesky of I + D D^T)",
                message: format!("{e:?}"),
            })
        })?;
        let mut kinv = Mat::<f64>::identity(n, n);
        llt.solve_in_place(kinv.as_mut());
        let q = pinv_t(dm, a.par);
        let mats = BpdnMats {
            d: dm,
            ddt: ddt.as_ref(),
            kinv: kinv.as_ref(),
            q: q.as_ref().map(|q| q.as_ref()),
        };
        let (codes, reports) = run_blocks(
            a.par,
            a.block_size,
            d.n_atoms(),
            y.ncols(),
            |first, out, rep, par| {
                let w = out.ncols();
                self.admm_block(&mats, y.subcols(first, w), out, rep, par)
            },
        );
        Ok(assemble(codes, &reports, false))
    }

    /// ADMM for BPDN on one block.
    fn admm_block(
        &self,
        mt: &BpdnMats<'_>,
        y: MatRef<'_, f64>,
        mut out: MatMut<'_, f64>,
        reports: &mut [Report],
        par: Par,
    ) {
        let (a, d, eps) = (&self.admm, mt.d, self.eps);
        let (n, m, w0) = (d.nrows(), d.ncols(), y.ncols());
        let mut yb = y.to_owned();
        let mn = || Mat::<f64>::zeros(m, w0);
        let nn = || Mat::<f64>::zeros(n, w0);
        let (mut x, mut z, mut w2, mut zold, mut tm) = (mn(), mn(), mn(), mn(), mn());
        let (mut u, mut w1, mut p, mut db, mut dx, mut uold) = (nn(), nn(), nn(), nn(), nn(), nn());
        let mut ws = WorkingSet::new(initial_rho(a, d, y, par));
        let (sqm, sqp) = ((m as f64).sqrt(), ((n + m) as f64).sqrt());
        let sub = |a: &[f64], b: &[f64], o: &mut [f64]| {
            (o.iter_mut().zip(a.iter().zip(b))).for_each(|(o, (a, b))| *o = a - b)
        };
        for k in 1..=a.max_iter {
            let w = ws.w;
            // p = u - w1, x <- q = z - w2, Db = D D^T p + D q, D x = K^{-1} Db,
            // x = D^T (p - D x) + q.
            for j in 0..w {
                sub(u.col_as_slice(j), w1.col_as_slice(j), p.col_as_slice_mut(j));
                sub(z.col_as_slice(j), w2.col_as_slice(j), x.col_as_slice_mut(j));
            }
            gemm(headm(&mut db, w), false, mt.ddt, head(&p, w), 1.0, par);
            gemm(headm(&mut db, w), true, d, head(&x, w), 1.0, par);
            gemm(headm(&mut dx, w), false, mt.kinv, head(&db, w), 1.0, par);
            for j in 0..w {
                let dxj = dx.col_as_slice(j);
                p.col_as_slice_mut(j)
                    .iter_mut()
                    .zip(dxj)
                    .for_each(|(a, b)| *a -= b);
            }
            gemm(headm(&mut x, w), true, d.transpose(), head(&p, w), 1.0, par);
            let check = k % a.check_every == 0 || k == a.max_iter;
            if check {
                headm(&mut uold, w).copy_from(head(&u, w));
                headm(&mut zold, w).copy_from(head(&z, w));
            }
            for j in 0..w {
                let (xj, dxj, yj) = (x.col_as_slice(j), dx.col_as_slice(j), yb.col_as_slice(j));
                let (uj, w1j) = (u.col_as_slice_mut(j), w1.col_as_slice_mut(j));
                // v = alpha D x + (1 - alpha) u + w1 - y; u = y + P_ball(v);
                // w1 + uh - u = v + y - u = v - P_ball(v).
                let mut nv = 0.0;
                for i in 0..n {
                    let uh = a.alpha * dxj[i] + (1.0 - a.alpha) * uj[i];
                    w1j[i] += uh - yj[i];
                    nv += w1j[i] * w1j[i];
                }
                let scale = if nv.sqrt() > eps {
                    eps / nv.sqrt()
                } else {
                    1.0
                };
                for i in 0..n {
                    uj[i] = yj[i] + scale * w1j[i];
                    w1j[i] *= 1.0 - scale;
                }
                let (zj, w2j) = (z.col_as_slice_mut(j), w2.col_as_slice_mut(j));
                let thr = 1.0 / ws.val[j];
                for i in 0..m {
                    let xh = a.alpha * xj[i] + (1.0 - a.alpha) * zj[i];
                    let zn = soft(xh + w2j[i], thr);
                    w2j[i] += xh - zn;
                    zj[i] = zn;
                }
            }
            if !check {
                continue;
            }
            // Dual residual rho (D^T du + dz) (into zold) and the dual scale ||D^T w1 + w2||.
            for j in 0..w {
                let uoj = uold.col_as_slice_mut(j);
                uoj.iter_mut()
                    .zip(u.col_as_slice(j))
                    .for_each(|(o, v)| *o = v - *o);
                let zoj = zold.col_as_slice_mut(j);
                zoj.iter_mut()
                    .zip(z.col_as_slice(j))
                    .for_each(|(o, v)| *o = v - *o);
                tm.col_as_slice_mut(j).copy_from_slice(w2.col_as_slice(j));
            }
            gemm(
                headm(&mut zold, w),
                true,
                d.transpose(),
                head(&uold, w),
                1.0,
                par,
            );
            gemm(
                headm(&mut tm, w),
                true,
                d.transpose(),
                head(&w1, w),
                1.0,
                par,
            );
            ws.keep.clear();
            for j in 0..w {
                let (xj, zj) = (x.col_as_slice(j), z.col_as_slice(j));
                let (dxj, uj) = (dx.col_as_slice(j), u.col_as_slice(j));
                let dist2 = |a: &[f64], b: &[f64]| -> f64 {
                    a.iter().zip(b).map(|(a, b)| (a - b) * (a - b)).sum()
                };
                let r = (dist2(xj, zj) + dist2(dxj, uj)).sqrt();
                let s = ws.val[j] * norm(zold.col_as_slice(j));
                let ax = norm(xj).hypot(norm(dxj));
                let bz = norm(zj).hypot(norm(uj));
                let eps_pri = sqp * a.abs_residual_tol + a.rel_residual_tol * ax.max(bz);
                let eps_dual = sqm * a.abs_residual_tol
                    + a.rel_residual_tol * ws.val[j] * norm(tm.col_as_slice(j));
                let converged = r <= eps_pri && s <= eps_dual;
                if converged || k == a.max_iter {
                    let rep = Report {
                        iterations: k,
                        converged,
                        ..Report::default()
                    };
                    ws.finish(j, xj, rep, out.as_mut(), reports);
                    continue;
                }
                ws.keep.push(j);
                if k % (2 * a.check_every.max(5)) == 0 && k <= ADAPT_UNTIL {
                    let f = a.balance(&mut ws.val[j], r, s);
                    w1.col_as_slice_mut(j).iter_mut().for_each(|v| *v /= f);
                    w2.col_as_slice_mut(j).iter_mut().for_each(|v| *v /= f);
                }
            }
            if !ws.compact(&mut [&mut yb, &mut z, &mut w2, &mut u, &mut w1]) {
                break;
            }
        }
        self.finish_block(mt, y, out, reports, par);
    }

    /// Moves codes still outside `{||D x - y|| <= eps}` onto it along `D^+` and fills the
    /// objective and residual norm of the reports.
    fn finish_block(
        &self,
        mt: &BpdnMats<'_>,
        y: MatRef<'_, f64>,
        mut out: MatMut<'_, f64>,
        reports: &mut [Report],
        par: Par,
    ) {
        let d = mt.d;
        if let Some(q) = mt.q {
            let mut e = y.to_owned();
            gemm(e.as_mut(), true, d, out.as_ref(), -1.0, par);
            for j in 0..e.ncols() {
                let ne = norm(e.col_as_slice(j));
                let t = if ne > self.eps {
                    1.0 - self.eps / ne
                } else {
                    0.0
                };
                e.col_as_slice_mut(j).iter_mut().for_each(|v| *v *= t);
            }
            // x <- x + t D^+ (y - D x).
            gemm(out.as_mut(), true, q.transpose(), e.as_ref(), 1.0, par);
        }
        fill_reports(d, out.as_ref(), y, reports, par);
    }
}

/// The matrices of the BPDN ADMM, shared by all blocks.
struct BpdnMats<'a> {
    d: MatRef<'a, f64>,
    ddt: MatRef<'a, f64>,
    /// `(I + D D^T)^{-1}`.
    kinv: MatRef<'a, f64>,
    /// `(D D^T)^{-1} D`, when `D` has full row rank.
    q: Option<MatRef<'a, f64>>,
}

impl Solve<Dictionary> for Bpdn {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        self.run(d, y)
    }
}
