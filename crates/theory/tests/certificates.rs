//! The calculators on hand-computed cases, the reference's numbers, and bad input.

use theory::algorithms::{facnet_acceleration, mean_l1, ml_ista_step_bounds, ml_ista_steps};
use theory::conv::{csc_bp_stability, csc_lasso_lambda, csc_pursuit_recovery, csc_uniqueness};
use theory::multilayer::{
    adversarial_margin, layered_bp, layered_thresholding, projection_stability,
};
use theory::sparseland::*;
use theory::{coherence::round_to, global_vs_local, LayerStats, Relation};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * (1.0 + a.abs().max(b.abs()))
}

#[test]
fn reference_example_two_filters_of_length_64() {
    // 002 / 004: "2 atoms of length 64: mu >= 0.063 [Welch]; success guaranteed when
    // ||Gamma||_0 < 8.43", and "||Gamma||_0 < 1/4 (1 + 1/mu) ~ 4.2" for BP stability.
    let g = global_vs_local(1024, 64, 2).unwrap();
    assert_eq!(round_to(g.welch_mu, 3), 0.063);
    // The slide divides by the rounded 0.063: (1 + 1/0.063) / 2 = 8.4365, printed as 8.43;
    // with the exact Welch value the bound is 8.453.
    let slide = (1.0 + 1.0 / round_to(g.welch_mu, 3)) / 2.0;
    assert_eq!((slide * 100.0).floor() / 100.0, 8.43);
    assert!((g.global_bound - 8.453).abs() < 1e-3);
    assert_eq!(round_to(g.global_stability_bound, 1), 4.2);
    assert_eq!(g.global_nnz, 8);
    // Locally the same 8 per stripe, for every stripe: O(N) non-zeros in all.
    assert!(close(g.stripes, 1024.0 / 127.0));
    assert!(close(g.local_global_bound, g.global_bound * 1024.0 / 127.0));
    assert_eq!(g.local_nnz, 8 * 8);
    let big = global_vs_local(1 << 16, 64, 2).unwrap();
    assert_eq!(big.global_nnz, 8);
    assert_eq!(big.local_nnz, 8 * ((1 << 16) / 127));
    assert!(global_vs_local(100, 64, 2)
        .unwrap_err()
        .to_string()
        .contains("signal_len"));
    println!("{g}");
}

#[test]
fn sparseland_certificates_on_known_numbers() {
    let mu = 0.1; // (1 + 1/mu) = 11
    let c = omp_recovery(mu, 5.0).unwrap();
    assert!(c.holds && close(c.rhs, 5.5) && c.relation == Relation::Less);
    assert!(!omp_recovery(mu, 6.0).unwrap().holds);
    assert!(bp_recovery(mu, 5.0).unwrap().holds);
    assert!(uniqueness_coherence(mu, 5.0).unwrap().holds);
    assert!(uniqueness_spark(7.0, 3.0).unwrap().holds);
    assert!(!uniqueness_spark(7.0, 3.5).unwrap().holds);
    // Orthonormal: everything is unique and recoverable.
    assert!(omp_recovery(0.0, 1e6).unwrap().holds);

    // BP stability: k < 11/4 = 2.75; bound 4 eps^2 / (1 - mu (4k - 1)).
    let c = bp_stability(mu, 2.0, 0.5).unwrap();
    assert!(c.holds && close(c.rhs, 2.75));
    assert!(close(c.error_bound.unwrap(), 4.0 * 0.25 / (1.0 - 0.7)));
    let c = bp_stability(mu, 3.0, 0.5).unwrap();
    assert!(!c.holds && c.error_bound.is_none());
    assert_eq!(bp_stability(mu, 1.0, 0.0).unwrap().error_bound, Some(0.0));

    // Thresholding: a_min - (k-1) mu a_max - eps > k mu a_max + eps.
    let c = thresholding_recovery(mu, 2.0, 0.5, 1.0, 0.05).unwrap();
    assert!(close(c.lhs, 0.5 - 0.1 - 0.05) && close(c.rhs, 0.2 + 0.05) && c.holds);
    assert!(close(c.error_bound.unwrap(), 2f64.sqrt() * (0.1 + 0.05)));
    // Equivalent sparsity form: k < (1 + c/mu)/2 - eps/(mu a_max) = 3 - 0.5 = 2.5.
    assert!(close(
        thresholding_sparsity_bound(mu, 0.5, 0.05).unwrap(),
        2.5
    ));
    assert!(
        !thresholding_recovery(mu, 3.0, 0.5, 1.0, 0.05)
            .unwrap()
            .holds
    );

    // Babel and ERC.
    let b = theory::babel(&sparse_core::Dictionary::identity_dct(64).unwrap());
    assert!(babel_recovery(&b, 2).unwrap().holds);
    assert!(erc_recovery(0.3).unwrap().holds && !erc_recovery(1.0).unwrap().holds);

    assert_eq!(largest_below(8.45), 8);
    assert_eq!(largest_below(3.0), 2);
    assert_eq!(largest_below(0.5), 0);
}

#[test]
fn display_is_one_line_with_the_verdict() {
    let c = omp_recovery(0.1, 5.0).unwrap();
    let s = c.to_string();
    assert!(!s.contains('\n'));
    assert!(
        s.starts_with("[holds] OMP exact recovery (Tropp 2004)"),
        "{s}"
    );
    let f = bp_stability(0.1, 3.0, 0.1).unwrap().to_string();
    assert!(
        f.starts_with("[fails]") && f.ends_with("no guarantee"),
        "{f}"
    );
}

#[test]
fn csc_certificates() {
    let mu = 1.0 / 13.0; // (1 + 13) = 14
    assert!(csc_uniqueness(mu, 6.0).unwrap().holds && !csc_uniqueness(mu, 7.0).unwrap().holds);
    assert!(csc_pursuit_recovery(mu, 6.0).unwrap().holds);
    let c = csc_bp_stability(mu, 4.0, 0.02).unwrap();
    assert!(c.holds && close(c.rhs, 14.0 / 3.0) && close(c.error_bound.unwrap(), 0.15));
    assert!(!csc_bp_stability(mu, 5.0, 0.02).unwrap().holds);
    assert!(close(csc_lasso_lambda(0.02).unwrap(), 0.08));
}

#[test]
fn layered_thresholding_propagates_the_error() {
    // Two layers; eps_1 = sqrt(p1) (e0 + mu1 (s1 - 1) max1), eps_2 = sqrt(p2) (eps_1 + ...).
    let l1 = LayerStats::new(0.05, 3.0, 0.8, 1.0).patch_sparsity(2.0);
    let l2 = LayerStats::new(0.02, 2.0, 0.9, 1.0);
    let e0 = 0.01;
    let c = layered_thresholding(&[l1, l2], e0).unwrap();
    let eps1 = 2f64.sqrt() * (e0 + 0.05 * 2.0 * 1.0);
    let eps2 = 2f64.sqrt() * (eps1 + 0.02 * 1.0 * 1.0);
    assert!(close(c[0].error_bound.unwrap(), eps1) && close(c[1].error_bound.unwrap(), eps2));
    // Layer bounds: (1 + min/(mu max))/2 - eps_{i-1}/(mu max).
    assert!(close(c[0].rhs, 0.5 * (1.0 + 0.8 / 0.05) - e0 / 0.05));
    assert!(close(c[1].rhs, 0.5 * (1.0 + 0.9 / 0.02) - eps1 / 0.02));
    assert!(c.iter().all(|c| c.holds));
    // A failing first layer voids the second.
    let bad = LayerStats::new(0.5, 3.0, 0.8, 1.0);
    let c = layered_thresholding(&[bad, l2], e0).unwrap();
    assert!(!c[0].holds && !c[1].holds);
}

#[test]
fn layered_bp_and_projection_bounds() {
    let l1 = LayerStats::new(0.1, 3.0, 0.5, 1.0); // (1 + 10)/3 = 3.67
    let l2 = LayerStats::new(0.2, 1.0, 0.5, 1.0).patch_sparsity(4.0); // 6/3 = 2
    let c = layered_bp(&[l1, l2], 0.01).unwrap();
    assert!(close(c[0].error_bound.unwrap(), 7.5 * 0.01 * 3f64.sqrt()));
    assert!(close(
        c[1].error_bound.unwrap(),
        7.5 * 7.5 * 0.01 * 3f64.sqrt() * 2.0
    ));
    assert!(c[0].holds && c[1].holds);
    let c = layered_bp(&[LayerStats::new(0.3, 2.0, 0.5, 1.0), l1], 0.01).unwrap();
    assert!(!c[0].holds && !c[1].holds, "(1 + 1/0.3)/3 = 1.44 < 2");

    let p = projection_stability(&[0.1, 0.15], &[3.0, 5.0], 0.1).unwrap();
    assert!(p[0].holds && close(p[0].error_bound.unwrap(), 4.0 * 0.01 / (1.0 - 5.0 * 0.1)));
    assert!(!p[1].holds, "(1 + 1/0.15)/2 = 3.83 < 5");
    assert!(projection_stability(&[0.1], &[1.0, 2.0], 0.1).is_err());
}

#[test]
fn adversarial_ml_ista_and_facnet_conditions() {
    // eps <= O_B / (7.5 k ||w||) = 1.5 / (7.5 * 2 * 1) = 0.1.
    let c = adversarial_margin(0.1, 2.0, 1.0, 1.5, 0.1).unwrap();
    assert!(c.holds && close(c.rhs, 0.1));
    assert!(!adversarial_margin(0.1, 2.0, 1.0, 1.5, 0.11).unwrap().holds);
    assert!(
        !adversarial_margin(0.1, 2.0, 1.0, -1.5, 0.0).unwrap().holds,
        "margin must be > 0"
    );
    assert!(
        !adversarial_margin(0.4, 2.0, 1.0, 1.5, 0.0).unwrap().holds,
        "(1 + 2.5)/3 < 2"
    );

    // mu < 1/||D1||^2 = 0.25, t < 4 mu / (3 ||D2||) = 4 * 0.2 / 6 = 0.1333.
    assert!(ml_ista_steps(0.2, 0.13, 2.0, 2.0).unwrap().holds);
    assert!(!ml_ista_steps(0.2, 0.14, 2.0, 2.0).unwrap().holds);
    assert!(!ml_ista_steps(0.26, 0.01, 2.0, 2.0).unwrap().holds);
    assert!(!ml_ista_steps(0.0, 0.01, 2.0, 2.0).unwrap().holds);
    let (mu_max, t_max) = ml_ista_step_bounds(0.2, 2.0, 2.0).unwrap();
    assert!(close(mu_max, 0.25) && close(t_max, 0.8 / 6.0));

    // lambda sqrt(p)/8 <= E||z*||_1: 0.01 * 8 / 8 = 0.01.
    assert!(facnet_acceleration(0.01, 64, 0.02).unwrap().holds);
    assert!(!facnet_acceleration(1.0, 64, 0.5).unwrap().holds);
    let z = faer::Mat::from_fn(3, 2, |i, j| if i == j { -2.0 } else { 0.0 });
    assert!(close(mean_l1(z.as_ref()).unwrap(), 2.0));
}

#[test]
fn bad_input_is_an_error_naming_the_argument() {
    let named = |e: theory::Error, name: &str| {
        let s = e.to_string();
        assert!(s.contains(&format!("`{name}`")), "{s} should name {name}");
    };
    named(omp_recovery(1.5, 2.0).unwrap_err(), "mu");
    named(omp_recovery(-0.1, 2.0).unwrap_err(), "mu");
    named(omp_recovery(f64::NAN, 2.0).unwrap_err(), "mu");
    named(bp_recovery(0.1, -1.0).unwrap_err(), "k");
    named(bp_recovery(0.1, f64::INFINITY).unwrap_err(), "k");
    named(bp_stability(0.1, 1.0, -0.1).unwrap_err(), "eps");
    named(
        thresholding_recovery(0.1, 1.0, 2.0, 1.0, 0.0).unwrap_err(),
        "a_min",
    );
    named(
        thresholding_recovery(0.1, 1.0, 0.5, f64::NAN, 0.0).unwrap_err(),
        "a_max",
    );
    named(uniqueness_spark(0.5, 1.0).unwrap_err(), "spark");
    named(csc_bp_stability(0.1, 1.0, f64::NAN).unwrap_err(), "e_2inf");
    named(csc_uniqueness(0.1, -2.0).unwrap_err(), "l0_inf");
    named(layered_bp(&[], 0.1).unwrap_err(), "layers");
    named(
        layered_thresholding(&[LayerStats::new(2.0, 1.0, 0.5, 1.0)], 0.1).unwrap_err(),
        "mu",
    );
    named(
        layered_thresholding(&[LayerStats::new(0.1, 1.0, 1.5, 1.0)], 0.1).unwrap_err(),
        "min_abs",
    );
    named(
        projection_stability(&[0.1], &[-1.0], 0.1).unwrap_err(),
        "sparsities",
    );
    named(
        adversarial_margin(0.1, 1.0, 1.0, f64::NAN, 0.1).unwrap_err(),
        "margin",
    );
    named(ml_ista_steps(-0.1, 0.1, 1.0, 1.0).unwrap_err(), "mu");
    named(facnet_acceleration(0.1, 0, 1.0).unwrap_err(), "p");
    named(
        babel_recovery(&theory::babel(&sparse_core::Dictionary::dct(4).unwrap()), 0).unwrap_err(),
        "k",
    );
}

#[test]
fn report_of_identity_dct() {
    let d = sparse_core::Dictionary::identity_dct(64).unwrap();
    let opts = theory::ReportOptions {
        k: 2,
        eps: 0.01,
        ..Default::default()
    };
    let r = theory::report(&d, &opts).unwrap();
    assert_eq!((r.n, r.m), (64, 128));
    let omp = r
        .certificates
        .iter()
        .find(|c| c.theorem == "OMP exact recovery")
        .unwrap();
    assert!(omp.holds);
    let k_omp = r
        .max_sparsity
        .iter()
        .find(|(t, _)| t.starts_with("OMP/BP recovery (coherence)"))
        .unwrap()
        .1;
    assert_eq!(k_omp, largest_below((1.0 + 1.0 / r.mu) / 2.0));
    assert_eq!(k_omp, 3);
    let (_, erc) = r.erc.clone().unwrap();
    assert!(erc < 1.0, "ERC of a 2-atom support of [I, DCT]");
    let text = r.to_string();
    assert!(text.contains("largest guaranteed sparsity") && text.contains("[holds] OMP"));
    let bad = theory::ReportOptions {
        k: 0,
        ..Default::default()
    };
    assert!(theory::report(&d, &bad)
        .unwrap_err()
        .to_string()
        .contains("`k`"));
}
