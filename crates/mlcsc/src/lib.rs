//! # mlcsc: multi-layer (convolutional) sparse models
#![warn(missing_docs)]

pub mod adversarial;
pub mod data;
pub mod error;
pub mod layer;
pub mod learn;
mod linalg;
pub mod model;
pub mod pursuits;
pub mod strided;
pub mod supervised;
pub mod synth;

pub use error::{Error, Result};
pub use layer::Layer;
pub use model::MlModel;
pub use pursuits::{
    ml_objective, DeepestPursuit, Holistic, LassoSolver, LayeredBp, LayeredIsta,
    LayeredThresholding, MlCodes, MlFista, MlIsta, MlPursuit, Projection, StepConditions,
};
pub use strided::StridedConv;
pub use synth::{MlSignals, Synthesis};

pub use csc;
pub use pursuit;
pub use sparse_core;
