//! Identities of the multi-layer pursuits: the forward pass is a ReLU network, one ML-ISTA
//! iteration is the forward pass, ML-ISTA on one layer is ISTA, the step conditions.
#![allow(clippy::needless_range_loop)]

use csc::{ConvDictionary, Grid};
use faer::Mat;
use mlcsc::{
    Layer, LayeredBp, LayeredIsta, LayeredThresholding, MlFista, MlIsta, MlModel, Solve,
    StepConditions,
};
use pursuit::lasso::Fista;
use sparse_core::Summary;
use sparse_core::{generate, Dictionary, LinearOperator};

fn randn(r: usize, c: usize, seed: u64) -> Mat<f64> {
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = generate::rng(seed);
    Mat::from_fn(r, c, |_, _| StandardNormal.sample(&mut rng))
}

fn dense_model(seed: u64) -> MlModel {
    let mut rng = generate::rng(seed);
    MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(20, 40, &mut rng).unwrap()),
        Layer::dense(&Dictionary::random_gaussian(40, 30, &mut rng).unwrap()),
        Layer::sparse_random(30, 25, 3, &mut rng).unwrap(),
    ])
    .unwrap()
}

fn conv_model(seed: u64) -> MlModel {
    let mut rng = generate::rng(seed);
    let d1 = ConvDictionary::random(Grid::d2(3, 3), 1, 4, &mut rng).unwrap();
    let d2 = ConvDictionary::random(Grid::d2(3, 3), 4, 6, &mut rng).unwrap();
    MlModel::new(vec![
        Layer::conv(d1, Grid::d2(8, 8), 2).unwrap(),
        Layer::conv(d2, Grid::d2(4, 4), 1).unwrap(),
    ])
    .unwrap()
}

/// Valid (CNN-style) convolutions: 10 x 9 images, 4 filters 3 x 3 stride 2 (4 x 4 maps), then
/// 5 filters 2 x 2 x 4 (3 x 3 maps).
fn valid_model(seed: u64) -> MlModel {
    use mlcsc::{ValidConv, ValidGeometry};
    let mut rng = generate::rng(seed);
    let g1 = ValidGeometry::new(1, (10, 9), (3, 3), 2, 4).unwrap();
    let g2 = ValidGeometry::new(4, (4, 4), (2, 2), 1, 5).unwrap();
    MlModel::new(vec![
        Layer::Valid(ValidConv::random(g1, &mut rng).unwrap()),
        Layer::Valid(ValidConv::random(g2, &mut rng).unwrap()),
    ])
    .unwrap()
}

/// `ReLU(W^T x + b)` with explicit loops, `W` given as a dense matrix.
fn relu_layer(w: &Mat<f64>, bias: f64, x: &Mat<f64>) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(w.ncols(), x.ncols());
    for s in 0..x.ncols() {
        for j in 0..w.ncols() {
            let mut acc = bias;
            for i in 0..w.nrows() {
                acc += w[(i, j)] * x[(i, s)];
            }
            out[(j, s)] = if acc > 0.0 { acc } else { 0.0 };
        }
    }
    out
}

fn max_diff(a: &Mat<f64>, b: &Mat<f64>) -> f64 {
    (a - b).norm_max()
}

#[test]
fn forward_pass_is_a_relu_network() {
    let betas = [0.3, 0.2, 0.1];
    for (model, betas) in [
        (dense_model(1), &betas[..]),
        (conv_model(2), &betas[..2]),
        (valid_model(3), &betas[..2]),
    ] {
        let x = randn(model.signal_len(), 7, 3);
        let codes = LayeredThresholding::relu(betas)
            .forward(&model, x.as_ref())
            .unwrap();
        // The same network written independently: W_i = D_i (explicit), b_i = -beta_i.
        let mut h = x.clone();
        for (i, beta) in betas.iter().enumerate() {
            let w = model.layer(i + 1).unwrap().to_dense().unwrap();
            h = relu_layer(&w, -beta, &h);
            assert!(max_diff(&h, &codes[i]) <= 1e-12, "layer {}", i + 1);
        }
        assert!(codes.iter().all(|c| c.col(0).iter().all(|v| *v >= 0.0)));
    }
}

#[test]
fn hard_and_soft_thresholding_layers() {
    let model = dense_model(4);
    let x = randn(20, 5, 5);
    let hard = LayeredThresholding::hard(&[0.5, 0.4, 0.3])
        .forward(&model, x.as_ref())
        .unwrap();
    let g1 = model.layer(1).unwrap().apply_adjoint(x.as_ref()).unwrap();
    for j in 0..5 {
        for i in 0..40 {
            let want = if g1[(i, j)].abs() > 0.5 {
                g1[(i, j)]
            } else {
                0.0
            };
            assert_eq!(hard[0][(i, j)], want);
        }
    }
    assert!(LayeredThresholding::soft(&[0.1, 0.1])
        .forward(&model, x.as_ref())
        .is_err());
    assert!(LayeredThresholding::soft(&[-0.1, 0.1, 0.1])
        .forward(&model, x.as_ref())
        .is_err());
    let bad = Mat::<f64>::zeros(19, 2);
    assert!(LayeredThresholding::soft(&[0.1; 3])
        .solve(&model, bad.as_ref())
        .is_err());
}

#[test]
fn one_ml_ista_iteration_is_the_forward_pass() {
    let lambdas = [0.2, 0.1, 0.05];
    for (model, lambdas) in [
        (dense_model(6), &lambdas[..]),
        (conv_model(7), &lambdas[..2]),
        (valid_model(8), &lambdas[..2]),
    ] {
        let k = model.depth();
        let y = randn(model.signal_len(), 6, 8);
        for nonneg in [false, true] {
            let fp = if nonneg {
                LayeredThresholding::relu(lambdas)
            } else {
                LayeredThresholding::soft(lambdas)
            }
            .forward(&model, y.as_ref())
            .unwrap();
            // Unit steps: exactly the forward pass (deepest layer).
            let one = MlIsta::new(lambdas.to_vec())
                .steps(vec![1.0; k])
                .iterations(1)
                .nonneg(nonneg)
                .solve(&model, y.as_ref())
                .unwrap();
            assert!(max_diff(one.deepest(), &fp[k - 1]) <= 1e-12);
            let cond = one.step_conditions.as_ref().unwrap();
            assert!(!cond.all_hold(), "unit steps exceed 1/||D_1||^2");
            // Default steps: the forward pass scaled by t_K.
            let ista = MlIsta::new(lambdas.to_vec())
                .iterations(1)
                .nonneg(nonneg)
                .solve(&model, y.as_ref())
                .unwrap();
            let cond = ista.step_conditions.as_ref().unwrap();
            assert!(cond.all_hold(), "{cond:?}");
            let mut scaled = fp[k - 1].clone();
            scaled *= faer::Scale(cond.steps[k - 1]);
            assert!(max_diff(ista.deepest(), &scaled) <= 1e-12 * (1.0 + scaled.norm_max()));
            // ML-FISTA's first iteration is the same.
            let fista = MlFista::new(lambdas.to_vec())
                .iterations(1)
                .nonneg(nonneg)
                .solve(&model, y.as_ref())
                .unwrap();
            assert!(max_diff(fista.deepest(), ista.deepest()) <= 1e-14);
        }
    }
}

#[test]
fn ml_ista_on_one_layer_solves_the_lasso() {
    let mut rng = generate::rng(9);
    let d = Dictionary::random_gaussian(30, 50, &mut rng).unwrap();
    let model = MlModel::from_dictionaries(std::slice::from_ref(&d)).unwrap();
    let y = randn(30, 4, 10);
    let lasso = Fista::new(0.3)
        .gap_tol(1e-12)
        .solve(&d, y.as_ref())
        .unwrap();
    for out in [
        MlIsta::new(vec![0.3])
            .iterations(3000)
            .solve(&model, y.as_ref())
            .unwrap(),
        MlFista::new(vec![0.3])
            .iterations(400)
            .solve(&model, y.as_ref())
            .unwrap(),
    ] {
        let obj = &out.objectives();
        for j in 0..4 {
            assert!(
                (obj[j] - lasso.diagnostics[j].objective).abs()
                    <= 1e-6 * lasso.diagnostics[j].objective
            );
        }
    }
}

#[test]
fn ml_fista_lowers_the_multi_layer_objective_faster() {
    let model = dense_model(11);
    let lambdas = vec![0.05, 0.05, 0.05];
    let y = randn(20, 8, 12);
    let ista = MlIsta::new(lambdas.clone())
        .iterations(60)
        .track_objective(true)
        .solve(&model, y.as_ref())
        .unwrap();
    let fista = MlFista::new(lambdas.clone())
        .iterations(60)
        .track_objective(true)
        .solve(&model, y.as_ref())
        .unwrap();
    let (ti, tf) = (&ista.objective_trace, &fista.objective_trace);
    assert_eq!(ti.len(), 60);
    // The objective at 0 is 1/2 ||y||^2 per signal: both go well below it.
    let f0 = 0.5 * y.squared_norm_l2() / 8.0;
    assert!(
        ti[59] < 0.9 * f0 && tf[59] < ti[59],
        "{} {} {f0}",
        ti[59],
        tf[59]
    );
    assert!(ti.windows(2).filter(|w| w[1] > w[0] + 1e-12).count() <= 3);
    // Consistent estimates: Gamma_{i-1} = D_i Gamma_i below the first layer.
    assert!(ista.layer_mismatch()[1..].iter().all(|m| *m < 1e-12));
    assert!(MlIsta::new(vec![0.1; 2]).solve(&model, y.as_ref()).is_err());
    assert!(MlIsta::new(lambdas)
        .steps(vec![0.1, -1.0, 0.1])
        .solve(&model, y.as_ref())
        .is_err());
}

#[test]
fn step_conditions_follow_the_theorem() {
    let model = dense_model(13);
    let steps = StepConditions::default_steps(&model);
    let c = StepConditions::new(&model, &steps).unwrap();
    assert!(StepConditions::new(&model, &steps[..2]).is_err());
    assert!(c.all_hold());
    assert!((c.upper[0] - 1.0 / c.lipschitz[0]).abs() < 1e-12);
    // t_2 < 4 t_1 / (3 ||D_2||_2): the norm is not squared in the theorem (reference 001).
    assert!((c.upper[1] - 4.0 * steps[0] / (3.0 * c.lipschitz[1].sqrt())).abs() < 1e-12);
    let mut big = steps.clone();
    big[1] = 1.05 * c.upper[1];
    assert_eq!(
        StepConditions::new(&model, &big).unwrap().holds,
        vec![true, false, true]
    );
    big[1] = 0.95 * c.upper[1];
    assert!(StepConditions::new(&model, &big).unwrap().holds[1]);
}

#[test]
fn layered_bp_and_layered_ista_solve_each_layer() {
    let model = dense_model(14);
    let y = randn(20, 5, 15);
    let lambdas = vec![0.2, 0.1, 0.05];
    let bp = LayeredBp::new(lambdas.clone())
        .solve(&model, y.as_ref())
        .unwrap();
    assert!(bp.all_converged() && bp.layers.len() == 3);
    assert!(bp
        .layers
        .iter()
        .flatten()
        .all(|d| d.duality_gap.unwrap() <= 1e-8));
    // Each layer is the Lasso of the previous estimate.
    let l2 = model.layer(2).unwrap();
    let direct = Fista::new(0.1)
        .gap_tol(1e-10)
        .solve(l2, bp.codes[0].as_ref())
        .unwrap();
    assert!(max_diff(&direct.codes, &bp.codes[1]) < 1e-4);
    // Layered ISTA approaches layered BP as the iterations grow.
    let err = |it: usize| {
        let li = LayeredIsta::new(lambdas.clone())
            .iterations(it)
            .solve(&model, y.as_ref())
            .unwrap();
        (&li.codes[0] - &bp.codes[0]).norm_l2()
    };
    assert!(err(500) < err(5));
}

#[test]
fn ml_fista_on_a_conv_model_equals_it_on_the_explicit_dense_model() {
    // The dense first layer takes a Gram-matrix shortcut; the convolutional one does not.
    for conv in [conv_model(16), valid_model(18)] {
        let dense = MlModel::new(
            conv.layers()
                .iter()
                .map(|l| Layer::from_matrix(l.to_dense().unwrap().as_ref()).unwrap())
                .collect(),
        )
        .unwrap();
        let y = randn(conv.signal_len(), 4, 17);
        // The same steps for both (a convolution's ||D||^2 comes from power iteration, the
        // dense matrix's from its SVD: equal to ~1e-10, not to the last digit).
        let steps = mlcsc::StepConditions::default_steps(&dense);
        let run = |m: &MlModel| {
            MlFista::new(vec![0.1, 0.05])
                .steps(steps.clone())
                .iterations(25)
                .solve(m, y.as_ref())
                .unwrap()
        };
        let (a, b) = (run(&conv), run(&dense));
        assert!(max_diff(a.deepest(), b.deepest()) < 1e-9 * (1.0 + a.deepest().norm_max()));
        let (oa, ob) = (a.objectives(), b.objectives());
        assert!(oa
            .iter()
            .zip(&ob)
            .all(|(x, z)| (x - z).abs() < 1e-9 * (1.0 + x.abs())));
    }
}
