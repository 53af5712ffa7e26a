//! Profiling harness: Batch-OMP on the 64 x 256 patch workload (one thread).
//! `cargo run --release -p pursuit --example omp_profile [n_signals] [dct|random] [threads]`
//! (`ORMP=1`, `F32=1`, `SPARSE=1`: the variants; `LARS=lambda`: LARS-Lasso instead)
use faer::Par;
use pursuit::{BatchOmp, Solve, Stop};
use sparse_core::Summary;
use sparse_core::{generate, Dictionary, Noise};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let mut rng = generate::rng(1);
    let d = if args.get(2).map(String::as_str) == Some("random") {
        Dictionary::random_gaussian(64, 256, &mut rng)?
    } else {
        Dictionary::overcomplete_dct(8, 256)?
    };
    let x = generate::sparseland_codes(256, 8, n, 0.1, 1.0, &mut rng)?;
    let y = generate::signals(&d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)?.noisy;
    let threads: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(1);
    let par = if threads > 1 {
        Par::rayon(threads)
    } else {
        Par::Seq
    };
    let sel = if std::env::var("ORMP").is_ok() {
        pursuit::greedy::Selection::Ormp
    } else {
        pursuit::greedy::Selection::Omp
    };
    if let Ok(lambda) = std::env::var("LARS") {
        // LARS-Lasso at `LARS=lambda` (the bench's lambda for this workload: 0.0887 random,
        // 0.0932 DCT), its duality gap certified to 1e-6.
        let lars = pursuit::lasso::Lars::new(lambda.parse()?)
            .gap_tol(1e-6)
            .par(par);
        let mut res = lars.solve(&d, y.as_ref())?;
        let mut dt = f64::INFINITY;
        for _ in 0..15 {
            let t = std::time::Instant::now();
            res = lars.solve(&d, y.as_ref())?;
            dt = dt.min(t.elapsed().as_secs_f64());
        }
        println!(
            "LARS: {n} signals in {dt:.3}s: {:.0} signals/s, {} non-zeros",
            n as f64 / dt,
            (0..n)
                .map(|j| res.codes.col(j).iter().filter(|v| **v != 0.0).count())
                .sum::<usize>()
        );
        return Ok(());
    }
    let coder = BatchOmp::new(Stop::Sparsity(8)).selection(sel).par(par);
    if std::env::var("SPARSE").is_ok() {
        // Column-compressed codes (`SPARSE=1`, with `F32=1` the float32 path).
        let f32_path = std::env::var("F32").is_ok();
        let y32 = faer::Mat::<f32>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] as f32);
        let run = || {
            if f32_path {
                coder.solve_sparse_f32(&d, y32.as_ref())
            } else {
                coder.solve_sparse(&d, y.as_ref())
            }
        };
        let mut res = run()?;
        let mut dt = f64::INFINITY;
        for _ in 0..15 {
            let t = std::time::Instant::now();
            res = run()?;
            dt = dt.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{n} signals (sparse, f32 {f32_path}) in {dt:.3}s: {:.0} signals/s, {} non-zeros",
            n as f64 / dt,
            res.codes.nnz()
        );
        return Ok(());
    }
    if std::env::var("F32").is_ok() {
        // The float32 path (`F32=1`): the signals rounded once, outside the timing.
        let y32 = faer::Mat::<f32>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] as f32);
        let mut res = coder.solve(&d, y32.as_ref())?;
        let mut dt = f64::INFINITY;
        for _ in 0..15 {
            let t = std::time::Instant::now();
            res = coder.solve(&d, y32.as_ref())?;
            dt = dt.min(t.elapsed().as_secs_f64());
        }
        println!(
            "{n} signals (f32) in {dt:.3}s: {:.0} signals/s, mean residual {:.4}",
            n as f64 / dt,
            res.residual_norms().iter().sum::<f64>() / n as f64
        );
        return Ok(());
    }
    let mut res = coder.solve(&d, y.as_ref())?;
    let mut dt = f64::INFINITY;
    for _ in 0..15 {
        let t = std::time::Instant::now();
        res = coder.solve(&d, y.as_ref())?;
        dt = dt.min(t.elapsed().as_secs_f64());
    }
    println!(
        "{n} signals in {dt:.3}s: {:.0} signals/s, mean residual {:.4}",
        n as f64 / dt,
        res.residual_norms().iter().sum::<f64>() / n as f64
    );
    Ok(())
}
