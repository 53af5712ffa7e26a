//! Learned solvers: back-propagation against finite differences, the untrained networks against
//! ISTA / FISTA, and training on a small Bernoulli-Gaussian problem.

use faer::{Mat, MatRef, Par};
use pursuit::lasso::{Fista, Ista};
use pursuit::learned::{
    EpochReport, FacNet, LFista, Lista, Optimizer, ParamBlock, ParamKind, Training,
};
use pursuit::{Error, Solve};
use rand::Rng;
use sparse_core::Summary;
use sparse_core::{generate, Dictionary, Noise};

/// `n_signals` noiseless signals over a `n x m` Gaussian dictionary with Bernoulli-Gaussian
/// codes.
fn problem(n: usize, m: usize, n_signals: usize, rho: f64, seed: u64) -> (Dictionary, Mat<f64>) {
    let mut rng = generate::rng(seed);
    let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
    let x = generate::bernoulli_gaussian(m, n_signals, rho, 1.0, &mut rng).unwrap();
    let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng).unwrap();
    (d, y.clean)
}

/// Adds `scale * N(0, 1)`-ish uniform noise to every parameter (so that the check does not sit
/// on the structured ISTA initialisation).
fn perturb(p: &mut [f64], scale: f64, seed: u64) {
    let mut rng = generate::rng(seed);
    for v in p {
        *v += scale * (rng.random::<f64>() - 0.5);
    }
}

/// Central finite differences of `loss` at every parameter, compared with the analytic
/// gradient per parameter kind; returns the relative errors.
fn check_gradient(
    params: &[f64],
    blocks: &[ParamBlock],
    grad: &[f64],
    mut loss: impl FnMut(&[f64]) -> f64,
) -> Vec<(ParamKind, f64)> {
    let mut kinds: Vec<ParamKind> = Vec::new();
    for b in blocks {
        if !kinds.contains(&b.kind) {
            kinds.push(b.kind);
        }
    }
    let mut p = params.to_vec();
    kinds
        .into_iter()
        .map(|kind| {
            let (mut num, mut den) = (0.0, 0.0);
            for b in blocks.iter().filter(|b| b.kind == kind) {
                for i in b.range() {
                    let h = 1e-6 * params[i].abs().max(1.0);
                    p[i] = params[i] + h;
                    let fp = loss(&p);
                    p[i] = params[i] - h;
                    let fm = loss(&p);
                    p[i] = params[i];
                    let fd = (fp - fm) / (2.0 * h);
                    num += (fd - grad[i]).powi(2);
                    den += grad[i].powi(2);
                }
            }
            assert!(den > 0.0, "{kind:?}: the gradient is identically zero");
            (kind, (num / den).sqrt())
        })
        .collect()
}

fn assert_small(errors: &[(ParamKind, f64)], expect: &[ParamKind]) {
    for k in expect {
        assert!(errors.iter().any(|(e, _)| e == k), "{k:?} not checked");
    }
    for (k, e) in errors {
        assert!(*e < 1e-5, "{k:?}: relative error {e:.2e}");
    }
}

#[test]
fn lista_gradient_matches_finite_differences() {
    let (d, y) = problem(6, 10, 5, 0.4, 11);
    for shared in [false, true] {
        let mut net = Lista::new(3, 0.1)
            .shared(shared)
            .par(Par::Seq)
            .init(&d)
            .unwrap();
        perturb(net.params_mut(), 0.02, 5);
        assert!(net.kink_margin(y.as_ref()).unwrap() > 1e-4);
        let (_, grad) = net.gradient(y.as_ref()).unwrap();
        let (params, blocks) = (net.params().to_vec(), net.blocks().to_vec());
        let errors = check_gradient(&params, &blocks, &grad, |p| {
            net.params_mut().copy_from_slice(p);
            net.loss(y.as_ref()).unwrap()
        });
        assert_small(&errors, &[ParamKind::We, ParamKind::Wg, ParamKind::Theta]);
    }
}

#[test]
fn facnet_gradient_matches_finite_differences() {
    let (d, y) = problem(6, 10, 5, 0.4, 12);
    let mut net = FacNet::new(3, 0.1).par(Par::Seq).init(&d).unwrap();
    perturb(net.params_mut(), 0.05, 6);
    assert!(net.kink_margin(y.as_ref()).unwrap() > 1e-4);
    let (_, grad) = net.gradient(y.as_ref()).unwrap();
    let (params, blocks) = (net.params().to_vec(), net.blocks().to_vec());
    let errors = check_gradient(&params, &blocks, &grad, |p| {
        net.params_mut().copy_from_slice(p);
        net.loss(y.as_ref()).unwrap()
    });
    assert_small(&errors, &[ParamKind::A, ParamKind::S]);
}

#[test]
fn lfista_gradient_matches_finite_differences() {
    let (d, y) = problem(6, 10, 5, 0.4, 13);
    let mut net = LFista::new(4, 0.1).par(Par::Seq).init(&d).unwrap();
    perturb(net.params_mut(), 0.02, 7);
    assert!(net.kink_margin(y.as_ref()).unwrap() > 1e-4);
    let (_, grad) = net.gradient(y.as_ref()).unwrap();
    let (params, blocks) = (net.params().to_vec(), net.blocks().to_vec());
    let errors = check_gradient(&params, &blocks, &grad, |p| {
        net.params_mut().copy_from_slice(p);
        net.loss(y.as_ref()).unwrap()
    });
    assert_small(
        &errors,
        &[
            ParamKind::We,
            ParamKind::Wg,
            ParamKind::Wm,
            ParamKind::Theta,
        ],
    );
}

fn max_rel_diff(a: MatRef<'_, f64>, b: MatRef<'_, f64>) -> f64 {
    let mut diff = 0.0f64;
    let mut scale = 1.0f64;
    for j in 0..a.ncols() {
        for i in 0..a.nrows() {
            diff = diff.max((a[(i, j)] - b[(i, j)]).abs());
            scale = scale.max(a[(i, j)].abs());
        }
    }
    diff / scale
}

#[test]
fn untrained_networks_are_ista_and_fista() {
    let (d, y) = problem(16, 32, 20, 0.2, 3);
    let lambda = 0.1;
    for t in [1, 2, 7] {
        let ista = Ista::new(lambda).max_iter(t).gap_tol(0.0).par(Par::Seq);
        let ista = ista.solve(&d, y.as_ref()).unwrap();
        assert!(ista.iterations().iter().all(|&k| k == t));
        for shared in [false, true] {
            let net = Lista::new(t, lambda).shared(shared).init(&d).unwrap();
            let z = net.codes(y.as_ref()).unwrap();
            assert!(
                max_rel_diff(ista.codes.as_ref(), z.as_ref()) < 1e-12,
                "LISTA T = {t}"
            );
        }
        let fac = FacNet::new(t, lambda).init(&d).unwrap();
        let z = fac.codes(y.as_ref()).unwrap();
        assert!(
            max_rel_diff(ista.codes.as_ref(), z.as_ref()) < 1e-12,
            "FacNet T = {t}"
        );
        let fista = Fista::new(lambda).restart(false).max_iter(t).gap_tol(0.0);
        let fista = fista.par(Par::Seq).solve(&d, y.as_ref()).unwrap();
        let lf = LFista::new(t, lambda).init(&d).unwrap();
        let z = lf.codes(y.as_ref()).unwrap();
        assert!(
            max_rel_diff(fista.codes.as_ref(), z.as_ref()) < 1e-12,
            "LFISTA T = {t}"
        );
    }
    // Deepening an untrained network gives the deeper untrained network.
    let deep = Lista::new(3, lambda).init(&d).unwrap().deepen(7).unwrap();
    assert_eq!(deep, Lista::new(7, lambda).init(&d).unwrap());
    let lf = LFista::new(2, lambda).init(&d).unwrap().deepen(7).unwrap();
    let z7 = LFista::new(7, lambda)
        .init(&d)
        .unwrap()
        .codes(y.as_ref())
        .unwrap();
    assert!(max_rel_diff(lf.codes(y.as_ref()).unwrap().as_ref(), z7.as_ref()) < 1e-14);
}

/// Mean objective of `iters` ISTA iterations.
fn ista_loss(d: &Dictionary, y: MatRef<'_, f64>, lambda: f64, iters: usize) -> f64 {
    let r = Ista::new(lambda)
        .max_iter(iters)
        .gap_tol(0.0)
        .solve(d, y)
        .unwrap();
    r.objectives().iter().sum::<f64>() / y.ncols() as f64
}

#[test]
fn training_lowers_the_held_out_objective() {
    let (d, y) = problem(16, 32, 1200, 0.1, 21);
    let (train, test) = (y.subcols(0, 1000), y.subcols(1000, 200));
    let lambda = 0.05;
    let layers = 4;
    let mut reports = Vec::<EpochReport>::new();
    let lista = Lista::new(layers, lambda)
        .epochs(8)
        .batch_size(50)
        .learning_rate(2e-3);
    let net = lista.fit(&d, train, |r| reports.push(*r)).unwrap();
    assert_eq!(reports.len(), 8);
    assert!(reports
        .windows(2)
        .all(|w| w[1].train_loss <= w[0].train_loss));
    let ista = ista_loss(&d, test, lambda, layers);
    let learned = net.loss(test).unwrap();
    assert!(learned < 0.8 * ista, "LISTA {learned} vs ISTA {ista}");
    let res = net.solve(&d, test).unwrap();
    assert!((res.objectives().iter().sum::<f64>() / 200.0 - learned).abs() < 1e-9 * learned);
    assert!(res.iterations().iter().all(|&k| k == layers));

    let lf = LFista::new(layers, lambda)
        .epochs(8)
        .batch_size(50)
        .learning_rate(2e-3);
    let lf0 = lf.init(&d).unwrap().loss(test).unwrap();
    let lf = lf.fit(&d, train, |_| {}).unwrap().loss(test).unwrap();
    assert!(lf < 0.8 * lf0, "LFISTA {lf} vs FISTA {lf0}");

    // Plain SGD also makes progress.
    let sgd = Lista::new(layers, lambda)
        .epochs(4)
        .optimizer(Optimizer::sgd(0.9))
        .learning_rate(1e-2);
    let sgd = sgd.fit(&d, train, |_| {}).unwrap().loss(test).unwrap();
    assert!(sgd < ista, "SGD {sgd} vs ISTA {ista}");
}

#[test]
fn facnet_stays_orthogonal_and_improves() {
    let (d, y) = problem(16, 32, 1200, 0.1, 22);
    let (train, test) = (y.subcols(0, 1000), y.subcols(1000, 200));
    let lambda = 0.05;
    let fac = FacNet::new(3, lambda)
        .epochs(6)
        .batch_size(50)
        .learning_rate(2e-3);
    let before = fac.init(&d).unwrap().loss(test).unwrap();
    let net = fac.fit(&d, train, |_| {}).unwrap();
    assert!(
        net.orthogonality_error() < 1e-10,
        "{}",
        net.orthogonality_error()
    );
    assert!(net.s(0).unwrap().iter().all(|&s| s > 0.0));
    let after = net.loss(test).unwrap();
    assert!(after < before, "FacNet {after} vs ISTA {before}");
    // The LISTA weights reproduce the layer.
    let (we, wg) = net.lista_weights(1).unwrap();
    assert_eq!((we.nrows(), we.ncols(), wg.nrows()), (32, 16, 32));
}

#[test]
fn deepening_a_trained_network_keeps_its_layers() {
    let (d, y) = problem(16, 32, 300, 0.1, 23);
    let net = Lista::new(2, 0.05)
        .epochs(2)
        .fit(&d, y.as_ref(), |_| {})
        .unwrap();
    let deep = net.deepen(5).unwrap();
    assert_eq!(deep.layers(), 5);
    assert_eq!(deep.we(1).unwrap(), net.we(1).unwrap());
    assert_eq!(deep.theta(0).unwrap(), net.theta(0).unwrap());
    assert!(deep.wg(0).unwrap().is_none() && deep.wg(4).unwrap().is_some());
    let fac = FacNet::new(2, 0.05)
        .epochs(1)
        .fit(&d, y.as_ref(), |_| {})
        .unwrap();
    assert_eq!(fac.deepen(3).unwrap().a(1).unwrap(), fac.a(1).unwrap());
}

fn param_name(e: Error) -> String {
    match e {
        Error::Core(sparse_core::Error::InvalidParameter { name, .. }) => name.to_string(),
        Error::Core(sparse_core::Error::ShapeMismatch { argument, .. })
        | Error::Core(sparse_core::Error::NonFinite { argument, .. })
        | Error::Core(sparse_core::Error::Empty { argument, .. }) => argument.to_string(),
        other => format!("{other:?}"),
    }
}

#[test]
fn bad_input_is_an_error_naming_the_argument() {
    let (d, y) = problem(8, 12, 10, 0.2, 4);
    let name = |r: pursuit::Result<()>| param_name(r.unwrap_err());
    assert_eq!(name(Lista::new(0, 0.1).init(&d).map(|_| ())), "layers");
    assert_eq!(name(Lista::new(2, -1.0).init(&d).map(|_| ())), "lambda");
    assert_eq!(
        name(FacNet::new(2, f64::NAN).init(&d).map(|_| ())),
        "lambda"
    );
    assert_eq!(name(LFista::new(0, 0.1).init(&d).map(|_| ())), "layers");
    let fit = |l: Lista| l.fit(&d, y.as_ref(), |_| {}).map(|_| ());
    assert_eq!(name(fit(Lista::new(2, 0.1).batch_size(0))), "batch_size");
    assert_eq!(
        name(fit(Lista::new(2, 0.1).learning_rate(0.0))),
        "learning_rate"
    );
    let bad_adam = Optimizer::Adam {
        beta1: 1.0,
        beta2: 0.999,
        eps: 1e-8,
    };
    assert_eq!(name(fit(Lista::new(2, 0.1).optimizer(bad_adam))), "beta1");
    let training = Training {
        optimizer: Optimizer::sgd(-0.5),
        ..Training::default()
    };
    assert_eq!(name(fit(Lista::new(2, 0.1).training(training))), "momentum");
    let net = Lista::new(2, 0.1).init(&d).unwrap();
    assert_eq!(name(net.codes(Mat::zeros(7, 3).as_ref()).map(|_| ())), "y");
    assert_eq!(name(net.codes(Mat::zeros(8, 0).as_ref()).map(|_| ())), "y");
    let mut nan = y.clone();
    nan[(0, 0)] = f64::NAN;
    assert_eq!(name(net.forward(nan.as_ref()).map(|_| ())), "y");
    assert_eq!(name(net.we(2).map(|_| ())), "layer");
    assert_eq!(name(net.deepen(1).map(|_| ())), "layers");
    let other = Dictionary::random_gaussian(8, 12, &mut generate::rng(99)).unwrap();
    assert_eq!(name(net.solve(&other, y.as_ref()).map(|_| ())), "d");
    let fac = FacNet::new(2, 0.1).s_min_ratio(2.0).init(&d).map(|_| ());
    assert_eq!(name(fac), "s_min_ratio");
}

/// The adversarial dictionary's Gram matrix equals its closed form
/// `B[j, l] = 1/m sum_q cos(2 pi (j - l) zeta_q / k)` (circulant), and `||D||_2^2 = k / (2m)`.
#[test]
fn adversarial_dictionary_gram_is_the_closed_form() {
    use pursuit::learned::adversarial_dictionary;
    let mut rng = sparse_core::generate::rng(3);
    let (m, k) = (8usize, 40usize);
    let (d, zeta) = adversarial_dictionary(m, k, &mut rng).unwrap();
    assert_eq!(zeta.len(), m);
    assert!(zeta.windows(2).all(|w| w[0] < w[1]) && zeta[0] >= 1 && zeta[m - 1] < k / 2);
    let b = d.gram();
    let tau = 2.0 * std::f64::consts::PI;
    for j in 0..k {
        for l in 0..k {
            let want: f64 = zeta
                .iter()
                .map(|&z| (tau * (j as f64 - l as f64) * z as f64 / k as f64).cos())
                .sum::<f64>()
                / m as f64;
            assert!((b[(j, l)] - want).abs() < 1e-12, "B[{j}, {l}]");
        }
    }
    let top = d.matrix().singular_values().unwrap()[0];
    assert!((top * top - k as f64 / (2 * m) as f64).abs() < 1e-9);
    let msg = |m: usize, k: usize| {
        adversarial_dictionary(m, k, &mut sparse_core::generate::rng(0))
            .unwrap_err()
            .to_string()
    };
    assert!(msg(0, 40).contains("`m`"));
    assert!(msg(20, 40).contains("`m`"));
    assert!(msg(1, 3).contains("`k`"));
}
