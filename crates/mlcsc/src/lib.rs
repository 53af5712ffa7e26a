//! # mlcsc: multi-layer (convolutional) sparse models
//!
//! The multi-layer (convolutional) sparse model says a signal is a cascade of sparse
//! representations: `X = D_1 Gamma_1`, `Gamma_1 = D_2 Gamma_2`, ..., `Gamma_{K-1} = D_K Gamma_K`,
//! every `Gamma_i` sparse (locally, `||Gamma_i||_{0,inf}`, when the `D_i` are convolutional), so
//! that `X = D_(1,K) Gamma_K` with the effective dictionary `D_(1,K) = D_1 ... D_K`. Its simplest
//! pursuit, layered thresholding `Gamma_i = P_beta_i(D_i^T Gamma_{i-1})`, is exactly the forward
//! pass of a CNN (`ReLU(W_i^T x + b_i)` with `W_i = D_i`, `b_i = -beta_i`); better pursuits
//! (layered basis pursuit, ML-ISTA/ML-FISTA, projection, holistic) come with better stability
//! guarantees, and unfolding ML-ISTA gives recurrent networks with the same parameters.
//!
//! Every pursuit implements the workspace's one protocol [`Solve`] on an [`MlModel`] and returns
//! an [`MlSolution`]: every layer's estimate, one [`Diagnostics`] per signal for the whole
//! pursuit and one per layer and signal (the model mismatch `||Gamma_{i-1} - D_i Gamma_i||_2`
//! or the layer solver's own diagnostics).
//!
//! | module | what |
//! | --- | --- |
//! | [`model`], [`layer`], [`strided`], [`valid`] | [`MlModel`] of dense, circular strided multi-channel convolutional ([`StridedConv`]) and valid, CNN-style convolutional ([`ValidConv`]) [`Layer`]s, effective dictionaries, JSON |
//! | [`synth`] | [`Synthesis`] of signals whose every layer is sparse (or a clear error) |
//! | [`pursuits`] | [`LayeredThresholding`], [`LayeredBp`], [`LayeredIsta`], [`MlIsta`], [`MlFista`], [`Projection`], [`Holistic`] |
//! | [`supervised`] | unfolded ML-ISTA / ML-FISTA classifiers (dense or convolutional) trained by back-propagation; a linear probe |
//! | [`learn`] | unsupervised ML dictionary learning (dense or convolutional) with sparse deeper dictionaries; effective-atom pictures |
//! | [`init`] | [`DataInit`]: data-driven initial dictionaries (patches, sparse random, sparse back-projections) for learning |
//! | [`adversarial`] | gradient-sign attacks on one-layer classifiers and the BP margin bound |
//! | [`data`] | MNIST (IDX) and UCI digits (CSV) readers |
//!
//! ```
//! use mlcsc::{Layer, LayeredThresholding, MlModel, Solve, Projection, Synthesis};
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(0);
//! let model = MlModel::new(vec![
//!     Layer::dense(&Dictionary::random_gaussian(64, 128, &mut rng)?),
//!     Layer::sparse_random(128, 96, 3, &mut rng)?, // sparse deeper dictionaries keep
//!     Layer::sparse_random(96, 64, 2, &mut rng)?,  // every Gamma_i sparse
//! ])?;
//! let s = Synthesis::new(vec![18, 6, 2]).noise(Noise::SnrDb(40.0)).generate(&model, 50, &mut rng)?;
//! let cnn = LayeredThresholding::relu(&[0.1, 0.05, 0.02]).solve(&model, s.noisy.as_ref())?;
//! let proj = Projection::omp(2).solve(&model, s.noisy.as_ref())?;
//! assert!(proj.layer_mismatch()[1..].iter().all(|m| *m < 1e-9)); // consistent estimates
//! assert_eq!(cnn.depth(), 3);
//! # Ok::<(), mlcsc::Error>(())
//! ```
//!
//! Papers:
//! V. Papyan, Y. Romano & M. Elad, *Convolutional neural networks analyzed via convolutional
//! sparse coding*, JMLR 2017 (layered thresholding and layered BP, their stability);
//! J. Sulam, V. Papyan, Y. Romano & M. Elad, *Multi-layer convolutional sparse modeling: pursuit
//! and dictionary learning*, IEEE TSP 2018 (projection, learning with sparse dictionaries);
//! A. Aberdam, J. Sulam & M. Elad, *Multi-layer sparse coding: the holistic way*, SIAM J. Math.
//! Data Sci. 2019 (synthesis of model signals, holistic pursuit);
//! J. Sulam, A. Aberdam, A. Beck & M. Elad, *On multi-layer basis pursuit, efficient algorithms
//! and convolutional neural networks*, IEEE TPAMI 2019 (ML-ISTA, ML-FISTA, unfolded networks);
//! Y. Romano, A. Aberdam, J. Sulam & M. Elad, *Adversarial noise attacks of deep learning
//! architectures: stability analysis via sparse-modeled signals*, JMIV 2020.
#![warn(missing_docs)]

pub mod adversarial;
pub mod data;
pub mod error;
pub mod init;
pub mod layer;
pub mod learn;
mod linalg;
pub mod model;
pub mod pursuits;
pub mod strided;
pub mod supervised;
pub mod synth;
pub mod valid;

pub use error::{Error, Result};
pub use init::DataInit;
pub use layer::Layer;
pub use model::{MlModel, MAX_FILE_LEN};
pub use pursuits::{
    ml_objective, DeepestPursuit, Holistic, LassoSolver, LayeredBp, LayeredIsta,
    LayeredThresholding, MlFista, MlIsta, MlPursuit, MlSolution, Projection, StepConditions,
};
pub use strided::StridedConv;
pub use synth::{MlSignals, Synthesis};
pub use valid::{ValidConv, ValidGeometry};

pub use sparse_core::solve::{Diagnostics, Iteration, Solution, Solve, Summary};

pub use csc;
pub use pursuit;
pub use sparse_core;
