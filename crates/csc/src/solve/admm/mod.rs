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

use faer::{Mat, MatRef, Par};
use sparse_core::check;
use sparse_core::solve::Solve;

use super::{check_admm, run_batch, validate, L1Weights, Solution};
use crate::error::{invalid, Error, Result};
use crate::float::Float;
use crate::operator::ConvOperator;

mod iterate;
pub(crate) mod xstep;

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

    /// The factor `rsf` by which `rho` changes after iteration `k` (0-based) with normalised
    /// residuals `r` (primal) and `s` (dual) and target ratio `xi`: 1 when no update is due
    /// (disabled, `k = 0`, frozen, off-period) or the residuals are balanced; otherwise the
    /// multiplier (`scaling`, or with `auto_scaling` `sqrt` of the residual ratio over the
    /// target, capped at `scaling`) or its inverse. The scaled dual variable is divided by it.
    pub(crate) fn rho_factor(&self, k: usize, r: f64, s: f64, xi: f64) -> f64 {
        if !(self.enabled && k != 0 && k < self.freeze_after && (k + 1).is_multiple_of(self.period))
        {
            return 1.0;
        }
        let tau = self.scaling;
        let mult = if !self.auto_scaling || s == 0.0 || r == 0.0 {
            tau
        } else {
            let q = if r > s * xi { r / (s * xi) } else { s * xi / r };
            q.sqrt().min(tau)
        };
        if r > xi * self.ratio * s {
            mult
        } else if s > (self.ratio / xi) * r {
            1.0 / mult
        } else {
            1.0
        }
    }

    pub(crate) fn validate(&self) -> Result<()> {
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

/// Gradient regularisation of the feature maps, `mu/2 sum_i w_i ||G x_i||^2` with `G` the
/// circular first differences along each axis (SPORCO's `ConvBPDNGradReg`, Wohlberg 2016
/// "Convolutional sparse representations as an image model for impulse noise restoration" /
/// Wohlberg & Rodriguez 2017): with `w` non-zero only on a low-pass (impulse or constant)
/// filter it replaces the Tikhonov high-pass pre-processing. The x-step's system gains the
/// diagonal `mu w_i g(w)`, `g` the symbol of `G^T G`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GradReg {
    /// Weight `mu >= 0` (0 disables the term).
    pub mu: f64,
    /// One weight `w_i >= 0` per filter; `None`: all 1 (SPORCO's `GradWeight = 1`).
    pub weights: Option<Vec<f64>>,
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
/// | `mu` | `0` | weight of the ridge term `mu/2 ||x||_2^2`: the convolutional elastic net (SPORCO's `ConvElasticNet`) |
/// | `joint` | `0` | weight `mu_j` of `||x||_{2,1}`, the l2 norms over the code channels of each filter and position: joint sparsity across channels (SPORCO's `ConvBPDNJoint`; a single-channel dictionary on `C`-channel signals) |
/// | `grad_reg` | off | [`GradReg`]: `mu_g/2 sum_i w_i ||G x_i||^2` (SPORCO's `ConvBPDNGradReg`) |
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
    /// Ridge weight `mu >= 0` of the elastic net (Zou & Hastie 2005; SPORCO's
    /// `ConvElasticNet`): the objective gains `mu/2 ||x||_2^2`, which the x-step takes, as
    /// SPORCO does, by solving `(D^H D + (rho + mu) I) x = D^H s + rho (z - u)`.
    pub mu: f64,
    /// Gradient regularisation of the maps (SPORCO's `ConvBPDNGradReg`).
    pub grad_reg: GradReg,
    /// Weight `mu_j >= 0` of the joint-sparsity term `mu_j sum_{i,p} ||(x_{c,i}[p])_c||_2`
    /// over the code channels `c` (Wohlberg 2016, "Convolutional sparse representation of color
    /// images", SSIAI; SPORCO's `ConvBPDNJoint`): the z-step becomes
    /// `prox_l2(S_{lambda w / rho}(.), mu_j / rho)` per group.
    pub joint: f64,
    /// One weight `>= 0` per filter for the joint-sparsity term (`None`: all 1; SPORCO's
    /// `L21Weight` per filter).
    pub joint_weights: Option<Vec<f64>>,
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
            mu: 0.0,
            grad_reg: GradReg::default(),
            joint: 0.0,
            joint_weights: None,
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
        /// Sets the over-relaxation parameter (1 disables relaxation).
        relax: f64,
        /// Sets the adaptive-penalty options.
        auto_rho: AutoRho,
        /// Sets the ridge weight `mu` of the elastic net.
        mu: f64,
        /// Sets the weight of the joint-sparsity (`l2,1` over code channels) term.
        joint: f64,
        /// Sets one weight per filter of the joint-sparsity term (`None`: all 1).
        joint_weights: Option<Vec<f64>>,
        /// Constrains the codes to be non-negative.
        nonneg: bool,
        /// Sets the weights of the l1 penalty.
        weights: L1Weights,
        /// Sets the parallelism.
        par: Par,
    }

    /// Sets the initial penalty parameter.
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = Some(rho);
        self
    }

    /// Sets the gradient regularisation `mu/2 sum_i w_i ||G x_i||^2` (`weights`: one per
    /// filter, `None` for all 1).
    pub fn grad_reg(mut self, mu: f64, weights: Option<Vec<f64>>) -> Self {
        self.grad_reg = GradReg { mu, weights };
        self
    }

    /// The initial penalty this solver uses.
    pub fn initial_rho(&self) -> f64 {
        self.rho.unwrap_or(50.0 * self.lambda + 1.0)
    }

    fn check<T: Float>(&self, op: &ConvOperator, y: MatRef<'_, T>) -> Result<()> {
        validate(op, y, self.lambda, &self.weights, self.max_iter)?;
        check_admm(
            self.rel_residual_tol,
            self.abs_residual_tol,
            self.relax,
            &self.auto_rho,
        )?;
        check::non_negative("mu", self.mu)?;
        check::non_negative("grad_reg.mu", self.grad_reg.mu)?;
        check::non_negative("joint", self.joint)?;
        // Per-filter weights: the checks of the l1 weights, naming these arguments.
        for (name, w) in [
            ("grad_reg.weights", &self.grad_reg.weights),
            ("joint_weights", &self.joint_weights),
        ] {
            if let Some(w) = w {
                L1Weights::PerFilter(w.clone()).validate_named(name, op)?;
            }
        }
        if let Some(r) = self.rho {
            check::positive("rho", r)?;
        }
        Ok(())
    }

    /// Codes every column of `y` starting from the codes `init` (`code_len x b`; a warm start,
    /// e.g. the previous codes in dictionary learning). The scaled dual variable starts at
    /// `u = D^T (y - D init) / rho`, the value for which `x = z = init` is a fixed point of the
    /// x-step, so that a solution is left (nearly) unchanged. In the precision of `y` and
    /// `init` (`f64` or `f32`, see [`crate::float`]).
    pub fn solve_warm<T: Float>(
        &self,
        op: &ConvOperator,
        y: MatRef<'_, T>,
        init: MatRef<'_, T>,
    ) -> Result<Solution<Mat<T>>> {
        self.check(op, y)?;
        check::shape("init", init, op.code_len(), y.ncols())?;
        check::finite("init", init)?;
        let sp = op.spectra_t::<T>().clone();
        Ok(run_batch(op, y, self.par, |j, yj, xj, inner| {
            let g0 = sparse_core::batch::column(init, j);
            self.solve_one(op, &sp, yj, Some(&g0), xj, inner)
        }))
    }
}

/// Codes every column of `y` (`signal_len x b`), starting from zero codes. Each signal's
/// [`Diagnostics`] carries the history of SPORCO's functional and residuals. Computes in the
/// precision of `y`: `f64`, or `f32` (SPORCO's `dtype=np.float32`; see [`crate::float`]), with
/// `f64` diagnostics either way.
impl<T: Float> Solve<ConvOperator, T> for Cbpdn {
    type Output = Solution<Mat<T>>;
    type Error = Error;

    fn solve(&self, op: &ConvOperator, y: MatRef<'_, T>) -> Result<Solution<Mat<T>>> {
        self.check(op, y)?;
        let sp = op.spectra_t::<T>().clone();
        Ok(run_batch(op, y, self.par, |_, yj, xj, inner| {
            self.solve_one(op, &sp, yj, None, xj, inner)
        }))
    }
}
