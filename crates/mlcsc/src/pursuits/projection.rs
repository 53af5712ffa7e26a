//! The projection pursuit of the multi-layer model (Sulam, Papyan, Romano & Elad,
//! *Multi-layer convolutional sparse modeling: pursuit and dictionary learning*, IEEE TSP 2018).

use faer::{Mat, MatRef, Par};
use pursuit::lasso::Fista;
use pursuit::{BatchOmp, Stop};
use rayon::prelude::*;
use sparse_core::{check, Dictionary, LinearOperator};

use super::{check_signals, MlSolution};
use crate::error::{Error, Result};
use crate::linalg::lstsq;
use crate::model::MlModel;
use sparse_core::solve::Solve;

/// How the projection pursuit codes the deepest layer on the effective dictionary
/// `D_(1,K)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum DeepestPursuit {
    /// Batch-OMP with exactly `sparsity` atoms on the explicit effective dictionary (its atoms
    /// normalised for the selection; the codes are returned in the original scale).
    Omp {
        /// Number of atoms `||Gamma_K||_0`.
        sparsity: usize,
    },
    /// Batch-OMP until `||y - D_(1,K) Gamma_K||_2 <= eps`.
    OmpResidual {
        /// Residual target.
        eps: f64,
    },
    /// FISTA on the effective operator (any layers, never formed) for
    /// `min 1/2 ||y - D_(1,K) g||^2 + lambda ||g||_1`, optionally followed by least squares on
    /// the support found (debiasing).
    Lasso {
        /// Penalty.
        lambda: f64,
        /// Least squares on the support afterwards.
        debias: bool,
    },
}

/// The projection pursuit (Sulam et al., TSP 2018): code the deepest layer on the effective
/// dictionary, `Gamma_K = argmin ||Y - D_(1,K) Gamma||` under sparsity, then obtain every
/// intermediate layer by the model itself, `Gamma_i = D_(i+1,K) Gamma_K`, so the estimates are
/// consistent (`Gamma_{i-1} = D_i Gamma_i` exactly).
///
/// Its stability theorem (Theorem 6 there): if `||E||_2 <= E_0` and `||Gamma_i||_0 <
/// (1 + 1/mu(D^(i))) / 2` with `D^(i) = D_(1,i)`, the projection's estimates satisfy
/// `||Gamma_i - Gamma_hat_i||_2^2 <= 4 E_0^2 / (1 - (2 ||Gamma_i||_0 - 1) mu(D^(i)))`:
/// the bound does not accumulate over layers.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `deepest` | (required) | [`DeepestPursuit`] on `D_(1,K)` |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone)]
pub struct Projection {
    /// Pursuit of the deepest layer.
    pub deepest: DeepestPursuit,
    /// Parallelism.
    pub par: Par,
}

impl Projection {
    /// The projection pursuit with OMP of `sparsity` atoms on the effective dictionary.
    pub fn omp(sparsity: usize) -> Self {
        Self::new(DeepestPursuit::Omp { sparsity })
    }

    /// The projection pursuit with the given deepest-layer pursuit.
    pub fn new(deepest: DeepestPursuit) -> Self {
        Self {
            deepest,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Sets `par`.
        par: Par,
    }

    /// The deepest code alone.
    pub fn deepest_code(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check_signals(model, y)?;
        let k = model.depth();
        match self.deepest {
            DeepestPursuit::Omp { .. } | DeepestPursuit::OmpResidual { .. } => {
                let stop = match self.deepest {
                    DeepestPursuit::Omp { sparsity } => Stop::Sparsity(sparsity),
                    DeepestPursuit::OmpResidual { eps } => Stop::Residual(eps),
                    DeepestPursuit::Lasso { .. } => unreachable!(),
                };
                let eff = model.effective_dense(1, k)?;
                let norms: Vec<f64> = (0..eff.ncols()).map(|j| eff.col(j).norm_l2()).collect();
                let d = Dictionary::from_matrix(eff.as_ref())?;
                let mut g = BatchOmp::new(stop).par(self.par).solve(&d, y)?.codes;
                for (j, n) in norms.iter().enumerate() {
                    g.row_mut(j).iter_mut().for_each(|v| *v /= n);
                }
                Ok(g)
            }
            DeepestPursuit::Lasso { lambda, debias } => {
                check::non_negative("lambda", lambda)?;
                let op = model.effective(1, k)?;
                let l = op.lipschitz();
                let mut g = Fista::new(lambda)
                    .gap_tol(1e-8)
                    .lipschitz(l)
                    .par(self.par)
                    .solve(&op, y)?
                    .codes;
                if debias {
                    debias_on_support(&op, y, &mut g)?;
                }
                Ok(g)
            }
        }
    }
}

/// Least squares of every column of `y` on the atoms of `op` in the support of its code.
pub(crate) fn debias_on_support<Op: LinearOperator + ?Sized>(
    op: &Op,
    y: MatRef<'_, f64>,
    g: &mut Mat<f64>,
) -> Result<()> {
    let m = op.ncols();
    let cols: Vec<Vec<f64>> = (0..y.ncols())
        .into_par_iter()
        .map(|j| {
            let support: Vec<usize> = (0..m).filter(|&i| g[(i, j)] != 0.0).collect();
            let mut out = vec![0.0; m];
            if support.is_empty() {
                return Ok(out);
            }
            let units =
                Mat::<f64>::from_fn(
                    m,
                    support.len(),
                    |i, c| {
                        if i == support[c] {
                            1.0
                        } else {
                            0.0
                        }
                    },
                );
            let mut a = Mat::<f64>::zeros(op.nrows(), support.len());
            op.apply_raw(units.as_ref(), a.as_mut(), Par::Seq);
            let yj: Vec<f64> = y.col(j).iter().copied().collect();
            let x = lstsq(a.as_ref(), &yj)?;
            for (c, &i) in support.iter().enumerate() {
                out[i] = x[c];
            }
            Ok(out)
        })
        .collect::<Result<_>>()?;
    for (j, c) in cols.iter().enumerate() {
        for (i, v) in c.iter().enumerate() {
            g[(i, j)] = *v;
        }
    }
    Ok(())
}

impl Solve<MlModel> for Projection {
    type Output = MlSolution;
    type Error = Error;

    fn solve(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<MlSolution> {
        let g = self.deepest_code(model, y)?;
        let (codes, _) = model.propagate(g.as_ref())?;
        Ok(MlSolution::assemble(model, y, codes, self.par))
    }
}
