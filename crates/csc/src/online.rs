//! Online convolutional dictionary learning by stochastic gradient descent (J. Liu,
//! C. Garcia-Cardona, B. Wohlberg, W. Yin, "First- and second-order methods for online
//! convolutional dictionary learning", SIAM J. Imaging Sci. 11(2), 2018; SPORCO's
//! `OnlineConvBPDNDictLearn`, whose iterates and defaults this module follows).
//!
//! The learner sees one image (or a small batch) at a time. Each
//! [`OnlineCdl::partial_fit`] call, with `t` the number of earlier calls:
//!
//! 1. codes the new signals `s_k` over the current filters by [`Cbpdn`] (from zero; SPORCO's
//!    online defaults: at most 100 iterations, the penalty adapted every 10 iterations towards
//!    a residual ratio of 1 with a fixed factor 2);
//! 2. takes one projected gradient step on the filters for the fit
//!    `f(d) = 1/2 sum_k ||sum_i d_i * x_{k,i} - s_k||^2` of these signals only:
//!    `G = d - eta_t grad f(d)` on the full signal grid, computed in the Fourier domain
//!    (`grad_i(w) = sum_k conj(X_{k,i}(w)) R_k(w)`, `R_k = D X_k - S_k`), then
//!    `d = P(G)`: crop to the filter support, optionally subtract each channel's mean, scale
//!    every filter to unit norm; the step is `eta_t = a / (t + b)` (a = 10, b = 5).
//!
//! Memory is that of coding one batch (the codes, ADMM variables and spectra of the new
//! signals, the spectra of the filters); nothing grows with the number of signals seen. This is
//! the difference from batch learning ([`crate::ConvDictLearn`]), whose dictionary update holds
//! the spectra of all training codes at once.
//!
//! Signals of a batch are coded independently (each with its own stopping rule and penalty);
//! SPORCO codes a batch as one ADMM problem, so the two agree exactly for one signal per call,
//! its usual use.
//!
//! ```
//! use csc::{ConvDictionary, Grid, OnlineConvDictLearn};
//! use faer::Mat;
//! let mut rng = sparse_core::generate::rng(3);
//! let init = ConvDictionary::random(Grid::d2(4, 4), 1, 6, &mut rng)?;
//! let mut learner = OnlineConvDictLearn::new(0.1).start(&init)?;
//! for t in 0..3 {
//!     let img = Mat::from_fn(16 * 16, 1, |p, _| ((p * (t + 2)) as f64 * 0.37).sin());
//!     let step = learner.partial_fit(Grid::d2(16, 16), 1, img.as_ref())?;
//!     assert_eq!(step.iteration, t);
//! }
//! assert_eq!(learner.dictionary().n_filters(), 6);
//! # Ok::<(), csc::Error>(())
//! ```

use faer::{Mat, MatRef, Par};
use sparse_core::check;

use crate::dictionary::{ConvDictionary, Grid};
use crate::error::Result;
use crate::fft::Cx;
use crate::float::Float;
use crate::learn::sample_spectra;
use crate::solve::{kernels, map_sum, AutoRho, Cbpdn};
use crate::{Diagnostics, Solve};

/// Online convolutional dictionary learning (see the [module docs](self)): the options; build
/// the learner's state with [`start`](Self::start).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `coder` | [`Cbpdn`] with `lambda`, `max_iter` 100, [`AutoRho`] period 10, factor 2 (not auto-scaled), ratio 10, target 1 | the coding step (SPORCO's `CBPDN` options of the online learner) |
/// | `eta_a`, `eta_b` | `10`, `5` | the step `eta_t = eta_a / (t + eta_b)` |
/// | `zero_mean` | `false` | subtract each filter channel's mean in the projection (SPORCO's `ZeroMean`) |
/// | `par` | `Par::rayon(0)` | parallelism of the gradient step (the coder has its own) |
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineConvDictLearn {
    /// The coding step.
    pub coder: Cbpdn,
    /// Numerator `a` of the step `a / (t + b)`.
    pub eta_a: f64,
    /// Offset `b` of the step `a / (t + b)`.
    pub eta_b: f64,
    /// Zero-mean filters.
    pub zero_mean: bool,
    /// Parallelism of the dictionary step.
    pub par: Par,
}

/// What one [`OnlineCdl::partial_fit`] call did (SPORCO's `IterationStats` of the online
/// learner: the coding records are in `coding`).
#[derive(Debug, Clone, PartialEq)]
pub struct OnlineStep {
    /// The call's index `t`, from 0.
    pub iteration: usize,
    /// The step `eta_t` used.
    pub eta: f64,
    /// `||zpad(d_new) - G||_F`: how far the gradient step left the constraint set (SPORCO's
    /// `Cnstr`).
    pub constraint: f64,
    /// `||d_new - d_old||_F` over the filters (SPORCO's `DeltaD`).
    pub delta_d: f64,
    /// The coding step's diagnostics, one per signal of the batch (with the per-iteration
    /// history of the functional, residuals and penalty).
    pub coding: Vec<Diagnostics>,
    /// Filters whose projection was zero and that kept their previous value.
    pub kept: Vec<usize>,
}

impl OnlineStep {
    /// `sum_k 1/2 ||D x_k - s_k||^2 + lambda ||x_k||_1` at the codes of the call (over the
    /// dictionary before the update): the coder's last recorded functional, summed over the
    /// batch.
    pub fn objective(&self) -> f64 {
        self.coding.iter().map(Diagnostics::final_objective).sum()
    }

    /// Whether every signal's coding met its stopping rule.
    pub fn coding_converged(&self) -> bool {
        self.coding.iter().all(|d| d.converged)
    }
}

/// The state of an online learner: the current filters and the number of calls so far.
#[derive(Debug, Clone)]
pub struct OnlineCdl {
    opts: OnlineConvDictLearn,
    dict: ConvDictionary,
    t: usize,
}

impl OnlineConvDictLearn {
    /// The learner with SPORCO's online defaults and penalty `lambda`.
    pub fn new(lambda: f64) -> Self {
        let auto_rho = AutoRho {
            enabled: true,
            period: 10,
            scaling: 2.0,
            ratio: 10.0,
            target: Some(1.0),
            auto_scaling: false,
            ..AutoRho::default()
        };
        Self {
            coder: Cbpdn::new(lambda).max_iter(100).auto_rho(auto_rho),
            eta_a: 10.0,
            eta_b: 5.0,
            zero_mean: false,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Sets the coding step.
        coder: Cbpdn,
        /// Sets the numerator of the step `a / (t + b)`.
        eta_a: f64,
        /// Sets the offset of the step `a / (t + b)`.
        eta_b: f64,
        /// Zero-mean filters.
        zero_mean: bool,
        /// Sets the parallelism of the dictionary step.
        par: Par,
    }

    /// A learner starting at `init`, projected onto the constraint set (unit norm, and zero
    /// mean when asked), as SPORCO projects its initial dictionary.
    ///
    /// Errors: `eta_a` not positive, `eta_b` negative, non-finite; a zero-mean projection of
    /// `init` with a zero filter.
    pub fn start(&self, init: &ConvDictionary) -> Result<OnlineCdl> {
        self.resume(init, 0)
    }

    /// A learner that continues one saved after `t` calls with filters `dict` (its
    /// [`OnlineCdl::dictionary`] and [`OnlineCdl::iteration`]): the next call uses the step
    /// `eta_a / (t + eta_b)`. The filters are projected as in [`start`](Self::start).
    pub fn resume(&self, init: &ConvDictionary, t: usize) -> Result<OnlineCdl> {
        check::positive("eta_a", self.eta_a)?;
        check::positive("eta_b", self.eta_b)?;
        let dict = if self.zero_mean {
            let fg = init.filter_grid();
            let mut filters = init.local_matrix();
            for i in 0..filters.ncols() {
                for c in 0..init.channels() {
                    let mut ch: Vec<f64> = (0..fg.len())
                        .map(|k| filters[(c * fg.len() + k, i)])
                        .collect();
                    subtract_mean(&mut ch);
                    for (k, v) in ch.into_iter().enumerate() {
                        filters[(c * fg.len() + k, i)] = v;
                    }
                }
            }
            ConvDictionary::new(fg, init.channels(), filters.as_ref())?
        } else {
            init.clone()
        };
        Ok(OnlineCdl {
            opts: self.clone(),
            dict,
            t,
        })
    }
}

fn subtract_mean(v: &mut [f64]) {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    v.iter_mut().for_each(|x| *x -= mean);
}

impl OnlineCdl {
    /// The current filters.
    pub fn dictionary(&self) -> &ConvDictionary {
        &self.dict
    }

    /// Calls of [`partial_fit`](Self::partial_fit) so far.
    pub fn iteration(&self) -> usize {
        self.t
    }

    /// The options the learner runs with.
    pub fn options(&self) -> &OnlineConvDictLearn {
        &self.opts
    }

    /// Learns from the signals `y` (`N C x K`: `K` signals of `signal` samples and `channels`
    /// channels; a single-channel dictionary codes each channel separately): one coding step
    /// and one gradient step on the filters (see the [module docs](self)). Returns what the
    /// step did; the learner's filters are updated. `y` is not modified.
    ///
    /// In the precision of `y` (`f64` or `f32`, SPORCO's `DataType`): with `f32` signals the
    /// coding and the Fourier-domain gradient compute in float32; the filters stay `f64`
    /// (rounded to float32 for the transforms) and the projection and records are `f64`.
    ///
    /// Errors: those of [`Cbpdn`] on the operator of the current filters on `signal` (shape,
    /// non-finite signals, a signal grid smaller than the filters, coder options).
    pub fn partial_fit<T: Float>(
        &mut self,
        signal: Grid,
        channels: usize,
        y: MatRef<'_, T>,
    ) -> Result<OnlineStep> {
        let op = self.dict.operator_with_channels(signal, channels)?;
        let sol = self.opts.coder.solve(&op, y)?;
        let codes = sol.codes;
        let eta = self.opts.eta_a / (self.t as f64 + self.opts.eta_b);
        let (dict, constraint, delta_d, kept) = self.gradient_step(&op, y, codes.as_ref(), eta)?;
        self.dict = dict;
        let step = OnlineStep {
            iteration: self.t,
            eta,
            constraint,
            delta_d,
            coding: sol.diagnostics,
            kept,
        };
        self.t += 1;
        Ok(step)
    }

    /// `P(d - eta grad)` with the gradient of `1/2 sum_k ||D x_k - y_k||^2` at the codes
    /// `codes`; returns the new dictionary, `||zpad(d_new) - G||`, `||d_new - d_old||` and
    /// the filters kept for a zero projection.
    fn gradient_step<T: Float>(
        &self,
        op: &crate::ConvOperator,
        y: MatRef<'_, T>,
        codes: MatRef<'_, T>,
        eta: f64,
    ) -> Result<(ConvDictionary, f64, f64, Vec<usize>)> {
        let dict = &self.dict;
        let sp = op.spectra_t::<T>();
        let eta_t = T::of(eta);
        let fft = &sp.fft;
        let blocks = fft.blocks();
        let (n, f) = (op.n(), fft.spectrum_len());
        let (m, cd) = (dict.n_filters(), dict.channels());
        let par = self.opts.par.degree() > 1;
        // Samples j = (signal, code channel), as in the batch dictionary update.
        let (samples, xs, ss) = sample_spectra(op, y, codes, par);
        let nj = samples.nj;
        // Gf = Df - eta sum_j conj(X_j) (sum_i D_i X_{j,i} - S_j), map i cd + c (the layout of
        // the filter spectra).
        let maps = m * cd;
        let mut gf = vec![Cx::<T>::default(); maps * f];
        let items: Vec<_> = blocks
            .chunks(&mut gf, maps)
            .into_iter()
            .enumerate()
            .collect();
        map_sum(items, par, Vec::<Cx<T>>::new, |r, (blk, out)| {
            let len = blocks.range(blk).1;
            r.resize(len, Cx::<T>::default());
            let mut grad = vec![Cx::<T>::default(); maps * len];
            for j in 0..nj {
                for c in 0..cd {
                    // R_{j,c} = sum_i D_{i,c} X_{j,i} - S_{j,c}.
                    for (rv, sv) in r
                        .iter_mut()
                        .zip(blocks.block(&ss, nj * cd, j * cd + c, blk))
                    {
                        *rv = -*sv;
                    }
                    for i in 0..m {
                        let d = sp.filter(i, c, blk);
                        let x = blocks.block(&xs, nj * m, j * m + i, blk);
                        kernels::mul_acc(r, d, x);
                    }
                    for i in 0..m {
                        let x = blocks.block(&xs, nj * m, j * m + i, blk);
                        let q = i * cd + c;
                        kernels::conj_mul_acc(&mut grad[q * len..(q + 1) * len], x, r);
                    }
                }
            }
            for i in 0..m {
                for c in 0..cd {
                    let q = i * cd + c;
                    let d = sp.filter(i, c, blk);
                    for ((o, dv), gv) in out[q * len..(q + 1) * len]
                        .iter_mut()
                        .zip(d)
                        .zip(&grad[q * len..(q + 1) * len])
                    {
                        *o = *dv - *gv * eta_t;
                    }
                }
            }
            0.0
        });
        drop((xs, ss));
        // G on the full grid (widened to f64 for the projection).
        let mut gt = vec![T::zero(); maps * n];
        let rows = op.signal_grid().rows;
        crate::solve::inverse_all(sp, &mut gf, &mut gt, maps, rows, par);
        let inv_n = 1.0 / n as f64;
        let g: Vec<f64> = match T::f64_vec(gt) {
            Ok(mut g) => {
                g.iter_mut().for_each(|v| *v *= inv_n);
                g
            }
            Err(gt) => gt.iter().map(|v| v.wide() * inv_n).collect(),
        };
        // P(G): crop, zero mean, unit norm (ConvDictionary::new scales to unit norm).
        let fg = dict.filter_grid();
        let len = fg.len();
        let mut filters = Mat::<f64>::zeros(len * cd, m);
        let mut kept = Vec::new();
        for i in 0..m {
            let mut col = vec![0.0; len * cd];
            for c in 0..cd {
                let gm = &g[(i * cd + c) * n..(i * cd + c + 1) * n];
                let dst = &mut col[c * len..(c + 1) * len];
                for b in 0..fg.cols {
                    for a in 0..fg.rows {
                        dst[a + fg.rows * b] = gm[a + rows * b];
                    }
                }
                if self.opts.zero_mean {
                    subtract_mean(dst);
                }
            }
            if sparse_core::norms::l2(&col) == 0.0 || !col.iter().all(|v| v.is_finite()) {
                kept.push(i);
                col.copy_from_slice(dict.filter(i)?);
            }
            for (r, v) in col.into_iter().enumerate() {
                filters[(r, i)] = v;
            }
        }
        let new = ConvDictionary::new(fg, cd, filters.as_ref())?;
        // ||zpad(d_new) - G||^2 over the full grids, and ||d_new - d_old||^2.
        let (mut cnstr, mut delta) = (0.0, 0.0);
        for i in 0..m {
            let (dn, dold) = (new.filter(i)?, dict.filter(i)?);
            delta += dn
                .iter()
                .zip(dold)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
            for c in 0..cd {
                let gm = &g[(i * cd + c) * n..(i * cd + c + 1) * n];
                for (p, gv) in gm.iter().enumerate() {
                    let (a, b) = (p % rows, p / rows);
                    let dv = if a < fg.rows && b < fg.cols {
                        dn[c * len + a + fg.rows * b]
                    } else {
                        0.0
                    };
                    cnstr += (dv - gv) * (dv - gv);
                }
            }
        }
        Ok((new, cnstr.sqrt(), delta.sqrt(), kept))
    }
}
