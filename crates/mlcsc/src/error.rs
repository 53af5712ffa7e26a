//! The error type of `mlcsc`: the errors of the crates it builds on, plus what is new here
//! (model synthesis requests the dictionaries cannot satisfy, model files).

/// Everything that can go wrong in `mlcsc`. Bad input (wrong shapes, non-finite values,
/// parameters out of range) arrives through the wrapped [`sparse_core::Error`], naming the
/// offending argument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Bad input detected by the shared checks of `sparse-core`.
    #[error(transparent)]
    Core(#[from] sparse_core::Error),
    /// An error of a single-layer pursuit of `pursuit`.
    #[error(transparent)]
    Pursuit(#[from] pursuit::Error),
    /// An error of the convolutional machinery of `csc`.
    #[error(transparent)]
    Csc(#[from] csc::Error),
    /// A synthesis request that the model's dictionaries cannot satisfy: every choice of the
    /// deepest support makes layer `layer` denser than requested.
    #[error("cannot synthesise signals with ||Gamma_{layer}||_0 <= {requested}: {reason}")]
    Unsatisfiable {
        /// The layer (1-based, as in the papers) whose sparsity cannot be met.
        layer: usize,
        /// The requested number of non-zeros of that layer.
        requested: usize,
        /// Why, in words (e.g. the smallest support an atom reaches there).
        reason: String,
    },
    /// A dense factorisation failed (faer's SVD did not converge, e.g. on non-finite data):
    /// reported instead of a silent zero result.
    #[error("the SVD of {what} did not converge")]
    NoConvergence {
        /// The matrix whose factorisation failed.
        what: &'static str,
    },
    /// A model or data file could not be read, written or parsed.
    #[error("file `{path}`: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Result alias for `mlcsc`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The shared builders of "argument X: expected Y" errors (they convert into [`Error`]).
pub(crate) use sparse_core::error::{invalid, shape_mismatch as mismatch};

/// Shorthand for a `File` error.
pub(crate) fn file_err(path: &std::path::Path, message: impl ToString) -> Error {
    Error::File {
        path: path.display().to_string(),
        message: message.to_string(),
    }
}
