//! Multi-layer convolutional sparse models (Papyan, Romano & Elad 2017; Sulam, Papyan, Romano &
//! Elad 2018) built from NumPy arrays, and their pursuits: layered thresholding (the forward
//! pass of a CNN), layered BP, ML-ISTA and ML-FISTA (Sulam, Aberdam, Beck & Elad 2019). The
//! layouts are the crates' (see `mlcsc::ValidGeometry`); `sparseland.MLCSC` converts from
//! PyTorch's.

use faer::MatRef;
use mlcsc::{
    Layer, LayeredBp, LayeredThresholding, MlFista, MlIsta, MlModel, Solve, ValidGeometry,
};
use numpy::{PyArray2, PyReadonlyArray2};
use pyo3::prelude::*;

use crate::{codes_to_numpy, transposed, value_error};

/// One layer from Python: `("dense", D, None)` with `D` of shape `(n_atoms, n_inputs)` (rows are
/// atoms), or `("valid", F, (channels, h, w, kh, kw, stride))` with the filters `F` of shape
/// `(maps, channels kh kw)`, each row a filter in the crates' layout.
type LayerSpec<'py> = (
    String,
    PyReadonlyArray2<'py, f64>,
    Option<(usize, usize, usize, usize, usize, usize)>,
);

fn layer(spec: &LayerSpec<'_>, index: usize) -> Result<Layer, String> {
    let (kind, a, geometry) = spec;
    let m = transposed(a);
    let e = |e: mlcsc::Error| format!("layer {index}: {e}");
    match (kind.as_str(), geometry) {
        ("dense", None) => Layer::from_matrix(m.as_ref()).map_err(e),
        ("valid", Some((c, h, w, kh, kw, stride))) => {
            let g = ValidGeometry::new(*c, (*h, *w), (*kh, *kw), *stride, m.as_ref().ncols())
                .map_err(e)?;
            Layer::valid(g, m.as_ref()).map_err(e)
        }
        (other, _) => Err(format!(
            "invalid parameter `layers` (layer {index}): expected ('dense', D, None) or \
             ('valid', filters, (channels, h, w, kh, kw, stride)), got kind {other:?}"
        )),
    }
}

/// The codes of every layer (`[(n_samples, n_1), ..., (n_samples, n_K)]`) of the rows of `x` by
/// `method`: `relu`, `soft`, `hard` (layered thresholding at `params[i]` on layer `i + 1`),
/// `layered_bp` (one Lasso per layer, penalties `params`), `ml_ista`, `ml_fista` (`max_iter`
/// iterations on the multi-layer BP objective with penalties `params`). Also returns the
/// per-signal final objective. The GIL is released.
#[pyfunction]
#[pyo3(signature = (layers, x, method, params, max_iter=100))]
#[allow(clippy::type_complexity)]
pub(crate) fn mlcsc_pursuit<'py>(
    py: Python<'py>,
    layers: Vec<LayerSpec<'py>>,
    x: PyReadonlyArray2<'py, f64>,
    method: &str,
    params: Vec<f64>,
    max_iter: usize,
) -> PyResult<(Vec<Bound<'py, PyArray2<f64>>>, Vec<f64>)> {
    let built = layers
        .iter()
        .enumerate()
        .map(|(i, s)| layer(s, i + 1))
        .collect::<Result<Vec<_>, _>>()
        .map_err(value_error)?;
    let xs = transposed(&x);
    let y: MatRef<'_, f64> = xs.as_ref();
    let method = method.to_string();
    let sol = py
        .detach(|| -> Result<_, String> {
            let model = MlModel::new(built).map_err(|e| e.to_string())?;
            let e = |e: mlcsc::Error| e.to_string();
            match method.as_str() {
                "relu" => LayeredThresholding::relu(&params)
                    .solve(&model, y)
                    .map_err(e),
                "soft" => LayeredThresholding::soft(&params)
                    .solve(&model, y)
                    .map_err(e),
                "hard" => LayeredThresholding::hard(&params)
                    .solve(&model, y)
                    .map_err(e),
                "layered_bp" => LayeredBp::new(params.clone()).solve(&model, y).map_err(e),
                "ml_ista" => MlIsta::new(params.clone())
                    .iterations(max_iter)
                    .solve(&model, y)
                    .map_err(e),
                "ml_fista" => MlFista::new(params.clone())
                    .iterations(max_iter)
                    .solve(&model, y)
                    .map_err(e),
                other => Err(format!(
                    "invalid parameter `method` = {other:?}: expected one of relu, soft, hard, \
                     layered_bp, ml_ista, ml_fista"
                )),
            }
        })
        .map_err(value_error)?;
    let objective = sol.diagnostics.iter().map(|d| d.objective).collect();
    Ok((
        sol.codes
            .iter()
            .map(|c| codes_to_numpy(py, c, None))
            .collect(),
        objective,
    ))
}
