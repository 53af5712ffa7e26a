//! The ML theorems on dense two-layer models (`Y = D1 G1 + E`, `G1 = D2 G2`), with the layered
//! pursuits written out here from `pursuit` and `sparse-core` (hard thresholding, the Lasso by
//! LARS, OMP on the effective dictionary): random instances drawn inside the conditions of
//! Papyan, Romano & Elad 2017 and Sulam et al. 2018 never violate the bounds the calculators
//! return.
//!
//! The forward pass and layered BP of `mlcsc` are checked to compute exactly these codes.
//!
//! `D1 = Q [I, DCT_256]` (`mu ~ 0.088`). `D2` (512 x 128) has sparse columns: either 4 entries
//! `+-1/2`, any two columns sharing at most one row (`mu(D2) <= 1/4`), with one active atom; or
//! 2 entries `+-1/sqrt(2)` on disjoint rows (`mu(D2) = 0`), with two active atoms.

mod common;

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use mlcsc::Solve;
use proptest::prelude::*;
use pursuit::lasso::Lars;
use pursuit::{Omp, Stop};
use rand::seq::index::sample;
use rand::Rng;
use sparse_core::{generate, Dictionary, Shrinkage};
use theory::multilayer::{
    layered_bp, layered_thresholding, layered_thresholds, projection_stability,
};
use theory::LayerStats;

const N0: usize = 256;
const M1: usize = 512;
const M2: usize = 128;

fn mul(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> Mat<f64> {
    let mut c = Mat::<f64>::zeros(a.nrows(), b.ncols());
    matmul(c.as_mut(), Accum::Replace, a, b, 1.0, Par::Seq);
    c
}

fn col(m: &Mat<f64>) -> Vec<f64> {
    m.col(0).iter().copied().collect()
}

fn dist2(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f64>()
        .sqrt()
}

fn hard(x: Mat<f64>, beta: f64) -> Mat<f64> {
    let mut x = x;
    Shrinkage::Hard(beta).apply_batch(x.as_mut());
    x
}

fn subset(a: &[usize], b: &[usize]) -> bool {
    a.iter().all(|i| b.contains(i))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn layered_pursuits_stay_within_their_bounds(
        seed in any::<u64>(),
        disjoint in any::<bool>(),
        contrast in 0.75f64..=1.0,
        e_frac in 0.05f64..=1.0,
    ) {
        let mut rng = generate::rng(seed);
        let d1 = common::rotated_identity_dct(N0, &mut rng);
        let (d2m, s2) = if disjoint {
            (generate::sparse_sign_matrix(M1, M2, 2, 0, &mut rng).unwrap(), 2)
        } else {
            (generate::sparse_sign_matrix(M1, M2, 4, 1, &mut rng).unwrap(), 1)
        };
        let d2 = Dictionary::from_matrix(d2m.as_ref()).unwrap();
        let (mu1, mu2) = (theory::coherence(&d1), theory::coherence(&d2));

        // G2: s2 atoms (disjoint supports when two), magnitudes in [contrast, 1].
        let mut g2 = Mat::<f64>::zeros(M2, 1);
        for (r, j) in sample(&mut rng, M2, s2).iter().enumerate() {
            let mag = if r == 0 { 1.0 } else { contrast };
            g2[(j, 0)] = if rng.random::<bool>() { mag } else { -mag };
        }
        let g1 = mul(d2.matrix(), g2.as_ref());
        let (g1v, g2v) = (col(&g1), col(&g2));
        let l1 = LayerStats::from_code(mu1, &g1v, 0.0).unwrap();
        let l2 = LayerStats::from_code(mu2, &g2v, 0.0).unwrap();
        let layers = [l1, l2];
        let e0 = 0.01 * e_frac;
        let e = common::noise_of_norm(N0, e0, &mut rng);
        let x = mul(d1.matrix(), g1.as_ref());
        let y = Mat::from_fn(N0, 1, |i, _| x[(i, 0)] + e[i]);
        let truth = [common::support(&g1v, 0.0), common::support(&g2v, 0.0)];

        // Layered hard thresholding at the middle of the proper intervals.
        let lt = layered_thresholding(&layers, e0).unwrap();
        prop_assert!(lt.iter().all(|c| c.holds), "{}\n{}", lt[0], lt[1]);
        let betas = layered_thresholds(&layers, e0).unwrap();
        let g1_lt = hard(mul(d1.matrix().transpose(), y.as_ref()), 0.5 * (betas[0].0 + betas[0].1));
        let g2_lt = hard(mul(d2.matrix().transpose(), g1_lt.as_ref()), 0.5 * (betas[1].0 + betas[1].1));
        for (i, (est, tv)) in [(col(&g1_lt), &g1v), (col(&g2_lt), &g2v)].iter().enumerate() {
            prop_assert_eq!(&common::support(est, 0.0), &truth[i], "LT support, layer {}", i + 1);
            let err = dist2(est, tv);
            let bound = lt[i].error_bound.unwrap();
            prop_assert!(err <= bound * (1.0 + 1e-9), "LT layer {}: {} > {}", i + 1, err, bound);
        }

        // mlcsc's forward pass is the computation the theorem is about.
        let model = mlcsc::MlModel::from_dictionaries(&[d1.clone(), d2.clone()]).unwrap();
        let mid = [0.5 * (betas[0].0 + betas[0].1), 0.5 * (betas[1].0 + betas[1].1)];
        let fwd = mlcsc::LayeredThresholding::hard(&mid).forward(&model, y.as_ref()).unwrap();
        prop_assert!((&fwd[0] - &g1_lt).norm_max() < 1e-12 && (&fwd[1] - &g2_lt).norm_max() < 1e-12);

        // Layered BP: Lasso per layer with lambda_i = 4 eps_{i-1}, eps_0 = ||E||_2.
        let lbp = layered_bp(&layers, e0).unwrap();
        prop_assert!(lbp.iter().all(|c| c.holds), "{}\n{}", lbp[0], lbp[1]);
        let lam1 = 4.0 * e0;
        let lam2 = 4.0 * lbp[0].error_bound.unwrap();
        let g1_bp = Lars::new(lam1).solve(&d1, y.as_ref()).unwrap().codes;
        let g2_bp = Lars::new(lam2).solve(&d2, g1_bp.as_ref()).unwrap().codes;
        // ... and mlcsc's layered BP computes exactly these codes.
        let ml = mlcsc::LayeredBp::new(vec![lam1, lam2])
            .solver(mlcsc::LassoSolver::Lars)
            .solve(&model, y.as_ref())
            .unwrap();
        prop_assert!((&ml.codes[0] - &g1_bp).norm_max() < 1e-9 && (&ml.codes[1] - &g2_bp).norm_max() < 1e-9);
        for (i, (est, tv)) in [(col(&g1_bp), &g1v), (col(&g2_bp), &g2v)].iter().enumerate() {
            prop_assert!(subset(&common::support(est, 0.0), &truth[i]), "LBP support, layer {}", i + 1);
            let err = dist2(est, tv);
            let bound = lbp[i].error_bound.unwrap();
            prop_assert!(err <= bound, "LBP layer {}: {} > {}", i + 1, err, bound);
        }

        // Projection: OMP for G2 on the (normalised) effective dictionary D1 D2, then G1 = D2 G2.
        let deff = mul(d1.matrix(), d2.matrix());
        let norms: Vec<f64> = (0..M2).map(|j| deff.col(j).norm_l2()).collect();
        let dn = Dictionary::from_matrix(deff.as_ref()).unwrap();
        let z = Omp::new(Stop::Sparsity(s2)).solve(&dn, y.as_ref()).unwrap().codes;
        let g2_p = Mat::from_fn(M2, 1, |j, _| z[(j, 0)] / norms[j]);
        let g1_p = mul(d2.matrix(), g2_p.as_ref());
        // The theorem is about any model point within E0 of Y: check that OMP produced one.
        let r = dist2(&col(&mul(d1.matrix(), g1_p.as_ref())), &col(&y));
        prop_assert!(r <= e0 * (1.0 + 1e-9), "projection residual {} > E0 {}", r, e0);
        prop_assert!(common::support(&col(&g1_p), 1e-12).len() <= g1v.iter().filter(|v| **v != 0.0).count());
        let mus = theory::effective_coherences(&[d1.matrix(), d2.matrix()]).unwrap();
        let proj = projection_stability(&mus, &[l1.stripe_sparsity, l2.stripe_sparsity], e0).unwrap();
        for (i, (est, tv)) in [(col(&g1_p), &g1v), (col(&g2_p), &g2v)].iter().enumerate() {
            prop_assert!(proj[i].holds, "{}", proj[i]);
            let err2 = dist2(est, tv).powi(2);
            let bound = proj[i].error_bound.unwrap();
            prop_assert!(err2 <= bound, "projection layer {}: {} > {}", i + 1, err2, bound);
        }
    }
}
