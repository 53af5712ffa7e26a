//! Bad-input battery of `theory`: every calculator with NaN/inf, negative and out-of-range
//! coherences, sparsities, noise levels and norms; supports that are empty, duplicated, out of
//! range or dependent; sizes that overflow; empty and mismatched layer lists. Each call must
//! return an `Err` naming the argument, or a sane `Ok` (a certificate that holds has finite
//! sides and a finite error bound; a number is not NaN), never panic, and never mutate its
//! inputs.

use faer::Mat;
use sparse_core::{generate, Dictionary};
use testkit::{bits, Expect, Log};
use theory::algorithms::{facnet_acceleration, mean_l1, ml_ista_step_bounds, ml_ista_steps};
use theory::coherence::{
    babel, coherence_of_matrix, conv_welch_bound, effective_coherence, effective_coherences,
    effective_product, round_to,
};
use theory::conv::{csc_bp_stability, csc_lasso_lambda, csc_pursuit_recovery, csc_uniqueness};
use theory::multilayer::{
    adversarial_margin, layered_bp, layered_thresholding, layered_thresholds, projection_stability,
};
use theory::sparseland::*;
use theory::{
    erc, global_vs_local, report, rip_lower_estimate, spark, spark_lower_bound, Certificate,
    LayerStats, ReportOptions, SparkOptions,
};

/// Fewer calls than this means cases were skipped.
const MIN_CALLS: usize = 250;

/// Why a certificate is not sane: it holds with a NaN side, an infinite `lhs` (the bound `rhs`
/// is `inf` by definition for `mu = 0`) or a NaN or negative error bound.
fn insane_cert(c: &Certificate) -> Option<String> {
    let sides = !c.lhs.is_nan() && !c.rhs.is_nan();
    // An error bound may overflow to `inf` (still a true bound), never be NaN or negative.
    let bound = c.error_bound.is_none_or(|b| b >= 0.0);
    (c.holds && !(sides && bound && c.lhs.is_finite())).then(|| format!("holds at {c:?}"))
}

fn insane_certs(cs: &[Certificate]) -> Option<String> {
    cs.iter().find_map(insane_cert)
}

fn insane_number(v: &f64) -> Option<String> {
    v.is_nan().then(|| "NaN".to_string())
}

const BAD: [f64; 4] = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0];

#[test]
fn calculators_on_bad_input() {
    let start = std::time::Instant::now();
    let mut log = Log::default();

    // Scalar Sparseland theorems: every argument in turn NaN, +-inf and negative; coherences
    // also above 1.
    let mu_bad = [f64::NAN, f64::INFINITY, -0.1, 1.5];
    for &v in &mu_bad {
        let e = Expect::Err("mu");
        log.check_with(
            &format!("uniqueness_coherence mu={v}"),
            e,
            || uniqueness_coherence(v, 2.0),
            insane_cert,
        );
        log.check_with(
            &format!("omp_recovery mu={v}"),
            e,
            || omp_recovery(v, 2.0),
            insane_cert,
        );
        log.check_with(
            &format!("bp_recovery mu={v}"),
            e,
            || bp_recovery(v, 2.0),
            insane_cert,
        );
        log.check_with(
            &format!("bp_stability mu={v}"),
            e,
            || bp_stability(v, 2.0, 0.1),
            insane_cert,
        );
        log.check_with(
            &format!("thresholding mu={v}"),
            e,
            || thresholding_recovery(v, 2.0, 0.5, 1.0, 0.0),
            insane_cert,
        );
        log.check_with(
            &format!("thr bound mu={v}"),
            e,
            || thresholding_sparsity_bound(v, 0.5, 0.0),
            insane_number,
        );
        log.check_with(
            &format!("spark bound mu={v}"),
            e,
            || spark_lower_bound(v),
            insane_number,
        );
        log.check_with(
            &format!("csc_uniqueness mu={v}"),
            e,
            || csc_uniqueness(v, 2.0),
            insane_cert,
        );
        log.check_with(
            &format!("csc_pursuit mu={v}"),
            e,
            || csc_pursuit_recovery(v, 2.0),
            insane_cert,
        );
        log.check_with(
            &format!("csc_bp_stability mu={v}"),
            e,
            || csc_bp_stability(v, 2.0, 0.1),
            insane_cert,
        );
        log.check_with(
            &format!("adversarial mu={v}"),
            e,
            || adversarial_margin(v, 2.0, 1.0, 1.0, 0.01),
            insane_cert,
        );
    }
    for &v in &BAD {
        let e = Expect::Err("k");
        log.check_with(
            &format!("uniqueness_coherence k={v}"),
            e,
            || uniqueness_coherence(0.1, v),
            insane_cert,
        );
        log.check_with(
            &format!("uniqueness_spark k={v}"),
            e,
            || uniqueness_spark(5.0, v),
            insane_cert,
        );
        log.check_with(
            &format!("omp_recovery k={v}"),
            e,
            || omp_recovery(0.1, v),
            insane_cert,
        );
        log.check_with(
            &format!("bp_recovery k={v}"),
            e,
            || bp_recovery(0.1, v),
            insane_cert,
        );
        log.check_with(
            &format!("bp_stability k={v}"),
            e,
            || bp_stability(0.1, v, 0.1),
            insane_cert,
        );
        log.check_with(
            &format!("thresholding k={v}"),
            e,
            || thresholding_recovery(0.1, v, 0.5, 1.0, 0.0),
            insane_cert,
        );
        log.check_with(
            &format!("adversarial k={v}"),
            e,
            || adversarial_margin(0.1, v, 1.0, 1.0, 0.01),
            insane_cert,
        );
        log.check_with(
            &format!("uniqueness_spark spark={v}"),
            // `spark = inf` is `spark_lower_bound(0)`, the bound of an orthonormal basis: legal.
            if v == f64::INFINITY {
                Expect::Ok
            } else {
                Expect::Err("spark")
            },
            || uniqueness_spark(v, 2.0),
            insane_cert,
        );
        log.check_with(
            &format!("bp_stability eps={v}"),
            Expect::Err("eps"),
            || bp_stability(0.1, 2.0, v),
            insane_cert,
        );
        log.check_with(
            &format!("thresholding eps={v}"),
            Expect::Err("eps"),
            || thresholding_recovery(0.1, 2.0, 0.5, 1.0, v),
            insane_cert,
        );
        log.check_with(
            &format!("thresholding a_max={v}"),
            Expect::Err("a_"),
            || thresholding_recovery(0.1, 2.0, 0.5, v, 0.0),
            insane_cert,
        );
        log.check_with(
            &format!("thresholding a_min={v}"),
            Expect::Err("a_min"),
            || thresholding_recovery(0.1, 2.0, v, 1.0, 0.0),
            insane_cert,
        );
        log.check_with(
            &format!("thr bound contrast={v}"),
            Expect::Err("contrast"),
            || thresholding_sparsity_bound(0.1, v, 0.0),
            insane_number,
        );
        log.check_with(
            &format!("thr bound eps={v}"),
            Expect::Err("eps_over_amax"),
            || thresholding_sparsity_bound(0.1, 0.5, v),
            insane_number,
        );
        log.check_with(
            &format!("erc_recovery erc={v}"),
            Expect::Err("erc"),
            || erc_recovery(v),
            insane_cert,
        );
        log.check_with(
            &format!("csc_uniqueness l0_inf={v}"),
            Expect::Err("l0_inf"),
            || csc_uniqueness(0.1, v),
            insane_cert,
        );
        log.check_with(
            &format!("csc_pursuit l0_inf={v}"),
            Expect::Err("l0_inf"),
            || csc_pursuit_recovery(0.1, v),
            insane_cert,
        );
        log.check_with(
            &format!("csc_bp_stability e={v}"),
            Expect::Err("e_2inf"),
            || csc_bp_stability(0.1, 2.0, v),
            insane_cert,
        );
        log.check_with(
            &format!("csc_lasso_lambda e={v}"),
            Expect::Err("e_2inf"),
            || csc_lasso_lambda(v),
            insane_number,
        );
        log.check_with(
            &format!("adversarial w_norm={v}"),
            Expect::Err("w_norm"),
            || adversarial_margin(0.1, 2.0, v, 1.0, 0.01),
            insane_cert,
        );
        log.check_with(
            &format!("adversarial eps={v}"),
            Expect::Err("eps"),
            || adversarial_margin(0.1, 2.0, 1.0, 1.0, v),
            insane_cert,
        );
        log.check_with(
            &format!("ml_ista_steps mu={v}"),
            Expect::Err("mu"),
            || ml_ista_steps(v, 0.1, 1.0, 1.0),
            insane_cert,
        );
        log.check_with(
            &format!("ml_ista_steps t={v}"),
            Expect::Err("t"),
            || ml_ista_steps(0.1, v, 1.0, 1.0),
            insane_cert,
        );
        log.check_with(
            &format!("ml_ista_steps d1={v}"),
            Expect::Err("d1_norm"),
            || ml_ista_steps(0.1, 0.1, v, 1.0),
            insane_cert,
        );
        log.check_with(
            &format!("ml_ista_steps d2={v}"),
            Expect::Err("d2_norm"),
            || ml_ista_steps(0.1, 0.1, 1.0, v),
            insane_cert,
        );
        log.check_with(
            &format!("ml_ista_step_bounds d1={v}"),
            Expect::Err("d1_norm"),
            || ml_ista_step_bounds(0.1, v, 1.0),
            |_| None,
        );
        log.check_with(
            &format!("ml_ista_step_bounds mu={v}"),
            Expect::Err("mu"),
            || ml_ista_step_bounds(v, 1.0, 1.0),
            |_| None,
        );
        log.check_with(
            &format!("facnet lambda={v}"),
            Expect::Err("lambda"),
            || facnet_acceleration(v, 16, 1.0),
            insane_cert,
        );
        log.check_with(
            &format!("facnet mean_l1={v}"),
            Expect::Err("mean_l1"),
            || facnet_acceleration(0.1, 16, v),
            insane_cert,
        );
    }
    // Margins may be negative (then the label is not guaranteed), never NaN.
    for v in [f64::NAN, f64::INFINITY] {
        log.check_with(
            &format!("adversarial margin={v}"),
            Expect::Err("margin"),
            || adversarial_margin(0.1, 2.0, 1.0, v, 0.01),
            insane_cert,
        );
    }
    log.check_with(
        "adversarial negative margin",
        Expect::Ok,
        || adversarial_margin(0.1, 1.0, 1.0, -1.0, 0.0),
        insane_cert,
    );
    // Boundary values that are legal: mu = 0 (an orthonormal basis), k = 0, huge sparsities,
    // eps = 0, the largest finite numbers.
    for (label, mu, k) in [
        ("mu=0", 0.0, 3.0),
        ("k=0", 0.3, 0.0),
        ("k=1e300", 0.3, 1e300),
        ("mu=1", 1.0, 1.0),
        ("mu=1e-300", 1e-300, 1e300),
    ] {
        log.check_with(
            &format!("omp_recovery {label}"),
            Expect::Ok,
            || omp_recovery(mu, k),
            insane_cert,
        );
        log.check_with(
            &format!("bp_stability {label}"),
            Expect::Ok,
            || bp_stability(mu, k, 1e300),
            insane_cert,
        );
        log.check_with(
            &format!("thresholding {label}"),
            Expect::Ok,
            || thresholding_recovery(mu, k, f64::MAX, f64::MAX, f64::MAX),
            insane_cert,
        );
        log.check_with(
            &format!("csc_bp_stability {label}"),
            Expect::Ok,
            || csc_bp_stability(mu, k, f64::MAX),
            insane_cert,
        );
        log.check_with(
            &format!("adversarial {label}"),
            Expect::Ok,
            || adversarial_margin(mu, k, f64::MAX, f64::MAX, 0.0),
            insane_cert,
        );
        log.check_with(
            &format!("ml_ista_steps {label}"),
            Expect::Ok,
            || ml_ista_steps(mu, k, f64::MAX, 0.0),
            insane_cert,
        );
    }
    log.check_with(
        "ml_ista_step_bounds zero norm",
        Expect::Err("d1_norm"),
        || ml_ista_step_bounds(0.1, 0.0, 1.0),
        |_| None,
    );
    log.check_with(
        "facnet p=0",
        Expect::Err("p"),
        || facnet_acceleration(0.1, 0, 1.0),
        insane_cert,
    );
    log.check_with(
        "facnet p=usize::MAX",
        Expect::Ok,
        || facnet_acceleration(0.1, usize::MAX, 1.0),
        insane_cert,
    );
    for b in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0, 0.0, 1e300] {
        log.check_plain(&format!("largest_below {b}"), Expect::Ok, || {
            Ok::<_, theory::Error>(largest_below(b))
        });
    }
    for (v, d, want) in [
        (1.0, i32::MAX, 1.0),
        (1.0, i32::MIN, 0.0),
        (0.0, 400, 0.0),
        (1e300, 400, 1e300),
        (1e300, 2, 1e300),
        (1234.5678, 2, 1234.57),
        (1234.5678, -2, 1200.0),
        (-0.7, -400, 0.0),
    ] {
        log.check_with(
            &format!("round_to({v}, {d})"),
            Expect::Ok,
            || Ok::<_, theory::Error>(round_to(v, d)),
            |&r| (r != want).then(|| format!("round_to({v}, {d}) = {r}, expected {want}")),
        );
    }
    log.check_with(
        "round_to(NaN, 2)",
        Expect::Ok,
        || Ok::<_, theory::Error>(round_to(f64::NAN, 2)),
        |r| (!r.is_nan()).then(|| "NaN in, a number out".to_string()),
    );

    // Convolutional sizes that overflow.
    let big = usize::MAX;
    log.check_with(
        "conv_welch n=0",
        Expect::Err("filter_len"),
        || conv_welch_bound(0, 2),
        insane_number,
    );
    log.check_with(
        "conv_welch m=0",
        Expect::Err("n_filters"),
        || conv_welch_bound(8, 0),
        insane_number,
    );
    log.check_with(
        "conv_welch n=MAX",
        Expect::Err("filter_len"),
        || conv_welch_bound(big, 2),
        insane_number,
    );
    log.check_with(
        "conv_welch m=MAX",
        Expect::Err("n_filters"),
        || conv_welch_bound(8, big),
        insane_number,
    );
    log.check_with(
        "conv_welch m=1",
        Expect::Ok,
        || conv_welch_bound(8, 1),
        insane_number,
    );
    log.check_plain(
        "global_vs_local N too small",
        Expect::Err("signal_len"),
        || global_vs_local(4, 8, 2),
    );
    log.check_plain("global_vs_local N=MAX", Expect::Ok, || {
        global_vs_local(big, 8, 2)
    });
    log.check_plain("global_vs_local n=MAX", Expect::Err("filter_len"), || {
        global_vs_local(big, big, 2)
    });
    log.check_plain("global_vs_local m=MAX", Expect::Err("n_filters"), || {
        global_vs_local(1000, 8, big)
    });
    log.check_plain("global_vs_local m=1", Expect::Ok, || {
        global_vs_local(1000, 8, 1)
    });

    // Layered theorems: empty lists, bad stats in each field, legal extremes.
    let good = LayerStats::new(0.1, 2.0, 0.5, 1.0);
    log.check_with(
        "layered_thresholding []",
        Expect::Err("layers"),
        || layered_thresholding(&[], 0.1),
        |c| insane_certs(c),
    );
    log.check_with(
        "layered_bp []",
        Expect::Err("layers"),
        || layered_bp(&[], 0.1),
        |c| insane_certs(c),
    );
    log.check_plain("layered_thresholds []", Expect::Err("layers"), || {
        layered_thresholds(&[], 0.1)
    });
    for &v in &BAD {
        let cases = [
            ("mu", LayerStats { mu: v, ..good }),
            (
                "stripe_sparsity",
                LayerStats {
                    stripe_sparsity: v,
                    ..good
                },
            ),
            (
                "patch_sparsity",
                LayerStats {
                    patch_sparsity: v,
                    ..good
                },
            ),
            ("min_abs", LayerStats { min_abs: v, ..good }),
            ("max_abs", LayerStats { max_abs: v, ..good }),
        ];
        for (name, bad) in cases {
            // `max_abs = +inf` with finite `min_abs` fails as non-finite, naming it.
            let layers = [good, bad];
            log.check_with(
                &format!("layered_thresholding {name}={v}"),
                Expect::Err(name),
                || layered_thresholding(&layers, 0.1),
                |c| insane_certs(c),
            );
            log.check_with(
                &format!("layered_bp {name}={v}"),
                Expect::Err(name),
                || layered_bp(&layers, 0.1),
                |c| insane_certs(c),
            );
            log.check_plain(
                &format!("layered_thresholds {name}={v}"),
                Expect::Err(name),
                || layered_thresholds(&layers, 0.1),
            );
        }
        log.check_with(
            &format!("layered_thresholding e0={v}"),
            Expect::Err("e0"),
            || layered_thresholding(&[good], v),
            |c| insane_certs(c),
        );
        log.check_with(
            &format!("layered_bp e0={v}"),
            Expect::Err("e0"),
            || layered_bp(&[good], v),
            |c| insane_certs(c),
        );
        log.check_with(
            &format!("projection e0={v}"),
            Expect::Err("e0"),
            || projection_stability(&[0.1], &[2.0], v),
            |c| insane_certs(c),
        );
        log.check_with(
            &format!("projection mu={v}"),
            Expect::Err("mu_effective"),
            || projection_stability(&[0.1, v], &[2.0, 2.0], 0.1),
            |c| insane_certs(c),
        );
        log.check_with(
            &format!("projection sparsity={v}"),
            Expect::Err("sparsities"),
            || projection_stability(&[0.1, 0.1], &[2.0, v], 0.1),
            |c| insane_certs(c),
        );
        log.check_plain(&format!("from_code mu={v}"), Expect::Err("mu"), || {
            LayerStats::from_code(v, &[1.0, 0.0], 1e-12)
        });
        // Negative code entries are legal; non-finite ones are not.
        let e = if v.is_finite() {
            Expect::Ok
        } else {
            Expect::Err("code")
        };
        log.check_plain(&format!("from_code code={v}"), e, || {
            LayerStats::from_code(0.1, &[1.0, v], 1e-12)
        });
    }
    log.check_with(
        "min_abs > max_abs",
        Expect::Err("min_abs"),
        || layered_thresholding(&[LayerStats::new(0.1, 2.0, 2.0, 1.0)], 0.1),
        |c| insane_certs(c),
    );
    log.check_with(
        "projection []",
        Expect::Err("layers"),
        || projection_stability(&[], &[], 0.1),
        |c| insane_certs(c),
    );
    log.check_with(
        "projection mismatched",
        Expect::Err("sparsities"),
        || projection_stability(&[0.1, 0.2], &[1.0], 0.1),
        |c| insane_certs(c),
    );
    let zero = LayerStats::new(0.0, 0.0, 0.0, 0.0);
    let huge = LayerStats::new(1.0, 1e300, f64::MAX, f64::MAX);
    for (label, l) in [("all-zero layer", zero), ("huge layer", huge)] {
        log.check_with(
            &format!("layered_thresholding {label}"),
            Expect::Ok,
            || layered_thresholding(&[l, good, l], f64::MAX),
            |c| insane_certs(c),
        );
        log.check_with(
            &format!("layered_bp {label}"),
            Expect::Ok,
            || layered_bp(&[l, good, l], f64::MAX),
            |c| insane_certs(c),
        );
        log.check_plain(&format!("layered_thresholds {label}"), Expect::Ok, || {
            layered_thresholds(&[l, good], 0.0)
        });
    }
    log.check_plain("from_code empty", Expect::Ok, || {
        LayerStats::from_code(0.1, &[], 0.0)
    });
    log.check_plain("from_code tol NaN", Expect::Either, || {
        LayerStats::from_code(0.1, &[1.0], f64::NAN)
    });

    // Matrices: coherence, effective products, mean l1.
    let mut rng = generate::rng(11);
    let d = Dictionary::random_gaussian(6, 10, &mut rng).unwrap();
    let a = Mat::<f64>::from_fn(6, 4, |i, j| ((i * 3 + j * 5) % 7) as f64 - 3.0);
    let b = Mat::<f64>::from_fn(4, 5, |i, j| ((i + 2 * j) % 5) as f64 - 2.0);
    let mut nan = a.clone();
    nan[(1, 1)] = f64::NAN;
    let mut zero_col = a.clone();
    zero_col.col_mut(2).fill(0.0);
    let before = (bits(a.as_ref()), bits(b.as_ref()), bits(nan.as_ref()));
    log.check_with(
        "coherence_of_matrix ok",
        Expect::Ok,
        || coherence_of_matrix(a.as_ref()),
        insane_number,
    );
    log.check_with(
        "coherence_of_matrix nan",
        Expect::Err("matrix"),
        || coherence_of_matrix(nan.as_ref()),
        insane_number,
    );
    log.check_with(
        "coherence_of_matrix zero column",
        Expect::Err("atom 2"),
        || coherence_of_matrix(zero_col.as_ref()),
        insane_number,
    );
    log.check_with(
        "coherence_of_matrix empty",
        Expect::Err("matrix"),
        || coherence_of_matrix(Mat::<f64>::zeros(0, 0).as_ref()),
        insane_number,
    );
    log.check_with(
        "coherence_of_matrix 1e300",
        Expect::Ok,
        || {
            coherence_of_matrix(
                Mat::<f64>::from_fn(3, 2, |i, j| 1e300 * (i + j + 1) as f64).as_ref(),
            )
        },
        insane_number,
    );
    log.check_with(
        "effective_coherence ok",
        Expect::Ok,
        || effective_coherence(&[a.as_ref(), b.as_ref()]),
        insane_number,
    );
    log.check_with(
        "effective_coherence []",
        Expect::Err("layers"),
        || effective_coherence(&[]),
        insane_number,
    );
    log.check_with(
        "effective_coherence mismatched",
        Expect::Err("layers"),
        || effective_coherence(&[b.as_ref(), a.as_ref()]),
        insane_number,
    );
    log.check_with(
        "effective_coherence nan",
        Expect::Err("layers"),
        || effective_coherence(&[nan.as_ref(), b.as_ref()]),
        insane_number,
    );
    log.check_with(
        "effective_coherence nan inner",
        Expect::Err("layers"),
        || effective_coherence(&[a.as_ref(), nan.transpose()]),
        insane_number,
    );
    log.check_plain("effective_coherences ok", Expect::Ok, || {
        effective_coherences(&[a.as_ref(), b.as_ref()])
    });
    log.check_plain("effective_coherences []", Expect::Ok, || {
        effective_coherences(&[])
    });
    // A product whose column vanishes: `a` times a matrix with a zero column.
    let mut b0 = b.clone();
    b0.col_mut(3).fill(0.0);
    log.check_with(
        "effective_coherence zero product column",
        Expect::Err("atom 3"),
        || effective_coherence(&[a.as_ref(), b0.as_ref()]),
        insane_number,
    );
    log.check_plain("effective_product 1e300 overflow", Expect::Either, || {
        let h = Mat::<f64>::from_fn(4, 4, |_, _| 1e300);
        effective_product(&[h.as_ref(), h.as_ref()])
    });
    log.check_with(
        "mean_l1 ok",
        Expect::Ok,
        || mean_l1(a.as_ref()),
        insane_number,
    );
    log.check_with(
        "mean_l1 empty",
        Expect::Err("codes"),
        || mean_l1(Mat::<f64>::zeros(3, 0).as_ref()),
        insane_number,
    );
    log.check_with(
        "mean_l1 nan",
        Expect::Err("codes"),
        || mean_l1(nan.as_ref()),
        insane_number,
    );
    assert_eq!(
        before,
        (bits(a.as_ref()), bits(b.as_ref()), bits(nan.as_ref())),
        "inputs mutated"
    );

    // Supports: ERC and RIP.
    let dm_before = bits(d.matrix());
    log.check_with("erc ok", Expect::Ok, || erc(&d, &[0, 3]), insane_number);
    log.check_with(
        "erc empty",
        Expect::Err("support"),
        || erc(&d, &[]),
        insane_number,
    );
    log.check_with(
        "erc duplicate",
        Expect::Err("support"),
        || erc(&d, &[1, 1]),
        insane_number,
    );
    log.check_with(
        "erc out of range",
        Expect::Err("support"),
        || erc(&d, &[0, 10]),
        insane_number,
    );
    log.check_with(
        "erc usize::MAX",
        Expect::Err("support"),
        || erc(&d, &[big]),
        insane_number,
    );
    log.check_with(
        "erc too many atoms",
        Expect::Err("support"),
        || erc(&d, &[0, 1, 2, 3, 4, 5, 6]),
        insane_number,
    );
    let mut dep = Mat::<f64>::from_fn(4, 3, |i, j| (i + j) as f64 + 1.0);
    let c0 = dep.col(0).to_owned();
    dep.col_mut(2).copy_from(&c0);
    let dep = Dictionary::from_matrix(dep.as_ref()).unwrap();
    log.check_with(
        "erc dependent support",
        Expect::Err("support"),
        || erc(&dep, &[0, 2]),
        insane_number,
    );
    for (k, t, e) in [
        (0, 5, Expect::Err("k")),
        (7, 5, Expect::Err("k")),
        (big, 5, Expect::Err("k")),
        (2, 0, Expect::Err("trials")),
        (2, 3, Expect::Ok),
        (6, 2, Expect::Ok),
    ] {
        log.check_plain(&format!("rip k={k} trials={t}"), e, || {
            rip_lower_estimate(&d, k, t, 0)
        });
    }

    // Spark and the report.
    for (tol, e) in [
        (f64::NAN, Expect::Err("tol")),
        (-1.0, Expect::Err("tol")),
        (f64::INFINITY, Expect::Err("tol")),
        (0.0, Expect::Ok),
    ] {
        log.check_plain(&format!("spark tol={tol}"), e, || {
            spark(
                &d,
                SparkOptions {
                    tol,
                    ..Default::default()
                },
            )
        });
    }
    log.check_plain("spark budget 0", Expect::Ok, || {
        spark(
            &d,
            SparkOptions {
                max_subsets: 0,
                ..Default::default()
            },
        )
    });
    log.check_plain("spark dependent", Expect::Ok, || {
        spark(&dep, SparkOptions::default())
    });
    let opts = ReportOptions::default();
    for (label, o, e) in [
        (
            "k=0",
            ReportOptions {
                k: 0,
                ..opts.clone()
            },
            Expect::Err("k"),
        ),
        (
            "k=MAX",
            ReportOptions {
                k: big,
                ..opts.clone()
            },
            Expect::Err("k"),
        ),
        (
            "eps NaN",
            ReportOptions {
                eps: f64::NAN,
                ..opts.clone()
            },
            Expect::Err("eps"),
        ),
        (
            "eps -1",
            ReportOptions {
                eps: -1.0,
                ..opts.clone()
            },
            Expect::Err("eps"),
        ),
        (
            "contrast 0",
            ReportOptions {
                contrast: 0.0,
                ..opts.clone()
            },
            Expect::Err("contrast"),
        ),
        (
            "contrast 2",
            ReportOptions {
                contrast: 2.0,
                ..opts.clone()
            },
            Expect::Err("contrast"),
        ),
        (
            "contrast NaN",
            ReportOptions {
                contrast: f64::NAN,
                ..opts.clone()
            },
            Expect::Err("contrast"),
        ),
        (
            "rip_trials 0",
            ReportOptions {
                rip_trials: 0,
                ..opts.clone()
            },
            Expect::Either,
        ),
        (
            "babel_at MAX",
            ReportOptions {
                babel_at: vec![0, big],
                ..opts.clone()
            },
            Expect::Either,
        ),
        (
            "k > n",
            ReportOptions {
                k: 8,
                ..opts.clone()
            },
            Expect::Ok,
        ),
        (
            "spark tol NaN",
            ReportOptions {
                spark: SparkOptions {
                    tol: f64::NAN,
                    ..Default::default()
                },
                ..opts.clone()
            },
            Expect::Err("tol"),
        ),
        ("default", opts.clone(), Expect::Ok),
    ] {
        log.check_with(
            &format!("report {label}"),
            e,
            || report(&d, &o),
            |r| insane_certs(&r.certificates),
        );
    }
    log.check_with(
        "babel_recovery k=0",
        Expect::Err("k"),
        || babel_recovery(&babel(&d), 0),
        insane_cert,
    );
    log.check_with(
        "babel_recovery k=MAX",
        Expect::Ok,
        || babel_recovery(&babel(&d), big),
        insane_cert,
    );
    assert_eq!(dm_before, bits(d.matrix()), "dictionary mutated");

    println!("{} calls in {:?}", log.calls, start.elapsed());
    log.finish(MIN_CALLS);
}
