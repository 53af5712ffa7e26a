//! FISTA (Beck & Teboulle 2009) with the adaptive gradient restart of O'Donoghue & Candès
//! (2015), and the proximal-gradient engine it shares with [`Ista`](super::Ista).
//!
//! The engine works on *blocks* of signals: with `X` the codes of a block (`m x w`), one step is
//! two matrix products (`D X` and `D^T R`, GEMMs for a dense dictionary) plus element-wise
//! shrinkage, so the work is as fast as the operator's batched products. Blocks run in
//! parallel with rayon; inside a block the signals that have converged are dropped from the
//! working set, so the products shrink as the block converges.
// Index loops over several parallel arrays read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use sparse_core::{check, Dictionary, LinearOperator};

use super::{
    check_common, check_lipschitz, check_warm, lasso_gap_of, rescaled_observer, run_blocks,
    select_columns, Observer, Progress, WorkingSet, F32_GAP_FLOOR,
};
use crate::error::Result;
use crate::greedy::{Real, F32_SAFE_EXPONENT};
use crate::result::{assemble, Report, Solution};
use crate::{Error, Solve};
use sparse_core::solve::{by_magnitude, Homogeneity, SAFE_EXPONENT};

/// FISTA for the (non-negative) Lasso `min 1/2 ||y - D x||^2 + lambda ||x||_1` on any
/// [`LinearOperator`] (Beck & Teboulle, *A fast iterative shrinkage-thresholding algorithm for
/// linear inverse problems*, SIAM J. Imaging Sci. 2009), with the gradient-based adaptive restart
/// of O'Donoghue & Candès (*Adaptive restart for accelerated gradient schemes*, Found. Comput.
/// Math. 2015): the momentum of a signal is reset whenever `<z_k - x_{k+1}, x_{k+1} - x_k> > 0`.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | penalty `lambda >= 0` |
/// | `gap_tol` | `1e-6` | stop a signal when its relative duality gap is `<= gap_tol` |
/// | `max_iter` | `5000` | cap on proximal steps per signal (`converged = false` when hit) |
/// | `nonneg` | `false` | solve the non-negative Lasso (`x >= 0`) |
/// | `restart` | `true` | adaptive gradient restart |
/// | `gap_every` | `10` | evaluate the duality gap every this many steps |
/// | `block_size` | `128` | signals per block (the width of the GEMMs) |
/// | `lipschitz` | `None` | `L = ||D||_2^2` (step `1/L`); `None` asks `op.lipschitz()` |
/// | `par` | `Par::rayon(0)` | parallelism across blocks (inside one block if only one) |
/// | `observer` | `None` | called with the objective of every signal after every step |
///
/// ```
/// use pursuit::{Solve, Summary};
/// use pursuit::lasso::Fista;
/// use sparse_core::{generate, Dictionary};
/// let mut rng = generate::rng(0);
/// let d = Dictionary::random_gaussian(20, 40, &mut rng)?;
/// let y = faer::Mat::<f64>::from_fn(20, 5, |i, j| ((i * 7 + j) % 5) as f64 - 2.0);
/// let res = Fista::new(0.5).gap_tol(1e-8).solve(&d, y.as_ref())?;
/// assert!(res.all_converged() && res.max_duality_gap().unwrap() <= 1e-8);
/// # Ok::<(), pursuit::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Fista {
    /// Penalty `lambda >= 0`.
    pub lambda: f64,
    /// Relative duality-gap tolerance.
    pub gap_tol: f64,
    /// Maximum number of proximal steps per signal.
    pub max_iter: usize,
    /// Non-negative Lasso.
    pub nonneg: bool,
    /// Adaptive gradient restart (O'Donoghue & Candès 2015).
    pub restart: bool,
    /// Duality-gap check period (steps).
    pub gap_every: usize,
    /// Signals per block.
    pub block_size: usize,
    /// Lipschitz constant `||D||_2^2` of the gradient; `None` computes `op.lipschitz()`.
    pub lipschitz: Option<f64>,
    /// Parallelism.
    pub par: Par,
    /// Progress callback.
    pub observer: Option<Observer>,
}

impl Fista {
    /// FISTA with penalty `lambda` and the defaults of the table above.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            gap_tol: 1e-6,
            max_iter: 5000,
            nonneg: false,
            restart: true,
            gap_every: 10,
            block_size: 128,
            lipschitz: None,
            par: Par::rayon(0),
            observer: None,
        }
    }

    sparse_core::setters! {
        /// Sets `gap_tol`.
        gap_tol: f64,
        /// Sets `max_iter`.
        max_iter: usize,
        /// Sets `nonneg`.
        nonneg: bool,
        /// Sets `restart`.
        restart: bool,
        /// Sets `gap_every`.
        gap_every: usize,
        /// Sets `block_size`.
        block_size: usize,
    }
    /// Sets the Lipschitz constant `L` (step `1/L`); it must be `>= ||D||_2^2`.
    pub fn lipschitz(mut self, l: f64) -> Self {
        self.lipschitz = Some(l);
        self
    }
    sparse_core::setters! {
        /// Sets `par`.
        par: Par,
    }
    /// Sets the progress callback.
    pub fn observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// [`Solve::solve`] from the warm start `x0` (`op.ncols() x n_signals`).
    pub fn solve_warm<Op: LinearOperator + ?Sized>(
        &self,
        op: &Op,
        y: MatRef<'_, f64>,
        x0: MatRef<'_, f64>,
    ) -> Result<Solution> {
        self.engine(true)?.run(op, y, Some(x0))
    }

    pub(crate) fn engine(&self, accelerated: bool) -> Result<ProxGrad<'_>> {
        ProxGrad {
            lambda: self.lambda,
            gap_tol: self.gap_tol,
            max_iter: self.max_iter,
            nonneg: self.nonneg,
            accelerated,
            restart: self.restart,
            gap_every: self.gap_every,
            block_size: self.block_size,
            lipschitz: self.lipschitz,
            par: self.par,
            observer: self.observer.as_ref(),
        }
        .validated()
    }
}

/// Solves the Lasso for every column of `y` (`op.nrows() x n_signals`) from `x = 0`, on any
/// [`LinearOperator`] (a dense dictionary, a convolutional or multi-layer operator).
impl<Op: LinearOperator + ?Sized> Solve<Op> for Fista {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, op: &Op, y: MatRef<'_, f64>) -> Result<Solution> {
        self.engine(true)?.run(op, y, None)
    }
}

/// FISTA of `f32` signals in `f32` on a dense dictionary: the atoms are rounded to `f32` once
/// per call and the iterations (the GEMMs `D Z`, `D^T R`, shrinkage, momentum) run in `f32`,
/// with the step `1/L` from the `f64` dictionary's `L = ||D||_2^2`. A signal stops when its
/// relative duality gap, accumulated in `f64` from the `f32` iterates, is
/// `<= max(gap_tol, F32_GAP_FLOOR) / 2` ([`F32_GAP_FLOOR`], `1e-4`: the resolution of an `f32`
/// code; the half is a margin for the rounding of the `f32` correlations) or at `max_iter`. The codes are `f32`; the reported objective, gap and residual norm
/// are recomputed in `f64` from the exact `f64` dictionary and signal, and `converged` requires
/// that certified gap to be `<= max(gap_tol, F32_GAP_FLOOR)` as well. There is no `f32` warm
/// start.
impl Solve<Dictionary, f32> for Fista {
    type Output = Solution<Mat<f32>>;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with `lambda`
    /// ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay `f32`-finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f32>) -> Result<Solution<Mat<f32>>> {
        self.engine(true)?.run_f32(d, y)
    }
}

/// The two products of a proximal-gradient step, in the precision `T` of the iterates.
pub(crate) trait Products<T>: Sync {
    /// `(signal length, code length)`.
    fn dims(&self) -> (usize, usize);
    /// `out = D x`.
    fn forward(&self, x: MatRef<'_, T>, out: MatMut<'_, T>, par: Par);
    /// `out = D^T r`.
    fn adjoint(&self, r: MatRef<'_, T>, out: MatMut<'_, T>, par: Par);
}

impl<Op: LinearOperator + ?Sized> Products<f64> for Op {
    fn dims(&self) -> (usize, usize) {
        (self.nrows(), self.ncols())
    }
    fn forward(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        self.apply_raw(x, out, par)
    }
    fn adjoint(&self, r: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        self.apply_adjoint_raw(r, out, par)
    }
}

/// A dense dictionary's atoms rounded to `f32` (products by faer's `f32` GEMM).
struct Dense32(Mat<f32>);

impl Products<f32> for Dense32 {
    fn dims(&self) -> (usize, usize) {
        (self.0.nrows(), self.0.ncols())
    }
    fn forward(&self, x: MatRef<'_, f32>, out: MatMut<'_, f32>, par: Par) {
        matmul(out, Accum::Replace, self.0.as_ref(), x, 1.0, par);
    }
    fn adjoint(&self, r: MatRef<'_, f32>, out: MatMut<'_, f32>, par: Par) {
        matmul(out, Accum::Replace, self.0.transpose(), r, 1.0, par);
    }
}

/// The proximal-gradient engine behind [`Fista`] and [`Ista`](super::Ista).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ProxGrad<'a> {
    pub lambda: f64,
    pub gap_tol: f64,
    pub max_iter: usize,
    pub nonneg: bool,
    /// FISTA momentum (false: plain ISTA).
    pub accelerated: bool,
    pub restart: bool,
    pub gap_every: usize,
    pub block_size: usize,
    pub lipschitz: Option<f64>,
    pub par: Par,
    pub observer: Option<&'a Observer>,
}

/// Per-block constants.
struct Ctx<'a, T, Op: ?Sized> {
    p: &'a ProxGrad<'a>,
    op: &'a Op,
    step: T,
    /// The gap tolerance of the iterations (`gap_tol`, floored for `f32`).
    tol: f64,
    par: Par,
}

impl<'a> ProxGrad<'a> {
    fn validated(self) -> Result<Self> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::count("gap_every", self.gap_every, usize::MAX)?;
        check::count("block_size", self.block_size, usize::MAX)?;
        if let Some(l) = self.lipschitz {
            check::positive("lipschitz", l)?;
        }
        Ok(self)
    }

    /// Runs the engine on every column of `y`.
    pub(crate) fn run<Op: LinearOperator + ?Sized>(
        &self,
        op: &Op,
        y: MatRef<'_, f64>,
        x0: Option<MatRef<'_, f64>>,
    ) -> Result<Solution> {
        check::count("op.ncols()", op.ncols(), usize::MAX)?;
        check::batch("y", y, op.nrows())?;
        if let Some(x0) = x0 {
            check_warm(x0, op.ncols(), y.ncols())?;
        }
        let l = self.lipschitz.unwrap_or_else(|| op.lipschitz());
        check_lipschitz(l)?;
        // Signals of extreme magnitude are coded divided by a power of two (with `lambda` and
        // the warm start), so that the squared norms of the gap neither overflow nor underflow.
        by_magnitude(y, Homogeneity::Quadratic, SAFE_EXPONENT, |ys, s, cols| {
            if s == 1.0 && cols.len() == y.ncols() {
                return self.run_unscaled(op, ys, x0, l);
            }
            let x0s = x0.map(|x0| select_columns(x0, cols, 1.0 / s));
            let observer = self.observer.map(|o| rescaled_observer(o, cols, s));
            let scaled = ProxGrad {
                lambda: self.lambda / s,
                observer: observer.as_ref(),
                ..*self
            };
            scaled.run_unscaled(op, ys, x0s.as_ref().map(|x| x.as_ref()), l)
        })
    }

    /// [`run`](Self::run) once the inputs are checked, for signals of safe magnitude.
    fn run_unscaled<Op: LinearOperator + ?Sized>(
        &self,
        op: &Op,
        y: MatRef<'_, f64>,
        x0: Option<MatRef<'_, f64>>,
        l: f64,
    ) -> Result<Solution> {
        let (codes, reports) = self.blocks(op, y, x0, 1.0 / l, self.gap_tol);
        Ok(assemble(codes, &reports, true))
    }

    /// The blocks of the solve, in the precision `T` of `op`'s products.
    fn blocks<T: Real, P: Products<T> + ?Sized>(
        &self,
        op: &P,
        y: MatRef<'_, T>,
        x0: Option<MatRef<'_, T>>,
        step: T,
        tol: f64,
    ) -> (Mat<T>, Vec<Report>) {
        let (m, b) = (op.dims().1, y.ncols());
        run_blocks(self.par, self.block_size, m, b, |first, xc, rc, par| {
            let ctx = Ctx {
                p: self,
                op,
                step,
                tol,
                par,
            };
            let w = xc.ncols();
            let x0b = x0.map(|x0| x0.subcols(first, w));
            run_block(&ctx, y.subcols(first, w), x0b, first, xc, rc);
        })
    }

    /// The `f32` solve on a dense dictionary (see `Solve<Dictionary, f32> for Fista`).
    pub(crate) fn run_f32(&self, d: &Dictionary, y: MatRef<'_, f32>) -> Result<Solution<Mat<f32>>> {
        check::batch("y", y, d.signal_len())?;
        let l = self.lipschitz.unwrap_or_else(|| d.lipschitz());
        check_lipschitz(l)?;
        let d64 = d.matrix();
        let d32 = Dense32(Mat::from_fn(d64.nrows(), d64.ncols(), |i, j| {
            d64[(i, j)] as f32
        }));
        // The rounded atoms' norm exceeds `L` by a relative `~1e-7` at most: a step of
        // `1 / (L (1 + 1e-6))` stays below `1 / ||D_32||^2`.
        let step = (1.0 / (l * (1.0 + 1e-6))) as f32;
        // The iterations aim at half the tolerance: the gap accumulated from `f32` correlations
        // differs from the certified one by up to a few percent of the floor.
        let tol = self.gap_tol.max(F32_GAP_FLOOR);
        by_magnitude(
            y,
            Homogeneity::Quadratic,
            F32_SAFE_EXPONENT,
            |ys, s, cols| {
                let observer = self.observer.map(|o| rescaled_observer(o, cols, s));
                let scaled = ProxGrad {
                    lambda: self.lambda / s,
                    observer: observer.as_ref(),
                    ..*self
                };
                let (codes, mut reports) = scaled.blocks(&d32, ys, None, step, 0.5 * tol);
                let (lam, nonneg) = (scaled.lambda, self.nonneg);
                certify_f32(
                    d64,
                    ys,
                    codes.as_ref(),
                    &mut reports,
                    lam,
                    nonneg,
                    tol,
                    self.par,
                );
                Ok(assemble(codes, &reports, true))
            },
        )
    }
}

/// Replaces the diagnostics of `f32` codes of `y` by their `f64` values on the exact
/// dictionary `d` (`R = Y - D X` and `D^T R` by GEMMs over chunks of columns); a code stays
/// `converged` only if the certified gap is `<= tol`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn certify_f32(
    d: MatRef<'_, f64>,
    y: MatRef<'_, f32>,
    codes: MatRef<'_, f32>,
    reports: &mut [Report],
    lambda: f64,
    nonneg: bool,
    tol: f64,
    par: Par,
) {
    const CHUNK: usize = 256;
    let (n, m, b) = (d.nrows(), d.ncols(), y.ncols());
    let mut r = Mat::<f64>::zeros(n, CHUNK.min(b));
    let mut c = Mat::<f64>::zeros(m, CHUNK.min(b));
    let mut x = Mat::<f64>::zeros(m, CHUNK.min(b));
    for first in (0..b).step_by(CHUNK) {
        let w = CHUNK.min(b - first);
        let mut xw = x.as_mut().subcols_mut(0, w);
        xw.copy_from(faer::zip!(codes.subcols(first, w)).map(|faer::unzip!(v)| *v as f64));
        let mut rw = r.as_mut().subcols_mut(0, w);
        rw.copy_from(faer::zip!(y.subcols(first, w)).map(|faer::unzip!(v)| *v as f64));
        matmul(rw.as_mut(), Accum::Add, d, xw.as_ref(), -1.0, par);
        let mut cw = c.as_mut().subcols_mut(0, w);
        matmul(
            cw.as_mut(),
            Accum::Replace,
            d.transpose(),
            rw.as_ref(),
            1.0,
            par,
        );
        for j in 0..w {
            let y64: Vec<f64> = y.col(first + j).iter().map(|&v| v as f64).collect();
            let (rj, cj, xj) = (r.col_as_slice(j), c.col_as_slice(j), x.col_as_slice(j));
            let (objective, gap) = lasso_gap_of(&y64, rj, cj, xj, lambda, nonneg);
            let rep = &mut reports[first + j];
            rep.objective = objective;
            rep.duality_gap = gap;
            rep.residual_norm = dot(rj, rj).sqrt();
            rep.converged = rep.converged && gap <= tol;
        }
    }
}

/// `dst[:, j] = a[:, j] - b[:, j]` for the first `w` columns.
fn sub_into<T: Real>(mut dst: MatMut<'_, T>, a: MatRef<'_, T>, b: MatRef<'_, T>, w: usize) {
    for j in 0..w {
        for i in 0..dst.nrows() {
            dst[(i, j)] = a[(i, j)] - b[(i, j)];
        }
    }
}

fn dot<T: Real>(a: &[T], b: &[T]) -> f64 {
    a.iter().zip(b).map(|(&u, &v)| u.into() * v.into()).sum()
}

/// Soft thresholding `sign(v) max(|v| - t, 0)`, or its non-negative form `max(v - t, 0)`.
#[inline(always)]
pub(crate) fn shrink<T: Real>(v: T, t: T, nonneg: bool) -> T {
    if v > t {
        v - t
    } else if !nonneg && v < -t {
        v + t
    } else {
        T::zero()
    }
}

/// The iterations on one block of signals; writes the codes into `out` and the reports.
fn run_block<T: Real, Op: Products<T> + ?Sized>(
    ctx: &Ctx<'_, T, Op>,
    y: MatRef<'_, T>,
    x0: Option<MatRef<'_, T>>,
    first: usize,
    mut out: MatMut<'_, T>,
    reports: &mut [Report],
) {
    let p = ctx.p;
    let ((n, m), w0) = (ctx.op.dims(), y.ncols());
    let accel = p.accelerated;
    let thr = T::of(p.lambda) * ctx.step;
    let mut yb = y.to_owned();
    let mut x = match x0 {
        Some(x0) => x0.to_owned(),
        None => Mat::zeros(m, w0),
    };
    let mut dx = Mat::<T>::zeros(n, w0);
    if x0.is_some() {
        ctx.op.forward(x.as_ref(), dx.as_mut(), ctx.par);
    }
    let mut xp = Mat::<T>::zeros(m, w0);
    let mut dxp = Mat::<T>::zeros(n, w0);
    let (mut z, mut dz) = if accel {
        (x.clone(), dx.clone())
    } else {
        (Mat::zeros(0, 0), Mat::zeros(0, 0))
    };
    let mut r = Mat::<T>::zeros(n, w0);
    let mut c = Mat::<T>::zeros(m, w0);
    // The per-signal state is the FISTA momentum t.
    let mut ws = WorkingSet::new(vec![1.0f64; w0]);
    let mut k = 0usize;
    loop {
        let w = ws.w;
        let check = k.is_multiple_of(p.gap_every) || k >= p.max_iter;
        if !accel || check || p.observer.is_some() {
            sub_into(r.as_mut(), yb.as_ref(), dx.as_ref(), w);
        }
        if !accel || check {
            ctx.op.adjoint(
                r.as_ref().subcols(0, w),
                c.as_mut().subcols_mut(0, w),
                ctx.par,
            );
        }
        if let Some(obs) = p.observer {
            for j in 0..w {
                let rj = r.col_as_slice(j);
                let r2 = dot(rj, rj);
                let l1: f64 = x.col_as_slice(j).iter().map(|&v| v.into().abs()).sum();
                obs.report(Progress {
                    signal: first + ws.idx[j],
                    iteration: k,
                    objective: 0.5 * r2 + p.lambda * l1,
                });
            }
        }
        if check {
            ws.keep.clear();
            for j in 0..w {
                let (rj, xj, cj) = (r.col_as_slice(j), x.col_as_slice(j), c.col_as_slice(j));
                let yj = yb.col_as_slice(j);
                let (obj, gap) = lasso_gap_of(yj, rj, cj, xj, p.lambda, p.nonneg);
                // A NaN gap is an overflowed (diverged) iterate, e.g. from a `lipschitz` below
                // `||D||_2^2`: it never recovers, so the signal stops there, unconverged.
                if gap <= ctx.tol || k >= p.max_iter || gap.is_nan() {
                    let rep = Report {
                        iterations: k,
                        converged: gap <= ctx.tol,
                        objective: obj,
                        residual_norm: dot(rj, rj).sqrt(),
                        duality_gap: gap,
                    };
                    ws.finish(j, xj, rep, out.as_mut(), reports);
                } else {
                    ws.keep.push(j);
                }
            }
            // (ISTA steps next with the correlations c just computed, so they move too.)
            if !ws.compact(&mut [&mut yb, &mut x, &mut dx, &mut z, &mut dz, &mut c]) {
                return;
            }
        }
        let w = ws.w;
        // Gradient at the extrapolated point: c = D^T (y - D z).
        if accel {
            sub_into(r.as_mut(), yb.as_ref(), dz.as_ref(), w);
            ctx.op.adjoint(
                r.as_ref().subcols(0, w),
                c.as_mut().subcols_mut(0, w),
                ctx.par,
            );
        }
        std::mem::swap(&mut x, &mut xp);
        std::mem::swap(&mut dx, &mut dxp);
        let from = if accel { &z } else { &xp };
        for j in 0..w {
            let (xj, fj, cj) = (
                x.col_as_slice_mut(j),
                from.col_as_slice(j),
                c.col_as_slice(j),
            );
            if p.nonneg {
                for i in 0..m {
                    xj[i] = shrink(fj[i] + ctx.step * cj[i], thr, true);
                }
            } else {
                for i in 0..m {
                    xj[i] = shrink(fj[i] + ctx.step * cj[i], thr, false);
                }
            }
        }
        ctx.op.forward(
            x.as_ref().subcols(0, w),
            dx.as_mut().subcols_mut(0, w),
            ctx.par,
        );
        if accel {
            for j in 0..w {
                let (xj, xpj) = (x.col_as_slice(j), xp.col_as_slice(j));
                let zj = z.col_as_slice(j);
                let mut restart_now = false;
                if p.restart {
                    let s: T = (0..m).map(|i| (zj[i] - xj[i]) * (xj[i] - xpj[i])).sum();
                    restart_now = s > T::zero();
                }
                let beta = if restart_now {
                    ws.val[j] = 1.0;
                    0.0
                } else {
                    let tn = 0.5 * (1.0 + (1.0 + 4.0 * ws.val[j] * ws.val[j]).sqrt());
                    let beta = (ws.val[j] - 1.0) / tn;
                    ws.val[j] = tn;
                    beta
                };
                let beta = T::of(beta);
                let zj = z.col_as_slice_mut(j);
                for i in 0..m {
                    zj[i] = xj[i] + beta * (xj[i] - xpj[i]);
                }
                let (dxj, dxpj, dzj) = (
                    dx.col_as_slice(j),
                    dxp.col_as_slice(j),
                    dz.col_as_slice_mut(j),
                );
                for i in 0..n {
                    dzj[i] = dxj[i] + beta * (dxj[i] - dxpj[i]);
                }
            }
        }
        k += 1;
    }
}
