//! The float32 path of the Fourier-domain pursuits: the same iterates as float64 to float32
//! precision on every operator configuration and problem variant, float32 runs that reach the
//! float64 minimiser and meet the optimality conditions with tolerances scaled to float32, and
//! the same input checks.

mod common;

use common::*;
use csc::Solve;
use csc::{Cbpdn, L1Weights, Summary};
use faer::{Mat, MatRef};
use sparse_core::LinearOperator;

fn to_f32(m: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}

fn to_f64(m: MatRef<'_, f32>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f64)
}

/// `max |a - b| / max |b|` over the whole batch.
fn rel_max_diff(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let scale = (0..b.ncols())
        .flat_map(|j| b.col(j).iter().map(|v| v.abs()).collect::<Vec<_>>())
        .fold(0.0, f64::max)
        .max(1e-300);
    max_diff(a, b) / scale
}

/// Asserts that two dictionaries' filters agree to `5e-5` (float32 precision of unit filters).
fn assert_filters_close(label: &str, a: &csc::ConvDictionary, b: &csc::ConvDictionary) {
    for i in 0..a.n_filters() {
        let (fa, fb) = (a.filter(i).unwrap(), b.filter(i).unwrap());
        let d = fa
            .iter()
            .zip(fb)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0, f64::max);
        assert!(d < 5e-5, "{label} filter {i}: differs by {d:e}");
    }
}

/// Asserts that a float32 learning run lowered its functional and stayed within `1e-3`
/// (relative) of the float64 run's functional at every outer iteration.
fn assert_learning_follows(f64_objective: &[f64], f32_objective: &[f64]) {
    assert!(
        f32_objective.last() < f32_objective.first(),
        "{f32_objective:?}"
    );
    for (p, q) in f64_objective.iter().zip(f32_objective) {
        assert!(
            (p - q).abs() <= 1e-3 * p,
            "objective {p} (f64) vs {q} (f32)"
        );
    }
}

/// The solver variants every configuration is run with: plain, non-negative, weighted, the
/// elastic net, gradient regularisation on the first filter, joint sparsity (single-channel
/// dictionaries on several channels only); all with a fixed penalty (the adaptive penalty's
/// updates are discrete decisions on the residual ratio, which rounding may flip: the runs to
/// convergence below use it).
fn variants(op: &csc::ConvOperator, lambda: f64) -> Vec<(&'static str, Cbpdn)> {
    let w: Vec<f64> = (0..op.code_len())
        .map(|i| 0.5 + (i % 5) as f64 / 4.0)
        .collect();
    let m = op.dictionary().n_filters();
    let mut g = vec![0.0; m];
    g[0] = 1.0;
    let base = Cbpdn::new(lambda).auto_rho(csc::AutoRho::disabled());
    let mut v = vec![
        ("plain", base.clone()),
        ("nonneg", base.clone().nonneg(true)),
        (
            "weighted",
            base.clone().weights(L1Weights::PerCoefficient(w)),
        ),
        ("elastic-net", base.clone().mu(0.3)),
        ("grad-reg", base.clone().grad_reg(0.5, Some(g))),
        ("small-rho", base.clone().rho(0.5)),
    ];
    if op.dictionary().channels() == 1 && op.channels() > 1 {
        v.push(("joint", base.joint(0.1)));
    }
    v
}

/// A fixed number of iterations (no stopping), float32 against float64: the codes agree to
/// float32 precision and so do the recorded functionals and residuals.
#[test]
fn float32_iterates_follow_float64_on_every_configuration() {
    let mut worst: f64 = 0.0;
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 300 + k as u64);
        let y = gaussian(op.signal_len(), 3, 310 + k as u64);
        let y32 = to_f32(y.as_ref());
        for (name, solver) in variants(&op, 0.1) {
            let solver = solver.max_iter(40).rel_residual_tol(1e-300);
            let a = solver.solve(&op, y.as_ref()).unwrap();
            let b = Solve::<_, f32>::solve(&solver, &op, y32.as_ref()).unwrap();
            let d = rel_max_diff(to_f64(b.codes.as_ref()).as_ref(), a.codes.as_ref());
            worst = worst.max(d);
            assert!(d < 5e-5, "{label} {name}: codes differ by {d:e} (relative)");
            for (da, db) in a.diagnostics.iter().zip(&b.diagnostics) {
                assert_eq!(da.iterations, db.iterations, "{label} {name}");
                assert!(!db.converged, "{label} {name}: no stopping rule was met");
                let (ra, rb) = (da.records(), db.records());
                assert_eq!(ra.len(), rb.len());
                for (p, q) in ra.iter().zip(rb) {
                    let rel = (p.objective - q.objective).abs() / p.objective.abs().max(1e-12);
                    assert!(
                        rel < 1e-4,
                        "{label} {name}: functional {} vs {}",
                        p.objective,
                        q.objective
                    );
                    assert!(
                        (p.step - q.step).abs() <= 1e-4 * p.step,
                        "{label} {name}: rho"
                    );
                }
                let rel = (da.objective - db.objective).abs() / da.objective.abs();
                assert!(
                    rel < 1e-4,
                    "{label} {name}: final objective {} vs {}",
                    da.objective,
                    db.objective
                );
            }
        }
    }
    eprintln!("largest relative code difference float32 vs float64: {worst:.2e}");
}

/// Run to convergence in float32: the objective reaches the float64 minimiser's to float32
/// precision, and the codes meet the l1 subgradient conditions with float32 tolerances.
#[test]
fn float32_reaches_the_minimiser_and_its_optimality_conditions() {
    let lambda = 0.05;
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 330 + k as u64);
        let y = gaussian(op.signal_len(), 2, 340 + k as u64);
        let exact = Cbpdn::new(lambda)
            .max_iter(20_000)
            .rel_residual_tol(1e-10)
            .solve(&op, y.as_ref())
            .unwrap();
        let res = Cbpdn::new(lambda)
            .max_iter(20_000)
            .rel_residual_tol(1e-5)
            .solve(&op, to_f32(y.as_ref()).as_ref())
            .unwrap();
        assert!(res.all_converged(), "{label}: float32 run did not converge");
        let z = to_f64(res.codes.as_ref());
        let r = op.apply(z.as_ref()).unwrap() - &y;
        let g = op.apply_adjoint(r.as_ref()).unwrap();
        let scale = (0..y.ncols())
            .map(|j| y.col(j).norm_l2())
            .fold(0.0, f64::max);
        let mut kkt: f64 = 0.0;
        for j in 0..y.ncols() {
            let (pa, pb) = (exact.diagnostics[j].objective, res.diagnostics[j].objective);
            assert!(
                pb >= pa * (1.0 - 1e-6) && pb - pa <= 1e-4 * pa,
                "{label} signal {j}: float32 objective {pb} vs minimum {pa}"
            );
            let mut on = 0;
            for i in 0..z.nrows() {
                let (zi, gi) = (z[(i, j)], g[(i, j)]);
                // Tolerances of the float32 iterate: 1e-3 relative to lambda plus rounding of
                // the correlations (eps_32 ||y||).
                let tol = 2e-3 * lambda + 1e-5 * scale;
                if zi.abs() > 1e-6 {
                    on += 1;
                    kkt = kkt.max((gi + lambda * zi.signum()).abs());
                    assert!(
                        (gi + lambda * zi.signum()).abs() < tol,
                        "{label}: ({i}, {j}) gradient {gi}, code {zi}"
                    );
                } else {
                    assert!(gi.abs() <= lambda + tol, "{label}: ({i}, {j}) {gi}");
                }
            }
            assert!(on > 0, "{label}: all-zero code");
        }
        eprintln!("{label}: largest KKT violation {kkt:.2e} (lambda {lambda})");
    }
}

/// Warm starts in float32 (the dual is initialised in float64 and rounded): starting at the
/// float64 solution stays there to float32 precision.
#[test]
fn float32_warm_start_from_the_solution_stays_there() {
    let op = operator(csc::Grid::d2(3, 3), 1, csc::Grid::d2(8, 8), 1, 3, 350);
    let y = gaussian(op.signal_len(), 2, 351);
    let solver = Cbpdn::new(0.3).rel_residual_tol(1e-10).max_iter(20_000);
    let sol = solver.solve(&op, y.as_ref()).unwrap();
    let warm = solver
        .clone()
        .max_iter(5)
        .solve_warm(
            &op,
            to_f32(y.as_ref()).as_ref(),
            to_f32(sol.codes.as_ref()).as_ref(),
        )
        .unwrap();
    let d = rel_max_diff(to_f64(warm.codes.as_ref()).as_ref(), sol.codes.as_ref());
    assert!(d < 1e-5, "warm start moved the codes by {d:e}");
}

/// The same checks as float64: errors name the argument, nothing panics.
#[test]
fn float32_bad_input_is_an_error() {
    let op = operator(csc::Grid::d1(4), 1, csc::Grid::d1(16), 1, 2, 360);
    let mut y = Mat::<f32>::zeros(16, 2);
    y[(3, 1)] = f32::NAN;
    let e = Cbpdn::new(0.1).solve(&op, y.as_ref()).unwrap_err();
    assert!(e.to_string().contains('y'), "{e}");
    let short = Mat::<f32>::zeros(15, 1);
    assert!(Cbpdn::new(0.1).solve(&op, short.as_ref()).is_err());
    let y = Mat::<f32>::zeros(16, 1);
    let init = Mat::<f32>::zeros(3, 1);
    let e = Cbpdn::new(0.1)
        .solve_warm(&op, y.as_ref(), init.as_ref())
        .unwrap_err();
    assert!(e.to_string().contains("init"), "{e}");
    // A zero signal codes to zero in float32 as in float64.
    let res = Cbpdn::new(0.1).solve(&op, y.as_ref()).unwrap();
    assert!(res.codes.col(0).iter().all(|v| *v == 0.0));
}

/// The masked data term (mask decoupling) and FISTA in float32: lockstep with float64 over a
/// fixed number of iterations on every configuration, with a 0/1 mask and a real weight.
#[test]
fn float32_masked_and_fista_follow_float64() {
    use csc::{CbpdnFista, MaskedCbpdn};
    let mut worst: f64 = 0.0;
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let op = operator(fg, cd, sg, cs, m, 370 + k as u64);
        let y = gaussian(op.signal_len(), 2, 380 + k as u64);
        let y32 = to_f32(y.as_ref());
        let binary = Mat::from_fn(
            op.signal_len(),
            1,
            |i, _| if i % 3 == 1 { 0.0 } else { 1.0 },
        );
        let real = Mat::from_fn(op.signal_len(), 2, |i, j| 0.2 + ((i + j) % 4) as f64 / 3.0);
        for (name, mask) in [("binary mask", binary), ("real weights", real)] {
            let solver = MaskedCbpdn::new(0.1, mask)
                .max_iter(40)
                .rel_residual_tol(1e-300);
            let a = solver.solve(&op, y.as_ref()).unwrap();
            let b = Solve::<_, f32>::solve(&solver, &op, y32.as_ref()).unwrap();
            let d = rel_max_diff(to_f64(b.codes.as_ref()).as_ref(), a.codes.as_ref());
            worst = worst.max(d);
            assert!(d < 5e-5, "{label} masked, {name}: codes differ by {d:e}");
            for (da, db) in a.diagnostics.iter().zip(&b.diagnostics) {
                let rel = (da.objective - db.objective).abs() / da.objective.abs();
                assert!(
                    rel < 1e-4,
                    "{label} masked, {name}: {} vs {}",
                    da.objective,
                    db.objective
                );
            }
        }
        // Without the adaptive restart: a discrete decision (objective up or down) that
        // rounding may flip.
        let solver = CbpdnFista::new(0.1)
            .max_iter(60)
            .change_tol(1e-300)
            .restart(false);
        let a = solver.solve(&op, y.as_ref()).unwrap();
        let b = Solve::<_, f32>::solve(&solver, &op, y32.as_ref()).unwrap();
        let d = rel_max_diff(to_f64(b.codes.as_ref()).as_ref(), a.codes.as_ref());
        worst = worst.max(d);
        assert!(d < 5e-5, "{label} fista: codes differ by {d:e}");
        for (da, db) in a.diagnostics.iter().zip(&b.diagnostics) {
            let (p, q) = (da.final_objective(), db.final_objective());
            assert!((p - q).abs() < 1e-4 * p, "{label} fista: {p} vs {q}");
        }
    }
    eprintln!("largest relative code difference (masked, FISTA): {worst:.2e}");
}

/// Masked float32 runs to convergence reach the float64 masked minimiser's objective.
#[test]
fn float32_masked_reaches_the_float64_minimum() {
    use csc::MaskedCbpdn;
    let op = operator(csc::Grid::d2(3, 3), 1, csc::Grid::d2(10, 9), 1, 3, 390);
    let y = gaussian(op.signal_len(), 2, 391);
    let mask = Mat::from_fn(
        op.signal_len(),
        1,
        |i, _| if i % 4 == 0 { 0.0 } else { 1.0 },
    );
    let exact = MaskedCbpdn::new(0.05, mask.clone())
        .max_iter(50_000)
        .rel_residual_tol(1e-9)
        .solve(&op, y.as_ref())
        .unwrap();
    let res = MaskedCbpdn::new(0.05, mask)
        .max_iter(50_000)
        .rel_residual_tol(1e-5)
        .solve(&op, to_f32(y.as_ref()).as_ref())
        .unwrap();
    for j in 0..2 {
        let (pa, pb) = (exact.diagnostics[j].objective, res.diagnostics[j].objective);
        assert!(
            res.diagnostics[j].converged,
            "signal {j}: float32 did not converge"
        );
        assert!(
            pb >= pa * (1.0 - 1e-6) && pb - pa <= 1e-4 * pa,
            "signal {j}: {pb} vs {pa}"
        );
    }
}

/// The online learner in float32 (coding and Fourier-domain gradient in float32, filters and
/// projection in float64) follows the float64 learner: after three steps on every operator
/// configuration the filters agree to float32 precision, and so do the step's records.
#[test]
fn float32_online_learning_follows_float64() {
    use csc::{AutoRho, ConvDictionary, OnlineConvDictLearn};
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let mut rng = sparse_core::generate::rng(400 + k as u64);
        let init = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
        let opts = OnlineConvDictLearn::new(0.1);
        // A fixed penalty and iteration count: no discrete decision that rounding could flip.
        let coder = opts
            .coder
            .clone()
            .max_iter(30)
            .rel_residual_tol(1e-300)
            .auto_rho(AutoRho::disabled());
        let opts = opts.coder(coder);
        let (mut a, mut b) = (opts.start(&init).unwrap(), opts.start(&init).unwrap());
        for step in 0..3 {
            let y = gaussian(sg.len() * cs, 2, 410 + 10 * k as u64 + step);
            let sa = a.partial_fit(sg, cs, y.as_ref()).unwrap();
            let sb = b.partial_fit(sg, cs, to_f32(y.as_ref()).as_ref()).unwrap();
            assert_eq!(sa.eta, sb.eta);
            assert!(
                (sa.delta_d - sb.delta_d).abs() <= 1e-4 * sa.delta_d.max(1e-3),
                "{label} step {step}: DeltaD {} vs {}",
                sa.delta_d,
                sb.delta_d
            );
            let (da, db) = (sa.objective(), sb.objective());
            assert!(
                (da - db).abs() <= 1e-4 * da,
                "{label}: functional {da} vs {db}"
            );
        }
        assert_filters_close(label, a.dictionary(), b.dictionary());
    }
}

/// The batch dictionary update in float32 (the same codes, rounded) equals the float64 one to
/// float32 precision on every operator configuration; batch learning in float32 lowers its
/// functional like the float64 learner and ends within float32 rounding of it.
#[test]
fn float32_batch_dictionary_learning_follows_float64() {
    use csc::{ConvDictLearn, ConvDictionary};
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let mut rng = sparse_core::generate::rng(450 + k as u64);
        let init = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
        let op = init.operator_with_channels(sg, cs).unwrap();
        let y = gaussian(op.signal_len(), 3, 460 + k as u64);
        let codes = Cbpdn::new(0.1)
            .max_iter(30)
            .solve(&op, y.as_ref())
            .unwrap()
            .codes;
        let learner = ConvDictLearn::new(0.1).dict_iter(20);
        let a = learner
            .update_dictionary(&init, sg, cs, y.as_ref(), codes.as_ref())
            .unwrap();
        let b = learner
            .update_dictionary(
                &init,
                sg,
                cs,
                to_f32(y.as_ref()).as_ref(),
                to_f32(codes.as_ref()).as_ref(),
            )
            .unwrap();
        assert_filters_close(label, &a, &b);
    }
    let mut rng = sparse_core::generate::rng(470);
    let init = ConvDictionary::random(csc::Grid::d2(4, 4), 1, 4, &mut rng).unwrap();
    let sg = csc::Grid::d2(16, 16);
    let y = gaussian(sg.len(), 4, 471);
    let learner = ConvDictLearn::new(0.1).iterations(4);
    let a = learner.learn(&init, sg, 1, y.as_ref()).unwrap();
    let b = learner
        .learn(&init, sg, 1, to_f32(y.as_ref()).as_ref())
        .unwrap();
    assert_learning_follows(&a.objective, &b.objective);
}

/// The masked dictionary update (mask decoupling, SPORCO's `ConvCnstrMODMaskDcpl`) in float32
/// follows float64 over a fixed number of iterations on every configuration, from zero and
/// warm; masked dictionary learning in float32 lowers its functional like float64's.
#[test]
fn float32_masked_ccmod_follows_float64() {
    use csc::{ConvDictionary, MaskedCcmod};
    for (k, (label, fg, cd, sg, cs, m)) in configurations().into_iter().enumerate() {
        let mut rng = sparse_core::generate::rng(500 + k as u64);
        let init = ConvDictionary::random(fg, cd, m, &mut rng).unwrap();
        let op = init.operator_with_channels(sg, cs).unwrap();
        let y = gaussian(op.signal_len(), 3, 510 + k as u64);
        let codes = Cbpdn::new(0.1)
            .max_iter(30)
            .solve(&op, y.as_ref())
            .unwrap()
            .codes;
        let mask = Mat::from_fn(
            op.signal_len(),
            3,
            |i, j| if (i + j) % 3 == 0 { 0.0 } else { 1.0 },
        );
        for warm in [false, true] {
            let u = MaskedCcmod::new()
                .max_iter(30)
                .rel_residual_tol(1e-300)
                .warm_start(warm);
            let a = u
                .solve(&init, sg, cs, y.as_ref(), codes.as_ref(), mask.as_ref())
                .unwrap();
            let b = u
                .solve(
                    &init,
                    sg,
                    cs,
                    to_f32(y.as_ref()).as_ref(),
                    to_f32(codes.as_ref()).as_ref(),
                    mask.as_ref(),
                )
                .unwrap();
            let what = format!("{label} (warm {warm})");
            assert_filters_close(&what, &a.dictionary, &b.dictionary);
            let (p, q) = (a.diagnostics.objective, b.diagnostics.objective);
            assert!(
                (p - q).abs() <= 1e-4 * p.max(1e-6),
                "{label}: DFid {p} vs {q}"
            );
        }
    }
    let mut rng = sparse_core::generate::rng(520);
    let init = ConvDictionary::random(csc::Grid::d2(4, 4), 1, 4, &mut rng).unwrap();
    let sg = csc::Grid::d2(16, 16);
    let y = gaussian(sg.len(), 4, 521);
    let mask = Mat::from_fn(sg.len(), 1, |i, _| if i % 4 == 1 { 0.0 } else { 1.0 });
    let u = MaskedCcmod::new().max_iter(30);
    let a = u
        .learn(&init, sg, 1, y.as_ref(), mask.as_ref(), 0.05, 4, 60)
        .unwrap();
    let b = u
        .learn(
            &init,
            sg,
            1,
            to_f32(y.as_ref()).as_ref(),
            mask.as_ref(),
            0.05,
            4,
            60,
        )
        .unwrap();
    assert_learning_follows(&a.objective, &b.objective);
}

/// Streamed batch learning with float32 batches (coding and spectra in float32, statistics
/// accumulated in float64): the statistics' update equals the float64 one to float32
/// precision, and the streamed learner lowers its functional as the float64 one does.
#[test]
fn float32_streamed_learning_follows_float64() {
    use csc::{CodeStatistics, ConvDictLearn, ConvDictionary};
    let mut rng = sparse_core::generate::rng(530);
    let init = ConvDictionary::random(csc::Grid::d2(3, 3), 1, 3, &mut rng).unwrap();
    let sg = csc::Grid::d2(12, 10);
    let op = init.operator(sg).unwrap();
    let y = gaussian(sg.len(), 4, 531);
    let codes = Cbpdn::new(0.1)
        .max_iter(30)
        .solve(&op, y.as_ref())
        .unwrap()
        .codes;
    let learner = ConvDictLearn::new(0.1).dict_iter(30);
    let mut s64 = CodeStatistics::new(&init, sg, 1).unwrap();
    s64.accumulate(&op, y.as_ref(), codes.as_ref()).unwrap();
    let mut s32 = CodeStatistics::new(&init, sg, 1).unwrap();
    s32.accumulate(
        &op,
        to_f32(y.as_ref()).as_ref(),
        to_f32(codes.as_ref()).as_ref(),
    )
    .unwrap();
    let a = learner.update_from_statistics(&init, &s64).unwrap();
    let b = learner.update_from_statistics(&init, &s32).unwrap();
    assert_filters_close("streamed", &a, &b);
    let learner = ConvDictLearn::new(0.1).iterations(3);
    let batch = |k: usize| y.as_ref().subcols(2 * k, 2);
    let ra = learner
        .learn_streaming(&init, sg, 1, 2, |k| Ok(batch(k).to_owned()), |_, _| {})
        .unwrap();
    let rb = learner
        .learn_streaming(&init, sg, 1, 2, |k| Ok(to_f32(batch(k))), |_, _| {})
        .unwrap();
    assert_learning_follows(&ra.objective, &rb.objective);
}
