//! The precisions of the Gram-based greedy pursuits: `f64` and `f32` (sealed, crate-private).
//!
//! [`BatchOmp`](super::BatchOmp) codes `f32` signals in `f32` (`Solve<Dictionary, f32>`): the
//! Gram matrix and `D^T Y` are rounded once to `f32`, the steps (correlation updates, Cholesky
//! rows, ORMP's projected norms) run in `f32` with twice as many lanes per vector register and
//! half the memory traffic; the reported residual norms are `f64`.

use std::iter::Sum;
use std::ops::{AddAssign, MulAssign, SubAssign};

use faer::MatRef;
use sparse_core::simd::Avx2Fma;

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
}
