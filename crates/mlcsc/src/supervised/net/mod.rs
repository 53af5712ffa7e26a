//! The unfolded ML-ISTA / ML-FISTA network: parameters, forward pass with a tape, and the
//! hand-written back-propagation.

use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};
use serde::{Deserialize, Serialize};

use crate::valid::ValidGeometry;

/// The largest number of unfoldings `K` of an [`UnfoldedNet`] (the references use `K <= 16`;
/// training stores every unfolding's activations, and a file asking for more would make a
/// forward pass run for hours). Larger values are refused with an `Err` naming `unfoldings`.
pub const MAX_UNFOLDINGS: usize = 10_000;

mod access;
mod backward;
mod build;
mod forward;
mod validate;

pub(crate) use backward::cross_entropy;

/// Which iteration the network unfolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Unfolding {
    /// ML-ISTA: every iteration starts from the previous deepest estimate.
    #[default]
    Ista,
    /// ML-FISTA: from the previous estimate extrapolated by FISTA's momentum.
    Fista,
}

/// The floating-point type a network computes in. Parameters are stored in float64 either
/// way; float32 runs cast them once per call (or per training batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Precision {
    /// Single precision: SIMD lanes twice as wide, the precision of PyTorch training.
    F32,
    /// Double precision (the finite-difference tests).
    #[default]
    F64,
}

/// How [`UnfoldedNet::initialised`] draws the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// As [`UnfoldedNet::new`]: unit-norm Gaussian atoms, ISTA's steps `c_i = 1 / ||D_i||^2`,
    /// biases `-0.01` (dense) or `0` (convolutional), a Gaussian classifier.
    Ista,
    /// The initialisation of the authors' code (Sulam et al. 2019, `MNIST/Models.py`):
    /// Gaussian filters scaled by `scale / sqrt(fan_in)` (`scale = 0.1` there; fan-in = the
    /// filter length), steps `c_i = 1`, zero biases, and PyTorch's default `nn.Linear`
    /// classifier, weights and biases uniform in `(-1/sqrt(n_L), 1/sqrt(n_L))`.
    FanIn {
        /// Factor of the filters' standard deviation `scale / sqrt(fan_in)`.
        scale: f64,
    },
}

/// The architecture of one layer of an [`UnfoldedNet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerSpec {
    /// A dense dictionary of this many atoms (one bias per atom).
    Dense(usize),
    /// A valid strided convolution ([`crate::ValidConv`]) of `maps` filters of
    /// `kernel.0 x kernel.1` spanning every channel of the layer's input, with stride `stride`
    /// (one bias per feature map, shared by its positions, as in a CNN).
    Conv {
        /// Number of filters.
        maps: usize,
        /// Filter support.
        kernel: (usize, usize),
        /// Stride.
        stride: usize,
    },
}

/// How a layer's dictionary is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
enum Kind {
    /// `n_{i-1} x n_i`, column-major.
    #[default]
    Dense,
    /// The filters `patch_len x maps`, column-major.
    Valid(ValidGeometry),
}

/// Offsets of one layer's parameters in the flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct LayerAt {
    d: usize,
    c: usize,
    b: usize,
    /// Absent in files written before convolutional layers existed: dense.
    #[serde(default)]
    kind: Kind,
}

impl LayerAt {
    /// Entries of the dictionary block.
    fn d_len(&self, n: usize, m: usize) -> usize {
        match self.kind {
            Kind::Dense => n * m,
            Kind::Valid(g) => g.patch_len() * g.maps,
        }
    }
    /// Code entries per bias (1 for dense layers, the positions of a map otherwise).
    fn per_bias(&self) -> usize {
        match self.kind {
            Kind::Dense => 1,
            Kind::Valid(g) => g.positions(),
        }
    }
}

/// A supervised unfolded ML-ISTA / ML-FISTA network (Sulam, Aberdam, Beck & Elad, TPAMI 2019,
/// "supervised learning formulation"): `K` iterations of the multi-layer pursuit on an input
/// `y`, then a linear classifier with softmax cross-entropy on the deepest code.
///
/// Layer `i` has an (unnormalised) dictionary `D_i` (`n_{i-1} x n_i`: a dense matrix or the
/// filters of a valid strided convolution, [`LayerSpec`]), a step `c_i > 0` and a bias vector
/// `b_i` (`b_i = -c_i lambda_i` in the pursuit's terms; one per atom, or per feature map). Iteration `k` computes, from
/// the point `z` (`0` at `k = 1`, the previous deepest estimate — extrapolated by FISTA's momentum
/// for ML-FISTA — afterwards), `h_L = z`, `h_{i-1} = D_i h_i`, and for `i = 1..L`
///
/// `g_i = ReLU( h_i - c_i D_i^T (h_{i-1} - g_{i-1}) + b_i )`, `g_0 = y`.
///
/// The first iteration is therefore the feed-forward network `g_i = ReLU(c_i D_i^T g_{i-1} + b_i)`:
/// every `K` uses the *same* parameters, and `K = 1` is a plain ReLU network. The logits are
/// `W g_L + w_0`. Parameters live in one flat vector (`D_i` column-major — the filter matrix
/// for a convolutional layer —, `c_i`, `b_i` per layer, then `W`, `w_0`), the layout the
/// optimiser and the finite-difference checks use. With convolutional layers
/// ([`UnfoldedNet::convolutional`]) `K = 1` is a plain CNN.
///
/// Deserialising (e.g. `serde_json::from_str`) validates the network: the layout of the flat
/// parameter vector must be the one [`UnfoldedNet::new`] / [`UnfoldedNet::convolutional`]
/// build, sizes are computed with checked arithmetic and bounded by
/// [`MAX_FILE_LEN`](crate::MAX_FILE_LEN), parameters must be finite; a hand-edited file that
/// breaks any of this is an error naming the field. The number of unfoldings is at most
/// [`MAX_UNFOLDINGS`], in files and constructors alike.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "validate::NetData")]
pub struct UnfoldedNet {
    dims: Vec<usize>,
    classes: usize,
    unfoldings: usize,
    kind: Unfolding,
    params: Vec<f64>,
    layers: Vec<LayerAt>,
    w: usize,
    w0: usize,
}

fn gemm(dst: MatMut<'_, f64>, add: bool, lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>, alpha: f64) {
    let acc = if add { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, alpha, Par::Seq);
}
