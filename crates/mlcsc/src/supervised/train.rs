//! Training of the unfolded networks: mini-batch Adam or SGD with momentum on the softmax
//! cross-entropy, in float32 or float64, the mini-batch gradient split across threads, epoch by
//! epoch from a resumable [`TrainState`].

use faer::{MatRef, Par};
use pursuit::optim::Adam;
use rand::seq::SliceRandom;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sparse_core::check;

use super::engine::{Engine, Plan, Real, Work};
use super::net::{Precision, UnfoldedNet};
use crate::data::select_columns;
use crate::error::{invalid, mismatch, Result};

/// The optimiser of a [`SupervisedTraining`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Optimizer {
    /// Adam (Kingma & Ba 2015) with `beta1 = 0.9`, `beta2 = 0.999`, `eps = 1e-8`: the
    /// workspace's one [`pursuit::optim::Adam`] with its defaults.
    Adam,
    /// SGD with heavy-ball momentum and L2 weight decay, with PyTorch's conventions
    /// (`torch.optim.SGD`, dampening 0): `v <- momentum v + (g + weight_decay p)`,
    /// `p <- p - lr v`. The recipe of Sulam et al. 2019 is `momentum = 0.9`,
    /// `weight_decay = 1e-5`.
    Sgd {
        /// Momentum factor in `[0, 1)`.
        momentum: f64,
        /// L2 penalty factor `>= 0` applied to every parameter.
        weight_decay: f64,
    },
}

/// How the learning rate changes from epoch to epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum Schedule {
    /// Multiplied by this factor after every epoch.
    Exponential(f64),
    /// Multiplied by `gamma` every `every` epochs (PyTorch's `StepLR`): epochs `1..=every` use
    /// the initial rate.
    Step {
        /// Epochs between decays.
        every: usize,
        /// Factor in `(0, 1]`.
        gamma: f64,
    },
}

/// How an [`UnfoldedNet`] is trained: shuffled mini-batches of the mean cross-entropy; the
/// dictionaries, steps, biases and classifier are trained jointly; the steps `c_i` are kept
/// `>= 1e-6`. The shuffle of epoch `e` is drawn from `(seed, e)` alone, so a run resumed from a
/// [`TrainState`] sees the same batches as an uninterrupted one.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `epochs` | `30` | passes over the training set ([`fit`](Self::fit)) |
/// | `batch_size` | `64` | examples per gradient step |
/// | `learning_rate` | `2e-3` | step size at the first epoch |
/// | `schedule` | `Exponential(0.95)` | learning-rate schedule |
/// | `optimizer` | `Adam` | Adam or SGD with momentum and weight decay |
/// | `precision` | `F64` | float type of the forward and backward passes |
/// | `seed` | `0` | seed of the shuffling |
/// | `par` | `Par::rayon(0)` | split each mini-batch across threads |
///
/// The recipe of Sulam, Aberdam, Beck & Elad (2019) for MNIST:
///
/// ```
/// use mlcsc::supervised::{Optimizer, Precision, Schedule, SupervisedTraining};
/// let recipe = SupervisedTraining::default()
///     .epochs(100)
///     .batch_size(128)
///     .learning_rate(0.002)
///     .optimizer(Optimizer::Sgd { momentum: 0.9, weight_decay: 1e-5 })
///     .schedule(Schedule::Step { every: 30, gamma: 0.2 })
///     .precision(Precision::F32);
/// assert!((recipe.learning_rate_at(31) - 0.0004).abs() < 1e-15);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisedTraining {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Learning-rate schedule.
    pub schedule: Schedule,
    /// Optimiser.
    pub optimizer: Optimizer,
    /// Float type of the passes.
    pub precision: Precision,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Parallelism.
    pub par: Par,
}

/// What the observer of a training run receives after every epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EpochStats {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean mini-batch loss seen during the epoch.
    pub train_loss: f64,
    /// Fraction of training examples classified right when their batch was seen (with the
    /// parameters of that moment, as PyTorch loops report it).
    pub train_accuracy: f64,
    /// Learning rate used during the epoch.
    pub learning_rate: f64,
}

/// A training run between epochs: the network, the optimiser's moments and the number of
/// finished epochs. Serialisable (JSON), so a long schedule can stop and resume bit for bit.
/// Deserialising validates it: the network as [`UnfoldedNet`] does, and moments of one finite
/// entry per parameter (an error names `m1` or `m2`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TrainStateData")]
pub struct TrainState {
    /// Finished epochs.
    pub epoch: usize,
    /// Optimiser steps taken.
    pub steps: u64,
    /// The network after `epoch` epochs.
    pub net: UnfoldedNet,
    /// First moment (Adam) or velocity (SGD), canonical parameter layout.
    m1: Vec<f64>,
    /// Second moment (Adam; empty for SGD).
    m2: Vec<f64>,
}

/// The serialised fields of a [`TrainState`].
#[derive(Deserialize)]
struct TrainStateData {
    epoch: usize,
    steps: u64,
    net: UnfoldedNet,
    m1: Vec<f64>,
    m2: Vec<f64>,
}

impl TryFrom<TrainStateData> for TrainState {
    type Error = crate::Error;
    fn try_from(d: TrainStateData) -> Result<Self> {
        let np = d.net.params().len();
        for (name, m) in [("m1", &d.m1), ("m2", &d.m2)] {
            if m.len() != np {
                return Err(mismatch(
                    name,
                    format!("{np} entries (one per parameter)"),
                    format!("{} entries", m.len()),
                ));
            }
            check::finite_slice(name, m)?;
        }
        Ok(Self {
            epoch: d.epoch,
            steps: d.steps,
            net: d.net,
            m1: d.m1,
            m2: d.m2,
        })
    }
}

impl TrainState {
    /// A fresh run of `net`.
    pub fn new(net: UnfoldedNet) -> Self {
        let np = net.params().len();
        Self {
            epoch: 0,
            steps: 0,
            net,
            m1: vec![0.0; np],
            m2: vec![0.0; np],
        }
    }

    fn check(&self) -> Result<()> {
        let np = self.net.params().len();
        if self.m1.len() != np || self.m2.len() != np {
            return Err(mismatch(
                "state",
                format!("moments of {np} entries (one per parameter)"),
                format!("{} and {}", self.m1.len(), self.m2.len()),
            ));
        }
        check::finite_slice("state", self.net.params())?;
        Ok(())
    }
}

impl Default for SupervisedTraining {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 64,
            learning_rate: 2e-3,
            schedule: Schedule::Exponential(0.95),
            optimizer: Optimizer::Adam,
            precision: Precision::F64,
            seed: 0,
            par: Par::rayon(0),
        }
    }
}

impl SupervisedTraining {
    sparse_core::setters! {
        /// Sets `epochs`.
        epochs: usize,
        /// Sets `batch_size`.
        batch_size: usize,
        /// Sets `learning_rate`.
        learning_rate: f64,
    }
    /// Sets an exponential schedule: the rate times `lr_decay` after every epoch.
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        self.schedule = Schedule::Exponential(lr_decay);
        self
    }
    sparse_core::setters! {
        /// Sets `schedule`.
        schedule: Schedule,
        /// Sets `optimizer`.
        optimizer: Optimizer,
        /// Sets `precision`.
        precision: Precision,
        /// Sets `seed`.
        seed: u64,
        /// Sets `par`.
        par: Par,
    }

    fn validate(&self) -> Result<()> {
        check::count("batch_size", self.batch_size, usize::MAX)?;
        check::positive("learning_rate", self.learning_rate)?;
        match self.schedule {
            Schedule::Exponential(f) if !(f > 0.0 && f <= 1.0) => {
                return Err(invalid("lr_decay", f, "a number in (0, 1]"));
            }
            Schedule::Step { every, gamma } => {
                check::count("schedule.every", every, usize::MAX)?;
                if !(gamma > 0.0 && gamma <= 1.0) {
                    return Err(invalid("schedule.gamma", gamma, "a number in (0, 1]"));
                }
            }
            _ => {}
        }
        if let Optimizer::Sgd {
            momentum,
            weight_decay,
        } = self.optimizer
        {
            if !(0.0..1.0).contains(&momentum) {
                return Err(invalid("momentum", momentum, "a number in [0, 1)"));
            }
            if !(weight_decay >= 0.0 && weight_decay.is_finite()) {
                return Err(invalid(
                    "weight_decay",
                    weight_decay,
                    "a finite number >= 0",
                ));
            }
        }
        Ok(())
    }

    /// The learning rate of epoch `epoch` (from 1).
    pub fn learning_rate_at(&self, epoch: usize) -> f64 {
        let e = epoch.max(1) - 1;
        match self.schedule {
            Schedule::Exponential(f) => {
                self.learning_rate * f.powi(e.min(i32::MAX as usize) as i32)
            }
            Schedule::Step { every, gamma } => {
                let k = e / every.max(1);
                self.learning_rate * gamma.powi(k.min(i32::MAX as usize) as i32)
            }
        }
    }

    /// Trains `net` on the columns of `x` with `labels` for `epochs` epochs; `observer` sees the
    /// statistics and the network after every epoch (e.g. to measure test accuracy). Returns
    /// every epoch's stats.
    pub fn fit(
        &self,
        net: &mut UnfoldedNet,
        x: MatRef<'_, f64>,
        labels: &[usize],
        mut observer: impl FnMut(&EpochStats, &UnfoldedNet),
    ) -> Result<Vec<EpochStats>> {
        self.validate()?;
        net.check_labels(x, labels)?;
        let mut state = TrainState::new(net.clone());
        let mut stats = Vec::with_capacity(self.epochs);
        for _ in 0..self.epochs {
            let st = self.epoch(&mut state, x, labels)?;
            observer(&st, &state.net);
            stats.push(st);
        }
        *net = state.net;
        Ok(stats)
    }

    /// Runs epoch `state.epoch + 1` on the columns of `x` with `labels`, updating `state`.
    pub fn epoch(
        &self,
        state: &mut TrainState,
        x: MatRef<'_, f64>,
        labels: &[usize],
    ) -> Result<EpochStats> {
        self.validate()?;
        state.check()?;
        state.net.check_labels(x, labels)?;
        match self.precision {
            Precision::F32 => self.epoch_in::<f32>(state, x, labels),
            Precision::F64 => self.epoch_in::<f64>(state, x, labels),
        }
    }

    fn epoch_in<T: Real>(
        &self,
        state: &mut TrainState,
        x: MatRef<'_, f64>,
        labels: &[usize],
    ) -> Result<EpochStats> {
        let epoch = state.epoch + 1;
        let lr = self.learning_rate_at(epoch);
        let plan: Plan = state.net.plan();
        let np = plan.perm.len();
        let mut p64 = plan.params_in::<f64>(state.net.params());
        let mut m1 = plan.params_in::<f64>(&state.m1);
        let mut m2 = plan.params_in::<f64>(&state.m2);
        // Steps are scalars: the permutation keeps their offsets.
        let steps: Vec<usize> = plan.layers.iter().map(|l| l.c).collect();
        let threads = if self.par.degree() > 1 {
            rayon::current_num_threads().max(1)
        } else {
            1
        };
        let mut grads: Vec<Vec<T>> = vec![vec![T::ZERO; np]; threads];
        let mut works: Vec<Work<T>> = (0..threads).map(|_| Work::default()).collect();
        let mut g64 = vec![0.0; np];
        let n = x.ncols();
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = sparse_core::generate::rng(
            self.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        order.shuffle(&mut rng);
        let (mut loss_sum, mut batches, mut correct) = (0.0, 0usize, 0usize);
        let adam = Adam::default();
        for chunk in order.chunks(self.batch_size) {
            let b = chunk.len();
            let pt: Vec<T> = p64.iter().map(|&v| T::of(v)).collect();
            let eng = Engine {
                plan: &plan,
                p: &pt,
            };
            let parts = threads.min(b).max(1);
            let ranges: Vec<(usize, usize)> = (0..parts)
                .map(|i| (i * b / parts, (i + 1) * b / parts))
                .filter(|r| r.1 > r.0)
                .collect();
            let scale = 1.0 / b as f64;
            let results: Vec<(f64, usize)> = grads[..ranges.len()]
                .par_iter_mut()
                .zip(works[..ranges.len()].par_iter_mut())
                .zip(ranges.par_iter())
                .map(|((g, w), &(f, t))| {
                    g.iter_mut().for_each(|v| *v = T::ZERO);
                    let idx = &chunk[f..t];
                    let xb = plan.input_in::<T>(select_columns(x, idx).as_ref());
                    let lb: Vec<usize> = idx.iter().map(|&j| labels[j]).collect();
                    eng.backprop(&xb, &lb, scale, g, w)
                })
                .collect();
            g64.iter_mut().zip(&grads[0]).for_each(|(a, b)| *a = b.to());
            for g in &grads[1..ranges.len()] {
                g64.iter_mut().zip(g).for_each(|(a, b)| *a += b.to());
            }
            let loss: f64 = results.iter().map(|r| r.0).sum();
            correct += results.iter().map(|r| r.1).sum::<usize>();
            if !loss.is_finite() || !g64.iter().all(|g| g.is_finite()) {
                return Err(invalid(
                    "learning_rate",
                    self.learning_rate,
                    "a smaller step (the training diverged)",
                ));
            }
            loss_sum += loss;
            batches += 1;
            state.steps += 1;
            match self.optimizer {
                Optimizer::Adam => adam.step(state.steps, lr, &mut p64, &g64, &mut m1, &mut m2),
                Optimizer::Sgd {
                    momentum,
                    weight_decay,
                } => {
                    for i in 0..np {
                        let g = g64[i] + weight_decay * p64[i];
                        m1[i] = momentum * m1[i] + g;
                        p64[i] -= lr * m1[i];
                    }
                }
            }
            for &s in &steps {
                p64[s] = p64[s].max(1e-6);
            }
        }
        plan.params_out(&p64, state.net.params_mut());
        let mut c1 = vec![0.0; np];
        plan.params_out(&m1, &mut c1);
        state.m1 = c1;
        let mut c2 = vec![0.0; np];
        plan.params_out(&m2, &mut c2);
        state.m2 = c2;
        state.epoch = epoch;
        Ok(EpochStats {
            epoch,
            train_loss: loss_sum / batches.max(1) as f64,
            train_accuracy: correct as f64 / n.max(1) as f64,
            learning_rate: lr,
        })
    }
}
