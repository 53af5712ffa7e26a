//! The theory calculators for Python: dictionary quantities (coherence, Welch bound, Babel
//! function, spark, ERC) and the recovery theorems as `Certificate` objects.

use numpy::PyReadonlyArray2;
use pyo3::prelude::*;
use sparse_core::Dictionary;
use theory::certificate::{Certificate as Cert, Relation};

use crate::{transposed, value_error};

/// A theorem's sufficient condition evaluated on given quantities (`theory::Certificate`):
/// `holds` is whether `lhs (relation) rhs` (and any side condition) is met; `bound` the
/// guaranteed error bound when it holds.
#[pyclass(frozen, module = "sparseland", name = "Certificate")]
pub struct Certificate(Cert);

#[pymethods]
impl Certificate {
    /// Short name of the theorem.
    #[getter]
    fn theorem(&self) -> &str {
        &self.0.theorem
    }
    /// The paper(s) it comes from.
    #[getter]
    fn citation(&self) -> &'static str {
        self.0.citation
    }
    /// The condition, in words and symbols.
    #[getter]
    fn condition(&self) -> &'static str {
        self.0.condition
    }
    /// `"<"`, `"<="` or `">"`.
    #[getter]
    fn relation(&self) -> &'static str {
        match self.0.relation {
            Relation::Less => "<",
            Relation::LessEq => "<=",
            Relation::Greater => ">",
        }
    }
    /// Whether the condition holds.
    #[getter]
    fn holds(&self) -> bool {
        self.0.holds
    }
    /// Left side of the condition.
    #[getter]
    fn lhs(&self) -> f64 {
        self.0.lhs
    }
    /// Right side of the condition.
    #[getter]
    fn rhs(&self) -> f64 {
        self.0.rhs
    }
    /// What the theorem guarantees when the condition holds.
    #[getter]
    fn guarantee(&self) -> &'static str {
        self.0.guarantee
    }
    /// The guaranteed error bound (None when the condition fails or the theorem bounds none).
    #[getter]
    fn bound(&self) -> Option<f64> {
        self.0.error_bound
    }
    /// How far inside the condition the quantities are (positive when it holds).
    #[getter]
    fn slack(&self) -> f64 {
        self.0.slack()
    }
    fn __bool__(&self) -> bool {
        self.0.holds
    }
    fn __repr__(&self) -> String {
        let c = &self.0;
        format!(
            "Certificate({:?}: {} {} {} -> {}{}; {}; {})",
            c.theorem,
            c.lhs,
            self.relation(),
            c.rhs,
            if c.holds { "holds" } else { "does not hold" },
            c.error_bound
                .map_or(String::new(), |b| format!(", bound {b}")),
            c.condition,
            c.citation
        )
    }
}

fn wrap(c: theory::Result<Cert>) -> PyResult<Certificate> {
    c.map(Certificate).map_err(value_error)
}

/// The dictionary of the rows of `dictionary` (`(n_components, n_features)`), normalised.
fn dict_of(d: &PyReadonlyArray2<'_, f64>) -> PyResult<Dictionary> {
    Dictionary::from_matrix(transposed(d).as_ref()).map_err(value_error)
}

/// Mutual coherence `max_{i != j} |<d_i, d_j>|` of the normalised rows of `dictionary`.
#[pyfunction]
fn coherence(dictionary: PyReadonlyArray2<'_, f64>) -> PyResult<f64> {
    Ok(theory::coherence::coherence(&dict_of(&dictionary)?))
}

/// The Welch bound `sqrt((m - n) / (n (m - 1)))`: the smallest coherence of `m` unit atoms
/// in `R^n`.
#[pyfunction]
fn welch_bound(n: usize, m: usize) -> f64 {
    theory::coherence::welch_bound(n, m)
}

/// The Babel function `mu_1(k)` (Tropp 2004) for `k = 0 .. m - 1`, as a list indexed by `k`
/// (`mu_1(0) = 0`, `mu_1(1) = mu`).
#[pyfunction]
fn babel(dictionary: PyReadonlyArray2<'_, f64>) -> PyResult<Vec<f64>> {
    Ok(theory::coherence::babel(&dict_of(&dictionary)?)
        .values()
        .to_vec())
}

/// The spark (smallest number of linearly dependent atoms): `(value, exact)`, exact by
/// exhaustive search within `max_subsets` subsets, else a lower bound.
#[pyfunction]
#[pyo3(signature = (dictionary, max_subsets=2_000_000, tol=1e-8))]
fn spark(
    dictionary: PyReadonlyArray2<'_, f64>,
    max_subsets: u64,
    tol: f64,
) -> PyResult<(f64, bool)> {
    let d = dict_of(&dictionary)?;
    let s = theory::spark::spark(&d, theory::spark::SparkOptions { max_subsets, tol })
        .map_err(value_error)?;
    Ok((s.value, s.exact))
}

/// Tropp's exact recovery coefficient `1 - max_{i not in S} ||D_S^+ d_i||_1` of `support`.
#[pyfunction]
fn erc(dictionary: PyReadonlyArray2<'_, f64>, support: Vec<usize>) -> PyResult<f64> {
    theory::support::erc(&dict_of(&dictionary)?, &support).map_err(value_error)
}

/// Uniqueness of a `k`-sparse representation from the coherence `mu` (Donoho & Elad 2003).
#[pyfunction]
fn uniqueness(mu: f64, k: f64) -> PyResult<Certificate> {
    wrap(theory::sparseland::uniqueness_coherence(mu, k))
}

/// Exact recovery of a `k`-sparse representation by OMP (Tropp 2004).
#[pyfunction]
fn omp_recovery(mu: f64, k: f64) -> PyResult<Certificate> {
    wrap(theory::sparseland::omp_recovery(mu, k))
}

/// Exact recovery by Basis Pursuit (Donoho & Elad 2003).
#[pyfunction]
fn bp_recovery(mu: f64, k: f64) -> PyResult<Certificate> {
    wrap(theory::sparseland::bp_recovery(mu, k))
}

/// Exact recovery from the ERC of the true support (Tropp 2004).
#[pyfunction]
fn erc_recovery(erc: f64) -> PyResult<Certificate> {
    wrap(theory::sparseland::erc_recovery(erc))
}

/// Stability of BPDN with noise of norm `eps` (Donoho, Elad & Temlyakov 2006).
#[pyfunction]
fn bp_stability(mu: f64, k: f64, eps: f64) -> PyResult<Certificate> {
    wrap(theory::sparseland::bp_stability(mu, k, eps))
}

/// Support recovery by thresholding with coefficient magnitudes in `[a_min, a_max]` and noise
/// of norm `eps`.
#[pyfunction]
fn thresholding_recovery(
    mu: f64,
    k: f64,
    a_min: f64,
    a_max: f64,
    eps: f64,
) -> PyResult<Certificate> {
    wrap(theory::sparseland::thresholding_recovery(
        mu, k, a_min, a_max, eps,
    ))
}

/// Registers the calculators in the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Certificate>()?;
    m.add_function(wrap_pyfunction!(coherence, m)?)?;
    m.add_function(wrap_pyfunction!(welch_bound, m)?)?;
    m.add_function(wrap_pyfunction!(babel, m)?)?;
    m.add_function(wrap_pyfunction!(spark, m)?)?;
    m.add_function(wrap_pyfunction!(erc, m)?)?;
    m.add_function(wrap_pyfunction!(uniqueness, m)?)?;
    m.add_function(wrap_pyfunction!(omp_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(bp_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(erc_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(bp_stability, m)?)?;
    m.add_function(wrap_pyfunction!(thresholding_recovery, m)?)?;
    Ok(())
}
