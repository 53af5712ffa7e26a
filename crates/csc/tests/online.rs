//! Online convolutional dictionary learning (`csc::OnlineConvDictLearn`): the gradient step
//! against the gradient computed by direct circular correlations in the signal domain, on
//! every operator configuration; resuming; learning on planted filters; bad input.

mod common;

use csc::{ConvDictionary, Grid, OnlineConvDictLearn, Solve};
use faer::Mat;

/// `P(d - eta grad)` with `grad_{i,c}[a] = sum_k sum_p r_{k,c}[p] x_{k,i}[p - a]` (circular,
/// the code channels of a single-channel dictionary summed), computed by loops.
fn reference_step(
    dict: &ConvDictionary,
    signal: Grid,
    channels: usize,
    y: &Mat<f64>,
    codes: &Mat<f64>,
    eta: f64,
) -> Vec<Vec<f64>> {
    let op = dict.operator_with_channels(signal, channels).unwrap();
    let synth = op.synthesize(codes.as_ref(), faer::Par::Seq).unwrap();
    let (n, rows, cols) = (signal.len(), signal.rows, signal.cols);
    let (m, cd, fg) = (dict.n_filters(), dict.channels(), dict.filter_grid());
    let cx = op.code_channels();
    (0..m)
        .map(|i| {
            let old = dict.filter(i).unwrap();
            let mut new = vec![0.0; fg.len() * cd];
            for c in 0..cd {
                for fb in 0..fg.cols {
                    for fa in 0..fg.rows {
                        let mut g = 0.0;
                        for k in 0..y.ncols() {
                            for kx in 0..cx {
                                let sc = if cd == 1 { kx } else { c };
                                for pb in 0..cols {
                                    for pa in 0..rows {
                                        let p = pa + rows * pb;
                                        let r = synth[(sc * n + p, k)] - y[(sc * n + p, k)];
                                        let qa = (pa + rows - fa) % rows;
                                        let qb = (pb + cols - fb) % cols;
                                        let x = codes[((kx * m + i) * n + qa + rows * qb, k)];
                                        g += r * x;
                                    }
                                }
                            }
                        }
                        let at = c * fg.len() + fa + fg.rows * fb;
                        new[at] = old[at] - eta * g;
                    }
                }
            }
            let nrm = new.iter().map(|v| v * v).sum::<f64>().sqrt();
            new.iter().map(|v| v / nrm).collect()
        })
        .collect()
}

#[test]
fn the_gradient_step_equals_the_signal_domain_gradient() {
    for (label, fg, cd, sg, sc, m) in common::configurations() {
        let mut rng = sparse_core::generate::rng(11);
        let init = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
        let y = common::gaussian(sg.len() * sc, 2, 5);
        let opts = OnlineConvDictLearn::new(0.05).eta_a(2.0).eta_b(3.0);
        let mut learner = opts.resume(&init, 4).unwrap();
        // The codes the learner computes: the same deterministic coder on the same filters.
        let op = init.operator_with_channels(sg, sc).unwrap();
        let codes = opts.coder.solve(&op, y.as_ref()).unwrap().codes;
        let step = learner.partial_fit(sg, sc, y.as_ref()).unwrap();
        let eta = 2.0 / (4.0 + 3.0);
        assert_eq!(step.iteration, 4);
        assert!((step.eta - eta).abs() < 1e-15, "{label}");
        assert!(step.kept.is_empty());
        let want = reference_step(&init, sg, sc, &y, &codes, eta);
        let mut delta = 0.0;
        for (i, w) in want.iter().enumerate() {
            let got = learner.dictionary().filter(i).unwrap();
            for (a, b) in got.iter().zip(w) {
                assert!((a - b).abs() < 1e-10, "{label}: filter {i}: {a} vs {b}");
            }
            let old = init.filter(i).unwrap();
            delta += got
                .iter()
                .zip(old)
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>();
        }
        assert!((step.delta_d - delta.sqrt()).abs() < 1e-10, "{label}");
        assert!(step.delta_d > 1e-6, "{label}: the step moved the filters");
        assert!(step.constraint >= 0.0 && step.constraint.is_finite());
        assert_eq!(learner.iteration(), 5);
        assert_eq!(step.coding.len(), 2);
        assert!(step.objective().is_finite());
    }
}

#[test]
fn resuming_continues_exactly() {
    let mut rng = sparse_core::generate::rng(2);
    let init = ConvDictionary::random(Grid::d2(3, 3), 1, 4, &mut rng).unwrap();
    let sg = Grid::d2(12, 10);
    let ys: Vec<Mat<f64>> = (0..3)
        .map(|s| common::gaussian(sg.len(), 1, 20 + s))
        .collect();
    let opts = OnlineConvDictLearn::new(0.1).par(faer::Par::Seq);
    let mut a = opts.start(&init).unwrap();
    for y in &ys {
        a.partial_fit(sg, 1, y.as_ref()).unwrap();
    }
    let mut b = opts.start(&init).unwrap();
    for y in &ys[..2] {
        b.partial_fit(sg, 1, y.as_ref()).unwrap();
    }
    let mut c = opts.resume(b.dictionary(), b.iteration()).unwrap();
    let last = c.partial_fit(sg, 1, ys[2].as_ref()).unwrap();
    assert_eq!(last.iteration, 2);
    assert_eq!(a.dictionary(), c.dictionary());
}

#[test]
fn learning_from_planted_filters_lowers_the_held_out_functional() {
    // Signals made of 4 planted 1-D filters with sparse codes; online learning from random
    // filters lowers the CBPDN functional of new signals of the same kind.
    let mut rng = sparse_core::generate::rng(9);
    let planted = ConvDictionary::random(Grid::d1(8), 1, 4, &mut rng).unwrap();
    let sg = Grid::d1(64);
    let op = planted.operator(sg).unwrap();
    let signals = |count: usize, seed: u64| {
        let mut r = sparse_core::generate::rng(seed);
        let mut x = Mat::<f64>::zeros(op.code_len(), count);
        for k in 0..count {
            for _ in 0..4 {
                let at = rand::Rng::random_range(&mut r, 0..op.code_len());
                x[(at, k)] = rand::Rng::random_range(&mut r, 0.5..1.5);
            }
        }
        op.synthesize(x.as_ref(), faer::Par::Seq).unwrap()
    };
    let init = ConvDictionary::random(Grid::d1(8), 1, 4, &mut rng).unwrap();
    let opts = OnlineConvDictLearn::new(0.05).eta_b(10.0);
    let mut learner = opts.start(&init).unwrap();
    let train = signals(200, 1);
    for k in 0..train.ncols() {
        learner
            .partial_fit(sg, 1, train.as_ref().subcols(k, 1))
            .unwrap();
    }
    let test = signals(10, 2);
    let functional = |d: &ConvDictionary| -> f64 {
        let op = d.operator(sg).unwrap();
        let sol = csc::Cbpdn::new(0.05)
            .max_iter(300)
            .solve(&op, test.as_ref())
            .unwrap();
        csc::cbpdn_objective(&op, sol.codes.as_ref(), test.as_ref(), 0.05, faer::Par::Seq).unwrap()
    };
    let (before, after) = (functional(&init), functional(learner.dictionary()));
    eprintln!("held-out functional {before} -> {after}");
    assert!(after < 0.7 * before, "{before} -> {after}");
}

#[test]
fn bad_input_is_an_error_naming_the_argument() {
    let mut rng = sparse_core::generate::rng(4);
    let init = ConvDictionary::random(Grid::d2(3, 3), 1, 2, &mut rng).unwrap();
    let msg = |r: csc::Result<csc::OnlineCdl>| r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(msg(OnlineConvDictLearn::new(0.1).eta_a(0.0).start(&init)).contains("eta_a"));
    assert!(msg(OnlineConvDictLearn::new(0.1).eta_b(-1.0).start(&init)).contains("eta_b"));
    assert!(msg(OnlineConvDictLearn::new(0.1).eta_a(f64::NAN).start(&init)).contains("eta_a"));
    let mut learner = OnlineConvDictLearn::new(0.1).start(&init).unwrap();
    let mut y = Mat::<f64>::zeros(64, 1);
    y[(3, 0)] = f64::NAN;
    let e = learner
        .partial_fit(Grid::d2(8, 8), 1, y.as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = learner
        .partial_fit(Grid::d2(8, 8), 1, Mat::<f64>::zeros(63, 1).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = OnlineConvDictLearn::new(-1.0)
        .start(&init)
        .unwrap()
        .partial_fit(Grid::d2(8, 8), 1, Mat::<f64>::zeros(64, 1).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("lambda"), "{e}");
    // A failed call leaves the learner as it was.
    assert_eq!(learner.iteration(), 0);
    assert_eq!(learner.dictionary(), &init);
}
