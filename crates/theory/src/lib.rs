//! # theory: coherence-based guarantees as calculators
//!
//! The pursuit algorithms of Sparseland (`y = D a + e`, `||a||_0 = k`), of the convolutional
//! model (`X = D G`, `G` locally sparse) and of the multi-layer convolutional model (`X = D1 G1`,
//! `G1 = D2 G2`, ...) come with worst-case theorems: *if* the representation is sparse enough
//! relative to the dictionary's mutual coherence `mu(D)`, *then* the pursuit finds its support,
//! with an error at most some bound. This crate turns every such theorem into a function from
//! measurable quantities (coherence, sparsity, contrast, noise level, depth) to a
//! [`Certificate`]: whether the condition holds, its two sides, and the guaranteed error bound.
//! The test suite checks each of them against experiment: on random instances drawn inside a
//! theorem's condition, the pursuit never violates its guarantee.
//!
//! | quantities | theorems |
//! | --- | --- |
//! | [`coherence()`], [`conv_coherence`], [`effective_coherence`], [`welch_bound`], [`conv_welch_bound`], [`babel()`], [`spark()`], [`erc`], [`rip_lower_estimate`] | [`sparseland`]: uniqueness, OMP/BP recovery, BP stability, thresholding; [`conv`]: CSC uniqueness, OMP/BP, BP stability, global vs local; [`multilayer`]: layered thresholding, layered BP, projection, adversarial margin; [`algorithms`]: ML-ISTA steps, FacNet |
//!
//! The papers: Donoho & Elad 2003 (spark, coherence, BP), Tropp 2004 (OMP, ERC, Babel),
//! Donoho, Elad & Temlyakov 2006 (BP stability), Elad 2010 (thresholding), Papyan, Sulam & Elad
//! 2017 (CSC), Papyan, Romano & Elad 2017 (ML-CSC layered pursuits), Sulam, Papyan, Romano &
//! Elad 2018 (projection), Romano, Aberdam, Sulam & Elad 2019 (adversarial robustness), Sulam,
//! Aberdam, Beck & Elad 2019 (ML-ISTA), Moreau & Bruna 2017 (FacNet).
//!
//! ```
//! use sparse_core::Dictionary;
//! use theory::sparseland::{bp_stability, omp_recovery};
//!
//! let d = Dictionary::identity_dct(64)?;          // [I, DCT]: a low-coherence 64 x 128 pair
//! let mu = theory::coherence(&d);
//! assert!(mu >= theory::welch_bound(64, 128));
//!
//! let omp = omp_recovery(mu, 3.0)?;                // ||a||_0 = 3 < (1 + 1/mu) / 2 ?
//! assert!(omp.holds);
//! println!("{omp}");
//!
//! let bp = bp_stability(mu, 1.0, 0.1)?;            // noisy BP with ||e||_2 <= 0.1
//! assert!(bp.holds && bp.error_bound.unwrap() < 0.1);
//!
//! // Bad input is an error naming the argument, never a panic.
//! assert!(omp_recovery(1.5, 3.0).is_err());
//! # Ok::<(), theory::Error>(())
//! ```
#![warn(missing_docs)]

pub mod algorithms;
pub mod certificate;
pub mod coherence;
pub mod conv;
pub mod error;
pub mod multilayer;
pub mod report;
pub mod spark;
pub mod sparseland;
pub mod support;

pub use certificate::{all_hold, Certificate, Relation};
pub use coherence::{
    babel, coherence, coherence_of_matrix, composed_coherence, conv_coherence, conv_welch_bound,
    effective_coherence, effective_coherences, effective_product, spectral_norm, welch_bound,
    Babel,
};
pub use conv::{global_vs_local, GlobalVsLocal};
pub use error::{Error, Result};
pub use multilayer::LayerStats;
pub use report::{report, DictionaryReport, ReportOptions};
pub use spark::{spark, spark_lower_bound, Spark, SparkMethod, SparkOptions};
pub use support::{erc, rip_lower_estimate, RipEstimate};

pub use csc;
pub use mlcsc;
pub use sparse_core;
