//! Unsupervised multi-layer dictionary learning with sparse deeper dictionaries (Sulam, Papyan,
//! Romano & Elad, *Multi-layer convolutional sparse modeling: pursuit and dictionary learning*,
//! IEEE TSP 2018, section "learning the model").

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatMut, MatRef, Par};
use rand::seq::SliceRandom;
use sparse_core::{check, power_iteration, LinearOperator, PowerIteration};

use crate::data::select_columns;
use crate::error::{invalid, Result};
use crate::layer::Layer;
use crate::model::MlModel;
use crate::pursuits::Projection;
use crate::valid::ValidGeometry;

/// Multi-layer dictionary learning: the problem
///
/// `min_{D_i, Gamma_K} mean_t 1/2 ||y_t - D_1 D_2 ... D_K Gamma_K^t||_2^2 + sum_{i>=2} zeta_i ||D_i||_1`
/// s.t. `||Gamma_K^t||_0 <= s`,
///
/// where the l1 penalty (the convex proxy of the paper's `||D_i||_0`) keeps the deeper
/// dictionaries sparse, so that every intermediate `Gamma_i = D_(i+1,K) Gamma_K` is sparse too
/// (`||Gamma_{i-1}||_0 <= ||D_i||_0-column-support times ||Gamma_i||_0`). Each mini-batch:
///
/// 1. **sparse coding** of the deepest layer through the effective dictionary: Batch-OMP of `s`
///    atoms on `D_(1,K)` ([`Projection`]);
/// 2. **dictionary update**, one layer after the other: a proximal-gradient step on `D_l` for
///    the mini-batch fit `1/(2b) ||Y - A D_l B||_F^2` (`A = D_(1,l-1)`, `B = D_(l+1,K) Gamma_K`)
///    with step `rate b / (||A||_2^2 ||B||_2^2)`, soft thresholding of the entries of `D_l` (`l >= 2`) at
///    `step zeta_l`, and atoms renormalised to unit norm.
///
/// Dense and valid convolutional layers ([`Layer::Valid`]: the filters are updated, the
/// Lipschitz constant of each filter block found by power iteration).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `sparsity` | (required) | atoms per signal in the deepest layer |
/// | `zeta` | `0.0` for every layer | l1 weight of every layer (`zeta[0]`, for `D_1`, is not used) |
/// | `rate` | `0.5` | step as a fraction of the inverse Lipschitz constant of each block |
/// | `epochs` | `5` | passes over the data |
/// | `batch_size` | `256` | signals per update |
/// | `seed` | `0` | shuffling seed |
/// | `par` | `Par::rayon(0)` | parallelism |
#[derive(Debug, Clone)]
pub struct MlDictionaryLearning {
    /// Atoms per signal of the deepest code.
    pub sparsity: usize,
    /// l1 weight of every layer (`D_1`'s is ignored).
    pub zeta: Vec<f64>,
    /// Step as a fraction of each block's `1 / L`.
    pub rate: f64,
    /// Passes over the data.
    pub epochs: usize,
    /// Signals per update.
    pub batch_size: usize,
    /// Shuffling seed.
    pub seed: u64,
    /// Parallelism.
    pub par: Par,
}

/// What the observer of a learning run receives after every epoch.
#[derive(Debug, Clone, PartialEq)]
pub struct LearningReport {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean squared representation error `||Y - D_(1,K) Gamma_K||_F^2 / (n b)` over the epoch.
    pub mse: f64,
    /// Fraction of non-zero entries of every `D_i` after the epoch.
    pub density: Vec<f64>,
}

fn spectral_sq(m: MatRef<'_, f64>) -> f64 {
    if m.nrows() == 0 || m.ncols() == 0 {
        return 0.0;
    }
    m.singular_values()
        .ok()
        .and_then(|s| s.first().copied())
        .map_or(0.0, |s| s * s)
}

impl MlDictionaryLearning {
    /// Learning with `sparsity` deepest atoms and the defaults of the table.
    pub fn new(sparsity: usize) -> Self {
        Self {
            sparsity,
            zeta: Vec::new(),
            rate: 0.5,
            epochs: 5,
            batch_size: 256,
            seed: 0,
            par: Par::rayon(0),
        }
    }
    sparse_core::setters! {
        /// Sets `zeta`.
        zeta: Vec<f64>,
        /// Sets `rate`.
        rate: f64,
        /// Sets `epochs`.
        epochs: usize,
        /// Sets `batch_size`.
        batch_size: usize,
        /// Sets `seed`.
        seed: u64,
    }

    /// Learns from the columns of `y`, starting at `init` (dense or valid convolutional layers); `observer` sees a
    /// [`LearningReport`] after every epoch. Returns the learned model.
    pub fn fit(
        &self,
        init: &MlModel,
        y: MatRef<'_, f64>,
        mut observer: impl FnMut(&LearningReport),
    ) -> Result<MlModel> {
        check::batch("y", y, init.signal_len())?;
        check::count("batch_size", self.batch_size, usize::MAX)?;
        check::positive("rate", self.rate)?;
        let k = init.depth();
        let zeta = if self.zeta.is_empty() {
            vec![0.0; k]
        } else {
            self.zeta.clone()
        };
        super::pursuits::check_per_layer("zeta", &zeta, init)?;
        for &z in &zeta {
            check::non_negative("zeta", z)?;
        }
        for (i, l) in init.layers().iter().enumerate() {
            if matches!(**l, Layer::Conv(_)) {
                return Err(invalid(
                    "init",
                    format!("layer {} circular convolutional", i + 1),
                    "dense or valid convolutional layers (Layer::Dense, Layer::Valid)",
                ));
            }
        }
        let mut layers: Vec<Layer> = init.layers().iter().map(|l| (**l).clone()).collect();
        let mut order: Vec<usize> = (0..y.ncols()).collect();
        let mut rng = sparse_core::generate::rng(self.seed);
        let pursuit = Projection::omp(self.sparsity).par(self.par);
        let quick = PowerIteration {
            max_iter: 50,
            tol: 1e-4,
            seed: 0,
        };
        // Leading right singular vectors of every filter map, carried across batches.
        let mut warm: Vec<Option<Mat<f64>>> = vec![None; k];
        for epoch in 1..=self.epochs {
            order.shuffle(&mut rng);
            let (mut err, mut count) = (0.0, 0usize);
            for chunk in order.chunks(self.batch_size) {
                let yb = select_columns(y, chunk);
                let model = MlModel::new(layers.clone())?;
                let gamma = pursuit.deepest_code(&model, yb.as_ref())?;
                let nb = yb.ncols() as f64;
                // B_l = D_{l+1} ... D_K Gamma for every l, from the deepest down: the layers
                // above l are updated one after the other below, those deeper than l are not
                // yet when layer l is, so every B_l is computed once per batch.
                let mut bs: Vec<Mat<f64>> = vec![gamma];
                for d in layers[1..].iter().rev() {
                    let next = apply(d, bs[bs.len() - 1].as_ref(), self.par);
                    bs.push(next);
                }
                bs.reverse();
                for l in 0..k {
                    // The residual R = A D_l B_l - Y with A = D_1 ... D_{l-1}; the gradient of
                    // 1/(2b) ||R||^2 in D_l is that of <A^T R, D_l B_l> / b.
                    let b = &bs[l];
                    let mut xhat = apply(&layers[l], b.as_ref(), self.par);
                    for d in layers[..l].iter().rev() {
                        xhat = apply(d, xhat.as_ref(), self.par);
                    }
                    let mut r = xhat;
                    r -= &yb;
                    if l == 0 {
                        err += r.squared_norm_l2();
                        count += r.nrows() * r.ncols();
                    }
                    let mut atr = r;
                    for d in layers[..l].iter() {
                        atr = adjoint(d, atr.as_ref(), self.par);
                    }
                    let lip_a = if l == 0 {
                        1.0
                    } else {
                        let a = MlModel::new(layers[..l].to_vec())?.effective(1, l)?;
                        1.05 * power_iteration(&a, quick)
                    };
                    let layer = &mut layers[l];
                    let (lip_b, mut grad) = match layer {
                        Layer::Dense(d) => {
                            let mut g = Mat::<f64>::zeros(d.nrows(), d.ncols());
                            matmul(
                                g.as_mut(),
                                Accum::Replace,
                                atr.as_ref(),
                                b.transpose(),
                                1.0,
                                self.par,
                            );
                            (spectral_sq(b.as_ref()), g)
                        }
                        Layer::Valid(v) => {
                            let geom = v.geometry();
                            let mut g = Mat::<f64>::zeros(geom.patch_len(), geom.maps);
                            geom.filter_grad(atr.as_ref(), b.as_ref(), 1.0, g.as_mut(), self.par);
                            let lip = if geom.positions() == 1 {
                                // One position: D_l(F) B = F B exactly.
                                spectral_sq(b.as_ref())
                            } else {
                                let map = FilterMap {
                                    geom,
                                    b: b.as_ref(),
                                };
                                1.1 * warm_power(&map, &mut warm[l], 6)
                            };
                            (lip, g)
                        }
                        Layer::Conv(_) => unreachable!("refused above"),
                    };
                    grad *= faer::Scale(1.0 / nb);
                    let lip = lip_a * lip_b / nb;
                    if lip <= 0.0 || !lip.is_finite() {
                        continue;
                    }
                    let step = self.rate / lip;
                    let thr = if l == 0 { 0.0 } else { step * zeta[l] };
                    let mut d = match layer {
                        Layer::Dense(d) => d.as_mut(),
                        Layer::Valid(v) => v.filters_mut(),
                        Layer::Conv(_) => unreachable!("refused above"),
                    };
                    for j in 0..d.ncols() {
                        for i in 0..d.nrows() {
                            let v = d[(i, j)] - step * grad[(i, j)];
                            d[(i, j)] = sparse_core::shrink::soft(v, thr);
                        }
                        let nrm = d.as_ref().col(j).norm_l2();
                        if nrm > 0.0 {
                            d.as_mut().col_mut(j).iter_mut().for_each(|v| *v /= nrm);
                        }
                    }
                }
            }
            let density = layers
                .iter()
                .map(|l| {
                    let d = match l {
                        Layer::Dense(d) => d.as_ref(),
                        Layer::Valid(v) => v.filters(),
                        Layer::Conv(_) => unreachable!("refused above"),
                    };
                    let nnz = (0..d.ncols())
                        .map(|j| d.col(j).iter().filter(|v| **v != 0.0).count())
                        .sum::<usize>();
                    nnz as f64 / (d.nrows() * d.ncols()) as f64
                })
                .collect();
            observer(&LearningReport {
                epoch,
                mse: err / count.max(1) as f64,
                density,
            });
        }
        MlModel::new(layers)
    }
}

fn apply(l: &Layer, x: MatRef<'_, f64>, par: Par) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(l.nrows(), x.ncols());
    l.apply_raw(x, out.as_mut(), par);
    out
}

fn adjoint(l: &Layer, y: MatRef<'_, f64>, par: Par) -> Mat<f64> {
    let mut out = Mat::<f64>::zeros(l.ncols(), y.ncols());
    l.apply_adjoint_raw(y, out.as_mut(), par);
    out
}

/// `||M||_2^2` by `iters` power iterations started from `start` (or a fixed pseudo-random
/// vector), which receives the final iterate: a warm start makes a few iterations enough when
/// the operator changes slowly (the filter maps of successive mini-batches).
fn warm_power<Op: LinearOperator>(op: &Op, start: &mut Option<Mat<f64>>, iters: usize) -> f64 {
    let m = op.ncols();
    let mut x = match start.take() {
        Some(x) if x.nrows() == m => x,
        _ => Mat::<f64>::from_fn(m, 1, |i, _| 1.0 + ((i * 7919) % 13) as f64 / 13.0),
    };
    let mut y = Mat::<f64>::zeros(op.nrows(), 1);
    let mut est = 0.0;
    for _ in 0..iters.max(1) {
        let n = x.norm_l2();
        if n == 0.0 {
            return 0.0;
        }
        x *= faer::Scale(1.0 / n);
        op.apply_raw(x.as_ref(), y.as_mut(), Par::rayon(0));
        est = y.squared_norm_l2();
        let mut z = Mat::<f64>::zeros(m, 1);
        op.apply_adjoint_raw(y.as_ref(), z.as_mut(), Par::rayon(0));
        x = z;
    }
    *start = Some(x);
    est
}

/// The linear map `F -> D_l(F) B` from the (flattened) filters of a valid layer to its
/// synthesis of the codes `B`: its `||.||_2^2` is the Lipschitz constant of the filter update.
struct FilterMap<'a> {
    geom: ValidGeometry,
    b: MatRef<'a, f64>,
}

impl LinearOperator for FilterMap<'_> {
    fn nrows(&self) -> usize {
        self.geom.input_len() * self.b.ncols()
    }
    fn ncols(&self) -> usize {
        self.geom.patch_len() * self.geom.maps
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, mut out: MatMut<'_, f64>, par: Par) {
        let (pl, n, nb) = (self.geom.patch_len(), self.geom.input_len(), self.b.ncols());
        for c in 0..x.ncols() {
            let f = Mat::<f64>::from_fn(pl, self.geom.maps, |i, j| x[(i + pl * j, c)]);
            let mut y = Mat::<f64>::zeros(n, nb);
            self.geom.synthesize(f.as_ref(), self.b, y.as_mut(), par);
            for j in 0..nb {
                for i in 0..n {
                    out[(i + n * j, c)] = y[(i, j)];
                }
            }
        }
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, mut out: MatMut<'_, f64>, par: Par) {
        let (pl, n, nb) = (self.geom.patch_len(), self.geom.input_len(), self.b.ncols());
        for c in 0..y.ncols() {
            let a = Mat::<f64>::from_fn(n, nb, |i, j| y[(i + n * j, c)]);
            let mut g = Mat::<f64>::zeros(pl, self.geom.maps);
            self.geom
                .filter_grad(a.as_ref(), self.b, 1.0, g.as_mut(), par);
            for j in 0..self.geom.maps {
                for i in 0..pl {
                    out[(i + pl * j, c)] = g[(i, j)];
                }
            }
        }
    }
}

/// Lays the columns of `atoms` (each an `h x w` image, column-major) out as a grid of tiles
/// with `cols` tiles per row and a one-pixel border, every tile scaled to `[0, 255]` on its own
/// (for [`sparse_core::io::write_png_gray`]).
pub fn tile_atoms(atoms: MatRef<'_, f64>, shape: (usize, usize), cols: usize) -> Result<Mat<f64>> {
    let (h, w) = shape;
    if h * w != atoms.nrows() {
        return Err(invalid(
            "shape",
            format!("{h}x{w}"),
            format!("{} pixels (the rows of atoms)", atoms.nrows()),
        ));
    }
    check::count("cols", cols, usize::MAX)?;
    let n = atoms.ncols();
    let rows = n.div_ceil(cols).max(1);
    let mut img = Mat::<f64>::from_fn(rows * (h + 1) + 1, cols * (w + 1) + 1, |_, _| 128.0);
    for t in 0..n {
        let col = atoms.col(t);
        let (lo, hi) = col
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| {
                (a.min(v), b.max(v))
            });
        let span = if hi > lo { hi - lo } else { 1.0 };
        let (tr, tc) = (t / cols, t % cols);
        for c in 0..w {
            for r in 0..h {
                img[(1 + tr * (h + 1) + r, 1 + tc * (w + 1) + c)] =
                    (255.0 * (col[r + h * c] - lo) / span).clamp(0.0, 255.0);
            }
        }
    }
    Ok(img)
}

/// `D_(1,i)` of a model, or its first `max_atoms` columns, as the atoms to tile.
pub fn effective_atoms(model: &MlModel, i: usize, max_atoms: usize) -> Result<Mat<f64>> {
    let eff = model.effective_dense(1, i)?;
    let m = eff.ncols().min(max_atoms);
    Ok(eff.as_ref().subcols(0, m).to_owned())
}

impl MlModel {
    /// Total number of non-zero entries of every layer (`||D_i||_0`).
    pub fn layer_nnz(&self) -> Vec<usize> {
        self.layers().iter().map(|l| l.nnz()).collect()
    }
}

/// The effective atoms of a convolutional model as small images: for layers `1..=i` all valid
/// convolutions on a one-channel image of `shape`, the atom of every filter of layer `i`
/// (`D_1 ... D_i` applied to that filter at the first position) cropped to its receptive field
/// `r x r`, `r = k_1 + sum_{l=2..i} (k_l - 1) s_1 ... s_{l-1}` — the "atoms to molecules"
/// pictures of Sulam, Papyan, Romano & Elad (2018). Returns the `r^2 x m_i` atoms (column-major
/// crops) and `(r_rows, r_cols)`.
pub fn effective_filters(
    model: &MlModel,
    i: usize,
    shape: (usize, usize),
) -> Result<(Mat<f64>, (usize, usize))> {
    let layers = model.layers();
    if i == 0 || i > layers.len() {
        return Err(invalid("i", i, format!("a layer in 1..={}", layers.len())));
    }
    let (mut rf, mut jump) = ((0usize, 0usize), 1usize);
    for (l, layer) in layers[..i].iter().enumerate() {
        let Some(v) = layer.as_valid() else {
            return Err(invalid(
                "model",
                format!("layer {} not a valid convolution", l + 1),
                "valid convolutional layers up to layer i",
            ));
        };
        let g = v.geometry();
        if l == 0 && (g.channels != 1 || g.input != shape) {
            return Err(invalid(
                "shape",
                format!("{}x{}", shape.0, shape.1),
                format!(
                    "the one-channel input grid of layer 1 ({}x{}, {} channels)",
                    g.input.0, g.input.1, g.channels
                ),
            ));
        }
        rf = if l == 0 {
            g.kernel
        } else {
            (
                rf.0 + (g.kernel.0 - 1) * jump,
                rf.1 + (g.kernel.1 - 1) * jump,
            )
        };
        jump *= g.stride;
    }
    let last = layers[i - 1].as_valid().map(|v| v.geometry());
    let Some(g) = last else {
        return Err(invalid("model", "no layer", "a valid convolution"));
    };
    let np = g.positions();
    let unit = Mat::<f64>::from_fn(
        g.code_len(),
        g.maps,
        |r, q| if r == q * np { 1.0 } else { 0.0 },
    );
    let mut x = unit;
    for layer in layers[..i].iter().rev() {
        let mut next = Mat::<f64>::zeros(layer.nrows(), x.ncols());
        layer.apply_raw(x.as_ref(), next.as_mut(), Par::rayon(0));
        x = next;
    }
    let (rf0, rf1) = (rf.0.min(shape.0), rf.1.min(shape.1));
    let atoms = Mat::<f64>::from_fn(rf0 * rf1, g.maps, |e, q| {
        let (r, c) = (e % rf0, e / rf0);
        x[(r + shape.0 * c, q)]
    });
    Ok((atoms, (rf0, rf1)))
}
