//! Direct circular convolution and correlation of column-major grids: the fast path for small
//! filters. Every kernel is a sequence of contiguous axpys along the column axis, split in two
//! where the circular shift wraps.

/// `out[r] += a * x[(r - s) mod n]` for `0 <= s < n`.
#[inline]
fn axpy_shift_back(out: &mut [f64], a: f64, x: &[f64], s: usize) {
    let n = out.len();
    let (o_lo, o_hi) = out.split_at_mut(s);
    for (o, v) in o_hi.iter_mut().zip(&x[..n - s]) {
        *o += a * v;
    }
    for (o, v) in o_lo.iter_mut().zip(&x[n - s..]) {
        *o += a * v;
    }
}

/// `out[r] += a * x[(r + s) mod n]` for `0 <= s < n`.
#[inline]
fn axpy_shift_fwd(out: &mut [f64], a: f64, x: &[f64], s: usize) {
    let n = out.len();
    let (o_lo, o_hi) = out.split_at_mut(n - s);
    for (o, v) in o_lo.iter_mut().zip(&x[s..]) {
        *o += a * v;
    }
    for (o, v) in o_hi.iter_mut().zip(&x[..s]) {
        *o += a * v;
    }
}

/// Columns `c0 .. c0 + out.len() / rows` of the circular convolution `d * g` added to `out`:
/// `out[r, c] += sum_{a, b} d[a, b] g[(r - a) mod rows, (c - b) mod cols]`, where `d` is an
/// `fr x fc` column-major filter and `g` a `rows x cols` column-major grid.
pub(crate) fn conv_add_cols(
    out: &mut [f64],
    c0: usize,
    d: &[f64],
    (fr, fc): (usize, usize),
    g: &[f64],
    (rows, cols): (usize, usize),
) {
    for (k, oc) in out.chunks_exact_mut(rows).enumerate() {
        let c = c0 + k;
        for b in 0..fc {
            let src = (c + cols - b % cols) % cols;
            let gc = &g[src * rows..(src + 1) * rows];
            for a in 0..fr {
                let coef = d[a + fr * b];
                if coef != 0.0 {
                    axpy_shift_back(oc, coef, gc, a % rows);
                }
            }
        }
    }
}

/// The circular correlation of `y` with `d` added to `out` (the adjoint of [`conv_add_cols`]
/// on whole grids): `out[r, c] += sum_{a, b} d[a, b] y[(r + a) mod rows, (c + b) mod cols]`.
pub(crate) fn corr_add(
    out: &mut [f64],
    d: &[f64],
    (fr, fc): (usize, usize),
    y: &[f64],
    (rows, cols): (usize, usize),
) {
    for (c, oc) in out.chunks_exact_mut(rows).enumerate() {
        for b in 0..fc {
            let src = (c + b) % cols;
            let yc = &y[src * rows..(src + 1) * rows];
            for a in 0..fr {
                let coef = d[a + fr * b];
                if coef != 0.0 {
                    axpy_shift_fwd(oc, coef, yc, a % rows);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conv_matches_definition() {
        let (rows, cols, fr, fc) = (5, 4, 3, 2);
        let d: Vec<f64> = (0..fr * fc).map(|i| i as f64 + 1.0).collect();
        let g: Vec<f64> = (0..rows * cols)
            .map(|i| ((i * 7) % 5) as f64 - 2.0)
            .collect();
        let mut out = vec![0.0; rows * cols];
        conv_add_cols(&mut out, 0, &d, (fr, fc), &g, (rows, cols));
        let mut y = vec![0.0; rows * cols];
        corr_add(&mut y, &d, (fr, fc), &g, (rows, cols));
        for r in 0..rows {
            for c in 0..cols {
                let mut s = 0.0;
                let mut t = 0.0;
                for a in 0..fr {
                    for b in 0..fc {
                        let (ri, ci) = ((r + rows - a) % rows, (c + cols - b) % cols);
                        s += d[a + fr * b] * g[ri + rows * ci];
                        let (ri, ci) = ((r + a) % rows, (c + b) % cols);
                        t += d[a + fr * b] * g[ri + rows * ci];
                    }
                }
                assert!((out[r + rows * c] - s).abs() < 1e-12);
                assert!((y[r + rows * c] - t).abs() < 1e-12);
            }
        }
    }
}
