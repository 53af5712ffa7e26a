//! The Cholesky factor of the active Gram: update on a join, Givens downdate on a drop.

use faer::MatRef;

use super::LarsScratch;
use crate::greedy::Real;

impl<T: Real> LarsScratch<T> {
    /// Adds atom `j` with sign `s` to the active set, extending the Cholesky factor by one row.
    /// Returns false (and leaves the set unchanged) when `j` is dependent on the active atoms.
    #[inline(always)]
    pub(super) fn push(&mut self, g: MatRef<'_, T>, j: usize, s: T) -> bool {
        let (k, kmax) = (self.active.len(), self.kmax);
        let gj = g.col(j);
        for p in 0..k {
            let mut v = gj[self.active[p]];
            let row = &self.l[p * kmax..p * kmax + p + 1];
            for q in 0..p {
                v -= row[q] * self.tmp[q];
            }
            self.tmp[p] = v / row[p];
        }
        let gjj = gj[j];
        let d = gjj - self.tmp[..k].iter().map(|&v| v * v).sum::<T>();
        if d.is_nan() || d <= T::LARS_PIVOT_TOL * gjj {
            return false;
        }
        self.l[k * kmax..k * kmax + k].copy_from_slice(&self.tmp[..k]);
        self.l[k * kmax + k] = d.sqrt();
        self.active.push(j);
        self.sign.push(s);
        self.xa.push(T::zero());
        self.in_a[j] = true;
        true
    }

    /// Removes the active atom at position `p`: deletes row `p` of the Cholesky factor and
    /// restores the triangular form with Givens rotations on columns `(i, i + 1)`.
    #[inline(always)]
    pub(super) fn remove(&mut self, p: usize) {
        let (k, kmax) = (self.active.len(), self.kmax);
        let l = &mut self.l;
        // Shift rows p+1..k up by one; row i (new) has entries in columns 0..=i+1.
        for i in p..k - 1 {
            let (dst, src) = (i * kmax, (i + 1) * kmax);
            l.copy_within(src..src + i + 2, dst);
        }
        for i in p..k - 1 {
            let (a, b) = (l[i * kmax + i], l[i * kmax + i + 1]);
            let rr = a.hypot(b);
            let (cs, sn) = (a / rr, b / rr);
            for t in i..k - 1 {
                let (u, v) = (l[t * kmax + i], l[t * kmax + i + 1]);
                l[t * kmax + i] = cs * u + sn * v;
                l[t * kmax + i + 1] = -sn * u + cs * v;
            }
            l[i * kmax + i + 1] = T::zero();
        }
        let j = self.active.remove(p);
        self.in_a[j] = false;
        self.sign.remove(p);
        self.xa.remove(p);
    }
}
