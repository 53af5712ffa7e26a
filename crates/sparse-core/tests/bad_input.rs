//! Bad-input battery of `sparse-core`: the dictionary constructors, the generators and the
//! convolutional layout with NaN/inf entries, empty and zero-length inputs, zero atoms, zero
//! and huge sizes (whose products overflow). Each call must return an `Err` naming the argument
//! or a sane `Ok`, never panic, and never mutate its inputs.

use faer::Mat;
use sparse_core::{generate, ConvLayout, Dictionary, Noise, Shrinkage};
use testkit::{bits, Log};

/// Fewer calls than this means cases were skipped.
const MIN_CALLS: usize = 50;

#[test]
fn constructors_and_generators_on_bad_input() {
    let start = std::time::Instant::now();
    let mut log = Log::default();
    let mut rng = generate::rng(3);
    let big = usize::MAX;
    // Dictionary::from_matrix on every kind of column.
    let good = Mat::<f64>::from_fn(4, 3, |i, j| (i + 2 * j) as f64 - 2.5);
    let with = |v: f64| {
        let mut m = good.clone();
        m[(2, 1)] = v;
        m
    };
    let mut zero_col = good.clone();
    zero_col.col_mut(1).fill(0.0);
    let cases: Vec<(&str, Mat<f64>, Option<&str>)> = vec![
        ("good", good.clone(), None),
        ("nan", with(f64::NAN), Some("matrix")),
        ("inf", with(f64::INFINITY), Some("matrix")),
        ("zero column", zero_col, Some("atom 1")),
        ("no columns", Mat::zeros(4, 0), Some("matrix")),
        ("no rows", Mat::zeros(0, 3), Some("matrix")),
        ("1e300 entries", Mat::from_fn(4, 2, |_, _| 1e300), None),
        (
            "f64::MAX entries",
            Mat::from_fn(4, 2, |_, _| f64::MAX),
            None,
        ),
        ("1e-320 entries", Mat::from_fn(4, 2, |_, _| 1e-320), None),
        (
            "one subnormal",
            Mat::from_fn(4, 1, |i, _| if i == 0 { 5e-324 } else { 0.0 }),
            None,
        ),
    ];
    for (label, m, expect) in cases {
        let before = bits(m.as_ref());
        // An `Ok` dictionary is checked atom by atom (finite unit norms) by `Sane`.
        log.check(&format!("from_matrix {label}"), expect, || {
            Dictionary::from_matrix(m.as_ref())
        });
        assert_eq!(before, bits(m.as_ref()), "{label}: input mutated");
    }
    // Sizes: zero and overflowing.
    log.check("random_gaussian n=0", Some("n"), || {
        Dictionary::random_gaussian(0, 3, &mut rng)
    });
    log.check("random_gaussian m=0", Some("m"), || {
        Dictionary::random_gaussian(3, 0, &mut rng)
    });
    log.check("random_gaussian huge", Some("n * m"), || {
        Dictionary::random_gaussian(1 << 33, 1 << 33, &mut rng)
    });
    log.check("dct 0", Some("n"), || Dictionary::dct(0));
    log.check("dct huge", Some("n"), || Dictionary::dct(big));
    log.check("identity_dct 0", Some("n"), || Dictionary::identity_dct(0));
    log.check("identity_dct huge", Some("n"), || {
        Dictionary::identity_dct(big / 2)
    });
    log.check("overcomplete_dct ok", None, || {
        Dictionary::overcomplete_dct(8, 256)
    });
    log.check("overcomplete_dct p=0", Some("p"), || {
        Dictionary::overcomplete_dct(0, 4)
    });
    log.check("overcomplete_dct k=usize::MAX", Some("k"), || {
        Dictionary::overcomplete_dct(8, big)
    });
    log.check("overcomplete_dct k=0", Some("k"), || {
        Dictionary::overcomplete_dct(8, 0)
    });
    log.check("overcomplete_dct k not square", Some("k"), || {
        Dictionary::overcomplete_dct(8, 65)
    });
    log.check("overcomplete_dct k < p^2", Some("k"), || {
        Dictionary::overcomplete_dct(8, 49)
    });
    log.check("overcomplete_dct huge p", Some("p"), || {
        Dictionary::overcomplete_dct(1 << 32, 1 << 40)
    });
    log.check("union empty", Some("parts"), || Dictionary::union(&[]));
    let d4 = Dictionary::dct(4).unwrap();
    let d5 = Dictionary::dct(5).unwrap();
    log.check("union mismatch", Some("parts"), || {
        Dictionary::union(&[&d4, &d5])
    });
    log.check("atom out of range", Some("j"), || d4.atom(4).map(|_| ()));
    // Generators.
    log.check("sparseland k=0", Some("k"), || {
        generate::sparseland_codes(8, 0, 2, 0.5, 1.0, &mut rng)
    });
    log.check("sparseland k>n", Some("k"), || {
        generate::sparseland_codes(8, 9, 2, 0.5, 1.0, &mut rng)
    });
    log.check("sparseland contrast nan", Some("contrast"), || {
        generate::sparseland_codes(8, 2, 2, f64::NAN, 1.0, &mut rng)
    });
    log.check("sparseland max_abs 0", Some("max_abs"), || {
        generate::sparseland_codes(8, 2, 2, 0.5, 0.0, &mut rng)
    });
    log.check("sparseland huge", Some("n_atoms * n_signals"), || {
        generate::sparseland_codes(1 << 33, 1, 1 << 33, 0.5, 1.0, &mut rng)
    });
    log.check("bernoulli rho 2", Some("rho"), || {
        generate::bernoulli_gaussian(8, 2, 2.0, 1.0, &mut rng)
    });
    log.check("bernoulli sigma nan", Some("sigma"), || {
        generate::bernoulli_gaussian(8, 2, 0.5, f64::NAN, &mut rng)
    });
    log.check("bernoulli huge", Some("n_atoms * n_signals"), || {
        generate::bernoulli_gaussian(big, 2, 0.5, 1.0, &mut rng)
    });
    log.check("sparse_sign nnz>n", Some("nnz"), || {
        generate::sparse_sign_matrix(4, 4, 5, 1, &mut rng)
    });
    log.check("sparse_sign huge", Some("n * m"), || {
        generate::sparse_sign_matrix(1 << 33, 1 << 33, 1, 1, &mut rng)
    });
    log.check("add_noise sigma -1", Some("sigma"), || {
        generate::add_noise(good.as_ref(), -1.0, &mut rng)
    });
    log.check("add_noise sigma nan", Some("sigma"), || {
        generate::add_noise(good.as_ref(), f64::NAN, &mut rng)
    });
    let x = generate::sparseland_codes(4, 1, 2, 0.5, 1.0, &mut rng).unwrap();
    log.check_plain("signals ok", None, || {
        generate::signals(&d4, x.as_ref(), Noise::Sigma(0.1), &mut rng)
    });
    log.check_plain("signals wrong rows", Some("x"), || {
        generate::signals(&d4, Mat::<f64>::zeros(5, 2).as_ref(), Noise::None, &mut rng)
    });
    log.check_plain("signals nan", Some("x"), || {
        let mut x = x.clone();
        x[(0, 0)] = f64::NAN;
        generate::signals(&d4, x.as_ref(), Noise::None, &mut rng)
    });
    // Shrinkage.
    for s in [
        Shrinkage::Soft(f64::NAN),
        Shrinkage::Hard(-1.0),
        Shrinkage::NonNegSoft(f64::INFINITY),
    ] {
        log.check(&format!("{s:?}"), Some("threshold"), || s.validate());
    }
    log.check("TopK(0)", Some("k"), || Shrinkage::TopK(0).validate());
    // The convolutional layout.
    log.check_plain("layout ok", None, || ConvLayout::new(16, 2, 3));
    log.check_plain("layout signal_len 0", Some("signal_len"), || {
        ConvLayout::new(0, 2, 1)
    });
    log.check_plain("layout n_filters 0", Some("n_filters"), || {
        ConvLayout::new(16, 0, 3)
    });
    log.check_plain("layout filter_len > N", Some("filter_len"), || {
        ConvLayout::new(16, 2, 17)
    });
    log.check_plain("layout huge", Some("signal_len * n_filters"), || {
        ConvLayout::new(big, big, 3)
    });
    log.check_plain("layout huge 2", Some("signal_len * n_filters"), || {
        ConvLayout::new(1 << 40, 1 << 40, 1 << 39)
    });
    let l = ConvLayout::new(16, 2, 3).unwrap();
    log.check_plain("l0_inf wrong length", Some("gamma"), || {
        l.l0_inf(&[0.0; 5], 0.0)
    });
    println!("{} calls in {:?}", log.calls, start.elapsed());
    log.finish(MIN_CALLS);
}
