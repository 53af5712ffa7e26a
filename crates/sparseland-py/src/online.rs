//! The online dictionary learner (Mairal, Bach, Ponce & Sapiro 2010) for Python: the streaming
//! step of `DictionaryLearning.partial_fit`, and its three parts for a distributed learner
//! (`sparseland.dask`): the first dictionary, one worker's statistics, and the step from the
//! merged statistics. Every function is stateless on the Rust side: the state travels as NumPy
//! arrays, so the estimators pickle and every call continues bit for bit.

use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2, PyUntypedArrayMethods};
use pyo3::prelude::*;

use pursuit::dictlearn::{
    Candidates, MiniBatchStats, OnlineDictLearning, OnlineLearner, SufficientStats,
};
use pursuit::Stop;

use crate::{codes_to_numpy, parallelism, transposed, value_error, vec1};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(online_partial_fit, m)?)?;
    m.add_function(wrap_pyfunction!(online_initialize, m)?)?;
    m.add_function(wrap_pyfunction!(online_batch_stats, m)?)?;
    m.add_function(wrap_pyfunction!(online_apply, m)?)?;
    Ok(())
}

/// The learner's configuration: `n_components` atoms, Batch-OMP with `n_nonzero_coefs` atoms
/// per signal (default `n_features / 10`, at least 1, at most `n_components`).
fn config(
    n_features: usize,
    n_components: usize,
    n_nonzero_coefs: Option<usize>,
    seed: u64,
    n_threads: usize,
) -> OnlineDictLearning {
    let k = n_nonzero_coefs.unwrap_or_else(|| (n_features / 10).clamp(1, n_components.max(1)));
    OnlineDictLearning::new(n_components, Stop::Sparsity(k))
        .seed(seed)
        .par(parallelism(n_threads))
}

/// A learner resumed from a saved state.
fn resumed(config: &OnlineDictLearning, state: &OnlineState<'_>) -> Result<OnlineLearner, String> {
    let (d, a, b, w, steps) = state;
    let stats = SufficientStats {
        a: transposed(a).as_ref().transpose().to_owned(),
        b: transposed(b).as_ref().transpose().to_owned(),
        weight: *w,
    };
    OnlineLearner::resume(config, transposed(d).as_ref(), stats, *steps).map_err(|e| e.to_string())
}

type Arr<'py> = Bound<'py, PyArray2<f64>>;

/// A learner's state as NumPy arrays (atoms as rows, `A`, `B` as stored, weight, steps).
fn state_to_numpy<'py>(
    py: Python<'py>,
    learner: &OnlineLearner,
) -> PyResult<(Arr<'py>, Arr<'py>, Arr<'py>, f64, usize)> {
    let (Some(d), Some(stats)) = (learner.atoms(), learner.stats()) else {
        return Err(value_error("the online learner has no state after a step"));
    };
    Ok((
        codes_to_numpy(py, &d.to_owned(), None),
        codes_to_numpy(py, &stats.a.transpose().to_owned(), None),
        codes_to_numpy(py, &stats.b.transpose().to_owned(), None),
        stats.weight,
        learner.steps(),
    ))
}

/// The saved state of an online learner as NumPy arrays: atoms `(n_components, n_features)`,
/// `A` `(n_components, n_components)`, `B` `(n_features, n_components)`, the statistics' weight
/// and the step count.
type OnlineState<'py> = (
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    f64,
    usize,
);

/// One online dictionary-learning step (Mairal, Bach, Ponce & Sapiro 2010) on the mini-batch
/// `x` `(n_samples, n_features)`, from the saved `state` (`None`: a new learner, whose atoms
/// are drawn from `x` with `seed`). Returns the new state (atoms, `A`, `B`, weight, steps) and
/// the batch's RMSE before the update. Stateless on the Rust side, so the estimator holding
/// the arrays pickles, and the next call continues bit for bit. The GIL is released.
#[pyfunction]
#[pyo3(signature = (x, n_components, n_nonzero_coefs=None, seed=0, state=None, n_threads=0))]
#[allow(clippy::type_complexity)]
fn online_partial_fit<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    n_components: usize,
    n_nonzero_coefs: Option<usize>,
    seed: u64,
    state: Option<OnlineState<'py>>,
    n_threads: usize,
) -> PyResult<(
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    Bound<'py, PyArray2<f64>>,
    f64,
    usize,
    f64,
)> {
    let xs = transposed(&x);
    let y = xs.as_ref();
    let config = config(y.nrows(), n_components, n_nonzero_coefs, seed, n_threads);
    let mut learner = match &state {
        Some(state) => resumed(&config, state),
        None => config.learner().map_err(|e| e.to_string()),
    }
    .map_err(value_error)?;
    let rmse = py
        .detach(|| learner.partial_fit(y).map(|r| r.rmse))
        .map_err(value_error)?;
    let (d, a, b, w, steps) = state_to_numpy(py, &learner)?;
    Ok((d, a, b, w, steps, rmse))
}

/// The first dictionary of a learner with `seed`, drawn from the signals `x`
/// `(n_samples, n_features)` exactly as the first `online_partial_fit` on `x` draws it; atoms
/// as rows.
#[pyfunction]
#[pyo3(signature = (x, n_components, n_nonzero_coefs=None, seed=0))]
fn online_initialize<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    n_components: usize,
    n_nonzero_coefs: Option<usize>,
    seed: u64,
) -> PyResult<Arr<'py>> {
    let xs = transposed(&x);
    let y = xs.as_ref();
    let config = config(y.nrows(), n_components, n_nonzero_coefs, seed, 1);
    let mut learner = config.learner().map_err(value_error)?;
    py.detach(|| learner.initialize(y)).map_err(value_error)?;
    let d = learner
        .atoms()
        .ok_or_else(|| value_error("no dictionary was drawn"))?;
    Ok(codes_to_numpy(py, &d.to_owned(), None))
}

/// One worker's part of a mini-batch step: the signals `x` `(n_samples, n_features)` coded over
/// `atoms` `(n_components, n_features)` (the learner's exact atoms). Returns `A`, `B`, the
/// count, the sum of squared residuals, the number of non-zeros, and the candidates (signals as
/// rows, squared residuals, positions in `x`), worst first. The GIL is released.
#[pyfunction]
#[pyo3(signature = (x, atoms, n_nonzero_coefs=None, n_threads=1))]
#[allow(clippy::type_complexity)]
fn online_batch_stats<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f64>,
    atoms: PyReadonlyArray2<'py, f64>,
    n_nonzero_coefs: Option<usize>,
    n_threads: usize,
) -> PyResult<(
    Arr<'py>,
    Arr<'py>,
    usize,
    f64,
    usize,
    Arr<'py>,
    Bound<'py, PyArray1<f64>>,
    Bound<'py, PyArray1<u64>>,
)> {
    let (xs, ds) = (transposed(&x), transposed(&atoms));
    let (y, d) = (xs.as_ref(), ds.as_ref());
    let config = config(d.nrows(), d.ncols(), n_nonzero_coefs, 0, n_threads);
    let part = py
        .detach(|| -> Result<MiniBatchStats, String> {
            let e = |e: pursuit::Error| e.to_string();
            let stats = SufficientStats::zeros(d.nrows(), d.ncols());
            let learner = OnlineLearner::resume(&config, d, stats, 0).map_err(e)?;
            learner.batch_stats(y).map_err(e)
        })
        .map_err(value_error)?;
    let c = &part.candidates;
    Ok((
        codes_to_numpy(py, &part.stats.a.transpose().to_owned(), None),
        codes_to_numpy(py, &part.stats.b.transpose().to_owned(), None),
        part.count,
        part.squared_error,
        part.nonzeros,
        codes_to_numpy(py, &c.signals, None),
        PyArray1::from_slice(py, &c.errors),
        PyArray1::from_iter(py, c.positions.iter().map(|&p| p as u64)),
    ))
}

/// The statistics part of a mini-batch, as `online_batch_stats` returns it (merged over the
/// workers): `A`, `B`, count, sum of squared residuals, non-zeros.
type Part<'py> = (
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray2<'py, f64>,
    usize,
    f64,
    usize,
);

/// Candidates as `(signals as rows, squared residuals, positions)`, in mini-batch order.
type CandidateArrays<'py> = (
    PyReadonlyArray2<'py, f64>,
    PyReadonlyArray1<'py, f64>,
    PyReadonlyArray1<'py, u64>,
);

/// The step of a mini-batch from its merged statistics `part`, continuing the saved `state`.
/// `candidates`, the worst-represented signals of the whole batch (at most `n_components`), are
/// needed only when an atom is to be replaced: without them the step returns `None` then, and
/// the caller fetches them and calls again. Returns the new state, the batch's RMSE and the
/// number of atoms replaced.
#[pyfunction]
#[pyo3(signature = (state, part, candidates=None, n_nonzero_coefs=None, seed=0))]
#[allow(clippy::type_complexity)]
fn online_apply<'py>(
    py: Python<'py>,
    state: OnlineState<'py>,
    part: Part<'py>,
    candidates: Option<CandidateArrays<'py>>,
    n_nonzero_coefs: Option<usize>,
    seed: u64,
) -> PyResult<Option<(Arr<'py>, Arr<'py>, Arr<'py>, f64, usize, f64, usize)>> {
    let (d, ..) = &state;
    let (n_components, n_features) = (d.shape()[0], d.shape()[1]);
    let config = config(n_features, n_components, n_nonzero_coefs, seed, 1);
    let (a, b, count, squared_error, nonzeros) = part;
    let stats = SufficientStats {
        a: transposed(&a).as_ref().transpose().to_owned(),
        b: transposed(&b).as_ref().transpose().to_owned(),
        weight: count as f64,
    };
    let candidates_given = candidates.is_some();
    let candidates = match &candidates {
        None => None,
        Some((signals, errors, positions)) => {
            let (errors, positions) = (vec1(errors), vec1(positions));
            let signals = transposed(signals).as_ref().to_owned();
            if signals.ncols() != errors.len() || errors.len() != positions.len() {
                return Err(value_error(format!(
                    "invalid `candidates`: {} signals, {} errors and {} positions (expected \
                     one of each per candidate)",
                    signals.ncols(),
                    errors.len(),
                    positions.len()
                )));
            }
            Some(Candidates {
                signals,
                errors,
                positions: positions.iter().map(|&p| p as usize).collect(),
            })
        }
    };
    let batch = MiniBatchStats {
        stats,
        count,
        squared_error,
        nonzeros,
        candidates: candidates.unwrap_or_else(|| Candidates::none(n_features)),
    };
    let mut learner = resumed(&config, &state).map_err(value_error)?;
    let outcome = py
        .detach(
            move || -> Result<Option<(OnlineLearner, f64, usize)>, String> {
                let e = |e: pursuit::Error| e.to_string();
                if candidates_given {
                    let report = learner.apply(&batch).map_err(e)?;
                    return Ok(Some((learner, report.rmse, report.replaced_atoms)));
                }
                // Without candidates: take the step, and give it up when it would replace atoms
                // (the caller brings the candidates and calls again from `state`).
                learner.apply_stats(&batch.stats, batch.count).map_err(e)?;
                if learner.purge_pending() {
                    return Ok(None);
                }
                Ok(Some((learner, batch.rmse(), 0)))
            },
        )
        .map_err(value_error)?;
    let Some((learner, rmse, replaced)) = outcome else {
        return Ok(None);
    };
    let (d, a, b, w, steps) = state_to_numpy(py, &learner)?;
    Ok(Some((d, a, b, w, steps, rmse, replaced)))
}
