//! Accessors of an [`UnfoldedNet`]: sizes, flat parameters, per-layer views, input checks.

use faer::MatRef;
use sparse_core::check;

use super::{Kind, LayerAt, UnfoldedNet, Unfolding};
use crate::error::{invalid, mismatch, Result};
use crate::layer::Layer;
use crate::model::MlModel;
use crate::valid::ValidGeometry;

impl UnfoldedNet {
    /// `n_0, n_1, ..., n_L`.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Number of unfolded iterations `K`.
    pub fn unfoldings(&self) -> usize {
        self.unfoldings
    }
    /// ML-ISTA or ML-FISTA.
    pub fn kind(&self) -> Unfolding {
        self.kind
    }
    /// Number of layers `L`.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }
    /// The flat parameter vector.
    pub fn params(&self) -> &[f64] {
        &self.params
    }
    /// The flat parameter vector, mutably.
    pub fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn at(&self, i: usize) -> Result<LayerAt> {
        if i == 0 || i > self.depth() {
            return Err(invalid("i", i, format!("a layer in 1..={}", self.depth())));
        }
        Ok(self.layers[i - 1])
    }

    /// `D_i` (`n_{i-1} x n_i`) of a dense layer, or the filters (`patch_len x maps`) of a
    /// convolutional one, `1 <= i <= L`.
    pub fn dictionary(&self, i: usize) -> Result<MatRef<'_, f64>> {
        let at = self.at(i)?;
        Ok(self.d(i - 1, at))
    }

    /// The shape of layer `i`'s convolution (`None` for a dense layer).
    pub fn geometry(&self, i: usize) -> Result<Option<ValidGeometry>> {
        Ok(match self.at(i)?.kind {
            Kind::Dense => None,
            Kind::Valid(g) => Some(g),
        })
    }

    fn d(&self, l: usize, at: LayerAt) -> MatRef<'_, f64> {
        match at.kind {
            Kind::Dense => {
                let (n, m) = (self.dims[l], self.dims[l + 1]);
                MatRef::from_column_major_slice(&self.params[at.d..at.d + n * m], n, m)
            }
            Kind::Valid(g) => MatRef::from_column_major_slice(
                &self.params[at.d..at.d + g.patch_len() * g.maps],
                g.patch_len(),
                g.maps,
            ),
        }
    }

    /// The step `c_i`.
    pub fn step(&self, i: usize) -> Result<f64> {
        Ok(self.params[self.at(i)?.c])
    }

    /// The biases `b_i` (`n_i` entries for a dense layer, one per feature map for a
    /// convolutional one).
    pub fn bias(&self, i: usize) -> Result<&[f64]> {
        let at = self.at(i)?;
        Ok(&self.params[at.b..at.b + self.dims[i] / at.per_bias()])
    }

    /// The classifier `(W, w_0)`: `W` is `classes x n_L`.
    pub fn classifier(&self) -> (MatRef<'_, f64>, &[f64]) {
        let nl = self.dims[self.dims.len() - 1];
        (
            MatRef::from_column_major_slice(
                &self.params[self.w..self.w + self.classes * nl],
                self.classes,
                nl,
            ),
            &self.params[self.w0..self.w0 + self.classes],
        )
    }

    /// The learned dictionaries as a multi-layer model (dense and valid convolutional layers,
    /// atoms not normalised), for the pursuits of this crate.
    pub fn model(&self) -> Result<MlModel> {
        let layers = (1..=self.depth())
            .map(|i| match self.layers[i - 1].kind {
                Kind::Dense => Layer::from_matrix(self.dictionary(i)?),
                Kind::Valid(g) => Layer::valid(g, self.dictionary(i)?),
            })
            .collect::<Result<Vec<_>>>()?;
        MlModel::new(layers)
    }

    pub(crate) fn check_input(&self, x: MatRef<'_, f64>) -> Result<()> {
        check::batch("x", x, self.dims[0])?;
        Ok(())
    }

    pub(crate) fn check_labels(&self, x: MatRef<'_, f64>, labels: &[usize]) -> Result<()> {
        self.check_input(x)?;
        if labels.len() != x.ncols() {
            return Err(mismatch(
                "labels",
                format!("{} labels (one per column of x)", x.ncols()),
                format!("{}", labels.len()),
            ));
        }
        if let Some(&bad) = labels.iter().find(|&&l| l >= self.classes) {
            return Err(invalid("labels", bad, format!("labels < {}", self.classes)));
        }
        Ok(())
    }
}
