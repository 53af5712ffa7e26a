//! The inpainting experiment of `cargo xtask reproduce csc`: 50% of the pixels of the held-out
//! image removed at random, filled by convolutional sparse coding with a masked data term
//! ([`MaskedCbpdn`], SPORCO's `ConvBPDNMaskDcpl`; Wohlberg 2016, "Boundary handling for
//! convolutional sparse representations", ICIP) over the learned dictionary, next to Tikhonov
//! (harmonic) interpolation.
//!
//! - Baseline: `l = argmin 1/2 ||W (l - s)||^2 + mu/2 ||grad l||^2` (circular gradients), by
//!   conjugate gradients on `(W + mu L) l = W s`, for a few `mu`.
//! - CSC: the low-pass part is that interpolation with a large `mu` (`LOWPASS_MU`); the high-pass
//!   part of the observed pixels is coded by `MaskedCbpdn` with the mask as `W`
//!   (`rho = 50 lambda + 1`, [`INPAINT_ITER`] iterations at most) for a few `lambda`; the
//!   estimate is `D * X + low-pass`.
//!
//! Both keep the observed pixels and fill the missing ones; PSNR (peak 255) over the whole
//! image. The best `mu` and `lambda` of each grid are chosen against the clean image (an oracle
//! choice, for both methods alike).

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use csc::{ConvDictionary, Grid, MaskedCbpdn};
use faer::{Mat, Par};
use rand::Rng;
use sparse_core::io::write_png_gray;
use sparse_core::metrics::psnr;
use sparse_core::{generate, Solve};

use crate::bench::{markdown, BoxResult};

/// Fraction of missing pixels.
const MISSING: f64 = 0.5;
/// Smoothing of the interpolation baseline.
const BASELINE_MUS: [f64; 3] = [0.01, 0.1, 1.0];
/// Smoothing of the low-pass part under the CSC estimate.
const LOWPASS_MU: f64 = 5.0;
/// Penalties of the masked CBPDN solves.
const INPAINT_LAMBDAS: [f64; 4] = [0.005, 0.01, 0.02, 0.05];
/// Iteration cap of the masked CBPDN solves.
pub(super) const INPAINT_ITER: usize = 200;

/// `L x` for the circular 5-point Laplacian `G_r^T G_r + G_c^T G_c` of an `h x w` image.
fn laplacian(x: &Mat<f64>) -> Mat<f64> {
    let (h, w) = (x.nrows(), x.ncols());
    Mat::from_fn(h, w, |i, j| {
        4.0 * x[(i, j)]
            - x[((i + 1) % h, j)]
            - x[((i + h - 1) % h, j)]
            - x[(i, (j + 1) % w)]
            - x[(i, (j + w - 1) % w)]
    })
}

/// Masked Tikhonov interpolation: conjugate gradients on `(W + mu L) l = W s` (`W` 0/1, so
/// `W^2 = W`), from `l = W s`, to a relative residual of `1e-10`.
fn tikhonov_interpolate(s: &Mat<f64>, w: &Mat<f64>, mu: f64) -> Mat<f64> {
    let (h, wd) = (s.nrows(), s.ncols());
    let apply = |x: &Mat<f64>| {
        let l = laplacian(x);
        Mat::from_fn(h, wd, |i, j| w[(i, j)] * x[(i, j)] + mu * l[(i, j)])
    };
    let b = Mat::from_fn(h, wd, |i, j| w[(i, j)] * s[(i, j)]);
    let mut x = b.clone();
    let mut r = &b - apply(&x);
    let mut p = r.clone();
    let dot = |a: &Mat<f64>, c: &Mat<f64>| -> f64 {
        a.col_iter()
            .zip(c.col_iter())
            .map(|(u, v)| u.iter().zip(v.iter()).map(|(p, q)| p * q).sum::<f64>())
            .sum()
    };
    let bnorm = dot(&b, &b).sqrt().max(f64::MIN_POSITIVE);
    let mut rr = dot(&r, &r);
    for _ in 0..20 * (h + wd) {
        if rr.sqrt() <= 1e-10 * bnorm {
            break;
        }
        let ap = apply(&p);
        let alpha = rr / dot(&p, &ap);
        x += faer::Scale(alpha) * &p;
        r -= faer::Scale(alpha) * &ap;
        let rr_new = dot(&r, &r);
        p = &r + faer::Scale(rr_new / rr) * &p;
        rr = rr_new;
    }
    x
}

/// One row of the inpainting table.
struct Row {
    method: String,
    parameter: String,
    psnr: f64,
    iterations: String,
    seconds: f64,
}

/// Runs the experiment on `clean` (`[0, 1]`) with dictionary `dict`; writes `masked.png`,
/// `inpainted.png` (CSC, best lambda) and `inpainted_tikhonov.png` (best mu) into `dir` and
/// returns the Markdown section of the summary.
pub(super) fn run(
    dict: &ConvDictionary,
    clean: &Mat<f64>,
    seed: u64,
    dir: &Path,
) -> BoxResult<String> {
    let (h, wd) = (clean.nrows(), clean.ncols());
    let mut rng = generate::rng(seed.wrapping_add(50));
    let w = Mat::from_fn(h, wd, |_, _| {
        if rng.random::<f64>() < MISSING {
            0.0
        } else {
            1.0
        }
    });
    let observed = Mat::from_fn(h, wd, |i, j| w[(i, j)] * clean[(i, j)]);
    let keep = |est: &Mat<f64>| {
        Mat::from_fn(h, wd, |i, j| {
            if w[(i, j)] == 1.0 {
                clean[(i, j)]
            } else {
                est[(i, j)].clamp(0.0, 1.0)
            }
        })
    };
    let to255 = |m: &Mat<f64>| Mat::from_fn(m.nrows(), m.ncols(), |i, j| 255.0 * m[(i, j)]);
    let clean255 = to255(clean);
    let missing_psnr = psnr(clean255.as_ref(), to255(&observed).as_ref(), 255.0)?;
    let mut rows = Vec::new();
    let mut best_tik: Option<(f64, Mat<f64>)> = None;
    for &mu in &BASELINE_MUS {
        let t = Instant::now();
        let est = keep(&tikhonov_interpolate(&observed, &w, mu));
        let seconds = t.elapsed().as_secs_f64();
        let p = psnr(clean255.as_ref(), to255(&est).as_ref(), 255.0)?;
        rows.push(Row {
            method: "Tikhonov interpolation".into(),
            parameter: format!("mu = {mu}"),
            psnr: p,
            iterations: "CG".into(),
            seconds,
        });
        if best_tik.as_ref().is_none_or(|(b, _)| p > *b) {
            best_tik = Some((p, est));
        }
    }
    let low = tikhonov_interpolate(&observed, &w, LOWPASS_MU);
    let grid = Grid::d2(h, wd);
    let op = dict.operator(grid)?;
    let high = Mat::from_fn(h * wd, 1, |k, _| {
        let (i, j) = (k % h, k / h);
        w[(i, j)] * (observed[(i, j)] - low[(i, j)])
    });
    let wcol = Mat::from_fn(h * wd, 1, |k, _| w[(k % h, k / h)]);
    let mut best_csc: Option<(f64, Mat<f64>)> = None;
    for &lambda in &INPAINT_LAMBDAS {
        let t = Instant::now();
        let res = MaskedCbpdn::new(lambda, wcol.clone())
            .rho(50.0 * lambda + 1.0)
            .max_iter(INPAINT_ITER)
            .solve(&op, high.as_ref())?;
        let seconds = t.elapsed().as_secs_f64();
        let rec = op.synthesize(res.codes.as_ref(), Par::rayon(0))?;
        let est = keep(&Mat::from_fn(h, wd, |i, j| {
            rec[(i + h * j, 0)] + low[(i, j)]
        }));
        let p = psnr(clean255.as_ref(), to255(&est).as_ref(), 255.0)?;
        let info = &res.diagnostics[0];
        rows.push(Row {
            method: "CSC, masked CBPDN (learned filters)".into(),
            parameter: format!("lambda = {lambda}"),
            psnr: p,
            iterations: format!(
                "{}{}",
                info.iterations,
                if info.converged { "" } else { " (cap)" }
            ),
            seconds,
        });
        if best_csc.as_ref().is_none_or(|(b, _)| p > *b) {
            best_csc = Some((p, est));
        }
    }
    let (Some((pt, tik)), Some((pc, csc_img))) = (best_tik, best_csc) else {
        return Err("no inpainting result".into());
    };
    // Missing pixels shown mid-grey.
    let shown = Mat::from_fn(h, wd, |i, j| {
        if w[(i, j)] == 1.0 {
            255.0 * clean[(i, j)]
        } else {
            128.0
        }
    });
    write_png_gray(dir.join("masked.png"), shown.as_ref())?;
    write_png_gray(dir.join("inpainted.png"), to255(&csc_img).as_ref())?;
    write_png_gray(dir.join("inpainted_tikhonov.png"), to255(&tik).as_ref())?;
    let mut md = String::from("\n## Inpainting\n\n");
    let _ = writeln!(
        md,
        "Held-out camera ({h} x {wd}) with {:.0}% of its pixels removed at random (seed {}); \
         the observed pixels are kept and the missing ones filled. Tikhonov interpolation \
         solves (W + mu L) l = W s by CG; the CSC estimate codes the observed high-pass part \
         (observed minus the interpolation at mu = {LOWPASS_MU}) by masked CBPDN (mask \
         decoupling, rho = 50 lambda + 1, at most {INPAINT_ITER} iterations) over the learned \
         filters and adds the low-pass back. PSNR in dB (peak 255) over the whole image; the \
         image with zeros at the missing pixels: {missing_psnr:.2} dB.\n",
        100.0 * MISSING,
        seed.wrapping_add(50),
    );
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            vec![
                r.method.clone(),
                r.parameter.clone(),
                format!("{:.2}", r.psnr),
                r.iterations.clone(),
                format!("{:.2}", r.seconds),
            ]
        })
        .collect();
    md.push_str(&markdown(
        &["method", "parameter", "PSNR dB", "iterations", "seconds"],
        &body,
    ));
    let _ = writeln!(
        md,
        "\nBest: CSC {pc:.2} dB, Tikhonov interpolation {pt:.2} dB ({:+.2} dB for CSC). \
         Pictures: `masked.png`, `inpainted.png`, `inpainted_tikhonov.png`.",
        pc - pt
    );
    Ok(md)
}
