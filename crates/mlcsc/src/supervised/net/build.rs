//! Construction of an [`UnfoldedNet`]: layer layout, re-shaping and initialisation.

use faer::Mat;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::{check, LinearOperator};

use super::{Init, Kind, LayerAt, LayerSpec, UnfoldedNet, Unfolding};
use crate::error::{invalid, Error, Result};
use crate::valid::{ValidConv, ValidGeometry};

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
        check::count("unfoldings", unfoldings, super::MAX_UNFOLDINGS)?;
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
        check::count("unfoldings", unfoldings, super::MAX_UNFOLDINGS)?;
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
