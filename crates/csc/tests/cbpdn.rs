//! Convolutional BPDN: optimality conditions, agreement of ADMM, FISTA and a dense Lasso on the
//! explicit global matrix, variants (non-negative, weighted, multi-channel), thresholding, and
//! bad inputs.

mod common;

use common::*;
use csc::Solve;
use csc::{Cbpdn, CbpdnFista, ConvOperator, ConvThresholding, Grid, L1Weights, SlicePursuit};
use faer::{Mat, Par};
use sparse_core::Summary;
use sparse_core::{LinearOperator, Shrinkage};

/// Checks the (weighted, possibly non-negative) Lasso optimality conditions of `g` for signal `y`:
/// `c = D^T (y - D g)`; on the support `c_j = lambda w_j sign(g_j)`, off it `|c_j| <= lambda w_j`
/// (`c_j <= lambda w_j` for the non-negative problem), up to `tol` (relative to lambda).
fn assert_kkt(
    op: &ConvOperator,
    y: &[f64],
    g: &[f64],
    lambda: f64,
    w: &[f64],
    nonneg: bool,
    tol: f64,
) {
    let gm = Mat::from_fn(g.len(), 1, |i, _| g[i]);
    let mut r = op.apply(gm.as_ref()).unwrap();
    for i in 0..y.len() {
        r[(i, 0)] = y[i] - r[(i, 0)];
    }
    let c = op.apply_adjoint(r.as_ref()).unwrap();
    let mut support = 0;
    for j in 0..g.len() {
        let (cj, t) = (c[(j, 0)], lambda * w[j]);
        if g[j] != 0.0 {
            support += 1;
            assert!(
                (cj - t * g[j].signum()).abs() <= tol * lambda,
                "on support {j}: {cj} vs {}",
                t * g[j].signum()
            );
            if nonneg {
                assert!(g[j] > 0.0);
            }
        } else if nonneg {
            assert!(cj <= t + tol * lambda, "off support {j}: {cj} > {t}");
        } else {
            assert!(
                cj.abs() <= t + tol * lambda,
                "off support {j}: |{cj}| > {t}"
            );
        }
    }
    assert!(support > 0, "trivial solution; pick a smaller lambda");
}

fn small_problems() -> Vec<(&'static str, ConvOperator, Mat<f64>)> {
    let mut out = Vec::new();
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 60 + k as u64);
        let y = gaussian(op.signal_len(), 1, 70 + k as u64);
        out.push((label, op, y));
    }
    out
}

#[test]
fn admm_satisfies_the_optimality_conditions() {
    for (label, op, y) in small_problems() {
        let lambda = 0.3;
        let res = Cbpdn::new(lambda)
            .rel_residual_tol(1e-10)
            .max_iter(20_000)
            .solve(&op, y.as_ref())
            .unwrap();
        assert!(res.all_converged(), "{label}");
        let w = vec![1.0; op.code_len()];
        assert_kkt(
            &op,
            y.col_as_slice(0),
            res.codes.col_as_slice(0),
            lambda,
            &w,
            false,
            1e-6,
        );
    }
}

#[test]
fn admm_fista_and_dense_lasso_agree() {
    for (label, op, y) in small_problems() {
        let lambda = 0.3;
        let admm = Cbpdn::new(lambda)
            .rel_residual_tol(1e-11)
            .max_iter(50_000)
            .solve(&op, y.as_ref())
            .unwrap();
        let fista = CbpdnFista::new(lambda)
            .change_tol(1e-13)
            .max_iter(200_000)
            .solve(&op, y.as_ref())
            .unwrap();
        assert!(fista.all_converged(), "{label}: FISTA did not converge");
        let d = op.global_matrix().unwrap();
        let w = vec![1.0; op.code_len()];
        let dense = dense_lasso(d.as_ref(), y.col_as_slice(0), lambda, &w, false);
        let dense = Mat::from_fn(dense.len(), 1, |i, _| dense[i]);
        assert!(
            max_diff(admm.codes.as_ref(), dense.as_ref()) < 1e-6,
            "{label}: ADMM vs dense"
        );
        assert!(
            max_diff(fista.codes.as_ref(), dense.as_ref()) < 1e-6,
            "{label}: FISTA vs dense"
        );
        assert!(
            max_diff(admm.codes.as_ref(), fista.codes.as_ref()) < 1e-6,
            "{label}: ADMM vs FISTA"
        );
        // Both report the same optimal objective.
        let (fa, ff) = (
            admm.diagnostics[0].final_objective(),
            fista.diagnostics[0].final_objective(),
        );
        assert!((fa - ff).abs() < 1e-6 * fa, "{label}: {fa} vs {ff}");
    }
}

#[test]
fn nonnegative_and_weighted_variants() {
    let mut rng = sparse_core::generate::rng(11);
    for (label, op, y) in small_problems() {
        let lambda = 0.2;
        let w: Vec<f64> = (0..op.code_len())
            .map(|_| 0.5 + rand::Rng::random::<f64>(&mut rng))
            .collect();
        let d = op.global_matrix().unwrap();
        for nonneg in [false, true] {
            let res = Cbpdn::new(lambda)
                .nonneg(nonneg)
                .weights(L1Weights::PerCoefficient(w.clone()))
                .rel_residual_tol(1e-11)
                .max_iter(50_000)
                .solve(&op, y.as_ref())
                .unwrap();
            let g = res.codes.col_as_slice(0);
            assert_kkt(&op, y.col_as_slice(0), g, lambda, &w, nonneg, 1e-6);
            let dense = dense_lasso(d.as_ref(), y.col_as_slice(0), lambda, &w, nonneg);
            let diff = g
                .iter()
                .zip(&dense)
                .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
            assert!(diff < 1e-6, "{label} nonneg={nonneg}: {diff}");
            let fista = CbpdnFista::new(lambda)
                .nonneg(nonneg)
                .weights(L1Weights::PerCoefficient(w.clone()))
                .change_tol(1e-13)
                .max_iter(200_000)
                .solve(&op, y.as_ref())
                .unwrap();
            let diff = fista
                .codes
                .col_as_slice(0)
                .iter()
                .zip(&dense)
                .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
            assert!(diff < 1e-6, "{label} FISTA nonneg={nonneg}: {diff}");
        }
        // Per-filter weights are per-coefficient weights constant over each feature map.
        let m = op.dictionary().n_filters();
        let pf: Vec<f64> = (0..m).map(|i| 0.5 + i as f64 * 0.25).collect();
        let res = Cbpdn::new(lambda)
            .weights(L1Weights::PerFilter(pf.clone()))
            .rel_residual_tol(1e-11)
            .max_iter(50_000)
            .solve(&op, y.as_ref())
            .unwrap();
        let wfull: Vec<f64> = (0..op.code_len()).map(|j| pf[(j / op.n()) % m]).collect();
        assert_kkt(
            &op,
            y.col_as_slice(0),
            res.codes.col_as_slice(0),
            lambda,
            &wfull,
            false,
            1e-6,
        );
    }
}

#[test]
fn batches_match_single_signals() {
    let op = operator(Grid::d2(3, 3), 1, Grid::d2(10, 9), 1, 3, 5);
    let y = gaussian(op.signal_len(), 3, 6);
    let solver = Cbpdn::new(0.1).max_iter(30);
    let batch = solver
        .clone()
        .par(Par::rayon(2))
        .solve(&op, y.as_ref())
        .unwrap();
    for j in 0..3 {
        let one = solver
            .clone()
            .par(Par::Seq)
            .solve(&op, y.as_ref().subcols(j, 1))
            .unwrap();
        assert!(max_diff(one.codes.as_ref(), batch.codes.as_ref().subcols(j, 1)) < 1e-12);
        assert_eq!(one.diagnostics[0], batch.diagnostics[j]);
    }
    let fb = CbpdnFista::new(0.1)
        .max_iter(30)
        .par(Par::rayon(2))
        .solve(&op, y.as_ref())
        .unwrap();
    let f1 = CbpdnFista::new(0.1)
        .max_iter(30)
        .par(Par::Seq)
        .solve(&op, y.as_ref().subcols(1, 1))
        .unwrap();
    assert!(max_diff(f1.codes.as_ref(), fb.codes.as_ref().subcols(1, 1)) < 1e-12);
}

#[test]
fn admm_diagnostics_are_consistent() {
    let op = operator(Grid::d1(6), 1, Grid::d1(64), 1, 4, 8);
    let y = gaussian(64, 1, 9);
    let lambda = 0.2;
    let res = Cbpdn::new(lambda)
        .max_iter(40)
        .rel_residual_tol(1e-12)
        .solve(&op, y.as_ref())
        .unwrap();
    let info = &res.diagnostics[0];
    assert_eq!(info.iterations, 40);
    assert_eq!(info.records().len(), 40);
    assert!(!info.converged);
    assert_eq!(info.records()[0].step, 50.0 * lambda + 1.0);
    for s in info.records() {
        assert!((s.objective - s.data_fidelity - s.penalty).abs() < 1e-12);
        assert!(s.primal_residual.is_finite() && s.dual_residual.is_finite() && s.step > 0.0);
    }
    // The records are SPORCO's functional of the primal variable x; the diagnostics describe
    // the returned (sparse) code, checked against an independent evaluation.
    let f = csc::cbpdn_objective(&op, res.codes.as_ref(), y.as_ref(), lambda, Par::Seq).unwrap();
    assert!(
        (info.objective - f).abs() <= 1e-12 * f,
        "{} vs {f}",
        info.objective
    );
    let r = &y - sparse_core::LinearOperator::apply(&op, res.codes.as_ref()).unwrap();
    assert!((info.residual_norm - r.norm_l2()).abs() <= 1e-12 * r.norm_l2());
}

#[test]
fn fista_objective_decreases_overall() {
    let op = operator(Grid::d2(3, 3), 1, Grid::d2(12, 12), 1, 4, 3);
    let y = gaussian(op.signal_len(), 1, 4);
    let res = CbpdnFista::new(0.2)
        .max_iter(300)
        .change_tol(1e-12)
        .solve(&op, y.as_ref())
        .unwrap();
    let h = res.diagnostics[0].records();
    let first = h[0].objective;
    let last = h.last().unwrap().objective;
    assert!(h.iter().all(|s| s.objective <= first + 1e-12));
    assert!(last < first);
    // With restart, the objective never rises for long: every value within 1% of the running min.
    let mut best = f64::INFINITY;
    for s in h {
        best = best.min(s.objective);
        assert!(s.objective <= best * 1.01 + 1e-12);
    }
}

#[test]
fn thresholding_is_shrunk_correlations() {
    let op = operator(Grid::d2(3, 2), 1, Grid::d2(8, 7), 1, 3, 12);
    let y = gaussian(op.signal_len(), 2, 13);
    let corr = op.apply_adjoint(y.as_ref()).unwrap();
    let res = ConvThresholding::new(Shrinkage::Soft(0.5))
        .solve(&op, y.as_ref())
        .unwrap();
    let mut want = corr.clone();
    Shrinkage::Soft(0.5).apply_batch(want.as_mut());
    assert!(max_diff(res.codes.as_ref(), want.as_ref()) < 1e-14);
    let biases = vec![0.1, 0.4, 0.7];
    let relu = ConvThresholding::relu(biases.clone())
        .solve(&op, y.as_ref())
        .unwrap();
    let n = op.n();
    for j in 0..2 {
        for i in 0..op.code_len() {
            let want = (corr[(i, j)] - biases[i / n]).max(0.0);
            assert!((relu.codes[(i, j)] - want).abs() < 1e-14);
        }
    }
    let top = ConvThresholding::new(Shrinkage::TopK(5))
        .solve(&op, y.as_ref())
        .unwrap();
    assert_eq!(sparse_core::norms::l0(top.codes.col_as_slice(0), 0.0), 5);
}

#[test]
fn bad_inputs_are_errors() {
    let op = operator(Grid::d1(4), 1, Grid::d1(16), 1, 2, 0);
    let y = gaussian(16, 1, 1);
    assert!(Cbpdn::new(-1.0).solve(&op, y.as_ref()).is_err());
    assert!(Cbpdn::new(f64::NAN).solve(&op, y.as_ref()).is_err());
    assert!(Cbpdn::new(0.1).max_iter(0).solve(&op, y.as_ref()).is_err());
    assert!(Cbpdn::new(0.1).rho(0.0).solve(&op, y.as_ref()).is_err());
    assert!(Cbpdn::new(0.1).relax(2.0).solve(&op, y.as_ref()).is_err());
    assert!(Cbpdn::new(0.1)
        .rel_residual_tol(0.0)
        .solve(&op, y.as_ref())
        .is_err());
    assert!(Cbpdn::new(0.1)
        .weights(L1Weights::PerFilter(vec![1.0]))
        .solve(&op, y.as_ref())
        .is_err());
    assert!(Cbpdn::new(0.1)
        .weights(L1Weights::PerFilter(vec![1.0, -1.0]))
        .solve(&op, y.as_ref())
        .is_err());
    assert!(Cbpdn::new(0.1)
        .weights(L1Weights::PerCoefficient(vec![1.0; 3]))
        .solve(&op, y.as_ref())
        .is_err());
    let auto = csc::AutoRho {
        ratio: 0.5,
        ..Default::default()
    };
    assert!(Cbpdn::new(0.1)
        .auto_rho(auto)
        .solve(&op, y.as_ref())
        .is_err());
    assert!(Cbpdn::new(0.1)
        .solve(&op, gaussian(15, 1, 0).as_ref())
        .is_err());
    assert!(Cbpdn::new(0.1)
        .solve(&op, Mat::<f64>::zeros(16, 0).as_ref())
        .is_err());
    let mut bad = y.clone();
    bad[(3, 0)] = f64::INFINITY;
    let err = Cbpdn::new(0.1).solve(&op, bad.as_ref()).unwrap_err();
    assert!(err.to_string().contains("`y`"), "{err}");
    assert!(CbpdnFista::new(-0.1).solve(&op, y.as_ref()).is_err());
    assert!(CbpdnFista::new(0.1)
        .lipschitz(0.0)
        .solve(&op, y.as_ref())
        .is_err());
    assert!(CbpdnFista::new(0.1).solve(&op, bad.as_ref()).is_err());
    assert!(ConvThresholding::new(Shrinkage::Soft(-1.0))
        .solve(&op, y.as_ref())
        .is_err());
    assert!(ConvThresholding::relu(vec![0.0])
        .solve(&op, y.as_ref())
        .is_err());
    assert!(ConvThresholding::new(Shrinkage::TopK(3))
        .per_filter(vec![0.0, 0.0])
        .solve(&op, y.as_ref())
        .is_err());
}

#[test]
fn slice_pursuit_reaches_the_cbpdn_solution() {
    for (label, op, y) in small_problems() {
        let lambda = 0.3;
        let admm = Cbpdn::new(lambda)
            .rel_residual_tol(1e-11)
            .max_iter(50_000)
            .solve(&op, y.as_ref())
            .unwrap();
        let slices = SlicePursuit::new(lambda)
            .residual_tol(1e-11)
            .max_iter(50_000)
            .inner_sweeps(200)
            .solve(&op, y.as_ref())
            .unwrap();
        assert!(slices.all_converged(), "{label}");
        let d = max_diff(slices.codes.as_ref(), admm.codes.as_ref());
        assert!(d < 1e-6, "{label}: {d}");
    }
    let op = operator(Grid::d1(4), 1, Grid::d1(16), 1, 2, 0);
    let y = gaussian(16, 1, 1);
    assert!(SlicePursuit::new(-1.0).solve(&op, y.as_ref()).is_err());
    assert!(SlicePursuit::new(0.1)
        .inner_sweeps(0)
        .solve(&op, y.as_ref())
        .is_err());
    assert!(SlicePursuit::new(0.1)
        .rho(-1.0)
        .solve(&op, y.as_ref())
        .is_err());
}

#[test]
fn warm_start_from_the_solution_stays_there() {
    let (_, op, y) = small_problems().swap_remove(4);
    let solver = Cbpdn::new(0.3).rel_residual_tol(1e-10).max_iter(20_000);
    let cold = solver.solve(&op, y.as_ref()).unwrap();
    let warm = solver
        .solve_warm(&op, y.as_ref(), cold.codes.as_ref())
        .unwrap();
    assert!(max_diff(warm.codes.as_ref(), cold.codes.as_ref()) < 1e-8);
    assert!(warm.diagnostics[0].iterations < cold.diagnostics[0].iterations / 2);
    assert!(solver
        .solve_warm(&op, y.as_ref(), cold.codes.as_ref().subrows(0, 3))
        .is_err());
}

#[test]
fn the_operator_plugs_into_the_generic_lasso_solvers() {
    // pursuit's FISTA only sees a LinearOperator (apply, adjoint, exact lipschitz).
    for (label, op, y) in small_problems().into_iter().take(5) {
        let lambda = 0.3;
        let admm = Cbpdn::new(lambda)
            .rel_residual_tol(1e-11)
            .max_iter(50_000)
            .solve(&op, y.as_ref())
            .unwrap();
        let generic = pursuit::lasso::Fista::new(lambda)
            .gap_tol(1e-14)
            .max_iter(100_000)
            .solve(&op, y.as_ref())
            .unwrap();
        let d = max_diff(generic.codes.as_ref(), admm.codes.as_ref());
        assert!(d < 1e-6, "{label}: {d}");
    }
}

/// The convolutional elastic net (`mu > 0`) meets its optimality conditions at convergence,
/// `g = D^T (D z - y) + mu z` with `g_i = -lambda sign(z_i)` on the support and
/// `|g_i| <= lambda` off it, for one-channel and multi-channel dictionaries; its diagnostics
/// are the objective of the returned code, ridge term included.
#[test]
fn elastic_net_meets_its_optimality_conditions() {
    let (lambda, mu) = (0.1, 0.5);
    for (label, op) in [
        (
            "1 channel",
            operator(Grid::d2(3, 3), 1, Grid::d2(10, 9), 1, 4, 21),
        ),
        (
            "3 channels",
            operator(Grid::d2(3, 2), 3, Grid::d2(8, 8), 3, 3, 22),
        ),
    ] {
        let y = gaussian(op.signal_len(), 2, 23);
        let res = Cbpdn::new(lambda)
            .mu(mu)
            .max_iter(20_000)
            .rel_residual_tol(1e-11)
            .solve(&op, y.as_ref())
            .unwrap();
        assert!(res.all_converged(), "{label}");
        let z = &res.codes;
        let r = op.apply(z.as_ref()).unwrap() - &y;
        let g = op.apply_adjoint(r.as_ref()).unwrap() + z * faer::Scale(mu);
        for j in 0..z.ncols() {
            assert_l1_subgradient(label, z.as_ref(), g.as_ref(), j, lambda);
            let l1: f64 = z.col(j).iter().map(|v| v.abs()).sum();
            let f = 0.5 * r.col(j).squared_norm_l2()
                + lambda * l1
                + 0.5 * mu * z.col(j).squared_norm_l2();
            let d = res.diagnostics[j].objective;
            assert!((d - f).abs() <= 1e-9 * f, "{label}: objective {d} vs {f}");
        }
    }
    assert!(Cbpdn::new(0.1)
        .mu(-1.0)
        .solve(
            &operator(Grid::d1(3), 1, Grid::d1(16), 1, 2, 1),
            gaussian(16, 1, 1).as_ref()
        )
        .is_err());
}

/// `G^T G x` per map: the circular 5-point Laplacian on `rows x cols` maps (3-point on 1-D
/// signals, `cols = 1`).
fn grad_normal(x: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let n = rows * cols;
    let mut out = vec![0.0; x.len()];
    for (o, z) in out.chunks_mut(n).zip(x.chunks(n)) {
        for j in 0..cols {
            for i in 0..rows {
                let v = z[i + rows * j];
                let mut acc =
                    2.0 * v - z[(i + 1) % rows + rows * j] - z[(i + rows - 1) % rows + rows * j];
                if cols > 1 {
                    acc += 2.0 * v
                        - z[i + rows * ((j + 1) % cols)]
                        - z[i + rows * ((j + cols - 1) % cols)];
                }
                o[i + rows * j] = acc;
            }
        }
    }
    out
}

/// Gradient regularisation (SPORCO's `ConvBPDNGradReg`): at convergence the returned code meets
/// the subgradient conditions of `1/2 ||D z - y||^2 + lambda ||z||_1 + mu/2 sum_i w_i ||G z_i||^2`
/// (G^T G computed in the signal domain, independently of the Fourier-domain solve), for one
/// channel, a multi-channel dictionary and a single-channel dictionary on three channels, with
/// per-filter weights; the diagnostics report that objective.
#[test]
fn gradient_regularisation_meets_its_optimality_conditions() {
    let (lambda, mu) = (0.05, 0.7);
    for (label, op) in [
        ("1d", operator(Grid::d1(4), 1, Grid::d1(23), 1, 3, 61)),
        ("2d", operator(Grid::d2(3, 3), 1, Grid::d2(10, 9), 1, 4, 62)),
        (
            "2d multi-channel dictionary",
            operator(Grid::d2(3, 2), 2, Grid::d2(8, 8), 2, 3, 63),
        ),
        (
            "2d 3 channels",
            operator(Grid::d2(2, 2), 1, Grid::d2(6, 7), 3, 2, 64),
        ),
    ] {
        let m = op.dictionary().n_filters();
        let gw: Vec<f64> = (0..m)
            .map(|i| if i == 0 { 1.0 } else { 0.25 * i as f64 })
            .collect();
        let y = gaussian(op.signal_len(), 2, 65);
        let res = Cbpdn::new(lambda)
            .grad_reg(mu, Some(gw.clone()))
            .max_iter(20_000)
            .rel_residual_tol(1e-11)
            .solve(&op, y.as_ref())
            .unwrap();
        assert!(res.all_converged(), "{label}");
        let z = &res.codes;
        let g = op.signal_grid();
        let r = op.apply(z.as_ref()).unwrap() - &y;
        let dt = op.apply_adjoint(r.as_ref()).unwrap();
        let n = op.n();
        for j in 0..z.ncols() {
            let gz = grad_normal(z.col_as_slice(j), g.rows, g.cols);
            let wi = |i: usize| gw[(i / n) % m];
            let grad = Mat::from_fn(z.nrows(), 1, |i, _| dt[(i, j)] + mu * wi(i) * gz[i]);
            let zj = z.col(j).as_mat().to_owned();
            assert_l1_subgradient(label, zj.as_ref(), grad.as_ref(), 0, lambda);
            // z^T G^T G z = ||G z||^2.
            let reg: f64 = (0..z.nrows()).map(|i| wi(i) * z[(i, j)] * gz[i]).sum();
            let l1: f64 = z.col(j).iter().map(|v| v.abs()).sum();
            let f = 0.5 * r.col(j).squared_norm_l2() + lambda * l1 + 0.5 * mu * reg;
            let d = res.diagnostics[j].objective;
            assert!((d - f).abs() <= 1e-9 * f, "{label}: objective {d} vs {f}");
        }
    }
    let op = operator(Grid::d1(3), 1, Grid::d1(16), 1, 2, 1);
    let y = gaussian(16, 1, 1);
    assert!(Cbpdn::new(0.1)
        .grad_reg(-1.0, None)
        .solve(&op, y.as_ref())
        .is_err());
    let e = Cbpdn::new(0.1)
        .grad_reg(1.0, Some(vec![1.0]))
        .solve(&op, y.as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("grad_reg.weights"), "{e}");
    // mu = 0 is plain CBPDN, bit for bit.
    let a = Cbpdn::new(0.1).max_iter(50).solve(&op, y.as_ref()).unwrap();
    let b = Cbpdn::new(0.1)
        .grad_reg(0.0, Some(vec![1.0, 2.0]))
        .max_iter(50)
        .solve(&op, y.as_ref())
        .unwrap();
    assert_eq!(a.codes, b.codes);
}

/// Joint sparsity across channels (SPORCO's `ConvBPDNJoint`): a single-channel dictionary on
/// three channels; at convergence every group (filter, position) meets the subgradient
/// conditions of `lambda ||z||_1 + mu sum_groups ||z_group||_2`: for a non-zero group,
/// `g_c + lambda sign(z_c) + mu z_c / ||z_group|| = 0` where `z_c != 0` and `|g_c + 0| <=
/// lambda` where `z_c = 0`; for a zero group, `||S_lambda(g)||_2 <= mu`.
#[test]
fn joint_sparsity_meets_its_optimality_conditions() {
    let (lambda, mu) = (0.02, 0.15);
    let op = operator(Grid::d2(3, 3), 1, Grid::d2(9, 8), 3, 3, 71);
    let y = gaussian(op.signal_len(), 2, 72);
    let res = Cbpdn::new(lambda)
        .joint(mu)
        .max_iter(20_000)
        .rel_residual_tol(1e-11)
        .solve(&op, y.as_ref())
        .unwrap();
    assert!(res.all_converged());
    let (n, m, cx) = (op.n(), op.dictionary().n_filters(), 3);
    let z = &res.codes;
    let r = op.apply(z.as_ref()).unwrap() - &y;
    let g = op.apply_adjoint(r.as_ref()).unwrap();
    let (mut groups_on, mut partial) = (0, 0);
    for j in 0..2 {
        let mut l21 = 0.0;
        for i in 0..m {
            for q in 0..n {
                let k = |c: usize| (c * m + i) * n + q;
                let nz: f64 = (0..cx).map(|c| z[(k(c), j)].powi(2)).sum::<f64>().sqrt();
                l21 += nz;
                if nz > 1e-9 {
                    groups_on += 1;
                    for c in 0..cx {
                        let (zc, gc) = (z[(k(c), j)], g[(k(c), j)]);
                        if zc.abs() > 1e-9 {
                            let e = gc + lambda * zc.signum() + mu * zc / nz;
                            assert!(e.abs() < 1e-6, "group ({i}, {q}) channel {c}: {e}");
                        } else {
                            partial += 1;
                            assert!(gc.abs() <= lambda * (1.0 + 1e-6));
                        }
                    }
                } else {
                    let s: f64 = (0..cx)
                        .map(|c| (g[(k(c), j)].abs() - lambda).max(0.0).powi(2))
                        .sum::<f64>()
                        .sqrt();
                    assert!(s <= mu * (1.0 + 1e-6), "zero group ({i}, {q}): {s}");
                }
            }
        }
        let l1: f64 = z.col(j).iter().map(|v| v.abs()).sum();
        let f = 0.5 * r.col(j).squared_norm_l2() + lambda * l1 + mu * l21;
        let d = res.diagnostics[j].objective;
        assert!((d - f).abs() <= 1e-9 * f, "objective {d} vs {f}");
    }
    assert!(groups_on > 0);
    let _ = partial;
    assert!(Cbpdn::new(0.1).joint(-1.0).solve(&op, y.as_ref()).is_err());
    let a = Cbpdn::new(0.1).max_iter(40).solve(&op, y.as_ref()).unwrap();
    let b = Cbpdn::new(0.1)
        .joint(0.0)
        .max_iter(40)
        .solve(&op, y.as_ref())
        .unwrap();
    assert_eq!(a.codes, b.codes);
}
