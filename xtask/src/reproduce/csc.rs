//! `cargo xtask reproduce csc`: convolutional dictionary learning and convolutional sparse
//! coding denoising (Wohlberg 2016, "Efficient algorithms for convolutional sparse
//! representations", IEEE TIP 25(1); the pre-processing of SPORCO's examples).
//!
//! Training: four 128 x 128 crops of shipped images (astronaut twice, coins, moon), each averaged
//! 2 x 2 and scaled to `[0, 1]`, high-pass filtered as SPORCO's examples do (the image minus its
//! Tikhonov low-pass, `tikhonov_filter(img, 5.0, npd=16)`). 32 filters of 8 x 8 are learned from
//! random Gaussian filters by [`ConvDictLearn`]'s alternation: CBPDN coding (50 ADMM iterations,
//! warm-started) and the Fourier-domain constrained dictionary update (20 ADMM iterations),
//! `--iters` outer iterations at `lambda = 0.1`. The loop is the one of `ConvDictLearn::learn`,
//! written out here so that progress and the functional are reported after every iteration.
//!
//! Denoising: the held-out `camera` image (2 x 2 average, 256 x 256) with white Gaussian noise of
//! sigma = 15 on the 0..255 scale. Its low-pass part (Tikhonov, lambda 5) is kept; its high-pass
//! part is coded by [`Cbpdn`] (200 iterations at most) over the learned dictionary and, for
//! comparison, over the random initial one, for a few penalties `lambda`; the estimate is
//! `D * X + low-pass`, clipped to `[0, 1]`. PSNR on the 0..255 scale.
//!
//! Writes under `target/reproduce/csc/`: `filters.png` (learned) and `filters_init.png` (random
//! start), each filter rescaled to the display range and shown 4x enlarged with 1-px borders;
//! `functional.svg` (the learning functional per outer iteration, and the CBPDN functional per
//! ADMM iteration of the denoising solves); `clean.png`, `noisy.png`, `denoised.png` (learned
//! dictionary, best lambda), `denoised_random.png`; `summary.md`, `psnr.csv`, `learning.csv`.
//!
//! Inpainting (`super::inpaint`): the same held-out image with half its pixels missing, filled
//! by masked CBPDN over the learned filters and by Tikhonov interpolation; `masked.png`,
//! `inpainted.png`, `inpainted_tikhonov.png` and a section of `summary.md`.
//!
//! Options: `--iters N` (outer learning iterations, default 30), `--lambda L` (learning penalty),
//! `--sigma S`, `--seed N`.

use sparse_core::Solve;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use csc::{cbpdn_objective, tikhonov_filter, Cbpdn, ConvDictLearn, ConvDictionary, Grid};
use faer::{Mat, Par};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use sparse_core::generate;
use sparse_core::io::{read_png_gray, write_png_gray};
use sparse_core::metrics::psnr;

use super::out_dir;
use crate::bench::{markdown, workspace_root, BoxResult};

const FILTER: usize = 8;
const N_FILTERS: usize = 32;
const TRAIN: usize = 128;
const TEST: usize = 256;
const TIKHONOV: f64 = 5.0;
const CODING_ITER: usize = 50;
const DICT_ITER: usize = 20;
const DENOISE_ITER: usize = 200;
/// Penalties of the denoising solves (high-pass part in `[0, 1]` units).
const DENOISE_LAMBDAS: [f64; 5] = [0.05, 0.1, 0.15, 0.2, 0.3];
/// Training crops: image, top-left corner in the 2 x 2 averaged image.
const CROPS: [(&str, usize, usize); 4] = [
    ("astronaut_gray", 8, 48),
    ("astronaut_gray", 128, 0),
    ("coins", 12, 32),
    ("moon", 0, 0),
];

#[derive(Debug, Clone)]
struct Config {
    iters: usize,
    lambda: f64,
    sigma: f64,
    seed: u64,
}

impl Config {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mut c = Config {
            iters: 30,
            lambda: 0.1,
            sigma: 15.0,
            seed: 2016,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "--iters" => c.iters = value()?.parse()?,
                "--lambda" => c.lambda = value()?.parse()?,
                "--sigma" => c.sigma = value()?.parse()?,
                "--seed" => c.seed = value()?.parse()?,
                other => return Err(format!("unknown option `{other}` for `reproduce csc`").into()),
            }
        }
        if c.iters == 0 {
            return Err("--iters must be at least 1".into());
        }
        Ok(c)
    }
}

/// One denoising solve.
struct Denoised {
    dictionary: &'static str,
    lambda: f64,
    psnr: f64,
    iterations: usize,
    nnz_per_pixel: f64,
    seconds: f64,
    history: Vec<f64>,
    image: Mat<f64>,
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let cfg = Config::parse(args)?;
    let dir = out_dir("csc")?;
    let start = Instant::now();
    let bar = ProgressBar::new((cfg.iters + 2 + 2 * DENOISE_LAMBDAS.len()) as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len}  {msg}",
    )?);

    // Training signals: high-pass parts of the crops, one column each.
    let train_grid = Grid::d2(TRAIN, TRAIN);
    let mut y = Mat::<f64>::zeros(TRAIN * TRAIN, CROPS.len());
    for (k, &(name, r0, c0)) in CROPS.iter().enumerate() {
        let img = load_half(name)?;
        if r0 + TRAIN > img.nrows() || c0 + TRAIN > img.ncols() {
            return Err(format!("crop of {name} out of range").into());
        }
        let crop = img.as_ref().submatrix(r0, c0, TRAIN, TRAIN).to_owned();
        let (_, high) = tikhonov_filter(crop.as_ref(), TIKHONOV, 16)?;
        for j in 0..TRAIN {
            for i in 0..TRAIN {
                y[(i + TRAIN * j, k)] = high[(i, j)];
            }
        }
    }

    // Learning: ConvDictLearn's alternation, one outer iteration at a time.
    let mut rng = generate::rng(cfg.seed);
    let init = ConvDictionary::random(Grid::d2(FILTER, FILTER), 1, N_FILTERS, &mut rng)?;
    let learner = ConvDictLearn::new(cfg.lambda)
        .coding_iter(CODING_ITER)
        .dict_iter(DICT_ITER);
    let coder = Cbpdn::new(cfg.lambda).max_iter(CODING_ITER);
    let t_learn = Instant::now();
    let mut dict = init.clone();
    let mut prev: Option<Mat<f64>> = None;
    let mut objective = Vec::with_capacity(cfg.iters + 1);
    for it in 0..=cfg.iters {
        let op = dict.operator(train_grid)?;
        let codes = match &prev {
            None => coder.solve(&op, y.as_ref())?.codes,
            Some(c) => coder.solve_warm(&op, y.as_ref(), c.as_ref())?.codes,
        };
        let f = cbpdn_objective(&op, codes.as_ref(), y.as_ref(), cfg.lambda, Par::rayon(0))?;
        objective.push(f);
        bar.set_message(format!("learning: iteration {it}, functional {f:.3}"));
        bar.inc(1);
        if it == cfg.iters {
            break;
        }
        dict = learner.update_dictionary(&dict, train_grid, 1, y.as_ref(), codes.as_ref())?;
        prev = Some(codes);
    }
    let learn_s = t_learn.elapsed().as_secs_f64();
    write_png_gray(dir.join("filters.png"), tile_filters(&dict)?.as_ref())?;
    write_png_gray(dir.join("filters_init.png"), tile_filters(&init)?.as_ref())?;

    // Denoising the held-out image.
    let clean = load_half("camera")?;
    let clean = clean
        .as_ref()
        .submatrix(
            (clean.nrows() - TEST) / 2,
            (clean.ncols() - TEST) / 2,
            TEST,
            TEST,
        )
        .to_owned();
    let mut nrng = generate::rng(cfg.seed.wrapping_add(15));
    let noisy = generate::add_noise(clean.as_ref(), cfg.sigma / 255.0, &mut nrng)?;
    let (low, high) = tikhonov_filter(noisy.as_ref(), TIKHONOV, 16)?;
    let test_grid = Grid::d2(TEST, TEST);
    let s = Mat::from_fn(TEST * TEST, 1, |k, _| high[(k % TEST, k / TEST)]);
    let to255 = |m: &Mat<f64>| Mat::from_fn(m.nrows(), m.ncols(), |i, j| 255.0 * m[(i, j)]);
    let clean255 = to255(&clean);
    let noisy_psnr = psnr(clean255.as_ref(), to255(&noisy).as_ref(), 255.0)?;
    let lowpass_psnr = psnr(clean255.as_ref(), to255(&low).as_ref(), 255.0)?;
    let mut results = Vec::new();
    for (name, d) in [("learned", &dict), ("random", &init)] {
        let op = d.operator(test_grid)?;
        for &lambda in &DENOISE_LAMBDAS {
            bar.set_message(format!("denoising: {name} dictionary, lambda {lambda}"));
            let t = Instant::now();
            let res = Cbpdn::new(lambda)
                .max_iter(DENOISE_ITER)
                .solve(&op, s.as_ref())?;
            let seconds = t.elapsed().as_secs_f64();
            let rec = op.synthesize(res.codes.as_ref(), Par::rayon(0))?;
            let image = Mat::from_fn(TEST, TEST, |i, j| {
                (rec[(i + TEST * j, 0)] + low[(i, j)]).clamp(0.0, 1.0)
            });
            let info = &res.diagnostics[0];
            results.push(Denoised {
                dictionary: name,
                lambda,
                psnr: psnr(clean255.as_ref(), to255(&image).as_ref(), 255.0)?,
                iterations: info.iterations,
                nnz_per_pixel: sparse_core::norms::l0(res.codes.col_as_slice(0), 0.0) as f64
                    / (TEST * TEST) as f64,
                seconds,
                history: info.records().iter().map(|h| h.objective).collect(),
                image,
            });
            bar.inc(1);
        }
    }
    bar.set_message("inpainting: 50% missing pixels, masked CBPDN and Tikhonov interpolation");
    let inpainting = super::inpaint::run(&dict, &clean, cfg.seed, &dir)?;
    bar.inc(1);
    bar.finish_and_clear();

    let best = |name: &str| {
        results
            .iter()
            .filter(|r| r.dictionary == name)
            .max_by(|a, b| a.psnr.total_cmp(&b.psnr))
    };
    let (Some(best_learned), Some(best_random)) = (best("learned"), best("random")) else {
        return Err("no denoising result".into());
    };
    write_png_gray(dir.join("clean.png"), clean255.as_ref())?;
    write_png_gray(dir.join("noisy.png"), to255(&noisy).as_ref())?;
    write_png_gray(
        dir.join("denoised.png"),
        to255(&best_learned.image).as_ref(),
    )?;
    write_png_gray(
        dir.join("denoised_random.png"),
        to255(&best_random.image).as_ref(),
    )?;
    plot(
        &dir.join("functional.svg"),
        &objective,
        &[best_learned, best_random],
    )?;
    write_csvs(&dir, &objective, &results)?;
    let total_s = start.elapsed().as_secs_f64();
    let mut md = summary(
        &cfg,
        &objective,
        learn_s,
        noisy_psnr,
        lowpass_psnr,
        &results,
        (best_learned, best_random),
        total_s,
    );
    md.push_str(&inpainting);
    println!("{md}");
    std::fs::write(dir.join("summary.md"), &md)?;
    println!("wrote {}", dir.display());
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn summary(
    cfg: &Config,
    objective: &[f64],
    learn_s: f64,
    noisy_psnr: f64,
    lowpass_psnr: f64,
    results: &[Denoised],
    (learned, random): (&Denoised, &Denoised),
    total_s: f64,
) -> String {
    let mut md = String::from("# Convolutional dictionary learning and CSC denoising\n\n");
    let crops: Vec<String> = CROPS
        .iter()
        .map(|(n, r, c)| format!("{n} at ({r}, {c})"))
        .collect();
    let _ = writeln!(
        md,
        "Learning: {N_FILTERS} filters of {FILTER} x {FILTER} from random Gaussian ones, \
         {} {TRAIN} x {TRAIN} crops (2 x 2 averages in [0, 1]: {}), high-pass part after a \
         Tikhonov low-pass (lambda {TIKHONOV}), lambda = {}, {} outer iterations of CBPDN \
         ({CODING_ITER} ADMM iterations, warm-started) and the constrained dictionary update \
         ({DICT_ITER} ADMM iterations). Functional 1/2 ||D * X - S||^2 + lambda ||X||_1 over \
         the training set: {:.3} (random filters) -> {:.3} after {} iterations, in {:.1} s \
         ({} rayon threads).\n",
        CROPS.len(),
        crops.join(", "),
        cfg.lambda,
        cfg.iters,
        objective.first().copied().unwrap_or(f64::NAN),
        objective.last().copied().unwrap_or(f64::NAN),
        cfg.iters,
        learn_s,
        rayon::current_num_threads(),
    );
    let _ = writeln!(
        md,
        "Denoising: held-out camera ({TEST} x {TEST}, 2 x 2 average) with Gaussian noise of \
         sigma = {} (0..255 scale). The noisy image's Tikhonov low-pass part is kept, its \
         high-pass part is coded by CBPDN (SPORCO's defaults, at most {DENOISE_ITER} \
         iterations) and the estimate is D * X + low-pass, clipped to [0, 1]. PSNR in dB \
         (peak 255); noisy {noisy_psnr:.2} dB, the low-pass part alone {lowpass_psnr:.2} dB.\n",
        cfg.sigma
    );
    let body: Vec<Vec<String>> = results
        .iter()
        .map(|r| {
            vec![
                r.dictionary.to_string(),
                format!("{}", r.lambda),
                format!("{noisy_psnr:.2}"),
                format!("{:.2}", r.psnr),
                format!("{:+.2}", r.psnr - noisy_psnr),
                r.iterations.to_string(),
                format!("{:.3}", r.nnz_per_pixel),
                format!("{:.2}", r.seconds),
            ]
        })
        .collect();
    md.push_str(&markdown(
        &[
            "dictionary",
            "lambda",
            "noisy PSNR",
            "denoised PSNR",
            "gain dB",
            "ADMM iterations",
            "non-zeros / pixel",
            "seconds",
        ],
        &body,
    ));
    let _ = writeln!(
        md,
        "\nBest: learned dictionary {:.2} dB (lambda {}), random dictionary {:.2} dB (lambda {}): \
         learning adds {:+.2} dB; noisy {noisy_psnr:.2} dB -> denoised {:.2} dB ({:+.2} dB). \
         The lambdas are a fixed grid, and the best of it is chosen against the clean image \
         (an oracle choice, for both dictionaries alike).\n\nTotal run time {total_s:.1} s.",
        learned.psnr,
        learned.lambda,
        random.psnr,
        random.lambda,
        learned.psnr - random.psnr,
        learned.psnr,
        learned.psnr - noisy_psnr,
    );
    md
}

fn write_csvs(dir: &Path, objective: &[f64], results: &[Denoised]) -> BoxResult<()> {
    let mut s = String::from("iteration,functional\n");
    for (k, f) in objective.iter().enumerate() {
        let _ = writeln!(s, "{k},{f:.6}");
    }
    std::fs::write(dir.join("learning.csv"), s)?;
    let mut s =
        String::from("dictionary,lambda,psnr,iterations,nnz_per_pixel,seconds,final_functional\n");
    for r in results {
        let _ = writeln!(
            s,
            "{},{},{:.4},{},{:.4},{:.4},{:.6}",
            r.dictionary,
            r.lambda,
            r.psnr,
            r.iterations,
            r.nnz_per_pixel,
            r.seconds,
            r.history.last().copied().unwrap_or(f64::NAN)
        );
    }
    std::fs::write(dir.join("psnr.csv"), s)?;
    Ok(())
}

/// Left: the learning functional per outer iteration. Right: the CBPDN functional per ADMM
/// iteration of the best denoising solves (log scale).
fn plot(path: &Path, objective: &[f64], solves: &[&Denoised]) -> BoxResult<()> {
    let root = SVGBackend::new(path, (1100, 460)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);

    let n = objective.len().max(2) as f64 - 1.0;
    let ymax = objective.iter().copied().fold(f64::MIN, f64::max);
    let ymin = objective.iter().copied().fold(f64::MAX, f64::min);
    let pad = 0.05 * (ymax - ymin).max(1e-9);
    let mut chart = ChartBuilder::on(&left)
        .caption(
            "dictionary learning: training functional",
            ("sans-serif", 18),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0f64..n, (ymin - pad)..(ymax + pad))?;
    chart
        .configure_mesh()
        .x_desc("outer iteration")
        .y_desc("1/2 ||DX - S||^2 + lambda ||X||_1")
        .draw()?;
    let pts: Vec<(f64, f64)> = objective
        .iter()
        .enumerate()
        .map(|(k, &f)| (k as f64, f))
        .collect();
    chart.draw_series(LineSeries::new(pts.clone(), BLUE.stroke_width(2)))?;
    chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, BLUE.filled())))?;

    let iters = solves
        .iter()
        .map(|s| s.history.len())
        .max()
        .unwrap_or(2)
        .max(2) as f64;
    let vals = solves.iter().flat_map(|s| s.history.iter().copied());
    let hi = vals.clone().fold(f64::MIN, f64::max) * 1.2;
    let lo = vals.fold(f64::MAX, f64::min).max(1e-12) / 1.2;
    let mut chart = ChartBuilder::on(&right)
        .caption("denoising: CBPDN functional", ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(1f64..iters, (lo..hi).log_scale())?;
    chart
        .configure_mesh()
        .x_desc("ADMM iteration")
        .y_desc("functional")
        .draw()?;
    for (s, color) in solves.iter().zip([BLUE, RED]) {
        let pts: Vec<(f64, f64)> = s
            .history
            .iter()
            .enumerate()
            .map(|(k, &f)| ((k + 1) as f64, f))
            .collect();
        let style = color.stroke_width(2);
        chart
            .draw_series(LineSeries::new(pts, style))?
            .label(format!("{} dictionary, lambda {}", s.dictionary, s.lambda))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// `assets/NAME.png` averaged over 2 x 2 blocks and scaled to `[0, 1]`.
fn load_half(name: &str) -> BoxResult<Mat<f64>> {
    let img = read_png_gray(workspace_root().join("assets").join(format!("{name}.png")))?;
    let (h, w) = (img.nrows() / 2, img.ncols() / 2);
    Ok(Mat::from_fn(h, w, |i, j| {
        (img[(2 * i, 2 * j)]
            + img[(2 * i + 1, 2 * j)]
            + img[(2 * i, 2 * j + 1)]
            + img[(2 * i + 1, 2 * j + 1)])
            / (4.0 * 255.0)
    }))
}

/// The filters as a tiled picture: each `8 x 8` filter rescaled to `[0, 255]`, enlarged
/// `SCALE` times, on a grid of 8 columns separated by 1-pixel white borders.
pub(super) fn tile_filters(d: &ConvDictionary) -> BoxResult<Mat<f64>> {
    const SCALE: usize = 4;
    let g = d.filter_grid();
    let m = d.n_filters();
    let mut filters = Mat::<f64>::zeros(g.len(), m);
    for a in 0..m {
        filters
            .col_mut(a)
            .iter_mut()
            .zip(d.filter(a)?)
            .for_each(|(x, v)| *x = *v);
    }
    Ok(crate::pictures::tile(
        filters.as_ref(),
        (g.rows, g.cols),
        8.min(m),
        SCALE,
    ))
}
