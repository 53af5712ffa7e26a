//! The Fourier-domain x-step: Sherman–Morrison (one channel) or iterated Sherman–Morrison.

use crate::fft::Cx;
use crate::float::Float;
use crate::operator::{ConvOperator, Spectra};
use crate::solve::ism::{Ism, Shift};
use crate::solve::kernels::{self};

/// Sherman–Morrison solve of one block for a single-channel dictionary: with
/// `sigma = rho + mu`, `A = sum_i d_i b_i` (b = FFT(z - u)) and `dd = sum_i |d_i|^2`, the
/// solution of `(D^H D + sigma I) x = D^H s + rho b` is
/// `x_i = (rho / sigma) b_i + conj(d_i) (s - c) / sigma` with `c = (dd s + rho A) / (sigma + dd)`;
/// its spectrum `D x = (rho A + dd (s - c)) / sigma` is `c` itself when `mu = 0`. `bc` holds the
/// block of every map (map after map); it is overwritten with `x / N`. Returns the block's
/// `sum w |D x - y|^2` (spectral).
#[allow(clippy::too_many_arguments)]
pub(crate) fn single_channel_chunk<T: Float>(
    op: &ConvOperator,
    sp: &Spectra<T>,
    s_hat: &[Cx<T>],
    blk: usize,
    bc: &mut [Cx<T>],
    acc: &mut [Cx<T>],
    rho: T,
    mu: T,
    inv_n: T,
) -> f64 {
    let f = sp.fft.spectrum_len();
    let m = op.dictionary().n_filters();
    let (f0, len) = sp.fft.blocks().range(blk);
    let acc = &mut acc[..len];
    let dd = &sp.dd[f0..f0 + len];
    let w = &sp.weights[f0..f0 + len];
    let dblk = sp.filters_block(blk);
    let sigma = rho + mu;
    let scale = -inv_n / sigma;
    let b_scale = inv_n * (rho / sigma);
    let mut df = 0.0;
    for (k, bk) in bc.chunks_mut(m * len).enumerate() {
        let s = &s_hat[k * f + f0..k * f + f0 + len];
        acc.fill(Cx::<T>::default());
        for (d, bm) in dblk.chunks(len).zip(bk.chunks(len)) {
            kernels::mul_acc(acc, d, bm);
        }
        let mut dfk = T::zero();
        for (((a, sv), ddv), wv) in acc.iter_mut().zip(s).zip(dd).zip(w) {
            let c = (*sv * *ddv + *a * rho) / (sigma + *ddv);
            let diff = c - *sv;
            let dx_minus_s = if mu == T::zero() {
                diff
            } else {
                (*a * rho - diff * *ddv) / sigma - *sv
            };
            dfk += *wv * dx_minus_s.norm_sqr();
            // (s - c) / (sigma N)
            *a = diff * scale;
        }
        df += dfk.wide();
        for (d, bm) in dblk.chunks(len).zip(bk.chunks_mut(len)) {
            kernels::scale_conj_mul_add(bm, b_scale, d, acc);
        }
    }
    df
}

/// The single-channel x-step with a diagonal shift `delta_i(f) = sigma + mu_g w_i g(f)`
/// (gradient regularisation, SPORCO's `ConvBPDNGradReg`; `g` = `sum_axes |1 - e^{-i w}|^2`):
/// Sherman–Morrison for `(a a^H + Delta) x = r`, `a = conj(d)`, `r = conj(d) s + rho b`:
/// `x = Delta^{-1} (r - conj(d) c)` with `c = (sum_i d_i r_i / delta_i) / (1 + sum_i |d_i|^2 /
/// delta_i)`, and `D x = c`. `bc` is overwritten with `x / N`. Returns the block's
/// `sum w |D x - y|^2` and `N sum_i w_i sum_f w(f) g(f) |x_i(f) / N|^2` (`= sum_i w_i ||G x_i||^2`),
/// both spectral.
#[allow(clippy::too_many_arguments)]
pub(crate) fn single_channel_diag_chunk<T: Float>(
    op: &ConvOperator,
    sp: &Spectra<T>,
    s_hat: &[Cx<T>],
    blk: usize,
    bc: &mut [Cx<T>],
    rho: T,
    shift: Shift<'_, T>,
    ghg: &[T],
    grad_weights: &[T],
    inv_n: T,
) -> (f64, f64) {
    let f = sp.fft.spectrum_len();
    let m = op.dictionary().n_filters();
    let (f0, len) = sp.fft.blocks().range(blk);
    let w = &sp.weights[f0..f0 + len];
    let dblk = sp.filters_block(blk);
    let (mut df, mut grad) = (0.0, 0.0);
    for (k, bk) in bc.chunks_mut(m * len).enumerate() {
        let s = &s_hat[k * f + f0..k * f + f0 + len];
        let (mut dfk, mut gk) = (T::zero(), T::zero());
        for q in 0..len {
            let (mut sd, mut sr) = (T::zero(), Cx::<T>::default());
            for i in 0..m {
                let d = dblk[i * len + q];
                let delta = shift.value(i, f0 + q);
                let r = d.conj() * s[q] + bk[i * len + q] * rho;
                sd += d.norm_sqr() / delta;
                sr += d * r / delta;
                bk[i * len + q] = r;
            }
            let c = sr / (T::one() + sd);
            dfk += w[q] * (c - s[q]).norm_sqr();
            for i in 0..m {
                let d = dblk[i * len + q];
                let delta = shift.value(i, f0 + q);
                let x = (bk[i * len + q] - d.conj() * c) / delta;
                gk += w[q] * ghg[f0 + q] * grad_weights[i] * x.norm_sqr();
                bk[i * len + q] = x * inv_n;
            }
        }
        df += dfk.wide();
        grad += gk.wide();
    }
    (df, grad * inv_n.wide())
}

/// The multi-channel x-step: `D(w)^H D(w) + rho I` is `rho I` plus `C` rank-one terms
/// `a_c a_c^H`, `a_c = conj(D_{c,.}(w))`, inverted by iterated Sherman–Morrison.
pub(crate) struct MultiChannel<T: Float = f64> {
    /// `sum_c conj(D_{c,i}) y_c` per filter (`m` spectra, blocked).
    dhs: Vec<Cx<T>>,
    ism: Ism<T>,
}

impl<T: Float> MultiChannel<T> {
    pub(crate) fn new(
        op: &ConvOperator,
        sp: &Spectra<T>,
        s_hat: &[Cx<T>],
        rho: T,
        par: bool,
    ) -> Self {
        let f = sp.fft.spectrum_len();
        let (m, cd) = (op.dictionary().n_filters(), op.dictionary().channels());
        let mut me = Self {
            dhs: vec![Cx::<T>::default(); m * f],
            ism: Ism::new(cd, m, f),
        };
        me.set_signal(op, sp, s_hat);
        me.factor(sp, rho, par);
        me
    }

    /// Replaces the signal spectra `s_hat` (natural layout, channel after channel) of the
    /// right-hand side `D^H s` (the factorisation is kept).
    pub(crate) fn set_signal(&mut self, op: &ConvOperator, sp: &Spectra<T>, s_hat: &[Cx<T>]) {
        let f = sp.fft.spectrum_len();
        let blocks = sp.fft.blocks();
        let (m, cd) = (op.dictionary().n_filters(), op.dictionary().channels());
        for (blk, chunk) in blocks.chunks(&mut self.dhs, m).into_iter().enumerate() {
            let (f0, len) = blocks.range(blk);
            for (i, o) in chunk.chunks_mut(len).enumerate() {
                o.fill(Cx::<T>::default());
                for c in 0..cd {
                    let s = &s_hat[c * f + f0..c * f + f0 + len];
                    kernels::conj_mul_acc(o, sp.filter(i, c, blk), s);
                }
            }
        }
    }

    /// Refactorises for a new shift `sigma` (`rho + mu`).
    pub(crate) fn factor(&mut self, sp: &Spectra<T>, rho: T, par: bool) {
        self.factor_shift(sp, Shift::Scalar(rho), par);
    }

    /// Refactorises for a new diagonal shift (gradient regularisation).
    pub(crate) fn factor_shift(&mut self, sp: &Spectra<T>, shift: Shift<'_, T>, par: bool) {
        self.ism.factor_shift(
            sp.fft.blocks(),
            |c, i, blk| sp.filter(i, c, blk),
            shift,
            par,
        );
    }

    /// Solves one block in place (`b = FFT(z - u)` in, `x / N` out; `bc` holds the block of
    /// every map): `(D^H D + sigma I) x = D^H y + rho b` with the factorisation of `sigma`
    /// (`rho + mu`, see [`factor`](Self::factor)); returns the block's
    /// `sum_c sum w |D_c x - y_c|^2` (spectral).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn solve_chunk(
        &self,
        op: &ConvOperator,
        sp: &Spectra<T>,
        s_hat: &[Cx<T>],
        blk: usize,
        bc: &mut [Cx<T>],
        tmp: &mut [Cx<T>],
        rho: T,
        shift: Shift<'_, T>,
        inv_n: T,
    ) -> f64 {
        let f = sp.fft.spectrum_len();
        let blocks = sp.fft.blocks();
        let (m, cd) = (op.dictionary().n_filters(), op.dictionary().channels());
        let (f0, len) = blocks.range(blk);
        let (t, dx) = tmp.split_at_mut(cd * len);
        let dx = &mut dx[..cd * len];
        // b = D^H y + rho FFT(z - u), then x = (D^H D + sigma I)^{-1} b.
        let dhs = &self.dhs[m * f0..m * (f0 + len)];
        for (bv, dv) in bc.iter_mut().zip(dhs) {
            *bv = *dv + *bv * rho;
        }
        self.ism.solve_block_shift(blocks, blk, bc, t, shift);
        dx.fill(Cx::<T>::default());
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
            let mut dfc = T::zero();
            for ((xv, sv), wv) in dx[c * len..(c + 1) * len].iter().zip(s).zip(w) {
                dfc += *wv * (*xv - *sv).norm_sqr();
            }
            df += dfc.wide();
        }
        df
    }
}
