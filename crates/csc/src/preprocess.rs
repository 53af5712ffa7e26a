//! Pre-processing of images for convolutional sparse coding: the Tikhonov low-pass / high-pass
//! split that SPORCO's examples apply before coding (Wohlberg 2016, sec. I; SPORCO's
//! `sporco.signal.tikhonov_filter`).
//!
//! A convolutional dictionary of small zero-mean-ish filters represents the edges and textures
//! of an image well and its smooth background badly, so the image is split into a smooth
//! low-pass part, kept aside (and added back after coding), and a high-pass part, which is
//! coded.

use faer::{Mat, MatRef};
use sparse_core::check;

use crate::error::{invalid, Result};

/// SPORCO's `tikhonov_filter(s, lambda, npd)`: the low-pass
/// `l = argmin_l 1/2 ||l - s||_2^2 + lambda/2 (||G_r l||_2^2 + ||G_c l||_2^2)`
/// (`G_r`, `G_c` circular forward differences along rows and columns) of the image `s` padded
/// by `npd` samples of symmetric extension on every side (NumPy's `mode='symmetric'`: the edge
/// sample is repeated), cropped back to the size of `s`; returns `(low, s - low)`.
///
/// The minimiser solves `(I + lambda L) l = s_pad` with `L = G_r^T G_r + G_c^T G_c` the
/// circular 5-point Laplacian. SPORCO divides by its Fourier symbol; here conjugate gradients
/// on that system (symmetric positive definite, condition number at most `1 + 8 lambda`) run to
/// a relative residual of `1e-15`, which reaches the same solution to machine precision.
///
/// Errors: `s` empty or non-finite, `lambda` not finite and `>= 0`, `npd` larger than a side
/// of `s` (symmetric extension cannot reflect further), each naming the argument.
pub fn tikhonov_filter(
    s: MatRef<'_, f64>,
    lambda: f64,
    npd: usize,
) -> Result<(Mat<f64>, Mat<f64>)> {
    check::non_empty("s", s)?;
    check::finite("s", s)?;
    check::non_negative("lambda", lambda)?;
    let (h, w) = (s.nrows(), s.ncols());
    if npd > h.min(w) {
        return Err(invalid(
            "npd",
            npd,
            format!("at most the smaller side of `s` ({})", h.min(w)),
        ));
    }
    let (ph, pw) = (h + 2 * npd, w + 2 * npd);
    let sym = |p: usize, n: usize| -> usize {
        let q = p as isize - npd as isize;
        if q < 0 {
            (-q - 1) as usize
        } else if q as usize >= n {
            2 * n - 1 - q as usize
        } else {
            q as usize
        }
    };
    // Row-major padded grid.
    let b: Vec<f64> = (0..ph * pw)
        .map(|k| s[(sym(k / pw, h), sym(k % pw, w))])
        .collect();
    let apply = |x: &[f64], out: &mut [f64]| {
        for i in 0..ph {
            let (up, down) = ((i + ph - 1) % ph, (i + 1) % ph);
            for j in 0..pw {
                let (left, right) = ((j + pw - 1) % pw, (j + 1) % pw);
                let v = x[i * pw + j];
                let lap = 4.0 * v
                    - x[up * pw + j]
                    - x[down * pw + j]
                    - x[i * pw + left]
                    - x[i * pw + right];
                out[i * pw + j] = v + lambda * lap;
            }
        }
    };
    let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
    let mut x = b.clone();
    let mut ax = vec![0.0; ph * pw];
    apply(&x, &mut ax);
    let mut r: Vec<f64> = b.iter().zip(&ax).map(|(b, a)| b - a).collect();
    let mut p = r.clone();
    let mut rr = dot(&r, &r);
    let stop = 1e-30 * dot(&b, &b);
    for _ in 0..1000 {
        if rr <= stop {
            break;
        }
        apply(&p, &mut ax);
        let a = rr / dot(&p, &ax);
        for ((xv, rv), (pv, av)) in x.iter_mut().zip(r.iter_mut()).zip(p.iter().zip(&ax)) {
            *xv += a * pv;
            *rv -= a * av;
        }
        let rr_new = dot(&r, &r);
        let beta = rr_new / rr;
        rr = rr_new;
        for (pv, rv) in p.iter_mut().zip(&r) {
            *pv = rv + beta * *pv;
        }
    }
    let low = Mat::from_fn(h, w, |i, j| x[(i + npd) * pw + j + npd]);
    let high = Mat::from_fn(h, w, |i, j| s[(i, j)] - low[(i, j)]);
    Ok((low, high))
}
