//! AVX2 + FMA kernels of Batch-OMP's inner loop, selected at run time by the workspace's one
//! dispatch ([`sparse_core::simd::Avx2Fma`]); the portable versions in `omp.rs` and `mod.rs`
//! compute the same quantities and are used on other CPUs or when `SPARSELAND_PORTABLE=1`.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::ormp::exact_score;
use super::Real;

/// `alpha = a0 - sum_t coefs[t] * gram[:, support[t]]` in one pass over `alpha` (each entry
/// is loaded and stored once whatever the support size). `gram` is `m x m` with unit row
/// stride (contiguous columns).
///
/// Panics unless `a0.len() == alpha.len() == gram.nrows()`, every `support[t] < gram.ncols()`,
/// `coefs.len() == support.len()` and `gram.row_stride() == 1` (checked: O(support) per call).
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn update_alpha(
    alpha: &mut [f64],
    a0: &[f64],
    gram: faer::MatRef<'_, f64>,
    support: &[usize],
    coefs: &[f64],
) {
    let m = alpha.len();
    assert!(a0.len() == m && gram.nrows() == m && coefs.len() == support.len());
    assert!(gram.row_stride() == 1 && support.iter().all(|&t| t < gram.ncols()));
    let cs = gram.col_stride() as usize;
    let ap = alpha.as_mut_ptr();
    let a0p = a0.as_ptr();
    let gp = gram.as_ptr();
    let mut i = 0;
    // 32 rows at a time: eight independent FMA chains hide the FMA latency (each entry still
    // sees the same operations in the same order as in the 8-row loop and the scalar tail).
    while i + 32 <= m {
        let mut acc = [_mm256_setzero_pd(); 8];
        for (l, a) in acc.iter_mut().enumerate() {
            *a = _mm256_loadu_pd(a0p.add(i + 4 * l));
        }
        for (&t, c) in support.iter().zip(coefs) {
            let cv = _mm256_broadcast_sd(c);
            let col = gp.add(t * cs + i);
            for (l, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fnmadd_pd(cv, _mm256_loadu_pd(col.add(4 * l)), *a);
            }
        }
        for (l, a) in acc.iter().enumerate() {
            _mm256_storeu_pd(ap.add(i + 4 * l), *a);
        }
        i += 32;
    }
    while i + 8 <= m {
        let mut acc0 = _mm256_loadu_pd(a0p.add(i));
        let mut acc1 = _mm256_loadu_pd(a0p.add(i + 4));
        for (&t, c) in support.iter().zip(coefs) {
            let cv = _mm256_broadcast_sd(c);
            let col = gp.add(t * cs + i);
            acc0 = _mm256_fnmadd_pd(cv, _mm256_loadu_pd(col), acc0);
            acc1 = _mm256_fnmadd_pd(cv, _mm256_loadu_pd(col.add(4)), acc1);
        }
        _mm256_storeu_pd(ap.add(i), acc0);
        _mm256_storeu_pd(ap.add(i + 4), acc1);
        i += 8;
    }
    while i < m {
        let mut acc = *a0p.add(i);
        for (&t, &c) in support.iter().zip(coefs) {
            acc = (-c).mul_add(*gp.add(t * cs + i), acc);
        }
        *ap.add(i) = acc;
        i += 1;
    }
}

/// Index of the largest `|v_i|` (lowest index on ties) and its magnitude, vectorised: a
/// lane-wise maximum, then a compare-and-mask scan for its first occurrence.
///
/// # Safety
/// The CPU must support AVX2.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn argmax_abs(v: &[f64]) -> (usize, f64) {
    let n = v.len();
    let p = v.as_ptr();
    let sign = _mm256_set1_pd(-0.0);
    let mut m0 = _mm256_setzero_pd();
    let mut m1 = _mm256_setzero_pd();
    let mut i = 0;
    while i + 8 <= n {
        m0 = _mm256_max_pd(m0, _mm256_andnot_pd(sign, _mm256_loadu_pd(p.add(i))));
        m1 = _mm256_max_pd(m1, _mm256_andnot_pd(sign, _mm256_loadu_pd(p.add(i + 4))));
        i += 8;
    }
    let mut lanes = [0.0f64; 4];
    _mm256_storeu_pd(lanes.as_mut_ptr(), _mm256_max_pd(m0, m1));
    let mut mx = lanes[0].max(lanes[1]).max(lanes[2]).max(lanes[3]);
    for k in i..n {
        mx = mx.max((*p.add(k)).abs());
    }
    let target = _mm256_set1_pd(mx);
    let mut j = 0;
    while j + 4 <= n {
        let eq =
            _mm256_cmp_pd::<_CMP_EQ_OQ>(_mm256_andnot_pd(sign, _mm256_loadu_pd(p.add(j))), target);
        let mask = _mm256_movemask_pd(eq);
        if mask != 0 {
            return (j + mask.trailing_zeros() as usize, mx);
        }
        j += 4;
    }
    for k in j..n {
        if (*p.add(k)).abs() == mx {
            return (k, mx);
        }
    }
    (0, mx) // empty or all-NaN input
}

/// [`update_alpha`] in `f32`: eight lanes per register.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn update_alpha_f32(
    alpha: &mut [f32],
    a0: &[f32],
    gram: faer::MatRef<'_, f32>,
    support: &[usize],
    coefs: &[f32],
) {
    let m = alpha.len();
    assert!(a0.len() == m && gram.nrows() == m && coefs.len() == support.len());
    assert!(gram.row_stride() == 1 && support.iter().all(|&t| t < gram.ncols()));
    let cs = gram.col_stride() as usize;
    let ap = alpha.as_mut_ptr();
    let a0p = a0.as_ptr();
    let gp = gram.as_ptr();
    let mut i = 0;
    // SAFETY (all pointer arithmetic below): `i + 8 * l + 8 <= m` within each block, rows of
    // `gram` have `m` entries at unit stride and every support index is a valid column.
    while i + 64 <= m {
        let mut acc = [_mm256_setzero_ps(); 8];
        for (l, a) in acc.iter_mut().enumerate() {
            *a = _mm256_loadu_ps(a0p.add(i + 8 * l));
        }
        for (&t, c) in support.iter().zip(coefs) {
            let cv = _mm256_broadcast_ss(c);
            let col = gp.add(t * cs + i);
            for (l, a) in acc.iter_mut().enumerate() {
                *a = _mm256_fnmadd_ps(cv, _mm256_loadu_ps(col.add(8 * l)), *a);
            }
        }
        for (l, a) in acc.iter().enumerate() {
            _mm256_storeu_ps(ap.add(i + 8 * l), *a);
        }
        i += 64;
    }
    while i + 16 <= m {
        let mut acc0 = _mm256_loadu_ps(a0p.add(i));
        let mut acc1 = _mm256_loadu_ps(a0p.add(i + 8));
        for (&t, c) in support.iter().zip(coefs) {
            let cv = _mm256_broadcast_ss(c);
            let col = gp.add(t * cs + i);
            acc0 = _mm256_fnmadd_ps(cv, _mm256_loadu_ps(col), acc0);
            acc1 = _mm256_fnmadd_ps(cv, _mm256_loadu_ps(col.add(8)), acc1);
        }
        _mm256_storeu_ps(ap.add(i), acc0);
        _mm256_storeu_ps(ap.add(i + 8), acc1);
        i += 16;
    }
    while i < m {
        let mut acc = *a0p.add(i);
        for (&t, &c) in support.iter().zip(coefs) {
            acc = (-c).mul_add(*gp.add(t * cs + i), acc);
        }
        *ap.add(i) = acc;
        i += 1;
    }
}

/// [`argmax_abs`] in `f32`: eight lanes per register.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn argmax_abs_f32(v: &[f32]) -> (usize, f32) {
    let n = v.len();
    let p = v.as_ptr();
    let sign = _mm256_set1_ps(-0.0);
    let mut m0 = _mm256_setzero_ps();
    let mut m1 = _mm256_setzero_ps();
    let mut i = 0;
    while i + 16 <= n {
        m0 = _mm256_max_ps(m0, _mm256_andnot_ps(sign, _mm256_loadu_ps(p.add(i))));
        m1 = _mm256_max_ps(m1, _mm256_andnot_ps(sign, _mm256_loadu_ps(p.add(i + 8))));
        i += 16;
    }
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), _mm256_max_ps(m0, m1));
    let mut mx = lanes.iter().fold(0.0f32, |m, &l| m.max(l));
    for k in i..n {
        mx = mx.max((*p.add(k)).abs());
    }
    let target = _mm256_set1_ps(mx);
    let mut j = 0;
    while j + 8 <= n {
        let eq =
            _mm256_cmp_ps::<_CMP_EQ_OQ>(_mm256_andnot_ps(sign, _mm256_loadu_ps(p.add(j))), target);
        let mask = _mm256_movemask_ps(eq);
        if mask != 0 {
            return (j + mask.trailing_zeros() as usize, mx);
        }
        j += 8;
    }
    for k in j..n {
        if (*p.add(k)).abs() == mx {
            return (k, mx);
        }
    }
    (0, mx) // empty or all-NaN input
}

/// `2^-9`: the relative margin of [`ormp_select`]'s candidates. The approximate scores are
/// within `1.5 * 2^-12` (the documented bound of `rcpps`) plus a few `f32` roundings of the
/// exact ones, so the exact maximum's approximation is at least `1 - 2^-9` times the largest
/// approximation.
const ORMP_MARGIN: f64 = 1.0 / 512.0;

/// ORMP's selection: the index of the largest score `alpha_i^2 / nu_i` (`0` where
/// `nu_i <= tolg_i`; the lowest index on ties) and that score, bit for bit as the portable
/// `score` pass and [`argmax_abs`] compute it, without a division per atom.
///
/// Pass 1 scores every atom with `rcpps`, the approximate reciprocal of `nu_i` rounded to
/// `f32` (one instruction a cycle, where a division takes eight per four lanes), and keeps
/// their maximum `mx`; `score` receives the approximations. Pass 2 computes the exact score
/// of the candidates whose approximation is at least `(1 - 2^-9) mx` (the exact maximum is
/// among them, see [`ORMP_MARGIN`]; usually it is alone) and returns the largest.
///
/// The caller must keep every `nu_i > tolg_i` within `f32`'s normal range (the atoms' squared
/// norms within `1e-25 ..= 1e25`), so that rounding `nu_i` to `f32` neither overflows nor
/// underflows.
///
/// Panics unless `score`, `alpha`, `nu` and `tolg` have one length.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn ormp_select(
    score: &mut [f64],
    alpha: &[f64],
    nu: &[f64],
    tolg: &[f64],
) -> (usize, f64) {
    let n = score.len();
    assert!(alpha.len() == n && nu.len() == n && tolg.len() == n);
    // SAFETY: the lengths are checked; `alpha` and `nu` are only read (`UPDATE = false`).
    let mx = unsafe {
        ormp_pass1::<false>(
            score,
            alpha.as_ptr().cast_mut(),
            nu.as_ptr().cast_mut(),
            tolg,
            std::ptr::null(),
            0.0,
        )
    };
    ormp_pass2(score, alpha, nu, tolg, mx)
}

/// ORMP's update after selecting an atom, fused with the next selection: `alpha -= zk u`,
/// `nu -= u^2` (`u` the new, already scaled column of `U`; the portable loop's operations, in
/// its order), then
/// [`ormp_select`] on the updated `alpha`, `nu` in the same pass over the atoms.
///
/// Panics unless the five slices have one length.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn ormp_update_select(
    u: &[f64],
    zk: f64,
    score: &mut [f64],
    alpha: &mut [f64],
    nu: &mut [f64],
    tolg: &[f64],
) -> (usize, f64) {
    let n = score.len();
    assert!(alpha.len() == n && nu.len() == n && tolg.len() == n && u.len() == n);
    // SAFETY: the lengths are checked and the slices are exclusive.
    let mx = unsafe {
        ormp_pass1::<true>(
            score,
            alpha.as_mut_ptr(),
            nu.as_mut_ptr(),
            tolg,
            u.as_ptr(),
            zk,
        )
    };
    ormp_pass2(score, alpha, nu, tolg, mx)
}

/// Pass 1 of [`ormp_select`] (after [`ormp_update_select`]'s update when `UPDATE`): the
/// approximate scores into `score` and their maximum.
///
/// # Safety
/// AVX2 and FMA; `alpha`, `nu` (and `u` when `UPDATE`) point to `score.len()` entries, written
/// only when `UPDATE`.
#[target_feature(enable = "avx2,fma")]
unsafe fn ormp_pass1<const UPDATE: bool>(
    score: &mut [f64],
    ap: *mut f64,
    np: *mut f64,
    tolg: &[f64],
    up: *const f64,
    zk: f64,
) -> f64 {
    let n = score.len();
    let (sp, tp) = (score.as_mut_ptr(), tolg.as_ptr());
    let zkv = _mm256_set1_pd(zk);
    // The (updated and) approximately scored four entries at `i`.
    let approx = |i: usize| {
        let (mut a, mut v) = (_mm256_loadu_pd(ap.add(i)), _mm256_loadu_pd(np.add(i)));
        if UPDATE {
            let u = _mm256_loadu_pd(up.add(i));
            a = _mm256_sub_pd(a, _mm256_mul_pd(zkv, u));
            v = _mm256_sub_pd(v, _mm256_mul_pd(u, u));
            _mm256_storeu_pd(ap.add(i), a);
            _mm256_storeu_pd(np.add(i), v);
        }
        let r = _mm256_cvtps_pd(_mm_rcp_ps(_mm256_cvtpd_ps(v)));
        let ok = _mm256_cmp_pd::<_CMP_GT_OQ>(v, _mm256_loadu_pd(tp.add(i)));
        let s = _mm256_and_pd(_mm256_mul_pd(_mm256_mul_pd(a, a), r), ok);
        _mm256_storeu_pd(sp.add(i), s);
        s
    };
    // Four independent maxima: one chain would wait on `vmaxpd`'s latency every four atoms.
    let mut acc = [_mm256_setzero_pd(); 4];
    let mut i = 0;
    // SAFETY (pointer arithmetic): `i + 16 <= n` (then `i + 4 <= n`) and every pointer has
    // `n` entries.
    while i + 16 <= n {
        for (l, m) in acc.iter_mut().enumerate() {
            *m = _mm256_max_pd(*m, approx(i + 4 * l));
        }
        i += 16;
    }
    while i + 4 <= n {
        acc[0] = _mm256_max_pd(acc[0], approx(i));
        i += 4;
    }
    let m0 = _mm256_max_pd(_mm256_max_pd(acc[0], acc[1]), _mm256_max_pd(acc[2], acc[3]));
    let mut lanes = [0.0f64; 4];
    _mm256_storeu_pd(lanes.as_mut_ptr(), m0);
    let mut mx = lanes[0].max(lanes[1]).max(lanes[2]).max(lanes[3]);
    for k in i..n {
        if UPDATE {
            let u = *up.add(k);
            *ap.add(k) -= zk * u;
            *np.add(k) -= u * u;
        }
        let (a, v) = (*ap.add(k), *np.add(k));
        score[k] = exact_score(a, v, tolg[k]);
        mx = mx.max(score[k]);
    }
    mx
}

/// Pass 2 of [`ormp_select`]: the exact scores of the candidates within [`ORMP_MARGIN`] of
/// the largest approximation `mx`, and the first largest.
#[target_feature(enable = "avx2,fma")]
fn ormp_pass2(score: &[f64], alpha: &[f64], nu: &[f64], tolg: &[f64], mx: f64) -> (usize, f64) {
    let thr_s = mx * (1.0 - ORMP_MARGIN);
    let thr = _mm256_set1_pd(thr_s);
    let sp = score.as_ptr();
    // SAFETY: `scan_candidates` asks for `j + 4 <= n`.
    let hits = |j: usize| unsafe {
        _mm256_movemask_pd(_mm256_cmp_pd::<_CMP_GE_OQ>(_mm256_loadu_pd(sp.add(j)), thr)) as u32
    };
    scan_candidates(score, alpha, nu, tolg, mx, thr_s, 4, hits)
}

/// Pass 2's scan, shared by the AVX2 and AVX-512 builds of the selection: the
/// [`exact_score`]s of the candidates (the entries of `score` at least `thr`, the margin below
/// the largest approximation `mx`) and the first largest; `(0, 0)` when `mx` is not positive
/// (every score is zero) or is NaN (the input is not finite).
///
/// `hits(j)` is the bit mask of the candidates among `score[j..j + lanes]` (bit `l` for entry
/// `j + l`); it is called only with `j + lanes <= score.len()`. Runs of `4 * lanes` entries
/// without a candidate are skipped in one test; the tail is scanned entry by entry.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
pub(super) fn scan_candidates<T: Real>(
    score: &[T],
    alpha: &[T],
    nu: &[T],
    tolg: &[T],
    mx: T,
    thr: T,
    lanes: usize,
    hits: impl Fn(usize) -> u32,
) -> (usize, T) {
    if mx.is_nan() || mx <= T::zero() {
        return (0, T::zero());
    }
    let n = score.len();
    let (mut best_i, mut best) = (usize::MAX, T::zero());
    let mut take = |k: usize| {
        let e = exact_score(alpha[k], nu[k], tolg[k]);
        if best_i == usize::MAX || e > best {
            (best_i, best) = (k, e);
        }
    };
    let mut j = 0;
    while j + lanes <= n {
        if j + 4 * lanes <= n
            && hits(j) | hits(j + lanes) | hits(j + 2 * lanes) | hits(j + 3 * lanes) == 0
        {
            j += 4 * lanes;
            continue;
        }
        let mut mask = hits(j);
        while mask != 0 {
            take(j + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
        j += lanes;
    }
    for (k, &sc) in score.iter().enumerate().skip(j) {
        if sc >= thr {
            take(k);
        }
    }
    if best_i == usize::MAX {
        (0, T::zero())
    } else {
        (best_i, best)
    }
}

/// [`ormp_select`] in `f32`: eight lanes per register, `rcpps` on `nu` itself.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn ormp_select_f32(
    score: &mut [f32],
    alpha: &[f32],
    nu: &[f32],
    tolg: &[f32],
) -> (usize, f32) {
    let n = score.len();
    assert!(alpha.len() == n && nu.len() == n && tolg.len() == n);
    // SAFETY: as in `ormp_select`.
    let mx = unsafe {
        ormp_pass1_f32::<false>(
            score,
            alpha.as_ptr().cast_mut(),
            nu.as_ptr().cast_mut(),
            tolg,
            std::ptr::null(),
            0.0,
        )
    };
    ormp_pass2_f32(score, alpha, nu, tolg, mx)
}

/// [`ormp_update_select`] in `f32`.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[allow(clippy::too_many_arguments)]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn ormp_update_select_f32(
    u: &[f32],
    zk: f32,
    score: &mut [f32],
    alpha: &mut [f32],
    nu: &mut [f32],
    tolg: &[f32],
) -> (usize, f32) {
    let n = score.len();
    assert!(alpha.len() == n && nu.len() == n && tolg.len() == n && u.len() == n);
    // SAFETY: as in `ormp_update_select`.
    let mx = unsafe {
        ormp_pass1_f32::<true>(
            score,
            alpha.as_mut_ptr(),
            nu.as_mut_ptr(),
            tolg,
            u.as_ptr(),
            zk,
        )
    };
    ormp_pass2_f32(score, alpha, nu, tolg, mx)
}

/// [`ormp_pass1`] in `f32`.
///
/// # Safety
/// As [`ormp_pass1`].
#[target_feature(enable = "avx2,fma")]
unsafe fn ormp_pass1_f32<const UPDATE: bool>(
    score: &mut [f32],
    ap: *mut f32,
    np: *mut f32,
    tolg: &[f32],
    up: *const f32,
    zk: f32,
) -> f32 {
    let n = score.len();
    let (sp, tp) = (score.as_mut_ptr(), tolg.as_ptr());
    let zkv = _mm256_set1_ps(zk);
    let approx = |i: usize| {
        let (mut a, mut v) = (_mm256_loadu_ps(ap.add(i)), _mm256_loadu_ps(np.add(i)));
        if UPDATE {
            let u = _mm256_loadu_ps(up.add(i));
            a = _mm256_sub_ps(a, _mm256_mul_ps(zkv, u));
            v = _mm256_sub_ps(v, _mm256_mul_ps(u, u));
            _mm256_storeu_ps(ap.add(i), a);
            _mm256_storeu_ps(np.add(i), v);
        }
        let ok = _mm256_cmp_ps::<_CMP_GT_OQ>(v, _mm256_loadu_ps(tp.add(i)));
        let s = _mm256_and_ps(_mm256_mul_ps(_mm256_mul_ps(a, a), _mm256_rcp_ps(v)), ok);
        _mm256_storeu_ps(sp.add(i), s);
        s
    };
    let mut acc = [_mm256_setzero_ps(); 4];
    let mut i = 0;
    // SAFETY (pointer arithmetic): `i + 32 <= n` (then `i + 8 <= n`) and every pointer has
    // `n` entries.
    while i + 32 <= n {
        for (l, m) in acc.iter_mut().enumerate() {
            *m = _mm256_max_ps(*m, approx(i + 8 * l));
        }
        i += 32;
    }
    while i + 8 <= n {
        acc[0] = _mm256_max_ps(acc[0], approx(i));
        i += 8;
    }
    let m0 = _mm256_max_ps(_mm256_max_ps(acc[0], acc[1]), _mm256_max_ps(acc[2], acc[3]));
    let mut lanes = [0.0f32; 8];
    _mm256_storeu_ps(lanes.as_mut_ptr(), m0);
    let mut mx = lanes.iter().fold(0.0f32, |m, &l| m.max(l));
    for k in i..n {
        if UPDATE {
            let u = *up.add(k);
            *ap.add(k) -= zk * u;
            *np.add(k) -= u * u;
        }
        let (a, v) = (*ap.add(k), *np.add(k));
        score[k] = exact_score(a, v, tolg[k]);
        mx = mx.max(score[k]);
    }
    mx
}

/// [`ormp_pass2`] in `f32`.
#[target_feature(enable = "avx2,fma")]
fn ormp_pass2_f32(score: &[f32], alpha: &[f32], nu: &[f32], tolg: &[f32], mx: f32) -> (usize, f32) {
    let thr_s = mx * (1.0 - ORMP_MARGIN as f32);
    let thr = _mm256_set1_ps(thr_s);
    let sp = score.as_ptr();
    // SAFETY: `scan_candidates` asks for `j + 8 <= n`.
    let hits = |j: usize| unsafe {
        _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GE_OQ>(_mm256_loadu_ps(sp.add(j)), thr)) as u32
    };
    scan_candidates(score, alpha, nu, tolg, mx, thr_s, 8, hits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// The portable rule: every score divided out, then the first largest.
    fn exact<T: crate::greedy::Real>(alpha: &[T], nu: &[T], tolg: &[T]) -> (usize, T) {
        let score: Vec<T> = (0..alpha.len())
            .map(|k| {
                if nu[k] > tolg[k] {
                    alpha[k] * alpha[k] / nu[k]
                } else {
                    T::zero()
                }
            })
            .collect();
        crate::greedy::argmax_abs(&score)
    }

    /// Draws a selection problem of length `n` whose scores hold exact ties, ties to one ulp
    /// and excluded atoms, with the projected norms spread over `1e-9 ..= 1` of `G_ii`.
    fn case(rng: &mut rand::rngs::StdRng, n: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let g: Vec<f64> = (0..n)
            .map(|_| 10f64.powf(rng.random_range(-3.0..3.0)))
            .collect();
        let tolg: Vec<f64> = g.iter().map(|&g| 1e-10 * g).collect();
        let mut nu: Vec<f64> = g
            .iter()
            .map(|&g| g * 10f64.powf(rng.random_range(-9.0..0.0)))
            .collect();
        let mut alpha: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        if n >= 3 {
            for _ in 0..n / 3 {
                let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
                match rng.random_range(0..4) {
                    // The same score at two indices.
                    0 => (alpha[b], nu[b]) = (alpha[a], nu[a]),
                    // The score of `a` one ulp away in alpha.
                    1 => {
                        (alpha[b], nu[b]) = (f64::from_bits(alpha[a].to_bits() + 1), nu[a]);
                    }
                    // The same score scaled: a near-tie through different operands.
                    2 => (alpha[b], nu[b]) = (alpha[a] * 2.0, nu[a] * 4.0 * (1.0 + 1e-15)),
                    // Excluded atom with a large correlation.
                    _ => (alpha[b], nu[b]) = (1e3, tolg[b]),
                }
            }
        }
        (alpha, nu, tolg)
    }

    /// Asserts `got == want`, bit for bit.
    fn same<T: Into<f64> + Copy>(label: &str, n: usize, got: (usize, T), want: (usize, T)) {
        let bits = |v: (usize, T)| (v.0, v.1.into().to_bits());
        assert_eq!(bits(got), bits(want), "{label}, n {n}");
    }

    #[test]
    fn division_free_selection_is_the_exact_rule() {
        use crate::greedy::simd512;
        if sparse_core::simd::Avx2Fma::hardware().is_none() {
            return;
        }
        // The AVX-512 builds too, where the CPU has them.
        let wide = sparse_core::simd::Avx512::hardware().is_some();
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for trial in 0..4000 {
            let n = trial % 70;
            let (alpha, nu, tolg) = case(&mut rng, n);
            let mut score = vec![0.0; n];
            let want = exact(&alpha, &nu, &tolg);
            // SAFETY (every kernel call below): the CPU has AVX2 and FMA, and AVX-512 F + VL
            // when `wide` (checked above).
            same(
                "f64",
                n,
                unsafe { ormp_select(&mut score, &alpha, &nu, &tolg) },
                want,
            );
            if wide {
                let got = unsafe { simd512::ormp_select(&mut score, &alpha, &nu, &tolg) };
                same("f64 512", n, got, want);
            }

            let a32: Vec<f32> = alpha.iter().map(|&v| v as f32).collect();
            let n32: Vec<f32> = nu.iter().map(|&v| v as f32).collect();
            let t32: Vec<f32> = tolg.iter().map(|&v| v as f32).collect();
            let mut s32 = vec![0.0f32; n];
            let want = exact(&a32, &n32, &t32);
            same(
                "f32",
                n,
                unsafe { ormp_select_f32(&mut s32, &a32, &n32, &t32) },
                want,
            );
            if wide {
                let got = unsafe { simd512::ormp_select_f32(&mut s32, &a32, &n32, &t32) };
                same("f32 512", n, got, want);
            }

            // The fused update: the portable loop's values, then the same selection.
            let u: Vec<f64> = (0..n)
                .map(|k| 0.3 * nu[k].sqrt() * rng.random_range(-1.0..1.0))
                .collect();
            let (inv, zk) = (rng.random_range(0.5..2.0), rng.random_range(-1.0..1.0));
            let (mut u1, mut a1, mut n1) = (u.clone(), alpha.clone(), nu.clone());
            for k in 0..n {
                u1[k] *= inv;
                a1[k] -= zk * u1[k];
                n1[k] -= u1[k] * u1[k];
            }
            let want = exact(&a1, &n1, &tolg);
            let kernels: &[(&str, FusedF64)] = if wide {
                &[
                    ("fused", ormp_update_select),
                    ("fused 512", simd512::ormp_update_select),
                ]
            } else {
                &[("fused", ormp_update_select)]
            };
            for &(label, kernel) in kernels {
                let (mut a2, mut n2) = (alpha.clone(), nu.clone());
                let got = unsafe { kernel(&u1, zk, &mut score, &mut a2, &mut n2, &tolg) };
                same(label, n, got, want);
                assert!(a1 == a2 && n1 == n2, "{label} update, n {n}");
            }

            let u32_: Vec<f32> = u.iter().map(|&v| v as f32).collect();
            let (inv32, zk32) = (inv as f32, zk as f32);
            let (mut u1, mut a1, mut n1) = (u32_.clone(), a32.clone(), n32.clone());
            for k in 0..n {
                u1[k] *= inv32;
                a1[k] -= zk32 * u1[k];
                n1[k] -= u1[k] * u1[k];
            }
            let want = exact(&a1, &n1, &t32);
            let kernels: &[(&str, FusedF32)] = if wide {
                &[
                    ("fused f32", ormp_update_select_f32),
                    ("fused f32 512", simd512::ormp_update_select_f32),
                ]
            } else {
                &[("fused f32", ormp_update_select_f32)]
            };
            for &(label, kernel) in kernels {
                let (mut a2, mut n2) = (a32.clone(), n32.clone());
                let got = unsafe { kernel(&u1, zk32, &mut s32, &mut a2, &mut n2, &t32) };
                same(label, n, got, want);
                assert!(a1 == a2 && n1 == n2, "{label} update, n {n}");
            }
        }
    }

    type FusedF64 =
        unsafe fn(&[f64], f64, &mut [f64], &mut [f64], &mut [f64], &[f64]) -> (usize, f64);
    type FusedF32 =
        unsafe fn(&[f32], f32, &mut [f32], &mut [f32], &mut [f32], &[f32]) -> (usize, f32);

    /// The AVX-512 `argmax_abs` returns the AVX2 one's index and magnitude: lengths around
    /// the register and block widths, ties (repeated magnitudes of either sign) anywhere.
    #[test]
    fn wide_argmax_is_the_avx2_argmax() {
        use crate::greedy::simd512;
        if sparse_core::simd::Avx512::hardware().is_none() {
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        for trial in 0..3000 {
            let n = trial % 150;
            let mut v: Vec<f64> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
            if n > 1 && trial % 3 == 0 {
                // A tie of the largest magnitude, of either sign, at two random places.
                let big = if trial % 2 == 0 { 2.0 } else { -2.0 };
                let (a, b) = (rng.random_range(0..n), rng.random_range(0..n));
                v[a] = big;
                v[b] = -big;
            }
            if trial % 7 == 0 {
                v.iter_mut().for_each(|x| *x = 0.0);
            }
            let v32: Vec<f32> = v.iter().map(|&x| x as f32).collect();
            // SAFETY: the CPU has AVX-512 F + VL, AVX2 and FMA (checked above).
            let (w, g) = unsafe { (argmax_abs(&v), simd512::argmax_abs(&v)) };
            assert_eq!((w.0, w.1.to_bits()), (g.0, g.1.to_bits()), "f64, n {n}");
            let (w, g) = unsafe { (argmax_abs_f32(&v32), simd512::argmax_abs_f32(&v32)) };
            assert_eq!((w.0, w.1.to_bits()), (g.0, g.1.to_bits()), "f32, n {n}");
        }
    }

    /// The AVX-512 combine is the AVX2 `update_alpha` on the columns `0..k`, then the
    /// scaling, bit for bit (the same operations per entry, in the same order), at every
    /// length around the register and block widths.
    #[test]
    fn wide_combine_is_the_avx2_combine_then_the_scaling() {
        use crate::greedy::simd512;
        if sparse_core::simd::Avx512::hardware().is_none() {
            return;
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for m in 0..150 {
            for k in [0, 1, 2, 5, 8] {
                let a: Vec<f64> = (0..m).map(|_| rng.random_range(-1.0..1.0)).collect();
                let u = faer::Mat::<f64>::from_fn(m, k, |_, _| rng.random_range(-1.0..1.0));
                let c: Vec<f64> = (0..k).map(|_| rng.random_range(-1.0..1.0)).collect();
                let inv = rng.random_range(0.5..2.0);
                let cols: Vec<usize> = (0..k).collect();
                let mut want = vec![0.0; m];
                let mut got = vec![f64::NAN; m];
                // SAFETY: the CPU has AVX-512 F + VL, AVX2 and FMA (checked above).
                unsafe {
                    update_alpha(&mut want, &a, u.as_ref(), &cols, &c);
                    simd512::combine(&mut got, &a, u.as_ref(), &cols, &c, inv);
                }
                want.iter_mut().for_each(|w| *w *= inv);
                assert_eq!(got, want, "f64, m {m}, k {k}");

                let a32: Vec<f32> = a.iter().map(|&v| v as f32).collect();
                let u32_ = faer::Mat::<f32>::from_fn(m, k, |i, j| u[(i, j)] as f32);
                let c32: Vec<f32> = c.iter().map(|&v| v as f32).collect();
                let mut want = vec![0.0f32; m];
                let mut got = vec![f32::NAN; m];
                // SAFETY: as above.
                unsafe {
                    update_alpha_f32(&mut want, &a32, u32_.as_ref(), &cols, &c32);
                    simd512::combine_f32(&mut got, &a32, u32_.as_ref(), &cols, &c32, inv as f32);
                }
                want.iter_mut().for_each(|w| *w *= inv as f32);
                assert_eq!(got, want, "f32, m {m}, k {k}");
            }
        }
    }
}
