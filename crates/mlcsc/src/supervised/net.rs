//! The unfolded ML-ISTA / ML-FISTA network: parameters, forward pass with a tape, and the
//! hand-written back-propagation.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use sparse_core::{check, LinearOperator};

use crate::error::{invalid, mismatch, Result};
use crate::layer::Layer;
use crate::model::MlModel;
use crate::valid::{ValidConv, ValidGeometry};

/// Which iteration the network unfolds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Unfolding {
    /// ML-ISTA: every iteration starts from the previous deepest estimate.
    #[default]
    Ista,
    /// ML-FISTA: from the previous estimate extrapolated by FISTA's momentum.
    Fista,
}

/// The architecture of one layer of an [`UnfoldedNet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerSpec {
    /// A dense dictionary of this many atoms (one bias per atom).
    Dense(usize),
    /// A valid strided convolution ([`crate::ValidConv`]) of `maps` filters of
    /// `kernel.0 x kernel.1` spanning every channel of the layer's input, with stride `stride`
    /// (one bias per feature map, shared by its positions, as in a CNN).
    Conv {
        /// Number of filters.
        maps: usize,
        /// Filter support.
        kernel: (usize, usize),
        /// Stride.
        stride: usize,
    },
}

/// How a layer's dictionary is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
enum Kind {
    /// `n_{i-1} x n_i`, column-major.
    #[default]
    Dense,
    /// The filters `patch_len x maps`, column-major.
    Valid(ValidGeometry),
}

/// Offsets of one layer's parameters in the flat vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct LayerAt {
    d: usize,
    c: usize,
    b: usize,
    /// Absent in files written before convolutional layers existed: dense.
    #[serde(default)]
    kind: Kind,
}

impl LayerAt {
    /// Entries of the dictionary block.
    fn d_len(&self, n: usize, m: usize) -> usize {
        match self.kind {
            Kind::Dense => n * m,
            Kind::Valid(g) => g.patch_len() * g.maps,
        }
    }
    /// Code entries per bias (1 for dense layers, the positions of a map otherwise).
    fn per_bias(&self) -> usize {
        match self.kind {
            Kind::Dense => 1,
            Kind::Valid(g) => g.positions(),
        }
    }
}

/// A supervised unfolded ML-ISTA / ML-FISTA network (Sulam, Aberdam, Beck & Elad, TPAMI 2019,
/// "supervised learning formulation"): `K` iterations of the multi-layer pursuit on an input
/// `y`, then a linear classifier with softmax cross-entropy on the deepest code.
///
/// Layer `i` has an (unnormalised) dictionary `D_i` (`n_{i-1} x n_i`: a dense matrix or the
/// filters of a valid strided convolution, [`LayerSpec`]), a step `c_i > 0` and a bias vector
/// `b_i` (`b_i = -c_i lambda_i` in the pursuit's terms; one per atom, or per feature map). Iteration `k` computes, from
/// the point `z` (`0` at `k = 1`, the previous deepest estimate — extrapolated by FISTA's momentum
/// for ML-FISTA — afterwards), `h_L = z`, `h_{i-1} = D_i h_i`, and for `i = 1..L`
///
/// `g_i = ReLU( h_i - c_i D_i^T (h_{i-1} - g_{i-1}) + b_i )`, `g_0 = y`.
///
/// The first iteration is therefore the feed-forward network `g_i = ReLU(c_i D_i^T g_{i-1} + b_i)`:
/// every `K` uses the *same* parameters, and `K = 1` is a plain ReLU network. The logits are
/// `W g_L + w_0`. Parameters live in one flat vector (`D_i` column-major — the filter matrix
/// for a convolutional layer —, `c_i`, `b_i` per layer, then `W`, `w_0`), the layout the
/// optimiser and the finite-difference checks use. With convolutional layers
/// ([`UnfoldedNet::convolutional`]) `K = 1` is a plain CNN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UnfoldedNet {
    dims: Vec<usize>,
    classes: usize,
    unfoldings: usize,
    kind: Unfolding,
    params: Vec<f64>,
    layers: Vec<LayerAt>,
    w: usize,
    w0: usize,
}

/// What the forward pass keeps for the backward pass, per iteration.
struct Step {
    /// `h_0..h_L` (empty at the first iteration, where they are zero).
    h: Vec<Mat<f64>>,
    /// `r_i = h_{i-1} - g_{i-1}`, `i = 1..L`.
    r: Vec<Mat<f64>>,
    /// `q_i = D_i^T r_i`.
    q: Vec<Mat<f64>>,
    /// Pre-activations `a_i`.
    a: Vec<Mat<f64>>,
    /// FISTA momentum used to form `z` (0 for ML-ISTA and the first two iterations).
    rho: f64,
}

fn gemm(dst: MatMut<'_, f64>, add: bool, lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>, alpha: f64) {
    let acc = if add { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, alpha, Par::Seq);
}

/// FISTA momenta: `rho[k]` forms the point of iteration `k` (0-based; `rho[0] = rho[1] = 0`).
fn momenta(k: usize) -> Vec<f64> {
    let mut out = vec![0.0; k.max(1)];
    let mut s = 1.0f64;
    for r in out.iter_mut().skip(1) {
        let next = 0.5 * (1.0 + (1.0 + 4.0 * s * s).sqrt());
        *r = (s - 1.0) / next;
        s = next;
    }
    out
}

impl UnfoldedNet {
    /// A network for inputs of length `dims[0]` with layers of `dims[1..]` atoms and `classes`
    /// outputs, unfolding `unfoldings >= 1` iterations. Dictionaries start Gaussian with unit
    /// atoms, steps at `c_i = 1 / ||D_i||_2^2` (ISTA's), biases at `-0.01`, the classifier
    /// Gaussian with variance `1 / n_L`; all seeded.
    pub fn new(
        dims: &[usize],
        classes: usize,
        unfoldings: usize,
        kind: Unfolding,
        seed: u64,
    ) -> Result<Self> {
        if dims.len() < 2 {
            return Err(invalid(
                "dims",
                format!("{dims:?}"),
                "the input length and at least one layer",
            ));
        }
        for &d in dims {
            check::count("dims", d, usize::MAX)?;
        }
        let specs: Vec<LayerSpec> = dims[1..].iter().map(|&m| LayerSpec::Dense(m)).collect();
        Self::build(dims[0], None, &specs, classes, unfoldings, kind, seed)
    }

    /// A convolutional (or mixed) network on images of `input = (channels, rows, cols)`
    /// (column-major, channel after channel), with the layers `specs` — valid strided
    /// convolutions ([`crate::ValidConv`]) and, typically last, dense layers. Initialised as
    /// [`new`](Self::new) (unit-norm Gaussian filters, `c_i = 1 / ||D_i||_2^2`), with zero
    /// biases on the convolutional layers.
    ///
    /// ```
    /// use mlcsc::supervised::{LayerSpec, UnfoldedNet, Unfolding};
    /// let specs = [
    ///     LayerSpec::Conv { maps: 8, kernel: (6, 6), stride: 2 },  // 28 -> 12
    ///     LayerSpec::Conv { maps: 16, kernel: (6, 6), stride: 2 }, // 12 -> 4
    ///     LayerSpec::Conv { maps: 32, kernel: (4, 4), stride: 1 }, // 4 -> 1
    /// ];
    /// let net = UnfoldedNet::convolutional((1, 28, 28), &specs, 10, 2, Unfolding::Ista, 0)?;
    /// assert_eq!(net.dims(), &[784, 12 * 12 * 8, 4 * 4 * 16, 32]);
    /// # Ok::<(), mlcsc::Error>(())
    /// ```
    pub fn convolutional(
        input: (usize, usize, usize),
        specs: &[LayerSpec],
        classes: usize,
        unfoldings: usize,
        kind: Unfolding,
        seed: u64,
    ) -> Result<Self> {
        if specs.is_empty() {
            return Err(invalid("specs", "[]", "at least one layer"));
        }
        check::count("input", input.0.min(input.1).min(input.2), usize::MAX)?;
        Self::build(
            input.0 * input.1 * input.2,
            Some(input),
            specs,
            classes,
            unfoldings,
            kind,
            seed,
        )
    }

    fn build(
        n0: usize,
        mut shape: Option<(usize, usize, usize)>,
        specs: &[LayerSpec],
        classes: usize,
        unfoldings: usize,
        kind: Unfolding,
        seed: u64,
    ) -> Result<Self> {
        check::count("classes", classes, usize::MAX)?;
        check::count("unfoldings", unfoldings, usize::MAX)?;
        let mut rng = sparse_core::generate::rng(seed);
        let mut params = Vec::new();
        let mut layers = Vec::new();
        let mut dims = vec![n0];
        let quick = sparse_core::PowerIteration {
            max_iter: 300,
            tol: 1e-6,
            seed,
        };
        for (i, spec) in specs.iter().enumerate() {
            let n = dims[i];
            let (kind_i, d, m, nbias) = match *spec {
                LayerSpec::Dense(m) => {
                    check::count("specs", m, usize::MAX)?;
                    let d = gaussian_unit(n, m, &mut rng);
                    shape = None;
                    (Kind::Dense, d, m, m)
                }
                LayerSpec::Conv {
                    maps,
                    kernel,
                    stride,
                } => {
                    let Some((ch, rows, cols)) = shape else {
                        return Err(invalid(
                            "specs",
                            format!("layer {} convolutional", i + 1),
                            "convolutional layers only before dense ones, on an image input \
                             (UnfoldedNet::convolutional)",
                        ));
                    };
                    let g = ValidGeometry::new(ch, (rows, cols), kernel, stride, maps)?;
                    let d = gaussian_unit(g.patch_len(), maps, &mut rng);
                    let (oh, ow) = g.out();
                    shape = Some((maps, oh, ow));
                    (Kind::Valid(g), d, g.code_len(), maps)
                }
            };
            let l = match kind_i {
                Kind::Dense => d.lipschitz(),
                Kind::Valid(g) => {
                    let op = ValidConv::new(g, d.as_ref())?;
                    1.01 * sparse_core::power_iteration(&op, quick)
                }
            };
            let at = LayerAt {
                d: params.len(),
                c: params.len() + d.nrows() * d.ncols(),
                b: params.len() + d.nrows() * d.ncols() + 1,
                kind: kind_i,
            };
            for j in 0..d.ncols() {
                params.extend(d.col(j).iter().copied());
            }
            params.push(1.0 / l);
            // Small negative thresholds on dense layers; zero on convolutional ones, whose
            // activations shrink with `c_i = 1 / ||D_i||^2` and would all be cut (dead ReLUs).
            let b0 = if matches!(kind_i, Kind::Dense) {
                -0.01
            } else {
                0.0
            };
            params.extend(std::iter::repeat_n(b0, nbias));
            layers.push(at);
            dims.push(m);
        }
        let nl = dims[dims.len() - 1];
        let w = params.len();
        let scale = (1.0 / nl as f64).sqrt();
        for _ in 0..classes * nl {
            let v: f64 = StandardNormal.sample(&mut rng);
            params.push(scale * v);
        }
        let w0 = params.len();
        params.extend(std::iter::repeat_n(0.0, classes));
        Ok(Self {
            dims,
            classes,
            unfoldings,
            kind,
            params,
            layers,
            w,
            w0,
        })
    }

    /// The same parameters unfolding `unfoldings` iterations.
    pub fn with_unfoldings(&self, unfoldings: usize) -> Result<Self> {
        check::count("unfoldings", unfoldings, usize::MAX)?;
        Ok(Self {
            unfoldings,
            ..self.clone()
        })
    }

    /// The same parameters unfolding the other iteration.
    pub fn with_kind(&self, kind: Unfolding) -> Self {
        Self {
            kind,
            ..self.clone()
        }
    }

    /// `n_0, n_1, ..., n_L`.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }
    /// Number of classes.
    pub fn classes(&self) -> usize {
        self.classes
    }
    /// Number of unfolded iterations `K`.
    pub fn unfoldings(&self) -> usize {
        self.unfoldings
    }
    /// ML-ISTA or ML-FISTA.
    pub fn kind(&self) -> Unfolding {
        self.kind
    }
    /// Number of layers `L`.
    pub fn depth(&self) -> usize {
        self.layers.len()
    }
    /// The flat parameter vector.
    pub fn params(&self) -> &[f64] {
        &self.params
    }
    /// The flat parameter vector, mutably.
    pub fn params_mut(&mut self) -> &mut [f64] {
        &mut self.params
    }

    fn at(&self, i: usize) -> Result<LayerAt> {
        if i == 0 || i > self.depth() {
            return Err(invalid("i", i, format!("a layer in 1..={}", self.depth())));
        }
        Ok(self.layers[i - 1])
    }

    /// `D_i` (`n_{i-1} x n_i`) of a dense layer, or the filters (`patch_len x maps`) of a
    /// convolutional one, `1 <= i <= L`.
    pub fn dictionary(&self, i: usize) -> Result<MatRef<'_, f64>> {
        let at = self.at(i)?;
        Ok(self.d(i - 1, at))
    }

    /// The shape of layer `i`'s convolution (`None` for a dense layer).
    pub fn geometry(&self, i: usize) -> Result<Option<ValidGeometry>> {
        Ok(match self.at(i)?.kind {
            Kind::Dense => None,
            Kind::Valid(g) => Some(g),
        })
    }

    /// Offset of the step `c_i` of every layer in the flat parameters.
    pub(crate) fn step_offsets(&self) -> Vec<usize> {
        self.layers.iter().map(|at| at.c).collect()
    }

    fn d(&self, l: usize, at: LayerAt) -> MatRef<'_, f64> {
        match at.kind {
            Kind::Dense => {
                let (n, m) = (self.dims[l], self.dims[l + 1]);
                MatRef::from_column_major_slice(&self.params[at.d..at.d + n * m], n, m)
            }
            Kind::Valid(g) => MatRef::from_column_major_slice(
                &self.params[at.d..at.d + g.patch_len() * g.maps],
                g.patch_len(),
                g.maps,
            ),
        }
    }

    /// `out (+)= alpha D_l x`.
    fn d_apply(
        &self,
        l: usize,
        x: MatRef<'_, f64>,
        mut out: MatMut<'_, f64>,
        add: bool,
        alpha: f64,
    ) {
        let at = self.layers[l];
        match at.kind {
            Kind::Dense => gemm(out, add, self.d(l, at), x, alpha),
            Kind::Valid(g) => {
                let mut t = Mat::<f64>::zeros(out.nrows(), out.ncols());
                g.synthesize(self.d(l, at), x, t.as_mut(), Par::Seq);
                combine(out.as_mut(), t.as_ref(), add, alpha);
            }
        }
    }

    /// `out (+)= alpha D_l^T y`.
    fn dt_apply(
        &self,
        l: usize,
        y: MatRef<'_, f64>,
        mut out: MatMut<'_, f64>,
        add: bool,
        alpha: f64,
    ) {
        let at = self.layers[l];
        match at.kind {
            Kind::Dense => gemm(out, add, self.d(l, at).transpose(), y, alpha),
            Kind::Valid(g) => {
                let mut t = Mat::<f64>::zeros(out.nrows(), out.ncols());
                g.analyze(self.d(l, at), y, t.as_mut(), Par::Seq);
                combine(out.as_mut(), t.as_ref(), add, alpha);
            }
        }
    }

    /// `grad[D_l] += alpha d/dD_l sum_j <a_j, D_l b_j>`.
    fn d_grad(
        &self,
        l: usize,
        a: MatRef<'_, f64>,
        b: MatRef<'_, f64>,
        alpha: f64,
        grad: &mut [f64],
    ) {
        let at = self.layers[l];
        let (n, m) = (self.dims[l], self.dims[l + 1]);
        let len = at.d_len(n, m);
        let gd = &mut grad[at.d..at.d + len];
        match at.kind {
            Kind::Dense => {
                let gd = MatMut::from_column_major_slice_mut(gd, n, m);
                gemm(gd, true, a, b.transpose(), alpha);
            }
            Kind::Valid(g) => {
                let gd = MatMut::from_column_major_slice_mut(gd, g.patch_len(), g.maps);
                g.filter_grad(a, b, alpha, gd, Par::Seq);
            }
        }
    }

    /// The step `c_i`.
    pub fn step(&self, i: usize) -> Result<f64> {
        Ok(self.params[self.at(i)?.c])
    }

    /// The biases `b_i` (`n_i` entries for a dense layer, one per feature map for a
    /// convolutional one).
    pub fn bias(&self, i: usize) -> Result<&[f64]> {
        let at = self.at(i)?;
        Ok(&self.params[at.b..at.b + self.dims[i] / at.per_bias()])
    }

    /// The classifier `(W, w_0)`: `W` is `classes x n_L`.
    pub fn classifier(&self) -> (MatRef<'_, f64>, &[f64]) {
        let nl = self.dims[self.dims.len() - 1];
        (
            MatRef::from_column_major_slice(
                &self.params[self.w..self.w + self.classes * nl],
                self.classes,
                nl,
            ),
            &self.params[self.w0..self.w0 + self.classes],
        )
    }

    /// The learned dictionaries as a multi-layer model (dense and valid convolutional layers,
    /// atoms not normalised), for the pursuits of this crate.
    pub fn model(&self) -> Result<MlModel> {
        let layers = (1..=self.depth())
            .map(|i| match self.layers[i - 1].kind {
                Kind::Dense => Layer::from_matrix(self.dictionary(i)?),
                Kind::Valid(g) => Layer::valid(g, self.dictionary(i)?),
            })
            .collect::<Result<Vec<_>>>()?;
        MlModel::new(layers)
    }

    pub(crate) fn check_input(&self, x: MatRef<'_, f64>) -> Result<()> {
        check::batch("x", x, self.dims[0])?;
        Ok(())
    }

    pub(crate) fn check_labels(&self, x: MatRef<'_, f64>, labels: &[usize]) -> Result<()> {
        self.check_input(x)?;
        if labels.len() != x.ncols() {
            return Err(mismatch(
                "labels",
                format!("{} labels (one per column of x)", x.ncols()),
                format!("{}", labels.len()),
            ));
        }
        if let Some(&bad) = labels.iter().find(|&&l| l >= self.classes) {
            return Err(invalid("labels", bad, format!("labels < {}", self.classes)));
        }
        Ok(())
    }

    /// Forward pass; with `tape`, records what the backward pass needs. Returns `g_L`.
    fn run(&self, x: MatRef<'_, f64>, mut tape: Option<&mut Vec<Step>>) -> Mat<f64> {
        let nl = self.depth();
        let b = x.ncols();
        let rhos = momenta(self.unfoldings);
        let mut prev: Option<Mat<f64>> = None; // gamma^{(k-2)}
        let mut cur: Option<Mat<f64>> = None; // gamma^{(k-1)}
        for (k, &rho_k) in rhos.iter().enumerate().take(self.unfoldings) {
            let rho = if self.kind == Unfolding::Fista {
                rho_k
            } else {
                0.0
            };
            let mut h: Vec<Mat<f64>> = Vec::new();
            if let Some(c) = &cur {
                let mut z = c.clone();
                if rho != 0.0 {
                    z *= faer::Scale(1.0 + rho);
                    if let Some(p) = &prev {
                        gemm_axpy(&mut z, p, -rho);
                    }
                }
                h = self.dims.iter().map(|&n| Mat::zeros(n, b)).collect();
                h[nl] = z;
                for i in (0..nl).rev() {
                    let (lo, hi) = h.split_at_mut(i + 1);
                    self.d_apply(i, hi[0].as_ref(), lo[i].as_mut(), false, 1.0);
                }
            }
            let (mut rs, mut qs, mut as_) = (Vec::new(), Vec::new(), Vec::new());
            let mut gs: Vec<Mat<f64>> = Vec::with_capacity(nl);
            for i in 0..nl {
                let at = self.layers[i];
                let u = if i == 0 { x } else { gs[i - 1].as_ref() };
                let mut r = Mat::<f64>::zeros(self.dims[i], b);
                r -= u;
                if !h.is_empty() {
                    r += &h[i];
                }
                let mut q = Mat::<f64>::zeros(self.dims[i + 1], b);
                self.dt_apply(i, r.as_ref(), q.as_mut(), false, 1.0);
                let c = self.params[at.c];
                let pb = at.per_bias();
                let bias = &self.params[at.b..at.b + self.dims[i + 1] / pb];
                let a = Mat::<f64>::from_fn(self.dims[i + 1], b, |p, j| {
                    let hv = if h.is_empty() { 0.0 } else { h[i + 1][(p, j)] };
                    hv - c * q[(p, j)] + bias[p / pb]
                });
                let g = Mat::<f64>::from_fn(a.nrows(), b, |p, j| a[(p, j)].max(0.0));
                rs.push(r);
                qs.push(q);
                as_.push(a);
                gs.push(g);
            }
            let out = gs[nl - 1].clone();
            if let Some(t) = tape.as_deref_mut() {
                t.push(Step {
                    h,
                    r: rs,
                    q: qs,
                    a: as_,
                    rho: if k >= 1 { rho } else { 0.0 },
                });
            }
            prev = cur.take();
            cur = Some(out);
        }
        cur.unwrap_or_else(|| Mat::zeros(self.dims[nl], b))
    }

    /// The deepest code `g_L` after `K` iterations for every column of `x`.
    pub fn codes(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.check_input(x)?;
        Ok(self.run(x, None))
    }

    fn logits_of(&self, g: &Mat<f64>) -> Mat<f64> {
        let (w, w0) = self.classifier();
        let mut z = Mat::<f64>::from_fn(self.classes, g.ncols(), |c, _| w0[c]);
        gemm(z.as_mut(), true, w, g.as_ref(), 1.0);
        z
    }

    /// The logits `W g_L + w_0` (`classes x b`).
    pub fn logits(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.check_input(x)?;
        Ok(self.logits_of(&self.run(x, None)))
    }

    /// The predicted class of every column (the largest logit).
    pub fn predict(&self, x: MatRef<'_, f64>) -> Result<Vec<usize>> {
        let z = self.logits(x)?;
        Ok((0..z.ncols())
            .map(|j| {
                (0..z.nrows())
                    .max_by(|&a, &b| z[(a, j)].total_cmp(&z[(b, j)]))
                    .unwrap_or(0)
            })
            .collect())
    }

    /// The fraction of columns classified as `labels`.
    pub fn accuracy(&self, x: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
        self.check_labels(x, labels)?;
        let p = self.predict(x)?;
        let right = p.iter().zip(labels).filter(|(a, b)| a == b).count();
        Ok(right as f64 / labels.len() as f64)
    }

    /// Mean softmax cross-entropy over the columns.
    pub fn loss(&self, x: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
        self.check_labels(x, labels)?;
        let z = self.logits_of(&self.run(x, None));
        Ok(cross_entropy(&z, labels, None) / labels.len() as f64)
    }

    /// Mean softmax cross-entropy over the columns and its gradient with respect to the flat
    /// parameters (written into `grad`, added to what is there), by back-propagation through the
    /// `K` unfolded iterations. Returns the mean loss.
    pub fn loss_grad(&self, x: MatRef<'_, f64>, labels: &[usize], grad: &mut [f64]) -> Result<f64> {
        self.check_labels(x, labels)?;
        if grad.len() != self.params.len() {
            return Err(mismatch(
                "grad",
                format!("{} entries", self.params.len()),
                format!("{}", grad.len()),
            ));
        }
        Ok(self.backprop(x, labels, grad))
    }

    pub(crate) fn backprop(&self, x: MatRef<'_, f64>, labels: &[usize], grad: &mut [f64]) -> f64 {
        let nl = self.depth();
        let b = x.ncols();
        let mut tape = Vec::with_capacity(self.unfoldings);
        let g_last = self.run(x, Some(&mut tape));
        let z = self.logits_of(&g_last);
        let mut dz = Mat::<f64>::zeros(self.classes, b);
        let loss = cross_entropy(&z, labels, Some(&mut dz)) / b as f64;
        dz *= faer::Scale(1.0 / b as f64);
        // Classifier.
        let nlen = self.dims[nl];
        {
            let (gw, rest) = grad[self.w..].split_at_mut(self.classes * nlen);
            let gw = MatMut::from_column_major_slice_mut(gw, self.classes, nlen);
            gemm(gw, true, dz.as_ref(), g_last.transpose(), 1.0);
            for c in 0..self.classes {
                rest[c] += (0..b).map(|j| dz[(c, j)]).sum::<f64>();
            }
        }
        let (w, _) = self.classifier();
        // Adjoints of the deepest outputs of every iteration.
        let mut d_out: Vec<Mat<f64>> = (0..self.unfoldings).map(|_| Mat::zeros(nlen, b)).collect();
        gemm(
            d_out[self.unfoldings - 1].as_mut(),
            false,
            w.transpose(),
            dz.as_ref(),
            1.0,
        );
        for k in (0..self.unfoldings).rev() {
            let st = &tape[k];
            let has_h = !st.h.is_empty();
            let mut dg: Vec<Mat<f64>> = self.dims[1..].iter().map(|&n| Mat::zeros(n, b)).collect();
            dg[nl - 1] = std::mem::replace(&mut d_out[k], Mat::zeros(0, 0));
            let mut dh: Vec<Mat<f64>> = if has_h {
                self.dims.iter().map(|&n| Mat::zeros(n, b)).collect()
            } else {
                Vec::new()
            };
            for i in (0..nl).rev() {
                let at = self.layers[i];
                let (n, m) = (self.dims[i], self.dims[i + 1]);
                let pb = at.per_bias();
                let c = self.params[at.c];
                let mut da = std::mem::replace(&mut dg[i], Mat::zeros(0, 0));
                for j in 0..b {
                    for p in 0..m {
                        if st.a[i][(p, j)] <= 0.0 {
                            da[(p, j)] = 0.0;
                        }
                    }
                }
                for p in 0..m {
                    grad[at.b + p / pb] += (0..b).map(|j| da[(p, j)]).sum::<f64>();
                }
                if has_h {
                    dh[i + 1] += &da;
                }
                let mut dc = 0.0;
                for j in 0..b {
                    for p in 0..m {
                        dc -= da[(p, j)] * st.q[i][(p, j)];
                    }
                }
                grad[at.c] += dc;
                // dq = -c da; dD += r dq^T; dr = D dq.
                self.d_grad(i, st.r[i].as_ref(), da.as_ref(), -c, grad);
                let mut dr = Mat::<f64>::zeros(n, b);
                self.d_apply(i, da.as_ref(), dr.as_mut(), false, -c);
                if has_h {
                    dh[i] += &dr;
                }
                if i > 0 {
                    dg[i - 1] -= &dr;
                }
            }
            if has_h {
                // h_{i-1} = D_i h_i, top down.
                for i in 0..nl {
                    self.d_grad(i, dh[i].as_ref(), st.h[i + 1].as_ref(), 1.0, grad);
                    let (lo, hi) = dh.split_at_mut(i + 1);
                    self.dt_apply(i, lo[i].as_ref(), hi[0].as_mut(), true, 1.0);
                }
                // z = (1 + rho) gamma^{(k-1)} - rho gamma^{(k-2)}.
                let dzk = &dh[nl];
                gemm_axpy(&mut d_out[k - 1], dzk, 1.0 + st.rho);
                if k >= 2 && st.rho != 0.0 {
                    gemm_axpy(&mut d_out[k - 2], dzk, -st.rho);
                }
            }
        }
        loss
    }
}

/// `out = alpha t` or `out += alpha t`.
fn combine(mut out: MatMut<'_, f64>, t: MatRef<'_, f64>, add: bool, alpha: f64) {
    for j in 0..out.ncols() {
        for i in 0..out.nrows() {
            let v = alpha * t[(i, j)];
            out[(i, j)] = if add { out[(i, j)] + v } else { v };
        }
    }
}

/// `n x m` Gaussian matrix with unit-norm columns.
fn gaussian_unit<R: rand::Rng + ?Sized>(n: usize, m: usize, rng: &mut R) -> Mat<f64> {
    let mut d = Mat::<f64>::from_fn(n, m, |_, _| StandardNormal.sample(rng));
    for j in 0..m {
        let nrm = d.col(j).norm_l2().max(f64::MIN_POSITIVE);
        d.col_mut(j).iter_mut().for_each(|v| *v /= nrm);
    }
    d
}

/// `y += alpha x`.
fn gemm_axpy(y: &mut Mat<f64>, x: &Mat<f64>, alpha: f64) {
    for j in 0..y.ncols() {
        for i in 0..y.nrows() {
            y[(i, j)] += alpha * x[(i, j)];
        }
    }
}

/// Sum over columns of `-log softmax(z)_label`; with `dz`, writes `softmax(z) - onehot`.
pub(crate) fn cross_entropy(z: &Mat<f64>, labels: &[usize], mut dz: Option<&mut Mat<f64>>) -> f64 {
    let mut total = 0.0;
    for (j, &l) in labels.iter().enumerate() {
        let mx = (0..z.nrows())
            .map(|c| z[(c, j)])
            .fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = (0..z.nrows()).map(|c| (z[(c, j)] - mx).exp()).sum();
        total += -(z[(l, j)] - mx) + sum.ln();
        if let Some(d) = dz.as_deref_mut() {
            for c in 0..z.nrows() {
                d[(c, j)] = (z[(c, j)] - mx).exp() / sum - if c == l { 1.0 } else { 0.0 };
            }
        }
    }
    total
}
