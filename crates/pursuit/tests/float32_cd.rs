//! Coordinate descent in float32 (`Solve<Dictionary, f32>`), with and without working sets,
//! against the exact float64 Lasso solution (LARS), against float64 coordinate descent, against
//! the duality gap its diagnostics certify in float64, and on bad or extreme input.

use faer::{Mat, MatRef};
use pursuit::lasso::{CoordinateDescent, Lars, F32_GAP_FLOOR};
use pursuit::Solve;
use sparse_core::{generate, Dictionary, Noise, Summary};

fn to32(m: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}

fn to64(m: MatRef<'_, f32>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f64)
}

/// On noisy Sparseland signals (a random and the coherent overcomplete DCT dictionary, Lasso
/// and non-negative Lasso, two penalties, working sets on and off), float32 coordinate descent
/// converges for every signal with a float64-certified relative gap `<= F32_GAP_FLOOR`, its
/// objective lies within that gap above the exact optimum (float64 LARS on the same float32
/// signals, gap `<= 1e-10`) and never below it by more than float64 rounding, and the
/// non-negative codes are non-negative. Against float64 coordinate descent: the Lasso objective
/// is 1-strongly convex in the fit `D x` (`P(x) - P* >= ||D x - D x*||^2 / 2`), so the two fits
/// differ by at most `sqrt(2 gap_32) + sqrt(2 gap_64)` (absolute certified gaps), asserted on
/// both dictionaries; on the well-conditioned random one the codes themselves agree to `1e-2`
/// (relative, l2).
#[test]
fn float32_cd_reaches_the_float64_optimum() {
    let mut rng = generate::rng(43);
    let dicts = [
        (
            "random",
            Dictionary::random_gaussian(64, 256, &mut rng).unwrap(),
        ),
        ("dct", Dictionary::overcomplete_dct(8, 256).unwrap()),
    ];
    for (dname, d) in &dicts {
        let x = generate::sparseland_codes(256, 8, 200, 0.1, 1.0, &mut rng).unwrap();
        let y = generate::signals(d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)
            .unwrap()
            .noisy;
        let y32 = to32(y.as_ref());
        let y = to64(y32.as_ref());
        for lambda in [0.02, 0.2] {
            for nonneg in [false, true] {
                let exact = Lars::new(lambda)
                    .nonneg(nonneg)
                    .gap_tol(1e-10)
                    .solve(d, y.as_ref())
                    .unwrap();
                for ws in [true, false] {
                    let label = format!("{dname} lambda {lambda} nonneg {nonneg} ws {ws}");
                    assert!(exact.all_converged(), "{label}: LARS");
                    let cd = CoordinateDescent::new(lambda)
                        .nonneg(nonneg)
                        .working_set(ws)
                        .gap_tol(1e-8)
                        .max_iter(100_000);
                    let sol = cd.solve(d, y32.as_ref()).unwrap();
                    let sol64 = cd.solve(d, y.as_ref()).unwrap();
                    assert!(sol64.all_converged(), "{label}: float64 CD");
                    for j in 0..y.ncols() {
                        let dg = &sol.diagnostics[j];
                        assert!(dg.converged, "{label}: not converged at {j}: {dg:?}");
                        let gap = dg.duality_gap.unwrap();
                        assert!(gap <= F32_GAP_FLOOR, "{label}: gap {gap:e} at {j}");
                        let (p, pstar) = (dg.objective, exact.diagnostics[j].objective);
                        assert!(
                            p - pstar <= F32_GAP_FLOOR * p && p - pstar >= -1e-9 * pstar,
                            "{label}: objective {p} vs optimum {pstar} at {j}"
                        );
                        let delta = Mat::<f64>::from_fn(256, 1, |i, _| {
                            sol.codes[(i, j)] as f64 - sol64.codes[(i, j)]
                        });
                        let fit = (d.matrix() * &delta).norm_l2();
                        let d64 = &sol64.diagnostics[j];
                        let bound = (2.0 * gap * p).sqrt()
                            + (2.0 * d64.duality_gap.unwrap() * d64.objective).sqrt();
                        assert!(
                            fit <= bound * (1.0 + 1e-6) + 1e-12,
                            "{label}: fits differ by {fit:e} > {bound:e} at {j}"
                        );
                        if *dname == "random" {
                            let (diff, norm) = (delta.norm_l2(), sol64.codes.col(j).norm_l2());
                            assert!(
                                diff <= 1e-2 * norm.max(1e-12),
                                "{label}: codes differ by {diff} of {norm} at {j}"
                            );
                        }
                        if nonneg {
                            assert!(sol.codes.col(j).iter().all(|&v| v >= 0.0), "{label}");
                        }
                    }
                }
            }
        }
    }
}

/// At a tolerance above the float32 floor the tolerance is met as asked (certified in float64),
/// and the number of sweeps stays that of float64 coordinate descent within a small factor.
#[test]
fn float32_cd_meets_a_coarse_tolerance() {
    let mut rng = generate::rng(44);
    let d = Dictionary::random_gaussian(64, 256, &mut rng).unwrap();
    let x = generate::sparseland_codes(256, 8, 100, 0.1, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.02), &mut rng)
        .unwrap()
        .noisy;
    let y32 = to32(y.as_ref());
    let cd = CoordinateDescent::new(0.05).gap_tol(1e-3);
    let sol = cd.solve(&d, y32.as_ref()).unwrap();
    let sol64 = cd.solve(&d, to64(y32.as_ref()).as_ref()).unwrap();
    assert!(sol.all_converged());
    let (mut it32, mut it64) = (0, 0);
    for j in 0..100 {
        assert!(sol.diagnostics[j].duality_gap.unwrap() <= 1e-3);
        it32 += sol.diagnostics[j].iterations;
        it64 += sol64.diagnostics[j].iterations;
    }
    assert!(it32 <= 3 * it64 + 100, "sweeps {it32} vs float64 {it64}");
}

/// A sweep cap is reported as not converged, with the float64 gap of the capped code.
#[test]
fn float32_cd_cap_is_not_convergence() {
    let mut rng = generate::rng(9);
    let d = Dictionary::overcomplete_dct(8, 256).unwrap();
    let x = generate::sparseland_codes(256, 8, 20, 0.1, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    for ws in [true, false] {
        let sol = CoordinateDescent::new(0.01)
            .working_set(ws)
            .max_iter(2)
            .solve(&d, to32(y.as_ref()).as_ref())
            .unwrap();
        for dg in &sol.diagnostics {
            assert!(!dg.converged && dg.iterations <= 2, "ws {ws}: {dg:?}");
            assert!(dg.duality_gap.unwrap() > F32_GAP_FLOOR, "ws {ws}: {dg:?}");
        }
    }
}

/// Signals near `2^-110` and `2^110` (beyond float32's safe range for squared norms) are
/// coded as the same signals at unit size, scaled, with `lambda` scaled alike.
#[test]
fn float32_cd_extreme_magnitudes_are_rescaled() {
    let mut rng = generate::rng(7);
    let d = Dictionary::random_gaussian(32, 96, &mut rng).unwrap();
    let x = generate::sparseland_codes(96, 4, 20, 0.3, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)
        .unwrap()
        .noisy;
    let base = CoordinateDescent::new(0.05)
        .solve(&d, to32(y.as_ref()).as_ref())
        .unwrap();
    assert!(base.all_converged());
    for e in [-110, 110] {
        let s = 2f64.powi(e);
        let ys = Mat::<f32>::from_fn(32, 20, |i, j| (y[(i, j)] * s) as f32);
        let sol = CoordinateDescent::new(0.05 * s)
            .solve(&d, ys.as_ref())
            .unwrap();
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
fn float32_cd_bad_input_is_named() {
    let d = Dictionary::overcomplete_dct(4, 36).unwrap();
    let mut y = Mat::<f32>::zeros(16, 3);
    y[(2, 1)] = f32::NAN;
    let e = CoordinateDescent::new(0.1)
        .solve(&d, y.as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = CoordinateDescent::new(0.1)
        .solve(&d, Mat::<f32>::zeros(15, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let e = CoordinateDescent::new(0.1)
        .ws_start(0)
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("ws_start"), "{e}");
    let e = CoordinateDescent::new(-1.0)
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("lambda"), "{e}");
    // Zero signals are solved by zero codes, certified.
    let sol = CoordinateDescent::new(0.1)
        .solve(&d, Mat::<f32>::zeros(16, 3).as_ref())
        .unwrap();
    assert!(sol.all_converged() && sol.codes.as_ref().norm_max() == 0.0);
}
