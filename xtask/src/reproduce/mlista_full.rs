//! `cargo xtask reproduce mlista --mnist-full`: the supervised experiment of Sulam, Aberdam,
//! Beck & Elad (IEEE TPAMI 2019) on the full MNIST, in the authors' setting (their public code,
//! `MNIST/Models.py` and `EvaluateModels.ipynb`): three valid convolutional layers (32 filters
//! 6x6 stride 2, 64 filters 6x6x32 stride 2, 512 filters 4x4x64), a learned step and a bias per
//! map in each layer, a linear classifier on the 512 deepest maps (604,909 parameters); the CNN
//! is the feed-forward pass (K = 1), ML-ISTA and ML-FISTA add T = 6 unfoldings (K = 7) of the
//! same parameters. Training: SGD (lr 0.002, momentum 0.9, weight decay 1e-5), the rate x0.2
//! every 30 epochs, batch 128, 100 epochs, pixels in [0, 1], no augmentation, float32; trained
//! on the 60,000 training digits, tested on the 10,000 test digits after every epoch. The
//! reported accuracy of a run is, as the authors', the mean test accuracy of epochs 81-99 (of
//! 100); a schedule cut to `E` epochs scales the decay step (`--decay-every`, default
//! `0.3 E`) and that window (epochs `0.8 E + 1 ..= E - 1`, at least the last) the same way.
//!
//! Every run (model, seed, schedule) lives in its own folder of `--results` (default
//! `results/mlista-mnist/`, committed): `epochs.jsonl` gets one line per finished epoch, and
//! `state.json.gz` (the network and the optimiser's velocity) lets an interrupted run resume
//! bit for bit where it stopped, in this session or a later one; it is deleted when the run
//! finishes. The report (`report_e{E}.md`, `curves_e{E}.svg`) is rewritten from whatever
//! epochs exist, so it can be read while runs are unfinished.
//!
//! Options: `--models cnn,mlista,mlfista`, `--seeds 0,1,2`, `--epochs 100`,
//! `--decay-every N`, `--results DIR`, `--report-only`, `--max-minutes M` (stop cleanly after
//! the epoch that passes M minutes; the runs resume next time).

use std::fmt::Write as _;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use mlcsc::data::Labelled;
use mlcsc::supervised::{Precision, TrainState};
use plotters::prelude::*;
use serde::{Deserialize, Serialize};

use super::mlista::mean_std;
use crate::bench::mlista::{authors_net, authors_recipe, MODELS};
use crate::bench::{workspace_root, BoxResult};

/// The authors' numbers (mean test accuracy of epochs 81-99, %).
const PUBLISHED: [(&str, f64); 3] = [("cnn", 98.74), ("mlista", 99.11), ("mlfista", 99.16)];

/// One finished epoch of a run.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EpochRecord {
    epoch: usize,
    learning_rate: f64,
    train_loss: f64,
    train_accuracy: f64,
    test_loss: f64,
    test_accuracy: f64,
    /// Seconds of this epoch's training (without the test pass).
    train_seconds: f64,
    /// Seconds of the test pass.
    test_seconds: f64,
}

#[derive(Debug, Clone)]
struct Config {
    models: Vec<&'static str>,
    seeds: Vec<u64>,
    epochs: usize,
    decay_every: usize,
    results: PathBuf,
    report_only: bool,
    max_minutes: f64,
}

impl Config {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mut c = Config {
            models: MODELS.iter().map(|m| m.0).collect(),
            seeds: vec![0, 1, 2],
            epochs: 100,
            decay_every: 0,
            results: workspace_root().join("results").join("mlista-mnist"),
            report_only: false,
            max_minutes: f64::INFINITY,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut val = |name: &str| {
                it.next()
                    .cloned()
                    .ok_or_else(|| format!("option `{name}` needs a value"))
            };
            match a.as_str() {
                "--models" => {
                    let v = val("--models")?;
                    let mut out = Vec::new();
                    for m in v.split(',') {
                        let Some(found) = MODELS.iter().find(|x| x.0 == m) else {
                            return Err(format!(
                                "`--models`: unknown model `{m}` (known: cnn, mlista, mlfista)"
                            )
                            .into());
                        };
                        out.push(found.0);
                    }
                    c.models = out;
                }
                "--seeds" => {
                    c.seeds = val("--seeds")?
                        .split(',')
                        .map(|s| s.trim().parse::<u64>())
                        .collect::<Result<_, _>>()
                        .map_err(|e| format!("`--seeds`: {e}"))?;
                }
                "--epochs" => c.epochs = val("--epochs")?.parse()?,
                "--decay-every" => c.decay_every = val("--decay-every")?.parse()?,
                "--results" => c.results = PathBuf::from(val("--results")?),
                "--report-only" => c.report_only = true,
                "--max-minutes" => c.max_minutes = val("--max-minutes")?.parse()?,
                other => {
                    return Err(format!(
                        "unknown option `{other}` for `reproduce mlista --mnist-full`"
                    )
                    .into())
                }
            }
        }
        if c.epochs == 0 || c.epochs > 10_000 {
            return Err("`--epochs` must be in 1..=10000".into());
        }
        if c.seeds.is_empty() || c.models.is_empty() {
            return Err("`--seeds` and `--models` need at least one entry".into());
        }
        if c.decay_every == 0 {
            c.decay_every = ((0.3 * c.epochs as f64).round() as usize).max(1);
        }
        if c.max_minutes.is_nan() || c.max_minutes <= 0.0 {
            return Err("`--max-minutes` must be positive".into());
        }
        Ok(c)
    }
}

fn run_dir(cfg: &Config, model: &str, seed: u64) -> PathBuf {
    cfg.results.join(format!(
        "{model}-e{}-d{}-s{seed}",
        cfg.epochs, cfg.decay_every
    ))
}

/// The epochs of the mean: `0.8 E + 1 ..= E - 1` (1-based), at least `E`.
fn window(epochs: usize) -> (usize, usize) {
    let lo = (0.8 * epochs as f64).floor() as usize + 1;
    let hi = epochs.saturating_sub(1);
    if lo > hi {
        (epochs, epochs)
    } else {
        (lo, hi)
    }
}

fn read_records(dir: &Path) -> BoxResult<Vec<EpochRecord>> {
    let path = dir.join("epochs.jsonl");
    if !path.exists() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let r: EpochRecord = serde_json::from_str(line)
            .map_err(|e| format!("{}: line {}: {e}", path.display(), i + 1))?;
        out.push(r);
    }
    Ok(out)
}

fn save_state(dir: &Path, state: &TrainState) -> BoxResult<()> {
    let tmp = dir.join("state.json.gz.tmp");
    {
        let f = std::fs::File::create(&tmp)?;
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::fast());
        serde_json::to_writer(&mut gz, state)?;
        gz.finish()?.sync_all()?;
    }
    std::fs::rename(&tmp, dir.join("state.json.gz"))?;
    Ok(())
}

fn load_state(dir: &Path) -> BoxResult<Option<TrainState>> {
    let path = dir.join("state.json.gz");
    if !path.exists() {
        return Ok(None);
    }
    // Decompressed with a cap (a checkpoint of the paper's network is about 60 MB of JSON), so
    // a corrupted or hostile file cannot exhaust memory; the state is validated when parsed.
    const MAX_STATE_BYTES: u64 = 1 << 30;
    let mut s = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&path)?)
        .take(MAX_STATE_BYTES + 1)
        .read_to_string(&mut s)?;
    if s.len() as u64 > MAX_STATE_BYTES {
        return Err(format!(
            "{}: more than {MAX_STATE_BYTES} bytes once decompressed",
            path.display()
        )
        .into());
    }
    Ok(Some(
        serde_json::from_str(&s).map_err(|e| format!("{}: {e}", path.display()))?,
    ))
}

/// Mean cross-entropy and accuracy of `net` on `data`, float32 as the training.
fn evaluate(net: &mlcsc::supervised::UnfoldedNet, data: &Labelled) -> BoxResult<(f64, f64)> {
    let ev = net.evaluate_with(data.images.as_ref(), &data.labels, Precision::F32)?;
    Ok((ev.loss, ev.accuracy))
}

/// Trains one run to `cfg.epochs`, resuming from its folder. Returns `false` when it stopped
/// at the time limit.
fn train_run(
    cfg: &Config,
    model: &str,
    seed: u64,
    train: &Labelled,
    test: &Labelled,
    deadline: Instant,
) -> BoxResult<bool> {
    let dir = run_dir(cfg, model, seed);
    std::fs::create_dir_all(&dir)?;
    let &(_, kind, k) = MODELS
        .iter()
        .find(|m| m.0 == model)
        .ok_or("unknown model")?;
    let mut records = read_records(&dir)?;
    if records.len() >= cfg.epochs {
        return Ok(true);
    }
    let mut state = match load_state(&dir)? {
        Some(s) => s,
        None => {
            if !records.is_empty() {
                return Err(format!(
                    "{}: epochs recorded but no checkpoint; delete the folder to restart",
                    dir.display()
                )
                .into());
            }
            TrainState::new(authors_net(kind, k, seed)?)
        }
    };
    // Lines written after the checkpoint (a run stopped between the two): redo those epochs.
    records.truncate(state.epoch);
    if records.len() != state.epoch {
        return Err(format!(
            "{}: checkpoint at epoch {} but {} epochs recorded",
            dir.display(),
            state.epoch,
            records.len()
        )
        .into());
    }
    rewrite_records(&dir, &records)?;
    let recipe = authors_recipe(cfg.decay_every, seed);
    let bar = ProgressBar::new(cfg.epochs as u64);
    bar.set_style(
        ProgressStyle::with_template(
            "{prefix:>16} [{bar:30}] {pos}/{len} epochs, {elapsed} (eta {eta}) {msg}",
        )?
        .progress_chars("=> "),
    );
    bar.set_prefix(format!("{model} seed {seed}"));
    bar.set_position(state.epoch as u64);
    while state.epoch < cfg.epochs {
        if Instant::now() >= deadline {
            bar.abandon_with_message("stopped at the time limit; resumes next time");
            return Ok(false);
        }
        let t0 = Instant::now();
        let st = recipe.epoch(&mut state, train.images.as_ref(), &train.labels)?;
        let train_seconds = t0.elapsed().as_secs_f64();
        let t1 = Instant::now();
        let (test_loss, test_accuracy) = evaluate(&state.net, test)?;
        let rec = EpochRecord {
            epoch: st.epoch,
            learning_rate: st.learning_rate,
            train_loss: st.train_loss,
            train_accuracy: st.train_accuracy,
            test_loss,
            test_accuracy,
            train_seconds,
            test_seconds: t1.elapsed().as_secs_f64(),
        };
        // The epoch's line first, then the checkpoint: a run stopped between the two redoes
        // the epoch (the same batches, the same result) and keeps one line for it.
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("epochs.jsonl"))?;
        writeln!(f, "{}", serde_json::to_string(&rec)?)?;
        f.sync_all()?;
        if state.epoch < cfg.epochs {
            save_state(&dir, &state)?;
        }
        bar.set_position(state.epoch as u64);
        bar.set_message(format!(
            "test {:.2}%, train {:.2}%, {:.0} s/epoch",
            100.0 * test_accuracy,
            100.0 * st.train_accuracy,
            train_seconds
        ));
    }
    let _ = std::fs::remove_file(dir.join("state.json.gz"));
    bar.finish();
    Ok(true)
}

fn rewrite_records(dir: &Path, records: &[EpochRecord]) -> BoxResult<()> {
    let mut s = String::new();
    for r in records {
        writeln!(s, "{}", serde_json::to_string(r)?)?;
    }
    std::fs::write(dir.join("epochs.jsonl"), s)?;
    Ok(())
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let cfg = Config::parse(args)?;
    std::fs::create_dir_all(&cfg.results)?;
    if !cfg.report_only {
        let (train, test) = super::mnist_full()?;
        let start = Instant::now();
        let deadline = if cfg.max_minutes.is_finite() {
            start + std::time::Duration::from_secs_f64(60.0 * cfg.max_minutes)
        } else {
            start + std::time::Duration::from_secs(100 * 365 * 86_400)
        };
        // Seeds outermost: every model gets seed 0 before any gets seed 1.
        'outer: for &seed in &cfg.seeds {
            for model in &cfg.models {
                if !train_run(&cfg, model, seed, &train, &test, deadline)? {
                    break 'outer;
                }
                report(&cfg)?;
            }
        }
    }
    report(&cfg)
}

struct Summary {
    model: &'static str,
    params: usize,
    /// (seed, final accuracy %, epochs done, mean train seconds per epoch).
    runs: Vec<(u64, Option<f64>, usize, f64)>,
    curves: Vec<Vec<f64>>,
}

/// The seeds of the runs of `model` on disk for this schedule, with the requested ones.
fn seeds_of(cfg: &Config, model: &str) -> Vec<u64> {
    let prefix = format!("{model}-e{}-d{}-s", cfg.epochs, cfg.decay_every);
    let mut seeds = cfg.seeds.clone();
    if let Ok(entries) = std::fs::read_dir(&cfg.results) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(seed) = name.strip_prefix(&prefix).and_then(|t| t.parse().ok()) {
                seeds.push(seed);
            }
        }
    }
    seeds.sort_unstable();
    seeds.dedup();
    seeds
}

/// The report of every model and every run of this schedule on disk (not only the models and
/// seeds being trained now, so that training one model never hides the others' results).
fn report(cfg: &Config) -> BoxResult<()> {
    let (lo, hi) = window(cfg.epochs);
    let mut sums = Vec::new();
    let mut n_seeds = cfg.seeds.len();
    for &(model, ..) in MODELS.iter() {
        let seeds = seeds_of(cfg, model);
        n_seeds = n_seeds.max(seeds.len());
        let &(_, kind, k) = MODELS
            .iter()
            .find(|m| m.0 == model)
            .ok_or("unknown model")?;
        let params = authors_net(kind, k, 0)?.params().len();
        let mut runs = Vec::new();
        let mut curves = Vec::new();
        for &seed in &seeds {
            let recs = read_records(&run_dir(cfg, model, seed))?;
            if recs.is_empty() {
                continue;
            }
            let fin = (recs.len() >= cfg.epochs).then(|| {
                let w: Vec<f64> = recs[lo - 1..hi]
                    .iter()
                    .map(|r| 100.0 * r.test_accuracy)
                    .collect();
                mean_std(&w).0
            });
            let secs = recs.iter().map(|r| r.train_seconds).sum::<f64>() / recs.len() as f64;
            runs.push((seed, fin, recs.len(), secs));
            curves.push(recs.iter().map(|r| 100.0 * r.test_accuracy).collect());
        }
        sums.push(Summary {
            model,
            params,
            runs,
            curves,
        });
    }
    let mut md = String::new();
    writeln!(
        md,
        "# Unfolded ML-ISTA / ML-FISTA vs the CNN on the full MNIST (Sulam et al. 2019)\n\n\
         Written by `cargo xtask reproduce mlista --mnist-full --epochs {e} --decay-every {d}` \
         (seeds {seeds:?}). Train on the 60,000 training digits, test on the 10,000 test digits; \
         SGD lr 0.002, momentum 0.9, weight decay 1e-5, x0.2 every {d} epochs, batch 128, \
         float32. Final accuracy of a run: mean test accuracy of epochs {lo}-{hi} (of {e}; the \
         authors: 81-99 of 100).\n",
        e = cfg.epochs,
        d = cfg.decay_every,
        seeds = cfg.seeds,
    )?;
    writeln!(
        md,
        "| model | parameters | runs finished | final test accuracy (%) mean ± sd | per seed | \
         published (100 epochs) | train s/epoch |\n| --- | --- | --- | --- | --- | --- | --- |"
    )?;
    let mut finals: Vec<(&str, Vec<f64>)> = Vec::new();
    for s in &sums {
        let done: Vec<f64> = s.runs.iter().filter_map(|r| r.1).collect();
        let (m, sd) = mean_std(&done);
        let per: Vec<String> = s
            .runs
            .iter()
            .map(|(seed, f, n, _)| match f {
                Some(v) => format!("s{seed}: {v:.2}"),
                None => format!("s{seed}: {n}/{} epochs", cfg.epochs),
            })
            .collect();
        let secs = if s.runs.is_empty() {
            "-".to_string()
        } else {
            format!(
                "{:.0}",
                s.runs.iter().map(|r| r.3).sum::<f64>() / s.runs.len() as f64
            )
        };
        let published = PUBLISHED
            .iter()
            .find(|p| p.0 == s.model)
            .map(|p| format!("{:.2}", p.1))
            .unwrap_or_default();
        writeln!(
            md,
            "| {} | {} | {}/{} | {} | {} | {} | {} |",
            s.model,
            s.params,
            done.len(),
            n_seeds,
            if done.is_empty() {
                "-".to_string()
            } else if done.len() == 1 {
                format!("{m:.2}")
            } else {
                format!("{m:.2} ± {sd:.2}")
            },
            per.join(", "),
            published,
            secs
        )?;
        finals.push((s.model, done));
    }
    // The ordering of the references: CNN < ML-ISTA < ML-FISTA.
    writeln!(md)?;
    let get = |m: &str| finals.iter().find(|f| f.0 == m).map(|f| f.1.clone());
    for (a, b) in [("cnn", "mlista"), ("cnn", "mlfista"), ("mlista", "mlfista")] {
        if let (Some(va), Some(vb)) = (get(a), get(b)) {
            if va.len() >= 2 && vb.len() >= 2 {
                let ((ma, sa), (mb, sb)) = (mean_std(&va), mean_std(&vb));
                let pooled = ((sa * sa + sb * sb) / 2.0).sqrt();
                let se = (sa * sa / va.len() as f64 + sb * sb / vb.len() as f64).sqrt();
                writeln!(
                    md,
                    "- {b} − {a}: {:+.2} points ({} the references' ordering {a} < {b}); \
                     {:.1} pooled standard deviations, {:.1} standard errors of the difference \
                     ({} and {} seeds).",
                    mb - ma,
                    if mb > ma { "follows" } else { "reverses" },
                    (mb - ma) / pooled.max(1e-12),
                    (mb - ma) / se.max(1e-12),
                    va.len(),
                    vb.len()
                )?;
            }
        }
    }
    let md_path = cfg.results.join(format!("report_e{}.md", cfg.epochs));
    std::fs::write(&md_path, &md)?;
    plot(
        &cfg.results.join(format!("curves_e{}.svg", cfg.epochs)),
        &sums,
        cfg,
    )?;
    println!("{md}");
    eprintln!("wrote {}", md_path.display());
    Ok(())
}

fn plot(path: &Path, sums: &[Summary], cfg: &Config) -> BoxResult<()> {
    let all: Vec<f64> = sums
        .iter()
        .flat_map(|s| s.curves.iter().flatten().copied())
        .collect();
    if all.is_empty() {
        return Ok(());
    }
    let skip = |c: &Vec<f64>| c.iter().skip(c.len() / 5).copied().collect::<Vec<_>>();
    let lo = sums
        .iter()
        .flat_map(|s| s.curves.iter().flat_map(skip))
        .fold(100.0, f64::min);
    let ymin = (lo - 0.5).clamp(80.0, 99.0).floor();
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "MNIST test accuracy: CNN vs ML-ISTA / ML-FISTA (T = 6), {} epochs",
                cfg.epochs
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..cfg.epochs.max(2) as f64, ymin..100.0)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("test accuracy (%)")
        .draw()?;
    let colors = [BLACK, BLUE, RED];
    for (si, s) in sums.iter().enumerate() {
        let color = colors[si % colors.len()];
        for (ci, c) in s.curves.iter().enumerate() {
            let pts: Vec<(f64, f64)> = c
                .iter()
                .enumerate()
                .map(|(e, a)| ((e + 1) as f64, *a))
                .collect();
            let series = chart.draw_series(LineSeries::new(pts, color.stroke_width(2)))?;
            if ci == 0 {
                let name = match s.model {
                    "cnn" => "CNN (K = 1)",
                    "mlista" => "ML-ISTA (T = 6)",
                    _ => "ML-FISTA (T = 6)",
                };
                series.label(name).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            }
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
