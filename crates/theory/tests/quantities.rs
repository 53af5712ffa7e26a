//! Dictionary quantities on cases whose values are known by construction.

mod common;

use faer::Mat;
use sparse_core::{generate, Dictionary};
use theory::{
    babel, coherence, conv_welch_bound, effective_coherence, erc, rip_lower_estimate, spark,
    spark_lower_bound, welch_bound, SparkMethod, SparkOptions,
};

fn dict(cols: &[&[f64]]) -> Dictionary {
    let n = cols[0].len();
    let m = Mat::from_fn(n, cols.len(), |i, j| cols[j][i]);
    Dictionary::from_matrix(m.as_ref()).unwrap()
}

#[test]
fn orthonormal_basis_has_zero_coherence_and_spark_n_plus_one() {
    for n in [1, 4, 8] {
        let d = Dictionary::dct(n).unwrap();
        assert!(coherence(&d) < 1e-12);
        let s = spark(&d, SparkOptions::default()).unwrap();
        assert_eq!(s.value, (n + 1) as f64);
        assert!(s.exact);
        assert_eq!(spark_lower_bound(0.0).unwrap(), f64::INFINITY);
        // Nothing outside the support: ERC is 0; any support of an orthonormal basis.
        assert!(erc(&d, &[0]).unwrap() < 1e-12);
    }
}

#[test]
fn repeated_column_has_spark_two_and_coherence_one() {
    let d = dict(&[&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0], &[1.0, 0.0, 0.0]]);
    assert!((coherence(&d) - 1.0).abs() < 1e-12);
    let s = spark(&d, SparkOptions::default()).unwrap();
    assert_eq!(
        (s.value, s.exact, s.method),
        (2.0, true, SparkMethod::Exhaustive)
    );
}

#[test]
fn spark_of_tiny_dictionaries_known_by_construction() {
    // e1, e2, e3, e1 + e2: {e1, e2, e1 + e2} is dependent, no pair is: spark 3.
    let d = dict(&[
        &[1.0, 0.0, 0.0],
        &[0.0, 1.0, 0.0],
        &[0.0, 0.0, 1.0],
        &[1.0, 1.0, 0.0],
    ]);
    assert_eq!(spark(&d, SparkOptions::default()).unwrap().value, 3.0);
    // e1, e2, e3, e1 + e2 + e3 in R^3: every 3 are independent, 4 are not: spark 4 = n + 1.
    let d = dict(&[
        &[1.0, 0.0, 0.0],
        &[0.0, 1.0, 0.0],
        &[0.0, 0.0, 1.0],
        &[1.0, 1.0, 1.0],
    ]);
    assert_eq!(spark(&d, SparkOptions::default()).unwrap().value, 4.0);
    // A generic 5 x 9 Gaussian dictionary has spark n + 1 = 6.
    let mut rng = generate::rng(3);
    let d = Dictionary::random_gaussian(5, 9, &mut rng).unwrap();
    let s = spark(&d, SparkOptions::default()).unwrap();
    assert_eq!((s.value, s.exact), (6.0, true));
    assert!(s.value >= spark_lower_bound(coherence(&d)).unwrap());
}

#[test]
fn spark_falls_back_to_a_named_bound_when_the_search_is_too_large() {
    let mut rng = generate::rng(4);
    let d = Dictionary::random_gaussian(64, 128, &mut rng).unwrap();
    let s = spark(&d, SparkOptions::default()).unwrap();
    assert!(!s.exact);
    assert_eq!(s.method, SparkMethod::CoherenceBound);
    assert_eq!(s.value, (1.0 + 1.0 / coherence(&d)).ceil());
    // A tiny budget on a small dictionary: a partial search still beats the coherence bound.
    let d = Dictionary::random_gaussian(6, 12, &mut rng).unwrap();
    let opts = SparkOptions {
        max_subsets: 1000,
        ..Default::default()
    };
    let s = spark(&d, opts).unwrap();
    assert!(!s.exact && s.value >= spark_lower_bound(coherence(&d)).unwrap());
}

#[test]
fn identity_dct_quantities() {
    for n in [4, 16, 64] {
        let d = Dictionary::identity_dct(n).unwrap();
        let mu = coherence(&d);
        // mu = max |DCT entry| in [1/sqrt(n), sqrt(2/n)], and above the Welch bound.
        assert!(mu >= 1.0 / (n as f64).sqrt() - 1e-12 && mu <= (2.0 / n as f64).sqrt() + 1e-12);
        assert!(mu >= welch_bound(n, 2 * n));
        // Babel: mu_1(1) = mu, non-decreasing, at most k mu.
        let b = babel(&d);
        assert!((b.at(1) - mu).abs() < 1e-12);
        for k in 1..2 * n - 1 {
            assert!(b.at(k + 1) >= b.at(k) - 1e-15 && b.at(k) <= k as f64 * mu + 1e-12);
        }
    }
    // Small enough to search exhaustively: the spark sits between the bounds.
    let d = Dictionary::identity_dct(4).unwrap();
    let s = spark(&d, SparkOptions::default()).unwrap();
    assert!(s.exact);
    assert!(s.value >= spark_lower_bound(coherence(&d)).unwrap() - 1e-9 && s.value <= 5.0);
}

#[test]
fn welch_bounds() {
    assert!((welch_bound(64, 128) - (64.0f64 / (64.0 * 127.0)).sqrt()).abs() < 1e-15);
    assert_eq!(welch_bound(8, 8), 0.0);
    // The convolutional bound is the plain one on a window of 2n - 1 samples.
    let w = conv_welch_bound(64, 2).unwrap();
    assert!((w - (1.0f64 / 253.0).sqrt()).abs() < 1e-15);
    assert_eq!(conv_welch_bound(13, 1).unwrap(), 0.0);
    assert!(conv_welch_bound(0, 2).is_err() && conv_welch_bound(4, 0).is_err());
}

#[test]
fn erc_is_bounded_by_the_babel_function() {
    // Tropp 2004: ERC(S) <= mu_1(k) / (1 - mu_1(k - 1)) whenever mu_1(k - 1) < 1.
    let mut rng = generate::rng(5);
    let d = common::rotated_identity_dct(32, &mut rng);
    let b = babel(&d);
    for k in 1..=3 {
        let s: Vec<usize> = (0..k).map(|i| 7 * i + 1).collect();
        let e = erc(&d, &s).unwrap();
        assert!(e <= b.at(k) / (1.0 - b.at(k - 1)) + 1e-12, "k = {k}: {e}");
    }
    // Bad supports are errors naming `support`.
    for bad in [&[][..], &[1, 1][..], &[64][..]] {
        let msg = erc(&d, bad).unwrap_err().to_string();
        assert!(msg.contains("support"), "{msg}");
    }
    let dup = dict(&[&[1.0, 0.0], &[1.0, 0.0], &[0.0, 1.0]]);
    assert!(matches!(
        erc(&dup, &[0, 1]),
        Err(theory::Error::DependentSupport { .. })
    ));
}

#[test]
fn rip_estimate_is_between_zero_and_the_gershgorin_bound() {
    let mut rng = generate::rng(6);
    let d = Dictionary::random_gaussian(32, 64, &mut rng).unwrap();
    let r1 = rip_lower_estimate(&d, 1, 20, 1).unwrap();
    assert!(r1.lower < 1e-12, "unit atoms: delta_1 = 0");
    for k in [2, 4, 8] {
        let r = rip_lower_estimate(&d, k, 100, 7).unwrap();
        assert!(r.lower > 0.0 && r.lower <= r.upper + 1e-12, "{r:?}");
        assert_eq!(r, rip_lower_estimate(&d, k, 100, 7).unwrap(), "seeded");
    }
    assert!(rip_lower_estimate(&d, 0, 10, 0).is_err());
    assert!(rip_lower_estimate(&d, 33, 10, 0).is_err());
    assert!(rip_lower_estimate(&d, 2, 0, 0).is_err());
}

#[test]
fn effective_coherence_of_products() {
    // D1 = I: the effective dictionary is D2 itself.
    let mut rng = generate::rng(8);
    let d2 = Dictionary::random_gaussian(16, 24, &mut rng).unwrap();
    let eye = Mat::<f64>::identity(16, 16);
    let mu = effective_coherence(&[eye.as_ref(), d2.matrix()]).unwrap();
    assert!((mu - coherence(&d2)).abs() < 1e-12);
    // Same through the operator product.
    let comp = sparse_core::Composed::new(vec![
        std::sync::Arc::new(eye.clone()),
        std::sync::Arc::new(d2.clone()),
    ])
    .unwrap();
    assert!((theory::composed_coherence(&comp).unwrap() - mu).abs() < 1e-12);
    // Mismatched shapes and empty lists are errors naming `layers`.
    let bad = Mat::<f64>::identity(5, 5);
    let e = effective_coherence(&[eye.as_ref(), bad.as_ref()]).unwrap_err();
    assert!(e.to_string().contains("layers"));
    assert!(effective_coherence(&[])
        .unwrap_err()
        .to_string()
        .contains("layers"));
}

#[test]
fn conv_coherence_matches_the_explicit_global_dictionary() {
    let filters = common::barker_filters(2);
    let cd = csc::ConvDictionary::from_filters_1d(filters.as_ref()).unwrap();
    let op = cd.operator(csc::Grid::d1(40)).unwrap();
    let fast = theory::conv_coherence(&op);
    let slow = coherence(&op.global_dictionary().unwrap());
    assert!((fast - slow).abs() < 1e-12);
    assert!((fast - 4.0 / 13.0).abs() < 1e-12);
    let one = csc::ConvDictionary::from_filters_1d(common::barker_filters(1).as_ref()).unwrap();
    let op1 = one.operator(csc::Grid::d1(40)).unwrap();
    assert!((theory::conv_coherence(&op1) - 1.0 / 13.0).abs() < 1e-12);
    assert!(theory::conv_coherence(&op1) >= conv_welch_bound(13, 1).unwrap());
    assert!(fast >= conv_welch_bound(13, 2).unwrap());
}
