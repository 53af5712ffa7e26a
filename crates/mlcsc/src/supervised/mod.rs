//! Supervised unfolded ML-ISTA / ML-FISTA networks (Sulam, Aberdam, Beck & Elad, *On multi-layer
//! basis pursuit, efficient algorithms and convolutional neural networks*, IEEE TPAMI 2019,
//! "supervised learning formulation").
//!
//! The classifier acts on the deepest code `gamma*` of the multi-layer BP problem; relaxing
//! `gamma*` to the `K`-th ML-ISTA (or ML-FISTA) iterate gives a network whose depth in
//! *iterations* is `K` while its parameters (`D_i`, steps, biases, classifier) stay the same:
//! `K = 1` is a feed-forward ReLU network, `K > 1` a recurrent one. Dictionaries, thresholds and
//! classifier are trained jointly by back-propagation written for it ([`UnfoldedNet::loss_grad`],
//! checked against central finite differences in the tests) with Adam or SGD with momentum
//! ([`SupervisedTraining`], [`Optimizer`], [`Schedule`]), in float32 or float64 ([`Precision`]),
//! epoch by epoch from a resumable [`TrainState`]. One engine computes both precisions: codes are
//! stored position-major so that every convolution of a batch is one GEMM on im2col patches.
//! Layers are dense or valid strided convolutions ([`LayerSpec`],
//! [`UnfoldedNet::convolutional`]): with convolutional layers `K = 1` is a CNN.
//!
//! ```
//! use mlcsc::supervised::{SupervisedTraining, UnfoldedNet, Unfolding};
//! // Two classes of 4-pixel "images": the first pixel bright or the last.
//! let x = faer::Mat::<f64>::from_fn(4, 40, |i, j| if (i == 0) == (j % 2 == 0) { 1.0 } else { 0.1 });
//! let labels: Vec<usize> = (0..40).map(|j| j % 2).collect();
//! let mut net = UnfoldedNet::new(&[4, 8, 6], 2, 2, Unfolding::Ista, 0)?;
//! SupervisedTraining::default().epochs(40).learning_rate(1e-2).fit(&mut net, x.as_ref(), &labels, |_, _| {})?;
//! assert_eq!(net.accuracy(x.as_ref(), &labels)?, 1.0);
//! # Ok::<(), mlcsc::Error>(())
//! ```

mod engine;
mod evaluate;
mod linear;
mod net;
mod train;

pub use evaluate::Evaluation;
pub use linear::{FittedLinear, LinearClassifier, SparseFeatures};
pub use net::{Init, LayerSpec, Precision, UnfoldedNet, Unfolding, MAX_UNFOLDINGS};
pub use train::{EpochStats, Optimizer, Schedule, SupervisedTraining, TrainState};
