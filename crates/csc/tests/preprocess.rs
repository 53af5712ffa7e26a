//! The Tikhonov split against its closed form on Fourier modes and a dense solve with
//! symmetric padding; the CBPDN functional against the explicit global matrix.

mod common;

use csc::{cbpdn_objective, tikhonov_filter, ConvDictionary, Grid};
use faer::linalg::solvers::Solve;
use faer::{Mat, Par, Side};

/// On a circular grid with no padding, a Fourier mode is an eigenvector of the 5-point
/// Laplacian: `(I + lambda L) cos(2 pi (a i / h + b j / w)) = (1 + lambda mu) cos(...)` with
/// `mu = 4 - 2 cos(2 pi a / h) - 2 cos(2 pi b / w)`, so the low-pass part is the mode divided by
/// `1 + lambda mu`.
#[test]
fn tikhonov_filter_scales_fourier_modes_by_the_symbol() {
    let (h, w, lambda) = (12usize, 10usize, 5.0);
    let tau = 2.0 * std::f64::consts::PI;
    for (a, b) in [(0usize, 0usize), (1, 0), (0, 3), (2, 1), (6, 5)] {
        let s = Mat::from_fn(h, w, |i, j| {
            (tau * (a as f64 * i as f64 / h as f64 + b as f64 * j as f64 / w as f64)).cos() + 0.5
        });
        let mu =
            4.0 - 2.0 * (tau * a as f64 / h as f64).cos() - 2.0 * (tau * b as f64 / w as f64).cos();
        let (low, high) = tikhonov_filter(s.as_ref(), lambda, 0).unwrap();
        for j in 0..w {
            for i in 0..h {
                // The constant 0.5 is in the kernel of L: it stays in the low-pass part.
                let want = (s[(i, j)] - 0.5) / (1.0 + lambda * mu) + 0.5;
                assert!(
                    (low[(i, j)] - want).abs() < 1e-12,
                    "mode ({a}, {b}) at ({i}, {j})"
                );
                assert_eq!(high[(i, j)], s[(i, j)] - low[(i, j)]);
            }
        }
    }
}

/// Symmetric extension by `npd` samples (the edge sample repeated), built from reversed slices.
fn pad_symmetric(s: &Mat<f64>, npd: usize) -> Mat<f64> {
    let ext = |n: usize| -> Vec<usize> {
        let mut v: Vec<usize> = (0..npd).rev().collect();
        v.extend(0..n);
        v.extend((n - npd..n).rev());
        v
    };
    let (ri, ci) = (ext(s.nrows()), ext(s.ncols()));
    Mat::from_fn(ri.len(), ci.len(), |i, j| s[(ri[i], ci[j])])
}

#[test]
fn tikhonov_filter_matches_a_dense_solve_on_the_padded_grid() {
    let s = common::gaussian(5, 4, 3);
    for (lambda, npd) in [(5.0, 2usize), (0.7, 4), (0.0, 1)] {
        let pad = pad_symmetric(&s, npd);
        let (ph, pw) = (pad.nrows(), pad.ncols());
        let n = ph * pw;
        // I + lambda (G_r^T G_r + G_c^T G_c), unknowns column-major on the padded grid.
        let idx = |i: usize, j: usize| (i % ph) + ph * (j % pw);
        let mut a = Mat::<f64>::zeros(n, n);
        for j in 0..pw {
            for i in 0..ph {
                let k = idx(i, j);
                a[(k, k)] += 1.0;
                for (di, dj) in [(1, 0), (0, 1)] {
                    // Forward difference e = x(i + di, j + dj) - x(i, j), squared, times lambda.
                    let l = idx(i + di, j + dj);
                    a[(k, k)] += lambda;
                    a[(l, l)] += lambda;
                    a[(k, l)] -= lambda;
                    a[(l, k)] -= lambda;
                }
            }
        }
        let b = Mat::from_fn(n, 1, |k, _| pad[(k % ph, k / ph)]);
        let x = a.llt(Side::Lower).unwrap().solve(&b);
        let (low, high) = tikhonov_filter(s.as_ref(), lambda, npd).unwrap();
        for j in 0..s.ncols() {
            for i in 0..s.nrows() {
                let want = x[(idx(i + npd, j + npd), 0)];
                assert!(
                    (low[(i, j)] - want).abs() < 1e-11,
                    "lambda {lambda}, npd {npd}"
                );
                assert!((high[(i, j)] - (s[(i, j)] - want)).abs() < 1e-11);
            }
        }
    }
}

#[test]
fn tikhonov_filter_rejects_bad_input_by_name() {
    let s = common::gaussian(5, 4, 3);
    let msg = |r: csc::Result<(Mat<f64>, Mat<f64>)>| r.unwrap_err().to_string();
    assert!(msg(tikhonov_filter(s.as_ref(), -1.0, 2)).contains("lambda"));
    assert!(msg(tikhonov_filter(s.as_ref(), 1.0, 5)).contains("npd"));
    assert!(msg(tikhonov_filter(Mat::<f64>::zeros(0, 3).as_ref(), 1.0, 0)).contains("`s`"));
    let mut bad = s.clone();
    bad[(1, 1)] = f64::NAN;
    assert!(msg(tikhonov_filter(bad.as_ref(), 1.0, 1)).contains("`s`"));
}

#[test]
fn cbpdn_objective_matches_the_global_matrix() {
    let mut rng = sparse_core::generate::rng(5);
    for (fg, sg) in [
        (Grid::d1(4), Grid::d1(11)),
        (Grid::d2(3, 2), Grid::d2(6, 5)),
    ] {
        let d = ConvDictionary::random(fg, 1, 3, &mut rng).unwrap();
        let op = d.operator(sg).unwrap();
        let g = op.global_matrix().unwrap();
        let x = common::gaussian(op.code_len(), 3, 7);
        let y = common::gaussian(op.signal_len(), 3, 8);
        let lambda = 0.3;
        let r = &g * &x - &y;
        let l1: f64 = (0..3)
            .map(|j| x.col(j).iter().map(|v| v.abs()).sum::<f64>())
            .sum();
        let want = 0.5 * r.squared_norm_l2() + lambda * l1;
        for par in [Par::Seq, Par::rayon(2)] {
            let got = cbpdn_objective(&op, x.as_ref(), y.as_ref(), lambda, par).unwrap();
            assert!((got - want).abs() <= 1e-12 * want, "{got} vs {want}");
        }
        let msg = |e: csc::Error| e.to_string();
        let e = cbpdn_objective(&op, x.as_ref().subcols(0, 2), y.as_ref(), lambda, Par::Seq);
        assert!(msg(e.unwrap_err()).contains("codes"));
        let e = cbpdn_objective(&op, x.as_ref(), y.as_ref(), -0.1, Par::Seq);
        assert!(msg(e.unwrap_err()).contains("lambda"));
        let e = cbpdn_objective(&op, x.as_ref(), x.as_ref(), lambda, Par::Seq);
        assert!(msg(e.unwrap_err()).contains("`y`"));
    }
}
