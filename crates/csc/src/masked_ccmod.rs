//! The convolutional dictionary update with a masked data term: constrained MOD with mask
//! decoupling (F. Heide, W. Heidrich, G. Wetzstein, "Fast and flexible convolutional sparse
//! coding", CVPR 2015; B. Wohlberg, "Boundary handling for convolutional sparse
//! representations", ICIP 2016; SPORCO's `ConvCnstrMODMaskDcpl`, whose iterates, records and
//! defaults [`MaskedCcmod`] follows), and the masked dictionary learning it makes possible
//! ([`MaskedCcmod::learn`], SPORCO's `ConvBPDNMaskDictLearn` problem):
//!
//! `min_d 1/2 sum_k ||W_k (sum_i d_i * x_{k,i} - s_k)||^2` s.t. every `d_i` lives on its
//! `n_h x n_w` support with unit norm,
//!
//! by ADMM on `[X; I] d - [g_0; g_1] = [s; 0]` with `g(g_0, g_1) = 1/2 ||W g_0||^2 +
//! iota_C(g_1)`:
//!
//! 1. `d = (X^H X + I)^{-1} (X^H (y_0 + s - u_0) + (y_1 - u_1))` per frequency (iterated
//!    Sherman–Morrison over the training samples, factorised once: the shift is 1 whatever
//!    `rho`);
//! 2. relaxation `A d <- alpha A d + (1 - alpha) (y + c)`;
//! 3. `y_0 = rho (X d + u_0 - s) / (W^2 + rho)`, `y_1 = P_C(d + u_1)` (crop, optional zero
//!    mean, unit norm);
//! 4. `u <- u + A d - y - c`;
//!
//! with SPORCO's residuals for this class (primal `||A d - y - c||` over
//! `max(||A d||, ||y||, ||s||)`, dual `rho ||A^T u||` over `rho ||u||`, the latter by
//! Parseval) and records (`DFid = 1/2 ||W (X d - s)||^2`, `Cnstr = ||P_C(d) - d||`, at the
//! iterate `d`). The dictionary returned is `y_1` (SPORCO's `ReturnVar = 'Y1'`): feasible.

use faer::{Mat, MatRef, Par};
use sparse_core::check;

use crate::dictionary::{ConvDictionary, Grid};
use crate::error::{shape_mismatch, Result};
use crate::fft::Cx;
use crate::float::Float;
use crate::learn::{map_spectra, Samples};
use crate::solve::ism::Ism;
use crate::solve::MaskedCbpdn;
use crate::solve::{check_admm, forward_blocked, inverse_all, kernels, map_sum, AutoRho};
use crate::{Diagnostics, Iteration, Solve};

/// The masked constrained-MOD dictionary update (see the [module docs](self)).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `max_iter` | `1000` | iteration cap |
/// | `rel_residual_tol` | `1e-3` | relative tolerance on the normalised residuals |
/// | `abs_residual_tol` | `0` | absolute tolerance (scaled by the square root of the variables' sizes) |
/// | `rho` | `1` | initial penalty parameter |
/// | `relax` | `1.8` | over-relaxation `alpha` in `(0, 2)` |
/// | `auto_rho` | disabled; when enabled period 10, factor 2, ratio 10, target 1 | adaptive penalty (SPORCO's defaults for this class) |
/// | `zero_mean` | `false` | zero-mean filter channels in the projection (SPORCO's `ZeroMean`) |
/// | `warm_start` | `true` | start at the given filters (`y_1 = d`, `y_0 = X d - s`, `u = 0`); `false`: from zero, as SPORCO's standalone class |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedCcmod {
    /// Iteration cap.
    pub max_iter: usize,
    /// Relative stopping tolerance.
    pub rel_residual_tol: f64,
    /// Absolute stopping tolerance.
    pub abs_residual_tol: f64,
    /// Initial penalty parameter.
    pub rho: f64,
    /// Over-relaxation parameter.
    pub relax: f64,
    /// Adaptive penalty.
    pub auto_rho: AutoRho,
    /// Zero-mean filters.
    pub zero_mean: bool,
    /// Start at the given filters.
    pub warm_start: bool,
    /// Parallelism.
    pub par: Par,
}

/// What [`MaskedCcmod::solve`] returns.
#[derive(Debug, Clone)]
pub struct CcmodSolution {
    /// The updated filters (`y_1`, cropped).
    pub dictionary: ConvDictionary,
    /// Iterations, convergence, `1/2 sum_k ||W_k (D x_k - s_k)||^2` of the returned filters and
    /// its square root's residual norm; the history records `DFid` (as `data_fidelity` and
    /// `objective`), `Cnstr` (as `penalty`), the normalised residuals and `rho` (as `step`).
    pub diagnostics: Diagnostics,
    /// Filters whose `y_1` was zero and that kept their initial value.
    pub kept: Vec<usize>,
}

/// What [`MaskedCcmod::learn`] returns (`T`: the precision of the training signals).
#[derive(Debug, Clone)]
pub struct MaskedLearnResult<T = f64> {
    /// The learned dictionary.
    pub dictionary: ConvDictionary,
    /// Codes of the training signals over it.
    pub codes: Mat<T>,
    /// `sum_k 1/2 ||W_k (D x_k - s_k)||^2 + lambda ||x_k||_1` after every coding step.
    pub objective: Vec<f64>,
}

impl Default for MaskedCcmod {
    fn default() -> Self {
        Self::new()
    }
}

impl MaskedCcmod {
    /// The update with SPORCO's `ConvCnstrMODMaskDcpl` defaults.
    pub fn new() -> Self {
        Self {
            max_iter: 1000,
            rel_residual_tol: 1e-3,
            abs_residual_tol: 0.0,
            rho: 1.0,
            relax: 1.8,
            auto_rho: AutoRho {
                enabled: false,
                period: 10,
                scaling: 2.0,
                ratio: 10.0,
                target: None,
                auto_scaling: false,
                freeze_after: usize::MAX,
            },
            zero_mean: false,
            warm_start: true,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Sets the iteration cap.
        max_iter: usize,
        /// Sets the relative stopping tolerance.
        rel_residual_tol: f64,
        /// Sets the absolute stopping tolerance.
        abs_residual_tol: f64,
        /// Sets the initial penalty parameter.
        rho: f64,
        /// Sets the over-relaxation parameter.
        relax: f64,
        /// Sets the adaptive-penalty options.
        auto_rho: AutoRho,
        /// Zero-mean filters.
        zero_mean: bool,
        /// Starts at the given filters (`true`) or from zero.
        warm_start: bool,
        /// Sets the parallelism.
        par: Par,
    }

    /// Updates the filters `init` for the codes `codes` (`code_len x K`, one column per
    /// signal) of the signals `y` (`N C x K`) with the data weight `mask` (`N C x 1`, shared,
    /// or `N C x K`).
    ///
    /// In the precision of `y` and `codes` (`f64` or `f32`, SPORCO's `DataType`; the mask is
    /// rounded to it, the filters and records are `f64`).
    ///
    /// Errors: option checks (naming the option), shapes and non-finite values of `y`,
    /// `codes`, `mask` (naming them).
    pub fn solve<T: Float>(
        &self,
        init: &ConvDictionary,
        signal: Grid,
        channels: usize,
        y: MatRef<'_, T>,
        codes: MatRef<'_, T>,
        mask: MatRef<'_, f64>,
    ) -> Result<CcmodSolution> {
        check::count("max_iter", self.max_iter, usize::MAX)?;
        check_admm(
            self.rel_residual_tol,
            self.abs_residual_tol,
            self.relax,
            &self.auto_rho,
        )?;
        check::positive("rho", self.rho)?;
        let op = init.operator_with_channels(signal, channels)?;
        check::batch("y", y, op.signal_len())?;
        check::shape("codes", codes, op.code_len(), y.ncols())?;
        check::finite("codes", codes)?;
        if mask.nrows() != op.signal_len() || !(mask.ncols() == 1 || mask.ncols() == y.ncols()) {
            return Err(shape_mismatch(
                "mask",
                format!(
                    "{} x 1 or {} x {}",
                    op.signal_len(),
                    op.signal_len(),
                    y.ncols()
                ),
                format!("{} x {}", mask.nrows(), mask.ncols()),
            ));
        }
        check::finite("mask", mask)?;
        let sp = op.spectra_t::<T>();
        let fft = &sp.fft;
        let blocks = fft.blocks();
        let (n, f) = (op.n(), fft.spectrum_len());
        let rows = signal.rows;
        let (zero, one) = (T::zero(), T::one());
        let (m, cd) = (init.n_filters(), init.channels());
        let fg = init.filter_grid();
        let par = self.par.degree() > 1;
        let pp = if par { Par::rayon(0) } else { Par::Seq };
        // Samples j = (signal, code channel) and their targets q = j cd + c.
        let samples = Samples::new(&op, y.ncols());
        let nj = samples.nj;
        let nq = nj * cd;
        let maps = cd * m;
        fn gather<T: Float, U: Copy + Into<f64>>(
            samples: &Samples,
            n: usize,
            nq: usize,
            src: MatRef<'_, U>,
            shared: bool,
        ) -> Vec<T> {
            let mut out = vec![T::zero(); nq * n];
            for (q, o) in out.chunks_mut(n).enumerate() {
                let (k, off) = samples.target(q);
                let col = src.col(if shared { 0 } else { k });
                for (p, v) in o.iter_mut().enumerate() {
                    *v = T::of(col[off + p].into());
                }
            }
            out
        }
        let s: Vec<T> = gather(&samples, n, nq, y, false);
        let w: Vec<T> = gather(&samples, n, nq, mask, mask.ncols() == 1);
        let zs = map_spectra(fft, nj * m, &|q| samples.code(q), codes, par);
        let mut ism = Ism::new(nj, m, f);
        ism.factor(
            blocks,
            |j, i, blk| blocks.block(&zs, nj * m, j * m + i, blk),
            one,
            par,
        );
        let chunk = blocks.range(0).1;
        let alpha = self.relax;
        let ar = self.auto_rho;
        let xi = ar.target.unwrap_or(1.0);
        let mut rho = self.rho;
        let inv_n = T::of(1.0 / n as f64);
        let norm_s = s.iter().map(|v| v.wide() * v.wide()).sum::<f64>().sqrt();
        let sqrt_nc = ((nq * n + maps * n) as f64).sqrt();
        let sqrt_nx = ((maps * n) as f64).sqrt();
        // State: y0, u0 (per target), y1, u1 (dictionary maps c m + i, full grid).
        let mut y0 = vec![zero; nq * n];
        let mut u0 = vec![zero; nq * n];
        let mut y1 = vec![zero; maps * n];
        let mut u1 = vec![zero; maps * n];
        if self.warm_start {
            y1 = crate::learn::zpad_filters(init, signal)
                .into_iter()
                .map(T::of)
                .collect();
            let synth = match T::f64_mat(codes) {
                Some(c) => op.synthesize(c, pp)?,
                None => {
                    let cw =
                        Mat::from_fn(codes.nrows(), codes.ncols(), |i, j| codes[(i, j)].wide());
                    op.synthesize(cw.as_ref(), pp)?
                }
            };
            let ds: Vec<T> = gather(&samples, n, nq, synth.as_ref(), false);
            for ((v, d), sv) in y0.iter_mut().zip(&ds).zip(&s) {
                *v = *d - *sv;
            }
        }
        let mut x = vec![zero; maps * n];
        let mut ax0 = vec![zero; nq * n];
        let mut t_hat = vec![Cx::<T>::default(); nq * f];
        let mut b = vec![Cx::<T>::default(); maps * f];
        let mut ax_hat = vec![Cx::<T>::default(); nq * f];
        let mut u0_hat = vec![Cx::<T>::default(); nq * f];
        let mut u1_hat = vec![Cx::<T>::default(); maps * f];
        let mut tmp_sp = vec![zero; nq * n];
        let mut history = Vec::new();
        let (mut iterations, mut converged) = (0, false);
        let project = |v: &mut [T]| project_filters(v, m, cd, n, rows, fg, self.zero_mean);
        for k in 0..self.max_iter {
            // (1) right-hand sides: T = FFT(y0 - u0 + s), B = FFT(y1 - u1).
            for (((t, a), bu), sv) in tmp_sp.iter_mut().zip(&y0).zip(&u0).zip(&s) {
                *t = *a - *bu + *sv;
            }
            forward_blocked(sp, &tmp_sp, &mut t_hat, nq, rows, par);
            for ((xv, a), bu) in x.iter_mut().zip(&y1).zip(&u1) {
                *xv = *a - *bu;
            }
            forward_blocked(sp, &x, &mut b, maps, rows, par);
            // (2) per block: b_{c,i} += sum_j conj(Z_{j,i}) T_{j,c}; solve; A0 d spectra.
            let items: Vec<_> = blocks
                .chunks(&mut b, maps)
                .into_iter()
                .zip(blocks.chunks(&mut ax_hat, nq))
                .enumerate()
                .collect();
            let t_ref = &t_hat;
            map_sum(
                items,
                par,
                || vec![Cx::<T>::default(); nj * chunk],
                |tmp, (blk, (bc, ac))| {
                    let len = blocks.range(blk).1;
                    for (c, bcc) in bc.chunks_mut(m * len).enumerate() {
                        for i in 0..m {
                            let o = &mut bcc[i * len..(i + 1) * len];
                            for j in 0..nj {
                                let z = blocks.block(&zs, nj * m, j * m + i, blk);
                                let t = blocks.block(t_ref, nq, j * cd + c, blk);
                                kernels::conj_mul_acc(o, z, t);
                            }
                        }
                        ism.solve_block(blocks, blk, bcc, tmp, one);
                    }
                    ac.fill(Cx::<T>::default());
                    for (q, aq) in ac.chunks_mut(len).enumerate() {
                        let (j, c) = (q / cd, q % cd);
                        for i in 0..m {
                            let z = blocks.block(&zs, nj * m, j * m + i, blk);
                            let d = &bc[(c * m + i) * len..(c * m + i + 1) * len];
                            kernels::mul_acc(aq, z, d);
                        }
                    }
                    0.0
                },
            );
            inverse_all(sp, &mut b, &mut x, maps, rows, par);
            inverse_all(sp, &mut ax_hat, &mut ax0, nq, rows, par);
            x.iter_mut().for_each(|v| *v *= inv_n);
            ax0.iter_mut().for_each(|v| *v *= inv_n);
            // (3)-(4) block 0: relaxation, y0, u0, residual terms, masked data term.
            // (sums in f64; the terms in the precision T)
            let mut sig = [0.0f64; 5]; // r0^2, ||A0 d||^2, ||y0||^2, ||u0||^2, 2 DFid
            let (alpha_t, rho_t, one_minus) = (T::of(alpha), T::of(rho), T::of(1.0 - alpha));
            for ((((y0v, u0v), av), sv), wv) in
                y0.iter_mut().zip(u0.iter_mut()).zip(&ax0).zip(&s).zip(&w)
            {
                let (av, sv, wv) = (*av, *sv, *wv);
                let a0 = alpha_t * av + one_minus * (*y0v + sv);
                let v = a0 + *u0v;
                let y0n = rho_t * (v - sv) / (wv * wv + rho_t);
                let u0n = v - sv - y0n;
                let r0 = (av - y0n - sv).wide();
                let e = (wv * (av - sv)).wide();
                let (aw, y0w, u0w) = (av.wide(), y0n.wide(), u0n.wide());
                sig[0] += r0 * r0;
                sig[1] += aw * aw;
                sig[2] += y0w * y0w;
                sig[3] += u0w * u0w;
                sig[4] += e * e;
                *y0v = y0n;
                *u0v = u0n;
            }
            // Block 1: relaxation, y1 = P(a1 + u1), u1.
            let cnstr = {
                let mut px = x.clone();
                project(&mut px);
                px.iter()
                    .zip(&x)
                    .map(|(a, b)| (a.wide() - b.wide()).powi(2))
                    .sum::<f64>()
                    .sqrt()
            };
            let mut a1 = vec![zero; maps * n];
            for ((a, xv), yv) in a1.iter_mut().zip(&x).zip(&y1) {
                *a = alpha_t * *xv + one_minus * *yv;
            }
            let mut v1: Vec<T> = a1.iter().zip(&u1).map(|(a, u)| *a + *u).collect();
            project(&mut v1);
            let mut sig1 = [0.0f64; 4]; // r1^2, ||d||^2, ||y1||^2, ||u1||^2
            for ((((u1v, y1v), a), xv), yn) in
                u1.iter_mut().zip(y1.iter_mut()).zip(&a1).zip(&x).zip(&v1)
            {
                *u1v += *a - *yn;
                let r1 = (*xv - *yn).wide();
                let (xw, yw, uw) = (xv.wide(), yn.wide(), u1v.wide());
                sig1[0] += r1 * r1;
                sig1[1] += xw * xw;
                sig1[2] += yw * yw;
                sig1[3] += uw * uw;
                *y1v = *yn;
            }
            // Dual residual rho ||A0^T u0 + u1|| by Parseval.
            forward_blocked(sp, &u0, &mut u0_hat, nq, rows, par);
            forward_blocked(sp, &u1, &mut u1_hat, maps, rows, par);
            let mut dual2 = 0.0;
            let mut acc = vec![Cx::<T>::default(); chunk];
            for blk in 0..blocks.count() {
                let (f0, len) = blocks.range(blk);
                let wts = &sp.weights[f0..f0 + len];
                for c in 0..cd {
                    for i in 0..m {
                        let a = &mut acc[..len];
                        a.copy_from_slice(blocks.block(&u1_hat, maps, c * m + i, blk));
                        for j in 0..nj {
                            let z = blocks.block(&zs, nj * m, j * m + i, blk);
                            let u = blocks.block(&u0_hat, nq, j * cd + c, blk);
                            kernels::conj_mul_acc(a, z, u);
                        }
                        dual2 += a
                            .iter()
                            .zip(wts)
                            .map(|(v, wt)| *wt * v.norm_sqr())
                            .sum::<T>()
                            .wide();
                    }
                }
            }
            dual2 *= inv_n.wide();
            let rn = (sig[1] + sig1[1])
                .sqrt()
                .max((sig[2] + sig1[2]).sqrt())
                .max(norm_s);
            let rn = if rn == 0.0 { 1.0 } else { rn };
            let sn0 = rho * (sig[3] + sig1[3]).sqrt();
            let sn = if sn0 == 0.0 { 1.0 } else { sn0 };
            let r = (sig[0] + sig1[0]).sqrt() / rn;
            let sres = rho * dual2.max(0.0).sqrt() / sn;
            let eps_pri = sqrt_nc * self.abs_residual_tol / rn + self.rel_residual_tol;
            let eps_dua = sqrt_nx * self.abs_residual_tol / sn + self.rel_residual_tol;
            let mut rec = Iteration::new(0.5 * sig[4], cnstr)
                .residuals(r, sres)
                .step(rho);
            rec.objective = 0.5 * sig[4];
            history.push(rec);
            iterations = k + 1;
            if r < eps_pri && sres < eps_dua {
                converged = true;
                break;
            }
            let rsf = ar.rho_factor(k, r, sres, xi);
            if rsf != 1.0 {
                rho *= rsf;
                let inv = T::of(1.0 / rsf);
                u0.iter_mut().for_each(|v| *v *= inv);
                u1.iter_mut().for_each(|v| *v *= inv);
            }
        }
        // The dictionary: y1 cropped (zero filters keep their initial value).
        let len = fg.len();
        let mut filters = Mat::<f64>::zeros(len * cd, m);
        let mut kept = Vec::new();
        for i in 0..m {
            let mut col = vec![0.0; len * cd];
            for c in 0..cd {
                let src = &y1[(c * m + i) * n..(c * m + i + 1) * n];
                for bb in 0..fg.cols {
                    for a in 0..fg.rows {
                        col[c * len + a + fg.rows * bb] = src[a + rows * bb].wide();
                    }
                }
            }
            if col.iter().all(|v| *v == 0.0) || !col.iter().all(|v| v.is_finite()) {
                kept.push(i);
                col.copy_from_slice(init.filter(i)?);
            }
            for (r, v) in col.into_iter().enumerate() {
                filters[(r, i)] = v;
            }
        }
        let dictionary = ConvDictionary::new(fg, cd, filters.as_ref())?;
        let dfid = masked_fidelity(&dictionary, signal, channels, y, codes, mask, pp)?;
        let diagnostics = Diagnostics::new(iterations, converged, dfid, (2.0 * dfid).sqrt())
            .with_history(history);
        Ok(CcmodSolution {
            dictionary,
            diagnostics,
            kept,
        })
    }

    /// Masked convolutional dictionary learning (SPORCO's `ConvBPDNMaskDictLearn` problem):
    /// `iterations` outer iterations of [`MaskedCbpdn`] coding (from zero codes, `coding_iter`
    /// iterations, its other options SPORCO's defaults) and this dictionary update
    /// (warm-started at the current filters), from `init`.
    /// `objective` holds the masked functional after every coding step.
    /// In the precision of `y` (`f64` or `f32`).
    #[allow(clippy::too_many_arguments)]
    pub fn learn<T: Float>(
        &self,
        init: &ConvDictionary,
        signal: Grid,
        channels: usize,
        y: MatRef<'_, T>,
        mask: MatRef<'_, f64>,
        lambda: f64,
        iterations: usize,
        coding_iter: usize,
    ) -> Result<MaskedLearnResult<T>> {
        let mut dict = init.clone();
        let mut objective = Vec::with_capacity(iterations + 1);
        let coder = MaskedCbpdn::new(lambda, mask.to_owned())
            .max_iter(coding_iter)
            .par(self.par);
        let pp = self.par;
        let mut it = 0;
        loop {
            let op = dict.operator_with_channels(signal, channels)?;
            let codes = coder.solve(&op, y)?.codes;
            let dfid = masked_fidelity(&dict, signal, channels, y, codes.as_ref(), mask, pp)?;
            let l1: f64 = (0..codes.ncols())
                .map(|j| codes.col(j).iter().map(|v| v.wide().abs()).sum::<f64>())
                .sum();
            objective.push(dfid + lambda * l1);
            if it == iterations {
                return Ok(MaskedLearnResult {
                    dictionary: dict,
                    codes,
                    objective,
                });
            }
            dict = self
                .solve(&dict, signal, channels, y, codes.as_ref(), mask)?
                .dictionary;
            it += 1;
        }
    }
}

/// `1/2 sum_k ||W_k (D x_k - s_k)||^2`, in `f64` (float32 codes widened one signal at a
/// time).
fn masked_fidelity<T: Float>(
    dict: &ConvDictionary,
    signal: Grid,
    channels: usize,
    y: MatRef<'_, T>,
    codes: MatRef<'_, T>,
    mask: MatRef<'_, f64>,
    par: Par,
) -> Result<f64> {
    let op = dict.operator_with_channels(signal, channels)?;
    let mut total = 0.0;
    let mut add = |k: usize, synth: MatRef<'_, f64>, j: usize| {
        let wk = mask.col(if mask.ncols() == 1 { 0 } else { k });
        for p in 0..y.nrows() {
            let e = wk[p] * (synth[(p, j)] - y[(p, k)].wide());
            total += e * e;
        }
    };
    match T::f64_mat(codes) {
        Some(c) => {
            let synth = op.synthesize(c, par)?;
            for k in 0..y.ncols() {
                add(k, synth.as_ref(), k);
            }
        }
        None => {
            for k in 0..y.ncols() {
                let cw = Mat::from_fn(codes.nrows(), 1, |i, _| codes[(i, k)].wide());
                add(k, op.synthesize(cw.as_ref(), par)?.as_ref(), 0);
            }
        }
    }
    Ok(0.5 * total)
}

/// `P_C` on full-grid filter maps (`c m + i`): crop to the support, optionally subtract each
/// channel's mean, scale every filter (over its channels) to unit norm; zero stays zero.
fn project_filters<T: Float>(
    v: &mut [T],
    m: usize,
    cd: usize,
    n: usize,
    rows: usize,
    fg: Grid,
    zero_mean: bool,
) {
    for i in 0..m {
        let mut nrm = T::zero();
        for c in 0..cd {
            let map = &mut v[(c * m + i) * n..(c * m + i + 1) * n];
            let mut sum = T::zero();
            for (p, x) in map.iter_mut().enumerate() {
                let (a, b) = (p % rows, p / rows);
                if a >= fg.rows || b >= fg.cols {
                    *x = T::zero();
                } else {
                    sum += *x;
                }
            }
            if zero_mean {
                let mean = sum / T::of(fg.len() as f64);
                for b in 0..fg.cols {
                    for a in 0..fg.rows {
                        map[a + rows * b] -= mean;
                    }
                }
            }
            for b in 0..fg.cols {
                for a in 0..fg.rows {
                    nrm += map[a + rows * b] * map[a + rows * b];
                }
            }
        }
        let nrm = nrm.sqrt();
        if nrm > T::zero() {
            for c in 0..cd {
                v[(c * m + i) * n..(c * m + i + 1) * n]
                    .iter_mut()
                    .for_each(|x| *x /= nrm);
            }
        }
    }
}
