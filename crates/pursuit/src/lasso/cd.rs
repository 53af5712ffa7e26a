//! Cyclic coordinate descent for the Lasso with covariance updates (Friedman, Hastie, Höfling
//! & Tibshirani 2007; Friedman, Hastie & Tibshirani 2010).
// Index loops over several parallel arrays read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve as _;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::shrink::{nonneg_soft, soft};
#[cfg(target_arch = "x86_64")]
use sparse_core::simd::Avx2Fma;
use sparse_core::{check, Dictionary};

use super::{
    check_common, dual_from_parts, rescaled_observer, sparse_diagnostics, Observer, Progress,
};

/// Residuals combined by the dual extrapolation.
pub const EXTRAPOLATION: usize = 5;
use crate::batch::{column, map_columns};
use crate::error::Result;
use crate::result::{assemble, Report, Solution};
use crate::{Error, Solve};
use sparse_core::solve::{by_magnitude, Homogeneity, SAFE_EXPONENT};

/// Cyclic coordinate descent for the (non-negative) Lasso
/// `min 1/2 ||y - D x||^2 + lambda ||x||_1` on a dense [`Dictionary`] (Friedman, Hastie, Höfling
/// & Tibshirani, *Pathwise coordinate optimization*, Ann. Appl. Stat. 2007; Friedman, Hastie &
/// Tibshirani, *Regularization paths for generalized linear models via coordinate descent*,
/// J. Stat. Softw. 2010).
///
/// The Gram `G = D^T D` and the correlations `D^T Y` of the whole batch are computed once (two
/// GEMMs). Each signal keeps its correlation vector `c = D^T (y - D x)`; the exact minimisation
/// over coordinate `i` is `x_i <- soft(x_i G_ii + c_i, lambda) / G_ii` and, when `x_i` moves by
/// `delta`, `c <- c - delta G[:, i]` ("covariance updates"), so a sweep costs `O(m)` plus `O(m)`
/// per coordinate that changes. The objective decreases monotonically. The duality gap is
/// evaluated after every sweep from `c`, `x`, `D^T y` and `||y||^2` in `O(m)`, with the best
/// of two dual points: the rescaled residual, and the **extrapolated** residual of the last
/// [`EXTRAPOLATION`] sweeps (Massias, Gramfort & Salmon, *Celer: a fast solver for the Lasso
/// with dual extrapolation*, ICML 2018: Anderson extrapolation of the residuals, here computed
/// in the coefficient domain through `G`, since `r_k = y - D x_k` and `D^T r_k = c_k`). On
/// coherent dictionaries the iterates converge long before the rescaled residual certifies
/// it; the extrapolated point closes the gap. The best dual value seen is kept (every dual
/// point is feasible, so each is a valid bound). The same combination of the iterates
/// replaces the iterate when its objective is lower (Anderson acceleration of coordinate
/// descent: Bertrand & Massias, AISTATS 2021), which keeps the objective monotone.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | penalty `lambda >= 0` |
/// | `gap_tol` | `1e-6` | stop a signal when its relative duality gap is `<= gap_tol` |
/// | `max_iter` | `1000` | cap on sweeps per signal (`converged = false` when hit) |
/// | `nonneg` | `false` | solve the non-negative Lasso (`x >= 0`) |
/// | `par` | `Par::rayon(0)` | parallelism across signals (and for the two GEMMs) |
/// | `observer` | `None` | called with the objective of every signal after every sweep |
#[derive(Debug, Clone)]
pub struct CoordinateDescent {
    /// Penalty `lambda >= 0`.
    pub lambda: f64,
    /// Relative duality-gap tolerance.
    pub gap_tol: f64,
    /// Maximum number of sweeps per signal.
    pub max_iter: usize,
    /// Non-negative Lasso.
    pub nonneg: bool,
    /// Parallelism.
    pub par: Par,
    /// Progress callback.
    pub observer: Option<Observer>,
}

/// Per-task scratch.
struct Scratch {
    c: Vec<f64>,
    r: Vec<f64>,
    /// The last `EXTRAPOLATION + 1` iterates `x` and their correlations `c` (ring buffers).
    xs: Vec<Vec<f64>>,
    cs: Vec<Vec<f64>>,
}

impl CoordinateDescent {
    /// Coordinate descent with penalty `lambda` and the defaults of the table above.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            gap_tol: 1e-6,
            max_iter: 1000,
            nonneg: false,
            par: Par::rayon(0),
            observer: None,
        }
    }

    sparse_core::setters! {
        /// Sets `gap_tol`.
        gap_tol: f64,
        /// Sets `max_iter` (sweeps).
        max_iter: usize,
        /// Sets `nonneg`.
        nonneg: bool,
        /// Sets `par`.
        par: Par,
    }
    /// Sets the progress callback.
    pub fn observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Solves the Lasso for every column of `y` (`d.signal_len() x n_signals`).
    fn run(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::batch("y", y, d.signal_len())?;
        let m = d.n_atoms();
        let g = d.gram_par(self.par);
        let mut dty = Mat::<f64>::zeros(m, y.ncols());
        matmul(
            dty.as_mut(),
            Accum::Replace,
            d.matrix().transpose(),
            y,
            1.0,
            self.par,
        );
        let n = d.signal_len();
        let (codes, reports) = map_columns(
            dty.as_ref(),
            m,
            self.par,
            || Scratch {
                c: vec![0.0; m],
                r: vec![0.0; n],
                xs: vec![vec![0.0; m]; EXTRAPOLATION + 1],
                cs: vec![vec![0.0; m]; EXTRAPOLATION + 1],
            },
            |s, j, dtyj, xj| self.kernel(s, d.matrix(), g.as_ref(), &column(y, j), dtyj, j, xj),
        );
        Ok(assemble(codes, &reports, true))
    }

    /// Coordinate descent on one signal.
    #[allow(clippy::too_many_arguments)]
    fn kernel(
        &self,
        s: &mut Scratch,
        d: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        y: &[f64],
        dty: &[f64],
        signal: usize,
        x: &mut [f64],
    ) -> Report {
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = Avx2Fma::detect() {
            // SAFETY: the token proves that the CPU supports AVX2 and FMA.
            return unsafe { self.kernel_avx2(token, s, d, g, y, dty, signal, x) };
        }
        self.kernel_impl(s, d, g, y, dty, signal, x)
    }

    /// [`kernel`](Self::kernel) compiled for AVX2 + FMA (the covariance updates vectorise;
    /// no FMA contraction, so the codes are bit-identical to the portable build's).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_avx2(
        &self,
        _: Avx2Fma,
        s: &mut Scratch,
        d: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        y: &[f64],
        dty: &[f64],
        signal: usize,
        x: &mut [f64],
    ) -> Report {
        self.kernel_impl(s, d, g, y, dty, signal, x)
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn kernel_impl(
        &self,
        s: &mut Scratch,
        d: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        y: &[f64],
        dty: &[f64],
        signal: usize,
        x: &mut [f64],
    ) -> Report {
        let (lambda, m) = (self.lambda, x.len());
        let y2: f64 = y.iter().map(|v| v * v).sum();
        s.c.copy_from_slice(dty);
        let mut sweeps = 0;
        let mut converged = false;
        let mut best_dual = f64::NEG_INFINITY;
        let mut gap;
        loop {
            // ||r||^2 = ||y||^2 - 2 x.D^T y + x.G x, with G x = D^T y - c.
            let c = &s.c;
            let xd: f64 = x.iter().zip(dty).map(|(a, b)| a * b).sum();
            let xc: f64 = x.iter().zip(c.iter()).map(|(a, b)| a * b).sum();
            let r2 = (y2 - xd - xc).max(0.0);
            let l1: f64 = x.iter().map(|v| v.abs()).sum();
            let obj = 0.5 * r2 + lambda * l1;
            best_dual = best_dual.max(dual_from_parts(r2, y2 - xd, c, lambda, self.nonneg));
            // Dual extrapolation from the last EXTRAPOLATION + 1 iterates.
            let slot = sweeps % (EXTRAPOLATION + 1);
            s.xs[slot].copy_from_slice(x);
            s.cs[slot].copy_from_slice(c);
            let mut obj = obj;
            let mut accepted = false;
            // Every EXTRAPOLATION + 1 sweeps, from the consecutive iterates since the last one,
            // once the plain certificate has had 2 (EXTRAPOLATION + 1) sweeps (problems that
            // converge sooner pay nothing).
            if sweeps >= 2 * (EXTRAPOLATION + 1) && sweeps % (EXTRAPOLATION + 1) == EXTRAPOLATION {
                if let Some(e) = extrapolate(s, g, sweeps, dty, y2, lambda, self.nonneg) {
                    best_dual = best_dual.max(e.dual);
                    // Anderson acceleration of the iterate (Bertrand & Massias 2021): the
                    // extrapolated point replaces the iterate when its objective is lower.
                    if e.primal < obj {
                        accepted = true;
                        obj = e.primal;
                        x.copy_from_slice(&e.x);
                        s.c.copy_from_slice(&e.c);
                        best_dual =
                            best_dual.max(dual_from_parts(e.r2, e.ry, &s.c, lambda, self.nonneg));
                    }
                }
            }
            gap = if obj.is_finite() && best_dual.is_finite() {
                let g = (obj - best_dual).max(0.0);
                if obj > 0.0 {
                    g / obj.max(f64::EPSILON * 0.5 * y2)
                } else {
                    0.0
                }
            } else {
                f64::NAN
            };
            let c = &mut s.c;
            if let Some(obs) = &self.observer {
                obs.report(Progress {
                    signal,
                    iteration: sweeps,
                    objective: obj,
                });
            }
            // An extrapolated point can carry tiny entries off the support (combinations of
            // iterates where a coordinate moved); the sweep after it sets them exactly to zero,
            // so convergence is only declared at a swept iterate.
            if gap <= self.gap_tol && !accepted {
                converged = true;
                break;
            }
            if sweeps >= self.max_iter {
                break;
            }
            for i in 0..m {
                let gi = g.col(i).try_as_col_major().expect("owned Gram").as_slice();
                let gii = gi[i];
                let old = x[i];
                let z = old * gii + c[i];
                let new = if self.nonneg {
                    nonneg_soft(z, lambda)
                } else {
                    soft(z, lambda)
                } / gii;
                if new != old {
                    let delta = new - old;
                    x[i] = new;
                    for (cv, gv) in c.iter_mut().zip(gi) {
                        *cv -= delta * gv;
                    }
                }
            }
            sweeps += 1;
        }
        let (objective, plain_gap, residual_norm) =
            sparse_diagnostics(d, g, y, dty, x, lambda, self.nonneg, &mut s.r, &mut s.c);
        // The certified gap: the extrapolated dual's (of this very iterate) when it is tighter.
        let duality_gap = if gap.is_finite() && gap < plain_gap {
            gap
        } else {
            plain_gap
        };
        Report {
            iterations: sweeps,
            converged,
            objective,
            residual_norm,
            duality_gap,
        }
    }
}

/// The dual objective at the Anderson-extrapolated residual `r_acc = sum_k w_k r_k` of the
/// last `EXTRAPOLATION` iterates (`w` from `(U^T U) z = 1`, `w = z / sum z`, `U` the residual
/// differences; `U^T U = -dx_a . dc_b` since `D^T dr = dc = -G dx`), all in the coefficient
/// domain: `x_acc = sum w_k x_k`, `D^T r_acc = D^T y - G x_acc`, `||r_acc||^2 = ||y||^2 -
/// x_acc . D^T y - x_acc . c_acc`. `None` when the system is singular.
fn extrapolate(
    s: &Scratch,
    g: MatRef<'_, f64>,
    sweeps: usize,
    dty: &[f64],
    y2: f64,
    lambda: f64,
    nonneg: bool,
) -> Option<Extrapolated> {
    let k = EXTRAPOLATION;
    let ring = k + 1;
    // Oldest to newest: sweeps - k, ..., sweeps.
    let idx = |t: usize| (sweeps - k + t) % ring;
    let m = dty.len();
    // U^T U from the sparse differences of the iterates (only the coordinates that moved).
    let mut utu = Mat::<f64>::zeros(k, k);
    for a in 0..k {
        let (xa1, xa0) = (&s.xs[idx(a + 1)], &s.xs[idx(a)]);
        for b in 0..k {
            let (cb1, cb0) = (&s.cs[idx(b + 1)], &s.cs[idx(b)]);
            let mut v = 0.0;
            for i in 0..m {
                let dx = xa1[i] - xa0[i];
                if dx != 0.0 {
                    v -= dx * (cb1[i] - cb0[i]);
                }
            }
            utu[(a, b)] += 0.5 * v;
            utu[(b, a)] += 0.5 * v;
        }
    }
    let scale = (0..k).map(|a| utu[(a, a)]).fold(0.0f64, f64::max);
    if !(scale > 0.0 && scale.is_finite()) {
        return None;
    }
    for a in 0..k {
        utu[(a, a)] += 1e-12 * scale;
    }
    let llt = utu.llt(faer::Side::Lower).ok()?;
    let ones = Mat::<f64>::from_fn(k, 1, |_, _| 1.0);
    let z = llt.solve(ones.as_ref());
    let total: f64 = (0..k).map(|a| z[(a, 0)]).sum();
    if !(total.abs() > 0.0 && total.is_finite()) {
        return None;
    }
    // Weights on the K newest iterates (t = 1..=k); D^T r_acc recomputed exactly from x_acc
    // (`D^T y - G x_acc`), not combined from the c_k, so that a near-singular system (large
    // weights of both signs) cannot make the point and its correlations disagree.
    let mut x_acc = vec![0.0; m];
    for t in 0..k {
        let w = z[(t, 0)] / total;
        for (xa, xv) in x_acc.iter_mut().zip(&s.xs[idx(t + 1)]) {
            *xa += w * xv;
        }
    }
    if !x_acc.iter().all(|v| v.is_finite()) {
        return None;
    }
    let mut c_acc = dty.to_vec();
    for (i, &xi) in x_acc.iter().enumerate() {
        if xi != 0.0 {
            for (cv, gv) in c_acc.iter_mut().zip(g.col(i).iter()) {
                *cv -= xi * gv;
            }
        }
    }
    let xd: f64 = x_acc.iter().zip(dty).map(|(a, b)| a * b).sum();
    let xc: f64 = x_acc.iter().zip(&c_acc).map(|(a, b)| a * b).sum();
    let r2 = (y2 - xd - xc).max(0.0);
    let dual = dual_from_parts(r2, y2 - xd, &c_acc, lambda, nonneg);
    let feasible = !nonneg || x_acc.iter().all(|&v| v >= 0.0);
    let l1: f64 = x_acc.iter().map(|v| v.abs()).sum();
    let primal = if feasible {
        0.5 * r2 + lambda * l1
    } else {
        f64::INFINITY
    };
    dual.is_finite().then_some(Extrapolated {
        dual,
        primal,
        r2,
        ry: y2 - xd,
        x: x_acc,
        c: c_acc,
    })
}

/// The extrapolated iterate: its dual value (a valid bound), its objective, and the point.
struct Extrapolated {
    dual: f64,
    primal: f64,
    r2: f64,
    ry: f64,
    x: Vec<f64>,
    c: Vec<f64>,
}

impl Solve<Dictionary> for CoordinateDescent {
    type Output = Solution;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with `lambda`
    /// ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::batch("y", y, d.signal_len())?;
        by_magnitude(y, Homogeneity::Quadratic, SAFE_EXPONENT, |ys, s, cols| {
            if s == 1.0 && cols.len() == y.ncols() {
                return self.run(d, ys);
            }
            let scaled = CoordinateDescent {
                lambda: self.lambda / s,
                observer: self
                    .observer
                    .as_ref()
                    .map(|o| rescaled_observer(o, cols, s)),
                ..self.clone()
            };
            scaled.run(d, ys)
        })
    }
}
