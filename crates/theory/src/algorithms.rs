//! Conditions on the parameters of iterative and learned solvers: the ML-ISTA step sizes
//! (Sulam, Aberdam, Beck & Elad 2019) and the FacNet acceleration condition (Moreau & Bruna
//! 2017).

use faer::MatRef;

use crate::certificate::{Certificate, Relation};
use crate::error::{invalid, non_negative, Result};

/// The ML-ISTA step-size conditions for a two-layer model (Sulam, Aberdam, Beck & Elad 2019,
/// "On multi-layer basis pursuit, efficient algorithms and convolutional neural networks"), as
/// stated in the reference (`001`):
///
/// `mu in (0, 1 / ||D1||_2^2)` and `t in (0, 4 mu / (3 ||D2||_2))`,
///
/// with `||.||_2` the spectral norm (note: the inner step is bounded by the *squared* norm of
/// `D1`, the outer one by the norm of `D2` itself, as the slides write it). Under them the
/// ML-ISTA iterates reach `F(g^{k+1}) - F_opt <= eta eps + (beta + kappa t) mu` once
/// `||g^{k+1} - g^k||_2 <= t eps`.
///
/// The certificate compares `lhs = max(mu / mu_max, t / t_max)` (that is,
/// `max(mu ||D1||_2^2, 3 t ||D2||_2 / (4 mu))`) with `rhs = 1` (both conditions at once);
/// `holds` also requires `mu > 0` and `t > 0`. Spectral norms can be computed with
/// [`crate::spectral_norm`]. The condition is evaluated by [`mlcsc::StepConditions`] (the one
/// implementation, which ML-ISTA checks at run time for any depth).
pub fn ml_ista_steps(mu: f64, t: f64, d1_norm: f64, d2_norm: f64) -> Result<Certificate> {
    let mu = non_negative("mu", mu)?;
    let t = non_negative("t", t)?;
    let n1 = non_negative("d1_norm", d1_norm)?;
    let n2 = non_negative("d2_norm", d2_norm)?;
    let sc = mlcsc::StepConditions::from_lipschitz(&[mu, t], &[n1 * n1, n2 * n2]);
    let lhs = sc.ratios().into_iter().fold(0.0, f64::max);
    Ok(Certificate::new(
        "ML-ISTA step sizes",
        "Sulam, Aberdam, Beck & Elad 2019",
        "mu in (0, 1/||D1||_2^2), t in (0, 4 mu / (3 ||D2||_2)): max(mu ||D1||^2, 3 t ||D2|| / (4 mu)) < 1",
        Relation::Less,
        lhs,
        1.0,
        sc.all_hold(),
        "ML-ISTA converges: F(g^{k+1}) - F_opt <= eta eps + (beta + kappa t) mu",
        None,
    ))
}

/// The largest admissible ML-ISTA steps: `mu_max = 1 / ||D1||_2^2` and, for a chosen `mu`,
/// `t_max = 4 mu / (3 ||D2||_2)` (both open bounds), as [`mlcsc::StepConditions`] computes
/// them. Errors on norms that are not `> 0`.
pub fn ml_ista_step_bounds(mu: f64, d1_norm: f64, d2_norm: f64) -> Result<(f64, f64)> {
    for (name, v) in [("d1_norm", d1_norm), ("d2_norm", d2_norm)] {
        if !(v.is_finite() && v > 0.0) {
            return Err(invalid(name, v, "a finite spectral norm > 0"));
        }
    }
    let mu = non_negative("mu", mu)?;
    let sc =
        mlcsc::StepConditions::from_lipschitz(&[mu, 0.0], &[d1_norm * d1_norm, d2_norm * d2_norm]);
    Ok((sc.upper[0], sc.upper[1]))
}

/// The FacNet acceleration condition (Moreau & Bruna 2017, corollary on generic dictionaries):
/// when `lambda sqrt(p) / 8 <= E_z[||z*||_1]`, the factorised (FacNet / adaptive ISTA) step
/// improves on ISTA at any resolution, in expectation over generic dictionaries of `p x K`.
///
/// `lhs = lambda sqrt(p) / 8`, `rhs = mean_l1` (the mean l1 norm of the Lasso solutions, see
/// [`mean_l1`]).
pub fn facnet_acceleration(lambda: f64, p: usize, mean_l1: f64) -> Result<Certificate> {
    let lambda = non_negative("lambda", lambda)?;
    if p == 0 {
        return Err(invalid("p", 0, "a signal dimension >= 1"));
    }
    let mean_l1 = non_negative("mean_l1", mean_l1)?;
    Ok(Certificate::new(
        "FacNet acceleration",
        "Moreau & Bruna 2017",
        "lambda sqrt(p) / 8 <= E||z*||_1",
        Relation::LessEq,
        lambda * (p as f64).sqrt() / 8.0,
        mean_l1,
        true,
        "the factorised step beats ISTA in expectation over generic dictionaries",
        None,
    ))
}

/// The mean l1 norm of the columns of `codes` (the empirical `E||z*||_1`). Errors on an empty
/// or non-finite matrix.
pub fn mean_l1(codes: MatRef<'_, f64>) -> Result<f64> {
    sparse_core::check::non_empty("codes", codes)?;
    sparse_core::check::finite("codes", codes)?;
    let total: f64 = (0..codes.ncols())
        .map(|j| codes.col(j).iter().map(|v| v.abs()).sum::<f64>())
        .sum();
    Ok(total / codes.ncols() as f64)
}
