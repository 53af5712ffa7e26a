//! The supervised unfolded ML-ISTA / ML-FISTA networks: back-propagation against finite
//! differences, the feed-forward special case, training on real digits, and the data readers.
#![allow(clippy::needless_range_loop)]

use faer::Mat;
use mlcsc::data::{read_digits_csv, read_mnist};
use mlcsc::supervised::{SupervisedTraining, UnfoldedNet, Unfolding};
use mlcsc::{LayeredThresholding, Solve};
use sparse_core::generate;

fn assets() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../assets")
}

fn rand_input(n: usize, b: usize, seed: u64) -> Mat<f64> {
    use rand::Rng;
    let mut rng = generate::rng(seed);
    Mat::from_fn(n, b, |_, _| rng.random_range(0.0..1.0))
}

#[test]
fn backprop_matches_central_finite_differences() {
    let x = rand_input(6, 5, 1);
    let labels = [0, 2, 1, 1, 0];
    for kind in [Unfolding::Ista, Unfolding::Fista] {
        for k in [1, 2, 4] {
            let mut net = UnfoldedNet::new(&[6, 8, 5], 3, k, kind, 7).unwrap();
            // Larger steps and biases of both signs make every term of the recursion matter.
            for i in 1..=2 {
                let d = net.dims().to_vec();
                let off = (1..i).map(|l| d[l - 1] * d[l] + 1 + d[l]).sum::<usize>();
                let c = off + d[i - 1] * d[i];
                net.params_mut()[c] = 0.6;
                for p in 0..d[i] {
                    net.params_mut()[c + 1 + p] = 0.15 * ((p % 3) as f64 - 0.8);
                }
            }
            let mut grad = vec![0.0; net.params().len()];
            let loss = net.loss_grad(x.as_ref(), &labels, &mut grad).unwrap();
            assert!((loss - net.loss(x.as_ref(), &labels).unwrap()).abs() < 1e-12);
            let h = 1e-6;
            let mut worst = 0.0f64;
            for p in 0..grad.len() {
                let mut plus = net.clone();
                plus.params_mut()[p] += h;
                let mut minus = net.clone();
                minus.params_mut()[p] -= h;
                let fd = (plus.loss(x.as_ref(), &labels).unwrap()
                    - minus.loss(x.as_ref(), &labels).unwrap())
                    / (2.0 * h);
                let err = (fd - grad[p]).abs() / (1e-4 + fd.abs().max(grad[p].abs()));
                worst = worst.max(err);
                assert!(
                    err < 1e-4,
                    "{kind:?} K={k} param {p}: fd {fd} vs bp {}",
                    grad[p]
                );
            }
            assert!(worst < 1e-4);
        }
    }
}

#[test]
fn one_unfolding_is_a_feed_forward_relu_network_with_the_same_parameters() {
    let net = UnfoldedNet::new(&[10, 12, 7, 5], 4, 1, Unfolding::Ista, 3).unwrap();
    let x = rand_input(10, 6, 2);
    // ReLU(c_i D_i^T g_{i-1} + b_i) written out, then W g + w0.
    let mut g = x.clone();
    for i in 1..=3 {
        let d = net.dictionary(i).unwrap();
        let (c, b) = (net.step(i).unwrap(), net.bias(i).unwrap());
        let mut next = Mat::<f64>::zeros(d.ncols(), g.ncols());
        for s in 0..g.ncols() {
            for a in 0..d.ncols() {
                let dot: f64 = (0..d.nrows()).map(|r| d[(r, a)] * g[(r, s)]).sum();
                next[(a, s)] = (c * dot + b[a]).max(0.0);
            }
        }
        g = next;
    }
    let (w, w0) = net.classifier();
    let want = Mat::<f64>::from_fn(4, 6, |c, s| {
        w0[c] + (0..g.nrows()).map(|a| w[(c, a)] * g[(a, s)]).sum::<f64>()
    });
    let got = net.logits(x.as_ref()).unwrap();
    assert!((&want - &got).norm_max() < 1e-12);
    // With unit steps it is layered thresholding with thresholds -b (when biases are uniform).
    let mut unit = net.clone();
    let d = unit.dims().to_vec();
    let mut off = 0;
    for i in 1..=3 {
        off += d[i - 1] * d[i];
        unit.params_mut()[off] = 1.0;
        off += 1 + d[i];
    }
    let model = unit.model().unwrap();
    let lt = LayeredThresholding::relu(&[0.01, 0.01, 0.01])
        .solve(&model, x.as_ref())
        .unwrap();
    let codes = unit.codes(x.as_ref()).unwrap();
    assert!((&codes - lt.deepest()).norm_max() < 1e-12);
    // More unfoldings: the same parameters, a different function.
    let deeper = net.with_unfoldings(4).unwrap();
    assert_eq!(deeper.params(), net.params());
    assert!((&deeper.logits(x.as_ref()).unwrap() - &got).norm_max() > 1e-6);
    assert_eq!(
        deeper.with_kind(Unfolding::Fista).params().len(),
        net.params().len()
    );
}

#[test]
fn bad_inputs_are_errors() {
    assert!(UnfoldedNet::new(&[4], 2, 1, Unfolding::Ista, 0).is_err());
    assert!(UnfoldedNet::new(&[4, 3], 2, 0, Unfolding::Ista, 0).is_err());
    let net = UnfoldedNet::new(&[4, 3], 2, 2, Unfolding::Ista, 0).unwrap();
    let x = rand_input(4, 3, 0);
    assert!(net.loss(x.as_ref(), &[0, 1]).is_err());
    assert!(net.loss(x.as_ref(), &[0, 1, 2]).is_err());
    assert!(net.logits(rand_input(5, 3, 0).as_ref()).is_err());
    let mut g = vec![0.0; 3];
    assert!(net.loss_grad(x.as_ref(), &[0, 1, 1], &mut g).is_err());
    assert!(net.dictionary(2).is_err());
    let mut n2 = net.clone();
    assert!(SupervisedTraining::default()
        .learning_rate(0.0)
        .fit(&mut n2, x.as_ref(), &[0, 1, 1], |_, _| {})
        .is_err());
}

#[test]
fn data_readers_parse_the_shipped_sets() {
    let digits = read_digits_csv(assets().join("digits.csv.gz")).unwrap();
    assert_eq!((digits.images.nrows(), digits.len()), (64, 1797));
    assert_eq!(digits.n_classes(), 10);
    assert!(digits.images.norm_max() <= 1.0);
    let mnist = read_mnist(
        assets().join("t10k-images-idx3-ubyte.gz"),
        assets().join("t10k-labels-idx1-ubyte.gz"),
    )
    .unwrap();
    assert_eq!(
        (mnist.images.nrows(), mnist.len(), mnist.shape),
        (784, 10_000, (28, 28))
    );
    assert_eq!(mnist.labels[..3], [7, 2, 1]);
    let (tr, te) = mnist.split(8000, 1).unwrap();
    assert_eq!((tr.len(), te.len()), (8000, 2000));
    assert!(mnist.split(10_001, 1).is_err());
    assert!(read_mnist(
        assets().join("digits.csv.gz"),
        assets().join("digits.csv.gz")
    )
    .is_err());
}

#[test]
fn unfolded_networks_learn_the_digits() {
    let digits = read_digits_csv(assets().join("digits.csv.gz")).unwrap();
    let (train, rest) = digits.split(500, 3).unwrap();
    let test = rest.select(&(0..300).collect::<Vec<_>>()).unwrap();
    for (k, kind) in [(1, Unfolding::Ista), (2, Unfolding::Fista)] {
        let mut net = UnfoldedNet::new(&[64, 48, 24], 10, k, kind, 5).unwrap();
        let before = net.accuracy(test.images.as_ref(), &test.labels).unwrap();
        let stats = SupervisedTraining::default()
            .epochs(12)
            .learning_rate(5e-3)
            .fit(&mut net, train.images.as_ref(), &train.labels, |_, _| {})
            .unwrap();
        assert!(stats[11].train_loss < stats[0].train_loss);
        let after = net.accuracy(test.images.as_ref(), &test.labels).unwrap();
        assert!(after > 0.85 && after > before, "K={k}: {before} -> {after}");
    }
}

/// A small CNN-shaped net: 9 x 8 images, 3 filters 3 x 2 stride 2, 4 filters 2 x 2 x 3, dense 5.
fn small_conv(k: usize, kind: Unfolding) -> UnfoldedNet {
    use mlcsc::supervised::LayerSpec;
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
        LayerSpec::Dense(5),
    ];
    let mut net = UnfoldedNet::convolutional((1, 9, 8), &specs, 3, k, kind, 11).unwrap();
    // Larger steps and biases of both signs make every term of the recursion matter.
    for i in 1..=3 {
        let nb = net.bias(i).unwrap().len();
        // The step sits right after the dictionary block (the documented flat layout).
        let c = net
            .params()
            .iter()
            .position(|&v| v == net.step(i).unwrap())
            .unwrap();
        net.params_mut()[c] = 0.5;
        for p in 0..nb {
            net.params_mut()[c + 1 + p] = 0.1 * ((p % 3) as f64 - 0.8);
        }
    }
    net
}

#[test]
fn convolutional_backprop_matches_central_finite_differences() {
    let x = rand_input(72, 4, 8);
    let labels = [0, 2, 1, 1];
    for kind in [Unfolding::Ista, Unfolding::Fista] {
        for k in [1, 3] {
            let net = small_conv(k, kind);
            assert_eq!(net.dims(), &[72, 4 * 4 * 3, 3 * 3 * 4, 5]);
            let mut grad = vec![0.0; net.params().len()];
            let loss = net.loss_grad(x.as_ref(), &labels, &mut grad).unwrap();
            assert!((loss - net.loss(x.as_ref(), &labels).unwrap()).abs() < 1e-12);
            let h = 1e-6;
            for p in 0..grad.len() {
                let mut plus = net.clone();
                plus.params_mut()[p] += h;
                let mut minus = net.clone();
                minus.params_mut()[p] -= h;
                let fd = (plus.loss(x.as_ref(), &labels).unwrap()
                    - minus.loss(x.as_ref(), &labels).unwrap())
                    / (2.0 * h);
                let err = (fd - grad[p]).abs() / (1e-4 + fd.abs().max(grad[p].abs()));
                assert!(
                    err < 1e-4,
                    "{kind:?} K={k} param {p}: fd {fd} vs bp {}",
                    grad[p]
                );
            }
        }
    }
}

#[test]
fn one_unfolding_of_a_convolutional_net_is_a_cnn() {
    // The CNN written out: ReLU(c * correlation + per-map bias), valid, strided.
    let net = small_conv(1, Unfolding::Ista);
    let x = rand_input(72, 3, 9);
    let mut g = x.clone();
    let mut shape = (1usize, 9usize, 8usize);
    for i in 1..=3 {
        let (c, b) = (net.step(i).unwrap(), net.bias(i).unwrap().to_vec());
        let f = net.dictionary(i).unwrap();
        let next = match net.geometry(i).unwrap() {
            Some(geo) => {
                let (oh, ow) = geo.out();
                let (kh, kw) = geo.kernel;
                let mut out = Mat::<f64>::zeros(geo.maps * oh * ow, g.ncols());
                for s in 0..g.ncols() {
                    for q in 0..geo.maps {
                        for cc in 0..ow {
                            for r in 0..oh {
                                let mut dot = 0.0;
                                for ch in 0..shape.0 {
                                    for bb in 0..kw {
                                        for a in 0..kh {
                                            let pix = ch * shape.1 * shape.2
                                                + (r * geo.stride + a)
                                                + shape.1 * (cc * geo.stride + bb);
                                            dot += f[(ch * kh * kw + a + kh * bb, q)] * g[(pix, s)];
                                        }
                                    }
                                }
                                out[(q * oh * ow + r + oh * cc, s)] = (c * dot + b[q]).max(0.0);
                            }
                        }
                    }
                }
                shape = (geo.maps, oh, ow);
                out
            }
            None => Mat::<f64>::from_fn(f.ncols(), g.ncols(), |a, s| {
                let dot: f64 = (0..f.nrows()).map(|r| f[(r, a)] * g[(r, s)]).sum();
                (c * dot + b[a]).max(0.0)
            }),
        };
        g = next;
    }
    let got = net.codes(x.as_ref()).unwrap();
    assert!((&g - &got).norm_max() < 1e-12);
    // The learned layers form an ML-CSC model of valid convolutions.
    let model = net.model().unwrap();
    assert_eq!(model.dims(), vec![72, 48, 36, 5]);
}

#[test]
fn the_linear_classifier_separates_gaussian_blobs_and_refuses_bad_labels() {
    use mlcsc::supervised::LinearClassifier;
    use rand_distr::{Distribution, StandardNormal};
    let mut rng = generate::rng(4);
    let centres = [[3.0, 0.0, 1.0], [0.0, 3.0, -1.0], [-3.0, -3.0, 0.0]];
    let labels: Vec<usize> = (0..300).map(|j| j % 3).collect();
    let f = Mat::<f64>::from_fn(3, 300, |i, j| {
        let e: f64 = StandardNormal.sample(&mut rng);
        centres[labels[j]][i] + 0.7 * e
    });
    let clf = LinearClassifier::new().fit(f.as_ref(), &labels, 3).unwrap();
    assert!(clf.accuracy(f.as_ref(), &labels).unwrap() > 0.97);
    // More iterations cannot do worse on the objective (the fit is convex).
    let longer = LinearClassifier::new()
        .iterations(600)
        .fit(f.as_ref(), &labels, 3)
        .unwrap();
    assert!(longer.objective <= clf.objective + 1e-9);
    assert!(LinearClassifier::new()
        .fit(f.as_ref(), &labels[..10], 3)
        .is_err());
    let mut bad = labels.clone();
    bad[0] = 3;
    assert!(LinearClassifier::new().fit(f.as_ref(), &bad, 3).is_err());
}

#[test]
fn the_sparse_linear_classifier_matches_the_dense_one() {
    use mlcsc::supervised::{LinearClassifier, SparseFeatures};
    use rand::Rng;
    let mut rng = generate::rng(9);
    let labels: Vec<usize> = (0..200).map(|j| j % 4).collect();
    // Sparse non-negative features whose support depends on the class.
    let f = Mat::<f64>::from_fn(12, 200, |i, j| {
        let on = i % 4 == labels[j] || rng.random_range(0.0..1.0) < 0.15;
        if on {
            rng.random_range(0.2..1.0)
        } else {
            0.0
        }
    });
    let s = SparseFeatures::from_dense(f.as_ref());
    assert_eq!(s.to_dense(), f);
    for standardize in [true, false] {
        let clf = LinearClassifier::new().l2(1e-3).standardize(standardize);
        let dense = clf.fit(f.as_ref(), &labels, 4).unwrap();
        let sparse = clf.fit_sparse(&s, &labels, 4).unwrap();
        assert!(
            (dense.objective - sparse.objective).abs() < 1e-8 * dense.objective.abs().max(1.0),
            "{} vs {}",
            dense.objective,
            sparse.objective
        );
        let (zd, zs) = (dense.logits(f.as_ref()).unwrap(), sparse.logits_sparse(&s));
        assert!((&zd - &zs).norm_l2() < 1e-6 * zd.norm_l2().max(1.0));
        assert!(sparse.accuracy_sparse(&s, &labels).unwrap() > 0.9);
    }
    // Stacking and splitting keep the values.
    let both = SparseFeatures::stack(&[&s, &s.map(|v| -v)]).unwrap();
    assert_eq!(both.dim(), 24);
    let split = both.split_sign();
    assert_eq!(split.nnz(), both.nnz());
    assert_eq!(split.to_dense()[(48 - 12, 0)], f[(0, 0)]);
    let mut head = s.subcols(0, 50);
    head.append(&s.subcols(50, 150));
    assert_eq!(head, s);
    assert!(LinearClassifier::new()
        .fit_sparse(&s, &labels[..10], 4)
        .is_err());
}

#[test]
fn networks_round_trip_through_json() {
    let conv = small_conv(2, Unfolding::Fista);
    let back: UnfoldedNet = serde_json::from_str(&serde_json::to_string(&conv).unwrap()).unwrap();
    let x = rand_input(72, 3, 12);
    let (a, b) = (
        conv.logits(x.as_ref()).unwrap(),
        back.logits(x.as_ref()).unwrap(),
    );
    assert!((&a - &b).norm_max() < 1e-12);
    // A dense network written before layers had a kind still loads, as dense layers.
    let dense = UnfoldedNet::new(&[6, 8, 5], 3, 2, Unfolding::Ista, 1).unwrap();
    let mut v: serde_json::Value = serde_json::to_value(&dense).unwrap();
    for l in v["layers"].as_array_mut().unwrap() {
        l.as_object_mut().unwrap().remove("kind");
    }
    let old: UnfoldedNet = serde_json::from_value(v).unwrap();
    assert_eq!(old, dense);
}

/// `evaluate_with` against the log-sum-exp written out (no max shift: the logits are small),
/// `accuracy_with` and `loss`.
#[test]
fn evaluate_is_the_loss_and_the_accuracy_of_one_pass() {
    use mlcsc::supervised::Precision;
    let x = rand_input(6, 9, 4);
    let labels = [0, 1, 2, 0, 1, 2, 0, 1, 2];
    let net = UnfoldedNet::new(&[6, 8, 5], 3, 2, Unfolding::Fista, 7).unwrap();
    for precision in [Precision::F64, Precision::F32] {
        let ev = net.evaluate_with(x.as_ref(), &labels, precision).unwrap();
        let z = net.logits_with(x.as_ref(), precision).unwrap();
        let loss = labels
            .iter()
            .enumerate()
            .map(|(j, &l)| (0..3).map(|c| z[(c, j)].exp()).sum::<f64>().ln() - z[(l, j)])
            .sum::<f64>()
            / 9.0;
        assert!((ev.loss - loss).abs() < 1e-12, "{} vs {loss}", ev.loss);
        let acc = net.accuracy_with(x.as_ref(), &labels, precision).unwrap();
        assert_eq!(ev.accuracy, acc);
    }
    let ev = net
        .evaluate_with(x.as_ref(), &labels, Precision::F64)
        .unwrap();
    assert!((ev.loss - net.loss(x.as_ref(), &labels).unwrap()).abs() < 1e-14);
    let e = net
        .evaluate_with(x.as_ref(), &labels[..8], Precision::F64)
        .unwrap_err();
    assert!(e.to_string().contains("labels"), "{e}");
    let e = net
        .evaluate_with(x.as_ref(), &[3; 9], Precision::F64)
        .unwrap_err();
    assert!(e.to_string().contains("labels"), "{e}");
}
