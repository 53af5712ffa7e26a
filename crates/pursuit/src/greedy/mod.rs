//! Greedy pursuits: thresholding, Matching Pursuit, OMP and Batch-OMP.
//!
//! All of them approximate `min ||x||_0 s.t. ||y - D x||_2 <= eps` (or `||x||_0 <= k`) by
//! choosing atoms one at a time (Mallat & Zhang 1993; Pati, Rezaiifar & Krishnaprasad 1993;
//! Rubinstein, Zibulevsky & Elad 2008).

mod mp;
mod omp;
mod ormp;
mod real;
#[cfg(target_arch = "x86_64")]
mod simd;
#[cfg(target_arch = "x86_64")]
mod simd512;
mod threshold;

pub use mp::MatchingPursuit;
pub(crate) use omp::Float32Atoms;
pub use omp::{BatchOmp, Omp, Selection};
pub use threshold::Thresholding;

use crate::error::{invalid, Error, Result};
pub(crate) use real::{Real, F32_SAFE_EXPONENT};

/// When a greedy pursuit stops adding atoms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Stop {
    /// After exactly `k` atoms (fewer only if the residual vanishes first).
    Sparsity(usize),
    /// As soon as `||y - D x||_2 <= eps`.
    Residual(f64),
    /// At `k` atoms or when `||y - D x||_2 <= eps`, whichever comes first.
    SparsityOrResidual {
        /// Maximum number of atoms.
        k: usize,
        /// Residual target.
        eps: f64,
    },
}

impl Stop {
    /// The same rule for the signal divided by `s` (the residual target divided by `s`), for
    /// [`sparse_core::solve::by_magnitude`].
    pub(crate) fn divided(self, s: f64) -> Self {
        match self {
            Stop::Sparsity(k) => Stop::Sparsity(k),
            Stop::Residual(eps) => Stop::Residual(eps / s),
            Stop::SparsityOrResidual { k, eps } => Stop::SparsityOrResidual { k, eps: eps / s },
        }
    }

    /// Checks the rule against a dictionary with `n` rows and `m` atoms and returns the atom
    /// budget `k_max` and the squared residual target (`-1` when there is none).
    pub(crate) fn budget(&self, n: usize, m: usize) -> Result<(usize, f64)> {
        let cap = n.min(m);
        let check_k = |k: usize| {
            if k == 0 || k > cap {
                Err(invalid::<Error>(
                    "k",
                    k,
                    format!("1 <= k <= min(signal_len, n_atoms) = {cap}"),
                ))
            } else {
                Ok(k)
            }
        };
        let check_eps = |eps: f64| {
            if eps.is_finite() && eps >= 0.0 {
                Ok(eps * eps)
            } else {
                Err(invalid::<Error>(
                    "eps",
                    eps,
                    "a finite residual target >= 0",
                ))
            }
        };
        match *self {
            Stop::Sparsity(k) => Ok((check_k(k)?, -1.0)),
            Stop::Residual(eps) => Ok((cap, check_eps(eps)?)),
            Stop::SparsityOrResidual { k, eps } => Ok((check_k(k)?, check_eps(eps)?)),
        }
    }
}

/// Index of the largest `|v_i|` (lowest index on ties) and its magnitude.
///
/// Two passes: a lane-wise maximum the compiler vectorises, then a scan for its first
/// occurrence, eight entries at a time (a branch-free test per block of eight, then the
/// position inside the first block that holds it; the one-entry-at-a-time scan was a quarter
/// of ORMP's time in the profile).
#[inline(always)]
pub(crate) fn argmax_abs<T: Real>(v: &[T]) -> (usize, T) {
    const L: usize = 8;
    let neg = -T::one();
    let mut lanes = [neg; L];
    let chunks = v.chunks_exact(L);
    let rest = chunks.remainder();
    for ch in chunks {
        for l in 0..L {
            let a = ch[l].abs();
            lanes[l] = if a > lanes[l] { a } else { lanes[l] };
        }
    }
    let mut mx = lanes.iter().fold(neg, |m, &a| if a > m { a } else { m });
    for &x in rest {
        let a = x.abs();
        mx = if a > mx { a } else { mx };
    }
    let mut base = 0;
    for ch in v.chunks(L) {
        // `|` (not `||`): every lane is compared, so the test vectorises.
        let hit = ch.iter().fold(false, |h, x| h | (x.abs() == mx));
        if hit {
            if let Some(i) = ch.iter().position(|x| x.abs() == mx) {
                return (base + i, mx);
            }
        }
        base += ch.len();
    }
    (0, mx.max(T::zero())) // empty or all-NaN input
}

/// Scatters the coefficients of a greedy pursuit into the code `xj` and reports it: the
/// objective of a greedy method is its residual norm `sqrt(res2)`.
#[inline]
pub(crate) fn finish<T: Real>(
    support: &[usize],
    coefs: &[T],
    res2: T,
    converged: bool,
    xj: &mut [T],
) -> crate::result::Report {
    for (&t, &c) in support.iter().zip(coefs) {
        xj[t] = c;
    }
    crate::result::Report {
        iterations: support.len(),
        converged,
        objective: res2.sqrt().into(),
        residual_norm: res2.sqrt().into(),
        duality_gap: 0.0,
    }
}

/// A lower-triangular Cholesky factor `L` of the Gram block of the selected atoms, grown one
/// row at a time (`G_SS = L L^T`), stored row-major in a `cap x cap` buffer.
///
/// The solves are O(k^2) vector substitutions on a factor of at most `min(n, m)` rows; faer's
/// blocked triangular solvers are built for matrices and cost more than the arithmetic here.
#[derive(Debug, Clone)]
pub(crate) struct GrowingCholesky<T = f64> {
    cap: usize,
    k: usize,
    l: Vec<T>,
}

impl<T: Real> GrowingCholesky<T> {
    pub(crate) fn new(cap: usize) -> Self {
        Self {
            cap,
            k: 0,
            l: vec![T::zero(); cap * cap],
        }
    }

    pub(crate) fn clear(&mut self) {
        self.k = 0;
    }

    /// Appends an atom with squared norm `gii` and inner products `g_si` with the selected
    /// atoms (overwritten by `L^{-1} g_si`). Returns `false`, leaving the factor unchanged, when
    /// the atom is (numerically) in the span of the selected ones.
    pub(crate) fn push(&mut self, g_si: &mut [T], gii: T) -> bool {
        let k = self.k;
        debug_assert!(k < self.cap && g_si.len() == k);
        self.forward(g_si);
        let w2: T = g_si.iter().map(|&v| v * v).sum();
        let d = gii - w2;
        if d <= T::DEPENDENCE_TOL * gii {
            return false;
        }
        let row = &mut self.l[k * self.cap..k * self.cap + k + 1];
        row[..k].copy_from_slice(g_si);
        row[k] = d.sqrt();
        self.k += 1;
        true
    }

    /// Row `k` of the factor (`k + 1` entries, the diagonal last).
    pub(crate) fn row(&self, k: usize) -> &[T] {
        &self.l[k * self.cap..k * self.cap + k + 1]
    }

    /// In place `b <- L^{-1} b` (forward substitution), `b.len() == len()` (or the pending row).
    #[inline]
    pub(crate) fn forward(&self, b: &mut [T]) {
        for i in 0..b.len() {
            let row = &self.l[i * self.cap..i * self.cap + i];
            let s: T = row.iter().zip(&b[..i]).map(|(&a, &c)| a * c).sum();
            b[i] = (b[i] - s) / self.l[i * self.cap + i];
        }
    }

    /// Extends the forward substitution `z = L^{-1} b` by the entry of the last row, given the
    /// previous entries `z` (for `len() - 1` rows) and `b`'s new last entry: the same arithmetic
    /// as [`forward`](Self::forward) on the whole `b`, without redoing the first rows.
    #[inline]
    pub(crate) fn forward_push(&self, z: &mut Vec<T>, b_last: T) {
        let i = z.len();
        debug_assert!(i + 1 == self.k);
        let row = &self.l[i * self.cap..i * self.cap + i];
        let s: T = row.iter().zip(&z[..i]).map(|(&a, &c)| a * c).sum();
        z.push((b_last - s) / self.l[i * self.cap + i]);
    }

    /// In place `b <- L^{-T} b` (backward substitution).
    #[inline]
    pub(crate) fn backward(&self, b: &mut [T]) {
        let k = b.len();
        for i in (0..k).rev() {
            let mut s = b[i];
            for (j, bj) in b.iter().enumerate().take(k).skip(i + 1) {
                s -= self.l[j * self.cap + i] * *bj;
            }
            b[i] = s / self.l[i * self.cap + i];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::GrowingCholesky;

    #[test]
    fn forward_push_is_the_forward_substitution_bit_for_bit() {
        // G = A^T A for a fixed well-conditioned A (6 x 4), grown one atom at a time.
        let a: Vec<f64> = (0..24)
            .map(|e| ((e * 7 + 3) % 11) as f64 / 3.0 - 1.5 + if e % 7 == 0 { 2.0 } else { 0.0 })
            .collect();
        let col = |j: usize| &a[j * 6..(j + 1) * 6];
        let dot = |i: usize, j: usize| col(i).iter().zip(col(j)).map(|(x, y)| x * y).sum::<f64>();
        let b = [0.3, -1.7, 2.2, 0.9];
        let mut chol = GrowingCholesky::new(4);
        let mut z = Vec::new();
        for k in 0..4 {
            let mut g: Vec<f64> = (0..k).map(|t| dot(t, k)).collect();
            assert!(chol.push(&mut g, dot(k, k)));
            chol.forward_push(&mut z, b[k]);
            let mut full = b[..=k].to_vec();
            chol.forward(&mut full);
            assert_eq!(
                z.iter().map(|v| v.to_bits()).collect::<Vec<_>>(),
                full.iter().map(|v| v.to_bits()).collect::<Vec<_>>()
            );
        }
        // And L L^T x = b after the backward half.
        chol.backward(&mut z);
        for (i, &bi) in b.iter().enumerate() {
            let gx: f64 = (0..4).map(|j| dot(i, j) * z[j]).sum();
            assert!((gx - bi).abs() < 1e-9, "row {i}: {gx} vs {bi}");
        }
    }
}
