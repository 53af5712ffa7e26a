//! `cargo xtask bench denoise`: our K-SVD denoiser next to the pipeline a scikit-learn user
//! writes, on the same noisy images.
//!
//! For every image (`--images`, default: the nine greyscale images shipped in `assets/`: camera,
//! astronaut_gray, coins, moon, chelsea_gray, coffee_gray, brick, grass, gravel) the 256 x 256
//! centre crop gets white Gaussian noise for each sigma (seed `7000 + sigma`, the same noise for
//! every image); the noisy image goes to `target/bench/denoise/noisy_IMAGE_SIGMA.npy` so both
//! sides read the same numbers. Ours: [`Denoiser`] with its defaults (10 approximate K-SVD
//! iterations on up to 25,000 patches, from the overcomplete DCT, Batch-OMP to
//! `eps = 1.15 sigma 8`, `lambda = 30 / sigma`), best time of 2 runs. The peer:
//! `MiniBatchDictionaryLearning(n_components=256)` fitted on the same number of random
//! mean-removed noisy 8 x 8 patches (scaled to unit variance, as scikit-learn's denoising example
//! does, so that its default `alpha = 1` makes sense), `orthogonal_mp_gram` of every patch to the
//! same error threshold, and `reconstruct_from_patches_2d`, timed once. Both times cover the
//! whole pipeline (patch extraction to image, no file I/O); both PSNRs are computed here from the
//! images. A second run of ours differs only in its patch weights: [`Aggregation::Sparsity`]
//! (weight `1 / (1 + k)` for a patch coded with `k` atoms) instead of the paper's uniform
//! average. One table per image, then the (image, sigma) pairs that meet both targets of the
//! issue (at least 6x faster and 0.5 dB better).
//!
//! Options: `--images camera,moon`, `--sigmas 10,25`, `--no-peer`. A full run takes about
//! 40 minutes on 2 cores, almost all of it in the peer.
//!
//! Last run: `SPARSE_PYTHON=/work/venv/bin/python cargo xtask bench denoise` (2 cores shared
//! with other jobs, so the peer's time varies from 17 to 62 s per image and sigma; our side in
//! the dev profile of `cargo xtask`, i.e. with debug assertions, about 1.45x slower than a
//! release build):
//!
//! ### camera
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 37.45 | 37.24 | 37.03 | +0.41 | +0.20 | 1.58 | 1.54 | 20.67 | 13.1x |
//! | 10 | 28.13 | 33.34 | 33.39 | 33.30 | +0.05 | +0.09 | 1.07 | 1.09 | 17.09 | 16.0x |
//! | 15 | 24.64 | 31.15 | 31.23 | 31.24 | -0.09 | -0.01 | 0.95 | 0.96 | 19.78 | 20.8x |
//! | 20 | 22.08 | 29.89 | 29.94 | 29.81 | +0.08 | +0.12 | 0.96 | 0.93 | 23.58 | 24.6x |
//! | 25 | 20.17 | 28.90 | 28.95 | 28.62 | +0.29 | +0.33 | 0.88 | 0.92 | 26.81 | 30.6x |
//! | 50 | 14.12 | 25.86 | 25.75 | 24.83 | +1.03 | +0.92 | 0.83 | 0.81 | 34.01 | 41.1x |
//!
//! ### astronaut_gray
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 38.33 | 37.85 | 38.09 | +0.24 | -0.25 | 2.23 | 2.21 | 38.70 | 17.3x |
//! | 10 | 28.13 | 34.16 | 34.02 | 34.21 | -0.05 | -0.19 | 1.35 | 1.38 | 36.24 | 26.8x |
//! | 15 | 24.64 | 31.62 | 31.62 | 31.73 | -0.12 | -0.11 | 1.13 | 1.14 | 37.75 | 33.5x |
//! | 20 | 22.08 | 30.05 | 30.04 | 29.99 | +0.06 | +0.05 | 1.01 | 1.00 | 41.05 | 40.5x |
//! | 25 | 20.17 | 28.71 | 28.65 | 28.51 | +0.20 | +0.14 | 0.94 | 0.95 | 43.25 | 45.9x |
//! | 50 | 14.12 | 24.96 | 24.78 | 24.23 | +0.74 | +0.55 | 0.86 | 0.86 | 49.89 | 58.1x |
//!
//! ### coins
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 36.74 | 36.55 | 36.28 | +0.46 | +0.27 | 3.08 | 3.01 | 43.07 | 14.0x |
//! | 10 | 28.13 | 32.49 | 32.57 | 32.37 | +0.12 | +0.20 | 1.58 | 1.52 | 37.68 | 23.9x |
//! | 15 | 24.64 | 30.26 | 30.43 | 30.26 | -0.00 | +0.17 | 1.15 | 1.15 | 39.75 | 34.7x |
//! | 20 | 22.08 | 28.75 | 28.85 | 28.64 | +0.10 | +0.20 | 1.02 | 1.02 | 42.41 | 41.6x |
//! | 25 | 20.17 | 27.79 | 27.86 | 27.61 | +0.19 | +0.25 | 0.96 | 0.94 | 42.12 | 43.8x |
//! | 50 | 14.12 | 24.76 | 24.67 | 24.06 | +0.70 | +0.61 | 0.84 | 0.85 | 51.49 | 61.4x |
//!
//! ### moon
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 42.65 | 42.34 | 42.63 | +0.02 | -0.29 | 0.91 | 0.89 | 43.38 | 47.7x |
//! | 10 | 28.13 | 39.69 | 39.57 | 38.91 | +0.78 | +0.66 | 0.84 | 0.83 | 51.48 | 61.4x |
//! | 15 | 24.64 | 38.04 | 37.92 | 36.68 | +1.36 | +1.24 | 0.81 | 0.82 | 48.30 | 59.3x |
//! | 20 | 22.08 | 36.97 | 36.93 | 34.99 | +1.98 | +1.94 | 0.80 | 0.81 | 50.88 | 63.3x |
//! | 25 | 20.17 | 35.91 | 35.90 | 33.48 | +2.42 | +2.42 | 0.76 | 0.77 | 53.04 | 69.7x |
//! | 50 | 14.12 | 32.60 | 32.85 | 28.39 | +4.20 | +4.46 | 0.75 | 0.76 | 39.61 | 52.6x |
//!
//! ### chelsea_gray
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 37.14 | 36.65 | 36.77 | +0.37 | -0.12 | 1.57 | 1.54 | 27.03 | 17.2x |
//! | 10 | 28.13 | 32.95 | 32.86 | 32.91 | +0.04 | -0.05 | 1.05 | 1.02 | 26.93 | 25.6x |
//! | 15 | 24.64 | 30.85 | 30.72 | 30.73 | +0.12 | -0.01 | 0.88 | 0.88 | 30.49 | 34.7x |
//! | 20 | 22.08 | 29.48 | 29.31 | 29.39 | +0.09 | -0.08 | 0.86 | 0.89 | 32.38 | 37.6x |
//! | 25 | 20.17 | 28.48 | 28.30 | 28.43 | +0.05 | -0.13 | 0.84 | 0.84 | 33.60 | 39.9x |
//! | 50 | 14.12 | 25.96 | 25.88 | 25.39 | +0.57 | +0.48 | 0.82 | 0.83 | 40.21 | 48.9x |
//!
//! ### coffee_gray
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 39.21 | 38.97 | 39.55 | -0.33 | -0.57 | 1.89 | 1.88 | 31.58 | 16.7x |
//! | 10 | 28.13 | 35.36 | 35.38 | 35.50 | -0.14 | -0.12 | 1.26 | 1.23 | 34.33 | 27.3x |
//! | 15 | 24.64 | 33.14 | 33.24 | 32.97 | +0.16 | +0.27 | 1.01 | 1.03 | 37.58 | 37.0x |
//! | 20 | 22.08 | 31.62 | 31.67 | 31.22 | +0.40 | +0.45 | 0.97 | 0.98 | 42.30 | 43.5x |
//! | 25 | 20.17 | 30.46 | 30.42 | 29.78 | +0.69 | +0.64 | 0.92 | 0.92 | 45.46 | 49.2x |
//! | 50 | 14.12 | 26.71 | 26.61 | 25.38 | +1.33 | +1.22 | 0.85 | 0.86 | 50.23 | 59.2x |
//!
//! ### brick
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 42.10 | 41.72 | 41.91 | +0.20 | -0.18 | 1.06 | 1.05 | 27.76 | 26.2x |
//! | 10 | 28.13 | 38.80 | 38.60 | 38.11 | +0.69 | +0.49 | 0.91 | 0.92 | 32.81 | 35.9x |
//! | 15 | 24.64 | 36.74 | 36.64 | 35.58 | +1.16 | +1.06 | 0.87 | 0.82 | 40.37 | 46.6x |
//! | 20 | 22.08 | 35.30 | 35.16 | 33.78 | +1.52 | +1.38 | 0.80 | 0.81 | 42.89 | 53.6x |
//! | 25 | 20.17 | 34.21 | 34.08 | 32.40 | +1.81 | +1.67 | 0.81 | 0.82 | 45.80 | 56.2x |
//! | 50 | 14.12 | 27.50 | 26.85 | 27.37 | +0.14 | -0.52 | 0.81 | 0.81 | 51.00 | 63.1x |
//!
//! ### grass
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 34.75 | 34.60 | 33.80 | +0.95 | +0.81 | 5.68 | 5.71 | 62.21 | 10.9x |
//! | 10 | 28.13 | 29.72 | 29.75 | 29.31 | +0.41 | +0.44 | 2.67 | 2.61 | 51.28 | 19.2x |
//! | 15 | 24.64 | 27.23 | 27.33 | 27.21 | +0.02 | +0.12 | 1.69 | 1.68 | 47.96 | 28.4x |
//! | 20 | 22.08 | 25.58 | 25.63 | 25.64 | -0.06 | -0.01 | 1.33 | 1.35 | 40.84 | 30.7x |
//! | 25 | 20.17 | 24.31 | 24.31 | 24.30 | +0.01 | +0.02 | 1.14 | 1.14 | 32.24 | 28.3x |
//! | 50 | 14.12 | 20.75 | 20.50 | 20.59 | +0.16 | -0.09 | 0.87 | 0.86 | 35.03 | 40.4x |
//!
//! ### gravel
//!
//! | sigma | noisy | ours | ours, weighted | scikit-learn | ours - sklearn dB | weighted - sklearn dB | ours s | weighted s | scikit-learn s | speed-up |
//! | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
//! | 5 | 34.16 | 35.59 | 35.29 | 35.06 | +0.53 | +0.23 | 2.42 | 2.41 | 38.31 | 15.8x |
//! | 10 | 28.13 | 31.13 | 31.13 | 31.10 | +0.03 | +0.04 | 1.41 | 1.35 | 33.70 | 23.9x |
//! | 15 | 24.64 | 28.87 | 28.94 | 29.07 | -0.19 | -0.13 | 1.12 | 1.12 | 26.36 | 23.4x |
//! | 20 | 22.08 | 27.31 | 27.30 | 27.40 | -0.10 | -0.10 | 0.97 | 0.98 | 28.39 | 29.1x |
//! | 25 | 20.17 | 26.16 | 26.11 | 26.02 | +0.14 | +0.09 | 0.93 | 0.94 | 31.00 | 33.2x |
//! | 50 | 14.12 | 22.19 | 21.86 | 21.94 | +0.25 | -0.09 | 0.87 | 0.82 | 36.25 | 41.9x |
//!
//! ### Targets (>= 6x faster and >= 0.5 dB better)
//!
//! ours: faster in 54 of 54 (image, sigma) pairs, better in 17 of 54, both in 17 of 54: camera sigma 50, astronaut_gray sigma 50, coins sigma 50, moon sigma 10, moon sigma 15, moon sigma 20, moon sigma 25, moon sigma 50, chelsea_gray sigma 50, coffee_gray sigma 25, coffee_gray sigma 50, brick sigma 10, brick sigma 15, brick sigma 20, brick sigma 25, grass sigma 5, gravel sigma 5
//!
//! ours, weighted: faster in 54 of 54 (image, sigma) pairs, better in 14 of 54, both in 14 of 54: camera sigma 50, astronaut_gray sigma 50, coins sigma 50, moon sigma 10, moon sigma 15, moon sigma 20, moon sigma 25, moon sigma 50, coffee_gray sigma 25, coffee_gray sigma 50, brick sigma 15, brick sigma 20, brick sigma 25, grass sigma 5
//!
//! Speed: at least 10.9x everywhere (grass at sigma 5, where the texture needs many atoms per
//! patch; 13.1x for camera at sigma 5, which took 4.5x with the exact K-SVD update and the
//! previous Batch-OMP). PSNR: the 0.5 dB target is met in 17 of the 54 pairs, mostly at
//! sigma 50 and on the smooth moon and the regular brick; on camera, astronaut, coins, chelsea,
//! coffee, grass and gravel at sigma 10 to 25 the two pipelines are within -0.2 to +0.7 dB, and
//! ours is behind at coffee sigma 5 (-0.33 dB). An earlier investigation found that on camera a
//! K-SVD dictionary learned on the *clean* patches gains only 0.1 to 0.2 dB at sigma 15, so the
//! remaining gap is in the coding-and-averaging model shared by both pipelines, not in the
//! learning. The sparsity weights lose 0.15 to 0.5 dB at sigma 5 on every image, 0.65 dB on brick
//! at sigma 50, and gain at most 0.25 dB (moon at sigma 50).

use faer::Mat;
use pursuit::dictlearn::{Aggregation, AtomUpdate, Denoiser};
use sparse_core::generate;
use sparse_core::io::{read_npy, read_png_gray, write_npy};
use sparse_core::metrics::psnr;

use super::{best_of_runs, markdown, out_dir, python_with, run_python, workspace_root, BoxResult};

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
    /// Ours on the image rounded to `f32` (float32 Batch-OMP coding): PSNR and seconds.
    f32: (f64, f64),
    peer: Option<(f64, f64)>,
}

/// The rows of one image.
struct Image {
    name: String,
    rows: Vec<Row>,
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
            let noisy32 =
                Mat::<f32>::from_fn(noisy.nrows(), noisy.ncols(), |i, j| noisy[(i, j)] as f32);
            let (f32_s, out32) = best_of_runs(RUNS, || den.denoise_ksvd(noisy32.as_ref()));
            let out32 = out32?;
            eprintln!(
                "{name}, sigma {sigma}: ours {ours_s:.2} s, weighted {weighted_s:.2} s, \
                 f32 {f32_s:.2} s"
            );
            rows.push(Row {
                sigma,
                noisy: psnr(clean.as_ref(), noisy.as_ref(), 255.0)?,
                ours: psnr(clean.as_ref(), out.image.as_ref(), 255.0)?,
                ours_s,
                weighted: psnr(clean.as_ref(), weighted.image.as_ref(), 255.0)?,
                weighted_s,
                f32: (psnr(clean.as_ref(), out32.image.as_ref(), 255.0)?, f32_s),
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
         weights 1 / (1 + k); ours f32: the first on the image rounded to float32 (Batch-OMP \
         in float32, dictionary updates in float64). scikit-learn: MiniBatchDictionaryLearning (256 atoms, \
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
                format!("{:.2}", r.f32.0),
                pp,
                dp,
                dw,
                format!("{:.2}", r.ours_s),
                format!("{:.2}", r.weighted_s),
                format!("{:.2}", r.f32.1),
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
            "ours f32",
            "scikit-learn",
            "ours - sklearn dB",
            "weighted - sklearn dB",
            "ours s",
            "weighted s",
            "f32 s",
            "scikit-learn s",
            "speed-up",
        ],
        &body,
    )
}
