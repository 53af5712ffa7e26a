//! Quality measures: support recovery, relative error, PSNR, SNR.

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
