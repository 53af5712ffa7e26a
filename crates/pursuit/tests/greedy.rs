//! Greedy pursuits against their optimality conditions, brute force and the coherence theorems.

use faer::linalg::solvers::SolveLstsq;
use faer::{Mat, MatRef, Par};
use proptest::prelude::*;
use pursuit::greedy::Selection;
use pursuit::Solve;
use pursuit::{BatchOmp, MatchingPursuit, Omp, SparseCoder, Stop, Thresholding};
use sparse_core::Summary;
use sparse_core::{generate, Dictionary, LinearOperator, Noise, Shrinkage};

/// A low-coherence dictionary: the union `[I, DCT]` of two orthonormal bases seen in a random
/// orthonormal basis (rotation keeps the coherence, which is at most `sqrt(2/n)`).
fn rotated_two_ortho(n: usize, seed: u64) -> Dictionary {
    let g = generate::add_noise(
        Mat::<f64>::zeros(n, n).as_ref(),
        1.0,
        &mut generate::rng(seed),
    )
    .unwrap();
    let q = g.qr().compute_Q();
    let base = Dictionary::identity_dct(n).unwrap();
    Dictionary::from_matrix((q * base.matrix()).as_ref()).unwrap()
}

fn support(x: MatRef<'_, f64>, j: usize) -> Vec<usize> {
    (0..x.nrows()).filter(|&i| x[(i, j)] != 0.0).collect()
}

fn lstsq_on(d: &Dictionary, s: &[usize], y: MatRef<'_, f64>) -> Mat<f64> {
    let ds = Mat::<f64>::from_fn(d.signal_len(), s.len(), |r, c| d.matrix()[(r, s[c])]);
    ds.qr().solve_lstsq(y.to_owned())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Tropp (2004) / Donoho & Elad (2003): OMP recovers every x with ||x||_0 < (1 + 1/mu)/2.
    #[test]
    fn omp_recovers_under_the_coherence_condition(n in 16usize..48, seed in 0u64..10_000, kf in 0.0f64..1.0, contrast in 0.05f64..1.0) {
        let d = rotated_two_ortho(n, seed);
        let mu = d.coherence();
        let kmax = (((1.0 + 1.0 / mu) / 2.0).ceil() as usize - 1).max(1);
        prop_assume!((kmax as f64) < (1.0 + 1.0 / mu) / 2.0);
        let k = 1 + ((kmax - 1) as f64 * kf) as usize;
        let mut rng = generate::rng(seed + 1);
        let x = generate::sparseland_codes(d.n_atoms(), k, 8, contrast, 1.0, &mut rng).unwrap();
        let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng).unwrap().clean;
        for res in [
            Omp::new(Stop::Sparsity(k)).solve(&d, y.as_ref()).unwrap(),
            BatchOmp::new(Stop::Residual(1e-9)).solve(&d, y.as_ref()).unwrap(),
            // ORMP shares the guarantee (Soussen, Gribonval, Idier & Herzet 2013).
            BatchOmp::new(Stop::Sparsity(k)).selection(Selection::Ormp).solve(&d, y.as_ref()).unwrap(),
        ] {
            for j in 0..8 {
                prop_assert_eq!(support(res.codes.as_ref(), j), support(x.as_ref(), j));
            }
            prop_assert!((res.codes.as_ref() - x.as_ref()).norm_max() < 1e-9);
        }
    }

    /// Residual orthogonality, the defining property of OMP, and Batch-OMP = OMP.
    #[test]
    fn omp_residual_is_orthogonal_and_batch_omp_agrees(n in 8usize..40, extra in 0usize..60, k in 1usize..8, seed in 0u64..10_000, by_residual in any::<bool>()) {
        let m = n + extra;
        let k = k.min(n);
        let mut rng = generate::rng(seed);
        let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
        let y = generate::add_noise(Mat::<f64>::zeros(n, 6).as_ref(), 1.0, &mut rng).unwrap();
        let stop = if by_residual { Stop::SparsityOrResidual { k, eps: 0.5 } } else { Stop::Sparsity(k) };
        let a = Omp::new(stop).solve(&d, y.as_ref()).unwrap();
        let b = BatchOmp::new(stop).solve(&d, y.as_ref()).unwrap();
        let r = &y - d.apply(a.codes.as_ref()).unwrap();
        let c = d.apply_adjoint(r.as_ref()).unwrap();
        for j in 0..6 {
            let s = support(a.codes.as_ref(), j);
            for &i in &s {
                prop_assert!(c[(i, j)].abs() < 1e-10, "<r, d_{}> = {}", i, c[(i, j)]);
            }
            prop_assert!((r.col(j).norm_l2() - a.diagnostics[j].residual_norm).abs() < 1e-10);
            prop_assert!((b.diagnostics[j].residual_norm - a.diagnostics[j].residual_norm).abs() < 1e-8);
            prop_assert_eq!(s, support(b.codes.as_ref(), j));
        }
        prop_assert!((a.codes.as_ref() - b.codes.as_ref()).norm_max() < 1e-10);
    }

    /// Thresholding with a least-squares refit succeeds when |x_min|/|x_max| > (2k - 1) mu
    /// (Elad 2010, theorem 4.5, noiseless case).
    #[test]
    fn thresholding_recovers_under_its_contrast_condition(n in 32usize..64, seed in 0u64..10_000) {
        let d = rotated_two_ortho(n, seed);
        let mu = d.coherence();
        // Largest k with a feasible contrast, then a contrast just above (2k-1) mu.
        let k = ((1.0 / mu + 1.0) / 2.0).floor().max(1.0) as usize;
        let need = (2 * k - 1) as f64 * mu;
        prop_assume!(need < 0.95);
        let contrast = (need + 0.05).min(1.0);
        let mut rng = generate::rng(seed + 3);
        let x = generate::sparseland_codes(d.n_atoms(), k, 6, contrast, 1.0, &mut rng).unwrap();
        let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng).unwrap().clean;
        let res = Thresholding::new(Shrinkage::TopK(k)).least_squares(true).solve(&d, y.as_ref()).unwrap();
        for j in 0..6 {
            prop_assert_eq!(support(res.codes.as_ref(), j), support(x.as_ref(), j));
        }
        prop_assert!((res.codes.as_ref() - x.as_ref()).norm_max() < 1e-9);
    }
}

/// On tiny problems, compare with brute force over every support: OMP's coefficients are the
/// least-squares fit on its support, its residual is never below the best k-term residual, and
/// under the coherence condition it finds the best support.
#[test]
fn omp_against_brute_force_on_tiny_problems() {
    let (n, m, k) = (8, 12, 2);
    for seed in 0..40u64 {
        let mut rng = generate::rng(seed);
        let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
        let x = generate::sparseland_codes(m, k, 1, 0.5, 1.0, &mut rng).unwrap();
        let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
            .unwrap()
            .noisy;
        let res = Omp::new(Stop::Sparsity(k))
            .par(Par::Seq)
            .solve(&d, y.as_ref())
            .unwrap();
        let s = support(res.codes.as_ref(), 0);
        let coef = lstsq_on(&d, &s, y.as_ref());
        for (c, &i) in s.iter().enumerate() {
            assert!((coef[(c, 0)] - res.codes[(i, 0)]).abs() < 1e-10);
        }
        let mut best = (f64::INFINITY, vec![]);
        for a in 0..m {
            for b in a + 1..m {
                let c = lstsq_on(&d, &[a, b], y.as_ref());
                let fit =
                    c[(0, 0)] * d.matrix().col(a).as_mat() + c[(1, 0)] * d.matrix().col(b).as_mat();
                let r = (y.as_ref() - fit).norm_l2();
                if r < best.0 {
                    best = (r, vec![a, b]);
                }
            }
        }
        assert!(res.diagnostics[0].residual_norm >= best.0 - 1e-12);
        // One atom: OMP's choice (largest |<y, d_i>|) is the best 1-term approximation.
        let one = Omp::new(Stop::Sparsity(1)).solve(&d, y.as_ref()).unwrap();
        let best1 = (0..m)
            .map(|a| {
                let c = lstsq_on(&d, &[a], y.as_ref());
                let fit = c[(0, 0)] * d.matrix().col(a).as_mat();
                ((y.as_ref() - fit).norm_l2(), a)
            })
            .fold((f64::INFINITY, 0), |b, v| if v.0 < b.0 { v } else { b });
        assert_eq!(support(one.codes.as_ref(), 0), vec![best1.1]);
        assert!((one.diagnostics[0].residual_norm - best1.0).abs() < 1e-12);
    }
}

#[test]
fn batch_omp_equals_omp_on_the_patch_workload() {
    let d = Dictionary::overcomplete_dct(8, 256).unwrap();
    let mut rng = generate::rng(5);
    let x = generate::sparseland_codes(256, 8, 300, 0.2, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.02), &mut rng)
        .unwrap()
        .noisy;
    for stop in [Stop::Sparsity(8), Stop::Residual(0.02 * 8.0 * 1.15)] {
        let a = Omp::new(stop).solve(&d, y.as_ref()).unwrap();
        let b = BatchOmp::new(stop).solve(&d, y.as_ref()).unwrap();
        let seq = BatchOmp::new(stop)
            .par(Par::Seq)
            .solve(&d, y.as_ref())
            .unwrap();
        assert_eq!(b, seq, "parallel and sequential runs differ");
        for j in 0..300 {
            assert_eq!(
                support(a.codes.as_ref(), j),
                support(b.codes.as_ref(), j),
                "signal {j}"
            );
        }
        assert!((a.codes.as_ref() - b.codes.as_ref()).norm_max() < 1e-10);
        assert_eq!(a.iterations(), b.iterations());
        assert!(b.all_converged());
    }
}

#[test]
fn matching_pursuit_decreases_the_residual_and_converges() {
    let mut rng = generate::rng(2);
    let d = Dictionary::random_gaussian(20, 40, &mut rng).unwrap();
    let y = generate::add_noise(Mat::<f64>::zeros(20, 3).as_ref(), 1.0, &mut rng).unwrap();
    let mut last = [f64::INFINITY; 3];
    for steps in 1..30 {
        let res = MatchingPursuit::new(Stop::Sparsity(steps))
            .solve(&d, y.as_ref())
            .unwrap();
        let r = &y - d.apply(res.codes.as_ref()).unwrap();
        for (j, prev) in last.iter_mut().enumerate() {
            let rn = r.col(j).norm_l2();
            assert!(
                (rn - res.diagnostics[j].residual_norm).abs() < 1e-9,
                "tracked residual is exact"
            );
            assert!(rn <= *prev + 1e-12);
            *prev = rn;
        }
    }
    let res = MatchingPursuit::new(Stop::Residual(1e-3))
        .max_iter(5000)
        .solve(&d, y.as_ref())
        .unwrap();
    assert!(res.all_converged());
    assert!(res.residual_norms().iter().all(|&r| r <= 1e-3));
}

#[test]
fn thresholding_is_the_shrunk_correlation() {
    let mut rng = generate::rng(8);
    let d = Dictionary::random_gaussian(10, 20, &mut rng).unwrap();
    let y = generate::add_noise(Mat::<f64>::zeros(10, 4).as_ref(), 1.0, &mut rng).unwrap();
    for sh in [
        Shrinkage::Soft(0.3),
        Shrinkage::Hard(0.3),
        Shrinkage::NonNegSoft(0.3),
        Shrinkage::TopK(3),
    ] {
        let res = Thresholding::new(sh).solve(&d, y.as_ref()).unwrap();
        let mut expect = d.apply_adjoint(y.as_ref()).unwrap();
        sh.apply_batch(expect.as_mut());
        assert_eq!(res.codes, expect);
    }
}

#[test]
fn bad_input_is_an_error() {
    let d = Dictionary::random_gaussian(10, 20, &mut generate::rng(0)).unwrap();
    let y = Mat::<f64>::zeros(10, 2);
    let coders: Vec<Box<dyn SparseCoder>> = vec![
        Box::new(Omp::new(Stop::Sparsity(2))),
        Box::new(BatchOmp::new(Stop::Sparsity(2))),
        Box::new(MatchingPursuit::new(Stop::Sparsity(2))),
        Box::new(Thresholding::new(Shrinkage::Soft(0.1))),
    ];
    let mut nan = y.clone();
    nan[(3, 1)] = f64::NAN;
    for c in &coders {
        assert!(
            c.solve(&d, Mat::<f64>::zeros(9, 2).as_ref()).is_err(),
            "wrong rows"
        );
        assert!(
            c.solve(&d, Mat::<f64>::zeros(10, 0).as_ref()).is_err(),
            "empty batch"
        );
        assert!(c.solve(&d, nan.as_ref()).is_err(), "NaN");
        assert!(c.solve(&d, y.as_ref()).is_ok());
    }
    for stop in [
        Stop::Sparsity(0),
        Stop::Sparsity(21),
        Stop::Sparsity(11),
        Stop::Residual(-1.0),
        Stop::Residual(f64::NAN),
    ] {
        assert!(Omp::new(stop).solve(&d, y.as_ref()).is_err(), "{stop:?}");
        assert!(
            BatchOmp::new(stop).solve(&d, y.as_ref()).is_err(),
            "{stop:?}"
        );
    }
    assert!(Thresholding::new(Shrinkage::Soft(-1.0))
        .solve(&d, y.as_ref())
        .is_err());
    assert!(BatchOmp::new(Stop::Sparsity(2))
        .code_with_gram(&d, Mat::<f64>::zeros(3, 3).as_ref(), y.as_ref())
        .is_err());
    // A zero signal is coded as zero, converged.
    let res = BatchOmp::new(Stop::Residual(0.0))
        .solve(&d, y.as_ref())
        .unwrap();
    assert!(res.all_converged() && res.codes.norm_max() == 0.0);
}

/// ORMP against its definition: each step adds the atom whose least-squares fit together with
/// the atoms already chosen leaves the smallest residual (checked by brute force with QR).
#[test]
fn ormp_adds_the_atom_that_minimises_the_residual() {
    let (n, m, k) = (10, 24, 5);
    for seed in 0..20u64 {
        let mut rng = generate::rng(seed);
        let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
        let y = generate::add_noise(Mat::<f64>::zeros(n, 1).as_ref(), 1.0, &mut rng).unwrap();
        let mut chosen: Vec<usize> = Vec::new();
        let mut resid = f64::INFINITY;
        for _ in 0..k {
            let (mut best, mut best_r) = (usize::MAX, f64::INFINITY);
            for i in (0..m).filter(|i| !chosen.contains(i)) {
                let mut s = chosen.clone();
                s.push(i);
                let c = lstsq_on(&d, &s, y.as_ref());
                let ds = Mat::<f64>::from_fn(n, s.len(), |r, q| d.matrix()[(r, s[q])]);
                let r = (y.as_ref() - &ds * &c).norm_l2();
                if r < best_r - 1e-12 {
                    (best, best_r) = (i, r);
                }
            }
            chosen.push(best);
            resid = best_r;
        }
        chosen.sort();
        let res = BatchOmp::new(Stop::Sparsity(k))
            .selection(Selection::Ormp)
            .par(Par::Seq)
            .solve(&d, y.as_ref())
            .unwrap();
        assert_eq!(support(res.codes.as_ref(), 0), chosen, "seed {seed}");
        let coef = lstsq_on(&d, &chosen, y.as_ref());
        for (c, &i) in chosen.iter().enumerate() {
            assert!((coef[(c, 0)] - res.codes[(i, 0)]).abs() < 1e-10);
        }
        assert!((res.diagnostics[0].residual_norm - resid).abs() < 1e-10);
        // The residual rule stops at the first support meeting the target.
        let res = BatchOmp::new(Stop::Residual(resid * 1.0001))
            .selection(Selection::Ormp)
            .solve(&d, y.as_ref())
            .unwrap();
        assert_eq!(res.diagnostics[0].iterations, k);
    }
}

#[test]
fn least_squares_thresholding_refuses_dependent_atoms() {
    use pursuit::Error;
    // Two copies of the same atom: both are kept by top-2 and the refit is singular.
    let a = faer::Mat::from_fn(4, 3, |i, j| match j {
        0 | 1 => [1.0, 2.0, 0.0, 1.0][i],
        _ => [0.0, 0.0, 1.0, 0.0][i],
    });
    let d = Dictionary::from_matrix(a.as_ref()).unwrap();
    let y = faer::Mat::from_fn(4, 2, |i, j| if j == 0 { a[(i, 0)] } else { a[(i, 2)] });
    let thr = Thresholding::new(Shrinkage::TopK(2)).least_squares(true);
    match thr.solve(&d, y.as_ref()) {
        Err(Error::DependentAtoms { signal: 0, atom }) => assert!(atom <= 1),
        other => panic!("expected DependentAtoms for signal 0, got {other:?}"),
    }
    // More atoms kept than the signal has entries: refused, not a panic.
    let wide = Dictionary::random_gaussian(4, 12, &mut sparse_core::generate::rng(3)).unwrap();
    let y = faer::Mat::from_fn(4, 1, |i, _| i as f64 + 1.0);
    let r = Thresholding::new(Shrinkage::TopK(6))
        .least_squares(true)
        .solve(&wide, y.as_ref());
    assert!(
        matches!(r, Err(Error::DependentAtoms { signal: 0, .. })),
        "{r:?}"
    );
    // Independent atoms still refit exactly.
    let r = Thresholding::new(Shrinkage::TopK(4))
        .least_squares(true)
        .solve(&wide, y.as_ref())
        .unwrap();
    assert!(r.diagnostics[0].residual_norm < 1e-10);
}

#[test]
fn every_cap_is_honoured_and_degenerate_sizes_are_errors() {
    let d = Dictionary::random_gaussian(8, 16, &mut generate::rng(5)).unwrap();
    let y = Mat::from_fn(8, 3, |i, j| ((i * 7 + j * 3) % 5) as f64 - 2.0);
    // A sparsity of usize::MAX stops at max_iter, unconverged, instead of running for minutes.
    let r = MatchingPursuit::new(Stop::Sparsity(usize::MAX))
        .max_iter(25)
        .solve(&d, y.as_ref())
        .unwrap();
    assert!(r
        .diagnostics
        .iter()
        .all(|s| s.iterations <= 25 && !s.converged));
    let r = MatchingPursuit::new(Stop::Sparsity(3))
        .solve(&d, y.as_ref())
        .unwrap();
    assert!(r.all_converged() && r.max_iterations() <= 3);
    // TopK(0) is refused as OMP refuses k = 0.
    let e = Thresholding::new(Shrinkage::TopK(0))
        .solve(&d, y.as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("`k`"), "{e}");
    // Degenerate denoiser sizes are errors, not `clamp` panics.
    let img = Mat::from_fn(16, 16, |i, j| ((i + 2 * j) % 7) as f64);
    for den in [
        pursuit::dictlearn::Denoiser::new(10.0).n_atoms(0),
        pursuit::dictlearn::Denoiser::new(10.0).patch_size(0),
    ] {
        let _ = den.stop();
        assert!(den.denoise_ksvd(img.as_ref()).is_err());
    }
}
