//! Local quantities: coherence from cross-correlations, stripe and patch norms; bad inputs.

mod common;

use common::*;
use csc::{ConvDictionary, Error, Grid};
use faer::Mat;
use proptest::prelude::*;
use sparse_core::{norms, ConvLayout};

#[test]
fn coherence_from_cross_correlations_matches_the_global_dictionary() {
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 40 + k as u64);
        let fast = op.coherence();
        let slow = op.global_dictionary().unwrap().coherence();
        assert!((fast - slow).abs() < 1e-12, "{label}: {fast} vs {slow}");
    }
}

#[test]
fn stripe_counts_match_the_stripe_vectors() {
    let mut rng = sparse_core::generate::rng(9);
    // Grids large enough that stripes do not wrap onto themselves.
    for (fg, sg, cs) in [
        (Grid::d1(3), Grid::d1(12), 1),
        (Grid::d2(2, 3), Grid::d2(6, 7), 1),
        (Grid::d2(3, 2), Grid::d2(7, 5), 2),
    ] {
        let op = operator(fg, 1, sg, cs, 3, 1);
        let gamma = sparse_code(op.code_len(), 0.15, &mut rng);
        let counts = op.stripe_counts(&gamma, 0.0).unwrap();
        let n = op.n();
        for k in 0..cs {
            for pc in 0..sg.cols {
                for pr in 0..sg.rows {
                    let s = op.stripe(&gamma, (pr, pc), k).unwrap();
                    assert_eq!(counts[k * n + pr + sg.rows * pc], norms::l0(&s, 0.0));
                }
            }
        }
        let best = op.l0_inf(&gamma, 0.0).unwrap();
        assert_eq!(best, counts.iter().copied().max().unwrap());
    }
}

#[test]
fn one_dimensional_norms_are_those_of_sparse_core() {
    let op = operator(Grid::d1(4), 1, Grid::d1(20), 1, 3, 2);
    let layout = ConvLayout::new(20, 3, 4).unwrap();
    assert_eq!(op.layout_1d(), Some(layout));
    let mut rng = sparse_core::generate::rng(4);
    let gamma = sparse_code(60, 0.2, &mut rng);
    assert_eq!(
        op.l0_inf(&gamma, 0.0).unwrap(),
        layout.l0_inf(&gamma, 0.0).unwrap()
    );
    let e = gaussian(20, 1, 5);
    let e = e.col_as_slice(0);
    assert_eq!(op.l2_inf(e).unwrap(), layout.l2_inf(e).unwrap());
}

#[test]
fn patch_norm_is_the_largest_patch() {
    for (fg, cd, sg, cs) in [
        (Grid::d2(2, 3), 1, Grid::d2(5, 6), 1),
        (Grid::d2(3, 2), 2, Grid::d2(4, 4), 2),
        (Grid::d2(2, 2), 1, Grid::d2(3, 5), 3),
    ] {
        let op = operator(fg, cd, sg, cs, 2, 3);
        let e = gaussian(op.signal_len(), 1, 6);
        let e = e.col_as_slice(0);
        let n = op.n();
        let mut best = 0.0f64;
        for pc in 0..sg.cols {
            for pr in 0..sg.rows {
                let patch_sq = |c: usize| -> f64 {
                    let mut s = 0.0;
                    for b in 0..fg.cols {
                        for a in 0..fg.rows {
                            let r = (pr + a) % sg.rows + sg.rows * ((pc + b) % sg.cols);
                            s += e[c * n + r].powi(2);
                        }
                    }
                    s
                };
                if cd > 1 {
                    best = best.max((0..cs).map(patch_sq).sum::<f64>());
                } else {
                    for c in 0..cs {
                        best = best.max(patch_sq(c));
                    }
                }
            }
        }
        let got = op.l2_inf(e).unwrap();
        assert!(
            (got - best.sqrt()).abs() < 1e-12,
            "{got} vs {}",
            best.sqrt()
        );
    }
}

#[test]
fn bad_inputs_are_errors() {
    let zero = Mat::<f64>::zeros(4, 2);
    assert!(matches!(
        ConvDictionary::from_filters_1d(zero.as_ref()),
        Err(Error::Core(sparse_core::Error::ZeroAtom { index: 0, .. }))
    ));
    let mut nan = gaussian(4, 2, 0);
    nan[(1, 1)] = f64::NAN;
    assert!(matches!(
        ConvDictionary::from_filters_1d(nan.as_ref()),
        Err(Error::Core(sparse_core::Error::NonFinite {
            argument: "filters",
            ..
        }))
    ));
    let f = gaussian(6, 2, 1);
    assert!(ConvDictionary::from_filters_2d(2, 2, f.as_ref()).is_err()); // 6 != 2 * 2
    assert!(ConvDictionary::from_filters_1d(Mat::<f64>::zeros(4, 0).as_ref()).is_err());
    let d = ConvDictionary::from_filters_2d(3, 2, f.as_ref()).unwrap();
    assert!(d.operator(Grid::d2(2, 5)).is_err()); // filter taller than the signal
    assert!(d.operator(Grid::d2(0, 5)).is_err());
    assert!(d.filter(2).is_err());
    let mut rng = sparse_core::generate::rng(0);
    let d2 = ConvDictionary::random(Grid::d1(3), 2, 2, &mut rng).unwrap();
    assert!(d2.operator_with_channels(Grid::d1(8), 3).is_err());
    let op = d.operator(Grid::d2(5, 5)).unwrap();
    assert!(op.l0_inf(&[0.0; 3], 0.0).is_err());
    assert!(op.l2_inf(&[0.0; 3]).is_err());
    assert!(op.stripe(&vec![0.0; op.code_len()], (5, 0), 0).is_err());
    use sparse_core::LinearOperator;
    assert!(op.apply(Mat::<f64>::zeros(3, 1).as_ref()).is_err());
    assert!(op.apply_adjoint(Mat::<f64>::zeros(24, 1).as_ref()).is_err());
}

#[test]
fn explicit_forms_refuse_huge_sizes() {
    let op = operator(Grid::d2(8, 8), 1, Grid::d2(256, 256), 1, 32, 0);
    assert!(matches!(
        op.global_matrix(),
        Err(Error::Core(sparse_core::Error::TooLarge { .. }))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn coherence_matches_on_random_shapes(
        fr in 1usize..4, fc in 1usize..4, er in 0usize..5, ec in 0usize..4,
        m in 1usize..4, cd in 1usize..3, seed in 0u64..1000,
    ) {
        let op = operator(Grid::d2(fr, fc), cd, Grid::d2(fr + er, fc + ec), cd, m, seed);
        let fast = op.coherence();
        let slow = op.global_dictionary().unwrap().coherence();
        prop_assert!((fast - slow).abs() < 1e-12, "{fast} vs {slow}");
    }
}

/// Every stripe of the code holds at most `s` non-zeros, and the code is maximal: making any
/// zero entry non-zero pushes some stripe over `s` (brute force with `l0_inf`).
#[test]
fn random_stripe_code_is_stripe_sparse_and_maximal() {
    let mut rng = sparse_core::generate::rng(13);
    for (nf, n, m) in [(3usize, 16usize, 2usize), (5, 23, 3), (4, 7, 2)] {
        let filters = gaussian(nf, m, nf as u64);
        let op = ConvDictionary::from_filters_1d(filters.as_ref())
            .unwrap()
            .operator(Grid::d1(n))
            .unwrap();
        for s in 1..=3 {
            let g = op.random_stripe_code(s, 0.4, &mut rng).unwrap();
            assert!(op.l0_inf(&g, 0.0).unwrap() <= s);
            assert!(g
                .iter()
                .all(|v| *v == 0.0 || (0.4..=1.0).contains(&v.abs())));
            for c in (0..g.len()).filter(|&c| g[c] == 0.0) {
                let mut h = g.clone();
                h[c] = 1.0;
                assert!(
                    op.l0_inf(&h, 0.0).unwrap() > s,
                    "nf {nf}, n {n}, s {s}, entry {c}"
                );
            }
        }
    }
    let op2 = ConvDictionary::random(Grid::d2(2, 2), 1, 2, &mut rng)
        .unwrap()
        .operator(Grid::d2(5, 5))
        .unwrap();
    assert!(op2
        .random_stripe_code(2, 0.5, &mut rng)
        .unwrap_err()
        .to_string()
        .contains("op"));
    let op1 = ConvDictionary::random(Grid::d1(3), 1, 2, &mut rng)
        .unwrap()
        .operator(Grid::d1(9))
        .unwrap();
    assert!(op1
        .random_stripe_code(0, 0.5, &mut rng)
        .unwrap_err()
        .to_string()
        .contains("`s`"));
    let e = op1
        .random_stripe_code(1, 0.0, &mut rng)
        .unwrap_err()
        .to_string();
    assert!(e.contains("contrast"), "{e}");
}
