//! Support-based quantities: Tropp's exact recovery condition for a given support, and a seeded
//! Monte-Carlo lower estimate of the restricted isometry constants.

use faer::linalg::solvers::SolveLstsq;
use faer::Mat;
use rand::seq::index::sample;
use serde::Serialize;
use sparse_core::{generate, Dictionary};

use crate::coherence::{babel, check_support};
use crate::error::{invalid, Error, Result};

/// Below this smallest singular value of `D_S` the support is taken as dependent.
const DEPENDENT_TOL: f64 = 1e-10;

fn columns(d: &Dictionary, idx: &[usize]) -> Mat<f64> {
    Mat::from_fn(d.signal_len(), idx.len(), |r, c| d.matrix()[(r, idx[c])])
}

fn singular_values(a: faer::MatRef<'_, f64>, context: &'static str) -> Result<Vec<f64>> {
    a.singular_values().map_err(|e| {
        sparse_core::Error::LinearAlgebra {
            context,
            message: format!("{e:?}"),
        }
        .into()
    })
}

/// Tropp's exact recovery condition `ERC(S) = max_{i not in S} ||D_S^+ d_i||_1` for the support
/// `S` (Tropp 2004, "Greed is good", Theorems 3.1 and 3.3): when `ERC(S) < 1`, OMP and BP
/// both recover every code supported on `S` exactly. 0 when `S` holds every atom.
///
/// `D_S^+ D_{S^c}` is computed by least squares on a QR factorisation of `D_S`.
///
/// Errors: an empty support, repeated or out-of-range indices, more than `n` atoms (naming
/// `support`), or linearly dependent atoms on `S` ([`Error::DependentSupport`]).
pub fn erc(d: &Dictionary, support: &[usize]) -> Result<f64> {
    let (n, m) = (d.signal_len(), d.n_atoms());
    check_support(support, m, n)?;
    let ds = columns(d, support);
    let sv = singular_values(ds.as_ref(), "singular values of D_S")?;
    let sigma_min = sv.last().copied().unwrap_or(0.0);
    if sigma_min <= DEPENDENT_TOL {
        return Err(Error::DependentSupport {
            argument: "support",
            support: support.to_vec(),
            sigma_min,
        });
    }
    let mut on = vec![false; m];
    support.iter().for_each(|&i| on[i] = true);
    let rest: Vec<usize> = (0..m).filter(|&i| !on[i]).collect();
    if rest.is_empty() {
        return Ok(0.0);
    }
    let coef = ds.qr().solve_lstsq(columns(d, &rest));
    Ok((0..coef.ncols())
        .map(|j| coef.col(j).iter().map(|v| v.abs()).sum::<f64>())
        .fold(0.0, f64::max))
}

/// A Monte-Carlo lower estimate of the restricted isometry constant `delta_k`: the smallest
/// `delta` with `(1 - delta) ||x||^2 <= ||D x||^2 <= (1 + delta) ||x||^2` for every `k`-sparse
/// `x` (Candes & Tao 2005).
///
/// Every sampled support gives `delta_k >= max(sigma_max(D_S)^2 - 1, 1 - sigma_min(D_S)^2)`, so
/// the maximum over the samples is a lower bound on the true constant; `upper` is the Gershgorin
/// (Babel) upper bound `mu_1(k - 1) <= (k - 1) mu`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RipEstimate {
    /// The support size.
    pub k: usize,
    /// Lower estimate of `delta_k` (maximum over the sampled supports).
    pub lower: f64,
    /// Upper bound `mu_1(k - 1)` (Babel function).
    pub upper: f64,
    /// Smallest `sigma_min(D_S)` seen.
    pub sigma_min: f64,
    /// Largest `sigma_max(D_S)` seen.
    pub sigma_max: f64,
    /// Number of random supports tried.
    pub trials: usize,
    /// The seed of the supports.
    pub seed: u64,
}

/// Estimates `delta_k` from below on `trials` uniformly random supports of size `k` drawn with
/// the given `seed` (the same seed gives the same supports on every machine).
///
/// Errors: `k = 0`, `k > min(n, m)`, or `trials = 0`.
pub fn rip_lower_estimate(
    d: &Dictionary,
    k: usize,
    trials: usize,
    seed: u64,
) -> Result<RipEstimate> {
    let (n, m) = (d.signal_len(), d.n_atoms());
    if k == 0 || k > n.min(m) {
        return Err(invalid(
            "k",
            k,
            format!("1 <= k <= min(n, m) = {}", n.min(m)),
        ));
    }
    if trials == 0 {
        return Err(invalid("trials", 0, "at least one trial"));
    }
    let mut rng = generate::rng(seed);
    let (mut smin, mut smax) = (f64::INFINITY, 0.0f64);
    for _ in 0..trials {
        let idx = sample(&mut rng, m, k).into_vec();
        let sv = singular_values(columns(d, &idx).as_ref(), "singular values of D_S")?;
        smax = smax.max(sv[0]);
        smin = smin.min(*sv.last().unwrap_or(&0.0));
    }
    let lower = (smax * smax - 1.0).max(1.0 - smin * smin).max(0.0);
    Ok(RipEstimate {
        k,
        lower,
        upper: babel(d).at(k - 1),
        sigma_min: smin,
        sigma_max: smax,
        trials,
        seed,
    })
}
