//! Shared generators for the csc tests.
#![allow(dead_code)]

use csc::{ConvDictionary, ConvOperator, Grid, Method};
use faer::{Mat, MatRef};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::generate;

/// A random Gaussian matrix.
pub fn gaussian(rows: usize, cols: usize, seed: u64) -> Mat<f64> {
    let mut rng = generate::rng(seed);
    Mat::from_fn(rows, cols, |_, _| StandardNormal.sample(&mut rng))
}

/// The operator configurations every identity is checked on:
/// (label, filter grid, dictionary channels, signal grid, signal channels, filters).
pub fn configurations() -> Vec<(&'static str, Grid, usize, Grid, usize, usize)> {
    vec![
        ("1d", Grid::d1(5), 1, Grid::d1(17), 1, 3),
        ("1d-wrap", Grid::d1(6), 1, Grid::d1(8), 1, 2),
        ("1d-multichannel-dict", Grid::d1(4), 3, Grid::d1(12), 3, 2),
        ("1d-single-dict-2ch", Grid::d1(3), 1, Grid::d1(10), 2, 2),
        ("2d", Grid::d2(3, 2), 1, Grid::d2(7, 6), 1, 3),
        ("2d-square", Grid::d2(3, 3), 1, Grid::d2(8, 8), 1, 2),
        (
            "2d-multichannel-dict",
            Grid::d2(2, 3),
            2,
            Grid::d2(5, 6),
            2,
            2,
        ),
        (
            "2d-single-dict-3ch",
            Grid::d2(2, 2),
            1,
            Grid::d2(4, 5),
            3,
            2,
        ),
        ("2d-odd-wrap", Grid::d2(3, 3), 1, Grid::d2(5, 4), 1, 2),
    ]
}

/// The operator of a configuration with a seeded random dictionary.
pub fn operator(
    filter: Grid,
    dict_channels: usize,
    signal: Grid,
    channels: usize,
    m: usize,
    seed: u64,
) -> ConvOperator {
    let mut rng = generate::rng(seed);
    let d = ConvDictionary::random(filter, dict_channels, m, &mut rng).unwrap();
    d.operator_with_channels(signal, channels).unwrap()
}

/// The same operator forced to `method`.
pub fn with(op: &ConvOperator, method: Method) -> ConvOperator {
    op.clone().with_method(method)
}

/// A random code with each entry non-zero with probability `p`.
pub fn sparse_code<R: Rng>(len: usize, p: f64, rng: &mut R) -> Vec<f64> {
    (0..len)
        .map(|_| {
            if rng.random::<f64>() < p {
                let g: f64 = StandardNormal.sample(rng);
                g
            } else {
                0.0
            }
        })
        .collect()
}

/// Largest absolute entry-wise difference.
pub fn max_diff(a: faer::MatRef<'_, f64>, b: faer::MatRef<'_, f64>) -> f64 {
    assert_eq!((a.nrows(), a.ncols()), (b.nrows(), b.ncols()));
    let mut d = 0.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            d = d.max((a[(i, j)] - b[(i, j)]).abs());
        }
    }
    d
}

/// Dense coordinate descent for `min 1/2 ||y - A x||^2 + lambda sum w_j |x_j|` (`x >= 0` when
/// `nonneg`), run until no coordinate moves by more than 1e-14.
pub fn dense_lasso(
    a: MatRef<'_, f64>,
    y: &[f64],
    lambda: f64,
    w: &[f64],
    nonneg: bool,
) -> Vec<f64> {
    let (n, p) = (a.nrows(), a.ncols());
    let mut x = vec![0.0; p];
    let mut r = y.to_vec();
    let norms: Vec<f64> = (0..p).map(|j| a.col(j).squared_norm_l2()).collect();
    for _ in 0..200_000 {
        let mut moved = 0.0f64;
        for j in 0..p {
            let corr: f64 = (0..n).map(|i| a[(i, j)] * r[i]).sum();
            let v = x[j] + corr / norms[j];
            let t = lambda * w[j] / norms[j];
            let new = if nonneg {
                (v - t).max(0.0)
            } else {
                v.signum() * (v.abs() - t).max(0.0)
            };
            let d = new - x[j];
            if d != 0.0 {
                for i in 0..n {
                    r[i] -= d * a[(i, j)];
                }
                x[j] = new;
                moved = moved.max(d.abs());
            }
        }
        if moved < 1e-14 {
            break;
        }
    }
    x
}

/// Asserts the subgradient conditions of an l1 penalty at column `j` of the codes `z`, with `g`
/// the gradient of the smooth part there: `g_i = -lambda sign(z_i)` (to 1e-6) where
/// `|z_i| > 1e-9`, `|g_i| <= lambda (1 + 1e-6)` elsewhere, and a non-empty support.
pub fn assert_l1_subgradient(
    label: &str,
    z: MatRef<'_, f64>,
    g: MatRef<'_, f64>,
    j: usize,
    lambda: f64,
) {
    let mut on = 0;
    for i in 0..z.nrows() {
        let (zi, gi) = (z[(i, j)], g[(i, j)]);
        if zi.abs() > 1e-9 {
            on += 1;
            assert!(
                (gi + lambda * zi.signum()).abs() < 1e-6,
                "{label}: ({i}, {j}) {gi} {zi}"
            );
        } else {
            assert!(
                gi.abs() <= lambda * (1.0 + 1e-6),
                "{label}: ({i}, {j}) {gi}"
            );
        }
    }
    assert!(on > 0, "{label}: all-zero code");
}
