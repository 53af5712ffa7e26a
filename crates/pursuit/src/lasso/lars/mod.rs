//! LARS-Lasso, the homotopy method for the Lasso (Osborne, Presnell & Turlach 2000; Efron,
//! Hastie, Johnstone & Tibshirani 2004).
//!
//! The Lasso solution `x(lambda)` is piecewise linear in `lambda`. Starting from
//! `lambda_0 = ||D^T y||_inf`, `x = 0`, the path moves along the direction
//! `w = G_AA^{-1} s_A` of the active set `A` (signs `s_A`), while the correlations
//! `c = D^T (y - D x)` move by `a = G[:, A] w`, until an inactive correlation reaches
//! `|c_j| = lambda` (`j` joins) or an active coefficient crosses zero (it leaves: the Lasso
//! modification of LARS). The Cholesky factor of `G_AA` is updated on each join (one triangular
//! solve) and downdated on each drop (Givens rotations), so a step costs `O(m |A|)`.
// Index loops over several parallel arrays read better than zipped iterators here.
#![allow(clippy::needless_range_loop)]

use faer::{Mat, MatRef, Par};
use sparse_core::solve::{by_magnitude, Homogeneity, SAFE_EXPONENT};
use sparse_core::{check, Dictionary};

use super::{check_common, gemm, gram_and_correlations, sparse_diagnostics, LarsPath};
use crate::batch::{column, map_columns};
use crate::error::Result;
use crate::result::{assemble, Report, Solution};
use crate::{Error, Solve};

mod path;
mod update;

/// LARS-Lasso / homotopy for the (non-negative) Lasso `min 1/2 ||y - D x||^2 + lambda ||x||_1`
/// on a dense [`Dictionary`] (Efron, Hastie, Johnstone & Tibshirani, *Least angle
/// regression*, Ann. Statist. 2004, with the Lasso modification of their section 3.1; Osborne,
/// Presnell & Turlach, *A new approach to variable selection in least squares problems*, IMA J.
/// Numer. Anal. 2000).
///
/// Follows the piecewise-linear regularisation path from `lambda_max = ||D^T y||_inf` down to
/// `lambda` and stops inside the last segment exactly at `lambda`, so the result is exact up to
/// rounding (its duality gap is at rounding level). The Gram `G = D^T D` and `D^T Y` are
/// computed once per batch (two GEMMs); each signal then costs `O(m |A|)` per path event with
/// an incrementally updated Cholesky factor of `G_AA`, which makes LARS the fastest Lasso solver
/// when solutions are sparse. [`Lars::path`] returns every knot of the path.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | penalty `lambda >= 0` at which the path stops |
/// | `gap_tol` | `1e-6` | `converged` also requires the final relative duality gap `<= gap_tol` |
/// | `max_iter` | `1000` | cap on path events (joins + drops) per signal |
/// | `nonneg` | `false` | the non-negative Lasso (only positive joins) |
/// | `par` | `Par::rayon(0)` | parallelism across signals (and for the two GEMMs) |
///
/// A signal is not converged when it hits `max_iter`, or when a joining atom is linearly
/// dependent on the active ones (possible only once `|A| = n`, e.g. for a tiny `lambda` with
/// `m > n`); the codes are then those of the last knot reached.
#[derive(Debug, Clone)]
pub struct Lars {
    /// Penalty `lambda >= 0` at which the path stops.
    pub lambda: f64,
    /// Relative duality-gap tolerance for `converged`.
    pub gap_tol: f64,
    /// Maximum number of path events per signal.
    pub max_iter: usize,
    /// Non-negative Lasso.
    pub nonneg: bool,
    /// Parallelism.
    pub par: Par,
}

impl Lars {
    /// LARS-Lasso stopping at `lambda`, with the defaults of the table above.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            gap_tol: 1e-6,
            max_iter: 1000,
            nonneg: false,
            par: Par::rayon(0),
        }
    }

    /// Sets `gap_tol`.
    pub fn gap_tol(mut self, gap_tol: f64) -> Self {
        self.gap_tol = gap_tol;
        self
    }
    /// Sets `max_iter` (path events).
    pub fn max_iter(mut self, max_iter: usize) -> Self {
        self.max_iter = max_iter;
        self
    }
    /// Sets `nonneg`.
    pub fn nonneg(mut self, nonneg: bool) -> Self {
        self.nonneg = nonneg;
        self
    }
    /// Sets `par`.
    pub fn par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    /// Solves the Lasso at `lambda` for every column of `y` (`d.signal_len() x n_signals`).
    /// `iterations` counts path events.
    fn run(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::batch("y", y, d.signal_len())?;
        let (g, dty) = gram_and_correlations(d, y, self.par);
        let (n, m) = (d.signal_len(), d.n_atoms());
        let (codes, reports) = map_columns(
            dty.as_ref(),
            m,
            self.par,
            || LarsScratch::new(n, m),
            |s, j, dtyj, xj| {
                let yj = column(y, j);
                let h = Homotopy {
                    g: g.as_ref(),
                    dty: dtyj,
                    target: Target::Lambda(self.lambda),
                    nonneg: self.nonneg,
                    max_iter: self.max_iter,
                };
                let out = s.run(&h, xj, None);
                let (objective, duality_gap, residual_norm) = sparse_diagnostics(
                    d.matrix(),
                    g.as_ref(),
                    &yj,
                    dtyj,
                    xj,
                    self.lambda,
                    self.nonneg,
                    &mut s.r,
                    &mut s.a,
                );
                Report {
                    iterations: out.steps,
                    converged: out.reached && duality_gap <= self.gap_tol,
                    objective,
                    residual_norm,
                    duality_gap,
                }
            },
        );
        Ok(assemble(codes, &reports, true))
    }

    /// The regularisation path of the single signal `y` (`d.signal_len() x 1`) from
    /// `lambda_max` down to `self.lambda` (use `Lars::new(0.0)` for the whole path).
    pub fn path(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<LarsPath> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::batch("y", y, d.signal_len())?;
        check::shape("y", y, d.signal_len(), 1)?;
        let (g, dty) = gram_and_correlations(d, y, Par::Seq);
        let (n, m) = (d.signal_len(), d.n_atoms());
        let mut s = LarsScratch::new(n, m);
        let mut x = vec![0.0; m];
        let mut knots: Vec<(f64, Vec<(usize, f64)>)> = Vec::new();
        let mut record = |lam: f64, active: &[usize], xa: &[f64]| {
            knots.push((
                lam,
                active.iter().copied().zip(xa.iter().copied()).collect(),
            ));
        };
        let h = Homotopy {
            g: g.as_ref(),
            dty: dty.col_as_slice(0),
            target: Target::Lambda(self.lambda),
            nonneg: self.nonneg,
            max_iter: self.max_iter,
        };
        let out = s.run(&h, &mut x, Some(&mut record));
        let mut coefs = Mat::<f64>::zeros(m, knots.len());
        for (k, (_, xs)) in knots.iter().enumerate() {
            for &(i, v) in xs {
                coefs[(i, k)] = v;
            }
        }
        let mut res = Mat::<f64>::from_fn(n, knots.len(), |i, _| y[(i, 0)]);
        gemm(
            res.as_mut(),
            true,
            d.matrix(),
            coefs.as_ref(),
            -1.0,
            Par::Seq,
        );
        let residual_norms = res.col_iter().map(|c| c.norm_l2()).collect();
        Ok(LarsPath {
            lambdas: knots.iter().map(|k| k.0).collect(),
            coefs,
            residual_norms,
            reached: out.reached,
        })
    }
}

impl Solve<Dictionary> for Lars {
    type Output = Solution;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with `lambda`
    /// ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::batch("y", y, d.signal_len())?;
        by_magnitude(y, Homogeneity::Quadratic, SAFE_EXPONENT, |ys, s, _| {
            Lars {
                lambda: self.lambda / s,
                ..self.clone()
            }
            .run(d, ys)
        })
    }
}

/// BPDN `min ||x||_1 s.t. ||y - D x|| <= eps` for every column of `y` by the homotopy: the
/// path stopped where the residual norm reaches `eps` (see `admm::Bpdn`). Inputs are checked
/// by the caller.
pub(crate) fn bpdn_homotopy(
    d: &Dictionary,
    y: MatRef<'_, f64>,
    eps: f64,
    max_iter: usize,
    par: Par,
) -> Solution {
    let (g, dty) = gram_and_correlations(d, y, par);
    let (n, m) = (d.signal_len(), d.n_atoms());
    let (codes, reports) = map_columns(
        dty.as_ref(),
        m,
        par,
        || LarsScratch::new(n, m),
        |s, j, dtyj, xj| {
            let yj = column(y, j);
            let (dm, g) = (d.matrix(), g.as_ref());
            let target = Target::Residual { eps, d: dm, y: &yj };
            let h = Homotopy {
                g,
                dty: dtyj,
                target,
                nonneg: false,
                max_iter,
            };
            let out = s.run(&h, xj, None);
            let (r, dtr) = (&mut s.r, &mut s.a);
            let (_, _, residual_norm) =
                sparse_diagnostics(dm, g, &yj, dtyj, xj, 0.0, false, r, dtr);
            Report {
                iterations: out.steps,
                converged: out.reached,
                objective: xj.iter().map(|v| v.abs()).sum(),
                residual_norm,
                duality_gap: 0.0,
            }
        },
    );
    assemble(codes, &reports, false)
}

/// Called at every knot with `(lambda, active set, active coefficients)`.
pub(crate) type KnotRecorder<'a> = &'a mut dyn FnMut(f64, &[usize], &[f64]);

/// Where the homotopy stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a> {
    /// At penalty `lambda`.
    Lambda(f64),
    /// Where the residual norm `||y - D x||` first falls to `eps` (the BPDN solution, see
    /// `admm::Bpdn`); the residual is formed explicitly from the dictionary `d` and signal `y`.
    Residual {
        eps: f64,
        d: MatRef<'a, f64>,
        y: &'a [f64],
    },
}

/// One homotopy problem: Gram `g`, correlations `dty = D^T y`, where to stop, the sign
/// constraint and the cap on path events.
#[derive(Clone, Copy)]
pub(crate) struct Homotopy<'a> {
    pub g: MatRef<'a, f64>,
    pub dty: &'a [f64],
    pub target: Target<'a>,
    pub nonneg: bool,
    pub max_iter: usize,
}

/// How one homotopy run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Outcome {
    /// Path events taken.
    pub steps: usize,
    /// Whether the target was reached.
    pub reached: bool,
    /// The penalty at the end point.
    pub lambda: f64,
}

/// The next event on the current segment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Event {
    Target,
    /// `lambda` reaches 0 before the target.
    End,
    Drop(usize),
    Add(usize, f64),
}

/// Workspace of the homotopy for one signal, reused across the signals of a rayon task.
pub(crate) struct LarsScratch {
    /// Correlations `D^T r`.
    c: Vec<f64>,
    /// Direction of the correlations, `G[:, A] w` (also diagnostics scratch).
    a: Vec<f64>,
    /// Residual (length `n`): diagnostics scratch, and `y - D x` for a residual target.
    pub r: Vec<f64>,
    /// `D_A w` (length `n`), for a residual target.
    u: Vec<f64>,
    active: Vec<usize>,
    sign: Vec<f64>,
    xa: Vec<f64>,
    w: Vec<f64>,
    tmp: Vec<f64>,
    in_a: Vec<bool>,
    /// Row-major lower Cholesky factor of `G_AA`, row stride `kmax`.
    l: Vec<f64>,
    kmax: usize,
}
