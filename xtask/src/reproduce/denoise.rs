//! `cargo xtask reproduce denoise`: K-SVD image denoising (Elad & Aharon, *Image denoising via
//! sparse and redundant representations over learned dictionaries*, IEEE TIP 2006).
//!
//! For a 256 x 256 crop of each image and sigma in {5, 10, 15, 20, 25, 50}: white Gaussian noise,
//! then denoising with the fixed overcomplete DCT (64 x 256) and with a dictionary learned by
//! K-SVD (10 iterations) on the noisy 8 x 8 patches, Batch-OMP to `eps = 1.15 sigma 8`, and the
//! weighted average with `lambda = 30 / sigma`. Writes under `target/reproduce/denoise/`:
//! `psnr.md` / `psnr.csv` (the PSNR table with timings), the clean / noisy / denoised images and
//! the learned atoms as PNG, and `convergence.svg` (K-SVD's representation error and sparsity
//! per iteration).
//!
//! Options: `--all` (also astronaut, moon and coins), `--sigmas 10,25`, `--iterations N`,
//! `--size N` (crop side), `--approximate` (approximate K-SVD), `--seed N`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use faer::{Mat, MatRef};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;
use pursuit::dictlearn::{AtomUpdate, Denoiser, IterationReport};
use sparse_core::io::{read_png_gray, write_png_gray};
use sparse_core::metrics::psnr;
use sparse_core::{generate, Dictionary};

use super::out_dir;
use crate::bench::{markdown, workspace_root, BoxResult};

/// The experiment's knobs (see the module docs for the options).
#[derive(Debug, Clone)]
struct Config {
    images: Vec<&'static str>,
    sigmas: Vec<f64>,
    iterations: usize,
    size: usize,
    update: AtomUpdate,
    seed: u64,
}

impl Config {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mut c = Config {
            images: vec!["camera"],
            sigmas: vec![5.0, 10.0, 15.0, 20.0, 25.0, 50.0],
            iterations: 10,
            size: 256,
            update: AtomUpdate::Exact,
            seed: 2006,
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let mut value = || it.next().ok_or_else(|| format!("{a} needs a value"));
            match a.as_str() {
                "--all" => c.images = vec!["camera", "astronaut_gray", "moon", "coins"],
                "--approximate" => c.update = AtomUpdate::Approximate,
                "--sigmas" => {
                    c.sigmas = value()?
                        .split(',')
                        .map(|s| s.trim().parse::<f64>())
                        .collect::<Result<_, _>>()?
                }
                "--iterations" => c.iterations = value()?.parse()?,
                "--size" => c.size = value()?.parse()?,
                "--seed" => c.seed = value()?.parse()?,
                other => {
                    return Err(format!("unknown option `{other}` for `reproduce denoise`").into())
                }
            }
        }
        Ok(c)
    }
}

/// The centre `size x size` crop of `assets/NAME.png` (the whole image if it is smaller).
fn load_crop(name: &str, size: usize) -> BoxResult<Mat<f64>> {
    let img = read_png_gray(workspace_root().join("assets").join(format!("{name}.png")))?;
    let (h, w) = (size.min(img.nrows()), size.min(img.ncols()));
    let (r0, c0) = ((img.nrows() - h) / 2, (img.ncols() - w) / 2);
    Ok(img.as_ref().submatrix(r0, c0, h, w).to_owned())
}

/// The noisy image of the experiments: `clean + N(0, sigma^2)` with a seed tied to sigma.
fn add_noise(clean: MatRef<'_, f64>, sigma: f64, seed: u64) -> BoxResult<Mat<f64>> {
    let mut rng = generate::rng(seed.wrapping_mul(1000).wrapping_add(sigma.round() as u64));
    Ok(generate::add_noise(clean, sigma, &mut rng)?)
}

/// The atoms of a `p^2 x m` dictionary as a tiled picture: each `p x p` atom rescaled to
/// `[0, 255]`, on a grid of `ceil(sqrt(m))` columns separated by 1-pixel white borders.
fn tile_atoms(d: &Dictionary, p: usize) -> Mat<f64> {
    let cols = (d.n_atoms() as f64).sqrt().ceil() as usize;
    crate::pictures::tile(d.matrix(), (p, p), cols, 1)
}

struct Row {
    image: &'static str,
    sigma: f64,
    noisy: f64,
    dct: f64,
    ksvd: f64,
    dct_s: f64,
    ksvd_s: f64,
    atoms: f64,
    history: Vec<IterationReport>,
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let cfg = Config::parse(args)?;
    let dir = out_dir("denoise")?;
    let steps = cfg.images.len() * cfg.sigmas.len() * (cfg.iterations + 2);
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len}  {msg}",
    )?);
    let mut rows = Vec::new();
    write_png_gray(
        dir.join("dct_atoms.png"),
        tile_atoms(&Dictionary::overcomplete_dct(8, 256)?, 8).as_ref(),
    )?;
    for &image in &cfg.images {
        let clean = load_crop(image, cfg.size)?;
        write_png_gray(dir.join(format!("{image}_clean.png")), clean.as_ref())?;
        for &sigma in &cfg.sigmas {
            let noisy = add_noise(clean.as_ref(), sigma, cfg.seed)?;
            let den = Denoiser::new(sigma)
                .iterations(cfg.iterations)
                .update(cfg.update)
                .seed(cfg.seed);
            bar.set_message(format!("{image}, sigma {sigma}: overcomplete DCT"));
            let t = Instant::now();
            let dct = den.denoise_dct(noisy.as_ref())?;
            let dct_s = t.elapsed().as_secs_f64();
            bar.inc(1);
            let t = Instant::now();
            let ksvd = den.denoise_ksvd_observed(noisy.as_ref(), |r| {
                bar.set_message(format!(
                    "{image}, sigma {sigma}: K-SVD iteration {} (rmse {:.2}, {:.2} atoms/patch)",
                    r.iteration, r.rmse, r.mean_sparsity
                ));
                bar.inc(1);
            })?;
            let ksvd_s = t.elapsed().as_secs_f64();
            bar.inc(1);
            let tag = format!("{image}_sigma{sigma}");
            write_png_gray(dir.join(format!("{tag}_noisy.png")), noisy.as_ref())?;
            write_png_gray(dir.join(format!("{tag}_dct.png")), dct.image.as_ref())?;
            write_png_gray(dir.join(format!("{tag}_ksvd.png")), ksvd.image.as_ref())?;
            write_png_gray(
                dir.join(format!("{tag}_atoms.png")),
                tile_atoms(&ksvd.dictionary, 8).as_ref(),
            )?;
            let c = clean.as_ref();
            rows.push(Row {
                image,
                sigma,
                noisy: psnr(c, noisy.as_ref(), 255.0)?,
                dct: psnr(c, dct.image.as_ref(), 255.0)?,
                ksvd: psnr(c, ksvd.image.as_ref(), 255.0)?,
                dct_s,
                ksvd_s,
                atoms: ksvd.mean_atoms,
                history: ksvd.history,
            });
        }
    }
    bar.finish_and_clear();
    let md = table(&cfg, &rows);
    println!("{md}");
    std::fs::write(dir.join("psnr.md"), &md)?;
    write_csv(&dir.join("psnr.csv"), &rows)?;
    plot(&dir.join("convergence.svg"), &rows)?;
    println!("wrote {}", dir.display());
    Ok(())
}

fn table(cfg: &Config, rows: &[Row]) -> String {
    let mut md = String::from("# K-SVD denoising (Elad & Aharon 2006)\n\n");
    let _ =
        writeln!(
        md,
        "{0} x {0} centre crops, 8 x 8 patches (stride 1), 256 atoms, {1} {2} K-SVD iterations \
         from the overcomplete DCT on up to 25,000 noisy patches, Batch-OMP to \
         eps = 1.15 sigma 8, lambda = 30 / sigma. PSNR in dB (peak 255), times in seconds \
         (release build, {3} threads).\n",
        cfg.size,
        cfg.iterations,
        if cfg.update == AtomUpdate::Exact { "exact" } else { "approximate" },
        rayon::current_num_threads(),
    );
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.image.to_string(),
                format!("{}", r.sigma),
                format!("{:.2}", r.noisy),
                format!("{:.2}", r.dct),
                format!("{:.2}", r.ksvd),
                format!("{:+.2}", r.ksvd - r.dct),
                format!("{:.2}", r.atoms),
                format!("{:.2}", r.dct_s),
                format!("{:.2}", r.ksvd_s),
            ]
        })
        .collect();
    md.push_str(&markdown(
        &[
            "image",
            "sigma",
            "noisy",
            "overcomplete DCT",
            "K-SVD",
            "K-SVD - DCT",
            "atoms/patch",
            "DCT s",
            "K-SVD s",
        ],
        &body,
    ));
    let wins = rows.iter().filter(|r| r.ksvd > r.dct).count();
    let _ = writeln!(
        md,
        "\nK-SVD beats the DCT in {wins} of {} cases.",
        rows.len()
    );
    md
}

fn write_csv(path: &Path, rows: &[Row]) -> BoxResult<()> {
    let mut s = String::from(
        "image,sigma,noisy_psnr,dct_psnr,ksvd_psnr,ksvd_minus_dct,atoms_per_patch,dct_seconds,ksvd_seconds\n",
    );
    for r in rows {
        let _ = writeln!(
            s,
            "{},{},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4},{:.4}",
            r.image,
            r.sigma,
            r.noisy,
            r.dct,
            r.ksvd,
            r.ksvd - r.dct,
            r.atoms,
            r.dct_s,
            r.ksvd_s
        );
    }
    std::fs::write(path, s)?;
    Ok(())
}

/// A per-iteration quantity to plot, from a report and sigma.
type Metric = fn(&IterationReport, f64) -> f64;

/// K-SVD's representation RMSE (relative to sigma) and mean atoms per patch per iteration, one
/// line per sigma (first image only).
fn plot(path: &Path, rows: &[Row]) -> BoxResult<()> {
    let Some(first) = rows.first().map(|r| r.image) else {
        return Ok(());
    };
    let rows: Vec<&Row> = rows.iter().filter(|r| r.image == first).collect();
    let iters = rows
        .iter()
        .map(|r| r.history.len())
        .max()
        .unwrap_or(1)
        .max(2) as f64;
    let root = SVGBackend::new(path, (1100, 480)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);
    let colors = [
        BLUE,
        RED,
        GREEN,
        MAGENTA,
        CYAN,
        RGBColor(200, 140, 0),
        BLACK,
    ];
    let panels: [(_, &str, Metric); 2] = [
        (left, "representation RMSE / sigma", |r, s| r.rmse / s),
        (right, "atoms per patch", |r, _| r.mean_sparsity),
    ];
    for (area, title, value) in panels {
        let vals = rows
            .iter()
            .flat_map(|r| r.history.iter().map(move |h| value(h, r.sigma)));
        let ymax = vals.clone().fold(0.0, f64::max) * 1.08;
        let ymin = vals.fold(f64::INFINITY, f64::min).min(ymax) * 0.92;
        let mut chart = ChartBuilder::on(&area)
            .caption(format!("K-SVD on {first}: {title}"), ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d(1f64..iters, ymin..ymax.max(ymin + 1e-9))?;
        chart
            .configure_mesh()
            .x_desc("iteration")
            .y_desc(title)
            .draw()?;
        for (r, color) in rows.iter().zip(colors.iter().cycle()) {
            let pts: Vec<(f64, f64)> = r
                .history
                .iter()
                .map(|h| (h.iteration as f64, value(h, r.sigma)))
                .collect();
            let style = color.stroke_width(2);
            chart
                .draw_series(LineSeries::new(pts.clone(), style))?
                .label(format!("sigma {}", r.sigma))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
            chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()?;
    }
    root.present()?;
    Ok(())
}
