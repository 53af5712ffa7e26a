//! Learned (unfolded) solvers of the Lasso: LISTA (Gregor & LeCun 2010), FacNet / adaptive
//! ISTA and learned FISTA (Moreau & Bruna 2017), trained by back-propagation written for them.
//!
//! ISTA for `min_z F(z) = 1/2 ||y - D z||^2 + lambda ||z||_1` is the recursion
//! `z_{t+1} = S_{lambda/L}(z_t + D^T (y - D z_t) / L)`: a recurrent network with input weights
//! `W_e = D^T / L`, recurrent weights `W_g = I - D^T D / L` and soft thresholds `lambda / L`.
//! Unrolling `T` iterations and *learning* those parameters gives a `T`-layer network that
//! approximates the Lasso solution far better than `T` iterations of ISTA on the signals it was
//! trained for (Gregor & LeCun, *Learning fast approximations of sparse coding*, ICML 2010).
//! Moreau & Bruna (*Understanding trainable sparse coding via matrix factorization*, ICLR 2017,
//! arXiv:1609.00285) explain the gain: a layer can use a quadratic model `A^T S A` of the Gram
//! matrix `B = D^T D` (`A` unitary, `S` diagonal) instead of `L I`, which is accurate when `A`
//! nearly diagonalises `B` while barely deforming the l1 ball; FacNet is that constrained LISTA.
//!
//! | network | layer `t` | parameters per layer | untrained it is |
//! | --- | --- | --- | --- |
//! | [`Lista`] | `z <- S_theta(W_e y + W_g z)` | `W_e`, `W_g`, `theta` (or shared) | ISTA |
//! | [`FacNet`] | `z <- A^T S_{lambda/s}(A z - diag(1/s) A (B z - D^T y))` | unitary `A`, `s > 0` | ISTA |
//! | [`LFista`] | `z' = S_theta(W_e y + W_g x)`, `x <- z' + W_m (z' - z)` | `W_e`, `W_g`, `W_m`, `theta` | FISTA |
//!
//! All three are trained *unsupervised*, on the objective they approximate: the mean of
//! `F(z_T(y))` over mini-batches of training signals (as in Moreau & Bruna), by Adam or SGD
//! ([`Training`]), with forward and backward passes batched (signals are columns, every layer
//! product is a GEMM). A hyper-parameter value ([`Lista`], ...) builds an ISTA/FISTA-initialised
//! network with `init` or trains one with `fit`; the trained value ([`TrainedLista`], ...)
//! codes new signals with `forward` (a [`Solution`](crate::Solution) with the
//! objective, residual and duality gap of every code) and implements
//! [`SparseCoder`](crate::SparseCoder) for the dictionary it was trained on.
//!
//! ```
//! use pursuit::{Solve, Summary};
//! use pursuit::learned::Lista;
//! use pursuit::lasso::Ista;
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(0);
//! let d = Dictionary::random_gaussian(16, 32, &mut rng)?;
//! let x = generate::bernoulli_gaussian(32, 600, 0.1, 1.0, &mut rng)?;
//! let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng)?.clean;
//! let (train, test) = (y.subcols(0, 500), y.subcols(500, 100));
//! let net = Lista::new(3, 0.05).epochs(10).learning_rate(2e-3).fit(&d, train, |_| {})?;
//! let learned = net.loss(test)?;
//! let ista = Ista::new(0.05).max_iter(3).gap_tol(0.0).solve(&d, test)?;
//! let ista = ista.objectives().iter().sum::<f64>() / 100.0;
//! assert!(learned < ista);
//! # Ok::<(), pursuit::Error>(())
//! ```

/// Builder-style setters for the [`Training`] fields of a hyper-parameter struct with a
/// `training` field.
macro_rules! training_setters {
    () => {
        sparse_core::setters! {
            /// Sets the whole training configuration.
            training: $crate::learned::Training,
            /// Sets the number of epochs.
            epochs: usize => training,
            /// Sets the mini-batch size.
            batch_size: usize => training,
            /// Sets the learning rate.
            learning_rate: f64 => training,
            /// Sets the optimizer.
            optimizer: $crate::learned::Optimizer => training,
            /// Sets whether epochs that increase the training objective are undone.
            backtrack: bool => training,
            /// Sets the shuffling seed.
            seed: u64 => training,
            /// Sets the parallelism of training and of the trained network.
            par: faer::Par => training,
        }
    };
}

#[macro_use]
mod api;
mod adversarial;
mod facnet;
mod lfista;
mod lista;
mod train;

pub use adversarial::adversarial_dictionary;
pub use facnet::{FacNet, TrainedFacNet};
pub use lfista::{LFista, TrainedLFista};
pub use lista::{Lista, TrainedLista};
pub use train::{EpochReport, Optimizer, Training};

/// The kinds of parameters of the learned networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ParamKind {
    /// Input weights `W_e` (`n_atoms x signal_len`), multiplying the signal.
    We,
    /// Recurrent weights `W_g` (`n_atoms x n_atoms`), multiplying the previous code.
    Wg,
    /// Momentum weights `W_m` of learned FISTA (`n_atoms x n_atoms`).
    Wm,
    /// Soft thresholds, one per atom (`n_atoms x 1`).
    Theta,
    /// The unitary factor `A` of FacNet (`n_atoms x n_atoms`).
    A,
    /// The positive diagonal `s` of FacNet (`n_atoms x 1`).
    S,
}

/// Where one parameter matrix lives in a network's flat parameter vector (column-major).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParamBlock {
    /// What the block is.
    pub kind: ParamKind,
    /// The layer it belongs to (0 for the parameters shared by every layer).
    pub layer: usize,
    /// Offset of its first entry in the flat vector.
    pub offset: usize,
    /// Rows of the matrix.
    pub nrows: usize,
    /// Columns of the matrix (1 for vectors).
    pub ncols: usize,
}

impl ParamBlock {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.nrows * self.ncols
    }

    /// Whether the block has no entries (never, for a valid network).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The range of the flat vector the block occupies.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.len()
    }
}

/// Appends a block to a layout, returning its offset.
fn push_block(
    blocks: &mut Vec<ParamBlock>,
    kind: ParamKind,
    layer: usize,
    nrows: usize,
    ncols: usize,
) -> usize {
    let offset = blocks.last().map_or(0, |b| b.offset + b.len());
    blocks.push(ParamBlock {
        kind,
        layer,
        offset,
        nrows,
        ncols,
    });
    offset
}

/// The FISTA momentum coefficients `beta_k = (t_k - 1) / t_{k+1}`, `t_1 = 1`,
/// `t_{k+1} = (1 + sqrt(1 + 4 t_k^2)) / 2`, for `k = 1..=n` (Beck & Teboulle 2009).
pub(crate) fn fista_momenta(n: usize) -> Vec<f64> {
    let mut t = 1.0f64;
    (0..n)
        .map(|_| {
            let tn = 0.5 * (1.0 + (1.0 + 4.0 * t * t).sqrt());
            let beta = (t - 1.0) / tn;
            t = tn;
            beta
        })
        .collect()
}
