//! The unfolded networks' engine against an independent implementation of the recursion (the
//! model's operators, checked entry by entry against the convolution's definition), float32
//! against float64, and resumable training.
#![allow(clippy::needless_range_loop)]

use faer::Mat;
use mlcsc::supervised::{
    Init, LayerSpec, Optimizer, Precision, Schedule, SupervisedTraining, TrainState, UnfoldedNet,
    Unfolding,
};
use sparse_core::{generate, LinearOperator};

fn rand_input(n: usize, b: usize, seed: u64) -> Mat<f64> {
    use rand::Rng;
    let mut rng = generate::rng(seed);
    Mat::from_fn(n, b, |_, _| rng.random_range(0.0..1.0))
}

/// Two input channels and a last convolutional layer with several positions: every layout
/// permutation of the engine is exercised.
fn net(k: usize, kind: Unfolding) -> UnfoldedNet {
    let specs = [
        LayerSpec::Conv {
            maps: 3,
            kernel: (3, 2),
            stride: 2,
        },
        LayerSpec::Conv {
            maps: 4,
            kernel: (2, 2),
            stride: 1,
        },
    ];
    let mut net = UnfoldedNet::convolutional((2, 9, 8), &specs, 3, k, kind, 5).unwrap();
    // Biases of both signs, larger steps: every term matters.
    let mut rng = generate::rng(9);
    use rand::Rng;
    for i in 1..=2 {
        let c = net.step(i).unwrap();
        let nb = net.bias(i).unwrap().len();
        let b: Vec<f64> = (0..nb).map(|_| rng.random_range(-0.05..0.05)).collect();
        set_layer(&mut net, i, 3.0 * c, &b);
    }
    net
}

/// Sets the step and biases of layer `i` through the flat vector (the documented layout: `D_i`,
/// `c_i`, `b_i` per layer), checking the offsets against the accessors.
fn set_layer(net: &mut UnfoldedNet, i: usize, c: f64, b: &[f64]) {
    let c_old = net.step(i).unwrap();
    let b_old = net.bias(i).unwrap().to_vec();
    // Offsets: the step follows the dictionary block, the biases follow the step.
    let d_len = {
        let d = net.dictionary(i).unwrap();
        d.nrows() * d.ncols()
    };
    let mut off = 0;
    for j in 1..i {
        let d = net.dictionary(j).unwrap();
        off += d.nrows() * d.ncols() + 1 + net.bias(j).unwrap().len();
    }
    let p = net.params_mut();
    assert_eq!(p[off + d_len], c_old);
    p[off + d_len] = c;
    assert_eq!(&p[off + d_len + 1..off + d_len + 1 + b.len()], &b_old[..]);
    p[off + d_len + 1..off + d_len + 1 + b.len()].copy_from_slice(b);
}

/// The recursion of the `UnfoldedNet` docs written with the model's operators.
fn reference_codes(net: &UnfoldedNet, x: &Mat<f64>) -> Mat<f64> {
    let model = net.model().unwrap();
    let l = model.depth();
    let per_bias: Vec<usize> = (1..=l)
        .map(|i| net.dims()[i] / net.bias(i).unwrap().len())
        .collect();
    let layer_step = |i: usize, h_i: Option<&Mat<f64>>, h_prev: Option<&Mat<f64>>, u: &Mat<f64>| {
        let op = model.layer(i).unwrap();
        let r = match h_prev {
            Some(h) => h - u,
            None => -u,
        };
        let q = op.apply_adjoint(r.as_ref()).unwrap();
        let (c, b) = (net.step(i).unwrap(), net.bias(i).unwrap());
        Mat::<f64>::from_fn(q.nrows(), q.ncols(), |p, j| {
            let hv = h_i.map_or(0.0, |h| h[(p, j)]);
            (hv - c * q[(p, j)] + b[p / per_bias[i - 1]]).max(0.0)
        })
    };
    let mut t = 1.0f64;
    let mut prev: Option<Mat<f64>> = None;
    let mut cur: Option<Mat<f64>> = None;
    for _ in 0..net.unfoldings() {
        let mut gs: Vec<Mat<f64>> = Vec::new();
        match &cur {
            None => {
                for i in 1..=l {
                    let u = if i == 1 { x.clone() } else { gs[i - 2].clone() };
                    gs.push(layer_step(i, None, None, &u));
                }
            }
            Some(c) => {
                let t_next = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
                let rho = if net.kind() == Unfolding::Fista {
                    (t - 1.0) / t_next
                } else {
                    0.0
                };
                t = t_next;
                let z = match &prev {
                    Some(p) if rho != 0.0 => c * faer::Scale(1.0 + rho) - p * faer::Scale(rho),
                    _ => c.clone(),
                };
                let mut h = vec![Mat::<f64>::zeros(0, 0); l + 1];
                h[l] = z;
                for i in (1..=l).rev() {
                    h[i - 1] = model.layer(i).unwrap().apply(h[i].as_ref()).unwrap();
                }
                for i in 1..=l {
                    let u = if i == 1 { x.clone() } else { gs[i - 2].clone() };
                    gs.push(layer_step(i, Some(&h[i]), Some(&h[i - 1]), &u));
                }
            }
        }
        prev = cur.take();
        cur = gs.pop();
    }
    cur.unwrap()
}

#[test]
fn the_engine_computes_the_documented_recursion_on_every_layout() {
    let x = rand_input(2 * 9 * 8, 5, 3);
    for kind in [Unfolding::Ista, Unfolding::Fista] {
        for k in [1, 2, 4] {
            let n = net(k, kind);
            let want = reference_codes(&n, &x);
            let got = n.codes(x.as_ref()).unwrap();
            assert!(want.norm_max() > 1e-3, "{kind:?} K={k}: all codes dead");
            assert!(
                (&want - &got).norm_max() < 1e-12 * want.norm_max().max(1.0),
                "{kind:?} K={k}: {}",
                (&want - &got).norm_max()
            );
        }
    }
}

#[test]
fn float32_logits_and_gradients_agree_with_float64() {
    let x = rand_input(2 * 9 * 8, 40, 4);
    let labels: Vec<usize> = (0..40).map(|j| j % 3).collect();
    for kind in [Unfolding::Ista, Unfolding::Fista] {
        let n = net(3, kind);
        let (a, b) = (
            n.logits_with(x.as_ref(), Precision::F64).unwrap(),
            n.logits_with(x.as_ref(), Precision::F32).unwrap(),
        );
        assert!((&a - &b).norm_max() < 1e-4 * a.norm_max().max(1.0));
        // One plain SGD step of one full batch: the parameter change is lr * gradient.
        let step = |precision| {
            let mut state = TrainState::new(n.clone());
            SupervisedTraining::default()
                .batch_size(40)
                .learning_rate(1.0)
                .optimizer(Optimizer::Sgd {
                    momentum: 0.0,
                    weight_decay: 0.0,
                })
                .precision(precision)
                .epoch(&mut state, x.as_ref(), &labels)
                .unwrap();
            n.params()
                .iter()
                .zip(state.net.params())
                .map(|(a, b)| a - b)
                .collect::<Vec<f64>>()
        };
        let (g64, g32) = (step(Precision::F64), step(Precision::F32));
        let scale = g64.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 1e-6);
        let err = g64
            .iter()
            .zip(&g32)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
        assert!(err < 1e-4 * scale, "{kind:?}: {err} vs {scale}");
    }
}

#[test]
fn a_resumed_run_equals_an_uninterrupted_one() {
    let x = rand_input(2 * 9 * 8, 30, 5);
    let labels: Vec<usize> = (0..30).map(|j| j % 3).collect();
    let start = net(2, Unfolding::Fista)
        .initialised(Init::FanIn { scale: 0.5 }, 2)
        .unwrap();
    for opt in [
        Optimizer::Adam,
        Optimizer::Sgd {
            momentum: 0.9,
            weight_decay: 1e-3,
        },
    ] {
        let recipe = SupervisedTraining::default()
            .batch_size(8)
            .learning_rate(0.01)
            .optimizer(opt)
            .schedule(Schedule::Step {
                every: 2,
                gamma: 0.5,
            });
        let mut straight = start.clone();
        let stats = recipe
            .clone()
            .epochs(3)
            .fit(&mut straight, x.as_ref(), &labels, |_, _| {})
            .unwrap();
        assert_eq!(stats[2].learning_rate, 0.005);
        let mut state = TrainState::new(start.clone());
        for _ in 0..2 {
            recipe.epoch(&mut state, x.as_ref(), &labels).unwrap();
        }
        let json = serde_json::to_string(&state).unwrap();
        let mut back: TrainState = serde_json::from_str(&json).unwrap();
        let last = recipe.epoch(&mut back, x.as_ref(), &labels).unwrap();
        assert_eq!(last.epoch, 3);
        assert_eq!(back.net.params(), straight.params(), "{opt:?}");
        assert_ne!(straight.params(), start.params());
    }
}

#[test]
fn the_authors_initialisation_and_bad_recipes() {
    let specs = [
        LayerSpec::Conv {
            maps: 16,
            kernel: (6, 6),
            stride: 2,
        },
        LayerSpec::Conv {
            maps: 8,
            kernel: (4, 4),
            stride: 2,
        },
    ];
    let big = UnfoldedNet::convolutional((1, 28, 28), &specs, 10, 1, Unfolding::Ista, 0)
        .unwrap()
        .initialised(Init::FanIn { scale: 0.1 }, 0)
        .unwrap();
    for i in 1..=2 {
        let n = &big;
        assert_eq!(n.step(i).unwrap(), 1.0);
        assert!(n.bias(i).unwrap().iter().all(|&b| b == 0.0));
        let d = n.dictionary(i).unwrap();
        let var = d.norm_l2().powi(2) / (d.nrows() * d.ncols()) as f64;
        let want = 0.01 / d.nrows() as f64;
        assert!((var / want - 1.0).abs() < 0.5, "layer {i}: {var} vs {want}");
    }
    let n = net(1, Unfolding::Ista)
        .initialised(Init::FanIn { scale: 0.1 }, 0)
        .unwrap();
    let (w, w0) = n.classifier();
    let bound = 1.0 / (w.ncols() as f64).sqrt();
    assert!(w.norm_max() <= bound && w0.iter().all(|v| v.abs() <= bound));
    assert!(n.initialised(Init::FanIn { scale: -1.0 }, 0).is_err());
    let x = rand_input(2 * 9 * 8, 4, 6);
    let labels = [0, 1, 2, 0];
    let mut state = TrainState::new(n.clone());
    for bad in [
        SupervisedTraining::default().optimizer(Optimizer::Sgd {
            momentum: 1.0,
            weight_decay: 0.0,
        }),
        SupervisedTraining::default().optimizer(Optimizer::Sgd {
            momentum: 0.5,
            weight_decay: f64::NAN,
        }),
        SupervisedTraining::default().schedule(Schedule::Step {
            every: 0,
            gamma: 0.5,
        }),
        SupervisedTraining::default().schedule(Schedule::Step {
            every: 3,
            gamma: 1.5,
        }),
    ] {
        assert!(bad.epoch(&mut state, x.as_ref(), &labels).is_err());
    }
    assert_eq!(state.epoch, 0);
    // A state whose moments do not fit its net is refused (when it is read, before any epoch).
    let other = TrainState::new(UnfoldedNet::new(&[144, 4], 3, 1, Unfolding::Ista, 0).unwrap());
    let mut v: serde_json::Value = serde_json::to_value(&state).unwrap();
    v["m1"] = serde_json::to_value(&serde_json::to_value(&other).unwrap()["m1"]).unwrap();
    let err = serde_json::from_value::<TrainState>(v)
        .unwrap_err()
        .to_string();
    assert!(err.contains("m1"), "{err}");
}
