//! The local theorems of the convolutional model (Papyan, Sulam & Elad 2017, "Working locally,
//! thinking globally"), stated with the stripe norm `||G||_{0,inf}` (the largest number of
//! non-zeros in any stripe of `2n - 1` positions) and the patch norm `||E||_{2,inf}`, and the
//! global-versus-local comparison of the reference's numerical example.

use serde::Serialize;

use crate::certificate::{Certificate, Relation};
use crate::coherence::conv_welch_bound;
use crate::error::{mu as check_mu, non_negative, sparsity, Result};
use crate::sparseland::{coherence_bound, largest_below};

const PSE: &str = "Papyan, Sulam & Elad 2017";

/// Uniqueness of the `P_{0,inf}` solution: a code with `||G||_{0,inf} < (1 + 1/mu) / 2` is the
/// unique solution of `min ||G||_{0,inf} s.t. D G = X` (Papyan, Sulam & Elad
/// 2017).
/// `mu` is the coherence of the global dictionary (see [`crate::conv_coherence`]).
pub fn csc_uniqueness(mu: f64, l0_inf: f64) -> Result<Certificate> {
    let (mu, s) = (check_mu("mu", mu)?, sparsity("l0_inf", l0_inf)?);
    Ok(Certificate::new(
        "CSC uniqueness",
        PSE,
        "||G||_{0,inf} < (1 + 1/mu) / 2",
        Relation::Less,
        s,
        coherence_bound(mu, 2.0),
        true,
        "G is the unique solution of P_{0,inf}",
        None,
    ))
}

/// Success of OMP and BP for the convolutional model: with `||G||_{0,inf} < (1 + 1/mu) / 2`,
/// OMP and BP on the global dictionary recover `G` exactly from `X = D G` (Papyan, Sulam & Elad
/// 2017): the bound is on the *local* sparsity, so the number of non-zeros
/// allowed globally grows with the signal length.
pub fn csc_pursuit_recovery(mu: f64, l0_inf: f64) -> Result<Certificate> {
    let (mu, s) = (check_mu("mu", mu)?, sparsity("l0_inf", l0_inf)?);
    Ok(Certificate::new(
        "CSC OMP/BP recovery",
        PSE,
        "||G||_{0,inf} < (1 + 1/mu) / 2",
        Relation::Less,
        s,
        coherence_bound(mu, 2.0),
        true,
        "OMP and BP recover G exactly",
        Some(0.0),
    ))
}

/// The Lasso weight of the CSC stability theorem: `lambda = 4 ||E||_{2,inf}`.
pub fn csc_lasso_lambda(e_2inf: f64) -> Result<f64> {
    Ok(4.0 * non_negative("e_2inf", e_2inf)?)
}

/// Stability of convolutional BP (Papyan, Sulam & Elad 2017): for `Y = D G + E`
/// with `||G||_{0,inf} < (1 + 1/mu) / 3`, the Lasso
/// `min 1/2 ||Y - D G||_2^2 + lambda ||G||_1` with `lambda = 4 ||E||_{2,inf}` returns `G_hat`
/// whose support is contained in that of `G`, with `||G_hat - G||_inf <= 7.5 ||E||_{2,inf}`
/// (the `error_bound`, an l-infinity norm); every entry of `G` larger than that is found.
pub fn csc_bp_stability(mu: f64, l0_inf: f64, e_2inf: f64) -> Result<Certificate> {
    let (mu, s) = (check_mu("mu", mu)?, sparsity("l0_inf", l0_inf)?);
    let e = non_negative("e_2inf", e_2inf)?;
    Ok(Certificate::new(
        "CSC BP stability",
        PSE,
        "||G||_{0,inf} < (1 + 1/mu) / 3, lambda = 4 ||E||_{2,inf}",
        Relation::Less,
        s,
        coherence_bound(mu, 3.0),
        true,
        "supp(G_hat) in supp(G), ||G_hat - G||_inf <= 7.5 ||E||_{2,inf}",
        Some(7.5 * e),
    ))
}

/// The global-versus-local comparison of the convolutional model (Papyan, Sulam & Elad 2017;
/// the reference's example: 2 filters of length 64 give `mu >= 0.063`, so the global theorems
/// allow fewer than 8.43 non-zeros in the *whole* signal, while the local ones allow that many
/// in *every stripe*, `O(N)` in total).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct GlobalVsLocal {
    /// Signal length `N`.
    pub signal_len: usize,
    /// Filter length `n`.
    pub filter_len: usize,
    /// Number of filters `m`.
    pub n_filters: usize,
    /// The convolutional Welch bound `sqrt((m - 1) / (m (2n - 1) - 1))`: the best coherence any
    /// such dictionary can have.
    pub welch_mu: f64,
    /// Global OMP/BP bound on `||G||_0` at the Welch coherence: `(1 + 1/mu) / 2`.
    pub global_bound: f64,
    /// Global BP-stability bound on `||G||_0`: `(1 + 1/mu) / 4`.
    pub global_stability_bound: f64,
    /// Local bound on `||G||_{0,inf}` per stripe (the same number, now per stripe).
    pub local_bound: f64,
    /// Number of disjoint stripes, `N / (2n - 1)`.
    pub stripes: f64,
    /// `local_bound * stripes`: the non-zeros the local theorem allows globally (real).
    pub local_global_bound: f64,
    /// Largest integer sparsity the global theorem admits.
    pub global_nnz: usize,
    /// Non-zeros a code may have with every stripe strictly within the local bound, placing the
    /// admissible count in each of `floor(N / (2n - 1))` disjoint windows (a constructive count;
    /// saturates for `m = 1`, whose Welch bound is 0).
    pub local_nnz: usize,
}

/// The global (Welch-based) bound on `||G||_0` and the local `||G||_{0,inf}` bound times the
/// number of stripes, for signals of length `N`, `m` filters of length `n`.
///
/// Errors: `n = 0`, `m = 0`, or `N < 2n - 1` (the stripes would wrap onto themselves).
pub fn global_vs_local(
    signal_len: usize,
    filter_len: usize,
    n_filters: usize,
) -> Result<GlobalVsLocal> {
    let mu = conv_welch_bound(filter_len, n_filters)?;
    let w = 2 * filter_len - 1;
    if signal_len < w {
        return Err(crate::error::invalid(
            "signal_len",
            signal_len,
            format!("a signal length >= 2n - 1 = {w}"),
        ));
    }
    let bound = coherence_bound(mu, 2.0);
    let stripes = signal_len as f64 / w as f64;
    let per = largest_below(bound);
    Ok(GlobalVsLocal {
        signal_len,
        filter_len,
        n_filters,
        welch_mu: mu,
        global_bound: bound,
        global_stability_bound: coherence_bound(mu, 4.0),
        local_bound: bound,
        stripes,
        local_global_bound: bound * stripes,
        global_nnz: per,
        local_nnz: per.min(w * n_filters).saturating_mul(signal_len / w),
    })
}

impl std::fmt::Display for GlobalVsLocal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "N = {}, n = {}, m = {}: mu >= {:.4} (Welch); global: ||G||_0 < {:.2} (BP stability: < {:.2}); \
             local: ||G||_{{0,inf}} < {:.2} per stripe x {:.1} stripes = {:.1} non-zeros ({} constructively)",
            self.signal_len,
            self.filter_len,
            self.n_filters,
            self.welch_mu,
            self.global_bound,
            self.global_stability_bound,
            self.local_bound,
            self.stripes,
            self.local_global_bound,
            self.local_nnz
        )
    }
}
