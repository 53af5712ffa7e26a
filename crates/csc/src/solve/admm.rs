//! Convolutional BPDN by ADMM in the Fourier domain (Wohlberg 2016, "Efficient algorithms for
//! convolutional sparse representations", IEEE TIP 25(1)).
//!
//! The problem `min_g 1/2 ||y - sum_i d_i * g_i||^2 + lambda sum_i ||w_i . g_i||_1` is split as
//! `f(x) + g(z)` subject to `x = z` and solved by scaled ADMM with over-relaxation:
//!
//! 1. `x = argmin 1/2 ||D x - y||^2 + rho/2 ||x - (z - u)||^2`: in the Fourier domain the system
//!    `(D(w)^H D(w) + rho I) x(w) = D(w)^H y(w) + rho (z - u)(w)` decouples over frequencies; with
//!    one channel `D(w)^H D(w)` is rank one and Sherman–Morrison solves it in `O(m)` per
//!    frequency, with `C` channels `C` iterated Sherman–Morrison updates do (`O(C m)` per
//!    frequency and solve, `O(C^2 m)` when `rho` changes);
//! 2. relaxation `a = alpha x + (1 - alpha) z`;
//! 3. `z = S_{lambda w / rho}(a + u)` (soft, or non-negative soft, thresholding);
//! 4. `u = u + a - z`.
//!
//! Defaults follow SPORCO's `admm.cbpdn.ConvBPDN` (Wohlberg 2017): `rho = 50 lambda + 1`,
//! `alpha = 1.8`, the adaptive penalty of residual balancing with automatic scaling
//! (Wohlberg 2017, "ADMM penalty parameter selection by residual balancing",
//! arXiv:1704.06209) updating every
//! iteration with ratio 1.2, target `1 + 18.3^(log10(lambda) + 1)` and at most a factor 1000;
//! and the stopping rule on residuals normalised by `max(||x||, ||z||)` and `rho ||u||` with
//! relative tolerance `1e-3` (Boyd et al. 2010, "Distributed optimization and statistical
//! learning via the alternating direction method of multipliers", section 3.3.1). The returned code is `z`, which
//! is exactly sparse.
//!
//! One iteration costs `2 m C_x` real FFTs of the signal size plus three passes over the codes,
//! all fused: the `z - u` that feeds the next x-step is formed while transforming, and the
//! relaxation, shrinkage, dual update, residuals and l1 norm are one pass over each inverse
//! transform's output.

use faer::{Mat, MatMut, MatRef, Par};
use sparse_core::check;
use sparse_core::solve::{Iteration, Solve};
use sparse_core::LinearOperator;

use super::{map_sum, run_batch, signal_spectra, validate, L1Weights, Solution, Sums, Trace};
use crate::error::{invalid, Error, Result};
use crate::fft::C64;
use crate::operator::{ConvOperator, Spectra};
use crate::solve::ism::Ism;
use crate::solve::kernels::{self, AdmmStep};

/// The adaptive penalty of [`Cbpdn`]: residual balancing (Boyd et al. 2010, section 3.4.1) with
/// the automatic scaling of Wohlberg (2017, arXiv:1704.06209).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `enabled` | `true` | adapt `rho` at all |
/// | `period` | `1` | iterations between updates |
/// | `scaling` | `1000` | the factor `tau` (with `auto_scaling`, its upper bound) |
/// | `ratio` | `1.2` | `mu`: update when one residual exceeds `mu` times the other (times the target) |
/// | `target` | `None` = `1 + 18.3^(log10(lambda) + 1)` | `xi`: the targeted primal/dual ratio |
/// | `auto_scaling` | `true` | factor `sqrt(r / (xi s))` (or its inverse), capped at `scaling` |
/// | `freeze_after` | `200` | keep `rho` fixed from this iteration on |
///
/// All but `freeze_after` are SPORCO's `ConvBPDN` defaults. Adapting `rho` at every iteration
/// forever can make ADMM cycle instead of converge (on small problems the normalised residuals
/// then stall around `1e-1`); ADMM provably converges once `rho` stops changing (Boyd et al.
/// 2010, section 3.4.1), so adaptation stops after `freeze_after` iterations. Within the first
/// `freeze_after` iterations the iterates are SPORCO's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AutoRho {
    /// Whether `rho` adapts.
    pub enabled: bool,
    /// Iterations between updates (`>= 1`).
    pub period: usize,
    /// Multiplier `tau` (`>= 1`); with `auto_scaling`, the largest allowed multiplier.
    pub scaling: f64,
    /// Residual ratio `mu` (`>= 1`) that triggers an update.
    pub ratio: f64,
    /// Target primal/dual residual ratio `xi`; `None` for SPORCO's lambda-dependent default.
    pub target: Option<f64>,
    /// Whether the multiplier is computed from the residual ratio.
    pub auto_scaling: bool,
    /// Iteration from which `rho` stays fixed.
    pub freeze_after: usize,
}

impl Default for AutoRho {
    fn default() -> Self {
        Self {
            enabled: true,
            period: 1,
            scaling: 1000.0,
            ratio: 1.2,
            target: None,
            auto_scaling: true,
            freeze_after: 200,
        }
    }
}

impl AutoRho {
    /// Fixed penalty (no adaptation).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::default()
        }
    }

    fn validate(&self) -> Result<()> {
        check::count("auto_rho.period", self.period, usize::MAX)?;
        if !(self.scaling.is_finite() && self.scaling >= 1.0) {
            return Err(invalid(
                "auto_rho.scaling",
                self.scaling,
                "a finite number >= 1",
            ));
        }
        if !(self.ratio.is_finite() && self.ratio >= 1.0) {
            return Err(invalid(
                "auto_rho.ratio",
                self.ratio,
                "a finite number >= 1",
            ));
        }
        if let Some(t) = self.target {
            check::positive("auto_rho.target", t)?;
        }
        Ok(())
    }
}

/// Convolutional BPDN by ADMM in the Fourier domain (see the [module docs](self)).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | weight of the l1 penalty, `>= 0` |
/// | `max_iter` | `1000` | iteration cap |
/// | `rel_residual_tol` | `1e-3` | relative tolerance on the normalised primal and dual residuals |
/// | `abs_residual_tol` | `0` | absolute tolerance (scaled by `sqrt(code_len)`) |
/// | `rho` | `None` = `50 lambda + 1` | initial penalty parameter |
/// | `relax` | `1.8` | over-relaxation `alpha` in `(0, 2)` |
/// | `auto_rho` | [`AutoRho::default`] | adaptive penalty |
/// | `nonneg` | `false` | constrain the codes to be `>= 0` |
/// | `weights` | [`L1Weights::Uniform`] | weights of the l1 penalty |
/// | `par` | `Par::rayon(0)` | parallelism (over signals, or within one signal) |
///
/// ```
/// use csc::Solve;
/// use csc::{Cbpdn, ConvDictionary, Grid};
/// use sparse_core::LinearOperator;
/// let mut rng = sparse_core::generate::rng(1);
/// let d = ConvDictionary::random(Grid::d1(8), 1, 4, &mut rng)?;
/// let op = d.operator(Grid::d1(64))?;
/// let y = faer::Mat::from_fn(64, 1, |i, _| (i as f64 * 0.3).sin());
/// let res = Cbpdn::new(0.05).max_iter(200).solve(&op, y.as_ref())?;
/// assert_eq!(res.codes.nrows(), 64 * 4);
/// assert!(res.diagnostics[0].records().len() <= 200);
/// # Ok::<(), csc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Cbpdn {
    /// Weight of the l1 penalty.
    pub lambda: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Relative stopping tolerance.
    pub rel_residual_tol: f64,
    /// Absolute stopping tolerance.
    pub abs_residual_tol: f64,
    /// Initial penalty parameter (`None`: `50 lambda + 1`).
    pub rho: Option<f64>,
    /// Over-relaxation parameter `alpha`.
    pub relax: f64,
    /// Adaptive penalty.
    pub auto_rho: AutoRho,
    /// Non-negative codes.
    pub nonneg: bool,
    /// Weights of the l1 penalty.
    pub weights: L1Weights,
    /// Parallelism.
    pub par: Par,
}

impl Cbpdn {
    /// The solver with SPORCO's defaults and penalty `lambda`.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            max_iter: 1000,
            rel_residual_tol: 1e-3,
            abs_residual_tol: 0.0,
            rho: None,
            relax: 1.8,
            auto_rho: AutoRho::default(),
            nonneg: false,
            weights: L1Weights::Uniform,
            par: Par::rayon(0),
        }
    }

    /// Sets the iteration cap.
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }

    /// Sets the relative stopping tolerance.
    pub fn rel_residual_tol(mut self, rel_residual_tol: f64) -> Self {
        self.rel_residual_tol = rel_residual_tol;
        self
    }

    /// Sets the absolute stopping tolerance.
    pub fn abs_residual_tol(mut self, abs_residual_tol: f64) -> Self {
        self.abs_residual_tol = abs_residual_tol;
        self
    }

    /// Sets the initial penalty parameter.
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = Some(rho);
        self
    }

    /// Sets the over-relaxation parameter (1 disables relaxation).
    pub fn relax(mut self, relax: f64) -> Self {
        self.relax = relax;
        self
    }

    /// Sets the adaptive-penalty options.
    pub fn auto_rho(mut self, auto_rho: AutoRho) -> Self {
        self.auto_rho = auto_rho;
        self
    }

    /// Constrains the codes to be non-negative.
    pub fn nonneg(mut self, nonneg: bool) -> Self {
        self.nonneg = nonneg;
        self
    }

    /// Sets the weights of the l1 penalty.
    pub fn weights(mut self, weights: L1Weights) -> Self {
        self.weights = weights;
        self
    }

    /// Sets the parallelism.
    pub fn par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// The initial penalty this solver uses.
    pub fn initial_rho(&self) -> f64 {
        self.rho.unwrap_or(50.0 * self.lambda + 1.0)
    }

    fn check(&self, op: &ConvOperator, y: MatRef<'_, f64>) -> Result<()> {
        validate(op, y, self.lambda, &self.weights, self.max_iter)?;
        check::positive("rel_residual_tol", self.rel_residual_tol)?;
        check::non_negative("abs_residual_tol", self.abs_residual_tol)?;
        if let Some(r) = self.rho {
            check::positive("rho", r)?;
        }
        if !(self.relax > 0.0 && self.relax < 2.0) {
            return Err(invalid("relax", self.relax, "a number in (0, 2)"));
        }
        self.auto_rho.validate()
    }

    /// Codes every column of `y` starting from the codes `init` (`code_len x b`; a warm start,
    /// e.g. the previous codes in dictionary learning). The scaled dual variable starts at
    /// `u = D^T (y - D init) / rho`, the value for which `x = z = init` is a fixed point of the
    /// x-step, so that a solution is left (nearly) unchanged.
    pub fn solve_warm(
        &self,
        op: &ConvOperator,
        y: MatRef<'_, f64>,
        init: MatRef<'_, f64>,
    ) -> Result<Solution> {
        self.check(op, y)?;
        check::shape("init", init, op.code_len(), y.ncols())?;
        check::finite("init", init)?;
        let sp = op.spectra().clone();
        Ok(run_batch(op, y, self.par, |j, yj, xj, inner| {
            let g0 = crate::operator::column(init, j);
            self.solve_one(op, &sp, yj, Some(&g0), xj, inner)
        }))
    }

    fn solve_one(
        &self,
        op: &ConvOperator,
        sp: &Spectra,
        y: &[f64],
        init: Option<&[f64]>,
        z: &mut [f64],
        par: bool,
    ) -> Trace {
        let fft = &sp.fft;
        let (n, f) = (op.n(), fft.spectrum_len());
        let rows = op.signal_grid().rows;
        let m = op.dictionary().n_filters();
        let cd = op.dictionary().channels();
        let n_maps = op.n_maps();
        let (lambda, alpha, nonneg) = (self.lambda, self.relax, self.nonneg);
        let ar = self.auto_rho;
        let xi = ar.target.unwrap_or(if lambda != 0.0 {
            1.0 + 18.3f64.powf(lambda.log10() + 1.0)
        } else {
            1.0
        });
        let mut rho = self.initial_rho();
        let inv_n = 1.0 / n as f64;
        let blocks = fft.blocks();
        let chunk = blocks.range(0).1;
        let s_hat = signal_spectra(op, y);
        let mut sys = (cd > 1).then(|| MultiChannel::new(op, sp, &s_hat, rho, par));
        let mut u = vec![0.0; n_maps * n];
        match init {
            None => z.fill(0.0),
            Some(g0) => {
                // u = D^T (y - D z) / rho: the scaled dual that makes x = z a fixed point of
                // the x-step.
                z.copy_from_slice(g0);
                let zm = MatRef::from_column_major_slice(z, z.len(), 1);
                let ppar = if par { Par::rayon(0) } else { Par::Seq };
                let mut r = Mat::<f64>::zeros(y.len(), 1);
                op.apply_raw(zm, r.as_mut(), ppar);
                for (rv, yv) in r.col_as_slice_mut(0).iter_mut().zip(y) {
                    *rv = (yv - *rv) / rho;
                }
                let um = MatMut::from_column_major_slice_mut(&mut u, n_maps * n, 1);
                op.apply_adjoint_raw(r.as_ref(), um, ppar);
            }
        }
        let mut b = vec![C64::default(); n_maps * f];
        let mut u_scale = 1.0;
        let sqrt_len = ((n_maps * n) as f64).sqrt();
        let mut info = Trace::default();

        for k in 0..self.max_iter {
            // (A) b = FFT(z - u) (zero for a cold start).
            if k > 0 || init.is_some() {
                let items: Vec<_> = blocks
                    .per_map(&mut b, n_maps)
                    .into_iter()
                    .zip(z.chunks(n))
                    .zip(u.chunks(n))
                    .collect();
                map_sum(
                    items,
                    par,
                    || fft.scratch(),
                    |s, ((mut bm, zm), um)| {
                        fft.forward_with(
                            |c, buf| {
                                let (zc, uc) =
                                    (&zm[c * rows..(c + 1) * rows], &um[c * rows..(c + 1) * rows]);
                                for ((o, a), v) in buf.iter_mut().zip(zc).zip(uc) {
                                    *o = a - u_scale * v;
                                }
                            },
                            &mut bm,
                            s,
                        );
                        0.0
                    },
                );
            }
            // (B) the per-frequency solve, in place: b -> x / N; and 1/2 ||D x - y||^2.
            let items: Vec<_> = blocks
                .chunks(&mut b, n_maps)
                .into_iter()
                .enumerate()
                .collect();
            let df_raw: f64 = match &sys {
                None => map_sum(
                    items,
                    par,
                    || vec![C64::default(); chunk],
                    |acc, (blk, bc)| single_channel_chunk(op, sp, &s_hat, blk, bc, acc, rho, inv_n),
                ),
                Some(mc) => map_sum(
                    items,
                    par,
                    || vec![C64::default(); 2 * cd * chunk],
                    |tmp, (blk, bc)| mc.solve_chunk(op, sp, &s_hat, blk, bc, tmp, rho, inv_n),
                ),
            };
            let df = 0.5 * inv_n * df_raw;
            // (C) x = IFFT; relaxation, shrinkage, dual update, residuals, l1.
            let items: Vec<_> = blocks
                .per_map(&mut b, n_maps)
                .into_iter()
                .zip(z.chunks_mut(n))
                .zip(u.chunks_mut(n))
                .enumerate()
                .collect();
            let weights = &self.weights;
            let step = AdmmStep {
                alpha,
                t: lambda / rho,
                u_scale,
                nonneg,
            };
            let sums = map_sum(
                items,
                par,
                || fft.scratch(),
                |s, (map, ((mut bm, zm), um))| {
                    let w = weights.map(map, m, n);
                    let mut acc = Sums::default();
                    fft.inverse_with(
                        &mut bm,
                        |c, x| {
                            let off = c * rows;
                            acc = acc
                                + kernels::admm_update(
                                    x,
                                    &mut zm[off..off + rows],
                                    &mut um[off..off + rows],
                                    w,
                                    off,
                                    step,
                                );
                        },
                        s,
                    );
                    acc
                },
            );
            u_scale = 1.0;
            let (nx, nz, nu) = (sums.c.sqrt(), sums.d.sqrt(), sums.e.sqrt());
            let mut rn = nx.max(nz);
            if rn == 0.0 {
                rn = 1.0;
            }
            let mut sn = rho * nu;
            if sn == 0.0 {
                sn = 1.0;
            }
            let r = sums.a.sqrt() / rn;
            let s = rho * sums.b.sqrt() / sn;
            let eps_pri = sqrt_len * self.abs_residual_tol / rn + self.rel_residual_tol;
            let eps_dua = sqrt_len * self.abs_residual_tol / sn + self.rel_residual_tol;
            info.history.push(
                Iteration::new(df, lambda * sums.l1)
                    .residuals(r, s)
                    .step(rho),
            );
            info.iterations = k + 1;
            if r < eps_pri && s < eps_dua {
                info.converged = true;
                break;
            }
            if ar.enabled && k != 0 && k < ar.freeze_after && (k + 1) % ar.period == 0 {
                let tau = ar.scaling;
                let mult = if !ar.auto_scaling || s == 0.0 || r == 0.0 {
                    tau
                } else {
                    let q = if r > s * xi { r / (s * xi) } else { s * xi / r };
                    q.sqrt().min(tau)
                };
                let rsf = if r > xi * ar.ratio * s {
                    mult
                } else if s > (ar.ratio / xi) * r {
                    1.0 / mult
                } else {
                    1.0
                };
                if rsf != 1.0 {
                    rho *= rsf;
                    u_scale = 1.0 / rsf;
                    if let Some(mc) = &mut sys {
                        mc.factor(sp, rho, par);
                    }
                }
            }
        }
        info
    }
}

/// Sherman–Morrison solve of one block for a single-channel dictionary. With
/// `A = sum_i d_i b_i` (b = FFT(z - u)) and `dd = sum_i |d_i|^2`, the solution is
/// `x_i = b_i + conj(d_i) (s - c) / rho` where `c = (dd s + rho A) / (rho + dd)` is also
/// `sum_i d_i x_i`, the spectrum of `D x`. `bc` holds the block of every map (map after map);
/// it is overwritten with `x / N`. Returns the block's `sum w |D x - y|^2` (spectral).
#[allow(clippy::too_many_arguments)]
fn single_channel_chunk(
    op: &ConvOperator,
    sp: &Spectra,
    s_hat: &[C64],
    blk: usize,
    bc: &mut [C64],
    acc: &mut [C64],
    rho: f64,
    inv_n: f64,
) -> f64 {
    let f = sp.fft.spectrum_len();
    let m = op.dictionary().n_filters();
    let (f0, len) = sp.fft.blocks().range(blk);
    let acc = &mut acc[..len];
    let dd = &sp.dd[f0..f0 + len];
    let w = &sp.weights[f0..f0 + len];
    let dblk = sp.filters_block(blk);
    let scale = -inv_n / rho;
    let mut df = 0.0;
    for (k, bk) in bc.chunks_mut(m * len).enumerate() {
        let s = &s_hat[k * f + f0..k * f + f0 + len];
        acc.fill(C64::default());
        for (d, bm) in dblk.chunks(len).zip(bk.chunks(len)) {
            kernels::mul_acc(acc, d, bm);
        }
        for (((a, sv), ddv), wv) in acc.iter_mut().zip(s).zip(dd).zip(w) {
            let c = (*sv * *ddv + *a * rho) / (rho + ddv);
            let diff = c - sv;
            df += wv * diff.norm_sqr();
            // (s - c) / (rho N)
            *a = diff * scale;
        }
        for (d, bm) in dblk.chunks(len).zip(bk.chunks_mut(len)) {
            kernels::scale_conj_mul_add(bm, inv_n, d, acc);
        }
    }
    df
}

/// The multi-channel x-step: `D(w)^H D(w) + rho I` is `rho I` plus `C` rank-one terms
/// `a_c a_c^H`, `a_c = conj(D_{c,.}(w))`, inverted by iterated Sherman–Morrison.
struct MultiChannel {
    /// `sum_c conj(D_{c,i}) y_c` per filter (`m` spectra, blocked).
    dhs: Vec<C64>,
    ism: Ism,
}

impl MultiChannel {
    fn new(op: &ConvOperator, sp: &Spectra, s_hat: &[C64], rho: f64, par: bool) -> Self {
        let f = sp.fft.spectrum_len();
        let blocks = sp.fft.blocks();
        let (m, cd) = (op.dictionary().n_filters(), op.dictionary().channels());
        let mut dhs = vec![C64::default(); m * f];
        for (blk, chunk) in blocks.chunks(&mut dhs, m).into_iter().enumerate() {
            let (f0, len) = blocks.range(blk);
            for (i, o) in chunk.chunks_mut(len).enumerate() {
                for c in 0..cd {
                    let s = &s_hat[c * f + f0..c * f + f0 + len];
                    kernels::conj_mul_acc(o, sp.filter(i, c, blk), s);
                }
            }
        }
        let mut me = Self {
            dhs,
            ism: Ism::new(cd, m, f),
        };
        me.factor(sp, rho, par);
        me
    }

    /// Refactorises for a new `rho`.
    fn factor(&mut self, sp: &Spectra, rho: f64, par: bool) {
        self.ism
            .factor(sp.fft.blocks(), |c, i, blk| sp.filter(i, c, blk), rho, par);
    }

    /// Solves one block in place (`b = FFT(z - u)` in, `x / N` out; `bc` holds the block of
    /// every map); returns the block's `sum_c sum w |D_c x - y_c|^2` (spectral).
    #[allow(clippy::too_many_arguments)]
    fn solve_chunk(
        &self,
        op: &ConvOperator,
        sp: &Spectra,
        s_hat: &[C64],
        blk: usize,
        bc: &mut [C64],
        tmp: &mut [C64],
        rho: f64,
        inv_n: f64,
    ) -> f64 {
        let f = sp.fft.spectrum_len();
        let blocks = sp.fft.blocks();
        let (m, cd) = (op.dictionary().n_filters(), op.dictionary().channels());
        let (f0, len) = blocks.range(blk);
        let (t, dx) = tmp.split_at_mut(cd * len);
        let dx = &mut dx[..cd * len];
        // b = D^H y + rho FFT(z - u), then x = (D^H D + rho I)^{-1} b.
        let dhs = &self.dhs[m * f0..m * (f0 + len)];
        for (bv, dv) in bc.iter_mut().zip(dhs) {
            *bv = dv + *bv * rho;
        }
        self.ism.solve_block(blocks, blk, bc, t, rho);
        dx.fill(C64::default());
        for (i, bm) in bc.chunks_mut(len).enumerate() {
            for c in 0..cd {
                kernels::mul_acc(&mut dx[c * len..(c + 1) * len], sp.filter(i, c, blk), bm);
            }
            for v in bm.iter_mut() {
                *v *= inv_n;
            }
        }
        let w = &sp.weights[f0..f0 + len];
        let mut df = 0.0;
        for c in 0..cd {
            let s = &s_hat[c * f + f0..c * f + f0 + len];
            for ((xv, sv), wv) in dx[c * len..(c + 1) * len].iter().zip(s).zip(w) {
                df += wv * (xv - sv).norm_sqr();
            }
        }
        df
    }
}

/// Codes every column of `y` (`signal_len x b`), starting from zero codes. Each signal's
/// [`Diagnostics`] carries the history of SPORCO's functional and residuals.
impl Solve<ConvOperator> for Cbpdn {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, op: &ConvOperator, y: MatRef<'_, f64>) -> Result<Solution> {
        self.check(op, y)?;
        let sp = op.spectra().clone();
        Ok(run_batch(op, y, self.par, |_, yj, xj, inner| {
            self.solve_one(op, &sp, yj, None, xj, inner)
        }))
    }
}
