//! Unsupervised multi-layer dictionary learning.

use faer::Mat;
use mlcsc::learn::{effective_atoms, tile_atoms, MlDictionaryLearning};
use mlcsc::{Layer, MlModel, Synthesis};
use sparse_core::{generate, Dictionary, Noise};

fn model(seed: u64) -> MlModel {
    let mut rng = generate::rng(seed);
    MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(36, 60, &mut rng).unwrap()),
        Layer::sparse_random(60, 40, 3, &mut rng).unwrap(),
    ])
    .unwrap()
}

#[test]
fn learning_lowers_the_error_and_sparsifies_the_deeper_dictionary() {
    let truth = model(1);
    let mut rng = generate::rng(2);
    let data = Synthesis::new(vec![9, 3])
        .noise(Noise::SnrDb(40.0))
        .generate(&truth, 1200, &mut rng)
        .unwrap();
    // Start from the true first layer perturbed and a dense random second layer.
    let d1 = truth.layer(1).unwrap().to_dense().unwrap();
    let noise = Mat::<f64>::from_fn(36, 60, |i, j| {
        0.3 * (((i * 7 + j * 13) % 11) as f64 / 11.0 - 0.5)
    });
    let init = MlModel::new(vec![
        Layer::from_matrix((&d1 + &noise).as_ref()).unwrap(),
        Layer::dense(&Dictionary::random_gaussian(60, 40, &mut rng).unwrap()),
    ])
    .unwrap();
    let mut reports = Vec::new();
    let learned = MlDictionaryLearning::new(3)
        .zeta(vec![0.0, 0.01])
        .epochs(6)
        .batch_size(200)
        .fit(&init, data.noisy.as_ref(), |r| reports.push(r.clone()))
        .unwrap();
    assert_eq!(reports.len(), 6);
    assert!(reports[5].mse < 0.8 * reports[0].mse, "{reports:?}");
    assert!(reports[5].density[1] < 0.5, "{reports:?}");
    assert!(reports[5].density[0] > 0.9);
    assert!(learned.layer(1).unwrap().is_normalized());
    assert!(learned.layer_nnz()[1] < 60 * 40 / 2);
    // Conv layers and bad arguments are refused.
    assert!(MlDictionaryLearning::new(3)
        .zeta(vec![0.0])
        .fit(&init, data.noisy.as_ref(), |_| {})
        .is_err());
    assert!(MlDictionaryLearning::new(3)
        .fit(&init, Mat::<f64>::zeros(35, 3).as_ref(), |_| {})
        .is_err());
}

#[test]
fn effective_atoms_tile_into_an_image() {
    let m = model(3);
    let atoms = effective_atoms(&m, 2, 30).unwrap();
    assert_eq!((atoms.nrows(), atoms.ncols()), (36, 30));
    let img = tile_atoms(atoms.as_ref(), (6, 6), 10).unwrap();
    assert_eq!((img.nrows(), img.ncols()), (3 * 7 + 1, 10 * 7 + 1));
    assert!(img.norm_max() <= 255.0);
    assert!(tile_atoms(atoms.as_ref(), (5, 6), 10).is_err());
}

/// Mean `|<d, d_true>|` of the normalised effective atoms `D_(1,K)`.
fn effective_agreement(a: &MlModel, b: &MlModel) -> f64 {
    let (ea, eb) = (
        a.effective_dense(1, a.depth()).unwrap(),
        b.effective_dense(1, b.depth()).unwrap(),
    );
    let m = ea.ncols();
    (0..m)
        .map(|j| {
            let (x, y) = (ea.col(j), eb.col(j));
            (x.transpose() * y).abs() / (x.norm_l2() * y.norm_l2())
        })
        .sum::<f64>()
        / m as f64
}

#[test]
fn convolutional_learning_moves_the_filters_towards_the_truth() {
    use mlcsc::{ValidConv, ValidGeometry};
    use sparse_core::LinearOperator;
    let mut rng = generate::rng(5);
    // 12 x 12 images; 6 filters 4 x 4 stride 2 (5 x 5 maps), then 20 filters 5 x 5 x 6 (1 x 1).
    let g1 = ValidGeometry::new(1, (12, 12), (4, 4), 2, 6).unwrap();
    let g2 = ValidGeometry::new(6, (5, 5), (5, 5), 1, 20).unwrap();
    let truth = MlModel::new(vec![
        Layer::Valid(ValidConv::random(g1, &mut rng).unwrap()),
        Layer::Valid(ValidConv::random(g2, &mut rng).unwrap()),
    ])
    .unwrap();
    let codes = generate::sparseland_codes(20, 2, 1500, 0.5, 1.0, &mut rng).unwrap();
    let eff = truth.effective(1, 2).unwrap();
    let clean = eff.apply(codes.as_ref()).unwrap();
    let y = generate::add_noise(clean.as_ref(), 0.01, &mut rng).unwrap();
    let perturb = |l: &Layer, s: u64| {
        let v = l.as_valid().unwrap();
        let f = v.filters();
        let p = Mat::<f64>::from_fn(f.nrows(), f.ncols(), |i, j| {
            f[(i, j)] + 0.25 * ((((i * 7 + j * 13 + s as usize) % 11) as f64) / 11.0 - 0.5)
        });
        Layer::Valid(ValidConv::new(v.geometry(), p.as_ref()).unwrap())
    };
    let init = MlModel::new(vec![
        perturb(truth.layer(1).unwrap(), 1),
        perturb(truth.layer(2).unwrap(), 2),
    ])
    .unwrap();
    let mut reports = Vec::new();
    let learned = MlDictionaryLearning::new(2)
        .epochs(8)
        .batch_size(250)
        .fit(&init, y.as_ref(), |r| reports.push(r.clone()))
        .unwrap();
    assert!(reports[7].mse < 0.5 * reports[0].mse, "{reports:?}");
    let (before, after) = (
        effective_agreement(&init, &truth),
        effective_agreement(&learned, &truth),
    );
    assert!(after > before + 0.02 && after > 0.95, "{before} -> {after}");
    // Filters stay unit-norm; the model round-trips through JSON.
    assert!(learned.layer(2).unwrap().is_normalized());
    let back = MlModel::from_json(&learned.to_json().unwrap()).unwrap();
    let diff = &back.effective_dense(1, 2).unwrap() - &learned.effective_dense(1, 2).unwrap();
    assert!(diff.norm_max() < 1e-12);
}

#[test]
fn circular_convolutional_layers_are_refused_by_learning() {
    use csc::{ConvDictionary, Grid};
    let mut rng = generate::rng(6);
    let d = ConvDictionary::random(Grid::d2(3, 3), 1, 2, &mut rng).unwrap();
    let model = MlModel::new(vec![Layer::conv(d, Grid::d2(6, 6), 1).unwrap()]).unwrap();
    let err = MlDictionaryLearning::new(1)
        .fit(&model, Mat::<f64>::zeros(36, 4).as_ref(), |_| {})
        .unwrap_err();
    assert!(err.to_string().contains("init"), "{err}");
}
