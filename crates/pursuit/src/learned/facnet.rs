//! FacNet, the factorised LISTA / adaptive ISTA of Moreau & Bruna (2017).

use faer::{Accum, Mat, MatRef, Par};
use sparse_core::{check, Dictionary, LinearOperator};

use super::train::{
    block, block_mut, gemm, lasso_loss, margin, retract_orthogonal, soft_rows, soft_rows_backward,
    Net,
};
use super::{push_block, EpochReport, ParamBlock, ParamKind, Training};
use crate::error::{invalid, Result};

/// FacNet / adaptive ISTA (Moreau & Bruna, *Understanding trainable sparse coding via matrix
/// factorization*, ICLR 2017, arXiv:1609.00285): ISTA where layer `t` replaces the isotropic
/// model `L I` of the Gram matrix `B = D^T D` by `A_t^T S_t A_t`, with `A_t` unitary and
/// `S_t = diag(s_t)` positive:
///
/// `z_{t+1} = A_t^T S_{lambda/s_t}(A_t z_t - S_t^{-1} A_t (B z_t - D^T y))`,
///
/// i.e. a LISTA layer `S_{lambda/s}(W_e y + W_g z)` with `W_e = S^{-1} A D^T` and
/// `W_g = A - S^{-1} A B` followed by the rotation `A^T`: a constrained LISTA, which can only be
/// as good as LISTA, but whose gain the paper explains: it is large when `A` nearly
/// diagonalises `B` while `||A z||_1 ~ ||z||_1`.
///
/// Initialised at ISTA (`A = I`, `s = L`), trained by back-propagation on the same objective as
/// [`Lista`](super::Lista). The gradient of `A` is projected onto the tangent space of the
/// orthogonal group (`A skew(A^T G)`) and after every update `A` is replaced by its polar
/// factor (a retraction), so it stays orthogonal to rounding; `s`, whose learning rate is
/// multiplied by `L` (its natural scale), is kept `>= s_min_ratio * L`.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `layers` | (required) | number of layers `T >= 1` |
/// | `lambda` | (required) | Lasso penalty `lambda >= 0` |
/// | `s_min_ratio` | `1e-3` | floor of the diagonal `s`, relative to `L = ||D||_2^2` |
/// | `training` | [`Training::default`] | epochs 20, batch 100, Adam at 1e-3, seed 0 |
#[derive(Debug, Clone, PartialEq)]
pub struct FacNet {
    /// Number of layers.
    pub layers: usize,
    /// Lasso penalty of the objective.
    pub lambda: f64,
    /// Floor of `s`, relative to `L`.
    pub s_min_ratio: f64,
    /// How to train.
    pub training: Training,
}

impl FacNet {
    /// FacNet with `layers` layers for the penalty `lambda`, with the defaults of the table.
    pub fn new(layers: usize, lambda: f64) -> Self {
        Self {
            layers,
            lambda,
            s_min_ratio: 1e-3,
            training: Training::default(),
        }
    }

    sparse_core::setters! {
        /// Sets `s_min_ratio`.
        s_min_ratio: f64,
    }

    training_setters!();

    /// The untrained network (`A = I`, `s = L`): `layers` iterations of ISTA on `d`.
    pub fn init(&self, d: &Dictionary) -> Result<TrainedFacNet> {
        check::count("layers", self.layers, usize::MAX)?;
        check::non_negative("lambda", self.lambda)?;
        check::in_range("s_min_ratio", self.s_min_ratio, 0.0, 1.0)?;
        let l = d.lipschitz();
        check::positive("lipschitz", l)?;
        let mut net = TrainedFacNet {
            gram: d.gram(),
            d: d.clone(),
            lambda: self.lambda,
            lipschitz: l,
            s_min: (self.s_min_ratio * l).max(f64::MIN_POSITIVE),
            layers: 0,
            params: Vec::new(),
            blocks: Vec::new(),
            offsets: Vec::new(),
            par: self.training.par,
        };
        for _ in 0..self.layers {
            net.push_ista_layer();
        }
        Ok(net)
    }

    /// Trains a network from its ISTA initialisation on the columns of `y_train`;
    /// `observer` receives an [`EpochReport`] after every epoch.
    pub fn fit(
        &self,
        d: &Dictionary,
        y_train: MatRef<'_, f64>,
        mut observer: impl FnMut(&EpochReport),
    ) -> Result<TrainedFacNet> {
        self.training.validate()?;
        let mut net = self.init(d)?;
        net.train(y_train, &self.training, &mut observer)?;
        Ok(net)
    }
}

/// A FacNet network (see [`FacNet`]).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainedFacNet {
    d: Dictionary,
    gram: Mat<f64>,
    lambda: f64,
    lipschitz: f64,
    s_min: f64,
    layers: usize,
    params: Vec<f64>,
    blocks: Vec<ParamBlock>,
    /// `(A, s)` offsets per layer.
    offsets: Vec<(usize, usize)>,
    par: Par,
}

/// What the backward pass needs from layer `t`: input `z`, `u = B z - D^T y`, `A u`, the
/// pre-activation `v` and the thresholded `w`.
struct Saved {
    z: Mat<f64>,
    u: Mat<f64>,
    au: Mat<f64>,
    v: Mat<f64>,
    w: Mat<f64>,
}

impl TrainedFacNet {
    fn push_ista_layer(&mut self) {
        let k = self.d.n_atoms();
        let t = self.layers;
        let a = push_block(&mut self.blocks, ParamKind::A, t, k, k);
        self.params
            .extend((0..k * k).map(|i| f64::from(u8::from(i % (k + 1) == 0))));
        let s = push_block(&mut self.blocks, ParamKind::S, t, k, 1);
        self.params.extend(std::iter::repeat_n(self.lipschitz, k));
        self.offsets.push((a, s));
        self.layers += 1;
    }

    /// The layout of the flat parameter vector: `A` then `s` for every layer.
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

    /// The unitary factor `A_t` of layer `t`.
    pub fn a(&self, t: usize) -> Result<MatRef<'_, f64>> {
        self.check_layer(t)?;
        let k = self.d.n_atoms();
        Ok(block(&self.params, self.offsets[t].0, k, k))
    }

    /// The diagonal `s_t` of layer `t`.
    pub fn s(&self, t: usize) -> Result<&[f64]> {
        self.check_layer(t)?;
        let o = self.offsets[t].1;
        Ok(&self.params[o..o + self.d.n_atoms()])
    }

    /// The LISTA weights of layer `t`: `W_e = S^{-1} A D^T` and `W_g = A - S^{-1} A B`, so
    /// that the layer is `z_{t+1} = A^T S_{lambda/s}(W_e y + W_g z_t)`.
    pub fn lista_weights(&self, t: usize) -> Result<(Mat<f64>, Mat<f64>)> {
        let a = self.a(t)?;
        let s = self.s(t)?;
        let (n, k) = (self.d.signal_len(), self.d.n_atoms());
        let sa = Mat::<f64>::from_fn(k, k, |i, j| a[(i, j)] / s[i]);
        let mut we = Mat::<f64>::zeros(k, n);
        let dt = self.d.matrix().transpose();
        gemm(we.as_mut(), Accum::Replace, sa.as_ref(), dt, 1.0, self.par);
        let mut wg = a.to_owned();
        gemm(
            wg.as_mut(),
            Accum::Add,
            sa.as_ref(),
            self.gram.as_ref(),
            -1.0,
            self.par,
        );
        Ok((we, wg))
    }

    /// `max_ij |(A_t^T A_t - I)_ij|` over the layers: how far the `A_t` are from orthogonal.
    pub fn orthogonality_error(&self) -> f64 {
        let k = self.d.n_atoms();
        let mut worst = 0.0f64;
        for &(ao, _) in &self.offsets {
            let a = block(&self.params, ao, k, k);
            let mut ata = Mat::<f64>::zeros(k, k);
            gemm(
                ata.as_mut(),
                Accum::Replace,
                a.transpose(),
                a,
                1.0,
                Par::Seq,
            );
            for j in 0..k {
                for i in 0..k {
                    let e = ata[(i, j)] - f64::from(u8::from(i == j));
                    worst = worst.max(e.abs());
                }
            }
        }
        worst
    }

    /// The network with `layers >= self.layers()` layers: the trained ones followed by
    /// ISTA-initialised ones.
    pub fn deepen(&self, layers: usize) -> Result<TrainedFacNet> {
        if layers < self.layers {
            return Err(invalid(
                "layers",
                layers,
                format!("at least the current {} layers", self.layers),
            ));
        }
        let mut net = self.clone();
        while net.layers < layers {
            net.push_ista_layer();
        }
        Ok(net)
    }

    fn thresholds(&self, s: &[f64]) -> Vec<f64> {
        s.iter().map(|&si| self.lambda / si).collect()
    }

    fn run(&self, y: MatRef<'_, f64>, par: Par, mut trace: Option<&mut Vec<Saved>>) -> Mat<f64> {
        let (k, b) = (self.d.n_atoms(), y.ncols());
        let p = &self.params;
        let mut dty = Mat::<f64>::zeros(k, b);
        let dt = self.d.matrix().transpose();
        gemm(dty.as_mut(), Accum::Replace, dt, y, 1.0, par);
        let mut z = Mat::<f64>::zeros(k, b);
        for t in 0..self.layers {
            let (ao, so) = self.offsets[t];
            let a = block(p, ao, k, k);
            let s = &p[so..so + k];
            // u = B z - D^T y
            let mut u = -&dty;
            if t > 0 {
                gemm(
                    u.as_mut(),
                    Accum::Add,
                    self.gram.as_ref(),
                    z.as_ref(),
                    1.0,
                    par,
                );
            }
            let mut au = Mat::<f64>::zeros(k, b);
            gemm(au.as_mut(), Accum::Replace, a, u.as_ref(), 1.0, par);
            // v = A z - S^{-1} A u
            let mut v = Mat::<f64>::zeros(k, b);
            if t > 0 {
                gemm(v.as_mut(), Accum::Replace, a, z.as_ref(), 1.0, par);
            }
            for j in 0..b {
                for i in 0..k {
                    v[(i, j)] -= au[(i, j)] / s[i];
                }
            }
            let mut w = Mat::<f64>::zeros(k, b);
            soft_rows(v.as_ref(), &self.thresholds(s), w.as_mut());
            let mut zn = Mat::<f64>::zeros(k, b);
            gemm(
                zn.as_mut(),
                Accum::Replace,
                a.transpose(),
                w.as_ref(),
                1.0,
                par,
            );
            let zin = std::mem::replace(&mut z, zn);
            if let Some(tr) = trace.as_deref_mut() {
                tr.push(Saved {
                    z: zin,
                    u,
                    au,
                    v,
                    w,
                });
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
        Ok((0..self.layers)
            .map(|t| {
                let so = self.offsets[t].1;
                margin(tr[t].v.as_ref(), &self.thresholds(&self.params[so..so + k]))
            })
            .fold(f64::INFINITY, f64::min))
    }
}

unfolded_lasso_api!(TrainedFacNet);

impl Net for TrainedFacNet {
    fn params(&self) -> &[f64] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn loss_sum(&self, y: MatRef<'_, f64>, par: Par) -> f64 {
        let z = self.run(y, par, None);
        lasso_loss(self.d.matrix(), y, z.as_ref(), self.lambda, None, par)
    }

    fn loss_grad(&self, y: MatRef<'_, f64>, grad: &mut [f64], par: Par) -> f64 {
        let (k, b) = (self.d.n_atoms(), y.ncols());
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
        let p = &self.params;
        let mut dv = Mat::<f64>::zeros(k, b);
        for t in (0..self.layers).rev() {
            let sv = &tr[t];
            let (ao, so) = self.offsets[t];
            let a = block(p, ao, k, k);
            let s = &p[so..so + k];
            // z' = A^T w: dA += w g^T, dw = A g.
            gemm(
                block_mut(grad, ao, k, k),
                Accum::Add,
                sv.w.as_ref(),
                g.transpose(),
                1.0,
                par,
            );
            gemm(dv.as_mut(), Accum::Replace, a, g.as_ref(), 1.0, par);
            // w = soft(v, lambda / s): d(lambda/s_i)/ds_i = -lambda / s_i^2.
            let chain: Vec<f64> = s.iter().map(|&si| -self.lambda / (si * si)).collect();
            soft_rows_backward(
                sv.v.as_ref(),
                &self.thresholds(s),
                dv.as_mut(),
                &mut grad[so..so + k],
                &chain,
            );
            // v = A z - S^{-1} A u.
            let ds = &mut grad[so..so + k];
            let mut dvs = dv.clone();
            for j in 0..b {
                for i in 0..k {
                    ds[i] += dv[(i, j)] * sv.au[(i, j)] / (s[i] * s[i]);
                    dvs[(i, j)] /= s[i];
                }
            }
            let da = block_mut(grad, ao, k, k);
            gemm(da, Accum::Add, dvs.as_ref(), sv.u.transpose(), -1.0, par);
            if t > 0 {
                let da = block_mut(grad, ao, k, k);
                gemm(da, Accum::Add, dv.as_ref(), sv.z.transpose(), 1.0, par);
                // dz = A^T dv - B A^T S^{-1} dv  (u = B z - D^T y).
                gemm(
                    g.as_mut(),
                    Accum::Replace,
                    a.transpose(),
                    dv.as_ref(),
                    1.0,
                    par,
                );
                let mut q = Mat::<f64>::zeros(k, b);
                gemm(
                    q.as_mut(),
                    Accum::Replace,
                    a.transpose(),
                    dvs.as_ref(),
                    1.0,
                    par,
                );
                gemm(
                    g.as_mut(),
                    Accum::Add,
                    self.gram.as_ref(),
                    q.as_ref(),
                    -1.0,
                    par,
                );
            }
        }
        loss
    }

    /// Projects the gradient of every `A` onto the tangent space of the orthogonal group at
    /// `A`: `G <- A skew(A^T G)`.
    fn precondition(&self, grad: &mut [f64], par: Par) {
        let k = self.d.n_atoms();
        for &(ao, _) in &self.offsets {
            let a = block(&self.params, ao, k, k);
            let mut m = Mat::<f64>::zeros(k, k);
            gemm(
                m.as_mut(),
                Accum::Replace,
                a.transpose(),
                block(grad, ao, k, k),
                1.0,
                par,
            );
            let skew = Mat::<f64>::from_fn(k, k, |i, j| 0.5 * (m[(i, j)] - m[(j, i)]));
            gemm(
                block_mut(grad, ao, k, k),
                Accum::Replace,
                a,
                skew.as_ref(),
                1.0,
                par,
            );
        }
    }

    /// `s` moves on its own scale: its learning rate is multiplied by `L`.
    fn lr_scales(&self) -> Option<Vec<f64>> {
        let mut scales = vec![1.0; self.params.len()];
        for &(_, so) in &self.offsets {
            scales[so..so + self.d.n_atoms()].fill(self.lipschitz);
        }
        Some(scales)
    }

    /// Polar retraction of every `A` onto the orthogonal group (the nearest orthogonal matrix,
    /// computed by Newton-Schulz) and the floor on `s`.
    fn retract(&mut self) {
        let k = self.d.n_atoms();
        for t in 0..self.layers {
            let (ao, so) = self.offsets[t];
            retract_orthogonal(block_mut(&mut self.params, ao, k, k));
            for si in &mut self.params[so..so + k] {
                if si.is_nan() || *si < self.s_min {
                    *si = self.s_min;
                }
            }
        }
    }
}
