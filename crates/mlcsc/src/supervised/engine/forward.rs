//! The engine's forward pass with a tape, and the logits.

use super::kernels::{gemm, mat, mat_mut, Work};
use super::{momenta, Engine, Real, Step};

impl<T: Real> Engine<'_, T> {
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
}
