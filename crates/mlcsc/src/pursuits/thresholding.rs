//! Layered thresholding: the forward pass of a CNN as a pursuit of the multi-layer model.

use faer::{Mat, MatRef, Par};
use sparse_core::{LinearOperator, Shrinkage};

use super::{check_per_layer, check_signals, MlSolution};
use crate::error::{Error, Result};
use crate::model::MlModel;
use sparse_core::solve::Solve;

/// Layered thresholding `Gamma_i = P_beta_i(D_i^T Gamma_{i-1})`, `Gamma_0 = Y` (Papyan, Romano
/// & Elad, *Convolutional neural networks analyzed via convolutional sparse coding*, JMLR 2017).
///
/// With non-negative soft thresholding, `P_beta(v) = max(v - beta, 0) = ReLU(v + b)` with bias
/// `b = -beta`, so the pursuit *is* the forward pass `ReLU(W_i^T x + b_i)` of a CNN with weights
/// `W_i = D_i`. Hard thresholding is the pursuit of the stability theorem (Theorem 4 of the
/// paper: with proper thresholds the supports are recovered and the error of layer `i` is at
/// most `eps_i = sqrt(||Gamma_i||_0) (eps_{i-1} + mu(D_i) (||Gamma_i||_0 - 1) |Gamma_i^max|)`);
/// soft thresholding shrinks every surviving entry by `beta_i` and loses contrast layer after
/// layer.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `shrinkage` | (required) | one [`Shrinkage`] per layer (hard, soft, non-negative soft, top-k) |
/// | `par` | `Par::rayon(0)` | parallelism of the products |
///
/// ```
/// use mlcsc::{Layer, LayeredThresholding, MlModel, Solve};
/// use sparse_core::{generate, Dictionary};
/// let mut rng = generate::rng(1);
/// let d1 = Dictionary::random_gaussian(16, 32, &mut rng)?;
/// let model = MlModel::new(vec![Layer::dense(&d1), Layer::sparse_random(32, 24, 2, &mut rng)?])?;
/// let y = faer::Mat::<f64>::from_fn(16, 5, |i, j| ((i + j) % 3) as f64);
/// let out = LayeredThresholding::relu(&[0.1, 0.05]).solve(&model, y.as_ref())?;
/// assert!(out.deepest().col(0).iter().all(|v| *v >= 0.0));
/// # Ok::<(), mlcsc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct LayeredThresholding {
    /// The shrinkage of every layer, `D_1` first.
    pub shrinkage: Vec<Shrinkage>,
    /// Parallelism.
    pub par: Par,
}

impl LayeredThresholding {
    /// Layered thresholding with one shrinkage per layer.
    pub fn new(shrinkage: Vec<Shrinkage>) -> Self {
        Self {
            shrinkage,
            par: Par::rayon(0),
        }
    }

    /// Hard thresholding at `thresholds[i]` on layer `i + 1`.
    pub fn hard(thresholds: &[f64]) -> Self {
        Self::new(thresholds.iter().map(|&t| Shrinkage::Hard(t)).collect())
    }

    /// Soft thresholding at `thresholds[i]` on layer `i + 1`.
    pub fn soft(thresholds: &[f64]) -> Self {
        Self::new(thresholds.iter().map(|&t| Shrinkage::Soft(t)).collect())
    }

    /// Non-negative soft thresholding at `thresholds[i]` (a ReLU with bias `-thresholds[i]`):
    /// the forward pass of a CNN.
    pub fn relu(thresholds: &[f64]) -> Self {
        Self::new(
            thresholds
                .iter()
                .map(|&t| Shrinkage::NonNegSoft(t))
                .collect(),
        )
    }

    sparse_core::setters! {
        /// Sets `par`.
        par: Par,
    }

    /// The codes alone, without diagnostics (the inner loop of [`pursue`](MlPursuit::pursue)).
    pub fn forward(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<Vec<Mat<f64>>> {
        check_signals(model, y)?;
        check_per_layer("shrinkage", &self.shrinkage, model)?;
        for s in &self.shrinkage {
            s.validate()?;
        }
        let b = y.ncols();
        let mut codes: Vec<Mat<f64>> = Vec::with_capacity(model.depth());
        for (i, layer) in model.layers().iter().enumerate() {
            let mut g = Mat::<f64>::zeros(layer.ncols(), b);
            let above = if i == 0 { y } else { codes[i - 1].as_ref() };
            layer.apply_adjoint_raw(above, g.as_mut(), self.par);
            crate::linalg::shrink_in_place(self.shrinkage[i], &mut g);
            codes.push(g);
        }
        Ok(codes)
    }
}

impl Solve<MlModel> for LayeredThresholding {
    type Output = MlSolution;
    type Error = Error;

    fn solve(&self, model: &MlModel, y: MatRef<'_, f64>) -> Result<MlSolution> {
        let codes = self.forward(model, y)?;
        Ok(MlSolution::assemble(model, y, codes, self.par))
    }
}
