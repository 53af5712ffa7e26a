//! Recovery of every layer on synthesised model signals, and the measured errors against the
//! stability theorems of the layered, projection and layered-BP pursuits.
#![allow(clippy::needless_range_loop)]

use faer::Mat;
use mlcsc::{
    Holistic, Layer, LayeredBp, LayeredThresholding, MlModel, MlSolution, Projection, Solve,
    Synthesis,
};
use rand::Rng;
use sparse_core::metrics::support_scores;
use sparse_core::{generate, Dictionary, Noise};

/// `m` atoms of length `n` with `nnz` entries `+-1/sqrt(nnz)`, any two sharing at most one row,
/// so `mu = 1 / nnz` at most.
fn sign_sparse(n: usize, m: usize, nnz: usize, seed: u64) -> Mat<f64> {
    let mut rng = generate::rng(seed);
    let mut rows: Vec<Vec<usize>> = Vec::new();
    while rows.len() < m {
        let mut r: Vec<usize> = rand::seq::index::sample(&mut rng, n, nnz).into_vec();
        r.sort_unstable();
        if rows
            .iter()
            .all(|o| o.iter().filter(|x| r.contains(x)).count() <= 1)
        {
            rows.push(r);
        }
    }
    let v = 1.0 / (nnz as f64).sqrt();
    let mut d = Mat::<f64>::zeros(n, m);
    for (j, r) in rows.iter().enumerate() {
        for &i in r {
            d[(i, j)] = if rng.random::<bool>() { v } else { -v };
        }
    }
    d
}

/// Per-signal l2 error of every layer.
fn errors(truth: &[Mat<f64>], est: &MlSolution) -> Vec<Vec<f64>> {
    truth
        .iter()
        .zip(&est.codes)
        .map(|(t, e)| {
            (0..t.ncols())
                .map(|j| (t.col(j) - e.col(j)).norm_l2())
                .collect()
        })
        .collect()
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

#[test]
fn measured_errors_stay_inside_the_stability_bounds() {
    // D_1 = [I, DCT] (256 x 512, mu = sqrt(2/256)); D_2 has 4-sparse +-1/2 atoms sharing at
    // most one row (mu = 1/4). One deepest atom of magnitude 1, so Gamma_1 has 4 entries +-1/2.
    let d1 = Dictionary::identity_dct(256).unwrap();
    let d2 = sign_sparse(512, 300, 4, 3);
    let model = MlModel::new(vec![
        Layer::dense(&d1),
        Layer::from_matrix(d2.as_ref()).unwrap(),
    ])
    .unwrap();
    let mu = [d1.coherence(), model.layer(2).unwrap().coherence().unwrap()];
    let mu_eff = [
        model.effective_coherence(1).unwrap(),
        model.effective_coherence(2).unwrap(),
    ];
    let mut rng = generate::rng(4);
    let s = Synthesis::new(vec![4, 1])
        .contrast(1.0)
        .noise(Noise::Sigma(0.001))
        .generate(&model, 60, &mut rng)
        .unwrap();
    let y = s.noisy.as_ref();
    let noise: Vec<f64> = (0..y.ncols())
        .map(|j| (s.noisy.col(j) - s.clean.col(j)).norm_l2())
        .collect();
    let e0 = noise.iter().copied().fold(0.0, f64::max);
    let sp = [4.0f64, 1.0]; // ||Gamma_i||_0
    let gmax = [0.5f64, 1.0]; // |Gamma_i^max|
    let contrast = [1.0f64, 1.0]; // |Gamma_i^min| / |Gamma_i^max|

    // Layered hard thresholding (Papyan, Romano & Elad, JMLR 2017, Theorem 4 / the "stability
    // of the forward pass" theorem): if ||Gamma_i||_0 < 1/2 (1 + contrast_i / mu(D_i))
    // - eps_{i-1} / (mu(D_i) |Gamma_i^max|), the supports are recovered and
    // ||Gamma_i^LT - Gamma_i||_2 <= eps_i = sqrt(||Gamma_i||_0) (eps_{i-1}
    // + mu(D_i) (||Gamma_i||_0 - 1) |Gamma_i^max|), with eps_0 = ||E||_2.
    let mut eps_lt = vec![e0];
    for i in 0..2 {
        let cond = 0.5 * (1.0 + contrast[i] / mu[i]) - eps_lt[i] / (mu[i] * gmax[i]);
        assert!(sp[i] < cond, "layer {}: {} >= {cond}", i + 1, sp[i]);
        eps_lt.push(sp[i].sqrt() * (eps_lt[i] + mu[i] * (sp[i] - 1.0) * gmax[i]));
    }
    // Thresholds between the largest off-support and the smallest on-support correlation.
    let beta = [
        0.5 * ((gmax[0] - mu[0] * 3.0 * gmax[0] - e0) + (mu[0] * 4.0 * gmax[0] + e0)),
        0.5 * ((1.0 - eps_lt[1]) + (mu[1] + eps_lt[1])),
    ];
    let lt = LayeredThresholding::hard(&beta).solve(&model, y).unwrap();
    let err = errors(&s.codes, &lt);
    for i in 0..2 {
        let sc = support_scores(s.codes[i].as_ref(), lt.codes[i].as_ref(), 0.0).unwrap();
        assert_eq!(sc.exact, 1.0, "layer {} support", i + 1);
        let worst = err[i].iter().copied().fold(0.0, f64::max);
        assert!(
            worst <= eps_lt[i + 1],
            "LT layer {}: {worst} > {}",
            i + 1,
            eps_lt[i + 1]
        );
        assert!(
            worst > 0.0,
            "hard thresholding is not exact on a coherent D_1"
        );
    }

    // Projection (Sulam, Papyan, Romano & Elad, TSP 2018, Theorem 6): if ||E||_2 <= E_0 and
    // ||Gamma_i||_0 < 1/2 (1 + 1/mu(D^(i))), then ||Gamma_i - Gamma_hat_i||_2^2
    // <= 4 E_0^2 / (1 - (2 ||Gamma_i||_0 - 1) mu(D^(i))), D^(i) = D_1 ... D_i. Its proof bounds
    // ||D^(i) delta||^2 >= (1 - (2s - 1) mu) ||delta||^2 for unit-norm atoms; D^(2) has atoms of
    // norm != 1, so the same Gershgorin step uses min ||a_j||^2 and the largest |<a_j, a_k>|.
    let proj = Projection::omp(1).solve(&model, y).unwrap();
    let perr = errors(&s.codes, &proj);
    for i in 0..2 {
        let eff = model.effective_dense(1, i + 1).unwrap();
        let g = eff.transpose() * &eff;
        let min_norm2 = (0..g.ncols())
            .map(|j| g[(j, j)])
            .fold(f64::INFINITY, f64::min);
        let max_ip = (0..g.ncols())
            .flat_map(|j| (0..j).map(move |k| (j, k)))
            .map(|(j, k)| g[(j, k)].abs())
            .fold(0.0, f64::max);
        assert!(sp[i] < 0.5 * (1.0 + 1.0 / mu_eff[i]));
        let denom = min_norm2 - (2.0 * sp[i] - 1.0) * max_ip;
        assert!(denom > 0.0);
        for j in 0..y.ncols() {
            let bound = 4.0 * noise[j] * noise[j] / denom;
            assert!(
                perr[i][j].powi(2) <= bound,
                "projection layer {}: {} > {bound}",
                i + 1,
                perr[i][j].powi(2)
            );
        }
    }

    // Layered BP (Papyan, Romano & Elad, JMLR 2017, Theorem 8): if ||Gamma_i||_0 <
    // 1/3 (1 + 1/mu(D_i)) and lambda_i = 4 eps_{i-1}, then ||Gamma_i^LBP - Gamma_i||_2 <= eps_i
    // = 7.5^i ||E||_2 prod_{j <= i} sqrt(||Gamma_j||_0).
    let mut eps_bp = vec![e0];
    for i in 0..2 {
        assert!(sp[i] < (1.0 + 1.0 / mu[i]) / 3.0, "layer {}", i + 1);
        eps_bp.push(
            7.5f64.powi(i as i32 + 1) * e0 * sp[..=i].iter().map(|s| s.sqrt()).product::<f64>(),
        );
    }
    let lbp = LayeredBp::new(vec![4.0 * eps_bp[0], 4.0 * eps_bp[1]])
        .solve(&model, y)
        .unwrap();
    let berr = errors(&s.codes, &lbp);
    for i in 0..2 {
        let worst = berr[i].iter().copied().fold(0.0, f64::max);
        assert!(
            worst <= eps_bp[i + 1],
            "LBP layer {}: {worst} > {}",
            i + 1,
            eps_bp[i + 1]
        );
        // Supports are contained in the true ones.
        let sc = support_scores(s.codes[i].as_ref(), lbp.codes[i].as_ref(), 0.0).unwrap();
        assert_eq!(sc.precision, 1.0, "LBP layer {}", i + 1);
    }
}
