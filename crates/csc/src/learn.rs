//! Convolutional dictionary learning by alternating minimisation (Wohlberg 2016, "Efficient
//! algorithms for convolutional sparse representations", section on dictionary learning;
//! SPORCO's `ConvCnstrMOD`):
//!
//! `min_{D, Gamma} sum_k 1/2 ||y_k - sum_i d_i * Gamma_{k,i}||^2 + lambda sum_{k,i} ||Gamma_{k,i}||_1`
//! subject to every filter living on its `n_h x n_w` support with unit norm.
//!
//! Each outer iteration codes the training signals with [`Cbpdn`] and then updates the filters
//! with the codes fixed, by ADMM on the split `d = g`, `g` in the constraint set:
//!
//! 1. `d = argmin 1/2 sum_k ||X_k d - y_k||^2 + sigma/2 ||d - (g - h)||^2`, decoupled over
//!    frequencies: `(sigma I + sum_k x_k x_k^H) d(w) = sum_k x_k y_k(w) + sigma (g - h)(w)` with
//!    `x_k = conj(X_k(w))`, solved by iterated Sherman–Morrison over the `K` training signals
//!    (factorised once per update, `O(K^2 m)` per frequency);
//! 2. `g = P(d + h)`: keep the `n_h x n_w` support, normalise each filter to unit norm;
//! 3. `h = h + d - g`.

use crate::Solve;
use faer::{Mat, MatRef, Par};
use rayon::prelude::*;
use sparse_core::check;

use crate::dictionary::{ConvDictionary, Grid};
use crate::error::{shape_mismatch, Result};
use crate::fft::{Cx, Fft2d};
use crate::float::Float;
use crate::operator::ConvOperator;
use crate::solve::ism::Ism;
use crate::solve::{kernels, map_sum, Cbpdn};

/// Convolutional dictionary learning (see the [module docs](self)).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | weight of the l1 penalty of the codes |
/// | `iterations` | `20` | outer iterations (coding + dictionary update) |
/// | `coding_iter` | `50` | ADMM iterations of each coding step |
/// | `dict_iter` | `20` | ADMM iterations of each dictionary update |
/// | `sigma` | `None` = mean diagonal of `sum_k X_k^H X_k` | penalty of the dictionary update |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone, PartialEq)]
pub struct ConvDictLearn {
    /// Weight of the l1 penalty.
    pub lambda: f64,
    /// Outer iterations.
    pub iterations: usize,
    /// ADMM iterations of each coding step.
    pub coding_iter: usize,
    /// ADMM iterations of each dictionary update.
    pub dict_iter: usize,
    /// Penalty of the dictionary update (`None`: automatic).
    pub sigma: Option<f64>,
    /// Parallelism.
    pub par: Par,
}

/// What [`ConvDictLearn::learn`] returns (`T`: the precision of the training signals).
#[derive(Debug, Clone)]
pub struct LearnResult<T = f64> {
    /// The learned dictionary.
    pub dictionary: ConvDictionary,
    /// Codes of the training signals over the learned dictionary (one column per signal).
    pub codes: Mat<T>,
    /// `sum_k 1/2 ||y_k - D Gamma_k||^2 + lambda ||Gamma_k||_1` after each coding step (the
    /// last entry is for the returned dictionary and codes).
    pub objective: Vec<f64>,
}

impl ConvDictLearn {
    /// The learner with default parameters and penalty `lambda`.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            iterations: 20,
            coding_iter: 50,
            dict_iter: 20,
            sigma: None,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Sets the number of outer iterations.
        iterations: usize,
        /// Sets the ADMM iterations of each coding step.
        coding_iter: usize,
        /// Sets the ADMM iterations of each dictionary update.
        dict_iter: usize,
    }

    /// Sets the penalty of the dictionary update.
    pub fn sigma(mut self, sigma: f64) -> Self {
        self.sigma = Some(sigma);
        self
    }

    sparse_core::setters! {
        /// Sets the parallelism.
        par: Par,
    }

    fn check(&self) -> Result<()> {
        check::non_negative("lambda", self.lambda)?;
        check::count("iterations", self.iterations, usize::MAX)?;
        check::count("coding_iter", self.coding_iter, usize::MAX)?;
        check::count("dict_iter", self.dict_iter, usize::MAX)?;
        if let Some(s) = self.sigma {
            check::positive("sigma", s)?;
        }
        Ok(())
    }

    /// Learns a dictionary from the training signals `y` (`N C x K`, one signal of `signal`
    /// samples and `channels` channels per column), starting from `init`.
    ///
    /// In the precision of `y` (`f64` or `f32`, SPORCO's `DataType`): with `f32` signals the
    /// coding and the dictionary update compute in float32 (the filters are kept in `f64` and
    /// rounded for the transforms; the objective is evaluated in `f64`).
    pub fn learn<T: Float>(
        &self,
        init: &ConvDictionary,
        signal: Grid,
        channels: usize,
        y: MatRef<'_, T>,
    ) -> Result<LearnResult<T>> {
        self.check()?;
        let mut dict = init.clone();
        let mut objective = Vec::with_capacity(self.iterations + 1);
        let coder = Cbpdn::new(self.lambda)
            .max_iter(self.coding_iter)
            .par(self.par);
        let mut it = 0;
        let mut prev: Option<Mat<T>> = None;
        loop {
            let op = dict.operator_with_channels(signal, channels)?;
            check::batch("y", y, op.signal_len())?;
            // Warm start from the previous codes.
            let codes = match &prev {
                None => coder.solve(&op, y)?.codes,
                Some(c) => coder.solve_warm(&op, y, c.as_ref())?.codes,
            };
            objective.push(self.objective(&op, y, codes.as_ref())?);
            if it == self.iterations {
                return Ok(LearnResult {
                    dictionary: dict,
                    codes,
                    objective,
                });
            }
            dict = self.update_dictionary(&dict, signal, channels, y, codes.as_ref())?;
            prev = Some(codes);
            it += 1;
        }
    }

    /// `sum_k 1/2 ||y_k - D x_k||^2 + lambda ||x_k||_1` in `f64`: float64 codes as they are,
    /// float32 codes widened one signal at a time (no widened copy of all codes).
    pub(crate) fn objective<T: Float>(
        &self,
        op: &ConvOperator,
        y: MatRef<'_, T>,
        codes: MatRef<'_, T>,
    ) -> Result<f64> {
        if let (Some(c), Some(yw)) = (T::f64_mat(codes), T::f64_mat(y)) {
            return crate::cbpdn_objective(op, c, yw, self.lambda, self.par);
        }
        let mut total = 0.0;
        for k in 0..y.ncols() {
            let cw = Mat::from_fn(codes.nrows(), 1, |i, _| codes[(i, k)].wide());
            let r = op.synthesize(cw.as_ref(), self.par)?;
            let l1: f64 = cw.col(0).iter().map(|v| v.abs()).sum();
            let rr: f64 = (0..r.nrows())
                .map(|i| (r[(i, 0)] - y[(i, k)].wide()).powi(2))
                .sum();
            total += 0.5 * rr + self.lambda * l1;
        }
        Ok(total)
    }

    /// One dictionary update with the codes fixed: `dict_iter` ADMM iterations from `dict`
    /// (see the module docs). `codes` has one column of `N m C_x` entries per signal of `y`.
    /// In the precision of `y` and `codes` (`f64` or `f32`).
    pub fn update_dictionary<T: Float>(
        &self,
        dict: &ConvDictionary,
        signal: Grid,
        channels: usize,
        y: MatRef<'_, T>,
        codes: MatRef<'_, T>,
    ) -> Result<ConvDictionary> {
        self.check()?;
        let op = dict.operator_with_channels(signal, channels)?;
        check::batch("y", y, op.signal_len())?;
        check::finite("codes", codes)?;
        if codes.nrows() != op.code_len() || codes.ncols() != y.ncols() {
            return Err(shape_mismatch(
                "codes",
                format!("{} x {}", op.code_len(), y.ncols()),
                format!("{} x {}", codes.nrows(), codes.ncols()),
            ));
        }
        let sp = op.spectra_t::<T>();
        let fft = &sp.fft;
        let blocks = fft.blocks();
        let (n, f) = (op.n(), fft.spectrum_len());
        let (m, cd) = (dict.n_filters(), dict.channels());
        let fg = dict.filter_grid();
        let g_rows = signal.rows;
        let par = self.par.degree() > 1;
        let zero = T::zero();
        // Training samples j = (signal, code channel): codes X_j (m maps), targets (cd maps).
        let (samples, xs, ss) = sample_spectra(&op, y, codes, par);
        let nj = samples.nj;
        // sum_j conj(X_{j,i}) S_{j,c}, map c m + i.
        let mut xhs = vec![Cx::<T>::default(); cd * m * f];
        for (blk, chunk) in blocks.chunks(&mut xhs, cd * m).into_iter().enumerate() {
            let len = blocks.range(blk).1;
            for (q, o) in chunk.chunks_mut(len).enumerate() {
                let (c, i) = (q / m, q % m);
                for j in 0..nj {
                    let x = blocks.block(&xs, nj * m, j * m + i, blk);
                    let s = blocks.block(&ss, nj * cd, j * cd + c, blk);
                    kernels::conj_mul_acc(o, x, s);
                }
            }
        }
        let sigma = self.sigma.unwrap_or_else(|| {
            let total: f64 = xs.iter().map(|v| v.norm_sqr().wide()).sum();
            (total / (m * f) as f64).max(1e-8)
        });
        let sigma = T::of(sigma);
        let mut ism = Ism::new(nj, m, f);
        ism.factor(
            blocks,
            |j, i, blk| blocks.block(&xs, nj * m, j * m + i, blk),
            sigma,
            par,
        );

        // ADMM on d = g (spatial maps of the full grid, map c m + i).
        let maps = cd * m;
        let mut g: Vec<T> = zpad_filters(dict, signal).into_iter().map(T::of).collect();
        let mut h = vec![zero; maps * n];
        let mut d = vec![zero; maps * n];
        let mut spec = vec![Cx::<T>::default(); maps * f];
        let inv_n = T::of(1.0 / n as f64);
        let chunk = blocks.range(0).1;
        for _ in 0..self.dict_iter {
            // V = FFT(g - h).
            let items: Vec<_> = blocks
                .per_map(&mut spec, maps)
                .into_iter()
                .zip(g.chunks(n).zip(h.chunks(n)))
                .collect();
            map_sum(
                items,
                par,
                || fft.scratch(),
                |s, (mut o, (gm, hm))| {
                    fft.forward_with(
                        |c, buf| {
                            let r = c * g_rows..(c + 1) * g_rows;
                            for ((b, gv), hv) in buf.iter_mut().zip(&gm[r.clone()]).zip(&hm[r]) {
                                *b = *gv - *hv;
                            }
                        },
                        &mut o,
                        s,
                    );
                    0.0
                },
            );
            // d(w) per frequency, one dictionary channel at a time.
            let items: Vec<_> = blocks
                .chunks(&mut spec, maps)
                .into_iter()
                .enumerate()
                .collect();
            map_sum(
                items,
                par,
                || vec![Cx::<T>::default(); nj * chunk],
                |t, (blk, bc)| {
                    let (f0, len) = blocks.range(blk);
                    let xb = &xhs[maps * f0..maps * (f0 + len)];
                    for (bcc, xbc) in bc.chunks_mut(m * len).zip(xb.chunks(m * len)) {
                        for (bv, xv) in bcc.iter_mut().zip(xbc) {
                            *bv = *xv + *bv * sigma;
                        }
                        ism.solve_block(blocks, blk, bcc, t, sigma);
                    }
                    0.0
                },
            );
            let items: Vec<_> = blocks
                .per_map(&mut spec, maps)
                .into_iter()
                .zip(d.chunks_mut(n))
                .collect();
            map_sum(
                items,
                par,
                || fft.scratch(),
                |s, (mut o, dm)| {
                    fft.inverse_with(
                        &mut o,
                        |c, col| {
                            for (dv, v) in dm[c * g_rows..(c + 1) * g_rows].iter_mut().zip(col) {
                                *dv = *v * inv_n;
                            }
                        },
                        s,
                    );
                    0.0
                },
            );
            // g = P(d + h); h = h + d - g.
            let project = |i: usize, gi: &mut [Vec<T>]| {
                let mut nrm = zero;
                for (c, gc) in gi.iter_mut().enumerate() {
                    let q = c * m + i;
                    gc.iter_mut().for_each(|v| *v = zero);
                    for b in 0..fg.cols {
                        for a in 0..fg.rows {
                            let k = a + g_rows * b;
                            let v = d[q * n + k] + h[q * n + k];
                            gc[k] = v;
                            nrm += v * v;
                        }
                    }
                }
                nrm.sqrt()
            };
            let new: Vec<Vec<Vec<T>>> = (0..m)
                .into_par_iter()
                .map(|i| {
                    let mut gi = vec![vec![zero; n]; cd];
                    let nrm = project(i, &mut gi);
                    if nrm > zero {
                        gi.iter_mut()
                            .for_each(|gc| gc.iter_mut().for_each(|v| *v /= nrm));
                    } else {
                        // Keep the previous filter rather than a zero one.
                        for (c, gc) in gi.iter_mut().enumerate() {
                            gc.copy_from_slice(&g[(c * m + i) * n..(c * m + i + 1) * n]);
                        }
                    }
                    gi
                })
                .collect();
            for (i, gi) in new.into_iter().enumerate() {
                for (c, gc) in gi.into_iter().enumerate() {
                    let q = c * m + i;
                    g[q * n..(q + 1) * n].copy_from_slice(&gc);
                }
            }
            for ((hv, dv), gv) in h.iter_mut().zip(&d).zip(&g) {
                *hv += *dv - *gv;
            }
        }
        let filters = Mat::from_fn(fg.len() * cd, m, |r, i| {
            let (c, k) = (r / fg.len(), r % fg.len());
            let (a, b) = (k % fg.rows, k / fg.rows);
            g[(c * m + i) * n + a + g_rows * b].wide()
        });
        ConvDictionary::new(fg, cd, filters.as_ref())
    }
}

/// Blocked spectra of `count` maps of the full grid; map `q` is read from column `col` of
/// `src`, starting at entry `off`, where `(col, off) = at(q)`.
pub(crate) fn map_spectra<T: Float>(
    fft: &Fft2d<T>,
    count: usize,
    at: &(dyn Fn(usize) -> (usize, usize) + Sync),
    src: MatRef<'_, T>,
    par: bool,
) -> Vec<Cx<T>> {
    let f = fft.spectrum_len();
    let blocks = fft.blocks();
    let g_rows = fft.rows();
    let mut out = vec![Cx::<T>::default(); count * f];
    let items: Vec<_> = blocks
        .per_map(&mut out, count)
        .into_iter()
        .enumerate()
        .collect();
    map_sum(
        items,
        par,
        || fft.scratch(),
        |s, (q, mut o)| {
            let (col, off) = at(q);
            let src = src.col(col);
            fft.forward_with(
                |c, buf| {
                    for (r, b) in buf.iter_mut().enumerate() {
                        *b = src[off + c * g_rows + r];
                    }
                },
                &mut o,
                s,
            );
            0.0
        },
    );
    out
}

/// The filters zero-padded into full `signal` grids, map `c m + i` (channel `c` of filter `i`).
pub(crate) fn zpad_filters(dict: &ConvDictionary, signal: Grid) -> Vec<f64> {
    let (m, cd, fg) = (dict.n_filters(), dict.channels(), dict.filter_grid());
    let (rows, n) = (signal.rows, signal.len());
    let mut g = vec![0.0; cd * m * n];
    for i in 0..m {
        for c in 0..cd {
            let fch = dict.filter_channel(i, c);
            let dst = &mut g[(c * m + i) * n..(c * m + i + 1) * n];
            for b in 0..fg.cols {
                for a in 0..fg.rows {
                    dst[a + rows * b] = fch[a + fg.rows * b];
                }
            }
        }
    }
    g
}

/// The training samples of a dictionary update: `j = (signal k, code channel kx)`, `nj = K C_x`
/// (a single-channel dictionary on `C`-channel signals codes each channel as a sample).
pub(crate) struct Samples {
    m: usize,
    cd: usize,
    cx: usize,
    n: usize,
    /// Number of samples.
    pub nj: usize,
}

impl Samples {
    pub fn new(op: &ConvOperator, signals: usize) -> Self {
        let cx = op.code_channels();
        Self {
            m: op.dictionary().n_filters(),
            cd: op.dictionary().channels(),
            cx,
            n: op.n(),
            nj: signals * cx,
        }
    }

    /// `(column, offset)` of code map `q = j m + i` in the codes.
    pub fn code(&self, q: usize) -> (usize, usize) {
        let (j, i) = (q / self.m, q % self.m);
        (j / self.cx, ((j % self.cx) * self.m + i) * self.n)
    }

    /// `(column, offset)` of target `q = j cd + c` in the signals.
    pub fn target(&self, q: usize) -> (usize, usize) {
        let (j, c) = (q / self.cd, q % self.cd);
        let (k, kx) = (j / self.cx, j % self.cx);
        (
            k,
            if self.cd == 1 {
                kx * self.n
            } else {
                c * self.n
            },
        )
    }
}

/// The samples of `y` and `codes` over `op`, with the blocked spectra of the code maps
/// (`nj m`, map `j m + i`) and of the targets (`nj cd`, map `j cd + c`).
pub(crate) fn sample_spectra<T: Float>(
    op: &ConvOperator,
    y: MatRef<'_, T>,
    codes: MatRef<'_, T>,
    par: bool,
) -> (Samples, Vec<Cx<T>>, Vec<Cx<T>>) {
    let s = Samples::new(op, y.ncols());
    let fft = &op.spectra_t::<T>().fft;
    let xs = map_spectra(fft, s.nj * s.m, &|q| s.code(q), codes, par);
    let ss = map_spectra(fft, s.nj * s.cd, &|q| s.target(q), y, par);
    (s, xs, ss)
}
