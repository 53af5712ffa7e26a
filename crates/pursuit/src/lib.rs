//! # pursuit: single-layer sparse coding
//!
//! Given a dictionary `D` and signals `y`, find sparse codes `x` with `y ≈ D x` — the pursuit
//! problem of Sparseland (Elad 2010). Every solver is a small value of parameters with defaults,
//! runs on batches (columns are signals, rayon across signals), implements the workspace's one
//! protocol [`Solve`] and returns a [`Solution`]: the codes plus one [`Diagnostics`] per signal
//! (iterations, convergence, objective, residual norm, and the duality gap for convex problems).
//!
//! | family | solvers |
//! | --- | --- |
//! | greedy | [`Thresholding`], [`MatchingPursuit`], [`Omp`], [`BatchOmp`] |
//! | Lasso | [`lasso::Ista`], [`lasso::Fista`], [`lasso::CoordinateDescent`], [`lasso::Lars`] |
//! | Basis Pursuit | [`admm::BasisPursuit`], [`admm::Bpdn`] |
//!
//! [`BatchOmp`] (OMP and ORMP) also codes `f32` signals in `f32`: `solve(&d, y32.as_ref())` with
//! `y32: Mat<f32>` returns `Solution<Mat<f32>>` (the Gram matrix and atoms rounded once, the
//! steps in 8-lane `f32`); the other solvers are `f64`.
//!
//! ```
//! use pursuit::{Omp, Solve, Stop};
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(1);
//! let d = Dictionary::random_gaussian(64, 128, &mut rng)?;
//! let x = generate::sparseland_codes(128, 3, 20, 0.5, 1.0, &mut rng)?;
//! let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng)?;
//! let res = Omp::new(Stop::Sparsity(3)).solve(&d, y.clean.as_ref())?;
//! assert!(res.diagnostics.iter().all(|s| s.converged && s.residual_norm < 1e-8));
//! # Ok::<(), pursuit::Error>(())
//! ```
#![warn(missing_docs)]

pub mod admm;
mod batch;
pub mod dictlearn;
pub mod error;
pub mod greedy;
pub mod lasso;
pub mod learned;
pub mod optim;
pub mod result;

pub use error::{Error, Result};
pub use greedy::{BatchOmp, MatchingPursuit, Omp, Stop, Thresholding};
pub use sparse_core;
pub use sparse_core::codes::{Sparse, SparseCodes};
pub use sparse_core::solve::{Diagnostics, Iteration, Solution, Solve, Summary};

use sparse_core::Dictionary;

/// A sparse coder on a dense dictionary: any [`Solve`] on a [`Dictionary`] with this crate's
/// error, shareable across threads. What dictionary learning, denoising and the learned solvers
/// plug in; every pursuit of this crate is one (the trait is implemented automatically).
pub trait SparseCoder: Solve<Dictionary, Output = Solution, Error = Error> + Send + Sync {}

impl<T> SparseCoder for T where T: Solve<Dictionary, Output = Solution, Error = Error> + Send + Sync {}
