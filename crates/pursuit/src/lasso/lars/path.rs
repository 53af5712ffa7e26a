//! The homotopy path of one signal: segments, events and the stopping target.

#[cfg(target_arch = "x86_64")]
use sparse_core::simd::Avx2Fma;

use super::{Event, Homotopy, KnotRecorder, LarsScratch, Outcome, Target};
use crate::greedy::Real;

impl<T: Real> LarsScratch<T> {
    /// Scratch for signals of length `n` over `m` atoms.
    pub(crate) fn new(n: usize, m: usize) -> Self {
        let kmax = n.min(m);
        Self {
            c: vec![T::zero(); m],
            a: vec![T::zero(); m],
            r: vec![T::zero(); n],
            u: vec![T::zero(); n],
            active: Vec::with_capacity(kmax),
            sign: Vec::with_capacity(kmax),
            xa: Vec::with_capacity(kmax),
            w: vec![T::zero(); kmax],
            tmp: vec![T::zero(); kmax],
            in_a: vec![false; m],
            l: vec![T::zero(); kmax * kmax],
            kmax,
        }
    }

    /// Follows the path of problem `h` until its target, writing the code into `x` (zeroed on
    /// entry). `record(lambda, A, x_A)` is called at every knot, the first (`x = 0`) and the
    /// last included.
    pub(crate) fn run(
        &mut self,
        h: &Homotopy<'_, T>,
        x: &mut [T],
        record: Option<KnotRecorder<'_, T>>,
    ) -> Outcome<T> {
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = Avx2Fma::detect() {
            // SAFETY: the token proves that the CPU supports AVX2 and FMA.
            return unsafe { self.run_avx2(token, h, x, record) };
        }
        self.run_impl(h, x, record)
    }

    /// [`run`](Self::run) compiled for AVX2 + FMA (the loops over `m` vectorise 4-wide; no FMA
    /// contraction, so the path is bit-identical to the portable build's).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(
        &mut self,
        _: Avx2Fma,
        h: &Homotopy<'_, T>,
        x: &mut [T],
        record: Option<KnotRecorder<'_, T>>,
    ) -> Outcome<T> {
        self.run_impl(h, x, record)
    }

    #[inline(always)]
    fn run_impl(
        &mut self,
        h: &Homotopy<'_, T>,
        x: &mut [T],
        mut record: Option<KnotRecorder<'_, T>>,
    ) -> Outcome<T> {
        let (g, dty, target, nonneg, max_iter) = (h.g, h.dty, h.target, h.nonneg, h.max_iter);
        let m = dty.len();
        let kmax = self.kmax;
        self.c.copy_from_slice(dty);
        self.in_a.fill(false);
        self.active.clear();
        self.sign.clear();
        self.xa.clear();
        // lambda_0 and the first atom.
        let (mut j0, mut lam) = (0usize, T::zero());
        for (j, &cj) in self.c.iter().enumerate() {
            let v = if nonneg { cj } else { cj.abs() };
            if v > lam {
                (j0, lam) = (j, v);
            }
        }
        if let Some(rec) = record.as_mut() {
            rec(lam, &[], &[]);
        }
        let y2 = match target {
            Target::Residual { y, .. } => dot(y, y),
            Target::Lambda(_) => T::zero(),
        };
        let done = match target {
            Target::Lambda(t) => lam <= t,
            Target::Residual { eps, .. } => y2 <= eps * eps,
        };
        if done || lam == T::zero() {
            if let (Some(rec), Target::Lambda(t)) = (record.as_mut(), target) {
                if t < lam {
                    rec(t, &[], &[]);
                }
            }
            return Outcome {
                steps: 0,
                reached: done,
                lambda: lam,
            };
        }
        let lam0 = lam;
        let s0 = if self.c[j0] >= T::zero() {
            T::one()
        } else {
            -T::one()
        };
        self.push(g, j0, s0);
        let mut steps = 0usize;
        let mut banned: Option<usize> = None;
        let mut reached = false;
        loop {
            if steps >= max_iter {
                break;
            }
            let k = self.active.len();
            // w = G_AA^{-1} s_A (forward then backward substitution).
            for p in 0..k {
                let row = &self.l[p * kmax..p * kmax + p + 1];
                let mut v = self.sign[p];
                for q in 0..p {
                    v -= row[q] * self.w[q];
                }
                self.w[p] = v / row[p];
            }
            for p in (0..k).rev() {
                let row = &self.l[p * kmax..p * kmax + p + 1];
                let wp = self.w[p] / row[p];
                self.w[p] = wp;
                for q in 0..p {
                    self.w[q] -= row[q] * wp;
                }
            }
            // a = G[:, A] w, `GEMV_BLOCK` rows at a time held in registers across the active
            // columns (each entry sums `w_p G_jp` from 0 in the order of `A`, as one pass per
            // column would).
            let full = m / GEMV_BLOCK * GEMV_BLOCK;
            let col = |p: usize| {
                g.col(self.active[p])
                    .try_as_col_major()
                    .expect("owned Gram")
                    .as_slice()
            };
            for i0 in (0..full).step_by(GEMV_BLOCK) {
                let mut acc = [T::zero(); GEMV_BLOCK];
                for p in 0..k {
                    let wp = self.w[p];
                    for (v, &gv) in acc.iter_mut().zip(&col(p)[i0..i0 + GEMV_BLOCK]) {
                        *v += wp * gv;
                    }
                }
                self.a[i0..i0 + GEMV_BLOCK].copy_from_slice(&acc);
            }
            self.a[full..].fill(T::zero());
            for p in 0..k {
                let wp = self.w[p];
                for (av, &gv) in self.a[full..].iter_mut().zip(&col(p)[full..]) {
                    *av += wp * gv;
                }
            }
            let (mut gamma, mut event) = match target {
                Target::Lambda(t) => (lam - t, Event::Target),
                Target::Residual { eps, d, y } => {
                    // ||r - gamma u||^2 = eps^2 with r = y - D_A x_A, u = D_A w (explicit, so
                    // that a tiny eps is resolved), by the cancellation-free root formula.
                    self.r.copy_from_slice(y);
                    self.u.fill(T::zero());
                    for p in 0..k {
                        let dp = d.col(self.active[p]);
                        let (xp, wp) = (self.xa[p], self.w[p]);
                        for ((rv, uv), &dv) in self.r.iter_mut().zip(&mut self.u).zip(dp.iter()) {
                            *rv -= xp * dv;
                            *uv += wp * dv;
                        }
                    }
                    // ||r - gamma u|| is smallest at gs = <r, u> / ||u||^2, where it is
                    // rmin, formed explicitly so that it is accurate near 0; the crossing is
                    // gs - sqrt((eps^2 - rmin^2) / ||u||^2). Residuals at rounding level count
                    // as reaching eps (eps = 0: Basis Pursuit).
                    let uu = dot(&self.u, &self.u);
                    let gs = dot(&self.r, &self.u) / uu;
                    let rmin2: T = (self.r.iter().zip(&self.u))
                        .map(|(&a, &b)| (a - gs * b) * (a - gs * b))
                        .sum();
                    let g = if gs > T::zero() && rmin2 <= eps * eps + T::of(1e-26) * y2 {
                        (gs - ((eps * eps - rmin2).max(T::zero()) / uu).sqrt()).max(T::zero())
                    } else {
                        T::infinity()
                    };
                    // The slack absorbs the drift of the tracked lambda on the last segment
                    // of a path that runs down to lambda ~ 0 (eps ~ 0).
                    if g <= lam + T::of(1e-9) * lam0 {
                        (g, Event::Target)
                    } else {
                        (lam, Event::End)
                    }
                }
            };
            let (target_gamma, target_event) = (gamma, event);
            for p in 0..k {
                let wp = self.w[p];
                if wp != T::zero() {
                    let gp = -self.xa[p] / wp;
                    if gp > T::zero() && gp < gamma {
                        (gamma, event) = (gp, Event::Drop(p));
                    }
                }
            }
            if let Some(b) = banned {
                self.in_a[b] = true;
            }
            // With |A| = n the active atoms span R^n and, for atoms in general position, no
            // (n+1)-th correlation can reach lambda > 0: only drops or the target remain.
            let scan = if k < kmax { m } else { 0 };
            // Blocks of `SCAN_BLOCK` atoms: a block runs the sequential loop only when one of
            // its atoms passes that loop's own test against the current gamma (the same
            // comparisons, without the divisions and branches; they vectorise). Elsewhere the
            // loop would change nothing, so the event is the sequential loop's, bit for bit.
            let (c, a, in_a) = (&self.c[..scan], &self.a[..scan], &self.in_a[..scan]);
            for (b, ((cb, ab), ib)) in c
                .chunks(SCAN_BLOCK)
                .zip(a.chunks(SCAN_BLOCK))
                .zip(in_a.chunks(SCAN_BLOCK))
                .enumerate()
            {
                let mut hit = false;
                for ((&cj, &aj), &act) in cb.iter().zip(ab).zip(ib) {
                    let (d1, n1) = (T::one() - aj, lam - cj);
                    let (d2, n2) = (T::one() + aj, lam + cj);
                    let up = (d1 > T::zero()) & (n1 < gamma * d1);
                    let down = !nonneg & (d2 > T::zero()) & (n2 < gamma * d2);
                    // `|` and `&` (not `||`, `&&`): every lane is tested, so the test vectorises.
                    hit |= !act & (up | down);
                }
                if !hit {
                    continue;
                }
                for (l, ((&cj, &aj), &act)) in cb.iter().zip(ab).zip(ib).enumerate() {
                    if act {
                        continue;
                    }
                    let j = b * SCAN_BLOCK + l;
                    let (d1, n1) = (T::one() - aj, lam - cj);
                    if d1 > T::zero() && n1 < gamma * d1 {
                        (gamma, event) = (n1.max(T::zero()) / d1, Event::Add(j, T::one()));
                    }
                    if !nonneg {
                        let (d2, n2) = (T::one() + aj, lam + cj);
                        if d2 > T::zero() && n2 < gamma * d2 {
                            (gamma, event) = (n2.max(T::zero()) / d2, Event::Add(j, -T::one()));
                        }
                    }
                }
            }
            if let Some(b) = banned.take() {
                self.in_a[b] = false;
            }
            // When y lies in the span of the active atoms every correlation vanishes with the
            // residual at the end of the path, so joins tie with a residual target: take it.
            if let (Target::Residual { .. }, Event::Target) = (target, target_event) {
                if gamma >= target_gamma * (T::one() - T::of(1e-9)) {
                    (gamma, event) = (target_gamma, Event::Target);
                }
            }
            // Move to the event.
            for p in 0..k {
                self.xa[p] += gamma * self.w[p];
            }
            for (cv, &av) in self.c.iter_mut().zip(&self.a) {
                *cv -= gamma * av;
            }
            lam = match event {
                Event::Target => match target {
                    Target::Lambda(t) => t,
                    Target::Residual { .. } => (lam - gamma).max(T::zero()),
                },
                Event::End => T::zero(),
                _ => (lam - gamma).max(T::zero()),
            };
            steps += 1;
            let mut stop = false;
            match event {
                Event::Target => {
                    reached = true;
                    stop = true;
                }
                Event::End => stop = true,
                Event::Drop(p) => {
                    let j = self.active[p];
                    banned = Some(j);
                    self.remove(p);
                }
                Event::Add(j, s) => {
                    if self.active.len() == kmax || !self.push(g, j, s) {
                        stop = true;
                    }
                }
            }
            if let Some(rec) = record.as_mut() {
                rec(lam, &self.active, &self.xa);
            }
            if stop {
                break;
            }
        }
        for (p, &j) in self.active.iter().enumerate() {
            x[j] = self.xa[p];
        }
        Outcome {
            steps,
            reached,
            lambda: lam,
        }
    }
}

/// Rows per block of `a = G[:, A] w`.
const GEMV_BLOCK: usize = 32;

/// Atoms per block of the join scan: one test decides whether a block can hold the event.
const SCAN_BLOCK: usize = 16;

#[inline(always)]
fn dot<T: Real>(a: &[T], b: &[T]) -> T {
    a.iter().zip(b).map(|(&u, &v)| u * v).sum()
}
