//! Convolutional BPDN with a masked data term (mask decoupling, SPORCO's `ConvBPDNMaskDcpl`):
//! agreement with a dense weighted Lasso on the explicit global matrix, the optimality
//! conditions, the unmasked case against `Cbpdn`, per-signal masks, and bad input.

mod common;

use common::*;
use csc::Solve;
use csc::{AutoRho, Cbpdn, Grid, L1Weights, MaskedCbpdn};
use faer::Mat;
use sparse_core::{LinearOperator, Summary};

/// A 0/1 mask with about `missing` of the samples removed, seeded.
fn mask(len: usize, cols: usize, missing: f64, seed: u64) -> Mat<f64> {
    let u = gaussian(len, cols, seed);
    // Gaussian quantile of `missing` for the coin: Phi^{-1}(0.5) = 0, Phi^{-1}(0.3) ~ -0.524.
    let q = if missing == 0.5 { 0.0 } else { -0.524 };
    Mat::from_fn(len, cols, |i, j| if u[(i, j)] < q { 0.0 } else { 1.0 })
}

fn converged(lambda: f64, w: Mat<f64>) -> MaskedCbpdn {
    MaskedCbpdn::new(lambda, w)
        .max_iter(50_000)
        .rel_residual_tol(1e-12)
}

/// The masked problem is the weighted Lasso `1/2 ||W A x - W y||^2 + lambda sum w_j |x_j|` on
/// the explicit global matrix `A`; coordinate descent on it is the independent truth. Checked
/// for one and three signal channels, a multi-channel dictionary, l1 weights, non-negativity
/// and real-valued weights `W`.
#[test]
fn masked_cbpdn_equals_a_dense_weighted_lasso() {
    let cases = [
        (
            "1d",
            operator(Grid::d1(4), 1, Grid::d1(19), 1, 3, 1),
            false,
            false,
        ),
        (
            "2d",
            operator(Grid::d2(3, 2), 1, Grid::d2(7, 6), 1, 2, 2),
            false,
            false,
        ),
        (
            "2d-nonneg",
            operator(Grid::d2(3, 2), 1, Grid::d2(6, 6), 1, 2, 3),
            true,
            false,
        ),
        (
            "1d-3ch-single-dict",
            operator(Grid::d1(3), 1, Grid::d1(11), 3, 2, 4),
            false,
            true,
        ),
        (
            "2d-multichannel-dict",
            operator(Grid::d2(2, 3), 2, Grid::d2(5, 6), 2, 2, 5),
            false,
            true,
        ),
    ];
    for (label, op, nonneg, real_weights) in cases {
        let lambda = 0.05;
        let y = gaussian(op.signal_len(), 1, 11);
        let w = if real_weights {
            let g = gaussian(op.signal_len(), 1, 12);
            Mat::from_fn(op.signal_len(), 1, |i, _| {
                if i % 4 == 0 {
                    0.0
                } else {
                    0.5 + g[(i, 0)].abs()
                }
            })
        } else {
            mask(op.signal_len(), 1, 0.3, 13)
        };
        let l1w: Vec<f64> = (0..op.dictionary().n_filters())
            .map(|i| 1.0 + 0.5 * i as f64)
            .collect();
        let res = converged(lambda, w.clone())
            .nonneg(nonneg)
            .weights(L1Weights::PerFilter(l1w.clone()))
            .solve(&op, y.as_ref())
            .unwrap();
        assert!(
            res.all_converged(),
            "{label}: {:?}",
            res.diagnostics[0].iterations
        );
        let a = op.global_matrix().unwrap();
        let wa = Mat::from_fn(a.nrows(), a.ncols(), |i, j| w[(i, 0)] * a[(i, j)]);
        let wy: Vec<f64> = (0..y.nrows()).map(|i| w[(i, 0)] * y[(i, 0)]).collect();
        let n = op.n();
        let cw: Vec<f64> = (0..op.code_len())
            .map(|k| l1w[(k / n) % l1w.len()])
            .collect();
        let dense = dense_lasso(wa.as_ref(), &wy, lambda, &cw, nonneg);
        let err = dense
            .iter()
            .zip(res.codes.col_as_slice(0))
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        let scale = dense.iter().map(|v| v.abs()).fold(0.0, f64::max);
        assert!(scale > 0.0, "{label}: zero solution");
        assert!(
            err <= 1e-6 * scale,
            "{label}: max diff {err} (scale {scale})"
        );
        // The diagnostics describe the returned code: its masked objective.
        let z = &res.codes;
        let r = op.apply(z.as_ref()).unwrap() - &y;
        let f: f64 = (0..r.nrows())
            .map(|i| 0.5 * (w[(i, 0)] * r[(i, 0)]).powi(2))
            .sum::<f64>()
            + lambda
                * z.col(0)
                    .iter()
                    .zip(&cw)
                    .map(|(v, c)| c * v.abs())
                    .sum::<f64>();
        let d = res.diagnostics[0].objective;
        assert!((d - f).abs() <= 1e-9 * f, "{label}: objective {d} vs {f}");
    }
}

/// Subgradient conditions of `1/2 ||W (D z - y)||^2 + lambda ||z||_1` at the returned code,
/// on a batch with one mask per signal (50% missing), in 2-D.
#[test]
fn masked_cbpdn_meets_its_optimality_conditions_with_a_mask_per_signal() {
    let op = operator(Grid::d2(3, 3), 1, Grid::d2(12, 10), 1, 4, 31);
    let y = gaussian(op.signal_len(), 3, 32);
    let w = mask(op.signal_len(), 3, 0.5, 33);
    let lambda = 0.1;
    let res = converged(lambda, w.clone())
        .auto_rho(AutoRho {
            enabled: true,
            ..MaskedCbpdn::new(0.0, w.clone()).auto_rho
        })
        .solve(&op, y.as_ref())
        .unwrap();
    assert!(res.all_converged());
    let z = &res.codes;
    let r = op.apply(z.as_ref()).unwrap() - &y;
    let wr = Mat::from_fn(r.nrows(), r.ncols(), |i, j| {
        w[(i, j)] * w[(i, j)] * r[(i, j)]
    });
    let g = op.apply_adjoint(wr.as_ref()).unwrap();
    for j in 0..3 {
        assert_l1_subgradient("masked", z.as_ref(), g.as_ref(), j, lambda);
    }
    // The masked-out samples do not pull the codes: changing them changes nothing.
    let mut y2 = y.clone();
    for j in 0..3 {
        for i in 0..y.nrows() {
            if w[(i, j)] == 0.0 {
                y2[(i, j)] = 100.0;
            }
        }
    }
    let res2 = converged(lambda, w.clone())
        .solve(&op, y2.as_ref())
        .unwrap();
    let diff = max_diff(res.codes.as_ref(), res2.codes.as_ref());
    assert!(diff < 1e-6, "masked-out samples moved the codes by {diff}");
}

/// With `W = 1` the masked problem is plain convolutional BPDN: the same minimiser as
/// [`Cbpdn`].
#[test]
fn an_all_ones_mask_is_cbpdn() {
    let op = operator(Grid::d2(3, 3), 1, Grid::d2(10, 9), 1, 3, 41);
    let y = gaussian(op.signal_len(), 2, 42);
    let ones = Mat::from_fn(op.signal_len(), 1, |_, _| 1.0);
    let a = converged(0.1, ones).solve(&op, y.as_ref()).unwrap();
    let b = Cbpdn::new(0.1)
        .max_iter(50_000)
        .rel_residual_tol(1e-12)
        .solve(&op, y.as_ref())
        .unwrap();
    assert!(a.all_converged() && b.all_converged());
    let d = max_diff(a.codes.as_ref(), b.codes.as_ref());
    assert!(d < 1e-7, "{d}");
}

/// A capped run does not claim convergence, and bad arguments are errors naming them.
#[test]
fn masked_cbpdn_rejects_bad_input_and_reports_the_cap() {
    let op = operator(Grid::d1(3), 1, Grid::d1(16), 1, 2, 51);
    let y = gaussian(16, 2, 52);
    let w = mask(16, 1, 0.5, 53);
    let res = MaskedCbpdn::new(0.05, w.clone())
        .max_iter(3)
        .solve(&op, y.as_ref())
        .unwrap();
    assert!(!res.all_converged());
    assert_eq!(res.diagnostics[0].iterations, 3);
    let err = |s: MaskedCbpdn| s.solve(&op, y.as_ref()).unwrap_err().to_string();
    assert!(err(MaskedCbpdn::new(0.05, Mat::zeros(15, 1))).contains("mask"));
    assert!(err(MaskedCbpdn::new(0.05, Mat::zeros(16, 3))).contains("mask"));
    let mut nan = w.clone();
    nan[(2, 0)] = f64::NAN;
    assert!(err(MaskedCbpdn::new(0.05, nan)).contains("mask"));
    assert!(err(MaskedCbpdn::new(-1.0, w.clone())).contains("lambda"));
    assert!(err(MaskedCbpdn::new(0.05, w.clone()).rho(0.0)).contains("rho"));
    assert!(err(MaskedCbpdn::new(0.05, w.clone()).relax(2.0)).contains("relax"));
    // The caller's mask and signals are not modified.
    let (w0, y0) = (w.clone(), y.clone());
    let s = MaskedCbpdn::new(0.05, w.clone());
    s.solve(&op, y.as_ref()).unwrap();
    assert_eq!(s.mask, w0);
    assert_eq!(y, y0);
}
