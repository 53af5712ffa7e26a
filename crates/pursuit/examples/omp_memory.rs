//! Peak memory of Batch-OMP on a large batch, dense codes against column-compressed ones.
//!
//! `cargo run --release -p pursuit --example omp_memory -- [dense|sparse] [n_signals]`
//! (default: sparse, 1,000,000 signals of 64 over the 64 x 256 overcomplete DCT, k = 8).
//! Prints the peak resident set (`VmHWM`) next to the sizes of the signals and of the codes;
//! `/usr/bin/time -v` reports the same peak as "Maximum resident set size".
use faer::Mat;
use pursuit::{BatchOmp, Solve, Sparse, Stop};
use sparse_core::Summary;
use sparse_core::{generate, Dictionary, Noise};

mod common;
use common::peak_rss_mb;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let sparse = args.get(1).map(String::as_str) != Some("dense");
    let n: usize = args
        .get(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let mut rng = generate::rng(1);
    let d = Dictionary::overcomplete_dct(8, 256)?;
    // The signals, generated in chunks so that no dense code matrix of the batch exists.
    let mut y = Mat::<f64>::zeros(64, n);
    let chunk = 10_000;
    let mut first = 0;
    while first < n {
        let w = chunk.min(n - first);
        let x = generate::sparseland_codes(256, 8, w, 0.1, 1.0, &mut rng)?;
        let s = generate::signals(&d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)?.noisy;
        y.as_mut().subcols_mut(first, w).copy_from(&s);
        first += w;
    }
    let before = peak_rss_mb();
    let coder = BatchOmp::new(Stop::Sparsity(8));
    let t = std::time::Instant::now();
    let (nnz, code_mb, resid) = if sparse {
        let res = Sparse::new(coder).solve(&d, y.as_ref())?;
        let r = res.residual_norms().iter().sum::<f64>() / n as f64;
        (
            res.codes.nnz(),
            res.codes.memory_bytes() as f64 / 1048576.0,
            r,
        )
    } else {
        let res = coder.solve(&d, y.as_ref())?;
        let r = res.residual_norms().iter().sum::<f64>() / n as f64;
        let nnz = res
            .codes
            .col_iter()
            .map(|c| c.iter().filter(|v| **v != 0.0).count())
            .sum();
        (
            nnz,
            (res.codes.nrows() * res.codes.ncols() * 8) as f64 / 1048576.0,
            r,
        )
    };
    println!(
        "{} codes: {n} signals in {:.2} s, {nnz} non-zeros, mean residual {resid:.4}; \
         signals {:.0} MB, codes {code_mb:.0} MB; peak RSS {:.0} MB before coding, {:.0} MB after",
        if sparse { "sparse" } else { "dense" },
        t.elapsed().as_secs_f64(),
        (64 * n * 8) as f64 / 1048576.0,
        before,
        peak_rss_mb()
    );
    Ok(())
}
