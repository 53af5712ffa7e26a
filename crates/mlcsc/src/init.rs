//! Data-driven initialisation of valid-convolution ML-CSC models for dictionary learning, as
//! in the MNIST experiments of Sulam, Papyan, Romano & Elad, *Multi-layer convolutional sparse
//! modeling: pursuit and dictionary learning*, IEEE TSP 2018 (sec. VI): the first dictionary
//! from image patches, the intermediate ones sparse and random (the model wants sparse deeper
//! dictionaries, so that every intermediate code stays sparse), the deepest from sparse
//! back-projections of training images, so that the effective atoms `D_1 ... D_K` start as
//! smoothed images.

use faer::{Mat, MatRef};
use rand::seq::index::sample;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::{check, LinearOperator};

use crate::error::{invalid, Result};
use crate::layer::Layer;
use crate::model::MlModel;
use crate::valid::{ValidConv, ValidGeometry};

/// Initialisation of a model of valid convolutional layers from training images.
///
/// With the geometries `g_1, ..., g_K` (`K >= 2`, chained: `g_{i+1}` reads the code of `g_i`):
///
/// 1. `D_1`: each filter is a patch of a random image at a random position where the filter
///    fits, normalised to unit norm; patches with norm below `min_patch_norm` (blank
///    background) are redrawn;
/// 2. `D_2 ... D_{K-1}`: each filter has `floor(middle_density * patch_len)` (at least one)
///    non-zero standard Gaussian entries on a random support, normalised;
/// 3. `D_K`: each filter is the back-projection `D_{K-1}^T ... D_1^T y` of a random image `y`
///    (redrawn while the back-projection is zero), restricted to its
///    `floor(last_density * patch_len)` (at least one) entries largest in magnitude, normalised.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `min_patch_norm` | `1.0` | smallest l2 norm of an accepted first-layer patch (images in `[0, 1]`) |
/// | `middle_density` | `0.05` | fraction of non-zero entries of the intermediate filters |
/// | `last_density` | `0.01` | fraction of the back-projection kept in the deepest filters |
/// | `seed` | `0` | seed of every random choice |
#[derive(Debug, Clone, PartialEq)]
pub struct DataInit {
    /// Smallest l2 norm of an accepted first-layer patch.
    pub min_patch_norm: f64,
    /// Fraction of non-zero entries of the intermediate filters.
    pub middle_density: f64,
    /// Fraction of the back-projection kept in the deepest filters.
    pub last_density: f64,
    /// Seed of every random choice.
    pub seed: u64,
}

impl Default for DataInit {
    fn default() -> Self {
        Self {
            min_patch_norm: 1.0,
            middle_density: 0.05,
            last_density: 0.01,
            seed: 0,
        }
    }
}

/// Draws of first-layer patches allowed per filter before giving up on the images.
const MAX_DRAWS_PER_FILTER: usize = 10_000;

impl DataInit {
    /// The defaults with `seed`.
    pub fn new(seed: u64) -> Self {
        Self {
            seed,
            ..Self::default()
        }
    }

    sparse_core::setters! {
        /// Sets `min_patch_norm`.
        min_patch_norm: f64,
        /// Sets `middle_density`.
        middle_density: f64,
        /// Sets `last_density`.
        last_density: f64,
    }

    /// The initial model for `geometries` from the columns of `images` (each an input of
    /// `g_1`: `channels x input.0 x input.1`, column-major, channel after channel).
    ///
    /// Errors: fewer than two geometries or geometries that do not chain (`geometries`);
    /// `images` empty, non-finite or not `g_1.input_len()` rows; densities outside `(0, 1]`,
    /// a negative `min_patch_norm`; no patch reaching `min_patch_norm`, or only zero
    /// back-projections, in `10000 maps` draws (`images`).
    pub fn init(&self, geometries: &[ValidGeometry], images: MatRef<'_, f64>) -> Result<MlModel> {
        if geometries.len() < 2 {
            return Err(invalid(
                "geometries",
                geometries.len(),
                "at least two layers (patches first, back-projections last)",
            ));
        }
        for (i, w) in geometries.windows(2).enumerate() {
            if w[1].input_len() != w[0].code_len() {
                return Err(invalid(
                    "geometries",
                    format!("layer {} reads {} entries", i + 2, w[1].input_len()),
                    format!("the code length of layer {} ({})", i + 1, w[0].code_len()),
                ));
            }
        }
        let g1 = geometries[0];
        check::batch("images", images, g1.input_len())?;
        check::non_negative("min_patch_norm", self.min_patch_norm)?;
        for (name, v) in [
            ("middle_density", self.middle_density),
            ("last_density", self.last_density),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(invalid(name, v, "a fraction in (0, 1]"));
            }
        }
        let mut rng = sparse_core::generate::rng(self.seed);
        let n_img = images.ncols();

        // D_1: normalised patches with some ink.
        let (h, w) = g1.input;
        let (kh, kw) = g1.kernel;
        let mut f1 = Mat::<f64>::zeros(g1.patch_len(), g1.maps);
        let (mut q, mut draws) = (0, 0usize);
        while q < g1.maps {
            draws += 1;
            if draws > MAX_DRAWS_PER_FILTER * g1.maps {
                return Err(invalid(
                    "images",
                    format!("{q} of {} patches found", g1.maps),
                    format!(
                        "patches of norm >= min_patch_norm = {}",
                        self.min_patch_norm
                    ),
                ));
            }
            let img = rng.random_range(0..n_img);
            let (r0, c0) = (
                rng.random_range(0..h - kh + 1),
                rng.random_range(0..w - kw + 1),
            );
            let patch = Mat::<f64>::from_fn(g1.patch_len(), 1, |e, _| {
                let (ch, k) = (e / (kh * kw), e % (kh * kw));
                images[(ch * h * w + r0 + k % kh + h * (c0 + k / kh), img)]
            });
            let n = patch.col(0).norm_l2();
            if n < self.min_patch_norm || n == 0.0 {
                continue;
            }
            for e in 0..g1.patch_len() {
                f1[(e, q)] = patch[(e, 0)] / n;
            }
            q += 1;
        }
        let mut layers = vec![ValidConv::new(g1, f1.as_ref())?];

        // D_2 ... D_{K-1}: sparse Gaussian filters.
        let k = geometries.len();
        for &g in &geometries[1..k - 1] {
            let nnz = density_count(g.patch_len(), self.middle_density);
            let f = sparse_filters(g.patch_len(), g.maps, nnz, &mut rng);
            layers.push(ValidConv::new(g, f.as_ref())?);
        }

        // D_K: the largest entries of back-projected images.
        let gk = geometries[k - 1];
        let picks: Vec<usize> = (0..gk.maps).map(|_| rng.random_range(0..n_img)).collect();
        let mut back = Mat::<f64>::from_fn(images.nrows(), gk.maps, |i, j| images[(i, picks[j])]);
        for l in &layers {
            back = l.apply_adjoint(back.as_ref())?;
        }
        // A blank image back-projects to zero: draw another one for that filter.
        let mut draws = 0usize;
        for q in 0..gk.maps {
            while back.col(q).norm_l2() == 0.0 {
                draws += 1;
                if draws > MAX_DRAWS_PER_FILTER * gk.maps {
                    return Err(invalid(
                        "images",
                        "only zero back-projections drawn",
                        "images whose back-projection D_{K-1}^T ... D_1^T y is not zero",
                    ));
                }
                let pick = rng.random_range(0..n_img);
                let mut col = Mat::<f64>::from_fn(images.nrows(), 1, |i, _| images[(i, pick)]);
                for l in &layers {
                    col = l.apply_adjoint(col.as_ref())?;
                }
                back.col_mut(q)
                    .iter_mut()
                    .zip(col.col(0).iter())
                    .for_each(|(b, v)| *b = *v);
            }
        }
        let keep = density_count(gk.patch_len(), self.last_density);
        let mut fk = Mat::<f64>::zeros(gk.patch_len(), gk.maps);
        for q in 0..gk.maps {
            let mut idx: Vec<usize> = (0..gk.patch_len()).collect();
            idx.sort_unstable_by(|&a, &b| back[(b, q)].abs().total_cmp(&back[(a, q)].abs()));
            for &e in &idx[..keep] {
                fk[(e, q)] = back[(e, q)];
            }
            let n = fk.col(q).norm_l2().max(f64::MIN_POSITIVE);
            fk.col_mut(q).iter_mut().for_each(|v| *v /= n);
        }
        layers.push(ValidConv::new(gk, fk.as_ref())?);
        MlModel::new(layers.into_iter().map(Layer::Valid).collect())
    }
}

/// `floor(fraction len)`, at least 1.
fn density_count(len: usize, fraction: f64) -> usize {
    ((len as f64 * fraction).floor() as usize).clamp(1, len)
}

/// Filters with exactly `nnz` non-zero standard Gaussian entries each, unit norm.
fn sparse_filters<R: Rng>(len: usize, maps: usize, nnz: usize, rng: &mut R) -> Mat<f64> {
    let mut f = Mat::<f64>::zeros(len, maps);
    for q in 0..maps {
        for r in sample(rng, len, nnz.min(len)).iter() {
            f[(r, q)] = StandardNormal.sample(rng);
        }
        let n = f.col(q).norm_l2().max(f64::MIN_POSITIVE);
        f.col_mut(q).iter_mut().for_each(|v| *v /= n);
    }
    f
}
