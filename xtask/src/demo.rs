//! `cargo xtask demo`: the main job, on shipped data with a shipped seed. Each section is one
//! crate of the workspace at work; pictures go to `target/demo/`.

use sparse_core::Solve;
use sparse_core::Summary;
use std::time::Instant;

use faer::Mat;
use pursuit::admm::BasisPursuit;
use pursuit::dictlearn::Denoiser;
use pursuit::greedy::Selection;
use pursuit::lasso::Lars;
use pursuit::{BatchOmp, Solution, SparseCoder, Stop, Thresholding};
use sparse_core::io::{read_png_gray, write_png_gray};
use sparse_core::{generate, metrics, Dictionary, LinearOperator, Noise, Shrinkage};

use crate::bench::{workspace_root, BoxResult};

/// Seed of every random draw of the demo.
const SEED: u64 = 2018;

pub fn run() -> BoxResult<()> {
    let out = workspace_root().join("target").join("demo");
    std::fs::create_dir_all(&out)?;
    sparseland()?;
    guarantees()?;
    pursuits()?;
    denoising(&out)?;
    convolutional()?;
    multilayer()?;
    println!("\npictures written to {}", out.display());
    Ok(())
}

fn sparseland() -> BoxResult<()> {
    println!("== Sparseland: y = D x + e ==");
    let mut rng = generate::rng(SEED);
    for (name, d) in [
        (
            "random Gaussian",
            Dictionary::random_gaussian(64, 256, &mut rng)?,
        ),
        ("overcomplete DCT", Dictionary::overcomplete_dct(8, 256)?),
        ("[I, DCT]", Dictionary::identity_dct(64)?),
    ] {
        let mu = d.coherence();
        println!(
            "{name:>17} {}x{}: coherence mu = {mu:.4} (Welch bound {:.4}), ||D||_2^2 = {:.3}, \
             OMP/BP guaranteed for ||x||_0 < (1 + 1/mu)/2 = {:.2}",
            d.signal_len(),
            d.n_atoms(),
            d.welch_bound(),
            d.lipschitz(),
            theory::sparseland::omp_recovery(mu, 1.0)?.rhs
        );
    }
    Ok(())
}

fn guarantees() -> BoxResult<()> {
    println!("\n== theory: what the coherence guarantees ==");
    let d = Dictionary::identity_dct(64)?;
    let mu = theory::coherence(&d);
    for cert in [
        theory::sparseland::omp_recovery(mu, 3.0)?,
        theory::sparseland::omp_recovery(mu, 4.0)?,
        theory::sparseland::bp_stability(mu, 1.0, 0.1)?,
    ] {
        println!("[I, DCT] 64x128: {cert}");
    }
    println!("{}", theory::conv::global_vs_local(1024, 64, 2)?);
    Ok(())
}

fn report(name: &str, secs: f64, truth: &Mat<f64>, res: &Solution) -> BoxResult<()> {
    let sc = metrics::support_scores(truth.as_ref(), res.codes.as_ref(), 1e-6)?;
    let err = metrics::relative_error(truth.as_ref(), res.codes.as_ref())?;
    let gap = res
        .max_duality_gap()
        .map(|g| format!(", max rel. duality gap {g:.1e}"))
        .unwrap_or_default();
    println!(
        "{name:>26}: {:>8.0} signals/s, exact support {:5.1}%, recall {:.3}, rel. error {err:.3}, \
         mean ||x||_0 {:.2}{gap}",
        truth.ncols() as f64 / secs,
        100.0 * sc.exact,
        sc.recall,
        res.mean_sparsity()
    );
    Ok(())
}

fn pursuits() -> BoxResult<()> {
    let (n, m, k, b) = (64, 256, 6, 5000);
    let mut rng = generate::rng(SEED + 1);
    let d = Dictionary::random_gaussian(n, m, &mut rng)?;
    let x = generate::sparseland_codes(m, k, b, 0.3, 1.0, &mut rng)?;
    let s = generate::signals(&d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)?;
    println!(
        "\n== pursuit: {b} signals, random {n}x{m}, k = {k}, contrast 0.3, SNR 30 dB (sigma {:.4}) ==",
        s.sigma
    );
    let eps = 1.1 * s.sigma * (n as f64).sqrt();
    let lambda = 2.0 * s.sigma * (2.0 * (m as f64).ln()).sqrt();
    let coders: Vec<(String, Box<dyn SparseCoder>)> = vec![
        (
            format!("thresholding top-{k}"),
            Box::new(Thresholding::new(Shrinkage::TopK(k)).least_squares(true)),
        ),
        (
            format!("Batch-OMP k = {k}"),
            Box::new(BatchOmp::new(Stop::Sparsity(k))),
        ),
        (
            format!("Batch-OMP eps = {eps:.3}"),
            Box::new(BatchOmp::new(Stop::Residual(eps))),
        ),
        (
            format!("Batch-ORMP k = {k}"),
            Box::new(BatchOmp::new(Stop::Sparsity(k)).selection(Selection::Ormp)),
        ),
        (
            format!("LARS-Lasso lambda = {lambda:.3}"),
            Box::new(Lars::new(lambda)),
        ),
    ];
    for (name, c) in coders {
        let t = Instant::now();
        let res = c.solve(&d, s.noisy.as_ref())?;
        report(&name, t.elapsed().as_secs_f64(), &x, &res)?;
    }
    let few = s.clean.as_ref().subcols(0, 500);
    let t = Instant::now();
    let bp = BasisPursuit::new().solve(&d, few)?;
    let r = few - d.apply(bp.codes.as_ref())?;
    report(
        "Basis Pursuit (noiseless)",
        t.elapsed().as_secs_f64(),
        &x.as_ref().subcols(0, 500).to_owned(),
        &bp,
    )?;
    println!(
        "{:>26}  max ||Dx - y|| = {:.1e}",
        "",
        (0..500).map(|j| r.col(j).norm_l2()).fold(0.0, f64::max)
    );
    Ok(())
}

fn denoising(out: &std::path::Path) -> BoxResult<()> {
    let img = read_png_gray(workspace_root().join("assets").join("camera.png"))?;
    let clean = img.as_ref().submatrix(64, 160, 128, 128).to_owned();
    let sigma = 20.0;
    let noisy = generate::add_noise(clean.as_ref(), sigma, &mut generate::rng(SEED + 2))?;
    println!(
        "\n== K-SVD denoising (Elad & Aharon 2006): camera.png 128x128 crop, sigma = {sigma} =="
    );
    let psnr = |x: &Mat<f64>| metrics::psnr(clean.as_ref(), x.as_ref(), 255.0);
    println!("{:>26}: PSNR {:.2} dB", "noisy", psnr(&noisy)?);
    let den = Denoiser::new(sigma).iterations(5);
    let t = Instant::now();
    let dct = den.denoise_dct(noisy.as_ref())?;
    println!(
        "{:>26}: PSNR {:.2} dB ({:.2} s)",
        "overcomplete DCT",
        psnr(&dct.image)?,
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let ksvd = den.denoise_ksvd(noisy.as_ref())?;
    println!(
        "{:>26}: PSNR {:.2} dB ({:.2} s, {} patches, {:.2} atoms/patch)",
        "K-SVD, 5 iterations",
        psnr(&ksvd.image)?,
        t.elapsed().as_secs_f64(),
        ksvd.n_patches,
        ksvd.mean_atoms
    );
    write_png_gray(out.join("camera_clean.png"), clean.as_ref())?;
    write_png_gray(out.join("camera_noisy.png"), noisy.as_ref())?;
    write_png_gray(out.join("camera_ksvd.png"), ksvd.image.as_ref())?;
    Ok(())
}

fn convolutional() -> BoxResult<()> {
    use csc::{Cbpdn, ConvDictionary, Grid};
    let img = read_png_gray(workspace_root().join("assets").join("camera.png"))?;
    let crop = img.as_ref().submatrix(128, 128, 128, 128);
    let mean = crop.sum() / (128.0 * 128.0);
    let scaled = Mat::<f64>::from_fn(128, 128, |i, j| (crop[(i, j)] - mean) / 255.0);
    let (_, high) = csc::tikhonov_filter(scaled.as_ref(), 5.0, 16)?;
    let y = Mat::<f64>::from_fn(128 * 128, 1, |k, _| high[(k % 128, k / 128)]);
    let d = ConvDictionary::random(Grid::d2(8, 8), 1, 32, &mut generate::rng(SEED + 3))?;
    let op = d.operator(Grid::d2(128, 128))?;
    println!(
        "\n== csc: CBPDN (Wohlberg 2016) of a 128x128 crop, 32 random 8x8 filters, lambda 0.05 =="
    );
    let t = Instant::now();
    let res = Cbpdn::new(0.05).max_iter(100).solve(&op, y.as_ref())?;
    let info = &res.diagnostics[0];
    let nnz = res
        .codes
        .col_as_slice(0)
        .iter()
        .filter(|v| v.abs() > 1e-8)
        .count();
    println!(
        "{:>26}: {} iterations in {:.2} s, final functional {:.4}, ||G||_0 = {nnz} of {}, \
         ||G||_0,inf = {}, mu(D) = {:.3}",
        "ADMM on the high-pass part",
        info.iterations,
        t.elapsed().as_secs_f64(),
        info.final_objective(),
        res.codes.nrows(),
        op.l0_inf(res.codes.col_as_slice(0), 1e-8)?,
        op.coherence()
    );
    Ok(())
}

fn multilayer() -> BoxResult<()> {
    use mlcsc::{Layer, LayeredThresholding, MlModel, Projection, Solve, Synthesis};
    let mut rng = generate::rng(SEED + 4);
    let model = MlModel::new(vec![
        Layer::dense(&Dictionary::random_gaussian(64, 128, &mut rng)?),
        Layer::sparse_random(128, 96, 3, &mut rng)?,
        Layer::sparse_random(96, 64, 2, &mut rng)?,
    ])?;
    let s = Synthesis::new(vec![18, 6, 2])
        .positive(true)
        .noise(Noise::SnrDb(40.0))
        .generate(&model, 500, &mut rng)?;
    println!(
        "\n== mlcsc: 3-layer model 64-128-96-64, 500 non-negative model signals (||G_i||_0 <= {:?}), SNR 40 dB ==",
        s.max_sparsity
    );
    let forward = LayeredThresholding::relu(&[0.1, 0.05, 0.02]).solve(&model, s.noisy.as_ref())?;
    let proj = Projection::omp(2).solve(&model, s.noisy.as_ref())?;
    for (name, est) in [
        ("forward pass (ReLU CNN)", &forward),
        ("projection (OMP on D1D2D3)", &proj),
    ] {
        let errs: Vec<String> = (0..3)
            .map(|i| {
                let e = metrics::relative_error(s.codes[i].as_ref(), est.codes[i].as_ref())?;
                Ok(format!("G{} {e:.3}", i + 1))
            })
            .collect::<BoxResult<_>>()?;
        println!("{name:>26}: relative error per layer {}", errs.join(", "));
    }
    Ok(())
}
