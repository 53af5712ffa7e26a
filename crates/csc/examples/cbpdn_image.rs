//! Convolutional BPDN of a 256x256 greyscale image over 32 random 8x8 filters (lambda 0.05,
//! 50 ADMM iterations): the reference workload of the crate. Prints the time per iteration.
//!
//! `cargo run --release -p csc --example cbpdn_image`

use csc::Solve;
use std::time::Instant;

use csc::{Cbpdn, CbpdnFista, ConvDictionary, Grid};
use faer::Mat;
use sparse_core::LinearOperator;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/camera.png");
    let img = sparse_core::io::read_png_gray(path)?;
    // 2x2 average to 256x256, scaled to [0, 1], minus a 9x9 local mean (the usual high-pass
    // pre-processing of convolutional sparse coding).
    let (h, w) = (img.nrows() / 2, img.ncols() / 2);
    let small = Mat::from_fn(h, w, |i, j| {
        (img[(2 * i, 2 * j)]
            + img[(2 * i + 1, 2 * j)]
            + img[(2 * i, 2 * j + 1)]
            + img[(2 * i + 1, 2 * j + 1)])
            / (4.0 * 255.0)
    });
    let r = 4isize;
    let low = Mat::from_fn(h, w, |i, j| {
        let mut s = 0.0;
        for a in -r..=r {
            for b in -r..=r {
                let ii = (i as isize + a).rem_euclid(h as isize) as usize;
                let jj = (j as isize + b).rem_euclid(w as isize) as usize;
                s += small[(ii, jj)];
            }
        }
        s / ((2 * r + 1) * (2 * r + 1)) as f64
    });
    let y = Mat::from_fn(h * w, 1, |k, _| small[(k % h, k / h)] - low[(k % h, k / h)]);

    let mut rng = sparse_core::generate::rng(0);
    let d = ConvDictionary::random(Grid::d2(8, 8), 1, 32, &mut rng)?;
    let t = Instant::now();
    let op = d.operator(Grid::d2(h, w))?;
    let l = op.lipschitz();
    println!(
        "operator + spectra: {:.1} ms (L = {l:.2})",
        t.elapsed().as_secs_f64() * 1e3
    );

    let iters = 50;
    let solver = Cbpdn::new(0.05).max_iter(iters).rel_residual_tol(1e-12);
    let _ = solver.clone().max_iter(2).solve(&op, y.as_ref())?; // warm-up
    let mut best = f64::INFINITY;
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let res = solver.solve(&op, y.as_ref())?;
        best = best.min(t.elapsed().as_secs_f64());
        last = Some(res);
    }
    let res = last.expect("three runs");
    let info = &res.diagnostics[0];
    println!(
        "ADMM: {} iterations, {:.2} ms/iteration (best of 3), objective {:.4} -> {:.4}, rho {:.3}, nnz {}",
        info.iterations,
        best * 1e3 / info.iterations as f64,
        info.records()[0].objective,
        info.final_objective(),
        info.records().last().map_or(0.0, |s| s.step),
        sparse_core::norms::l0(res.codes.col_as_slice(0), 0.0),
    );
    let t = Instant::now();
    let f = CbpdnFista::new(0.05)
        .max_iter(iters)
        .change_tol(1e-12)
        .solve(&op, y.as_ref())?;
    println!(
        "FISTA: {} iterations, {:.2} ms/iteration, objective {:.4}",
        f.diagnostics[0].iterations,
        t.elapsed().as_secs_f64() * 1e3 / f.diagnostics[0].iterations as f64,
        f.diagnostics[0].final_objective()
    );
    let t = Instant::now();
    let _ = op.apply(res.codes.as_ref())?;
    let _ = op.apply_adjoint(y.as_ref())?;
    println!(
        "apply + adjoint (FFT): {:.2} ms",
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
