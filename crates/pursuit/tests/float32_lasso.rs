//! LARS-Lasso in float32 (`Solve<Dictionary, f32>`) against float64, against the duality gap
//! its diagnostics certify in float64, and against the k-step property of the homotopy
//! (Donoho & Tsaig 2008: under `k < (1 + 1/mu) / 2` it finds a k-sparse solution in k steps).

use faer::{Mat, MatRef};
use proptest::prelude::*;
use pursuit::lasso::Lars;
use pursuit::Solve;
use sparse_core::{generate, Dictionary, Noise, Summary};

fn to32(m: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}

fn support<T: Copy + Into<f64>>(x: MatRef<'_, T>, j: usize) -> Vec<usize> {
    (0..x.nrows())
        .filter(|&i| x[(i, j)].into() != 0.0)
        .collect()
}

/// On noisy Sparseland signals (random and DCT dictionaries, Lasso and non-negative Lasso, two
/// penalties), float32 LARS codes the signals like float64: the same supports for at least 98%
/// of the signals, and where they agree coefficients within `1e-3` of the column's largest
/// (`5e-3` on the coherent DCT, whose active Gram matrices are worse conditioned);
/// every float32 code is certified in float64 (relative duality gap `<= 1e-4`, the float32
/// floor of `gap_tol`), and its objective is within `1e-6` (relative) of the float64 one.
#[test]
fn float32_lars_matches_float64() {
    let mut rng = generate::rng(33);
    let dicts = [
        (
            "random",
            Dictionary::random_gaussian(64, 256, &mut rng).unwrap(),
            1e-3,
        ),
        ("dct", Dictionary::overcomplete_dct(8, 256).unwrap(), 5e-3),
    ];
    for (dname, d, tol) in &dicts {
        let x = generate::sparseland_codes(256, 8, 400, 0.1, 1.0, &mut rng).unwrap();
        let y = generate::signals(d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)
            .unwrap()
            .noisy;
        let y32 = to32(y.as_ref());
        for lambda in [0.02, 0.2] {
            for nonneg in [false, true] {
                let solver = Lars::new(lambda).nonneg(nonneg);
                let a = solver.solve(d, y.as_ref()).unwrap();
                let b = solver.solve(d, y32.as_ref()).unwrap();
                let label = format!("{dname} lambda {lambda} nonneg {nonneg}");
                assert!(a.all_converged(), "{label}: float64 not converged");
                assert!(b.all_converged(), "{label}: float32 not converged");
                let mut same = 0;
                for j in 0..y.ncols() {
                    let (da, db) = (&a.diagnostics[j], &b.diagnostics[j]);
                    let (ga, gb) = (da.duality_gap.unwrap(), db.duality_gap.unwrap());
                    assert!(gb <= 1e-4, "{label}: float32 gap {gb:e} at {j}");
                    let (oa, ob) = (da.objective, db.objective);
                    assert!(
                        (oa - ob).abs() <= 1e-6 * oa.abs().max(1e-12),
                        "{label}: objective {oa} vs {ob} at {j} (gaps {ga:e} / {gb:e})"
                    );
                    if support(a.codes.as_ref(), j) != support(b.codes.as_ref(), j) {
                        continue;
                    }
                    same += 1;
                    let top = a.codes.col(j).iter().fold(0.0f64, |m, v| m.max(v.abs()));
                    for i in 0..256 {
                        let diff = (a.codes[(i, j)] - b.codes[(i, j)] as f64).abs();
                        assert!(diff <= tol * top, "{label}: ({i}, {j}) differs by {diff:e}");
                    }
                }
                assert!(
                    same * 100 >= 98 * y.ncols(),
                    "{label}: only {same} of {} supports agree",
                    y.ncols()
                );
            }
        }
    }
}

/// A `max_iter` too small for the path is reported as not converged in float32 too.
#[test]
fn float32_lars_cap_is_not_convergence() {
    let mut rng = generate::rng(8);
    let d = Dictionary::random_gaussian(32, 96, &mut rng).unwrap();
    let x = generate::sparseland_codes(96, 6, 10, 0.3, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.0), &mut rng)
        .unwrap()
        .noisy;
    let sol = Lars::new(1e-3)
        .max_iter(2)
        .solve(&d, to32(y.as_ref()).as_ref())
        .unwrap();
    assert!(sol.converged().iter().all(|c| !c));
    assert!(sol.diagnostics.iter().all(|d| d.iterations == 2));
}

/// Signals near `2^-110` and `2^110` (beyond float32's safe range for squared norms) are
/// coded as the same signals at unit size, scaled, with `lambda` scaled alike.
#[test]
fn float32_lars_extreme_magnitudes_are_rescaled() {
    let mut rng = generate::rng(5);
    let d = Dictionary::random_gaussian(32, 96, &mut rng).unwrap();
    let x = generate::sparseland_codes(96, 4, 20, 0.3, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    let base = Lars::new(0.05)
        .solve(&d, to32(y.as_ref()).as_ref())
        .unwrap();
    for e in [-110, 110] {
        let s = 2f64.powi(e);
        let ys = Mat::<f32>::from_fn(32, 20, |i, j| (y[(i, j)] * s) as f32);
        let sol = Lars::new(0.05 * s).solve(&d, ys.as_ref()).unwrap();
        assert!(sol.all_converged(), "2^{e}");
        for j in 0..20 {
            for i in 0..96 {
                let (u, v) = (sol.codes[(i, j)] as f64, base.codes[(i, j)] as f64 * s);
                assert!((u - v).abs() <= 1e-5 * s, "2^{e}: ({i}, {j}) {u} vs {v}");
            }
        }
    }
}

#[test]
fn float32_lars_bad_input_is_named() {
    let d = Dictionary::overcomplete_dct(4, 36).unwrap();
    let mut y = Mat::<f32>::zeros(16, 3);
    y[(2, 1)] = f32::INFINITY;
    let e = Lars::new(0.1).solve(&d, y.as_ref()).unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = Lars::new(0.1)
        .solve(&d, Mat::<f32>::zeros(15, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = Lars::new(-1.0)
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("lambda"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    /// The k-step property in float32 (Donoho & Tsaig, *Fast solution of l1-norm minimization
    /// problems when the solution may be sparse*, IEEE Trans. Inf. Theory 2008, Theorem 1): on
    /// a dictionary of coherence `mu`, for noiseless signals of `k < (1 + 1/mu) / 2` atoms the
    /// homotopy adds exactly the true atoms, one per step and none removed, so it reaches a
    /// small `lambda` in `k` events (the `k - 1` joins after the first atom, then the target)
    /// with the true support.
    #[test]
    fn float32_lars_k_step_property(seed in any::<u64>(), k in 1usize..=3) {
        let d = Dictionary::identity_dct(32).unwrap();
        let mu = d.coherence();
        prop_assume!((k as f64) < 0.5 * (1.0 + 1.0 / mu));
        let mut rng = generate::rng(seed);
        let x = generate::sparseland_codes(d.n_atoms(), k, 8, 0.5, 1.0, &mut rng).unwrap();
        let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.0), &mut rng).unwrap().noisy;
        let sol = Lars::new(1e-4).solve(&d, to32(y.as_ref()).as_ref()).unwrap();
        for j in 0..8 {
            prop_assert_eq!(support(sol.codes.as_ref(), j), support(x.as_ref(), j));
            prop_assert_eq!(sol.diagnostics[j].iterations, k);
            for i in support(x.as_ref(), j) {
                // The Lasso bias at lambda = 1e-4 is below 1e-4 / (1 - (k - 1) mu).
                prop_assert!((sol.codes[(i, j)] as f64 - x[(i, j)]).abs() <= 1e-3);
            }
        }
    }
}
