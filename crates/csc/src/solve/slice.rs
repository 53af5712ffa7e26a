//! A local, slice-based pursuit for convolutional BPDN: "working locally, thinking globally"
//! (Papyan, Sulam & Elad 2017, IEEE TSP 65(21)) made into an algorithm by Papyan, Romano, Sulam
//! & Elad (2017, "Convolutional dictionary learning via local processing", ICCV).
//!
//! Write the signal as a sum of *slices*, `y = sum_p P_p^T s_p`, where `P_p^T` places an
//! `n_h x n_w` patch at position `p` and each slice is a local atom combination
//! `s_p = D_L alpha_p` (`alpha_p` is the needle of the `m` coefficients at `p`, `D_L` the local
//! dictionary). CBPDN `min 1/2 ||y - sum_p P_p^T D_L alpha_p||^2 + lambda sum_p ||alpha_p||_1`
//! is split on `s_p = D_L alpha_p` and solved by scaled ADMM, every step local or a cheap
//! aggregation:
//!
//! 1. `alpha_p = argmin rho/2 ||D_L alpha - (s_p + u_p)||^2 + lambda ||alpha||_1`: `N` small
//!    Lasso problems over `D_L`, solved by coordinate descent on the `m x m` Gram, warm-started;
//! 2. `s_p = z_p + P_p (y - sum_q P_q^T z_q) / (rho + n_h n_w)` with `z_p = D_L alpha_p - u_p`
//!    (closed form, since `sum_p P_p^T P_p = n_h n_w I` with circular boundary);
//! 3. `u_p = u_p + s_p - D_L alpha_p`.
//!
//! At convergence the needles are the CBPDN solution of [`super::Cbpdn`] (same problem, same
//! circular boundary). The global products `D_L A` and `D_L^T (S + U)` are GEMMs (faer).

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use sparse_core::batch::for_each_block;
use sparse_core::check;
use sparse_core::solve::{Iteration, Solve};

use super::{run_batch, validate, L1Weights, Solution, Trace};
use crate::error::{Error, Result};
use crate::operator::ConvOperator;

/// Slice-based local ADMM for convolutional BPDN (see the [module docs](self)).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `lambda` | (required) | weight of the l1 penalty, `>= 0` |
/// | `max_iter` | `500` | iteration cap |
/// | `residual_tol` | `1e-4` | tolerance on the normalised primal and dual residuals |
/// | `rho` | `None` = `50 lambda + 1` | penalty parameter (fixed) |
/// | `inner_sweeps` | `10` | coordinate-descent sweeps of each local Lasso per iteration |
/// | `nonneg` | `false` | constrain the codes to be `>= 0` |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone, PartialEq)]
pub struct SlicePursuit {
    /// Weight of the l1 penalty.
    pub lambda: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Relative stopping tolerance.
    pub residual_tol: f64,
    /// Penalty parameter (`None`: `50 lambda + 1`).
    pub rho: Option<f64>,
    /// Coordinate-descent sweeps per local Lasso and iteration.
    pub inner_sweeps: usize,
    /// Non-negative codes.
    pub nonneg: bool,
    /// Parallelism.
    pub par: Par,
}

impl SlicePursuit {
    /// The solver with default parameters and penalty `lambda`.
    pub fn new(lambda: f64) -> Self {
        Self {
            lambda,
            max_iter: 500,
            residual_tol: 1e-4,
            rho: None,
            inner_sweeps: 10,
            nonneg: false,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Sets the iteration cap.
        max_iter: usize,
        /// Sets the stopping tolerance.
        residual_tol: f64,
    }

    /// Sets the penalty parameter.
    pub fn rho(mut self, rho: f64) -> Self {
        self.rho = Some(rho);
        self
    }

    sparse_core::setters! {
        /// Sets the coordinate-descent sweeps per local Lasso and iteration.
        inner_sweeps: usize,
        /// Constrains the codes to be non-negative.
        nonneg: bool,
        /// Sets the parallelism.
        par: Par,
    }

    /// Codes every column of `y` (`signal_len x b`); the codes are in the operator's
    /// FilterMajor layout.
    fn run(&self, op: &ConvOperator, y: MatRef<'_, f64>) -> Result<Solution> {
        validate(op, y, self.lambda, &L1Weights::Uniform, self.max_iter)?;
        check::positive("residual_tol", self.residual_tol)?;
        check::count("inner_sweeps", self.inner_sweeps, usize::MAX)?;
        if let Some(r) = self.rho {
            check::positive("rho", r)?;
        }
        let local = Local::new(op);
        Ok(run_batch(op, y, self.par, |_, yj, xj, inner| {
            let par = if inner { Par::rayon(0) } else { Par::Seq };
            let mut info = Trace::default();
            let n = op.n();
            let m = op.dictionary().n_filters();
            for k in 0..op.code_channels() {
                let ch =
                    self.solve_channel(op, &local, yj, k, &mut xj[k * m * n..(k + 1) * m * n], par);
                merge(&mut info, ch);
            }
            info
        }))
    }

    /// One code channel: all signal channels for a multi-channel dictionary, channel `k`
    /// otherwise. `x` receives the `m` feature maps.
    fn solve_channel(
        &self,
        op: &ConvOperator,
        local: &Local,
        y: &[f64],
        k: usize,
        x: &mut [f64],
        par: Par,
    ) -> Trace {
        let n_pos = op.n();
        let (p, m) = (local.dl.nrows(), local.dl.ncols());
        let lambda = self.lambda;
        let rho = self.rho.unwrap_or(50.0 * lambda + 1.0);
        let npix = op.dictionary().filter_grid().len() as f64;
        let ysig = local.signal_part(op, y, k);
        let mut a = Mat::<f64>::zeros(m, n_pos);
        let mut s = Mat::<f64>::zeros(p, n_pos);
        let mut u = Mat::<f64>::zeros(p, n_pos);
        let mut da = Mat::<f64>::zeros(p, n_pos);
        let mut b = Mat::<f64>::zeros(m, n_pos);
        let mut w = Mat::<f64>::zeros(p, n_pos);
        let mut info = Trace::default();
        for it in 0..self.max_iter {
            // (1) local Lasso problems: b = D_L^T (s + u), then coordinate descent.
            w.copy_from(&s);
            w += &u;
            matmul(
                b.as_mut(),
                Accum::Replace,
                local.dl.transpose(),
                w.as_ref(),
                1.0,
                par,
            );
            let t = lambda / rho;
            local_lasso(
                local.gram.as_ref(),
                b.as_ref(),
                a.as_mut(),
                t,
                self.inner_sweeps,
                self.nonneg,
                par,
            );
            // D_L alpha.
            let da_prev = da.clone();
            matmul(
                da.as_mut(),
                Accum::Replace,
                local.dl.as_ref(),
                a.as_ref(),
                1.0,
                par,
            );
            // (2) slices: z = D_L alpha - u; s = z + P (y - sum P^T z) / (rho + n_h n_w).
            let mut z = da.clone();
            z -= &u;
            let mut r = ysig.clone();
            local.scatter_sub(op, z.as_ref(), &mut r);
            r.iter_mut().for_each(|v| *v /= rho + npix);
            s.copy_from(&z);
            local.gather_add(op, &r, s.as_mut());
            // (3) u = u + s - D_L alpha = s - z.
            let (mut rr, mut ns, mut nda) = (0.0, 0.0, 0.0);
            for j in 0..n_pos {
                for i in 0..p {
                    let (sv, dv) = (s[(i, j)], da[(i, j)]);
                    rr += (sv - dv) * (sv - dv);
                    ns += sv * sv;
                    nda += dv * dv;
                    u[(i, j)] = sv - z[(i, j)];
                }
            }
            let nu = u.norm_l2();
            let mut dd = da_prev;
            dd -= &da;
            let rn = ns.sqrt().max(nda.sqrt()).max(f64::MIN_POSITIVE);
            let sn = (rho * nu).max(f64::MIN_POSITIVE);
            let (pr, dr) = (rr.sqrt() / rn, rho * dd.norm_l2() / sn);
            // Objective at the needles: 1/2 ||y - sum P^T D_L alpha||^2 + lambda ||A||_1.
            let mut res = ysig.clone();
            local.scatter_sub(op, da.as_ref(), &mut res);
            let df = 0.5 * res.iter().map(|v| v * v).sum::<f64>();
            let l1: f64 = (0..n_pos)
                .map(|j| a.col(j).iter().map(|v| v.abs()).sum::<f64>())
                .sum();
            info.history
                .push(Iteration::new(df, lambda * l1).residuals(pr, dr).step(rho));
            info.iterations = it + 1;
            if it > 0 && pr < self.residual_tol && dr < self.residual_tol {
                info.converged = true;
                break;
            }
        }
        for f in 0..m {
            for (pos, xv) in x[f * n_pos..(f + 1) * n_pos].iter_mut().enumerate() {
                *xv = a[(f, pos)];
            }
        }
        info
    }
}

/// Adds the diagnostics of one more code channel: iterations add up, the history records sum.
fn merge(info: &mut Trace, ch: Trace) {
    if info.history.is_empty() {
        *info = ch;
        return;
    }
    info.converged &= ch.converged;
    info.iterations = info.iterations.max(ch.iterations);
    let len = info.history.len().max(ch.history.len());
    let (a, b) = (&info.history, &ch.history);
    let at = |h: &Vec<Iteration>, i: usize| h[i.min(h.len() - 1)];
    info.history = (0..len)
        .map(|i| {
            let (x, y) = (at(a, i), at(b, i));
            Iteration::new(x.data_fidelity + y.data_fidelity, x.penalty + y.penalty)
                .residuals(
                    x.primal_residual.max(y.primal_residual),
                    x.dual_residual.max(y.dual_residual),
                )
                .step(x.step)
        })
        .collect();
}

/// The local dictionary, its Gram matrix and the patch geometry.
struct Local {
    dl: Mat<f64>,
    gram: Mat<f64>,
}

impl Local {
    fn new(op: &ConvOperator) -> Self {
        let dl = op.dictionary().local_matrix();
        let gram = dl.transpose() * &dl;
        Self { dl, gram }
    }

    /// The signal channels of code channel `k` (all of them for a multi-channel dictionary).
    fn signal_part(&self, op: &ConvOperator, y: &[f64], k: usize) -> Vec<f64> {
        let n = op.n();
        if op.dictionary().channels() > 1 {
            y.to_vec()
        } else {
            y[k * n..(k + 1) * n].to_vec()
        }
    }

    /// Visits every (patch row `i`, signal index) pair of position `pos`.
    #[inline]
    fn for_patch(op: &ConvOperator, pos: usize, mut f: impl FnMut(usize, usize)) {
        let g = op.signal_grid();
        let fg = op.dictionary().filter_grid();
        let cd = op.dictionary().channels();
        let n = op.n();
        let (pr, pc) = (pos % g.rows, pos / g.rows);
        for c in 0..cd {
            for b in 0..fg.cols {
                let col = (pc + b) % g.cols;
                for a in 0..fg.rows {
                    let row = (pr + a) % g.rows;
                    f(c * fg.len() + a + fg.rows * b, c * n + row + g.rows * col);
                }
            }
        }
    }

    /// `r -= sum_p P_p^T z_p`.
    fn scatter_sub(&self, op: &ConvOperator, z: MatRef<'_, f64>, r: &mut [f64]) {
        for pos in 0..z.ncols() {
            Self::for_patch(op, pos, |i, k| r[k] -= z[(i, pos)]);
        }
    }

    /// `s_p += P_p r` for every position.
    fn gather_add(&self, op: &ConvOperator, r: &[f64], mut s: MatMut<'_, f64>) {
        for pos in 0..s.ncols() {
            Self::for_patch(op, pos, |i, k| s[(i, pos)] += r[k]);
        }
    }
}

/// Coordinate descent on `min 1/2 a^T G a - b^T a + t ||a||_1` (`a >= 0` when `nonneg`) for
/// every column, warm-started from `a`, for at most `sweeps` sweeps or until no coordinate
/// moves. `G` has a unit diagonal (unit-norm filters).
fn local_lasso(
    g: MatRef<'_, f64>,
    b: MatRef<'_, f64>,
    a: MatMut<'_, f64>,
    t: f64,
    sweeps: usize,
    nonneg: bool,
    par: Par,
) {
    let m = g.nrows();
    let solve = |j: usize, mut aj: faer::ColMut<'_, f64>| {
        // c = b - G a (the correlations with the current residual).
        let mut c: Vec<f64> = (0..m).map(|i| b[(i, j)]).collect();
        for l in 0..m {
            let al = aj[l];
            if al != 0.0 {
                for (i, cv) in c.iter_mut().enumerate() {
                    *cv -= g[(i, l)] * al;
                }
            }
        }
        for _ in 0..sweeps {
            let mut moved = 0.0f64;
            for l in 0..m {
                let old = aj[l];
                let v = c[l] + old;
                let new = if nonneg {
                    (v - t).max(0.0)
                } else {
                    v.signum() * (v.abs() - t).max(0.0)
                };
                let d = new - old;
                if d != 0.0 {
                    aj[l] = new;
                    for (i, cv) in c.iter_mut().enumerate() {
                        *cv -= g[(i, l)] * d;
                    }
                    moved = moved.max(d.abs());
                }
            }
            if moved <= 1e-15 * (1.0 + t) {
                break;
            }
        }
    };
    let _: Vec<()> = for_each_block(
        a,
        64,
        par,
        || (),
        |_, first, mut chunk, _, _| {
            for jj in 0..chunk.ncols() {
                solve(first + jj, chunk.as_mut().col_mut(jj));
            }
        },
    );
}

impl Solve<ConvOperator> for SlicePursuit {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, op: &ConvOperator, y: MatRef<'_, f64>) -> Result<Solution> {
        self.run(op, y)
    }
}
