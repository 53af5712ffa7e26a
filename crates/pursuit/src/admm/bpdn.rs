//! BPDN `min ||x||_1 s.t. ||D x - y||_2 <= eps` by ADMM or by the Lasso homotopy.

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve as _;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use sparse_core::shrink::soft;
use sparse_core::solve::{by_magnitude, Homogeneity, SAFE_EXPONENT};
use sparse_core::{check, Dictionary};

use super::{fill_reports, initial_rho, norm, pinv_t, Admm};
use crate::error::{Error, Result};
use crate::lasso::lars::bpdn_homotopy;
use crate::lasso::{gemm, head, headm, run_blocks, WorkingSet};
use crate::result::{assemble, Report, Solution};
use crate::Solve;

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
        by_magnitude(y, Homogeneity::Linear, 0, |y, s, _| {
            let scaled = Bpdn {
                eps: self.eps / s,
                ..*self
            };
            let (codes, reports) = run_blocks(
                a.par,
                a.block_size,
                d.n_atoms(),
                y.ncols(),
                |first, out, rep, par| {
                    let w = out.ncols();
                    scaled.admm_block(&mats, y.subcols(first, w), out, rep, par)
                },
            );
            Ok(assemble(codes, &reports, false))
        })
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

    /// Signals are coded divided by a power of two, with `eps`
    /// ([`sparse_core::solve::by_magnitude`]): by ADMM every signal at unit size (its
    /// absolute tolerances and initial `rho` are meant for unit-size signals), by the
    /// homotopy those of extreme magnitude, so that their squared norms stay finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check::non_negative("eps", self.eps)?;
        self.admm.validate()?;
        check::batch("y", y, d.signal_len())?;
        match self.method {
            // ADMM rescales every signal to unit size itself (see `solve_admm`).
            BpdnMethod::Admm => self.run(d, y),
            BpdnMethod::Homotopy => {
                by_magnitude(y, Homogeneity::Linear, SAFE_EXPONENT, |ys, s, _| {
                    Bpdn {
                        eps: self.eps / s,
                        ..*self
                    }
                    .run(d, ys)
                })
            }
        }
    }
}
