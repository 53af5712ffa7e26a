//! The first-order optimiser shared by everything in the workspace that is trained by
//! back-propagation: the learned solvers of [`crate::learned`] and, in `mlcsc`, the unfolded
//! ML-ISTA / ML-FISTA networks and the linear classifiers on sparse features.
//!
//! [`Adam`] (Kingma & Ba, *Adam: a method for stochastic optimization*, ICLR 2015) with bias
//! correction, in the conventions of PyTorch's `torch.optim.Adam` (no weight decay, no AMSGrad):
//! at step `t = 1, 2, ...`, for every coordinate with gradient `g`,
//!
//! `m <- beta1 m + (1 - beta1) g`, `v <- beta2 v + (1 - beta2) g^2`,
//!
//! `p <- p - lr (m / (1 - beta1^t)) / (sqrt(v / (1 - beta2^t)) + eps)`,
//!
//! with `eps` added to the root of the bias-corrected second moment (PyTorch's placement; the
//! paper's Algorithm 1 reads the same). Every caller performs exactly these operations in this
//! order, so results are reproducible bit for bit and a run resumed from stored moments
//! continues exactly as an uninterrupted one.
//!
//! ```
//! use pursuit::optim::Adam;
//!
//! // Minimise (p - 3)^2 from p = 0.
//! let adam = Adam::default();
//! let (mut p, mut m, mut v) = ([0.0], [0.0], [0.0]);
//! for t in 1..=2000 {
//!     let g = [2.0 * (p[0] - 3.0)];
//!     adam.step(t, 0.05, &mut p, &g, &mut m, &mut v);
//! }
//! assert!((p[0] - 3.0).abs() < 1e-3);
//! ```

use sparse_core::check;

use crate::error::{invalid, Result};

/// The hyper-parameters of Adam (see the [module docs](self) for the update).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `beta1` | `0.9` | decay of the first-moment average, in `[0, 1)` |
/// | `beta2` | `0.999` | decay of the second-moment average, in `[0, 1)` |
/// | `eps` | `1e-8` | added to the root of the bias-corrected second moment, `> 0` |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    /// Decay of the first-moment average.
    pub beta1: f64,
    /// Decay of the second-moment average.
    pub beta2: f64,
    /// Added to the root of the second moment.
    pub eps: f64,
}

impl Default for Adam {
    /// `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8` (the paper's and PyTorch's defaults).
    fn default() -> Self {
        Self::new(0.9, 0.999, 1e-8)
    }
}

impl Adam {
    /// Adam with the given hyper-parameters (checked by [`validate`](Self::validate)).
    pub const fn new(beta1: f64, beta2: f64, eps: f64) -> Self {
        Self { beta1, beta2, eps }
    }

    /// `Err` naming the parameter unless `beta1, beta2 in [0, 1)` and `eps > 0` (finite).
    pub fn validate(&self) -> Result<()> {
        unit_interval("beta1", self.beta1)?;
        unit_interval("beta2", self.beta2)?;
        check::positive("eps", self.eps)?;
        Ok(())
    }

    /// The update of step `t` (1-based), its bias corrections computed once for all
    /// coordinates. Steps beyond `i32::MAX` use the corrections of step `i32::MAX` (where they
    /// are 1 to working precision).
    pub fn at(&self, t: u64) -> AdamStep {
        let t = t.min(i32::MAX as u64) as i32;
        AdamStep {
            adam: *self,
            c1: 1.0 - self.beta1.powi(t),
            c2: 1.0 - self.beta2.powi(t),
        }
    }

    /// Step `t` (1-based) on a flat parameter vector with one learning rate: updates the
    /// moments `m`, `v` and `params` in place from `grad`. All four slices have the same length.
    pub fn step(
        &self,
        t: u64,
        lr: f64,
        params: &mut [f64],
        grad: &[f64],
        m: &mut [f64],
        v: &mut [f64],
    ) {
        let n = params.len();
        assert!(
            grad.len() == n && m.len() == n && v.len() == n,
            "Adam::step: {n} parameters, {} gradients, {} and {} moments",
            grad.len(),
            m.len(),
            v.len()
        );
        let s = self.at(t);
        for i in 0..n {
            params[i] -= s.update(lr, &mut m[i], &mut v[i], grad[i]);
        }
    }
}

/// One step of [`Adam`]: the hyper-parameters and the bias corrections
/// `c1 = 1 - beta1^t`, `c2 = 1 - beta2^t` of that step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamStep {
    adam: Adam,
    c1: f64,
    c2: f64,
}

impl AdamStep {
    /// Updates the moments `m`, `v` of one coordinate with its gradient `g` and returns the
    /// amount to subtract from the parameter, `lr (m / c1) / (sqrt(v / c2) + eps)` (for
    /// callers whose parameters are not one flat slice, or whose learning rate varies by
    /// coordinate).
    #[inline]
    pub fn update(&self, lr: f64, m: &mut f64, v: &mut f64, g: f64) -> f64 {
        let Adam { beta1, beta2, eps } = self.adam;
        *m = beta1 * *m + (1.0 - beta1) * g;
        *v = beta2 * *v + (1.0 - beta2) * g * g;
        lr * (*m / self.c1) / ((*v / self.c2).sqrt() + eps)
    }
}

/// `Err` unless `v` is a finite number in `[0, 1)`.
pub(crate) fn unit_interval(name: &'static str, v: f64) -> Result<()> {
    if !(v.is_finite() && (0.0..1.0).contains(&v)) {
        return Err(invalid(name, v, "a number in [0, 1)"));
    }
    Ok(())
}
