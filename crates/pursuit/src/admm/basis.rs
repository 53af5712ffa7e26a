//! Basis Pursuit `min ||x||_1 s.t. D x = y` by ADMM, with the support polish.

use faer::{Mat, MatMut, MatRef, Par};
use sparse_core::shrink::soft;
use sparse_core::solve::{by_magnitude, Homogeneity};
use sparse_core::{check, Dictionary};

use super::{fill_reports, initial_rho, norm, pinv_t, Admm};
use crate::error::{Error, Result};
use crate::lasso::{gemm, head, headm, run_blocks, WorkingSet};
use crate::result::{assemble, Report, Solution};
use crate::Solve;

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
/// use pursuit::{Solve, Summary};
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
        by_magnitude(y, Homogeneity::Linear, 0, |y, _, _| {
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
        })
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

    /// Every signal is coded divided by the power of two that brings it to unit size
    /// ([`sparse_core::solve::by_magnitude`]), as ADMM's absolute tolerances and initial
    /// `rho` are meant for unit-size signals: the codes do not depend on the magnitude.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        self.admm.validate()?;
        check::batch("y", y, d.signal_len())?;
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
            let f = a.residual_test(
                k,
                j,
                (r, s),
                (eps_pri, eps_dual),
                xj,
                &mut ws,
                out.as_mut(),
                reports,
            );
            if f != 1.0 {
                uj.iter_mut().for_each(|v| *v /= f);
            }
        }
        if check && !ws.compact(&mut [&mut yb, &mut z, &mut u]) {
            break;
        }
    }
    fill_reports(d, out.as_ref(), y, reports, par);
}
