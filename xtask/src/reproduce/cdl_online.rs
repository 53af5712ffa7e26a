//! `cargo xtask reproduce cdl-online`: online convolutional dictionary learning
//! ([`csc::OnlineConvDictLearn`], Liu, Garcia-Cardona, Wohlberg & Yin 2018) on 100 images of
//! 720 x 480 (the size of SPORCO issue #1, where batch learning exhausts memory), 64 filters
//! 8 x 8, in memory that does not grow with the number of images; the peak resident memory of
//! the process (`VmHWM`) is reported next to SPORCO's `OnlineConvBPDNDictLearn` on the first
//! images, from the same initial filters (the iterates are compared too).
//!
//! The images are built from the shipped pictures: each is upsampled by 1.5 (bilinear), a
//! random 480 x 720 window is cut, flipped at random, scaled to `[0, 1]`, and its Tikhonov
//! low-pass part removed (SPORCO's preprocessing; `lambda = 5`). They are made one at a time,
//! as a stream would deliver them.
//!
//! Writes `records.jsonl` (one line per image: functional, residuals, step, `Cnstr`,
//! `DeltaD`, seconds), `checkpoint.json` after every image (the filters and the step index: a
//! stopped run resumes where it was), `filters.png`, `filters_init.png`, `report.md`.
//!
//! Options: `--images N` (100), `--rows R` (480), `--cols C` (720), `--filters M` (64),
//! `--size S` (8), `--lambda L` (0.05), `--coding-iter K` (20: CBPDN iterations per image;
//! SPORCO's default is 100, the memory does not depend on it), `--sporco N` (3: images for the
//! SPORCO comparison, 0 to skip; needs `$SPARSE_PYTHON` with sporco), `--seed N` (0),
//! `--restart` (ignore a checkpoint); `--batch P`: instead, `P` passes of batch learning
//! streamed one image at a time ([`csc::ConvDictLearn::learn_streaming`]: memory independent of
//! the number of images; `report_batch.md`, `filters_batch.png`, `batch_records.jsonl`), with
//! `--sporco-batch K1,K2,..`: SPORCO's batch `ConvBPDNDictLearn` (2 iterations) on the first
//! `K` images, its peak memory each.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::time::Instant;

use csc::{tikhonov_filter, ConvDictionary, Grid, OnlineConvDictLearn};
use faer::Mat;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sparse_core::generate;
use sparse_core::io::{read_png_gray, write_png_gray};

use super::out_dir;
use crate::bench::{load_average, python_with, workspace_root, BoxResult};

const PICTURES: [&str; 9] = [
    "astronaut_gray",
    "brick",
    "camera",
    "chelsea_gray",
    "coffee_gray",
    "coins",
    "grass",
    "gravel",
    "moon",
];

#[derive(Debug, Clone, PartialEq)]
struct Config {
    images: usize,
    rows: usize,
    cols: usize,
    filters: usize,
    size: usize,
    lambda: f64,
    coding_iter: usize,
    sporco: usize,
    seed: u64,
    restart: bool,
    /// Passes of streamed batch learning instead of online learning (0: online).
    batch: usize,
    /// Images for SPORCO's batch `ConvBPDNDictLearn` peak-memory runs.
    sporco_batch: Vec<usize>,
}

impl Config {
    fn parse(args: &[String]) -> BoxResult<Self> {
        let mut c = Config {
            images: 100,
            rows: 480,
            cols: 720,
            filters: 64,
            size: 8,
            lambda: 0.05,
            coding_iter: 20,
            sporco: 3,
            seed: 0,
            restart: false,
            batch: 0,
            sporco_batch: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--restart" {
                c.restart = true;
                continue;
            }
            let v = it.next().ok_or_else(|| format!("`{a}` needs a value"))?;
            match a.as_str() {
                "--images" => c.images = v.parse()?,
                "--rows" => c.rows = v.parse()?,
                "--cols" => c.cols = v.parse()?,
                "--filters" => c.filters = v.parse()?,
                "--size" => c.size = v.parse()?,
                "--lambda" => c.lambda = v.parse()?,
                "--coding-iter" => c.coding_iter = v.parse()?,
                "--sporco" => c.sporco = v.parse()?,
                "--seed" => c.seed = v.parse()?,
                "--batch" => c.batch = v.parse()?,
                "--sporco-batch" => {
                    c.sporco_batch = v
                        .split(',')
                        .map(|x| x.trim().parse())
                        .collect::<Result<_, _>>()?
                }
                other => return Err(format!("unknown option `{other}` for cdl-online").into()),
            }
        }
        if c.images == 0 || c.filters == 0 || c.size == 0 || c.coding_iter == 0 {
            return Err("`--images`, `--filters`, `--size`, `--coding-iter` must be >= 1".into());
        }
        if c.rows < c.size || c.cols < c.size || c.rows > 4096 || c.cols > 4096 {
            return Err("`--rows`, `--cols` must be in `--size`..=4096".into());
        }
        Ok(c)
    }

    /// What a checkpoint must agree on to be resumed.
    fn key(&self) -> String {
        format!(
            "{}x{} {} filters {}x{} lambda {} coding {} seed {}",
            self.rows,
            self.cols,
            self.filters,
            self.size,
            self.size,
            self.lambda,
            self.coding_iter,
            self.seed
        )
    }
}

#[derive(Serialize, Deserialize)]
struct Checkpoint {
    key: String,
    t: usize,
    filters: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct Record {
    image: usize,
    objective: f64,
    primal: f64,
    dual: f64,
    rho: f64,
    coding_iterations: usize,
    eta: f64,
    cnstr: f64,
    delta_d: f64,
    seconds: f64,
    vm_hwm_mib: f64,
}

/// `VmHWM` (peak resident set) of this process in MiB.
fn vm_hwm_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

/// The shipped pictures in `[0, 1]`.
fn pictures() -> BoxResult<Vec<Mat<f64>>> {
    PICTURES
        .iter()
        .map(|n| {
            let img = read_png_gray(workspace_root().join("assets").join(format!("{n}.png")))?;
            Ok(Mat::from_fn(img.nrows(), img.ncols(), |i, j| {
                img[(i, j)] / 255.0
            }))
        })
        .collect()
}

/// Training image `k`: a random `rows x cols` window of a shipped picture upsampled so that
/// it covers the window (at least 1.5x), flipped at random, its Tikhonov low-pass removed.
fn training_image(pics: &[Mat<f64>], cfg: &Config, k: usize) -> BoxResult<Mat<f64>> {
    let mut rng = generate::rng(cfg.seed.wrapping_mul(1_000_003).wrapping_add(k as u64));
    let p = &pics[k % pics.len()];
    let scale = (1.5f64)
        .max(cfg.rows as f64 / (p.nrows() - 1) as f64)
        .max(cfg.cols as f64 / (p.ncols() - 1) as f64);
    // At least the window (rounding of `(n - 1) * scale` may fall just short of it).
    let (hh, ww) = (
        (((p.nrows() - 1) as f64 * scale) as usize).max(cfg.rows),
        (((p.ncols() - 1) as f64 * scale) as usize).max(cfg.cols),
    );
    let r0 = rng.random_range(0..=hh - cfg.rows);
    let c0 = rng.random_range(0..=ww - cfg.cols);
    let (fr, fc) = (rng.random_bool(0.5), rng.random_bool(0.5));
    let img = Mat::from_fn(cfg.rows, cfg.cols, |i, j| {
        let i = if fr { cfg.rows - 1 - i } else { i };
        let j = if fc { cfg.cols - 1 - j } else { j };
        let (y, x) = ((r0 + i) as f64 / scale, (c0 + j) as f64 / scale);
        let (y0, x0) = (
            (y.floor() as usize).min(p.nrows() - 1),
            (x.floor() as usize).min(p.ncols() - 1),
        );
        let (y1, x1) = ((y0 + 1).min(p.nrows() - 1), (x0 + 1).min(p.ncols() - 1));
        let (a, b) = (y - y0 as f64, x - x0 as f64);
        (1.0 - a) * ((1.0 - b) * p[(y0, x0)] + b * p[(y0, x1)])
            + a * ((1.0 - b) * p[(y1, x0)] + b * p[(y1, x1)])
    });
    let (_, high) = tikhonov_filter(img.as_ref(), 5.0, 16)?;
    Ok(high)
}

fn column(img: &Mat<f64>) -> Mat<f64> {
    let (h, w) = (img.nrows(), img.ncols());
    Mat::from_fn(h * w, 1, |q, _| img[(q % h, q / h)])
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let cfg = Config::parse(args)?;
    let dir = out_dir("cdl-online")?;
    let pics = pictures()?;
    let fg = Grid::d2(cfg.size, cfg.size);
    let grid = Grid::d2(cfg.rows, cfg.cols);
    let mut rng = generate::rng(cfg.seed);
    let init = ConvDictionary::random(fg, 1, cfg.filters, &mut rng)?;
    write_png_gray(
        dir.join("filters_init.png"),
        super::csc::tile_filters(&init)?.as_ref(),
    )?;
    if cfg.batch > 0 {
        return run_batch(&dir, &cfg, &pics, &init);
    }
    let opts = OnlineConvDictLearn::new(cfg.lambda);
    let coder = opts.coder.clone().max_iter(cfg.coding_iter);
    let opts = opts.coder(coder);

    // The SPORCO comparison first (before our process's peak grows): the same images and
    // initial filters, its peak RSS measured in its own process.
    let mut md = String::new();
    let sporco = if cfg.sporco > 0 {
        compare_sporco(&dir, &cfg, &pics, &init, &opts)?
    } else {
        None
    };

    let ck_path = dir.join("checkpoint.json");
    let rec_path = dir.join("records.jsonl");
    let mut learner = opts.start(&init)?;
    if !cfg.restart {
        if let Ok(text) = std::fs::read_to_string(&ck_path) {
            let ck: Checkpoint = serde_json::from_str(&text)?;
            if ck.key == cfg.key() && ck.t <= cfg.images {
                let f = Mat::from_fn(fg.len(), cfg.filters, |r, i| ck.filters[i * fg.len() + r]);
                learner = opts.resume(&ConvDictionary::new(fg, 1, f.as_ref())?, ck.t)?;
                println!("cdl-online: resuming after image {}", ck.t);
            }
        }
    }
    if learner.iteration() == 0 {
        let _ = std::fs::remove_file(&rec_path);
    }
    println!(
        "reproduce cdl-online: {} images {}x{}, {} filters {}x{}, lambda {}, {} CBPDN iterations \
         per image (load {})",
        cfg.images,
        cfg.rows,
        cfg.cols,
        cfg.filters,
        cfg.size,
        cfg.size,
        cfg.lambda,
        cfg.coding_iter,
        load_average()
    );
    let bar = ProgressBar::new(cfg.images as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} images  {msg}",
    )?);
    bar.set_position(learner.iteration() as u64);
    let t0 = Instant::now();
    let first = learner.iteration();
    while learner.iteration() < cfg.images {
        let k = learner.iteration();
        let t = Instant::now();
        let y = column(&training_image(&pics, &cfg, k)?);
        let step = learner.partial_fit(grid, 1, y.as_ref())?;
        let d = &step.coding[0];
        let last = d.records().last().copied();
        let rec = Record {
            image: k,
            objective: step.objective(),
            primal: last.map_or(f64::NAN, |r| r.primal_residual),
            dual: last.map_or(f64::NAN, |r| r.dual_residual),
            rho: last.map_or(f64::NAN, |r| r.step),
            coding_iterations: d.iterations,
            eta: step.eta,
            cnstr: step.constraint,
            delta_d: step.delta_d,
            seconds: t.elapsed().as_secs_f64(),
            vm_hwm_mib: vm_hwm_mib(),
        };
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&rec_path)?;
        writeln!(f, "{}", serde_json::to_string(&rec)?)?;
        let dict = learner.dictionary();
        let mut filters = Vec::with_capacity(fg.len() * cfg.filters);
        for i in 0..cfg.filters {
            filters.extend_from_slice(dict.filter(i)?);
        }
        let ck = Checkpoint {
            key: cfg.key(),
            t: learner.iteration(),
            filters,
        };
        std::fs::write(&ck_path, serde_json::to_string(&ck)?)?;
        bar.set_message(format!(
            "functional {:.1}, {:.1} s, peak {:.0} MiB",
            rec.objective, rec.seconds, rec.vm_hwm_mib
        ));
        bar.inc(1);
    }
    bar.finish_and_clear();
    write_png_gray(
        dir.join("filters.png"),
        super::csc::tile_filters(learner.dictionary())?.as_ref(),
    )?;
    let records: Vec<Record> = std::fs::read_to_string(&rec_path)?
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let secs: f64 = records.iter().map(|r| r.seconds).sum();
    let peak = vm_hwm_mib();
    let _ = writeln!(
        md,
        "# Online convolutional dictionary learning, {} images of {}x{}\n\n\
         `OnlineConvDictLearn` (projected SGD, Liu et al. 2018; SPORCO's \
         `OnlineConvBPDNDictLearn`): {} filters {}x{}, lambda {}, {} CBPDN iterations per \
         image, step `10 / (t + 5)`, seed {}. Images: windows of the shipped pictures upsampled \
         1.5x, high-pass (Tikhonov, lambda 5), made one at a time.\n\n\
         - images learned: {} ({} in this process, {:.0} s; {:.1} s per image over all records)\n\
         - **peak resident memory of this process (VmHWM): {:.0} MiB** (load at the end {})\n\
         - functional of the first / last image: {:.2} / {:.2}\n",
        cfg.images,
        cfg.cols,
        cfg.rows,
        cfg.filters,
        cfg.size,
        cfg.size,
        cfg.lambda,
        cfg.coding_iter,
        cfg.seed,
        records.len(),
        cfg.images - first,
        t0.elapsed().as_secs_f64(),
        secs / records.len().max(1) as f64,
        peak,
        load_average(),
        records.first().map_or(f64::NAN, |r| r.objective),
        records.last().map_or(f64::NAN, |r| r.objective),
    );
    if let Some(s) = &sporco {
        md.push_str(s);
    }
    md.push_str("\nPictures: `filters_init.png`, `filters.png`; records: `records.jsonl`.\n");
    std::fs::write(dir.join("report.md"), &md)?;
    println!("{md}");
    println!("wrote {}", dir.display());
    Ok(())
}

/// SPORCO's `OnlineConvBPDNDictLearn` on the first `cfg.sporco` images and ours on the same
/// images in this process (before the long run); returns the Markdown paragraph.
fn compare_sporco(
    dir: &Path,
    cfg: &Config,
    pics: &[Mat<f64>],
    init: &ConvDictionary,
    opts: &OnlineConvDictLearn,
) -> BoxResult<Option<String>> {
    let Some(py) = python_with(&["numpy", "sporco.dictlrn.onlinecdl"]) else {
        return Ok(Some(
            "\n(SPORCO comparison skipped: no `$SPARSE_PYTHON` with sporco)\n".into(),
        ));
    };
    let n = cfg.sporco.min(cfg.images);
    let (h, w, m, s) = (cfg.rows, cfg.cols, cfg.filters, cfg.size);
    let input = dir.join("sporco_input");
    std::fs::create_dir_all(&input)?;
    let write_f64 = |path: &Path, v: &[f64]| -> BoxResult<()> {
        let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
        Ok(std::fs::write(path, bytes)?)
    };
    // Filters as (s, s, M) C order; images as (H, W) C order.
    let mut d0 = vec![0.0; s * s * m];
    for i in 0..m {
        let f = init.filter(i)?;
        for r in 0..s {
            for c in 0..s {
                d0[(r * s + c) * m + i] = f[r + s * c];
            }
        }
    }
    write_f64(&input.join("d0.f64"), &d0)?;
    let mut ours = opts.start(init)?;
    let mut our_secs = Vec::new();
    for k in 0..n {
        let img = training_image(pics, cfg, k)?;
        let v: Vec<f64> = (0..h * w).map(|q| img[(q / w, q % w)]).collect();
        write_f64(&input.join(format!("img{k}.f64")), &v)?;
        let t = Instant::now();
        ours.partial_fit(Grid::d2(h, w), 1, column(&img).as_ref())?;
        our_secs.push(t.elapsed().as_secs_f64());
    }
    let script = format!(
        r#"
import resource, time, numpy as np
from sporco.dictlrn import onlinecdl
D0 = np.fromfile("sporco_input/d0.f64").reshape({s}, {s}, {m})
opt = onlinecdl.OnlineConvBPDNDictLearn.Options({{"CBPDN": {{"MaxMainIter": {it}}}}})
d = onlinecdl.OnlineConvBPDNDictLearn(D0, {lam}, opt)
for k in range({n}):
    S = np.fromfile("sporco_input/img%d.f64" % k).reshape({h}, {w})
    t = time.process_time(); w0 = time.perf_counter()
    d.solve(S)
    print("wall%d %r" % (k, time.perf_counter() - w0))
D = d.getdict().squeeze()
D.tofile("sporco_input/d_sporco.f64")
print("peak_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"#,
        it = cfg.coding_iter,
        lam = cfg.lambda,
    );
    let out = crate::bench::run_python(&py, dir, "sporco_online.py", &script)?;
    let get = |k: &str| out.iter().find(|(a, _)| a == k).map(|(_, v)| *v);
    let peak = get("peak_mib").unwrap_or(f64::NAN);
    let walls: Vec<f64> = (0..n).filter_map(|k| get(&format!("wall{k}"))).collect();
    let theirs: Vec<f64> = std::fs::read(input.join("d_sporco.f64"))?
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .collect();
    let mut diff: f64 = 0.0;
    for i in 0..m {
        let f = ours.dictionary().filter(i)?;
        for r in 0..s {
            for c in 0..s {
                diff = diff.max((f[r + s * c] - theirs[(r * s + c) * m + i]).abs());
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    let _ = std::fs::remove_dir_all(&input);
    Ok(Some(format!(
        "\nSPORCO `OnlineConvBPDNDictLearn` (same initial filters, the first {n} images, its own \
         process, {} CBPDN iterations): peak resident memory **{peak:.0} MiB**, {:.1} s per \
         image (wall, its default threads); ours on the same images in this process: {:.1} s \
         per image (wall, 2 threads); filters after {n} images equal to **{diff:.1e}** (max \
         abs).\n",
        cfg.coding_iter,
        mean(&walls),
        mean(&our_secs),
    )))
}

/// `--batch P`: streamed batch learning on the same images, and SPORCO's batch learner's peak
/// memory on the first images.
fn run_batch(dir: &Path, cfg: &Config, pics: &[Mat<f64>], init: &ConvDictionary) -> BoxResult<()> {
    let mut md = format!(
        "# Batch convolutional dictionary learning streamed over {} images of {}x{}\n\n\
         `ConvDictLearn::learn_streaming`: {} filters {}x{}, lambda {}, {} dictionary updates \
         (each pass codes every image by CBPDN, {} iterations from zero, and accumulates the \
         frequency-domain statistics; then 20 ADMM iterations of the dictionary update; a last \
         pass codes for the final functional), images made one at a \
         time (as for `cdl-online`), seed {}.\n\n",
        cfg.images,
        cfg.cols,
        cfg.rows,
        cfg.filters,
        cfg.size,
        cfg.size,
        cfg.lambda,
        cfg.batch,
        cfg.coding_iter,
        cfg.seed
    );
    let mut sporco_rows = Vec::new();
    if !cfg.sporco_batch.is_empty() {
        if let Some(py) = python_with(&["numpy", "sporco.dictlrn.cbpdndl"]) {
            let input = dir.join("sporco_input");
            std::fs::create_dir_all(&input)?;
            let kmax = cfg.sporco_batch.iter().copied().max().unwrap_or(0);
            for k in 0..kmax {
                let img = training_image(pics, cfg, k)?;
                let v: Vec<u8> = (0..cfg.rows * cfg.cols)
                    .flat_map(|q| img[(q / cfg.cols, q % cfg.cols)].to_le_bytes())
                    .collect();
                std::fs::write(input.join(format!("img{k}.f64")), v)?;
            }
            for &k in &cfg.sporco_batch {
                let script = format!(
                    r#"
import resource, time, numpy as np
from sporco.dictlrn import cbpdndl
S = np.stack([np.fromfile("sporco_input/img%d.f64" % j).reshape({h}, {w}) for j in range({k})], axis=2)
D0 = np.random.default_rng(0).normal(size=({s}, {s}, {m}))
opt = cbpdndl.ConvBPDNDictLearn.Options({{"MaxMainIter": 2, "Verbose": False}})
t = time.perf_counter()
d = cbpdndl.ConvBPDNDictLearn(D0, S, {lam}, opt)
d.solve()
print("wall", time.perf_counter() - t)
print("peak_mib", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0)
"#,
                    h = cfg.rows,
                    w = cfg.cols,
                    s = cfg.size,
                    m = cfg.filters,
                    lam = cfg.lambda
                );
                println!("cdl-online --batch: SPORCO ConvBPDNDictLearn on {k} images");
                let out = crate::bench::run_python(&py, dir, "sporco_batch.py", &script)?;
                let get = |key: &str| out.iter().find(|(a, _)| a == key).map_or(f64::NAN, |x| x.1);
                sporco_rows.push((k, get("peak_mib"), get("wall")));
            }
            let _ = std::fs::remove_dir_all(&input);
        }
    }
    let learner = csc::ConvDictLearn::new(cfg.lambda)
        .iterations(cfg.batch)
        .coding_iter(cfg.coding_iter)
        .dict_iter(20);
    let grid = Grid::d2(cfg.rows, cfg.cols);
    let rec_path = dir.join("batch_records.jsonl");
    let _ = std::fs::remove_file(&rec_path);
    let bar = ProgressBar::new(((cfg.batch + 1) * cfg.images) as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} image codings  {msg}",
    )?);
    let t0 = Instant::now();
    let res = learner.learn_streaming(
        init,
        grid,
        1,
        cfg.images,
        |k| {
            bar.inc(1);
            training_image(pics, cfg, k)
                .map(|img| column(&img))
                .map_err(|e| {
                    csc::Error::from(sparse_core::Error::InvalidParameter {
                        name: "images",
                        value: e.to_string(),
                        expected: "readable shipped pictures".into(),
                    })
                })
        },
        |pass, f| {
            let line = format!(
                "{{\"pass\":{pass},\"functional\":{f},\"seconds\":{},\"vm_hwm_mib\":{}}}",
                t0.elapsed().as_secs_f64(),
                vm_hwm_mib()
            );
            if let Ok(mut file) = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(&rec_path)
            {
                let _ = writeln!(file, "{line}");
            }
            bar.set_message(format!("pass {pass}: functional {f:.1}"));
        },
    )?;
    bar.finish_and_clear();
    write_png_gray(
        dir.join("filters_batch.png"),
        super::csc::tile_filters(&res.dictionary)?.as_ref(),
    )?;
    let _ = writeln!(
        md,
        "- functional of each pass (over all {} images): {}\n- statistics held: {:.0} MiB \
         (the Gram matrices of the code spectra; independent of the number of images)\n- \
         **peak resident memory of this process (VmHWM): {:.0} MiB**; {:.0} s in all (load at \
         the end {})\n",
        cfg.images,
        res.objective
            .iter()
            .map(|f| format!("{f:.1}"))
            .collect::<Vec<_>>()
            .join(", "),
        res.statistics_bytes as f64 / (1024.0 * 1024.0),
        vm_hwm_mib(),
        t0.elapsed().as_secs_f64(),
        load_average()
    );
    if !sporco_rows.is_empty() {
        md.push_str("SPORCO `ConvBPDNDictLearn` (batch, holds every code and spectrum; 2 iterations, its defaults), its own process:\n\n| images | peak resident memory | wall |\n| --- | --- | --- |\n");
        for (k, peak, wall) in &sporco_rows {
            let _ = writeln!(md, "| {k} | {peak:.0} MiB | {wall:.0} s |");
        }
    }
    std::fs::write(dir.join("report_batch.md"), &md)?;
    println!("{md}");
    Ok(())
}
