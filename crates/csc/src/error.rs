//! The error type of `csc`.

/// Everything that can go wrong in `csc`. Bad input is reported through the shared
/// [`sparse_core::Error`] variants (wrong shapes, non-finite values, zero filters, parameters out
/// of range), each naming the offending argument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// Bad input detected by the shared checks of `sparse-core`.
    #[error(transparent)]
    Core(#[from] sparse_core::Error),
    /// An explicit (dense) form was requested for a problem too large to hold in memory.
    #[error("the explicit `{what}` would have {entries} entries, more than the limit of {limit}")]
    TooLarge {
        /// Which explicit form.
        what: &'static str,
        /// How many entries it would have.
        entries: usize,
        /// The limit ([`crate::explicit::MAX_EXPLICIT_ENTRIES`]).
        limit: usize,
    },
}

/// Result alias for `csc`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Shorthand for an `InvalidParameter` error.
pub(crate) fn invalid(
    name: &'static str,
    value: impl ToString,
    expected: impl Into<String>,
) -> Error {
    Error::Core(sparse_core::Error::InvalidParameter {
        name,
        value: value.to_string(),
        expected: expected.into(),
    })
}

/// Shorthand for a `ShapeMismatch` error.
pub(crate) fn shape_mismatch(
    argument: &'static str,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> Error {
    Error::Core(sparse_core::Error::ShapeMismatch {
        argument,
        expected: expected.into(),
        found: found.into(),
    })
}
