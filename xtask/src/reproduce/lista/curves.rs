//! Cases, the ISTA / FISTA curves, training and evaluation of the networks.

use sparse_core::Solve;
use sparse_core::Summary;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use faer::MatRef;
use indicatif::{ProgressBar, ProgressStyle};
use pursuit::lasso::{Fista, Ista, Observer};
use pursuit::learned::{EpochReport, FacNet, LFista, Lista, TrainedFacNet, Training};
use sparse_core::{generate, Dictionary, LinearOperator, Noise};

use super::{Case, Config, Curve, Outcome, K, MAX_Q, SIGMA};
use crate::bench::BoxResult;

/// For each `rho` of `cfg`: draws Bernoulli-Gaussian codes (seed `cfg.seed + 1 + i`), the
/// noiseless signals `D z`, and runs [`experiment`] on the first `n_train` / last `n_test`.
/// `label_prefix` starts each case's label; its plot is `<stem>_rho<1/rho>.svg`.
pub(super) fn bernoulli_gaussian_cases(
    cfg: &Config,
    d: &Dictionary,
    stem: &str,
    label_prefix: &str,
    bar: &ProgressBar,
) -> BoxResult<Vec<Outcome>> {
    let mut outcomes = Vec::new();
    for (i, &rho) in cfg.rhos.iter().enumerate() {
        let mut rng = generate::rng(cfg.seed + 1 + i as u64);
        let n = cfg.n_train + cfg.n_test;
        let z = generate::bernoulli_gaussian(K, n, rho, SIGMA, &mut rng)?;
        let y = generate::signals(d, z.as_ref(), Noise::None, &mut rng)?.clean;
        let (train, test) = (
            y.subcols(0, cfg.n_train),
            y.subcols(cfg.n_train, cfg.n_test),
        );
        let case = Case {
            label: format!("{label_prefix}rho = {}", rho_label(rho)),
            key: rho.to_string(),
            plot: format!("{stem}_rho{}.svg", rho_tag(rho)),
        };
        outcomes.push(experiment(cfg, d, case, train, test, bar)?);
    }
    Ok(outcomes)
}

/// `1/20` for `rho = 0.05`, the decimal value when `1 / rho` is not an integer.
fn rho_label(rho: f64) -> String {
    let inv = 1.0 / rho;
    if (inv - inv.round()).abs() < 1e-9 {
        format!("1/{}", inv.round())
    } else {
        rho.to_string()
    }
}

/// `20` for `rho = 1/20` (as in `lista_rho20.svg`), the decimal value otherwise.
fn rho_tag(rho: f64) -> String {
    let inv = 1.0 / rho;
    if (inv - inv.round()).abs() < 1e-9 {
        format!("{}", inv.round())
    } else {
        rho.to_string()
    }
}

/// The sentence of a report describing the training (sizes, optimizer, epochs).
pub(super) fn training_summary(cfg: &Config) -> String {
    format!(
        "{} training / {} held-out signals; Adam (lr {} for LISTA and L-FISTA, {} for FacNet), \
         batch {}, {} epochs per depth, warm-started depth to depth (seed {}). Entries: mean \
         F(z_q) - F(z*) on the held-out signals.",
        cfg.n_train, cfg.n_test, cfg.lr, cfg.facnet_lr, cfg.batch, cfg.epochs, cfg.seed
    )
}

/// The progress bar of the network training: one tick per epoch of every method, depth and
/// one of `cases` cases.
pub(super) fn training_bar(cfg: &Config, cases: usize) -> BoxResult<ProgressBar> {
    let total = cases * cfg.methods() * cfg.depths.len() * cfg.epochs;
    let bar = ProgressBar::new(total as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} epochs  {msg}",
    )?);
    Ok(bar)
}

/// Mean objective after every iteration `0..=MAX_Q` of ISTA or FISTA (no restart) on `y`.
fn iterative_curve(
    d: &Dictionary,
    y: MatRef<'_, f64>,
    lambda: f64,
    accelerated: bool,
) -> BoxResult<Vec<f64>> {
    let sums = Arc::new(Mutex::new(vec![0.0; MAX_Q + 1]));
    let sink = sums.clone();
    let observer = Observer::new(move |p| {
        if let Ok(mut s) = sink.lock() {
            if p.iteration <= MAX_Q {
                s[p.iteration] += p.objective;
            }
        }
    });
    if accelerated {
        let fista = Fista::new(lambda)
            .restart(false)
            .gap_tol(0.0)
            .max_iter(MAX_Q);
        fista.observer(observer).solve(d, y)?;
    } else {
        let ista = Ista::new(lambda).gap_tol(0.0).max_iter(MAX_Q);
        ista.observer(observer).solve(d, y)?;
    }
    let n = y.ncols() as f64;
    let sums = sums.lock().map_err(|_| "observer poisoned")?;
    Ok(sums.iter().map(|s| s / n).collect())
}

/// One case: `z*` on `test`, the ISTA / FISTA curves, then LISTA, FacNet (and L-FISTA) trained
/// on `train` at every depth of `cfg` and evaluated on `test`.
pub(super) fn experiment(
    cfg: &Config,
    d: &Dictionary,
    case: Case,
    train: MatRef<'_, f64>,
    test: MatRef<'_, f64>,
    bar: &ProgressBar,
) -> BoxResult<Outcome> {
    let lambda = cfg.lambda;
    let label = &case.label;
    bar.set_message(format!("{label}: z* by FISTA"));
    let star = Fista::new(lambda)
        .gap_tol(1e-12)
        .max_iter(50_000)
        .solve(d, test)?;
    let f_star = star.objectives().iter().sum::<f64>() / test.ncols() as f64;
    let f_zero = test.squared_norm_l2() / (2.0 * test.ncols() as f64);
    let gap = |f: f64| f - f_star;
    let mut curves = Vec::new();
    for (name, acc) in [("ISTA", false), ("FISTA", true)] {
        let c = iterative_curve(d, test, lambda, acc)?;
        let points = (1..=MAX_Q).map(|q| (q, gap(c[q]))).collect();
        curves.push(Curve {
            name,
            points,
            train_seconds: 0.0,
        });
    }
    let training = Training {
        epochs: cfg.epochs,
        batch_size: cfg.batch,
        learning_rate: cfg.lr,
        seed: cfg.seed,
        ..Training::default()
    };
    let first = cfg.depths[0];
    let observe = |name: &str, q: usize| {
        let bar = bar.clone();
        let msg = format!("{label}: {name} q = {q}");
        move |r: &EpochReport| {
            bar.inc(1);
            bar.set_message(format!("{msg} loss {:.4e}", r.train_loss - f_star));
        }
    };
    // LISTA
    let t0 = Instant::now();
    let mut points = Vec::new();
    let mut net = Lista::new(first, lambda).init(d)?;
    for &q in &cfg.depths {
        net = net.deepen(q)?;
        net.train(train, &training, &mut observe("LISTA", q))?;
        points.push((q, gap(net.loss(test)?)));
    }
    curves.push(Curve {
        name: "LISTA",
        points,
        train_seconds: t0.elapsed().as_secs_f64(),
    });
    // FacNet
    let t0 = Instant::now();
    let mut points = Vec::new();
    let mut net = FacNet::new(first, lambda).init(d)?;
    let facnet_training = Training {
        learning_rate: cfg.facnet_lr,
        ..training.clone()
    };
    for &q in &cfg.depths {
        net = net.deepen(q)?;
        net.train(train, &facnet_training, &mut observe("FacNet", q))?;
        points.push((q, gap(net.loss(test)?)));
    }
    curves.push(Curve {
        name: "FacNet",
        points,
        train_seconds: t0.elapsed().as_secs_f64(),
    });
    let facnet = facnet_summary(&net)?;
    if cfg.lfista {
        let t0 = Instant::now();
        let mut points = Vec::new();
        let mut net = LFista::new(first, lambda).init(d)?;
        for &q in &cfg.depths {
            net = net.deepen(q)?;
            net.train(train, &training, &mut observe("L-FISTA", q))?;
            points.push((q, gap(net.loss(test)?)));
        }
        curves.push(Curve {
            name: "L-FISTA",
            points,
            train_seconds: t0.elapsed().as_secs_f64(),
        });
    }
    Ok(Outcome {
        case,
        curves,
        f_star,
        f_zero,
        star_nnz: star.mean_sparsity(),
        fista_iters: star.max_iterations(),
        fista_converged: star.converged().iter().filter(|&&c| c).count(),
        fista_gap: star.max_duality_gap().unwrap_or(f64::NAN),
        n_test: test.ncols(),
        facnet,
    })
}

/// A sentence on a trained FacNet: the mean over its layers of `||A_t - I||_F` (0 at ISTA,
/// about `sqrt(2K)` for a random rotation) and the range of `s_t / L` (1 at ISTA).
fn facnet_summary(net: &TrainedFacNet) -> BoxResult<String> {
    let lipschitz = net.dictionary().lipschitz();
    let (mut dist, mut s_min, mut s_max, mut s_sum) = (0.0, f64::INFINITY, 0.0f64, 0.0);
    let k = net.dictionary().n_atoms();
    for t in 0..net.layers() {
        let a = net.a(t)?;
        let mut sq = 0.0;
        for j in 0..k {
            for i in 0..k {
                let e = a[(i, j)] - if i == j { 1.0 } else { 0.0 };
                sq += e * e;
            }
        }
        dist += sq.sqrt();
        for &v in net.s(t)? {
            let r = v / lipschitz;
            s_min = s_min.min(r);
            s_max = s_max.max(r);
            s_sum += r;
        }
    }
    let layers = net.layers() as f64;
    Ok(format!(
        "FacNet with {} layers: mean ||A_t - I||_F = {:.3} (0 at ISTA; about sqrt(2K) = {:.1} for \
         a random rotation), s_t / L in [{s_min:.3}, {s_max:.3}], mean {:.3} (1 at ISTA; \
         L = {lipschitz:.4}).",
        net.layers(),
        dist / layers,
        (2.0 * k as f64).sqrt(),
        s_sum / (layers * k as f64),
    ))
}

/// The value of curve `c` at depth `q`, if measured.
pub(super) fn value_at(c: &Curve, q: usize) -> Option<f64> {
    c.points.iter().find(|p| p.0 == q).map(|p| p.1)
}
