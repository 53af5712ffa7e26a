//! The spark of a dictionary (the smallest number of linearly dependent atoms): exact by
//! exhaustive search for small dictionaries, the coherence lower bound `1 + 1/mu` otherwise.

use faer::Mat;
use serde::Serialize;
use sparse_core::Dictionary;

use crate::error::{invalid, Result};

/// How a [`Spark`] value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum SparkMethod {
    /// Exhaustive search over column subsets by increasing size: the value is exact.
    Exhaustive,
    /// Exhaustive search over every subset of fewer than `value` atoms found none dependent, then
    /// stopped at the subset budget: the value is a lower bound.
    PartialSearch,
    /// The coherence bound `spark >= 1 + 1/mu` (Donoho & Elad 2003), rounded up to an integer:
    /// a lower bound.
    CoherenceBound,
}

impl std::fmt::Display for SparkMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SparkMethod::Exhaustive => "exact (exhaustive search)",
            SparkMethod::PartialSearch => "lower bound (partial exhaustive search)",
            SparkMethod::CoherenceBound => "lower bound (1 + 1/mu)",
        })
    }
}

/// The spark `sigma(D)` or a lower bound on it, with the method that produced it.
///
/// When the atoms are linearly independent (`m <= n`, full column rank) no dependent subset
/// exists; the value is then reported as `m + 1` (for an orthonormal basis, `n + 1`), which
/// keeps `||a||_0 < spark / 2` a valid uniqueness test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spark {
    /// The spark (exact) or a lower bound on it.
    pub value: f64,
    /// Whether `value` is exact.
    pub exact: bool,
    /// How it was obtained.
    pub method: SparkMethod,
    /// Number of column subsets whose rank was tested.
    pub subsets_checked: u64,
}

/// Options of [`spark`].
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `max_subsets` | `2_000_000` | budget of column subsets to test before falling back to a bound |
/// | `tol` | `1e-8` | a subset is dependent when the smallest singular value of `D_S` is `<= tol` |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SparkOptions {
    /// Budget of subsets to test.
    pub max_subsets: u64,
    /// Singular-value threshold of dependence (atoms have unit norm, so it is absolute).
    pub tol: f64,
}

impl Default for SparkOptions {
    fn default() -> Self {
        Self {
            max_subsets: 2_000_000,
            tol: 1e-8,
        }
    }
}

/// The coherence lower bound on the spark, `1 + 1/mu` (`inf` for `mu = 0`).
pub fn spark_lower_bound(mu: f64) -> Result<f64> {
    let mu = crate::error::mu("mu", mu)?;
    Ok(if mu == 0.0 {
        f64::INFINITY
    } else {
        1.0 + 1.0 / mu
    })
}

/// `C(m, s)`, saturating at `u64::MAX`.
fn binomial(m: usize, s: usize) -> u64 {
    let s = s.min(m - s.min(m));
    let mut c: u128 = 1;
    for i in 0..s {
        c = c * (m - i) as u128 / (i + 1) as u128;
        if c > u64::MAX as u128 {
            return u64::MAX;
        }
    }
    c as u64
}

fn smallest_singular_value(a: faer::MatRef<'_, f64>) -> Result<f64> {
    let s = a
        .singular_values()
        .map_err(|e| sparse_core::Error::LinearAlgebra {
            context: "singular values of D_S",
            message: format!("{e:?}"),
        })?;
    Ok(s.last().copied().unwrap_or(0.0))
}

/// The spark of `d`: the smallest number of linearly dependent atoms.
///
/// Searches column subsets by increasing size `s`, testing `sigma_min(D_S) <= tol` by SVD. The
/// search starts at `s = ceil(1 + 1/mu)` (no smaller subset can be dependent) and stops at
/// `rank(D) + 1` (any that many atoms are dependent); sizes are searched only while the whole
/// level fits in `opts.max_subsets`. When the budget runs out, the result is the best lower
/// bound known, the first size not searched: `ceil(1 + 1/mu)` when no level fitted
/// ([`SparkMethod::CoherenceBound`]), larger when some did ([`SparkMethod::PartialSearch`]).
///
/// Errors: `tol` not finite and `>= 0`, or an SVD failure.
pub fn spark(d: &Dictionary, opts: SparkOptions) -> Result<Spark> {
    if !(opts.tol.is_finite() && opts.tol >= 0.0) {
        return Err(invalid("tol", opts.tol, "a finite number >= 0"));
    }
    let (n, m) = (d.signal_len(), d.n_atoms());
    let mu = d.coherence();
    let bound = spark_lower_bound(mu.min(1.0))?;
    let sv = d
        .matrix()
        .singular_values()
        .map_err(|e| sparse_core::Error::LinearAlgebra {
            context: "singular values of D",
            message: format!("{e:?}"),
        })?;
    let rank = sv.iter().filter(|&&s| s > opts.tol).count();
    // Any rank + 1 atoms are dependent; with rank == m there is no dependent subset at all.
    let top = if rank == m { m + 1 } else { rank + 1 };
    if rank == m {
        // sigma_min(D_S) >= sigma_min(D) > tol for every subset: nothing is dependent.
        return Ok(Spark {
            value: top as f64,
            exact: true,
            method: SparkMethod::Exhaustive,
            subsets_checked: 0,
        });
    }
    let start = if bound.is_finite() {
        ((bound - 1e-9 * bound).ceil() as usize).max(2)
    } else {
        top
    };
    let mut checked = 0u64;
    let mut s = start.min(top);
    while s < top {
        let level = binomial(m, s);
        if checked.saturating_add(level) > opts.max_subsets {
            // The spark is an integer, so `1 + 1/mu` already gives `spark >= start`.
            let method = if s == start {
                SparkMethod::CoherenceBound
            } else {
                SparkMethod::PartialSearch
            };
            let value = s as f64;
            return Ok(Spark {
                value,
                exact: false,
                method,
                subsets_checked: checked,
            });
        }
        let mut idx: Vec<usize> = (0..s).collect();
        let mut ds = Mat::<f64>::zeros(n, s);
        loop {
            for (c, &j) in idx.iter().enumerate() {
                ds.col_mut(c).copy_from(d.matrix().col(j));
            }
            checked += 1;
            if smallest_singular_value(ds.as_ref())? <= opts.tol {
                return Ok(Spark {
                    value: s as f64,
                    exact: true,
                    method: SparkMethod::Exhaustive,
                    subsets_checked: checked,
                });
            }
            // Next combination in lexicographic order.
            let mut i = s;
            while i > 0 && idx[i - 1] == m - s + i - 1 {
                i -= 1;
            }
            if i == 0 {
                break;
            }
            idx[i - 1] += 1;
            for t in i..s {
                idx[t] = idx[t - 1] + 1;
            }
        }
        s += 1;
    }
    Ok(Spark {
        value: top as f64,
        exact: true,
        method: SparkMethod::Exhaustive,
        subsets_checked: checked,
    })
}
