//! # sparse-core: the Sparseland foundations
//!
//! The Sparseland model says a signal `y in R^n` is a sparse combination of a few atoms of a
//! dictionary: `y = D x + e`, with `||x||_0 = k << m` (Elad, *Sparse and Redundant
//! Representations*, 2010). This crate holds what every pursuit, convolutional and multi-layer
//! model of the workspace is built on:
//!
//! - [`LinearOperator`]: batched synthesis `D x` and analysis `D^T y`, `lipschitz = ||D||_2^2`,
//!   and [`Composed`] products `D1 D2 ... Dk`;
//! - [`Dictionary`]: unit-norm atoms (random, overcomplete DCT, `[I, DCT]`), Gram, coherence;
//! - [`norms`]: `l0, l1, l2, linf` and the convolutional stripe norm `l0_inf` / patch norm `l2_inf`;
//! - [`Shrinkage`]: soft, hard, non-negative soft (ReLU) and top-k, the proximal maps of pursuits;
//! - [`generate`]: seeded Sparseland and Bernoulli-Gaussian codes, noisy signals;
//! - [`metrics`]: support recovery, relative error, PSNR, SNR;
//! - [`codes`]: column-compressed [`SparseCodes`] and the [`Sparse`] adapter (bounded memory);
//! - [`solve`]: the one solving protocol ([`Solve`], [`Solution`], [`Diagnostics`]) and the
//!   naming rules every solver follows;
//! - [`image`]: area resampling of images stored as columns;
//! - [`io`] (feature `io`, default): `.npy`, greyscale PNG, overlapping patches.
//!
//! ```
//! use sparse_core::{generate, Dictionary, LinearOperator, Noise, Shrinkage};
//!
//! let mut rng = generate::rng(7);
//! let d = Dictionary::random_gaussian(64, 128, &mut rng)?;
//! let x = generate::sparseland_codes(128, 4, 10, 0.5, 1.0, &mut rng)?;
//! let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng)?;
//! let mut z = d.apply_adjoint(y.noisy.as_ref())?;       // D^T y
//! Shrinkage::TopK(4).apply_batch(z.as_mut());            // thresholding pursuit
//! println!("mu = {:.3} >= Welch {:.3}", d.coherence(), d.welch_bound());
//! # Ok::<(), sparse_core::Error>(())
//! ```
#![warn(missing_docs)]

pub mod batch;
pub mod codes;
pub mod dictionary;
pub mod error;
pub mod generate;
pub mod image;
#[cfg(feature = "io")]
pub mod io;
pub mod metrics;
pub mod norms;
pub mod operator;
pub mod shrink;
pub mod simd;
pub mod solve;

pub use codes::{Sparse, SparseCodes};
pub use dictionary::{coherence_bound, welch_bound, Dictionary};
pub use error::{check, Error, Result};
pub use generate::{Noise, Signals};
pub use norms::{CodeOrder, ConvLayout};
pub use operator::{power_iteration, Composed, LinearOperator, PowerIteration};
pub use shrink::Shrinkage;
pub use solve::{Diagnostics, Iteration, Solution, Solve, Summary};

/// Re-export of the faer version this crate is built on, so users name the same types.
pub use faer;
