//! Cyclic coordinate descent for the Lasso with covariance updates (Friedman, Hastie, Höfling
//! & Tibshirani 2007; Friedman, Hastie & Tibshirani 2010).
// Index loops over several parallel arrays read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::shrink::{nonneg_soft, soft};
#[cfg(target_arch = "x86_64")]
use sparse_core::simd::Avx2Fma;
use sparse_core::{check, Dictionary};

use super::{
    check_common, gap_from_parts, rescaled_observer, sparse_diagnostics, Observer, Progress,
};
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
/// evaluated after every sweep from `c`, `x`, `D^T y` and `||y||^2` in `O(m)`.
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
        let c = &mut s.c;
        c.copy_from_slice(dty);
        let mut sweeps = 0;
        let mut converged = false;
        loop {
            // ||r||^2 = ||y||^2 - 2 x.D^T y + x.G x, with G x = D^T y - c.
            let xd: f64 = x.iter().zip(dty).map(|(a, b)| a * b).sum();
            let xc: f64 = x.iter().zip(c.iter()).map(|(a, b)| a * b).sum();
            let r2 = (y2 - xd - xc).max(0.0);
            let (obj, gap) = gap_from_parts(r2, y2 - xd, y2, c, x, lambda, self.nonneg);
            if let Some(obs) = &self.observer {
                obs.report(Progress {
                    signal,
                    iteration: sweeps,
                    objective: obj,
                });
            }
            if gap <= self.gap_tol {
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
        let (objective, duality_gap, residual_norm) =
            sparse_diagnostics(d, g, y, dty, x, lambda, self.nonneg, &mut s.r, &mut s.c);
        Report {
            iterations: sweeps,
            converged,
            objective,
            residual_norm,
            duality_gap,
        }
    }
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
