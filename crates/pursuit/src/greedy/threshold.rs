//! The thresholding pursuit `x = P_beta(D^T y)`.

use faer::linalg::matmul::matmul;
use faer::linalg::solvers::SolveLstsq;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::{check, Dictionary, Shrinkage};

use crate::result::{assemble, Report, Solution};
use crate::{Error, Result, Solve};

/// Thresholding: `x = P(D^T y)` for a shrinkage `P` (hard, soft, non-negative soft = ReLU with
/// bias, or top-k) — the simplest pursuit, and one layer of a CNN forward pass (Papyan, Romano &
/// Elad 2017). With `least_squares`, the kept support is then refitted by least squares (the
/// "thresholding algorithm" of Elad 2010, ch. 3), which is what its recovery guarantee is
/// about: success when `|x_min| / |x_max| > (2k - 1) mu + 2 eps / |x_max|` (roughly).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `shrink` | — | the shrinkage and its threshold |
/// | `least_squares` | `false` | refit the kept support by least squares ([`Error::DependentAtoms`] when the kept atoms are linearly dependent) |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholding {
    /// The shrinkage applied to `D^T y`.
    pub shrink: Shrinkage,
    /// Refit the selected support by least squares.
    pub least_squares: bool,
    /// Parallelism.
    pub par: Par,
}

impl Thresholding {
    /// Thresholding with the given shrinkage, no refit.
    pub fn new(shrink: Shrinkage) -> Self {
        Self {
            shrink,
            least_squares: false,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Refit the kept support by least squares.
        least_squares: bool,
        /// Sets the parallelism.
        par: Par,
    }
}

impl Solve<Dictionary> for Thresholding {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        let (n, m) = (d.signal_len(), d.n_atoms());
        check::batch("y", y, n)?;
        self.shrink.validate()?;
        let dm = d.matrix();
        let mut x = Mat::<f64>::zeros(m, y.ncols());
        matmul(x.as_mut(), Accum::Replace, dm.transpose(), y, 1.0, self.par);
        self.shrink.apply_batch(x.as_mut());
        if self.least_squares {
            for j in 0..x.ncols() {
                let support: Vec<usize> = (0..m).filter(|&i| x[(i, j)] != 0.0).collect();
                if support.is_empty() {
                    continue;
                }
                if support.len() > n {
                    // More atoms than signal entries: dependent by counting.
                    return Err(Error::DependentAtoms {
                        signal: j,
                        atom: support[n],
                    });
                }
                let ds = Mat::<f64>::from_fn(n, support.len(), |r, c| dm[(r, support[c])]);
                let qr = ds.as_ref().qr();
                // A numerically zero diagonal entry of R: the atom adds no new direction and
                // the refit would divide by (nearly) zero.
                let rd = qr.R();
                let scale = (0..support.len()).fold(0.0f64, |a, c| a.max(rd[(c, c)].abs()));
                if let Some(c) = (0..support.len())
                    .find(|&c| rd[(c, c)].abs() <= 1e-12 * scale * support.len() as f64)
                {
                    return Err(Error::DependentAtoms {
                        signal: j,
                        atom: support[c],
                    });
                }
                let coef = qr.solve_lstsq(y.subcols(j, 1).to_owned());
                for (c, &i) in support.iter().enumerate() {
                    x[(i, j)] = coef[(c, 0)];
                }
            }
        }
        let mut r = y.to_owned();
        matmul(r.as_mut(), Accum::Add, dm, x.as_ref(), -1.0, self.par);
        let reports: Vec<Report> = (0..y.ncols())
            .map(|j| {
                let rn = r.col(j).norm_l2();
                Report {
                    iterations: 1,
                    converged: true,
                    objective: rn,
                    residual_norm: rn,
                    duality_gap: 0.0,
                }
            })
            .collect();
        Ok(assemble(x, &reports, false))
    }
}
