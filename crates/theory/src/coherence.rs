//! Coherence-type quantities of a dictionary: mutual coherence (dense, convolutional, and of
//! the effective dictionary `D1 D2 ... Dk` of a multi-layer model), the Welch bound (plain and
//! convolutional) and the Babel function.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use serde::Serialize;
use sparse_core::{check, Composed, Dictionary, LinearOperator};

use crate::error::{guard, invalid, Result};

/// Mutual coherence `mu(D) = max_{i != j} |<d_i, d_j>|` of a dictionary of unit-norm atoms
/// (Donoho & Elad 2003). 0 for a single atom.
pub fn coherence(d: &Dictionary) -> f64 {
    d.coherence()
}

/// Mutual coherence of the columns of any matrix, each normalised first:
/// `max_{i != j} |<a_i, a_j>| / (||a_i|| ||a_j||)`.
///
/// Errors: empty or non-finite input, or a zero column (`ZeroAtom`), naming `matrix`.
pub fn coherence_of_matrix(m: MatRef<'_, f64>) -> Result<f64> {
    Ok(Dictionary::from_matrix(m)?.coherence())
}

/// Mutual coherence of the global dictionary `D = [C_1 ... C_m]` of a convolutional operator,
/// computed by the `csc` crate from the circular cross-correlations of every pair of filters at
/// every overlapping shift (no `N x Nm` matrix is formed). It equals the coherence of
/// [`csc::ConvOperator::global_dictionary`], and does not depend on the signal size once
/// `N >= 2n - 1`.
pub fn conv_coherence(op: &csc::ConvOperator) -> f64 {
    op.coherence()
}

/// Mutual coherence of the effective dictionary `D1 D2 ... Dk` of a multi-layer model, from the
/// explicit product of the given layer matrices (`layers[0]` is `D1`, applied last). The columns
/// of the product are normalised before measuring (they are not unit-norm in general).
///
/// Errors: an empty list, non-finite entries or mismatched shapes (naming `layers`), a zero
/// column of the product, or a product too large to form.
pub fn effective_coherence(layers: &[MatRef<'_, f64>]) -> Result<f64> {
    let prod = effective_product(layers)?;
    coherence_of_matrix(prod.as_ref())
}

/// The coherences `mu(D^(i))` of every prefix product `D^(i) = D1 ... Di`, `i = 1..=k`: the
/// quantities of the ML-CSC projection theorem (Sulam, Papyan, Romano & Elad 2018).
pub fn effective_coherences(layers: &[MatRef<'_, f64>]) -> Result<Vec<f64>> {
    (1..=layers.len())
        .map(|i| effective_coherence(&layers[..i]))
        .collect()
}

/// The explicit product `D1 D2 ... Dk` (`layers[0]` outermost).
pub fn effective_product(layers: &[MatRef<'_, f64>]) -> Result<Mat<f64>> {
    let first = layers.first().ok_or(sparse_core::Error::Empty {
        argument: "layers",
        expected: "at least one layer matrix".into(),
    })?;
    check::finite("layers", *first)?;
    let mut prod = first.to_owned();
    for (i, l) in layers.iter().enumerate().skip(1) {
        check::finite("layers", *l)?;
        if l.nrows() != prod.ncols() {
            return Err(crate::error::shape_mismatch(
                "layers",
                format!("layer {i} with {} rows", prod.ncols()),
                format!("{} x {}", l.nrows(), l.ncols()),
            ));
        }
        guard("effective dictionary", prod.nrows(), l.ncols())?;
        let mut next = Mat::<f64>::zeros(prod.nrows(), l.ncols());
        matmul(
            next.as_mut(),
            Accum::Replace,
            prod.as_ref(),
            *l,
            1.0,
            Par::Seq,
        );
        prod = next;
    }
    Ok(prod)
}

/// Mutual coherence of a product of operators (for example the effective dictionary of an
/// ML-CSC model built by `mlcsc`), via [`Composed::to_dense`].
pub fn composed_coherence(op: &Composed) -> Result<f64> {
    guard("effective dictionary", op.nrows(), op.ncols())?;
    coherence_of_matrix(op.to_dense(Par::Seq).as_ref())
}

/// The Welch bound `sqrt((m - n) / (n (m - 1)))`: no `m` unit vectors in `R^n` have a smaller
/// coherence (Welch 1974; Strohmer & Heath 2003). 0 when `m <= n`.
pub fn welch_bound(n: usize, m: usize) -> f64 {
    sparse_core::welch_bound(n, m)
}

/// The Welch bound for a convolutional dictionary of `m` filters of length `n` (any signal
/// length `N >= 2n - 1`): `mu(D) >= sqrt((m - 1) / (m (2n - 1) - 1))` (Papyan, Sulam & Elad
/// 2017, after Welch 1974).
///
/// It is the plain Welch bound of the `(2n - 1) m` atoms of the global dictionary on a signal of
/// length `2n - 1`, whose coherence equals that of any longer signal (every overlapping shift
/// already appears). For `m = 2`, `n = 64` it gives `0.0629`, the `mu >= 0.063` of the reference.
///
/// Errors: `n = 0` or `m = 0`.
pub fn conv_welch_bound(filter_len: usize, n_filters: usize) -> Result<f64> {
    check::count("filter_len", filter_len, usize::MAX / 4)?;
    check::count("n_filters", n_filters, usize::MAX / (4 * filter_len))?;
    let w = 2 * filter_len - 1;
    Ok(welch_bound(w, w * n_filters))
}

/// The Babel function `mu_1(k) = max_i max_{|L| = k, i not in L} sum_{j in L} |<d_i, d_j>|`
/// (Tropp 2004), for `k = 0 .. m - 1`: the largest total coherence of one atom with `k` others.
/// `mu_1(1) = mu`, `mu_1(k) <= k mu`, non-decreasing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Babel {
    values: Vec<f64>,
}

impl Babel {
    /// `mu_1(k)`; for `k >= m` (more atoms than the others) the value at `k = m - 1`.
    pub fn at(&self, k: usize) -> f64 {
        let last = self.values.len() - 1;
        self.values[k.min(last)]
    }

    /// All values, `mu_1(0) = 0` first.
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

/// The Babel function of `d`: each row of the Gram matrix, off-diagonal magnitudes sorted in
/// decreasing order and summed cumulatively, then the maximum over rows at each `k`.
pub fn babel(d: &Dictionary) -> Babel {
    let g = d.gram();
    let m = g.ncols();
    let mut values = vec![0.0; m];
    let mut row = Vec::with_capacity(m);
    for i in 0..m {
        row.clear();
        row.extend((0..m).filter(|&j| j != i).map(|j| g[(i, j)].abs()));
        row.sort_unstable_by(|a, b| b.total_cmp(a));
        let mut s = 0.0;
        for (k, v) in row.iter().enumerate() {
            s += v;
            values[k + 1] = f64::max(values[k + 1], s);
        }
    }
    Babel { values }
}

/// The spectral norm `||D||_2` of an operator (the square root of its Lipschitz constant
/// `||D||_2^2`), as the ML-ISTA step conditions need it.
pub fn spectral_norm<Op: LinearOperator + ?Sized>(op: &Op) -> f64 {
    op.lipschitz().max(0.0).sqrt()
}

/// Rounds `v` to `digits` decimals (for comparing with numbers printed in papers); negative
/// `digits` round to tens, hundreds, ... Digits beyond what `v` can hold return `v` unchanged;
/// rounding to a place above `|v|` gives 0.
pub fn round_to(v: f64, digits: i32) -> f64 {
    if !v.is_finite() {
        return v;
    }
    if digits >= 0 {
        let s = 10f64.powi(digits);
        let scaled = v * s;
        if !scaled.is_finite() || scaled.abs() >= 2f64.powi(52) {
            // Already an exact multiple of 10^-digits to the precision of `v`.
            return v;
        }
        scaled.round() / s
    } else {
        let p = 10f64.powi(digits.saturating_neg());
        if !p.is_finite() {
            return 0.0f64.copysign(v);
        }
        (v / p).round() * p
    }
}

/// A support must be non-empty, of distinct indices `< m`, and of at most `n` atoms.
pub(crate) fn check_support(support: &[usize], m: usize, n: usize) -> Result<()> {
    if support.is_empty() {
        return Err(invalid("support", "[]", "a non-empty set of atom indices"));
    }
    if support.len() > n {
        return Err(invalid(
            "support",
            format!("{} atoms", support.len()),
            format!("at most signal_len = {n} atoms (more are always dependent)"),
        ));
    }
    let mut seen = vec![false; m];
    for &i in support {
        if i >= m {
            return Err(invalid("support", i, format!("atom indices < {m}")));
        }
        if std::mem::replace(&mut seen[i], true) {
            return Err(invalid("support", i, "distinct atom indices"));
        }
    }
    Ok(())
}
