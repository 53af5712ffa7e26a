//! The stability theorems of the layered, projection and layered-BP pursuits of `mlcsc`, checked
//! on synthesised model signals against the bounds the calculators of `theory::multilayer`
//! return (the one implementation of each formula).
#![allow(clippy::needless_range_loop)]

use faer::Mat;
use mlcsc::{
    Layer, LayeredBp, LayeredThresholding, MlModel, MlSolution, Projection, Solve, Synthesis,
};
use sparse_core::metrics::support_scores;
use sparse_core::{generate, Dictionary, Noise};
use theory::multilayer::{
    layered_bp, layered_thresholding, layered_thresholds, projection_error_bound,
    projection_stability,
};
use theory::{all_hold, LayerStats};

/// `m` atoms of length `n` with `nnz` entries `+-1/sqrt(nnz)`, any two sharing at most one row,
/// so `mu = 1 / nnz` at most.
fn sign_sparse(n: usize, m: usize, nnz: usize, seed: u64) -> Mat<f64> {
    generate::sparse_sign_matrix(n, m, nnz, 1, &mut generate::rng(seed)).unwrap()
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
    let layers: Vec<LayerStats> = (0..2)
        .map(|i| LayerStats::new(mu[i], sp[i], contrast[i] * gmax[i], gmax[i]))
        .collect();

    // Layered hard thresholding (Papyan, Romano & Elad, JMLR 2017, the stability of the forward
    // pass): the supports are recovered and ||Gamma_i^LT - Gamma_i||_2 <= eps_i.
    let lt_certs = layered_thresholding(&layers, e0).unwrap();
    assert!(all_hold(&lt_certs), "{lt_certs:?}");
    let eps_lt: Vec<f64> = lt_certs.iter().map(|c| c.error_bound.unwrap()).collect();
    // Thresholds in the middle of the theorem's interval between the largest off-support and
    // the smallest on-support correlation.
    let beta: Vec<f64> = layered_thresholds(&layers, e0)
        .unwrap()
        .iter()
        .map(|&(lo, hi)| {
            assert!(lo < hi, "({lo}, {hi})");
            0.5 * (lo + hi)
        })
        .collect();
    let lt = LayeredThresholding::hard(&beta).solve(&model, y).unwrap();
    let err = errors(&s.codes, &lt);
    for i in 0..2 {
        let sc = support_scores(s.codes[i].as_ref(), lt.codes[i].as_ref(), 0.0).unwrap();
        assert_eq!(sc.exact, 1.0, "layer {} support", i + 1);
        let worst = err[i].iter().copied().fold(0.0, f64::max);
        assert!(
            worst <= eps_lt[i],
            "LT layer {}: {worst} > {}",
            i + 1,
            eps_lt[i]
        );
        assert!(
            worst > 0.0,
            "hard thresholding is not exact on a coherent D_1"
        );
    }

    // Projection (Sulam, Papyan, Romano & Elad, TSP 2018, Theorem 6): if ||E||_2 <= E_0 and
    // ||Gamma_i||_0 < 1/2 (1 + 1/mu(D^(i))), then ||Gamma_i - Gamma_hat_i||_2^2
    // <= 4 E_0^2 / (1 - (2 ||Gamma_i||_0 - 1) mu(D^(i))), D^(i) = D_1 ... D_i. D^(2) has atoms
    // of norm != 1, so the bound is taken in its unnormalised form (min ||a_j||^2 and the
    // largest |<a_j, a_k>| in the proof's Gershgorin step), per signal with E_0 = ||e_j||_2.
    let proj_certs = projection_stability(&mu_eff, &sp, e0).unwrap();
    assert!(all_hold(&proj_certs), "{proj_certs:?}");
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
        for j in 0..y.ncols() {
            let bound = projection_error_bound(noise[j], sp[i], min_norm2, max_ip)
                .expect("a positive denominator");
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
    let bp_certs = layered_bp(&layers, e0).unwrap();
    assert!(all_hold(&bp_certs), "{bp_certs:?}");
    let eps_bp: Vec<f64> = bp_certs.iter().map(|c| c.error_bound.unwrap()).collect();
    let lbp = LayeredBp::new(vec![4.0 * e0, 4.0 * eps_bp[0]])
        .solve(&model, y)
        .unwrap();
    let berr = errors(&s.codes, &lbp);
    for i in 0..2 {
        let worst = berr[i].iter().copied().fold(0.0, f64::max);
        assert!(
            worst <= eps_bp[i],
            "LBP layer {}: {worst} > {}",
            i + 1,
            eps_bp[i]
        );
        // Supports are contained in the true ones.
        let sc = support_scores(s.codes[i].as_ref(), lbp.codes[i].as_ref(), 0.0).unwrap();
        assert_eq!(sc.precision, 1.0, "LBP layer {}", i + 1);
    }
}
