//! Signals of any finite magnitude give the codes of the same signals at unit size: every
//! pursuit rescales signals whose squared norms would overflow or underflow
//! (`sparse_core::solve::by_magnitude`). Lasso-type penalties and residual targets scale with
//! the signal.

use faer::Mat;
use pursuit::admm::{BasisPursuit, Bpdn};
use pursuit::dictlearn::{Ksvd, Mod, OnlineDictLearning};
use pursuit::greedy::Selection;
use pursuit::lasso::{CoordinateDescent, Fista, Ista, Lars};
use pursuit::{BatchOmp, MatchingPursuit, Omp, Solution, Solve, Stop};
use sparse_core::{generate, Dictionary, Noise};

type Coder = Box<dyn Fn(&Dictionary, &Mat<f64>, f64) -> pursuit::Result<Solution>>;

/// Every solver, with its magnitude parameters multiplied by `s`.
fn coders() -> Vec<(&'static str, Coder)> {
    vec![
        (
            "omp",
            Box::new(|d, y, _| Omp::new(Stop::Sparsity(3)).solve(d, y.as_ref())),
        ),
        (
            "omp-residual",
            Box::new(|d, y, s| Omp::new(Stop::Residual(1e-2 * s)).solve(d, y.as_ref())),
        ),
        (
            "batch-omp",
            Box::new(|d, y, s| {
                BatchOmp::new(Stop::SparsityOrResidual {
                    k: 10,
                    eps: 1e-2 * s,
                })
                .solve(d, y.as_ref())
            }),
        ),
        (
            "batch-ormp",
            Box::new(|d, y, _| {
                BatchOmp::new(Stop::Sparsity(3))
                    .selection(Selection::Ormp)
                    .solve(d, y.as_ref())
            }),
        ),
        (
            "batch-omp-gram",
            Box::new(|d, y, _| {
                BatchOmp::new(Stop::Sparsity(3)).code_with_gram(d, d.gram().as_ref(), y.as_ref())
            }),
        ),
        (
            "mp",
            Box::new(|d, y, _| MatchingPursuit::new(Stop::Sparsity(4)).solve(d, y.as_ref())),
        ),
        (
            "fista",
            Box::new(|d, y, s| Fista::new(0.01 * s).gap_tol(1e-12).solve(d, y.as_ref())),
        ),
        (
            "ista",
            Box::new(|d, y, s| {
                Ista::new(0.05 * s)
                    .gap_tol(1e-10)
                    .max_iter(100_000)
                    .solve(d, y.as_ref())
            }),
        ),
        (
            "cd",
            Box::new(|d, y, s| {
                CoordinateDescent::new(0.01 * s)
                    .gap_tol(1e-12)
                    .solve(d, y.as_ref())
            }),
        ),
        (
            "lars",
            Box::new(|d, y, s| Lars::new(0.01 * s).solve(d, y.as_ref())),
        ),
        (
            "bp",
            Box::new(|d, y, _| BasisPursuit::new().solve(d, y.as_ref())),
        ),
        (
            "bpdn",
            Box::new(|d, y, s| Bpdn::new(0.01 * s).solve(d, y.as_ref())),
        ),
        (
            "bpdn-homotopy",
            Box::new(|d, y, s| Bpdn::new(0.01 * s).homotopy().solve(d, y.as_ref())),
        ),
    ]
}

/// Unit-size signals (largest entry of each in `[1, 2)`), 3-sparse over `d`, slightly noisy.
fn problem() -> (Dictionary, Mat<f64>) {
    let mut rng = generate::rng(11);
    let d = Dictionary::random_gaussian(16, 32, &mut rng).unwrap();
    let x = generate::sparseland_codes(32, 3, 4, 0.5, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(1e-3), &mut rng)
        .unwrap()
        .noisy;
    let y = Mat::from_fn(16, 4, |i, j| {
        let top = y.col(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        y[(i, j)] / sparse_core::solve::magnitude_scale(top, 0)
    });
    (d, y)
}

fn support(x: &[f64]) -> Vec<usize> {
    let top = x.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    (0..x.len()).filter(|&i| x[i].abs() > 1e-6 * top).collect()
}

#[test]
fn codes_do_not_depend_on_the_magnitude_of_the_signals() {
    let (d, y) = problem();
    let scales = [
        1e-300, 1e-250, 1e-200, 1e-160, 1e-150, 1e-100, 1e-20, 1e20, 1e100, 1e150, 1e160, 1e200,
        1e250, 1e300,
    ];
    for (name, code) in coders() {
        let unit = code(&d, &y, 1.0).unwrap();
        assert!(
            unit.diagnostics.iter().all(|g| g.converged),
            "{name} at unit size: {:?}",
            unit.diagnostics
        );
        for s in scales {
            let ys = Mat::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] * s);
            let res = code(&d, &ys, s).unwrap_or_else(|e| panic!("{name} at {s:e}: {e}"));
            for j in 0..y.ncols() {
                let a: Vec<f64> = unit.codes.col(j).iter().copied().collect();
                let b: Vec<f64> = res.codes.col(j).iter().map(|v| v / s).collect();
                assert_eq!(support(&a), support(&b), "{name} at {s:e}, signal {j}");
                let top = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
                let err = a
                    .iter()
                    .zip(&b)
                    .fold(0.0f64, |m, (u, v)| m.max((u - v).abs()));
                assert!(err <= 1e-6 * top, "{name} at {s:e}, signal {j}: {err:e}");
                let g = &res.diagnostics[j];
                let rel = (g.residual_norm / s - unit.diagnostics[j].residual_norm).abs();
                assert!(
                    rel <= 1e-6 * y.col(j).norm_l2(),
                    "{name} at {s:e}: residual"
                );
                // Converged exactly as at unit size, unless the objective itself is not
                // representable (the Lasso's 1/2 ||r||^2 beyond 1e308); never with a
                // non-finite objective.
                if g.objective.is_finite() {
                    assert!(g.converged, "{name} at {s:e}, signal {j}: not converged");
                } else {
                    assert!(!g.converged, "{name} at {s:e}: converged at objective inf");
                }
            }
        }
    }
}

#[test]
fn power_of_two_scales_give_the_same_codes_bit_for_bit() {
    let (d, y) = problem();
    for (name, code) in coders() {
        let unit = code(&d, &y, 1.0).unwrap();
        let again = code(&d, &y.clone(), 1.0).unwrap();
        if again.codes != unit.codes {
            println!("{name}: not reproducible on a copy of y");
        }
        // (Not below 2^-900: the entries of `y * s` far below its largest would be subnormal.)
        for e in [-900, -600, -300, 300, 600, 1000] {
            let s = 2f64.powi(e);
            let ys = Mat::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] * s);
            let res = code(&d, &ys, s).unwrap();
            for j in 0..y.ncols() {
                for i in 0..d.n_atoms() {
                    assert_eq!(
                        (res.codes[(i, j)] / s).to_bits(),
                        unit.codes[(i, j)].to_bits(),
                        "{name} at 2^{e}, entry ({i}, {j})"
                    );
                }
            }
        }
    }
}

#[test]
fn a_batch_mixing_magnitudes_codes_each_signal_as_alone() {
    let (d, y) = problem();
    let scales = [1e-300, 1.0, 1e300, 1e-3];
    let ys = Mat::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] * scales[j]);
    // Scale-free rules only (a batch has one lambda).
    for (name, code) in coders() {
        if !matches!(name, "omp" | "batch-ormp" | "batch-omp-gram" | "mp" | "bp") {
            continue;
        }
        let unit = code(&d, &y, 1.0).unwrap();
        let res = code(&d, &ys, 1.0).unwrap();
        for (j, &s) in scales.iter().enumerate() {
            let a: Vec<f64> = unit.codes.col(j).iter().copied().collect();
            let b: Vec<f64> = res.codes.col(j).iter().map(|v| v / s).collect();
            assert_eq!(support(&a), support(&b), "{name}, signal {j}");
            let top = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let err = a
                .iter()
                .zip(&b)
                .fold(0.0f64, |m, (u, v)| m.max((u - v).abs()));
            assert!(err <= 1e-6 * top, "{name}, signal {j}: {err:e}");
            assert!(res.diagnostics[j].converged, "{name}, signal {j}");
        }
    }
}

#[test]
fn correlations_of_any_magnitude() {
    let (d, y) = problem();
    let g = d.gram();
    let dty = d.matrix().transpose() * &y;
    let y2: Vec<f64> = (0..y.ncols()).map(|j| y.col(j).squared_norm_l2()).collect();
    let omp = BatchOmp::new(Stop::Sparsity(3));
    let unit = omp
        .code_correlations(g.as_ref(), dty.as_ref(), &y2)
        .unwrap();
    for e in [-500, 500] {
        let s = 2f64.powi(e);
        let dtys = Mat::from_fn(dty.nrows(), dty.ncols(), |i, j| dty[(i, j)] * s);
        let y2s: Vec<f64> = y2.iter().map(|v| v * s * s).collect();
        let res = omp
            .code_correlations(g.as_ref(), dtys.as_ref(), &y2s)
            .unwrap();
        for j in 0..y.ncols() {
            for i in 0..d.n_atoms() {
                assert_eq!(
                    (res.codes[(i, j)] / s).to_bits(),
                    unit.codes[(i, j)].to_bits()
                );
            }
        }
        assert!(res.all_converged_flags());
    }
}

trait Flags {
    fn all_converged_flags(&self) -> bool;
}
impl Flags for Solution {
    fn all_converged_flags(&self) -> bool {
        self.diagnostics.iter().all(|g| g.converged)
    }
}

/// The learners at `1e300` and `1e-300` give the dictionary they give at unit size, bit for
/// bit, with codes and RMSEs scaled by the same power of two (the training set is divided by
/// it exactly before learning); an online `partial_fit` batch of such magnitude is refused.
#[test]
fn dictionary_learning_at_any_magnitude() {
    let (d, _) = problem();
    let mut rng = generate::rng(21);
    let x = generate::sparseland_codes(d.n_atoms(), 3, 120, 0.5, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    type Fit =
        Box<dyn Fn(&Mat<f64>, f64) -> pursuit::Result<pursuit::dictlearn::LearnedDictionary>>;
    let m = d.n_atoms();
    let learners: Vec<(&str, Fit)> = vec![
        (
            "ksvd",
            Box::new(move |y, _| {
                Ksvd::new(m, Stop::Sparsity(3))
                    .iterations(3)
                    .fit(y.as_ref())
            }),
        ),
        (
            "ksvd eps",
            // The residual target scales with the signals (by the exact power of two).
            Box::new(move |y, s| {
                Ksvd::new(m, Stop::SparsityOrResidual { k: 4, eps: 0.1 * s })
                    .iterations(3)
                    .fit(y.as_ref())
            }),
        ),
        (
            "mod",
            Box::new(move |y, _| Mod::new(m, Stop::Sparsity(3)).iterations(3).fit(y.as_ref())),
        ),
        (
            "online",
            Box::new(move |y, _| {
                OnlineDictLearning::new(m, Stop::Sparsity(3))
                    .iterations(2)
                    .fit(y.as_ref())
            }),
        ),
    ];
    for (name, fit) in &learners {
        let base = fit(&y, 1.0).unwrap();
        for e in [997, 1000, -1000, -1010] {
            let s = 2f64.powi(e);
            let ys = Mat::<f64>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] * s);
            let got = fit(&ys, s).unwrap_or_else(|err| panic!("{name} at 2^{e}: {err}"));
            assert!(
                got.dictionary.matrix() == base.dictionary.matrix(),
                "{name} at 2^{e}: another dictionary"
            );
            let (a, b) = (got.codes.to_dense(), base.codes.to_dense());
            for j in 0..a.ncols() {
                for i in 0..a.nrows() {
                    assert_eq!(a[(i, j)], b[(i, j)] * s, "{name} at 2^{e}: code ({i}, {j})");
                }
            }
            for (r, q) in got.history.iter().zip(&base.history) {
                let rel = (r.rmse - q.rmse * s).abs() / (q.rmse * s);
                assert!(
                    rel < 1e-12,
                    "{name} at 2^{e}: rmse {} vs {}",
                    r.rmse,
                    q.rmse * s
                );
                assert_eq!(r.mean_sparsity, q.mean_sparsity);
            }
        }
    }
    let mut learner = OnlineDictLearning::new(m, Stop::Sparsity(3))
        .learner()
        .unwrap();
    let huge = Mat::<f64>::from_fn(y.nrows(), 8, |i, j| y[(i, j)] * 1e300);
    let err = learner.partial_fit(huge.as_ref()).unwrap_err().to_string();
    assert!(err.contains("batch"), "{err}");
    learner.partial_fit(y.as_ref()).unwrap();
}

/// Codes beyond `f64::MAX` (a signal near `f64::MAX` over two nearly parallel atoms needs a
/// coefficient `1 / sin t` times larger) are not representable: the result never claims
/// convergence with them (found by the `solvers` fuzz target).
#[test]
fn codes_that_overflow_are_not_converged() {
    let t: f64 = 1e-3;
    let d = Dictionary::from_matrix(
        Mat::<f64>::from_fn(2, 2, |i, j| match (i, j) {
            (0, 0) => 1.0,
            (1, 0) => 0.0,
            (0, _) => t.cos(),
            _ => t.sin(),
        })
        .as_ref(),
    )
    .unwrap();
    let y = Mat::<f64>::from_fn(2, 1, |i, _| if i == 1 { f64::MAX / 2.0 } else { 0.0 });
    let coders: Vec<(&str, Solution)> = vec![
        (
            "omp",
            Omp::new(Stop::Sparsity(2)).solve(&d, y.as_ref()).unwrap(),
        ),
        (
            "batch-omp",
            BatchOmp::new(Stop::Sparsity(2))
                .solve(&d, y.as_ref())
                .unwrap(),
        ),
    ];
    for (name, s) in coders {
        let finite = s.codes.col(0).iter().all(|v| v.is_finite());
        assert!(
            finite || !s.diagnostics[0].converged,
            "{name}: converged with codes {:?}",
            s.codes.col(0)
        );
    }
}
