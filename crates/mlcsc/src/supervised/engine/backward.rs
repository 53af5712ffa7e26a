//! The engine's hand-written back-propagation of the softmax cross-entropy.

use super::kernels::{gemm, mat, mat_mut, Work};
use super::{Engine, Real};

impl<T: Real> Engine<'_, T> {
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
