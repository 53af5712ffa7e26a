//! ISTA, the iterative shrinkage-thresholding algorithm (Daubechies, Defrise & De Mol 2004;
//! Beck & Teboulle 2009): proximal gradient descent with step `1/L`.

use faer::{MatRef, Par};
use sparse_core::LinearOperator;

use super::fista::Fista;
use super::Observer;
use crate::error::Result;
use crate::result::Solution;
use crate::{Error, Solve};

/// ISTA for the (non-negative) Lasso `min 1/2 ||y - D x||^2 + lambda ||x||_1` on any
/// [`LinearOperator`]: `x <- shrink(x + D^T (y - D x) / L, lambda / L)` (Daubechies, Defrise &
/// De Mol, *An iterative thresholding algorithm for linear inverse problems with a sparsity
/// constraint*, CPAM 2004; Beck & Teboulle 2009). With step `1/L`, `L >= ||D||_2^2`, the
/// objective decreases monotonically; the rate is `O(1/k)` (see [`Fista`] for `O(1/k^2)`).
///
/// The duality gap at `x_k` uses the same products as the step, so checking it is free; it is
/// still only evaluated every `gap_every` steps. Runs on blocks of signals (GEMMs), blocks in
/// parallel, exactly like [`Fista`].
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | penalty `lambda >= 0` |
/// | `gap_tol` | `1e-6` | stop a signal when its relative duality gap is `<= gap_tol` |
/// | `max_iter` | `10000` | cap on proximal steps per signal (`converged = false` when hit) |
/// | `nonneg` | `false` | solve the non-negative Lasso (`x >= 0`) |
/// | `gap_every` | `10` | evaluate the duality gap every this many steps |
/// | `block_size` | `128` | signals per block (the width of the GEMMs) |
/// | `lipschitz` | `None` | `L = ||D||_2^2` (step `1/L`); `None` asks `op.lipschitz()` |
/// | `par` | `Par::rayon(0)` | parallelism across blocks (inside one block if only one) |
/// | `observer` | `None` | called with the objective of every signal after every step |
#[derive(Debug, Clone)]
pub struct Ista {
    /// Penalty `lambda >= 0`.
    pub lambda: f64,
    /// Relative duality-gap tolerance.
    pub gap_tol: f64,
    /// Maximum number of proximal steps per signal.
    pub max_iter: usize,
    /// Non-negative Lasso.
    pub nonneg: bool,
    /// Duality-gap check period (steps).
    pub gap_every: usize,
    /// Signals per block.
    pub block_size: usize,
    /// Lipschitz constant `||D||_2^2` of the gradient; `None` computes `op.lipschitz()`.
    pub lipschitz: Option<f64>,
    /// Parallelism.
    pub par: Par,
    /// Progress callback.
    pub observer: Option<Observer>,
}

impl Ista {
    /// ISTA with penalty `lambda` and the defaults of the table above.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            gap_tol: 1e-6,
            max_iter: 10_000,
            nonneg: false,
            gap_every: 10,
            block_size: 128,
            lipschitz: None,
            par: Par::rayon(0),
            observer: None,
        }
    }

    sparse_core::setters! {
        /// Sets `gap_tol`.
        gap_tol: f64,
        /// Sets `max_iter`.
        max_iter: usize,
        /// Sets `nonneg`.
        nonneg: bool,
        /// Sets `gap_every`.
        gap_every: usize,
        /// Sets `block_size`.
        block_size: usize,
    }
    /// Sets the Lipschitz constant `L` (step `1/L`); it must be `>= ||D||_2^2`.
    pub fn lipschitz(mut self, l: f64) -> Self {
        self.lipschitz = Some(l);
        self
    }
    sparse_core::setters! {
        /// Sets `par`.
        par: Par,
    }
    /// Sets the progress callback.
    pub fn observer(mut self, observer: Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    fn as_fista(&self) -> Fista {
        Fista {
            lambda: self.lambda,
            gap_tol: self.gap_tol,
            max_iter: self.max_iter,
            nonneg: self.nonneg,
            restart: false,
            gap_every: self.gap_every,
            block_size: self.block_size,
            lipschitz: self.lipschitz,
            par: self.par,
            observer: self.observer.clone(),
        }
    }

    /// [`Solve::solve`] from the warm start `x0` (`op.ncols() x n_signals`).
    pub fn solve_warm<Op: LinearOperator + ?Sized>(
        &self,
        op: &Op,
        y: MatRef<'_, f64>,
        x0: MatRef<'_, f64>,
    ) -> Result<Solution> {
        self.as_fista().engine(false)?.run(op, y, Some(x0))
    }
}

/// Solves the Lasso for every column of `y` (`op.nrows() x n_signals`) from `x = 0`, on any
/// [`LinearOperator`] (a dense dictionary, a convolutional or multi-layer operator).
impl<Op: LinearOperator + ?Sized> Solve<Op> for Ista {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, op: &Op, y: MatRef<'_, f64>) -> Result<Solution> {
        self.as_fista().engine(false)?.run(op, y, None)
    }
}

/// ISTA of `f32` signals in `f32` on a dense dictionary, with the `f64` certification of the
/// `f32` [`Fista`](super::Fista) (`converged` at a certified relative gap
/// `<= max(gap_tol, F32_GAP_FLOOR)`, [`F32_GAP_FLOOR`](super::F32_GAP_FLOOR) = `1e-4`).
impl Solve<sparse_core::Dictionary, f32> for Ista {
    type Output = Solution<faer::Mat<f32>>;
    type Error = Error;

    fn solve(
        &self,
        d: &sparse_core::Dictionary,
        y: MatRef<'_, f32>,
    ) -> Result<Solution<faer::Mat<f32>>> {
        self.as_fista().engine(false)?.run_f32(d, y)
    }
}
