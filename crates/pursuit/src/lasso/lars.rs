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
#[cfg(target_arch = "x86_64")]
use sparse_core::simd::Avx2Fma;
use sparse_core::{check, Dictionary};

use super::{check_common, gemm, gram_and_correlations, sparse_diagnostics, LarsPath};
use crate::batch::{column, map_columns};
use crate::error::Result;
use crate::result::{assemble, Report, Solution};
use crate::{Error, Solve};

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

    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        self.run(d, y)
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

impl LarsScratch {
    /// Scratch for signals of length `n` over `m` atoms.
    pub(crate) fn new(n: usize, m: usize) -> Self {
        let kmax = n.min(m);
        Self {
            c: vec![0.0; m],
            a: vec![0.0; m],
            r: vec![0.0; n],
            u: vec![0.0; n],
            active: Vec::with_capacity(kmax),
            sign: Vec::with_capacity(kmax),
            xa: Vec::with_capacity(kmax),
            w: vec![0.0; kmax],
            tmp: vec![0.0; kmax],
            in_a: vec![false; m],
            l: vec![0.0; kmax * kmax],
            kmax,
        }
    }

    /// Follows the path of problem `h` until its target, writing the code into `x` (zeroed on
    /// entry). `record(lambda, A, x_A)` is called at every knot, the first (`x = 0`) and the
    /// last included.
    pub(crate) fn run(
        &mut self,
        h: &Homotopy<'_>,
        x: &mut [f64],
        record: Option<KnotRecorder<'_>>,
    ) -> Outcome {
        #[cfg(target_arch = "x86_64")]
        if let Some(token) = Avx2Fma::detect() {
            // SAFETY: the token proves that the CPU supports AVX2 and FMA.
            return unsafe { self.run_avx2(token, h, x, record) };
        }
        self.run_impl(h, x, record)
    }

    /// [`run`](Self::run) compiled for AVX2 + FMA (the loops over `m` vectorise 4-wide; no FMA
    /// contraction, so the path is bit-identical to the portable build's).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn run_avx2(
        &mut self,
        _: Avx2Fma,
        h: &Homotopy<'_>,
        x: &mut [f64],
        record: Option<KnotRecorder<'_>>,
    ) -> Outcome {
        self.run_impl(h, x, record)
    }

    #[inline(always)]
    fn run_impl(
        &mut self,
        h: &Homotopy<'_>,
        x: &mut [f64],
        mut record: Option<KnotRecorder<'_>>,
    ) -> Outcome {
        let (g, dty, target, nonneg, max_iter) = (h.g, h.dty, h.target, h.nonneg, h.max_iter);
        let m = dty.len();
        let kmax = self.kmax;
        self.c.copy_from_slice(dty);
        self.in_a.fill(false);
        self.active.clear();
        self.sign.clear();
        self.xa.clear();
        // lambda_0 and the first atom.
        let (mut j0, mut lam) = (0usize, 0.0f64);
        for (j, &cj) in self.c.iter().enumerate() {
            let v = if nonneg { cj } else { cj.abs() };
            if v > lam {
                (j0, lam) = (j, v);
            }
        }
        if let Some(rec) = record.as_mut() {
            rec(lam, &[], &[]);
        }
        let y2 = match target {
            Target::Residual { y, .. } => dot(y, y),
            Target::Lambda(_) => 0.0,
        };
        let done = match target {
            Target::Lambda(t) => lam <= t,
            Target::Residual { eps, .. } => y2 <= eps * eps,
        };
        if done || lam == 0.0 {
            if let (Some(rec), Target::Lambda(t)) = (record.as_mut(), target) {
                if t < lam {
                    rec(t, &[], &[]);
                }
            }
            return Outcome {
                steps: 0,
                reached: done,
                lambda: lam,
            };
        }
        let lam0 = lam;
        let s0 = if self.c[j0] >= 0.0 { 1.0 } else { -1.0 };
        self.push(g, j0, s0);
        let mut steps = 0usize;
        let mut banned: Option<usize> = None;
        let mut reached = false;
        loop {
            if steps >= max_iter {
                break;
            }
            let k = self.active.len();
            // w = G_AA^{-1} s_A (forward then backward substitution).
            for p in 0..k {
                let row = &self.l[p * kmax..p * kmax + p + 1];
                let mut v = self.sign[p];
                for q in 0..p {
                    v -= row[q] * self.w[q];
                }
                self.w[p] = v / row[p];
            }
            for p in (0..k).rev() {
                let row = &self.l[p * kmax..p * kmax + p + 1];
                let wp = self.w[p] / row[p];
                self.w[p] = wp;
                for q in 0..p {
                    self.w[q] -= row[q] * wp;
                }
            }
            // a = G[:, A] w.
            self.a.fill(0.0);
            for p in 0..k {
                let gi = g
                    .col(self.active[p])
                    .try_as_col_major()
                    .expect("owned Gram");
                let wp = self.w[p];
                for (av, gv) in self.a.iter_mut().zip(gi.as_slice()) {
                    *av += wp * gv;
                }
            }
            let (mut gamma, mut event) = match target {
                Target::Lambda(t) => (lam - t, Event::Target),
                Target::Residual { eps, d, y } => {
                    // ||r - gamma u||^2 = eps^2 with r = y - D_A x_A, u = D_A w (explicit, so
                    // that a tiny eps is resolved), by the cancellation-free root formula.
                    self.r.copy_from_slice(y);
                    self.u.fill(0.0);
                    for p in 0..k {
                        let dp = d.col(self.active[p]);
                        let (xp, wp) = (self.xa[p], self.w[p]);
                        for ((rv, uv), dv) in self.r.iter_mut().zip(&mut self.u).zip(dp.iter()) {
                            *rv -= xp * dv;
                            *uv += wp * dv;
                        }
                    }
                    // ||r - gamma u|| is smallest at gs = <r, u> / ||u||^2, where it is
                    // rmin, formed explicitly so that it is accurate near 0; the crossing is
                    // gs - sqrt((eps^2 - rmin^2) / ||u||^2). Residuals at rounding level count
                    // as reaching eps (eps = 0: Basis Pursuit).
                    let uu = dot(&self.u, &self.u);
                    let gs = dot(&self.r, &self.u) / uu;
                    let rmin2: f64 = (self.r.iter().zip(&self.u))
                        .map(|(a, b)| (a - gs * b) * (a - gs * b))
                        .sum();
                    let g = if gs > 0.0 && rmin2 <= eps * eps + 1e-26 * y2 {
                        (gs - ((eps * eps - rmin2).max(0.0) / uu).sqrt()).max(0.0)
                    } else {
                        f64::INFINITY
                    };
                    // The slack absorbs the drift of the tracked lambda on the last segment
                    // of a path that runs down to lambda ~ 0 (eps ~ 0).
                    if g <= lam + 1e-9 * lam0 {
                        (g, Event::Target)
                    } else {
                        (lam, Event::End)
                    }
                }
            };
            let (target_gamma, target_event) = (gamma, event);
            for p in 0..k {
                let wp = self.w[p];
                if wp != 0.0 {
                    let gp = -self.xa[p] / wp;
                    if gp > 0.0 && gp < gamma {
                        (gamma, event) = (gp, Event::Drop(p));
                    }
                }
            }
            if let Some(b) = banned {
                self.in_a[b] = true;
            }
            // With |A| = n the active atoms span R^n and, for atoms in general position, no
            // (n+1)-th correlation can reach lambda > 0: only drops or the target remain.
            let scan = if k < kmax { m } else { 0 };
            for j in 0..scan {
                if self.in_a[j] {
                    continue;
                }
                let (cj, aj) = (self.c[j], self.a[j]);
                let (d1, n1) = (1.0 - aj, lam - cj);
                if d1 > 0.0 && n1 < gamma * d1 {
                    (gamma, event) = (n1.max(0.0) / d1, Event::Add(j, 1.0));
                }
                if !nonneg {
                    let (d2, n2) = (1.0 + aj, lam + cj);
                    if d2 > 0.0 && n2 < gamma * d2 {
                        (gamma, event) = (n2.max(0.0) / d2, Event::Add(j, -1.0));
                    }
                }
            }
            if let Some(b) = banned.take() {
                self.in_a[b] = false;
            }
            // When y lies in the span of the active atoms every correlation vanishes with the
            // residual at the end of the path, so joins tie with a residual target: take it.
            if let (Target::Residual { .. }, Event::Target) = (target, target_event) {
                if gamma >= target_gamma * (1.0 - 1e-9) {
                    (gamma, event) = (target_gamma, Event::Target);
                }
            }
            // Move to the event.
            for p in 0..k {
                self.xa[p] += gamma * self.w[p];
            }
            for (cv, av) in self.c.iter_mut().zip(&self.a) {
                *cv -= gamma * av;
            }
            lam = match event {
                Event::Target => match target {
                    Target::Lambda(t) => t,
                    Target::Residual { .. } => (lam - gamma).max(0.0),
                },
                Event::End => 0.0,
                _ => (lam - gamma).max(0.0),
            };
            steps += 1;
            let mut stop = false;
            match event {
                Event::Target => {
                    reached = true;
                    stop = true;
                }
                Event::End => stop = true,
                Event::Drop(p) => {
                    let j = self.active[p];
                    banned = Some(j);
                    self.remove(p);
                }
                Event::Add(j, s) => {
                    if self.active.len() == kmax || !self.push(g, j, s) {
                        stop = true;
                    }
                }
            }
            if let Some(rec) = record.as_mut() {
                rec(lam, &self.active, &self.xa);
            }
            if stop {
                break;
            }
        }
        for (p, &j) in self.active.iter().enumerate() {
            x[j] = self.xa[p];
        }
        Outcome {
            steps,
            reached,
            lambda: lam,
        }
    }

    /// Adds atom `j` with sign `s` to the active set, extending the Cholesky factor by one row.
    /// Returns false (and leaves the set unchanged) when `j` is dependent on the active atoms.
    #[inline(always)]
    fn push(&mut self, g: MatRef<'_, f64>, j: usize, s: f64) -> bool {
        let (k, kmax) = (self.active.len(), self.kmax);
        let gj = g.col(j);
        for p in 0..k {
            let mut v = gj[self.active[p]];
            let row = &self.l[p * kmax..p * kmax + p + 1];
            for q in 0..p {
                v -= row[q] * self.tmp[q];
            }
            self.tmp[p] = v / row[p];
        }
        let gjj = gj[j];
        let d = gjj - self.tmp[..k].iter().map(|v| v * v).sum::<f64>();
        if d.is_nan() || d <= 1e-12 * gjj {
            return false;
        }
        self.l[k * kmax..k * kmax + k].copy_from_slice(&self.tmp[..k]);
        self.l[k * kmax + k] = d.sqrt();
        self.active.push(j);
        self.sign.push(s);
        self.xa.push(0.0);
        self.in_a[j] = true;
        true
    }

    /// Removes the active atom at position `p`: deletes row `p` of the Cholesky factor and
    /// restores the triangular form with Givens rotations on columns `(i, i + 1)`.
    #[inline(always)]
    fn remove(&mut self, p: usize) {
        let (k, kmax) = (self.active.len(), self.kmax);
        let l = &mut self.l;
        // Shift rows p+1..k up by one; row i (new) has entries in columns 0..=i+1.
        for i in p..k - 1 {
            let (dst, src) = (i * kmax, (i + 1) * kmax);
            l.copy_within(src..src + i + 2, dst);
        }
        for i in p..k - 1 {
            let (a, b) = (l[i * kmax + i], l[i * kmax + i + 1]);
            let rr = a.hypot(b);
            let (cs, sn) = (a / rr, b / rr);
            for t in i..k - 1 {
                let (u, v) = (l[t * kmax + i], l[t * kmax + i + 1]);
                l[t * kmax + i] = cs * u + sn * v;
                l[t * kmax + i + 1] = -sn * u + cs * v;
            }
            l[i * kmax + i + 1] = 0.0;
        }
        let j = self.active.remove(p);
        self.in_a[j] = false;
        self.sign.remove(p);
        self.xa.remove(p);
    }
}

#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(u, v)| u * v).sum()
}
