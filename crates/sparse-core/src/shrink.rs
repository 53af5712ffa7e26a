//! Shrinkage (proximal) operators: the non-linearities of every pursuit and of a CNN.
//!
//! | variant | operator | proximal map of |
//! | --- | --- | --- |
//! | `Soft(t)` | `sign(x) max(|x| - t, 0)` | `t ||x||_1` |
//! | `Hard(t)` | `x 1{|x| > t}` | `t^2/2 ||x||_0` |
//! | `NonNegSoft(t)` | `max(x - t, 0)` = ReLU with bias `-t` | `t ||x||_1 + indicator(x >= 0)` |
//! | `TopK(k)` | keep the `k` largest `|x_i|` | projection onto `{||x||_0 <= k}` |

use faer::MatMut;
use serde::{Deserialize, Serialize};

use crate::error::{check, Result};

/// Soft thresholding `sign(x) max(|x| - t, 0)`, the proximal map of `t |x|`.
#[inline]
pub fn soft(x: f64, t: f64) -> f64 {
    if x > t {
        x - t
    } else if x < -t {
        x + t
    } else {
        0.0
    }
}

/// Hard thresholding `x 1{|x| > t}`, the proximal map of `t^2/2 1{x != 0}`.
#[inline]
pub fn hard(x: f64, t: f64) -> f64 {
    if x.abs() > t {
        x
    } else {
        0.0
    }
}

/// Non-negative soft thresholding `max(x - t, 0)` (a ReLU with bias `-t`), the proximal map of
/// `t x + indicator(x >= 0)`.
#[inline]
pub fn nonneg_soft(x: f64, t: f64) -> f64 {
    (x - t).max(0.0)
}

/// A shrinkage operator with its parameter. See the module docs for what each one is the
/// proximal map of.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Shrinkage {
    /// Soft thresholding at `t >= 0`.
    Soft(f64),
    /// Hard thresholding at `t >= 0`.
    Hard(f64),
    /// Non-negative soft thresholding (ReLU with bias `-t`); `t` may be any finite number.
    NonNegSoft(f64),
    /// Keep the `k` entries of largest magnitude (per column for batches), zero the rest: the
    /// Euclidean projection onto the l0 ball of radius `k`. Ties keep the lower index.
    TopK(usize),
}

impl Shrinkage {
    /// Checks the parameter: thresholds finite (and `>= 0` for `Soft`/`Hard`), `TopK(k)` with
    /// `k >= 1`.
    pub fn validate(&self) -> Result<()> {
        match *self {
            Shrinkage::Soft(t) | Shrinkage::Hard(t) => check::non_negative("threshold", t),
            Shrinkage::NonNegSoft(t) => {
                if t.is_finite() {
                    Ok(())
                } else {
                    check::non_negative("threshold", t)
                }
            }
            Shrinkage::TopK(0) => Err(crate::Error::InvalidParameter {
                name: "k",
                value: "0".into(),
                expected: "TopK(k) with k >= 1 (k = 0 keeps nothing)".into(),
            }),
            Shrinkage::TopK(_) => Ok(()),
        }
    }

    /// The same operator with its threshold multiplied by `s` (`TopK` unchanged); used to turn
    /// a penalty `lambda` into the step-scaled threshold `lambda / L`.
    pub fn scaled(&self, s: f64) -> Self {
        match *self {
            Shrinkage::Soft(t) => Shrinkage::Soft(t * s),
            Shrinkage::Hard(t) => Shrinkage::Hard(t * s),
            Shrinkage::NonNegSoft(t) => Shrinkage::NonNegSoft(t * s),
            Shrinkage::TopK(k) => Shrinkage::TopK(k),
        }
    }

    /// Applies the operator to one scalar; `TopK` is not element-wise and returns `x`.
    #[inline]
    pub fn scalar(&self, x: f64) -> f64 {
        match *self {
            Shrinkage::Soft(t) => soft(x, t),
            Shrinkage::Hard(t) => hard(x, t),
            Shrinkage::NonNegSoft(t) => nonneg_soft(x, t),
            Shrinkage::TopK(_) => x,
        }
    }

    /// Applies the operator in place to one vector.
    pub fn apply_slice(&self, x: &mut [f64]) {
        match *self {
            Shrinkage::TopK(k) => top_k_in_place(x, k),
            _ => x.iter_mut().for_each(|v| *v = self.scalar(*v)),
        }
    }

    /// Applies the operator in place to every column of a batch.
    pub fn apply_batch(&self, mut x: MatMut<'_, f64>) {
        match *self {
            Shrinkage::TopK(k) => {
                let mut buf = vec![0.0; x.nrows()];
                for j in 0..x.ncols() {
                    let mut c = x.as_mut().col_mut(j);
                    for (i, b) in buf.iter_mut().enumerate() {
                        *b = c[i];
                    }
                    top_k_in_place(&mut buf, k);
                    for (i, b) in buf.iter().enumerate() {
                        c[i] = *b;
                    }
                }
            }
            _ => {
                for j in 0..x.ncols() {
                    x.as_mut()
                        .col_mut(j)
                        .iter_mut()
                        .for_each(|v| *v = self.scalar(*v));
                }
            }
        }
    }
}

/// Zeroes all but the `k` largest-magnitude entries (ties keep the lower index).
fn top_k_in_place(x: &mut [f64], k: usize) {
    if k >= x.len() {
        return;
    }
    if k == 0 {
        x.fill(0.0);
        return;
    }
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.select_nth_unstable_by(k - 1, |&a, &b| {
        x[b].abs().total_cmp(&x[a].abs()).then(a.cmp(&b))
    });
    let mut keep = vec![false; x.len()];
    for &i in &idx[..k] {
        keep[i] = true;
    }
    for (v, k) in x.iter_mut().zip(keep) {
        if !k {
            *v = 0.0;
        }
    }
}
