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

use faer::Mat;
use pursuit::dictlearn::{Aggregation, Denoiser};
use sparse_core::generate;
use sparse_core::io::{read_npy, read_png_gray, write_npy};
use sparse_core::metrics::psnr;

use super::{best_of, markdown, out_dir, python_with, run_python, workspace_root, BoxResult};

const SIZE: usize = 256;
const TRAIN: usize = 25_000;

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

pub fn run(args: &[String]) -> BoxResult<()> {
    let mut sigmas = vec![5.0, 10.0, 15.0, 20.0, 25.0, 50.0];
    let mut peer = true;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-peer" => peer = false,
            "--sigmas" => {
                sigmas = it
                    .next()
                    .ok_or("--sigmas needs a value")?
                    .split(',')
                    .map(|s| s.trim().parse::<f64>())
                    .collect::<Result<_, _>>()?
            }
            other => return Err(format!("unknown option `{other}` for `bench denoise`").into()),
        }
    }
    let dir = out_dir("denoise")?;
    let img = read_png_gray(workspace_root().join("assets").join("camera.png"))?;
    let (r0, c0) = ((img.nrows() - SIZE) / 2, (img.ncols() - SIZE) / 2);
    let clean = img.as_ref().submatrix(r0, c0, SIZE, SIZE).to_owned();
    let mut rows = Vec::new();
    let mut tags = Vec::new();
    for &sigma in &sigmas {
        let mut rng = generate::rng(7000 + sigma.round() as u64);
        let noisy = generate::add_noise(clean.as_ref(), sigma, &mut rng)?;
        let tag = format!("{}", sigma).replace('.', "p");
        write_npy(dir.join(format!("noisy_{tag}.npy")), noisy.as_ref())?;
        tags.push((tag, sigma));
        let den = Denoiser::new(sigma).max_training(TRAIN);
        let (ours_s, out) = best_of(1, || den.denoise_ksvd(noisy.as_ref()));
        let out = out?;
        eprintln!("ours, sigma {sigma}: {ours_s:.2} s");
        let weighted_den = den.clone().aggregation(Aggregation::Sparsity);
        let (weighted_s, weighted) = best_of(1, || weighted_den.denoise_ksvd(noisy.as_ref()));
        let weighted = weighted?;
        eprintln!("ours with sparsity weights, sigma {sigma}: {weighted_s:.2} s");
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
    let py = if peer {
        python_with(&["numpy", "sklearn"])
    } else {
        None
    };
    if let Some(py) = &py {
        eprintln!("running the scikit-learn pipeline ({py}); this takes minutes");
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
        }
    }
    let md = table(&rows, py.is_some());
    println!("{md}");
    std::fs::write(out_dir("")?.join("denoise.md"), &md)?;
    Ok(())
}

fn table(rows: &[Row], with_peer: bool) -> String {
    let mut md = format!(
        "# denoise: K-SVD (ours) vs scikit-learn, camera {SIZE} x {SIZE}\n\n\
         Ours: 10 exact K-SVD iterations on {TRAIN} patches, Batch-OMP, lambda = 30 / sigma \
         ({} rayon threads); ours, weighted: the same with the sparsity-adaptive patch \
         weights 1 / (1 + k). scikit-learn: MiniBatchDictionaryLearning (256 atoms, \
         {TRAIN} patches), orthogonal_mp_gram to the same eps = 1.15 sigma 8, \
         reconstruct_from_patches_2d. PSNR in dB, wall time of the whole pipeline in seconds.\n\n",
        rayon::current_num_threads()
    );
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
    md.push_str(&markdown(
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
    ));
    if !with_peer {
        md.push_str(
            "\n(no Python with numpy and scikit-learn: peer skipped; set SPARSE_PYTHON to a venv \
             that has them)\n",
        );
    } else {
        for (name, psnr_of, secs_of) in [
            (
                "ours",
                (|r: &Row| r.ours) as fn(&Row) -> f64,
                (|r: &Row| r.ours_s) as fn(&Row) -> f64,
            ),
            (
                "ours, weighted",
                |r: &Row| r.weighted,
                |r: &Row| r.weighted_s,
            ),
        ] {
            let both: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|r| r.peer.map(|(p, t)| (psnr_of(r) - p, t / secs_of(r))))
                .collect();
            let fast = both.iter().filter(|(_, s)| *s >= 6.0).count();
            let better = both.iter().filter(|(d, _)| *d >= 0.5).count();
            md.push_str(&format!(
                "\nTargets ({name}): >= 6x faster in {fast} of {n} cases, >= 0.5 dB better in \
                 {better} of {n}.\n",
                n = both.len()
            ));
        }
    }
    md
}
