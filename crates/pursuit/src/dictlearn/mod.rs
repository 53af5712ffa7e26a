//! Dictionary learning — "Problem 2" of Sparseland: given many signals `Y` (`n x N`), find the
//! dictionary `D` (`n x m`, unit-norm atoms) and sparse codes `X` with `Y ≈ D X`,
//!
//! ```text
//! min_{D, X} ||Y - D X||_F^2   s.t.  ||x_i||_0 <= k  (or ||y_i - D x_i||_2 <= eps)  for every i.
//! ```
//!
//! Every learner alternates a *sparse-coding* stage (any [`SparseCoder`]; Batch-OMP by default)
//! with a *dictionary-update* stage:
//!
//! | learner | dictionary update | paper |
//! | --- | --- | --- |
//! | [`Mod`] | least squares `D = Y X^T (X X^T)^{-1}` | Engan, Aase & Husøy (1999) |
//! | [`Ksvd`] ([`AtomUpdate::Exact`]) | atom by atom, rank-1 SVD of the restricted error | Aharon, Elad & Bruckstein (2006) |
//! | [`Ksvd`] ([`AtomUpdate::Approximate`]) | one alternating step of that rank-1 fit | Rubinstein, Zibulevsky & Elad (2008) |
//! | [`OnlineDictLearning`] | block-coordinate descent on streamed statistics `A`, `B` | Mairal, Bach, Ponce & Sapiro (2010) |
//!
//! On top of them, [`Denoiser`] is the K-SVD image denoiser of Elad & Aharon (2006).
//!
//! ```
//! use pursuit::dictlearn::{InitDict, Ksvd};
//! use pursuit::Stop;
//! use sparse_core::{generate, Dictionary, Noise};
//!
//! let mut rng = generate::rng(3);
//! let truth = Dictionary::random_gaussian(16, 24, &mut rng)?;
//! let x = generate::sparseland_codes(24, 2, 400, 0.3, 1.0, &mut rng)?;
//! let y = generate::signals(&truth, x.as_ref(), Noise::None, &mut rng)?.noisy;
//! let learned = Ksvd::new(24, Stop::Sparsity(2)).iterations(10).seed(1).fit(y.as_ref())?;
//! let h = &learned.history;
//! assert!(h.last().unwrap().rmse < h[0].rmse);
//! assert_eq!(learned.dictionary.n_atoms(), 24);
//! # Ok::<(), pursuit::Error>(())
//! ```
//!
//! The learners share [`LearnOptions`]: the initial dictionary ([`InitDict`]), the sparse coder
//! ([`Coder`]), the number of iterations, the seed, the replacement of unused and near-duplicate
//! atoms by the worst-represented signals (as `clearDict` in Rubinstein's KSVD-Box), and the
//! parallelism. Progress goes to an optional observer (`fit_observed`) as one
//! [`IterationReport`] per iteration; nothing is printed.

mod codes;
mod denoise;
mod ksvd;
mod mod_;
mod online;

pub use denoise::{Aggregation, Denoised, Denoiser};
pub use ksvd::{AtomUpdate, Ksvd};
pub use mod_::Mod;
pub use online::{
    Candidates, Forgetting, MiniBatchStats, OnlineDictLearning, OnlineLearner, SufficientStats,
};

use std::sync::Arc;

use faer::{Mat, MatRef, Par};
use rand::seq::index::sample;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::{check, Dictionary, SparseCodes};

use crate::error::{invalid, Result};
use crate::greedy::Float32Atoms;
use crate::{BatchOmp, Solution, Solve, SparseCoder, Stop};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The precision of training signals, `f64` or `f32` (sealed). With `f32` signals the learners
/// code in `f32` ([`Coder::BatchOmpF32`] in place of [`Coder::BatchOmp`]; a custom coder runs
/// in `f64` on the signals widened to `f64`) and update the dictionary in `f64`.
pub trait TrainingScalar: sealed::Sealed + Copy + Into<f64> + Send + Sync + 'static {
    /// `y` itself when it is `f64`, else `None`.
    #[doc(hidden)]
    fn as_f64<'a>(y: MatRef<'a, Self>) -> Option<MatRef<'a, f64>>;
}

impl TrainingScalar for f64 {
    fn as_f64<'a>(y: MatRef<'a, f64>) -> Option<MatRef<'a, f64>> {
        Some(y)
    }
}

impl TrainingScalar for f32 {
    fn as_f64<'a>(_: MatRef<'a, f32>) -> Option<MatRef<'a, f64>> {
        None
    }
}

/// The options for `f32` signals: the Batch-OMP coder becomes its `f32` form.
pub(crate) fn float32_options(o: &LearnOptions) -> LearnOptions {
    let coder = match &o.coder {
        Coder::BatchOmp(stop) | Coder::BatchOmpF32(stop) => Coder::BatchOmpF32(*stop),
        Coder::Custom(c) => Coder::Custom(c.clone()),
    };
    LearnOptions { coder, ..o.clone() }
}

/// `y` widened (exactly) to `f64`.
pub(crate) fn widen<T: TrainingScalar>(y: MatRef<'_, T>) -> Mat<f64> {
    Mat::<f64>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)].into())
}

/// The first dictionary of a learner.
#[derive(Debug, Clone, PartialEq)]
pub enum InitDict {
    /// The overcomplete separable DCT ([`Dictionary::overcomplete_dct`]); needs a signal length
    /// `p * p` and a number of atoms that is a perfect square `>= p * p`.
    OvercompleteDct,
    /// `n_atoms` distinct training signals drawn at random and normalised (the choice of the
    /// K-SVD paper). Zero signals are skipped; if too few non-zero signals exist, the remaining
    /// atoms are Gaussian.
    DataColumns,
    /// Atoms drawn uniformly on the unit sphere.
    RandomGaussian,
    /// A given dictionary (its shape must match the signals and `n_atoms`).
    Given(Dictionary),
}

/// The sparse coder of the coding stage.
#[derive(Clone)]
pub enum Coder {
    /// Batch-OMP (Rubinstein, Zibulevsky & Elad 2008) with this stopping rule, run with the
    /// options' `par`.
    BatchOmp(Stop),
    /// Batch-OMP in `f32` with this stopping rule: the signals are rounded to `f32` for the
    /// coding stage (eight lanes per AVX2 register, half the memory traffic), the codes widened
    /// back to `f64` for the dictionary update, which stays `f64`. Chosen automatically when a
    /// learner's `fit` is given `f32` signals; also usable with `f64` ones.
    BatchOmpF32(Stop),
    /// Any sparse coder (OMP, a Lasso solver, ...).
    Custom(Arc<dyn SparseCoder>),
}

impl std::fmt::Debug for Coder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Coder::BatchOmp(stop) => f.debug_tuple("BatchOmp").field(stop).finish(),
            Coder::BatchOmpF32(stop) => f.debug_tuple("BatchOmpF32").field(stop).finish(),
            Coder::Custom(_) => f.write_str("Custom(<dyn SparseCoder>)"),
        }
    }
}

impl Coder {
    /// Codes `y` over `d`.
    pub fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>, par: Par) -> Result<Solution> {
        match self {
            Coder::BatchOmp(stop) => BatchOmp::new(*stop).par(par).solve(d, y),
            Coder::BatchOmpF32(stop) => BatchOmp::new(*stop)
                .par(par)
                .code_in_f32(&Float32Atoms::new(d, par), y),
            Coder::Custom(c) => c.solve(d, y),
        }
    }
}

/// Runs a whole-batch learner `learn` on training signals of any finite magnitude, in `f64` or,
/// for `f32` signals, with the `f32` coder ([`float32_options`]) on the signals widened to `f64`.
///
/// Learning forms squared norms and the statistics `X X^T` of the codes, which overflow for
/// signals near `1e155` (and lose everything to underflow near `1e-155`). When the largest
/// magnitude of `y` lies outside `2^-SAFE_EXPONENT ..= 2^SAFE_EXPONENT`, `learn` runs on
/// `y / s` with the power of two `s` that brings it to `[1, 2)` (an exact division), with the
/// Batch-OMP error target divided by `s`; the codes and RMSEs it returns (and reports to the
/// observer) are multiplied by `s`. The dictionary is scale-free, so the result is the one the
/// same signals at unit size give, up to the scaling. A custom coder's parameters cannot be
/// rescaled: with one, such signals are refused with an `Err` naming `y`.
pub(crate) fn fit_at_safe_magnitude<T: TrainingScalar>(
    o: &LearnOptions,
    y: MatRef<'_, T>,
    observer: &mut dyn FnMut(&IterationReport),
    learn: impl FnOnce(
        &LearnOptions,
        MatRef<'_, f64>,
        &mut dyn FnMut(&IterationReport),
    ) -> Result<LearnedDictionary>,
) -> Result<LearnedDictionary> {
    use sparse_core::solve::{magnitude_scale, SAFE_EXPONENT};
    let (wide, o32);
    let (o, y) = match T::as_f64(y) {
        Some(y) => (o, y),
        None => {
            (wide, o32) = (widen(y), float32_options(o));
            (&o32, wide.as_ref())
        }
    };
    o.validate(y)?;
    let linf = (0..y.ncols())
        .flat_map(|j| y.col(j).iter().copied())
        .fold(0.0f64, |m, v| m.max(v.abs()));
    let s = magnitude_scale(linf, SAFE_EXPONENT);
    if s == 1.0 {
        return learn(o, y, observer);
    }
    let coder = match &o.coder {
        Coder::BatchOmp(stop) => Coder::BatchOmp(stop.divided(s)),
        Coder::BatchOmpF32(stop) => Coder::BatchOmpF32(stop.divided(s)),
        Coder::Custom(_) => {
            return Err(invalid(
                "y",
                format!("training signals of magnitude up to {linf:e}"),
                format!(
                    "entries within 2^-{SAFE_EXPONENT} ..= 2^{SAFE_EXPONENT} with a custom coder \
                     (its parameters cannot be rescaled; divide y by a power of two)"
                ),
            ))
        }
    };
    let scaled = LearnOptions { coder, ..o.clone() };
    let ys = Mat::<f64>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] / s);
    let mut up = |r: &IterationReport| {
        observer(&IterationReport {
            rmse: r.rmse * s,
            ..*r
        })
    };
    let mut learned = learn(&scaled, ys.as_ref(), &mut up)?;
    for r in &mut learned.history {
        r.rmse *= s;
    }
    for v in learned.codes.values_mut() {
        *v *= s;
    }
    Ok(learned)
}

/// Options shared by every learner of this module.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `n_atoms` | — | number of atoms `m` |
/// | `init` | [`InitDict::DataColumns`] | first dictionary |
/// | `coder` | [`Coder::BatchOmp`] with the given [`Stop`] | sparse coder of the coding stage |
/// | `iterations` | 10 | coding/update rounds (epochs over the data for the online learner) |
/// | `seed` | 0 | seed of every random choice (initial atoms, atom order, mini-batches) |
/// | `replace_unused` | `true` | replace atoms used by fewer than `min_usage` signals |
/// | `min_usage` | 4 | usage below which an atom counts as unused (KSVD-Box's value) |
/// | `replace_duplicates` | `true` | replace atom `j` when `|<d_i, d_j>| > duplicate_threshold` for some `i` |
/// | `duplicate_threshold` | 0.99 | coherence above which two atoms count as duplicates |
/// | `keep_better_codes` | `false` | a signal keeps its previous code when the new one is worse (K-SVD, MOD) |
/// | `par` | `Par::rayon(0)` | parallelism of coding and of the batched products |
///
/// The convergence argument for K-SVD and MOD (Aharon, Elad & Bruckstein 2006) assumes an exact
/// pursuit: `||Y - D X||_F` decreases monotonically only if the coding stage never returns a worse
/// code than the previous one, which a greedy pursuit does not promise. `keep_better_codes`
/// enforces it by keeping, per signal, the previous code when it represents the signal better
/// with the current dictionary and uses no more atoms. It is off by default: on the synthetic
/// experiment of the K-SVD paper the occasional worse code of OMP helps the iterations leave
/// poor local minima, and more atoms are recovered without the safeguard.
///
/// Replaced atoms become the normalised signals that the current dictionary represents worst
/// (largest residual), each signal used once per iteration (`clearDict` of Rubinstein's
/// KSVD-Box). No replacement is made after the last iteration, so the returned dictionary and
/// codes belong together.
#[derive(Debug, Clone)]
pub struct LearnOptions {
    /// Number of atoms.
    pub n_atoms: usize,
    /// First dictionary.
    pub init: InitDict,
    /// Sparse coder of the coding stage.
    pub coder: Coder,
    /// Number of iterations (epochs for the online learner).
    pub iterations: usize,
    /// Seed of every random choice.
    pub seed: u64,
    /// Replace atoms used by fewer than `min_usage` signals.
    pub replace_unused: bool,
    /// Usage below which an atom counts as unused.
    pub min_usage: usize,
    /// Replace near-duplicate atoms.
    pub replace_duplicates: bool,
    /// Coherence above which two atoms count as duplicates.
    pub duplicate_threshold: f64,
    /// Keep a signal's previous code when the new one represents it worse (K-SVD, MOD).
    pub keep_better_codes: bool,
    /// Parallelism.
    pub par: Par,
}

impl LearnOptions {
    /// Defaults (see the table) for `n_atoms` atoms and Batch-OMP with the rule `stop`.
    pub fn new(n_atoms: usize, stop: Stop) -> Self {
        Self {
            n_atoms,
            init: InitDict::DataColumns,
            coder: Coder::BatchOmp(stop),
            iterations: 10,
            seed: 0,
            replace_unused: true,
            min_usage: 4,
            replace_duplicates: true,
            duplicate_threshold: 0.99,
            keep_better_codes: false,
            par: Par::rayon(0),
        }
    }

    /// Checks the scalar options and the training batch `y`.
    pub(crate) fn validate(&self, y: MatRef<'_, f64>) -> Result<()> {
        check::non_empty("y", y)?;
        check::finite("y", y)?;
        self.validate_scalars()
    }

    pub(crate) fn validate_scalars(&self) -> Result<()> {
        check::count("n_atoms", self.n_atoms, usize::MAX)?;
        // The coders and updates hold the n_atoms x n_atoms Gram matrix of the dictionary.
        check::size("n_atoms", &[self.n_atoms, self.n_atoms])?;
        check::count("iterations", self.iterations, usize::MAX)?;
        if !(self.duplicate_threshold > 0.0 && self.duplicate_threshold <= 1.0) {
            return Err(invalid(
                "duplicate_threshold",
                self.duplicate_threshold,
                "a coherence in (0, 1]",
            ));
        }
        Ok(())
    }

    /// The initial dictionary (`n x n_atoms`, unit atoms) for signals `y` (`n x N`).
    pub(crate) fn initial_dictionary<R: Rng + ?Sized>(
        &self,
        y: MatRef<'_, f64>,
        rng: &mut R,
    ) -> Result<Mat<f64>> {
        let (n, m) = (y.nrows(), self.n_atoms);
        match &self.init {
            InitDict::Given(d) => {
                if d.signal_len() != n || d.n_atoms() != m {
                    return Err(crate::error::shape_mismatch(
                        "init",
                        format!("a {n} x {m} dictionary (signal length x n_atoms)"),
                        format!("{} x {}", d.signal_len(), d.n_atoms()),
                    ));
                }
                Ok(d.matrix().to_owned())
            }
            InitDict::OvercompleteDct => {
                let p = (n as f64).sqrt().round() as usize;
                if p * p != n {
                    return Err(invalid(
                        "init",
                        format!("OvercompleteDct for signal length {n}"),
                        "a signal length p * p (square patches)",
                    ));
                }
                Ok(Dictionary::overcomplete_dct(p, m)?.into_matrix())
            }
            InitDict::RandomGaussian => Ok(Dictionary::random_gaussian(n, m, rng)?.into_matrix()),
            InitDict::DataColumns => {
                let nonzero: Vec<usize> = (0..y.ncols())
                    .filter(|&j| y.col(j).squared_norm_l2() > 0.0)
                    .collect();
                let take = m.min(nonzero.len());
                let mut chosen: Vec<usize> = sample(rng, nonzero.len(), take)
                    .iter()
                    .map(|i| nonzero[i])
                    .collect();
                chosen.sort_unstable();
                let mut d = Mat::<f64>::zeros(n, m);
                for (a, &j) in chosen.iter().enumerate() {
                    let nrm = y.col(j).norm_l2();
                    for i in 0..n {
                        d[(i, a)] = y[(i, j)] / nrm;
                    }
                }
                for a in take..m {
                    let g: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
                    let nrm = g
                        .iter()
                        .map(|v| v * v)
                        .sum::<f64>()
                        .sqrt()
                        .max(f64::MIN_POSITIVE);
                    for i in 0..n {
                        d[(i, a)] = g[i] / nrm;
                    }
                }
                Ok(d)
            }
        }
    }
}

/// Builder setters for the shared options, generated for every learner that holds a
/// `options: LearnOptions` field.
macro_rules! learn_option_setters {
    ($t:ty) => {
        impl $t {
            sparse_core::setters! {
                /// Sets the first dictionary.
                init: $crate::dictlearn::InitDict => options,
            }
            /// Uses Batch-OMP with the stopping rule `stop` as the sparse coder.
            pub fn stop(mut self, stop: $crate::Stop) -> Self {
                self.options.coder = $crate::dictlearn::Coder::BatchOmp(stop);
                self
            }
            /// Uses any sparse coder for the coding stage.
            pub fn coder(mut self, coder: impl $crate::SparseCoder + 'static) -> Self {
                self.options.coder = $crate::dictlearn::Coder::Custom(std::sync::Arc::new(coder));
                self
            }
            sparse_core::setters! {
                /// Sets the number of iterations.
                iterations: usize => options,
                /// Sets the seed of every random choice.
                seed: u64 => options,
                /// Enables or disables the replacement of unused atoms.
                replace_unused: bool => options,
                /// Sets the usage below which an atom counts as unused.
                min_usage: usize => options,
                /// Enables or disables the replacement of near-duplicate atoms.
                replace_duplicates: bool => options,
                /// Sets the coherence above which two atoms count as duplicates.
                duplicate_threshold: f64 => options,
                /// Keeps (or not) a signal's previous code when the new one is worse.
                keep_better_codes: bool => options,
                /// Sets the parallelism.
                par: faer::Par => options,
            }
        }
    };
}
pub(crate) use learn_option_setters;

/// What a learner reports after each iteration (to the observer of `fit_observed` and in
/// [`LearnedDictionary::history`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IterationReport {
    /// Iteration number, from 1 (mini-batch step for [`OnlineLearner::partial_fit`]).
    pub iteration: usize,
    /// Representation error `||Y - D X||_F / sqrt(n N)` of the iteration's codes with its
    /// updated dictionary (for online learning: of each mini-batch's codes before the update).
    pub rmse: f64,
    /// Mean number of non-zeros per code.
    pub mean_sparsity: f64,
    /// Atoms replaced in this iteration (unused or near-duplicate).
    pub replaced_atoms: usize,
}

/// A learned dictionary with the codes of the training signals and the learning history.
#[derive(Debug, Clone, PartialEq)]
pub struct LearnedDictionary {
    /// The learned dictionary.
    pub dictionary: Dictionary,
    /// Codes of the training signals over [`dictionary`](Self::dictionary) (`n_atoms x N`),
    /// column-compressed (`codes.to_dense()` for a matrix): the learners never hold the dense
    /// codes of the whole training set.
    pub codes: SparseCodes,
    /// One report per iteration.
    pub history: Vec<IterationReport>,
}

impl LearnedDictionary {
    /// The representation RMSE of the last iteration.
    pub fn final_rmse(&self) -> f64 {
        self.history.last().map_or(f64::NAN, |r| r.rmse)
    }
}
