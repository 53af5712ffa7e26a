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

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::solve::{by_magnitude, Homogeneity, SAFE_EXPONENT};
use sparse_core::{check, Dictionary};

use super::{check_common, gemm, gram_and_correlations, sparse_diagnostics, LarsPath};
use crate::batch::{column, column_mut, map_chunks, map_columns, CHUNK};
use crate::error::Result;
use crate::greedy::F32_SAFE_EXPONENT;
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
/// | `gap_tol` | `1e-6` | `converged` also requires the final relative duality gap `<= gap_tol` (for `f32` signals `<= max(gap_tol, 1e-4)`, [`F32_GAP_FLOOR`]) |
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

/// The smallest relative duality gap that an `f32` LARS code is asked to certify (see the
/// `Solve<Dictionary, f32>` implementation of [`Lars`]).
pub const F32_GAP_FLOOR: f64 = 1e-4;

/// LARS-Lasso of `f32` signals in `f32`: the Gram matrix (formed in `f64`) and the atoms are
/// rounded to `f32` once per call, `D^T Y` and the homotopy (Cholesky updates and downdates,
/// the correlation direction `G[:, A] w`, the event scan) run in `f32`, eight lanes per AVX2
/// register instead of four; the path stops at `lambda` rounded to `f32`. The codes are `f32`;
/// the diagnostics are computed in `f64` at `lambda` from the exact `f64` dictionary and
/// signal, so `converged` certifies the `f32` code as a solution of the `f64` problem: target
/// reached and relative duality gap `<= max(gap_tol, F32_GAP_FLOOR)` (`1e-4`). The floor is
/// the resolution of an `f32` code: rounding the exact solution to `f32` alone leaves gaps up
/// to `~2e-6` at small penalties, the `f32` path (whose Gram is rounded too) `~2e-5`.
/// Supports equal those of the `f64` solve unless an event ties to within `f32` rounding.
impl Solve<Dictionary, f32> for Lars {
    type Output = Solution<Mat<f32>>;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with `lambda`
    /// ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay `f32`-finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f32>) -> Result<Solution<Mat<f32>>> {
        check_common(self.lambda, self.gap_tol, self.max_iter)?;
        check::batch("y", y, d.signal_len())?;
        let g64 = d.gram_par(self.par);
        by_magnitude(y, Homogeneity::Quadratic, F32_SAFE_EXPONENT, |ys, s, _| {
            Lars {
                lambda: self.lambda / s,
                ..self.clone()
            }
            .run_f32(d, g64.as_ref(), ys)
        })
    }
}

impl Lars {
    /// The `f32` solve of signals of safe magnitude (`g64` is the `f64` Gram matrix).
    fn run_f32(
        &self,
        d: &Dictionary,
        g64: MatRef<'_, f64>,
        y: MatRef<'_, f32>,
    ) -> Result<Solution<Mat<f32>>> {
        let (n, m) = (d.signal_len(), d.n_atoms());
        let d64 = d.matrix();
        let g = Mat::<f32>::from_fn(m, m, |i, j| g64[(i, j)] as f32);
        let d32 = Mat::<f32>::from_fn(n, m, |i, j| d64[(i, j)] as f32);
        let lam = self.lambda as f32;
        // Per chunk: D^T Y in f32 for the path, and in f64 for the diagnostics.
        let (codes, reports) = map_chunks(
            y,
            m,
            self.par,
            || {
                (
                    LarsScratch::<f32>::new(n, m),
                    Mat::<f32>::zeros(m, CHUNK),
                    Mat::<f64>::zeros(m, CHUNK),
                    Mat::<f64>::zeros(n, CHUNK),
                    (vec![0.0f64; m], vec![0.0f64; n], vec![0.0f64; m]),
                )
            },
            |(s, dty, dty64, y64, (x64, r, dtr)), _first, yc, mut xc, rc| {
                let w = yc.ncols();
                let mut dty = dty.as_mut().subcols_mut(0, w);
                matmul(
                    dty.as_mut(),
                    Accum::Replace,
                    d32.transpose(),
                    yc,
                    1.0,
                    Par::Seq,
                );
                let mut y64 = y64.as_mut().subcols_mut(0, w);
                y64.copy_from(faer::zip!(yc).map(|faer::unzip!(v)| *v as f64));
                let mut dty64 = dty64.as_mut().subcols_mut(0, w);
                matmul(
                    dty64.as_mut(),
                    Accum::Replace,
                    d64.transpose(),
                    y64.as_ref(),
                    1.0,
                    Par::Seq,
                );
                for (k, rep) in rc.iter_mut().enumerate() {
                    let a0 = column(dty.as_ref(), k);
                    let h = Homotopy {
                        g: g.as_ref(),
                        dty: &a0,
                        target: Target::Lambda(lam),
                        nonneg: self.nonneg,
                        max_iter: self.max_iter,
                    };
                    let xj = column_mut(xc.as_mut(), k);
                    let out = s.run(&h, xj, None);
                    for (a, &b) in x64.iter_mut().zip(xj.iter()) {
                        *a = b as f64;
                    }
                    let (objective, duality_gap, residual_norm) = sparse_diagnostics(
                        d64,
                        g64,
                        &column(y64.as_ref(), k),
                        &column(dty64.as_ref(), k),
                        x64,
                        self.lambda,
                        self.nonneg,
                        r,
                        dtr,
                    );
                    *rep = Report {
                        iterations: out.steps,
                        converged: out.reached && duality_gap <= self.gap_tol.max(F32_GAP_FLOOR),
                        objective,
                        residual_norm,
                        duality_gap,
                    };
                }
            },
        );
        Ok(assemble(codes, &reports, true))
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
pub(crate) type KnotRecorder<'a, T = f64> = &'a mut dyn FnMut(T, &[usize], &[T]);

/// Where the homotopy stops.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Target<'a, T = f64> {
    /// At penalty `lambda`.
    Lambda(T),
    /// Where the residual norm `||y - D x||` first falls to `eps` (the BPDN solution, see
    /// `admm::Bpdn`); the residual is formed explicitly from the dictionary `d` and signal `y`.
    Residual {
        eps: T,
        d: MatRef<'a, T>,
        y: &'a [T],
    },
}

/// One homotopy problem: Gram `g`, correlations `dty = D^T y`, where to stop, the sign
/// constraint and the cap on path events.
#[derive(Clone, Copy)]
pub(crate) struct Homotopy<'a, T = f64> {
    pub g: MatRef<'a, T>,
    pub dty: &'a [T],
    pub target: Target<'a, T>,
    pub nonneg: bool,
    pub max_iter: usize,
}

/// How one homotopy run ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Outcome<T = f64> {
    /// Path events taken.
    pub steps: usize,
    /// Whether the target was reached.
    pub reached: bool,
    /// The penalty at the end point.
    pub lambda: T,
}

/// The next event on the current segment.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Event<T> {
    Target,
    /// `lambda` reaches 0 before the target.
    End,
    Drop(usize),
    Add(usize, T),
}

/// Workspace of the homotopy for one signal, reused across the signals of a rayon task.
pub(crate) struct LarsScratch<T = f64> {
    /// Correlations `D^T r`.
    c: Vec<T>,
    /// Direction of the correlations, `G[:, A] w` (also diagnostics scratch).
    a: Vec<T>,
    /// Residual (length `n`): diagnostics scratch, and `y - D x` for a residual target.
    pub r: Vec<T>,
    /// `D_A w` (length `n`), for a residual target.
    u: Vec<T>,
    active: Vec<usize>,
    sign: Vec<T>,
    xa: Vec<T>,
    w: Vec<T>,
    tmp: Vec<T>,
    in_a: Vec<bool>,
    /// Row-major lower Cholesky factor of `G_AA`, row stride `kmax`.
    l: Vec<T>,
    kmax: usize,
}
