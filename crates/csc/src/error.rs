//! The error type of `csc`.

/// Everything that can go wrong in `csc`. Bad input is reported through the shared
/// [`sparse_core::Error`] variants (wrong shapes, non-finite values, zero filters, parameters out
/// of range), each naming the offending argument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Bad input detected by the shared checks of `sparse-core`.
    #[error(transparent)]
    Core(#[from] sparse_core::Error),
}

/// Result alias for `csc`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The shared builders of "argument X: expected Y" errors (they convert into [`Error`]).
pub(crate) use sparse_core::error::{invalid, shape_mismatch};
