//! Synthesis of signals that belong to the multi-layer model.
#![allow(clippy::needless_range_loop)]

use csc::{ConvDictionary, Grid};
use mlcsc::{Error, Layer, MlModel, Synthesis};
use proptest::prelude::*;
use sparse_core::{generate, Dictionary, LinearOperator, Noise};

fn sparse_model(seed: u64, nnz2: usize, nnz3: usize) -> MlModel {
    let mut rng = generate::rng(seed);
    MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(50, 100, &mut rng).unwrap()),
        Layer::sparse_random(100, 80, nnz2, &mut rng).unwrap(),
        Layer::sparse_random(80, 60, nnz3, &mut rng).unwrap(),
    ])
    .unwrap()
}

#[test]
fn every_layer_is_as_sparse_as_requested() {
    let model = sparse_model(1, 3, 2);
    let mut rng = generate::rng(2);
    let s = Synthesis::new(vec![16, 6, 3])
        .contrast(0.4)
        .noise(Noise::SnrDb(30.0))
        .generate(&model, 200, &mut rng)
        .unwrap();
    assert_eq!(s.codes.len(), 3);
    assert!(s.max_sparsity[0] <= 16 && s.max_sparsity[1] <= 6);
    assert_eq!(s.max_sparsity[2], 3);
    assert!((s.mean_sparsity[2] - 3.0).abs() < 1e-12);
    // Consistency: Gamma_{i-1} = D_i Gamma_i and X = D_1 Gamma_1.
    for i in 2..=3 {
        let d = model.layer(i).unwrap();
        let above = d.apply(s.code(i).unwrap().as_ref()).unwrap();
        assert!((&above - s.code(i - 1).unwrap()).norm_l2() < 1e-12);
    }
    let x = model.layer(1).unwrap().apply(s.codes[0].as_ref()).unwrap();
    assert!((&x - &s.clean).norm_l2() < 1e-12);
    // The noise level matches the SNR.
    let snr = sparse_core::metrics::snr_db(s.clean.as_ref(), s.noisy.as_ref()).unwrap();
    assert!((snr - 30.0).abs() < 0.5, "{snr}");
    // Deepest magnitudes within [contrast, 1].
    let g = &s.codes[2];
    for j in 0..g.ncols() {
        let nz: Vec<f64> = g
            .col(j)
            .iter()
            .filter(|v| **v != 0.0)
            .map(|v| v.abs())
            .collect();
        assert!(nz.iter().all(|v| (0.4 - 1e-12..=1.0 + 1e-12).contains(v)));
    }
}

#[test]
fn dense_deeper_dictionaries_are_refused() {
    let mut rng = generate::rng(3);
    let model = MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(30, 60, &mut rng).unwrap()),
        Layer::dense(&Dictionary::random_gaussian(60, 40, &mut rng).unwrap()),
    ])
    .unwrap();
    let err = Synthesis::new(vec![10, 2])
        .generate(&model, 5, &mut rng)
        .unwrap_err();
    match &err {
        Error::Unsatisfiable {
            layer, requested, ..
        } => assert_eq!((*layer, *requested), (1, 10)),
        other => panic!("unexpected {other}"),
    }
    assert!(err.to_string().contains("60 non-zeros"), "{err}");
    // A dense layer is fine when its layer is allowed to be dense.
    let ok = Synthesis::new(vec![60, 2])
        .generate(&model, 5, &mut rng)
        .unwrap();
    assert_eq!(ok.max_sparsity[1], 2);
}

#[test]
fn budgets_smaller_than_any_union_are_refused() {
    let model = sparse_model(4, 5, 3);
    let mut rng = generate::rng(5);
    // Three deepest atoms with 3 rows each cannot fit in 2 entries of Gamma_2.
    let err = Synthesis::new(vec![40, 2, 3])
        .generate(&model, 3, &mut rng)
        .unwrap_err();
    assert!(
        matches!(err, Error::Unsatisfiable { layer: 2, .. }),
        "{err}"
    );
    // Bad arguments name themselves.
    let e = Synthesis::new(vec![1, 2])
        .generate(&model, 3, &mut rng)
        .unwrap_err();
    assert!(e.to_string().contains("sparsity"));
    let e = Synthesis::new(vec![40, 9, 3])
        .contrast(0.0)
        .generate(&model, 3, &mut rng)
        .unwrap_err();
    assert!(e.to_string().contains("contrast"));
}

#[test]
fn convolutional_models_synthesise_too() {
    let mut rng = generate::rng(6);
    let d1 = ConvDictionary::random(Grid::d1(5), 1, 3, &mut rng).unwrap();
    // Sparse second-layer filters: 2 non-zero taps out of 3 x 3 channels.
    let mut f = faer::Mat::<f64>::zeros(9, 4);
    for j in 0..4 {
        f[(j % 9, j)] = 1.0;
        f[((j * 4 + 5) % 9, j)] = -0.5;
    }
    let d2 = ConvDictionary::new(Grid::d1(3), 3, f.as_ref()).unwrap();
    let model = MlModel::new(vec![
        Layer::conv(d1, Grid::d1(32), 2).unwrap(),
        Layer::conv(d2, Grid::d1(16), 1).unwrap(),
    ])
    .unwrap();
    let s = Synthesis::new(vec![6, 3])
        .generate(&model, 20, &mut rng)
        .unwrap();
    assert!(s.max_sparsity[0] <= 6 && s.max_sparsity[1] == 3);
    assert_eq!(s.clean.nrows(), 32);
    // The local (stripe) sparsity is reported too, and never exceeds the global count.
    for i in 0..2 {
        assert!(s.max_local_sparsity[i] >= 1);
        assert!(s.max_local_sparsity[i] <= s.max_sparsity[i]);
        let layer = model.layer(i + 1).unwrap();
        for j in 0..20 {
            let col: Vec<f64> = s.codes[i].col(j).iter().copied().collect();
            assert!(layer.l0_inf(&col, 1e-12).unwrap() <= s.max_local_sparsity[i]);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Either every layer meets its budget, or the request is refused with `Unsatisfiable`.
    #[test]
    fn synthesis_meets_budgets_or_refuses(seed in 0u64..10_000, s1 in 2usize..30, s2 in 1usize..10, s3 in 1usize..4) {
        let model = sparse_model(seed, 3, 2);
        let mut rng = generate::rng(seed + 1);
        match Synthesis::new(vec![s1, s2, s3]).generate(&model, 10, &mut rng) {
            Ok(s) => {
                prop_assert!(s.max_sparsity[0] <= s1);
                prop_assert!(s.max_sparsity[1] <= s2);
                prop_assert_eq!(s.max_sparsity[2], s3);
            }
            Err(Error::Unsatisfiable { layer, requested, .. }) => {
                prop_assert!(layer == 1 || layer == 2);
                prop_assert_eq!(requested, [s1, s2][layer - 1]);
            }
            Err(other) => prop_assert!(false, "unexpected error {}", other),
        }
    }
}

#[test]
fn local_budgets_bound_the_stripe_norm_not_the_global_count() {
    use mlcsc::{ValidConv, ValidGeometry};
    let mut rng = generate::rng(8);
    // 20 x 20 images; 3 filters 4 x 4 stride 2 (9 x 9 maps); 6 sparse filters 3 x 3 x 3 (7 x 7).
    let g1 = ValidGeometry::new(1, (20, 20), (4, 4), 2, 3).unwrap();
    let g2 = ValidGeometry::new(3, (9, 9), (3, 3), 1, 6).unwrap();
    let mut f2 = faer::Mat::<f64>::zeros(27, 6);
    for q in 0..6 {
        f2[((q * 4) % 27, q)] = 1.0;
        f2[((q * 4 + 13) % 27, q)] = -0.5;
    }
    let model = MlModel::new(vec![
        Layer::Valid(ValidConv::random(g1, &mut rng).unwrap()),
        Layer::Valid(ValidConv::new(g2, f2.as_ref()).unwrap()),
    ])
    .unwrap();
    let s = Synthesis::new(vec![4, 6])
        .local(true)
        .generate(&model, 30, &mut rng)
        .unwrap();
    let layer = model.layer(1).unwrap();
    for j in 0..30 {
        let col: Vec<f64> = s.codes[0].col(j).iter().copied().collect();
        assert!(layer.l0_inf(&col, 1e-12).unwrap() <= 4);
        assert_eq!(
            s.codes[1].col(j).iter().filter(|v| **v != 0.0).count(),
            6,
            "deepest sparsity is exact"
        );
    }
    assert!(s.max_local_sparsity[0] <= 4);
    // The global count exceeds the local budget: the two modes differ.
    assert!(s.max_sparsity[0] > 4, "{:?}", s.max_sparsity);
    // The same request as a global budget cannot be met; a local budget of 1 neither (every
    // deepest atom alone puts 2 non-zeros in one stripe).
    assert!(Synthesis::new(vec![4, 6])
        .generate(&model, 5, &mut rng)
        .is_err());
    assert!(Synthesis::new(vec![1, 6])
        .local(true)
        .generate(&model, 5, &mut rng)
        .is_err());
}
