//! The error type of `theory` and the checks every calculator runs on its inputs.

/// Everything that can go wrong in `theory`. Bad input (a coherence outside `[0, 1]`, a negative
/// or non-finite sparsity, a noise level below zero, a support index out of range) is reported
/// through [`sparse_core::Error::InvalidParameter`] naming the offending argument; calculators
/// never panic on user input.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Bad input detected by the shared checks of `sparse-core` (shapes, non-finite values,
    /// parameters out of range, empty inputs, zero atoms).
    #[error(transparent)]
    Core(#[from] sparse_core::Error),
    /// An error of the convolutional crate (for example an explicit form too large to build).
    #[error(transparent)]
    Csc(#[from] csc::Error),
    /// The atoms of a support are linearly dependent, so a quantity that needs `D_S^+` (the
    /// exact recovery condition) is undefined.
    #[error("the atoms of `{argument}` = {support:?} are linearly dependent (smallest singular value {sigma_min:e})")]
    DependentSupport {
        /// Name of the argument.
        argument: &'static str,
        /// The support.
        support: Vec<usize>,
        /// The smallest singular value of `D_S`.
        sigma_min: f64,
    },
}

/// Result alias for `theory`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The shared builders of "argument X: expected Y" errors (they convert into [`Error`]).
pub(crate) use sparse_core::error::{invalid, shape_mismatch};

/// A mutual coherence: finite and in `[0, 1]`.
pub(crate) fn mu(name: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() && (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(invalid(name, v, "a coherence in [0, 1]"))
    }
}

/// A sparsity (a count of non-zeros, possibly an average): finite and `>= 0`.
pub(crate) fn sparsity(name: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(invalid(name, v, "a finite number of non-zeros >= 0"))
    }
}

/// A noise level, norm or magnitude: finite and `>= 0`.
pub(crate) fn non_negative(name: &'static str, v: f64) -> Result<f64> {
    sparse_core::check::non_negative(name, v)?;
    Ok(v)
}

/// A finite number (of either sign).
pub(crate) fn finite(name: &'static str, v: f64) -> Result<f64> {
    if v.is_finite() {
        Ok(v)
    } else {
        Err(invalid(name, v, "a finite number"))
    }
}

pub(crate) use sparse_core::error::guard_explicit as guard;
pub use sparse_core::error::MAX_EXPLICIT_ENTRIES;
