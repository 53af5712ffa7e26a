//! `cargo xtask reproduce phase`: empirical success rates of thresholding, OMP and BP against the
//! sparsity `k`, next to the coherence thresholds of the theorems that guarantee them.
//!
//! Setup: a `64 x 128` Gaussian dictionary (unit-norm atoms, fixed seed); for every
//! `k = 1..=32`, 200 Sparseland codes with random supports and signs and magnitudes in
//! `[contrast, 1]` (contrast 0.5), noiseless signals `y = D a`. Success is exact support
//! recovery: thresholding keeps the `k` largest `|D^T y|`; OMP (Batch-OMP) runs `k` steps; BP
//! (ADMM) succeeds when its `k` largest entries are the true support and its relative error is
//! below `1e-3`. The theorems' thresholds are drawn as vertical lines: `(1 + 1/mu) / 2` for OMP
//! and BP (Tropp 2004; Donoho & Elad 2003) and `(1 + contrast / mu) / 2` for thresholding
//! (Elad 2010), both sufficient, worst-case conditions.
//!
//! The convolutional version (`Barker-13` and a partner filter, `N = 128`, `mu = 4/13`) plots
//! the success of OMP and BP on the global dictionary against the stripe sparsity
//! `||G||_{0,inf}`, with the local bound `(1 + 1/mu) / 2` (Papyan, Sulam & Elad 2017).
//!
//! Options: `--trials N` (200), `--kmax K` (32), `--contrast C` (0.5), `--seed S` (1),
//! `--no-conv` (skip the convolutional version), `--quick` (50 trials).
//! Output: `target/reproduce/phase/{phase.csv, phase.svg, phase.md, phase_conv.csv, phase_conv.svg}`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use csc::{ConvDictionary, Grid};
use faer::{Mat, MatRef, Par};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use pursuit::admm::BasisPursuit;
use pursuit::{BatchOmp, Solve, Stop, Thresholding};
use sparse_core::metrics::{support_recovery_rate, support_scores};
use sparse_core::{generate, Dictionary, Noise, Shrinkage};
use theory::sparseland::largest_below;

use super::out_dir;
use crate::bench::BoxResult;

const N: usize = 64;
const M: usize = 128;
/// Relative error below which a BP solution with the right support counts as a success.
const BP_TOL: f64 = 1e-3;

struct Config {
    trials: usize,
    kmax: usize,
    contrast: f64,
    seed: u64,
    conv: bool,
}

impl Config {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mut c = Config {
            trials: 200,
            kmax: 32,
            contrast: 0.5,
            seed: 1,
            conv: true,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or(format!("`{a}` needs a value"));
            match a.as_str() {
                "--trials" => c.trials = value()?.parse()?,
                "--kmax" => c.kmax = value()?.parse()?,
                "--contrast" => c.contrast = value()?.parse()?,
                "--seed" => c.seed = value()?.parse()?,
                "--no-conv" => c.conv = false,
                "--quick" => c.trials = 50,
                other => return Err(format!("unknown option `{other}`").into()),
            }
        }
        if c.trials == 0 || c.kmax == 0 || c.kmax > N {
            return Err(format!("need --trials >= 1 and 1 <= --kmax <= {N}").into());
        }
        if !(c.contrast > 0.0 && c.contrast <= 1.0) {
            return Err("`--contrast` must be in (0, 1]".into());
        }
        Ok(c)
    }
}

/// Success rates at one sparsity.
struct Row {
    k: usize,
    rates: Vec<f64>,
}

/// One experiment: curves against a sparsity and the theoretical thresholds.
struct Experiment {
    title: String,
    x_desc: &'static str,
    names: Vec<&'static str>,
    rows: Vec<Row>,
    /// `(label, position)` of the vertical lines.
    thresholds: Vec<(String, f64)>,
    /// Where the legend goes (away from the curves).
    legend: SeriesLabelPosition,
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let cfg = Config::parse(args)?;
    let dir = out_dir("phase")?;
    let start = Instant::now();
    let dense = dense_experiment(&cfg)?;
    write_csv(&dir.join("phase.csv"), &dense)?;
    plot(&dir.join("phase.svg"), &dense)?;
    let mut md = markdown(&dense);
    if cfg.conv {
        let conv = conv_experiment(&cfg)?;
        write_csv(&dir.join("phase_conv.csv"), &conv)?;
        plot(&dir.join("phase_conv.svg"), &conv)?;
        md.push('\n');
        md.push_str(&markdown(&conv));
    }
    let _ = writeln!(md, "\nwall time {:.1} s", start.elapsed().as_secs_f64());
    std::fs::write(dir.join("phase.md"), &md)?;
    println!("{md}");
    println!("wrote {}", dir.display());
    Ok(())
}

fn bar(len: usize, what: &str) -> BoxResult<ProgressBar> {
    let b = ProgressBar::new(len as u64);
    b.set_style(ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{bar:30}}] {{pos}}/{{len}} {what}"
    ))?);
    Ok(b)
}

/// Thresholding and OMP succeed on a signal when they find its support exactly.
fn exact_rate(codes: MatRef<'_, f64>, truth: MatRef<'_, f64>) -> BoxResult<f64> {
    Ok(support_scores(truth, codes, 0.0)?.exact)
}

/// BP succeeds when its `|S|` largest entries are the support `S` and its relative error is
/// below `BP_TOL`.
fn bp_rate(codes: MatRef<'_, f64>, truth: MatRef<'_, f64>) -> BoxResult<f64> {
    Ok(support_recovery_rate(truth, codes, BP_TOL)?)
}

fn dense_experiment(cfg: &Config) -> BoxResult<Experiment> {
    let mut rng = generate::rng(cfg.seed);
    let d = Dictionary::random_gaussian(N, M, &mut rng)?;
    let mu = theory::coherence(&d);
    // The right-hand side of the OMP/BP condition ||a||_0 < (1 + 1/mu) / 2.
    let omp_bound = theory::sparseland::omp_recovery(mu, 1.0)?.rhs;
    let thr_bound = theory::sparseland::thresholding_sparsity_bound(mu, cfg.contrast, 0.0)?;
    let b = bar(cfg.kmax, "sparsities (dense)")?;
    let mut rows = Vec::with_capacity(cfg.kmax);
    for k in 1..=cfg.kmax {
        let x = generate::sparseland_codes(M, k, cfg.trials, cfg.contrast, 1.0, &mut rng)?;
        let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng)?.clean;
        let thr = Thresholding::new(Shrinkage::TopK(k)).solve(&d, y.as_ref())?;
        let omp = BatchOmp::new(Stop::Sparsity(k)).solve(&d, y.as_ref())?;
        let bp = BasisPursuit::new().max_iter(5000).solve(&d, y.as_ref())?;
        rows.push(Row {
            k,
            rates: vec![
                exact_rate(thr.codes.as_ref(), x.as_ref())?,
                exact_rate(omp.codes.as_ref(), x.as_ref())?,
                bp_rate(bp.codes.as_ref(), x.as_ref())?,
            ],
        });
        b.inc(1);
    }
    b.finish_and_clear();
    Ok(Experiment {
        title: format!(
            "Gaussian {N} x {M}, mu = {mu:.3}, contrast {}, {} trials per k",
            cfg.contrast, cfg.trials
        ),
        x_desc: "sparsity k = ||a||_0",
        names: vec!["thresholding", "OMP", "BP"],
        rows,
        thresholds: vec![
            (
                format!("OMP/BP bound (1+1/mu)/2 = {omp_bound:.2}"),
                omp_bound,
            ),
            (
                format!("thresholding bound (1+c/mu)/2 = {thr_bound:.2}"),
                thr_bound,
            ),
        ],
        legend: SeriesLabelPosition::UpperRight,
    })
}

fn conv_experiment(cfg: &Config) -> BoxResult<Experiment> {
    const BARKER: [f64; 13] = [1., 1., 1., 1., 1., -1., -1., 1., 1., -1., 1., -1., 1.];
    const PARTNER: [f64; 13] = [-1., -1., 1., -1., 1., 1., -1., 1., 1., 1., -1., -1., -1.];
    let filters = Mat::from_fn(13, 2, |i, j| if j == 0 { BARKER[i] } else { PARTNER[i] });
    let op = ConvDictionary::from_filters_1d(filters.as_ref())?.operator(Grid::d1(128))?;
    let mu = theory::conv_coherence(&op);
    let d = op.global_dictionary()?;
    // ||G||_{0,inf} < (1 + 1/mu) / 2 locally, ||G||_0 < (1 + 1/mu) / 2 globally.
    let local = theory::conv::csc_pursuit_recovery(mu, 1.0)?.rhs;
    let trials = (cfg.trials / 2).max(1);
    let smax = 8;
    let mut rng = generate::rng(cfg.seed + 1);
    let b = bar(smax, "stripe sparsities (convolutional)")?;
    let mut rows = Vec::new();
    let mut total_nnz = Vec::new();
    for s in 1..=smax {
        let mut x = Mat::<f64>::zeros(op.code_len(), trials);
        let mut nnz = 0usize;
        for j in 0..trials {
            let g = op.random_stripe_code(s, cfg.contrast, &mut rng)?;
            nnz += g.iter().filter(|v| **v != 0.0).count();
            x.col_as_slice_mut(j).copy_from_slice(&g);
        }
        total_nnz.push(nnz as f64 / trials as f64);
        let y = op.synthesize(x.as_ref(), Par::rayon(0))?;
        let omp = BatchOmp::new(Stop::Residual(1e-9)).solve(&d, y.as_ref())?;
        let bp = BasisPursuit::new().max_iter(5000).solve(&d, y.as_ref())?;
        rows.push(Row {
            k: s,
            rates: vec![
                exact_rate(omp.codes.as_ref(), x.as_ref())?,
                bp_rate(bp.codes.as_ref(), x.as_ref())?,
            ],
        });
        b.inc(1);
    }
    b.finish_and_clear();
    let global = theory::sparseland::omp_recovery(mu, 1.0)?.rhs;
    Ok(Experiment {
        title: format!(
            "CSC: Barker-13 + partner, N = 128, mu = {mu:.3}, {trials} trials; mean ||G||_0 = {}",
            total_nnz.iter().map(|v| format!("{v:.0}")).collect::<Vec<_>>().join("/")
        ),
        x_desc: "stripe sparsity ||G||_{0,inf} (at most)",
        names: vec!["OMP", "BP"],
        rows,
        thresholds: vec![(
            format!(
                "local bound (1+1/mu)/2 = {local:.2} per stripe (globally: ||G||_0 < {global:.2}, at most {} non-zeros)",
                largest_below(global)
            ),
            local,
        )],
        legend: SeriesLabelPosition::LowerLeft,
    })
}

fn write_csv(path: &Path, e: &Experiment) -> BoxResult<()> {
    let mut s = format!("k,{}\n", e.names.join(","));
    for r in &e.rows {
        let v: Vec<String> = r.rates.iter().map(|x| format!("{x:.4}")).collect();
        let _ = writeln!(s, "{},{}", r.k, v.join(","));
    }
    for (label, x) in &e.thresholds {
        let _ = writeln!(s, "# {label} (at {x:.4})");
    }
    std::fs::write(path, s)?;
    Ok(())
}

fn markdown(e: &Experiment) -> String {
    let mut s = format!(
        "## {}\n\n| {} | {} |\n|",
        e.title,
        e.x_desc,
        e.names.join(" | ")
    );
    for _ in 0..=e.names.len() {
        s.push_str(" --- |");
    }
    s.push('\n');
    for r in &e.rows {
        let v: Vec<String> = r.rates.iter().map(|x| format!("{x:.3}")).collect();
        let _ = writeln!(s, "| {} | {} |", r.k, v.join(" | "));
    }
    s.push('\n');
    for (label, _) in &e.thresholds {
        let _ = writeln!(s, "- theory: {label}");
    }
    // Where each method's empirical success first drops below 1 and 0.5.
    for (i, name) in e.names.iter().enumerate() {
        let first = |t: f64| e.rows.iter().find(|r| r.rates[i] < t).map(|r| r.k);
        let fmt = |v: Option<usize>| v.map_or("never".to_string(), |k| k.to_string());
        let _ = writeln!(
            s,
            "- {name}: all trials succeed up to k = {}; success < 50% from k = {}",
            first(1.0).map_or(e.rows.last().map_or(0, |r| r.k), |k| k - 1),
            fmt(first(0.5))
        );
    }
    s
}

fn plot(path: &Path, e: &Experiment) -> BoxResult<()> {
    let kmax = e.rows.last().map_or(1, |r| r.k) as f64;
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(&e.title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..kmax + 0.5, -0.02f64..1.05)?;
    chart
        .configure_mesh()
        .x_desc(e.x_desc)
        .y_desc("empirical success rate")
        .draw()?;
    let colors = [RGBColor(200, 120, 0), BLUE, RED];
    let colors = if e.names.len() == 2 {
        &colors[1..]
    } else {
        &colors[..]
    };
    for (i, (name, color)) in e.names.iter().zip(colors).enumerate() {
        let pts: Vec<(f64, f64)> = e.rows.iter().map(|r| (r.k as f64, r.rates[i])).collect();
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.clone(), style))?
            .label(*name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    let line_colors = [BLACK, RGBColor(120, 120, 120)];
    for ((label, x), color) in e.thresholds.iter().zip(line_colors) {
        let style = color.stroke_width(2);
        chart
            .draw_series(DashedLineSeries::new(
                vec![(*x, -0.02), (*x, 1.05)],
                6,
                4,
                style,
            ))?
            .label(label.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .position(e.legend.clone())
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
