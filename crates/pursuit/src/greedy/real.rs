//! The precisions of the Gram-based greedy pursuits: `f64` and `f32` (sealed, crate-private).
//!
//! [`BatchOmp`](super::BatchOmp) codes `f32` signals in `f32` (`Solve<Dictionary, f32>`): the
//! Gram matrix and `D^T Y` are rounded once to `f32`, the steps (correlation updates, Cholesky
//! rows, ORMP's projected norms) run in `f32` with twice as many lanes per vector register and
//! half the memory traffic; the reported residual norms are `f64`.

use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

use faer::MatRef;
use sparse_core::simd::{Avx2Fma, Avx512};

/// `f32` signals whose largest entry lies within `2^-F32_SAFE_EXPONENT ..= 2^F32_SAFE_EXPONENT`
/// are coded as given (their squared norms, sums of at most a few million squares, stay within
/// `f32`'s normal range); others are rescaled by a power of two
/// ([`sparse_core::solve::by_magnitude`]).
pub(crate) const F32_SAFE_EXPONENT: i32 = 40;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// `f32` or `f64`.
pub(crate) trait Real:
    sealed::Sealed
    + num_traits::Float
    + faer::traits::ComplexField
    + sparse_core::solve::MagnitudeScalar
    + Default
    + AddAssign
    + SubAssign
    + MulAssign
    + Sum
    + Send
    + Sync
    + 'static
{
    /// Relative size of a new Cholesky pivot (or of ORMP's projected norm) below which an atom
    /// counts as linearly dependent on the selected ones.
    const DEPENDENCE_TOL: Self;
    /// Relative size of the largest correlation below which the residual counts as orthogonal
    /// to every atom.
    const ORTHOGONAL_TOL: Self;
    /// LARS: relative size of the squared Cholesky pivot of a joining atom below which it
    /// counts as linearly dependent on the active ones.
    const LARS_PIVOT_TOL: Self;
    /// `v` rounded to this precision.
    fn of(v: f64) -> Self;
    /// `alpha = a0 - G_S x_S` with the AVX2 + FMA kernels (`gram`: unit row stride, the
    /// support indices `< gram.ncols()`).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA (the token proves it).
    #[cfg(target_arch = "x86_64")]
    unsafe fn update_alpha_avx2(
        token: Avx2Fma,
        alpha: &mut [Self],
        a0: &[Self],
        gram: MatRef<'_, Self>,
        support: &[usize],
        coefs: &[Self],
    );
    /// The index of the largest `|v_i|` (the lowest on ties) and that magnitude, with AVX2.
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA (the token proves it).
    #[cfg(target_arch = "x86_64")]
    unsafe fn argmax_abs_avx2(token: Avx2Fma, v: &[Self]) -> (usize, Self);
    /// ORMP's selection `argmax_i alpha_i^2 / nu_i` (`0` where `nu_i <= tolg_i`) with AVX2,
    /// without a division per atom (see [`super::simd::ormp_select`]; `score` is scratch).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA (the token proves it).
    #[cfg(target_arch = "x86_64")]
    unsafe fn ormp_select_avx2(
        token: Avx2Fma,
        score: &mut [Self],
        alpha: &[Self],
        nu: &[Self],
        tolg: &[Self],
    ) -> (usize, Self);
    /// ORMP's update `alpha -= zk u`, `nu -= u^2` (`u` the new column of `U`) fused with the next
    /// [`Real::ormp_select_avx2`] (see [`super::simd::ormp_update_select`]).
    ///
    /// # Safety
    /// The CPU must support AVX2 and FMA (the token proves it).
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn ormp_update_select_avx2(
        token: Avx2Fma,
        u: &[Self],
        zk: Self,
        score: &mut [Self],
        alpha: &mut [Self],
        nu: &mut [Self],
        tolg: &[Self],
    ) -> (usize, Self);
    /// [`Real::argmax_abs_avx2`] with AVX-512 (see [`super::simd512::argmax_abs`]).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F + VL (the token proves it).
    #[cfg(target_arch = "x86_64")]
    unsafe fn argmax_abs_avx512(token: Avx512, v: &[Self]) -> (usize, Self);
    /// `out = (a - G_S c) * inv` with AVX-512 (see [`super::simd512::combine`]): ORMP's new
    /// column of `U`, Batch-OMP's correlation update (`inv = 1`).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F + VL (the token proves it).
    #[cfg(target_arch = "x86_64")]
    unsafe fn combine_avx512(
        token: Avx512,
        out: &mut [Self],
        a: &[Self],
        gram: MatRef<'_, Self>,
        support: &[usize],
        coefs: &[Self],
        inv: Self,
    );
    /// [`Real::ormp_select_avx2`] with AVX-512 (see [`super::simd512`]).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F + VL (the token proves it).
    #[cfg(target_arch = "x86_64")]
    unsafe fn ormp_select_avx512(
        token: Avx512,
        score: &mut [Self],
        alpha: &[Self],
        nu: &[Self],
        tolg: &[Self],
    ) -> (usize, Self);
    /// [`Real::ormp_update_select_avx2`] with AVX-512 (see [`super::simd512`]).
    ///
    /// # Safety
    /// The CPU must support AVX-512 F + VL (the token proves it).
    #[cfg(target_arch = "x86_64")]
    #[allow(clippy::too_many_arguments)]
    unsafe fn ormp_update_select_avx512(
        token: Avx512,
        u: &[Self],
        zk: Self,
        score: &mut [Self],
        alpha: &mut [Self],
        nu: &mut [Self],
        tolg: &[Self],
    ) -> (usize, Self);
}

/// The two impls of [`Real`]: the tolerances, and each kernel forwarded to its build for `$t`
/// (the simd modules name the `f32` twins with a suffix).
macro_rules! impl_real {
    ($t:ty, dep: $dep:expr, orth: $orth:expr, lars: $lars:expr,
     avx2: [$update_alpha:ident, $argmax2:ident, $select2:ident, $update_select2:ident],
     avx512: [$argmax512:ident, $combine512:ident, $select512:ident, $update_select512:ident]) => {
        impl Real for $t {
            const DEPENDENCE_TOL: $t = $dep;
            const ORTHOGONAL_TOL: $t = $orth;
            const LARS_PIVOT_TOL: $t = $lars;
            #[inline]
            fn of(v: f64) -> Self {
                v as $t
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn update_alpha_avx2(
                _: Avx2Fma,
                alpha: &mut [$t],
                a0: &[$t],
                gram: MatRef<'_, $t>,
                support: &[usize],
                coefs: &[$t],
            ) {
                // SAFETY: forwarded from the caller (the token proves AVX2 + FMA).
                unsafe { super::simd::$update_alpha(alpha, a0, gram, support, coefs) }
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn argmax_abs_avx2(_: Avx2Fma, v: &[$t]) -> (usize, $t) {
                // SAFETY: as above.
                unsafe { super::simd::$argmax2(v) }
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn ormp_select_avx2(
                _: Avx2Fma,
                score: &mut [$t],
                alpha: &[$t],
                nu: &[$t],
                tolg: &[$t],
            ) -> (usize, $t) {
                // SAFETY: as above.
                unsafe { super::simd::$select2(score, alpha, nu, tolg) }
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn ormp_update_select_avx2(
                _: Avx2Fma,
                u: &[$t],
                zk: $t,
                score: &mut [$t],
                alpha: &mut [$t],
                nu: &mut [$t],
                tolg: &[$t],
            ) -> (usize, $t) {
                // SAFETY: as above.
                unsafe { super::simd::$update_select2(u, zk, score, alpha, nu, tolg) }
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn argmax_abs_avx512(_: Avx512, v: &[$t]) -> (usize, $t) {
                // SAFETY: the token proves AVX-512 F + VL, AVX2 and FMA.
                unsafe { super::simd512::$argmax512(v) }
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn combine_avx512(
                _: Avx512,
                out: &mut [$t],
                a: &[$t],
                gram: MatRef<'_, $t>,
                support: &[usize],
                coefs: &[$t],
                inv: $t,
            ) {
                // SAFETY: as above.
                unsafe { super::simd512::$combine512(out, a, gram, support, coefs, inv) }
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            unsafe fn ormp_select_avx512(
                _: Avx512,
                score: &mut [$t],
                alpha: &[$t],
                nu: &[$t],
                tolg: &[$t],
            ) -> (usize, $t) {
                // SAFETY: as above.
                unsafe { super::simd512::$select512(score, alpha, nu, tolg) }
            }
            #[cfg(target_arch = "x86_64")]
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            unsafe fn ormp_update_select_avx512(
                _: Avx512,
                u: &[$t],
                zk: $t,
                score: &mut [$t],
                alpha: &mut [$t],
                nu: &mut [$t],
                tolg: &[$t],
            ) -> (usize, $t) {
                // SAFETY: as above.
                unsafe { super::simd512::$update_select512(u, zk, score, alpha, nu, tolg) }
            }
        }
    };
}

impl_real!(f64, dep: 1e-10, orth: 1e-13, lars: 1e-12,
    avx2: [update_alpha, argmax_abs, ormp_select, ormp_update_select],
    avx512: [argmax_abs, combine, ormp_select, ormp_update_select]);
impl_real!(f32, dep: 1e-4, orth: 1e-6, lars: 1e-6,
    avx2: [update_alpha_f32, argmax_abs_f32, ormp_select_f32, ormp_update_select_f32],
    avx512: [argmax_abs_f32, combine_f32, ormp_select_f32, ormp_update_select_f32]);
