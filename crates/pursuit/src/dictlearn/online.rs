//! Online dictionary learning (Mairal, Bach, Ponce & Sapiro 2010), with mergeable sufficient
//! statistics and a streaming `partial_fit`.

use std::ops::Add;

use faer::{Mat, MatRef};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use sparse_core::{check, generate, Dictionary};

use super::codes::{col_sq_norms, CodesExt, Replacer, SparseCodes};
use super::{learn_option_setters, IterationReport, LearnOptions, LearnedDictionary};
use crate::error::{invalid, Error, Result};
use crate::Stop;

/// The sufficient statistics of online dictionary learning: `A = sum x x^T` (`m x m`) and
/// `B = sum y x^T` (`n x m`) over the signals `y` seen so far and their codes `x` (Mairal et al.
/// 2010), possibly down-weighted by a forgetting factor.
///
/// Statistics of disjoint batches *add up*: `stats(Y1) + stats(Y2) = stats([Y1, Y2])`, so several
/// workers can code their own data with the same dictionary and merge their statistics
/// ([`merge`](Self::merge) or `+`) before one dictionary update.
#[derive(Debug, Clone, PartialEq)]
pub struct SufficientStats {
    /// `A = sum x x^T` (`n_atoms x n_atoms`).
    pub a: Mat<f64>,
    /// `B = sum y x^T` (`signal_len x n_atoms`).
    pub b: Mat<f64>,
    /// Total (forgetting-weighted) number of signals accumulated.
    pub weight: f64,
}

impl SufficientStats {
    /// Empty statistics for signals of length `signal_len` and `n_atoms` atoms.
    pub fn zeros(signal_len: usize, n_atoms: usize) -> Self {
        Self {
            a: Mat::zeros(n_atoms, n_atoms),
            b: Mat::zeros(signal_len, n_atoms),
            weight: 0.0,
        }
    }

    /// The statistics of signals `y` (`n x N`) with codes `codes` (`m x N`).
    pub fn from_codes(y: MatRef<'_, f64>, codes: MatRef<'_, f64>) -> Result<Self> {
        let mut s = Self::zeros(y.nrows(), codes.nrows());
        s.accumulate(y, codes)?;
        Ok(s)
    }

    /// Signal length `n`.
    pub fn signal_len(&self) -> usize {
        self.b.nrows()
    }

    /// Number of atoms `m`.
    pub fn n_atoms(&self) -> usize {
        self.a.nrows()
    }

    /// Adds the signals `y` (`n x N`) with codes `codes` (`m x N`): `A += X X^T`, `B += Y X^T`.
    pub fn accumulate(&mut self, y: MatRef<'_, f64>, codes: MatRef<'_, f64>) -> Result<()> {
        check::batch("y", y, self.signal_len())?;
        check::shape("codes", codes, self.n_atoms(), y.ncols())?;
        check::finite("codes", codes)?;
        self.accumulate_sparse(y, &SparseCodes::from_dense(codes));
        Ok(())
    }

    pub(crate) fn accumulate_sparse(&mut self, y: MatRef<'_, f64>, codes: &SparseCodes) {
        codes.accumulate_stats(y, &mut self.a, &mut self.b);
        self.weight += codes.ncols() as f64;
    }

    /// Multiplies the statistics by `beta` in `[0, 1]` (forgetting the past).
    pub fn scale(&mut self, beta: f64) -> Result<()> {
        check::in_range("beta", beta, 0.0, 1.0)?;
        self.a *= faer::Scale(beta);
        self.b *= faer::Scale(beta);
        self.weight *= beta;
        Ok(())
    }

    /// Adds another worker's statistics (same signal length and number of atoms).
    pub fn merge(&mut self, other: &SufficientStats) -> Result<()> {
        check::shape("other.a", other.a.as_ref(), self.n_atoms(), self.n_atoms())?;
        check::shape(
            "other.b",
            other.b.as_ref(),
            self.signal_len(),
            self.n_atoms(),
        )?;
        self.a += &other.a;
        self.b += &other.b;
        self.weight += other.weight;
        Ok(())
    }
}

/// `s1 + s2` merges statistics; the result is `Err` when the shapes differ.
impl Add for SufficientStats {
    type Output = Result<SufficientStats>;
    fn add(mut self, rhs: SufficientStats) -> Self::Output {
        self.merge(&rhs)?;
        Ok(self)
    }
}

/// `s1 + &s2` merges statistics; the result is `Err` when the shapes differ.
impl Add<&SufficientStats> for SufficientStats {
    type Output = Result<SufficientStats>;
    fn add(mut self, rhs: &SufficientStats) -> Self::Output {
        self.merge(rhs)?;
        Ok(self)
    }
}

/// How the statistics of past mini-batches are down-weighted before a new one is added
/// (`A_t = beta_t A_{t-1} + sum x x^T`, same for `B`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Forgetting {
    /// `beta = 1`: plain sums, every signal weighs the same.
    None,
    /// The mini-batch rule of Mairal et al. (2010): with `eta` signals per batch and step `t`
    /// (from 1), `theta = t eta` if `t < eta`, else `eta^2 + t - eta`, and
    /// `beta = (theta + 1 - eta) / (theta + 1)` (scikit-learn's choice as well).
    #[default]
    MiniBatch,
    /// "Scaling the past data" of Mairal et al. (2010): `beta_t = (1 - 1/t)^rho`, `rho >= 0`.
    Power(f64),
}

impl Forgetting {
    /// The factor `beta_t` for step `t >= 1` with `eta` signals in the batch.
    pub fn beta(&self, t: usize, eta: usize) -> f64 {
        match *self {
            Forgetting::None => 1.0,
            Forgetting::MiniBatch => {
                let (t, eta) = (t as f64, eta as f64);
                let theta = if t < eta {
                    t * eta
                } else {
                    eta * eta + t - eta
                };
                ((theta + 1.0 - eta) / (theta + 1.0)).clamp(0.0, 1.0)
            }
            Forgetting::Power(rho) => (1.0 - 1.0 / t.max(1) as f64).powf(rho),
        }
    }
}

/// Online dictionary learning (Mairal, Bach, Ponce & Sapiro, "Online learning for matrix
/// factorization and sparse coding", JMLR 2010).
///
/// Signals arrive in mini-batches; each batch is sparse-coded with the current dictionary, its
/// statistics are added to `A = sum x x^T`, `B = sum y x^T` (after the forgetting factor), and
/// the dictionary is updated by block-coordinate descent on the surrogate
/// `1/2 Tr(D^T D A) - Tr(D^T B)`, warm-started at the current atoms:
/// `u_j = (b_j - D a_j) / A_jj + d_j`, `d_j = u_j / ||u_j||` (the exact block minimiser on the
/// unit sphere; the paper projects on the unit ball, which almost always ends on the sphere).
/// Memory is `O(m^2 + n m)` whatever the number of signals, so data larger than memory is
/// streamed through [`OnlineLearner::partial_fit`].
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `options` | [`LearnOptions::new`] | shared options; `iterations` = epochs of [`fit`](Self::fit) |
/// | `batch_size` | 256 | signals per mini-batch in [`fit`](Self::fit) |
/// | `forgetting` | [`Forgetting::MiniBatch`] | down-weighting of past statistics |
/// | `sweeps` | 1 | block-coordinate passes over the atoms per mini-batch |
///
/// The paper codes with the Lasso (LARS); any [`SparseCoder`](crate::SparseCoder) plugs in here
/// (Batch-OMP by default). Atoms that no signal has used yet (`A_jj = 0`) and near-duplicates are
/// replaced by the worst-represented signals of the current mini-batch, and their statistics
/// reset ("purging the dictionary from unused atoms" in the paper); `min_usage` is not used.
#[derive(Debug, Clone)]
pub struct OnlineDictLearning {
    /// Shared options.
    pub options: LearnOptions,
    /// Signals per mini-batch in [`fit`](Self::fit).
    pub batch_size: usize,
    /// Down-weighting of past statistics.
    pub forgetting: Forgetting,
    /// Block-coordinate passes per mini-batch.
    pub sweeps: usize,
}

learn_option_setters!(OnlineDictLearning);

impl OnlineDictLearning {
    /// Online learning with `n_atoms` atoms, Batch-OMP with the rule `stop`, and the defaults.
    pub fn new(n_atoms: usize, stop: Stop) -> Self {
        Self::with_options(LearnOptions::new(n_atoms, stop))
    }

    /// Online learning with the given shared options.
    pub fn with_options(options: LearnOptions) -> Self {
        Self {
            options,
            batch_size: 256,
            forgetting: Forgetting::MiniBatch,
            sweeps: 1,
        }
    }

    sparse_core::setters! {
        /// Sets the mini-batch size.
        batch_size: usize,
        /// Sets the forgetting rule.
        forgetting: Forgetting,
        /// Sets the block-coordinate passes per mini-batch.
        sweeps: usize,
    }

    fn validate_scalars(&self) -> Result<()> {
        self.options.validate_scalars()?;
        check::count("batch_size", self.batch_size, usize::MAX)?;
        check::count("sweeps", self.sweeps, usize::MAX)?;
        if let Forgetting::Power(rho) = self.forgetting {
            check::non_negative("rho", rho)?;
        }
        Ok(())
    }

    /// A streaming learner: feed it mini-batches with [`OnlineLearner::partial_fit`].
    pub fn learner(&self) -> Result<OnlineLearner> {
        self.validate_scalars()?;
        Ok(OnlineLearner {
            config: self.clone(),
            d: None,
            stats: None,
            step: 0,
            rng: generate::rng(self.options.seed),
        })
    }

    /// Learns a dictionary from the columns of `y` (`n x N`): `iterations` epochs, each over the
    /// signals in a fresh random order, in mini-batches of `batch_size`. The codes returned are
    /// those of every signal over the final dictionary; each report aggregates the epoch's
    /// mini-batches (errors measured before each batch's update).
    /// `f32` signals are coded in `f32` ([`TrainingScalar`](super::TrainingScalar)).
    pub fn fit<T: super::TrainingScalar>(&self, y: MatRef<'_, T>) -> Result<LearnedDictionary> {
        self.fit_observed(y, |_| {})
    }

    /// [`fit`](Self::fit), calling `observer` after every epoch. Signals of extreme magnitude
    /// are learned at unit size and scaled back ([`super::fit_at_safe_magnitude`]).
    pub fn fit_observed<T: super::TrainingScalar>(
        &self,
        y: MatRef<'_, T>,
        mut observer: impl FnMut(&IterationReport),
    ) -> Result<LearnedDictionary> {
        super::fit_at_safe_magnitude(&self.options, y, &mut observer, |o, y, observer| {
            OnlineDictLearning {
                options: o.clone(),
                ..self.clone()
            }
            .fit_unscaled(y, observer)
        })
    }

    /// [`fit_observed`](Self::fit_observed) on validated signals of safe magnitude.
    fn fit_unscaled(
        &self,
        y: MatRef<'_, f64>,
        observer: &mut dyn FnMut(&IterationReport),
    ) -> Result<LearnedDictionary> {
        let mut learner = self.learner()?;
        let (n, total) = (y.nrows(), y.ncols());
        let mut order: Vec<usize> = (0..total).collect();
        let mut history = Vec::with_capacity(self.options.iterations);
        for epoch in 1..=self.options.iterations {
            order.shuffle(&mut learner.rng);
            let (mut sse, mut nnz, mut replaced) = (0.0, 0.0, 0);
            for chunk in order.chunks(self.batch_size) {
                let batch = Mat::<f64>::from_fn(n, chunk.len(), |i, c| y[(i, chunk[c])]);
                let rep = learner.partial_fit(batch.as_ref())?;
                sse += rep.rmse * rep.rmse * (n * chunk.len()) as f64;
                nnz += rep.mean_sparsity * chunk.len() as f64;
                replaced += rep.replaced_atoms;
            }
            let report = IterationReport {
                iteration: epoch,
                rmse: (sse / (n * total) as f64).sqrt(),
                mean_sparsity: nnz / total as f64,
                replaced_atoms: replaced,
            };
            observer(&report);
            history.push(report);
        }
        let d = learner.d.as_ref().ok_or_else(|| {
            invalid::<Error>("y", "no mini-batch", "at least one signal to learn from")
        })?;
        let dictionary = Dictionary::from_matrix(d.as_ref())?;
        let codes = super::codes::code_stage(&self.options, d, y, None)?;
        Ok(LearnedDictionary {
            dictionary,
            codes,
            history,
        })
    }
}

/// The state of a streaming online learner: dictionary, statistics and step count. Created by
/// [`OnlineDictLearning::learner`]; the dictionary is initialised from the first mini-batch.
#[derive(Debug, Clone)]
pub struct OnlineLearner {
    config: OnlineDictLearning,
    d: Option<Mat<f64>>,
    stats: Option<SufficientStats>,
    step: usize,
    rng: StdRng,
}

impl OnlineLearner {
    /// The current dictionary (`None` before the first mini-batch).
    pub fn dictionary(&self) -> Option<Dictionary> {
        self.d
            .as_ref()
            .and_then(|d| Dictionary::from_matrix(d.as_ref()).ok())
    }

    /// The current statistics (`None` before the first mini-batch).
    pub fn stats(&self) -> Option<&SufficientStats> {
        self.stats.as_ref()
    }

    /// Mini-batch steps taken so far.
    pub fn steps(&self) -> usize {
        self.step
    }

    /// The current atoms exactly as the learner holds them (`n x m`; `None` before the first
    /// mini-batch): the state [`resume`](Self::resume) takes. [`dictionary`](Self::dictionary)
    /// renormalises them, which can change the last bit.
    pub fn atoms(&self) -> Option<MatRef<'_, f64>> {
        self.d.as_ref().map(|d| d.as_ref())
    }

    /// A learner that continues from a saved state: the atoms `d` (`n x m`, unit norm to
    /// `1e-6`), the statistics `stats` and the step count `steps` of an earlier learner with the
    /// same `config` (as [`atoms`](Self::atoms), [`stats`](Self::stats) and
    /// [`steps`](Self::steps) return them). The next [`partial_fit`](Self::partial_fit) then
    /// does exactly what the earlier learner's would have done, bit for bit (the random
    /// generator is used only to initialise the dictionary). Errors on shapes that differ from
    /// `config`'s atom count or from each other, non-finite entries, atoms that are not unit
    /// vectors, or a negative weight.
    pub fn resume(
        config: &OnlineDictLearning,
        d: MatRef<'_, f64>,
        stats: SufficientStats,
        steps: usize,
    ) -> Result<Self> {
        config.validate_scalars()?;
        check::non_empty("d", d)?;
        check::finite("d", d)?;
        let (n, m) = (d.nrows(), d.ncols());
        if let Some(j) = (0..m).find(|&j| (d.col(j).norm_l2() - 1.0).abs() > 1e-6) {
            return Err(invalid(
                "d",
                format!("atom {j} of norm {}", d.col(j).norm_l2()),
                "unit-norm atoms (the learner's own, from atoms())",
            ));
        }
        if m != config.options.n_atoms {
            return Err(crate::error::shape_mismatch(
                "d",
                format!("{} atoms (n_atoms)", config.options.n_atoms),
                format!("{m}"),
            ));
        }
        check::shape("stats.a", stats.a.as_ref(), m, m)?;
        check::shape("stats.b", stats.b.as_ref(), n, m)?;
        check::finite("stats.a", stats.a.as_ref())?;
        check::finite("stats.b", stats.b.as_ref())?;
        check::non_negative("stats.weight", stats.weight)?;
        Ok(OnlineLearner {
            config: config.clone(),
            d: Some(d.to_owned()),
            stats: Some(stats),
            step: steps,
            rng: generate::rng(config.options.seed),
        })
    }

    /// One online step on the mini-batch `batch` (`n x b`): code it with the current dictionary,
    /// forget, add its statistics, update the dictionary. Returns the batch's report (error of
    /// its codes before the update). The same as [`initialize`](Self::initialize), then
    /// [`apply`](Self::apply) of [`batch_stats`](Self::batch_stats).
    pub fn partial_fit(&mut self, batch: MatRef<'_, f64>) -> Result<IterationReport> {
        self.initialize(batch)?;
        let stats = self.batch_stats(batch)?;
        self.apply(&stats)
    }

    /// Draws the first dictionary from `batch` (as the first [`partial_fit`](Self::partial_fit)
    /// does) when the learner has none yet; returns whether it did. A distributed learner calls
    /// it with its first mini-batch (or any sample) before computing [`batch_stats`]
    /// (Self::batch_stats) elsewhere.
    pub fn initialize(&mut self, batch: MatRef<'_, f64>) -> Result<bool> {
        self.validate_batch(batch)?;
        if self.d.is_some() {
            return Ok(false);
        }
        let d = self
            .config
            .options
            .initial_dictionary(batch, &mut self.rng)?;
        self.stats = Some(SufficientStats::zeros(d.nrows(), d.ncols()));
        self.d = Some(d);
        Ok(true)
    }

    /// Checks a mini-batch: non-empty, finite, of the dictionary's signal length, and of a
    /// magnitude whose statistics cannot overflow.
    fn validate_batch(&self, batch: MatRef<'_, f64>) -> Result<()> {
        check::non_empty("batch", batch)?;
        if let Some(d) = &self.d {
            check::nrows("batch", batch, d.nrows())?;
        }
        check::finite("batch", batch)?;
        // The statistics accumulate across batches at one scale, so a batch cannot be
        // rescaled on its own (`fit` rescales the whole training set instead).
        use sparse_core::solve::{magnitude_scale, SAFE_EXPONENT};
        let linf = (0..batch.ncols())
            .flat_map(|j| batch.col(j).iter().copied())
            .fold(0.0f64, |m, v| m.max(v.abs()));
        if magnitude_scale(linf, SAFE_EXPONENT) != 1.0 {
            return Err(invalid(
                "batch",
                format!("signals of magnitude up to {linf:e}"),
                format!(
                    "entries within 2^-{SAFE_EXPONENT} ..= 2^{SAFE_EXPONENT} (the statistics \
                     A = sum x x^T overflow; divide every batch by one power of two)"
                ),
            ));
        }
        Ok(())
    }

    /// What the signals `batch` (`n x b`, a whole mini-batch or one worker's part of it)
    /// contribute to the next step, with the current dictionary: their codes' statistics, error
    /// and replacement candidates. Read-only, so any number of workers holding a copy of the
    /// learner (or of [`atoms`](Self::atoms), via [`resume`](Self::resume)) compute their parts
    /// independently; [`MiniBatchStats::merge`] joins the parts in mini-batch order and
    /// [`apply`](Self::apply) takes the step, exactly the step [`partial_fit`]
    /// (Self::partial_fit) takes on the whole mini-batch up to the summation order of `A` and
    /// `B`. Errors before the first dictionary ([`initialize`](Self::initialize)).
    pub fn batch_stats(&self, batch: MatRef<'_, f64>) -> Result<MiniBatchStats> {
        self.validate_batch(batch)?;
        let o = &self.config.options;
        let Some(d) = &self.d else {
            return Err(invalid(
                "batch",
                "statistics before the first dictionary",
                "a learner initialised by initialize, partial_fit or resume",
            ));
        };
        let dict = Dictionary::from_matrix(d.as_ref())?;
        let x = o.coder.solve(&dict, batch, o.par)?.codes;
        check::shape("codes", x.as_ref(), dict.n_atoms(), batch.ncols())?;
        check::finite("codes", x.as_ref())?;
        let codes = SparseCodes::from_dense(x.as_ref());
        let d = dict.matrix();
        let r = codes.residual(d, batch, o.par);
        let mut stats = SufficientStats::zeros(d.nrows(), d.ncols());
        stats.accumulate_sparse(batch, &codes);
        Ok(MiniBatchStats {
            stats,
            count: batch.ncols(),
            squared_error: r.squared_norm_l2(),
            nonzeros: codes.nnz(),
            candidates: Candidates::worst(batch, &col_sq_norms(r.as_ref()), d.ncols()),
        })
    }

    /// The step of a mini-batch from its merged [`MiniBatchStats`]: forget, add the statistics,
    /// update the dictionary, then replace unused and duplicate atoms by the candidates.
    /// Returns the mini-batch's report.
    pub fn apply(&mut self, batch: &MiniBatchStats) -> Result<IterationReport> {
        self.apply_stats(&batch.stats, batch.count)?;
        let replaced = self.purge_with(&batch.candidates);
        Ok(IterationReport {
            iteration: self.step,
            rmse: batch.rmse(),
            mean_sparsity: batch.nonzeros as f64 / batch.count as f64,
            replaced_atoms: replaced,
        })
    }

    /// One step from statistics computed elsewhere (e.g. merged from several workers that coded
    /// `eta` signals in total with [`dictionary`](Self::dictionary)): forget, add, update.
    /// Errors when the learner has no dictionary yet or the shapes differ.
    pub fn apply_stats(&mut self, stats: &SufficientStats, eta: usize) -> Result<()> {
        check::count("eta", eta, usize::MAX)?;
        let (Some(d), Some(own)) = (self.d.as_mut(), self.stats.as_mut()) else {
            return Err(invalid(
                "stats",
                "statistics before the first mini-batch",
                "a learner initialised by partial_fit",
            ));
        };
        self.step += 1;
        let beta = self.config.forgetting.beta(self.step, eta);
        let mut merged = own.clone();
        merged.scale(beta)?;
        merged.merge(stats)?;
        *own = merged;
        for _ in 0..self.config.sweeps {
            block_coordinate_update(d, own);
        }
        Ok(())
    }

    /// Whether [`purge_with`](Self::purge_with) would replace an atom now (one never used,
    /// `A_jj <= 0`, or a near-duplicate): a distributed learner fetches the candidates' signals
    /// from its workers only then.
    pub fn purge_pending(&self) -> bool {
        let (Some(d), Some(s)) = (self.d.as_ref(), self.stats.as_ref()) else {
            return false;
        };
        (0..d.ncols()).any(|j| self.needs_replacing(d, s, j))
    }

    /// Whether atom `j` is unused or a near-duplicate of another (per the options).
    fn needs_replacing(&self, d: &Mat<f64>, s: &SufficientStats, j: usize) -> bool {
        let o = &self.config.options;
        let unused = o.replace_unused && s.a[(j, j)] <= 0.0;
        let duplicate = o.replace_duplicates
            && !unused
            && (0..d.ncols())
                .any(|i| i != j && (d.col(i).transpose() * d.col(j)).abs() > o.duplicate_threshold);
        unused || duplicate
    }

    /// Replaces never-used and near-duplicate atoms by the candidates (worst-represented
    /// signals first), resetting their statistics; returns how many were replaced.
    pub fn purge_with(&mut self, candidates: &Candidates) -> usize {
        let (Some(mut d), Some(mut s)) = (self.d.take(), self.stats.take()) else {
            return 0;
        };
        let mut replacer = Replacer::new(candidates.signals.as_ref(), &candidates.errors);
        let mut count = 0;
        for j in 0..d.ncols() {
            if self.needs_replacing(&d, &s, j) && replacer.next_into(d.col_mut(j)) {
                s.a.row_mut(j).fill(0.0);
                s.a.col_mut(j).fill(0.0);
                s.b.col_mut(j).fill(0.0);
                count += 1;
            }
        }
        self.d = Some(d);
        self.stats = Some(s);
        count
    }
}

/// What one mini-batch, or one worker's part of it, contributes to an online step
/// ([`OnlineLearner::batch_stats`]); parts [`merge`](Self::merge) in mini-batch order into the
/// whole batch's, which [`OnlineLearner::apply`] turns into the step. Only this travels between
/// workers: `A` (`m x m`), `B` (`n x m`) and at most `m` candidate signals, whatever the
/// number of signals coded (Mairal, Bach, Ponce & Sapiro 2010, Sec. 3.4 on mini-batches).
#[derive(Debug, Clone, PartialEq)]
pub struct MiniBatchStats {
    /// The part's own sums `A = sum x x^T`, `B = sum y x^T` (not forgotten; weight = count).
    pub stats: SufficientStats,
    /// Signals coded.
    pub count: usize,
    /// Sum of the squared residuals `||y - D x||^2` of their codes (before the update).
    pub squared_error: f64,
    /// Non-zero coefficients of their codes.
    pub nonzeros: usize,
    /// The worst-represented signals, the replacements for unused and duplicate atoms.
    pub candidates: Candidates,
}

impl MiniBatchStats {
    /// The root-mean-square residual of the signals' codes (before the update).
    pub fn rmse(&self) -> f64 {
        (self.squared_error / (self.stats.signal_len() * self.count) as f64).sqrt()
    }

    /// Appends the part `later`, which follows `self` in the mini-batch: sums add, and the
    /// candidates keep the `m` worst of both (positions of `later` shifted by `self.count`).
    /// Errors when the shapes differ.
    pub fn merge(&mut self, later: &MiniBatchStats) -> Result<()> {
        self.stats.merge(&later.stats)?;
        check::nrows(
            "later.candidates.signals",
            later.candidates.signals.as_ref(),
            self.stats.signal_len(),
        )?;
        self.candidates =
            self.candidates
                .merged(&later.candidates, self.count, self.stats.n_atoms());
        self.count += later.count;
        self.squared_error += later.squared_error;
        self.nonzeros += later.nonzeros;
        Ok(())
    }
}

/// Replacement candidates of a mini-batch: its worst-represented signals, largest squared
/// residual first (ties by position in the batch), at most one per atom, each with a positive
/// error and a positive norm.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidates {
    /// The signals (`n x c`), in candidate order.
    pub signals: Mat<f64>,
    /// Their squared residuals.
    pub errors: Vec<f64>,
    /// Their positions in the mini-batch.
    pub positions: Vec<usize>,
}

impl Candidates {
    /// No candidates, for signals of length `n`.
    pub fn none(n: usize) -> Self {
        Self {
            signals: Mat::zeros(n, 0),
            errors: Vec::new(),
            positions: Vec::new(),
        }
    }

    /// The `limit` worst of the signals `y` with squared residuals `err`.
    fn worst(y: MatRef<'_, f64>, err: &[f64], limit: usize) -> Self {
        let mut order: Vec<usize> = (0..y.ncols())
            .filter(|&j| {
                err[j] > 0.0 && {
                    let nrm = y.col(j).norm_l2();
                    nrm > 0.0 && nrm.is_finite()
                }
            })
            .collect();
        order.sort_by(|&a, &b| err[b].total_cmp(&err[a]).then(a.cmp(&b)));
        order.truncate(limit);
        Self {
            signals: Mat::from_fn(y.nrows(), order.len(), |i, c| y[(i, order[c])]),
            errors: order.iter().map(|&j| err[j]).collect(),
            positions: order,
        }
    }

    /// The `limit` worst of `self` and of `later` (whose positions are shifted by `offset`).
    fn merged(&self, later: &Candidates, offset: usize, limit: usize) -> Self {
        let n = self.signals.nrows();
        // (error, position, source, column)
        let mut all: Vec<(f64, usize, bool, usize)> = (0..self.errors.len())
            .map(|c| (self.errors[c], self.positions[c], false, c))
            .chain(
                (0..later.errors.len())
                    .map(|c| (later.errors[c], later.positions[c] + offset, true, c)),
            )
            .collect();
        all.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        all.truncate(limit);
        Self {
            signals: Mat::from_fn(n, all.len(), |i, c| {
                let (_, _, from_later, col) = all[c];
                if from_later {
                    later.signals[(i, col)]
                } else {
                    self.signals[(i, col)]
                }
            }),
            errors: all.iter().map(|e| e.0).collect(),
            positions: all.iter().map(|e| e.1).collect(),
        }
    }
}

/// One pass of block-coordinate descent over the atoms (Mairal et al. 2010, Alg. 2), projected
/// on the unit sphere.
fn block_coordinate_update(d: &mut Mat<f64>, s: &SufficientStats) {
    let (n, m) = (d.nrows(), d.ncols());
    let mut u = vec![0.0; n];
    for j in 0..m {
        let ajj = s.a[(j, j)];
        if ajj.is_nan() || ajj <= 0.0 {
            continue;
        }
        // u = (b_j - D a_j) / A_jj + d_j
        for (i, ui) in u.iter_mut().enumerate() {
            *ui = s.b[(i, j)];
        }
        for k in 0..m {
            let akj = s.a[(k, j)];
            if akj != 0.0 {
                for (ui, &dv) in u.iter_mut().zip(d.col_as_slice(k)) {
                    *ui -= akj * dv;
                }
            }
        }
        for (ui, &dv) in u.iter_mut().zip(d.col_as_slice(j)) {
            *ui = *ui / ajj + dv;
        }
        let nrm = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        if nrm > 0.0 && nrm.is_finite() {
            for (dv, &uv) in d.col_as_slice_mut(j).iter_mut().zip(&u) {
                *dv = uv / nrm;
            }
        }
    }
}
