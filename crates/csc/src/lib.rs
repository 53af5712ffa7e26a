//! # csc: convolutional sparse coding
#![warn(missing_docs)]

pub mod dictionary;
mod direct;
pub mod error;
pub mod explicit;
pub(crate) mod fft;
pub mod local;
pub mod operator;

pub use dictionary::{ConvDictionary, Grid};
pub use error::{Error, Result};
pub use operator::{ConvOperator, Method};
pub use pursuit;
pub use sparse_core;
