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
