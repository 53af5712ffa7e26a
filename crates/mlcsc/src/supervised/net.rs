//! The unfolded ML-ISTA / ML-FISTA network: parameters, forward pass with a tape, and the
//! hand-written back-propagation.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use sparse_core::{check, LinearOperator};

use super::engine::{Engine, Op, Plan, PlanLayer, Real, Work};
use crate::error::{invalid, mismatch, Error, Result};
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

/// The floating-point type a network computes in. Parameters are stored in float64 either
/// way; float32 runs cast them once per call (or per training batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum Precision {
    /// Single precision: SIMD lanes twice as wide, the precision of PyTorch training.
    F32,
    /// Double precision (the finite-difference tests).
    #[default]
    F64,
}

/// How [`UnfoldedNet::initialised`] draws the parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// As [`UnfoldedNet::new`]: unit-norm Gaussian atoms, ISTA's steps `c_i = 1 / ||D_i||^2`,
    /// biases `-0.01` (dense) or `0` (convolutional), a Gaussian classifier.
    Ista,
    /// The initialisation of the authors' code (Sulam et al. 2019, `MNIST/Models.py`):
    /// Gaussian filters scaled by `scale / sqrt(fan_in)` (`scale = 0.1` there; fan-in = the
    /// filter length), steps `c_i = 1`, zero biases, and PyTorch's default `nn.Linear`
    /// classifier, weights and biases uniform in `(-1/sqrt(n_L), 1/sqrt(n_L))`.
    FanIn {
        /// Factor of the filters' standard deviation `scale / sqrt(fan_in)`.
        scale: f64,
    },
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

fn gemm(dst: MatMut<'_, f64>, add: bool, lhs: MatRef<'_, f64>, rhs: MatRef<'_, f64>, alpha: f64) {
    let acc = if add { Accum::Add } else { Accum::Replace };
    matmul(dst, acc, lhs, rhs, alpha, Par::Seq);
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

    /// The same architecture with parameters redrawn by `init`, seeded.
    ///
    /// ```
    /// use mlcsc::supervised::{Init, LayerSpec, UnfoldedNet, Unfolding};
    /// let specs = [LayerSpec::Conv { maps: 4, kernel: (6, 6), stride: 2 }, LayerSpec::Dense(8)];
    /// let net = UnfoldedNet::convolutional((1, 28, 28), &specs, 10, 1, Unfolding::Ista, 0)?
    ///     .initialised(Init::FanIn { scale: 0.1 }, 1)?;
    /// assert_eq!(net.step(1)?, 1.0);
    /// # Ok::<(), mlcsc::Error>(())
    /// ```
    pub fn initialised(&self, init: Init, seed: u64) -> Result<Self> {
        let Init::FanIn { scale } = init else {
            let specs: Vec<LayerSpec> = self
                .layers
                .iter()
                .enumerate()
                .map(|(l, at)| match at.kind {
                    Kind::Dense => LayerSpec::Dense(self.dims[l + 1]),
                    Kind::Valid(g) => LayerSpec::Conv {
                        maps: g.maps,
                        kernel: g.kernel,
                        stride: g.stride,
                    },
                })
                .collect();
            let shape = match self.layers.first().map(|a| a.kind) {
                Some(Kind::Valid(g)) => Some((g.channels, g.input.0, g.input.1)),
                _ => None,
            };
            return Self::build(
                self.dims[0],
                shape,
                &specs,
                self.classes,
                self.unfoldings,
                self.kind,
                seed,
            );
        };
        if !(scale.is_finite() && scale > 0.0) {
            return Err(invalid("scale", scale, "a positive finite number"));
        }
        use rand_distr::Uniform;
        let mut rng = sparse_core::generate::rng(seed);
        let mut out = self.clone();
        for (l, at) in self.layers.iter().enumerate() {
            let (n, m) = (self.dims[l], self.dims[l + 1]);
            let fan_in = match at.kind {
                Kind::Dense => n,
                Kind::Valid(g) => g.patch_len(),
            };
            let sd = scale / (fan_in as f64).sqrt();
            for v in &mut out.params[at.d..at.d + at.d_len(n, m)] {
                let z: f64 = StandardNormal.sample(&mut rng);
                *v = sd * z;
            }
            out.params[at.c] = 1.0;
            let nb = m / at.per_bias();
            out.params[at.b..at.b + nb]
                .iter_mut()
                .for_each(|v| *v = 0.0);
        }
        let nl = self.dims[self.depth()];
        let bound = 1.0 / (nl as f64).sqrt();
        let u = Uniform::new(-bound, bound)
            .map_err(|e| invalid::<Error>("init", e, "a valid range"))?;
        for v in &mut out.params[self.w..] {
            *v = u.sample(&mut rng);
        }
        Ok(out)
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

    /// The engine's plan of this network (layers, offsets, layout permutations).
    pub(crate) fn plan(&self) -> Plan {
        let layers = self
            .layers
            .iter()
            .enumerate()
            .map(|(l, at)| PlanLayer {
                op: match at.kind {
                    Kind::Dense => Op::Dense {
                        n: self.dims[l],
                        m: self.dims[l + 1],
                    },
                    Kind::Valid(g) => Op::Conv(g),
                },
                d: at.d,
                c: at.c,
                b: at.b,
            })
            .collect();
        Plan::new(
            layers,
            self.dims.clone(),
            self.classes,
            self.unfoldings,
            self.kind == Unfolding::Fista,
            self.w,
            self.w0,
            self.params.len(),
        )
    }

    /// Forward pass of every column in `precision`, chunks of 128 columns in parallel.
    /// Returns `g_L` (canonical layout).
    fn run(&self, x: MatRef<'_, f64>, precision: Precision) -> Mat<f64> {
        match precision {
            Precision::F32 => self.run_in::<f32>(x),
            Precision::F64 => self.run_in::<f64>(x),
        }
    }

    fn run_in<T: Real>(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        use rayon::prelude::*;
        const CHUNK: usize = 128;
        let plan = self.plan();
        let p = plan.params_in::<T>(&self.params);
        let eng = Engine { plan: &plan, p: &p };
        let b = x.ncols();
        let starts: Vec<usize> = (0..b).step_by(CHUNK).collect();
        let parts: Vec<Mat<f64>> = starts
            .par_iter()
            .map(|&s| {
                let w = CHUNK.min(b - s);
                let xi = plan.input_in::<T>(x.subcols(s, w));
                let g = eng.forward(&xi, w, None, &mut Work::default());
                plan.output_out(&g, w)
            })
            .collect();
        let mut out = Mat::<f64>::zeros(self.dims[self.depth()], b);
        for (&s, part) in starts.iter().zip(&parts) {
            out.as_mut().subcols_mut(s, part.ncols()).copy_from(part);
        }
        out
    }

    /// The deepest code `g_L` after `K` iterations for every column of `x`.
    pub fn codes(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.check_input(x)?;
        Ok(self.run(x, Precision::F64))
    }

    fn logits_of(&self, g: &Mat<f64>) -> Mat<f64> {
        let (w, w0) = self.classifier();
        let mut z = Mat::<f64>::from_fn(self.classes, g.ncols(), |c, _| w0[c]);
        gemm(z.as_mut(), true, w, g.as_ref(), 1.0);
        z
    }

    /// The logits `W g_L + w_0` (`classes x b`), computed in float64.
    pub fn logits(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        self.logits_with(x, Precision::F64)
    }

    /// The logits computed in `precision` (float32 is about twice as fast; the classifier is
    /// applied in float64).
    pub fn logits_with(&self, x: MatRef<'_, f64>, precision: Precision) -> Result<Mat<f64>> {
        self.check_input(x)?;
        Ok(self.logits_of(&self.run(x, precision)))
    }

    /// The predicted class of every column (the largest logit).
    pub fn predict(&self, x: MatRef<'_, f64>) -> Result<Vec<usize>> {
        self.predict_with(x, Precision::F64)
    }

    /// The predicted classes, the network run in `precision`.
    pub fn predict_with(&self, x: MatRef<'_, f64>, precision: Precision) -> Result<Vec<usize>> {
        let z = self.logits_with(x, precision)?;
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
        self.accuracy_with(x, labels, Precision::F64)
    }

    /// The fraction of columns classified as `labels`, the network run in `precision`.
    pub fn accuracy_with(
        &self,
        x: MatRef<'_, f64>,
        labels: &[usize],
        precision: Precision,
    ) -> Result<f64> {
        self.check_labels(x, labels)?;
        let p = self.predict_with(x, precision)?;
        let right = p.iter().zip(labels).filter(|(a, b)| a == b).count();
        Ok(right as f64 / labels.len().max(1) as f64)
    }

    /// Mean softmax cross-entropy over the columns.
    pub fn loss(&self, x: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
        self.check_labels(x, labels)?;
        let z = self.logits_of(&self.run(x, Precision::F64));
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
        let plan = self.plan();
        let p = plan.params_in::<f64>(&self.params);
        let xi = plan.input_in::<f64>(x);
        let mut g = vec![0.0; p.len()];
        let eng = Engine { plan: &plan, p: &p };
        let (loss, _) = eng.backprop(
            &xi,
            labels,
            1.0 / labels.len().max(1) as f64,
            &mut g,
            &mut Work::default(),
        );
        for (i, &c) in plan.perm.iter().enumerate() {
            grad[c] += g[i];
        }
        loss
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
