//! Matching Pursuit.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::solve::{by_magnitude, Homogeneity, SAFE_EXPONENT};
use sparse_core::{check, Dictionary};

use super::{argmax_abs, Stop};
use crate::batch::map_columns;
use crate::error::invalid;
use crate::result::{assemble, Report, Solution};
use crate::{Error, Result, Solve};

/// Matching Pursuit (Mallat & Zhang 1993): repeatedly pick the atom most correlated with the
/// residual and subtract its projection, `x_i += <r, d_i>`, `r -= <r, d_i> d_i`. Unlike OMP an
/// atom may be picked again and the residual is not orthogonal to the chosen atoms.
///
/// Runs on the Gram matrix (`D^T r` is updated as `c -= <r, d_i> G_i`), with `||r||^2`
/// decreasing by `<r, d_i>^2` per step.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `stop` | — | [`Stop::Sparsity`] `k` = number of *steps*; [`Stop::Residual`] `eps` |
/// | `max_iter` | `10 * n` | step cap for the residual rule |
/// | `par` | `Par::rayon(0)` | parallelism over signals |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MatchingPursuit {
    /// Stopping rule (for `Sparsity(k)`, `k` steps).
    pub stop: Stop,
    /// Maximum number of steps (default `10 * signal_len` when `None`).
    pub max_iter: Option<usize>,
    /// Parallelism over signals.
    pub par: Par,
}

impl MatchingPursuit {
    /// Matching Pursuit with the given stopping rule.
    pub fn new(stop: Stop) -> Self {
        Self {
            stop,
            max_iter: None,
            par: Par::rayon(0),
        }
    }

    /// Sets the step cap (default `10 n`); it caps every stopping rule, including
    /// `Stop::Sparsity(k)` with `k > max_iter` (which then reports `converged = false`).
    pub fn max_iter(mut self, n: usize) -> Self {
        self.max_iter = Some(n);
        self
    }

    sparse_core::setters! {
        /// Sets the parallelism.
        par: Par,
    }
}

impl Solve<Dictionary> for MatchingPursuit {
    type Output = Solution;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with the residual
    /// target ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check::batch("y", y, d.signal_len())?;
        // Parameter checks on the rule as given (the messages show the user's values).
        self.budget(d)?;
        by_magnitude(y, Homogeneity::Linear, SAFE_EXPONENT, |ys, s, _| {
            MatchingPursuit {
                stop: self.stop.divided(s),
                ..*self
            }
            .solve_unscaled(d, ys)
        })
    }
}

impl MatchingPursuit {
    /// The step count, the squared residual target (`-1` for none) and the step cap.
    fn budget(&self, d: &Dictionary) -> Result<(usize, f64, usize)> {
        let (n, m) = (d.signal_len(), d.n_atoms());
        let max_iter = self.max_iter.unwrap_or(n.saturating_mul(10));
        if max_iter == 0 {
            return Err(invalid("max_iter", 0, "at least one step"));
        }
        // MP may revisit atoms, so `k` is a step count and is not capped by min(n, m).
        let (k, eps2) = match self.stop {
            Stop::Sparsity(k) if k > 0 => (k, -1.0),
            Stop::SparsityOrResidual { k, eps } if k > 0 => {
                (k, Stop::Residual(eps).budget(n, m)?.1)
            }
            Stop::Residual(eps) => (max_iter, Stop::Residual(eps).budget(n, m)?.1),
            _ => return Err(invalid("k", 0, "at least one step")),
        };
        Ok((k, eps2, max_iter))
    }

    /// [`Solve::solve`] for signals of safe magnitude.
    fn solve_unscaled(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        let m = d.n_atoms();
        let (k, eps2, max_iter) = self.budget(d)?;
        // `max_iter` caps every stopping rule: a step count beyond it stops at the cap,
        // unconverged (a sparsity of `usize::MAX` never runs for minutes).
        let steps = k.min(max_iter);
        let count_done = eps2 < 0.0 && steps == k;
        let gram = d.gram_par(self.par);
        let mut dty = Mat::<f64>::zeros(m, y.ncols());
        matmul(
            dty.as_mut(),
            Accum::Replace,
            d.matrix().transpose(),
            y,
            1.0,
            self.par,
        );
        let ynorm2: Vec<f64> = (0..y.ncols()).map(|j| y.col(j).squared_norm_l2()).collect();
        let (codes, reports) = map_columns(
            dty.as_ref(),
            m,
            self.par,
            || vec![0.0; m],
            |c, j, a0, xj| {
                c.copy_from_slice(a0);
                let mut res2 = ynorm2[j];
                let mut it = 0;
                let mut converged = count_done;
                while it < steps {
                    if res2 <= eps2 {
                        converged = true;
                        break;
                    }
                    let (i, _) = argmax_abs(c);
                    let a = c[i];
                    if a == 0.0 {
                        converged = true;
                        break;
                    }
                    xj[i] += a;
                    for (cv, gv) in c.iter_mut().zip(gram.col_as_slice(i)) {
                        *cv -= a * gv;
                    }
                    res2 = (res2 - a * a).max(0.0);
                    it += 1;
                }
                if eps2 >= 0.0 && res2 <= eps2 {
                    converged = true;
                }
                Report {
                    iterations: it,
                    converged,
                    objective: res2.sqrt(),
                    residual_norm: res2.sqrt(),
                    duality_gap: 0.0,
                }
            },
        );
        Ok(assemble(codes, &reports, false))
    }
}
