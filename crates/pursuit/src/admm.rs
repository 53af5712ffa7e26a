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
//! `||r|| <= sqrt(p) tol_abs + tol_rel max(...)`, `||s|| <= sqrt(m) tol_abs + tol_rel ||A^T y||`.
//!
//! The duality gap is not reported (`duality_gap: None`); `objective` is `||x||_1` and
//! `residual_norm` is `||y - D x||_2` of the returned code.
// Index loops over several parallel arrays read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use rayon::prelude::*;
use sparse_core::shrink::soft;
use sparse_core::{check, Dictionary};

use crate::batch::{column, map_columns};
use crate::error::{invalid, Error, Result};
use crate::lasso::compact_columns;
use crate::lasso::lars::{gram_and_correlations, LarsScratch, Target};
use crate::result::{CodingResult, Report};
use crate::SparseCoder;

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
/// | `tol_abs` | `1e-9` | absolute tolerance of the residual tests |
/// | `tol_rel` | `1e-7` | relative tolerance of the residual tests |
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
    pub tol_abs: f64,
    /// Relative tolerance.
    pub tol_rel: f64,
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
            tol_abs: 1e-9,
            tol_rel: 1e-7,
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
        check::non_negative("tol_abs", self.tol_abs)?;
        check::non_negative("tol_rel", self.tol_rel)?;
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

    /// Splits the batch into blocks and runs `block(first, codes, reports, par)` on each, in
    /// parallel when there are several.
    fn run_blocks<F>(&self, m: usize, b: usize, block: F) -> (Mat<f64>, Vec<Report>)
    where
        F: Fn(usize, MatMut<'_, f64>, &mut [Report], Par) + Sync,
    {
        let degree = self.par.degree().max(1);
        let bs = self.block_size.min(b.div_ceil(degree)).max(1);
        let mut codes = Mat::<f64>::zeros(m, b);
        let mut reports = vec![Report::default(); b];
        if degree > 1 && b > bs {
            codes
                .as_mut()
                .par_col_chunks_mut(bs)
                .zip(reports.par_chunks_mut(bs))
                .enumerate()
                .for_each(|(i, (xc, rc))| block(i * bs, xc, rc, Par::Seq));
        } else {
            let mut rest = codes.as_mut();
            for (i, rc) in reports.chunks_mut(bs).enumerate() {
                let (xc, tail) = rest.split_at_col_mut(rc.len());
                block(i * bs, xc, rc, self.par);
                rest = tail;
            }
        }
        (codes, reports)
    }
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

/// Column norms of `D X - Y` for a block.
fn residual_norms(
    d: MatRef<'_, f64>,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    par: Par,
) -> Vec<f64> {
    let mut e = y.to_owned();
    matmul(e.as_mut(), Accum::Add, d, x, -1.0, par);
    (0..e.ncols()).map(|j| norm(e.col_as_slice(j))).collect()
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
/// use pursuit::admm::BasisPursuit;
/// use sparse_core::{generate, Dictionary, Noise};
/// let mut rng = generate::rng(2);
/// let d = Dictionary::identity_dct(16)?;
/// let x = generate::sparseland_codes(32, 2, 4, 0.5, 1.0, &mut rng)?;
/// let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng)?;
/// let res = BasisPursuit::new().solve(&d, y.clean.as_ref())?;
/// assert!(res.residual_norm.iter().all(|&r| r < 1e-10));
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
    /// Sets all ADMM parameters.
    pub fn admm(mut self, admm: Admm) -> Self {
        self.admm = admm;
        self
    }
    /// Sets the initial penalty `rho`.
    pub fn rho(mut self, rho: f64) -> Self {
        self.admm.rho = rho;
        self
    }
    /// Sets the over-relaxation `alpha`.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.admm.alpha = alpha;
        self
    }
    /// Sets the absolute and relative tolerances.
    pub fn tol(mut self, tol_abs: f64, tol_rel: f64) -> Self {
        (self.admm.tol_abs, self.admm.tol_rel) = (tol_abs, tol_rel);
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

    /// Solves Basis Pursuit for every column of `y` (`d.signal_len() x n_signals`).
    /// Errors when `D` does not have full row rank (`D D^T` not positive definite).
    pub fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<CodingResult> {
        let a = &self.admm;
        a.validate()?;
        check::batch("y", y, d.signal_len())?;
        let q = pinv_t(d.matrix(), a.par).ok_or_else(|| {
            Error::Core(sparse_core::Error::LinearAlgebra {
                context: "Basis Pursuit projection (Cholesky of D D^T)",
                message: "D D^T is not positive definite: D needs full row rank (n <= m)".into(),
            })
        })?;
        let (codes, reports) = a.run_blocks(d.n_atoms(), y.ncols(), |first, out, rep, par| {
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
        });
        Ok(CodingResult::from_reports(codes, &reports, false))
    }
}

impl SparseCoder for BasisPursuit {
    fn code(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<CodingResult> {
        self.solve(d, y)
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
    let mut rho = initial_rho(a, d, y, par);
    let mut idx: Vec<usize> = (0..w0).collect();
    let (mut w, mut keep) = (w0, Vec::with_capacity(w0));
    let sqm = (m as f64).sqrt();
    for k in 1..=a.max_iter {
        // x = P(z - u) = v + Q^T (y - D v).
        for j in 0..w {
            let (xj, zj, uj) = (x.col_as_slice_mut(j), z.col_as_slice(j), u.col_as_slice(j));
            for i in 0..m {
                xj[i] = zj[i] - uj[i];
            }
        }
        let mut tv = t.as_mut().subcols_mut(0, w);
        // t = y - D v, x = v + Q^T t.
        tv.copy_from(yb.as_ref().subcols(0, w));
        let v = x.as_ref().subcols(0, w);
        matmul(tv.as_mut(), Accum::Add, d, v, -1.0, par);
        let xv = x.as_mut().subcols_mut(0, w);
        matmul(xv, Accum::Add, q.transpose(), tv.as_ref(), 1.0, par);
        let check = k % a.check_every == 0 || k == a.max_iter;
        keep.clear();
        for j in 0..w {
            let (xj, zj, uj) = (
                x.col_as_slice(j),
                z.col_as_slice_mut(j),
                u.col_as_slice_mut(j),
            );
            let thr = 1.0 / rho[j];
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
            let (r, s) = (r2.sqrt(), rho[j] * s2.sqrt());
            let eps_pri = sqm * a.tol_abs + a.tol_rel * norm(xj).max(z2.sqrt());
            let eps_dual = sqm * a.tol_abs + a.tol_rel * rho[j] * norm(uj);
            let converged = r <= eps_pri && s <= eps_dual;
            if converged || k == a.max_iter {
                let g = idx[j];
                out.as_mut()
                    .col_mut(g)
                    .iter_mut()
                    .zip(xj)
                    .for_each(|(o, v)| *o = *v);
                reports[g] = Report {
                    iterations: k,
                    converged,
                    objective: xj.iter().map(|v| v.abs()).sum(),
                    residual_norm: 0.0,
                    duality_gap: 0.0,
                };
                continue;
            }
            keep.push(j);
            if k % (2 * a.check_every.max(5)) == 0 && k <= ADAPT_UNTIL {
                let f = a.balance(&mut rho[j], r, s);
                uj.iter_mut().for_each(|v| *v /= f);
            }
        }
        if check && keep.len() < w {
            for mat in [&mut yb, &mut z, &mut u] {
                compact_columns(mat.as_mut(), &keep);
            }
            for (i, &j) in keep.iter().enumerate() {
                (rho[i], idx[i]) = (rho[j], idx[j]);
            }
            w = keep.len();
        }
        if w == 0 {
            break;
        }
    }
    let rn = residual_norms(d, out.as_ref(), y, par);
    for (r, v) in reports.iter_mut().zip(rn) {
        r.residual_norm = v;
    }
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
    /// Sets all ADMM parameters.
    pub fn admm(mut self, admm: Admm) -> Self {
        self.admm = admm;
        self
    }
    /// Sets the absolute and relative ADMM tolerances.
    pub fn tol(mut self, tol_abs: f64, tol_rel: f64) -> Self {
        (self.admm.tol_abs, self.admm.tol_rel) = (tol_abs, tol_rel);
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

    /// Solves BPDN for every column of `y` (`d.signal_len() x n_signals`).
    pub fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<CodingResult> {
        check::non_negative("eps", self.eps)?;
        self.admm.validate()?;
        check::batch("y", y, d.signal_len())?;
        match self.method {
            BpdnMethod::Admm => self.solve_admm(d, y),
            BpdnMethod::Homotopy => self.solve_homotopy(d, y),
        }
    }

    fn solve_homotopy(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<CodingResult> {
        let (g, dty) = gram_and_correlations(d, y, self.admm.par);
        let (n, m) = (d.signal_len(), d.n_atoms());
        let (codes, reports) = map_columns(
            dty.as_ref(),
            m,
            self.admm.par,
            || LarsScratch::new(n, m),
            |s, j, dtyj, xj| {
                let yj = column(y, j);
                let target = Target::Residual {
                    eps: self.eps,
                    d: d.matrix(),
                    y: &yj,
                };
                let out = s.run(
                    g.as_ref(),
                    dtyj,
                    target,
                    false,
                    self.admm.max_iter,
                    xj,
                    None,
                );
                let (r, _) = s.diag_buffers();
                r.copy_from_slice(&yj);
                for (i, &xi) in xj.iter().enumerate() {
                    if xi != 0.0 {
                        r.iter_mut()
                            .zip(d.matrix().col(i).iter())
                            .for_each(|(a, b)| *a -= xi * b);
                    }
                }
                Report {
                    iterations: out.steps,
                    converged: out.reached,
                    objective: xj.iter().map(|v| v.abs()).sum(),
                    residual_norm: norm(r),
                    duality_gap: 0.0,
                }
            },
        );
        Ok(CodingResult::from_reports(codes, &reports, false))
    }

    fn solve_admm(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<CodingResult> {
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
        let (codes, reports) = a.run_blocks(d.n_atoms(), y.ncols(), |first, out, rep, par| {
            let w = out.ncols();
            self.admm_block(&mats, y.subcols(first, w), out, rep, par)
        });
        Ok(CodingResult::from_reports(codes, &reports, false))
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
        let mut rho = initial_rho(a, d, y, par);
        let mut idx: Vec<usize> = (0..w0).collect();
        let (mut w, mut keep) = (w0, Vec::with_capacity(w0));
        let (sqm, sqp) = ((m as f64).sqrt(), ((n + m) as f64).sqrt());
        for k in 1..=a.max_iter {
            // p = u - w1, x <- q = z - w2, Db = D D^T p + D q, D x = K^{-1} Db,
            // x = D^T (p - D x) + q.
            for j in 0..w {
                let (pj, uj, w1j) = (p.col_as_slice_mut(j), u.col_as_slice(j), w1.col_as_slice(j));
                pj.iter_mut()
                    .zip(uj.iter().zip(w1j))
                    .for_each(|(pv, (a, b))| *pv = a - b);
                let (xj, zj, w2j) = (x.col_as_slice_mut(j), z.col_as_slice(j), w2.col_as_slice(j));
                xj.iter_mut()
                    .zip(zj.iter().zip(w2j))
                    .for_each(|(xv, (a, b))| *xv = a - b);
            }
            let pv = p.as_mut().subcols_mut(0, w);
            let (dbv, dxv) = (db.as_mut().subcols_mut(0, w), dx.as_mut().subcols_mut(0, w));
            matmul(dbv, Accum::Replace, mt.ddt, pv.as_ref(), 1.0, par);
            let xv = x.as_ref().subcols(0, w);
            matmul(db.as_mut().subcols_mut(0, w), Accum::Add, d, xv, 1.0, par);
            matmul(
                dxv,
                Accum::Replace,
                mt.kinv,
                db.as_ref().subcols(0, w),
                1.0,
                par,
            );
            let mut pv = p.as_mut().subcols_mut(0, w);
            for j in 0..w {
                let dxj = dx.col_as_slice(j);
                pv.as_mut()
                    .col_mut(j)
                    .iter_mut()
                    .zip(dxj)
                    .for_each(|(a, b)| *a -= b);
            }
            matmul(
                x.as_mut().subcols_mut(0, w),
                Accum::Add,
                d.transpose(),
                pv.as_ref(),
                1.0,
                par,
            );
            let check = k % a.check_every == 0 || k == a.max_iter;
            if check {
                uold.as_mut()
                    .subcols_mut(0, w)
                    .copy_from(u.as_ref().subcols(0, w));
                zold.as_mut()
                    .subcols_mut(0, w)
                    .copy_from(z.as_ref().subcols(0, w));
            }
            for j in 0..w {
                let (xj, dxj, yj) = (x.col_as_slice(j), dx.col_as_slice(j), yb.col_as_slice(j));
                let (uj, w1j) = (u.col_as_slice_mut(j), w1.col_as_slice_mut(j));
                // v = alpha D x + (1 - alpha) u + w1 - y; u = y + P_ball(v);
                // w1 + uh - u = v + y - u = v - P_ball(v).
                let mut nv = 0.0;
                for i in 0..n {
                    let uh = a.alpha * dxj[i] + (1.0 - a.alpha) * uj[i];
                    let v = uh + w1j[i] - yj[i];
                    w1j[i] = v;
                    nv += v * v;
                }
                let nv = nv.sqrt();
                let scale = if nv > eps { eps / nv } else { 1.0 };
                for i in 0..n {
                    let v = w1j[i];
                    uj[i] = yj[i] + scale * v;
                    w1j[i] = (1.0 - scale) * v;
                }
                let (zj, w2j) = (z.col_as_slice_mut(j), w2.col_as_slice_mut(j));
                let thr = 1.0 / rho[j];
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
            // Dual residual rho (D^T du + dz) and the dual scale ||D^T w1 + w2||.
            for j in 0..w {
                let (uj, uoj) = (u.col_as_slice(j), uold.col_as_slice_mut(j));
                uoj.iter_mut().zip(uj).for_each(|(o, v)| *o = v - *o);
                let (zj, zoj) = (z.col_as_slice(j), zold.col_as_slice_mut(j));
                zoj.iter_mut().zip(zj).for_each(|(o, v)| *o = v - *o);
                tm.col_as_slice_mut(j).copy_from_slice(w2.col_as_slice(j));
            }
            let (uo, w1v) = (uold.as_ref().subcols(0, w), w1.as_ref().subcols(0, w));
            matmul(
                zold.as_mut().subcols_mut(0, w),
                Accum::Add,
                d.transpose(),
                uo,
                1.0,
                par,
            );
            matmul(
                tm.as_mut().subcols_mut(0, w),
                Accum::Add,
                d.transpose(),
                w1v,
                1.0,
                par,
            );
            keep.clear();
            for j in 0..w {
                let (xj, zj, dxj, uj) = (
                    x.col_as_slice(j),
                    z.col_as_slice(j),
                    dx.col_as_slice(j),
                    u.col_as_slice(j),
                );
                let r2: f64 = xj
                    .iter()
                    .zip(zj)
                    .map(|(a, b)| (a - b) * (a - b))
                    .sum::<f64>()
                    + dxj
                        .iter()
                        .zip(uj)
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>();
                let (r, s) = (r2.sqrt(), rho[j] * norm(zold.col_as_slice(j)));
                let ax = (norm(xj).powi(2) + norm(dxj).powi(2)).sqrt();
                let bz = (norm(zj).powi(2) + norm(uj).powi(2)).sqrt();
                let eps_pri = sqp * a.tol_abs + a.tol_rel * ax.max(bz);
                let eps_dual = sqm * a.tol_abs + a.tol_rel * rho[j] * norm(tm.col_as_slice(j));
                let converged = r <= eps_pri && s <= eps_dual;
                if converged || k == a.max_iter {
                    let g = idx[j];
                    out.as_mut()
                        .col_mut(g)
                        .iter_mut()
                        .zip(xj)
                        .for_each(|(o, v)| *o = *v);
                    reports[g] = Report {
                        iterations: k,
                        converged,
                        ..Report::default()
                    };
                    continue;
                }
                keep.push(j);
                if k % (2 * a.check_every.max(5)) == 0 && k <= ADAPT_UNTIL {
                    let f = a.balance(&mut rho[j], r, s);
                    w1.col_as_slice_mut(j).iter_mut().for_each(|v| *v /= f);
                    w2.col_as_slice_mut(j).iter_mut().for_each(|v| *v /= f);
                }
            }
            if keep.len() < w {
                for mat in [&mut yb, &mut z, &mut w2, &mut u, &mut w1] {
                    compact_columns(mat.as_mut(), &keep);
                }
                for (i, &j) in keep.iter().enumerate() {
                    (rho[i], idx[i]) = (rho[j], idx[j]);
                }
                w = keep.len();
            }
            if w == 0 {
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
            matmul(e.as_mut(), Accum::Add, d, out.as_ref(), -1.0, par);
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
            matmul(
                out.as_mut(),
                Accum::Add,
                q.transpose(),
                e.as_ref(),
                1.0,
                par,
            );
        }
        let rn = residual_norms(d, out.as_ref(), y, par);
        for (j, (r, v)) in reports.iter_mut().zip(rn).enumerate() {
            r.residual_norm = v;
            r.objective = out.as_ref().col(j).iter().map(|v| v.abs()).sum();
        }
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

impl SparseCoder for Bpdn {
    fn code(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<CodingResult> {
        self.solve(d, y)
    }
}
