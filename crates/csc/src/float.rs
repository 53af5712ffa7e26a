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
}

impl Float for f32 {
    #[inline]
    fn of(v: f64) -> Self {
        v as f32
    }
}

impl Float for f64 {
    #[inline]
    fn of(v: f64) -> Self {
        v
    }
}
