//! The masked constrained-MOD dictionary update (`csc::MaskedCcmod`): planted filters are
//! recovered from the observed samples only (the masked-out ones changed arbitrarily), on every
//! operator configuration; masked dictionary learning lowers its functional; bad input.

mod common;

use csc::{ConvDictionary, Grid, MaskedCcmod};
use faer::{Mat, Par};

/// Planted filters, sparse codes, their signals and a mask keeping about 60% of the samples.
fn planted(
    fg: Grid,
    cd: usize,
    sg: Grid,
    sc: usize,
    m: usize,
    k: usize,
    seed: u64,
) -> (ConvDictionary, Mat<f64>, Mat<f64>, Mat<f64>) {
    let mut rng = sparse_core::generate::rng(seed);
    let dict = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
    let op = dict.operator_with_channels(sg, sc).unwrap();
    let mut codes = Mat::<f64>::zeros(op.code_len(), k);
    let g = common::gaussian(op.code_len(), k, seed + 1);
    let u = common::gaussian(op.code_len(), k, seed + 2);
    for j in 0..k {
        for i in 0..op.code_len() {
            if u[(i, j)] > 1.3 {
                codes[(i, j)] = g[(i, j)];
            }
        }
    }
    let y = op.synthesize(codes.as_ref(), Par::Seq).unwrap();
    let r = common::gaussian(op.signal_len(), k, seed + 3);
    let mask = Mat::from_fn(op.signal_len(), k, |i, j| {
        if r[(i, j)] > -0.25 {
            1.0
        } else {
            0.0
        }
    });
    (dict, codes, y, mask)
}

#[test]
fn planted_filters_are_recovered_from_the_observed_samples() {
    for (label, fg, cd, sg, sc, m) in common::configurations() {
        let (truth, codes, y, mask) = planted(fg, cd, sg, sc, m, 24, 40);
        // The masked-out samples hold garbage.
        let bad = Mat::from_fn(y.nrows(), y.ncols(), |i, j| {
            if mask[(i, j)] == 0.0 {
                50.0
            } else {
                y[(i, j)]
            }
        });
        let mut rng = sparse_core::generate::rng(1);
        let start = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
        for warm in [false, true] {
            let sol = MaskedCcmod::new()
                .max_iter(3000)
                .rel_residual_tol(1e-9)
                .warm_start(warm)
                .solve(&start, sg, sc, bad.as_ref(), codes.as_ref(), mask.as_ref())
                .unwrap();
            let mut err: f64 = 0.0;
            for i in 0..m {
                let (a, b) = (sol.dictionary.filter(i).unwrap(), truth.filter(i).unwrap());
                err = a.iter().zip(b).fold(err, |e, (x, t)| e.max((x - t).abs()));
            }
            assert!(err < 1e-5, "{label} (warm {warm}): max error {err:e}");
            assert!(sol.diagnostics.objective < 1e-8, "{label}: masked misfit");
            assert!(sol.kept.is_empty());
            let recs = sol.diagnostics.records();
            assert!(!recs.is_empty() && recs.iter().all(|r| r.step == 1.0));
        }
    }
}

#[test]
fn masked_dictionary_learning_lowers_its_functional() {
    let (_, _, y, mask) = planted(Grid::d2(4, 4), 1, Grid::d2(16, 16), 1, 4, 5, 7);
    let mut rng = sparse_core::generate::rng(8);
    let init = ConvDictionary::random(Grid::d2(4, 4), 1, 4, &mut rng).unwrap();
    let res = MaskedCcmod::new()
        .max_iter(50)
        .learn(
            &init,
            Grid::d2(16, 16),
            1,
            y.as_ref(),
            mask.as_ref(),
            0.05,
            8,
            100,
        )
        .unwrap();
    assert_eq!(res.objective.len(), 9);
    let (first, last) = (res.objective[0], *res.objective.last().unwrap());
    // Alternating minimisation: every outer iteration lowers the functional.
    for w in res.objective.windows(2) {
        assert!(w[1] < w[0], "{:?}", res.objective);
    }
    assert!(last < 0.97 * first, "{first} -> {last}");
}

#[test]
fn bad_input_is_an_error_naming_the_argument() {
    let (dict, codes, y, mask) = planted(Grid::d1(4), 1, Grid::d1(20), 1, 2, 2, 3);
    let sg = Grid::d1(20);
    let err = |u: MaskedCcmod, y: &Mat<f64>, c: &Mat<f64>, w: &Mat<f64>| {
        u.solve(&dict, sg, 1, y.as_ref(), c.as_ref(), w.as_ref())
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    };
    assert!(err(MaskedCcmod::new().rho(0.0), &y, &codes, &mask).contains("rho"));
    assert!(err(MaskedCcmod::new().relax(2.0), &y, &codes, &mask).contains("relax"));
    assert!(err(MaskedCcmod::new().max_iter(0), &y, &codes, &mask).contains("max_iter"));
    let short = Mat::<f64>::zeros(19, 1);
    assert!(err(MaskedCcmod::new(), &y, &codes, &short).contains("mask"));
    let mut nan = mask.clone();
    nan[(0, 0)] = f64::NAN;
    assert!(err(MaskedCcmod::new(), &y, &codes, &nan).contains("mask"));
    let few = Mat::<f64>::zeros(codes.nrows(), 1);
    assert!(err(MaskedCcmod::new(), &y, &few, &mask).contains("codes"));
    let mut ynan = y.clone();
    ynan[(1, 1)] = f64::INFINITY;
    assert!(err(MaskedCcmod::new(), &ynan, &codes, &mask).contains('y'));
}
