//! Convolutional pursuits: what they share (results, diagnostics, l1 weights, the batch driver
//! and the frequency-domain plumbing).
//!
//! | solver | problem | method |
//! | --- | --- | --- |
//! | [`Cbpdn`] | `min 1/2 ||y - sum_i d_i * g_i||^2 + lambda sum_i ||w_i . g_i||_1` | ADMM in the Fourier domain, Sherman–Morrison per frequency (Wohlberg 2016) |
//! | [`MaskedCbpdn`] | `min 1/2 ||W (y - sum_i d_i * g_i)||^2 + lambda sum_i ||w_i . g_i||_1` (masked data term) | ADMM with mask decoupling (Heide et al. 2015; Wohlberg 2016 boundary handling) |
//! | [`CbpdnFista`] | the same | FISTA with the gradient computed in the Fourier domain (Beck & Teboulle 2009) |
//! | [`ConvThresholding`] | `P_beta(D^T y)` | one shrinkage of the correlations: the first layer of a CNN |
//! | [`SlicePursuit`] | the same as [`Cbpdn`] | ADMM on local slices `s_p = D_L alpha_p` (Papyan, Sulam & Elad 2017) |

pub mod admm;
pub mod fista;
pub(crate) mod ism;
pub(crate) mod kernels;
pub mod masked;
pub mod slice;
pub mod threshold;

pub use admm::{AutoRho, Cbpdn, GradReg};
pub use fista::CbpdnFista;
pub use masked::MaskedCbpdn;
pub use slice::SlicePursuit;
pub use threshold::ConvThresholding;

use faer::{Mat, MatRef, Par};
use rayon::prelude::*;
use sparse_core::batch::for_each_column;
use sparse_core::check;
use sparse_core::solve::{Diagnostics, Iteration, Solution};

use crate::error::{invalid, shape_mismatch, Result};
use crate::fft::Cx;
use crate::float::Float;
use crate::operator::{ConvOperator, Spectra};

/// The internal per-signal trace of a convolutional pursuit, turned into the workspace's
/// [`Diagnostics`] by [`run_batch`].
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Trace {
    /// Iterations run.
    pub iterations: usize,
    /// Whether the stopping rule was met before `max_iter`.
    pub converged: bool,
    /// One record per iteration.
    pub history: Vec<Iteration>,
    /// Objective and residual norm of the returned code, when the records describe another
    /// variable (ADMM records its primal `x`; it returns the sparse `z`).
    pub final_state: Option<(f64, f64)>,
}

impl Trace {
    /// The diagnostics: objective and residual norm of the returned code (`final_state`, or
    /// else the last iteration's record, with the residual `sqrt(2 data_fidelity)`); the
    /// history attached.
    pub(crate) fn into_diagnostics(self) -> Diagnostics {
        let last = self.history.last().map_or((f64::NAN, f64::NAN), |s| {
            (s.objective, (2.0 * s.data_fidelity).max(0.0).sqrt())
        });
        let (objective, residual) = self.final_state.unwrap_or(last);
        Diagnostics::new(self.iterations, self.converged, objective, residual)
            .with_history(self.history)
    }
}

/// Weights of the l1 penalty `lambda sum_j w_j |g_j|`.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum L1Weights {
    /// All weights 1 (plain convolutional BPDN). The default.
    #[default]
    Uniform,
    /// One weight per filter (`m` values, shared by every position and code channel).
    PerFilter(Vec<f64>),
    /// One weight per code coefficient (`code_len` values, shared by every signal).
    PerCoefficient(Vec<f64>),
}

/// The weights of one feature map.
#[derive(Debug, Clone, Copy)]
pub(crate) enum MapWeights<'a, T = f64> {
    Const(T),
    Slice(&'a [T]),
}

impl<'a, T: Float> MapWeights<'a, T> {
    /// The weights of the `n` entries from `off` on: `(Some(slice), 1)` for per-coefficient
    /// weights, `(None, c)` for a constant `c`.
    #[inline(always)]
    pub(crate) fn split(self, off: usize, n: usize) -> (Option<&'a [T]>, T) {
        match self {
            MapWeights::Const(c) => (None, c),
            MapWeights::Slice(ws) => (Some(&ws[off..off + n]), T::one()),
        }
    }
}

/// [`L1Weights`] in the precision of a solve: borrowed in float64, rounded once in float32.
#[derive(Debug, Clone)]
pub(crate) enum TypedWeights<'a, T: Clone> {
    Uniform,
    PerFilter(Vec<T>),
    PerCoefficient(std::borrow::Cow<'a, [T]>),
}

impl<T: Float> TypedWeights<'_, T> {
    /// Weights of feature map `map` (`N` entries).
    pub(crate) fn map(&self, map: usize, m: usize, n: usize) -> MapWeights<'_, T> {
        match self {
            TypedWeights::Uniform => MapWeights::Const(T::one()),
            TypedWeights::PerFilter(v) => MapWeights::Const(v[map % m]),
            TypedWeights::PerCoefficient(v) => MapWeights::Slice(&v[map * n..(map + 1) * n]),
        }
    }
}

impl L1Weights {
    /// Checks lengths and values against the operator.
    pub(crate) fn validate(&self, op: &ConvOperator) -> Result<()> {
        self.validate_named("weights", op)
    }

    /// [`validate`](Self::validate), errors naming `argument`.
    pub(crate) fn validate_named(&self, argument: &'static str, op: &ConvOperator) -> Result<()> {
        let (v, len, what) = match self {
            L1Weights::Uniform => return Ok(()),
            L1Weights::PerFilter(v) => (v, op.dictionary().n_filters(), "one weight per filter"),
            L1Weights::PerCoefficient(v) => (v, op.code_len(), "one weight per code entry"),
        };
        if v.len() != len {
            return Err(shape_mismatch(
                argument,
                format!("{len} values ({what})"),
                format!("{} values", v.len()),
            ));
        }
        if let Some((i, w)) = v
            .iter()
            .enumerate()
            .find(|(_, w)| !(w.is_finite() && **w >= 0.0))
        {
            return Err(invalid(
                argument,
                format!("{w} at index {i}"),
                "finite weights >= 0",
            ));
        }
        Ok(())
    }

    /// The weights in precision `T`.
    pub(crate) fn typed<T: Float>(&self) -> TypedWeights<'_, T> {
        let cast = |v: &[f64]| v.iter().map(|&w| T::of(w)).collect::<Vec<T>>();
        match self {
            L1Weights::Uniform => TypedWeights::Uniform,
            L1Weights::PerFilter(v) => TypedWeights::PerFilter(cast(v)),
            L1Weights::PerCoefficient(v) => {
                TypedWeights::PerCoefficient(match T::from_f64_slice(v) {
                    Some(w) => std::borrow::Cow::Borrowed(w),
                    None => std::borrow::Cow::Owned(cast(v)),
                })
            }
        }
    }
}

/// Checks a batch of signals for `op` and the shared parameters.
pub(crate) fn validate<T: Float>(
    op: &ConvOperator,
    y: MatRef<'_, T>,
    lambda: f64,
    weights: &L1Weights,
    max_iter: usize,
) -> Result<()> {
    check::batch("y", y, op.signal_len())?;
    check::non_negative("lambda", lambda)?;
    check::count("max_iter", max_iter, usize::MAX)?;
    weights.validate(op)
}

/// Checks the options every ADMM solver shares: tolerances, relaxation, adaptive penalty.
pub(crate) fn check_admm(rel: f64, abs: f64, relax: f64, auto_rho: &AutoRho) -> Result<()> {
    check::positive("rel_residual_tol", rel)?;
    check::non_negative("abs_residual_tol", abs)?;
    if !(relax > 0.0 && relax < 2.0) {
        return Err(invalid("relax", relax, "a number in (0, 2)"));
    }
    auto_rho.validate()
}

/// `sum_maps sum_p w |z|` of a code with the l1 weights of each map.
pub(crate) fn weighted_l1(weights: &L1Weights, z: &[f64], m: usize, n: usize) -> f64 {
    let weights = weights.typed::<f64>();
    let mut l1 = 0.0;
    for (map, zm) in z.chunks(n).enumerate() {
        l1 += match weights.map(map, m, n) {
            MapWeights::Const(c) => c * zm.iter().map(|v| v.abs()).sum::<f64>(),
            MapWeights::Slice(w) => zm.iter().zip(w).map(|(v, w)| w * v.abs()).sum(),
        };
    }
    l1
}

/// Runs `solve(j, y_j, x_j, inner_parallel)` for every column `j` of `y` into a `code_len x b`
/// matrix with the workspace's batch driver ([`sparse_core::batch::for_each_column`], blocks of
/// one signal): in parallel over signals when `par` allows and there are several, otherwise one
/// signal at a time with the parallelism handed to the solver.
pub(crate) fn run_batch<T: Float, F>(
    op: &ConvOperator,
    y: MatRef<'_, T>,
    par: Par,
    solve: F,
) -> Solution<Mat<T>>
where
    F: Fn(usize, &[T], &mut [T], bool) -> Trace + Sync + Send,
{
    let mut codes = Mat::<T>::from_fn(op.code_len(), y.ncols(), |_, _| T::zero());
    let info: Vec<Trace> = for_each_column(
        y,
        codes.as_mut(),
        1,
        par,
        || (),
        |_, j, yj, xj, inner| solve(j, yj, xj, inner.degree() > 1),
    )
    .expect("codes are allocated with one column per signal");
    let diagnostics = info.into_iter().map(Trace::into_diagnostics).collect();
    Solution::new(codes, diagnostics).expect("one trace per column")
}

/// `sum_k f(item_k)` over `items`, in parallel when `par`, with one scratch per task.
pub(crate) fn map_sum<I, S, R>(
    items: Vec<I>,
    par: bool,
    init: impl Fn() -> S + Sync + Send,
    f: impl Fn(&mut S, I) -> R + Sync + Send,
) -> R
where
    I: Send,
    R: Send + Default + std::ops::Add<Output = R>,
{
    if par && items.len() > 1 {
        items
            .into_par_iter()
            .map_init(&init, &f)
            .reduce(R::default, |a, b| a + b)
    } else {
        let mut s = init();
        items
            .into_iter()
            .fold(R::default(), |acc, it| acc + f(&mut s, it))
    }
}

/// Inverse transforms of `k` blocked spectra (destroyed) into `out` (`k` grids of `N`).
pub(crate) fn inverse_all<T: Float>(
    sp: &Spectra<T>,
    spec: &mut [Cx<T>],
    out: &mut [T],
    k: usize,
    rows: usize,
    par: bool,
) {
    let fft = &sp.fft;
    let n = out.len() / k.max(1);
    let items: Vec<_> = fft
        .blocks()
        .per_map(spec, k)
        .into_iter()
        .zip(out.chunks_mut(n))
        .collect();
    map_sum(
        items,
        par,
        || fft.scratch(),
        |s, (mut bm, om)| {
            fft.inverse_with(
                &mut bm,
                |c, col| om[c * rows..(c + 1) * rows].copy_from_slice(col),
                s,
            );
            0.0
        },
    );
}

/// Forward transforms of `k` grids into blocked spectra.
pub(crate) fn forward_blocked<T: Float>(
    sp: &Spectra<T>,
    x: &[T],
    spec: &mut [Cx<T>],
    k: usize,
    rows: usize,
    par: bool,
) {
    let fft = &sp.fft;
    let n = x.len() / k.max(1);
    let items: Vec<_> = fft
        .blocks()
        .per_map(spec, k)
        .into_iter()
        .zip(x.chunks(n))
        .collect();
    map_sum(
        items,
        par,
        || fft.scratch(),
        |s, (mut bm, xm)| {
            fft.forward_with(
                |c, buf| buf.copy_from_slice(&xm[c * rows..(c + 1) * rows]),
                &mut bm,
                s,
            );
            0.0
        },
    );
}

/// The spectra of the `C` channels of a signal.
pub(crate) fn signal_spectra<T: Float>(op: &ConvOperator, y: &[T]) -> Vec<Cx<T>> {
    let sp = op.spectra_t::<T>();
    let f = sp.fft.spectrum_len();
    let n = op.n();
    let mut s = sp.fft.scratch();
    let mut out = vec![Cx::<T>::default(); op.channels() * f];
    for (o, yc) in out.chunks_mut(f).zip(y.chunks(n)) {
        sp.fft.forward(yc, o, &mut s);
    }
    out
}

/// Sums accumulated over the coefficients in the element-wise passes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Sums {
    pub a: f64,
    pub b: f64,
    pub c: f64,
    pub d: f64,
    pub e: f64,
    pub l1: f64,
    /// `||w . x||_1` of the ADMM primal variable (0 where unused).
    pub l1x: f64,
    /// `||z||_{2,1}` over code channels (joint sparsity; 0 where unused).
    pub l21: f64,
    /// `||x||_{2,1}` of the ADMM primal variable (joint sparsity; 0 where unused).
    pub l21x: f64,
}

impl std::ops::Add for Sums {
    type Output = Sums;
    fn add(self, o: Sums) -> Sums {
        Sums {
            a: self.a + o.a,
            b: self.b + o.b,
            c: self.c + o.c,
            d: self.d + o.d,
            e: self.e + o.e,
            l1: self.l1 + o.l1,
            l1x: self.l1x + o.l1x,
            l21: self.l21 + o.l21,
            l21x: self.l21x + o.l21x,
        }
    }
}
