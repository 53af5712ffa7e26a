//! # csc: convolutional sparse coding
//!
//! The convolutional sparse model writes a signal as a sum of filters convolved with sparse
//! feature maps, `X = sum_i d_i * Gamma_i` (circular boundary). In matrix form
//! `X = D Gamma` with the global dictionary `D = [C_1 ... C_m]`, one circulant per filter; every
//! patch of `X` is `Omega gamma_p`, the stripe dictionary times the stripe of the code that
//! overlaps it, so sparsity is measured *locally*, by the stripe norm
//! `||Gamma||_{0,inf} = max_p ||gamma_p||_0` (Papyan, Sulam & Elad 2017). This crate provides:
//!
//! | concept | items |
//! | --- | --- |
//! | dictionaries | [`ConvDictionary`] (1-D / 2-D filters, `C` channels, unit norm), [`Grid`] |
//! | the operator `D` | [`ConvOperator`]: a [`sparse_core::LinearOperator`] by direct convolution or real FFTs ([`Method`]), exact `lipschitz()` from the Fourier symbol |
//! | explicit forms | [`ConvOperator::global_matrix`], [`ConvDictionary::local_dictionary`] (`D_L`), [`ConvDictionary::stripe_dictionary`] (`Omega`), [`ConvOperator::stripe`] |
//! | local quantities | [`ConvOperator::l0_inf`] (stripe norm), [`ConvOperator::l2_inf`] (patch norm), [`ConvOperator::coherence`] from filter cross-correlations |
//! | pursuits | [`Cbpdn`] (ADMM, Fourier domain), [`MaskedCbpdn`] (masked data term: inpainting, boundary handling), [`CbpdnFista`], [`ConvThresholding`] (the first layer of a CNN), [`SlicePursuit`] (local slices) |
//! | learning | [`ConvDictLearn`]: alternating CBPDN and a Fourier-domain constrained dictionary update, also streamed in memory independent of the number of signals ([`ConvDictLearn::learn_streaming`], [`CodeStatistics`]); [`MaskedCcmod`]: the dictionary update and learning with a masked data term (mask decoupling); [`OnlineConvDictLearn`]: online learning by projected SGD, one image at a time, in memory that does not grow with the data (Liu et al. 2018) |
//! | objective | [`cbpdn_objective`]: `1/2 ||D x - y||^2 + lambda ||x||_1` of any batch of codes |
//! | pre-processing | [`tikhonov_filter`]: SPORCO's low-pass / high-pass split of an image |
//! | precision | [`Float`]: the Fourier-domain pursuits ([`Cbpdn`] and all its variants, [`MaskedCbpdn`], [`CbpdnFista`]) and the learners ([`ConvDictLearn::learn`], [`ConvDictLearn::update_dictionary`], [`MaskedCcmod`], [`OnlineCdl::partial_fit`], [`CodeStatistics::accumulate`] / [`ConvDictLearn::learn_streaming`]) compute in the precision of their input, `f64` or `f32` (SPORCO's `DataType`); filters, statistics and diagnostics are `f64`; [`ConvThresholding`] and [`SlicePursuit`] are `f64` only |
//!
//! Every pursuit implements the workspace's one protocol [`Solve`] on a [`ConvOperator`] and
//! returns a [`Solution`]: the codes and one [`Diagnostics`] per signal (iterations, converged,
//! final functional and residual norm, the per-iteration history of SPORCO's functional and
//! residuals); warm starts are `solve_warm`.
//!
//! Codes are stored feature map after feature map ([`sparse_core::CodeOrder::FilterMajor`]);
//! 2-D signals and maps are column-major; channels follow each other. Batches (matrix columns)
//! are independent signals, processed in parallel with rayon.
//!
//! ```
//! use csc::Solve;
//! use csc::{Cbpdn, ConvDictionary, Grid};
//! use faer::{Mat, Par};
//!
//! // 8 random 5x5 filters on 32x32 images.
//! let mut rng = sparse_core::generate::rng(0);
//! let d = ConvDictionary::random(Grid::d2(5, 5), 1, 8, &mut rng)?;
//! let op = d.operator(Grid::d2(32, 32))?;
//!
//! // A code with a few non-zeros, its image, and the local sparsity the theorems speak of.
//! let mut gamma = Mat::<f64>::zeros(op.code_len(), 1);
//! for (k, j) in [(0, 100), (3, 300), (5, 777)] {
//!     gamma[(k * op.n() + j, 0)] = 1.0;
//! }
//! let y = op.synthesize(gamma.as_ref(), Par::Seq)?;
//! assert!(op.l0_inf(gamma.col_as_slice(0), 0.0)? <= 3);
//! println!("mu(D) = {:.3}", op.coherence());
//!
//! // Convolutional BPDN by ADMM in the Fourier domain.
//! let res = Cbpdn::new(0.01).max_iter(300).solve(&op, y.as_ref())?;
//! let info = &res.diagnostics[0];
//! assert!(info.final_objective() < info.records()[0].objective);
//!
//! // The same pursuit in float32: the input's precision selects it.
//! let y32 = Mat::<f32>::from_fn(y.nrows(), 1, |i, _| y[(i, 0)] as f32);
//! let res32 = Cbpdn::new(0.01).max_iter(300).solve(&op, y32.as_ref())?;
//! let rel = (res32.diagnostics[0].objective - info.objective).abs() / info.objective;
//! assert!(rel < 1e-3);
//! # Ok::<(), csc::Error>(())
//! ```
//!
//! ## References
//!
//! - V. Papyan, J. Sulam, M. Elad, "Working locally, thinking globally: theoretical guarantees
//!   for convolutional sparse coding", IEEE Trans. Signal Process. 65(21), 2017: the stripe
//!   norm, the stripe dictionary, and the success and stability of BP for CSC.
//! - V. Papyan, Y. Romano, M. Elad, "Convolutional neural networks analyzed via convolutional
//!   sparse coding", JMLR 18, 2017: thresholding as the forward pass of a CNN.
//! - V. Papyan, Y. Romano, J. Sulam, M. Elad, "Convolutional dictionary learning via local
//!   processing", ICCV 2017: the slice-based pursuit.
//! - B. Wohlberg, "Efficient algorithms for convolutional sparse representations", IEEE Trans.
//!   Image Process. 25(1), 2016: ADMM in the Fourier domain with the Sherman–Morrison solve
//!   (and SPORCO, whose `ConvBPDN` defaults [`Cbpdn`] follows).
//! - A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding algorithm for linear inverse
//!   problems", SIAM J. Imaging Sci. 2(1), 2009.
//! - F. Heide, W. Heidrich, G. Wetzstein, "Fast and flexible convolutional sparse coding", CVPR
//!   2015, and B. Wohlberg, "Boundary handling for convolutional sparse representations", ICIP
//!   2016: mask decoupling ([`MaskedCbpdn`], [`MaskedCcmod`]).
//! - J. Liu, C. Garcia-Cardona, B. Wohlberg, W. Yin, "First- and second-order methods for online
//!   convolutional dictionary learning", SIAM J. Imaging Sci. 11(2), 2018: online learning
//!   ([`OnlineConvDictLearn`]) and the frequency-domain statistics ([`CodeStatistics`]).
#![warn(missing_docs)]

pub mod dictionary;
mod direct;
pub mod error;
pub mod explicit;
pub(crate) mod fft;
pub mod float;
pub mod learn;
pub mod local;
pub mod masked_ccmod;
pub mod objective;
pub mod online;
pub mod operator;
pub mod preprocess;
pub mod solve;
pub mod stream;

pub use dictionary::{ConvDictionary, Grid};
pub use error::{Error, Result};
pub use float::Float;
pub use learn::{ConvDictLearn, LearnResult};
pub use masked_ccmod::{CcmodSolution, MaskedCcmod, MaskedLearnResult};
pub use objective::cbpdn_objective;
pub use online::{OnlineCdl, OnlineConvDictLearn, OnlineStep};
pub use operator::{ConvOperator, Method};
pub use preprocess::tikhonov_filter;
pub use solve::{
    AutoRho, Cbpdn, CbpdnFista, ConvThresholding, GradReg, L1Weights, MaskedCbpdn, SlicePursuit,
};
pub use sparse_core::solve::{Diagnostics, Iteration, Solution, Solve, Summary};
pub use stream::{CodeStatistics, StreamingLearnResult};

pub use pursuit;
pub use sparse_core;
