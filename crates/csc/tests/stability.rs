//! Stability of Basis Pursuit for the convolutional model (Papyan, Sulam & Elad 2017, "Working
//! locally, thinking globally: theoretical guarantees for convolutional sparse coding", IEEE TSP
//! 65(21); theorem on the stability of the Lagrangian BP for CSC): for `Y = D Gamma + E`, if
//! `||Gamma||_{0,inf} < (1 + 1/mu(D)) / 3` and `lambda = 4 ||E||_{2,inf}`, then the CBPDN solution
//! `Gamma_hat` (1) has its support inside that of `Gamma`, (2) satisfies
//! `||Gamma_hat - Gamma||_inf <= 7.5 ||E||_{2,inf}`, and (3) contains every entry of `Gamma`
//! larger than `7.5 ||E||_{2,inf}` in magnitude.

mod common;

use common::*;
use csc::Solve;
use csc::{Cbpdn, ConvDictionary, ConvOperator, Grid};
use faer::{Mat, Par};
use proptest::prelude::*;
use rand::Rng;
use rand_distr::{Distribution, Normal};
use sparse_core::Summary;

const BARKER13: [f64; 13] = [1., 1., 1., 1., 1., -1., -1., 1., 1., -1., 1., -1., 1.];
const BARKER7: [f64; 7] = [1., 1., 1., -1., -1., 1., -1.];

/// One Barker-13 filter on signals of 128 samples: `mu = 1/13`, so stripes may hold 4 non-zeros.
fn barker_1d() -> ConvOperator {
    let f = Mat::from_fn(13, 1, |i, _| BARKER13[i]);
    ConvDictionary::from_filters_1d(f.as_ref())
        .unwrap()
        .operator(Grid::d1(128))
        .unwrap()
}

/// The separable 7x7 Barker filter on 32x32 images: `mu = 1/7`, so stripes may hold 2.
fn barker_2d() -> ConvOperator {
    let f = Mat::from_fn(49, 1, |k, _| BARKER7[k % 7] * BARKER7[k / 7]);
    ConvDictionary::from_filters_2d(7, 7, f.as_ref())
        .unwrap()
        .operator(Grid::d2(32, 32))
        .unwrap()
}

/// A random code whose stripe norm is below `bound`: non-zeros of magnitude in [0.3, 2] drawn at
/// random positions, keeping each only if the stripe norm stays below the bound.
fn stripe_sparse_code<R: Rng>(
    op: &ConvOperator,
    bound: f64,
    tries: usize,
    rng: &mut R,
) -> Vec<f64> {
    let mut g = vec![0.0; op.code_len()];
    for _ in 0..tries {
        let j = rng.random_range(0..g.len());
        let mag = rng.random_range(0.3..2.0);
        let old = g[j];
        g[j] = if rng.random::<bool>() { mag } else { -mag };
        if (op.l0_inf(&g, 0.0).unwrap() as f64) >= bound {
            g[j] = old;
        }
    }
    g
}

fn check_theorem(op: &ConvOperator, seed: u64, sigma: f64) -> Result<(), TestCaseError> {
    let mut rng = sparse_core::generate::rng(seed);
    let mu = op.coherence();
    let bound = (1.0 + 1.0 / mu) / 3.0;
    let gamma = stripe_sparse_code(op, bound, 40, &mut rng);
    prop_assert!((op.l0_inf(&gamma, 0.0).unwrap() as f64) < bound);
    // A draw with too few non-zeros says nothing about the theorem: rejected, not failed.
    prop_assume!(
        sparse_core::norms::l0(&gamma, 0.0) >= 5,
        "too few non-zeros to be a test"
    );
    let gm = Mat::from_fn(gamma.len(), 1, |i, _| gamma[i]);
    let clean = op.synthesize(gm.as_ref(), Par::Seq).unwrap();
    let noise = Normal::new(0.0, sigma).unwrap();
    let e: Vec<f64> = (0..op.signal_len())
        .map(|_| noise.sample(&mut rng))
        .collect();
    let y = Mat::from_fn(op.signal_len(), 1, |i, _| clean[(i, 0)] + e[i]);
    let e2inf = op.l2_inf(&e).unwrap();
    let lambda = 4.0 * e2inf;
    let res = Cbpdn::new(lambda)
        .rel_residual_tol(1e-10)
        .max_iter(20_000)
        .par(Par::Seq)
        .solve(op, y.as_ref())
        .unwrap();
    prop_assert!(res.all_converged());
    let g = res.codes.col_as_slice(0);
    let err = g
        .iter()
        .zip(&gamma)
        .fold(0.0f64, |a, (x, y)| a.max((x - y).abs()));
    prop_assert!(
        err <= 7.5 * e2inf,
        "||G_hat - G||_inf = {err} > 7.5 ||E||_2,inf = {}",
        7.5 * e2inf
    );
    for (j, (&gh, &g0)) in g.iter().zip(&gamma).enumerate() {
        if g0 == 0.0 {
            prop_assert!(gh.abs() < 1e-7, "entry {j} = {gh} outside the true support");
        }
        if g0.abs() > 7.5 * e2inf {
            prop_assert!(
                gh != 0.0,
                "entry {j} = {g0} above 7.5 ||E||_2,inf was missed"
            );
        }
    }
    Ok(())
}

#[test]
fn barker_coherences() {
    assert!((barker_1d().coherence() - 1.0 / 13.0).abs() < 1e-12);
    assert!((barker_2d().coherence() - 1.0 / 7.0).abs() < 1e-12);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn bp_is_stable_for_locally_sparse_codes_1d(seed in 0u64..10_000, sigma in 0.005f64..0.04) {
        check_theorem(&barker_1d(), seed, sigma)?;
    }

    #[test]
    fn bp_is_stable_for_locally_sparse_codes_2d(seed in 0u64..10_000, sigma in 0.005f64..0.02) {
        check_theorem(&barker_2d(), seed, sigma)?;
    }
}

#[test]
fn random_codes_are_generated_within_the_bound() {
    let op = barker_1d();
    let mut rng = sparse_core::generate::rng(1);
    let g = stripe_sparse_code(&op, 4.5, 200, &mut rng);
    assert!(op.l0_inf(&g, 0.0).unwrap() <= 4);
    assert!(
        sparse_core::norms::l0(&g, 0.0) >= 10,
        "the sampler should fill the signal"
    );
    let _ = gaussian(1, 1, 0);
}
