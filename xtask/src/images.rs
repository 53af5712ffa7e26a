//! Image helpers shared by the experiments and benchmarks.

use faer::{Mat, MatRef};

/// SPORCO's `tikhonov_filter(s, lambda, npd)`: the low-pass `l = argmin 1/2 ||l - s||^2 +
/// lambda/2 (||G_r l||^2 + ||G_c l||^2)` (forward differences, circular) on the image padded by
/// `npd` samples of symmetric extension, cropped back; returns `(low, s - low)`. SPORCO solves
/// the system by FFT; here conjugate gradients on `I + lambda L` (`L` the circular 5-point
/// Laplacian, so the condition number is at most `1 + 8 lambda`) to machine precision.
pub fn tikhonov_split(s: MatRef<'_, f64>, lambda: f64, npd: usize) -> (Mat<f64>, Mat<f64>) {
    let (h, w) = (s.nrows(), s.ncols());
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
    (low, high)
}
