//! `cargo xtask reproduce mlista`: supervised unfolded ML-ISTA / ML-FISTA networks (Sulam,
//! Aberdam, Beck & Elad, *On multi-layer basis pursuit, efficient algorithms and convolutional
//! neural networks*, IEEE TPAMI 2019): test accuracy against the number of unfoldings `K` at a
//! fixed parameter count (`K = 1` is the feed-forward ReLU network with the same parameters).
//!
//! Data: the UCI 8x8 digits (default; 1797 images, a seeded 1297 / 500 split) or, with
//! `--mnist`, an 8,000 / 2,000 seeded split of the shipped MNIST test set. Layers are dense
//! by default (short runs on a few cores); the reference's networks are convolutional, and
//! `--conv` uses valid convolutional layers instead (see `conv_specs`: the ML-ISTA paper's
//! MNIST architecture with a quarter of its channels). Every `K` starts from the same initial
//! parameters and is trained with the same schedule.
//!
//! Options: `--mnist`, `--conv`, `--epochs N`, `--ks 1,2,4,6`, `--dims 64,64,32`, `--lr X`, `--batch N`,
//! `--seed N`, `--no-fista`, `--quick`. Also `--dictlearn` (unsupervised convolutional ML-CSC
//! dictionary learning on MNIST and linear classifiers on its codes, see `mldl.rs` for the `--dl-*` options)
//! and `--adversarial` (gradient-sign attacks on a one-layer model against the margin bound)
//! run those experiments instead; `--mnist-full` runs the authors' full-MNIST experiment
//! (CNN vs ML-ISTA / ML-FISTA with T = 6, their recipe, several seeds, resumable: see
//! `mlista_full.rs`).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use indicatif::{ProgressBar, ProgressStyle};
use mlcsc::adversarial::{bp_margin_bound, min_flip, Coder};
use mlcsc::data::{read_digits_csv, read_mnist, Labelled};
use mlcsc::supervised::{LayerSpec, SupervisedTraining, UnfoldedNet, Unfolding};
use plotters::prelude::*;

use super::out_dir;
use crate::bench::{workspace_root, BoxResult};

#[derive(Debug, Clone)]
struct Config {
    mnist: bool,
    conv: bool,
    epochs: usize,
    ks: Vec<usize>,
    dims: Vec<usize>,
    lr: f64,
    batch: usize,
    seed: u64,
    fista: bool,
    repeats: usize,
    dictlearn: bool,
    /// The `--dl-*` options (and `--seed`) of `--dictlearn`, parsed by `mldl::DlConfig`.
    dl_args: Vec<(String, String)>,
    adversarial: bool,
}

fn parse_list(s: &str) -> BoxResult<Vec<usize>> {
    Ok(s.split(',')
        .map(|v| v.trim().parse())
        .collect::<Result<_, _>>()?)
}

impl Config {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mnist = args.iter().any(|a| a == "--mnist");
        let mut c = Config {
            mnist,
            conv: false,
            epochs: if mnist { 15 } else { 40 },
            ks: vec![1, 2, 4, 6],
            dims: if mnist {
                vec![784, 256, 128, 64]
            } else {
                vec![64, 64, 32]
            },
            lr: if mnist { 1e-3 } else { 3e-3 },
            batch: 64,
            seed: 2019,
            fista: true,
            repeats: if mnist { 2 } else { 5 },
            dictlearn: false,
            dl_args: Vec::new(),
            adversarial: false,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or(format!("`{a}` needs a value"));
            match a.as_str() {
                "--mnist" => {}
                "--conv" => c.conv = true,
                "--quick" => c.epochs = c.epochs.min(8),
                "--no-fista" => c.fista = false,
                "--dictlearn" => c.dictlearn = true,
                "--adversarial" => c.adversarial = true,
                o if o.starts_with("--dl-") => {
                    let v = value()?.clone();
                    c.dl_args.push((o.to_string(), v));
                }
                "--epochs" => c.epochs = value()?.parse()?,
                "--ks" => c.ks = parse_list(value()?)?,
                "--dims" => c.dims = parse_list(value()?)?,
                "--lr" => c.lr = value()?.parse()?,
                "--batch" => c.batch = value()?.parse()?,
                "--seed" => {
                    let v = value()?.clone();
                    c.seed = v.parse()?;
                    c.dl_args.push(("--seed".into(), v));
                }
                "--repeats" => c.repeats = value()?.parse()?,
                other => return Err(format!("unknown option `{other}`").into()),
            }
        }
        if c.repeats == 0 {
            return Err("`--repeats` must be at least 1".into());
        }
        if c.ks.is_empty() || c.ks.contains(&0) {
            return Err("`--ks` needs positive unfolding counts".into());
        }
        Ok(c)
    }
}

/// One trained network.
struct Run {
    kind: Unfolding,
    k: usize,
    params: usize,
    /// Mean test accuracy after every epoch, over the repeats.
    test_curve: Vec<f64>,
    /// Final train and test accuracy of every repeat.
    train_acc: Vec<f64>,
    test_acc: Vec<f64>,
    seconds: f64,
}

/// Mean and sample standard deviation (`n - 1`; 0 for a single value).
pub(super) fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0).max(1.0);
    (m, var.sqrt())
}

fn load(cfg: &Config) -> BoxResult<(Labelled, usize, &'static str)> {
    let assets = workspace_root().join("assets");
    if cfg.mnist {
        let all = read_mnist(
            assets.join("t10k-images-idx3-ubyte.gz"),
            assets.join("t10k-labels-idx1-ubyte.gz"),
        )?;
        Ok((all, 8000, "MNIST (8,000 / 2,000 split of the test set)"))
    } else {
        let all = read_digits_csv(assets.join("digits.csv.gz"))?;
        Ok((all, 1297, "UCI 8x8 digits (1,297 / 500 split)"))
    }
}

pub fn run(args: &[String]) -> BoxResult<()> {
    if args.iter().any(|a| a == "--mnist-full") {
        let rest: Vec<String> = args
            .iter()
            .filter(|a| *a != "--mnist-full")
            .cloned()
            .collect();
        return super::mlista_full::run(&rest);
    }
    let cfg = Config::parse(args)?;
    let dir = out_dir("mlista")?;
    if cfg.dictlearn || cfg.adversarial {
        if cfg.dictlearn {
            super::mldl::run(&dir, &super::mldl::DlConfig::parse(&cfg.dl_args)?)?;
        }
        if cfg.adversarial {
            adversarial(&dir, cfg.seed)?;
        }
        return Ok(());
    }
    let (all, n_train, name) = load(&cfg)?;
    let specs = conv_specs(cfg.mnist);
    if !cfg.conv && cfg.dims[0] != all.images.nrows() {
        return Err(format!(
            "`--dims` must start with the input length {}",
            all.images.nrows()
        )
        .into());
    }
    let classes = all.n_classes();
    let kinds: Vec<Unfolding> = if cfg.fista {
        vec![Unfolding::Ista, Unfolding::Fista]
    } else {
        vec![Unfolding::Ista]
    };
    let arch = architecture(&cfg);
    println!(
        "reproduce mlista: {name}, {arch}, K in {:?}, {} epochs, {} repeat(s)",
        cfg.ks, cfg.epochs, cfg.repeats
    );
    let nets = kinds.len() * cfg.ks.len() - (cfg.fista && cfg.ks.contains(&1)) as usize;
    let total = nets * cfg.epochs * cfg.repeats;
    let bar = ProgressBar::new(total as u64);
    bar.set_style(ProgressStyle::with_template(
        "{bar:40} {pos}/{len} epochs  {msg}  [{elapsed_precise}]",
    )?);
    let start = Instant::now();
    let mut runs: Vec<Run> = Vec::new();
    for rep in 0..cfg.repeats {
        // Repeat r: its own split and initialisation, shared by every K and kind.
        let seed = cfg.seed + rep as u64;
        let (train, test) = all.split(n_train, seed)?;
        let mut at = 0;
        for &kind in &kinds {
            for &k in &cfg.ks {
                if kind == Unfolding::Fista && k == 1 {
                    continue; // the same network as ML-ISTA's K = 1
                }
                let t0 = Instant::now();
                let mut net = if cfg.conv {
                    let (h, w) = all.shape;
                    UnfoldedNet::convolutional((1, h, w), &specs, classes, k, kind, seed)?
                } else {
                    UnfoldedNet::new(&cfg.dims, classes, k, kind, seed)?
                };
                let mut curve = Vec::new();
                SupervisedTraining::default()
                    .epochs(cfg.epochs)
                    .batch_size(cfg.batch)
                    .learning_rate(cfg.lr)
                    .seed(seed)
                    .fit(&mut net, train.images.as_ref(), &train.labels, |st, n| {
                        let acc = n
                            .accuracy(test.images.as_ref(), &test.labels)
                            .unwrap_or(f64::NAN);
                        curve.push(acc);
                        bar.set_message(format!(
                            "{kind:?} K={k} rep {rep} epoch {} loss {:.4} test {:.2}%",
                            st.epoch,
                            st.train_loss,
                            100.0 * acc
                        ));
                        bar.inc(1);
                    })?;
                if rep == 0 {
                    runs.push(Run {
                        kind,
                        k,
                        params: net.params().len(),
                        test_curve: vec![0.0; curve.len()],
                        train_acc: Vec::new(),
                        test_acc: Vec::new(),
                        seconds: 0.0,
                    });
                }
                let r = &mut runs[at];
                at += 1;
                let w = 1.0 / cfg.repeats as f64;
                r.test_curve
                    .iter_mut()
                    .zip(&curve)
                    .for_each(|(a, c)| *a += w * c);
                r.train_acc
                    .push(net.accuracy(train.images.as_ref(), &train.labels)?);
                r.test_acc.push(*curve.last().unwrap_or(&f64::NAN));
                r.seconds += w * t0.elapsed().as_secs_f64();
            }
        }
    }
    bar.finish_and_clear();
    let md = markdown(&cfg, name, &runs, start.elapsed().as_secs_f64());
    println!("{md}");
    let tag = match (cfg.mnist, cfg.conv) {
        (true, false) => "mnist",
        (true, true) => "mnist_conv",
        (false, false) => "digits",
        (false, true) => "digits_conv",
    };
    std::fs::write(dir.join(format!("results_{tag}.md")), &md)?;
    write_csv(&dir.join(format!("curves_{tag}.csv")), &runs)?;
    plot(&dir.join(format!("accuracy_{tag}.svg")), &runs, name)?;
    plot_vs_k(&dir.join(format!("accuracy_vs_k_{tag}.svg")), &runs, name)?;
    println!("wrote {}", dir.display());
    Ok(())
}

/// The convolutional architecture of `--conv`: the 3-layer network of the ML-ISTA paper's
/// MNIST experiment (filters 6x6 stride 2, 6x6 stride 2, 4x4) with a quarter of its channels
/// (16, 32, 64), so that `K = 6` trains in minutes on two cores; on the 8x8 digits, 3x3, 3x3,
/// 4x4 filters with stride 1.
fn conv_specs(mnist: bool) -> Vec<LayerSpec> {
    let conv = |maps, k, stride| LayerSpec::Conv {
        maps,
        kernel: (k, k),
        stride,
    };
    if mnist {
        vec![conv(16, 6, 2), conv(32, 6, 2), conv(64, 4, 1)]
    } else {
        vec![conv(16, 3, 1), conv(32, 3, 1), conv(64, 4, 1)]
    }
}

fn architecture(cfg: &Config) -> String {
    if cfg.conv {
        let parts: Vec<String> = conv_specs(cfg.mnist)
            .iter()
            .map(|s| match s {
                LayerSpec::Conv {
                    maps,
                    kernel,
                    stride,
                } => format!("{maps} filters {}x{} stride {stride}", kernel.0, kernel.1),
                LayerSpec::Dense(m) => format!("dense {m}"),
            })
            .collect();
        format!("Valid convolutional layers: {}", parts.join(", "))
    } else {
        format!("Dense layers {:?}", cfg.dims)
    }
}

fn markdown(cfg: &Config, name: &str, runs: &[Run], wall: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Unfolded ML-ISTA / ML-FISTA networks: accuracy against unfoldings\n"
    );
    let _ = writeln!(
        s,
        "Data: {name}. {}, ReLU (non-negative soft thresholding), linear \
         classifier with softmax cross-entropy; Adam, {} epochs, batch {}, learning rate {} \
         (x0.95 per epoch), seeds {}... Each run draws its own split and initial parameters, shared by every K; the parameter \
         count does not depend on K. Total wall time {:.0} s.\n",
        architecture(cfg), cfg.epochs, cfg.batch, cfg.lr, cfg.seed, wall
    );
    let _ = writeln!(
        s,
        "| network | K | parameters | train acc. | test acc. (mean +- std over {} run(s)) | time per run (s) |",
        cfg.repeats
    );
    let _ = writeln!(s, "| --- | --- | --- | --- | --- | --- |");
    for r in runs {
        let label = match (r.kind, r.k) {
            (_, 1) => "feed-forward (K = 1)".to_string(),
            (Unfolding::Ista, _) => "ML-ISTA".to_string(),
            (Unfolding::Fista, _) => "ML-FISTA".to_string(),
        };
        let (tr, _) = mean_std(&r.train_acc);
        let (te, sd) = mean_std(&r.test_acc);
        let _ = writeln!(
            s,
            "| {label} | {} | {} | {:.2}% | {:.2}% +- {:.2} | {:.1} |",
            r.k,
            r.params,
            100.0 * tr,
            100.0 * te,
            100.0 * sd,
            r.seconds
        );
    }
    s
}

/// Final test accuracy (mean, with one standard deviation as a bar) against `K`.
fn plot_vs_k(path: &Path, runs: &[Run], name: &str) -> BoxResult<()> {
    let kmax = runs.iter().map(|r| r.k).max().unwrap_or(1) as f64;
    let stats: Vec<(Unfolding, usize, f64, f64)> = runs
        .iter()
        .map(|r| {
            let (m, s) = mean_std(&r.test_acc);
            (r.kind, r.k, 100.0 * m, 100.0 * s)
        })
        .collect();
    let lo = stats.iter().map(|s| s.2 - s.3).fold(100.0, f64::min);
    let hi = stats.iter().map(|s| s.2 + s.3).fold(0.0, f64::max);
    let root = SVGBackend::new(path, (700, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!("final test accuracy vs unfoldings K, {name}"),
            ("sans-serif", 17),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.5..kmax + 0.5, (lo - 0.5)..(hi + 0.5))?;
    chart
        .configure_mesh()
        .x_desc("unfoldings K (same parameters)")
        .y_desc("test accuracy (%)")
        .draw()?;
    for (kind, color, dx) in [
        (Unfolding::Ista, BLUE, -0.05),
        (Unfolding::Fista, RED, 0.05),
    ] {
        // K = 1 is the shared feed-forward network.
        let pts: Vec<(f64, f64, f64)> = stats
            .iter()
            .filter(|s| s.0 == kind || s.1 == 1)
            .map(|s| (s.1 as f64 + dx, s.2, s.3))
            .collect();
        if pts.len() < 2 && kind == Unfolding::Fista {
            continue;
        }
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts.iter().map(|p| (p.0, p.1)), style))?
            .label(format!("{kind:?}"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
        chart.draw_series(
            pts.iter()
                .map(|p| Circle::new((p.0, p.1), 4, color.filled())),
        )?;
        chart.draw_series(
            pts.iter()
                .map(|p| PathElement::new(vec![(p.0, p.1 - p.2), (p.0, p.1 + p.2)], color)),
        )?;
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

fn write_csv(path: &Path, runs: &[Run]) -> BoxResult<()> {
    let mut s = String::from("kind,k,epoch,test_accuracy\n");
    for r in runs {
        for (e, a) in r.test_curve.iter().enumerate() {
            let _ = writeln!(s, "{:?},{},{},{a}", r.kind, r.k, e + 1);
        }
    }
    std::fs::write(path, s)?;
    Ok(())
}

fn plot(path: &Path, runs: &[Run], name: &str) -> BoxResult<()> {
    let epochs = runs
        .iter()
        .map(|r| r.test_curve.len())
        .max()
        .unwrap_or(1)
        .max(2);
    let lo = runs
        .iter()
        .flat_map(|r| r.test_curve.iter().skip(epochs / 4))
        .copied()
        .fold(1.0, f64::min);
    let ymin = (100.0 * lo - 2.0).clamp(0.0, 99.0);
    let root = SVGBackend::new(path, (820, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("test accuracy, {name}"), ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..epochs as f64, ymin..100.0)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc("test accuracy (%)")
        .draw()?;
    let colors = [BLACK, BLUE, RED, GREEN, CYAN, MAGENTA];
    for r in runs {
        let ci = runs
            .iter()
            .filter(|o| o.kind == r.kind)
            .position(|o| o.k == r.k)
            .unwrap_or(0);
        let color = colors[ci % colors.len()];
        let width = if r.kind == Unfolding::Ista { 2 } else { 1 };
        let style = color.stroke_width(width);
        let pts: Vec<(f64, f64)> = r
            .test_curve
            .iter()
            .enumerate()
            .map(|(e, a)| ((e + 1) as f64, 100.0 * a))
            .collect();
        let label = match r.kind {
            Unfolding::Ista => format!("ML-ISTA K={}", r.k),
            Unfolding::Fista => format!("ML-FISTA K={} (thin)", r.k),
        };
        chart
            .draw_series(LineSeries::new(pts, style))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
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

/// Adversarial stability of a one-layer model (Romano, Aberdam, Sulam & Elad): `x = D gamma`,
/// `D = [I, DCT]` (64 x 128), `||gamma||_0 = 2`, a linear classifier trained by logistic regression
/// on the codes; the smallest gradient-sign perturbation that flips the label under thresholding
/// and under basis pursuit, next to the certified BP radius `O_B / (7.5 ||gamma||_0 ||w||_2)`.
fn adversarial(dir: &Path, seed: u64) -> BoxResult<()> {
    use rand::Rng;
    let d = sparse_core::Dictionary::identity_dct(64)?;
    let mu = d.coherence();
    let mut rng = sparse_core::generate::rng(seed);
    let w_true: Vec<f64> = (0..128).map(|_| rng.random_range(-1.0..1.0)).collect();
    let (n_train, n_test) = (2000, 200);
    // Between the largest off-support (mu s = 0.35) and smallest on-support (0.8 - mu = 0.62)
    // correlation: the threshold that recovers every support of the clean signals.
    const BETA: f64 = 0.48;
    let gamma =
        sparse_core::generate::sparseland_codes(128, 2, n_train + n_test, 0.8, 1.0, &mut rng)?;
    let label = |j: usize| {
        let s: f64 = (0..128).map(|i| w_true[i] * gamma[(i, j)]).sum();
        if s >= 0.0 {
            1.0
        } else {
            -1.0
        }
    };
    // Logistic regression on the true codes (the "trained" classifier), plain gradient descent.
    let mut w = vec![0.0; 128];
    for _ in 0..300 {
        let mut g = vec![0.0; 128];
        for j in 0..n_train {
            let y = label(j);
            let m: f64 = y * (0..128).map(|i| w[i] * gamma[(i, j)]).sum::<f64>();
            let c = -y / (1.0 + m.exp());
            for (i, gi) in g.iter_mut().enumerate() {
                *gi += c * gamma[(i, j)] / n_train as f64;
            }
        }
        w.iter_mut().zip(&g).for_each(|(a, b)| *a -= 2.0 * b);
    }
    let w_norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let x = sparse_core::LinearOperator::apply(&d, gamma.as_ref())?;
    let (mut thr, mut bp, mut bound, mut bp_inside) = (vec![], vec![], vec![], 0usize);
    let (mut thr_wrong, mut bp_wrong) = (0usize, 0usize);
    for j in n_train..n_train + n_test {
        let score: f64 = (0..128).map(|i| w[i] * gamma[(i, j)]).sum();
        let y = score.signum();
        let Some(eps) = bp_margin_bound(score.abs(), 2, w_norm, mu) else {
            continue;
        };
        let xj: Vec<f64> = x.col(j).iter().copied().collect();
        let b = min_flip(Coder::Bp { lambda: 4.0 * eps }, &d, &w, &xj, y, 3.0, 60)?;
        let t = min_flip(Coder::Thresholding { beta: BETA }, &d, &w, &xj, y, 3.0, 60)?;
        bp_inside += b.is_some_and(|f| f <= eps) as usize;
        bp_wrong += (b == Some(0.0)) as usize;
        thr_wrong += (t == Some(0.0)) as usize;
        bp.push(b.unwrap_or(3.0));
        thr.push(t.unwrap_or(3.0));
        bound.push(eps);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
    };
    let n = bound.len();
    let mut md = String::from("# Adversarial stability of a one-layer sparse classifier\n\n");
    let _ = writeln!(
        md,
        "D = [I, DCT] (64 x 128, mu = {mu:.3}), ||gamma||_0 = 2, classifier by logistic regression \
         on 2000 codes; {n} test signals with a certified radius. Gradient-sign (FGSM) attack, \
         smallest flipping l2 norm (3.0 = not flipped up to 3.0). Contrast 0.8; thresholding uses \
         beta = {BETA} (its supports are exact on clean signals), BP lambda = 4 eps (eps = the \
         certified radius of each signal). \"Flips inside the radius\" counts signals flipped by a \
         perturbation no larger than the certified BP radius.\n"
    );
    md.push_str("| coder | median flipping eps | median certified radius (BP theorem) | flips inside the radius | of which wrong without attack |\n| --- | --- | --- | --- | --- |\n");
    let mb = median(&mut bound.clone());
    let thr_inside = thr.iter().zip(&bound).filter(|(t, b)| t <= b).count();
    let _ = writeln!(
        md,
        "| thresholding | {:.4} | {mb:.4} | {thr_inside} / {n} | {thr_wrong} |",
        median(&mut thr)
    );
    let _ = writeln!(
        md,
        "| basis pursuit | {:.4} | {mb:.4} | {bp_inside} / {n} | {bp_wrong} |",
        median(&mut bp)
    );
    println!("{md}");
    std::fs::write(dir.join("adversarial.md"), md)?;
    Ok(())
}
