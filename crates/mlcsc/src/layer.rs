//! One layer `D_i` of a multi-layer model: a dense matrix or a strided convolution.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::seq::index::sample;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::{check, Dictionary, LinearOperator};

use csc::{ConvDictionary, Grid};

use crate::error::{invalid, Result};
use crate::strided::StridedConv;
use crate::valid::{ValidConv, ValidGeometry};

pub(crate) use sparse_core::error::guard_explicit as guard;
pub use sparse_core::error::MAX_EXPLICIT_ENTRIES;

/// The explicit matrix of an operator, `D I`, column block by column block.
pub(crate) fn explicit<Op: LinearOperator + ?Sized>(
    op: &Op,
    what: &'static str,
) -> Result<Mat<f64>> {
    let (n, m) = (op.nrows(), op.ncols());
    guard(what, n, m)?;
    let mut out = Mat::<f64>::zeros(n, m);
    let bs = 256.min(m.max(1));
    let mut at = 0;
    while at < m {
        let w = bs.min(m - at);
        let eye = Mat::<f64>::from_fn(m, w, |i, j| if i == at + j { 1.0 } else { 0.0 });
        op.apply_raw(eye.as_ref(), out.as_mut().subcols_mut(at, w), Par::rayon(0));
        at += w;
    }
    Ok(out)
}

/// Mutual coherence of the columns of `m` after normalising them (`max_{i != j} |<a_i, a_j>|`
/// over unit-norm columns; zero columns are ignored).
pub(crate) fn normalized_coherence(m: MatRef<'_, f64>) -> f64 {
    let norms: Vec<f64> = (0..m.ncols()).map(|j| m.col(j).norm_l2()).collect();
    let mut g = Mat::<f64>::zeros(m.ncols(), m.ncols());
    matmul(
        g.as_mut(),
        Accum::Replace,
        m.transpose(),
        m,
        1.0,
        Par::rayon(0),
    );
    let mut mu = 0.0f64;
    for j in 0..m.ncols() {
        for i in 0..j {
            if norms[i] > 0.0 && norms[j] > 0.0 {
                mu = mu.max(g[(i, j)].abs() / (norms[i] * norms[j]));
            }
        }
    }
    mu
}

/// One layer `D_i` of a multi-layer model, mapping codes `Gamma_i` (columns) to the layer
/// above, `Gamma_{i-1} = D_i Gamma_i`.
///
/// * `Dense`: an explicit `n_{i-1} x n_i` matrix. Built from a [`Dictionary`] (unit-norm atoms)
///   or, for learned layers, from any finite matrix (atoms of any norm).
/// * `Conv`: a [`StridedConv`], `m_i` filters spanning the `m_{i-1}` channels of the previous
///   code, with a stride and circular boundaries (the CSC model of `csc`).
/// * `Valid`: a [`ValidConv`], the same without wrap-around: filters only where they fit, the
///   layer of CNNs and of the MNIST experiments of the ML-CSC papers.
#[derive(Debug, Clone)]
pub enum Layer {
    /// A dense matrix.
    Dense(Mat<f64>),
    /// A strided multi-channel circular convolution.
    Conv(StridedConv),
    /// A strided multi-channel convolution with valid boundaries.
    Valid(ValidConv),
}

impl Layer {
    /// The dense layer of a dictionary (unit-norm atoms).
    pub fn dense(d: &Dictionary) -> Self {
        Layer::Dense(d.matrix().to_owned())
    }

    /// A dense layer from any finite, non-empty matrix (its columns are not normalised).
    pub fn from_matrix(m: MatRef<'_, f64>) -> Result<Self> {
        check::non_empty("matrix", m)?;
        check::finite("matrix", m)?;
        Ok(Layer::Dense(m.to_owned()))
    }

    /// A convolutional layer: the filters `dict` on `dict.channels()`-channel inputs on the grid
    /// `signal`, with stride `stride` (see [`StridedConv::new`]).
    pub fn conv(dict: ConvDictionary, signal: Grid, stride: usize) -> Result<Self> {
        Ok(Layer::Conv(StridedConv::new(dict, signal, stride)?))
    }

    /// A sparse random dense layer: `m` unit-norm atoms of length `n`, each with exactly `nnz`
    /// non-zeros at uniformly random rows, Gaussian values. The sparse deeper dictionaries of
    /// the ML-CSC model (Sulam, Papyan, Romano & Elad 2018): a sparse `D_i` keeps
    /// `Gamma_{i-1} = D_i Gamma_i` sparse.
    pub fn sparse_random<R: Rng + ?Sized>(
        n: usize,
        m: usize,
        nnz: usize,
        rng: &mut R,
    ) -> Result<Self> {
        check::count("n", n, usize::MAX)?;
        check::count("m", m, usize::MAX)?;
        check::count("nnz", nnz, n)?;
        check::size("n * m", &[n, m])?;
        let mut a = Mat::<f64>::zeros(n, m);
        for j in 0..m {
            let rows = sample(rng, n, nnz);
            let mut norm = 0.0;
            for r in rows.iter() {
                let mut v: f64 = StandardNormal.sample(rng);
                if v.abs() < 0.1 {
                    v = 0.1f64.copysign(v);
                }
                a[(r, j)] = v;
                norm += v * v;
            }
            let norm = norm.sqrt();
            a.col_mut(j).iter_mut().for_each(|v| *v /= norm);
        }
        Ok(Layer::Dense(a))
    }

    /// A valid convolutional layer of `filters` (`channels kh kw x maps`, any finite values)
    /// with shape `geom` (see [`ValidConv`]).
    pub fn valid(geom: ValidGeometry, filters: MatRef<'_, f64>) -> Result<Self> {
        Ok(Layer::Valid(ValidConv::new(geom, filters)?))
    }

    /// Whether the layer is convolutional (circular or valid).
    pub fn is_conv(&self) -> bool {
        matches!(self, Layer::Conv(_) | Layer::Valid(_))
    }

    /// The valid convolution of a [`Layer::Valid`] layer.
    pub fn as_valid(&self) -> Option<&ValidConv> {
        match self {
            Layer::Valid(v) => Some(v),
            _ => None,
        }
    }

    /// The matrix of a dense layer.
    pub fn as_dense(&self) -> Option<MatRef<'_, f64>> {
        match self {
            Layer::Dense(m) => Some(m.as_ref()),
            _ => None,
        }
    }

    /// The convolution of a convolutional layer.
    pub fn as_conv(&self) -> Option<&StridedConv> {
        match self {
            Layer::Conv(c) => Some(c),
            _ => None,
        }
    }

    /// The explicit matrix (`Err(TooLarge)` beyond [`MAX_EXPLICIT_ENTRIES`]).
    pub fn to_dense(&self) -> Result<Mat<f64>> {
        match self {
            Layer::Dense(m) => Ok(m.clone()),
            Layer::Conv(c) => explicit(c, "convolutional layer"),
            Layer::Valid(v) => explicit(v, "convolutional layer"),
        }
    }

    /// The l2 norm of every atom (column). Circular convolutional atoms are unit-norm filters;
    /// a valid layer's atoms are its filters (every position holds the whole filter).
    pub fn column_norms(&self) -> Vec<f64> {
        match self {
            Layer::Dense(m) => (0..m.ncols()).map(|j| m.col(j).norm_l2()).collect(),
            Layer::Conv(c) => vec![1.0; c.ncols()],
            Layer::Valid(v) => {
                let np = v.geometry().positions();
                (0..v.ncols())
                    .map(|j| v.filters().col(j / np).norm_l2())
                    .collect()
            }
        }
    }

    /// Whether every atom has unit norm (to `1e-10`).
    pub fn is_normalized(&self) -> bool {
        self.column_norms().iter().all(|n| (n - 1.0).abs() <= 1e-10)
    }

    /// Mutual coherence `mu(D_i)` of the normalised atoms. Exact for stride-1 convolutions
    /// (from the filters' cross-correlations); strided ones use the explicit matrix.
    pub fn coherence(&self) -> Result<f64> {
        match self {
            Layer::Dense(m) => Ok(normalized_coherence(m.as_ref())),
            Layer::Conv(c) if c.stride() == 1 => Ok(c.conv().coherence()),
            Layer::Conv(_) | Layer::Valid(_) => Ok(normalized_coherence(self.to_dense()?.as_ref())),
        }
    }

    /// The rows that atom `j` touches (its non-zero entries), sorted.
    pub fn column_support(&self, j: usize) -> Vec<usize> {
        match self {
            Layer::Dense(m) if j < m.ncols() => {
                (0..m.nrows()).filter(|&i| m[(i, j)] != 0.0).collect()
            }
            Layer::Dense(_) => Vec::new(),
            Layer::Conv(c) => c.column_support(j),
            Layer::Valid(v) => v.column_support(j),
        }
    }

    /// Number of non-zero entries of the (explicit) matrix: the `||D_i||_0` that ML-CSC
    /// dictionary learning penalises.
    pub fn nnz(&self) -> usize {
        match self {
            Layer::Dense(m) => (0..m.ncols())
                .map(|j| m.col(j).iter().filter(|v| **v != 0.0).count())
                .sum(),
            Layer::Conv(c) => (0..c.ncols()).map(|j| c.column_support(j).len()).sum(),
            Layer::Valid(v) => {
                let f = v.filters();
                let nz = (0..f.ncols())
                    .map(|j| f.col(j).iter().filter(|x| **x != 0.0).count())
                    .sum::<usize>();
                nz * v.geometry().positions()
            }
        }
    }

    /// The stripe norm `||Gamma||_{0,inf}` of a code `gamma` of this layer (Papyan, Sulam &
    /// Elad 2017): the largest number of non-zeros (`|g| > tol`) among the atoms that overlap
    /// one filter footprint, over all footprints. For a dense layer every atom overlaps every
    /// other, so it is `||Gamma||_0`. For a convolution with filters `k_r x k_c` and stride `s`
    /// the stripe of code position `p` holds every map's coefficients at the positions within
    /// `ceil(k / s) - 1` of `p` in each direction (circularly for [`Layer::Conv`], clipped at the
    /// borders for [`Layer::Valid`]). `gamma` must have `ncols()` entries.
    pub fn l0_inf(&self, gamma: &[f64], tol: f64) -> Result<usize> {
        if gamma.len() != self.ncols() {
            return Err(crate::error::mismatch(
                "gamma",
                format!("{} entries (the code length)", self.ncols()),
                format!("{}", gamma.len()),
            ));
        }
        Ok(self.stripe_max(&|j| gamma[j].abs() > tol))
    }

    /// `||Gamma||_{0,inf}` of the support `{j : is_nz(j)}` (see [`l0_inf`](Self::l0_inf)).
    pub(crate) fn stripe_max(&self, is_nz: &dyn Fn(usize) -> bool) -> usize {
        let (grid, maps, reach, circular) = match self {
            Layer::Dense(_) => return (0..self.ncols()).filter(|&j| is_nz(j)).count(),
            Layer::Conv(c) => {
                let g = c.code_grid();
                let fg = c.dictionary().filter_grid();
                let s = c.stride();
                let cols_reach = if g.is_1d() {
                    0
                } else {
                    fg.cols.div_ceil(s) - 1
                };
                let g2 = (g.rows, if g.is_1d() { 1 } else { g.cols });
                (g2, c.n_maps(), (fg.rows.div_ceil(s) - 1, cols_reach), true)
            }
            Layer::Valid(v) => {
                let g = v.geometry();
                let s = g.stride;
                (
                    g.out(),
                    g.maps,
                    (g.kernel.0.div_ceil(s) - 1, g.kernel.1.div_ceil(s) - 1),
                    false,
                )
            }
        };
        let np = grid.0 * grid.1;
        let mut counts = vec![0usize; np];
        for q in 0..maps {
            for (p, c) in counts.iter_mut().enumerate() {
                if is_nz(q * np + p) {
                    *c += 1;
                }
            }
        }
        let window = |p: usize, reach: usize, len: usize| -> Vec<usize> {
            if circular {
                let w = (2 * reach + 1).min(len);
                (0..w)
                    .map(|d| (p + len * (reach + 1) - reach + d) % len)
                    .collect()
            } else {
                (p.saturating_sub(reach)..(p + reach + 1).min(len)).collect()
            }
        };
        let mut best = 0;
        for c in 0..grid.1 {
            let cs = window(c, reach.1, grid.1);
            for r in 0..grid.0 {
                let rs = window(r, reach.0, grid.0);
                let total: usize = cs
                    .iter()
                    .map(|&cc| rs.iter().map(|&rr| counts[rr + grid.0 * cc]).sum::<usize>())
                    .sum();
                best = best.max(total);
            }
        }
        best
    }

    /// Checks that a layer below this one (`lower`, applied first) fits: `lower.nrows()` must
    /// be `self.ncols()`.
    pub(crate) fn check_chain(&self, lower: &Layer, index: usize) -> Result<()> {
        if self.ncols() != lower.nrows() {
            return Err(invalid(
                "layers",
                format!("layer {} with {} rows", index + 1, lower.nrows()),
                format!(
                    "{} rows, the columns (code length) of layer {index}",
                    self.ncols()
                ),
            ));
        }
        Ok(())
    }
}

impl LinearOperator for Layer {
    fn nrows(&self) -> usize {
        match self {
            Layer::Dense(m) => m.nrows(),
            Layer::Conv(c) => c.nrows(),
            Layer::Valid(v) => v.nrows(),
        }
    }
    fn ncols(&self) -> usize {
        match self {
            Layer::Dense(m) => m.ncols(),
            Layer::Conv(c) => c.ncols(),
            Layer::Valid(v) => v.ncols(),
        }
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        match self {
            Layer::Dense(m) => matmul(out, Accum::Replace, m.as_ref(), x, 1.0, par),
            Layer::Conv(c) => c.apply_raw(x, out, par),
            Layer::Valid(v) => v.apply_raw(x, out, par),
        }
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        match self {
            Layer::Dense(m) => matmul(out, Accum::Replace, m.transpose(), y, 1.0, par),
            Layer::Conv(c) => c.apply_adjoint_raw(y, out, par),
            Layer::Valid(v) => v.apply_adjoint_raw(y, out, par),
        }
    }
    fn lipschitz(&self) -> f64 {
        match self {
            Layer::Dense(m) => m.lipschitz(),
            Layer::Conv(c) => c.lipschitz(),
            Layer::Valid(v) => v.lipschitz(),
        }
    }
}
