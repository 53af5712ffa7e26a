//! Convolutional dictionary learning: the dictionary update recovers the generating filters
//! from the true codes, learning lowers the objective, bad inputs are errors.

mod common;

use common::*;
use csc::Solve;
use csc::{Cbpdn, ConvDictLearn, ConvDictionary, Grid};
use faer::{Mat, Par};
use rand::Rng;

/// Largest, over the filters of `a`, distance to the same filter of `b` (up to sign).
fn filter_distance(a: &ConvDictionary, b: &ConvDictionary) -> f64 {
    (0..a.n_filters())
        .map(|i| {
            let (x, y) = (a.filter(i).unwrap(), b.filter(i).unwrap());
            let plus: f64 = x.iter().zip(y).map(|(p, q)| (p - q).powi(2)).sum();
            let minus: f64 = x.iter().zip(y).map(|(p, q)| (p + q).powi(2)).sum();
            plus.min(minus).sqrt()
        })
        .fold(0.0, f64::max)
}

/// Training data `Y = D Gamma` (noise-free) with Bernoulli-Gaussian codes of density `p`.
fn training(
    d: &ConvDictionary,
    signal: Grid,
    channels: usize,
    k: usize,
    p: f64,
    seed: u64,
) -> (Mat<f64>, Mat<f64>) {
    let op = d.operator_with_channels(signal, channels).unwrap();
    let mut rng = sparse_core::generate::rng(seed);
    let mut codes = Mat::<f64>::zeros(op.code_len(), k);
    for j in 0..k {
        let g = sparse_code(op.code_len(), p, &mut rng);
        for (i, v) in g.into_iter().enumerate() {
            codes[(i, j)] = v;
        }
    }
    let y = op.synthesize(codes.as_ref(), Par::Seq).unwrap();
    (y, codes)
}

/// `d` with every filter perturbed by `eps` relative noise.
fn perturbed(d: &ConvDictionary, eps: f64, seed: u64) -> ConvDictionary {
    let mut rng = sparse_core::generate::rng(seed);
    let mut f = d.local_matrix();
    for j in 0..f.ncols() {
        for i in 0..f.nrows() {
            f[(i, j)] += eps * (rng.random::<f64>() - 0.5);
        }
    }
    ConvDictionary::new(d.filter_grid(), d.channels(), f.as_ref()).unwrap()
}

#[test]
fn dictionary_update_recovers_the_generating_filters() {
    for (fg, cd, sg, cs, m) in [
        (Grid::d1(6), 1, Grid::d1(48), 1, 3),
        (Grid::d2(3, 3), 1, Grid::d2(12, 10), 2, 2),
        (Grid::d2(2, 3), 2, Grid::d2(9, 8), 2, 2),
    ] {
        let mut rng = sparse_core::generate::rng(5);
        let truth = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
        let (y, codes) = training(&truth, sg, cs, 4, 0.1, 6);
        let start = perturbed(&truth, 0.3, 7);
        let before = filter_distance(&start, &truth);
        let learner = ConvDictLearn::new(0.1).dict_iter(300);
        let d = learner
            .update_dictionary(&start, sg, cs, y.as_ref(), codes.as_ref())
            .unwrap();
        let after = filter_distance(&d, &truth);
        assert!(
            after < 1e-4 && after < before,
            "{fg} x{cd}: {before} -> {after}"
        );
    }
}

/// Best absolute correlation of filter `t` with any filter of `d` at any shift (1-D).
fn best_match(t: &[f64], d: &ConvDictionary) -> f64 {
    let n = t.len() as isize;
    let mut best = 0.0f64;
    for j in 0..d.n_filters() {
        let l = d.filter(j).unwrap();
        for s in -(n - 1)..n {
            let c: f64 = (0..n)
                .filter(|&k| (0..n).contains(&(k + s)))
                .map(|k| t[k as usize] * l[(k + s) as usize])
                .sum();
            best = best.max(c.abs());
        }
    }
    best
}

#[test]
fn learning_lowers_the_objective_and_finds_the_filters() {
    let mut rng = sparse_core::generate::rng(11);
    let truth = ConvDictionary::random(Grid::d1(8), 1, 3, &mut rng).unwrap();
    let (y, _) = training(&truth, Grid::d1(128), 1, 16, 0.03, 12);
    // The objective of the generating dictionary (its codes estimated the same way).
    let op = truth.operator(Grid::d1(128)).unwrap();
    let codes = Cbpdn::new(0.05)
        .max_iter(100)
        .solve(&op, y.as_ref())
        .unwrap()
        .codes;
    let mut r = op.synthesize(codes.as_ref(), Par::Seq).unwrap();
    r -= &y;
    let l1: f64 = (0..16)
        .map(|j| sparse_core::norms::l1(codes.col_as_slice(j)))
        .sum();
    let at_truth = 0.5 * r.squared_norm_l2() + 0.05 * l1;
    let learner = ConvDictLearn::new(0.05).coding_iter(100).dict_iter(30);

    // From a random start the objective falls to about that of the generating dictionary.
    let init = ConvDictionary::random(Grid::d1(8), 1, 3, &mut rng).unwrap();
    let res = learner
        .clone()
        .iterations(30)
        .learn(&init, Grid::d1(128), 1, y.as_ref())
        .unwrap();
    let obj = &res.objective;
    assert_eq!(obj.len(), 31);
    assert!(
        obj[30] < 0.7 * obj[0] && obj[30] < 1.2 * at_truth,
        "{obj:?} vs {at_truth}"
    );
    assert!((0..3).any(|i| best_match(truth.filter(i).unwrap(), &res.dictionary) > 0.95));

    // From a rough guess every generating filter is found.
    let init = perturbed(&truth, 0.8, 13);
    assert!((0..3).any(|i| best_match(truth.filter(i).unwrap(), &init) < 0.95));
    let res = learner
        .iterations(15)
        .learn(&init, Grid::d1(128), 1, y.as_ref())
        .unwrap();
    for i in 0..3 {
        let best = best_match(truth.filter(i).unwrap(), &res.dictionary);
        assert!(best > 0.99, "filter {i}: best correlation {best}");
    }
}

#[test]
fn bad_inputs_are_errors() {
    let mut rng = sparse_core::generate::rng(0);
    let d = ConvDictionary::random(Grid::d1(4), 1, 2, &mut rng).unwrap();
    let y = gaussian(16, 2, 1);
    let codes = gaussian(32, 2, 2);
    let l = ConvDictLearn::new(0.1);
    assert!(ConvDictLearn::new(-0.1)
        .learn(&d, Grid::d1(16), 1, y.as_ref())
        .is_err());
    assert!(l
        .clone()
        .iterations(0)
        .learn(&d, Grid::d1(16), 1, y.as_ref())
        .is_err());
    assert!(l
        .clone()
        .sigma(0.0)
        .learn(&d, Grid::d1(16), 1, y.as_ref())
        .is_err());
    assert!(l.learn(&d, Grid::d1(15), 1, y.as_ref()).is_err());
    assert!(l.learn(&d, Grid::d1(2), 1, y.as_ref()).is_err());
    assert!(l
        .update_dictionary(
            &d,
            Grid::d1(16),
            1,
            y.as_ref(),
            codes.as_ref().subcols(0, 1)
        )
        .is_err());
    assert!(l
        .update_dictionary(&d, Grid::d1(16), 1, y.as_ref(), gaussian(31, 2, 0).as_ref())
        .is_err());
    let mut bad = codes.clone();
    bad[(0, 0)] = f64::NAN;
    assert!(l
        .update_dictionary(&d, Grid::d1(16), 1, y.as_ref(), bad.as_ref())
        .is_err());
    assert!(l
        .update_dictionary(&d, Grid::d1(16), 1, y.as_ref(), codes.as_ref())
        .is_ok());
}
