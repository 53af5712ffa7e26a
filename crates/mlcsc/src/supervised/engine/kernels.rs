//! Scratch buffers, GEMM, im2col / col2im, and a layer's synthesis, analysis, filter gradient.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

use super::{Engine, Op, PlanLayer, Real};
use crate::valid::ValidGeometry;

/// Scratch buffers reused across operations (patch matrices).
pub(crate) struct Work<T> {
    cols: Vec<T>,
}

impl<T> Default for Work<T> {
    fn default() -> Self {
        Self { cols: Vec::new() }
    }
}

impl<T: Real> Work<T> {
    fn cols(&mut self, len: usize) -> &mut [T] {
        if self.cols.len() < len {
            self.cols.resize(len, T::ZERO);
        }
        &mut self.cols[..len]
    }
}

pub(super) fn gemm<T: Real>(
    dst: MatMut<'_, T>,
    add: bool,
    lhs: MatRef<'_, T>,
    rhs: MatRef<'_, T>,
    alpha: T,
) {
    let acc = if add { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, alpha, Par::Seq);
}

pub(super) fn mat<T>(s: &[T], r: usize, c: usize) -> MatRef<'_, T> {
    MatRef::from_column_major_slice(s, r, c)
}

pub(super) fn mat_mut<T>(s: &mut [T], r: usize, c: usize) -> MatMut<'_, T> {
    MatMut::from_column_major_slice_mut(s, r, c)
}

/// Patch matrix (`patch x P b`, column `j P + p`) of `b` NHWC images `x`.
pub(super) fn im2col<T: Real>(g: &ValidGeometry, x: &[T], b: usize, cols: &mut [T]) {
    let (oh, ow) = g.out();
    let (kh, kw) = g.kernel;
    let (h, s, ch) = (g.input.0, g.stride, g.channels);
    let (run, il, pl, np) = (ch * kh, g.input_len(), g.patch_len(), g.positions());
    for j in 0..b {
        let xj = &x[j * il..(j + 1) * il];
        for pc in 0..ow {
            for pr in 0..oh {
                let dst = &mut cols[(j * np + pr + oh * pc) * pl..][..pl];
                for bb in 0..kw {
                    let start = ch * (pr * s + h * (pc * s + bb));
                    dst[bb * run..(bb + 1) * run].copy_from_slice(&xj[start..start + run]);
                }
            }
        }
    }
}

/// Adds the patches `cols` back into the NHWC images `out`.
pub(super) fn col2im_add<T: Real>(g: &ValidGeometry, cols: &[T], b: usize, out: &mut [T]) {
    let (oh, ow) = g.out();
    let (kh, kw) = g.kernel;
    let (h, s, ch) = (g.input.0, g.stride, g.channels);
    let (run, il, pl, np) = (ch * kh, g.input_len(), g.patch_len(), g.positions());
    for j in 0..b {
        let oj = &mut out[j * il..(j + 1) * il];
        for pc in 0..ow {
            for pr in 0..oh {
                let src = &cols[(j * np + pr + oh * pc) * pl..][..pl];
                for bb in 0..kw {
                    let start = ch * (pr * s + h * (pc * s + bb));
                    for (o, &v) in oj[start..start + run]
                        .iter_mut()
                        .zip(&src[bb * run..(bb + 1) * run])
                    {
                        *o += v;
                    }
                }
            }
        }
    }
}

impl<T: Real> Engine<'_, T> {
    fn filters(&self, l: &PlanLayer) -> &[T] {
        let len = match l.op {
            Op::Dense { n, m } => n * m,
            Op::Conv(g) => g.patch_len() * g.maps,
        };
        &self.p[l.d..l.d + len]
    }

    /// `out = D_l x` (`x`: `b` codes of layer `l`).
    pub(super) fn synth(
        &self,
        l: &PlanLayer,
        x: &[T],
        b: usize,
        out: &mut [T],
        work: &mut Work<T>,
    ) {
        let f = self.filters(l);
        match l.op {
            Op::Dense { n, m } => gemm(
                mat_mut(out, n, b),
                false,
                mat(f, n, m),
                mat(x, m, b),
                T::one_impl(),
            ),
            Op::Conv(g) => {
                let (pl, np, maps) = (g.patch_len(), g.positions(), g.maps);
                if l.op.full_kernel() {
                    gemm(
                        mat_mut(out, pl, b),
                        false,
                        mat(f, pl, maps),
                        mat(x, maps, b),
                        T::one_impl(),
                    );
                    return;
                }
                let cols = work.cols(pl * np * b);
                gemm(
                    mat_mut(cols, pl, np * b),
                    false,
                    mat(f, pl, maps),
                    mat(x, maps, np * b),
                    T::one_impl(),
                );
                out.iter_mut().for_each(|v| *v = T::ZERO);
                col2im_add(&g, cols, b, out);
            }
        }
    }

    /// `out = D_l^T y` (`y`: `b` inputs of layer `l`).
    pub(super) fn anal(&self, l: &PlanLayer, y: &[T], b: usize, out: &mut [T], work: &mut Work<T>) {
        let f = self.filters(l);
        match l.op {
            Op::Dense { n, m } => gemm(
                mat_mut(out, m, b),
                false,
                mat(f, n, m).transpose(),
                mat(y, n, b),
                T::one_impl(),
            ),
            Op::Conv(g) => {
                let (pl, np, maps) = (g.patch_len(), g.positions(), g.maps);
                if l.op.full_kernel() {
                    gemm(
                        mat_mut(out, maps, b),
                        false,
                        mat(f, pl, maps).transpose(),
                        mat(y, pl, b),
                        T::one_impl(),
                    );
                    return;
                }
                let cols = work.cols(pl * np * b);
                im2col(&g, y, b, cols);
                gemm(
                    mat_mut(out, maps, np * b),
                    false,
                    mat(f, pl, maps).transpose(),
                    mat(cols, pl, np * b),
                    T::one_impl(),
                );
            }
        }
    }

    /// `grad[D_l] += alpha d/dD_l sum_j <a_j, D_l c_j>`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn fgrad(
        &self,
        l: &PlanLayer,
        a: &[T],
        c: &[T],
        b: usize,
        alpha: T,
        grad: &mut [T],
        work: &mut Work<T>,
    ) {
        match l.op {
            Op::Dense { n, m } => gemm(
                mat_mut(&mut grad[l.d..l.d + n * m], n, m),
                true,
                mat(a, n, b),
                mat(c, m, b).transpose(),
                alpha,
            ),
            Op::Conv(g) => {
                let (pl, np, maps) = (g.patch_len(), g.positions(), g.maps);
                let gd = mat_mut(&mut grad[l.d..l.d + pl * maps], pl, maps);
                if l.op.full_kernel() {
                    gemm(gd, true, mat(a, pl, b), mat(c, maps, b).transpose(), alpha);
                    return;
                }
                let cols = work.cols(pl * np * b);
                im2col(&g, a, b, cols);
                gemm(
                    gd,
                    true,
                    mat(cols, pl, np * b),
                    mat(c, maps, np * b).transpose(),
                    alpha,
                );
            }
        }
    }
}
