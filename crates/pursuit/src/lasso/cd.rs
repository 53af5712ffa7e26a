//! Cyclic coordinate descent for the Lasso with covariance updates (Friedman, Hastie, Höfling
//! & Tibshirani 2007; Friedman, Hastie & Tibshirani 2010), on working sets with Gap Safe
//! screening (Massias, Gramfort & Salmon 2018; Bertrand et al. 2022; Fercoq, Gramfort &
//! Salmon 2015).
// Index loops over several parallel arrays read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve as _;
use faer::{Accum, Mat, MatRef, Par};
#[cfg(target_arch = "x86_64")]
use sparse_core::simd::Avx2Fma;
use sparse_core::{check, Dictionary};

use super::fista::shrink;
use super::{
    check_common, dual_from_parts, rescaled_observer, sparse_diagnostics, sparse_residual,
    Observer, Progress, F32_GAP_FLOOR,
};

/// Residuals combined by the dual extrapolation.
pub const EXTRAPOLATION: usize = 5;
use crate::batch::{column, column_mut, map_chunks, map_columns, CHUNK};
use crate::error::Result;
use crate::greedy::{Real, F32_SAFE_EXPONENT};
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
/// | `working_set` | `true` | Gap Safe screening and working sets (below); `false`: sweep all atoms |
/// | `ws_start` | `10` | size of the first working set (`p0`) |
/// | `ws_inner_ratio` | `0.01` | each working-set subproblem is solved to this fraction of the full gap |
/// | `par` | `Par::rayon(0)` | parallelism across signals (and for the two GEMMs) |
/// | `observer` | `None` | called with the objective of every signal after every sweep |
///
/// ## Working sets and Gap Safe screening
/// With `working_set` (the default) each signal is solved as in Celer (Massias, Gramfort &
/// Salmon, ICML 2018) and skglm (Bertrand, Klopfenstein, Massias, Blondel, Vaiter, Gramfort &
/// Salmon, *Beyond L1: faster and better sparse models with skglm*, NeurIPS 2022). An outer
/// iteration recomputes the exact correlations `c = D^T y - G x` over the support of `x`
/// (`O(m ||x||_0)`) and the duality gap of the **full** problem, at the best of the rescaled
/// residual, the extrapolated dual point of the last subproblem (rescaled against all atoms)
/// and the best dual point so far. Then:
///
/// 1. **Gap Safe screening** (Fercoq, Gramfort & Salmon, *Mind the duality gap: safer rules
///    for the Lasso*, ICML 2015; Ndiaye, Fercoq, Gramfort & Salmon, JMLR 2017): the dual
///    `D(theta) = 1/2 ||y||^2 - 1/2 ||y - theta||^2` is 1-strongly concave, so the dual optimum
///    lies within `sqrt(2 gap)` of any feasible `theta`, and an atom with
///    `|d_i^T theta| + ||d_i|| sqrt(2 gap) < lambda` (`d_i^T theta + ...` for the
///    non-negative Lasso) is zero at every optimum. It is set to zero (when that does not raise
///    the objective; otherwise on a later pass) and never swept again for that signal.
/// 2. **Working set**: the support of `x` plus the unscreened atoms of smallest score
///    `(lambda - |d_i^T theta|) / ||d_i||` (`lambda - d_i^T theta` for the non-negative Lasso,
///    `theta` the current rescaled residual): `ws_start` atoms at first, then
///    `max(ws_start, 2 ||x||_0)` and never fewer than before (Celer's pruning rule), doubled
///    when a subproblem was already solved on entry.
/// 3. The subproblem on the working set `W` is solved by the same cyclic coordinate descent,
///    with its own `|W| x |W|` Gram (gathered once), covariance updates of length `|W|`, its
///    own gap (of the subproblem, `O(|W|)` a sweep) and the same dual extrapolation and
///    Anderson acceleration, until that gap is at most `ws_inner_ratio` times the full gap
///    (but never below half the final target `gap_tol P(x)`). Celer uses `0.3`; here an outer
///    iteration (exact correlations, screening, selection, gathering `G[W, W]`) costs several
///    subproblem sweeps, and fewer, more accurate subproblems were faster on the 64 x 256
///    patch workload (`cargo xtask bench pursuit`).
///
/// The stopping test, the reported gap and `converged` are those of the full problem: the
/// dual points are always rescaled against all `m` atoms, screened ones included, so the
/// certificate does not rely on the screening. Every subproblem makes at least one sweep;
/// a sweep over a working set counts as one sweep for `max_iter` and in
/// the reported iterations, so `max_iter` bounds the total number of (cheaper) sweeps and the
/// number of outer iterations.
///
/// Every 10 sweeps (of a subproblem, or of the whole problem without
/// working sets) the support polish solves the Lasso restricted to the current sign pattern by
/// one Cholesky factorisation and keeps that point when it lowers the objective; without
/// working sets convergence is declared only after the correlations, kept by covariance
/// updates, have been recomputed exactly. `f32` signals are coded in `f32`
/// (`Solve<Dictionary, f32>`, below).
#[derive(Debug, Clone)]
pub struct CoordinateDescent {
    /// Penalty `lambda >= 0`.
    pub lambda: f64,
    /// Relative duality-gap tolerance.
    pub gap_tol: f64,
    /// Maximum number of sweeps per signal (over the working sets when `working_set`).
    pub max_iter: usize,
    /// Non-negative Lasso.
    pub nonneg: bool,
    /// Gap Safe screening and working sets (Celer, Massias, Gramfort & Salmon 2018; skglm,
    /// Bertrand et al. 2022; Fercoq, Gramfort & Salmon 2015).
    pub working_set: bool,
    /// Size of the first working set (`>= 1`).
    pub ws_start: usize,
    /// Each working-set subproblem is solved until its gap is at most this fraction of the
    /// full gap (in `(0, 1]`).
    pub ws_inner_ratio: f64,
    /// Parallelism.
    pub par: Par,
    /// Progress callback.
    pub observer: Option<Observer>,
}

/// The precisions of the sweeps: `f64` and `f32` (the gaps accumulate in `f64` in both).
trait Scalar: Real + Into<f64> {
    /// The rounding allowance, relative to `||y||^2`, added to a gap computed in this
    /// precision before it sizes the Gap Safe sphere (`m` atoms).
    fn screening_slack(m: usize) -> f64;
}
impl Scalar for f64 {
    fn screening_slack(m: usize) -> f64 {
        64.0 * m as f64 * f64::EPSILON
    }
}
impl Scalar for f32 {
    /// The gap accumulates in `f64` from `f32` correlations and codes, each within a few
    /// `f32` roundings of `||y||` and `||y||^2`: `256 eps_32` (`3e-5`) covers it without
    /// disabling the screening (as `m eps_32` would for large dictionaries).
    fn screening_slack(_: usize) -> f64 {
        256.0 * f32::EPSILON as f64
    }
}

/// Per-task scratch, in the precision `T` of the sweeps.
struct Scratch<T> {
    c: Vec<T>,
    r: Vec<T>,
    /// The last `EXTRAPOLATION + 1` iterates `x` and their correlations `c` (ring buffers;
    /// only their first `|W|` entries with working sets).
    xs: Vec<Vec<T>>,
    cs: Vec<Vec<T>>,
    /// Working-set state (empty without working sets).
    ws: WsScratch<T>,
}

impl<T: Scalar> Scratch<T> {
    /// Scratch for signals of length `n` on the Gram `g` (`m x m`).
    fn new(g: MatRef<'_, T>, n: usize, working_set: bool) -> Self {
        let m = g.nrows();
        Self {
            c: vec![T::zero(); m],
            r: vec![T::zero(); n],
            xs: vec![vec![T::zero(); m]; EXTRAPOLATION + 1],
            cs: vec![vec![T::zero(); m]; EXTRAPOLATION + 1],
            ws: if working_set {
                WsScratch::new(g)
            } else {
                WsScratch::default()
            },
        }
    }
}

/// Per-task scratch of the working-set solver; `m` the number of atoms.
#[derive(Default)]
struct WsScratch<T> {
    /// `||d_i|| = sqrt(G_ii)` (`m`).
    norms: Vec<f64>,
    /// `D^T theta` of the best dual point so far (`m`).
    theta: Vec<f64>,
    /// Atoms screened out for the current signal (`m`).
    screened: Vec<bool>,
    /// Working-set scores (`m`).
    score: Vec<f64>,
    /// The working set, increasing (at most `m`).
    set: Vec<usize>,
    /// The subproblem's Gram `G[W, W]`, column-major `|W| x |W|` (capacity `m^2`).
    gw: Vec<T>,
    /// The subproblem's `x_W`, `c_W` and `(D^T y)_W` (capacity `m`).
    xw: Vec<T>,
    cw: Vec<T>,
    dw: Vec<T>,
    /// The subproblem's best extrapolated point (`|W|` entries) and full correlations (`m`).
    acc: Vec<T>,
    cacc: Vec<T>,
    /// The support polish's positions in `W`.
    pidx: Vec<usize>,
}

impl<T: Scalar> WsScratch<T> {
    fn new(g: MatRef<'_, T>) -> Self {
        let m = g.nrows();
        Self {
            norms: (0..m).map(|i| g[(i, i)].into().sqrt()).collect(),
            theta: vec![0.0; m],
            screened: vec![false; m],
            score: vec![0.0; m],
            set: Vec::with_capacity(m),
            gw: vec![T::zero(); m * m],
            xw: vec![T::zero(); m],
            cw: vec![T::zero(); m],
            dw: vec![T::zero(); m],
            acc: vec![T::zero(); m],
            cacc: vec![T::zero(); m],
            pidx: Vec::with_capacity(m),
        }
    }
}

/// How a signal's run ended: the best certified gap of its final iterate (from an extrapolated
/// dual point; `inf` when none), the sweeps made and whether the tolerance was met.
struct End {
    gap: f64,
    sweeps: usize,
    converged: bool,
}

impl End {
    /// The signal's report: objective, residual and the plain (rescaled-residual) gap at the
    /// final `x`, with the extrapolated gap when it is tighter.
    #[allow(clippy::too_many_arguments)]
    fn report(
        self,
        d: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        y: &[f64],
        dty: &[f64],
        x: &[f64],
        lambda: f64,
        nonneg: bool,
        s: &mut Scratch<f64>,
    ) -> Report {
        let (objective, plain_gap, residual_norm) =
            sparse_diagnostics(d, g, y, dty, x, lambda, nonneg, &mut s.r, &mut s.c);
        let duality_gap = if self.gap.is_finite() && self.gap < plain_gap {
            self.gap
        } else {
            plain_gap
        };
        Report {
            iterations: self.sweeps,
            converged: self.converged,
            objective,
            residual_norm,
            duality_gap,
        }
    }
}

impl CoordinateDescent {
    /// Coordinate descent with penalty `lambda` and the defaults of the table above.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            gap_tol: 1e-6,
            max_iter: 1000,
            nonneg: false,
            working_set: true,
            ws_start: 10,
            ws_inner_ratio: 0.01,
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
        /// Sets `working_set` (Gap Safe screening and working sets).
        working_set: bool,
        /// Sets `ws_start` (size of the first working set).
        ws_start: usize,
        /// Sets `ws_inner_ratio` (subproblem tolerance relative to the full gap).
        ws_inner_ratio: f64,
        /// Sets `par`.
        par: Par,
    }
    /// Sets the progress callback.
    pub fn observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Checks the parameters.
    fn check(&self) -> Result<()> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::count("ws_start", self.ws_start, usize::MAX)?;
        check::positive("ws_inner_ratio", self.ws_inner_ratio)?;
        check::in_range("ws_inner_ratio", self.ws_inner_ratio, 0.0, 1.0)?;
        Ok(())
    }

    /// Solves the Lasso for every column of `y` (`d.signal_len() x n_signals`).
    fn run(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        self.check()?;
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
        let (lambda, nonneg) = (self.lambda, self.nonneg);
        let (codes, reports) = map_columns(
            dty.as_ref(),
            m,
            self.par,
            || Scratch::new(g.as_ref(), n, self.working_set),
            |s, j, dtyj, xj| {
                let yj = column(y, j);
                let end = self.kernel(s, g.as_ref(), &yj, dtyj, j, xj, None);
                end.report(d.matrix(), g.as_ref(), &yj, dtyj, xj, lambda, nonneg, s)
            },
        );
        Ok(assemble(codes, &reports, true))
    }

    /// The `f32` solve of signals of safe magnitude (see `Solve<Dictionary, f32>`).
    fn run_f32(&self, d: &Dictionary, y: MatRef<'_, f32>) -> Result<Solution<Mat<f32>>> {
        let (n, m) = (d.signal_len(), d.n_atoms());
        let d64 = d.matrix();
        let g64 = d.gram_par(self.par);
        let g = Mat::<f32>::from_fn(m, m, |i, j| g64[(i, j)] as f32);
        let d32 = Mat::<f32>::from_fn(n, m, |i, j| d64[(i, j)] as f32);
        // The sweeps aim at half the tolerance: their gap, accumulated in f64 from the f32
        // correlations, differs from the certified one by a fraction of the floor.
        let tol = self.gap_tol.max(F32_GAP_FLOOR);
        let inner = CoordinateDescent {
            gap_tol: 0.5 * tol,
            ..self.clone()
        };
        let (lambda, nonneg) = (self.lambda, self.nonneg);
        // Per chunk: D^T Y in f32 for the sweeps, and in f64 for the certificate.
        let (codes, reports) = map_chunks(
            y,
            m,
            self.par,
            || F32Scratch {
                cd: Scratch::new(g.as_ref(), n, self.working_set),
                dty: Mat::zeros(m, CHUNK),
                dty64: Mat::zeros(m, CHUNK),
                y64: Mat::zeros(n, CHUNK),
                x64: vec![0.0; m],
                u32: vec![0.0; m],
                r: vec![0.0; n],
                dtr: vec![0.0; m],
            },
            |f, first, yc, mut xc, rc| {
                let w = yc.ncols();
                let mut dty = f.dty.as_mut().subcols_mut(0, w);
                let ta = d32.transpose();
                matmul(dty.as_mut(), Accum::Replace, ta, yc, 1.0, Par::Seq);
                let mut y64 = f.y64.as_mut().subcols_mut(0, w);
                y64.copy_from(faer::zip!(yc).map(|faer::unzip!(v)| *v as f64));
                let mut dty64 = f.dty64.as_mut().subcols_mut(0, w);
                let ta = d64.transpose();
                matmul(
                    dty64.as_mut(),
                    Accum::Replace,
                    ta,
                    y64.as_ref(),
                    1.0,
                    Par::Seq,
                );
                for (k, rep) in rc.iter_mut().enumerate() {
                    let xj = column_mut(xc.as_mut(), k);
                    f.u32.fill(0.0);
                    let end = inner.kernel(
                        &mut f.cd,
                        g.as_ref(),
                        &column(yc, k),
                        &column(dty.as_ref(), k),
                        first + k,
                        xj,
                        Some(&mut f.u32),
                    );
                    for (a, &b) in f.x64.iter_mut().zip(xj.iter()) {
                        *a = b as f64;
                    }
                    let (yk, dtyk) = (column(y64.as_ref(), k), column(dty64.as_ref(), k));
                    let (objective, mut gap, residual_norm) = sparse_diagnostics(
                        d64,
                        g64.as_ref(),
                        &yk,
                        &dtyk,
                        &f.x64,
                        lambda,
                        nonneg,
                        &mut f.r,
                        &mut f.dtr,
                    );
                    // The best dual point of the sweeps, its rescaled residual in f64.
                    if gap.is_finite() && objective > 0.0 {
                        for (a, &b) in f.x64.iter_mut().zip(f.u32.iter()) {
                            *a = b as f64;
                        }
                        let dual = dual_at(
                            d64,
                            g64.as_ref(),
                            &yk,
                            &dtyk,
                            &f.x64,
                            lambda,
                            nonneg,
                            &mut f.r,
                            &mut f.dtr,
                        );
                        let y2: f64 = yk.iter().map(|v| v * v).sum();
                        gap = gap.min(relative_gap(objective, dual, y2));
                    }
                    *rep = Report {
                        iterations: end.sweeps,
                        converged: end.converged && gap <= tol,
                        objective,
                        residual_norm,
                        duality_gap: gap,
                    };
                }
            },
        );
        Ok(assemble(codes, &reports, true))
    }

    /// Coordinate descent on one signal; with `dual_x`, the point whose rescaled residual gave
    /// the best dual value is written there (zero when none did).
    #[allow(clippy::too_many_arguments)]
    fn kernel<T: Scalar>(
        &self,
        s: &mut Scratch<T>,
        g: MatRef<'_, T>,
        y: &[T],
        dty: &[T],
        signal: usize,
        x: &mut [T],
        dual_x: Option<&mut [T]>,
    ) -> End {
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = Avx2Fma::detect() {
            // SAFETY: the token proves that the CPU supports AVX2 and FMA.
            return unsafe { self.kernel_avx2(token, s, g, y, dty, signal, x, dual_x) };
        }
        self.kernel_impl(s, g, y, dty, signal, x, dual_x)
    }

    /// [`kernel`](Self::kernel) compiled for AVX2 + FMA (the covariance updates vectorise;
    /// no FMA contraction, so the codes are bit-identical to the portable build's).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn kernel_avx2<T: Scalar>(
        &self,
        _: Avx2Fma,
        s: &mut Scratch<T>,
        g: MatRef<'_, T>,
        y: &[T],
        dty: &[T],
        signal: usize,
        x: &mut [T],
        dual_x: Option<&mut [T]>,
    ) -> End {
        self.kernel_impl(s, g, y, dty, signal, x, dual_x)
    }

    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn kernel_impl<T: Scalar>(
        &self,
        s: &mut Scratch<T>,
        g: MatRef<'_, T>,
        y: &[T],
        dty: &[T],
        signal: usize,
        x: &mut [T],
        mut dual_x: Option<&mut [T]>,
    ) -> End {
        if self.working_set {
            return self.kernel_ws(s, g, y, dty, signal, x, dual_x);
        }
        let (lambda, m) = (self.lambda, x.len());
        let lam = T::of(lambda);
        let y2: f64 = y.iter().map(|&v| v.into() * v.into()).sum();
        s.c.copy_from_slice(dty);
        let mut sweeps = 0;
        let mut converged = false;
        let mut best_dual = f64::NEG_INFINITY;
        let mut gap;
        let mut refreshed = false;
        loop {
            // ||r||^2 = ||y||^2 - 2 x.D^T y + x.G x, with G x = D^T y - c.
            let c = &s.c;
            let xd = dot(x, dty);
            let xc = dot(x, c);
            let r2 = (y2 - xd - xc).max(0.0);
            let l1 = l1_norm(x);
            let obj = 0.5 * r2 + lambda * l1;
            let dual = dual_from_parts(r2, y2 - xd, c, lambda, self.nonneg);
            if dual > best_dual {
                best_dual = dual;
                if let Some(u) = dual_x.as_deref_mut() {
                    u.copy_from_slice(x);
                }
            }
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
                if let Some(e) = extrapolate(&s.xs, &s.cs, g, sweeps, dty, y2, lambda, self.nonneg)
                {
                    if e.dual > best_dual {
                        best_dual = e.dual;
                        if let Some(u) = dual_x.as_deref_mut() {
                            u.copy_from_slice(&e.x);
                        }
                    }
                    // Anderson acceleration of the iterate (Bertrand & Massias 2021): the
                    // extrapolated point replaces the iterate when its objective is lower.
                    if e.primal < obj {
                        accepted = true;
                        obj = e.primal;
                        x.copy_from_slice(&e.x);
                        s.c.copy_from_slice(&e.c);
                        let dual = dual_from_parts(e.r2, e.ry, &s.c, lambda, self.nonneg);
                        if dual > best_dual {
                            best_dual = dual;
                            if let Some(u) = dual_x.as_deref_mut() {
                                u.copy_from_slice(x);
                            }
                        }
                    }
                }
            }
            // Every POLISH_EVERY sweeps, the exact minimiser on the current sign pattern.
            if !accepted && !refreshed && sweeps > 0 && sweeps % POLISH_EVERY == 0 {
                if let Some(o) = polish(&mut s.ws.pidx, g, x, &mut s.c, dty, y2, lambda, obj) {
                    accepted = true;
                    obj = o;
                    let xd = dot(x, dty);
                    let r2 = (y2 - xd - dot(x, &s.c)).max(0.0);
                    let dual = dual_from_parts(r2, y2 - xd, &s.c, lambda, self.nonneg);
                    if dual > best_dual {
                        best_dual = dual;
                        if let Some(u) = dual_x.as_deref_mut() {
                            u.copy_from_slice(x);
                        }
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
            if let (Some(obs), false) = (&self.observer, refreshed) {
                obs.report(Progress {
                    signal,
                    iteration: sweeps,
                    objective: obj,
                });
            }
            // An extrapolated point can carry tiny entries off the support (combinations of
            // iterates where a coordinate moved); the sweep after it sets them exactly to zero,
            // so convergence is only declared at a swept iterate. The covariance updates
            // accumulate rounding over the sweeps (in f32 enough to matter): convergence is
            // declared only once the gap holds with the correlations recomputed exactly.
            if gap <= self.gap_tol && !accepted {
                if refreshed {
                    converged = true;
                    break;
                }
                exact_correlations(g, x, dty, c);
                refreshed = true;
                continue;
            }
            if sweeps >= self.max_iter {
                break;
            }
            refreshed = false;
            for i in 0..m {
                let gi = gcol(g, i);
                let gii = gi[i];
                let old = x[i];
                let z = old * gii + c[i];
                let new = shrink(z, lam, self.nonneg) / gii;
                if new != old {
                    let delta = new - old;
                    x[i] = new;
                    for (cv, &gv) in c.iter_mut().zip(gi) {
                        *cv -= delta * gv;
                    }
                }
            }
            sweeps += 1;
        }
        End {
            gap,
            sweeps,
            converged,
        }
    }

    /// The working-set solver on one signal (see the type's documentation).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn kernel_ws<T: Scalar>(
        &self,
        s: &mut Scratch<T>,
        g: MatRef<'_, T>,
        y: &[T],
        dty: &[T],
        signal: usize,
        x: &mut [T],
        mut dual_x: Option<&mut [T]>,
    ) -> End {
        let (lambda, nonneg, m) = (self.lambda, self.nonneg, x.len());
        let y2: f64 = y.iter().map(|&v| v.into() * v.into()).sum();
        // Rounding allowance on the gap before it sizes the Gap Safe sphere.
        let slack = T::screening_slack(m) * y2;
        s.ws.screened.fill(false);
        let mut sweeps = 0;
        let mut converged = false;
        let mut best_dual = f64::NEG_INFINITY;
        let mut gap;
        let mut ws_size = 0;
        let mut grow = false;
        let mut has_acc = false;
        let mut outer = 0usize;
        loop {
            // Exact correlations c = D^T y - G x over the support.
            let c = &mut s.c;
            exact_correlations(g, x, dty, c);
            let xd = dot(x, dty);
            let xc = dot(x, c);
            let r2 = (y2 - xd - xc).max(0.0);
            let l1 = l1_norm(x);
            let obj = 0.5 * r2 + lambda * l1;
            // The rescaled residual, against all atoms.
            let sc = dual_scale(c, lambda, nonneg);
            let dual = sc * (y2 - xd) - 0.5 * sc * sc * r2;
            if dual > best_dual {
                best_dual = dual;
                for (t, &cv) in s.ws.theta.iter_mut().zip(c.iter()) {
                    *t = sc * cv.into();
                }
                if let Some(u) = dual_x.as_deref_mut() {
                    u.copy_from_slice(x);
                }
            }
            // The last subproblem's extrapolated point, rescaled against all atoms.
            if has_acc {
                let w = &mut s.ws;
                let k = w.set.len();
                w.cacc.copy_from_slice(dty);
                for (t, &i) in w.set.iter().enumerate() {
                    let xi = w.acc[t];
                    if xi != T::zero() {
                        for (cv, &gv) in w.cacc.iter_mut().zip(gcol(g, i)) {
                            *cv -= xi * gv;
                        }
                    }
                }
                let xd: f64 = (0..k).map(|t| w.acc[t].into() * dty[w.set[t]].into()).sum();
                let xc: f64 = (0..k)
                    .map(|t| w.acc[t].into() * w.cacc[w.set[t]].into())
                    .sum();
                let r2 = (y2 - xd - xc).max(0.0);
                let sa = dual_scale(&w.cacc, lambda, nonneg);
                let dual = sa * (y2 - xd) - 0.5 * sa * sa * r2;
                if dual.is_finite() && dual > best_dual {
                    best_dual = dual;
                    for (t, &cv) in w.theta.iter_mut().zip(&w.cacc) {
                        *t = sa * cv.into();
                    }
                    if let Some(u) = dual_x.as_deref_mut() {
                        u.fill(T::zero());
                        for (t, &i) in w.set.iter().enumerate() {
                            u[i] = w.acc[t];
                        }
                    }
                }
            }
            let gap_abs = obj - best_dual;
            gap = relative_gap(obj, best_dual, y2);
            if sweeps == 0 {
                if let Some(obs) = &self.observer {
                    obs.report(Progress {
                        signal,
                        iteration: 0,
                        objective: obj,
                    });
                }
            }
            if gap <= self.gap_tol {
                converged = true;
                break;
            }
            if sweeps >= self.max_iter || !gap.is_finite() {
                break;
            }
            let w = &mut s.ws;
            // Gap Safe screening with the best dual point.
            let radius = (2.0 * (gap_abs.max(0.0) + slack)).sqrt();
            let mut unscreened = 0;
            for i in 0..m {
                if w.screened[i] {
                    continue;
                }
                let t = if nonneg { w.theta[i] } else { w.theta[i].abs() };
                if (lambda - t) / w.norms[i] > radius {
                    let xi = x[i];
                    if xi == T::zero() {
                        w.screened[i] = true;
                        continue;
                    }
                    // Zeroing x_i changes the objective by x_i c_i + x_i^2 G_ii / 2 - lambda |x_i|.
                    let gi = gcol(g, i);
                    let (xf, cf, gf) = (xi.into(), c[i].into(), gi[i].into());
                    if xf * cf + 0.5 * xf * xf * gf - lambda * xf.abs() <= 0.0 {
                        for (cv, &gv) in c.iter_mut().zip(gi) {
                            *cv += xi * gv;
                        }
                        x[i] = T::zero();
                        w.screened[i] = true;
                        continue;
                    }
                }
                unscreened += 1;
            }
            // Working set: the support, then the smallest scores against the current point.
            let mut nnz = 0;
            w.set.clear();
            for i in 0..m {
                if w.screened[i] {
                    continue;
                }
                w.set.push(i);
                w.score[i] = if x[i] != T::zero() {
                    nnz += 1;
                    f64::NEG_INFINITY
                } else {
                    let ci: f64 = c[i].into();
                    let t = sc * if nonneg { ci } else { ci.abs() };
                    (lambda - t) / w.norms[i]
                };
            }
            let mut target = if outer == 0 {
                self.ws_start.max(nnz)
            } else {
                self.ws_start.max(2 * nnz).max(ws_size)
            };
            if grow {
                target = target.max(2 * ws_size);
            }
            ws_size = target.min(unscreened);
            if ws_size < w.set.len() {
                let score = &w.score;
                w.set
                    .select_nth_unstable_by(ws_size, |&a, &b| score[a].total_cmp(&score[b]));
                w.set.truncate(ws_size);
                w.set.sort_unstable();
            }
            // Never beyond what the full stopping test needs.
            let tol_abs = (self.ws_inner_ratio * gap_abs).max(0.5 * self.gap_tol * obj);
            let (solved_on_entry, acc) = self.subproblem(
                w,
                &mut s.xs,
                &mut s.cs,
                g,
                x,
                c,
                dty,
                y2,
                tol_abs,
                &mut sweeps,
                signal,
            );
            grow = solved_on_entry;
            has_acc = acc;
            outer += 1;
        }
        End {
            gap,
            sweeps,
            converged,
        }
    }

    /// Coordinate descent on the working set `w.set` from `x` (supported on it) and its exact
    /// correlations `c`, until the subproblem's gap is `<= tol_abs` at a swept iterate (at
    /// least one sweep) or `sweeps` reaches `max_iter`; writes `x_W` back. Returns whether the
    /// subproblem was solved on entry, and whether its best dual point is an extrapolated one
    /// (left in `w.acc`).
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    fn subproblem<T: Scalar>(
        &self,
        w: &mut WsScratch<T>,
        xs: &mut [Vec<T>],
        cs: &mut [Vec<T>],
        g: MatRef<'_, T>,
        x: &mut [T],
        c: &[T],
        dty: &[T],
        y2: f64,
        tol_abs: f64,
        sweeps: &mut usize,
        signal: usize,
    ) -> (bool, bool) {
        let (lambda, nonneg) = (self.lambda, self.nonneg);
        let lam = T::of(lambda);
        let k = w.set.len();
        for (t, &i) in w.set.iter().enumerate() {
            w.xw[t] = x[i];
            w.cw[t] = c[i];
            w.dw[t] = dty[i];
            let gi = gcol(g, i);
            let col = &mut w.gw[t * k..(t + 1) * k];
            for (gv, &j) in col.iter_mut().zip(&w.set) {
                *gv = gi[j];
            }
        }
        let (xw, cw, dw) = (&mut w.xw[..k], &mut w.cw[..k], &w.dw[..k]);
        let gw = MatRef::from_column_major_slice(&w.gw[..k * k], k, k);
        let mut local = 0;
        let mut best = f64::NEG_INFINITY;
        let mut from_acc = false;
        let mut solved_on_entry = false;
        loop {
            let xd = dot(xw, dw);
            let xc = dot(xw, cw);
            let r2 = (y2 - xd - xc).max(0.0);
            let l1 = l1_norm(xw);
            let mut obj = 0.5 * r2 + lambda * l1;
            let dual = dual_from_parts(r2, y2 - xd, cw, lambda, nonneg);
            if dual > best {
                (best, from_acc) = (dual, false);
            }
            let slot = local % (EXTRAPOLATION + 1);
            xs[slot][..k].copy_from_slice(xw);
            cs[slot][..k].copy_from_slice(cw);
            let mut accepted = false;
            if local >= 2 * (EXTRAPOLATION + 1) && local % (EXTRAPOLATION + 1) == EXTRAPOLATION {
                if let Some(e) = extrapolate(xs, cs, gw, local, dw, y2, lambda, nonneg) {
                    if e.dual > best {
                        (best, from_acc) = (e.dual, true);
                        w.acc[..k].copy_from_slice(&e.x);
                    }
                    if e.primal < obj {
                        accepted = true;
                        obj = e.primal;
                        xw.copy_from_slice(&e.x);
                        cw.copy_from_slice(&e.c);
                        let d = dual_from_parts(e.r2, e.ry, cw, lambda, nonneg);
                        if d > best {
                            (best, from_acc) = (d, false);
                        }
                    }
                }
            }
            // Every POLISH_EVERY sweeps, the exact minimiser on the current sign pattern.
            if !accepted && local > 0 && local % POLISH_EVERY == 0 {
                if let Some(o) = polish(&mut w.pidx, gw, xw, cw, dw, y2, lambda, obj) {
                    accepted = true;
                    obj = o;
                    let xd = dot(xw, dw);
                    let xc = dot(xw, cw);
                    let r2 = (y2 - xd - xc).max(0.0);
                    let d = dual_from_parts(r2, y2 - xd, cw, lambda, nonneg);
                    if d > best {
                        (best, from_acc) = (d, false);
                    }
                }
            }
            if local > 0 {
                if let Some(obs) = &self.observer {
                    obs.report(Progress {
                        signal,
                        iteration: *sweeps,
                        objective: obj,
                    });
                }
            }
            let done = obj - best <= tol_abs && !accepted;
            if done && local == 0 {
                solved_on_entry = true;
            }
            if (done && local > 0) || *sweeps >= self.max_iter {
                break;
            }
            for t in 0..k {
                let gt = &gw.col(t).try_as_col_major().expect("contiguous").as_slice();
                let gtt = gt[t];
                let old = xw[t];
                let z = old * gtt + cw[t];
                let new = shrink(z, lam, nonneg) / gtt;
                if new != old {
                    let delta = new - old;
                    xw[t] = new;
                    for (cv, &gv) in cw.iter_mut().zip(gt.iter()) {
                        *cv -= delta * gv;
                    }
                }
            }
            local += 1;
            *sweeps += 1;
        }
        for (t, &i) in w.set.iter().enumerate() {
            x[i] = xw[t];
        }
        (solved_on_entry, from_acc)
    }
}

/// Sweeps of a working-set subproblem between two support polishes.
const POLISH_EVERY: usize = 10;

/// The support polish of a working-set subproblem: with `S` the support of `xw` and `s` its
/// signs, the minimiser of the Lasso restricted to that sign pattern solves
/// `G_SS z = (D^T y)_S - lambda s` (one Cholesky factorisation, `O(|S|^3)`). When `z` has the
/// signs `s` it is the exact subproblem solution if the pattern is right; when some sign
/// flips, the step stops at the first zero crossing on the segment from `x_S` to `z` (that
/// atom leaves the support, as in the homotopy's drop). The point replaces `xw` (and
/// `cw = (D^T y)_W - G_WS z`) only when its objective is lower, so the descent stays monotone.
/// This closes the slow tail of coordinate descent on coherent atoms (the overcomplete DCT),
/// where sweeps converge linearly at a rate near 1, e.g. while a spurious atom decays. Returns
/// the new objective, or `None` (nothing changed) when `G_SS` is numerically singular or the
/// objective does not decrease.
#[allow(clippy::too_many_arguments)]
fn polish<T: Scalar>(
    idx: &mut Vec<usize>,
    gw: MatRef<'_, T>,
    xw: &mut [T],
    cw: &mut [T],
    dw: &[T],
    y2: f64,
    lambda: f64,
    obj: f64,
) -> Option<f64> {
    idx.clear();
    idx.extend((0..xw.len()).filter(|&t| xw[t] != T::zero()));
    let k = idx.len();
    if k == 0 {
        return None;
    }
    let n = xw.len();
    // G_WS (the support's columns of the subproblem Gram), G_SS and the restricted right side.
    let lam = T::of(lambda);
    let gws = Mat::<T>::from_fn(n, k, |t, j| gw[(t, idx[j])]);
    let gss = Mat::<T>::from_fn(k, k, |i, j| gws[(idx[i], j)]);
    let rhs = Mat::<T>::from_fn(k, 1, |i, _| dw[idx[i]] - lam * xw[idx[i]].signum());
    let llt = gss.llt(faer::Side::Lower).ok()?;
    let mut z = llt.solve(rhs.as_ref());
    // Where a sign would flip, stop at the first crossing on the segment from x_S to z: the
    // restricted objective is a convex quadratic minimised at z, so it decreases along the
    // segment while the signs hold, and the crossing atom leaves the support exactly.
    let mut t = T::one();
    for i in 0..k {
        let (xi, zi) = (xw[idx[i]], z[(i, 0)]);
        if !zi.is_finite() {
            return None;
        }
        if zi.signum() != xi.signum() || zi == T::zero() {
            t = t.min(xi / (xi - zi));
        }
    }
    if t.is_nan() || t <= T::zero() {
        return None;
    }
    let drop = T::of(1e-12);
    for i in 0..k {
        let xi = xw[idx[i]];
        let zi = xi + t * (z[(i, 0)] - xi);
        z[(i, 0)] = if zi.signum() != xi.signum() || (t < T::one() && (zi / xi).abs() <= drop) {
            T::zero()
        } else {
            zi
        };
    }
    // The candidate's correlations c' = (D^T y)_W - G_WS z and objective
    // 0.5 (|y|^2 - x'.(D^T y)_W - x'.c') + lambda |x'|_1.
    let mut c = Mat::<T>::from_fn(n, 1, |t, _| dw[t]);
    matmul(
        c.as_mut(),
        Accum::Add,
        gws.as_ref(),
        z.as_ref(),
        -T::one(),
        Par::Seq,
    );
    let (mut xd, mut xc, mut l1) = (0.0f64, 0.0f64, 0.0f64);
    for i in 0..k {
        let zi: f64 = z[(i, 0)].into();
        xd += zi * dw[idx[i]].into();
        xc += zi * c[(idx[i], 0)].into();
        l1 += zi.abs();
    }
    let cand = 0.5 * (y2 - xd - xc).max(0.0) + lambda * l1;
    if cand.is_nan() || cand >= obj {
        return None;
    }
    xw.fill(T::zero());
    for i in 0..k {
        xw[idx[i]] = z[(i, 0)];
    }
    for (t, ct) in cw.iter_mut().enumerate() {
        *ct = c[(t, 0)];
    }
    Some(cand)
}

/// The dual objective at the Anderson-extrapolated residual `r_acc = sum_k w_k r_k` of the
/// last `EXTRAPOLATION` iterates (`w` from `(U^T U) z = 1`, `w = z / sum z`, `U` the residual
/// differences; `U^T U = -dx_a . dc_b` since `D^T dr = dc = -G dx`), all in the coefficient
/// domain: `x_acc = sum w_k x_k`, `D^T r_acc = D^T y - G x_acc`, `||r_acc||^2 = ||y||^2 -
/// x_acc . D^T y - x_acc . c_acc`. `None` when the system is singular.
#[allow(clippy::too_many_arguments)]
fn extrapolate<T: Scalar>(
    xs: &[Vec<T>],
    cs: &[Vec<T>],
    g: MatRef<'_, T>,
    sweeps: usize,
    dty: &[T],
    y2: f64,
    lambda: f64,
    nonneg: bool,
) -> Option<Extrapolated<T>> {
    let k = EXTRAPOLATION;
    let ring = k + 1;
    // Oldest to newest: sweeps - k, ..., sweeps.
    let idx = |t: usize| (sweeps - k + t) % ring;
    let m = dty.len();
    // U^T U from the sparse differences of the iterates (only the coordinates that moved).
    let mut utu = Mat::<f64>::zeros(k, k);
    for a in 0..k {
        let (xa1, xa0) = (&xs[idx(a + 1)][..m], &xs[idx(a)][..m]);
        for b in 0..k {
            let (cb1, cb0) = (&cs[idx(b + 1)][..m], &cs[idx(b)][..m]);
            let mut v = 0.0;
            for i in 0..m {
                let dx = xa1[i] - xa0[i];
                if dx != T::zero() {
                    v -= dx.into() * (cb1[i] - cb0[i]).into();
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
    let mut x_acc = vec![T::zero(); m];
    for t in 0..k {
        let w = T::of(z[(t, 0)] / total);
        for (xa, &xv) in x_acc.iter_mut().zip(&xs[idx(t + 1)][..m]) {
            *xa += w * xv;
        }
    }
    if !x_acc.iter().all(|v| v.is_finite()) {
        return None;
    }
    let mut c_acc = vec![T::zero(); m];
    exact_correlations(g, &x_acc, dty, &mut c_acc);
    let xd = dot(&x_acc, dty);
    let xc = dot(&x_acc, &c_acc);
    let r2 = (y2 - xd - xc).max(0.0);
    let dual = dual_from_parts(r2, y2 - xd, &c_acc, lambda, nonneg);
    let feasible = !nonneg || x_acc.iter().all(|&v| v >= T::zero());
    let l1 = l1_norm(&x_acc);
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

/// Per-task scratch of the `f32` solve: the sweeps' scratch, a chunk's `D^T Y` in `f32` and
/// in `f64`, its signals in `f64`, and the `f64` certificate's vectors.
struct F32Scratch {
    cd: Scratch<f32>,
    dty: Mat<f32>,
    dty64: Mat<f64>,
    y64: Mat<f64>,
    x64: Vec<f64>,
    u32: Vec<f32>,
    r: Vec<f64>,
    dtr: Vec<f64>,
}

/// The dual value at the rescaled residual `s (y - D u)` (feasible for every `u`), with
/// `r = y - D u` and `D^T r = D^T y - G u` formed over the support of `u`; `r` and `dtr` are
/// scratch of lengths `n` and `m`.
#[allow(clippy::too_many_arguments)]
fn dual_at(
    d: MatRef<'_, f64>,
    g: MatRef<'_, f64>,
    y: &[f64],
    dty: &[f64],
    u: &[f64],
    lambda: f64,
    nonneg: bool,
    r: &mut [f64],
    dtr: &mut [f64],
) -> f64 {
    sparse_residual(d, g, y, dty, u, r, dtr);
    let r2: f64 = r.iter().map(|v| v * v).sum();
    let ry: f64 = r.iter().zip(y).map(|(a, b)| a * b).sum();
    dual_from_parts(r2, ry, dtr, lambda, nonneg)
}

/// `c = D^T y - G x`, over the support of `x`.
#[inline(always)]
fn exact_correlations<T: Scalar>(g: MatRef<'_, T>, x: &[T], dty: &[T], c: &mut [T]) {
    c.copy_from_slice(dty);
    for (i, &xi) in x.iter().enumerate() {
        if xi != T::zero() {
            for (cv, &gv) in c.iter_mut().zip(gcol(g, i)) {
                *cv -= xi * gv;
            }
        }
    }
}

/// Column `i` of the (owned, column-major) Gram matrix.
#[inline(always)]
fn gcol<T>(g: MatRef<'_, T>, i: usize) -> &[T] {
    g.col(i).try_as_col_major().expect("owned Gram").as_slice()
}

/// `a . b`, accumulated in `f64`.
#[inline(always)]
fn dot<T: Scalar>(a: &[T], b: &[T]) -> f64 {
    a.iter().zip(b).map(|(&u, &v)| u.into() * v.into()).sum()
}

/// `||x||_1`, accumulated in `f64`.
#[inline(always)]
fn l1_norm<T: Scalar>(x: &[T]) -> f64 {
    x.iter().map(|&v| v.into().abs()).sum()
}

/// The scaling `s = min(1, lambda / ||c||_inf)` (`max(c)` for the non-negative Lasso) that
/// makes `s r` dual feasible, `c = D^T r`.
fn dual_scale<T: Scalar>(c: &[T], lambda: f64, nonneg: bool) -> f64 {
    let dual_norm = if nonneg {
        c.iter().fold(0.0f64, |m, &v| m.max(v.into()))
    } else {
        c.iter().fold(0.0f64, |m, &v| m.max(v.into().abs()))
    };
    if dual_norm > lambda {
        lambda / dual_norm
    } else {
        1.0
    }
}

/// The relative gap `(obj - dual) / max(obj, eps ||y||^2 / 2)` (0 at `obj = 0`, NaN when not
/// finite), as [`super::lasso_gap`] reports it.
fn relative_gap(obj: f64, dual: f64, y2: f64) -> f64 {
    if obj.is_finite() && dual.is_finite() {
        let g = (obj - dual).max(0.0);
        if obj > 0.0 {
            g / obj.max(f64::EPSILON * 0.5 * y2)
        } else {
            0.0
        }
    } else {
        f64::NAN
    }
}

/// The extrapolated iterate: its dual value (a valid bound), its objective, and the point.
struct Extrapolated<T> {
    dual: f64,
    primal: f64,
    r2: f64,
    ry: f64,
    x: Vec<T>,
    c: Vec<T>,
}

impl Solve<Dictionary> for CoordinateDescent {
    type Output = Solution;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with `lambda`
    /// ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        self.check()?;
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

/// Coordinate descent of `f32` signals in `f32`: the Gram matrix (formed in `f64`) and the atoms
/// are rounded to `f32` once per call, `D^T Y` is an `f32` GEMM, and the sweeps (covariance
/// updates, the working sets' Grams, the support polish's Cholesky) run in `f32`, with twice
/// the lanes per vector register and half the memory traffic; objectives, gaps, screening tests
/// and the extrapolation weights accumulate in `f64`. A signal stops when that gap is
/// `<= max(gap_tol, F32_GAP_FLOOR) / 2` ([`F32_GAP_FLOOR`], `1e-4`, the resolution of an `f32`
/// code, as for [`Lars`](super::Lars) and [`Fista`](super::Fista)) or at `max_iter`. The codes
/// are `f32`; the reported objective, gap and residual norm are recomputed in `f64` from the
/// exact `f64` dictionary and signal, and `converged` requires that certified gap to be
/// `<= max(gap_tol, F32_GAP_FLOOR)` as well, so a screening decision made on rounded values
/// can cost convergence but never be reported as a solution it is not.
impl Solve<Dictionary, f32> for CoordinateDescent {
    type Output = Solution<Mat<f32>>;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with `lambda`
    /// ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay `f32`-finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f32>) -> Result<Solution<Mat<f32>>> {
        self.check()?;
        check::batch("y", y, d.signal_len())?;
        by_magnitude(
            y,
            Homogeneity::Quadratic,
            F32_SAFE_EXPONENT,
            |ys, s, cols| {
                CoordinateDescent {
                    lambda: self.lambda / s,
                    observer: self
                        .observer
                        .as_ref()
                        .map(|o| rescaled_observer(o, cols, s)),
                    ..self.clone()
                }
                .run_f32(d, ys)
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lasso::Lars;
    use sparse_core::{generate, LinearOperator, Noise};

    /// Gap Safe screening never drops an atom of the exact (LARS) solution's support, on a
    /// Gaussian and the coherent overcomplete DCT dictionary, signed and non-negative; and it
    /// does drop atoms (the test is not vacuous).
    #[test]
    fn screening_keeps_the_lars_support() {
        let mut rng = generate::rng(2015);
        let dicts = [
            Dictionary::random_gaussian(64, 256, &mut rng).unwrap(),
            Dictionary::overcomplete_dct(8, 256).unwrap(),
        ];
        for d in &dicts {
            let x0 = generate::sparseland_codes(256, 8, 20, 0.1, 1.0, &mut rng).unwrap();
            let y = generate::signals(d, x0.as_ref(), Noise::Sigma(0.02), &mut rng)
                .unwrap()
                .noisy;
            let dty_all = d.apply_adjoint(y.as_ref()).unwrap();
            let g = d.gram_par(Par::Seq);
            for nonneg in [false, true] {
                for frac in [0.05, 0.2, 0.5] {
                    let lambda = frac * dty_all.norm_max();
                    let cd = CoordinateDescent::new(lambda)
                        .gap_tol(1e-12)
                        .max_iter(50_000)
                        .nonneg(nonneg);
                    let lars = Lars::new(lambda)
                        .nonneg(nonneg)
                        .solve(d, y.as_ref())
                        .unwrap();
                    let mut s = Scratch::new(g.as_ref(), 64, true);
                    let mut screened = 0;
                    for j in 0..y.ncols() {
                        let yj: Vec<f64> = y.col(j).iter().copied().collect();
                        let dty: Vec<f64> = dty_all.col(j).iter().copied().collect();
                        let mut x = vec![0.0; 256];
                        let rep = cd.kernel_impl(&mut s, g.as_ref(), &yj, &dty, j, &mut x, None);
                        assert!(rep.converged);
                        for i in 0..256 {
                            if s.ws.screened[i] {
                                screened += 1;
                                assert_eq!(x[i], 0.0);
                                assert_eq!(
                                    lars.codes[(i, j)],
                                    0.0,
                                    "atom {i} of signal {j} screened but in the LARS support"
                                );
                            }
                        }
                    }
                    assert!(screened > 0, "nothing screened at {frac}, {nonneg}");
                }
            }
        }
    }
}
