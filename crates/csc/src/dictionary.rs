//! Convolutional dictionaries: `m` filters of `rows x cols` samples (1-D filters are `n x 1`)
//! and `channels` input channels, each filter normalised to unit norm over all its samples and
//! channels (so every atom of the global dictionary has unit norm).

use faer::{Mat, MatRef};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::{check, Dictionary};

use crate::error::{invalid, shape_mismatch, Result};
use crate::operator::ConvOperator;

/// A 2-D grid of `rows x cols` samples stored column-major (sample `(r, c)` at `r + rows * c`).
/// A 1-D signal or filter of length `n` is the grid `n x 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Grid {
    /// Number of rows (the contiguous axis; the length of a 1-D signal).
    pub rows: usize,
    /// Number of columns (1 for 1-D signals).
    pub cols: usize,
}

impl Grid {
    /// The 1-D grid `n x 1`.
    pub fn d1(n: usize) -> Self {
        Self { rows: n, cols: 1 }
    }

    /// The 2-D grid `rows x cols`.
    pub fn d2(rows: usize, cols: usize) -> Self {
        Self { rows, cols }
    }

    /// Number of samples `rows * cols` (saturated at `usize::MAX`; every constructor and
    /// operator of the crate refuses a grid whose size overflows, naming it).
    pub fn len(&self) -> usize {
        self.rows.saturating_mul(self.cols)
    }

    /// Whether the grid has no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether this is a 1-D grid (`cols == 1`).
    pub fn is_1d(&self) -> bool {
        self.cols == 1
    }

    pub(crate) fn check(&self, name: &'static str) -> Result<()> {
        if self.rows == 0 || self.cols == 0 {
            return Err(invalid(
                name,
                format!("{} x {}", self.rows, self.cols),
                "a grid with at least one row and one column",
            ));
        }
        sparse_core::check::size(name, &[self.rows, self.cols])?;
        Ok(())
    }
}

impl std::fmt::Display for Grid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}x{}", self.rows, self.cols)
    }
}

/// A convolutional dictionary: `m` filters `d_i` of shape `filter` (`n_h x n_w`, or `n x 1`)
/// with `channels` channels.
///
/// Filter `i` is one column of length `n_h n_w C` (channel after channel, each channel
/// column-major) normalised to unit l2 norm: it is exactly an atom of the local dictionary
/// `D_L` and, shifted, of the global dictionary `D = [C_1 ... C_m]`. Construction refuses zero
/// and non-finite filters. The signal size is not part of the dictionary: build an operator for
/// one with [`operator`](Self::operator).
///
/// ```
/// use csc::{ConvDictionary, Grid};
/// let mut rng = sparse_core::generate::rng(0);
/// let d = ConvDictionary::random(Grid::d2(8, 8), 1, 32, &mut rng)?;
/// let op = d.operator(Grid::d2(64, 64))?; // D: R^(64*64*32) -> R^(64*64)
/// assert_eq!(op.code_len(), 64 * 64 * 32);
/// # Ok::<(), csc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ConvDictionary {
    filter: Grid,
    channels: usize,
    n_filters: usize,
    /// Filter-major: filter `i` is `data[i * len .. (i + 1) * len]`, `len = n_h n_w C`.
    data: Vec<f64>,
}

impl ConvDictionary {
    /// A dictionary from the columns of `filters` (`n_h n_w C x m`): column `i` holds filter `i`,
    /// channel after channel, each channel a column-major `filter` grid. Each filter is scaled to
    /// unit norm.
    ///
    /// Errors: `InvalidParameter` for an empty grid or zero channels, `ShapeMismatch` when the
    /// rows of `filters` are not `n_h n_w C`, `Empty` for no filters, `NonFinite` for NaN/inf,
    /// `ZeroAtom` for a zero filter.
    pub fn new(filter: Grid, channels: usize, filters: MatRef<'_, f64>) -> Result<Self> {
        filter.check("filter")?;
        sparse_core::check::count("channels", channels, usize::MAX)?;
        let len =
            sparse_core::check::size("filter * channels", &[filter.rows, filter.cols, channels])?;
        if filters.ncols() == 0 {
            return Err(sparse_core::Error::Empty {
                argument: "filters",
                expected: "at least one filter (column)".into(),
            }
            .into());
        }
        check::nrows("filters", filters, len)?;
        check::finite("filters", filters)?;
        let m = filters.ncols();
        let mut data = Vec::with_capacity(len * m);
        for j in 0..m {
            let col: Vec<f64> = filters.col(j).iter().copied().collect();
            let nrm = sparse_core::norms::l2(&col);
            if nrm == 0.0 {
                return Err(sparse_core::Error::ZeroAtom {
                    argument: "filters",
                    index: j,
                }
                .into());
            }
            data.extend(col.iter().map(|v| v / nrm));
        }
        Ok(Self {
            filter,
            channels,
            n_filters: m,
            data,
        })
    }

    /// Single-channel 1-D filters: the columns of `filters` (`n x m`).
    pub fn from_filters_1d(filters: MatRef<'_, f64>) -> Result<Self> {
        Self::new(Grid::d1(filters.nrows()), 1, filters)
    }

    /// Single-channel 2-D filters of `rows x cols`: the columns of `filters`
    /// (`rows * cols x m`, each column-major).
    pub fn from_filters_2d(rows: usize, cols: usize, filters: MatRef<'_, f64>) -> Result<Self> {
        Self::new(Grid::d2(rows, cols), 1, filters)
    }

    /// The convolutional dictionary whose local dictionary `D_L` is `d` (atoms of length
    /// `n_h n_w C`).
    pub fn from_local(filter: Grid, channels: usize, d: &Dictionary) -> Result<Self> {
        Self::new(filter, channels, d.matrix())
    }

    /// `m` random filters with i.i.d. Gaussian samples, normalised (uniform on the sphere).
    pub fn random<R: Rng + ?Sized>(
        filter: Grid,
        channels: usize,
        m: usize,
        rng: &mut R,
    ) -> Result<Self> {
        filter.check("filter")?;
        sparse_core::check::count("channels", channels, usize::MAX)?;
        sparse_core::check::count("m", m, usize::MAX)?;
        sparse_core::check::size(
            "filter * channels * m",
            &[filter.rows, filter.cols, channels, m],
        )?;
        let g = Mat::<f64>::from_fn(filter.len() * channels, m, |_, _| {
            StandardNormal.sample(rng)
        });
        Self::new(filter, channels, g.as_ref())
    }

    /// The spatial shape of a filter.
    pub fn filter_grid(&self) -> Grid {
        self.filter
    }

    /// Number of channels `C` of every filter.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Number of filters `m`.
    pub fn n_filters(&self) -> usize {
        self.n_filters
    }

    /// Length of one filter over all channels, `n_h n_w C` (the rows of `D_L`).
    pub fn filter_len(&self) -> usize {
        self.filter.len() * self.channels
    }

    /// Filter `i` (all channels), or `Err` when `i >= m`.
    pub fn filter(&self, i: usize) -> Result<&[f64]> {
        if i >= self.n_filters {
            return Err(invalid(
                "i",
                i,
                format!("a filter index < {}", self.n_filters),
            ));
        }
        Ok(self.filter_unchecked(i))
    }

    /// Channel `c` of filter `i` (a column-major grid), for valid indices.
    pub(crate) fn filter_channel(&self, i: usize, c: usize) -> &[f64] {
        let n = self.filter.len();
        let len = self.filter_len();
        &self.data[i * len + c * n..i * len + (c + 1) * n]
    }

    pub(crate) fn filter_unchecked(&self, i: usize) -> &[f64] {
        let len = self.filter_len();
        &self.data[i * len..(i + 1) * len]
    }

    /// The filters as the columns of an `n_h n_w C x m` matrix (the local dictionary `D_L`).
    pub fn local_matrix(&self) -> Mat<f64> {
        let len = self.filter_len();
        Mat::from_fn(len, self.n_filters, |r, i| self.data[i * len + r])
    }

    /// The local dictionary `D_L` (`n_h n_w C x m`, unit-norm atoms).
    pub fn local_dictionary(&self) -> Result<Dictionary> {
        Ok(Dictionary::from_matrix(self.local_matrix().as_ref())?)
    }

    /// The operator `D` of this dictionary on signals of `signal` samples per channel with
    /// as many channels as the filters (codes: one `signal`-sized feature map per filter).
    /// Errors when the filter does not fit in the signal.
    pub fn operator(&self, signal: Grid) -> Result<ConvOperator> {
        ConvOperator::new(self.clone(), signal, self.channels)
    }

    /// The operator on signals with `channels` channels. A multi-channel dictionary needs
    /// `channels == self.channels()`; a single-channel dictionary accepts any number of signal
    /// channels and then codes each channel with its own feature maps (codes of length
    /// `N m channels`, channel after channel).
    pub fn operator_with_channels(&self, signal: Grid, channels: usize) -> Result<ConvOperator> {
        if self.channels > 1 && channels != self.channels {
            return Err(shape_mismatch(
                "channels",
                format!("{} channels (those of the dictionary)", self.channels),
                format!("{channels}"),
            ));
        }
        ConvOperator::new(self.clone(), signal, channels)
    }
}
