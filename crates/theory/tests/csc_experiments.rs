//! The local (stripe) theorems of the convolutional model against experiment (Papyan, Sulam &
//! Elad 2017): codes drawn with `||G||_{0,inf}` inside the bound never violate the guarantee.
//!
//! Dictionaries: the Barker-13 filter alone (`mu = 1/13`, up to 4 non-zeros per stripe for BP
//! stability, 6 for recovery) and with a partner sequence (`m = 2`, `mu = 4/13`).

mod common;

use csc::{Cbpdn, ConvDictionary, Grid};
use proptest::prelude::*;
use pursuit::admm::BasisPursuit;
use pursuit::{Omp, Solve, Stop};
use sparse_core::generate;
use theory::conv::{csc_bp_stability, csc_lasso_lambda, csc_pursuit_recovery};
use theory::sparseland::largest_below;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20))]

    /// With `||G||_{0,inf} < (1 + 1/mu) / 3` and `lambda = 4 ||E||_{2,inf}`, convolutional BPDN
    /// (ADMM in the Fourier domain) returns a code within `7.5 ||E||_{2,inf}` of `G` in
    /// l-infinity, supported inside `supp(G)`.
    #[test]
    fn cbpdn_error_within_7_5_e_2inf(
        seed in any::<u64>(),
        m in 1usize..=2,
        pick in any::<usize>(),
        sigma in 0.001f64..0.02,
    ) {
        let nn = 96;
        let mut rng = generate::rng(seed);
        let cd = ConvDictionary::from_filters_1d(common::barker_filters(m).as_ref()).unwrap();
        let op = cd.operator(Grid::d1(nn)).unwrap();
        let mu = theory::conv_coherence(&op);
        let smax = largest_below((1.0 + 1.0 / mu) / 3.0);
        let s = 1 + pick % smax;
        let g = common::local_sparse_code(nn, m, 13, s, 0.5, &mut rng);
        let l0_inf = op.l0_inf(&g, 0.0).unwrap();
        prop_assert!(l0_inf <= s);

        let gm = faer::Mat::from_fn(nn * m, 1, |i, _| g[i]);
        let clean = op.synthesize(gm.as_ref(), faer::Par::Seq).unwrap();
        let e = common::noise_of_norm(nn, sigma * (nn as f64).sqrt(), &mut rng);
        let y = faer::Mat::from_fn(nn, 1, |i, _| clean[(i, 0)] + e[i]);
        let e_2inf = op.l2_inf(&e).unwrap();
        let cert = csc_bp_stability(mu, l0_inf as f64, e_2inf).unwrap();
        prop_assert!(cert.holds, "{}", cert);
        let bound = cert.error_bound.unwrap();

        let lambda = csc_lasso_lambda(e_2inf).unwrap();
        let res = Cbpdn::new(lambda).rel_residual_tol(1e-6).max_iter(3000).par(faer::Par::Seq)
            .solve(&op, y.as_ref()).unwrap();
        let est = res.codes.col_as_slice(0);
        let err = est.iter().zip(&g).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        prop_assert!(err <= bound, "||G_hat - G||_inf = {} > 7.5 ||E||_2inf = {} (s = {}, m = {})", err, bound, s, m);
        // Support inclusion, up to the solver's tolerance.
        let off = est.iter().zip(&g).filter(|(_, t)| **t == 0.0).map(|(a, _)| a.abs()).fold(0.0, f64::max);
        prop_assert!(off <= 1e-3 * lambda, "off-support entry {} (lambda {})", off, lambda);
    }

    /// With `||G||_{0,inf} < (1 + 1/mu) / 2`, OMP and BP on the global dictionary recover `G`
    /// exactly: more non-zeros in total than the global bound `(1 + 1/mu) / 2` allows.
    #[test]
    fn global_omp_and_bp_recover_locally_sparse_codes(
        seed in any::<u64>(),
        m in 1usize..=2,
        pick in any::<usize>(),
    ) {
        let nn = 128;
        let mut rng = generate::rng(seed);
        let cd = ConvDictionary::from_filters_1d(common::barker_filters(m).as_ref()).unwrap();
        let op = cd.operator(Grid::d1(nn)).unwrap();
        let mu = theory::conv_coherence(&op);
        let smax = largest_below((1.0 + 1.0 / mu) / 2.0);
        let s = 1 + pick % smax;
        let g = common::local_sparse_code(nn, m, 13, s, 0.5, &mut rng);
        let l0_inf = op.l0_inf(&g, 0.0).unwrap();
        prop_assert!(csc_pursuit_recovery(mu, l0_inf as f64).unwrap().holds);

        let d = op.global_dictionary().unwrap();
        let gm = faer::Mat::from_fn(nn * m, 1, |i, _| g[i]);
        let y = op.synthesize(gm.as_ref(), faer::Par::Seq).unwrap();
        let omp = Omp::new(Stop::Residual(1e-10)).solve(&d, y.as_ref()).unwrap();
        let bp = BasisPursuit::new().solve(&d, y.as_ref()).unwrap();
        let truth = common::support(&g, 0.0);
        prop_assert_eq!(&common::support(omp.codes.col_as_slice(0), 0.0), &truth);
        let bp_err = bp.codes.col_as_slice(0).iter().zip(&g).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        prop_assert!(bp_err < 1e-4, "BP error {}", bp_err);
    }
}
