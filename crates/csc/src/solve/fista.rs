//! Convolutional BPDN by FISTA (Beck & Teboulle 2009) with the gradient in the Fourier domain
//! and function-value adaptive restart (O'Donoghue & Candès 2015).
//!
//! Iteration `k` holds `x_k` and the spectra of `x_{k-1}`. Since FFTs are linear, the momentum
//! point `z_k = x_k + beta (x_k - x_{k-1})` and its residual `D z_k - y` are combinations of
//! spectra already at hand, so one iteration costs `m C_x` forward FFTs (of `x_k`, which also
//! give the objective at `x_k` for free) and `m C_x` inverse FFTs (of the gradient step
//! `z_k - D^T (D z_k - y) / L`), as many as one ADMM iteration.

use faer::{Mat, MatRef, Par};
use sparse_core::check;
use sparse_core::solve::{Iteration, Solve};

use super::{
    forward_blocked, kernels, map_sum, run_batch, signal_spectra, validate, L1Weights, Solution,
    Sums, Trace,
};
use crate::error::{Error, Result};
use crate::fft::Cx;
use crate::float::Float;
use crate::operator::{ConvOperator, Spectra};

/// Convolutional BPDN by FISTA in the Fourier domain (see the [module docs](self)).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | weight of the l1 penalty, `>= 0` |
/// | `max_iter` | `1000` | iteration cap |
/// | `change_tol` | `1e-5` | stop when `||x_{k+1} - x_k|| <= change_tol ||x_{k+1}||` |
/// | `lipschitz` | `None` = exact, from the Fourier symbol | step `1 / L` |
/// | `restart` | `true` | function-value adaptive restart of the momentum |
/// | `nonneg` | `false` | constrain the codes to be `>= 0` |
/// | `weights` | [`L1Weights::Uniform`] | weights of the l1 penalty |
/// | `par` | `Par::rayon(0)` | parallelism |
///
/// `history[k].objective` is the objective at the iterate `x_k` entering iteration `k`
/// (`x_0 = 0`); the returned code is the last iterate `x_{k+1}`.
#[derive(Debug, Clone, PartialEq)]
pub struct CbpdnFista {
    /// Weight of the l1 penalty.
    pub lambda: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Tolerance on the relative change of the iterate.
    pub change_tol: f64,
    /// Lipschitz constant of the gradient (`None`: exact).
    pub lipschitz: Option<f64>,
    /// Function-value restart.
    pub restart: bool,
    /// Non-negative codes.
    pub nonneg: bool,
    /// Weights of the l1 penalty.
    pub weights: L1Weights,
    /// Parallelism.
    pub par: Par,
}

impl CbpdnFista {
    /// The solver with default parameters and penalty `lambda`.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            max_iter: 1000,
            change_tol: 1e-5,
            lipschitz: None,
            restart: true,
            nonneg: false,
            weights: L1Weights::Uniform,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Sets the iteration cap.
        max_iter: usize,
        /// Sets the tolerance on the relative change of the iterate.
        change_tol: f64,
    }

    /// Sets the Lipschitz constant (the step is `1 / L`; it must be at least `||D||_2^2`).
    pub fn lipschitz(mut self, l: f64) -> Self {
        self.lipschitz = Some(l);
        self
    }

    sparse_core::setters! {
        /// Enables or disables the adaptive restart.
        restart: bool,
        /// Constrains the codes to be non-negative.
        nonneg: bool,
        /// Sets the weights of the l1 penalty.
        weights: L1Weights,
        /// Sets the parallelism.
        par: Par,
    }

    #[allow(clippy::too_many_arguments)]
    fn solve_one<T: Float>(
        &self,
        op: &ConvOperator,
        sp: &Spectra<T>,
        l: f64,
        y: &[T],
        x: &mut [T],
        par: bool,
    ) -> Trace {
        let fft = &sp.fft;
        let blocks = fft.blocks();
        let (n, f) = (op.n(), fft.spectrum_len());
        let rows = op.signal_grid().rows;
        let m = op.dictionary().n_filters();
        let cd = op.dictionary().channels();
        let cs = op.channels();
        let n_maps = op.n_maps();
        let (lambda, nonneg) = (self.lambda, self.nonneg);
        let step = 1.0 / l;
        let inv_n = 1.0 / n as f64;
        let chunk = blocks.range(0).1;
        let s_hat = signal_spectra(op, y);
        let weights = self.weights.typed::<T>();
        x.fill(T::zero());
        // Spectra of x_k and x_{k-1}, residuals D x_k - y and D x_{k-1} - y: blocked layout.
        let mut xh = vec![Cx::<T>::default(); n_maps * f];
        let mut xh_prev = vec![Cx::<T>::default(); n_maps * f];
        let mut r = vec![Cx::<T>::default(); cs * f];
        let mut r_prev = vec![Cx::<T>::default(); cs * f];
        for (blk, rc) in blocks.chunks(&mut r_prev, cs).into_iter().enumerate() {
            let (f0, len) = blocks.range(blk);
            for (c, rcc) in rc.chunks_mut(len).enumerate() {
                for (rv, sv) in rcc.iter_mut().zip(&s_hat[c * f + f0..c * f + f0 + len]) {
                    *rv = -*sv;
                }
            }
        }
        let (mut t, mut f_prev, mut l1) = (1.0f64, f64::INFINITY, 0.0);
        let mut info = Trace::default();
        // The dictionary channel through which map `map` reaches signal channel `c`.
        let route = |map: usize, c: usize| -> Option<usize> {
            if cd == 1 {
                (map / m == c).then_some(0)
            } else {
                Some(c)
            }
        };

        for k in 0..self.max_iter {
            // (1) spectra of x_k.
            if k > 0 {
                forward_blocked(sp, x, &mut xh, n_maps, rows, par);
            }
            // (2a) residual r = D x_k - y and 1/2 ||r||^2.
            let items: Vec<_> = blocks.chunks(&mut r, cs).into_iter().enumerate().collect();
            let xh_ref = &xh;
            let df_raw: f64 = map_sum(
                items,
                par,
                || (),
                |_, (blk, rc)| {
                    let (f0, len) = blocks.range(blk);
                    let w = &sp.weights[f0..f0 + len];
                    let xb = &xh_ref[n_maps * f0..n_maps * (f0 + len)];
                    let mut df = 0.0;
                    for (c, rcc) in rc.chunks_mut(len).enumerate() {
                        for (rv, sv) in rcc.iter_mut().zip(&s_hat[c * f + f0..c * f + f0 + len]) {
                            *rv = -*sv;
                        }
                        for (map, xm) in xb.chunks(len).enumerate() {
                            if let Some(fc) = route(map, c) {
                                kernels::mul_acc(rcc, sp.filter(map % m, fc, blk), xm);
                            }
                        }
                        let mut dfc = T::zero();
                        for (rv, wv) in rcc.iter().zip(w) {
                            dfc += *wv * rv.norm_sqr();
                        }
                        df += dfc.wide();
                    }
                    df
                },
            );
            let df = 0.5 * inv_n * df_raw;
            let obj = df + lambda * l1;
            if self.restart && obj > f_prev {
                t = 1.0;
            }
            let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
            let beta = (t - 1.0) / t_next;
            t = t_next;
            // (2b) v = z - step D^T (D z - y), z = x_k + beta (x_k - x_{k-1}); into xh_prev.
            let items: Vec<_> = blocks
                .chunks(&mut xh_prev, n_maps)
                .into_iter()
                .enumerate()
                .collect();
            let (xh_ref, r_ref, rp_ref) = (&xh, &r, &r_prev);
            map_sum(
                items,
                par,
                || vec![Cx::<T>::default(); cs * chunk],
                |rz, (blk, vc)| {
                    let (f0, len) = blocks.range(blk);
                    let xb = &xh_ref[n_maps * f0..n_maps * (f0 + len)];
                    let (rb, rpb) = (
                        &r_ref[cs * f0..cs * (f0 + len)],
                        &rp_ref[cs * f0..cs * (f0 + len)],
                    );
                    // rz = -step (D z - y) / N.
                    let (b1, bt) = (T::of(1.0 + beta), T::of(beta));
                    let (sn, it) = (T::of(-step * inv_n), T::of(inv_n));
                    for ((o, a), b) in rz[..cs * len].iter_mut().zip(rb).zip(rpb) {
                        *o = (*a * b1 - *b * bt) * sn;
                    }
                    for (map, (v, xm)) in vc.chunks_mut(len).zip(xb.chunks(len)).enumerate() {
                        for (vv, xv) in v.iter_mut().zip(xm) {
                            *vv = (*xv * b1 - *vv * bt) * it;
                        }
                        for c in 0..cs {
                            if let Some(fc) = route(map, c) {
                                let g = &rz[c * len..(c + 1) * len];
                                kernels::conj_mul_acc(v, sp.filter(map % m, fc, blk), g);
                            }
                        }
                    }
                    0.0
                },
            );
            std::mem::swap(&mut xh, &mut xh_prev);
            std::mem::swap(&mut r, &mut r_prev);
            // (3) x_{k+1} = prox(v).
            let weights = &weights;
            let thr = T::of(step * lambda);
            let items: Vec<_> = blocks
                .per_map(&mut xh, n_maps)
                .into_iter()
                .zip(x.chunks_mut(n))
                .enumerate()
                .collect();
            let sums = map_sum(
                items,
                par,
                || fft.scratch(),
                |s, (map, (mut vm, xm))| {
                    let w = weights.map(map, m, n);
                    let mut acc = Sums::default();
                    fft.inverse_with(
                        &mut vm,
                        |c, v| {
                            let off = c * rows;
                            acc = acc
                                + kernels::fista_prox(
                                    v,
                                    &mut xm[off..off + rows],
                                    w,
                                    off,
                                    thr,
                                    nonneg,
                                );
                        },
                        s,
                    );
                    acc
                },
            );
            let rel = sums.a.sqrt() / sums.b.sqrt().max(f64::MIN_POSITIVE);
            let change = if f_prev.is_finite() {
                (obj - f_prev).abs() / obj.max(f64::MIN_POSITIVE)
            } else {
                0.0
            };
            info.history.push(
                Iteration::new(df, lambda * l1)
                    .residuals(rel, change)
                    .step(step),
            );
            info.iterations = k + 1;
            f_prev = obj;
            l1 = sums.l1;
            if rel <= self.change_tol {
                info.converged = true;
                break;
            }
        }
        info
    }
}

/// Codes every column of `y` (`signal_len x b`) from zero codes, in the precision of `y`
/// (`f64` or `f32`; see [`crate::float`]).
impl<T: Float> Solve<ConvOperator, T> for CbpdnFista {
    type Output = Solution<Mat<T>>;
    type Error = Error;

    fn solve(&self, op: &ConvOperator, y: MatRef<'_, T>) -> Result<Solution<Mat<T>>> {
        validate(op, y, self.lambda, &self.weights, self.max_iter)?;
        check::positive("change_tol", self.change_tol)?;
        if let Some(l) = self.lipschitz {
            check::positive("lipschitz", l)?;
        }
        let l = self.lipschitz.unwrap_or_else(|| op.lipschitz_exact());
        let sp = op.spectra_t::<T>().clone();
        Ok(run_batch(op, y, self.par, |_, yj, xj, inner| {
            self.solve_one(op, &sp, l, yj, xj, inner)
        }))
    }
}
