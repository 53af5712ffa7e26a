//! What every pursuit returns: the codes and per-signal diagnostics.

use faer::Mat;

/// Codes of a batch (`n_atoms x n_signals`, one column per signal) with per-signal diagnostics.
///
/// Every vector has one entry per signal (column). `duality_gap` is `Some` for the convex
/// problems (Lasso, BPDN), where it is the certificate of optimality the solver stopped on.
#[derive(Debug, Clone, PartialEq)]
pub struct CodingResult {
    /// The codes, one column per signal.
    pub codes: Mat<f64>,
    /// Iterations (greedy steps, sweeps, proximal steps) spent on each signal.
    pub iterations: Vec<usize>,
    /// Whether each signal met its stopping rule before the iteration cap.
    pub converged: Vec<bool>,
    /// Objective at the returned code (the solver's own: `1/2||y - Dx||^2 + lambda||x||_1` for
    /// the Lasso, `||x||_1` for Basis Pursuit, `||y - Dx||_2` for greedy methods).
    pub objective: Vec<f64>,
    /// `||y - D x||_2` for each signal.
    pub residual_norm: Vec<f64>,
    /// Relative duality gap `(P - D) / P` at the returned code, for convex problems.
    pub duality_gap: Option<Vec<f64>>,
}

impl CodingResult {
    /// Number of signals.
    pub fn len(&self) -> usize {
        self.codes.ncols()
    }

    /// Whether the batch was empty (never, for a successful call).
    pub fn is_empty(&self) -> bool {
        self.codes.ncols() == 0
    }

    /// Whether every signal converged.
    pub fn all_converged(&self) -> bool {
        self.converged.iter().all(|&c| c)
    }

    /// The largest iteration count over the batch.
    pub fn max_iterations(&self) -> usize {
        self.iterations.iter().copied().max().unwrap_or(0)
    }

    /// The largest relative duality gap over the batch, if defined.
    pub fn max_duality_gap(&self) -> Option<f64> {
        self.duality_gap
            .as_ref()
            .map(|g| g.iter().copied().fold(0.0, f64::max))
    }

    /// Mean number of non-zeros per code, counting entries with `|x_i| > 1e-10 max_j |x_j|`
    /// (iterative solvers such as ADMM leave round-off-sized entries off the support).
    pub fn mean_sparsity(&self) -> f64 {
        let nnz: usize = (0..self.codes.ncols())
            .map(|j| {
                let c = self.codes.col_as_slice(j);
                sparse_core::norms::l0(c, 1e-10 * sparse_core::norms::linf(c))
            })
            .sum();
        nnz as f64 / self.codes.ncols().max(1) as f64
    }
}

/// Per-signal diagnostics produced while coding one column.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Report {
    pub iterations: usize,
    pub converged: bool,
    pub objective: f64,
    pub residual_norm: f64,
    pub duality_gap: f64,
}

impl CodingResult {
    /// Assembles a result from codes and per-signal reports.
    pub(crate) fn from_reports(codes: Mat<f64>, reports: &[Report], has_gap: bool) -> Self {
        Self {
            codes,
            iterations: reports.iter().map(|r| r.iterations).collect(),
            converged: reports.iter().map(|r| r.converged).collect(),
            objective: reports.iter().map(|r| r.objective).collect(),
            residual_norm: reports.iter().map(|r| r.residual_norm).collect(),
            duality_gap: has_gap.then(|| reports.iter().map(|r| r.duality_gap).collect()),
        }
    }
}
