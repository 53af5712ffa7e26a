//! # pursuit: single-layer sparse coding
//!
//! Given a dictionary `D` and signals `y`, find sparse codes `x` with `y ≈ D x` — the pursuit
//! problem of Sparseland (Elad 2010). Every solver is a small value of parameters with defaults,
//! runs on batches (columns are signals, rayon across signals) and returns a [`CodingResult`]:
//! the codes plus per-signal diagnostics (iterations, convergence, objective, residual norm, and
//! the duality gap for convex problems).
//!
//! | family | solvers |
//! | --- | --- |
//! | greedy | [`Thresholding`], [`MatchingPursuit`], [`Omp`], [`BatchOmp`] |
//! | Lasso | [`lasso::Ista`], [`lasso::Fista`], [`lasso::CoordinateDescent`], [`lasso::Lars`] |
//! | Basis Pursuit | [`admm::BasisPursuit`], [`admm::Bpdn`] |
//!
//! ```
//! use pursuit::{Omp, SparseCoder, Stop};
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(1);
//! let d = Dictionary::random_gaussian(64, 128, &mut rng)?;
//! let x = generate::sparseland_codes(128, 3, 20, 0.5, 1.0, &mut rng)?;
//! let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng)?;
//! let res = Omp::new(Stop::Sparsity(3)).code(&d, y.clean.as_ref())?;
//! assert!(res.residual_norm.iter().all(|&r| r < 1e-8));
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
pub use result::CodingResult;
pub use sparse_core;

use faer::MatRef;
use sparse_core::Dictionary;

/// A sparse coder on a dense dictionary: what dictionary learning, denoising and the learned
/// solvers plug in. Every pursuit of this crate implements it.
pub trait SparseCoder: Send + Sync {
    /// Codes every column of `y` (`signal_len x n_signals`) over `d`.
    fn code(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<CodingResult>;
}
