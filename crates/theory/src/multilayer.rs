//! The ML-CSC theorems (Papyan, Romano & Elad 2017; Sulam, Papyan, Romano & Elad 2018; Romano,
//! Aberdam, Sulam & Elad 2019): layered thresholding (the CNN forward pass) with its error
//! propagation, layered BP with its `7.5^i` bound, the projection bound, and the
//! adversarial-margin bound of a linear classifier on the representation.
//!
//! Layer `i` of a model `X = D1 G1, G1 = D2 G2, ...` is described by a [`LayerStats`]: the
//! coherence of `D_i`, the sparsity of `G_i` and its extreme non-zero magnitudes. For the
//! convolutional model the stripe sparsity `||G_i||^s_{0,inf}` enters the conditions and the
//! patch sparsity `||G_i||^p_{0,inf}` the error propagation, with noise measured by
//! `||E||^p_{2,inf}`; for dense (fully connected) layers both sparsities are `||G_i||_0` and the
//! noise is `||E||_2`.

use serde::Serialize;

use crate::certificate::{Certificate, Relation};
use crate::error::{invalid, mu as check_mu, non_negative, shape_mismatch, sparsity, Result};
use crate::sparseland::coherence_bound;

const PRE: &str = "Papyan, Romano & Elad 2017";

/// The measured quantities of one layer of a multi-layer model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LayerStats {
    /// Mutual coherence `mu(D_i)` of the layer's dictionary.
    pub mu: f64,
    /// Stripe sparsity `||G_i||^s_{0,inf}` (`||G_i||_0` for a dense layer).
    pub stripe_sparsity: f64,
    /// Patch sparsity `||G_i||^p_{0,inf}` (`||G_i||_0` for a dense layer).
    pub patch_sparsity: f64,
    /// Smallest non-zero magnitude `|G_i^min|`.
    pub min_abs: f64,
    /// Largest magnitude `|G_i^max|`.
    pub max_abs: f64,
}

impl LayerStats {
    /// A layer whose stripe and patch sparsities are the same `sparsity` (a dense layer, or a
    /// conservative choice for a convolutional one).
    pub fn new(mu: f64, sparsity: f64, min_abs: f64, max_abs: f64) -> Self {
        Self {
            mu,
            stripe_sparsity: sparsity,
            patch_sparsity: sparsity,
            min_abs,
            max_abs,
        }
    }

    sparse_core::setters! {
        /// Sets the patch sparsity.
        patch_sparsity: f64,
    }

    /// The stats of a dense layer measured on a code: `||g||_0` (entries `|g_j| > tol`) and the
    /// extreme non-zero magnitudes. Errors on a non-finite code or coherence.
    pub fn from_code(mu: f64, code: &[f64], tol: f64) -> Result<Self> {
        sparse_core::check::finite_slice("code", code)?;
        let nz: Vec<f64> = code.iter().map(|v| v.abs()).filter(|&a| a > tol).collect();
        let max_abs = nz.iter().copied().fold(0.0, f64::max);
        let min_abs = nz.iter().copied().fold(f64::INFINITY, f64::min);
        let s = LayerStats::new(
            check_mu("mu", mu)?,
            nz.len() as f64,
            if nz.is_empty() { 0.0 } else { min_abs },
            max_abs,
        );
        Ok(s)
    }

    fn validate(&self, layer: usize) -> Result<()> {
        check_mu("mu", self.mu)?;
        sparsity("stripe_sparsity", self.stripe_sparsity)?;
        sparsity("patch_sparsity", self.patch_sparsity)?;
        non_negative("min_abs", self.min_abs)?;
        non_negative("max_abs", self.max_abs)?;
        if self.min_abs > self.max_abs {
            return Err(invalid(
                "min_abs",
                self.min_abs,
                format!("at most max_abs = {} (layer {layer})", self.max_abs),
            ));
        }
        Ok(())
    }
}

/// `a b` where a zero factor gives 0 even against an overflowed `inf` (a layer with no
/// non-zeros, a zero noise level or coherence has a zero error term, not `NaN`).
fn mul0(a: f64, b: f64) -> f64 {
    if a == 0.0 || b == 0.0 {
        0.0
    } else {
        a * b
    }
}

fn non_empty(layers: usize) -> Result<()> {
    if layers == 0 {
        return Err(invalid("layers", "[]", "at least one layer"));
    }
    Ok(())
}

/// Stability of layered hard thresholding, the forward pass of a CNN (Papyan, Romano & Elad
/// 2017). With `eps_0 = ||E||^p_{2,inf}` (`e0`), layer `i` succeeds when
///
/// `||G_i||^s_{0,inf} < (1 + (1/mu(D_i)) |G_i^min| / |G_i^max|) / 2 - (1/mu(D_i)) eps_{i-1} / |G_i^max|`
///
/// and then the layered hard thresholding (with the proper thresholds) finds the support of
/// `G_i` and `||G_i^LT - G_i||^p_{2,inf} <= eps_i` with
///
/// `eps_i = sqrt(||G_i||^p_{0,inf}) (eps_{i-1} + mu(D_i) (||G_i||^s_{0,inf} - 1) |G_i^max|)`.
///
/// One certificate per layer (`lhs` the stripe sparsity, `rhs` the bound, `error_bound` =
/// `eps_i`); a layer holds only if every layer before it holds, since its guarantee assumes
/// the previous supports were found.
pub fn layered_thresholding(layers: &[LayerStats], e0: f64) -> Result<Vec<Certificate>> {
    non_empty(layers.len())?;
    let mut eps = non_negative("e0", e0)?;
    let mut ok = true;
    let mut out = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        l.validate(i + 1)?;
        let bound = if l.mu == 0.0 {
            f64::INFINITY
        } else if l.max_abs == 0.0 {
            f64::NEG_INFINITY
        } else {
            0.5 * (1.0 + l.min_abs / (l.mu * l.max_abs)) - eps / (l.mu * l.max_abs)
        };
        let s = l.stripe_sparsity;
        let next = mul0(
            l.patch_sparsity.sqrt(),
            eps + mul0(l.mu, mul0((s - 1.0).max(0.0), l.max_abs)),
        );
        let c = Certificate::new(
            format!("layered thresholding, layer {}", i + 1),
            PRE,
            "||G_i||_{0,inf} < (1 + |G_i^min| / (mu_i |G_i^max|)) / 2 - eps_{i-1} / (mu_i |G_i^max|)",
            Relation::Less,
            s,
            bound,
            ok,
            "support of G_i found; ||G_i^LT - G_i||_{2,inf} <= eps_i",
            Some(next),
        );
        ok = c.holds;
        out.push(c);
        eps = next;
    }
    Ok(out)
}

/// The "proper thresholds" of layered hard thresholding: for every layer, the open interval
/// `(s mu |G^max| + eps_{i-1}, |G^min| - (s - 1) mu |G^max| - eps_{i-1})` between the largest
/// possible off-support correlation and the smallest possible on-support one (with `s` the
/// stripe sparsity and `eps_i` propagated as in [`layered_thresholding`]). Hard thresholding
/// layer `i` at any `beta_i` inside keeps exactly the support of `G_i`; the interval is empty
/// (`low >= high`) exactly when the layer's condition fails.
pub fn layered_thresholds(layers: &[LayerStats], e0: f64) -> Result<Vec<(f64, f64)>> {
    non_empty(layers.len())?;
    let mut eps = non_negative("e0", e0)?;
    let mut out = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        l.validate(i + 1)?;
        let s = l.stripe_sparsity;
        let cross = l.mu * (s - 1.0).max(0.0) * l.max_abs;
        out.push((s * l.mu * l.max_abs + eps, l.min_abs - cross - eps));
        eps = l.patch_sparsity.sqrt() * (eps + cross);
    }
    Ok(out)
}

/// Stability of layered Basis Pursuit (layered Lasso) (Papyan, Romano & Elad 2017): if
/// `||G_i||^s_{0,inf} < (1 + 1/mu(D_i)) / 3` for every layer (with Lasso weights proportional to
/// the propagated noise), then `supp(G_i^LBP)` is contained in `supp(G_i)` and
///
/// `||G_i^LBP - G_i||^p_{2,inf} <= eps_i = 7.5^i ||E||^p_{2,inf} prod_{j <= i} sqrt(||G_j||^p_{0,inf})`;
///
/// every entry of `G_i` larger than `eps_i / sqrt(||G_i||^p_{0,inf})` is found. One certificate
/// per layer; a layer holds only if every layer before it holds.
pub fn layered_bp(layers: &[LayerStats], e0: f64) -> Result<Vec<Certificate>> {
    non_empty(layers.len())?;
    let e0 = non_negative("e0", e0)?;
    let mut ok = true;
    let mut prod = 1.0;
    let mut out = Vec::with_capacity(layers.len());
    for (i, l) in layers.iter().enumerate() {
        l.validate(i + 1)?;
        prod *= l.patch_sparsity.sqrt();
        let bound = mul0(mul0(e0, prod), 7.5f64.powi(i as i32 + 1));
        let c = Certificate::new(
            format!("layered BP, layer {}", i + 1),
            PRE,
            "||G_i||_{0,inf} < (1 + 1/mu(D_i)) / 3",
            Relation::Less,
            l.stripe_sparsity,
            coherence_bound(l.mu, 3.0),
            ok,
            "supp(G_i^LBP) in supp(G_i); ||G_i^LBP - G_i||_{2,inf} <= 7.5^i ||E||_{2,inf} prod_j sqrt(||G_j||_{0,inf})",
            Some(bound),
        );
        ok = c.holds;
        out.push(c);
    }
    Ok(out)
}

/// Stability of the ML-CSC projection `P_M` (Sulam, Papyan, Romano & Elad 2018): with
/// `||E||_2 <= E0` and `||G_i||_{0,inf} < (1 + 1/mu(D^(i))) / 2` for the effective dictionary
/// `D^(i) = D1 ... Di`, the projection's representations satisfy
///
/// `||G_i - G_hat_i||_2^2 <= 4 E0^2 / (1 - (2 ||G_i||_{0,inf} - 1) mu(D^(i)))`
///
/// (the `error_bound`, a squared l2 norm). The bound is not cumulative across layers: each layer
/// stands on its own, so each certificate is independent. `mu_effective[i]` is `mu(D^(i+1))`
/// (see [`crate::effective_coherences`]) and `sparsity[i]` is `||G_{i+1}||_{0,inf}`.
pub fn projection_stability(
    mu_effective: &[f64],
    sparsities: &[f64],
    e0: f64,
) -> Result<Vec<Certificate>> {
    non_empty(mu_effective.len())?;
    if sparsities.len() != mu_effective.len() {
        return Err(shape_mismatch(
            "sparsities",
            format!(
                "{} values (one per layer, as mu_effective)",
                mu_effective.len()
            ),
            format!("{} values", sparsities.len()),
        ));
    }
    let e0 = non_negative("e0", e0)?;
    let mut out = Vec::with_capacity(mu_effective.len());
    for (i, (&mu, &s)) in mu_effective.iter().zip(sparsities).enumerate() {
        let (mu, s) = (check_mu("mu_effective", mu)?, sparsity("sparsities", s)?);
        let bound = projection_error_bound(e0, s, 1.0, mu);
        out.push(Certificate::new(
            format!("ML-CSC projection, layer {}", i + 1),
            "Sulam, Papyan, Romano & Elad 2018",
            "||G_i||_{0,inf} < (1 + 1/mu(D^(i))) / 2",
            Relation::Less,
            s,
            coherence_bound(mu, 2.0),
            bound.is_some(),
            "||G_i - G_hat_i||_2^2 <= 4 E0^2 / (1 - (2 ||G_i||_{0,inf} - 1) mu(D^(i)))",
            bound,
        ));
    }
    Ok(out)
}

/// The error bound of the ML-CSC projection (Sulam, Papyan, Romano & Elad 2018, Theorem 6), in
/// the form its proof gives before normalising the atoms: the Gershgorin step bounds
/// `||D^(i) delta||_2^2 >= (min_j ||a_j||_2^2 - (2 s - 1) max_{j != k} |<a_j, a_k>|) ||delta||_2^2`
/// for `delta` with at most `2 s` non-zeros, so
///
/// `||G_i - G_hat_i||_2^2 <= 4 E0^2 / (min_norm2 - (2 s - 1) max_inner)`,
///
/// `None` when the denominator is not positive. With unit-norm atoms (`min_norm2 = 1`,
/// `max_inner = mu(D^(i))`) this is [`projection_stability`]'s bound, which calls it; the
/// general form serves effective dictionaries `D1 ... Di` whose atoms are not normalised.
/// Inputs are taken as given (no validation).
pub fn projection_error_bound(e0: f64, s: f64, min_norm2: f64, max_inner: f64) -> Option<f64> {
    let denom = min_norm2 - (2.0 * s - 1.0) * max_inner;
    (denom > 0.0).then(|| 4.0 * e0 * e0 / denom)
}

/// The adversarial-margin bound (Romano, Aberdam, Sulam & Elad 2019; one layer, a linear
/// classifier `sign(w^T g)` on the BP representation): for `x = D g + v` with `||v||_2 <= eps`,
/// `||g||_0 < (1 + 1/mu(D)) / 3` (the strict form, the conservative reading of the slide's `<=`)
/// and a positive margin `O_B = |w^T g| > 0`, the label is preserved,
/// `sign(w^T g_hat) = sign(w^T g)`, whenever
///
/// `eps <= O_B / (7.5 ||g||_0 ||w||_2)`.
///
/// `lhs` is `eps`, `rhs` the largest admissible perturbation; `holds` also requires the
/// sparsity condition and `O_B > 0`. The formula is [`mlcsc::adversarial::bp_margin`]'s (the one
/// implementation, which `mlcsc` needs at run time); this adds validation and the certificate.
pub fn adversarial_margin(
    mu: f64,
    k: f64,
    w_norm: f64,
    margin: f64,
    eps: f64,
) -> Result<Certificate> {
    let (mu, k) = (check_mu("mu", mu)?, sparsity("k", k)?);
    let w_norm = non_negative("w_norm", w_norm)?;
    let margin = crate::error::finite("margin", margin)?;
    let eps = non_negative("eps", eps)?;
    let b = mlcsc::adversarial::bp_margin(margin, k, w_norm, mu);
    Ok(Certificate::new(
        "adversarial robustness",
        "Romano, Aberdam, Sulam & Elad 2019",
        "eps <= O_B / (7.5 ||g||_0 ||w||_2), ||g||_0 < (1 + 1/mu) / 3, O_B > 0",
        Relation::LessEq,
        eps,
        b.radius,
        b.holds,
        "the BP representation keeps the label: sign(w^T g_hat) = sign(w^T g)",
        None,
    ))
}
