//! Identities that must hold for every operator, shrinkage, norm and generator.

use std::sync::Arc;

use faer::{Mat, Par};
use proptest::prelude::*;
use sparse_core::norms::{l0, l1, l2, linf};
use sparse_core::{
    generate, CodeOrder, Composed, ConvLayout, Dictionary, Error, LinearOperator, Shrinkage,
};

fn inner(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    let mut s = 0.0;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            s += a[(i, j)] * b[(i, j)];
        }
    }
    s
}

fn gauss(r: usize, c: usize, seed: u64) -> Mat<f64> {
    let mut rng = generate::rng(seed);
    generate::add_noise(Mat::<f64>::zeros(r, c).as_ref(), 1.0, &mut rng).unwrap()
}

fn check_adjoint(op: &dyn LinearOperator, seed: u64) {
    let x = gauss(op.ncols(), 3, seed);
    let y = gauss(op.nrows(), 3, seed + 1);
    let dx = op.apply(x.as_ref()).unwrap();
    let dty = op.apply_adjoint(y.as_ref()).unwrap();
    let (a, b) = (inner(&dx, &y), inner(&x, &dty));
    assert!(
        (a - b).abs() <= 1e-10 * (1.0 + a.abs()),
        "<Dx,y> = {a} but <x,D^T y> = {b}"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn adjointness_of_every_operator(n in 1usize..20, m in 1usize..40, k in 1usize..10, seed in 0u64..1000) {
        let mut rng = generate::rng(seed);
        let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
        check_adjoint(&d, seed);
        let raw = gauss(n, m, seed + 7);
        check_adjoint(&raw, seed);
        let d2 = Dictionary::random_gaussian(m, k, &mut rng).unwrap();
        let c = Composed::new(vec![Arc::new(d.clone()), Arc::new(d2.clone())]).unwrap();
        check_adjoint(&c, seed);
        // The composition equals the explicit product.
        let explicit = d.matrix() * d2.matrix();
        let diff = (c.to_dense(Par::Seq) - &explicit).norm_max();
        prop_assert!(diff < 1e-12);
    }

    #[test]
    fn coherence_between_welch_and_one(n in 2usize..16, extra in 1usize..40, seed in 0u64..1000) {
        let m = n + extra;
        let d = Dictionary::random_gaussian(n, m, &mut generate::rng(seed)).unwrap();
        let mu = d.coherence();
        prop_assert!(mu >= d.welch_bound() - 1e-12, "mu {} < welch {}", mu, d.welch_bound());
        prop_assert!(mu <= 1.0 + 1e-12);
    }

    #[test]
    fn soft_is_prox_of_l1(x in -10.0f64..10.0, t in 0.0f64..5.0) {
        let z = sparse_core::shrink::soft(x, t);
        // 0 in z - x + t d|z|
        if z != 0.0 {
            prop_assert!((x - z - t * z.signum()).abs() < 1e-12);
        } else {
            prop_assert!(x.abs() <= t);
        }
    }

    #[test]
    fn nonneg_soft_is_prox_of_l1_plus_nonneg(x in -10.0f64..10.0, t in 0.0f64..5.0) {
        let z = sparse_core::shrink::nonneg_soft(x, t);
        prop_assert!(z >= 0.0);
        if z > 0.0 {
            prop_assert!((x - z - t).abs() < 1e-12);
        } else {
            prop_assert!(x <= t);
        }
    }

    #[test]
    fn hard_is_prox_of_scaled_l0(x in -10.0f64..10.0, t in 0.0f64..5.0) {
        let z = sparse_core::shrink::hard(x, t);
        let f = |z: f64| 0.5 * (z - x).powi(2) + 0.5 * t * t * (z != 0.0) as u8 as f64;
        // The minimiser is either 0 or x; hard thresholding picks the better one.
        prop_assert!(f(z) <= f(0.0) + 1e-12 && f(z) <= f(x) + 1e-12);
    }

    #[test]
    fn top_k_is_projection_onto_l0_ball(v in prop::collection::vec(-5.0f64..5.0, 1..12), k in 0usize..14) {
        let mut z = v.clone();
        Shrinkage::TopK(k).apply_slice(&mut z);
        prop_assert!(l0(&z, 0.0) <= k);
        // Kept entries are unchanged and dominate every dropped one: the projection.
        let kept: Vec<usize> = (0..v.len()).filter(|&i| z[i] != 0.0 || (k >= v.len())).collect();
        for &i in &kept { prop_assert_eq!(z[i], v[i]); }
        let min_kept = kept.iter().map(|&i| v[i].abs()).fold(f64::INFINITY, f64::min);
        for i in 0..v.len() {
            if z[i] == 0.0 && v[i] != 0.0 && k < v.len() {
                let n_kept = l0(&z, 0.0);
                prop_assert!(n_kept == k.min(v.len()) || v[i].abs() <= min_kept);
                prop_assert!(v[i].abs() <= min_kept + 1e-15);
            }
        }
    }

    #[test]
    fn l0_inf_equals_brute_force(nn in 1usize..20, m in 1usize..4, n_frac in 0.0f64..1.0,
                                  density in 0.0f64..1.0, seed in 0u64..1000, pos_major in any::<bool>()) {
        let n = 1 + ((nn - 1) as f64 * n_frac) as usize;
        let order = if pos_major { CodeOrder::PositionMajor } else { CodeOrder::FilterMajor };
        let layout = ConvLayout::new(nn, m, n).unwrap().with_order(order);
        let g = gauss(nn * m, 1, seed);
        let gamma: Vec<f64> = (0..nn * m)
            .map(|i| if (g[(i, 0)].abs() / 3.0).min(1.0) < density { g[(i, 0)] } else { 0.0 })
            .collect();
        // Brute force: build every stripe explicitly from its set of positions.
        let mut best = 0;
        for i in 0..nn {
            let mut positions: Vec<usize> = (0..2 * n - 1).map(|d| (i + nn + d - (n - 1)) % nn).collect();
            positions.sort();
            positions.dedup();
            let stripe: Vec<f64> = positions
                .iter()
                .flat_map(|&p| (0..m).map(move |f| (p, f)))
                .map(|(p, f)| gamma[layout.index(p, f)])
                .collect();
            prop_assert!(stripe.len() <= layout.stripe_len());
            best = best.max(l0(&stripe, 0.0));
        }
        prop_assert_eq!(layout.l0_inf(&gamma, 0.0).unwrap(), best);
    }

    #[test]
    fn sparseland_codes_have_exact_cardinality_and_contrast(
        m in 2usize..60, k_frac in 0.0f64..1.0, contrast in 0.05f64..1.0, seed in 0u64..1000) {
        let k = 2 + ((m - 2) as f64 * k_frac) as usize;
        let x = generate::sparseland_codes(m, k, 5, contrast, 2.0, &mut generate::rng(seed)).unwrap();
        for j in 0..5 {
            let col = x.col_as_slice(j);
            prop_assert_eq!(l0(col, 0.0), k);
            let nz: Vec<f64> = col.iter().filter(|v| **v != 0.0).map(|v| v.abs()).collect();
            let (lo, hi) = (nz.iter().cloned().fold(f64::INFINITY, f64::min), linf(col));
            prop_assert!((hi - 2.0).abs() < 1e-15);
            prop_assert!((lo / hi - contrast).abs() < 1e-12);
        }
    }
}

#[test]
fn lipschitz_matches_svd() {
    let mut rng = generate::rng(3);
    let d = Dictionary::random_gaussian(30, 70, &mut rng).unwrap();
    let d2 = Dictionary::random_gaussian(70, 50, &mut rng).unwrap();
    let s = d.matrix().singular_values().unwrap();
    assert!((d.lipschitz() - s[0] * s[0]).abs() < 1e-6);
    // Composed uses the power-iteration default.
    let c = Composed::new(vec![Arc::new(d.clone()), Arc::new(d2)]).unwrap();
    let sc = c.to_dense(Par::Seq).singular_values().unwrap();
    let l = c.lipschitz();
    assert!((l - sc[0] * sc[0]).abs() < 1e-6, "{l} vs {}", sc[0] * sc[0]);
    let lp = sparse_core::power_iteration(&d, Default::default());
    assert!((lp - s[0] * s[0]).abs() < 1e-6);
}

#[test]
fn norms_on_known_vectors() {
    let x = [3.0, -4.0, 0.0, 1e-9];
    assert_eq!(l0(&x, 0.0), 3);
    assert_eq!(l0(&x, 1e-6), 2);
    assert!((l1(&x) - (7.0 + 1e-9)).abs() < 1e-15);
    assert!((l2(&[3.0, -4.0]) - 5.0).abs() < 1e-15);
    assert!((l2(&[3e200, 4e200]) - 5e200).abs() < 1e186);
    assert_eq!(linf(&x), 4.0);
    let layout = ConvLayout::new(8, 1, 3).unwrap();
    // Patch norm: window of 3 over [0,0,0,1,1,1,0,0] (circular).
    let e = [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 0.0, 0.0];
    assert!((layout.l2_inf(&e).unwrap() - 3f64.sqrt()).abs() < 1e-15);
}

#[test]
fn overcomplete_dct_is_the_classic_dictionary() {
    let d = Dictionary::overcomplete_dct(8, 256).unwrap();
    assert_eq!((d.signal_len(), d.n_atoms()), (64, 256));
    // The first atom is the constant, every other one is zero-mean, all unit norm.
    let a0 = d.atom_slice(0).unwrap();
    assert!(a0.iter().all(|v| (v - 0.125).abs() < 1e-15));
    for j in 1..256 {
        let a = d.atom_slice(j).unwrap();
        assert!(
            a.iter().sum::<f64>().abs() < 1e-12,
            "atom {j} has non-zero mean"
        );
        assert!((l2(a) - 1.0).abs() < 1e-12);
    }
    // Square case: the separable DCT-like basis is orthonormal up to round-off (64 x 64 with
    // q = p) -- the mean removal keeps it a basis.
    let sq = Dictionary::overcomplete_dct(4, 16).unwrap();
    assert!(sq
        .matrix()
        .singular_values()
        .unwrap()
        .iter()
        .all(|s| *s > 1e-3));
    let id = Dictionary::identity_dct(16).unwrap();
    assert!(id.coherence() <= (2.0f64 / 16.0).sqrt() + 1e-12);
    assert!(id.coherence() >= id.welch_bound());
}

#[test]
fn generators_are_deterministic() {
    let a = generate::bernoulli_gaussian(20, 30, 0.2, 1.0, &mut generate::rng(5)).unwrap();
    let b = generate::bernoulli_gaussian(20, 30, 0.2, 1.0, &mut generate::rng(5)).unwrap();
    assert_eq!(a, b);
    let nz = (0..30).map(|j| l0(a.col_as_slice(j), 0.0)).sum::<usize>() as f64 / 600.0;
    assert!((nz - 0.2).abs() < 0.06, "empirical density {nz}");
}

#[test]
fn noise_at_requested_snr() {
    let mut rng = generate::rng(11);
    let d = Dictionary::random_gaussian(64, 128, &mut rng).unwrap();
    let x = generate::sparseland_codes(128, 5, 2000, 0.5, 1.0, &mut rng).unwrap();
    let s = generate::signals(&d, x.as_ref(), sparse_core::Noise::SnrDb(20.0), &mut rng).unwrap();
    let snr = sparse_core::metrics::snr_db(s.clean.as_ref(), s.noisy.as_ref()).unwrap();
    assert!((snr - 20.0).abs() < 0.1, "snr {snr}");
    let sc = sparse_core::metrics::support_scores(x.as_ref(), x.as_ref(), 0.0).unwrap();
    assert_eq!((sc.precision, sc.recall, sc.exact), (1.0, 1.0, 1.0));
}

#[test]
fn bad_input_is_an_error_naming_the_argument() {
    let mut bad = Mat::<f64>::identity(3, 3);
    bad[(1, 2)] = f64::NAN;
    assert!(matches!(
        Dictionary::from_matrix(bad.as_ref()),
        Err(Error::NonFinite {
            argument: "matrix",
            row: 1,
            col: 2
        })
    ));
    let mut zero = Mat::<f64>::identity(3, 3);
    zero[(2, 2)] = 0.0;
    assert!(matches!(
        Dictionary::from_matrix(zero.as_ref()),
        Err(Error::ZeroAtom { index: 2, .. })
    ));
    assert!(matches!(
        Dictionary::from_matrix(Mat::<f64>::zeros(0, 3).as_ref()),
        Err(Error::Empty { .. })
    ));
    let mut inf = Mat::<f64>::identity(2, 2);
    inf[(0, 0)] = f64::INFINITY;
    assert!(Dictionary::from_matrix(inf.as_ref()).is_err());
    assert!(matches!(
        Dictionary::overcomplete_dct(8, 200),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    assert!(matches!(
        Dictionary::overcomplete_dct(8, 49),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    assert!(Dictionary::random_gaussian(0, 3, &mut generate::rng(0)).is_err());
    assert!(Dictionary::union(&[]).is_err());
    let d = Dictionary::dct(4).unwrap();
    let d5 = Dictionary::dct(5).unwrap();
    assert!(matches!(
        Dictionary::union(&[&d, &d5]),
        Err(Error::ShapeMismatch { .. })
    ));
    assert!(d.atom(4).is_err());
    // Operators refuse wrong shapes.
    assert!(matches!(
        d.apply(Mat::<f64>::zeros(5, 1).as_ref()),
        Err(Error::ShapeMismatch { argument: "x", .. })
    ));
    assert!(matches!(
        d.apply_adjoint(Mat::<f64>::zeros(3, 1).as_ref()),
        Err(Error::ShapeMismatch { argument: "y", .. })
    ));
    assert!(Composed::new(vec![Arc::new(d.clone()), Arc::new(d5)]).is_err());
    assert!(Composed::new(vec![]).is_err());
    // Generators refuse bad parameters.
    let r = &mut generate::rng(0);
    assert!(matches!(
        generate::sparseland_codes(10, 11, 1, 0.5, 1.0, r),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    assert!(matches!(
        generate::sparseland_codes(10, 0, 1, 0.5, 1.0, r),
        Err(Error::InvalidParameter { name: "k", .. })
    ));
    assert!(matches!(
        generate::sparseland_codes(10, 2, 1, 0.0, 1.0, r),
        Err(Error::InvalidParameter {
            name: "contrast",
            ..
        })
    ));
    assert!(matches!(
        generate::sparseland_codes(10, 2, 1, f64::NAN, 1.0, r),
        Err(Error::InvalidParameter {
            name: "contrast",
            ..
        })
    ));
    assert!(matches!(
        generate::sparseland_codes(10, 2, 0, 0.5, 1.0, r),
        Err(Error::InvalidParameter {
            name: "n_signals",
            ..
        })
    ));
    assert!(matches!(
        generate::bernoulli_gaussian(10, 2, 1.5, 1.0, r),
        Err(Error::InvalidParameter { name: "rho", .. })
    ));
    assert!(matches!(
        generate::bernoulli_gaussian(10, 2, 0.5, -1.0, r),
        Err(Error::InvalidParameter { name: "sigma", .. })
    ));
    assert!(generate::add_noise(Mat::<f64>::zeros(2, 2).as_ref(), -1.0, r).is_err());
    assert!(Shrinkage::Soft(-1.0).validate().is_err());
    assert!(Shrinkage::Hard(f64::NAN).validate().is_err());
    assert!(Shrinkage::NonNegSoft(-1.0).validate().is_ok());
    assert!(ConvLayout::new(8, 2, 9).is_err());
    assert!(ConvLayout::new(8, 2, 3)
        .unwrap()
        .l0_inf(&[0.0; 5], 0.0)
        .is_err());
    let layout = ConvLayout::new(8, 2, 3).unwrap();
    assert!(layout.l2_inf(&[0.0; 5]).is_err());
    assert!(sparse_core::metrics::psnr(
        Mat::<f64>::zeros(2, 2).as_ref(),
        Mat::<f64>::zeros(2, 3).as_ref(),
        255.0
    )
    .is_err());
}

#[test]
fn dictionary_serde_round_trip() {
    let d = Dictionary::random_gaussian(5, 9, &mut generate::rng(1)).unwrap();
    let s = serde_json::to_string(&d).unwrap();
    let back: Dictionary = serde_json::from_str(&s).unwrap();
    assert!((back.matrix() - d.matrix()).norm_max() < 1e-15);
    // A corrupted file is refused, not silently accepted.
    let broken = s.replacen("\"nrows\":5", "\"nrows\":4", 1);
    assert!(serde_json::from_str::<Dictionary>(&broken).is_err());
}

#[test]
fn shrinkage_on_batches_matches_scalars() {
    let x = gauss(6, 4, 9);
    for s in [
        Shrinkage::Soft(0.5),
        Shrinkage::Hard(0.5),
        Shrinkage::NonNegSoft(0.5),
    ] {
        let mut y = x.clone();
        s.apply_batch(y.as_mut());
        for j in 0..4 {
            for i in 0..6 {
                assert_eq!(y[(i, j)], s.scalar(x[(i, j)]));
            }
        }
    }
    let mut y = x.clone();
    Shrinkage::TopK(2).apply_batch(y.as_mut());
    for j in 0..4 {
        assert_eq!(l0(y.col_as_slice(j), 0.0), 2);
    }
}

#[test]
fn finite_check_finds_the_first_bad_entry_in_any_layout() {
    use sparse_core::check;
    for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
        let mut m = gauss(7, 5, 3);
        m[(4, 3)] = bad;
        let err = check::finite("y", m.as_ref()).unwrap_err();
        assert_eq!(
            err,
            Error::NonFinite {
                argument: "y",
                row: 4,
                col: 3
            }
        );
        // A strided view (the transpose) reports the position in that view.
        let err = check::finite("y", m.as_ref().transpose()).unwrap_err();
        assert_eq!(
            err,
            Error::NonFinite {
                argument: "y",
                row: 3,
                col: 4
            }
        );
    }
    assert!(check::finite("y", gauss(7, 5, 3).as_ref()).is_ok());
    // Huge but finite values are accepted.
    let big = Mat::<f64>::from_fn(3, 3, |_, _| f64::MAX);
    assert!(check::finite("y", big.as_ref()).is_ok());
}

/// The sparse sign matrices: unit columns of exactly `nnz` entries, coherence at most `1/nnz`
/// (measured by the dictionary's own Gram matrix), and an `Err` (not a hang) when the pairwise
/// condition cannot be met.
#[test]
fn sparse_sign_matrix_has_its_coherence_bound() {
    for &(n, m, nnz, seed) in &[(128, 96, 3, 1u64), (96, 64, 2, 2), (512, 300, 4, 3)] {
        let d = generate::sparse_sign_matrix(n, m, nnz, 1, &mut generate::rng(seed)).unwrap();
        assert_eq!((d.nrows(), d.ncols()), (n, m));
        for j in 0..m {
            assert_eq!(d.col(j).iter().filter(|v| **v != 0.0).count(), nnz);
            assert!((d.col(j).norm_l2() - 1.0).abs() < 1e-12);
        }
        let mu = Dictionary::from_matrix(d.as_ref()).unwrap().coherence();
        assert!(mu <= 1.0 / nnz as f64 + 1e-12, "mu = {mu}");
    }
    // 8 rows hold at most 8 * 7 / (3 * 2) ~ 9 columns of 3 entries sharing at most one row.
    let e = generate::sparse_sign_matrix(8, 40, 3, 1, &mut generate::rng(0)).unwrap_err();
    assert!(e.to_string().contains('m'), "{e}");
    assert!(generate::sparse_sign_matrix(8, 4, 9, 1, &mut generate::rng(0)).is_err());
    assert!(generate::sparse_sign_matrix(8, 0, 2, 1, &mut generate::rng(0)).is_err());
    // Disjoint supports: orthonormal columns; 4 of 2 entries fill 8 rows, a fifth cannot fit.
    let d = generate::sparse_sign_matrix(8, 4, 2, 0, &mut generate::rng(1)).unwrap();
    let g = d.transpose() * &d;
    assert!((g - Mat::<f64>::identity(4, 4)).norm_max() < 1e-15);
    assert!(generate::sparse_sign_matrix(8, 5, 2, 0, &mut generate::rng(1)).is_err());
}
