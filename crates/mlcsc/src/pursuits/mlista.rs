//! ML-ISTA and ML-FISTA (Sulam, Aberdam, Beck & Elad, *On multi-layer basis pursuit,
//! efficient algorithms and convolutional neural networks*, IEEE TPAMI 2019).
//!
//! They minimise the multi-layer basis pursuit objective over the deepest code,
//!
//! `F(g) = 1/2 ||y - D_(1,K) g||_2^2 + sum_{i<K} lambda_i ||D_(i+1,K) g||_1 + lambda_K ||g||_1`,
//!
//! by *nested* proximal-gradient steps: the gradient step of each layer goes through the
//! proximal gradient mapping of the layer above. From the point `z` (the previous deepest
//! estimate, extrapolated by FISTA's momentum for ML-FISTA), with `h_i = D_(i+1,K) z` and
//! `g_0 = y`, one iteration is, for `i = 1..K`,
//!
//! `g_i = T_{t_i lambda_i}( h_i - (t_i / t_{i-1}) D_i^T (D_i h_i - g_{i-1}) )`, `t_0 = 1`,
//!
//! and the new deepest estimate is `g_K`. For two layers this is exactly the paper's
//! `g_2 = T_{t lambda_2}(g_2 - (t/mu) D_2^T (g_1 - T_{mu lambda_1}(g_1 - mu D_1^T (D_1 g_1 - y))))`
//! with `t_1 = mu`, `t_2 = t`; deeper layers nest the same gradient mapping. From `z = 0` the
//! first iteration is `g_i = t_i T_lambda_i(D_i^T g_{i-1} / t_{i-1})`: the forward pass (layered
//! soft thresholding) scaled by `t_K` — exactly the forward pass when every `t_i = 1`.
//!
//! Convergence (Theorem 3.1 there, two layers): with `mu in (0, 1/||D_1||_2^2)` and
//! `t in (0, 4 mu / (3 ||D_2||_2^2))`, ML-ISTA reaches `F - F_opt <= eta eps + (beta + kappa t) mu`.
//! For deeper models the same condition is checked for every consecutive pair:
//! `t_i in (0, 4 t_{i-1} / (3 ||D_i||_2^2))`.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::{check, LinearOperator, Shrinkage};

use super::{check_per_layer, check_signals, MlSolution};
use crate::error::{invalid, Error, Result};
use crate::model::MlModel;
use sparse_core::solve::Solve;

/// The step sizes of ML-ISTA / ML-FISTA and the conditions of the convergence theorem
/// (Sulam, Aberdam, Beck & Elad 2019, Theorem 3.1; see the module docs):
///
/// `t_1 in (0, 1 / ||D_1||_2^2)` and `t_i in (0, 4 t_{i-1} / (3 ||D_i||_2))` for `i >= 2`,
///
/// with `||.||_2` the spectral norm. This is the one implementation of the condition: the
/// pursuits check it at run time and `theory::algorithms::ml_ista_steps` (the certificate) and
/// `ml_ista_step_bounds` call [`StepConditions::from_lipschitz`].
#[derive(Debug, Clone, PartialEq)]
pub struct StepConditions {
    /// The steps `t_1, ..., t_K` used.
    pub steps: Vec<f64>,
    /// `||D_i||_2^2` of every layer.
    pub lipschitz: Vec<f64>,
    /// The open upper bound of every step: `1 / ||D_1||^2`, then `4 t_{i-1} / (3 ||D_i||_2)`
    /// (the spectral norm, not squared, as the theorem of Sulam, Aberdam, Beck & Elad states it).
    pub upper: Vec<f64>,
    /// Whether `0 < t_i < upper_i`, per layer.
    pub holds: Vec<bool>,
}

impl StepConditions {
    /// Computes the conditions of `steps` (one per layer) on `model`'s layers.
    pub fn new(model: &MlModel, steps: &[f64]) -> Result<Self> {
        check_per_layer("steps", steps, model)?;
        let lipschitz: Vec<f64> = (1..=model.depth())
            .map(|i| model.lipschitz(i).unwrap_or(f64::NAN))
            .collect();
        Ok(Self::from_lipschitz(steps, &lipschitz))
    }

    /// The conditions of `steps` on layers with `lipschitz[i] = ||D_{i+1}||_2^2` (the formula
    /// itself; no validation: non-finite or non-positive inputs give bounds that do not hold).
    /// Only the first `min(steps.len(), lipschitz.len())` layers are kept.
    pub fn from_lipschitz(steps: &[f64], lipschitz: &[f64]) -> Self {
        let k = steps.len().min(lipschitz.len());
        let (steps, lipschitz) = (&steps[..k], &lipschitz[..k]);
        let upper: Vec<f64> = (0..k)
            .map(|i| {
                if i == 0 {
                    1.0 / lipschitz[0]
                } else {
                    4.0 * steps[i - 1] / (3.0 * lipschitz[i].sqrt())
                }
            })
            .collect();
        let holds = steps
            .iter()
            .zip(&upper)
            .map(|(t, u)| *t > 0.0 && t < u)
            .collect();
        Self {
            steps: steps.to_vec(),
            lipschitz: lipschitz.to_vec(),
            upper,
            holds,
        }
    }

    /// `t_i / upper_i` per layer: the condition on layer `i` is `ratio_i < 1` (with `t_i > 0`);
    /// `inf` where the bound is 0 (a zero previous step).
    pub fn ratios(&self) -> Vec<f64> {
        self.steps
            .iter()
            .zip(&self.upper)
            .map(|(t, u)| if *u == 0.0 { f64::INFINITY } else { t / u })
            .collect()
    }

    /// Whether every condition holds (the theorem applies).
    pub fn all_hold(&self) -> bool {
        self.holds.iter().all(|&h| h)
    }

    /// Default steps: `t_1 = 0.99 / ||D_1||^2`, `t_i = t_{i-1} / ||D_i||^2` (inside the bounds).
    pub fn default_steps(model: &MlModel) -> Vec<f64> {
        let mut t = Vec::with_capacity(model.depth());
        for i in 0..model.depth() {
            let li = model.lipschitz(i + 1).unwrap_or(1.0).max(f64::MIN_POSITIVE);
            t.push(if i == 0 { 0.99 / li } else { t[i - 1] / li });
        }
        t
    }
}

/// The multi-layer BP objective `F(Gamma_K)` of every column of `gamma_k` (see the module docs).
pub fn ml_objective(
    model: &MlModel,
    y: MatRef<'_, f64>,
    gamma_k: MatRef<'_, f64>,
    lambdas: &[f64],
) -> Result<Vec<f64>> {
    check_signals(model, y)?;
    check_per_layer("lambdas", lambdas, model)?;
    check::shape(
        "gamma_k",
        gamma_k,
        model.code_len(model.depth())?,
        y.ncols(),
    )?;
    let (codes, x) = model.propagate(gamma_k)?;
    Ok(objective_of(&codes, &x, y, lambdas))
}

fn objective_of(codes: &[Mat<f64>], x: &Mat<f64>, y: MatRef<'_, f64>, lambdas: &[f64]) -> Vec<f64> {
    (0..y.ncols())
        .map(|j| {
            let fit: f64 = (0..y.nrows())
                .map(|i| (y[(i, j)] - x[(i, j)]).powi(2))
                .sum();
            let pen: f64 = codes
                .iter()
                .zip(lambdas)
                .map(|(c, l)| l * c.col(j).iter().map(|v| v.abs()).sum::<f64>())
                .sum();
            0.5 * fit + pen
        })
        .collect()
}

/// The parameters shared by [`MlIsta`] and [`MlFista`].
#[derive(Debug, Clone)]
struct Params<'a> {
    lambdas: &'a [f64],
    steps: Option<&'a [f64]>,
    iterations: usize,
    change_tol: f64,
    nonneg: bool,
    track_objective: bool,
    par: Par,
}

macro_rules! ml_solver {
    ($name:ident, $accel:expr, $doc:literal) => {
        #[doc = $doc]
        ///
        /// | Name | Default | Meaning |
        /// | --- | --- | --- |
        /// | `lambdas` | (required) | `lambda_1, ..., lambda_K` of the objective |
        /// | `steps` | `None` | `t_1..t_K`; `None`: `t_1 = 0.99/||D_1||^2`, `t_i = t_{i-1}/||D_i||^2` |
        /// | `iterations` | `100` | iterations `k` (from `Gamma_K = 0`) |
        /// | `change_tol` | `0` | stop when `||g^{k+1} - g^k||_F <= change_tol ||g^{k+1}||_F` (0: run all) |
        /// | `nonneg` | `false` | non-negative soft thresholding (the ReLU network) |
        /// | `track_objective` | `false` | record the mean objective after every iteration |
        /// | `par` | `Par::rayon(0)` | parallelism of the products |
        ///
        /// The returned codes are the deepest estimate and its consistent products
        /// `Gamma_i = D_(i+1,K) Gamma_K`; `objective` is `F` at them and `step_conditions`
        /// reports whether the theorem's step bounds hold (they are not enforced).
        #[derive(Debug, Clone)]
        pub struct $name {
            /// Penalties `lambda_1..lambda_K`.
            pub lambdas: Vec<f64>,
            /// Steps `t_1..t_K`, or `None` for the defaults.
            pub steps: Option<Vec<f64>>,
            /// Number of iterations.
            pub iterations: usize,
            /// Relative-change tolerance (0: run every iteration).
            pub change_tol: f64,
            /// Non-negative codes.
            pub nonneg: bool,
            /// Record the mean objective per iteration.
            pub track_objective: bool,
            /// Parallelism.
            pub par: Par,
        }

        impl $name {
            /// The solver with penalties `lambdas` and the defaults of the table.
            pub fn new(lambdas: Vec<f64>) -> Self {
                Self {
                    lambdas,
                    steps: None,
                    iterations: 100,
                    change_tol: 0.0,
                    nonneg: false,
                    track_objective: false,
                    par: Par::rayon(0),
                }
            }
            /// Sets `steps`.
            pub fn steps(mut self, steps: Vec<f64>) -> Self {
                self.steps = Some(steps);
                self
            }
            sparse_core::setters! {
                /// Sets `iterations`.
                iterations: usize,
                /// Sets `change_tol`.
                change_tol: f64,
                /// Sets `nonneg`.
                nonneg: bool,
                /// Sets `track_objective`.
                track_objective: bool,
                /// Sets `par`.
                par: Par,
            }
        }

        impl Solve<MlModel> for $name {
            type Output = MlSolution;
            type Error = Error;

            fn solve(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<MlSolution> {
                run(
                    model,
                    y,
                    &Params {
                        lambdas: &self.lambdas,
                        steps: self.steps.as_deref(),
                        iterations: self.iterations,
                        change_tol: self.change_tol,
                        nonneg: self.nonneg,
                        track_objective: self.track_objective,
                        par: self.par,
                    },
                    $accel,
                )
            }
        }
    };
}

ml_solver!(
    MlIsta,
    false,
    "ML-ISTA (Sulam, Aberdam, Beck & Elad, TPAMI 2019): nested proximal-gradient steps on the \
     deepest code of the multi-layer BP objective (see the [module docs](crate::pursuits::mlista) for the update)."
);
ml_solver!(
    MlFista,
    true,
    "ML-FISTA (Sulam, Aberdam, Beck & Elad, TPAMI 2019): ML-ISTA with FISTA's momentum \
     `z = g^{k+1} + rho_k (g^{k+1} - g^k)`, `rho_k = (s_k - 1) / s_{k+1}`, \
     `s_{k+1} = (1 + sqrt(1 + 4 s_k^2)) / 2`."
);

fn run(
    model: &MlModel,
    y: MatRef<'_, f64>,
    p: &Params<'_>,
    accelerated: bool,
) -> Result<MlSolution> {
    check_signals(model, y)?;
    check_per_layer("lambdas", p.lambdas, model)?;
    for &l in p.lambdas {
        check::non_negative("lambdas", l)?;
    }
    check::count("iterations", p.iterations, usize::MAX)?;
    check::non_negative("change_tol", p.change_tol)?;
    let steps = match p.steps {
        Some(s) => {
            check_per_layer("steps", s, model)?;
            for &t in s {
                check::positive("steps", t)?;
            }
            s.to_vec()
        }
        None => StepConditions::default_steps(model),
    };
    if steps.iter().any(|t| !t.is_finite()) {
        // Only the default steps can be non-finite (given ones are checked above).
        return Err(invalid(
            "model",
            format!("default steps {steps:?}"),
            "layers with a non-zero finite norm (the default steps are 1 / ||D_i||^2)",
        ));
    }
    let conditions = StepConditions::new(model, &steps)?;
    let layers = model.layers();
    let k = layers.len();
    let b = y.ncols();
    let shrink: Vec<Shrinkage> = (0..k)
        .map(|i| {
            let t = steps[i] * p.lambdas[i];
            if p.nonneg {
                Shrinkage::NonNegSoft(t)
            } else {
                Shrinkage::Soft(t)
            }
        })
        .collect();
    let dims = model.dims();
    // h[i] = D_(i+1,K) z for i = 0..K (h[0] = D_(1,K) z), g[i] = new layer-i estimate.
    let mut h: Vec<Mat<f64>> = dims.iter().map(|&n| Mat::zeros(n, b)).collect();
    let mut g: Vec<Mat<f64>> = dims[1..].iter().map(|&n| Mat::zeros(n, b)).collect();
    let mut prev = Mat::<f64>::zeros(dims[k], b);
    let mut r = h.clone();
    let mut s_k = 1.0f64;
    let mut trace = Vec::new();
    let mut converged = p.change_tol == 0.0;
    let mut iters = 0;
    let mut z_is_zero = true;
    // A dense first layer works through its Gram matrix: D_1^T (D_1 h_1 - y) = G_1 h_1 - D_1^T y,
    // with G_1 and D_1^T y computed once (the products with the long signals leave the loop).
    let first = layers[0].as_dense().map(|d1| {
        let mut gram = Mat::<f64>::zeros(d1.ncols(), d1.ncols());
        matmul(
            gram.as_mut(),
            Accum::Replace,
            d1.transpose(),
            d1,
            1.0,
            p.par,
        );
        let mut dty = Mat::<f64>::zeros(d1.ncols(), b);
        matmul(dty.as_mut(), Accum::Replace, d1.transpose(), y, 1.0, p.par);
        (gram, dty)
    });
    for it in 0..p.iterations {
        iters = it + 1;
        if !z_is_zero {
            let lowest = if first.is_some() { 1 } else { 0 };
            for i in (lowest..k).rev() {
                let (lo, hi) = h.split_at_mut(i + 1);
                layers[i].apply_raw(hi[0].as_ref(), lo[i].as_mut(), p.par);
            }
        }
        if let Some((gram, dty)) = &first {
            // g_1 = T(h_1 - t_1 (G_1 h_1 - D_1^T y)).
            let g1 = &mut g[0];
            g1.copy_from(dty);
            *g1 *= faer::Scale(steps[0]);
            if !z_is_zero {
                matmul(
                    g1.as_mut(),
                    Accum::Add,
                    gram.as_ref(),
                    h[1].as_ref(),
                    -steps[0],
                    p.par,
                );
                *g1 += &h[1];
            }
            crate::linalg::shrink_in_place(shrink[0], g1);
        }
        for i in 0..k {
            if i == 0 && first.is_some() {
                continue;
            }
            // r_i = D_i h_i - g_{i-1} = h_{i-1} - g_{i-1}.
            let above = if i == 0 { y } else { g[i - 1].as_ref() };
            let mut res = std::mem::replace(&mut r[i], Mat::zeros(0, 0));
            if z_is_zero {
                res.copy_from(above);
                res *= faer::Scale(-1.0);
            } else {
                res.copy_from(&h[i]);
                res -= above;
            }
            let ratio = if i == 0 {
                steps[0]
            } else {
                steps[i] / steps[i - 1]
            };
            let gi = &mut g[i];
            layers[i].apply_adjoint_raw(res.as_ref(), gi.as_mut(), p.par);
            *gi *= faer::Scale(-ratio);
            if !z_is_zero {
                *gi += &h[i + 1];
            }
            crate::linalg::shrink_in_place(shrink[i], gi);
            r[i] = res;
        }
        let new = &g[k - 1];
        let diff = (new - &prev).norm_l2();
        let scale = new.norm_l2();
        if !scale.is_finite() {
            // Diverged (steps beyond the bounds of `StepConditions`, or a lambda far too small
            // for them): say so in terms of the user's parameter, not of an internal code.
            let ratios = conditions.ratios();
            return Err(invalid(
                "steps",
                format!("{steps:?}"),
                format!(
                    "steps under which ML-ISTA does not diverge (the deepest code became \
                     non-finite at iteration {iters}; ratios t_i / bound_i = {ratios:?}, the \
                     conditions hold below 1)"
                ),
            ));
        }
        let stop = p.change_tol > 0.0 && diff <= p.change_tol * scale;
        // Next point z (stored in h[K]).
        if accelerated {
            let s_next = 0.5 * (1.0 + (1.0 + 4.0 * s_k * s_k).sqrt());
            let rho = (s_k - 1.0) / s_next;
            s_k = s_next;
            h[k].copy_from(new);
            h[k] *= faer::Scale(1.0 + rho);
            let mut m = prev.clone();
            m *= faer::Scale(rho);
            h[k] -= &m;
        } else {
            h[k].copy_from(new);
        }
        prev.copy_from(new);
        z_is_zero = false;
        if p.track_objective {
            let (codes, x) = model.propagate(prev.as_ref())?;
            let f = objective_of(&codes, &x, y, p.lambdas);
            trace.push(f.iter().sum::<f64>() / b as f64);
        }
        if stop {
            converged = true;
            break;
        }
    }
    let (codes, x) = model.propagate(prev.as_ref())?;
    let objective = objective_of(&codes, &x, y, p.lambdas);
    let mut out = MlSolution::assemble(model, y, codes, p.par);
    out.set_outcome(|_| iters, |_| converged, Some(&objective));
    out.objective_trace = trace;
    out.step_conditions = Some(conditions);
    Ok(out)
}
