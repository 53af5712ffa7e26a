//! Shared helpers of the pursuit integration tests.

use faer::MatRef;
use sparse_core::LinearOperator;

/// Largest violation of the Lasso optimality conditions over the batch, relative to `lambda`:
/// `D^T r = lambda sign(x_i)` on the support, `|D^T r| <= lambda` off it (`D^T r <= lambda`
/// and `x >= 0` for the non-negative problem).
pub fn kkt_violation<Op: LinearOperator + ?Sized>(
    d: &Op,
    y: MatRef<'_, f64>,
    x: MatRef<'_, f64>,
    lambda: f64,
    nonneg: bool,
) -> f64 {
    let r = y - d.apply(x).unwrap();
    let c = d.apply_adjoint(r.as_ref()).unwrap();
    let mut worst = 0.0f64;
    for j in 0..x.ncols() {
        for i in 0..x.nrows() {
            let (xi, ci) = (x[(i, j)], c[(i, j)]);
            let v = if xi != 0.0 {
                if nonneg && xi < 0.0 {
                    f64::INFINITY
                } else {
                    (ci - lambda * xi.signum()).abs()
                }
            } else if nonneg {
                (ci - lambda).max(0.0)
            } else {
                (ci.abs() - lambda).max(0.0)
            };
            worst = worst.max(v);
        }
    }
    worst / lambda
}
