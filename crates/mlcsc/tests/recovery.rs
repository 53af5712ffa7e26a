//! Recovery of every layer on synthesised model signals. The measured errors against the
//! stability theorems of the layered, projection and layered-BP pursuits are checked in
//! `crates/theory/tests/mlcsc_stability.rs`, with the calculators of `theory`.
#![allow(clippy::needless_range_loop)]

use faer::Mat;
use mlcsc::{Holistic, Layer, LayeredThresholding, MlModel, Projection, Solve, Synthesis};
use sparse_core::metrics::support_scores;
use sparse_core::{generate, Dictionary, Noise};

/// `m` atoms of length `n` with `nnz` entries `+-1/sqrt(nnz)`, any two sharing at most one row,
/// so `mu = 1 / nnz` at most.
fn sign_sparse(n: usize, m: usize, nnz: usize, seed: u64) -> Mat<f64> {
    generate::sparse_sign_matrix(n, m, nnz, 1, &mut generate::rng(seed)).unwrap()
}

fn rel_error(truth: &Mat<f64>, est: &Mat<f64>) -> f64 {
    (truth - est).norm_l2() / truth.norm_l2()
}

/// A 3-layer model with a Gaussian first layer and sparse deeper layers (atoms sharing at most
/// one row, so that the effective atoms stay distinguishable).
fn generic_model(seed: u64) -> MlModel {
    let mut rng = generate::rng(seed);
    MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(64, 128, &mut rng).unwrap()),
        Layer::from_matrix(sign_sparse(128, 96, 3, seed + 1).as_ref()).unwrap(),
        Layer::from_matrix(sign_sparse(96, 64, 2, seed + 2).as_ref()).unwrap(),
    ])
    .unwrap()
}

#[test]
fn projection_and_holistic_recover_every_layer_where_the_forward_pass_does_not() {
    let model = generic_model(1);
    let budgets = vec![18, 6, 3];
    for (noise, tol_err) in [(Noise::None, 1e-9), (Noise::SnrDb(35.0), 0.1)] {
        let mut rng = generate::rng(2);
        let s = Synthesis::new(budgets.clone())
            .contrast(0.5)
            .noise(noise)
            .generate(&model, 100, &mut rng)
            .unwrap();
        let y = s.noisy.as_ref();
        let proj = Projection::omp(3).solve(&model, y).unwrap();
        let hol = Holistic::new(budgets.clone()).solve(&model, y).unwrap();
        let lt = LayeredThresholding::soft(&[0.2, 0.1, 0.05])
            .solve(&model, y)
            .unwrap();
        for (name, est) in [("projection", &proj), ("holistic", &hol)] {
            for i in 0..3 {
                let sc = support_scores(s.codes[i].as_ref(), est.codes[i].as_ref(), 1e-8).unwrap();
                assert!(
                    sc.exact >= 0.95,
                    "{name} layer {}: {sc:?} ({noise:?})",
                    i + 1
                );
            }
            // Where every support is right, every layer is accurate (exact without noise).
            let mut good = 0;
            for j in 0..100 {
                let right = (0..3).all(|i| {
                    (0..s.codes[i].nrows()).all(|r| {
                        (s.codes[i][(r, j)].abs() > 1e-8) == (est.codes[i][(r, j)].abs() > 1e-8)
                    })
                });
                if right {
                    good += 1;
                    for i in 0..3 {
                        let e = (s.codes[i].col(j) - est.codes[i].col(j)).norm_l2()
                            / s.codes[i].col(j).norm_l2();
                        assert!(e <= tol_err, "{name} layer {} signal {j}: {e}", i + 1);
                    }
                }
            }
            assert!(good >= 95, "{name}: {good}");
            assert!(est.layer_mismatch()[1..].iter().all(|m| *m < 1e-8));
        }
        // The forward pass loses contrast and accumulates error with depth.
        let lt_err: Vec<f64> = (0..3)
            .map(|i| rel_error(&s.codes[i], &lt.codes[i]))
            .collect();
        assert!(lt_err.iter().all(|e| *e > 0.2), "{lt_err:?}");
        assert!(lt_err[2] > lt_err[0], "{lt_err:?}");
        let lt_support = support_scores(s.codes[2].as_ref(), lt.codes[2].as_ref(), 1e-8).unwrap();
        assert!(lt_support.exact < 0.5, "{lt_support:?}");
    }
}
