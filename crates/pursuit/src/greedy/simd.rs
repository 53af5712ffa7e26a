//! AVX2 + FMA kernels of Batch-OMP's inner loop, selected at run time by the workspace's one
//! dispatch ([`sparse_core::simd::Avx2Fma`]); the portable versions in `omp.rs` and `mod.rs`
//! compute the same quantities and are used on other CPUs or when `SPARSELAND_PORTABLE=1`.

#![cfg(target_arch = "x86_64")]

use std::arch::x86_64::*;

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
