//! The scalar types of the convolutional solvers: `f64` (the default) and `f32`.
//!
//! Every Fourier-domain pursuit ([`Cbpdn`](crate::Cbpdn) and its variants) is written once,
//! generic over [`Float`], and runs in the precision of its input: `solver.solve(&op,
//! y.as_ref())` with `y: Mat<f32>` returns `Solution<Mat<f32>>` (SPORCO's `dtype=np.float32`).
//! In float32 the transforms, the per-frequency solves and the element-wise passes compute in
//! `f32`, twice as many values per vector register and half the memory traffic; the per-column
//! sums of the residuals and functionals are accumulated in `f32` within a column and in `f64`
//! across columns, and the diagnostics (functionals, residuals, the returned code's objective)
//! are `f64` for every precision. The operator keeps its filters in `f64` and rounds their
//! spectra to `f32` once, on first use.

use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

use faer::MatRef;

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// `f32` or `f64`: the precisions of the convolutional solvers (sealed).
pub trait Float:
    sealed::Sealed
    + rustfft::FftNum
    + num_traits::Float
    + num_traits::NumAssign
    + Default
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Into<f64>
    + Send
    + Sync
    + 'static
{
    /// `v` rounded to this precision.
    fn of(v: f64) -> Self;
    /// The value as `f64` (exact).
    #[inline]
    fn wide(self) -> f64 {
        self.into()
    }
    /// The slice itself when `Self` is `f64` (so that float64 code paths borrow instead of
    /// copying), `None` for `f32`.
    #[doc(hidden)]
    fn f64_slice(s: &[Self]) -> Option<&[f64]>;
    /// [`f64_slice`](Self::f64_slice), mutable.
    #[doc(hidden)]
    fn f64_slice_mut(s: &mut [Self]) -> Option<&mut [f64]>;
    /// The matrix itself when `Self` is `f64`, `None` for `f32`.
    #[doc(hidden)]
    fn f64_mat(m: MatRef<'_, Self>) -> Option<MatRef<'_, f64>>;
    /// The vector itself when `Self` is `f64` (`Ok`), else given back (`Err`).
    #[doc(hidden)]
    fn f64_vec(v: Vec<Self>) -> Result<Vec<f64>, Vec<Self>>;
    /// A float64 slice as `&[Self]` when `Self` is `f64`, `None` for `f32`.
    #[doc(hidden)]
    fn from_f64_slice(s: &[f64]) -> Option<&[Self]>;
}

impl Float for f32 {
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
    fn f64_slice(_: &[Self]) -> Option<&[f64]> {
        None
    }
    fn f64_slice_mut(_: &mut [Self]) -> Option<&mut [f64]> {
        None
    }
    fn f64_mat(_: MatRef<'_, Self>) -> Option<MatRef<'_, f64>> {
        None
    }
    fn f64_vec(v: Vec<Self>) -> Result<Vec<f64>, Vec<Self>> {
        Err(v)
    }
    fn from_f64_slice(_: &[f64]) -> Option<&[Self]> {
        None
    }
}

impl Float for f64 {
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
    fn f64_slice(s: &[Self]) -> Option<&[f64]> {
        Some(s)
    }
    fn f64_slice_mut(s: &mut [Self]) -> Option<&mut [f64]> {
        Some(s)
    }
    fn f64_mat(m: MatRef<'_, Self>) -> Option<MatRef<'_, f64>> {
        Some(m)
    }
    fn f64_vec(v: Vec<Self>) -> Result<Vec<f64>, Vec<Self>> {
        Ok(v)
    }
    fn from_f64_slice(s: &[f64]) -> Option<&[Self]> {
        Some(s)
    }
}

/// `s` as `f64`: borrowed when it already is, widened otherwise.
pub(crate) fn wide_slice<T: Float>(s: &[T]) -> std::borrow::Cow<'_, [f64]> {
    match T::f64_slice(s) {
        Some(w) => std::borrow::Cow::Borrowed(w),
        None => std::borrow::Cow::Owned(s.iter().map(|v| v.wide()).collect()),
    }
}
