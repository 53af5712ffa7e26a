//! # pursuit
//!
//! Single-layer pursuits, dictionary learning and learned (unfolded) solvers on the operators of `sparse-core`.
//!
//! This crate is the next link of the chain `sparse-core <- pursuit <- csc <- mlcsc <- theory`;
//! for now it re-exports the crate it builds on, and grows in its own issue.
//!
//! ```
//! let d = sparse_core::Dictionary::dct(8)?;
//! assert_eq!(d.n_atoms(), 8);
//! # Ok::<(), sparse_core::Error>(())
//! ```
#![warn(missing_docs)]

pub use sparse_core;
