//! What every pursuit returns: the workspace's [`Solution`] (codes plus one [`Diagnostics`] per
//! signal), assembled here from the solvers' internal per-signal reports.

use faer::Mat;
pub use sparse_core::solve::{Diagnostics, Solution};

/// Per-signal diagnostics produced while coding one column.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct Report {
    pub iterations: usize,
    pub converged: bool,
    pub objective: f64,
    pub residual_norm: f64,
    pub duality_gap: f64,
}

impl Report {
    /// The public diagnostics of this report (with the gap for convex problems).
    pub(crate) fn diagnostics(&self, has_gap: bool) -> Diagnostics {
        let d = Diagnostics::new(
            self.iterations,
            self.converged,
            self.objective,
            self.residual_norm,
        );
        if has_gap {
            d.with_gap(self.duality_gap)
        } else {
            d
        }
    }
}

/// Assembles a solution from codes and one report per column.
pub(crate) fn assemble<T>(codes: Mat<T>, reports: &[Report], has_gap: bool) -> Solution<Mat<T>> {
    debug_assert_eq!(codes.ncols(), reports.len());
    let diagnostics = reports.iter().map(|r| r.diagnostics(has_gap)).collect();
    Solution::new(codes, diagnostics).expect("one report per column")
}
