//! A holistic pursuit of the multi-layer model: synthesis steps on the deepest layer alternating
//! with analysis (co-support) steps on the intermediate ones.

use faer::{Mat, MatRef, Par};
use rayon::prelude::*;
use sparse_core::check;

use super::{check_per_layer, check_signals, MlSolution};
use crate::error::{Error, Result};
use crate::linalg::constrained_lstsq;
use crate::model::MlModel;
use sparse_core::solve::Solve;

/// Entries of an intermediate code below `ZERO_TOL` times its largest magnitude are zeros.
const ZERO_TOL: f64 = 1e-9;

/// The holistic pursuit (after Aberdam, Sulam & Elad, *Multi-layer sparse coding: the holistic
/// way*, SIAM J. Math. Data Sci. 2019): the model `y = D_(1,K) Gamma_K + e` with
/// `||Gamma_K||_0 <= s_K` and `||D_(i+1,K) Gamma_K||_0 <= s_i` couples a *synthesis* prior on the
/// deepest code (its support `T`) with *analysis* priors on the intermediate ones (the rows of
/// `D_(i+1,K)` where `Gamma_i` vanishes, the co-supports `C_i`). The pursuit estimates all of
/// them together, alternating:
///
/// 1. **synthesis step** — add to `T` the atom of `D_(1,K)` (normalised) most correlated with
///    the residual, as OMP does;
/// 2. **analysis step** — solve `min ||y - D_(1,K) g||_2` over `g` supported on `T` with
///    `D_(i+1,K)[C_i, :] g = 0` for every layer; while some `Gamma_i = D_(i+1,K) g` has more than
///    `s_i` non-zeros, add its smallest-magnitude non-zero row to `C_i` (greedy co-support, as in
///    greedy analysis pursuit) and solve again;
/// 3. atoms whose coefficient the constraints drive to zero leave `T` and are not chosen again;
///
/// until `|T| = s_K` (or the residual reaches `eps`). This is a faithful but simple greedy
/// version of the paper's Holistic Pursuit (which also relaxes the synthesis step); the result
/// is consistent, `Gamma_i = D_(i+1,K) Gamma_K`, and every layer respects its budget. It needs the
/// explicit effective dictionaries (small models).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `sparsity` | (required) | `[s_1, ..., s_K]` |
/// | `eps` | `None` | also stop a signal when `||y - D_(1,K) Gamma_K||_2 <= eps` |
/// | `par` | `Par::rayon(0)` | parallelism over signals |
#[derive(Debug, Clone)]
pub struct Holistic {
    /// Sparsity budget of every layer, `s_1..s_K`.
    pub sparsity: Vec<usize>,
    /// Residual target.
    pub eps: Option<f64>,
    /// Parallelism over signals.
    pub par: Par,
}

/// What one signal's pursuit found.
struct Found {
    gamma: Vec<f64>,
    steps: usize,
    complete: bool,
}

impl Holistic {
    /// The holistic pursuit with budgets `[s_1, ..., s_K]`.
    pub fn new(sparsity: Vec<usize>) -> Self {
        Self {
            sparsity,
            eps: None,
            par: Par::rayon(0),
        }
    }

    /// Sets `eps`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = Some(eps);
        self
    }

    sparse_core::setters! {
        /// Sets `par`.
        par: Par,
    }

    fn one(&self, phi: &Mat<f64>, norms: &[f64], psi: &[Mat<f64>], y: &[f64]) -> Result<Found> {
        let k = self.sparsity.len();
        let s_k = self.sparsity[k - 1];
        let m = phi.ncols();
        let n = phi.nrows();
        let mut t: Vec<usize> = Vec::new();
        let mut banned = vec![false; m];
        let mut cosup: Vec<Vec<usize>> = vec![Vec::new(); k - 1];
        let mut gt: Vec<f64> = Vec::new();
        let mut r = y.to_vec();
        let mut steps = 0;
        let budget = 4 * s_k + 8;
        loop {
            let rn = r.iter().map(|v| v * v).sum::<f64>().sqrt();
            let done_eps = self.eps.is_some_and(|e| rn <= e);
            if t.len() >= s_k || done_eps {
                return Ok(Found {
                    gamma: scatter(&t, &gt, m),
                    steps,
                    complete: true,
                });
            }
            if steps >= budget {
                break;
            }
            steps += 1;
            // Synthesis step: the atom most correlated with the residual.
            let mut best = (usize::MAX, 0.0f64);
            for j in 0..m {
                if banned[j] || norms[j] == 0.0 || t.contains(&j) {
                    continue;
                }
                let c = (0..n).map(|i| phi[(i, j)] * r[i]).sum::<f64>().abs() / norms[j];
                if c > best.1 {
                    best = (j, c);
                }
            }
            if best.0 == usize::MAX {
                break;
            }
            t.push(best.0);
            // Analysis step: constrained least squares and greedy co-supports.
            let a = Mat::<f64>::from_fn(n, t.len(), |i, c| phi[(i, t[c])]);
            loop {
                let rows: Vec<(usize, usize)> = cosup
                    .iter()
                    .enumerate()
                    .flat_map(|(l, c)| c.iter().map(move |&q| (l, q)))
                    .collect();
                let b = Mat::<f64>::from_fn(rows.len(), t.len(), |q, c| {
                    let (l, row) = rows[q];
                    psi[l][(row, t[c])]
                });
                gt = constrained_lstsq(a.as_ref(), b.as_ref(), y)?;
                let mut added = false;
                for l in 0..k - 1 {
                    let vals: Vec<f64> = (0..psi[l].nrows())
                        .map(|q| (0..t.len()).map(|c| psi[l][(q, t[c])] * gt[c]).sum())
                        .collect();
                    let mx = vals.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                    let nz: Vec<usize> = (0..vals.len())
                        .filter(|&q| vals[q].abs() > ZERO_TOL * mx && !cosup[l].contains(&q))
                        .collect();
                    if nz.len() > self.sparsity[l] {
                        let q = nz
                            .iter()
                            .copied()
                            .min_by(|&x, &y| vals[x].abs().total_cmp(&vals[y].abs()))
                            .unwrap_or(0);
                        cosup[l].push(q);
                        added = true;
                        break;
                    }
                }
                if !added {
                    break;
                }
            }
            // Atoms the constraints switched off leave the support for good.
            let gmax = gt.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            let mut c = 0;
            while c < t.len() {
                if gt[c].abs() <= ZERO_TOL * gmax.max(f64::MIN_POSITIVE) {
                    banned[t[c]] = true;
                    t.remove(c);
                    gt.remove(c);
                } else {
                    c += 1;
                }
            }
            r.copy_from_slice(y);
            for (c, &j) in t.iter().enumerate() {
                for (i, ri) in r.iter_mut().enumerate() {
                    *ri -= phi[(i, j)] * gt[c];
                }
            }
        }
        Ok(Found {
            gamma: scatter(&t, &gt, m),
            steps,
            complete: false,
        })
    }
}

fn scatter(t: &[usize], g: &[f64], m: usize) -> Vec<f64> {
    let mut out = vec![0.0; m];
    for (&j, &v) in t.iter().zip(g) {
        out[j] = v;
    }
    out
}

impl Solve<MlModel> for Holistic {
    type Output = MlSolution;
    type Error = Error;

    fn solve(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<MlSolution> {
        check_signals(model, y)?;
        check_per_layer("sparsity", &self.sparsity, model)?;
        for (i, &s) in self.sparsity.iter().enumerate() {
            check::count("sparsity", s, model.code_len(i + 1)?)?;
        }
        if let Some(e) = self.eps {
            check::non_negative("eps", e)?;
        }
        let k = model.depth();
        let phi = model.effective_dense(1, k)?;
        let norms: Vec<f64> = (0..phi.ncols()).map(|j| phi.col(j).norm_l2()).collect();
        let psi: Vec<Mat<f64>> = (2..=k)
            .map(|i| model.effective_dense(i, k))
            .collect::<Result<_>>()?;
        let cols: Vec<Vec<f64>> = (0..y.ncols())
            .map(|j| y.col(j).iter().copied().collect())
            .collect();
        let found: Vec<Found> = if self.par.degree() > 1 {
            cols.par_iter()
                .map(|yj| self.one(&phi, &norms, &psi, yj))
                .collect::<Result<_>>()?
        } else {
            cols.iter()
                .map(|yj| self.one(&phi, &norms, &psi, yj))
                .collect::<Result<_>>()?
        };
        let gamma = Mat::<f64>::from_fn(phi.ncols(), y.ncols(), |i, j| found[j].gamma[i]);
        let (mut codes, _) = model.propagate(gamma.as_ref())?;
        // The co-support rows are zero up to rounding: make them exact zeros.
        for c in codes.iter_mut().take(k - 1) {
            for j in 0..c.ncols() {
                let mx = c.col(j).iter().fold(0.0f64, |a, v| a.max(v.abs()));
                c.col_mut(j)
                    .iter_mut()
                    .filter(|v| v.abs() <= ZERO_TOL * mx)
                    .for_each(|v| *v = 0.0);
            }
        }
        let mut out = MlSolution::assemble(model, y, codes, self.par);
        out.set_outcome(|j| found[j].steps, |j| found[j].complete, None);
        Ok(out)
    }
}
