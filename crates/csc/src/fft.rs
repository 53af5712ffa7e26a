//! Real 2-D FFTs of column-major `rows x cols` grids (1-D signals are `n x 1` grids), built on
//! `realfft` (r2c / c2r along the contiguous axis) and `rustfft` (complex FFTs along the other).
//!
//! Spectrum layout: the `rows / 2 + 1` half-spectrum along the contiguous axis times the full
//! spectrum along the other, stored *row-of-spectrum major*: entry `(kr, kc)` at `kr * cols + kc`,
//! `spectrum_len = (rows / 2 + 1) * cols`. The layout is internal: every spectrum of the crate
//! (filters, signals, codes) uses it, and only element-wise products and sums over filters are
//! taken in the frequency domain.
//!
//! Transforms are unnormalised: `inverse(forward(x)) = rows * cols * x`.

use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::Fft;

/// Complex double, the element of every spectrum.
pub type C64 = Complex<f64>;

/// Columns transformed together, so that the transpose into the spectrum layout writes
/// contiguous runs.
const BLOCK: usize = 8;

/// Planned real 2-D FFTs of one grid size. Cheap to clone (plans are shared).
#[derive(Clone)]
pub(crate) struct Fft2d {
    rows: usize,
    cols: usize,
    half: usize,
    r2c: Arc<dyn RealToComplex<f64>>,
    c2r: Arc<dyn ComplexToReal<f64>>,
    fwd: Option<Arc<dyn Fft<f64>>>,
    inv: Option<Arc<dyn Fft<f64>>>,
    scratch_len: usize,
}

impl std::fmt::Debug for Fft2d {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2d")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

/// Per-thread buffers of [`Fft2d`]; build with [`Fft2d::scratch`].
pub(crate) struct FftScratch {
    real: Vec<f64>,
    cplx: Vec<C64>,
    fft: Vec<C64>,
}

impl Fft2d {
    /// Plans the transforms of a `rows x cols` grid (both `>= 1`).
    pub fn new(rows: usize, cols: usize) -> Self {
        let mut planner = RealFftPlanner::<f64>::new();
        let r2c = planner.plan_fft_forward(rows);
        let c2r = planner.plan_fft_inverse(rows);
        let (fwd, inv) = if cols > 1 {
            let mut p = rustfft::FftPlanner::<f64>::new();
            (
                Some(p.plan_fft_forward(cols)),
                Some(p.plan_fft_inverse(cols)),
            )
        } else {
            (None, None)
        };
        let scratch_len = [
            r2c.get_scratch_len(),
            c2r.get_scratch_len(),
            fwd.as_ref().map_or(0, |f| f.get_inplace_scratch_len()),
            inv.as_ref().map_or(0, |f| f.get_inplace_scratch_len()),
        ]
        .into_iter()
        .max()
        .unwrap_or(0);
        Self {
            rows,
            cols,
            half: rows / 2 + 1,
            r2c,
            c2r,
            fwd,
            inv,
            scratch_len,
        }
    }

    /// Length of a spectrum, `(rows / 2 + 1) * cols`.
    pub fn spectrum_len(&self) -> usize {
        self.half * self.cols
    }

    /// Weight of each spectrum entry in Parseval's identity: `sum_x |x|^2 =
    /// sum_k weight(k) |X_k|^2 / (rows * cols)` (entries of the half axis that stand for two
    /// conjugate frequencies count twice).
    pub fn parseval_weights(&self) -> Vec<f64> {
        let mut w = vec![0.0; self.spectrum_len()];
        for kr in 0..self.half {
            let twice = kr != 0 && !(self.rows % 2 == 0 && kr == self.rows / 2);
            let v = if twice { 2.0 } else { 1.0 };
            w[kr * self.cols..(kr + 1) * self.cols].fill(v);
        }
        w
    }

    /// Fresh buffers for one thread.
    pub fn scratch(&self) -> FftScratch {
        FftScratch {
            real: vec![0.0; self.rows * BLOCK],
            cplx: vec![C64::default(); self.half * BLOCK],
            fft: vec![C64::default(); self.scratch_len],
        }
    }

    /// Forward transform of the grid whose column `c` is written by `fill(c, buf)` (`buf` has
    /// `rows` entries), into `out` (`spectrum_len`).
    pub fn forward_with(
        &self,
        mut fill: impl FnMut(usize, &mut [f64]),
        out: &mut [C64],
        s: &mut FftScratch,
    ) {
        let (rows, cols, half) = (self.rows, self.cols, self.half);
        debug_assert_eq!(out.len(), self.spectrum_len());
        if cols == 1 {
            let buf = &mut s.real[..rows];
            fill(0, buf);
            let r = self.r2c.process_with_scratch(buf, out, &mut s.fft);
            debug_assert!(r.is_ok());
            return;
        }
        let mut c0 = 0;
        while c0 < cols {
            let nb = BLOCK.min(cols - c0);
            for j in 0..nb {
                let buf = &mut s.real[j * rows..(j + 1) * rows];
                fill(c0 + j, buf);
                let spec = &mut s.cplx[j * half..(j + 1) * half];
                let r = self.r2c.process_with_scratch(buf, spec, &mut s.fft);
                debug_assert!(r.is_ok());
            }
            for kr in 0..half {
                let dst = &mut out[kr * cols + c0..kr * cols + c0 + nb];
                for (j, d) in dst.iter_mut().enumerate() {
                    *d = s.cplx[j * half + kr];
                }
            }
            c0 += nb;
        }
        if let Some(f) = &self.fwd {
            f.process_with_scratch(out, &mut s.fft);
        }
    }

    /// Forward transform of a column-major grid `x` (`rows * cols`).
    pub fn forward(&self, x: &[f64], out: &mut [C64], s: &mut FftScratch) {
        let rows = self.rows;
        self.forward_with(
            |c, buf| buf.copy_from_slice(&x[c * rows..(c + 1) * rows]),
            out,
            s,
        );
    }

    /// Inverse transform of `spec` (destroyed), handing column `c` of the (unnormalised) result
    /// to `consume(c, column)`.
    pub fn inverse_with(
        &self,
        spec: &mut [C64],
        mut consume: impl FnMut(usize, &[f64]),
        s: &mut FftScratch,
    ) {
        let (rows, cols, half) = (self.rows, self.cols, self.half);
        debug_assert_eq!(spec.len(), self.spectrum_len());
        let nyquist = (rows % 2 == 0).then_some(rows / 2);
        if cols == 1 {
            spec[0].im = 0.0;
            if let Some(k) = nyquist {
                spec[k].im = 0.0;
            }
            let buf = &mut s.real[..rows];
            let r = self.c2r.process_with_scratch(spec, buf, &mut s.fft);
            debug_assert!(r.is_ok());
            consume(0, buf);
            return;
        }
        if let Some(f) = &self.inv {
            f.process_with_scratch(spec, &mut s.fft);
        }
        let mut c0 = 0;
        while c0 < cols {
            let nb = BLOCK.min(cols - c0);
            for kr in 0..half {
                let src = &spec[kr * cols + c0..kr * cols + c0 + nb];
                for (j, v) in src.iter().enumerate() {
                    s.cplx[j * half + kr] = *v;
                }
            }
            for j in 0..nb {
                let col = &mut s.cplx[j * half..(j + 1) * half];
                // The DC (and Nyquist) entries of a real signal's spectrum are real; clear the
                // rounding residue the column transforms leave there.
                col[0].im = 0.0;
                if let Some(k) = nyquist {
                    col[k].im = 0.0;
                }
                let buf = &mut s.real[..rows];
                let r = self.c2r.process_with_scratch(col, buf, &mut s.fft);
                debug_assert!(r.is_ok());
                consume(c0 + j, buf);
            }
            c0 += nb;
        }
    }

    /// Inverse transform of `spec` (destroyed) into the column-major grid `out`, scaled by
    /// `scale` (use `1 / (rows * cols)` for the true inverse).
    pub fn inverse(&self, spec: &mut [C64], out: &mut [f64], scale: f64, s: &mut FftScratch) {
        let rows = self.rows;
        self.inverse_with(
            spec,
            |c, col| {
                for (o, v) in out[c * rows..(c + 1) * rows].iter_mut().zip(col) {
                    *o = scale * v;
                }
            },
            s,
        );
    }

    /// Spectrum of a `fr x fc` column-major filter zero-padded into the grid's top-left corner.
    pub fn filter_spectrum(
        &self,
        filter: &[f64],
        fr: usize,
        fc: usize,
        s: &mut FftScratch,
    ) -> Vec<C64> {
        let mut out = vec![C64::default(); self.spectrum_len()];
        self.forward_with(
            |c, buf| {
                buf.fill(0.0);
                if c < fc {
                    buf[..fr].copy_from_slice(&filter[c * fr..(c + 1) * fr]);
                }
            },
            &mut out,
            s,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_parseval() {
        for (r, c) in [(8, 1), (7, 1), (6, 5), (5, 9), (16, 16), (1, 4), (3, 20)] {
            let f = Fft2d::new(r, c);
            let mut s = f.scratch();
            let x: Vec<f64> = (0..r * c).map(|i| ((i * 37 % 11) as f64) - 4.5).collect();
            let mut spec = vec![C64::default(); f.spectrum_len()];
            f.forward(&x, &mut spec, &mut s);
            let w = f.parseval_weights();
            let e_freq: f64 = spec
                .iter()
                .zip(&w)
                .map(|(z, w)| w * z.norm_sqr())
                .sum::<f64>()
                / (r * c) as f64;
            let e: f64 = x.iter().map(|v| v * v).sum();
            assert!((e - e_freq).abs() < 1e-9 * e, "{r}x{c}: {e} vs {e_freq}");
            let mut back = vec![0.0; r * c];
            f.inverse(&mut spec, &mut back, 1.0 / (r * c) as f64, &mut s);
            for (a, b) in x.iter().zip(&back) {
                assert!((a - b).abs() < 1e-12, "{r}x{c}");
            }
        }
    }
}
