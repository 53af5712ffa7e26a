//! Learned FISTA (Moreau & Bruna 2017): the FISTA recursion unrolled with learned matrices.

use faer::{Accum, Mat, MatRef, Par};
use sparse_core::{check, Dictionary, LinearOperator};

use super::train::{
    block, block_mut, gemm, lasso_loss, margin, soft_rows, soft_rows_backward, Net,
};
use super::{fista_momenta, push_block, EpochReport, ParamBlock, ParamKind, Training};
use crate::error::{invalid, Result};

/// Learned FISTA (L-FISTA; Moreau & Bruna, *Understanding trainable sparse coding via matrix
/// factorization*, ICLR 2017, and their `AdaptiveOptim` code): `T` unrolled FISTA iterations
/// (Beck & Teboulle 2009) whose matrices are learned, one set per layer:
///
/// `z_{t+1} = S_theta_t(W_e^t y + W_g^t x_t)`, `x_{t+1} = z_{t+1} + W_m^t (z_{t+1} - z_t)`,
/// with `z_0 = x_0 = 0` (so layer 0 has no `W_g` and the last layer no `W_m`).
///
/// Initialised at FISTA without restart (`W_e = D^T / L`, `W_g = I - D^T D / L`,
/// `theta = lambda / L`, `W_m^t = beta_{t+1} I` with the momenta `beta_k = (t_k - 1)/t_{k+1}`),
/// where it computes exactly `T` FISTA iterations; trained like [`Lista`](super::Lista) (the
/// thresholds are kept non-negative).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `layers` | (required) | number of layers `T >= 1` |
/// | `lambda` | (required) | Lasso penalty `lambda >= 0` |
/// | `training` | [`Training::default`] | epochs 20, batch 100, Adam at 1e-3, seed 0 |
#[derive(Debug, Clone, PartialEq)]
pub struct LFista {
    /// Number of layers.
    pub layers: usize,
    /// Lasso penalty of the objective.
    pub lambda: f64,
    /// How to train.
    pub training: Training,
}

impl LFista {
    /// Learned FISTA with `layers` layers for the penalty `lambda`, defaults of the table.
    pub fn new(layers: usize, lambda: f64) -> Self {
        Self {
            layers,
            lambda,
            training: Training::default(),
        }
    }

    training_setters!();

    /// The untrained network: `layers` iterations of FISTA (no restart) on `d`.
    pub fn init(&self, d: &Dictionary) -> Result<TrainedLFista> {
        check::count("layers", self.layers, usize::MAX)?;
        check::non_negative("lambda", self.lambda)?;
        let l = d.lipschitz();
        check::positive("lipschitz", l)?;
        let net = TrainedLFista {
            d: d.clone(),
            lambda: self.lambda,
            lipschitz: l,
            layers: 0,
            params: Vec::new(),
            blocks: Vec::new(),
            sets: Vec::new(),
            par: self.training.par,
        };
        net.deepen(self.layers)
    }

    /// Trains a network from its FISTA initialisation on the columns of `y_train`;
    /// `observer` receives an [`EpochReport`] after every epoch.
    pub fn fit(
        &self,
        d: &Dictionary,
        y_train: MatRef<'_, f64>,
        mut observer: impl FnMut(&EpochReport),
    ) -> Result<TrainedLFista> {
        self.training.validate()?;
        let mut net = self.init(d)?;
        net.train(y_train, &self.training, &mut observer)?;
        Ok(net)
    }
}

/// Offsets of the parameters of one layer.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Set {
    we: usize,
    wg: Option<usize>,
    theta: usize,
    wm: Option<usize>,
}

/// A learned-FISTA network (see [`LFista`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedLFista {
    d: Dictionary,
    lambda: f64,
    lipschitz: f64,
    layers: usize,
    params: Vec<f64>,
    blocks: Vec<ParamBlock>,
    sets: Vec<Set>,
    par: Par,
}

/// What the backward pass needs from layer `t`: its pre-activation, its input `x_t`, and
/// `z_{t+1} - z_t` when the layer has a momentum matrix.
struct Saved {
    c: Mat<f64>,
    x: Mat<f64>,
    dz: Mat<f64>,
}

impl TrainedLFista {
    fn identity_block(&mut self, kind: ParamKind, layer: usize, diag: f64, minus: f64) -> usize {
        let k = self.d.n_atoms();
        let off = push_block(&mut self.blocks, kind, layer, k, k);
        let g = (minus != 0.0).then(|| self.d.gram());
        self.params.extend((0..k).flat_map(|j| {
            let g = g.as_ref();
            (0..k).map(move |i| {
                let id = if i == j { diag } else { 0.0 };
                id - g.map_or(0.0, |g| minus * g[(i, j)])
            })
        }));
        off
    }

    /// The layout of the flat parameter vector, in order of creation: `W_e`, `W_g` (from layer
    /// 1), `theta` of every layer, and `W_m` of every layer but the last.
    pub fn blocks(&self) -> &[ParamBlock] {
        &self.blocks
    }

    /// The network with `layers >= self.layers()` layers: the trained ones followed by
    /// FISTA-initialised ones (the old last layer gets the FISTA momentum matrix).
    pub fn deepen(&self, layers: usize) -> Result<TrainedLFista> {
        if layers < self.layers {
            return Err(invalid(
                "layers",
                layers,
                format!("at least the current {} layers", self.layers),
            ));
        }
        let mut net = self.clone();
        let (n, k) = (self.d.signal_len(), self.d.n_atoms());
        let l = self.lipschitz;
        let betas = fista_momenta(layers);
        let dm = self.d.matrix();
        for t in self.layers..layers {
            if t > 0 {
                let wm = net.identity_block(ParamKind::Wm, t - 1, betas[t - 1], 0.0);
                net.sets[t - 1].wm = Some(wm);
            }
            let we = push_block(&mut net.blocks, ParamKind::We, t, k, n);
            net.params
                .extend((0..n).flat_map(|j| (0..k).map(move |i| dm[(j, i)] / l)));
            let wg = (t > 0).then(|| net.identity_block(ParamKind::Wg, t, 1.0, 1.0 / l));
            let theta = push_block(&mut net.blocks, ParamKind::Theta, t, k, 1);
            net.params.extend(std::iter::repeat_n(self.lambda / l, k));
            net.sets.push(Set {
                we,
                wg,
                theta,
                wm: None,
            });
        }
        net.layers = layers;
        Ok(net)
    }

    fn run(&self, y: MatRef<'_, f64>, par: Par, mut trace: Option<&mut Vec<Saved>>) -> Mat<f64> {
        let (n, k, b) = (self.d.signal_len(), self.d.n_atoms(), y.ncols());
        let p = &self.params;
        let mut z = Mat::<f64>::zeros(k, b);
        let mut x = Mat::<f64>::zeros(k, b);
        for (t, s) in self.sets.iter().enumerate() {
            let mut c = Mat::<f64>::zeros(k, b);
            gemm(
                c.as_mut(),
                Accum::Replace,
                block(p, s.we, k, n),
                y,
                1.0,
                par,
            );
            if let (true, Some(wg)) = (t > 0, s.wg) {
                gemm(
                    c.as_mut(),
                    Accum::Add,
                    block(p, wg, k, k),
                    x.as_ref(),
                    1.0,
                    par,
                );
            }
            let mut zn = Mat::<f64>::zeros(k, b);
            soft_rows(c.as_ref(), &p[s.theta..s.theta + k], zn.as_mut());
            let (xn, dz) = match s.wm {
                Some(wm) => {
                    let dz = &zn - &z;
                    let mut xn = zn.clone();
                    gemm(
                        xn.as_mut(),
                        Accum::Add,
                        block(p, wm, k, k),
                        dz.as_ref(),
                        1.0,
                        par,
                    );
                    (xn, dz)
                }
                None => (Mat::zeros(0, 0), Mat::zeros(0, 0)),
            };
            z = zn;
            let xin = std::mem::replace(&mut x, xn);
            if let Some(tr) = trace.as_deref_mut() {
                tr.push(Saved { c, x: xin, dz });
            }
        }
        z
    }

    /// The smallest distance of a pre-activation to a kink of its soft threshold (see
    /// [`TrainedLista::kink_margin`](super::TrainedLista::kink_margin)).
    pub fn kink_margin(&self, y: MatRef<'_, f64>) -> Result<f64> {
        self.check_input(y)?;
        let mut tr = Vec::new();
        self.run(y, self.par, Some(&mut tr));
        let k = self.d.n_atoms();
        Ok(self
            .sets
            .iter()
            .zip(&tr)
            .map(|(s, sv)| margin(sv.c.as_ref(), &self.params[s.theta..s.theta + k]))
            .fold(f64::INFINITY, f64::min))
    }
}

unfolded_lasso_api!(TrainedLFista);

impl Net for TrainedLFista {
    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    /// Keeps the thresholds non-negative (a negative threshold would expand, not shrink).
    fn retract(&mut self) {
        let k = self.d.n_atoms();
        for s in &self.sets {
            for t in &mut self.params[s.theta..s.theta + k] {
                *t = t.max(0.0);
            }
        }
    }

    fn loss_sum(&self, y: MatRef<'_, f64>, par: Par) -> f64 {
        let z = self.run(y, par, None);
        lasso_loss(self.d.matrix(), y, z.as_ref(), self.lambda, None, par)
    }

    fn loss_grad(&self, y: MatRef<'_, f64>, grad: &mut [f64], par: Par) -> f64 {
        let (n, k, b) = (self.d.signal_len(), self.d.n_atoms(), y.ncols());
        let scale = 1.0 / b as f64;
        let mut tr = Vec::with_capacity(self.layers);
        let zt = self.run(y, par, Some(&mut tr));
        let mut gz = Mat::<f64>::zeros(k, b);
        let loss = lasso_loss(
            self.d.matrix(),
            y,
            zt.as_ref(),
            self.lambda,
            Some((gz.as_mut(), scale)),
            par,
        ) * scale;
        let ones = vec![1.0; k];
        let p = &self.params;
        // q_{t+1} = W_m^{t T} dL/dx_{t+1}, whose negative is the gradient of z_t through x_{t+1}.
        let mut prev_q: Option<Mat<f64>> = None;
        for t in (0..self.layers).rev() {
            let s = self.sets[t];
            let sv = &tr[t];
            soft_rows_backward(
                sv.c.as_ref(),
                &p[s.theta..s.theta + k],
                gz.as_mut(),
                &mut grad[s.theta..s.theta + k],
                &ones,
            );
            let dc = &gz;
            gemm(
                block_mut(grad, s.we, k, n),
                Accum::Add,
                dc.as_ref(),
                y.transpose(),
                1.0,
                par,
            );
            let Some(wg) = s.wg else { break };
            gemm(
                block_mut(grad, wg, k, k),
                Accum::Add,
                dc.as_ref(),
                sv.x.transpose(),
                1.0,
                par,
            );
            let mut gx = Mat::<f64>::zeros(k, b);
            gemm(
                gx.as_mut(),
                Accum::Replace,
                block(p, wg, k, k).transpose(),
                dc.as_ref(),
                1.0,
                par,
            );
            // x_t = z_t + W_m^{t-1} (z_t - z_{t-1}).
            let wm = self.sets[t - 1]
                .wm
                .expect("every layer but the last has W_m");
            let dz = tr[t - 1].dz.as_ref();
            gemm(
                block_mut(grad, wm, k, k),
                Accum::Add,
                gx.as_ref(),
                dz.transpose(),
                1.0,
                par,
            );
            let mut q = Mat::<f64>::zeros(k, b);
            gemm(
                q.as_mut(),
                Accum::Replace,
                block(p, wm, k, k).transpose(),
                gx.as_ref(),
                1.0,
                par,
            );
            let mut g_new = &gx + &q;
            if let Some(pq) = &prev_q {
                g_new -= pq;
            }
            gz = g_new;
            prev_q = Some(q);
        }
        loss
    }
}
