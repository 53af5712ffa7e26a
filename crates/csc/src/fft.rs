//! Real 2-D FFTs of column-major `rows x cols` grids (1-D signals are `n x 1` grids), built on
//! `realfft` (r2c / c2r along the contiguous axis) and `rustfft` (complex FFTs along the other).
//!
//! Spectrum layout: the `rows / 2 + 1` half-spectrum along the contiguous axis times the full
//! spectrum along the other, entry `(kr, kc)` at natural index `f = kr * cols + kc`
//! (`spectrum_len = (rows / 2 + 1) * cols`). The spectrum is cut into *blocks* of whole spectral
//! rows (about [`BLOCK_TARGET`] entries each). A buffer holding the spectra of `k` maps stores
//! block after block, and within a block map after map ([`Blocks`]): the per-frequency passes
//! of the pursuits then read one contiguous, cache-sized chunk per block, and each map's
//! transform writes whole blocks. With `k = 1` this is the natural layout.
//!
//! Transforms are unnormalised: `inverse(forward(x)) = rows * cols * x`.

use std::sync::Arc;

use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex;
use rustfft::Fft;

use crate::float::Float;

/// Complex double, the element of every float64 spectrum.
pub type C64 = Complex<f64>;

/// The complex element of a spectrum in precision `T`.
pub type Cx<T> = Complex<T>;

/// Columns transformed together, so that the transpose into the spectrum layout writes
/// contiguous runs.
const BLOCK: usize = 8;

/// Target number of spectrum entries per block.
pub(crate) const BLOCK_TARGET: usize = 512;

/// The blocked layout of a spectrum (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Blocks {
    /// Spectral rows per block.
    rows_per_block: usize,
    /// Entries per spectral row (`cols`).
    row_len: usize,
    /// Spectral rows (`rows / 2 + 1`).
    half: usize,
}

impl Blocks {
    /// Number of blocks.
    pub fn count(&self) -> usize {
        self.half.div_ceil(self.rows_per_block)
    }

    /// `(f0, len)`: block `c` covers the natural indices `f0 .. f0 + len`.
    pub fn range(&self, c: usize) -> (usize, usize) {
        let r0 = c * self.rows_per_block;
        let r1 = (r0 + self.rows_per_block).min(self.half);
        (r0 * self.row_len, (r1 - r0) * self.row_len)
    }

    /// Splits a buffer of `n_maps` blocked spectra into one contiguous chunk per block
    /// (`n_maps * len` entries: map after map).
    pub fn chunks<'a, T>(&self, buf: &'a mut [T], n_maps: usize) -> Vec<&'a mut [T]> {
        let mut out = Vec::with_capacity(self.count());
        let mut rest = buf;
        for c in 0..self.count() {
            let (_, len) = self.range(c);
            let (head, tail) = rest.split_at_mut(n_maps * len);
            out.push(head);
            rest = tail;
        }
        out
    }

    /// Splits a buffer of `n_maps` blocked spectra into, for every map, the list of its blocks.
    pub fn per_map<'a, T>(&self, buf: &'a mut [T], n_maps: usize) -> Vec<Vec<&'a mut [T]>> {
        let mut out: Vec<Vec<&mut [T]>> = (0..n_maps)
            .map(|_| Vec::with_capacity(self.count()))
            .collect();
        for (c, chunk) in self.chunks(buf, n_maps).into_iter().enumerate() {
            let (_, len) = self.range(c);
            for (o, piece) in out.iter_mut().zip(chunk.chunks_mut(len.max(1))) {
                o.push(piece);
            }
        }
        out
    }

    /// Block `c` of map `map` in a buffer of `n_maps` blocked spectra.
    pub fn block<'a, T>(&self, buf: &'a [T], n_maps: usize, map: usize, c: usize) -> &'a [T] {
        let (f0, len) = self.range(c);
        let start = n_maps * f0 + map * len;
        &buf[start..start + len]
    }
}

/// Planned real 2-D FFTs of one grid size. Cheap to clone (plans are shared).
#[derive(Clone)]
pub(crate) struct Fft2d<T: Float = f64> {
    rows: usize,
    cols: usize,
    half: usize,
    blocks: Blocks,
    r2c: Arc<dyn RealToComplex<T>>,
    c2r: Arc<dyn ComplexToReal<T>>,
    fwd: Option<Arc<dyn Fft<T>>>,
    inv: Option<Arc<dyn Fft<T>>>,
    scratch_len: usize,
}

impl<T: Float> std::fmt::Debug for Fft2d<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fft2d")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .finish()
    }
}

/// Per-thread buffers of [`Fft2d`]; build with [`Fft2d::scratch`].
pub(crate) struct FftScratch<T: Float = f64> {
    real: Vec<T>,
    cplx: Vec<Cx<T>>,
    fft: Vec<Cx<T>>,
}

impl<T: Float> Fft2d<T> {
    /// Plans the transforms of a `rows x cols` grid (both `>= 1`).
    pub fn new(rows: usize, cols: usize) -> Self {
        let mut planner = RealFftPlanner::<T>::new();
        let r2c = planner.plan_fft_forward(rows);
        let c2r = planner.plan_fft_inverse(rows);
        let (fwd, inv) = if cols > 1 {
            let mut p = rustfft::FftPlanner::<T>::new();
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
        let half = rows / 2 + 1;
        let rows_per_block = (BLOCK_TARGET / cols).clamp(1, half);
        Self {
            rows,
            cols,
            half,
            blocks: Blocks {
                rows_per_block,
                row_len: cols,
                half,
            },
            r2c,
            c2r,
            fwd,
            inv,
            scratch_len,
        }
    }

    /// Rows of the grid (the contiguous axis).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of the grid.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Length of a spectrum, `(rows / 2 + 1) * cols`.
    pub fn spectrum_len(&self) -> usize {
        self.half * self.cols
    }

    /// The blocked layout of spectra.
    pub fn blocks(&self) -> Blocks {
        self.blocks
    }

    /// Weight of each spectrum entry (natural index) in Parseval's identity: `sum_x |x|^2 =
    /// sum_k weight(k) |X_k|^2 / (rows * cols)` (entries of the half axis that stand for two
    /// conjugate frequencies count twice).
    pub fn parseval_weights(&self) -> Vec<T> {
        let mut w = vec![T::zero(); self.spectrum_len()];
        for kr in 0..self.half {
            let twice = kr != 0 && !(self.rows.is_multiple_of(2) && kr == self.rows / 2);
            let v = T::of(if twice { 2.0 } else { 1.0 });
            w[kr * self.cols..(kr + 1) * self.cols].fill(v);
        }
        w
    }

    /// Fresh buffers for one thread.
    pub fn scratch(&self) -> FftScratch<T> {
        FftScratch {
            real: vec![T::zero(); self.rows * BLOCK],
            cplx: vec![Cx::<T>::default(); self.half * BLOCK],
            fft: vec![Cx::<T>::default(); self.scratch_len],
        }
    }

    /// Forward transform of the grid whose column `c` is written by `fill(c, buf)` (`buf` has
    /// `rows` entries), into the blocks `out` of one map.
    pub fn forward_with(
        &self,
        mut fill: impl FnMut(usize, &mut [T]),
        out: &mut [&mut [Cx<T>]],
        s: &mut FftScratch<T>,
    ) {
        let (rows, cols, half) = (self.rows, self.cols, self.half);
        let rpb = self.blocks.rows_per_block;
        debug_assert_eq!(out.len(), self.blocks.count());
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
                let blk = &mut out[kr / rpb];
                let at = (kr % rpb) * cols + c0;
                for (j, d) in blk[at..at + nb].iter_mut().enumerate() {
                    *d = s.cplx[j * half + kr];
                }
            }
            c0 += nb;
        }
        if let Some(f) = &self.fwd {
            for blk in out.iter_mut() {
                f.process_with_scratch(blk, &mut s.fft);
            }
        }
    }

    /// Forward transform of a column-major grid `x` (`rows * cols`) into a spectrum in the
    /// natural layout.
    pub fn forward(&self, x: &[T], out: &mut [Cx<T>], s: &mut FftScratch<T>) {
        let rows = self.rows;
        let mut blocks = self.blocks.per_map(out, 1).pop().unwrap_or_default();
        self.forward_with(
            |c, buf| buf.copy_from_slice(&x[c * rows..(c + 1) * rows]),
            &mut blocks,
            s,
        );
    }

    /// Inverse transform of the blocks `spec` of one map (destroyed), handing column `c` of the
    /// (unnormalised) result to `consume(c, column)`.
    pub fn inverse_with(
        &self,
        spec: &mut [&mut [Cx<T>]],
        mut consume: impl FnMut(usize, &[T]),
        s: &mut FftScratch<T>,
    ) {
        let (rows, cols, half) = (self.rows, self.cols, self.half);
        let rpb = self.blocks.rows_per_block;
        let nyquist = (rows % 2 == 0).then_some(rows / 2);
        if let Some(f) = &self.inv {
            for blk in spec.iter_mut() {
                f.process_with_scratch(blk, &mut s.fft);
            }
        }
        let mut c0 = 0;
        while c0 < cols {
            let nb = BLOCK.min(cols - c0);
            for kr in 0..half {
                let blk = &spec[kr / rpb];
                let at = (kr % rpb) * cols + c0;
                for (j, v) in blk[at..at + nb].iter().enumerate() {
                    s.cplx[j * half + kr] = *v;
                }
            }
            for j in 0..nb {
                let col = &mut s.cplx[j * half..(j + 1) * half];
                // The DC (and Nyquist) entries of a real signal's spectrum are real; clear the
                // rounding residue the transforms leave there.
                col[0].im = T::zero();
                if let Some(k) = nyquist {
                    col[k].im = T::zero();
                }
                let buf = &mut s.real[..rows];
                let r = self.c2r.process_with_scratch(col, buf, &mut s.fft);
                debug_assert!(r.is_ok());
                consume(c0 + j, buf);
            }
            c0 += nb;
        }
    }

    /// Inverse transform of a natural-layout spectrum `spec` (destroyed) into the column-major
    /// grid `out`, scaled by `scale` (use `1 / (rows * cols)` for the true inverse).
    pub fn inverse(&self, spec: &mut [Cx<T>], out: &mut [T], scale: T, s: &mut FftScratch<T>) {
        let rows = self.rows;
        let mut blocks = self.blocks.per_map(spec, 1).pop().unwrap_or_default();
        self.inverse_with(
            &mut blocks,
            |c, col| {
                for (o, v) in out[c * rows..(c + 1) * rows].iter_mut().zip(col) {
                    *o = scale * *v;
                }
            },
            s,
        );
    }

    /// Spectrum (natural layout) of a `fr x fc` column-major filter zero-padded into the grid's
    /// top-left corner.
    pub fn filter_spectrum(
        &self,
        filter: &[T],
        fr: usize,
        fc: usize,
        s: &mut FftScratch<T>,
    ) -> Vec<Cx<T>> {
        let mut out = vec![Cx::<T>::default(); self.spectrum_len()];
        let mut blocks = self.blocks.per_map(&mut out, 1).pop().unwrap_or_default();
        self.forward_with(
            |c, buf| {
                buf.fill(T::zero());
                if c < fc {
                    buf[..fr].copy_from_slice(&filter[c * fr..(c + 1) * fr]);
                }
            },
            &mut blocks,
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
            let f = Fft2d::<f64>::new(r, c);
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
            // Blocked layout of three maps: each map's blocks hold its natural spectrum.
            let b = f.blocks();
            let mut buf = vec![C64::default(); 3 * f.spectrum_len()];
            let mut maps = b.per_map(&mut buf, 3);
            let rows = r;
            f.forward_with(
                |k, col| col.copy_from_slice(&x[k * rows..(k + 1) * rows]),
                &mut maps[1],
                &mut s,
            );
            drop(maps);
            for blk in 0..b.count() {
                let (f0, len) = b.range(blk);
                assert_eq!(b.block(&buf, 3, 1, blk), &spec[f0..f0 + len]);
            }
            let mut back = vec![0.0; r * c];
            f.inverse(&mut spec, &mut back, 1.0 / (r * c) as f64, &mut s);
            for (a, b) in x.iter().zip(&back) {
                assert!((a - b).abs() < 1e-12, "{r}x{c}");
            }
        }
    }
}
