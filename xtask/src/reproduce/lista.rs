//! `cargo xtask reproduce lista`: the synthetic experiment of Moreau & Bruna, *Understanding
//! trainable sparse coding via matrix factorization* (ICLR 2017): `F(z_q) - F(z*)` on held-out
//! signals against the number of iterations / layers `q`, for ISTA, FISTA and the trained
//! LISTA, FacNet (and learned FISTA) networks.
//!
//! Setup (as in the reference): `D` is `P x K = 64 x 100` with Gaussian atoms normalised to unit
//! norm; codes are Bernoulli-Gaussian `z_k = b_k a_k`, `b_k ~ B(rho)`, `a_k ~ N(0, sigma^2)`
//! with `sigma = 10` (the reference code draws `10 * N(0, 1)`), for `rho = 1/20` and `1/4`;
//! signals are `x = D z` without noise or further normalisation; `lambda = 0.01` in
//! `F(z) = 1/2 ||x - D z||^2 + lambda ||z||_1`. `z*` is FISTA run to a relative duality gap of
//! `1e-12`. Networks are trained unsupervised on `F(z_q)` with Adam, each depth warm-started from
//! the previous one with its new layers at ISTA (as the reference does). (The reference's code,
//! `tomMoral/AdaptiveOptim`, divides each Gaussian atom by its *squared* norm, giving atoms of
//! norm about 1/8, which amounts to unit atoms with a penalty about 64 times larger; we follow
//! the stated model, unit atoms and `lambda = 0.01`.)
//!
//! Options: `--quick` (a smaller, faster run), `--epochs N`, `--depths 1,2,4`, `--train N`,
//! `--test N`, `--lr X` (LISTA, L-FISTA), `--facnet-lr X`, `--batch N`, `--seed N`,
//! `--no-lfista` (skip learned FISTA).

use std::fmt::Write as _;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use faer::MatRef;
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use pursuit::lasso::{Fista, Ista, Observer};
use pursuit::learned::{EpochReport, FacNet, LFista, Lista, Training};
use sparse_core::{generate, Dictionary, Noise};

use super::out_dir;
use crate::bench::BoxResult;

const P: usize = 64;
const K: usize = 100;
const SIGMA: f64 = 10.0;
const LAMBDA: f64 = 0.01;
const MAX_Q: usize = 100;

/// The experiment's knobs (see the module docs for the options).
#[derive(Debug, Clone)]
struct Config {
    depths: Vec<usize>,
    epochs: usize,
    n_train: usize,
    n_test: usize,
    batch: usize,
    lr: f64,
    facnet_lr: f64,
    seed: u64,
    lfista: bool,
}

impl Config {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mut c = Config {
            depths: vec![1, 2, 4, 8, 16, 32],
            epochs: 12,
            n_train: 4000,
            n_test: 1000,
            batch: 100,
            lr: 3e-3,
            facnet_lr: 3e-2,
            seed: 2017,
            lfista: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or(format!("`{a}` needs a value"));
            match a.as_str() {
                "--quick" => {
                    c.depths = vec![1, 2, 4, 8];
                    c.epochs = 4;
                    c.n_train = 1000;
                    c.n_test = 300;
                }
                "--lfista" => c.lfista = true,
                "--no-lfista" => c.lfista = false,
                "--epochs" => c.epochs = value()?.parse()?,
                "--train" => c.n_train = value()?.parse()?,
                "--test" => c.n_test = value()?.parse()?,
                "--batch" => c.batch = value()?.parse()?,
                "--lr" => c.lr = value()?.parse()?,
                "--facnet-lr" => c.facnet_lr = value()?.parse()?,
                "--seed" => c.seed = value()?.parse()?,
                "--depths" => {
                    c.depths = value()?
                        .split(',')
                        .map(str::parse)
                        .collect::<Result<_, _>>()?;
                    c.depths.sort_unstable();
                    c.depths.dedup();
                }
                other => return Err(format!("unknown option `{other}`").into()),
            }
        }
        if c.depths.first() == Some(&0) || c.depths.is_empty() {
            return Err("`--depths` needs positive layer counts".into());
        }
        Ok(c)
    }
}

/// One curve: `(q, F(z_q) - F(z*))` points.
struct Curve {
    name: &'static str,
    points: Vec<(usize, f64)>,
    train_seconds: f64,
}

/// Everything measured for one `rho`.
struct Outcome {
    rho: f64,
    curves: Vec<Curve>,
    f_star: f64,
    f_zero: f64,
    fista_iters: usize,
    fista_converged: usize,
    fista_gap: f64,
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let cfg = Config::parse(args)?;
    let dir = out_dir("lista")?;
    let start = Instant::now();
    let mut rng = generate::rng(cfg.seed);
    let d = Dictionary::random_gaussian(P, K, &mut rng)?;
    let methods = 2 + usize::from(cfg.lfista);
    let total = 2 * methods * cfg.depths.len() * cfg.epochs;
    let bar = ProgressBar::new(total as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} epochs  {msg}",
    )?);
    let mut outcomes = Vec::new();
    for (i, rho) in [1.0 / 20.0, 1.0 / 4.0].into_iter().enumerate() {
        let mut rng = generate::rng(cfg.seed + 1 + i as u64);
        let n = cfg.n_train + cfg.n_test;
        let z = generate::bernoulli_gaussian(K, n, rho, SIGMA, &mut rng)?;
        let y = generate::signals(&d, z.as_ref(), Noise::None, &mut rng)?.clean;
        let (train, test) = (
            y.subcols(0, cfg.n_train),
            y.subcols(cfg.n_train, cfg.n_test),
        );
        outcomes.push(experiment(&cfg, &d, rho, train, test, &bar)?);
    }
    bar.finish_with_message("done");
    let wall = start.elapsed().as_secs_f64();
    let table = markdown(&cfg, &outcomes, wall);
    std::fs::write(dir.join("lista.md"), &table)?;
    write_csv(&dir.join("lista.csv"), &outcomes)?;
    for o in &outcomes {
        let name = format!("lista_rho{}.svg", (1.0 / o.rho).round() as usize);
        plot(&dir.join(&name), o)?;
    }
    println!("{table}");
    println!("wrote {}", dir.display());
    Ok(())
}

/// Mean objective after every iteration `0..=MAX_Q` of ISTA or FISTA (no restart) on `y`.
fn iterative_curve(d: &Dictionary, y: MatRef<'_, f64>, accelerated: bool) -> BoxResult<Vec<f64>> {
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
        let fista = Fista::new(LAMBDA).restart(false).tol(0.0).max_iter(MAX_Q);
        fista.observer(observer).solve(d, y)?;
    } else {
        let ista = Ista::new(LAMBDA).tol(0.0).max_iter(MAX_Q);
        ista.observer(observer).solve(d, y)?;
    }
    let n = y.ncols() as f64;
    let sums = sums.lock().map_err(|_| "observer poisoned")?;
    Ok(sums.iter().map(|s| s / n).collect())
}

fn experiment(
    cfg: &Config,
    d: &Dictionary,
    rho: f64,
    train: MatRef<'_, f64>,
    test: MatRef<'_, f64>,
    bar: &ProgressBar,
) -> BoxResult<Outcome> {
    bar.set_message(format!("rho = {rho}: z* by FISTA"));
    let star = Fista::new(LAMBDA)
        .tol(1e-12)
        .max_iter(50_000)
        .solve(d, test)?;
    let f_star = star.objective.iter().sum::<f64>() / test.ncols() as f64;
    let f_zero = test.squared_norm_l2() / (2.0 * test.ncols() as f64);
    let gap = |f: f64| f - f_star;
    let mut curves = Vec::new();
    for (name, acc) in [("ISTA", false), ("FISTA", true)] {
        let c = iterative_curve(d, test, acc)?;
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
        let msg = format!("rho = {rho}: {name} q = {q}");
        move |r: &EpochReport| {
            bar.inc(1);
            bar.set_message(format!("{msg} loss {:.4e}", r.train_loss - f_star));
        }
    };
    // LISTA
    let t0 = Instant::now();
    let mut points = Vec::new();
    let mut net = Lista::new(first, LAMBDA).init(d)?;
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
    let mut net = FacNet::new(first, LAMBDA).init(d)?;
    for &q in &cfg.depths {
        net = net.deepen(q)?;
        let tr = Training {
            learning_rate: cfg.facnet_lr,
            ..training.clone()
        };
        net.train(train, &tr, &mut observe("FacNet", q))?;
        points.push((q, gap(net.loss(test)?)));
    }
    curves.push(Curve {
        name: "FacNet",
        points,
        train_seconds: t0.elapsed().as_secs_f64(),
    });
    if cfg.lfista {
        let t0 = Instant::now();
        let mut points = Vec::new();
        let mut net = LFista::new(first, LAMBDA).init(d)?;
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
        rho,
        curves,
        f_star,
        f_zero,
        fista_iters: star.max_iterations(),
        fista_converged: star.converged.iter().filter(|&&c| c).count(),
        fista_gap: star.max_duality_gap().unwrap_or(f64::NAN),
    })
}

fn value_at(c: &Curve, q: usize) -> Option<f64> {
    c.points.iter().find(|p| p.0 == q).map(|p| p.1)
}

fn markdown(cfg: &Config, outcomes: &[Outcome], wall: f64) -> String {
    let mut qs = cfg.depths.clone();
    if !qs.contains(&MAX_Q) {
        qs.push(MAX_Q);
    }
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# LISTA / FacNet vs ISTA / FISTA (Moreau & Bruna 2017, synthetic)\n\n\
         D: {P} x {K} Gaussian, unit atoms; Bernoulli-Gaussian codes, sigma = {SIGMA}; \
         lambda = {LAMBDA}; {} training / {} held-out signals; Adam (lr {} for LISTA and \
         L-FISTA, {} for FacNet), batch {}, {} epochs per depth, warm-started depth to depth. \
         Entries: mean F(z_q) - F(z*) on the held-out signals.\n",
        cfg.n_train, cfg.n_test, cfg.lr, cfg.facnet_lr, cfg.batch, cfg.epochs
    );
    for o in outcomes {
        let _ = writeln!(
            s,
            "## rho = 1/{}\n\nMean F(0) = {:.4e}, mean F(z*) = {:.4e} (FISTA with restart: {}/{} \
             signals to a relative duality gap <= 1e-12, largest gap {:.1e}, at most {} \
             iterations)\n",
            (1.0 / o.rho).round(),
            o.f_zero,
            o.f_star,
            o.fista_converged,
            cfg.n_test,
            o.fista_gap,
            o.fista_iters
        );
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
    }
    let _ = writeln!(s, "Wall time: {wall:.1} s.");
    s
}

fn write_csv(path: &Path, outcomes: &[Outcome]) -> BoxResult<()> {
    let mut s = String::from("rho,method,q,f_minus_fstar\n");
    for o in outcomes {
        for c in &o.curves {
            for (q, v) in &c.points {
                let _ = writeln!(s, "{},{},{q},{v:.6e}", o.rho, c.name);
            }
        }
    }
    std::fs::write(path, s)?;
    Ok(())
}

fn plot(path: &Path, o: &Outcome) -> BoxResult<()> {
    let floor = 1e-8;
    let all = o.curves.iter().flat_map(|c| c.points.iter().map(|p| p.1));
    let ymax = all.clone().fold(floor, f64::max) * 2.0;
    let ymin = all.fold(f64::INFINITY, f64::min).max(floor) / 2.0;
    let root = SVGBackend::new(path, (800, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("F(z_q) - F(z*), rho = 1/{}", (1.0 / o.rho).round());
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
