//! The Fourier-domain x-step: Sherman–Morrison (one channel) or iterated Sherman–Morrison.

use crate::fft::C64;
use crate::operator::{ConvOperator, Spectra};
use crate::solve::ism::Ism;
use crate::solve::kernels::{self};

/// Sherman–Morrison solve of one block for a single-channel dictionary. With
/// `A = sum_i d_i b_i` (b = FFT(z - u)) and `dd = sum_i |d_i|^2`, the solution is
/// `x_i = b_i + conj(d_i) (s - c) / rho` where `c = (dd s + rho A) / (rho + dd)` is also
/// `sum_i d_i x_i`, the spectrum of `D x`. `bc` holds the block of every map (map after map);
/// it is overwritten with `x / N`. Returns the block's `sum w |D x - y|^2` (spectral).
#[allow(clippy::too_many_arguments)]
pub(super) fn single_channel_chunk(
    op: &ConvOperator,
    sp: &Spectra,
    s_hat: &[C64],
    blk: usize,
    bc: &mut [C64],
    acc: &mut [C64],
    rho: f64,
    inv_n: f64,
) -> f64 {
    let f = sp.fft.spectrum_len();
    let m = op.dictionary().n_filters();
    let (f0, len) = sp.fft.blocks().range(blk);
    let acc = &mut acc[..len];
    let dd = &sp.dd[f0..f0 + len];
    let w = &sp.weights[f0..f0 + len];
    let dblk = sp.filters_block(blk);
    let scale = -inv_n / rho;
    let mut df = 0.0;
    for (k, bk) in bc.chunks_mut(m * len).enumerate() {
        let s = &s_hat[k * f + f0..k * f + f0 + len];
        acc.fill(C64::default());
        for (d, bm) in dblk.chunks(len).zip(bk.chunks(len)) {
            kernels::mul_acc(acc, d, bm);
        }
        for (((a, sv), ddv), wv) in acc.iter_mut().zip(s).zip(dd).zip(w) {
            let c = (*sv * *ddv + *a * rho) / (rho + ddv);
            let diff = c - sv;
            df += wv * diff.norm_sqr();
            // (s - c) / (rho N)
            *a = diff * scale;
        }
        for (d, bm) in dblk.chunks(len).zip(bk.chunks_mut(len)) {
            kernels::scale_conj_mul_add(bm, inv_n, d, acc);
        }
    }
    df
}

/// The multi-channel x-step: `D(w)^H D(w) + rho I` is `rho I` plus `C` rank-one terms
/// `a_c a_c^H`, `a_c = conj(D_{c,.}(w))`, inverted by iterated Sherman–Morrison.
pub(super) struct MultiChannel {
    /// `sum_c conj(D_{c,i}) y_c` per filter (`m` spectra, blocked).
    dhs: Vec<C64>,
    ism: Ism,
}

impl MultiChannel {
    pub(super) fn new(op: &ConvOperator, sp: &Spectra, s_hat: &[C64], rho: f64, par: bool) -> Self {
        let f = sp.fft.spectrum_len();
        let blocks = sp.fft.blocks();
        let (m, cd) = (op.dictionary().n_filters(), op.dictionary().channels());
        let mut dhs = vec![C64::default(); m * f];
        for (blk, chunk) in blocks.chunks(&mut dhs, m).into_iter().enumerate() {
            let (f0, len) = blocks.range(blk);
            for (i, o) in chunk.chunks_mut(len).enumerate() {
                for c in 0..cd {
                    let s = &s_hat[c * f + f0..c * f + f0 + len];
                    kernels::conj_mul_acc(o, sp.filter(i, c, blk), s);
                }
            }
        }
        let mut me = Self {
            dhs,
            ism: Ism::new(cd, m, f),
        };
        me.factor(sp, rho, par);
        me
    }

    /// Refactorises for a new `rho`.
    pub(super) fn factor(&mut self, sp: &Spectra, rho: f64, par: bool) {
        self.ism
            .factor(sp.fft.blocks(), |c, i, blk| sp.filter(i, c, blk), rho, par);
    }

    /// Solves one block in place (`b = FFT(z - u)` in, `x / N` out; `bc` holds the block of
    /// every map); returns the block's `sum_c sum w |D_c x - y_c|^2` (spectral).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn solve_chunk(
        &self,
        op: &ConvOperator,
        sp: &Spectra,
        s_hat: &[C64],
        blk: usize,
        bc: &mut [C64],
        tmp: &mut [C64],
        rho: f64,
        inv_n: f64,
    ) -> f64 {
        let f = sp.fft.spectrum_len();
        let blocks = sp.fft.blocks();
        let (m, cd) = (op.dictionary().n_filters(), op.dictionary().channels());
        let (f0, len) = blocks.range(blk);
        let (t, dx) = tmp.split_at_mut(cd * len);
        let dx = &mut dx[..cd * len];
        // b = D^H y + rho FFT(z - u), then x = (D^H D + rho I)^{-1} b.
        let dhs = &self.dhs[m * f0..m * (f0 + len)];
        for (bv, dv) in bc.iter_mut().zip(dhs) {
            *bv = dv + *bv * rho;
        }
        self.ism.solve_block(blocks, blk, bc, t, rho);
        dx.fill(C64::default());
        for (i, bm) in bc.chunks_mut(len).enumerate() {
            for c in 0..cd {
                kernels::mul_acc(&mut dx[c * len..(c + 1) * len], sp.filter(i, c, blk), bm);
            }
            for v in bm.iter_mut() {
                *v *= inv_n;
            }
        }
        let w = &sp.weights[f0..f0 + len];
        let mut df = 0.0;
        for c in 0..cd {
            let s = &s_hat[c * f + f0..c * f + f0 + len];
            for ((xv, sv), wv) in dx[c * len..(c + 1) * len].iter().zip(s).zip(w) {
                df += wv * (xv - sv).norm_sqr();
            }
        }
        df
    }
}
