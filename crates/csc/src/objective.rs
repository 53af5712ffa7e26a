//! The convolutional BPDN functional, evaluated once for every solver and every caller.

use faer::{MatRef, Par};
use sparse_core::check;

use crate::error::{shape_mismatch, Result};
use crate::operator::ConvOperator;

/// The convolutional basis-pursuit-denoising functional of a batch of codes,
/// `sum_k 1/2 ||sum_i d_i * x_{k,i} - y_k||_2^2 + lambda ||x_k||_1`
/// (Wohlberg 2016, eq. (2); SPORCO's `ConvBPDN` functional with uniform weights): `codes` is
/// `code_len x b` (FilterMajor feature maps, one column per signal, as [`crate::Cbpdn`] returns
/// them) and `y` is `signal_len x b`. The synthesis `D x` runs with parallelism `par`.
///
/// One routine for comparing codes from different solvers (ours, SPORCO's) or different
/// iterates; the solvers record this functional of their own iterate (with their l1 weights) in
/// [`crate::IterationStats::objective`].
///
/// Errors: `y` empty, non-finite or not `signal_len` rows; `codes` not `code_len x b` or
/// non-finite; `lambda` not finite and `>= 0`; each naming the argument.
pub fn cbpdn_objective(
    op: &ConvOperator,
    codes: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    lambda: f64,
    par: Par,
) -> Result<f64> {
    check::batch("y", y, op.signal_len())?;
    if codes.nrows() != op.code_len() || codes.ncols() != y.ncols() {
        return Err(shape_mismatch(
            "codes",
            format!("{} x {} (code_len x signals)", op.code_len(), y.ncols()),
            format!("{} x {}", codes.nrows(), codes.ncols()),
        ));
    }
    check::finite("codes", codes)?;
    check::non_negative("lambda", lambda)?;
    let mut r = op.synthesize(codes, par)?;
    r -= y;
    let l1: f64 = (0..codes.ncols())
        .map(|j| codes.col(j).iter().map(|v| v.abs()).sum::<f64>())
        .sum();
    Ok(0.5 * r.squared_norm_l2() + lambda * l1)
}
