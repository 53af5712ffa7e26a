//! Adversarial stability of sparse-coding classifiers (Romano, Aberdam, Sulam & Elad,
//! *Adversarial noise attacks of deep learning architectures: stability analysis via sparse
//! modeled signals*, J. Math. Imaging Vis. 2020, arXiv:1805.11596).
//!
//! A one-layer model `x = D gamma + v` is classified by `sign(w^T gamma_hat(x))`, where
//! `gamma_hat` is thresholding (the forward pass) or basis pursuit. The attack is the
//! gradient-sign (FGSM) direction of the classifier's score at the clean signal, scaled to an
//! l2 norm `eps`; [`min_flip`] finds the smallest `eps` along it that flips the label. The theorem
//! for basis pursuit (1 layer, fully connected): if `||gamma||_0 < (1 + 1/mu(D)) / 3`, the class
//! margin is `O_B = |w^T gamma| > 0` and `||v||_2 <= eps <= O_B / (7.5 ||gamma||_0 ||w||_2)`
//! (with `lambda = 4 eps`), the label cannot change: [`bp_margin_bound`].

use faer::{Mat, MatRef};
use pursuit::lasso::Lars;
use sparse_core::{check, Dictionary, Solve};

use crate::error::{invalid, Result};

/// How the one-layer classifier computes its representation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Coder {
    /// Soft thresholding `S_beta(D^T x)` (the forward pass of one layer).
    Thresholding {
        /// Threshold.
        beta: f64,
    },
    /// Basis pursuit denoising `argmin 1/2 ||x - D g||^2 + lambda ||g||_1` (exact, by LARS).
    Bp {
        /// Penalty.
        lambda: f64,
    },
}

impl Coder {
    /// The representation of every column of `x`.
    pub fn representation(&self, d: &Dictionary, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check::batch("x", x, d.signal_len())?;
        Ok(match *self {
            Coder::Thresholding { beta } => {
                check::non_negative("beta", beta)?;
                let mut g = d.matrix().transpose() * x;
                sparse_core::Shrinkage::Soft(beta).apply_batch(g.as_mut());
                g
            }
            Coder::Bp { lambda } => {
                check::non_negative("lambda", lambda)?;
                Lars::new(lambda).gap_tol(1e-12).solve(d, x)?.codes
            }
        })
    }

    /// The score `w^T gamma_hat(x)` of one signal and its gradient with respect to `x` (on the
    /// current support, where the representation is differentiable: `D_S w_S` for
    /// thresholding, `D_S (D_S^T D_S)^{-1} w_S` for basis pursuit).
    pub fn score_grad(&self, d: &Dictionary, w: &[f64], x: &[f64]) -> Result<(f64, Vec<f64>)> {
        if w.len() != d.n_atoms() {
            return Err(invalid("w", w.len(), format!("{} weights", d.n_atoms())));
        }
        let xm = MatRef::from_column_major_slice(x, x.len(), 1);
        let g = self.representation(d, xm)?;
        let score: f64 = (0..w.len()).map(|i| w[i] * g[(i, 0)]).sum();
        let support: Vec<usize> = (0..w.len()).filter(|&i| g[(i, 0)] != 0.0).collect();
        let n = d.signal_len();
        let dm = d.matrix();
        let mut grad = vec![0.0; n];
        if support.is_empty() {
            return Ok((score, grad));
        }
        let coef: Vec<f64> = match self {
            Coder::Thresholding { .. } => support.iter().map(|&i| w[i]).collect(),
            Coder::Bp { .. } => {
                let ds = Mat::<f64>::from_fn(n, support.len(), |r, c| dm[(r, support[c])]);
                let gram = ds.transpose() * &ds;
                let ws = Mat::<f64>::from_fn(support.len(), 1, |r, _| w[support[r]]);
                crate::linalg::lstsq(gram.as_ref(), ws.col_as_slice(0))?
            }
        };
        for (c, &i) in support.iter().enumerate() {
            for (r, gr) in grad.iter_mut().enumerate() {
                *gr += dm[(r, i)] * coef[c];
            }
        }
        Ok((score, grad))
    }
}

/// The smallest l2 norm `eps <= eps_max` of the gradient-sign perturbation
/// `v = -label eps sign(grad) / sqrt(n)` that flips `sign(w^T gamma_hat(x + v))` away from
/// `label` (`+1` or `-1`), found on a grid of `steps` values then refined by bisection;
/// `None` if no `eps <= eps_max` flips it (or the clean signal is already misclassified: `0`).
pub fn min_flip(
    coder: Coder,
    d: &Dictionary,
    w: &[f64],
    x: &[f64],
    label: f64,
    eps_max: f64,
    steps: usize,
) -> Result<Option<f64>> {
    check::positive("eps_max", eps_max)?;
    check::count("steps", steps, usize::MAX)?;
    let (score, grad) = coder.score_grad(d, w, x)?;
    if score * label <= 0.0 {
        return Ok(Some(0.0));
    }
    let n = x.len() as f64;
    let dir: Vec<f64> = grad
        .iter()
        .map(|g| {
            let sign = if *g > 0.0 {
                1.0
            } else if *g < 0.0 {
                -1.0
            } else {
                0.0
            };
            -label * sign / n.sqrt()
        })
        .collect();
    let flipped = |eps: f64| -> Result<bool> {
        let xp: Vec<f64> = x.iter().zip(&dir).map(|(a, b)| a + eps * b).collect();
        let g = coder.representation(d, MatRef::from_column_major_slice(&xp, xp.len(), 1))?;
        let s: f64 = (0..w.len()).map(|i| w[i] * g[(i, 0)]).sum();
        Ok(s * label <= 0.0)
    };
    let mut lo = 0.0;
    let mut hi = None;
    for k in 1..=steps {
        let eps = eps_max * k as f64 / steps as f64;
        if flipped(eps)? {
            hi = Some(eps);
            break;
        }
        lo = eps;
    }
    let Some(mut hi) = hi else {
        return Ok(None);
    };
    for _ in 0..30 {
        let mid = 0.5 * (lo + hi);
        if flipped(mid)? {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    Ok(Some(hi))
}

/// The adversarial-margin theorem of basis pursuit evaluated on measured quantities: see
/// [`bp_margin`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BpMargin {
    /// The sparsity bound `(1 + 1/mu(D)) / 3` that `||gamma||_0` must stay strictly below.
    pub sparsity_bound: f64,
    /// The certified radius `O_B / (7.5 ||gamma||_0 ||w||_2)` (`inf` when the denominator is 0).
    pub radius: f64,
    /// Whether the theorem applies: `||gamma||_0 < sparsity_bound` and `O_B > 0`.
    pub holds: bool,
}

/// The adversarial-margin bound of basis pursuit (Romano, Aberdam, Sulam & Elad 2019/2020,
/// the theorem for one fully connected layer and a linear classifier `sign(w^T gamma)`): for
/// `x = D gamma + v` with `||v||_2 <= eps`, `||gamma||_0 = k < (1 + 1/mu(D)) / 3` (the strict
/// form, the conservative reading of the slide's `<=`) and a positive margin
/// `O_B = |w^T gamma| > 0`, BP with `lambda = 4 eps` keeps the label whenever
///
/// `eps <= O_B / (7.5 k ||w||_2)`.
///
/// This is the one implementation of the formula: [`bp_margin_bound`] and the certificate
/// `theory::multilayer::adversarial_margin` both call it. Inputs are taken as given (no
/// validation; the certificate validates them).
pub fn bp_margin(margin: f64, k: f64, w_norm: f64, mu: f64) -> BpMargin {
    let sparsity_bound = sparse_core::coherence_bound(mu, 3.0);
    let denom = 7.5 * k * w_norm;
    let radius = if denom > 0.0 {
        margin / denom
    } else {
        f64::INFINITY
    };
    BpMargin {
        sparsity_bound,
        radius,
        holds: k < sparsity_bound && margin > 0.0,
    }
}

/// The certified radius of basis pursuit, [`bp_margin`]'s `O_B / (7.5 ||gamma||_0 ||w||_2)`,
/// when the theorem applies (`||gamma||_0 < (1 + 1/mu) / 3`, `O_B > 0`) and the radius is
/// finite (`nnz > 0`, `w_norm > 0`); `None` otherwise. BP must use `lambda = 4 eps`.
pub fn bp_margin_bound(margin: f64, nnz: usize, w_norm: f64, mu: f64) -> Option<f64> {
    let b = bp_margin(margin, nnz as f64, w_norm, mu);
    (nnz > 0 && w_norm > 0.0 && b.holds).then_some(b.radius)
}
