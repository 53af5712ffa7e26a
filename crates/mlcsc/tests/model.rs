//! Layers, strided convolutions, models, effective dictionaries and their serialised form.
#![allow(clippy::needless_range_loop)]

use csc::{ConvDictionary, Grid};
use faer::Mat;
use mlcsc::{Error, Layer, MlModel, StridedConv};
use proptest::prelude::*;
use sparse_core::{generate, Dictionary, LinearOperator};

fn randn(r: usize, c: usize, seed: u64) -> Mat<f64> {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = generate::rng(seed);
    Mat::from_fn(r, c, |_, _| StandardNormal.sample(&mut rng))
}

fn dot(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    (0..a.ncols())
        .map(|j| (0..a.nrows()).map(|i| a[(i, j)] * b[(i, j)]).sum::<f64>())
        .sum()
}

/// A 3-layer convolutional model on 8x8 images: 4 filters 3x3 stride 2, then 6 filters 3x3x4
/// stride 1, then 5 filters 2x2x6 stride 2.
fn conv_model(seed: u64) -> MlModel {
    let mut rng = generate::rng(seed);
    let d1 = ConvDictionary::random(Grid::d2(3, 3), 1, 4, &mut rng).unwrap();
    let d2 = ConvDictionary::random(Grid::d2(3, 3), 4, 6, &mut rng).unwrap();
    let d3 = ConvDictionary::random(Grid::d2(2, 2), 6, 5, &mut rng).unwrap();
    MlModel::new(vec![
        Layer::conv(d1, Grid::d2(8, 8), 2).unwrap(),
        Layer::conv(d2, Grid::d2(4, 4), 1).unwrap(),
        Layer::conv(d3, Grid::d2(4, 4), 2).unwrap(),
    ])
    .unwrap()
}

#[test]
fn strided_conv_is_adjoint_in_1d_and_2d() {
    let mut rng = generate::rng(3);
    for (filter, signal, channels, stride) in [
        (Grid::d1(5), Grid::d1(24), 1, 3),
        (Grid::d1(4), Grid::d1(16), 3, 2),
        (Grid::d2(3, 2), Grid::d2(8, 6), 2, 2),
        (Grid::d2(3, 3), Grid::d2(6, 6), 1, 1),
    ] {
        let d = ConvDictionary::random(filter, channels, 4, &mut rng).unwrap();
        let op = StridedConv::new(d, signal, stride).unwrap();
        let x = randn(op.ncols(), 3, 1);
        let y = randn(op.nrows(), 3, 2);
        let dx = op.apply(x.as_ref()).unwrap();
        let dty = op.apply_adjoint(y.as_ref()).unwrap();
        let (a, b) = (dot(&dx, &y), dot(&x, &dty));
        assert!((a - b).abs() <= 1e-10 * a.abs().max(1.0), "{a} vs {b}");
    }
}

#[test]
fn strided_conv_is_convolution_after_upsampling() {
    let mut rng = generate::rng(4);
    let d = ConvDictionary::random(Grid::d2(3, 3), 2, 3, &mut rng).unwrap();
    let (signal, s) = (Grid::d2(6, 4), 2);
    let layer = StridedConv::new(d.clone(), signal, s).unwrap();
    let conv = d.operator(signal).unwrap().global_matrix().unwrap();
    // Explicit upsampling U: code sample (r, c) of map f -> full sample (s r, s c) of map f.
    let (cr, cc) = (signal.rows / s, signal.cols / s);
    let n = signal.len();
    let mut u = Mat::<f64>::zeros(n * 3, cr * cc * 3);
    for f in 0..3 {
        for c in 0..cc {
            for r in 0..cr {
                u[(
                    f * n + s * r + signal.rows * s * c,
                    f * cr * cc + r + cr * c,
                )] = 1.0;
            }
        }
    }
    let want = &conv * &u;
    let got = Layer::Conv(layer.clone()).to_dense().unwrap();
    assert!((&want - &got).norm_l2() < 1e-12);
    // The support of every column is the explicit one.
    for j in 0..got.ncols() {
        let explicit: Vec<usize> = (0..got.nrows()).filter(|&i| got[(i, j)] != 0.0).collect();
        assert_eq!(layer.column_support(j), explicit, "column {j}");
    }
}

#[test]
fn bad_strides_and_chains_are_errors() {
    let mut rng = generate::rng(5);
    let d = ConvDictionary::random(Grid::d2(3, 3), 1, 4, &mut rng).unwrap();
    assert!(StridedConv::new(d.clone(), Grid::d2(9, 9), 2).is_err());
    assert!(StridedConv::new(d, Grid::d2(8, 8), 0).is_err());
    let d1 = Dictionary::random_gaussian(10, 20, &mut rng).unwrap();
    let d2 = Dictionary::random_gaussian(19, 30, &mut rng).unwrap();
    let err = MlModel::from_dictionaries(&[d1, d2]).unwrap_err();
    assert!(matches!(err, Error::Core(_)), "{err}");
    assert!(err.to_string().contains("layers"));
    assert!(MlModel::new(vec![]).is_err());
}

#[test]
fn effective_dictionaries_of_a_conv_model() {
    let model = conv_model(6);
    assert_eq!(model.dims(), vec![64, 64, 96, 20]);
    let full = model.effective(1, 3).unwrap();
    let explicit = model.effective_dense(1, 3).unwrap();
    let x = randn(20, 4, 7);
    let a = full.apply(x.as_ref()).unwrap();
    assert!((&a - &explicit * &x).norm_l2() < 1e-10 * a.norm_l2());
    // D_(2,3) = D_2 D_3 explicitly.
    let d2 = model.layer(2).unwrap().to_dense().unwrap();
    let d3 = model.layer(3).unwrap().to_dense().unwrap();
    let d23 = model.effective_dense(2, 3).unwrap();
    assert!((&d23 - &d2 * &d3).norm_l2() < 1e-12);
    let (codes, sig) = model.propagate(x.as_ref()).unwrap();
    assert_eq!(codes.len(), 3);
    assert!((&codes[1] - &d3 * &x).norm_l2() < 1e-12);
    assert!((&sig - &a).norm_l2() < 1e-10);
    assert!(model.effective(3, 2).is_err());
    assert!(model.effective(0, 2).is_err());
    assert!(model.layer(4).is_err());
}

#[test]
fn models_round_trip_through_json() {
    let mut rng = generate::rng(8);
    let conv = conv_model(9);
    let dense = MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(12, 20, &mut rng).unwrap()),
        Layer::sparse_random(20, 15, 3, &mut rng).unwrap(),
    ])
    .unwrap();
    for model in [conv, dense] {
        let back = MlModel::from_json(&model.to_json().unwrap()).unwrap();
        assert_eq!(back.dims(), model.dims());
        let k = model.depth();
        let (a, b) = (
            model.effective_dense(1, k).unwrap(),
            back.effective_dense(1, k).unwrap(),
        );
        assert!((&a - &b).norm_l2() < 1e-12 * a.norm_l2());
    }
    let dir = std::env::temp_dir().join(format!("mlcsc-model-{}.json", std::process::id()));
    let model = conv_model(10);
    model.save(&dir).unwrap();
    let back = MlModel::load(&dir).unwrap();
    assert_eq!(back.dims(), model.dims());
    std::fs::remove_file(&dir).ok();
    assert!(MlModel::from_json("{\"format\":\"other\"}").is_err());
    // The model is itself Serialize / Deserialize (validated on the way in).
    let model = conv_model(11);
    let text = serde_json::to_string(&model).unwrap();
    let back: MlModel = serde_json::from_str(&text).unwrap();
    assert_eq!(back.dims(), model.dims());
    let bad = text.replacen("\"stride\":2", "\"stride\":3", 1);
    assert!(serde_json::from_str::<MlModel>(&bad).is_err());
    assert!(matches!(
        MlModel::load("/nonexistent/model.json"),
        Err(Error::File { .. })
    ));
}

#[test]
fn sparse_random_layers_have_unit_sparse_atoms() {
    let mut rng = generate::rng(11);
    let l = Layer::sparse_random(30, 40, 4, &mut rng).unwrap();
    assert!(l.is_normalized());
    assert_eq!(l.nnz(), 160);
    assert!((0..40).all(|j| l.column_support(j).len() == 4));
    assert!(Layer::sparse_random(3, 4, 5, &mut rng).is_err());
    assert!(Layer::from_matrix(Mat::<f64>::zeros(0, 3).as_ref()).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// `D_(i,j)` applied factor by factor equals the explicit product, for any split.
    #[test]
    fn effective_operator_matches_explicit_product(seed in 0u64..1000, depth in 1usize..4) {
        let mut rng = generate::rng(seed);
        let mut dims = vec![8usize];
        for _ in 0..depth {
            dims.push(6 + (seed as usize + dims.len()) % 7);
        }
        let layers: Vec<Layer> = dims
            .windows(2)
            .map(|w| Layer::from_matrix(randn(w[0], w[1], seed + w[1] as u64).as_ref()).unwrap())
            .collect();
        let model = MlModel::new(layers).unwrap();
        for i in 1..=depth {
            for j in i..=depth {
                let mut prod = model.layer(i).unwrap().to_dense().unwrap();
                for l in i + 1..=j {
                    prod = &prod * &model.layer(l).unwrap().to_dense().unwrap();
                }
                let x = randn(dims[j], 2, seed + 1);
                let a = model.effective(i, j).unwrap().apply(x.as_ref()).unwrap();
                prop_assert!((&a - &prod * &x).norm_l2() <= 1e-10 * (1.0 + a.norm_l2()));
                let e = model.effective_dense(i, j).unwrap();
                prop_assert!((&e - &prod).norm_l2() <= 1e-10 * (1.0 + prod.norm_l2()));
            }
        }
        let _ = &mut rng;
    }
}

/// `||Gamma||_{0,inf}` by brute force from the definition: for every code position, the
/// non-zero atoms whose spatial footprint meets the footprint of an atom at that position.
fn stripe_brute(layer: &Layer, gamma: &[f64], spatial: usize, positions: usize) -> usize {
    use std::collections::HashSet;
    let foot = |j: usize| -> HashSet<usize> {
        layer
            .column_support(j)
            .into_iter()
            .map(|r| r % spatial)
            .collect()
    };
    let active: Vec<HashSet<usize>> = (0..gamma.len())
        .filter(|&j| gamma[j] != 0.0)
        .map(foot)
        .collect();
    (0..positions)
        .map(|p| {
            let f = foot(p);
            active.iter().filter(|a| !a.is_disjoint(&f)).count()
        })
        .max()
        .unwrap_or(0)
}

#[test]
fn stripe_norm_matches_its_definition() {
    use mlcsc::{ValidConv, ValidGeometry};
    use rand::Rng;
    let mut rng = generate::rng(21);
    let valid = Layer::Valid(
        ValidConv::random(
            ValidGeometry::new(2, (11, 9), (3, 2), 2, 3).unwrap(),
            &mut rng,
        )
        .unwrap(),
    );
    let circ1 = Layer::conv(
        ConvDictionary::random(Grid::d2(3, 3), 2, 3, &mut rng).unwrap(),
        Grid::d2(8, 6),
        1,
    )
    .unwrap();
    let circ2 = Layer::conv(
        ConvDictionary::random(Grid::d2(3, 2), 1, 2, &mut rng).unwrap(),
        Grid::d2(8, 8),
        2,
    )
    .unwrap();
    let dense = Layer::dense(&Dictionary::random_gaussian(6, 10, &mut rng).unwrap());
    for (layer, spatial, positions) in [
        (&valid, 99, 5 * 4),
        (&circ1, 48, 48),
        (&circ2, 64, 16),
        (&dense, 1, 1),
    ] {
        for density in [0.05, 0.2, 0.6] {
            let gamma: Vec<f64> = (0..layer.ncols())
                .map(|_| {
                    if rng.random::<f64>() < density {
                        rng.random_range(0.5..1.0)
                    } else {
                        0.0
                    }
                })
                .collect();
            let want = stripe_brute(layer, &gamma, spatial, positions);
            assert_eq!(
                layer.l0_inf(&gamma, 0.0).unwrap(),
                want,
                "density {density}"
            );
        }
    }
    assert!(dense.l0_inf(&[0.0; 3], 0.0).is_err());
}
