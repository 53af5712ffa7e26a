//! Patch-based image denoising with a learned (K-SVD) or fixed (overcomplete DCT) dictionary
//! (Elad & Aharon, "Image denoising via sparse and redundant representations over learned
//! dictionaries", IEEE TIP 2006).

use faer::{Mat, MatRef, Par};
use rand::seq::index::sample;
use sparse_core::io::patches::PatchGrid;
use sparse_core::{check, generate, Dictionary};

use super::codes::{CodesExt, SparseCodes};
use super::{
    float32_options, widen, AtomUpdate, InitDict, IterationReport, Ksvd, LearnOptions,
    LearnedDictionary, TrainingScalar,
};
use crate::error::{invalid, Result};
use crate::greedy::Float32Atoms;
use crate::{BatchOmp, Stop};

/// Patches coded per Batch-OMP call in the final reconstruction (bounds the dense code matrix).
const CODING_CHUNK: usize = 8192;

/// The K-SVD denoiser of Elad & Aharon (2006) for an image `Y = X + N`, `N ~ N(0, sigma^2)`:
///
/// 1. extract every overlapping `p x p` patch (origins every `stride` pixels) and remove each
///    patch's mean;
/// 2. learn an `p^2 x n_atoms` dictionary with K-SVD on (a random subset of) the noisy patches,
///    starting from the overcomplete DCT, coding with Batch-OMP to the error threshold
///    `eps = C sigma p` (i.e. `C sigma sqrt(n)`, `n = p^2`) — or keep the DCT
///    ([`denoise_dct`](Self::denoise_dct));
/// 3. sparse-code every patch to the same threshold, add the means back;
/// 4. average the patches with the noisy image:
///    `X = (lambda Y + sum_k w_k R_k^T p_k) / (lambda + sum_k w_k R_k^T 1)`, with every patch weight
///    `w_k = 1` as in the paper, or sparsity-adaptive weights ([`Aggregation`]).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `sigma` | — | noise standard deviation (pixel units, e.g. of `[0, 255]`) |
/// | `patch_size` | 8 | patch side `p` |
/// | `stride` | 1 | distance between patch origins (`1..=p`) |
/// | `n_atoms` | 256 | atoms (a perfect square `>= p^2`, for the overcomplete DCT) |
/// | `iterations` | 10 | K-SVD iterations |
/// | `c` | 1.15 | gain `C` of the error threshold `eps = C sigma p` |
/// | `lambda` | `None` (= `30 / sigma`) | weight of the noisy image in the average |
/// | `max_training` | 25 000 | at most this many random patches train the dictionary |
/// | `max_atoms` | `None` (= `p^2 / 2`) | cap on the atoms per patch |
/// | `update` | [`AtomUpdate::Approximate`] | K-SVD atom update |
/// | `aggregation` | [`Aggregation::Uniform`] | patch weights in the average |
/// | `seed` | 0 | seed of the training subset and of K-SVD |
/// | `par` | `Par::rayon(0)` | parallelism |
///
/// The default atom update is [`AtomUpdate::Approximate`] (Rubinstein, Zibulevsky & Elad 2008, also
/// the default of KSVD-Box's `ksvddenoise`): one alternating step of the rank-1 fit instead of the
/// SVD of the paper's [`AtomUpdate::Exact`]. It halves the time of a 256 x 256 image with 10
/// iterations (1.5 s instead of 3.3 s at sigma 5, where Batch-OMP codes up to 32 atoms per patch;
/// release build, 2 cores) for the same PSNR: on the 256 x 256 centre crops of nine greyscale
/// photographs and textures (camera, astronaut, coins, moon, brick, chelsea, coffee, grass, gravel)
/// at sigma 5 to 50 with three seeds each, approximate minus exact is -0.006 dB on average, between
/// -0.034 and +0.014 dB averaged over the seeds of an (image, sigma) pair, and between -0.061 and
/// +0.054 dB for single runs, inside the spread of the exact update's own results over seeds (up to
/// 0.074 dB). Each atom update only touches the patches that use the atom. The output is not
/// clipped to the pixel range.
///
/// An `f32` image is denoised with `f32` sparse coding (Batch-OMP in `f32` in K-SVD's coding
/// stages and in the final coding, [`Coder::BatchOmpF32`](super::Coder::BatchOmpF32)); the
/// patches, means, dictionary updates and the average stay `f64`, and the image returned is
/// `f64`.
///
/// ```
/// use pursuit::dictlearn::Denoiser;
/// use sparse_core::{faer::Mat, generate, metrics::psnr};
///
/// let clean = Mat::<f64>::from_fn(32, 32, |i, j| if (i / 8 + j / 8) % 2 == 0 { 60.0 } else { 190.0 });
/// let noisy = generate::add_noise(clean.as_ref(), 20.0, &mut generate::rng(0))?;
/// let out = Denoiser::new(20.0).iterations(2).n_atoms(100).denoise_ksvd(noisy.as_ref())?;
/// assert!(psnr(clean.as_ref(), out.image.as_ref(), 255.0)? > psnr(clean.as_ref(), noisy.as_ref(), 255.0)? + 5.0);
/// # Ok::<(), pursuit::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Denoiser {
    /// Noise standard deviation.
    pub sigma: f64,
    /// Patch side.
    pub patch_size: usize,
    /// Distance between patch origins.
    pub stride: usize,
    /// Number of atoms.
    pub n_atoms: usize,
    /// K-SVD iterations.
    pub iterations: usize,
    /// Gain of the error threshold.
    pub c: f64,
    /// Weight of the noisy image (`None`: `30 / sigma`).
    pub lambda: Option<f64>,
    /// Maximum number of training patches.
    pub max_training: usize,
    /// Maximum atoms per patch (`None`: half the patch length).
    pub max_atoms: Option<usize>,
    /// K-SVD atom update.
    pub update: AtomUpdate,
    /// Seed.
    pub seed: u64,
    /// Parallelism.
    pub par: Par,
    /// Weights of the denoised patches in the average.
    pub aggregation: Aggregation,
}

/// How [`Denoiser`] weighs the overlapping denoised patches when it averages them into the image.
///
/// A mean-removed patch coded with `k` atoms is the orthogonal projection of the noisy patch onto
/// a `k`-dimensional subspace, plus the patch mean: with white noise of variance `sigma^2` its
/// noise variance, averaged over its `n` pixels, is `(k + 1) sigma^2 / n`. Weighing each patch by
/// the inverse of that variance favours the sparser, less noisy estimates, as the aggregation of
/// BM3D does with `1 / N_har` (Dabov, Foi, Katkovnik & Egiazarian, "Image denoising by sparse 3-D
/// transform-domain collaborative filtering", IEEE TIP 2007, eq. 10).
///
/// On the 256 x 256 camera-man crop of `cargo xtask bench denoise`, [`Sparsity`](Self::Sparsity)
/// gains 0.05 to 0.08 dB over [`Uniform`](Self::Uniform) at sigma 10 to 25 and loses 0.2 dB at
/// sigma 5 and 0.1 dB at sigma 50 (where it under-weighs the patches that carry the edges); on
/// the bench's nine images it loses 0.15 to 0.5 dB at sigma 5 everywhere, so the paper's uniform
/// average stays the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Aggregation {
    /// Every patch has weight 1 (Elad & Aharon 2006).
    #[default]
    Uniform,
    /// A patch coded with `k` atoms has weight `1 / (1 + k)`; the weight `lambda` of the noisy
    /// image is unchanged.
    Sparsity,
}

impl Aggregation {
    /// The weight of a patch coded with `k` atoms.
    pub fn weight(self, k: usize) -> f64 {
        match self {
            Aggregation::Uniform => 1.0,
            Aggregation::Sparsity => 1.0 / (1.0 + k as f64),
        }
    }
}

/// A denoised image with the dictionary that produced it and diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct Denoised {
    /// The denoised image.
    pub image: Mat<f64>,
    /// The dictionary (learned, or the overcomplete DCT).
    pub dictionary: Dictionary,
    /// K-SVD's per-iteration reports (empty for a fixed dictionary).
    pub history: Vec<IterationReport>,
    /// Mean number of atoms per patch in the final coding.
    pub mean_atoms: f64,
    /// Number of patches coded.
    pub n_patches: usize,
    /// Number of patches the dictionary was trained on (0 for a fixed dictionary).
    pub n_training: usize,
    /// The error threshold `eps` used by Batch-OMP.
    pub eps: f64,
    /// The weight `lambda` of the noisy image.
    pub lambda: f64,
}

impl Denoiser {
    /// The denoiser of the paper for noise level `sigma` (see the table for the defaults).
    pub fn new(sigma: f64) -> Self {
        Self {
            sigma,
            patch_size: 8,
            stride: 1,
            n_atoms: 256,
            iterations: 10,
            c: 1.15,
            lambda: None,
            max_training: 25_000,
            max_atoms: None,
            update: AtomUpdate::Approximate,
            seed: 0,
            par: Par::rayon(0),
            aggregation: Aggregation::Uniform,
        }
    }

    sparse_core::setters! {
        /// Sets the patch side.
        patch_size: usize,
        /// Sets the distance between patch origins.
        stride: usize,
        /// Sets the number of atoms.
        n_atoms: usize,
        /// Sets the number of K-SVD iterations.
        iterations: usize,
        /// Sets the gain of the error threshold.
        c: f64,
        /// Sets the weight of the noisy image (`None`: `30 / sigma`).
        lambda: Option<f64>,
        /// Sets the maximum number of training patches.
        max_training: usize,
        /// Sets the cap on atoms per patch (`None`: half the patch length).
        max_atoms: Option<usize>,
        /// Sets the K-SVD atom update.
        update: AtomUpdate,
        /// Sets the seed.
        seed: u64,
        /// Sets the parallelism.
        par: Par,
        /// Sets the weights of the denoised patches in the average.
        aggregation: Aggregation,
    }

    /// The error threshold `eps = C sigma p` of the sparse coding.
    pub fn eps(&self) -> f64 {
        self.c * self.sigma * self.patch_size as f64
    }

    /// The weight of the noisy image in the final average.
    pub fn lambda_value(&self) -> f64 {
        self.lambda.unwrap_or(30.0 / self.sigma)
    }

    /// The Batch-OMP rule: residual `eps`, at most `max_atoms` atoms.
    pub fn stop(&self) -> Stop {
        let n = self.patch_size * self.patch_size;
        let k = self
            .max_atoms
            .unwrap_or(n / 2)
            .min(n.min(self.n_atoms))
            .max(1);
        Stop::SparsityOrResidual { k, eps: self.eps() }
    }

    fn validate(&self, noisy: MatRef<'_, f64>) -> Result<PatchGrid> {
        check::positive("sigma", self.sigma)?;
        check::positive("c", self.c)?;
        if let Some(l) = self.lambda {
            check::non_negative("lambda", l)?;
        }
        check::count("max_training", self.max_training, usize::MAX)?;
        check::non_empty("noisy", noisy)?;
        check::finite("noisy", noisy)?;
        let p = self.patch_size;
        check::count("patch_size", p, noisy.nrows().min(noisy.ncols()))?;
        let q = (self.n_atoms as f64).sqrt().round() as usize;
        if q * q != self.n_atoms || q < p {
            return Err(invalid(
                "n_atoms",
                self.n_atoms,
                format!("a perfect square >= patch_size^2 = {}", p * p),
            ));
        }
        Ok(PatchGrid::new(
            noisy.nrows(),
            noisy.ncols(),
            p,
            p,
            self.stride,
        )?)
    }

    /// Mean-removed patches and their means.
    fn patches(&self, grid: &PatchGrid, noisy: MatRef<'_, f64>) -> Result<(Mat<f64>, Vec<f64>)> {
        let mut patches = grid.extract(noisy)?;
        let n = grid.patch_len();
        let means: Vec<f64> = (0..patches.ncols())
            .map(|k| {
                let col = patches.col_as_slice_mut(k);
                let mean = col.iter().sum::<f64>() / n as f64;
                col.iter_mut().for_each(|v| *v -= mean);
                mean
            })
            .collect();
        Ok((patches, means))
    }

    /// Denoises with the fixed overcomplete DCT dictionary (no learning).
    pub fn denoise_dct<T: TrainingScalar>(&self, noisy: MatRef<'_, T>) -> Result<Denoised> {
        self.with_f64(noisy, |noisy, f32c| {
            let grid = self.validate(noisy)?;
            let d = Dictionary::overcomplete_dct(self.patch_size, self.n_atoms)?;
            let (patches, means) = self.patches(&grid, noisy)?;
            self.reconstruct(&grid, noisy, &patches, &means, d, Vec::new(), 0, f32c)
        })
    }

    /// Runs `f` on the image in `f64` and whether to code in `f32` (for an `f32` image).
    fn with_f64<T: TrainingScalar>(
        &self,
        noisy: MatRef<'_, T>,
        f: impl FnOnce(MatRef<'_, f64>, bool) -> Result<Denoised>,
    ) -> Result<Denoised> {
        match T::as_f64(noisy) {
            Some(y) => f(y, false),
            None => f(widen(noisy).as_ref(), true),
        }
    }

    /// Denoises with a given dictionary of `patch_size^2`-long atoms (no learning).
    pub fn denoise_with<T: TrainingScalar>(
        &self,
        noisy: MatRef<'_, T>,
        d: &Dictionary,
    ) -> Result<Denoised> {
        self.with_f64(noisy, |noisy, f32c| {
            let grid = self.validate(noisy)?;
            check::nrows("d", d.matrix(), grid.patch_len())?;
            let (patches, means) = self.patches(&grid, noisy)?;
            self.reconstruct(
                &grid,
                noisy,
                &patches,
                &means,
                d.clone(),
                Vec::new(),
                0,
                f32c,
            )
        })
    }

    /// Denoises with a dictionary learned by K-SVD on the noisy patches.
    pub fn denoise_ksvd<T: TrainingScalar>(&self, noisy: MatRef<'_, T>) -> Result<Denoised> {
        self.denoise_ksvd_observed(noisy, |_| {})
    }

    /// [`denoise_ksvd`](Self::denoise_ksvd), calling `observer` after every K-SVD iteration.
    pub fn denoise_ksvd_observed<T: TrainingScalar>(
        &self,
        noisy: MatRef<'_, T>,
        observer: impl FnMut(&IterationReport),
    ) -> Result<Denoised> {
        self.with_f64(noisy, |noisy, f32c| {
            let grid = self.validate(noisy)?;
            let (patches, means) = self.patches(&grid, noisy)?;
            let (learned, n_training) = self.learn(&patches, observer, f32c)?;
            self.reconstruct(
                &grid,
                noisy,
                &patches,
                &means,
                learned.dictionary,
                learned.history,
                n_training,
                f32c,
            )
        })
    }

    /// K-SVD on a random subset of the mean-removed patches, from the overcomplete DCT.
    fn learn(
        &self,
        patches: &Mat<f64>,
        observer: impl FnMut(&IterationReport),
        f32_coding: bool,
    ) -> Result<(LearnedDictionary, usize)> {
        let total = patches.ncols();
        let training = if total > self.max_training {
            let mut idx =
                sample(&mut generate::rng(self.seed), total, self.max_training).into_vec();
            idx.sort_unstable();
            Mat::from_fn(patches.nrows(), idx.len(), |i, c| patches[(i, idx[c])])
        } else {
            patches.clone()
        };
        let mut options = LearnOptions::new(self.n_atoms, self.stop());
        options.init =
            InitDict::Given(Dictionary::overcomplete_dct(self.patch_size, self.n_atoms)?);
        options.iterations = self.iterations;
        options.seed = self.seed;
        options.par = self.par;
        if f32_coding {
            options = float32_options(&options);
        }
        let ksvd = Ksvd::with_options(options).update(self.update);
        let learned = ksvd.fit_observed(training.as_ref(), observer)?;
        Ok((learned, training.ncols()))
    }

    /// Codes every patch, adds the means back and averages (with the patch weights of
    /// `aggregation`) with the noisy image.
    #[allow(clippy::too_many_arguments)]
    fn reconstruct(
        &self,
        grid: &PatchGrid,
        noisy: MatRef<'_, f64>,
        patches: &Mat<f64>,
        means: &[f64],
        d: Dictionary,
        history: Vec<IterationReport>,
        n_training: usize,
        f32_coding: bool,
    ) -> Result<Denoised> {
        let lambda = self.lambda_value();
        let mut sum = Mat::<f64>::from_fn(grid.height, grid.width, |i, j| lambda * noisy[(i, j)]);
        let mut count = Mat::<f64>::from_fn(grid.height, grid.width, |_, _| lambda);
        let omp = BatchOmp::new(self.stop()).par(self.par);
        let (gram, atoms32) = if f32_coding {
            (Mat::zeros(0, 0), Some(Float32Atoms::new(&d, self.par)))
        } else {
            (d.gram_par(self.par), None)
        };
        let ph = grid.patch_h;
        let mut nnz = 0.0;
        for first in (0..patches.ncols()).step_by(CODING_CHUNK) {
            let len = CODING_CHUNK.min(patches.ncols() - first);
            let chunk = patches.as_ref().subcols(first, len);
            let codes = match &atoms32 {
                Some(a) => omp.code_in_f32(a, chunk)?,
                None => omp.code_with_gram(&d, gram.as_ref(), chunk)?,
            };
            let codes = SparseCodes::from_dense(codes.codes.as_ref());
            nnz += codes.mean_sparsity() * len as f64;
            let rec = codes.synthesize(d.matrix(), self.par);
            for c in 0..len {
                let k = first + c;
                let (r0, c0) = grid.origin(k)?;
                let mean = means[k];
                let w = self
                    .aggregation
                    .weight(codes.indptr()[c + 1] - codes.indptr()[c]);
                for (e, &v) in rec.col_as_slice(c).iter().enumerate() {
                    let (i, j) = (r0 + e % ph, c0 + e / ph);
                    sum[(i, j)] += w * (v + mean);
                    count[(i, j)] += w;
                }
            }
        }
        let image = Mat::from_fn(grid.height, grid.width, |i, j| sum[(i, j)] / count[(i, j)]);
        Ok(Denoised {
            image,
            dictionary: d,
            history,
            mean_atoms: nnz / patches.ncols() as f64,
            n_patches: patches.ncols(),
            n_training,
            eps: self.eps(),
            lambda,
        })
    }
}
