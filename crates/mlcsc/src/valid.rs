//! A convolutional layer without wrap-around ("valid" boundaries), the layer of a CNN: the
//! adjoint `D^T x` is the strided correlation of `x` with the filters at the positions where
//! they fit entirely; the synthesis `D g` is the transposed ("full") convolution. Computed as
//! GEMMs on patch matrices (im2col / col2im), so a batch is one matrix product.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use serde::{Deserialize, Serialize};
use sparse_core::batch::for_each_block;
use sparse_core::{check, LinearOperator};

use crate::error::{invalid, mismatch, Result};

/// Images processed per patch matrix (bounds the im2col buffer).
const CHUNK: usize = 64;

/// The shape of a valid strided convolution: `maps` filters of `channels x kernel.0 x kernel.1`
/// slide with stride `stride` over `channels x input.0 x input.1` inputs.
///
/// * Input (rows of `D`): `channels` channels of `input.0 x input.1` samples, column-major,
///   channel after channel (the code layout of a previous convolutional layer).
/// * Code (columns of `D`): `maps` feature maps of `out.0 x out.1` samples, column-major, map
///   after map, with `out = (input - kernel) / stride + 1` (rounded down: trailing rows or
///   columns no filter position reaches are zero rows of `D`).
/// * Filters: a `channels kernel.0 kernel.1 x maps` matrix, one filter per column, channel after
///   channel, each kernel column-major (the layout of [`csc::ConvDictionary`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidGeometry {
    /// Input channels `C`.
    pub channels: usize,
    /// Input grid `(rows, cols)`.
    pub input: (usize, usize),
    /// Filter support `(rows, cols)`.
    pub kernel: (usize, usize),
    /// Stride (both directions).
    pub stride: usize,
    /// Number of filters (feature maps of the code).
    pub maps: usize,
}

impl ValidGeometry {
    /// Validates a geometry: every size positive, the kernel inside the input, and the input,
    /// code and filter lengths within [`sparse_core::error::MAX_ENTRIES`] (named in the error).
    pub fn new(
        channels: usize,
        input: (usize, usize),
        kernel: (usize, usize),
        stride: usize,
        maps: usize,
    ) -> Result<Self> {
        check::count("channels", channels, usize::MAX)?;
        check::count("input", input.0.min(input.1), usize::MAX)?;
        check::count("kernel", kernel.0.min(kernel.1), usize::MAX)?;
        check::count("stride", stride, usize::MAX)?;
        check::count("maps", maps, usize::MAX)?;
        if kernel.0 > input.0 || kernel.1 > input.1 {
            return Err(invalid(
                "kernel",
                format!("{}x{}", kernel.0, kernel.1),
                format!("at most the input grid {}x{}", input.0, input.1),
            ));
        }
        // The lengths of inputs, codes and filters must fit in memory (no size overflows).
        check::size("channels * input", &[channels, input.0, input.1])?;
        check::size("maps * kernel", &[maps, channels, kernel.0, kernel.1])?;
        let g = Self {
            channels,
            input,
            kernel,
            stride,
            maps,
        };
        let (oh, ow) = g.out();
        check::size("maps * output grid", &[maps, oh, ow])?;
        Ok(g)
    }

    /// The code grid `(input - kernel) / stride + 1`.
    /// (Never panics: a hand-built geometry whose kernel exceeds its input, or with stride 0,
    /// gets a nonsensical but finite answer; [`new`](Self::new) and [`ValidConv::new`] refuse
    /// such geometries.)
    pub fn out(&self) -> (usize, usize) {
        let s = self.stride.max(1);
        (
            self.input.0.saturating_sub(self.kernel.0) / s + 1,
            self.input.1.saturating_sub(self.kernel.1) / s + 1,
        )
    }

    /// Filter positions per map (`out.0 out.1`).
    pub fn positions(&self) -> usize {
        let o = self.out();
        o.0 * o.1
    }

    /// Input length `C input.0 input.1` (rows of `D`).
    pub fn input_len(&self) -> usize {
        self.channels * self.input.0 * self.input.1
    }

    /// Code length `maps out.0 out.1` (columns of `D`).
    pub fn code_len(&self) -> usize {
        self.maps * self.positions()
    }

    /// Filter length `C kernel.0 kernel.1`.
    pub fn patch_len(&self) -> usize {
        self.channels * self.kernel.0 * self.kernel.1
    }

    /// Input index of patch entry `e` for the filter position `p`.
    #[inline]
    fn input_index(&self, p: usize, e: usize) -> usize {
        let (oh, _) = self.out();
        let (kh, kw) = self.kernel;
        let (r, c) = (p % oh, p / oh);
        let ch = e / (kh * kw);
        let k = e % (kh * kw);
        let (a, b) = (k % kh, k / kh);
        let _ = kw;
        ch * self.input.0 * self.input.1
            + (r * self.stride + a)
            + self.input.0 * (c * self.stride + b)
    }

    /// The patch matrix of images `x` (`input_len x b`): column `j P + p` holds the input under
    /// filter position `p` of image `j`. Each kernel column is a contiguous run of the
    /// (column-major) input, copied as a slice.
    fn im2col(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        let (pl, np) = (self.patch_len(), self.positions());
        let (oh, ow) = self.out();
        let (kh, kw) = self.kernel;
        let (h, w) = self.input;
        let mut out = Mat::<f64>::zeros(pl, np * x.ncols());
        let mut buf = vec![0.0; h * w * self.channels];
        for j in 0..x.ncols() {
            let xj: &[f64] = match x.col(j).try_as_col_major() {
                Some(c) => c.as_slice(),
                None => {
                    buf.iter_mut()
                        .zip(x.col(j).iter())
                        .for_each(|(b, v)| *b = *v);
                    &buf
                }
            };
            for c in 0..ow {
                for r in 0..oh {
                    let col = out.col_mut(j * np + r + oh * c);
                    let dst = col
                        .try_as_col_major_mut()
                        .expect("contiguous")
                        .as_slice_mut();
                    let mut e = 0;
                    for ch in 0..self.channels {
                        let base = ch * h * w + r * self.stride;
                        for b in 0..kw {
                            let start = base + h * (c * self.stride + b);
                            dst[e..e + kh].copy_from_slice(&xj[start..start + kh]);
                            e += kh;
                        }
                    }
                }
            }
        }
        out
    }

    /// Adds the patches `cols` (`patch_len x P b`) back into the images `out`.
    fn col2im_add(&self, cols: MatRef<'_, f64>, mut out: MatMut<'_, f64>) {
        let np = self.positions();
        let (oh, ow) = self.out();
        let (kh, kw) = self.kernel;
        let (h, w) = self.input;
        let mut oj = vec![0.0; self.input_len()];
        for j in 0..out.ncols() {
            oj.iter_mut().for_each(|v| *v = 0.0);
            for c in 0..ow {
                for r in 0..oh {
                    let src = cols.col(j * np + r + oh * c);
                    let src = src.try_as_col_major().expect("contiguous").as_slice();
                    let mut e = 0;
                    for ch in 0..self.channels {
                        let base = ch * h * w + r * self.stride;
                        for b in 0..kw {
                            let start = base + h * (c * self.stride + b);
                            for (o, v) in oj[start..start + kh].iter_mut().zip(&src[e..e + kh]) {
                                *o += v;
                            }
                            e += kh;
                        }
                    }
                }
            }
            for (o, a) in out.as_mut().col_mut(j).iter_mut().zip(&oj) {
                *o += a;
            }
        }
    }

    /// Codes (`code_len x b`) as rows: `(P b) x maps`, row `j P + p`, column `q`.
    fn code_rows(&self, g: MatRef<'_, f64>) -> Mat<f64> {
        let np = self.positions();
        Mat::from_fn(np * g.ncols(), self.maps, |r, q| {
            g[(q * np + r % np, r / np)]
        })
    }

    /// `D g` for filters `f` (`patch_len x maps`), written into `out` (`input_len x b`).
    /// Chunks of up to 64 signals run in parallel with sequential products when there are
    /// several ([`for_each_block`]); a lone chunk uses a parallel product.
    pub(crate) fn synthesize(
        &self,
        f: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        out: MatMut<'_, f64>,
        par: Par,
    ) {
        let _: Vec<()> = for_each_block(
            out,
            CHUNK,
            par,
            || (),
            |_, first, o, _, inner| {
                let w = o.ncols();
                self.synthesize_chunk(f, g.subcols(first, w), o, inner)
            },
        );
    }

    fn synthesize_chunk(
        &self,
        f: MatRef<'_, f64>,
        g: MatRef<'_, f64>,
        mut out: MatMut<'_, f64>,
        par: Par,
    ) {
        out.fill(0.0);
        let rows = self.code_rows(g);
        let mut cols = Mat::<f64>::zeros(self.patch_len(), rows.nrows());
        matmul(cols.as_mut(), Accum::Replace, f, rows.transpose(), 1.0, par);
        self.col2im_add(cols.as_ref(), out);
    }

    /// `D^T x` for filters `f`, written into `out` (`code_len x b`); chunked and parallel as
    /// [`synthesize`](Self::synthesize).
    pub(crate) fn analyze(
        &self,
        f: MatRef<'_, f64>,
        x: MatRef<'_, f64>,
        out: MatMut<'_, f64>,
        par: Par,
    ) {
        let _: Vec<()> = for_each_block(
            out,
            CHUNK,
            par,
            || (),
            |_, first, o, _, inner| {
                let w = o.ncols();
                self.analyze_chunk(f, x.subcols(first, w), o, inner)
            },
        );
    }

    fn analyze_chunk(
        &self,
        f: MatRef<'_, f64>,
        x: MatRef<'_, f64>,
        mut out: MatMut<'_, f64>,
        par: Par,
    ) {
        let np = self.positions();
        let cols = self.im2col(x);
        let mut rows = Mat::<f64>::zeros(cols.ncols(), self.maps);
        matmul(rows.as_mut(), Accum::Replace, cols.transpose(), f, 1.0, par);
        for j in 0..x.ncols() {
            for q in 0..self.maps {
                let src = rows.col(q);
                let mut dst = out.as_mut().col_mut(j);
                for p in 0..np {
                    dst[q * np + p] = src[j * np + p];
                }
            }
        }
    }

    /// The gradient of `sum_j <a_j, D b_j>` with respect to the filters, times `alpha`, added
    /// to `grad` (`patch_len x maps`): `alpha im2col(a) rows(b)`. With `a` the adjoint of a
    /// synthesis output `D b`, or `b` the adjoint of an analysis output `D^T a`, this is the
    /// filter gradient of either operation.
    pub(crate) fn filter_grad(
        &self,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        alpha: f64,
        mut grad: MatMut<'_, f64>,
        par: Par,
    ) {
        let mut at = 0;
        while at < a.ncols() {
            let w = CHUNK.min(a.ncols() - at);
            let cols = self.im2col(a.subcols(at, w));
            let rows = self.code_rows(b.subcols(at, w));
            matmul(
                grad.as_mut(),
                Accum::Add,
                cols.as_ref(),
                rows.as_ref(),
                alpha,
                par,
            );
            at += w;
        }
    }
}

/// A valid (non-circular) strided convolutional layer: the layer of the convolutional ML-CSC
/// experiments of Sulam, Papyan, Romano & Elad (IEEE TSP 2018) and of CNNs, `D^T x` being the
/// CNN's strided correlation. On 28 x 28 MNIST images, 32 filters 7 x 7 with stride 2 give
/// 11 x 11 x 32 codes, 128 filters 5 x 5 x 32 then 7 x 7 x 128, and 1024 filters 7 x 7 x 128 a
/// single 1024-long code per image. Filters may have any norm (learned layers).
///
/// ```
/// use mlcsc::{ValidConv, ValidGeometry};
/// use sparse_core::LinearOperator;
/// let geom = ValidGeometry::new(1, (28, 28), (7, 7), 2, 32)?;
/// let layer = ValidConv::random(geom, &mut sparse_core::generate::rng(0))?;
/// assert_eq!((layer.nrows(), layer.ncols()), (784, 11 * 11 * 32));
/// # Ok::<(), mlcsc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ValidConv {
    geom: ValidGeometry,
    filters: Mat<f64>,
}

impl ValidConv {
    /// The layer of `filters` (`patch_len x maps`, finite, non-empty) with shape `geom`.
    pub fn new(geom: ValidGeometry, filters: MatRef<'_, f64>) -> Result<Self> {
        // The fields are public: validate a geometry built by hand.
        let geom = ValidGeometry::new(
            geom.channels,
            geom.input,
            geom.kernel,
            geom.stride,
            geom.maps,
        )?;
        if filters.nrows() != geom.patch_len() || filters.ncols() != geom.maps {
            return Err(mismatch(
                "filters",
                format!("{} x {} (patch length x maps)", geom.patch_len(), geom.maps),
                format!("{} x {}", filters.nrows(), filters.ncols()),
            ));
        }
        check::finite("filters", filters)?;
        Ok(Self {
            geom,
            filters: filters.to_owned(),
        })
    }

    /// Gaussian filters of unit norm, seeded by `rng`.
    pub fn random<R: rand::Rng + ?Sized>(geom: ValidGeometry, rng: &mut R) -> Result<Self> {
        use rand_distr::{Distribution, StandardNormal};
        // The fields are public: validate a geometry built by hand before sizing the filters.
        let geom = ValidGeometry::new(
            geom.channels,
            geom.input,
            geom.kernel,
            geom.stride,
            geom.maps,
        )?;
        let mut f = Mat::<f64>::from_fn(geom.patch_len(), geom.maps, |_, _| {
            StandardNormal.sample(rng)
        });
        for j in 0..f.ncols() {
            let n = f.col(j).norm_l2().max(f64::MIN_POSITIVE);
            f.col_mut(j).iter_mut().for_each(|v| *v /= n);
        }
        Self::new(geom, f.as_ref())
    }

    /// The shape.
    pub fn geometry(&self) -> ValidGeometry {
        self.geom
    }

    /// The filters (`patch_len x maps`).
    pub fn filters(&self) -> MatRef<'_, f64> {
        self.filters.as_ref()
    }

    /// The filters, mutably (learning).
    pub(crate) fn filters_mut(&mut self) -> MatMut<'_, f64> {
        self.filters.as_mut()
    }

    /// The rows that code entry `j` (filter `j / P` at position `j mod P`) touches where the
    /// filter is non-zero, sorted; empty for `j >= ncols`.
    pub fn column_support(&self, j: usize) -> Vec<usize> {
        if j >= self.ncols() {
            return Vec::new();
        }
        let np = self.geom.positions();
        let (q, p) = (j / np, j % np);
        let mut out: Vec<usize> = (0..self.geom.patch_len())
            .filter(|&e| self.filters[(e, q)] != 0.0)
            .map(|e| self.geom.input_index(p, e))
            .collect();
        out.sort_unstable();
        out
    }
}

impl LinearOperator for ValidConv {
    fn nrows(&self) -> usize {
        self.geom.input_len()
    }
    fn ncols(&self) -> usize {
        self.geom.code_len()
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        self.geom.synthesize(self.filters.as_ref(), x, out, par);
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        self.geom.analyze(self.filters.as_ref(), y, out, par);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The explicit matrix entry by entry from the definition (a brute-force truth).
    fn brute(geom: &ValidGeometry, f: MatRef<'_, f64>) -> Mat<f64> {
        let (oh, ow) = geom.out();
        let (h, w) = geom.input;
        let (kh, kw) = geom.kernel;
        let mut d = Mat::<f64>::zeros(geom.input_len(), geom.code_len());
        for q in 0..geom.maps {
            for c in 0..ow {
                for r in 0..oh {
                    let col = q * oh * ow + r + oh * c;
                    for ch in 0..geom.channels {
                        for b in 0..kw {
                            for a in 0..kh {
                                let row =
                                    ch * h * w + (r * geom.stride + a) + h * (c * geom.stride + b);
                                d[(row, col)] += f[(ch * kh * kw + a + kh * b, q)];
                            }
                        }
                    }
                }
            }
        }
        d
    }

    #[test]
    fn matches_the_definition_and_its_adjoint() {
        let mut rng = sparse_core::generate::rng(3);
        for (c, input, k, s, m) in [
            (1, (9, 8), (3, 2), 2, 3),
            (2, (7, 7), (3, 3), 1, 2),
            (3, (5, 6), (5, 6), 3, 4),
        ] {
            let geom = ValidGeometry::new(c, input, k, s, m).unwrap();
            let layer = ValidConv::random(geom, &mut rng).unwrap();
            let truth = brute(&geom, layer.filters());
            let eye = Mat::<f64>::identity(geom.code_len(), geom.code_len());
            let d = layer.apply(eye.as_ref()).unwrap();
            assert!((&d - &truth).norm_max() < 1e-14);
            let eye = Mat::<f64>::identity(geom.input_len(), geom.input_len());
            let dt = layer.apply_adjoint(eye.as_ref()).unwrap();
            assert!((&dt - truth.transpose()).norm_max() < 1e-14);
            // Filter gradient of <a, D b> by finite differences (it is linear: exact).
            let a = Mat::<f64>::from_fn(geom.input_len(), 70, |i, j| {
                ((i * 7 + j * 3) % 11) as f64 - 5.0
            });
            let b = Mat::<f64>::from_fn(geom.code_len(), 70, |i, j| ((i * 5 + j) % 7) as f64 - 3.0);
            let mut grad = Mat::<f64>::zeros(geom.patch_len(), m);
            geom.filter_grad(a.as_ref(), b.as_ref(), 1.0, grad.as_mut(), Par::Seq);
            for q in 0..m {
                for e in 0..geom.patch_len() {
                    let mut unit = Mat::<f64>::zeros(geom.patch_len(), m);
                    unit[(e, q)] = 1.0;
                    let du = brute(&geom, unit.as_ref());
                    let mut want = 0.0;
                    for j in 0..70 {
                        let db = &du * b.col(j);
                        want += a.col(j).transpose() * &db;
                    }
                    assert!((grad[(e, q)] - want).abs() < 1e-9 * want.abs().max(1.0));
                }
            }
        }
    }

    #[test]
    fn chunked_parallel_batches_equal_the_sequential_ones() {
        let geom = ValidGeometry::new(2, (9, 8), (3, 3), 2, 5).unwrap();
        let layer = ValidConv::random(geom, &mut sparse_core::generate::rng(4)).unwrap();
        let truth = brute(&geom, layer.filters());
        // 200 signals: four chunks, the last one partial.
        let g = Mat::<f64>::from_fn(geom.code_len(), 200, |i, j| {
            ((i * 13 + j * 7) % 17) as f64 - 8.0
        });
        let x = Mat::<f64>::from_fn(geom.input_len(), 200, |i, j| {
            ((i * 5 + j * 11) % 19) as f64 - 9.0
        });
        for par in [Par::Seq, Par::rayon(2)] {
            let mut y = Mat::<f64>::zeros(geom.input_len(), 200);
            layer.apply_raw(g.as_ref(), y.as_mut(), par);
            assert!((&y - &truth * &g).norm_max() < 1e-10);
            let mut z = Mat::<f64>::zeros(geom.code_len(), 200);
            layer.apply_adjoint_raw(x.as_ref(), z.as_mut(), par);
            assert!((&z - truth.transpose() * &x).norm_max() < 1e-10);
        }
    }

    #[test]
    fn bad_shapes_are_refused() {
        assert!(ValidGeometry::new(1, (4, 4), (5, 3), 1, 2).is_err());
        assert!(ValidGeometry::new(1, (4, 4), (3, 3), 0, 2).is_err());
        let geom = ValidGeometry::new(1, (4, 4), (3, 3), 1, 2).unwrap();
        assert!(ValidConv::new(geom, Mat::<f64>::zeros(9, 3).as_ref()).is_err());
        let by_hand = ValidGeometry {
            kernel: (5, 5),
            ..geom
        };
        assert!(ValidConv::new(by_hand, Mat::<f64>::zeros(25, 2).as_ref()).is_err());
        let mut f = Mat::<f64>::zeros(9, 2);
        f[(0, 0)] = f64::NAN;
        assert!(ValidConv::new(geom, f.as_ref()).is_err());
    }
}
