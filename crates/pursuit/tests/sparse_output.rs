//! `BatchOmp::solve_sparse` (and its `f32` twin) return what the dense solve returns, entry
//! for entry: the codes as `SparseCodes::from_dense` of the dense codes, the same diagnostics,
//! in one thread or several, on signals of unit size and on a batch that mixes in extreme
//! magnitudes (the dense fallback).

use faer::{Mat, Par};
use pursuit::greedy::Selection;
use pursuit::{BatchOmp, Solve, Stop};
use sparse_core::{generate, Dictionary, Noise, SparseCodes};

fn batch(n: usize, m: usize, cols: usize, seed: u64) -> (Dictionary, Mat<f64>) {
    let mut rng = generate::rng(seed);
    let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
    let x = generate::sparseland_codes(m, 5, cols, 0.3, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    (d, y)
}

#[test]
fn sparse_codes_are_the_dense_codes() {
    // 75 signals: two full chunks of 32 and a partial one; a zero signal among them.
    let (d, mut y) = batch(20, 45, 75, 3);
    y.col_mut(10).fill(0.0);
    let y32 = Mat::<f32>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] as f32);
    for stop in [
        Stop::Sparsity(4),
        Stop::SparsityOrResidual { k: 6, eps: 0.05 },
    ] {
        for sel in [Selection::Omp, Selection::Ormp] {
            for par in [Par::Seq, Par::rayon(2)] {
                let coder = BatchOmp::new(stop).selection(sel).par(par);
                let dense = coder.solve(&d, y.as_ref()).unwrap();
                let sparse = coder.solve_sparse(&d, y.as_ref()).unwrap();
                assert_eq!(sparse.codes, SparseCodes::from_dense(dense.codes.as_ref()));
                assert_eq!(sparse.diagnostics, dense.diagnostics);
                assert!(sparse.codes.nnz() > 0);

                let dense32 = Solve::<Dictionary, f32>::solve(&coder, &d, y32.as_ref()).unwrap();
                let wide = Mat::<f64>::from_fn(45, 75, |i, j| dense32.codes[(i, j)] as f64);
                let sparse32 = coder.solve_sparse_f32(&d, y32.as_ref()).unwrap();
                assert_eq!(sparse32.codes, SparseCodes::from_dense(wide.as_ref()));
                assert_eq!(sparse32.diagnostics, dense32.diagnostics);
            }
        }
    }
}

#[test]
fn extreme_magnitudes_take_the_dense_path_and_agree() {
    let (d, mut y) = batch(20, 45, 40, 5);
    y.col_mut(3).iter_mut().for_each(|v| *v *= 2f64.powi(-300));
    y.col_mut(7).iter_mut().for_each(|v| *v *= 2f64.powi(280));
    let y32 = Mat::<f32>::from_fn(20, 40, |i, j| {
        (y[(i, j)] * if j == 3 || j == 7 { 0.0 } else { 1.0 }) as f32
            * if j == 9 { 1e-20 } else { 1.0 }
    });
    let coder = BatchOmp::new(Stop::Sparsity(4)).selection(Selection::Ormp);
    let dense = coder.solve(&d, y.as_ref()).unwrap();
    let sparse = coder.solve_sparse(&d, y.as_ref()).unwrap();
    assert_eq!(sparse.codes, SparseCodes::from_dense(dense.codes.as_ref()));
    assert_eq!(sparse.diagnostics, dense.diagnostics);
    assert_eq!(sparse.codes.col(3).0.len(), 4, "the tiny signal is coded");
    let dense32 = Solve::<Dictionary, f32>::solve(&coder, &d, y32.as_ref()).unwrap();
    let wide = Mat::<f64>::from_fn(45, 40, |i, j| dense32.codes[(i, j)] as f64);
    let sparse32 = coder.solve_sparse_f32(&d, y32.as_ref()).unwrap();
    assert_eq!(sparse32.codes, SparseCodes::from_dense(wide.as_ref()));
    assert_eq!(sparse32.diagnostics, dense32.diagnostics);
}

#[test]
fn bad_input_is_refused_by_name() {
    let (d, y) = batch(20, 45, 5, 1);
    let coder = BatchOmp::new(Stop::Sparsity(4));
    let short = Mat::<f64>::zeros(19, 5);
    assert!(format!("{}", coder.solve_sparse(&d, short.as_ref()).unwrap_err()).contains('y'));
    let mut nan = y.clone();
    nan[(0, 0)] = f64::NAN;
    assert!(coder.solve_sparse(&d, nan.as_ref()).is_err());
    let zero_k = BatchOmp::new(Stop::Sparsity(0));
    assert!(format!("{}", zero_k.solve_sparse(&d, y.as_ref()).unwrap_err()).contains('k'));
    let y32 = Mat::<f32>::from_fn(20, 5, |i, j| y[(i, j)] as f32);
    assert!(zero_k.solve_sparse_f32(&d, y32.as_ref()).is_err());
}
