//! Quality measures: support recovery, relative error, PSNR, SNR.
//!
//! The support measures are those of the phase-transition experiments of the pursuit literature
//! (Tropp 2004, "Greed is good"; Donoho & Elad 2003; Elad 2010, *Sparse and Redundant
//! Representations*, ch. 3-4): a pursuit succeeds on a signal when it finds the true support
//! exactly ([`support_scores`]`.exact`) or, for convex pursuits whose solutions carry tiny
//! off-support entries, when its largest entries are the true support and its error is small
//! ([`support_recovery_rate`]).

use faer::MatRef;

use crate::error::{check, Error, Result};

/// Support recovery of estimated codes against true ones, averaged over the columns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupportScores {
    /// Mean over columns of `|S_hat ∩ S| / |S_hat|` (1 when `S_hat` is empty).
    pub precision: f64,
    /// Mean over columns of `|S_hat ∩ S| / |S|` (1 when `S` is empty).
    pub recall: f64,
    /// Fraction of columns whose estimated support equals the true one exactly.
    pub exact: f64,
}

/// Compares the supports (`|x| > tol`) of `estimate` and `truth` column by column.
pub fn support_scores(
    truth: MatRef<'_, f64>,
    estimate: MatRef<'_, f64>,
    tol: f64,
) -> Result<SupportScores> {
    check::non_empty("truth", truth)?;
    check::shape("estimate", estimate, truth.nrows(), truth.ncols())?;
    check::non_negative("tol", tol)?;
    let (mut p, mut r, mut e) = (0.0, 0.0, 0.0);
    for j in 0..truth.ncols() {
        let (mut both, mut est, mut tru) = (0usize, 0usize, 0usize);
        for i in 0..truth.nrows() {
            let a = truth[(i, j)].abs() > tol;
            let b = estimate[(i, j)].abs() > tol;
            both += (a && b) as usize;
            est += b as usize;
            tru += a as usize;
        }
        p += if est == 0 {
            1.0
        } else {
            both as f64 / est as f64
        };
        r += if tru == 0 {
            1.0
        } else {
            both as f64 / tru as f64
        };
        e += (both == est && both == tru) as u8 as f64;
    }
    let n = truth.ncols() as f64;
    Ok(SupportScores {
        precision: p / n,
        recall: r / n,
        exact: e / n,
    })
}

/// The indices of the `k` entries of `x` largest in magnitude, in increasing order (`k` is
/// capped at `x.len()`; ties go to the lower index). The support that a `k`-term approximation
/// of `x` keeps, the hard-thresholding support `H_k(x)`.
pub fn largest_support(x: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[b].abs().total_cmp(&x[a].abs()));
    let mut s = idx[..k.min(x.len())].to_vec();
    s.sort_unstable();
    s
}

/// The fraction of columns on which `estimate` recovers `truth`: the `|S_j|` entries of
/// `estimate[:, j]` largest in magnitude are exactly the support `S_j = {i : truth[i, j] != 0}`
/// (see [`largest_support`]), and `||estimate[:, j] - truth[:, j]||_2 <= max_rel_error
/// ||truth[:, j]||_2`. The success criterion of basis pursuit in phase-transition experiments
/// (Donoho & Elad 2003; Elad 2010, sec. 3.2): a convex solution carries tiny off-support
/// entries, so exact equality of supports would count its successes as failures.
///
/// Errors: `Empty` for an empty `truth`, `ShapeMismatch` naming `estimate` when the shapes
/// differ, `InvalidParameter` naming `max_rel_error` unless it is finite and `>= 0`.
pub fn support_recovery_rate(
    truth: MatRef<'_, f64>,
    estimate: MatRef<'_, f64>,
    max_rel_error: f64,
) -> Result<f64> {
    check::non_empty("truth", truth)?;
    check::shape("estimate", estimate, truth.nrows(), truth.ncols())?;
    check::non_negative("max_rel_error", max_rel_error)?;
    let hits = (0..truth.ncols())
        .filter(|&j| {
            let est: Vec<f64> = estimate.col(j).iter().copied().collect();
            let tru: Vec<f64> = truth.col(j).iter().copied().collect();
            let support: Vec<usize> = (0..tru.len()).filter(|&i| tru[i] != 0.0).collect();
            let err: f64 = est.iter().zip(&tru).map(|(a, b)| (a - b) * (a - b)).sum();
            let nrm: f64 = tru.iter().map(|v| v * v).sum();
            largest_support(&est, support.len()) == support
                && err.sqrt() <= max_rel_error * nrm.sqrt()
        })
        .count();
    Ok(hits as f64 / truth.ncols() as f64)
}

/// `||estimate - truth||_F / ||truth||_F` (the absolute error when `truth` is zero).
pub fn relative_error(truth: MatRef<'_, f64>, estimate: MatRef<'_, f64>) -> Result<f64> {
    check::shape("estimate", estimate, truth.nrows(), truth.ncols())?;
    let diff = (estimate - truth).norm_l2();
    let t = truth.norm_l2();
    Ok(if t == 0.0 { diff } else { diff / t })
}

/// Peak signal-to-noise ratio `10 log10(peak^2 / MSE)` in dB (`peak = 255` for 8-bit images);
/// infinite when the images are equal.
pub fn psnr(truth: MatRef<'_, f64>, estimate: MatRef<'_, f64>, peak: f64) -> Result<f64> {
    check::non_empty("truth", truth)?;
    check::shape("estimate", estimate, truth.nrows(), truth.ncols())?;
    check::positive("peak", peak)?;
    let mse = (estimate - truth).squared_norm_l2() / (truth.nrows() * truth.ncols()) as f64;
    Ok(10.0 * (peak * peak / mse).log10())
}

/// Signal-to-noise ratio `10 log10(||truth||^2 / ||estimate - truth||^2)` in dB.
pub fn snr_db(truth: MatRef<'_, f64>, estimate: MatRef<'_, f64>) -> Result<f64> {
    check::shape("estimate", estimate, truth.nrows(), truth.ncols())?;
    let noise = (estimate - truth).squared_norm_l2();
    let sig = truth.squared_norm_l2();
    if sig == 0.0 {
        return Err(Error::InvalidParameter {
            name: "truth",
            value: "0".into(),
            expected: "a non-zero signal".into(),
        });
    }
    Ok(10.0 * (sig / noise).log10())
}
