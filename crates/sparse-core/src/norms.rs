//! Global norms of codes and the local (stripe / patch) norms of the convolutional model.

use serde::{Deserialize, Serialize};

use crate::error::{check, Error, Result};

/// Number of entries with `|x_i| > tol` (the l0 "norm"; `tol = 0` counts exact non-zeros).
pub fn l0(x: &[f64], tol: f64) -> usize {
    x.iter().filter(|v| v.abs() > tol).count()
}

/// `sum |x_i|`.
pub fn l1(x: &[f64]) -> f64 {
    x.iter().map(|v| v.abs()).sum()
}

/// `sqrt(sum x_i^2)`, computed with scaling so that it neither overflows nor underflows.
pub fn l2(x: &[f64]) -> f64 {
    let scale = linf(x);
    if scale == 0.0 || !scale.is_finite() {
        return scale;
    }
    scale * x.iter().map(|v| (v / scale).powi(2)).sum::<f64>().sqrt()
}

/// `max |x_i|` (0 for an empty slice).
pub fn linf(x: &[f64]) -> f64 {
    x.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

/// How the `N * m` entries of a convolutional code are laid out in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum CodeOrder {
    /// Feature maps one after the other: entry `filter * N + position` (the layout of
    /// `D = [C_1 ... C_m]`, one circulant per filter). The default.
    #[default]
    FilterMajor,
    /// Needles one after the other: entry `position * m + filter` (the layout of the global
    /// dictionary built from shifts of the local dictionary `D_L`).
    PositionMajor,
}

/// The layout of a 1-D convolutional sparse model with circular boundary: signals of length
/// `N`, `m` filters of length `n`, codes of length `N m` (Papyan, Sulam & Elad 2017).
///
/// A *stripe* `S_i Gamma` gathers the `m` coefficients at each of the `2n - 1` positions
/// `i - n + 1, ..., i + n - 1` (mod `N`): exactly the coefficients whose atoms overlap the patch
/// of the signal at position `i`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvLayout {
    /// Signal length `N`.
    pub signal_len: usize,
    /// Number of filters `m`.
    pub n_filters: usize,
    /// Filter length `n`.
    pub filter_len: usize,
    /// Memory layout of codes.
    pub order: CodeOrder,
}

impl ConvLayout {
    /// A layout with the default [`CodeOrder::FilterMajor`]; requires `1 <= n <= N`, `m >= 1`
    /// and a code length `N m` that fits in memory ([`check::size`]).
    pub fn new(signal_len: usize, n_filters: usize, filter_len: usize) -> Result<Self> {
        check::count("signal_len", signal_len, usize::MAX)?;
        check::count("n_filters", n_filters, usize::MAX)?;
        check::count("filter_len", filter_len, signal_len)?;
        check::size("signal_len * n_filters", &[signal_len, n_filters])?;
        Ok(Self {
            signal_len,
            n_filters,
            filter_len,
            order: CodeOrder::FilterMajor,
        })
    }

    /// The same layout with another code order.
    pub fn with_order(mut self, order: CodeOrder) -> Self {
        self.order = order;
        self
    }

    /// Code length `N m`.
    pub fn code_len(&self) -> usize {
        self.signal_len * self.n_filters
    }

    /// Stripe length `(2n - 1) m` (capped at `N m` when the stripe wraps onto itself).
    pub fn stripe_len(&self) -> usize {
        self.stripe_width() * self.n_filters
    }

    /// Number of distinct positions a stripe covers: `min(2n - 1, N)`.
    pub fn stripe_width(&self) -> usize {
        (2 * self.filter_len - 1).min(self.signal_len)
    }

    /// Index of coefficient (`position`, `filter`) in a code vector.
    pub fn index(&self, position: usize, filter: usize) -> usize {
        match self.order {
            CodeOrder::FilterMajor => filter * self.signal_len + position,
            CodeOrder::PositionMajor => position * self.n_filters + filter,
        }
    }

    fn check_code(&self, gamma: &[f64]) -> Result<()> {
        if gamma.len() != self.code_len() {
            return Err(Error::ShapeMismatch {
                argument: "gamma",
                expected: format!("a code of length N m = {}", self.code_len()),
                found: format!("length {}", gamma.len()),
            });
        }
        Ok(())
    }

    /// Non-zeros (`|g| > tol`) at each position, summed over filters.
    pub fn position_counts(&self, gamma: &[f64], tol: f64) -> Result<Vec<usize>> {
        self.check_code(gamma)?;
        let mut c = vec![0usize; self.signal_len];
        for (p, cp) in c.iter_mut().enumerate() {
            *cp = (0..self.n_filters)
                .filter(|&f| gamma[self.index(p, f)].abs() > tol)
                .count();
        }
        Ok(c)
    }

    /// Non-zeros of every stripe: entry `i` is `||S_i Gamma||_0`.
    pub fn stripe_counts(&self, gamma: &[f64], tol: f64) -> Result<Vec<usize>> {
        let c = self.position_counts(gamma, tol)?;
        let nn = self.signal_len;
        let w = self.stripe_width();
        let half = self.filter_len - 1;
        // Sliding circular window of width w starting at i - half.
        let mut out = vec![0usize; nn];
        let mut s: usize = (0..w).map(|k| c[(k + nn - half % nn) % nn]).sum();
        for (i, o) in out.iter_mut().enumerate() {
            *o = s;
            let leaving = (i + nn - half % nn) % nn;
            let entering = (i + nn - half % nn + w) % nn;
            s = s + c[entering] - c[leaving];
        }
        Ok(out)
    }

    /// The stripe norm `||Gamma||_{0,inf} = max_i ||S_i Gamma||_0`: the largest number of
    /// non-zeros (`|g| > tol`) in any stripe (Papyan, Sulam & Elad 2017, "Working locally
    /// thinking globally").
    pub fn l0_inf(&self, gamma: &[f64], tol: f64) -> Result<usize> {
        Ok(self
            .stripe_counts(gamma, tol)?
            .into_iter()
            .max()
            .unwrap_or(0))
    }

    /// The patch norm `||E||_{2,inf} = max_i ||P_i E||_2` of a signal `e` of length `N`, where
    /// `P_i` extracts the `n` samples `i, ..., i + n - 1` (mod `N`).
    pub fn l2_inf(&self, e: &[f64]) -> Result<f64> {
        if e.len() != self.signal_len {
            return Err(Error::ShapeMismatch {
                argument: "e",
                expected: format!("a signal of length N = {}", self.signal_len),
                found: format!("length {}", e.len()),
            });
        }
        let nn = self.signal_len;
        let sq: Vec<f64> = e.iter().map(|v| v * v).collect();
        let best = (0..nn)
            .map(|i| (0..self.filter_len).map(|k| sq[(i + k) % nn]).sum::<f64>())
            .fold(0.0f64, f64::max);
        Ok(best.sqrt())
    }
}
