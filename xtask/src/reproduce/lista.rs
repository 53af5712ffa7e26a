//! `cargo xtask reproduce lista [--mnist | --adversarial]`: the experiments of Moreau & Bruna,
//! *Understanding trainable sparse coding via matrix factorization* (ICLR 2017): `F(z_q) - F(z*)`
//! on held-out signals against the number of iterations / layers `q`, for ISTA, FISTA and the
//! trained LISTA, FacNet (and learned FISTA) networks of [`pursuit::learned`].
//!
//! Three settings share the training and evaluation code of this module:
//!
//! | command | dictionary | signals | written under `target/reproduce/lista/` |
//! | --- | --- | --- | --- |
//! | `cargo xtask reproduce lista` | `64 x 100` Gaussian | Bernoulli-Gaussian codes, `rho = 1/20, 1/4` | `lista.{md,csv}`, `lista_rho20.svg`, `lista_rho4.svg` |
//! | `cargo xtask reproduce lista --mnist` | `289 x 100`, K-SVD on 10,000 MNIST digits | MNIST digits at 17 x 17 | `lista_mnist.{md,csv,svg}` |
//! | `cargo xtask reproduce lista --adversarial` | `64 x 100` Fourier atoms on 32 random frequencies | as the synthetic ones | `lista_adversarial.{md,csv}`, `lista_adversarial_rho{20,4}.svg` |
//!
//! The MNIST setting is described in [`mnist`], the adversarial dictionary in [`adversarial`].
//!
//! **Synthetic setup** (as in the reference): `D` is `P x K = 64 x 100` with Gaussian atoms
//! normalised to unit norm; codes are Bernoulli-Gaussian `z_k = b_k a_k`, `b_k ~ B(rho)`,
//! `a_k ~ N(0, sigma^2)` with `sigma = 10` (the reference code draws `10 * N(0, 1)`), for
//! `rho = 1/20` and `1/4`; signals are `x = D z` without noise or further normalisation;
//! `lambda = 0.01` in `F(z) = 1/2 ||x - D z||^2 + lambda ||z||_1`. (The reference's code,
//! `tomMoral/AdaptiveOptim`, divides each Gaussian atom by its *squared* norm, giving atoms of
//! norm about 1/8, which amounts to unit atoms with a penalty about 64 times larger; we follow
//! the stated model, unit atoms and `lambda = 0.01`.)
//!
//! **Common to all settings**: `z*` is FISTA (with restart) run to a relative duality gap of
//! `1e-12` on the held-out signals; the ISTA and FISTA curves are the mean objective after each
//! of their first 100 iterations (FISTA without restart, from `z = 0`). Networks are trained
//! unsupervised on the mean `F(z_q)` over mini-batches with Adam (backtracking on: an epoch that
//! increases the training objective is undone and the step halved), each depth warm-started from
//! the previous one with its new layers at ISTA (as the reference does). Every table entry is
//! the mean of `F(z_q) - F(z*)` over the held-out signals.
//!
//! **Measured** (`cargo xtask reproduce lista`, seed 2017, defaults: 4,000 training / 1,000
//! held-out signals, 12 epochs per depth; 248 s wall on 2 shared cores, dev profile):
//!
//! rho = 1/20 (z* has 5.2 non-zeros of 100):
//!
//! | method | q = 1 | q = 2 | q = 4 | q = 8 | q = 16 | q = 32 | q = 100 | training (s) |
//! |---|---|---|---|---|---|---|---|---|
//! | ISTA | 6.760e1 | 3.468e1 | 1.528e1 | 5.768e0 | 1.990e0 | 8.419e-1 | 5.228e-1 | 0.0 |
//! | FISTA | 6.760e1 | 3.468e1 | 1.119e1 | 2.114e0 | 6.506e-1 | 4.879e-1 | 9.376e-2 | 0.0 |
//! | LISTA | 7.977e-1 | 5.848e-1 | 5.681e-1 | 5.376e-1 | 3.419e-1 | 1.031e-1 | - | 22.3 |
//! | FacNet | 2.186e0 | 6.281e-1 | 6.001e-1 | 5.862e-1 | 5.718e-1 | 5.422e-1 | - | 62.2 |
//! | L-FISTA | 7.977e-1 | 5.832e-1 | 5.653e-1 | 3.838e-1 | 1.462e-1 | 2.709e-2 | - | 40.8 |
//!
//! rho = 1/4 (44 non-zeros):
//!
//! | method | q = 1 | q = 2 | q = 4 | q = 8 | q = 16 | q = 32 | q = 100 | training (s) |
//! |---|---|---|---|---|---|---|---|---|
//! | ISTA | 3.458e2 | 1.767e2 | 7.696e1 | 2.790e1 | 8.294e0 | 2.280e0 | 7.629e-1 | 0.0 |
//! | FISTA | 3.458e2 | 1.767e2 | 5.593e1 | 8.945e0 | 1.256e0 | 7.378e-1 | 3.710e-1 | 0.0 |
//! | LISTA | 1.626e0 | 7.887e-1 | 7.732e-1 | 7.593e-1 | 7.358e-1 | 6.737e-1 | - | 21.9 |
//! | FacNet | 5.082e0 | 9.043e-1 | 8.307e-1 | 7.925e-1 | 7.773e-1 | 7.647e-1 | - | 61.5 |
//! | L-FISTA | 1.626e0 | 7.868e-1 | 7.717e-1 | 7.451e-1 | 6.363e-1 | 4.349e-1 | - | 36.1 |
//!
//! As in the reference, the trained networks are far ahead of ISTA / FISTA at small depths
//! (LISTA at `q = 1` about 85x (rho = 1/20) and 210x (rho = 1/4) below ISTA); FISTA needs 16
//! to 32 iterations to reach what LISTA does with 2 to 8 layers. FacNet sits between LISTA and
//! ISTA at small depth but falls behind FISTA at `q = 32`; learned FISTA is the best network
//! at depth (`2.7e-2` against LISTA's `1.0e-1` at `q = 32`, rho = 1/20).
//!
//! Options: `--mnist`, `--adversarial` (the setting; default synthetic), `--quick` (a smoke
//! run: 6 s per setting on 2 cores), `--epochs N` (per depth), `--depths 1,2,4`, `--train N`,
//! `--test N`, `--lr X` (LISTA, L-FISTA), `--facnet-lr X`, `--batch N`, `--seed N`,
//! `--lambda X`, `--no-lfista` (skip learned FISTA); `--rho 1/20,1/4` (synthetic, adversarial);
//! `--frequencies M` (adversarial: `m`, the dictionary has `2m` rows); `--dl-signals N`,
//! `--dl-iterations N`, `--dl-sparsity S` (MNIST dictionary learning). A bad or misplaced option
//! is an error naming it.

mod adversarial;
mod mnist;

use sparse_core::Solve;
use std::fmt::Write as _;
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use faer::MatRef;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use pursuit::lasso::{Fista, Ista, Observer};
use pursuit::learned::{EpochReport, FacNet, LFista, Lista, TrainedFacNet, Training};
use sparse_core::{generate, Dictionary, LinearOperator, Noise};

use super::out_dir;
use crate::bench::BoxResult;

/// Signal length of the synthetic Gaussian dictionary.
const P: usize = 64;
/// Number of atoms of every dictionary (all three settings).
const K: usize = 100;
/// Standard deviation of the non-zero code entries (synthetic and adversarial signals).
const SIGMA: f64 = 10.0;
/// Iterations of the ISTA / FISTA curves (and the last column of the tables).
const MAX_Q: usize = 100;

/// Which of the reference's experiments to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setting {
    /// Gaussian dictionary, Bernoulli-Gaussian codes (the default).
    Synthetic,
    /// Dictionary learned on MNIST digits, coding MNIST digits (`--mnist`).
    Mnist,
    /// Fourier dictionary on random frequencies, Bernoulli-Gaussian codes (`--adversarial`).
    Adversarial,
}

/// The experiment's knobs (see the module docs for the options).
#[derive(Debug, Clone)]
struct Config {
    /// The experiment.
    setting: Setting,
    /// Network depths trained, increasing.
    depths: Vec<usize>,
    /// Epochs per depth.
    epochs: usize,
    /// Training signals of the networks.
    n_train: usize,
    /// Held-out signals of the evaluation.
    n_test: usize,
    /// Mini-batch size.
    batch: usize,
    /// Adam learning rate of LISTA and L-FISTA.
    lr: f64,
    /// Adam learning rate of FacNet.
    facnet_lr: f64,
    /// Seed of the dictionary, the signals and the training.
    seed: u64,
    /// Whether learned FISTA is trained too.
    lfista: bool,
    /// Lasso penalty `lambda`.
    lambda: f64,
    /// Bernoulli parameters of the codes (synthetic and adversarial).
    rhos: Vec<f64>,
    /// MNIST: training digits the dictionary is learned on.
    dl_signals: usize,
    /// MNIST: K-SVD iterations.
    dl_iterations: usize,
    /// MNIST: atoms per code in the K-SVD coding stage (Batch-OMP).
    dl_sparsity: usize,
    /// Adversarial: number `m` of frequencies (the dictionary is `2m x K`).
    frequencies: usize,
}

/// Parses the value `v` of option `opt`, with an error naming the option.
fn parse_value<T: FromStr>(opt: &str, v: &str) -> BoxResult<T>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| format!("`{opt}`: cannot read `{v}` ({e})").into())
}

/// Parses a probability written `0.05` or `1/20`.
fn parse_fraction(opt: &str, v: &str) -> BoxResult<f64> {
    let x = match v.split_once('/') {
        Some((a, b)) => parse_value::<f64>(opt, a)? / parse_value::<f64>(opt, b)?,
        None => parse_value(opt, v)?,
    };
    if !(x.is_finite() && x > 0.0 && x <= 1.0) {
        return Err(format!("`{opt}`: `{v}` is not a probability in (0, 1]").into());
    }
    Ok(x)
}

/// Checks that `x` is positive and finite.
fn positive(opt: &str, x: f64) -> BoxResult<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(format!("`{opt}` must be positive and finite, not {x}").into())
    }
}

/// Checks that a count is at least 1.
fn at_least_one(opt: &str, n: usize) -> BoxResult<()> {
    if n == 0 {
        Err(format!("`{opt}` must be at least 1").into())
    } else {
        Ok(())
    }
}

impl Config {
    /// The defaults of `setting` (the `--quick` ones with `quick`).
    fn defaults(setting: Setting, quick: bool) -> Self {
        let mut c = Config {
            setting,
            depths: vec![1, 2, 4, 8, 16, 32],
            epochs: 12,
            n_train: 4000,
            n_test: 1000,
            batch: 100,
            lr: 3e-3,
            facnet_lr: 3e-2,
            seed: 2017,
            lfista: true,
            lambda: 0.01,
            rhos: vec![1.0 / 20.0, 1.0 / 4.0],
            dl_signals: 10_000,
            dl_iterations: 15,
            dl_sparsity: 5,
            frequencies: 32,
        };
        match setting {
            Setting::Synthetic | Setting::Adversarial => {}
            Setting::Mnist => mnist::defaults(&mut c),
        }
        if quick {
            c.depths = vec![1, 2, 4, 8];
            c.epochs = 4;
            c.n_train = 1000;
            c.n_test = 300;
            c.dl_signals = 2000;
            c.dl_iterations = 5;
        }
        c
    }

    /// Reads the options (see the module docs); any bad, unknown or misplaced option is an
    /// error naming it.
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mnist = args.iter().any(|a| a == "--mnist");
        let adversarial = args.iter().any(|a| a == "--adversarial");
        let setting = match (mnist, adversarial) {
            (true, true) => return Err("`--mnist` and `--adversarial` exclude each other".into()),
            (true, false) => Setting::Mnist,
            (false, true) => Setting::Adversarial,
            (false, false) => Setting::Synthetic,
        };
        let mut c = Self::defaults(setting, args.iter().any(|a| a == "--quick"));
        let only = |opt: &str, ok: bool, which: &str| -> BoxResult<()> {
            if ok {
                Ok(())
            } else {
                Err(format!("`{opt}` applies to {which} only").into())
            }
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let opt = a.as_str();
            let mut value = || {
                it.next()
                    .map(String::as_str)
                    .ok_or(format!("`{opt}` needs a value"))
            };
            match opt {
                "--quick" | "--mnist" | "--adversarial" => {}
                "--lfista" => c.lfista = true,
                "--no-lfista" => c.lfista = false,
                "--epochs" => c.epochs = parse_value(opt, value()?)?,
                "--train" => c.n_train = parse_value(opt, value()?)?,
                "--test" => c.n_test = parse_value(opt, value()?)?,
                "--batch" => c.batch = parse_value(opt, value()?)?,
                "--lr" => c.lr = parse_value(opt, value()?)?,
                "--facnet-lr" => c.facnet_lr = parse_value(opt, value()?)?,
                "--seed" => c.seed = parse_value(opt, value()?)?,
                "--lambda" => c.lambda = parse_value(opt, value()?)?,
                "--depths" => {
                    c.depths = value()?
                        .split(',')
                        .map(|v| parse_value(opt, v))
                        .collect::<BoxResult<_>>()?;
                    c.depths.sort_unstable();
                    c.depths.dedup();
                }
                "--rho" => {
                    only(
                        opt,
                        setting != Setting::Mnist,
                        "the synthetic and adversarial runs",
                    )?;
                    c.rhos = value()?
                        .split(',')
                        .map(|v| parse_fraction(opt, v))
                        .collect::<BoxResult<_>>()?;
                }
                "--frequencies" => {
                    only(opt, setting == Setting::Adversarial, "`--adversarial`")?;
                    c.frequencies = parse_value(opt, value()?)?;
                }
                "--dl-signals" | "--dl-iterations" | "--dl-sparsity" => {
                    only(opt, setting == Setting::Mnist, "`--mnist`")?;
                    let n = parse_value(opt, value()?)?;
                    match opt {
                        "--dl-signals" => c.dl_signals = n,
                        "--dl-iterations" => c.dl_iterations = n,
                        _ => c.dl_sparsity = n,
                    }
                }
                other => return Err(format!("unknown option `{other}`").into()),
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the values that every setting needs (the settings check their own).
    fn validate(&self) -> BoxResult<()> {
        if self.depths.first() == Some(&0) || self.depths.is_empty() {
            return Err("`--depths` needs positive layer counts".into());
        }
        at_least_one("--train", self.n_train)?;
        at_least_one("--test", self.n_test)?;
        at_least_one("--batch", self.batch)?;
        positive("--lr", self.lr)?;
        positive("--facnet-lr", self.facnet_lr)?;
        positive("--lambda", self.lambda)?;
        if self.rhos.is_empty() {
            return Err("`--rho` needs at least one value".into());
        }
        match self.setting {
            Setting::Synthetic => Ok(()),
            Setting::Mnist => mnist::validate(self),
            Setting::Adversarial => adversarial::validate(self),
        }
    }

    /// Number of trained methods (LISTA, FacNet and optionally L-FISTA).
    fn methods(&self) -> usize {
        2 + usize::from(self.lfista)
    }
}

/// One curve: `(q, F(z_q) - F(z*))` points.
struct Curve {
    /// Method name.
    name: &'static str,
    /// `(q, mean F(z_q) - F(z*))`, increasing `q`.
    points: Vec<(usize, f64)>,
    /// Seconds spent training (0 for ISTA, FISTA).
    train_seconds: f64,
}

/// How one case is named in the outputs.
struct Case {
    /// Human-readable name (a section title, the plot's title).
    label: String,
    /// The case in the CSV's first column.
    key: String,
    /// File name of its plot under `target/reproduce/lista/`.
    plot: String,
}

/// Everything measured for one dictionary and one signal distribution.
struct Outcome {
    /// The case's names.
    case: Case,
    /// The curves, ISTA and FISTA first.
    curves: Vec<Curve>,
    /// Mean `F(z*)` on the held-out signals.
    f_star: f64,
    /// Mean `F(0)` on the held-out signals.
    f_zero: f64,
    /// Mean number of non-zeros of `z*`.
    star_nnz: f64,
    /// Most FISTA iterations spent on one signal for `z*`.
    fista_iters: usize,
    /// Held-out signals whose `z*` reached the tolerance.
    fista_converged: usize,
    /// Largest relative duality gap of `z*`.
    fista_gap: f64,
    /// Number of held-out signals.
    n_test: usize,
    /// What the deepest FacNet learned (how far its `A_t` are from `I`, its `s_t` from `L`).
    facnet: String,
}

/// Runs the command (see the module docs).
pub fn run(args: &[String]) -> BoxResult<()> {
    let cfg = Config::parse(args)?;
    match cfg.setting {
        Setting::Synthetic => synthetic(&cfg),
        Setting::Mnist => mnist::run(&cfg),
        Setting::Adversarial => adversarial::run(&cfg),
    }
}

/// The synthetic experiment: Gaussian dictionary, one case per `rho`.
fn synthetic(cfg: &Config) -> BoxResult<()> {
    let start = Instant::now();
    let mut rng = generate::rng(cfg.seed);
    let d = Dictionary::random_gaussian(P, K, &mut rng)?;
    let bar = training_bar(cfg, cfg.rhos.len())?;
    let outcomes = bernoulli_gaussian_cases(cfg, &d, "lista", "", &bar)?;
    bar.finish_with_message("done");
    let description = format!(
        "D: {P} x {K} Gaussian, unit atoms; Bernoulli-Gaussian codes, sigma = {SIGMA}; \
         lambda = {}; {}",
        cfg.lambda,
        training_summary(cfg)
    );
    let report = Report {
        title: "LISTA / FacNet vs ISTA / FISTA (Moreau & Bruna 2017, synthetic)",
        description,
        stem: "lista",
        case_column: "rho",
    };
    report.write(cfg, &outcomes, start)
}

/// For each `rho` of `cfg`: draws Bernoulli-Gaussian codes (seed `cfg.seed + 1 + i`), the
/// noiseless signals `D z`, and runs [`experiment`] on the first `n_train` / last `n_test`.
/// `label_prefix` starts each case's label; its plot is `<stem>_rho<1/rho>.svg`.
fn bernoulli_gaussian_cases(
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
fn training_summary(cfg: &Config) -> String {
    format!(
        "{} training / {} held-out signals; Adam (lr {} for LISTA and L-FISTA, {} for FacNet), \
         batch {}, {} epochs per depth, warm-started depth to depth (seed {}). Entries: mean \
         F(z_q) - F(z*) on the held-out signals.",
        cfg.n_train, cfg.n_test, cfg.lr, cfg.facnet_lr, cfg.batch, cfg.epochs, cfg.seed
    )
}

/// The progress bar of the network training: one tick per epoch of every method, depth and
/// one of `cases` cases.
fn training_bar(cfg: &Config, cases: usize) -> BoxResult<ProgressBar> {
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
fn experiment(
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
fn value_at(c: &Curve, q: usize) -> Option<f64> {
    c.points.iter().find(|p| p.0 == q).map(|p| p.1)
}

/// How a setting's results are written: `<stem>.md`, `<stem>.csv` and each case's plot.
struct Report<'a> {
    /// First line of the Markdown report.
    title: &'a str,
    /// The paragraph under it (setup, sizes).
    description: String,
    /// File stem under `target/reproduce/lista/`.
    stem: &'a str,
    /// Header of the CSV's first column (`rho`, or `setting`).
    case_column: &'a str,
}

impl Report<'_> {
    /// Writes the Markdown table, the CSV and the plots, prints the table; the wall time is
    /// measured from `start`.
    fn write(&self, cfg: &Config, outcomes: &[Outcome], start: Instant) -> BoxResult<()> {
        let dir = out_dir("lista")?;
        let wall = start.elapsed().as_secs_f64();
        let table = self.markdown(cfg, outcomes, wall);
        std::fs::write(dir.join(format!("{}.md", self.stem)), &table)?;
        write_csv(
            &dir.join(format!("{}.csv", self.stem)),
            self.case_column,
            outcomes,
        )?;
        for o in outcomes {
            plot(&dir.join(&o.case.plot), o)?;
        }
        println!("{table}");
        println!("wrote {}", dir.display());
        Ok(())
    }

    /// The report: title, description, one table per case, the wall time.
    fn markdown(&self, cfg: &Config, outcomes: &[Outcome], wall: f64) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# {}\n\n{}\n", self.title, self.description);
        for o in outcomes {
            s.push_str(&section(cfg, o));
        }
        let _ = writeln!(s, "Wall time: {wall:.1} s.");
        s
    }
}

/// The Markdown section of one case: the reference values and the table of
/// `F(z_q) - F(z*)` at the trained depths and at `q = MAX_Q`.
fn section(cfg: &Config, o: &Outcome) -> String {
    let mut qs = cfg.depths.clone();
    if !qs.contains(&MAX_Q) {
        qs.push(MAX_Q);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## {}\n\nMean F(0) = {:.4e}, mean F(z*) = {:.4e} (FISTA with restart: {}/{} signals to \
         a relative duality gap <= 1e-12, largest gap {:.1e}, at most {} iterations); z* has \
         {:.2} non-zeros per code on average ({:.1} % of the {} atoms)\n",
        o.case.label,
        o.f_zero,
        o.f_star,
        o.fista_converged,
        o.n_test,
        o.fista_gap,
        o.fista_iters,
        o.star_nnz,
        100.0 * o.star_nnz / K as f64,
        K
    );
    let _ = writeln!(s, "{}\n", o.facnet);
    let _ = write!(s, "| method |");
    for q in &qs {
        let _ = write!(s, " q = {q} |");
    }
    let _ = writeln!(s, " training (s) |");
    let _ = writeln!(s, "|---|{}---|", "---|".repeat(qs.len()));
    for c in &o.curves {
        let _ = write!(s, "| {} |", c.name);
        for &q in &qs {
            match value_at(c, q) {
                Some(v) => {
                    let _ = write!(s, " {v:.3e} |");
                }
                None => s.push_str(" - |"),
            }
        }
        let _ = writeln!(s, " {:.1} |", c.train_seconds);
    }
    s.push('\n');
    s
}

/// `<case_column>,method,q,f_minus_fstar`, one row per point of every curve.
fn write_csv(path: &Path, case_column: &str, outcomes: &[Outcome]) -> BoxResult<()> {
    let mut s = format!("{case_column},method,q,f_minus_fstar\n");
    for o in outcomes {
        for c in &o.curves {
            for (q, v) in &c.points {
                let _ = writeln!(s, "{},{},{q},{v:.6e}", o.case.key, c.name);
            }
        }
    }
    std::fs::write(path, s)?;
    Ok(())
}

/// Log-log plot of every curve of `o` (values below `1e-8` drawn at `1e-8`).
fn plot(path: &Path, o: &Outcome) -> BoxResult<()> {
    let floor = 1e-8;
    let all = o.curves.iter().flat_map(|c| c.points.iter().map(|p| p.1));
    let ymax = all.clone().fold(floor, f64::max) * 2.0;
    let ymin = all.fold(f64::INFINITY, f64::min).max(floor) / 2.0;
    let root = SVGBackend::new(path, (800, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("F(z_q) - F(z*), {}", o.case.label);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d((1f64..MAX_Q as f64).log_scale(), (ymin..ymax).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("layers / iterations q")
        .y_desc("F(z_q) - F(z*)")
        .y_label_formatter(&|v| format!("{v:.0e}"))
        .draw()?;
    let colors = [GREEN, RGBColor(200, 160, 0), BLUE, RED, CYAN];
    for (c, color) in o.curves.iter().zip(colors) {
        let pts: Vec<(f64, f64)> = c
            .points
            .iter()
            .map(|&(q, v)| (q as f64, v.max(floor)))
            .collect();
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.clone(), style))?
            .label(c.name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        if pts.len() < 20 {
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 4, color.filled())))?;
        }
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
