//! The Sparseland theorems (`y = D a + e`, `||a||_0 = k`): uniqueness, exact recovery by OMP and
//! BP, stability of BP under noise, and success of the thresholding pursuit.
//!
//! Every function takes measured quantities (coherence `mu`, sparsity `k`, noise level `eps`,
//! magnitudes) and returns a [`Certificate`]. Sparsities are `f64` so that averages and real
//! bounds can be passed; they must be finite and `>= 0`.

use crate::certificate::{Certificate, Relation};
use crate::coherence::Babel;
use crate::error::{mu as check_mu, non_negative, sparsity, Result};

/// `(1 + 1/mu) / c`, `inf` for `mu = 0` (the one definition, in `sparse-core`).
pub(crate) use sparse_core::coherence_bound;

/// Uniqueness by the spark: if `||a||_0 < spark(D) / 2`, `a` is the unique sparsest
/// representation of `D a` (Donoho & Elad 2003; Gorodnitsky & Rao 1997).
///
/// `spark` may be exact or a lower bound (see [`crate::spark()`]); it must be `>= 1` (or `inf`).
pub fn uniqueness_spark(spark: f64, k: f64) -> Result<Certificate> {
    let k = sparsity("k", k)?;
    if spark.is_nan() || spark < 1.0 {
        return Err(crate::error::invalid(
            "spark",
            spark,
            "a spark >= 1 (or inf)",
        ));
    }
    Ok(Certificate::new(
        "uniqueness (spark)",
        "Donoho & Elad 2003",
        "||a||_0 < spark(D) / 2",
        Relation::Less,
        k,
        spark / 2.0,
        true,
        "a is the unique sparsest representation",
        None,
    ))
}

/// Uniqueness by the coherence: `||a||_0 < (1 + 1/mu) / 2` implies `||a||_0 < spark / 2`
/// (Donoho & Elad 2003).
pub fn uniqueness_coherence(mu: f64, k: f64) -> Result<Certificate> {
    let (mu, k) = (check_mu("mu", mu)?, sparsity("k", k)?);
    Ok(Certificate::new(
        "uniqueness (coherence)",
        "Donoho & Elad 2003",
        "||a||_0 < (1 + 1/mu) / 2",
        Relation::Less,
        k,
        coherence_bound(mu, 2.0),
        true,
        "a is the unique sparsest representation",
        None,
    ))
}

/// OMP exact recovery: for `y = D a` with `||a||_0 < (1 + 1/mu) / 2`, OMP picks a correct atom at
/// every step and recovers `a` exactly in `||a||_0` steps (Tropp 2004, "Greed is good";
/// Donoho, Elad & Temlyakov 2006).
pub fn omp_recovery(mu: f64, k: f64) -> Result<Certificate> {
    let (mu, k) = (check_mu("mu", mu)?, sparsity("k", k)?);
    Ok(Certificate::new(
        "OMP exact recovery",
        "Tropp 2004",
        "||a||_0 < (1 + 1/mu) / 2",
        Relation::Less,
        k,
        coherence_bound(mu, 2.0),
        true,
        "OMP recovers a exactly in ||a||_0 steps",
        Some(0.0),
    ))
}

/// BP exact recovery: for `y = D a` with `||a||_0 < (1 + 1/mu) / 2`, `a` is the unique solution
/// of `min ||x||_1 s.t. D x = y` (Donoho & Elad 2003; Gribonval & Nielsen 2003).
pub fn bp_recovery(mu: f64, k: f64) -> Result<Certificate> {
    let (mu, k) = (check_mu("mu", mu)?, sparsity("k", k)?);
    Ok(Certificate::new(
        "BP exact recovery",
        "Donoho & Elad 2003",
        "||a||_0 < (1 + 1/mu) / 2",
        Relation::Less,
        k,
        coherence_bound(mu, 2.0),
        true,
        "BP recovers a exactly",
        Some(0.0),
    ))
}

/// Recovery by the Babel function: `mu_1(k - 1) + mu_1(k) < 1` implies that OMP and BP recover
/// every `k`-sparse code (Tropp 2004, Corollary 3.6). Sharper than the coherence condition.
pub fn babel_recovery(babel: &Babel, k: usize) -> Result<Certificate> {
    if k == 0 {
        return Err(crate::error::invalid("k", 0, "a sparsity >= 1"));
    }
    let lhs = babel.at(k - 1) + babel.at(k);
    Ok(Certificate::new(
        "OMP/BP recovery (Babel)",
        "Tropp 2004",
        "mu_1(k - 1) + mu_1(k) < 1",
        Relation::Less,
        lhs,
        1.0,
        true,
        "OMP and BP recover every k-sparse code exactly",
        Some(0.0),
    ))
}

/// Recovery by Tropp's exact recovery condition: `ERC(S) < 1` implies that OMP and BP recover
/// every code supported on `S` exactly (Tropp 2004, Theorems 3.1 and 3.3). Compute `ERC(S)` with
/// [`crate::erc`].
pub fn erc_recovery(erc: f64) -> Result<Certificate> {
    let erc = non_negative("erc", erc)?;
    Ok(Certificate::new(
        "OMP/BP recovery (ERC)",
        "Tropp 2004",
        "ERC(S) = max_{i not in S} ||D_S^+ d_i||_1 < 1",
        Relation::Less,
        erc,
        1.0,
        true,
        "OMP and BP recover every code supported on S exactly",
        Some(0.0),
    ))
}

/// Stability of Basis Pursuit denoising (Donoho, Elad & Temlyakov 2006): for `y = D a + v` with
/// `||v||_2 <= eps` and `||a||_0 < (1 + 1/mu) / 4`, the solution of
/// `min ||x||_1 s.t. ||D x - y||_2 <= eps` satisfies
/// `||a_hat - a||_2^2 <= 4 eps^2 / (1 - mu (4 ||a||_0 - 1))` (the `error_bound`, a squared l2
/// norm). With `eps = 0` it is exact recovery.
pub fn bp_stability(mu: f64, k: f64, eps: f64) -> Result<Certificate> {
    let (mu, k, eps) = (
        check_mu("mu", mu)?,
        sparsity("k", k)?,
        non_negative("eps", eps)?,
    );
    let denom = 1.0 - mu * (4.0 * k - 1.0);
    Ok(Certificate::new(
        "BP stability",
        "Donoho, Elad & Temlyakov 2006",
        "||a||_0 < (1 + 1/mu) / 4",
        Relation::Less,
        k,
        coherence_bound(mu, 4.0),
        denom > 0.0,
        "||a_hat - a||_2^2 <= 4 eps^2 / (1 - mu (4 ||a||_0 - 1))",
        Some(4.0 * eps * eps / denom),
    ))
}

/// Success of the thresholding pursuit (Elad 2010, with noise; the single-layer case of the layered
/// thresholding theorem of Papyan, Romano & Elad 2017).
///
/// For `y = D a + e` with `||a||_0 = k`, non-zero magnitudes in `[a_min, a_max]` and
/// `||e||_2 <= eps`, every correlation on the support satisfies
/// `|d_i^T y| >= a_min - (k - 1) mu a_max - eps` and every one off the support
/// `|d_j^T y| <= k mu a_max + eps`. The condition is therefore, exactly,
///
/// `a_min - (k - 1) mu a_max - eps  >  k mu a_max + eps`
///
/// (`lhs` and `rhs`), equivalently `k < (1 + (a_min / a_max) / mu) / 2 - eps / (mu a_max)`, the
/// form of the layered theorem. When it holds, keeping the `k` largest correlations (or
/// hard-thresholding at any `beta` between the two sides) finds the support exactly, and the
/// kept correlations (no least-squares refit) are within
/// `sqrt(k) ((k - 1) mu a_max + eps)` of `a` in l2 (the `error_bound`).
///
/// Errors: `a_min > a_max`, or any input negative or non-finite.
pub fn thresholding_recovery(
    mu: f64,
    k: f64,
    a_min: f64,
    a_max: f64,
    eps: f64,
) -> Result<Certificate> {
    let (mu, k) = (check_mu("mu", mu)?, sparsity("k", k)?);
    let a_max = non_negative("a_max", a_max)?;
    let a_min = non_negative("a_min", a_min)?;
    if a_min > a_max {
        return Err(crate::error::invalid(
            "a_min",
            a_min,
            format!("a magnitude <= a_max = {a_max}"),
        ));
    }
    let eps = non_negative("eps", eps)?;
    let lhs = a_min - (k - 1.0).max(0.0) * mu * a_max - eps;
    let rhs = k * mu * a_max + eps;
    Ok(Certificate::new(
        "thresholding recovery",
        "Elad 2010; Papyan, Romano & Elad 2017",
        "a_min - (k - 1) mu a_max - eps > k mu a_max + eps",
        Relation::Greater,
        lhs,
        rhs,
        true,
        "thresholding finds the support; ||a_thr - a||_2 <= sqrt(k) ((k - 1) mu a_max + eps)",
        Some(k.sqrt() * ((k - 1.0).max(0.0) * mu * a_max + eps)),
    ))
}

/// The largest sparsity that thresholding is guaranteed to handle at contrast
/// `c = a_min / a_max` and relative noise `eps / a_max`: the real bound
/// `(1 + c / mu) / 2 - eps / (mu a_max)` (`inf` for `mu = 0`). Success needs `k` strictly below.
pub fn thresholding_sparsity_bound(mu: f64, contrast: f64, eps_over_amax: f64) -> Result<f64> {
    let mu = check_mu("mu", mu)?;
    if !(contrast.is_finite() && (0.0..=1.0).contains(&contrast)) {
        return Err(crate::error::invalid(
            "contrast",
            contrast,
            "a contrast a_min / a_max in [0, 1]",
        ));
    }
    let e = non_negative("eps_over_amax", eps_over_amax)?;
    Ok(if mu == 0.0 {
        f64::INFINITY
    } else {
        (1.0 + contrast / mu) / 2.0 - e / mu
    })
}

/// The largest integer strictly below a real bound (`usize::MAX` for `inf`, 0 when the bound is
/// `<= 0`): the largest sparsity a strict condition `k < bound` admits.
pub fn largest_below(bound: f64) -> usize {
    if bound.is_infinite() && bound > 0.0 {
        return usize::MAX;
    }
    if bound.is_nan() || bound <= 0.0 {
        return 0;
    }
    (bound.ceil() - 1.0).max(0.0) as usize
}
