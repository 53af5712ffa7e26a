//! Peak memory of K-SVD on a large training set, whose codes are column-compressed.
//!
//! `cargo run --release -p pursuit --example ksvd_memory -- [n_signals] [iterations]`
//! (default: 200,000 signals of 64 = 8 x 8 patches, 256 atoms, Batch-OMP with k = 8,
//! 3 iterations). Prints the peak resident set (`VmHWM`) before and after learning next to the
//! sizes of the signals, of the compressed codes and of the dense code matrix the learner no
//! longer holds (`/usr/bin/time -v` reports the same peak as "Maximum resident set size").
use faer::Mat;
use pursuit::dictlearn::Ksvd;
use pursuit::Stop;
use sparse_core::{generate, Dictionary, Noise};

mod common;
use common::peak_rss_mb;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let iterations: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(3);
    let (m, k) = (256, 8);
    let mut rng = generate::rng(1);
    let truth = Dictionary::overcomplete_dct(8, m)?;
    // Signals generated in chunks so that no dense code matrix of the batch ever exists.
    let mut y = Mat::<f64>::zeros(64, n);
    let chunk = 10_000;
    let mut first = 0;
    while first < n {
        let w = chunk.min(n - first);
        let x = generate::sparseland_codes(m, k, w, 0.1, 1.0, &mut rng)?;
        let s = generate::signals(&truth, x.as_ref(), Noise::SnrDb(30.0), &mut rng)?.noisy;
        y.as_mut().subcols_mut(first, w).copy_from(&s);
        first += w;
    }
    let before = peak_rss_mb();
    let t = std::time::Instant::now();
    let learned = Ksvd::new(m, Stop::Sparsity(k))
        .iterations(iterations)
        .fit(y.as_ref())?;
    let mb = |b: usize| b as f64 / 1048576.0;
    println!(
        "K-SVD: {n} signals, {m} atoms, k = {k}, {iterations} iterations in {:.1} s, final RMSE \
         {:.4}; signals {:.0} MB, compressed codes {:.0} MB (dense would be {:.0} MB); peak RSS \
         {:.0} MB before learning, {:.0} MB after",
        t.elapsed().as_secs_f64(),
        learned.final_rmse(),
        mb(64 * n * 8),
        mb(learned.codes.memory_bytes()),
        mb(m * n * 8),
        before,
        peak_rss_mb()
    );
    Ok(())
}
