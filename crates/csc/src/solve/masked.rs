//! Convolutional BPDN with a weighted (masked) data term by mask decoupling (Heide, Heidrich &
//! Wetzstein 2015, "Fast and flexible convolutional sparse coding", CVPR; Wohlberg 2016,
//! "Boundary handling for convolutional sparse representations", ICIP; SPORCO's
//! `admm.cbpdn.ConvBPDNMaskDcpl`).
//!
//! The problem `min_x 1/2 ||W (sum_i d_i * x_i - s)||^2 + lambda sum_i ||w_i . x_i||_1`, with a
//! 0/1 mask or any real weight `W` per sample, has no per-frequency closed-form x-step (`W`
//! does not commute with the convolutions). Mask decoupling splits it as
//! `g0(y0) + g1(y1)` subject to `D x - y0 = s`, `x - y1 = 0`, with
//! `g0(y0) = 1/2 ||W y0||^2` and `g1(y1) = lambda ||w . y1||_1`, and runs scaled ADMM with
//! over-relaxation `alpha`:
//!
//! 1. `x = argmin ||D x - (y0 + s - u0)||^2 + ||x - (y1 - u1)||^2`: the Fourier-domain system
//!    `(D^H D + I) x = D^H (y0 + s - u0) + (y1 - u1)`, by Sherman–Morrison per frequency (one
//!    channel) or iterated Sherman–Morrison (factorised once: the shift is 1 whatever `rho`);
//! 2. relaxation `a0 = alpha D x + (1 - alpha)(y0 + s)`, `a1 = alpha x + (1 - alpha) y1`;
//! 3. `y0 = rho (a0 + u0 - s) / (W^2 + rho)`, `y1 = S_{lambda w / rho}(a1 + u1)`;
//! 4. `u0 += a0 - y0 - s`, `u1 += a1 - y1`.
//!
//! Residuals and stopping rule are SPORCO's for this class: primal `||(D x - y0 - s, x - y1)||`
//! over `max(||(D x, x)||, ||(y0, y1)||, ||s||)`, dual `rho ||D^T u0 + u1||` over
//! `rho ||(u0, u1)||`, relative tolerance `1e-3`. Defaults are SPORCO's too: `rho = 1`,
//! `alpha = 1.8`, no adaptive penalty (when enabled: SPORCO's generic ADMM rule, period 10,
//! factor 2, ratio 10, target 1). The returned code is `y1`, exactly sparse; the records hold
//! SPORCO's functional of the primal variable `x`.
//!
//! One iteration costs `2 (m C_x + C)` forward and `m C_x + C` inverse real FFTs of the signal
//! size (`C_x` code channels, `C` signal channels): `D x` and the spectra of `y` and `u`, which
//! the dual residual and the next x-step share.

use faer::{Mat, MatRef, Par};
use sparse_core::check;
use sparse_core::solve::{Iteration, Solve};
use sparse_core::LinearOperator;

use super::admm::xstep::{single_channel_chunk, MultiChannel};
use super::ism::Shift;
use super::kernels::{self, AdmmStep};
use super::{
    check_admm, forward_blocked, inverse_all, map_sum, run_batch, signal_spectra, validate,
    weighted_l1, AutoRho, L1Weights, Solution, Sums, Trace,
};
use crate::error::{shape_mismatch, Error, Result};
use crate::fft::Cx;
use crate::float::Float;
use crate::operator::{ConvOperator, Spectra};

/// Convolutional BPDN with a masked data term, by mask decoupling (see the
/// [module docs](self)): SPORCO's `ConvBPDNMaskDcpl`.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | weight of the l1 penalty, `>= 0` |
/// | `mask` | (required) | `W`: `signal_len x 1` (shared by the batch) or `signal_len x b` (one per signal), finite |
/// | `max_iter` | `1000` | iteration cap |
/// | `rel_residual_tol` | `1e-3` | relative tolerance on the normalised residuals |
/// | `abs_residual_tol` | `0` | absolute tolerance (scaled by the square root of the variables' sizes) |
/// | `rho` | `1` | initial penalty parameter |
/// | `relax` | `1.8` | over-relaxation `alpha` in `(0, 2)` |
/// | `auto_rho` | disabled; when enabled period 10, factor 2, ratio 10, target 1 | adaptive penalty (`target: None` means 1 here) |
/// | `nonneg` | `false` | constrain the codes to be `>= 0` |
/// | `weights` | [`L1Weights::Uniform`] | weights of the l1 penalty |
/// | `par` | `Par::rayon(0)` | parallelism (over signals, or within one signal) |
///
/// ```
/// use csc::Solve;
/// use csc::{ConvDictionary, Grid, MaskedCbpdn};
/// let mut rng = sparse_core::generate::rng(1);
/// let d = ConvDictionary::random(Grid::d1(8), 1, 4, &mut rng)?;
/// let op = d.operator(Grid::d1(64))?;
/// let y = faer::Mat::from_fn(64, 1, |i, _| (i as f64 * 0.3).sin());
/// // Every third sample is missing.
/// let mask = faer::Mat::from_fn(64, 1, |i, _| if i % 3 == 0 { 0.0 } else { 1.0 });
/// let res = MaskedCbpdn::new(0.05, mask).max_iter(300).solve(&op, y.as_ref())?;
/// assert_eq!(res.codes.nrows(), 64 * 4);
/// # Ok::<(), csc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct MaskedCbpdn {
    /// Weight of the l1 penalty.
    pub lambda: f64,
    /// The weight `W` of the data term: one column for the whole batch, or one per signal.
    pub mask: Mat<f64>,
    /// Iteration cap.
    pub max_iter: usize,
    /// Relative stopping tolerance.
    pub rel_residual_tol: f64,
    /// Absolute stopping tolerance.
    pub abs_residual_tol: f64,
    /// Initial penalty parameter.
    pub rho: f64,
    /// Over-relaxation parameter `alpha`.
    pub relax: f64,
    /// Adaptive penalty (disabled by default, as in SPORCO).
    pub auto_rho: AutoRho,
    /// Non-negative codes.
    pub nonneg: bool,
    /// Weights of the l1 penalty.
    pub weights: L1Weights,
    /// Parallelism.
    pub par: Par,
}

impl MaskedCbpdn {
    /// The solver with SPORCO's `ConvBPDNMaskDcpl` defaults, penalty `lambda` and data weight
    /// `mask` (`signal_len` rows; one column shared by every signal, or one per signal).
    pub fn new(lambda: f64, mask: Mat<f64>) -> Self {
        Self {
            lambda,
            mask,
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
                freeze_after: 200,
            },
            nonneg: false,
            weights: L1Weights::Uniform,
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
        /// Sets the over-relaxation parameter (1 disables relaxation).
        relax: f64,
        /// Sets the adaptive-penalty options.
        auto_rho: AutoRho,
        /// Constrains the codes to be non-negative.
        nonneg: bool,
        /// Sets the weights of the l1 penalty.
        weights: L1Weights,
        /// Sets the parallelism.
        par: Par,
    }

    fn check<T: Float>(&self, op: &ConvOperator, y: MatRef<'_, T>) -> Result<()> {
        validate(op, y, self.lambda, &self.weights, self.max_iter)?;
        check_admm(
            self.rel_residual_tol,
            self.abs_residual_tol,
            self.relax,
            &self.auto_rho,
        )?;
        check::positive("rho", self.rho)?;
        let w = self.mask.as_ref();
        if w.nrows() != op.signal_len() || !(w.ncols() == 1 || w.ncols() == y.ncols()) {
            return Err(shape_mismatch(
                "mask",
                format!(
                    "{} x 1 or {} x {} (one weight per signal sample)",
                    op.signal_len(),
                    op.signal_len(),
                    y.ncols()
                ),
                format!("{} x {}", w.nrows(), w.ncols()),
            ));
        }
        check::finite("mask", w)?;
        Ok(())
    }

    #[allow(clippy::too_many_lines)]
    fn solve_one<T: Float>(
        &self,
        op: &ConvOperator,
        sp: &Spectra<T>,
        s: &[T],
        wt: &[T],
        z: &mut [T],
        par: bool,
    ) -> Trace {
        let fft = &sp.fft;
        let (n, f) = (op.n(), fft.spectrum_len());
        let rows = op.signal_grid().rows;
        let (m, cd, nc) = (
            op.dictionary().n_filters(),
            op.dictionary().channels(),
            op.channels(),
        );
        let n_maps = op.n_maps();
        let (lambda, alpha, nonneg) = (self.lambda, self.relax, self.nonneg);
        let ar = self.auto_rho;
        let xi = ar.target.unwrap_or(1.0);
        let mut rho = self.rho;
        let inv_n = 1.0 / n as f64;
        let inv_nt = T::of(inv_n);
        let (zero, one) = (T::zero(), T::one());
        let blocks = fft.blocks();
        let chunk = blocks.range(0).1;
        let s_hat = signal_spectra(op, s);
        // The x-step's shift is 1 whatever rho: factorised once.
        let mut sys = (cd > 1).then(|| MultiChannel::new(op, sp, &s_hat, one, par));
        let norm_s = s.iter().map(|v| v.wide() * v.wide()).sum::<f64>().sqrt();
        let sqrt_nc = ((nc * n + n_maps * n) as f64).sqrt();
        let sqrt_nx = ((n_maps * n) as f64).sqrt();
        // State: y0, u0 (signal), y1 = z, u1 (codes); x and D x of the iteration.
        let mut y0 = vec![zero; nc * n];
        let mut u0 = vec![zero; nc * n];
        let mut u1 = vec![zero; n_maps * n];
        z.fill(zero);
        let mut x = vec![zero; n_maps * n];
        let mut dx = vec![zero; nc * n];
        // Spectra: t = FFT(y0 + s - u0) (natural, per channel), b = FFT(y1 - u1) (blocked),
        // and FFT(u0) (natural), FFT(u1) (blocked) for the dual residual.
        let mut t_hat = s_hat.clone();
        let mut b = vec![Cx::<T>::default(); n_maps * f];
        let mut dx_hat = vec![Cx::<T>::default(); nc * f];
        let mut u0_hat = vec![Cx::<T>::default(); nc * f];
        let mut u1_hat = vec![Cx::<T>::default(); n_maps * f];
        let mut info = Trace::default();
        let weights = self.weights.typed::<T>();

        for k in 0..self.max_iter {
            // (1) x-step per frequency block, b -> x / N; then D x / N per block.
            if let Some(mc) = &mut sys {
                if k > 0 {
                    mc.set_signal(op, sp, &t_hat);
                }
            }
            let items: Vec<_> = blocks
                .chunks(&mut b, n_maps)
                .into_iter()
                .zip(blocks.chunks(&mut dx_hat, nc))
                .enumerate()
                .collect();
            let t_ref = &t_hat;
            map_sum(
                items,
                par,
                || vec![Cx::<T>::default(); 2 * cd.max(1) * chunk],
                |tmp, (blk, (bc, dc))| {
                    match &sys {
                        None => {
                            single_channel_chunk(op, sp, t_ref, blk, bc, tmp, one, zero, inv_nt);
                        }
                        Some(mc) => {
                            mc.solve_chunk(
                                op,
                                sp,
                                t_ref,
                                blk,
                                bc,
                                tmp,
                                one,
                                Shift::Scalar(one),
                                inv_nt,
                            );
                        }
                    }
                    let len = blocks.range(blk).1;
                    dc.fill(Cx::<T>::default());
                    if cd == 1 {
                        // Code channel k is signal channel k.
                        for (kc, dk) in dc.chunks_mut(len).enumerate() {
                            for i in 0..m {
                                let xm = &bc[(kc * m + i) * len..(kc * m + i + 1) * len];
                                kernels::mul_acc(dk, sp.filter(i, 0, blk), xm);
                            }
                        }
                    } else {
                        for (c, dk) in dc.chunks_mut(len).enumerate() {
                            for i in 0..m {
                                let xm = &bc[i * len..(i + 1) * len];
                                kernels::mul_acc(dk, sp.filter(i, c, blk), xm);
                            }
                        }
                    }
                    0.0
                },
            );
            // (2) inverse transforms: x and D x.
            inverse_all(sp, &mut b, &mut x, n_maps, rows, par);
            inverse_all(sp, &mut dx_hat, &mut dx, nc, rows, par);
            // (3) the signal block: relaxation, y0, u0, residual terms, masked data term.
            // (sums in f64; the terms in the precision T)
            let mut sig = [0.0f64; 5]; // r0^2, ||Dx||^2, ||y0||^2, ||u0||^2, ||W(Dx - s)||^2
            let (alpha_t, rho_t) = (T::of(alpha), T::of(rho));
            let one_minus = T::of(1.0 - alpha);
            for ((((y0v, u0v), dxv), sv), wv) in
                y0.iter_mut().zip(u0.iter_mut()).zip(&dx).zip(s).zip(wt)
            {
                let (dxv, sv, wv) = (*dxv, *sv, *wv);
                let a0 = alpha_t * dxv + one_minus * (*y0v + sv);
                let v = a0 + *u0v;
                let y0n = rho_t * (v - sv) / (wv * wv + rho_t);
                let u0n = v - sv - y0n;
                let r0 = (dxv - y0n - sv).wide();
                let e = (wv * (dxv - sv)).wide();
                let (dxw, y0w, u0w) = (dxv.wide(), y0n.wide(), u0n.wide());
                sig[0] += r0 * r0;
                sig[1] += dxw * dxw;
                sig[2] += y0w * y0w;
                sig[3] += u0w * u0w;
                sig[4] += e * e;
                *y0v = y0n;
                *u0v = u0n;
            }
            // (4) the code block: relaxation, shrinkage, dual update (the kernel of Cbpdn).
            let step = AdmmStep {
                alpha: alpha_t,
                t: T::of(lambda / rho),
                u_scale: one,
                nonneg,
            };
            let weights = &weights;
            let items: Vec<_> = x
                .chunks(n)
                .zip(z.chunks_mut(n))
                .zip(u1.chunks_mut(n))
                .enumerate()
                .collect();
            let sums: Sums = map_sum(
                items,
                par,
                || (),
                |_, (map, ((xm, zm), um))| {
                    kernels::admm_update(xm, zm, um, weights.map(map, m, n), 0, step)
                },
            );
            // (5) spectra of u0, u1 (dual residual ||D^T u0 + u1||) and of y0, y1 (next x-step).
            forward_natural(sp, &u0, &mut u0_hat, nc, par);
            forward_blocked(sp, &u1, &mut u1_hat, n_maps, rows, par);
            let dual2 = dual_norm2(sp, &u0_hat, &u1_hat, m, cd, nc, n_maps) * inv_n;
            let rn = (sig[1] + sums.c)
                .sqrt()
                .max((sig[2] + sums.d).sqrt())
                .max(norm_s);
            let rn = if rn == 0.0 { 1.0 } else { rn };
            let sn0 = rho * (sig[3] + sums.e).sqrt();
            let sn = if sn0 == 0.0 { 1.0 } else { sn0 };
            let r = (sig[0] + sums.a).sqrt() / rn;
            let sres = rho * dual2.max(0.0).sqrt() / sn;
            let eps_pri = sqrt_nc * self.abs_residual_tol / rn + self.rel_residual_tol;
            let eps_dua = sqrt_nx * self.abs_residual_tol / sn + self.rel_residual_tol;
            info.history.push(
                Iteration::new(0.5 * sig[4], lambda * sums.l1x)
                    .residuals(r, sres)
                    .step(rho),
            );
            info.iterations = k + 1;
            if r < eps_pri && sres < eps_dua {
                info.converged = true;
                break;
            }
            let rsf = ar.rho_factor(k, r, sres, xi);
            if rsf != 1.0 {
                rho *= rsf;
                let inv = T::of(1.0 / rsf);
                u0.iter_mut().for_each(|v| *v *= inv);
                u1.iter_mut().for_each(|v| *v *= inv);
                u0_hat.iter_mut().for_each(|v| *v *= inv);
                u1_hat.iter_mut().for_each(|v| *v *= inv);
            }
            if k + 1 == self.max_iter {
                break;
            }
            // Right-hand sides of the next x-step: t = FFT(y0) + s_hat - FFT(u0),
            // b = FFT(y1) - FFT(u1).
            forward_natural(sp, &y0, &mut t_hat, nc, par);
            for ((tv, sv), uv) in t_hat.iter_mut().zip(&s_hat).zip(&u0_hat) {
                *tv += *sv - *uv;
            }
            forward_blocked(sp, z, &mut b, n_maps, rows, par);
            for (bv, uv) in b.iter_mut().zip(&u1_hat) {
                *bv -= *uv;
            }
        }
        // The returned code is y1 = z: its own masked objective and residual (in f64).
        let zw = crate::float::wide_slice(z);
        let z = &zw[..];
        let zm = MatRef::from_column_major_slice(z, z.len(), 1);
        let mut rz = Mat::<f64>::zeros(s.len(), 1);
        op.apply_raw(zm, rz.as_mut(), if par { Par::rayon(0) } else { Par::Seq });
        let rr: f64 = rz
            .col_as_slice(0)
            .iter()
            .zip(s)
            .zip(wt)
            .map(|((dz, sv), wv)| (wv.wide() * (dz - sv.wide())).powi(2))
            .sum();
        let l1 = weighted_l1(&self.weights, z, m, n);
        info.final_state = Some((0.5 * rr + lambda * l1, rr.sqrt()));
        info
    }
}

/// Forward transforms of `k` grids into natural-layout spectra, channel after channel.
fn forward_natural<T: Float>(sp: &Spectra<T>, x: &[T], spec: &mut [Cx<T>], k: usize, par: bool) {
    let fft = &sp.fft;
    let (n, f) = (x.len() / k.max(1), fft.spectrum_len());
    let items: Vec<_> = spec.chunks_mut(f).zip(x.chunks(n)).collect();
    map_sum(
        items,
        par,
        || fft.scratch(),
        |s, (o, xm)| {
            fft.forward(xm, o, s);
            0.0
        },
    );
}

/// `N ||D^T u0 + u1||^2` from the spectra of `u0` (natural, per signal channel) and `u1`
/// (blocked), by Parseval.
fn dual_norm2<T: Float>(
    sp: &Spectra<T>,
    u0_hat: &[Cx<T>],
    u1_hat: &[Cx<T>],
    m: usize,
    cd: usize,
    nc: usize,
    n_maps: usize,
) -> f64 {
    let blocks = sp.fft.blocks();
    let f = sp.fft.spectrum_len();
    let mut total = 0.0;
    for blk in 0..blocks.count() {
        let (f0, len) = blocks.range(blk);
        let w = &sp.weights[f0..f0 + len];
        for map in 0..n_maps {
            let mut acc = T::zero();
            let u1b = blocks.block(u1_hat, n_maps, map, blk);
            // Map `map` is filter i of code channel kc (single-channel dictionary) or
            // filter i over all channels (multi-channel dictionary).
            let (kc, i) = (map / m, map % m);
            for (q, (u1v, wv)) in u1b.iter().zip(w).enumerate() {
                let mut v = *u1v;
                if cd == 1 {
                    let d = sp.filter(i, 0, blk)[q];
                    v += d.conj() * u0_hat[kc * f + f0 + q];
                } else {
                    for c in 0..nc {
                        let d = sp.filter(i, c, blk)[q];
                        v += d.conj() * u0_hat[c * f + f0 + q];
                    }
                }
                acc += *wv * v.norm_sqr();
            }
            total += acc.wide();
        }
    }
    total
}

/// Codes every column of `y` (`signal_len x b`) from zero codes, with the mask column of each
/// signal (or the shared one). In the precision of `y` (`f64` or `f32`: the mask is rounded to
/// it; see [`crate::float`]).
impl<T: Float> Solve<ConvOperator, T> for MaskedCbpdn {
    type Output = Solution<Mat<T>>;
    type Error = Error;

    fn solve(&self, op: &ConvOperator, y: MatRef<'_, T>) -> Result<Solution<Mat<T>>> {
        self.check(op, y)?;
        let sp = op.spectra_t::<T>().clone();
        let shared = self.mask.ncols() == 1;
        let masks: Vec<Vec<T>> = (0..self.mask.ncols())
            .map(|j| {
                self.mask
                    .col_as_slice(j)
                    .iter()
                    .map(|&v| T::of(v))
                    .collect()
            })
            .collect();
        Ok(run_batch(op, y, self.par, |j, yj, xj, inner| {
            let wj = &masks[if shared { 0 } else { j }];
            self.solve_one(op, &sp, yj, wj, xj, inner)
        }))
    }
}
