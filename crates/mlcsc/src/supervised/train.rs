//! Training of the unfolded networks: mini-batch Adam on the softmax cross-entropy, with the
//! mini-batch gradient split across threads.

use faer::{MatRef, Par};
use rand::seq::SliceRandom;
use rayon::prelude::*;
use sparse_core::check;

use super::net::UnfoldedNet;
use crate::data::select_columns;
use crate::error::{invalid, Result};

/// How an [`UnfoldedNet`] is trained: Adam (Kingma & Ba 2015; `beta1 = 0.9`, `beta2 = 0.999`,
/// `eps = 1e-8`) on shuffled mini-batches of the mean cross-entropy, the learning rate multiplied
/// by `lr_decay` after every epoch. Dictionaries, steps, biases and classifier are trained
/// jointly; the steps `c_i` are kept positive.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `epochs` | `30` | passes over the training set |
/// | `batch_size` | `64` | examples per gradient step |
/// | `learning_rate` | `2e-3` | Adam's step size at the first epoch |
/// | `lr_decay` | `0.95` | learning-rate factor per epoch |
/// | `seed` | `0` | seed of the shuffling |
/// | `par` | `Par::rayon(0)` | split each mini-batch across threads |
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisedTraining {
    /// Passes over the training set.
    pub epochs: usize,
    /// Examples per mini-batch.
    pub batch_size: usize,
    /// Initial learning rate.
    pub learning_rate: f64,
    /// Learning-rate factor per epoch.
    pub lr_decay: f64,
    /// Seed of the shuffling.
    pub seed: u64,
    /// Parallelism.
    pub par: Par,
}

/// What the observer of a training run receives after every epoch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochStats {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean mini-batch loss seen during the epoch.
    pub train_loss: f64,
    /// Learning rate used during the epoch.
    pub learning_rate: f64,
}

impl Default for SupervisedTraining {
    fn default() -> Self {
        Self {
            epochs: 30,
            batch_size: 64,
            learning_rate: 2e-3,
            lr_decay: 0.95,
            seed: 0,
            par: Par::rayon(0),
        }
    }
}

impl SupervisedTraining {
    /// Sets `epochs`.
    pub fn epochs(mut self, epochs: usize) -> Self {
        self.epochs = epochs;
        self
    }
    /// Sets `batch_size`.
    pub fn batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size;
        self
    }
    /// Sets `learning_rate`.
    pub fn learning_rate(mut self, learning_rate: f64) -> Self {
        self.learning_rate = learning_rate;
        self
    }
    /// Sets `lr_decay`.
    pub fn lr_decay(mut self, lr_decay: f64) -> Self {
        self.lr_decay = lr_decay;
        self
    }
    /// Sets `seed`.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Sets `par`.
    pub fn par(mut self, par: Par) -> Self {
        self.par = par;
        self
    }

    fn validate(&self) -> Result<()> {
        check::count("batch_size", self.batch_size, usize::MAX)?;
        check::positive("learning_rate", self.learning_rate)?;
        if !(self.lr_decay > 0.0 && self.lr_decay <= 1.0) {
            return Err(invalid("lr_decay", self.lr_decay, "a number in (0, 1]"));
        }
        Ok(())
    }

    /// Trains `net` on the columns of `x` with `labels`; `observer` sees the statistics and the
    /// network after every epoch (e.g. to measure test accuracy). Returns every epoch's stats.
    pub fn fit(
        &self,
        net: &mut UnfoldedNet,
        x: MatRef<'_, f64>,
        labels: &[usize],
        mut observer: impl FnMut(&EpochStats, &UnfoldedNet),
    ) -> Result<Vec<EpochStats>> {
        self.validate()?;
        net.check_labels(x, labels)?;
        let n = x.ncols();
        let np = net.params().len();
        let threads = if self.par.degree() > 1 {
            rayon::current_num_threads().max(1)
        } else {
            1
        };
        let mut grads = vec![vec![0.0; np]; threads];
        let (mut m1, mut m2) = (vec![0.0; np], vec![0.0; np]);
        let (beta1, beta2, eps) = (0.9f64, 0.999f64, 1e-8);
        let mut t = 0i32;
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = sparse_core::generate::rng(self.seed);
        let mut lr = self.learning_rate;
        let mut stats = Vec::with_capacity(self.epochs);
        let steps: Vec<usize> = net.step_offsets();
        for epoch in 1..=self.epochs {
            order.shuffle(&mut rng);
            let (mut sum, mut count) = (0.0, 0usize);
            for chunk in order.chunks(self.batch_size) {
                let xb = select_columns(x, chunk);
                let lb: Vec<usize> = chunk.iter().map(|&j| labels[j]).collect();
                let loss = batch_grad(net, xb.as_ref(), &lb, &mut grads);
                if !loss.is_finite() || !grads[0].iter().all(|g| g.is_finite()) {
                    return Err(invalid(
                        "learning_rate",
                        self.learning_rate,
                        "a smaller step (the training diverged)",
                    ));
                }
                sum += loss;
                count += 1;
                t += 1;
                let (c1, c2) = (1.0 - beta1.powi(t), 1.0 - beta2.powi(t));
                let g = &grads[0];
                let p = net.params_mut();
                for i in 0..np {
                    m1[i] = beta1 * m1[i] + (1.0 - beta1) * g[i];
                    m2[i] = beta2 * m2[i] + (1.0 - beta2) * g[i] * g[i];
                    p[i] -= lr * (m1[i] / c1) / ((m2[i] / c2).sqrt() + eps);
                }
                for &s in &steps {
                    p[s] = p[s].max(1e-6);
                }
            }
            let st = EpochStats {
                epoch,
                train_loss: sum / count.max(1) as f64,
                learning_rate: lr,
            };
            observer(&st, net);
            stats.push(st);
            lr *= self.lr_decay;
        }
        Ok(stats)
    }
}

/// Mean loss of a mini-batch and its gradient (into `grads[0]`), the batch split across the
/// buffers of `grads`, one per thread.
fn batch_grad(
    net: &UnfoldedNet,
    x: MatRef<'_, f64>,
    labels: &[usize],
    grads: &mut [Vec<f64>],
) -> f64 {
    let b = x.ncols();
    let parts = grads.len().min(b).max(1);
    let ranges: Vec<(usize, usize)> = (0..parts)
        .map(|i| (i * b / parts, (i + 1) * b / parts - i * b / parts))
        .filter(|r| r.1 > 0)
        .collect();
    let losses: Vec<f64> = grads[..ranges.len()]
        .par_iter_mut()
        .zip(ranges.par_iter())
        .map(|(g, &(f, l))| {
            g.iter_mut().for_each(|v| *v = 0.0);
            let w = l as f64 / b as f64;
            let loss = net.backprop(x.subcols(f, l), &labels[f..f + l], g);
            g.iter_mut().for_each(|v| *v *= w);
            loss * w
        })
        .collect();
    let (first, rest) = grads.split_at_mut(1);
    for g in &rest[..ranges.len() - 1] {
        first[0].iter_mut().zip(g).for_each(|(a, b)| *a += b);
    }
    losses.iter().sum()
}
