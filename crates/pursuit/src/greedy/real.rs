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

impl Real for f64 {
    const DEPENDENCE_TOL: f64 = 1e-10;
    const ORTHOGONAL_TOL: f64 = 1e-13;
    const LARS_PIVOT_TOL: f64 = 1e-12;
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn update_alpha_avx2(
        _: Avx2Fma,
        alpha: &mut [f64],
        a0: &[f64],
        gram: MatRef<'_, f64>,
        support: &[usize],
        coefs: &[f64],
    ) {
        // SAFETY: forwarded from the caller (the token proves AVX2 + FMA).
        unsafe { super::simd::update_alpha(alpha, a0, gram, support, coefs) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn argmax_abs_avx2(_: Avx2Fma, v: &[f64]) -> (usize, f64) {
        // SAFETY: as above.
        unsafe { super::simd::argmax_abs(v) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_select_avx2(
        _: Avx2Fma,
        score: &mut [f64],
        alpha: &[f64],
        nu: &[f64],
        tolg: &[f64],
    ) -> (usize, f64) {
        // SAFETY: as above.
        unsafe { super::simd::ormp_select(score, alpha, nu, tolg) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_update_select_avx2(
        _: Avx2Fma,
        u: &[f64],
        zk: f64,
        score: &mut [f64],
        alpha: &mut [f64],
        nu: &mut [f64],
        tolg: &[f64],
    ) -> (usize, f64) {
        // SAFETY: as above.
        unsafe { super::simd::ormp_update_select(u, zk, score, alpha, nu, tolg) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn argmax_abs_avx512(_: Avx512, v: &[f64]) -> (usize, f64) {
        // SAFETY: the token proves AVX-512 F + VL, AVX2 and FMA.
        unsafe { super::simd512::argmax_abs(v) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn combine_avx512(
        _: Avx512,
        out: &mut [f64],
        a: &[f64],
        gram: MatRef<'_, f64>,
        support: &[usize],
        coefs: &[f64],
        inv: f64,
    ) {
        // SAFETY: the token proves AVX-512 F + VL, AVX2 and FMA.
        unsafe { super::simd512::combine(out, a, gram, support, coefs, inv) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_select_avx512(
        _: Avx512,
        score: &mut [f64],
        alpha: &[f64],
        nu: &[f64],
        tolg: &[f64],
    ) -> (usize, f64) {
        // SAFETY: the token proves AVX-512 F + VL, AVX2 and FMA.
        unsafe { super::simd512::ormp_select(score, alpha, nu, tolg) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_update_select_avx512(
        _: Avx512,
        u: &[f64],
        zk: f64,
        score: &mut [f64],
        alpha: &mut [f64],
        nu: &mut [f64],
        tolg: &[f64],
    ) -> (usize, f64) {
        // SAFETY: as above.
        unsafe { super::simd512::ormp_update_select(u, zk, score, alpha, nu, tolg) }
    }
}

impl Real for f32 {
    const DEPENDENCE_TOL: f32 = 1e-4;
    const ORTHOGONAL_TOL: f32 = 1e-6;
    const LARS_PIVOT_TOL: f32 = 1e-6;
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn update_alpha_avx2(
        _: Avx2Fma,
        alpha: &mut [f32],
        a0: &[f32],
        gram: MatRef<'_, f32>,
        support: &[usize],
        coefs: &[f32],
    ) {
        // SAFETY: as above.
        unsafe { super::simd::update_alpha_f32(alpha, a0, gram, support, coefs) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn argmax_abs_avx2(_: Avx2Fma, v: &[f32]) -> (usize, f32) {
        // SAFETY: as above.
        unsafe { super::simd::argmax_abs_f32(v) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_select_avx2(
        _: Avx2Fma,
        score: &mut [f32],
        alpha: &[f32],
        nu: &[f32],
        tolg: &[f32],
    ) -> (usize, f32) {
        // SAFETY: as above.
        unsafe { super::simd::ormp_select_f32(score, alpha, nu, tolg) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_update_select_avx2(
        _: Avx2Fma,
        u: &[f32],
        zk: f32,
        score: &mut [f32],
        alpha: &mut [f32],
        nu: &mut [f32],
        tolg: &[f32],
    ) -> (usize, f32) {
        // SAFETY: as above.
        unsafe { super::simd::ormp_update_select_f32(u, zk, score, alpha, nu, tolg) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn argmax_abs_avx512(_: Avx512, v: &[f32]) -> (usize, f32) {
        // SAFETY: the token proves AVX-512 F + VL, AVX2 and FMA.
        unsafe { super::simd512::argmax_abs_f32(v) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn combine_avx512(
        _: Avx512,
        out: &mut [f32],
        a: &[f32],
        gram: MatRef<'_, f32>,
        support: &[usize],
        coefs: &[f32],
        inv: f32,
    ) {
        // SAFETY: the token proves AVX-512 F + VL, AVX2 and FMA.
        unsafe { super::simd512::combine_f32(out, a, gram, support, coefs, inv) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_select_avx512(
        _: Avx512,
        score: &mut [f32],
        alpha: &[f32],
        nu: &[f32],
        tolg: &[f32],
    ) -> (usize, f32) {
        // SAFETY: the token proves AVX-512 F + VL, AVX2 and FMA.
        unsafe { super::simd512::ormp_select_f32(score, alpha, nu, tolg) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn ormp_update_select_avx512(
        _: Avx512,
        u: &[f32],
        zk: f32,
        score: &mut [f32],
        alpha: &mut [f32],
        nu: &mut [f32],
        tolg: &[f32],
    ) -> (usize, f32) {
        // SAFETY: as above.
        unsafe { super::simd512::ormp_update_select_f32(u, zk, score, alpha, nu, tolg) }
    }
}
