//! The error type of `pursuit`.

/// Everything that can go wrong in `pursuit`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Bad input detected by the shared checks of `sparse-core` (shapes, non-finite values,
    /// parameters out of range, empty batches, zero atoms).
    #[error(transparent)]
    Core(#[from] sparse_core::Error),
    /// The selected atoms are linearly dependent to working precision, so the least-squares
    /// step of a greedy pursuit is undefined.
    #[error("the atoms selected for signal {signal} are linearly dependent (atom {atom} adds no new direction)")]
    DependentAtoms {
        /// Column of the batch.
        signal: usize,
        /// The atom whose addition made the selected Gram block singular.
        atom: usize,
    },
}

/// Result alias for `pursuit`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The shared builders of "argument X: expected Y" errors (they convert into [`Error`]).
pub(crate) use sparse_core::error::{invalid, shape_mismatch};
