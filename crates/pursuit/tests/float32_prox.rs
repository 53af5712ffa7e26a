//! FISTA and ISTA in float32 (`Solve<Dictionary, f32>`) against the exact float64 Lasso
//! solution (LARS), against the duality gap their diagnostics certify in float64, and on bad or
//! extreme input.

use faer::{Mat, MatRef};
use pursuit::lasso::{Fista, Ista, Lars, F32_GAP_FLOOR};
use pursuit::Solve;
use sparse_core::{generate, Dictionary, Noise, Summary};

fn to32(m: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}

fn to64(m: MatRef<'_, f32>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f64)
}

/// On noisy Sparseland signals (random and DCT dictionaries, Lasso and non-negative Lasso, two
/// penalties), float32 FISTA converges for every signal with a float64-certified relative gap
/// `<= F32_GAP_FLOOR` (the float32 floor of the requested `1e-8`), its objective lies within
/// that gap above the exact optimum (float64 LARS on the same float32 signals, gap
/// `<= 1e-10`) and never below it by more than float64 rounding, and the non-negative codes are
/// non-negative.
#[test]
fn float32_fista_reaches_the_float64_optimum() {
    let mut rng = generate::rng(41);
    let dicts = [
        (
            "random",
            Dictionary::random_gaussian(64, 256, &mut rng).unwrap(),
        ),
        ("dct", Dictionary::overcomplete_dct(8, 256).unwrap()),
    ];
    for (dname, d) in &dicts {
        let x = generate::sparseland_codes(256, 8, 300, 0.1, 1.0, &mut rng).unwrap();
        let y = generate::signals(d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)
            .unwrap()
            .noisy;
        let y32 = to32(y.as_ref());
        let y = to64(y32.as_ref());
        for lambda in [0.02, 0.2] {
            for nonneg in [false, true] {
                let label = format!("{dname} lambda {lambda} nonneg {nonneg}");
                let exact = Lars::new(lambda)
                    .nonneg(nonneg)
                    .gap_tol(1e-10)
                    .solve(d, y.as_ref())
                    .unwrap();
                assert!(exact.all_converged(), "{label}: LARS");
                let sol = Fista::new(lambda)
                    .nonneg(nonneg)
                    .gap_tol(1e-8)
                    .max_iter(20_000)
                    .solve(d, y32.as_ref())
                    .unwrap();
                for (j, dg) in sol.diagnostics.iter().enumerate() {
                    assert!(
                        dg.converged,
                        "{label}: float32 FISTA not converged at {j}: {dg:?}"
                    );
                }
                for j in 0..y.ncols() {
                    let dg = &sol.diagnostics[j];
                    let gap = dg.duality_gap.unwrap();
                    assert!(gap <= F32_GAP_FLOOR, "{label}: gap {gap:e} at {j}");
                    let (p, pstar) = (dg.objective, exact.diagnostics[j].objective);
                    assert!(
                        p - pstar <= F32_GAP_FLOOR * p && p - pstar >= -1e-9 * pstar,
                        "{label}: objective {p} vs optimum {pstar} at {j}"
                    );
                    if nonneg {
                        assert!(sol.codes.col(j).iter().all(|&v| v >= 0.0), "{label}");
                    }
                }
            }
        }
    }
}

/// ISTA (no momentum) in float32 reaches the same certified floor on an easy problem.
#[test]
fn float32_ista_converges_and_is_certified() {
    let mut rng = generate::rng(42);
    let d = Dictionary::random_gaussian(48, 96, &mut rng).unwrap();
    let x = generate::sparseland_codes(96, 4, 50, 0.3, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.02), &mut rng)
        .unwrap()
        .noisy;
    let y32 = to32(y.as_ref());
    let exact = Lars::new(0.1)
        .solve(&d, to64(y32.as_ref()).as_ref())
        .unwrap();
    let sol = Ista::new(0.1)
        .max_iter(50_000)
        .solve(&d, y32.as_ref())
        .unwrap();
    assert!(sol.all_converged());
    for j in 0..50 {
        let (p, pstar) = (sol.diagnostics[j].objective, exact.diagnostics[j].objective);
        assert!(p - pstar <= F32_GAP_FLOOR * p && p >= pstar * (1.0 - 1e-9));
    }
}

/// A sweep cap is reported as not converged, with the float64 gap of the capped code.
#[test]
fn float32_fista_cap_is_not_convergence() {
    let mut rng = generate::rng(9);
    let d = Dictionary::overcomplete_dct(8, 256).unwrap();
    let x = generate::sparseland_codes(256, 8, 20, 0.1, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    let sol = Fista::new(0.01)
        .max_iter(3)
        .gap_every(1)
        .solve(&d, to32(y.as_ref()).as_ref())
        .unwrap();
    for dg in &sol.diagnostics {
        assert!(!dg.converged && dg.iterations == 3);
        assert!(dg.duality_gap.unwrap() > F32_GAP_FLOOR);
    }
}

/// Signals near `2^-110` and `2^110` (beyond float32's safe range for squared norms) are
/// coded as the same signals at unit size, scaled, with `lambda` scaled alike.
#[test]
fn float32_fista_extreme_magnitudes_are_rescaled() {
    let mut rng = generate::rng(6);
    let d = Dictionary::random_gaussian(32, 96, &mut rng).unwrap();
    let x = generate::sparseland_codes(96, 4, 20, 0.3, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    let base = Fista::new(0.05)
        .solve(&d, to32(y.as_ref()).as_ref())
        .unwrap();
    assert!(base.all_converged());
    for e in [-110, 110] {
        let s = 2f64.powi(e);
        let ys = Mat::<f32>::from_fn(32, 20, |i, j| (y[(i, j)] * s) as f32);
        let sol = Fista::new(0.05 * s).solve(&d, ys.as_ref()).unwrap();
        assert!(sol.all_converged(), "2^{e}");
        for j in 0..20 {
            let (u, v) = (sol.diagnostics[j].objective, base.diagnostics[j].objective);
            assert!((u / (s * s) - v).abs() <= 1e-9 * v, "2^{e}: {u} vs {v}");
            for i in 0..96 {
                let (u, v) = (sol.codes[(i, j)] as f64, base.codes[(i, j)] as f64 * s);
                assert!((u - v).abs() <= 1e-6 * s, "2^{e}: ({i}, {j}) {u} vs {v}");
            }
        }
    }
}

#[test]
fn float32_prox_bad_input_is_named() {
    let d = Dictionary::overcomplete_dct(4, 36).unwrap();
    let mut y = Mat::<f32>::zeros(16, 3);
    y[(2, 1)] = f32::NAN;
    let e = Fista::new(0.1).solve(&d, y.as_ref()).unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = Ista::new(0.1)
        .solve(&d, Mat::<f32>::zeros(15, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = Fista::new(0.1)
        .lipschitz(-1.0)
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("lipschitz"), "{e}");
    let e = Fista::new(0.1)
        .block_size(0)
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("block_size"), "{e}");
    // Zero signals are solved by zero codes, certified.
    let sol = Fista::new(0.1)
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap();
    assert!(sol.all_converged() && sol.codes.as_ref().norm_max() == 0.0);
}
