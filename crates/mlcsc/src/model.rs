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

    /// A model from [`to_json`](Self::to_json) output. Every layer is validated again: the
    /// format and version, every declared size (checked arithmetic, at most [`MAX_FILE_LEN`])
    /// against the stored entries, finite entries, shapes that chain. Errors name the field
    /// (`format`, `version`, `layers[k]` and within it `data`, `filters`, `signal_rows`, ...).
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
            return Err(invalid(
                "format",
                format!("{:?}", clip(&file.format)),
                "\"mlcsc-model\"",
            ));
        }
        if file.version != 1 {
            return Err(invalid("version", file.version, "1"));
        }
        let layers = file
            .layers
            .into_iter()
            .enumerate()
            .map(|(k, l)| {
                let kind = l.kind();
                l.into_layer().map_err(|e| {
                    invalid::<Error>(
                        "layers",
                        format!("layers[{k}] ({kind})"),
                        format!("a valid layer: {e}"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Self::new(layers)
    }
}

/// The first 40 characters of a string, for error messages about file contents.
fn clip(s: &str) -> String {
    match s.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &s[..at]),
        None => s.to_string(),
    }
}

/// The longest signal or code (and the most entries of any one matrix) that a model or network
/// file ([`MlModel::from_json`], a deserialised [`UnfoldedNet`](crate::supervised::UnfoldedNet))
/// may declare: `2^26` entries, 512 MiB of `f64` (as [`MAX_EXPLICIT_ENTRIES`]). Convolutional
/// layers declare their grids rather than store them, so this bounds what using a hostile file
/// can allocate.
pub const MAX_FILE_LEN: usize = 1 << 26;

/// `Err` naming `field` unless `v` is at most [`MAX_FILE_LEN`].
fn bounded(field: &'static str, what: &str, v: Option<usize>) -> Result<usize> {
    match v {
        Some(v) if v <= MAX_FILE_LEN => Ok(v),
        _ => Err(invalid(
            field,
            what,
            format!("at most {MAX_FILE_LEN} entries (MAX_FILE_LEN)"),
        )),
    }
}

/// The input, patch (filter) and code lengths of a file's valid-convolution geometry, after
/// [`ValidGeometry::new`](crate::ValidGeometry::new)'s checks, computed with checked
/// arithmetic and each at most [`MAX_FILE_LEN`]; errors name `field`.
pub(crate) fn checked_geometry(
    g: &crate::valid::ValidGeometry,
    field: &'static str,
) -> Result<(usize, usize, usize)> {
    crate::valid::ValidGeometry::new(g.channels, g.input, g.kernel, g.stride, g.maps)
        .map_err(|e| invalid::<Error>(field, "a geometry", format!("a valid geometry: {e}")))?;
    let input = bounded(
        field,
        "the geometry's input length",
        g.channels
            .checked_mul(g.input.0)
            .and_then(|v| v.checked_mul(g.input.1)),
    )?;
    let patch = bounded(
        field,
        "the geometry's filter length",
        g.channels
            .checked_mul(g.kernel.0)
            .and_then(|v| v.checked_mul(g.kernel.1)),
    )?;
    let (oh, ow) = g.out();
    let code = bounded(
        field,
        "the geometry's code length",
        oh.checked_mul(ow).and_then(|v| v.checked_mul(g.maps)),
    )?;
    bounded(field, "the geometry's filters", patch.checked_mul(g.maps))?;
    Ok((input, patch, code))
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
    fn kind(&self) -> &'static str {
        match self {
            LayerFile::Dense { .. } => "dense",
            LayerFile::Conv { .. } => "conv",
            LayerFile::Valid { .. } => "valid",
        }
    }

    /// The layer, after checking every declared size (checked arithmetic, at most
    /// [`MAX_FILE_LEN`]) against the stored entries.
    fn into_layer(self) -> Result<Layer> {
        let check_len = |field: &'static str, len: usize, r: usize, c: usize| {
            let want = bounded(field, &format!("{r} x {c}"), r.checked_mul(c))?;
            if len != want {
                return Err(crate::error::mismatch::<Error>(
                    field,
                    format!("{want} entries ({r} x {c})"),
                    format!("{len} entries"),
                ));
            }
            Ok(())
        };
        match self {
            LayerFile::Dense { nrows, ncols, data } => {
                check_len("data", data.len(), nrows, ncols)?;
                check::finite_slice("data", &data)?;
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
                let len = bounded(
                    "filter_rows",
                    "filter_rows x filter_cols x channels",
                    filter_rows
                        .checked_mul(filter_cols)
                        .and_then(|v| v.checked_mul(channels)),
                )?;
                check_len("filters", filters.len(), len, n_filters)?;
                check::finite_slice("filters", &filters)?;
                let n = bounded(
                    "signal_rows",
                    "signal_rows x signal_cols",
                    signal_rows.checked_mul(signal_cols),
                )?;
                // Signal `N C` and code `N m C` lengths (a single-channel dictionary codes
                // every channel with its own maps).
                bounded("signal_rows", "the signal length", n.checked_mul(channels))?;
                bounded(
                    "n_filters",
                    "the code length",
                    n.checked_mul(n_filters)
                        .and_then(|v| v.checked_mul(channels)),
                )?;
                let m = MatRef::from_column_major_slice(&filters, len, n_filters);
                let d = ConvDictionary::new(Grid::d2(filter_rows, filter_cols), channels, m)?;
                Layer::conv(d, Grid::d2(signal_rows, signal_cols), stride)
            }
            LayerFile::Valid { geometry, filters } => {
                let (_, patch_len, _) = checked_geometry(&geometry, "geometry")?;
                check_len("filters", filters.len(), patch_len, geometry.maps)?;
                check::finite_slice("filters", &filters)?;
                let m = MatRef::from_column_major_slice(&filters, patch_len, geometry.maps);
                Layer::valid(geometry, m)
            }
        }
    }
}
