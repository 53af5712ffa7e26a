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
mod config;
mod curves;
mod mnist;
mod report;

use curves::{bernoulli_gaussian_cases, experiment, training_bar, training_summary};

use std::time::Instant;

use sparse_core::{generate, Dictionary};

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
