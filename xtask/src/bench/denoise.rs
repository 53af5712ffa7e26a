//! `cargo xtask bench denoise`: our K-SVD denoiser next to the pipeline a scikit-learn user
//! writes, on the same noisy image.
//!
//! The 256 x 256 centre crop of `assets/camera.png` gets white Gaussian noise for each sigma; the
//! noisy image goes to `target/bench/denoise/noisy_SIGMA.npy` so both sides read the same numbers.
//! Ours: [`Denoiser`] with its defaults (10 exact K-SVD iterations on up to 25,000 patches, from
//! the overcomplete DCT, Batch-OMP to `eps = 1.15 sigma 8`, `lambda = 30 / sigma`). The peer:
//! `MiniBatchDictionaryLearning(n_components=256)` fitted on the same number of random
//! mean-removed noisy 8 x 8 patches (scaled to unit variance, as scikit-learn's denoising example
//! does, so that its default `alpha = 1` makes sense), `orthogonal_mp_gram` of every patch to the
//! same error threshold, and `reconstruct_from_patches_2d`. Both times cover the whole pipeline
//! (patch extraction to image, no file I/O); both PSNRs are computed here from the images.
//! A second run of ours differs only in its patch weights: [`Aggregation::Sparsity`] (weight
//! `1 / (1 + k)` for a patch coded with `k` atoms) instead of the paper's uniform average.
//!
//! Last run (2 cores, sigma 5/10/15/20/25/50): ours 37.44/33.33/31.14/29.92/28.95/25.91 dB,
//! weighted 37.24/33.38/31.23/29.96/28.99/25.80, scikit-learn 37.03/33.30/31.24/29.81/28.62/24.83;
//! ours 4.5x to 41x faster. The 6x target fails at sigma 5 (4.5x; the peer's time varies from run
//! to run) and the 0.5 dB target is met only at sigma 50. On this image a K-SVD dictionary
//! learned on the *clean* patches gains only 0.2 dB at sigma 15, so the gap is in the
//! coding-and-averaging model, not in the learning.
//!
//! Options: `--sigmas 10,25`, `--no-peer`.

use std::time::Instant;

use faer::Mat;
use pursuit::dictlearn::{Aggregation, AtomUpdate, Denoiser};
use sparse_core::generate;
use sparse_core::io::{read_npy, read_png_gray, write_npy};
use sparse_core::metrics::psnr;

use super::{markdown, out_dir, python_with, run_python, workspace_root, BoxResult};

const SIZE: usize = 256;
const TRAIN: usize = 25_000;
/// The images of the default run: every greyscale image shipped in `assets/` (photographs, then
/// textures).
const DEFAULT_IMAGES: [&str; 9] = [
    "camera",
    "astronaut_gray",
    "coins",
    "moon",
    "chelsea_gray",
    "coffee_gray",
    "brick",
    "grass",
    "gravel",
];
const DEFAULT_SIGMAS: [f64; 6] = [5.0, 10.0, 15.0, 20.0, 25.0, 50.0];
/// Our pipelines run this many times each; the best time is reported (the peer runs once).
const RUNS: usize = 2;
/// The issue's targets: at least this many times faster and this many dB better than the peer.
const TARGET_SPEEDUP: f64 = 6.0;
const TARGET_DB: f64 = 0.5;

const PEER: &str = r#"
import time, warnings
import numpy as np
from sklearn.decomposition import MiniBatchDictionaryLearning
from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d
from sklearn.linear_model import orthogonal_mp_gram
warnings.filterwarnings("ignore")
P, C = 8, 1.15
for tag, sigma in SIGMAS:
    noisy = np.load(f"noisy_{tag}.npy")
    t = time.perf_counter()
    data = extract_patches_2d(noisy, (P, P)).reshape(-1, P * P)
    mean = data.mean(axis=1, keepdims=True)
    data = data - mean
    rng = np.random.default_rng(0)
    train = data[rng.choice(len(data), min(TRAIN, len(data)), replace=False)]
    dico = MiniBatchDictionaryLearning(n_components=256, alpha=1.0, batch_size=256,
                                       max_iter=10, random_state=0)
    V = dico.fit(train / train.std()).components_
    eps = C * sigma * P
    code = orthogonal_mp_gram(V @ V.T, V @ data.T, tol=eps ** 2,
                              norms_squared=(data ** 2).sum(axis=1))
    out = reconstruct_from_patches_2d((code.T @ V + mean).reshape(-1, P, P), noisy.shape)
    t = time.perf_counter() - t
    np.save(f"sklearn_{tag}.npy", out)
    print(f"time_{tag} {t}", flush=True)
"#;

struct Row {
    sigma: f64,
    noisy: f64,
    ours: f64,
    ours_s: f64,
    weighted: f64,
    weighted_s: f64,
    peer: Option<(f64, f64)>,
}

/// The rows of one image.
struct Image {
    name: String,
    rows: Vec<Row>,
}

/// The best wall time in seconds over `runs` timed runs of `f` (no untimed warm-up), and the
/// last result.
fn best_of_runs<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, out.expect("at least one run"))
}

fn parse_list<T: std::str::FromStr>(v: Option<&String>, what: &str) -> BoxResult<Vec<T>>
where
    T::Err: std::error::Error + 'static,
{
    let v = v.ok_or_else(|| format!("{what} needs a value"))?;
    let list = v
        .split(',')
        .map(|s| s.trim().parse::<T>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{what} `{v}`: {e}"))?;
    if list.is_empty() {
        return Err(format!("{what} needs at least one value").into());
    }
    Ok(list)
}

/// The `SIZE x SIZE` centre crop of `assets/NAME.png`.
fn load_crop(name: &str) -> BoxResult<Mat<f64>> {
    let path = workspace_root().join("assets").join(format!("{name}.png"));
    let img = read_png_gray(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if img.nrows() < SIZE || img.ncols() < SIZE {
        return Err(format!(
            "{} is {} x {}, smaller than the {SIZE} x {SIZE} crop",
            path.display(),
            img.nrows(),
            img.ncols()
        )
        .into());
    }
    let (r0, c0) = ((img.nrows() - SIZE) / 2, (img.ncols() - SIZE) / 2);
    Ok(img.as_ref().submatrix(r0, c0, SIZE, SIZE).to_owned())
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let mut sigmas = DEFAULT_SIGMAS.to_vec();
    let mut images: Vec<String> = DEFAULT_IMAGES.iter().map(|s| s.to_string()).collect();
    let mut peer = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-peer" => peer = false,
            "--sigmas" => sigmas = parse_list(it.next(), "--sigmas")?,
            "--images" => images = parse_list(it.next(), "--images")?,
            other => return Err(format!("unknown option `{other}` for `bench denoise`").into()),
        }
    }
    // Load every image first, so that a bad name fails before minutes of work.
    let crops = images
        .iter()
        .map(|name| load_crop(name))
        .collect::<BoxResult<Vec<_>>>()?;
    let dir = out_dir("denoise")?;
    let py = if peer {
        python_with(&["numpy", "sklearn"])
    } else {
        None
    };
    let mut results = Vec::new();
    for (name, clean) in images.iter().zip(&crops) {
        let mut rows = Vec::new();
        let mut tags = Vec::new();
        for &sigma in &sigmas {
            // The same noise for every image (the seed depends on sigma only).
            let mut rng = generate::rng(7000 + sigma.round() as u64);
            let noisy = generate::add_noise(clean.as_ref(), sigma, &mut rng)?;
            let tag = format!("{name}_{}", format!("{sigma}").replace('.', "p"));
            write_npy(dir.join(format!("noisy_{tag}.npy")), noisy.as_ref())?;
            tags.push((tag, sigma));
            let den = Denoiser::new(sigma).max_training(TRAIN);
            let (ours_s, out) = best_of_runs(RUNS, || den.denoise_ksvd(noisy.as_ref()));
            let out = out?;
            let weighted_den = den.clone().aggregation(Aggregation::Sparsity);
            let (weighted_s, weighted) =
                best_of_runs(RUNS, || weighted_den.denoise_ksvd(noisy.as_ref()));
            let weighted = weighted?;
            eprintln!("{name}, sigma {sigma}: ours {ours_s:.2} s, weighted {weighted_s:.2} s");
            rows.push(Row {
                sigma,
                noisy: psnr(clean.as_ref(), noisy.as_ref(), 255.0)?,
                ours: psnr(clean.as_ref(), out.image.as_ref(), 255.0)?,
                ours_s,
                weighted: psnr(clean.as_ref(), weighted.image.as_ref(), 255.0)?,
                weighted_s,
                peer: None,
            });
        }
        if let Some(py) = &py {
            eprintln!("{name}: running the scikit-learn pipeline ({py}); about 30 s per sigma");
            let list: Vec<String> = tags
                .iter()
                .map(|(t, s)| format!("(\"{t}\", {s})"))
                .collect();
            let script = format!("SIGMAS = [{}]\nTRAIN = {TRAIN}\n{PEER}", list.join(", "));
            let times = run_python(py, &dir, "peer_denoise.py", &script)?;
            for ((tag, _), row) in tags.iter().zip(rows.iter_mut()) {
                let Some(&(_, t)) = times.iter().find(|(k, _)| *k == format!("time_{tag}")) else {
                    continue;
                };
                let out: Mat<f64> = read_npy(dir.join(format!("sklearn_{tag}.npy")))?;
                row.peer = Some((psnr(clean.as_ref(), out.as_ref(), 255.0)?, t));
                eprintln!("{name}, sigma {}: scikit-learn {t:.2} s", row.sigma);
            }
        }
        // Each image's table as soon as it is measured (a full run takes half an hour).
        eprintln!("\n## {name}\n\n{}", table(&rows));
        results.push(Image {
            name: name.clone(),
            rows,
        });
    }
    let md = report(&results, py.is_some());
    println!("{md}");
    std::fs::write(out_dir("")?.join("denoise.md"), &md)?;
    Ok(())
}

/// The whole report: what was run, one table per image, and the targets.
fn report(images: &[Image], with_peer: bool) -> String {
    let update = match Denoiser::new(1.0).update {
        AtomUpdate::Exact => "exact",
        AtomUpdate::Approximate => "approximate",
    };
    let mut md = format!(
        "# denoise: K-SVD (ours) vs scikit-learn, {SIZE} x {SIZE} centre crops\n\n\
         Ours: 10 {update} K-SVD iterations on {TRAIN} patches, Batch-OMP, lambda = 30 / sigma \
         ({} rayon threads); ours, weighted: the same with the sparsity-adaptive patch \
         weights 1 / (1 + k). scikit-learn: MiniBatchDictionaryLearning (256 atoms, \
         {TRAIN} patches), orthogonal_mp_gram to the same eps = 1.15 sigma 8, \
         reconstruct_from_patches_2d. PSNR in dB, wall time of the whole pipeline in seconds \
         (ours: best of {RUNS} runs; scikit-learn: one run), {}; speed-up = scikit-learn s / \
         ours s.\n",
        rayon::current_num_threads(),
        if cfg!(debug_assertions) {
            "our side built with debug assertions (the dev profile of `cargo xtask`)"
        } else {
            "our side built without debug assertions"
        }
    );
    for image in images {
        md.push_str(&format!("\n## {}\n\n", image.name));
        md.push_str(&table(&image.rows));
    }
    if !with_peer {
        md.push_str(
            "\n(no Python with numpy and scikit-learn, or --no-peer: peer skipped; set \
             SPARSE_PYTHON to a venv that has them)\n",
        );
        return md;
    }
    md.push_str(&format!(
        "\n## Targets (>= {TARGET_SPEEDUP}x faster and >= {TARGET_DB} dB better)\n"
    ));
    type Get = fn(&Row) -> f64;
    let variants: [(&str, Get, Get); 2] = [
        ("ours", |r| r.ours, |r| r.ours_s),
        ("ours, weighted", |r| r.weighted, |r| r.weighted_s),
    ];
    for (name, psnr_of, secs_of) in variants {
        let (mut n, mut fast, mut better) = (0, 0, 0);
        let mut both = Vec::new();
        for image in images {
            for r in &image.rows {
                let Some((p, t)) = r.peer else { continue };
                let (ok_fast, ok_better) = (
                    t / secs_of(r) >= TARGET_SPEEDUP,
                    psnr_of(r) - p >= TARGET_DB,
                );
                n += 1;
                fast += ok_fast as usize;
                better += ok_better as usize;
                if ok_fast && ok_better {
                    both.push(format!("{} sigma {}", image.name, r.sigma));
                }
            }
        }
        md.push_str(&format!(
            "\n{name}: faster in {fast} of {n} (image, sigma) pairs, better in {better} of {n}, \
             both in {} of {n}{}\n",
            both.len(),
            if both.is_empty() {
                String::new()
            } else {
                format!(": {}", both.join(", "))
            }
        ));
    }
    md
}

fn table(rows: &[Row]) -> String {
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let (pp, pt, dp, dw, ratio) = match r.peer {
                Some((p, t)) => (
                    format!("{p:.2}"),
                    format!("{t:.2}"),
                    format!("{:+.2}", r.ours - p),
                    format!("{:+.2}", r.weighted - p),
                    format!("{:.1}x", t / r.ours_s),
                ),
                None => ("-".into(), "-".into(), "-".into(), "-".into(), "-".into()),
            };
            vec![
                format!("{}", r.sigma),
                format!("{:.2}", r.noisy),
                format!("{:.2}", r.ours),
                format!("{:.2}", r.weighted),
                pp,
                dp,
                dw,
                format!("{:.2}", r.ours_s),
                format!("{:.2}", r.weighted_s),
                pt,
                ratio,
            ]
        })
        .collect();
    markdown(
        &[
            "sigma",
            "noisy",
            "ours",
            "ours, weighted",
            "scikit-learn",
            "ours - sklearn dB",
            "weighted - sklearn dB",
            "ours s",
            "weighted s",
            "scikit-learn s",
            "speed-up",
        ],
        &body,
    )
}
