//! # csc: convolutional sparse coding
#![warn(missing_docs)]

pub mod dictionary;
mod direct;
pub mod error;
pub mod explicit;
pub(crate) mod fft;
pub mod local;
pub mod operator;
pub mod solve;

pub use dictionary::{ConvDictionary, Grid};
pub use error::{Error, Result};
pub use operator::{ConvOperator, Method};
pub use solve::{AutoRho, Cbpdn, CbpdnFista, ConvThresholding, CscResult, IterationStats, L1Weights, SolveInfo};
pub use pursuit;
pub use sparse_core;
