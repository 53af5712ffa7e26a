//! LISTA, learned ISTA (Gregor & LeCun 2010).

use faer::{Accum, Mat, MatRef, Par};
use sparse_core::{check, Dictionary, LinearOperator};

use super::train::{
    block, block_mut, gemm, lasso_loss, margin, soft_rows, soft_rows_backward, Net,
};
use super::{push_block, EpochReport, ParamBlock, ParamKind, Training};
use crate::error::{invalid, Result};

/// LISTA: `T` unrolled ISTA iterations with learned weights (Gregor & LeCun, *Learning fast
/// approximations of sparse coding*, ICML 2010),
/// `z_{t+1} = S_theta(W_e y + W_g z_t)`, `z_0 = 0` (so the first layer is `S_theta(W_e y)`),
/// where `S_theta` soft-thresholds entry `i` at `theta_i`.
///
/// The network starts at ISTA (`W_e = D^T / L`, `W_g = I - D^T D / L`, `theta = lambda / L`
/// with `L = ||D||_2^2`), where it computes exactly `T` ISTA iterations, and is trained by
/// back-propagation on the unsupervised Lasso objective `F(z_T) = 1/2 ||y - D z_T||^2 +
/// lambda ||z_T||_1` averaged over mini-batches (Moreau & Bruna, ICLR 2017). With `shared`,
/// every layer uses the same `(W_e, W_g, theta)` (the recurrent network of Gregor & LeCun);
/// otherwise each layer has its own (the first has no `W_g`, since `z_0 = 0`). Training keeps
/// the thresholds non-negative.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `layers` | (required) | number of layers `T >= 1` |
/// | `lambda` | (required) | Lasso penalty `lambda >= 0` of the training objective |
/// | `shared` | `false` | one parameter set for all layers |
/// | `training` | [`Training::default`] | epochs 20, batch 100, Adam at 1e-3, seed 0 |
#[derive(Debug, Clone, PartialEq)]
pub struct Lista {
    /// Number of layers.
    pub layers: usize,
    /// Lasso penalty of the objective.
    pub lambda: f64,
    /// Share the parameters across layers.
    pub shared: bool,
    /// How to train.
    pub training: Training,
}

impl Lista {
    /// LISTA with `layers` layers for the penalty `lambda`, with the defaults of the table.
    pub fn new(layers: usize, lambda: f64) -> Self {
        Self {
            layers,
            lambda,
            shared: false,
            training: Training::default(),
        }
    }

    sparse_core::setters! {
        /// Sets `shared`.
        shared: bool,
    }

    training_setters!();

    /// The untrained network: `layers` iterations of ISTA on `d`.
    pub fn init(&self, d: &Dictionary) -> Result<TrainedLista> {
        check::count("layers", self.layers, usize::MAX)?;
        check::non_negative("lambda", self.lambda)?;
        let l = d.lipschitz();
        check::positive("lipschitz", l)?;
        let mut net = TrainedLista {
            d: d.clone(),
            lambda: self.lambda,
            lipschitz: l,
            layers: self.layers,
            shared: self.shared,
            params: Vec::new(),
            blocks: Vec::new(),
            sets: Vec::new(),
            par: self.training.par,
        };
        let n_sets = if self.shared { 1 } else { self.layers };
        for s in 0..n_sets {
            net.push_ista_set(s, self.shared || s > 0);
        }
        Ok(net)
    }

    /// Trains a network from its ISTA initialisation on the columns of `y_train`
    /// (`signal_len x n`); `observer` receives an [`EpochReport`] after every epoch.
    pub fn fit(
        &self,
        d: &Dictionary,
        y_train: MatRef<'_, f64>,
        mut observer: impl FnMut(&EpochReport),
    ) -> Result<TrainedLista> {
        self.training.validate()?;
        let mut net = self.init(d)?;
        net.train(y_train, &self.training, &mut observer)?;
        Ok(net)
    }
}

/// Offsets of one parameter set `(W_e, W_g, theta)`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Set {
    we: usize,
    wg: Option<usize>,
    theta: usize,
}

/// A LISTA network (see [`Lista`]): its parameters, the dictionary and penalty of its objective.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedLista {
    d: Dictionary,
    lambda: f64,
    lipschitz: f64,
    layers: usize,
    shared: bool,
    params: Vec<f64>,
    blocks: Vec<ParamBlock>,
    sets: Vec<Set>,
    par: Par,
}

impl TrainedLista {
    /// Appends an ISTA-initialised parameter set for `layer` (with `W_g` when `with_wg`).
    fn push_ista_set(&mut self, layer: usize, with_wg: bool) {
        let (n, k) = (self.d.signal_len(), self.d.n_atoms());
        let l = self.lipschitz;
        let dm = self.d.matrix();
        let we = push_block(&mut self.blocks, ParamKind::We, layer, k, n);
        self.params
            .extend((0..n).flat_map(|j| (0..k).map(move |i| dm[(j, i)] / l)));
        let wg = with_wg.then(|| {
            let off = push_block(&mut self.blocks, ParamKind::Wg, layer, k, k);
            let g = self.d.gram();
            self.params.extend((0..k).flat_map(|j| {
                let g = &g;
                (0..k).map(move |i| f64::from(u8::from(i == j)) - g[(i, j)] / l)
            }));
            off
        });
        let theta = push_block(&mut self.blocks, ParamKind::Theta, layer, k, 1);
        self.params.extend(std::iter::repeat_n(self.lambda / l, k));
        self.sets.push(Set { we, wg, theta });
    }

    fn set(&self, t: usize) -> Set {
        self.sets[if self.shared { 0 } else { t }]
    }

    /// Whether the layers share one parameter set.
    pub fn is_shared(&self) -> bool {
        self.shared
    }

    /// The layout of the flat parameter vector: `W_e`, `W_g` (absent on layer 0 unless shared)
    /// and `theta` of every layer in order (one set, layer 0, when shared).
    pub fn blocks(&self) -> &[ParamBlock] {
        &self.blocks
    }

    fn check_layer(&self, t: usize) -> Result<()> {
        if t >= self.layers {
            return Err(invalid(
                "layer",
                t,
                format!("a layer index < {}", self.layers),
            ));
        }
        Ok(())
    }

    /// `W_e` of layer `t` (`n_atoms x signal_len`).
    pub fn we(&self, t: usize) -> Result<MatRef<'_, f64>> {
        self.check_layer(t)?;
        let (n, k) = (self.d.signal_len(), self.d.n_atoms());
        Ok(block(&self.params, self.set(t).we, k, n))
    }

    /// `W_g` of layer `t` (`n_atoms x n_atoms`); `None` for the first layer of an unshared
    /// network, which has none.
    pub fn wg(&self, t: usize) -> Result<Option<MatRef<'_, f64>>> {
        self.check_layer(t)?;
        let k = self.d.n_atoms();
        Ok(self.set(t).wg.map(|o| block(&self.params, o, k, k)))
    }

    /// The thresholds `theta` of layer `t`.
    pub fn theta(&self, t: usize) -> Result<&[f64]> {
        self.check_layer(t)?;
        let o = self.set(t).theta;
        Ok(&self.params[o..o + self.d.n_atoms()])
    }

    /// The network with `layers >= self.layers()` layers: the trained layers followed by
    /// ISTA-initialised ones (for a shared network, the same parameters applied more times).
    /// Training a deep network from a trained shallow one is how Moreau & Bruna warm-start.
    pub fn deepen(&self, layers: usize) -> Result<TrainedLista> {
        if layers < self.layers {
            return Err(invalid(
                "layers",
                layers,
                format!("at least the current {} layers", self.layers),
            ));
        }
        let mut net = self.clone();
        net.layers = layers;
        if !self.shared {
            for t in self.layers..layers {
                net.push_ista_set(t, true);
            }
        }
        Ok(net)
    }

    /// Runs the layers on `y`; with `trace`, keeps `(c_t, z_t)` (pre-activation and input) of
    /// every layer.
    fn run(
        &self,
        y: MatRef<'_, f64>,
        par: Par,
        mut trace: Option<&mut Vec<(Mat<f64>, Mat<f64>)>>,
    ) -> Mat<f64> {
        let (n, k, b) = (self.d.signal_len(), self.d.n_atoms(), y.ncols());
        let p = &self.params;
        let mut ey = Mat::<f64>::zeros(0, 0);
        if self.shared {
            ey = Mat::zeros(k, b);
            gemm(
                ey.as_mut(),
                Accum::Replace,
                block(p, self.sets[0].we, k, n),
                y,
                1.0,
                par,
            );
        }
        let mut z = Mat::<f64>::zeros(k, b);
        for t in 0..self.layers {
            let s = self.set(t);
            let mut c = Mat::<f64>::zeros(k, b);
            if self.shared {
                c.copy_from(&ey);
            } else {
                gemm(
                    c.as_mut(),
                    Accum::Replace,
                    block(p, s.we, k, n),
                    y,
                    1.0,
                    par,
                );
            }
            if let (true, Some(wg)) = (t > 0, s.wg) {
                gemm(
                    c.as_mut(),
                    Accum::Add,
                    block(p, wg, k, k),
                    z.as_ref(),
                    1.0,
                    par,
                );
            }
            let mut zn = Mat::<f64>::zeros(k, b);
            soft_rows(c.as_ref(), &p[s.theta..s.theta + k], zn.as_mut());
            let zin = std::mem::replace(&mut z, zn);
            if let Some(tr) = trace.as_deref_mut() {
                tr.push((c, zin));
            }
        }
        z
    }

    /// The smallest distance `||c_ti| - theta_ti|` of a pre-activation to a kink of its soft
    /// threshold, over every layer and signal: the objective is smooth in the parameters
    /// within a neighbourhood of this size (scaled by the sensitivities).
    pub fn kink_margin(&self, y: MatRef<'_, f64>) -> Result<f64> {
        self.check_input(y)?;
        let mut tr = Vec::new();
        self.run(y, self.par, Some(&mut tr));
        let k = self.d.n_atoms();
        Ok((0..self.layers)
            .map(|t| {
                let o = self.set(t).theta;
                margin(tr[t].0.as_ref(), &self.params[o..o + k])
            })
            .fold(f64::INFINITY, f64::min))
    }
}

unfolded_lasso_api!(TrainedLista);

impl Net for TrainedLista {
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
        let mut g = Mat::<f64>::zeros(k, b);
        let loss = lasso_loss(
            self.d.matrix(),
            y,
            zt.as_ref(),
            self.lambda,
            Some((g.as_mut(), scale)),
            par,
        ) * scale;
        let ones = vec![1.0; k];
        let p = &self.params;
        let mut dc_sum = Mat::<f64>::zeros(if self.shared { k } else { 0 }, b);
        for t in (0..self.layers).rev() {
            let (c, zin) = &tr[t];
            let s = self.set(t);
            soft_rows_backward(
                c.as_ref(),
                &p[s.theta..s.theta + k],
                g.as_mut(),
                &mut grad[s.theta..s.theta + k],
                &ones,
            );
            if self.shared {
                dc_sum += &g;
            } else {
                let dwe = block_mut(grad, s.we, k, n);
                gemm(dwe, Accum::Add, g.as_ref(), y.transpose(), 1.0, par);
            }
            if let (true, Some(wg)) = (t > 0, s.wg) {
                let dwg = block_mut(grad, wg, k, k);
                gemm(dwg, Accum::Add, g.as_ref(), zin.transpose(), 1.0, par);
                let mut gn = Mat::<f64>::zeros(k, b);
                let wgm = block(p, wg, k, k);
                gemm(
                    gn.as_mut(),
                    Accum::Replace,
                    wgm.transpose(),
                    g.as_ref(),
                    1.0,
                    par,
                );
                g = gn;
            }
        }
        if self.shared {
            let dwe = block_mut(grad, self.sets[0].we, k, n);
            gemm(dwe, Accum::Add, dc_sum.as_ref(), y.transpose(), 1.0, par);
        }
        loss
    }
}
