//! The compute engine of [`UnfoldedNet`](super::UnfoldedNet): forward pass with a tape and the
//! hand-written back-propagation, generic over `f32` / `f64`, on contiguous column-major
//! buffers whose convolutional codes are stored position-major ("NHWC": the `maps` entries of a
//! position are contiguous), so that every convolution of a batch is one GEMM on im2col
//! patches without a transpose:
//!
//! * analysis `D^T x`: `codes (maps x P b) = F^T (maps x patch) . im2col(x) (patch x P b)`;
//! * synthesis `D g`: `col2im( F (patch x maps) . codes (maps x P b) )`;
//! * filter gradient of `<a, D g>`: `im2col(a) . codes^T`.
//!
//! The net's canonical layout (codes map-major, filters channel-major, the layout of
//! [`crate::ValidConv`]) is mapped to the engine's by one index permutation of the parameter
//! vector ([`Plan::perm`]), of the input and of the deepest code, built once per network.

use std::ops::{Add, AddAssign, Mul, Neg, Sub, SubAssign};

use faer::linalg::matmul::matmul;
use faer::traits::ComplexField;
use faer::{Accum, MatMut, MatRef, Par};

use crate::valid::ValidGeometry;

/// The scalar types the engine computes in.
pub(crate) trait Real:
    ComplexField
    + Copy
    + Send
    + Sync
    + PartialOrd
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Neg<Output = Self>
    + AddAssign
    + SubAssign
    + std::iter::Sum
    + 'static
{
    const ZERO: Self;
    fn of(v: f64) -> Self;
    fn to(self) -> f64;
}

impl Real for f32 {
    const ZERO: Self = 0.0;
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[inline]
    fn to(self) -> f64 {
        self as f64
    }
}

impl Real for f64 {
    const ZERO: Self = 0.0;
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[inline]
    fn to(self) -> f64 {
        self
    }
}

/// One layer's operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Op {
    /// `n x m` column-major.
    Dense { n: usize, m: usize },
    /// Filters `patch x maps`, patch entries channel-fastest (`c + C (a + kh b)`).
    Conv(ValidGeometry),
}

impl Op {
    /// Entries per bias: 1 (dense) or the maps' count (a bias per map, positions interleaved).
    fn bias_period(&self) -> usize {
        match *self {
            Op::Dense { m, .. } => m,
            Op::Conv(g) => g.maps,
        }
    }
    /// A filter covering the whole input: im2col is the identity.
    fn full_kernel(&self) -> bool {
        matches!(*self, Op::Conv(g) if g.kernel == g.input)
    }
}

/// A layer of the plan: its operator and parameter offsets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PlanLayer {
    pub op: Op,
    pub d: usize,
    pub c: usize,
    pub b: usize,
}

/// Everything the engine needs to run a network: layers, offsets, and the permutations between
/// the net's canonical layout and the engine's.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub layers: Vec<PlanLayer>,
    pub dims: Vec<usize>,
    pub classes: usize,
    pub unfoldings: usize,
    pub fista: bool,
    pub w: usize,
    pub w0: usize,
    /// `internal[i] = canonical[perm[i]]` for the parameters.
    pub perm: Vec<usize>,
    /// Same for the input (`None`: identity).
    pub input_perm: Option<Vec<usize>>,
    /// Same for the deepest code (`None`: identity).
    pub output_perm: Option<Vec<usize>>,
}

/// Internal index -> canonical index of a convolutional code (`q + maps p` <- `q P + p`).
fn code_perm(g: &ValidGeometry) -> Option<Vec<usize>> {
    let (np, m) = (g.positions(), g.maps);
    if np == 1 || m == 1 {
        return None;
    }
    let mut v = vec![0; np * m];
    for p in 0..np {
        for q in 0..m {
            v[q + m * p] = q * np + p;
        }
    }
    Some(v)
}

impl Plan {
    /// The plan of a network with the given layers (offsets in the canonical vector, which
    /// the engine's vector shares block by block).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        layers: Vec<PlanLayer>,
        dims: Vec<usize>,
        classes: usize,
        unfoldings: usize,
        fista: bool,
        w: usize,
        w0: usize,
        n_params: usize,
    ) -> Self {
        let mut perm: Vec<usize> = (0..n_params).collect();
        let mut prev_code: Option<Vec<usize>> = None;
        let mut input_perm = None;
        for (i, l) in layers.iter().enumerate() {
            match l.op {
                Op::Conv(g) => {
                    let (kh, kw, ch) = (g.kernel.0, g.kernel.1, g.channels);
                    let pl = g.patch_len();
                    if ch > 1 {
                        for q in 0..g.maps {
                            for bb in 0..kw {
                                for a in 0..kh {
                                    for c in 0..ch {
                                        let int = c + ch * (a + kh * bb);
                                        let can = c * kh * kw + a + kh * bb;
                                        perm[l.d + int + pl * q] = l.d + can + pl * q;
                                    }
                                }
                            }
                        }
                        if i == 0 {
                            let px = g.input.0 * g.input.1;
                            let mut v = vec![0; ch * px];
                            for p in 0..px {
                                for c in 0..ch {
                                    v[c + ch * p] = c * px + p;
                                }
                            }
                            input_perm = Some(v);
                        }
                    }
                    prev_code = code_perm(&g);
                }
                Op::Dense { n, m } => {
                    if let Some(pc) = prev_code.take() {
                        for col in 0..m {
                            for (ri, &rc) in pc.iter().enumerate() {
                                perm[l.d + ri + n * col] = l.d + rc + n * col;
                            }
                        }
                    }
                }
            }
        }
        if let Some(pc) = &prev_code {
            for (ci, &cc) in pc.iter().enumerate() {
                for k in 0..classes {
                    perm[w + k + classes * ci] = w + k + classes * cc;
                }
            }
        }
        Self {
            layers,
            dims,
            classes,
            unfoldings,
            fista,
            w,
            w0,
            perm,
            input_perm,
            output_perm: prev_code,
        }
    }

    /// The engine's parameter vector from the canonical one.
    pub fn params_in<T: Real>(&self, canonical: &[f64]) -> Vec<T> {
        self.perm.iter().map(|&c| T::of(canonical[c])).collect()
    }

    /// `canonical[perm[i]] = internal[i]`.
    pub fn params_out(&self, internal: &[f64], canonical: &mut [f64]) {
        for (i, &c) in self.perm.iter().enumerate() {
            canonical[c] = internal[i];
        }
    }

    /// Columns of canonical inputs, in the engine's layout and type.
    pub fn input_in<T: Real>(&self, x: MatRef<'_, f64>) -> Vec<T> {
        let n = self.dims[0];
        let mut out = Vec::with_capacity(n * x.ncols());
        for j in 0..x.ncols() {
            let col = x.col(j);
            match &self.input_perm {
                None => out.extend(col.iter().map(|&v| T::of(v))),
                Some(p) => out.extend(p.iter().map(|&c| T::of(col[c]))),
            }
        }
        out
    }

    /// Deepest codes from the engine's layout to the canonical one.
    pub fn output_out<T: Real>(&self, g: &[T], b: usize) -> faer::Mat<f64> {
        let n = self.dims[self.dims.len() - 1];
        let mut out = faer::Mat::<f64>::zeros(n, b);
        for j in 0..b {
            let src = &g[j * n..(j + 1) * n];
            match &self.output_perm {
                None => {
                    for (i, v) in src.iter().enumerate() {
                        out[(i, j)] = v.to();
                    }
                }
                Some(p) => {
                    for (i, &c) in p.iter().enumerate() {
                        out[(c, j)] = src[i].to();
                    }
                }
            }
        }
        out
    }

    fn depth(&self) -> usize {
        self.layers.len()
    }
}

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

fn gemm<T: Real>(dst: MatMut<'_, T>, add: bool, lhs: MatRef<'_, T>, rhs: MatRef<'_, T>, alpha: T) {
    let acc = if add { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, alpha, Par::Seq);
}

fn mat<T>(s: &[T], r: usize, c: usize) -> MatRef<'_, T> {
    MatRef::from_column_major_slice(s, r, c)
}

fn mat_mut<T>(s: &mut [T], r: usize, c: usize) -> MatMut<'_, T> {
    MatMut::from_column_major_slice_mut(s, r, c)
}

/// Patch matrix (`patch x P b`, column `j P + p`) of `b` NHWC images `x`.
fn im2col<T: Real>(g: &ValidGeometry, x: &[T], b: usize, cols: &mut [T]) {
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
fn col2im_add<T: Real>(g: &ValidGeometry, cols: &[T], b: usize, out: &mut [T]) {
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

/// The engine on one parameter vector (in its layout and type).
pub(crate) struct Engine<'a, T> {
    pub plan: &'a Plan,
    pub p: &'a [T],
}

/// What the forward pass keeps for the backward pass, per iteration.
pub(crate) struct Step<T> {
    /// `h_0..h_L` (empty at the first iteration, where they are zero).
    h: Vec<Vec<T>>,
    /// `r_i = h_{i-1} - g_{i-1}`.
    r: Vec<Vec<T>>,
    /// `q_i = D_i^T r_i`.
    q: Vec<Vec<T>>,
    /// Pre-activations.
    a: Vec<Vec<T>>,
    /// FISTA momentum that formed this iteration's point.
    rho: f64,
}

/// FISTA momenta: `rho[k]` forms the point of iteration `k` (0-based; `rho[0] = rho[1] = 0`).
pub(crate) fn momenta(k: usize) -> Vec<f64> {
    let mut out = vec![0.0; k.max(1)];
    let mut s = 1.0f64;
    for r in out.iter_mut().skip(1) {
        let next = 0.5 * (1.0 + (1.0 + 4.0 * s * s).sqrt());
        *r = (s - 1.0) / next;
        s = next;
    }
    out
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
    fn synth(&self, l: &PlanLayer, x: &[T], b: usize, out: &mut [T], work: &mut Work<T>) {
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
    fn anal(&self, l: &PlanLayer, y: &[T], b: usize, out: &mut [T], work: &mut Work<T>) {
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
    fn fgrad(
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

    /// Forward pass on `b` inputs `x` (engine layout); with `tape`, records what the backward
    /// pass needs. Returns `g_L`.
    pub fn forward(
        &self,
        x: &[T],
        b: usize,
        mut tape: Option<&mut Vec<Step<T>>>,
        work: &mut Work<T>,
    ) -> Vec<T> {
        let plan = self.plan;
        let nl = plan.depth();
        let dims = &plan.dims;
        let rhos = momenta(plan.unfoldings);
        let mut prev: Option<Vec<T>> = None;
        let mut cur: Option<Vec<T>> = None;
        for (k, &rho_k) in rhos.iter().enumerate().take(plan.unfoldings) {
            let rho = if plan.fista { rho_k } else { 0.0 };
            let mut h: Vec<Vec<T>> = Vec::new();
            if let Some(c) = &cur {
                let mut z = c.clone();
                if rho != 0.0 {
                    if let Some(p) = &prev {
                        let (a1, a2) = (T::of(1.0 + rho), T::of(rho));
                        z.iter_mut()
                            .zip(p)
                            .for_each(|(z, &p)| *z = a1 * *z - a2 * p);
                    }
                }
                h = dims.iter().map(|&n| vec![T::ZERO; n * b]).collect();
                h[nl] = z;
                for i in (0..nl).rev() {
                    let (lo, hi) = h.split_at_mut(i + 1);
                    self.synth(&plan.layers[i], &hi[0], b, &mut lo[i], work);
                }
            }
            let (mut rs, mut qs, mut as_) = (Vec::new(), Vec::new(), Vec::new());
            let mut gs: Vec<Vec<T>> = Vec::with_capacity(nl);
            for i in 0..nl {
                let l = &plan.layers[i];
                let u: &[T] = if i == 0 { x } else { &gs[i - 1] };
                let r: Vec<T> = if h.is_empty() {
                    u.iter().map(|&v| -v).collect()
                } else {
                    h[i].iter().zip(u).map(|(&a, &b)| a - b).collect()
                };
                let mut q = vec![T::ZERO; dims[i + 1] * b];
                self.anal(l, &r, b, &mut q, work);
                let c = self.p[l.c];
                let per = l.op.bias_period();
                let bias = &self.p[l.b..l.b + per];
                let mut a = vec![T::ZERO; q.len()];
                for (aj, qj) in a.chunks_mut(per).zip(q.chunks(per)) {
                    for ((a, &q), &bb) in aj.iter_mut().zip(qj).zip(bias) {
                        *a = bb - c * q;
                    }
                }
                if !h.is_empty() {
                    a.iter_mut().zip(&h[i + 1]).for_each(|(a, &v)| *a += v);
                }
                let g: Vec<T> = a
                    .iter()
                    .map(|&v| if v > T::ZERO { v } else { T::ZERO })
                    .collect();
                rs.push(r);
                qs.push(q);
                as_.push(a);
                gs.push(g);
            }
            let out = gs.pop().unwrap_or_default();
            if let Some(t) = tape.as_deref_mut() {
                t.push(Step {
                    h,
                    r: rs,
                    q: qs,
                    a: as_,
                    rho: if k >= 1 { rho } else { 0.0 },
                });
            }
            prev = cur.take();
            cur = Some(out);
        }
        cur.unwrap_or_else(|| vec![T::ZERO; dims[nl] * b])
    }

    /// Logits `W g + w_0` (`classes x b`).
    pub fn logits(&self, g: &[T], b: usize) -> Vec<T> {
        let plan = self.plan;
        let (k, nl) = (plan.classes, plan.dims[plan.depth()]);
        let w0 = &self.p[plan.w0..plan.w0 + k];
        let mut z: Vec<T> = (0..b).flat_map(|_| w0.iter().copied()).collect();
        gemm(
            mat_mut(&mut z, k, b),
            true,
            mat(&self.p[plan.w..plan.w + k * nl], k, nl),
            mat(g, nl, b),
            T::one_impl(),
        );
        z
    }

    /// Softmax cross-entropy of the `b` inputs `x` summed over them, times `scale`, and its
    /// gradient times `scale` added to `grad` (engine layout). Returns `scale` times the summed
    /// loss and the number of inputs whose largest logit is their label.
    pub fn backprop(
        &self,
        x: &[T],
        labels: &[usize],
        scale: f64,
        grad: &mut [T],
        work: &mut Work<T>,
    ) -> (f64, usize) {
        let plan = self.plan;
        let nl = plan.depth();
        let b = labels.len();
        let dims = &plan.dims;
        let kk = plan.unfoldings;
        let mut tape = Vec::with_capacity(kk);
        let g_last = self.forward(x, b, Some(&mut tape), work);
        let z = self.logits(&g_last, b);
        let classes = plan.classes;
        let mut dz = vec![T::ZERO; classes * b];
        let mut loss = 0.0;
        let mut correct = 0;
        for (j, &lab) in labels.iter().enumerate() {
            let zj = &z[j * classes..(j + 1) * classes];
            let best = (0..classes)
                .max_by(|&a, &b| zj[a].to().total_cmp(&zj[b].to()))
                .unwrap_or(0);
            correct += usize::from(best == lab);
            let mx = zj.iter().map(|v| v.to()).fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = zj.iter().map(|v| (v.to() - mx).exp()).sum();
            loss += -(zj[lab].to() - mx) + sum.ln();
            for (c, d) in dz[j * classes..(j + 1) * classes].iter_mut().enumerate() {
                let p = (zj[c].to() - mx).exp() / sum - if c == lab { 1.0 } else { 0.0 };
                *d = T::of(p * scale);
            }
        }
        let nlen = dims[nl];
        // Classifier.
        gemm(
            mat_mut(&mut grad[plan.w..plan.w + classes * nlen], classes, nlen),
            true,
            mat(&dz, classes, b),
            mat(&g_last, nlen, b).transpose(),
            T::one_impl(),
        );
        for dzj in dz.chunks(classes) {
            for (g, &d) in grad[plan.w0..plan.w0 + classes].iter_mut().zip(dzj) {
                *g += d;
            }
        }
        let mut d_out: Vec<Vec<T>> = (0..kk).map(|_| vec![T::ZERO; nlen * b]).collect();
        gemm(
            mat_mut(&mut d_out[kk - 1], nlen, b),
            false,
            mat(&self.p[plan.w..plan.w + classes * nlen], classes, nlen).transpose(),
            mat(&dz, classes, b),
            T::one_impl(),
        );
        for k in (0..kk).rev() {
            let st = &tape[k];
            let has_h = !st.h.is_empty();
            let mut dg: Vec<Vec<T>> = dims[1..nl].iter().map(|&n| vec![T::ZERO; n * b]).collect();
            dg.push(std::mem::take(&mut d_out[k]));
            let mut dh: Vec<Vec<T>> = if has_h {
                dims.iter().map(|&n| vec![T::ZERO; n * b]).collect()
            } else {
                Vec::new()
            };
            for i in (0..nl).rev() {
                let l = &plan.layers[i];
                let c = self.p[l.c];
                let mut da = std::mem::take(&mut dg[i]);
                da.iter_mut().zip(&st.a[i]).for_each(|(d, &a)| {
                    if a <= T::ZERO {
                        *d = T::ZERO;
                    }
                });
                let per = l.op.bias_period();
                {
                    let gb = &mut grad[l.b..l.b + per];
                    for dj in da.chunks(per) {
                        gb.iter_mut().zip(dj).for_each(|(g, &d)| *g += d);
                    }
                }
                if has_h {
                    dh[i + 1].iter_mut().zip(&da).for_each(|(h, &d)| *h += d);
                }
                let dc: T = da.iter().zip(&st.q[i]).map(|(&d, &q)| d * q).sum();
                grad[l.c] -= dc;
                // dq = -c da; dD += r dq^T; dr = D dq.
                self.fgrad(l, &st.r[i], &da, b, -c, grad, work);
                let mut dr = vec![T::ZERO; dims[i] * b];
                self.synth(l, &da, b, &mut dr, work);
                if has_h {
                    dh[i].iter_mut().zip(&dr).for_each(|(h, &d)| *h -= c * d);
                }
                if i > 0 {
                    dg[i - 1]
                        .iter_mut()
                        .zip(&dr)
                        .for_each(|(g, &d)| *g += c * d);
                }
            }
            if has_h {
                // h_{i-1} = D_i h_i, top down.
                let mut tmp: Vec<T> = Vec::new();
                for i in 0..nl {
                    let l = &plan.layers[i];
                    self.fgrad(l, &dh[i], &st.h[i + 1], b, T::of(1.0), grad, work);
                    tmp.resize(dims[i + 1] * b, T::ZERO);
                    self.anal(l, &dh[i], b, &mut tmp, work);
                    dh[i + 1].iter_mut().zip(&tmp).for_each(|(h, &t)| *h += t);
                }
                // z = (1 + rho) gamma^{(k-1)} - rho gamma^{(k-2)}.
                let a1 = T::of(1.0 + st.rho);
                d_out[k - 1]
                    .iter_mut()
                    .zip(&dh[nl])
                    .for_each(|(o, &d)| *o += a1 * d);
                if k >= 2 && st.rho != 0.0 {
                    let a2 = T::of(st.rho);
                    d_out[k - 2]
                        .iter_mut()
                        .zip(&dh[nl])
                        .for_each(|(o, &d)| *o -= a2 * d);
                }
            }
        }
        (loss * scale, correct)
    }
}
