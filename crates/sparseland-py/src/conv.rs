//! Convolutional BPDN (`csc::Cbpdn`) on arrays in SPORCO's layout: filters `D` of shape
//! `(h, w, M)` or `(h, w, C, M)` with their origin at the top-left, images `S` of shape `(H, W)`
//! or `(H, W, C)`, circular boundary, codes `X` of shape `(H, W, M)` (or `(H, W, C, M)` for a
//! single-channel dictionary on a multi-channel image, each channel coded on its own), the
//! squeezed shape of SPORCO's `ConvBPDN.solve()` output.
//!
//! SPORCO does not normalise the filters; `csc` does. Filters of norms `n_m` are therefore
//! solved as unit filters with l1 weights `w_m / n_m` and codes `z_m = n_m x_m`, which is the
//! same problem `1/2 ||sum_m d_m * x_m - s||^2 + lambda sum_m w_m ||x_m||_1`; the codes are
//! divided back. With unit-norm filters (SPORCO's examples normalise them) the iterates are
//! SPORCO's.

use csc::{AutoRho, Cbpdn, ConvDictionary, Grid, L1Weights, MaskedCbpdn};
use faer::Mat;
use numpy::ndarray::{ArrayD, IxDyn};
use numpy::{IntoPyArray, PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::prelude::*;
use sparse_core::Solve;

use crate::{owned_dyn, parallelism, value_error};

/// One ADMM iteration's record: objective, data fidelity, l1 term, normalised primal and dual
/// residuals, `rho`.
type Record = (f64, f64, f64, f64, f64, f64);

/// Filters in SPORCO's layout `(h, w, M)` or `(h, w, C, M)`, as the crates' matrix (filter `j`
/// one column: channel after channel, each channel column-major).
struct Filters {
    shape: Vec<usize>,
    fh: usize,
    fw: usize,
    fc: usize,
    m: usize,
    filters: Mat<f64>,
}

fn filters_arg(d: &PyReadonlyArrayDyn<'_, f64>) -> PyResult<Filters> {
    let ds = d.shape().to_vec();
    let (fh, fw, fc, m) = match ds[..] {
        [h, w, m] => (h, w, 1, m),
        [h, w, c, m] => (h, w, c, m),
        _ => {
            return Err(value_error(format!(
                "invalid parameter `D` of shape {ds:?}: expected (h, w, M) or (h, w, C, M)"
            )))
        }
    };
    let dv = owned_dyn(d)?;
    let filters = Mat::<f64>::from_fn(fh * fw * fc, m, |k, j| {
        let (c, rest) = (k / (fh * fw), k % (fh * fw));
        let (col, row) = (rest / fh, rest % fh);
        if ds.len() == 3 {
            dv[[row, col, j]]
        } else {
            dv[[row, col, c, j]]
        }
    });
    Ok(Filters {
        shape: ds,
        fh,
        fw,
        fc,
        m,
        filters,
    })
}

/// One image `(H, W)` or `(H, W, C)` as a column (channel after channel, column-major); `fc`
/// dictionary channels (a multi-channel dictionary needs as many image channels).
struct Image {
    h: usize,
    w: usize,
    channels: usize,
    y: Mat<f64>,
}

fn image_arg(s: &PyReadonlyArrayDyn<'_, f64>, fc: usize) -> PyResult<Image> {
    let ss = s.shape().to_vec();
    let (h, w, sc) = match ss[..] {
        [h, w] => (h, w, 1),
        [h, w, c] => (h, w, c),
        _ => {
            return Err(value_error(format!(
                "invalid parameter `S` of shape {ss:?}: expected (H, W) or (H, W, C) (one image)"
            )))
        }
    };
    if fc > 1 && fc != sc {
        return Err(value_error(format!(
            "shape mismatch for `S`: expected {fc} channels (those of D), got {sc}"
        )));
    }
    let sv = owned_dyn(s)?;
    let n = h * w;
    let y = Mat::<f64>::from_fn(n * sc, 1, |k, _| {
        let (c, rest) = (k / n, k % n);
        let (col, row) = (rest / h, rest % h);
        if ss.len() == 2 {
            sv[[row, col]]
        } else {
            sv[[row, col, c]]
        }
    });
    Ok(Image {
        h,
        w,
        channels: sc,
        y,
    })
}

/// SPORCO's `AutoRho` options `(enabled, period, scaling, ratio, target, auto_scaling)`.
fn auto_rho_arg(t: (bool, usize, f64, f64, Option<f64>, bool)) -> AutoRho {
    let (enabled, period, scaling, ratio, target, auto_scaling) = t;
    AutoRho {
        enabled,
        period,
        scaling,
        ratio,
        target,
        auto_scaling,
        ..AutoRho::default()
    }
}

/// The per-iteration records of one signal's diagnostics.
fn records_of(diag: &csc::Diagnostics) -> Vec<Record> {
    diag.records()
        .iter()
        .map(|r| {
            (
                r.objective,
                r.data_fidelity,
                r.penalty,
                r.primal_residual,
                r.dual_residual,
                r.step,
            )
        })
        .collect()
}

/// Convolutional BPDN by ADMM on SPORCO-layout arrays (with `mu > 0`, the convolutional elastic
/// net, SPORCO's `ConvElasticNet`; with a `mask`, the masked data term of SPORCO's
/// `ConvBPDNMaskDcpl` by `csc::MaskedCbpdn`). Returns `(X, records, converged)`.
/// `mask`: the weight `W` of shape `(H, W)` (shared by the channels) or `(H, W, C)`.
/// `grad_mu`, `grad_weight`: the gradient regularisation of SPORCO's `ConvBPDNGradReg`
/// (`grad_mu/2 sum_m w_m ||G x_m||^2`, one weight per filter or `None` for all 1). `joint`:
/// the `l2,1` weight of SPORCO's `ConvBPDNJoint` (norms over the channels of `S`).
/// `auto_rho`: `(enabled, period, scaling, ratio, target, auto_scaling)`, `None` for SPORCO's
/// `ConvBPDN` defaults. `l1_weight`: one weight per filter (`M` values) or `None`.
#[pyfunction]
#[pyo3(signature = (d, s, lmbda, max_iter=1000, rel_stop_tol=1e-3, abs_stop_tol=0.0, rho=None, relax=1.8, auto_rho=None, nonneg=false, l1_weight=None, n_threads=0, mu=0.0, mask=None, grad_mu=0.0, grad_weight=None, joint=0.0, single=false))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn conv_bpdn<'py>(
    py: Python<'py>,
    d: PyReadonlyArrayDyn<'py, f64>,
    s: PyReadonlyArrayDyn<'py, f64>,
    lmbda: f64,
    max_iter: usize,
    rel_stop_tol: f64,
    abs_stop_tol: f64,
    rho: Option<f64>,
    relax: f64,
    auto_rho: Option<(bool, usize, f64, f64, Option<f64>, bool)>,
    nonneg: bool,
    l1_weight: Option<Vec<f64>>,
    n_threads: usize,
    mu: f64,
    mask: Option<PyReadonlyArrayDyn<'py, f64>>,
    grad_mu: f64,
    grad_weight: Option<Vec<f64>>,
    joint: f64,
    single: bool,
) -> PyResult<(Bound<'py, PyArrayDyn<f64>>, Vec<Record>, bool)> {
    let Filters {
        shape: _,
        fh,
        fw,
        fc,
        m,
        filters,
    } = filters_arg(&d)?;
    let Image {
        h,
        w,
        channels: sc,
        y,
    } = image_arg(&s, fc)?;
    let n = h * w;
    let norms: Vec<f64> = (0..m).map(|j| filters.col(j).norm_l2()).collect();
    if let Some(wt) = &l1_weight {
        if wt.len() != m {
            return Err(value_error(format!(
                "shape mismatch for `L1Weight`: expected a scalar or {m} values (one per \
                 filter), got {}",
                wt.len()
            )));
        }
    }
    let wmat = match &mask {
        None => None,
        Some(wa) => {
            let ws = wa.shape().to_vec();
            let per_channel = match ws[..] {
                [a, b] if (a, b) == (h, w) => false,
                [a, b, c] if (a, b, c) == (h, w, sc) => true,
                _ => {
                    return Err(value_error(format!(
                        "shape mismatch for `W`: expected ({h}, {w}) or ({h}, {w}, {sc}) (the \
                         image's), got {ws:?}"
                    )))
                }
            };
            let wv = owned_dyn(wa)?;
            Some(Mat::<f64>::from_fn(n * sc, 1, |k, _| {
                let (c, rest) = (k / n, k % n);
                let (col, row) = (rest / h, rest % h);
                if per_channel {
                    wv[[row, col, c]]
                } else {
                    wv[[row, col]]
                }
            }))
        }
    };
    if let Some(wt) = &grad_weight {
        if wt.len() != m {
            return Err(value_error(format!(
                "shape mismatch for `GradWeight`: expected a scalar or {m} values (one per \
                 filter), got {}",
                wt.len()
            )));
        }
    }
    if grad_mu > 0.0 && mask.is_some() {
        return Err(value_error(
            "gradient regularisation with a mask is not offered (SPORCO has neither)",
        ));
    }
    let par = parallelism(n_threads);
    let (codes, records, converged) = py
        .detach(|| -> Result<(Mat<f64>, Vec<Record>, bool), String> {
            let e = |e: csc::Error| e.to_string();
            let dict = ConvDictionary::new(Grid::d2(fh, fw), fc, filters.as_ref()).map_err(e)?;
            let op = dict.operator_with_channels(Grid::d2(h, w), sc).map_err(e)?;
            // Unit filters with weights w_m / n_m solve SPORCO's problem on codes n_m x_m.
            let weights: Vec<f64> = (0..m)
                .map(|j| l1_weight.as_ref().map_or(1.0, |w| w[j]) / norms[j])
                .collect();
            let uniform = weights.iter().all(|&v| v == 1.0);
            let grad_weights = (grad_mu > 0.0).then(|| {
                (0..m)
                    .map(|j| grad_weight.as_ref().map_or(1.0, |w| w[j]) / (norms[j] * norms[j]))
                    .collect::<Vec<f64>>()
            });
            // The options both solvers share (the same builder names).
            macro_rules! configure {
                ($solver:expr) => {{
                    let mut solver = $solver
                        .max_iter(max_iter)
                        .rel_residual_tol(rel_stop_tol)
                        .abs_residual_tol(abs_stop_tol)
                        .relax(relax)
                        .nonneg(nonneg)
                        .par(par);
                    if let Some(r) = rho {
                        solver = solver.rho(r);
                    }
                    if let Some(t) = auto_rho {
                        solver = solver.auto_rho(auto_rho_arg(t));
                    }
                    if !uniform {
                        solver = solver.weights(L1Weights::PerFilter(weights));
                    }
                    solver
                }};
            }
            // `single`: the solve in float32 (SPORCO's `DataType = float32`), the codes
            // widened back for the layout below.
            let y32 = single.then(|| Mat::<f32>::from_fn(y.nrows(), 1, |k, _| y[(k, 0)] as f32));
            let widen =
                |c: Mat<f32>| Mat::<f64>::from_fn(c.nrows(), c.ncols(), |i, j| c[(i, j)] as f64);
            macro_rules! run {
                ($solver:expr) => {{
                    let solver = $solver;
                    match &y32 {
                        None => solver.solve(&op, y.as_ref()),
                        Some(y32) => Solve::<_, f32>::solve(&solver, &op, y32.as_ref()).map(|s| {
                            let d = s.diagnostics;
                            sparse_core::solve::Solution::new(widen(s.codes), d)
                                .expect("one diagnostics per column")
                        }),
                    }
                }};
            }
            let sol = match wmat {
                // Codes n_m x_m: ||G x_m||^2 = ||G z_m||^2 / n_m^2.
                // Codes n_m x_m: ||(x_{c,m})_c|| = ||(z_{c,m})_c|| / n_m.
                None => run!(configure!(Cbpdn::new(lmbda)
                    .mu(mu)
                    .grad_reg(grad_mu, grad_weights)
                    .joint(joint)
                    .joint_weights(
                        (!norms.iter().all(|&v| v == 1.0))
                            .then(|| norms.iter().map(|v| 1.0 / v).collect())
                    ))),
                Some(wm) => run!(configure!(MaskedCbpdn::new(lmbda, wm))),
            }
            .map_err(e)?;
            let diag = &sol.diagnostics[0];
            let records = records_of(diag);
            Ok((sol.codes, records, diag.converged))
        })
        .map_err(value_error)?;
    // Codes: channel after channel, then filter after filter, each map column-major.
    let code = codes.col_as_slice(0);
    let shape: Vec<usize> = if fc == 1 && sc > 1 {
        vec![h, w, sc, m]
    } else {
        vec![h, w, m]
    };
    let x = ArrayD::from_shape_fn(IxDyn(&shape), |ix| {
        let (row, col) = (ix[0], ix[1]);
        let (c, j) = if shape.len() == 4 {
            (ix[2], ix[3])
        } else {
            (0, ix[2])
        };
        code[(c * m + j) * n + row + h * col] / norms[j]
    });
    Ok((x.into_pyarray(py), records, converged))
}

/// Convolutional dictionary learning (`csc::ConvDictLearn`: CBPDN coding by ADMM alternated
/// with the constrained-MOD filter update, Wohlberg 2016) on SPORCO-layout arrays: initial
/// filters `d0` `(h, w, M)`, training images `s` `(H, W, K)`. Returns the filters `(h, w, M)`
/// (unit norm), the codes `(H, W, K, M)` and the functional before the first update and after
/// every outer iteration. The GIL is released.
#[pyfunction]
#[pyo3(signature = (d0, s, lmbda, iterations=20, coding_iter=50, dict_iter=20, sigma=None, n_threads=0, single=false))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn conv_dict_learn<'py>(
    py: Python<'py>,
    d0: PyReadonlyArrayDyn<'py, f64>,
    s: PyReadonlyArrayDyn<'py, f64>,
    lmbda: f64,
    iterations: usize,
    coding_iter: usize,
    dict_iter: usize,
    sigma: Option<f64>,
    n_threads: usize,
    single: bool,
) -> PyResult<(
    Bound<'py, PyArrayDyn<f64>>,
    Bound<'py, PyArrayDyn<f64>>,
    Vec<f64>,
)> {
    let (ds, ss) = (d0.shape().to_vec(), s.shape().to_vec());
    let [fh, fw, m] = ds[..] else {
        return Err(value_error(format!(
            "invalid parameter `D0` of shape {ds:?}: expected (h, w, M)"
        )));
    };
    let (h, w, k) = match ss[..] {
        [h, w] => (h, w, 1),
        [h, w, k] => (h, w, k),
        _ => {
            return Err(value_error(format!(
                "invalid parameter `S` of shape {ss:?}: expected (H, W, K) (K images)"
            )))
        }
    };
    let (dv, sv) = (owned_dyn(&d0)?, owned_dyn(&s)?);
    let filters = Mat::<f64>::from_fn(fh * fw, m, |q, j| dv[[q % fh, q / fh, j]]);
    let n = h * w;
    let y = Mat::<f64>::from_fn(n, k, |q, im| {
        if ss.len() == 2 {
            sv[[q % h, q / h]]
        } else {
            sv[[q % h, q / h, im]]
        }
    });
    let par = parallelism(n_threads);
    let out = py
        .detach(|| -> Result<csc::LearnResult, String> {
            let e = |e: csc::Error| e.to_string();
            let init = ConvDictionary::new(Grid::d2(fh, fw), 1, filters.as_ref()).map_err(e)?;
            let mut learner = csc::ConvDictLearn::new(lmbda).par(par);
            learner.iterations = iterations;
            learner.coding_iter = coding_iter;
            learner.dict_iter = dict_iter;
            if let Some(sg) = sigma {
                learner = learner.sigma(sg);
            }
            // `single`: coding and filter updates in float32 (SPORCO's `DataType = float32`),
            // the codes widened for the layout below.
            if single {
                let y32 = Mat::<f32>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] as f32);
                let r = learner
                    .learn(&init, Grid::d2(h, w), 1, y32.as_ref())
                    .map_err(e)?;
                let c = &r.codes;
                Ok(csc::LearnResult {
                    codes: Mat::from_fn(c.nrows(), c.ncols(), |i, j| c[(i, j)] as f64),
                    dictionary: r.dictionary,
                    objective: r.objective,
                })
            } else {
                learner
                    .learn(&init, Grid::d2(h, w), 1, y.as_ref())
                    .map_err(e)
            }
        })
        .map_err(value_error)?;
    let mut dl = Vec::with_capacity(fh * fw * m);
    for r in 0..fh {
        for c in 0..fw {
            for j in 0..m {
                let f = out.dictionary.filter(j).map_err(value_error)?;
                dl.push(f[r + fh * c]);
            }
        }
    }
    let d = ArrayD::from_shape_vec(IxDyn(&[fh, fw, m]), dl).map_err(value_error)?;
    let codes = &out.codes;
    let x = ArrayD::from_shape_fn(IxDyn(&[h, w, k, m]), |ix| {
        codes[(ix[3] * n + ix[0] + h * ix[1], ix[2])]
    });
    Ok((d.into_pyarray(py), x.into_pyarray(py), out.objective))
}

/// One step of online convolutional dictionary learning (`csc::OnlineConvDictLearn`, SPORCO's
/// `OnlineConvBPDNDictLearn`, Liu et al. 2018) on SPORCO-layout arrays: unit-norm filters `d`
/// `(h, w, M)` or `(h, w, C, M)`, one image `s` `(H, W)` or `(H, W, C)`, the step index `t`
/// (calls so far). Codes the image by CBPDN (the online learner's coding options) and takes the
/// projected gradient step `eta_a / (t + eta_b)`. Returns `(d_new, records, converged, eta,
/// cnstr, delta_d)`: the new filters (the shape of `d`), the coding step's records, whether it
/// met its stopping rule, the step, `||zpad(d_new) - G||` and `||d_new - d||`. The GIL is
/// released.
#[pyfunction]
#[pyo3(signature = (d, s, lmbda, t, eta_a=10.0, eta_b=5.0, zero_mean=false, max_iter=100, rel_stop_tol=1e-3, rho=None, relax=1.8, auto_rho=None, n_threads=0, single=false))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn conv_online_step<'py>(
    py: Python<'py>,
    d: PyReadonlyArrayDyn<'py, f64>,
    s: PyReadonlyArrayDyn<'py, f64>,
    lmbda: f64,
    t: usize,
    eta_a: f64,
    eta_b: f64,
    zero_mean: bool,
    max_iter: usize,
    rel_stop_tol: f64,
    rho: Option<f64>,
    relax: f64,
    auto_rho: Option<(bool, usize, f64, f64, Option<f64>, bool)>,
    n_threads: usize,
    single: bool,
) -> PyResult<(
    Bound<'py, PyArrayDyn<f64>>,
    Vec<Record>,
    bool,
    f64,
    f64,
    f64,
)> {
    let Filters {
        shape: ds,
        fh,
        fw,
        fc,
        m: _,
        filters,
    } = filters_arg(&d)?;
    let Image {
        h,
        w,
        channels: sc,
        y,
    } = image_arg(&s, fc)?;
    let par = parallelism(n_threads);
    type Out = (ConvDictionary, Vec<Record>, bool, f64, f64, f64);
    let (dict, records, converged, eta, cnstr, delta) = py
        .detach(|| -> Result<Out, String> {
            let e = |e: csc::Error| e.to_string();
            let init = ConvDictionary::new(Grid::d2(fh, fw), fc, filters.as_ref()).map_err(e)?;
            let mut opts = csc::OnlineConvDictLearn::new(lmbda)
                .eta_a(eta_a)
                .eta_b(eta_b)
                .zero_mean(zero_mean)
                .par(par);
            let mut coder = opts
                .coder
                .clone()
                .max_iter(max_iter)
                .rel_residual_tol(rel_stop_tol)
                .relax(relax)
                .par(par);
            if let Some(r) = rho {
                coder = coder.rho(r);
            }
            if let Some(t) = auto_rho {
                coder = coder.auto_rho(auto_rho_arg(t));
            }
            opts = opts.coder(coder);
            let mut learner = opts.resume(&init, t).map_err(e)?;
            // `single`: coding and gradient in float32 (SPORCO's `DataType = float32`).
            let step = if single {
                let y32 = Mat::<f32>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] as f32);
                learner.partial_fit(Grid::d2(h, w), sc, y32.as_ref())
            } else {
                learner.partial_fit(Grid::d2(h, w), sc, y.as_ref())
            }
            .map_err(e)?;
            let diag = &step.coding[0];
            let records = records_of(diag);
            Ok((
                learner.dictionary().clone(),
                records,
                diag.converged,
                step.eta,
                step.constraint,
                step.delta_d,
            ))
        })
        .map_err(value_error)?;
    let out = ArrayD::from_shape_fn(IxDyn(&ds), |ix| {
        let (row, col) = (ix[0], ix[1]);
        let (c, j) = if ds.len() == 4 {
            (ix[2], ix[3])
        } else {
            (0, ix[2])
        };
        dict.filter(j)
            .map_or(f64::NAN, |f| f[c * fh * fw + row + fh * col])
    });
    Ok((out.into_pyarray(py), records, converged, eta, cnstr, delta))
}

/// The masked constrained-MOD dictionary update (`csc::MaskedCcmod`, SPORCO's
/// `ConvCnstrMODMaskDcpl`) for greyscale images: codes `z` `(H, W, K, M)`, images `s`
/// `(H, W, K)`, weight `w` `(H, W)` or `(H, W, K)`, filter support `(h, w)`; from zero
/// (SPORCO's standalone class) or, with `d0` `(h, w, M)`, from those filters. Returns the
/// filters `(h, w, M)`, the records `(DFid, Cnstr, primal, dual, rho)` and `converged`.
#[pyfunction]
#[pyo3(signature = (z, s, w, dsz, d0=None, max_iter=1000, rel_stop_tol=1e-3, rho=1.0, relax=1.8, auto_rho=None, zero_mean=false, n_threads=0))]
#[allow(clippy::too_many_arguments, clippy::type_complexity)]
pub(crate) fn conv_ccmod_masked<'py>(
    py: Python<'py>,
    z: PyReadonlyArrayDyn<'py, f64>,
    s: PyReadonlyArrayDyn<'py, f64>,
    w: PyReadonlyArrayDyn<'py, f64>,
    dsz: (usize, usize),
    d0: Option<PyReadonlyArrayDyn<'py, f64>>,
    max_iter: usize,
    rel_stop_tol: f64,
    rho: f64,
    relax: f64,
    auto_rho: Option<(bool, usize, f64, f64, Option<f64>, bool)>,
    zero_mean: bool,
    n_threads: usize,
) -> PyResult<(
    Bound<'py, PyArrayDyn<f64>>,
    Vec<(f64, f64, f64, f64, f64)>,
    bool,
)> {
    let (zs, ss, ws) = (z.shape().to_vec(), s.shape().to_vec(), w.shape().to_vec());
    let [h, wd, k, m] = zs[..] else {
        return Err(value_error(format!(
            "invalid parameter `Z` of shape {zs:?}: expected (H, W, K, M)"
        )));
    };
    if ss != [h, wd, k] {
        return Err(value_error(format!(
            "shape mismatch for `S`: expected ({h}, {wd}, {k}), got {ss:?}"
        )));
    }
    let shared = match ws[..] {
        [a, b] if (a, b) == (h, wd) => true,
        [a, b, c] if (a, b, c) == (h, wd, k) => false,
        _ => {
            return Err(value_error(format!(
                "shape mismatch for `W`: expected ({h}, {wd}) or ({h}, {wd}, {k}), got {ws:?}"
            )))
        }
    };
    let (fh, fw) = dsz;
    let (zv, sv, wv) = (owned_dyn(&z)?, owned_dyn(&s)?, owned_dyn(&w)?);
    let n = h * wd;
    let codes = Mat::<f64>::from_fn(n * m, k, |q, im| {
        let (i, p) = (q / n, q % n);
        zv[[p % h, p / h, im, i]]
    });
    let y = Mat::<f64>::from_fn(n, k, |p, im| sv[[p % h, p / h, im]]);
    let mask = Mat::<f64>::from_fn(n, if shared { 1 } else { k }, |p, im| {
        if shared {
            wv[[p % h, p / h]]
        } else {
            wv[[p % h, p / h, im]]
        }
    });
    let init = match &d0 {
        Some(d) => filters_arg(d)?.filters,
        // Any non-zero filters: from zero, only the shapes are used.
        None => Mat::<f64>::from_fn(fh * fw, m, |q, _| if q == 0 { 1.0 } else { 0.0 }),
    };
    let par = parallelism(n_threads);
    let warm = d0.is_some();
    type Out = (ConvDictionary, Vec<(f64, f64, f64, f64, f64)>, bool);
    let (dict, records, converged) = py
        .detach(|| -> Result<Out, String> {
            let e = |e: csc::Error| e.to_string();
            let init = ConvDictionary::new(Grid::d2(fh, fw), 1, init.as_ref()).map_err(e)?;
            let mut u = csc::MaskedCcmod::new()
                .max_iter(max_iter)
                .rel_residual_tol(rel_stop_tol)
                .rho(rho)
                .relax(relax)
                .zero_mean(zero_mean)
                .warm_start(warm)
                .par(par);
            if let Some(t) = auto_rho {
                u = u.auto_rho(csc::AutoRho {
                    freeze_after: usize::MAX,
                    ..auto_rho_arg(t)
                });
            }
            let sol = u
                .solve(
                    &init,
                    Grid::d2(h, wd),
                    1,
                    y.as_ref(),
                    codes.as_ref(),
                    mask.as_ref(),
                )
                .map_err(e)?;
            let records = sol
                .diagnostics
                .records()
                .iter()
                .map(|r| {
                    (
                        r.data_fidelity,
                        r.penalty,
                        r.primal_residual,
                        r.dual_residual,
                        r.step,
                    )
                })
                .collect();
            Ok((sol.dictionary, records, sol.diagnostics.converged))
        })
        .map_err(value_error)?;
    let out = ArrayD::from_shape_fn(IxDyn(&[fh, fw, m]), |ix| {
        dict.filter(ix[2])
            .map_or(f64::NAN, |f| f[ix[0] + fh * ix[1]])
    });
    Ok((out.into_pyarray(py), records, converged))
}
