//! Python bindings of the sparseland crates (the `sparseland._core` extension module).
//!
//! The Rust core stays free of Python: this crate only converts NumPy arrays to the crates'
//! types, calls the workspace's one solving protocol ([`sparse_core::Solve`]) with the GIL
//! released, and turns every `Err` into a Python `ValueError` with the same message. The
//! scikit-learn estimators (`sparseland.SparseCoder`, `sparseland.DictionaryLearning`) and the
//! SPORCO-style `sparseland.cbpdn.ConvBPDN` (over [`conv::conv_bpdn`]) are the small
//! pure-Python layer in `python/sparseland/`.
//!
//! Layout without copies: a C-ordered NumPy array `X` of shape `(n_samples, n_features)` (the
//! scikit-learn convention) *is*, in memory, the column-major `n_features x n_samples` matrix of
//! signals the crates take, so it is viewed, not copied (any other strides are viewed through
//! faer's strided views as well). The codes are written straight into a C-ordered
//! `(n_samples, n_components)` array, scikit-learn's `transform` output.

use faer::{Mat, MatRef, Par};
use numpy::{PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

use pursuit::dictlearn::{InitDict, Ksvd, LearnedDictionary, Mod, OnlineDictLearning};
use pursuit::lasso::{CoordinateDescent, Fista, Lars};
use pursuit::{admm::BasisPursuit, BatchOmp, Omp, Solve, Stop, Thresholding};
use sparse_core::{Dictionary, Shrinkage};

mod calculators;
mod conv;
mod learned;
mod multilayer;
mod online;

/// A Rust error as a Python `ValueError` with the same message.
pub(crate) fn value_error(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

/// The transposed `cols x rows` matrix of a `(rows, cols)` array: a view without copying when
/// the array is aligned with strides that are whole elements (every array NumPy allocates;
/// so a C-ordered `(n_samples, n_features)` array is viewed as the column-major
/// `n_features x n_samples` matrix), else an owned copy (odd views, e.g. of a byte buffer).
pub(crate) enum Signals<'a> {
    View(MatRef<'a, f64>),
    Owned(Mat<f64>),
}

impl Signals<'_> {
    pub(crate) fn as_ref(&self) -> MatRef<'_, f64> {
        match self {
            Signals::View(v) => *v,
            Signals::Owned(m) => m.as_ref(),
        }
    }
}

pub(crate) fn transposed<'a>(a: &'a PyReadonlyArray2<'_, f64>) -> Signals<'a> {
    let shape = a.shape();
    let strides = a.strides();
    let item = std::mem::size_of::<f64>() as isize;
    let aligned = (a.data() as usize).is_multiple_of(std::mem::align_of::<f64>());
    if aligned && strides.iter().all(|s| s % item == 0) {
        let (rs, cs) = (strides[0] / item, strides[1] / item);
        // SAFETY: pointer, shape and element strides describe a live, aligned, borrowed
        // (read-only) NumPy array of f64 that outlives the view.
        Signals::View(unsafe { MatRef::from_raw_parts(a.data(), shape[1], shape[0], cs, rs) })
    } else {
        // Unaligned memory or strides that are not whole elements: read every entry with an
        // unaligned load at its byte offset.
        let base = a.data() as *const u8;
        Signals::Owned(Mat::from_fn(shape[1], shape[0], |i, j| {
            let off = j as isize * strides[0] + i as isize * strides[1];
            // SAFETY: `(j, i)` is inside the array's shape, so the byte offset addresses one
            // of its f64 entries; `read_unaligned` makes no alignment assumption.
            unsafe { std::ptr::read_unaligned(base.offset(off) as *const f64) }
        }))
    }
}

/// The entries of a read-only array of any dimension as an owned (aligned) ndarray, each read
/// at its byte offset without assuming alignment: arrays that Dask or pickle deserialise can sit
/// at unaligned addresses, which NumPy allows and a Rust view must not.
pub(crate) fn owned_dyn(
    a: &numpy::PyReadonlyArrayDyn<'_, f64>,
) -> PyResult<numpy::ndarray::ArrayD<f64>> {
    let shape = a.shape().to_vec();
    let strides = a.strides().to_vec();
    let base = a.data() as *const u8;
    let total: usize = shape.iter().product();
    let mut out = Vec::with_capacity(total);
    let mut idx = vec![0usize; shape.len()];
    for _ in 0..total {
        let off: isize = idx
            .iter()
            .zip(&strides)
            .map(|(&i, &s)| i as isize * s)
            .sum();
        // SAFETY: `idx` is inside the array's shape, so the byte offset addresses one of its
        // f64 entries; `read_unaligned` makes no alignment assumption.
        out.push(unsafe { std::ptr::read_unaligned(base.offset(off) as *const f64) });
        for ax in (0..shape.len()).rev() {
            idx[ax] += 1;
            if idx[ax] < shape[ax] {
                break;
            }
            idx[ax] = 0;
        }
    }
    numpy::ndarray::ArrayD::from_shape_vec(numpy::ndarray::IxDyn(&shape), out).map_err(value_error)
}

/// The entries of a read-only 1-D array, read without assuming alignment (see [`owned_dyn`]).
pub(crate) fn vec1<T: numpy::Element + Copy>(a: &PyReadonlyArray1<'_, T>) -> Vec<T> {
    let (n, stride) = (a.shape()[0], a.strides()[0]);
    let base = a.data() as *const u8;
    (0..n)
        // SAFETY: `i < n`, so the byte offset addresses one of the array's entries.
        .map(|i| unsafe { std::ptr::read_unaligned(base.offset(i as isize * stride) as *const T) })
        .collect()
}

/// The parallelism of `n_threads` (`0`: all of rayon's threads, `1`: sequential).
pub(crate) fn parallelism(n_threads: usize) -> Par {
    if n_threads == 1 {
        Par::Seq
    } else {
        Par::rayon(n_threads)
    }
}

/// The codes `n_components x n_samples` (column-major) written into a new C-ordered
/// `(n_samples, n_components)` NumPy array, entry `i` of every code divided by `scale[i]` when
/// given (in the same pass as the copy).
pub(crate) fn codes_to_numpy<'py>(
    py: Python<'py>,
    codes: &Mat<f64>,
    scale: Option<&[f64]>,
) -> Bound<'py, PyArray2<f64>> {
    let (m, b) = (codes.nrows(), codes.ncols());
    // SAFETY: every entry of the new array is written below before it is handed to Python.
    let out = unsafe { PyArray2::<f64>::new(py, [b, m], false) };
    {
        // SAFETY: `out` was just created, is C-contiguous and not shared yet.
        let dst = unsafe { out.as_slice_mut() }.expect("a new array is contiguous");
        for j in 0..b {
            let (o, c) = (&mut dst[j * m..(j + 1) * m], codes.col_as_slice(j));
            match scale {
                Some(s) => o
                    .iter_mut()
                    .zip(c)
                    .zip(s)
                    .for_each(|((o, c), s)| *o = c / s),
                None => o.copy_from_slice(c),
            }
        }
    }
    out
}

/// The parameters of one coding call, as passed from Python.
struct Coding {
    algorithm: String,
    n_nonzero_coefs: Option<usize>,
    alpha: f64,
    tol: Option<f64>,
    max_iter: usize,
    positive: bool,
    par: Par,
}

impl Coding {
    /// Codes the columns of `y` over `d` with one penalty `alpha`.
    fn run(&self, d: &Dictionary, y: MatRef<'_, f64>, alpha: f64) -> Result<Mat<f64>, String> {
        let n = d.signal_len();
        let stop = || -> Result<Stop, String> {
            Ok(match (self.n_nonzero_coefs, self.tol) {
                (_, Some(tol)) => Stop::Residual(tol.max(0.0).sqrt()),
                (Some(k), None) => Stop::Sparsity(k),
                (None, None) => Stop::Sparsity((n / 10).clamp(1, d.n_atoms())),
            })
        };
        let e = |e: pursuit::Error| e.to_string();
        let sol = match self.algorithm.as_str() {
            "omp" => Omp::new(stop()?).par(self.par).solve(d, y).map_err(e)?,
            "batch_omp" => BatchOmp::new(stop()?)
                .par(self.par)
                .solve(d, y)
                .map_err(e)?,
            "ormp" => BatchOmp::new(stop()?)
                .selection(pursuit::greedy::Selection::Ormp)
                .par(self.par)
                .solve(d, y)
                .map_err(e)?,
            "lasso_lars" => Lars::new(alpha)
                .nonneg(self.positive)
                .max_iter(self.max_iter.max(1))
                .par(self.par)
                .solve(d, y)
                .map_err(e)?,
            "lasso_cd" => CoordinateDescent::new(alpha)
                .nonneg(self.positive)
                .max_iter(self.max_iter.max(1))
                .par(self.par)
                .solve(d, y)
                .map_err(e)?,
            "fista" => Fista::new(alpha)
                .nonneg(self.positive)
                .max_iter(self.max_iter.max(1))
                .par(self.par)
                .solve(d, y)
                .map_err(e)?,
            "threshold" => {
                let s = if self.positive {
                    Shrinkage::NonNegSoft(alpha)
                } else {
                    Shrinkage::Soft(alpha)
                };
                Thresholding::new(s).par(self.par).solve(d, y).map_err(e)?
            }
            "bp" => BasisPursuit::new().par(self.par).solve(d, y).map_err(e)?,
            other => {
                return Err(format!(
                    "invalid parameter `algorithm` = {other:?}: expected one of omp, batch_omp, \
                     ormp, lasso_lars, lasso_cd, fista, threshold, bp"
                ))
            }
        };
        Ok(sol.codes)
    }
}

/// Sparse codes of the rows of `x` (`(n_samples, n_features)`) over the rows of `dictionary`
/// (`(n_components, n_features)`), returned as `(n_samples, n_components)`: coded over the
/// normalised atoms and returned for the given ones (divided by the atoms' norms). `alpha`
/// is one penalty (Lasso, thresholding) or one per sample; `tol` a squared residual target for
/// the greedy pursuits (overrides `n_nonzero_coefs`). The GIL is released while coding.
#[pyfunction]
#[pyo3(signature = (x, dictionary, algorithm, n_nonzero_coefs=None, alpha=1.0, alpha_per_sample=None, tol=None, max_iter=1000, positive=false, n_threads=0, sparse_output=false))]
#[allow(clippy::too_many_arguments)]
fn sparse_encode<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    dictionary: PyReadonlyArray2<'py, f64>,
    algorithm: String,
    n_nonzero_coefs: Option<usize>,
    alpha: f64,
    alpha_per_sample: Option<PyReadonlyArray1<'py, f64>>,
    tol: Option<f64>,
    max_iter: usize,
    positive: bool,
    n_threads: usize,
    sparse_output: bool,
) -> PyResult<Bound<'py, PyAny>> {
    let xs = transposed(&x);
    let ds = transposed(&dictionary);
    let (y, dview) = (xs.as_ref(), ds.as_ref());
    if dview.nrows() != y.nrows() {
        return Err(value_error(format!(
            "shape mismatch for `X`: expected {} features (the dictionary's), found {}",
            dview.nrows(),
            y.nrows()
        )));
    }
    let alphas: Option<Vec<f64>> = match &alpha_per_sample {
        Some(a) => {
            let v = vec1(a);
            if v.len() != y.ncols() {
                return Err(value_error(format!(
                    "shape mismatch for `alpha`: expected one value per sample ({}), found {}",
                    y.ncols(),
                    v.len()
                )));
            }
            Some(v)
        }
        None => None,
    };
    let job = Coding {
        algorithm,
        n_nonzero_coefs,
        alpha,
        tol,
        max_iter,
        positive,
        par: parallelism(n_threads),
    };
    let codes = py
        .detach(|| -> Result<Mat<f64>, String> {
            let d = Dictionary::from_matrix(dview).map_err(|e| e.to_string())?;
            match alphas {
                None => job.run(&d, y, job.alpha),
                Some(a) => encode_per_sample(&job, &d, y, &a),
            }
        })
        .map_err(value_error)?;
    // Codes of the given (possibly unnormalised) atoms: those of the unit atoms over the norms.
    let norms: Vec<f64> = (0..dview.ncols()).map(|j| dview.col(j).norm_l2()).collect();
    let unit = norms.iter().all(|&v| v == 1.0);
    let scale = (!unit).then_some(&norms[..]);
    if sparse_output {
        let (data, indices, indptr) = codes_to_csr(&codes, scale);
        let out = (
            numpy::PyArray1::from_vec(py, data),
            numpy::PyArray1::from_vec(py, indices),
            numpy::PyArray1::from_vec(py, indptr),
        );
        return Ok(out.into_pyobject(py)?.into_any());
    }
    Ok(codes_to_numpy(py, &codes, scale).into_any())
}

/// The codes `n_components x n_samples` (column-major) as the CSR arrays of the
/// `(n_samples, n_components)` matrix (`data`, `indices`, `indptr`, as `scipy.sparse.csr_matrix`
/// takes them), entry `i` of every code divided by `scale[i]` when given: one pass over the
/// codes, no dense array handed to Python.
fn codes_to_csr(codes: &Mat<f64>, scale: Option<&[f64]>) -> (Vec<f64>, Vec<i64>, Vec<i64>) {
    let (m, b) = (codes.nrows(), codes.ncols());
    let (mut data, mut indices) = (Vec::new(), Vec::new());
    let mut indptr = Vec::with_capacity(b + 1);
    indptr.push(0i64);
    for j in 0..b {
        for (i, &v) in codes.col_as_slice(j)[..m].iter().enumerate() {
            if v != 0.0 {
                data.push(match scale {
                    Some(s) => v / s[i],
                    None => v,
                });
                indices.push(i as i64);
            }
        }
        indptr.push(data.len() as i64);
    }
    (data, indices, indptr)
}

/// Codes with one penalty per sample: the samples sharing a penalty are coded together (one
/// batch per distinct value, so the work stays GEMM-shaped), then scattered back in order.
fn encode_per_sample(
    job: &Coding,
    d: &Dictionary,
    y: MatRef<'_, f64>,
    alphas: &[f64],
) -> Result<Mat<f64>, String> {
    let mut order: Vec<usize> = (0..alphas.len()).collect();
    order.sort_by(|&a, &b| alphas[a].total_cmp(&alphas[b]));
    let mut out = Mat::<f64>::zeros(d.n_atoms(), y.ncols());
    let mut start = 0;
    while start < order.len() {
        let a = alphas[order[start]];
        let end = start + order[start..].partition_point(|&j| alphas[j].total_cmp(&a).is_eq());
        let idx = &order[start..end];
        let group = Mat::<f64>::from_fn(y.nrows(), idx.len(), |i, c| y[(i, idx[c])]);
        let codes = job.run(d, group.as_ref(), a)?;
        for (c, &j) in idx.iter().enumerate() {
            out.col_mut(j).copy_from(codes.col(c));
        }
        start = end;
    }
    Ok(out)
}

/// Learns a dictionary of `n_components` unit atoms from the rows of `x`
/// (`(n_samples, n_features)`) with Batch-OMP codes of `n_nonzero_coefs` atoms: `algorithm` is
/// `ksvd`, `ksvd_approx`, `mod` or `online`. Returns `(components, codes, rmse_per_iteration)`
/// with `components` of shape `(n_components, n_features)` and `codes` of shape
/// `(n_samples, n_components)`. `init` (`(n_components, n_features)`) replaces the random
/// choice of training signals. The GIL is released while learning.
#[pyfunction]
#[pyo3(signature = (x, n_components, algorithm="ksvd", n_nonzero_coefs=None, max_iter=10, seed=0, init=None, n_threads=0, eps=None))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn learn_dictionary<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    n_components: usize,
    algorithm: &str,
    n_nonzero_coefs: Option<usize>,
    max_iter: usize,
    seed: u64,
    init: Option<PyReadonlyArray2<'py, f64>>,
    n_threads: usize,
    eps: Option<f64>,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Vec<f64>,
)> {
    let xs = transposed(&x);
    let y = xs.as_ref();
    let init_s = init.as_ref().map(transposed);
    let init_view = init_s.as_ref().map(Signals::as_ref);
    let k = n_nonzero_coefs.unwrap_or_else(|| (y.nrows() / 10).clamp(1, n_components.max(1)));
    let algorithm = algorithm.to_string();
    let par = parallelism(n_threads);
    let learned = py
        .detach(|| -> Result<LearnedDictionary, String> {
            let e = |e: pursuit::Error| e.to_string();
            let start = match init_view {
                Some(v) => InitDict::Given(Dictionary::from_matrix(v).map_err(|e| e.to_string())?),
                None => InitDict::DataColumns,
            };
            // `eps`: code every signal to the residual norm `eps` with at most `k` atoms (the
            // K-SVD denoiser's rule); otherwise exactly `k` atoms.
            let stop = match eps {
                Some(eps) => Stop::SparsityOrResidual { k, eps },
                None => Stop::Sparsity(k),
            };
            match algorithm.as_str() {
                "ksvd" | "ksvd_approx" => {
                    let update = if algorithm == "ksvd" {
                        pursuit::dictlearn::AtomUpdate::Exact
                    } else {
                        pursuit::dictlearn::AtomUpdate::Approximate
                    };
                    Ksvd::new(n_components, stop)
                        .update(update)
                        .init(start)
                        .iterations(max_iter)
                        .seed(seed)
                        .par(par)
                        .fit(y)
                        .map_err(e)
                }
                "mod" => Mod::new(n_components, stop)
                    .init(start)
                    .iterations(max_iter)
                    .seed(seed)
                    .par(par)
                    .fit(y)
                    .map_err(e),
                "online" => OnlineDictLearning::new(n_components, stop)
                    .init(start)
                    .iterations(max_iter)
                    .seed(seed)
                    .par(par)
                    .fit(y)
                    .map_err(e),
                other => Err(format!(
                    "invalid parameter `algorithm` = {other:?}: expected one of ksvd, \
                     ksvd_approx, mod, online"
                )),
            }
        })
        .map_err(value_error)?;
    let atoms = learned.dictionary.matrix().to_owned();
    let codes = learned.codes.to_dense();
    let rmse = learned.history.iter().map(|r| r.rmse).collect();
    Ok((
        codes_to_numpy(py, &atoms, None),
        codes_to_numpy(py, &codes, None),
        rmse,
    ))
}

/// The K-SVD image denoiser (Elad & Aharon 2006, `pursuit::dictlearn::Denoiser`) on the 2-D
/// image `image` `(H, W)` with noise level `sigma`. `method`: `"ksvd"` (learn the dictionary on
/// the noisy patches, from the overcomplete DCT), `"dct"` (keep the DCT) or `"given"` (use
/// `dictionary`, `(n_atoms, patch_size^2)`, rows are atoms, each patch column-major as the
/// crates store patches, i.e. `patch.T.ravel()` of a `(p, p)` NumPy patch). Returns the denoised
/// image, the atoms `(n_atoms, patch_size^2)` and the K-SVD RMSE per iteration. The GIL is
/// released.
#[pyfunction]
#[pyo3(signature = (image, sigma, method="ksvd", dictionary=None, patch_size=8, stride=1, n_atoms=256, max_iter=10, gain=1.15, lmbda=None, max_training=25000, max_atoms=None, seed=0, n_threads=0))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
fn denoise_image<'py>(
    py: Python<'py>,
    image: PyReadonlyArray2<'py, f64>,
    sigma: f64,
    method: &str,
    dictionary: Option<PyReadonlyArray2<'py, f64>>,
    patch_size: usize,
    stride: usize,
    n_atoms: usize,
    max_iter: usize,
    gain: f64,
    lmbda: Option<f64>,
    max_training: usize,
    max_atoms: Option<usize>,
    seed: u64,
    n_threads: usize,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Vec<f64>,
)> {
    // (H, W) row-major as an H x W matrix (the crates index images (row, column)).
    let img = transposed(&image).as_ref().transpose().to_owned();
    enum Job {
        Ksvd,
        Dct,
        Given(Dictionary),
    }
    let job = match (method, dictionary.as_ref()) {
        ("given", Some(d)) => {
            Job::Given(Dictionary::from_matrix(transposed(d).as_ref()).map_err(value_error)?)
        }
        ("given", None) => {
            return Err(value_error(
                "invalid parameter `dictionary` = None: expected the atoms for method 'given'",
            ))
        }
        ("ksvd", None) => Job::Ksvd,
        ("dct", None) => Job::Dct,
        ("ksvd" | "dct", Some(_)) => {
            return Err(value_error(format!(
                "invalid parameter `dictionary`: not used by method {method:?} (use 'given')"
            )))
        }
        (other, _) => {
            return Err(value_error(format!(
                "invalid parameter `method` = {other:?}: expected one of ksvd, dct, given"
            )))
        }
    };
    let den = pursuit::dictlearn::Denoiser::new(sigma)
        .patch_size(patch_size)
        .stride(stride)
        .n_atoms(n_atoms)
        .iterations(max_iter)
        .c(gain)
        .lambda(lmbda)
        .max_training(max_training)
        .max_atoms(max_atoms)
        .seed(seed)
        .par(parallelism(n_threads));
    let out = py
        .detach(|| match &job {
            Job::Ksvd => den.denoise_ksvd(img.as_ref()),
            Job::Dct => den.denoise_dct(img.as_ref()),
            Job::Given(d) => den.denoise_with(img.as_ref(), d),
        })
        .map_err(value_error)?;
    let rmse = out.history.iter().map(|r| r.rmse).collect();
    Ok((
        codes_to_numpy(py, &out.image.transpose().to_owned(), None),
        codes_to_numpy(py, &out.dictionary.matrix().to_owned(), None),
        rmse,
    ))
}

/// The reconstructions `codes @ dictionary` `(n_samples, n_features)` of the rows of `x` coded
/// by Batch-OMP to the residual norm `eps` with at most `k` atoms (the coding rule of the K-SVD
/// denoiser). The GIL is released.
#[pyfunction]
#[pyo3(signature = (x, dictionary, k, eps, n_threads=0))]
fn code_to_error<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    dictionary: PyReadonlyArray2<'py, f64>,
    k: usize,
    eps: f64,
    n_threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let xs = transposed(&x);
    let y = xs.as_ref();
    let d = Dictionary::from_matrix(transposed(&dictionary).as_ref()).map_err(value_error)?;
    let par = parallelism(n_threads);
    let rec = py
        .detach(|| -> Result<Mat<f64>, String> {
            let sol = BatchOmp::new(Stop::SparsityOrResidual { k, eps })
                .par(par)
                .solve(&d, y)
                .map_err(|e| e.to_string())?;
            let mut rec = Mat::<f64>::zeros(d.signal_len(), y.ncols());
            faer::linalg::matmul::matmul(
                rec.as_mut(),
                faer::Accum::Replace,
                d.matrix(),
                sol.codes.as_ref(),
                1.0,
                par,
            );
            Ok(rec)
        })
        .map_err(value_error)?;
    Ok(codes_to_numpy(py, &rec, None))
}

/// The overcomplete separable DCT of `n_atoms` atoms for `p x p` patches (Elad & Aharon 2006),
/// as rows `(n_atoms, p^2)`, each patch column-major.
#[pyfunction]
fn overcomplete_dct<'py>(
    py: Python<'py>,
    p: usize,
    n_atoms: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let d = Dictionary::overcomplete_dct(p, n_atoms).map_err(value_error)?;
    Ok(codes_to_numpy(py, &d.matrix().to_owned(), None))
}

/// Seconds of the best of `repeats` runs of the Rust solve alone (a prebuilt [`Dictionary`],
/// no conversion of arrays): the crate's own throughput, which the benchmark compares with the
/// full Python call on the same data.
#[pyfunction]
#[pyo3(signature = (x, dictionary, algorithm, n_nonzero_coefs=None, alpha=1.0, repeats=3, n_threads=0))]
#[allow(clippy::too_many_arguments)]
fn native_seconds(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f64>,
    dictionary: PyReadonlyArray2<'_, f64>,
    algorithm: String,
    n_nonzero_coefs: Option<usize>,
    alpha: f64,
    repeats: usize,
    n_threads: usize,
) -> PyResult<f64> {
    let xs = transposed(&x);
    let y = xs.as_ref().to_owned();
    let d = Dictionary::from_matrix(transposed(&dictionary).as_ref()).map_err(value_error)?;
    let job = Coding {
        algorithm,
        n_nonzero_coefs,
        alpha,
        tol: None,
        max_iter: 1000,
        positive: false,
        par: parallelism(n_threads),
    };
    py.detach(|| -> Result<f64, String> {
        let mut best = f64::INFINITY;
        for _ in 0..repeats.max(1) {
            let t = std::time::Instant::now();
            let codes = job.run(&d, y.as_ref(), alpha)?;
            best = best.min(t.elapsed().as_secs_f64());
            drop(codes);
        }
        Ok(best)
    })
    .map_err(value_error)
}

/// The `sparseland._core` extension module.
#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(sparse_encode, m)?)?;
    m.add_function(wrap_pyfunction!(learn_dictionary, m)?)?;
    m.add_function(wrap_pyfunction!(native_seconds, m)?)?;
    online::register(m)?;
    m.add_function(wrap_pyfunction!(denoise_image, m)?)?;
    m.add_function(wrap_pyfunction!(code_to_error, m)?)?;
    m.add_function(wrap_pyfunction!(overcomplete_dct, m)?)?;
    m.add_function(wrap_pyfunction!(learned::learned_fit, m)?)?;
    m.add_function(wrap_pyfunction!(learned::learned_transform, m)?)?;
    m.add_function(wrap_pyfunction!(multilayer::mlcsc_pursuit, m)?)?;
    m.add_function(wrap_pyfunction!(conv::conv_bpdn, m)?)?;
    m.add_function(wrap_pyfunction!(conv::conv_online_step, m)?)?;
    m.add_function(wrap_pyfunction!(conv::conv_ccmod_masked, m)?)?;
    m.add_function(wrap_pyfunction!(conv::conv_dict_learn, m)?)?;
    calculators::register(m)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
