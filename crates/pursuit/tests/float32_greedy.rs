//! Batch-OMP and ORMP in float32 (`Solve<Dictionary, f32>`) against float64 and against the
//! exact-recovery theorem (Tropp 2004: OMP recovers every support of size
//! `k < (1 + 1/mu) / 2`).

use faer::{Mat, MatRef};
use proptest::prelude::*;
use pursuit::greedy::Selection;
use pursuit::{BatchOmp, Solve, Stop};
use sparse_core::{generate, Dictionary, Noise, Summary};

fn to32(m: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}

fn support<T: Copy + Into<f64>>(x: MatRef<'_, T>, j: usize) -> Vec<usize> {
    (0..x.nrows())
        .filter(|&i| x[(i, j)].into() != 0.0)
        .collect()
}

/// On noisy Sparseland signals (random and DCT dictionaries, both selection rules, sparsity
/// and residual stops), float32 codes the signals like float64: the same supports for at
/// least 99% of the signals, and where the supports agree, coefficients within `2e-4` of the
/// column's largest and squared residual norms within `1e-5 ||y||^2`.
#[test]
fn float32_matches_float64() {
    let mut rng = generate::rng(32);
    let dicts = [
        (
            "random",
            Dictionary::random_gaussian(64, 256, &mut rng).unwrap(),
        ),
        ("dct", Dictionary::overcomplete_dct(8, 256).unwrap()),
    ];
    for (dname, d) in &dicts {
        let x = generate::sparseland_codes(256, 8, 500, 0.1, 1.0, &mut rng).unwrap();
        let y = generate::signals(d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)
            .unwrap()
            .noisy;
        let y32 = to32(y.as_ref());
        let eps = 0.05 * y.norm_l2() / (y.ncols() as f64).sqrt();
        for sel in [Selection::Omp, Selection::Ormp] {
            for stop in [Stop::Sparsity(8), Stop::Residual(eps)] {
                let solver = BatchOmp::new(stop).selection(sel);
                let a = solver.solve(d, y.as_ref()).unwrap();
                let b = solver.solve(d, y32.as_ref()).unwrap();
                let label = format!("{dname} {sel:?} {stop:?}");
                let mut same = 0;
                for j in 0..y.ncols() {
                    if support(a.codes.as_ref(), j) != support(b.codes.as_ref(), j) {
                        continue;
                    }
                    same += 1;
                    let top = a.codes.col(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for i in 0..256 {
                        let diff = (a.codes[(i, j)] - b.codes[(i, j)] as f64).abs();
                        assert!(
                            diff <= 2e-4 * top,
                            "{label}: ({i}, {j}) differs by {diff:e}"
                        );
                    }
                    let (ra, rb) = (
                        a.diagnostics[j].residual_norm,
                        b.diagnostics[j].residual_norm,
                    );
                    // float32 forms the residual energy as ||y||^2 - x_S^T (D^T y)_S: exact to
                    // a few float32 roundings of ||y||^2.
                    assert!(
                        (ra * ra - rb * rb).abs() <= 1e-5 * y.col(j).squared_norm_l2(),
                        "{label}: residual {ra} vs {rb} at {j}"
                    );
                }
                assert!(
                    same * 100 >= 99 * y.ncols(),
                    "{label}: only {same} of {} supports agree",
                    y.ncols()
                );
                let conv = |s: &[bool]| s.iter().filter(|&&c| c).count();
                assert_eq!(conv(&a.converged()), conv(&b.converged()), "{label}");
            }
        }
    }
}

/// Signals of extreme magnitude (near `2^-110` and `2^110`, beyond float32's safe range for
/// squared norms) are coded as the same signals at unit size, scaled.
#[test]
fn float32_extreme_magnitudes_are_rescaled() {
    let mut rng = generate::rng(5);
    let d = Dictionary::random_gaussian(32, 96, &mut rng).unwrap();
    let x = generate::sparseland_codes(96, 4, 20, 0.3, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    let base = BatchOmp::new(Stop::Sparsity(4))
        .solve(&d, to32(y.as_ref()).as_ref())
        .unwrap();
    for e in [-110, 110] {
        let s = 2f64.powi(e);
        let ys = Mat::<f32>::from_fn(32, 20, |i, j| (y[(i, j)] * s) as f32);
        let sol = BatchOmp::new(Stop::Sparsity(4))
            .solve(&d, ys.as_ref())
            .unwrap();
        assert!(sol.all_converged());
        for j in 0..20 {
            for i in 0..96 {
                let (u, v) = (sol.codes[(i, j)] as f64, base.codes[(i, j)] as f64 * s);
                assert!(
                    (u - v).abs() <= 1e-6 * v.abs().max(s),
                    "2^{e}: ({i}, {j}) {u} vs {v}"
                );
            }
            let r = sol.diagnostics[j].residual_norm;
            let r0 = base.diagnostics[j].residual_norm * s;
            assert!((r - r0).abs() <= 1e-5 * r0, "2^{e}: residual {r} vs {r0}");
        }
    }
}

#[test]
fn float32_bad_input_is_named() {
    let d = Dictionary::overcomplete_dct(4, 36).unwrap();
    let mut y = Mat::<f32>::zeros(16, 3);
    y[(2, 1)] = f32::NAN;
    let e = BatchOmp::new(Stop::Sparsity(2))
        .solve(&d, y.as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = BatchOmp::new(Stop::Sparsity(2))
        .solve(&d, Mat::<f32>::zeros(15, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = BatchOmp::new(Stop::Sparsity(99))
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('k'), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// Exact recovery in float32: on an overcomplete DCT of coherence `mu`, every support of
    /// size `k < (1 + 1/mu) / 2` with non-zero coefficients (magnitudes in [0.5, 1]) is found by
    /// OMP and ORMP in float32, with coefficients to float32 precision.
    #[test]
    fn float32_omp_recovers_supports_under_the_coherence_bound(
        seed in any::<u64>(), k in 1usize..=3
    ) {
        let d = Dictionary::identity_dct(32).unwrap();
        let mu = d.coherence();
        prop_assume!((k as f64) < 0.5 * (1.0 + 1.0 / mu));
        let mut rng = generate::rng(seed);
        let x = generate::sparseland_codes(d.n_atoms(), k, 8, 0.5, 1.0, &mut rng).unwrap();
        let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.0), &mut rng).unwrap().noisy;
        let y32 = to32(y.as_ref());
        for sel in [Selection::Omp, Selection::Ormp] {
            let sol = BatchOmp::new(Stop::Sparsity(k)).selection(sel).solve(&d, y32.as_ref()).unwrap();
            for j in 0..8 {
                prop_assert_eq!(support(sol.codes.as_ref(), j), support(x.as_ref(), j));
                for i in support(x.as_ref(), j) {
                    prop_assert!((sol.codes[(i, j)] as f64 - x[(i, j)]).abs() <= 1e-5);
                }
            }
        }
    }
}
