//! The multi-layer model `X = D_1 Gamma_1`, `Gamma_{i-1} = D_i Gamma_i`, its effective
//! dictionaries `D_(i,j) = D_i ... D_j`, and its serialised form.

use std::path::Path;
use std::sync::{Arc, OnceLock};

use faer::{Mat, MatRef, Par};
use serde::{Deserialize, Serialize};
use sparse_core::{check, Composed, Dictionary, LinearOperator};

use csc::{ConvDictionary, Grid};

use crate::error::{file_err, invalid, Error, Result};
pub use crate::layer::MAX_EXPLICIT_ENTRIES;
use crate::layer::{explicit, normalized_coherence, Layer};

/// A multi-layer sparse model of depth `K`: `X = D_1 Gamma_1`, `Gamma_1 = D_2 Gamma_2`, ...,
/// `Gamma_{K-1} = D_K Gamma_K` (Papyan, Romano & Elad 2017; Sulam et al. 2018).
///
/// Layers are numbered `1..=K` as in the papers: `layer(1)` is `D_1`, applied last;
/// `code_len(i)` is the length of `Gamma_i` and `code_len(0)` that of the signal. Any mix of
/// dense and convolutional layers is allowed as long as the shapes chain
/// (`D_i.ncols() == D_{i+1}.nrows()`).
///
/// ```
/// use mlcsc::{Layer, MlModel};
/// use sparse_core::{generate, Dictionary};
/// let mut rng = generate::rng(0);
/// let d1 = Dictionary::random_gaussian(32, 64, &mut rng)?;
/// let model = MlModel::new(vec![Layer::dense(&d1), Layer::sparse_random(64, 48, 3, &mut rng)?])?;
/// assert_eq!((model.depth(), model.signal_len(), model.code_len(2)?), (2, 32, 48));
/// let d12 = model.effective_dense(1, 2)?; // D_1 D_2, 32 x 48
/// assert_eq!((d12.nrows(), d12.ncols()), (32, 48));
/// # Ok::<(), mlcsc::Error>(())
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "ModelFile", into = "ModelFile")]
pub struct MlModel {
    layers: Vec<Arc<Layer>>,
    /// `||D_i||_2^2` of every layer, computed on first use.
    lipschitz: Vec<OnceLock<f64>>,
}

impl MlModel {
    /// A model from its layers, `D_1` first. Errors when the list is empty or the shapes do
    /// not chain.
    pub fn new(layers: Vec<Layer>) -> Result<Self> {
        if layers.is_empty() {
            return Err(sparse_core::Error::Empty {
                argument: "layers",
                expected: "at least one layer".into(),
            }
            .into());
        }
        for (i, w) in layers.windows(2).enumerate() {
            w[0].check_chain(&w[1], i + 1)?;
        }
        Ok(Self {
            lipschitz: layers.iter().map(|_| OnceLock::new()).collect(),
            layers: layers.into_iter().map(Arc::new).collect(),
        })
    }

    /// A dense model from dictionaries `D_1, ..., D_K` (unit-norm atoms).
    pub fn from_dictionaries(dicts: &[Dictionary]) -> Result<Self> {
        Self::new(dicts.iter().map(Layer::dense).collect())
    }

    /// The depth `K`.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }

    /// All layers, `D_1` first.
    pub fn layers(&self) -> &[Arc<Layer>] {
        &self.layers
    }

    /// Layer `D_i`, `1 <= i <= K`.
    pub fn layer(&self, i: usize) -> Result<&Layer> {
        self.check_index("i", i)?;
        Ok(&self.layers[i - 1])
    }

    /// Replaces layer `D_i` by one of the same shape.
    pub fn set_layer(&mut self, i: usize, layer: Layer) -> Result<()> {
        self.check_index("i", i)?;
        let old = &self.layers[i - 1];
        if old.nrows() != layer.nrows() || old.ncols() != layer.ncols() {
            return Err(crate::error::mismatch(
                "layer",
                format!("{} x {}", old.nrows(), old.ncols()),
                format!("{} x {}", layer.nrows(), layer.ncols()),
            ));
        }
        self.layers[i - 1] = Arc::new(layer);
        self.lipschitz[i - 1] = OnceLock::new();
        Ok(())
    }

    /// `||D_i||_2^2`, the Lipschitz constant of layer `i` (`1 <= i <= K`), computed once per
    /// model and cached.
    pub fn lipschitz(&self, i: usize) -> Result<f64> {
        self.check_index("i", i)?;
        Ok(*self.lipschitz[i - 1].get_or_init(|| self.layers[i - 1].lipschitz()))
    }

    /// Signal length `n_0` (rows of `D_1`).
    pub fn signal_len(&self) -> usize {
        self.layers[0].nrows()
    }

    /// Length of `Gamma_i` (`i = 0` is the signal), `0 <= i <= K`.
    pub fn code_len(&self, i: usize) -> Result<usize> {
        if i == 0 {
            return Ok(self.signal_len());
        }
        Ok(self.layer(i)?.ncols())
    }

    /// All lengths `n_0, n_1, ..., n_K`.
    pub fn dims(&self) -> Vec<usize> {
        std::iter::once(self.signal_len())
            .chain(self.layers.iter().map(|l| l.ncols()))
            .collect()
    }

    pub(crate) fn check_index(&self, name: &'static str, i: usize) -> Result<()> {
        if i == 0 || i > self.depth() {
            return Err(invalid(
                name,
                i,
                format!("a layer index in 1..={}", self.depth()),
            ));
        }
        Ok(())
    }

    /// The effective dictionary `D_(i,j) = D_i D_{i+1} ... D_j` (`1 <= i <= j <= K`) as an
    /// operator, applied factor by factor. `effective(1, K)` synthesises signals from the
    /// deepest code; `effective(i + 1, K)` maps `Gamma_K` to `Gamma_i`.
    pub fn effective(&self, i: usize, j: usize) -> Result<Composed> {
        self.check_index("i", i)?;
        self.check_index("j", j)?;
        if i > j {
            return Err(invalid("i", i, format!("at most j = {j}")));
        }
        let factors: Vec<Arc<dyn LinearOperator>> = self.layers[i - 1..j]
            .iter()
            .map(|l| l.clone() as Arc<dyn LinearOperator>)
            .collect();
        Ok(Composed::new(factors)?)
    }

    /// The effective dictionary `D_(i,j)` as an explicit matrix, for small models
    /// (`Err(TooLarge)` beyond [`MAX_EXPLICIT_ENTRIES`]). Dense chains are multiplied by GEMMs.
    pub fn effective_dense(&self, i: usize, j: usize) -> Result<Mat<f64>> {
        let op = self.effective(i, j)?;
        if self.layers[i - 1..j].iter().all(|l| !l.is_conv()) {
            crate::layer::guard("effective dictionary", op.nrows(), op.ncols())?;
            let mut acc = self.layers[j - 1].to_dense()?;
            for l in self.layers[i - 1..j - 1].iter().rev() {
                let mut next = Mat::<f64>::zeros(l.nrows(), acc.ncols());
                l.apply_raw(acc.as_ref(), next.as_mut(), Par::rayon(0));
                acc = next;
            }
            return Ok(acc);
        }
        explicit(&op, "effective dictionary")
    }

    /// Mutual coherence `mu(D^(i))` of the normalised atoms of the effective dictionary
    /// `D^(i) = D_(1,i)`: the quantity of the projection bounds (Sulam et al. 2018).
    pub fn effective_coherence(&self, i: usize) -> Result<f64> {
        Ok(normalized_coherence(self.effective_dense(1, i)?.as_ref()))
    }

    /// Every layer's code from the deepest one: `Gamma_i = D_(i+1,K) Gamma_K` for
    /// `i = 1..K` (`codes[i - 1]`, the last being `gamma_k` itself) and the signals
    /// `X = D_1 Gamma_1`. `gamma_k` is `n_K x b`.
    pub fn propagate(&self, gamma_k: MatRef<'_, f64>) -> Result<(Vec<Mat<f64>>, Mat<f64>)> {
        let k = self.depth();
        check::batch("gamma_k", gamma_k, self.code_len(k)?)?;
        let b = gamma_k.ncols();
        let mut codes = vec![gamma_k.to_owned()];
        for l in self.layers.iter().rev() {
            let mut next = Mat::<f64>::zeros(l.nrows(), b);
            l.apply_raw(
                codes[codes.len() - 1].as_ref(),
                next.as_mut(),
                Par::rayon(0),
            );
            codes.push(next);
        }
        let x = codes.pop().unwrap_or_else(|| Mat::zeros(0, 0));
        codes.reverse();
        Ok((codes, x))
    }

    /// The model as JSON, through its serde form (dense layers as column-major entries, convolutional layers as their
    /// filters, grid and stride).
    pub fn to_json(&self) -> Result<String> {
        serde_json::to_string(self).map_err(|e| invalid("model", "a model", e.to_string()))
    }

    /// A model from [`to_json`](Self::to_json) output. Every layer is validated again.
    pub fn from_json(json: &str) -> Result<Self> {
        let file: ModelFile = serde_json::from_str(json).map_err(|e| {
            invalid::<Error>("json", "the given text", format!("an mlcsc model ({e})"))
        })?;
        Self::try_from(file)
    }

    /// Writes [`to_json`](Self::to_json) to `path`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()?).map_err(|e| file_err(path, e))
    }

    /// Reads a model written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e))?;
        Self::from_json(&text).map_err(|e| file_err(path, e))
    }
}

/// Serialised model.
#[derive(Serialize, Deserialize)]
struct ModelFile {
    format: String,
    version: u32,
    layers: Vec<LayerFile>,
}

impl From<MlModel> for ModelFile {
    fn from(m: MlModel) -> Self {
        ModelFile {
            format: "mlcsc-model".into(),
            version: 1,
            layers: m.layers.iter().map(|l| LayerFile::from(&**l)).collect(),
        }
    }
}

impl TryFrom<ModelFile> for MlModel {
    type Error = crate::Error;
    fn try_from(file: ModelFile) -> Result<Self> {
        if file.format != "mlcsc-model" {
            return Err(invalid("json", file.format, "format \"mlcsc-model\""));
        }
        let layers = file
            .layers
            .into_iter()
            .map(LayerFile::into_layer)
            .collect::<Result<Vec<_>>>()?;
        Self::new(layers)
    }
}

/// Serialised layer.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum LayerFile {
    Dense {
        nrows: usize,
        ncols: usize,
        /// Column-major entries.
        data: Vec<f64>,
    },
    Conv {
        filter_rows: usize,
        filter_cols: usize,
        channels: usize,
        n_filters: usize,
        /// The local dictionary (`filter_rows filter_cols channels x n_filters`), column-major.
        filters: Vec<f64>,
        signal_rows: usize,
        signal_cols: usize,
        stride: usize,
    },
    Valid {
        geometry: crate::valid::ValidGeometry,
        /// The filters (`patch_len x maps`), column-major.
        filters: Vec<f64>,
    },
}

fn column_major(m: MatRef<'_, f64>) -> Vec<f64> {
    (0..m.ncols())
        .flat_map(|j| (0..m.nrows()).map(move |i| m[(i, j)]))
        .collect()
}

impl From<&Layer> for LayerFile {
    fn from(l: &Layer) -> Self {
        match l {
            Layer::Dense(m) => LayerFile::Dense {
                nrows: m.nrows(),
                ncols: m.ncols(),
                data: column_major(m.as_ref()),
            },
            Layer::Conv(c) => {
                let d = c.dictionary();
                LayerFile::Conv {
                    filter_rows: d.filter_grid().rows,
                    filter_cols: d.filter_grid().cols,
                    channels: d.channels(),
                    n_filters: d.n_filters(),
                    filters: column_major(d.local_matrix().as_ref()),
                    signal_rows: c.signal_grid().rows,
                    signal_cols: c.signal_grid().cols,
                    stride: c.stride(),
                }
            }
            Layer::Valid(v) => LayerFile::Valid {
                geometry: v.geometry(),
                filters: column_major(v.filters()),
            },
        }
    }
}

impl LayerFile {
    fn into_layer(self) -> Result<Layer> {
        let check_len = |len: usize, r: usize, c: usize| {
            if len != r.saturating_mul(c) {
                return Err(crate::error::mismatch::<Error>(
                    "data",
                    format!("{} entries ({r} x {c})", r.saturating_mul(c)),
                    format!("{len} entries"),
                ));
            }
            Ok(())
        };
        match self {
            LayerFile::Dense { nrows, ncols, data } => {
                check_len(data.len(), nrows, ncols)?;
                Layer::from_matrix(MatRef::from_column_major_slice(&data, nrows, ncols))
            }
            LayerFile::Conv {
                filter_rows,
                filter_cols,
                channels,
                n_filters,
                filters,
                signal_rows,
                signal_cols,
                stride,
            } => {
                let len = filter_rows
                    .saturating_mul(filter_cols)
                    .saturating_mul(channels);
                check_len(filters.len(), len, n_filters)?;
                let m = MatRef::from_column_major_slice(&filters, len, n_filters);
                let d = ConvDictionary::new(Grid::d2(filter_rows, filter_cols), channels, m)?;
                Layer::conv(d, Grid::d2(signal_rows, signal_cols), stride)
            }
            LayerFile::Valid { geometry, filters } => {
                let g = crate::valid::ValidGeometry::new(
                    geometry.channels,
                    geometry.input,
                    geometry.kernel,
                    geometry.stride,
                    geometry.maps,
                )?;
                check_len(filters.len(), g.patch_len(), g.maps)?;
                let m = MatRef::from_column_major_slice(&filters, g.patch_len(), g.maps);
                Layer::valid(g, m)
            }
        }
    }
}
