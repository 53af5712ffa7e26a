//! AVX-512 builds of ORMP's kernels: the selection ([`super::simd::ormp_select`] and
//! [`super::simd::ormp_update_select`]) and the new column of `U` ([`combine`]), selected by
//! the [`sparse_core::simd::Avx512`] token.
//!
//! - `vrcp14pd` / `vrcp14ps` approximate the reciprocals of eight `f64` (sixteen `f32`)
//!   projected norms in one instruction, with no rounding to `f32` and back; the excluded
//!   atoms are masked in a mask register.
//! - Pass 1 keeps, per lane, the largest approximation, its index and the second largest.
//!   When every other approximation is below the margin of the largest, that atom is the only
//!   candidate and pass 2 (the scan for the candidates) is skipped: in the profile of ORMP on
//!   a 64 x 256 dictionary it was 9% of the time, and the maximum is unique almost always.
//! - The candidates and the exact scores are those of the AVX2 build: both return the exact
//!   rule's atom and score, bit for bit, and [`combine`] computes what the AVX2
//!   `update_alpha` followed by the scaling computes, bit for bit, so ORMP's codes are the
//!   same on both builds (tested in `tests/simd_dispatch.rs`).

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

use super::ormp::exact_score;
use super::simd::scan_candidates;

/// See [`super::simd`]'s margin: `vrcp14` is within `2^-14`, tighter than `rcpps`.
const ORMP_MARGIN: f64 = 1.0 / 512.0;

macro_rules! combine_kernel {
    ($t:ty, $lanes:expr, $name:ident, $load:ident, $store:ident, $set1:ident, $mul:ident,
     $fnmadd:ident, $setzero:ident) => {
        /// `out = (a - G_S c) * inv` for the columns `support` of `gram` (unit row stride),
        /// each entry accumulated as the AVX2 `update_alpha` does (`a_i`, then one fused
        /// multiply-subtract per column in order, then the scaling), on 512-bit registers.
        /// ORMP's new column of `U` (the columns `0..k` of `U`, `inv = 1 / L_kk`), Batch-OMP's
        /// correlation update (`inv = 1`: the product is exact).
        ///
        /// Panics unless the shapes agree.
        ///
        /// # Safety
        /// The CPU must support AVX-512 F + VL, AVX2 and FMA.
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        pub(crate) unsafe fn $name(
            out: &mut [$t],
            a: &[$t],
            gram: faer::MatRef<'_, $t>,
            support: &[usize],
            coefs: &[$t],
            inv: $t,
        ) {
            const L: usize = $lanes;
            let m = out.len();
            assert!(a.len() == m && gram.nrows() == m && support.len() == coefs.len());
            assert!(gram.row_stride() == 1 && support.iter().all(|&t| t < gram.ncols()));
            let cs = gram.col_stride() as usize;
            let (op, a0, gp) = (out.as_mut_ptr(), a.as_ptr(), gram.as_ptr());
            let invv = $set1(inv);
            let mut i = 0;
            // SAFETY (pointer arithmetic): `i + 8 L <= m` (then `i + L <= m`, then `i < m`), and
            // every support column of `gram` has `m` entries at unit stride from `gp + t cs`.
            while i + 8 * L <= m {
                let mut acc = [$setzero(); 8];
                for (l, v) in acc.iter_mut().enumerate() {
                    *v = $load(a0.add(i + L * l));
                }
                for (&t, &c) in support.iter().zip(coefs) {
                    let cv = $set1(c);
                    let col = gp.add(t * cs + i);
                    for (l, v) in acc.iter_mut().enumerate() {
                        *v = $fnmadd(cv, $load(col.add(L * l)), *v);
                    }
                }
                for (l, v) in acc.iter().enumerate() {
                    $store(op.add(i + L * l), $mul(*v, invv));
                }
                i += 8 * L;
            }
            while i + L <= m {
                let mut v = $load(a0.add(i));
                for (&t, &c) in support.iter().zip(coefs) {
                    v = $fnmadd($set1(c), $load(gp.add(t * cs + i)), v);
                }
                $store(op.add(i), $mul(v, invv));
                i += L;
            }
            while i < m {
                let mut v = *a0.add(i);
                for (&t, &c) in support.iter().zip(coefs) {
                    v = (-c).mul_add(*gp.add(t * cs + i), v);
                }
                *op.add(i) = v * inv;
                i += 1;
            }
        }
    };
}

combine_kernel!(
    f64,
    8,
    combine,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_set1_pd,
    _mm512_mul_pd,
    _mm512_fnmadd_pd,
    _mm512_setzero_pd
);
combine_kernel!(
    f32,
    16,
    combine_f32,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_mul_ps,
    _mm512_fnmadd_ps,
    _mm512_setzero_ps
);

macro_rules! argmax_kernel {
    ($t:ty, $lanes:expr, $name:ident, $load:ident, $set1:ident, $max:ident, $abs:ident,
     $cmp_mask:ident, $setzero:ident, $store:ident) => {
        /// Index of the largest `|v_i|` (lowest index on ties) and its magnitude: the AVX2
        /// `argmax_abs` (a lane-wise maximum, then a scan for its first occurrence) on
        /// 512-bit registers, four maxima in flight. Same result as the AVX2 build on finite
        /// input (the maximum of the magnitudes does not depend on the order it is taken in).
        ///
        /// # Safety
        /// The CPU must support AVX-512 F + VL, AVX2 and FMA.
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        pub(crate) unsafe fn $name(v: &[$t]) -> (usize, $t) {
            const L: usize = $lanes;
            let n = v.len();
            let p = v.as_ptr();
            let mut acc = [$setzero(); 4];
            let mut i = 0;
            // SAFETY (pointer arithmetic): every load reads `L` entries below `n`.
            while i + 4 * L <= n {
                for (l, m) in acc.iter_mut().enumerate() {
                    *m = $max(*m, $abs($load(p.add(i + L * l))));
                }
                i += 4 * L;
            }
            while i + L <= n {
                acc[0] = $max(acc[0], $abs($load(p.add(i))));
                i += L;
            }
            let mut lanes = [0.0 as $t; L];
            $store(
                lanes.as_mut_ptr(),
                $max($max(acc[0], acc[1]), $max(acc[2], acc[3])),
            );
            let mut mx = lanes.iter().fold(0.0 as $t, |m, &l| m.max(l));
            for k in i..n {
                mx = mx.max((*p.add(k)).abs());
            }
            let target = $set1(mx);
            let mut j = 0;
            while j + L <= n {
                let eq = $cmp_mask::<_CMP_EQ_OQ>($abs($load(p.add(j))), target);
                if eq != 0 {
                    return (j + eq.trailing_zeros() as usize, mx);
                }
                j += L;
            }
            for k in j..n {
                if (*p.add(k)).abs() == mx {
                    return (k, mx);
                }
            }
            (0, mx) // empty or all-NaN input
        }
    };
}

argmax_kernel!(
    f64,
    8,
    argmax_abs,
    _mm512_loadu_pd,
    _mm512_set1_pd,
    _mm512_max_pd,
    _mm512_abs_pd,
    _mm512_cmp_pd_mask,
    _mm512_setzero_pd,
    _mm512_storeu_pd
);
argmax_kernel!(
    f32,
    16,
    argmax_abs_f32,
    _mm512_loadu_ps,
    _mm512_set1_ps,
    _mm512_max_ps,
    _mm512_abs_ps,
    _mm512_cmp_ps_mask,
    _mm512_setzero_ps,
    _mm512_storeu_ps
);

/// The exact score `a^2 / nu` (`0` where `nu <= t`), as the portable rule computes it.
macro_rules! ormp_kernels {
    ($t:ty, $lanes:expr, $mask:ty, $select:ident, $update_select:ident, $pass1:ident, $pass2:ident,
     $load:ident, $store:ident, $set1:ident, $mul:ident, $sub:ident, $max:ident, $rcp:ident,
     $cmp_mask:ident, $maskz_mul:ident, $reduce_max:ident, $setzero:ident, $min:ident,
     $maskz_mov:ident, $add:ident, $reduce_add:ident, $ix:ty, $lane:ty, $ix_init:expr, $ix_add:ident, $ix_set1:ident, $ix_mov:ident) => {
        /// ORMP's selection with AVX-512 (see the module docs).
        ///
        /// Panics unless the slices have one length.
        ///
        /// # Safety
        /// The CPU must support AVX-512 F + VL, AVX2 and FMA.
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        pub(crate) unsafe fn $select(
            score: &mut [$t],
            alpha: &[$t],
            nu: &[$t],
            tolg: &[$t],
        ) -> (usize, $t) {
            let n = score.len();
            assert!(alpha.len() == n && nu.len() == n && tolg.len() == n);
            // SAFETY: the lengths are checked; `alpha` and `nu` are only read (`UPDATE = false`).
            let (mx, unique) = unsafe {
                $pass1::<false>(
                    score,
                    alpha.as_ptr().cast_mut(),
                    nu.as_ptr().cast_mut(),
                    tolg,
                    std::ptr::null(),
                    0.0,
                )
            };
            match unique {
                Some(k) => (k, exact_score(alpha[k], nu[k], tolg[k])),
                None => $pass2(score, alpha, nu, tolg, mx),
            }
        }

        /// ORMP's update fused with the next selection, with AVX-512 (see the module docs).
        ///
        /// Panics unless the slices have one length.
        ///
        /// # Safety
        /// The CPU must support AVX-512 F + VL, AVX2 and FMA.
        #[allow(clippy::too_many_arguments)]
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        pub(crate) unsafe fn $update_select(
            u: &[$t],
            zk: $t,
            score: &mut [$t],
            alpha: &mut [$t],
            nu: &mut [$t],
            tolg: &[$t],
        ) -> (usize, $t) {
            let n = score.len();
            assert!(alpha.len() == n && nu.len() == n && tolg.len() == n && u.len() == n);
            // SAFETY: the lengths are checked and the slices are exclusive.
            let (mx, unique) = unsafe {
                $pass1::<true>(
                    score,
                    alpha.as_mut_ptr(),
                    nu.as_mut_ptr(),
                    tolg,
                    u.as_ptr(),
                    zk,
                )
            };
            match unique {
                Some(k) => (k, exact_score(alpha[k], nu[k], tolg[k])),
                None => $pass2(score, alpha, nu, tolg, mx),
            }
        }

        /// Pass 1: (the update and) the approximate scores into `score`, their maximum, and
        /// the index of that maximum when it is the only candidate: when every other
        /// approximation is below the margin of the largest (each lane keeps its largest
        /// approximation, where it is, and its second largest), pass 2 has nothing to decide.
        /// `None` sends the selection to pass 2 (a tie within the margin, a NaN, no positive
        /// score).
        ///
        /// # Safety
        /// AVX-512 F + VL; `ap`, `np` (and `up` when `UPDATE`) point to `score.len()` entries,
        /// written only when `UPDATE`.
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        unsafe fn $pass1<const UPDATE: bool>(
            score: &mut [$t],
            ap: *mut $t,
            np: *mut $t,
            tolg: &[$t],
            up: *const $t,
            zk: $t,
        ) -> ($t, Option<usize>) {
            const L: usize = $lanes;
            let n = score.len();
            let (sp, tp) = (score.as_mut_ptr(), tolg.as_ptr());
            let zkv = $set1(zk);
            let approx = |i: usize| {
                let (mut a, mut v) = ($load(ap.add(i)), $load(np.add(i)));
                if UPDATE {
                    let u = $load(up.add(i));
                    a = $sub(a, $mul(zkv, u));
                    v = $sub(v, $mul(u, u));
                    $store(ap.add(i), a);
                    $store(np.add(i), v);
                }
                let ok = $cmp_mask::<_CMP_GT_OQ>(v, $load(tp.add(i)));
                let s = $maskz_mul(ok, $mul(a, a), $rcp(v));
                $store(sp.add(i), s);
                s
            };
            // Per chain: the largest approximation of each lane, its index, the second largest.
            let mut acc = [$setzero(); 4];
            let mut sec = [$setzero(); 4];
            let mut arg = [$ix_set1(0); 4];
            // The sum of the approximations: NaN exactly when one of them is (they are not
            // negative), without a mask to carry through the loop.
            let mut sum = [$setzero(); 4];
            let init: $ix = $ix_init;
            let mut track = |l: usize, i: usize, s| {
                sum[l] = $add(sum[l], s);
                let gt = $cmp_mask::<_CMP_GT_OQ>(s, acc[l]);
                sec[l] = $max(sec[l], $min(acc[l], s));
                acc[l] = $max(acc[l], s);
                arg[l] = $ix_mov(arg[l], gt, $ix_add(init, $ix_set1(i as _)));
            };
            let mut i = 0;
            // SAFETY (pointer arithmetic): `i + 4 L <= n` (then `i + L <= n`) and every
            // pointer has `n` entries.
            while i + 4 * L <= n {
                for l in 0..4 {
                    track(l, i + L * l, approx(i + L * l));
                }
                i += 4 * L;
            }
            while i + L <= n {
                track(0, i, approx(i));
                i += L;
            }
            let mut mx = $reduce_max($max($max(acc[0], acc[1]), $max(acc[2], acc[3])));
            // The chains merged lane by lane, then the lanes: the largest, its index, the
            // second largest.
            let merge = |(t1a, t2a, ia): (_, _, $ix), (t1b, t2b, ib): (_, _, $ix)| {
                let take = $cmp_mask::<_CMP_GT_OQ>(t1b, t1a);
                (
                    $max(t1a, t1b),
                    $max($max(t2a, t2b), $min(t1a, t1b)),
                    $ix_mov(ia, take, ib),
                )
            };
            let (t1, t2, ix) = merge(
                merge((acc[0], sec[0], arg[0]), (acc[1], sec[1], arg[1])),
                merge((acc[2], sec[2], arg[2]), (acc[3], sec[3], arg[3])),
            );
            let mut nan = $reduce_add($add($add(sum[0], sum[1]), $add(sum[2], sum[3]))).is_nan();
            let mut top = $reduce_max(t1);
            let at = $cmp_mask::<_CMP_EQ_OQ>(t1, $set1(top));
            let (mut second, mut best) = if at.count_ones() == 1 {
                // SAFETY: a register of `L` indices of type `$lane`.
                let lanes: [$lane; L] = unsafe { std::mem::transmute(ix) };
                (
                    $reduce_max(t2).max($reduce_max($maskz_mov(!at, t1))),
                    lanes[at.trailing_zeros() as usize] as usize,
                )
            } else {
                (top, 0)
            };
            for k in i..n {
                if UPDATE {
                    let u = *up.add(k);
                    *ap.add(k) -= zk * u;
                    *np.add(k) -= u * u;
                }
                let sc = exact_score(*ap.add(k), *np.add(k), tolg[k]);
                score[k] = sc;
                mx = mx.max(sc);
                if sc.is_nan() {
                    nan = true;
                } else if sc > top {
                    (second, top, best) = (top, sc, k);
                } else {
                    second = second.max(sc);
                }
            }
            let unique = !nan && top > 0.0 && second < top * (1.0 - ORMP_MARGIN as $t);
            (mx, unique.then_some(best))
        }

        /// Pass 2: the exact scores of the candidates within the margin of `mx`, and the
        /// first largest.
        #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
        fn $pass2(score: &[$t], alpha: &[$t], nu: &[$t], tolg: &[$t], mx: $t) -> (usize, $t) {
            let thr_s = mx * (1.0 - ORMP_MARGIN as $t);
            let thr = $set1(thr_s);
            let sp = score.as_ptr();
            // SAFETY: `scan_candidates` asks for `j + lanes <= n`.
            let hits = |j: usize| unsafe { $cmp_mask::<_CMP_GE_OQ>($load(sp.add(j)), thr) as u32 };
            scan_candidates(score, alpha, nu, tolg, mx, thr_s, $lanes, hits)
        }
    };
}

ormp_kernels!(
    f64,
    8,
    u8,
    ormp_select,
    ormp_update_select,
    pass1_f64,
    pass2_f64,
    _mm512_loadu_pd,
    _mm512_storeu_pd,
    _mm512_set1_pd,
    _mm512_mul_pd,
    _mm512_sub_pd,
    _mm512_max_pd,
    _mm512_rcp14_pd,
    _mm512_cmp_pd_mask,
    _mm512_maskz_mul_pd,
    _mm512_reduce_max_pd,
    _mm512_setzero_pd,
    _mm512_min_pd,
    _mm512_maskz_mov_pd,
    _mm512_add_pd,
    _mm512_reduce_add_pd,
    __m512i,
    i64,
    _mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0),
    _mm512_add_epi64,
    _mm512_set1_epi64,
    _mm512_mask_mov_epi64
);
ormp_kernels!(
    f32,
    16,
    u16,
    ormp_select_f32,
    ormp_update_select_f32,
    pass1_f32,
    pass2_f32,
    _mm512_loadu_ps,
    _mm512_storeu_ps,
    _mm512_set1_ps,
    _mm512_mul_ps,
    _mm512_sub_ps,
    _mm512_max_ps,
    _mm512_rcp14_ps,
    _mm512_cmp_ps_mask,
    _mm512_maskz_mul_ps,
    _mm512_reduce_max_ps,
    _mm512_setzero_ps,
    _mm512_min_ps,
    _mm512_maskz_mov_ps,
    _mm512_add_ps,
    _mm512_reduce_add_ps,
    __m512i,
    i32,
    _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
    _mm512_add_epi32,
    _mm512_set1_epi32,
    _mm512_mask_mov_epi32
);
