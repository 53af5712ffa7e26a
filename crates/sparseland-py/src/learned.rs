//! The learned solvers that unfold ISTA / FISTA (LISTA: Gregor & LeCun 2010; learned FISTA;
//! FacNet: Moreau & Bruna 2017), trained on the unsupervised Lasso objective
//! `1/2 ||y - D z||^2 + lambda ||z||_1`, for the Python estimators `sparseland.LISTA`,
//! `sparseland.LearnedFISTA` and `sparseland.FacNet`. Stateless: a network is its kind, its
//! dictionary, its sizes and its flat parameter vector, which the estimator keeps (so it
//! pickles); every call rebuilds the network from them.

use faer::MatRef;
use numpy::{PyArray2, PyReadonlyArray2};
use pursuit::learned::{
    FacNet, LFista, Lista, TrainedFacNet, TrainedLFista, TrainedLista, Training,
};
use pyo3::prelude::*;
use sparse_core::Dictionary;

use crate::{codes_to_numpy, parallelism, transposed, value_error};

/// One of the three networks.
enum Network {
    Lista(TrainedLista),
    LFista(TrainedLFista),
    FacNet(TrainedFacNet),
}

/// `$body` with `$n` bound to the network, whatever its kind.
macro_rules! each {
    ($net:expr, $n:ident => $body:expr) => {
        match $net {
            Network::Lista($n) => $body,
            Network::LFista($n) => $body,
            Network::FacNet($n) => $body,
        }
    };
}

/// The network of `kind` on `d` (its ISTA / FISTA initialisation), with `params` when given.
fn build(
    kind: &str,
    d: &Dictionary,
    layers: usize,
    lambda: f64,
    shared: bool,
    params: Option<&[f64]>,
    training: &Training,
) -> Result<Network, String> {
    let e = |e: pursuit::Error| e.to_string();
    let mut net = match kind {
        "lista" => Network::Lista(
            Lista::new(layers, lambda)
                .shared(shared)
                .training(training.clone())
                .init(d)
                .map_err(e)?,
        ),
        "lfista" => Network::LFista(
            LFista::new(layers, lambda)
                .training(training.clone())
                .init(d)
                .map_err(e)?,
        ),
        "facnet" => Network::FacNet(
            FacNet::new(layers, lambda)
                .training(training.clone())
                .init(d)
                .map_err(e)?,
        ),
        other => {
            return Err(format!(
                "invalid parameter `kind` = {other:?}: expected one of lista, lfista, facnet"
            ))
        }
    };
    if let Some(p) = params {
        each!(&mut net, n => {
            let own = n.params_mut();
            if own.len() != p.len() {
                return Err(format!(
                    "shape mismatch for `params`: expected {} values (this network's), got {}",
                    own.len(),
                    p.len()
                ));
            }
            if let Some(bad) = p.iter().find(|v| !v.is_finite()) {
                return Err(format!("invalid parameter `params`: non-finite value {bad}"));
            }
            own.copy_from_slice(p);
        });
    }
    each!(&mut net, n => n.set_par(training.par));
    Ok(net)
}

/// The dictionary of a `(n_components, n_features)` array (rows are atoms).
fn dictionary(d: &PyReadonlyArray2<'_, f64>) -> PyResult<Dictionary> {
    Dictionary::from_matrix(transposed(d).as_ref()).map_err(value_error)
}

/// Trains a network of `kind` (`lista`, `lfista`, `facnet`) on the rows of `x`, from `params`
/// (`None`: the ISTA / FISTA initialisation). Returns the parameters and the training loss
/// after every epoch. The GIL is released.
#[pyfunction]
#[pyo3(signature = (kind, dictionary, x, layers, lmbda, shared=false, epochs=20, batch_size=100, learning_rate=1e-3, seed=0, params=None, n_threads=0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn learned_fit(
    py: Python<'_>,
    kind: &str,
    dictionary: PyReadonlyArray2<'_, f64>,
    x: PyReadonlyArray2<'_, f64>,
    layers: usize,
    lmbda: f64,
    shared: bool,
    epochs: usize,
    batch_size: usize,
    learning_rate: f64,
    seed: u64,
    params: Option<Vec<f64>>,
    n_threads: usize,
) -> PyResult<(Vec<f64>, Vec<f64>)> {
    let d = self::dictionary(&dictionary)?;
    let xs = transposed(&x);
    let y: MatRef<'_, f64> = xs.as_ref();
    let training = Training {
        epochs,
        batch_size,
        learning_rate,
        seed,
        par: parallelism(n_threads),
        ..Training::default()
    };
    let kind = kind.to_string();
    py.detach(|| -> Result<_, String> {
        training.validate().map_err(|e| e.to_string())?;
        let mut net = build(
            &kind,
            &d,
            layers,
            lmbda,
            shared,
            params.as_deref(),
            &training,
        )?;
        let mut losses = Vec::new();
        each!(&mut net, n => n
            .train(y, &training, &mut |r| losses.push(r.train_loss))
            .map_err(|e| e.to_string())?);
        Ok((each!(&net, n => n.params().to_vec()), losses))
    })
    .map_err(value_error)
}

/// The codes `(n_samples, n_components)` of the rows of `x` by the network of `kind` with
/// `params`. The GIL is released.
#[pyfunction]
#[pyo3(signature = (kind, dictionary, params, x, layers, lmbda, shared=false, n_threads=0))]
#[allow(clippy::too_many_arguments)]
pub(crate) fn learned_transform<'py>(
    py: Python<'py>,
    kind: &str,
    dictionary: PyReadonlyArray2<'py, f64>,
    params: Vec<f64>,
    x: PyReadonlyArray2<'py, f64>,
    layers: usize,
    lmbda: f64,
    shared: bool,
    n_threads: usize,
) -> PyResult<Bound<'py, PyArray2<f64>>> {
    let d = self::dictionary(&dictionary)?;
    let xs = transposed(&x);
    let y: MatRef<'_, f64> = xs.as_ref();
    let training = Training {
        par: parallelism(n_threads),
        ..Training::default()
    };
    let kind = kind.to_string();
    let codes = py
        .detach(|| -> Result<_, String> {
            let net = build(&kind, &d, layers, lmbda, shared, Some(&params), &training)?;
            each!(&net, n => n.codes(y).map_err(|e| e.to_string()))
        })
        .map_err(value_error)?;
    Ok(codes_to_numpy(py, &codes, None))
}
