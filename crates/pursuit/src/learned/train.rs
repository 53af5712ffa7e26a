//! The training loop shared by every learned solver: mini-batches, Adam / SGD, backtracking,
//! and the numerical kernels (batched soft thresholding, the Lasso loss and its gradient).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use sparse_core::{check, generate, Dictionary};

use crate::error::{invalid, Result};
use crate::lasso::lasso_gap;
use crate::optim::{unit_interval, Adam};
use crate::result::{assemble, Report, Solution};

/// The first-order method that updates the parameters from mini-batch gradients.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Optimizer {
    /// Adam (Kingma & Ba, *Adam: a method for stochastic optimization*, ICLR 2015) with bias
    /// correction: the workspace's one [`crate::optim::Adam`].
    Adam {
        /// Decay of the first-moment average (default 0.9).
        beta1: f64,
        /// Decay of the second-moment average (default 0.999).
        beta2: f64,
        /// Added to the root of the second moment (default 1e-8).
        eps: f64,
    },
    /// Plain stochastic gradient descent, with heavy-ball momentum in `[0, 1)` (0: none).
    Sgd {
        /// Momentum coefficient (default 0).
        momentum: f64,
    },
}

impl Optimizer {
    /// Adam with `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`.
    pub fn adam() -> Self {
        Optimizer::Adam {
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// SGD with the given momentum (0 for plain SGD).
    pub fn sgd(momentum: f64) -> Self {
        Optimizer::Sgd { momentum }
    }

    fn validate(&self) -> Result<()> {
        match *self {
            Optimizer::Adam { beta1, beta2, eps } => Adam::new(beta1, beta2, eps).validate()?,
            Optimizer::Sgd { momentum } => unit_interval("momentum", momentum)?,
        }
        Ok(())
    }
}

impl Default for Optimizer {
    fn default() -> Self {
        Self::adam()
    }
}

/// How a learned solver is trained: mini-batch first-order descent of the mean Lasso objective
/// `1/b sum_j F(z_T(y_j))` over shuffled mini-batches of the training signals.
///
/// After every epoch the objective over the *whole* training set is measured; with `backtrack`
/// an epoch that increased it is undone (the best parameters are restored, the optimizer state
/// reset and the learning rate halved), so training never ends worse than it started.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `epochs` | `20` | passes over the training set (0: no training) |
/// | `batch_size` | `100` | signals per gradient step |
/// | `learning_rate` | `1e-3` | step size (Adam's `alpha`, or SGD's step) |
/// | `optimizer` | Adam(0.9, 0.999, 1e-8) | [`Optimizer`] |
/// | `backtrack` | `true` | undo an epoch that increased the training objective, halve the step |
/// | `seed` | `0` | seed of the mini-batch shuffling |
/// | `par` | `Par::rayon(0)` | parallelism of the matrix products |
#[derive(Debug, Clone, PartialEq)]
pub struct Training {
    /// Passes over the training set.
    pub epochs: usize,
    /// Signals per mini-batch.
    pub batch_size: usize,
    /// Learning rate.
    pub learning_rate: f64,
    /// The optimizer.
    pub optimizer: Optimizer,
    /// Undo epochs that increase the training objective (and halve the learning rate).
    pub backtrack: bool,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Parallelism of the matrix products.
    pub par: Par,
}

impl Default for Training {
    fn default() -> Self {
        Self {
            epochs: 20,
            batch_size: 100,
            learning_rate: 1e-3,
            optimizer: Optimizer::adam(),
            backtrack: true,
            seed: 0,
            par: Par::rayon(0),
        }
    }
}

impl Training {
    /// Checks every field.
    pub fn validate(&self) -> Result<()> {
        check::count("batch_size", self.batch_size, usize::MAX)?;
        check::positive("learning_rate", self.learning_rate)?;
        self.optimizer.validate()
    }
}

/// What the observer of a training run receives after every epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean of the mini-batch objectives seen during the epoch (before each step).
    pub batch_loss: f64,
    /// Mean objective `1/N sum_j F(z_T(y_j))` over the whole training set after the epoch (after
    /// backtracking, if the epoch was undone).
    pub train_loss: f64,
    /// The learning rate the *next* epoch will use.
    pub learning_rate: f64,
    /// `false` when the epoch increased the training objective and was undone.
    pub accepted: bool,
}

/// A network with a flat parameter vector, as the training loop sees it.
pub(crate) trait Net: Sync {
    fn params(&self) -> &[f64];
    fn params_mut(&mut self) -> &mut [f64];
    /// Mean objective over the columns of `y`, and its gradient written into `grad` (zeroed by
    /// the caller).
    fn loss_grad(&self, y: MatRef<'_, f64>, grad: &mut [f64], par: Par) -> f64;
    /// Sum of the objective over the columns of `y`.
    fn loss_sum(&self, y: MatRef<'_, f64>, par: Par) -> f64;
    /// Maps the Euclidean gradient to the direction the optimizer uses (e.g. onto a tangent
    /// space). Identity by default.
    fn precondition(&self, _grad: &mut [f64], _par: Par) {}
    /// Restores constraints after an update (e.g. orthogonality, positivity).
    fn retract(&mut self) {}
    /// Per-parameter multipliers of the learning rate (for parameters whose natural scale is
    /// far from 1), or `None` for all ones.
    fn lr_scales(&self) -> Option<Vec<f64>> {
        None
    }
}

/// Optimizer state over a flat parameter vector.
struct State {
    m: Vec<f64>,
    v: Vec<f64>,
    t: u64,
}

impl State {
    fn new(n: usize) -> Self {
        Self {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }

    fn step(&mut self, opt: Optimizer, lr: f64, scales: Option<&[f64]>, x: &mut [f64], g: &[f64]) {
        self.t += 1;
        let lr_at = |i: usize| scales.map_or(lr, |s| lr * s[i]);
        match opt {
            Optimizer::Adam { beta1, beta2, eps } => {
                let s = Adam::new(beta1, beta2, eps).at(self.t);
                for i in 0..x.len() {
                    x[i] -= s.update(lr_at(i), &mut self.m[i], &mut self.v[i], g[i]);
                }
            }
            Optimizer::Sgd { momentum } => {
                for i in 0..x.len() {
                    self.m[i] = momentum * self.m[i] + g[i];
                    x[i] -= lr_at(i) * self.m[i];
                }
            }
        }
    }
}

/// Columns per task when a batch is split across threads for the objective alone.
const EVAL_CHUNK: usize = 256;

/// `(first, len)` of `parts` nearly equal column ranges covering `0..n`.
fn split(n: usize, parts: usize) -> Vec<(usize, usize)> {
    let parts = parts.clamp(1, n.max(1));
    (0..parts)
        .map(|i| (i * n / parts, (i + 1) * n / parts - i * n / parts))
        .filter(|&(_, len)| len > 0)
        .collect()
}

/// Mean objective over the columns of `y`, in column chunks (bounded memory), the chunks in
/// parallel with sequential products when `par` has several threads.
pub(crate) fn mean_loss<N: Net>(net: &N, y: MatRef<'_, f64>, par: Par) -> f64 {
    let n = y.ncols();
    let chunks = split(n, n.div_ceil(EVAL_CHUNK));
    let sum: f64 = if par.degree() > 1 && chunks.len() > 1 {
        chunks
            .par_iter()
            .map(|&(f, l)| net.loss_sum(y.subcols(f, l), Par::Seq))
            .sum()
    } else {
        chunks
            .iter()
            .map(|&(f, l)| net.loss_sum(y.subcols(f, l), par))
            .sum()
    };
    sum / n as f64
}

/// Mean objective over the columns of `y` and its gradient (into `grads[0]`): with several
/// threads the batch is split into one part per thread, each differentiated with sequential
/// products into its own buffer of `grads`, and the parts are averaged.
fn batch_loss_grad<N: Net>(net: &N, y: MatRef<'_, f64>, grads: &mut [Vec<f64>], par: Par) -> f64 {
    let b = y.ncols();
    let parts = split(b, grads.len());
    if parts.len() == 1 {
        grads[0].fill(0.0);
        return net.loss_grad(y, &mut grads[0], par);
    }
    let losses: Vec<f64> = grads[..parts.len()]
        .par_iter_mut()
        .zip(parts.par_iter())
        .map(|(g, &(f, l))| {
            g.fill(0.0);
            let w = l as f64 / b as f64;
            let loss = net.loss_grad(y.subcols(f, l), g, Par::Seq);
            g.iter_mut().for_each(|v| *v *= w);
            loss * w
        })
        .collect();
    let (first, rest) = grads.split_at_mut(1);
    for g in &rest[..parts.len() - 1] {
        first[0].iter_mut().zip(g).for_each(|(a, b)| *a += b);
    }
    losses.iter().sum()
}

/// Trains `net` on the columns of `y` (already validated by the caller).
pub(crate) fn train<N: Net>(
    net: &mut N,
    y: MatRef<'_, f64>,
    t: &Training,
    observer: &mut dyn FnMut(&EpochReport),
) -> Result<()> {
    t.validate()?;
    let n = y.ncols();
    let np = net.params().len();
    let bs = t.batch_size.min(n);
    let mut rng = generate::rng(t.seed);
    let mut order: Vec<usize> = (0..n).collect();
    let threads = if t.par.degree() > 1 {
        rayon::current_num_threads()
    } else {
        1
    };
    let mut grads = vec![vec![0.0; np]; threads.max(1)];
    let mut state = State::new(np);
    let mut lr = t.learning_rate;
    let mut best = mean_loss(net, y, t.par);
    let mut best_params = net.params().to_vec();
    let mut batch = Mat::<f64>::zeros(y.nrows(), bs);
    let scales = net.lr_scales();
    for epoch in 1..=t.epochs {
        order.shuffle(&mut rng);
        let (mut sum, mut count) = (0.0, 0usize);
        for chunk in order.chunks(bs) {
            let mut bm = batch.as_mut().subcols_mut(0, chunk.len());
            for (k, &j) in chunk.iter().enumerate() {
                bm.as_mut().col_mut(k).copy_from(y.col(j));
            }
            let loss = batch_loss_grad(&*net, bm.as_ref(), &mut grads, t.par);
            let grad = &mut grads[0];
            sum += loss;
            count += 1;
            if !grad.iter().all(|g| g.is_finite()) {
                break;
            }
            net.precondition(grad, t.par);
            state.step(t.optimizer, lr, scales.as_deref(), net.params_mut(), grad);
            net.retract();
        }
        let mut loss = mean_loss(net, y, t.par);
        let accepted = loss <= best || !t.backtrack;
        if accepted {
            if loss <= best {
                best = loss;
                best_params.copy_from_slice(net.params());
            }
        } else {
            net.params_mut().copy_from_slice(&best_params);
            state = State::new(np);
            lr *= 0.5;
            loss = best;
        }
        observer(&EpochReport {
            epoch,
            batch_loss: sum / count.max(1) as f64,
            train_loss: loss,
            learning_rate: lr,
            accepted,
        });
    }
    Ok(())
}

/// `dst (+)= alpha * lhs * rhs`.
#[inline]
pub(crate) fn gemm(
    dst: MatMut<'_, f64>,
    accum: Accum,
    lhs: MatRef<'_, f64>,
    rhs: MatRef<'_, f64>,
    alpha: f64,
    par: Par,
) {
    matmul(dst, accum, lhs, rhs, alpha, par);
}

/// Soft thresholding of row `i` at `theta[i]`: `out = sign(c) max(|c| - theta, 0)`.
pub(crate) fn soft_rows(c: MatRef<'_, f64>, theta: &[f64], mut out: MatMut<'_, f64>) {
    for j in 0..c.ncols() {
        for (i, &t) in theta.iter().enumerate() {
            out[(i, j)] = sparse_core::shrink::soft(c[(i, j)], t);
        }
    }
}

/// Back-propagation through `z = soft(c, theta)` (row thresholds): turns `g = dL/dz` into
/// `dL/dc` in place and adds `dL/dtheta_i = -sum_j g_ij sign(c_ij) 1{|c_ij| > theta_i}` times
/// `scale[i]` to `dtheta` (the chain factor of a reparametrised threshold; 1 for LISTA).
pub(crate) fn soft_rows_backward(
    c: MatRef<'_, f64>,
    theta: &[f64],
    mut g: MatMut<'_, f64>,
    dtheta: &mut [f64],
    scale: &[f64],
) {
    for j in 0..c.ncols() {
        for (i, &t) in theta.iter().enumerate() {
            let ci = c[(i, j)];
            if ci > t {
                dtheta[i] -= g[(i, j)] * scale[i];
            } else if ci < -t {
                dtheta[i] += g[(i, j)] * scale[i];
            } else {
                g[(i, j)] = 0.0;
            }
        }
    }
}

/// Smallest distance of a pre-activation to a kink `|c_ij| = theta_i` of the soft threshold.
pub(crate) fn margin(c: MatRef<'_, f64>, theta: &[f64]) -> f64 {
    let mut m = f64::INFINITY;
    for j in 0..c.ncols() {
        for (i, &t) in theta.iter().enumerate() {
            m = m.min((c[(i, j)].abs() - t).abs());
        }
    }
    m
}

/// Sum over the columns of the Lasso objective `1/2 ||y - D z||^2 + lambda ||z||_1`; with
/// `grad`, writes `scale * (D^T (D z - y) + lambda sign(z))` into it.
pub(crate) fn lasso_loss(
    d: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    z: MatRef<'_, f64>,
    lambda: f64,
    grad: Option<(MatMut<'_, f64>, f64)>,
    par: Par,
) -> f64 {
    let mut r = y.to_owned();
    gemm(r.as_mut(), Accum::Add, d, z, -1.0, par);
    let r2 = r.squared_norm_l2();
    let mut l1 = 0.0;
    for j in 0..z.ncols() {
        for i in 0..z.nrows() {
            l1 += z[(i, j)].abs();
        }
    }
    if let Some((mut g, scale)) = grad {
        gemm(
            g.as_mut(),
            Accum::Replace,
            d.transpose(),
            r.as_ref(),
            -scale,
            par,
        );
        for j in 0..z.ncols() {
            for i in 0..z.nrows() {
                let zi = z[(i, j)];
                if zi != 0.0 {
                    g[(i, j)] += scale * lambda * zi.signum();
                }
            }
        }
    }
    0.5 * r2 + lambda * l1
}

/// The result of a network: the codes with their Lasso objective, residual and duality gap.
pub(crate) fn coding_result(
    d: &Dictionary,
    y: MatRef<'_, f64>,
    z: Mat<f64>,
    lambda: f64,
    layers: usize,
    par: Par,
) -> Solution {
    let mut r = y.to_owned();
    gemm(r.as_mut(), Accum::Add, d.matrix(), z.as_ref(), -1.0, par);
    let mut dtr = Mat::<f64>::zeros(d.n_atoms(), y.ncols());
    gemm(
        dtr.as_mut(),
        Accum::Replace,
        d.matrix().transpose(),
        r.as_ref(),
        1.0,
        par,
    );
    let reports: Vec<Report> = (0..y.ncols())
        .map(|j| {
            let yj: Vec<f64> = y.col(j).iter().copied().collect();
            let (obj, gap) = lasso_gap(
                &yj,
                r.col_as_slice(j),
                dtr.col_as_slice(j),
                z.col_as_slice(j),
                lambda,
                false,
            );
            Report {
                iterations: layers,
                converged: true,
                objective: obj,
                residual_norm: r.col(j).norm_l2(),
                duality_gap: gap,
            }
        })
        .collect();
    assemble(z, &reports, true)
}

/// Checks a batch of signals for a network over `d`.
pub(crate) fn check_signals(name: &'static str, y: MatRef<'_, f64>, d: &Dictionary) -> Result<()> {
    check::batch(name, y, d.signal_len())?;
    Ok(())
}

/// `Err` unless `d` is the dictionary the network was built for.
pub(crate) fn check_same_dictionary(d: &Dictionary, own: &Dictionary) -> Result<()> {
    if d != own {
        return Err(invalid(
            "d",
            format!("a {} x {} dictionary", d.signal_len(), d.n_atoms()),
            "the dictionary the network was built for",
        ));
    }
    Ok(())
}

/// Views block `(off, rows, cols)` of a flat parameter vector.
pub(crate) fn block(p: &[f64], off: usize, rows: usize, cols: usize) -> MatRef<'_, f64> {
    MatRef::from_column_major_slice(&p[off..off + rows * cols], rows, cols)
}

/// Mutable view of block `(off, rows, cols)` of a flat parameter vector.
pub(crate) fn block_mut(p: &mut [f64], off: usize, rows: usize, cols: usize) -> MatMut<'_, f64> {
    MatMut::from_column_major_slice_mut(&mut p[off..off + rows * cols], rows, cols)
}

/// Replaces the square matrix `a` by the orthogonal factor of its polar decomposition, by the
/// Newton-Schulz iteration `A <- A (3 I - A^T A) / 2` (quadratically convergent while
/// `||A^T A - I||_F < 1`, the case after a small update of an orthogonal matrix); otherwise, or
/// without convergence, by the Q factor of a QR decomposition with `diag(R) > 0`. The result
/// is orthogonal to rounding (`max |A^T A - I| <= 4 k eps`).
pub(crate) fn retract_orthogonal(mut a: MatMut<'_, f64>) {
    let k = a.nrows();
    let tol = 4.0 * k as f64 * f64::EPSILON;
    let mut m = Mat::<f64>::zeros(k, k);
    let mut next = Mat::<f64>::zeros(k, k);
    for _ in 0..30 {
        gemm(
            m.as_mut(),
            Accum::Replace,
            a.as_ref().transpose(),
            a.as_ref(),
            1.0,
            Par::Seq,
        );
        let (mut fro, mut worst) = (0.0f64, 0.0f64);
        for j in 0..k {
            for i in 0..k {
                let e = m[(i, j)] - f64::from(u8::from(i == j));
                fro += e * e;
                worst = worst.max(e.abs());
            }
        }
        if worst <= tol {
            return;
        }
        if fro.is_nan() || fro >= 1.0 {
            break;
        }
        // m <- 1.5 I - 0.5 m, then a <- a m.
        for j in 0..k {
            for i in 0..k {
                m[(i, j)] = 1.5 * f64::from(u8::from(i == j)) - 0.5 * m[(i, j)];
            }
        }
        gemm(
            next.as_mut(),
            Accum::Replace,
            a.as_ref(),
            m.as_ref(),
            1.0,
            Par::Seq,
        );
        a.copy_from(&next);
    }
    let qr = a.as_ref().qr();
    let mut q = qr.compute_Q();
    let r = qr.R();
    for j in 0..k {
        if r[(j, j)] < 0.0 {
            q.col_mut(j).iter_mut().for_each(|v| *v = -*v);
        }
    }
    a.copy_from(&q);
}
