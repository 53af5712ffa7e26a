//! A convolutional layer with a stride: `D = C U`, where `C` is the (circular, multi-channel)
//! convolution of `csc` and `U` upsamples the feature maps by zero insertion; the adjoint is
//! `D^T = S C^T`, correlation followed by subsampling.

use faer::{Mat, MatMut, MatRef, Par};
use sparse_core::{power_iteration, LinearOperator};

use csc::{ConvDictionary, ConvOperator, Grid};

use crate::error::{invalid, Result};

/// One convolutional layer of an ML-CSC model: `m` filters spanning all `C` channels of the
/// layer's input (the `C` feature maps of the previous layer, or the channels of the signal),
/// with stride `s`.
///
/// * Input (rows): `C` channels on the grid `signal` (`rows x cols`, column-major), channel
///   after channel — exactly the code layout of the previous convolutional layer.
/// * Code (columns): `m` feature maps on the subsampled grid `signal / s` (`rows / s x cols / s`,
///   or `rows / s x 1` for 1-D signals), map after map.
/// * `D x = C (U x)`: feature map sample `p` sits at position `s p` of the full grid, where the
///   filter is placed (covering `s p, ..., s p + n - 1`, circularly). `D^T y = S (C^T y)` keeps
///   the correlations at the positions `s p`. With `s = 1` this is the [`ConvOperator`] itself.
///
/// ```
/// use csc::{ConvDictionary, Grid};
/// use mlcsc::StridedConv;
/// use sparse_core::LinearOperator;
/// let mut rng = sparse_core::generate::rng(0);
/// let d = ConvDictionary::random(Grid::d2(3, 3), 1, 4, &mut rng)?;
/// let layer = StridedConv::new(d, Grid::d2(8, 8), 2)?;
/// assert_eq!((layer.nrows(), layer.ncols()), (64, 4 * 4 * 4));
/// # Ok::<(), mlcsc::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct StridedConv {
    op: ConvOperator,
    stride: usize,
    code: Grid,
}

impl StridedConv {
    /// The layer of the filters `dict` on inputs of `dict.channels()` channels on the grid
    /// `signal`, with stride `stride >= 1`. The stride must divide the grid (its rows, and its
    /// columns for a 2-D grid) and the filters must fit in it.
    pub fn new(dict: ConvDictionary, signal: Grid, stride: usize) -> Result<Self> {
        sparse_core::check::count("stride", stride, usize::MAX)?;
        if signal.rows == 0 || signal.cols == 0 {
            return Err(invalid(
                "signal",
                signal,
                "a grid with at least one row and one column",
            ));
        }
        let divides = signal.rows.is_multiple_of(stride)
            && (signal.is_1d() || signal.cols.is_multiple_of(stride));
        if !divides {
            return Err(invalid(
                "stride",
                stride,
                format!("a divisor of the signal grid {signal}"),
            ));
        }
        let op = dict.operator(signal)?;
        let code = if signal.is_1d() {
            Grid::d1(signal.rows / stride)
        } else {
            Grid::d2(signal.rows / stride, signal.cols / stride)
        };
        Ok(Self { op, stride, code })
    }

    /// The filters.
    pub fn dictionary(&self) -> &ConvDictionary {
        self.op.dictionary()
    }

    /// The stride-1 convolution `C` on the full grid.
    pub fn conv(&self) -> &ConvOperator {
        &self.op
    }

    /// The grid of the input (samples per channel).
    pub fn signal_grid(&self) -> Grid {
        self.op.signal_grid()
    }

    /// The grid of every feature map of the code (`signal / stride`).
    pub fn code_grid(&self) -> Grid {
        self.code
    }

    /// The stride `s`.
    pub fn stride(&self) -> usize {
        self.stride
    }

    /// Number of input channels `C`.
    pub fn in_channels(&self) -> usize {
        self.op.channels()
    }

    /// Number of feature maps of the code (the filters `m`).
    pub fn n_maps(&self) -> usize {
        self.op.n_maps()
    }

    /// Full-grid index of code sample `p` (within one map).
    #[inline]
    fn full_index(&self, p: usize) -> usize {
        let g = self.op.signal_grid();
        let (r, c) = (p % self.code.rows, p / self.code.rows);
        r * self.stride + g.rows * (c * self.stride_cols())
    }

    fn stride_cols(&self) -> usize {
        if self.op.signal_grid().is_1d() {
            1
        } else {
            self.stride
        }
    }

    /// The signal samples (rows) that atom `j` (a column) touches: filter `j / (code size)`
    /// placed at the full-grid position of code sample `j mod (code size)`, all channels, only
    /// where the filter is non-zero. Sorted; empty for `j >= ncols`.
    pub fn column_support(&self, j: usize) -> Vec<usize> {
        let g = self.op.signal_grid();
        let n = g.len();
        let nc = self.code.len();
        let (map, p) = (j / nc, j % nc);
        let d = self.op.dictionary();
        let fg = d.filter_grid();
        let f = match d.filter(map % d.n_filters()) {
            Ok(f) if j < self.ncols() => f,
            _ => return Vec::new(),
        };
        let q = self.full_index(p);
        let (qr, qc) = (q % g.rows, q / g.rows);
        let mut out = Vec::new();
        for c in 0..d.channels() {
            let ch = &f[c * fg.len()..(c + 1) * fg.len()];
            for b in 0..fg.cols {
                for a in 0..fg.rows {
                    if ch[a + fg.rows * b] != 0.0 {
                        let r = (qr + a) % g.rows + g.rows * ((qc + b) % g.cols);
                        out.push(c * n + r);
                    }
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    fn upsample(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        let (nc, n) = (self.code.len(), self.op.n());
        let maps = self.n_maps();
        let mut full = Mat::<f64>::zeros(n * maps, x.ncols());
        for j in 0..x.ncols() {
            for m in 0..maps {
                for p in 0..nc {
                    full[(m * n + self.full_index(p), j)] = x[(m * nc + p, j)];
                }
            }
        }
        full
    }
}

impl LinearOperator for StridedConv {
    fn nrows(&self) -> usize {
        self.op.signal_len()
    }
    fn ncols(&self) -> usize {
        self.code.len() * self.n_maps()
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        if self.stride == 1 {
            self.op.apply_raw(x, out, par);
        } else {
            let full = self.upsample(x);
            self.op.apply_raw(full.as_ref(), out, par);
        }
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, mut out: MatMut<'_, f64>, par: Par) {
        if self.stride == 1 {
            self.op.apply_adjoint_raw(y, out, par);
            return;
        }
        let (nc, n) = (self.code.len(), self.op.n());
        let maps = self.n_maps();
        let mut full = Mat::<f64>::zeros(n * maps, y.ncols());
        self.op.apply_adjoint_raw(y, full.as_mut(), par);
        for j in 0..y.ncols() {
            for m in 0..maps {
                for p in 0..nc {
                    out[(m * nc + p, j)] = full[(m * n + self.full_index(p), j)];
                }
            }
        }
    }
    /// Exact for stride 1 (the Fourier symbol); by power iteration otherwise.
    fn lipschitz(&self) -> f64 {
        if self.stride == 1 {
            self.op.lipschitz()
        } else {
            power_iteration(self, Default::default())
        }
    }
}
