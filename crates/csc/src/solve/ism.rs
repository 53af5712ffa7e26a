//! Iterated Sherman–Morrison: per-frequency solves of `(rho I + sum_j a_j a_j^H) x = b` with
//! `k` rank-one terms in `C^m` (Wohlberg 2016, section "Multiple channels"; SPORCO's
//! `linalg.solvemdbi_ism`).
//!
//! With `A_0 = rho I` and `A_j = A_{j-1} + a_j a_j^H`, Sherman–Morrison gives
//! `A_j^{-1} = A_{j-1}^{-1} - g_j g_j^H / delta_j` where `g_j = A_{j-1}^{-1} a_j` and
//! `delta_j = 1 + a_j^H g_j`, so `A_k^{-1} b = b / rho - sum_j g_j (g_j^H b) / delta_j`. The
//! factorisation costs `O(k^2 m)` per frequency and a solve `O(k m)`.
//!
//! The vectors are given as spectra: `a_j[i] = conj(v_j[i])`, where `v_j[i]` is a spectrum
//! (in the blocked layout) — a filter channel for the multi-channel CBPDN (`D(w)^H D(w)`), a
//! training code for the dictionary update (`X(w)^H X(w)`).

use super::map_sum;
use crate::fft::{Blocks, Cx};
use crate::float::Float;

/// The diagonal `A_0` of the factorised matrix: `rho I`, or `sigma + mu w_i g(f)` per filter
/// `i` and frequency `f` (natural index), the x-step of gradient regularisation.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Shift<'a, T = f64> {
    Scalar(T),
    Diag {
        sigma: T,
        mu: T,
        weights: &'a [T],
        ghg: &'a [T],
    },
}

impl<T: Float> Shift<'_, T> {
    #[inline]
    pub(crate) fn value(&self, i: usize, f: usize) -> T {
        match *self {
            Shift::Scalar(r) => r,
            Shift::Diag {
                sigma,
                mu,
                weights,
                ghg,
            } => sigma + mu * weights[i] * ghg[f],
        }
    }
}

/// The factorisation of `rho I + sum_j a_j a_j^H` at every frequency.
pub(crate) struct Ism<T: Float = f64> {
    /// `g_{j,i}` (map `j m + i`), blocked.
    g: Vec<Cx<T>>,
    /// `delta_j` (map `j`), blocked.
    delta: Vec<T>,
    k: usize,
    m: usize,
}

impl<T: Float> Ism<T> {
    /// Storage for `k` rank-one terms in `C^m` on spectra of length `f`.
    pub fn new(k: usize, m: usize, f: usize) -> Self {
        Self {
            g: vec![Cx::<T>::default(); k * m * f],
            delta: vec![T::zero(); k * f],
            k,
            m,
        }
    }

    /// Factorises `rho I + sum_j a_j a_j^H` with `a_j[i] = conj(v(j, i, blk))`, where
    /// `v(j, i, blk)` is block `blk` of the spectrum `v_j[i]`.
    pub fn factor<'a, V>(&mut self, blocks: Blocks, v: V, rho: T, par: bool)
    where
        V: Fn(usize, usize, usize) -> &'a [Cx<T>] + Sync,
    {
        self.factor_shift(blocks, v, Shift::Scalar(rho), par);
    }

    /// [`factor`](Self::factor) of `A_0 + sum_j a_j a_j^H` for a diagonal `A_0` ([`Shift`]).
    pub fn factor_shift<'a, V>(&mut self, blocks: Blocks, v: V, shift: Shift<'_, T>, par: bool)
    where
        V: Fn(usize, usize, usize) -> &'a [Cx<T>] + Sync,
    {
        let (k, m) = (self.k, self.m);
        let chunk = blocks.range(0).1;
        let gs = blocks.chunks(&mut self.g, k * m);
        let ds = blocks.chunks(&mut self.delta, k);
        let items: Vec<_> = gs.into_iter().zip(ds).enumerate().collect();
        map_sum(
            items,
            par,
            || vec![Cx::<T>::default(); chunk],
            |coef, (blk, (gc, dc))| {
                let len = blocks.range(blk).1;
                let mut g: Vec<&mut [Cx<T>]> = gc.chunks_mut(len).collect();
                let mut delta: Vec<&mut [T]> = dc.chunks_mut(len).collect();
                let f0 = blocks.range(blk).0;
                for c in 0..k {
                    for i in 0..m {
                        match shift {
                            Shift::Scalar(rho) => {
                                for (gv, vv) in g[c * m + i].iter_mut().zip(v(c, i, blk)) {
                                    *gv = vv.conj() / rho;
                                }
                            }
                            Shift::Diag { .. } => {
                                for (q, (gv, vv)) in
                                    g[c * m + i].iter_mut().zip(v(c, i, blk)).enumerate()
                                {
                                    *gv = vv.conj() / shift.value(i, f0 + q);
                                }
                            }
                        }
                    }
                    for j in 0..c {
                        // coef = g_j^H a_c / delta_j.
                        let coef = &mut coef[..len];
                        coef.fill(Cx::<T>::default());
                        for i in 0..m {
                            for ((cv, gv), vv) in
                                coef.iter_mut().zip(g[j * m + i].iter()).zip(v(c, i, blk))
                            {
                                *cv += (*gv * *vv).conj();
                            }
                        }
                        for (cv, dv) in coef.iter_mut().zip(delta[j].iter()) {
                            *cv /= *dv;
                        }
                        let (lo, hi) = g.split_at_mut(c * m);
                        for i in 0..m {
                            for ((gc, gj), cv) in
                                hi[i].iter_mut().zip(lo[j * m + i].iter()).zip(coef.iter())
                            {
                                *gc -= *gj * *cv;
                            }
                        }
                    }
                    let dl = &mut delta[c];
                    dl.fill(T::one());
                    for i in 0..m {
                        for ((dv, vv), gv) in
                            dl.iter_mut().zip(v(c, i, blk)).zip(g[c * m + i].iter())
                        {
                            // a_c^H g_c = sum_i v_c[i] g_c[i].
                            *dv += (*vv * *gv).re;
                        }
                    }
                }
                0.0
            },
        );
    }

    /// Solves block `blk` in place: `b` holds the `m` right-hand sides of the block (map after
    /// map, `len` entries each) and receives `x`; `t` is scratch of `k len` entries.
    pub fn solve_block(
        &self,
        blocks: Blocks,
        blk: usize,
        b: &mut [Cx<T>],
        t: &mut [Cx<T>],
        rho: T,
    ) {
        self.solve_block_shift(blocks, blk, b, t, Shift::Scalar(rho));
    }

    /// [`solve_block`](Self::solve_block) with the diagonal `A_0` of the factorisation.
    pub fn solve_block_shift(
        &self,
        blocks: Blocks,
        blk: usize,
        b: &mut [Cx<T>],
        t: &mut [Cx<T>],
        shift: Shift<'_, T>,
    ) {
        let (k, m) = (self.k, self.m);
        let len = blocks.range(blk).1;
        let t = &mut t[..k * len];
        t.fill(Cx::<T>::default());
        let g = |j: usize, i: usize| blocks.block(&self.g, k * m, j * m + i, blk);
        for (i, bm) in b.chunks(len).enumerate() {
            for j in 0..k {
                for ((tv, gv), bv) in t[j * len..(j + 1) * len].iter_mut().zip(g(j, i)).zip(bm) {
                    *tv += gv.conj() * *bv;
                }
            }
        }
        for j in 0..k {
            let dl = blocks.block(&self.delta, k, j, blk);
            for (tv, dv) in t[j * len..(j + 1) * len].iter_mut().zip(dl) {
                *tv /= *dv;
            }
        }
        let f0 = blocks.range(blk).0;
        for (i, bm) in b.chunks_mut(len).enumerate() {
            match shift {
                Shift::Scalar(rho) => {
                    let inv_rho = T::one() / rho;
                    for v in bm.iter_mut() {
                        *v *= inv_rho;
                    }
                }
                Shift::Diag { .. } => {
                    for (q, v) in bm.iter_mut().enumerate() {
                        *v /= shift.value(i, f0 + q);
                    }
                }
            }
            for j in 0..k {
                for ((bv, gv), tv) in bm.iter_mut().zip(g(j, i)).zip(&t[j * len..(j + 1) * len]) {
                    *bv -= *gv * *tv;
                }
            }
        }
    }
}
