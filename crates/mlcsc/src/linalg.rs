//! Small dense least-squares kernels (faer's SVD) for the greedy multi-layer pursuits.

use faer::{Mat, MatRef};

use crate::error::{Error, Result};

/// Relative singular-value cutoff below which directions count as rank-deficient.
const RANK_TOL: f64 = 1e-10;

/// The minimum-norm least-squares solution `argmin ||y - A x||_2` (pseudo-inverse by SVD,
/// singular values below `RANK_TOL * s_max` dropped). Zeros when `A` is empty or zero; an
/// [`Error::NoConvergence`] when the SVD fails.
pub(crate) fn lstsq(a: MatRef<'_, f64>, y: &[f64]) -> Result<Vec<f64>> {
    let t = a.ncols();
    if t == 0 || a.nrows() == 0 {
        return Ok(vec![0.0; t]);
    }
    let svd = a.thin_svd().map_err(|_| Error::NoConvergence {
        what: "the least-squares matrix",
    })?;
    let (u, s, v) = (svd.U(), svd.S().column_vector(), svd.V());
    let smax = s.iter().copied().fold(0.0, f64::max);
    let mut x = vec![0.0; t];
    for k in 0..s.nrows() {
        if s[k] <= RANK_TOL * smax || s[k] == 0.0 {
            continue;
        }
        let c: f64 = (0..a.nrows()).map(|i| u[(i, k)] * y[i]).sum::<f64>() / s[k];
        for (r, xr) in x.iter_mut().enumerate() {
            *xr += v[(r, k)] * c;
        }
    }
    Ok(x)
}

/// An orthonormal basis (columns) of the null space of `b` (`c x t`); the identity when `b`
/// has no rows, an empty `t x 0` matrix when `b` has full column rank; an
/// [`Error::NoConvergence`] when the SVD fails.
pub(crate) fn null_space(b: MatRef<'_, f64>) -> Result<Mat<f64>> {
    let t = b.ncols();
    if b.nrows() == 0 {
        return Ok(Mat::identity(t, t));
    }
    let svd = b.svd().map_err(|_| Error::NoConvergence {
        what: "the co-support constraints",
    })?;
    let s = svd.S().column_vector();
    let smax = s.iter().copied().fold(0.0, f64::max);
    let rank = s
        .iter()
        .filter(|&&v| v > RANK_TOL * smax.max(1e-300))
        .count();
    let v = svd.V();
    Ok(Mat::from_fn(t, t - rank, |i, j| v[(i, rank + j)]))
}

/// `argmin ||y - A x||_2` subject to `B x = 0` (`A` is `n x t`, `B` is `c x t`): `x = N w`
/// with `N` a basis of the null space of `B` and `w` the least-squares solution on `A N`.
pub(crate) fn constrained_lstsq(
    a: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    y: &[f64],
) -> Result<Vec<f64>> {
    let t = a.ncols();
    let n = null_space(b)?;
    if n.ncols() == 0 {
        return Ok(vec![0.0; t]);
    }
    let an = a * &n;
    let w = lstsq(an.as_ref(), y)?;
    Ok((0..t)
        .map(|i| (0..n.ncols()).map(|j| n[(i, j)] * w[j]).sum())
        .collect())
}

/// Applies an element-wise shrinkage to every entry of `m` through contiguous column slices
/// with the variant matched once and without branches on the data (sign-random branches cost
/// as much as the products of an ML-ISTA iteration); `TopK`
/// goes through [`Shrinkage::apply_batch`](sparse_core::Shrinkage::apply_batch).
pub(crate) fn shrink_in_place(s: sparse_core::Shrinkage, m: &mut Mat<f64>) {
    use sparse_core::Shrinkage;
    for j in 0..m.ncols() {
        let c = m.col_as_slice_mut(j);
        match s {
            // Branch-free: v - clamp(v, -t, t) is exactly sign(v) max(|v| - t, 0).
            Shrinkage::Soft(t) => c.iter_mut().for_each(|v| *v -= v.clamp(-t, t)),
            Shrinkage::Hard(t) => c.iter_mut().for_each(|v| {
                *v = if v.abs() > t { *v } else { 0.0 };
            }),
            Shrinkage::NonNegSoft(t) => c.iter_mut().for_each(|v| *v = (*v - t).max(0.0)),
            Shrinkage::TopK(_) => {
                s.apply_batch(m.as_mut());
                return;
            }
        }
    }
}
