//! # mlcsc
//!
//! The multi-layer convolutional sparse model (ML-CSC): layers, effective dictionaries, layered and holistic pursuits, ML-ISTA / ML-FISTA.
//!
//! This crate is the next link of the chain `sparse-core <- pursuit <- csc <- mlcsc <- theory`;
//! for now it re-exports the crate it builds on, and grows in its own issue.
//!
//! ```
//! use mlcsc::sparse_core;
//! let d = sparse_core::Dictionary::dct(8)?;
//! assert_eq!(d.n_atoms(), 8);
//! # Ok::<(), sparse_core::Error>(())
//! ```
#![warn(missing_docs)]

pub use csc;
pub use sparse_core;
