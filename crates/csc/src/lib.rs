//! # csc
//!
//! The convolutional sparse model: convolutional dictionaries, FFT operators, convolutional BPDN and local (stripe) quantities.
//!
//! This crate is the next link of the chain `sparse-core <- pursuit <- csc <- mlcsc <- theory`;
//! for now it re-exports the crate it builds on, and grows in its own issue.
//!
//! ```
//! use csc::sparse_core;
//! let d = sparse_core::Dictionary::dct(8)?;
//! assert_eq!(d.n_atoms(), 8);
//! # Ok::<(), sparse_core::Error>(())
//! ```
#![warn(missing_docs)]

pub use pursuit;
pub use sparse_core;
