//! `cargo xtask demo`: the main job, on shipped data with a shipped seed.

use sparse_core::{generate, metrics, norms, Dictionary, LinearOperator, Noise, Shrinkage};

/// Seed of every random draw of the demo.
const SEED: u64 = 2018;

pub fn run() -> Result<(), Box<dyn std::error::Error>> {
    println!("== Sparseland: y = D x + e ==");
    let mut rng = generate::rng(SEED);
    let (n, m, k) = (64, 256, 4);
    for (name, d) in [
        (
            "random Gaussian",
            Dictionary::random_gaussian(n, m, &mut rng)?,
        ),
        ("overcomplete DCT", Dictionary::overcomplete_dct(8, m)?),
    ] {
        let mu = d.coherence();
        println!(
            "{name:>17} {n}x{m}: coherence mu = {mu:.4}, Welch bound = {:.4}, ||D||_2^2 = {:.3}, (1 + 1/mu)/2 = {:.2}",
            d.welch_bound(),
            d.lipschitz(),
            0.5 * (1.0 + 1.0 / mu)
        );
    }
    let d = Dictionary::random_gaussian(n, m, &mut generate::rng(SEED))?;
    let x = generate::sparseland_codes(m, k, 1000, 0.5, 1.0, &mut rng)?;
    let s = generate::signals(&d, x.as_ref(), Noise::SnrDb(20.0), &mut rng)?;
    println!(
        "\n{} signals, k = {k}, contrast 0.5, SNR 20 dB (noise sigma = {:.4})",
        x.ncols(),
        s.sigma
    );
    let corr = d.apply_adjoint(s.noisy.as_ref())?;
    for shrink in [
        Shrinkage::TopK(k),
        Shrinkage::Hard(0.35),
        Shrinkage::Soft(0.35),
    ] {
        let mut z = corr.clone();
        shrink.apply_batch(z.as_mut());
        let sc = metrics::support_scores(x.as_ref(), z.as_ref(), 0.0)?;
        let nnz: usize = (0..z.ncols())
            .map(|j| norms::l0(z.col_as_slice(j), 0.0))
            .sum();
        println!(
            "thresholding {shrink:?}: precision {:.3}, recall {:.3}, exact support {:.1}%, mean ||z||_0 = {:.2}",
            sc.precision,
            sc.recall,
            100.0 * sc.exact,
            nnz as f64 / z.ncols() as f64
        );
    }
    Ok(())
}
