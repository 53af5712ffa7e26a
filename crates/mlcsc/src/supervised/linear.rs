//! A multinomial logistic-regression (softmax) classifier on fixed features: the "linear
//! classifier on the deepest representation" with which the ML-CSC papers evaluate learned
//! unsupervised models.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use pursuit::optim::Adam;
use rayon::prelude::*;
use sparse_core::check;

use crate::error::{invalid, mismatch, Result};

/// `argmin_{W, w0} mean_j CE(softmax(W f_j + w0), l_j) + l2/2 ||W||_F^2`, by full-batch Adam
/// (Kingma & Ba 2015) with a learning rate halved whenever the objective rises. Features are
/// standardised internally (per-feature mean and standard deviation of the training set) unless
/// `standardize` is off.
///
/// Dense features ([`LinearClassifier::fit`], one GEMM per product) or sparse ones
/// ([`LinearClassifier::fit_sparse`] on [`SparseFeatures`], the codes of the pursuits: the cost
/// of an iteration is proportional to the non-zeros, and the standardisation is folded into the
/// weights and the bias so that the features stay sparse). Both minimise the same objective.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `l2` | `1e-4` | ridge weight on `W` (in standardised units) |
/// | `iterations` | `300` | full-batch Adam steps |
/// | `learning_rate` | `0.05` | Adam's step |
/// | `standardize` | `true` | per-feature standardisation (else the features as given) |
///
/// ```
/// use mlcsc::supervised::LinearClassifier;
/// let f = faer::Mat::<f64>::from_fn(2, 40, |i, j| if (j % 2 == 0) == (i == 0) { 1.0 } else { 0.0 });
/// let labels: Vec<usize> = (0..40).map(|j| j % 2).collect();
/// let clf = LinearClassifier::new().fit(f.as_ref(), &labels, 2)?;
/// assert_eq!(clf.accuracy(f.as_ref(), &labels)?, 1.0);
/// # Ok::<(), mlcsc::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct LinearClassifier {
    /// Ridge weight.
    pub l2: f64,
    /// Adam steps.
    pub iterations: usize,
    /// Adam's step size.
    pub learning_rate: f64,
    /// Per-feature standardisation.
    pub standardize: bool,
}

/// A fitted [`LinearClassifier`].
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLinear {
    w: Mat<f64>,
    w0: Vec<f64>,
    mean: Vec<f64>,
    scale: Vec<f64>,
    /// Final training objective.
    pub objective: f64,
}

impl Default for LinearClassifier {
    fn default() -> Self {
        Self::new()
    }
}

impl LinearClassifier {
    /// The defaults of the table.
    pub fn new() -> Self {
        Self {
            l2: 1e-4,
            iterations: 300,
            learning_rate: 0.05,
            standardize: true,
        }
    }
    sparse_core::setters! {
        /// Sets `l2`.
        l2: f64,
        /// Sets `iterations`.
        iterations: usize,
        /// Sets `learning_rate`.
        learning_rate: f64,
        /// Sets `standardize`.
        standardize: bool,
    }

    /// Fits on the columns of `features` (`n x b`) with `labels < classes`.
    pub fn fit(
        &self,
        features: MatRef<'_, f64>,
        labels: &[usize],
        classes: usize,
    ) -> Result<FittedLinear> {
        check::non_empty("features", features)?;
        check::finite("features", features)?;
        check::non_negative("l2", self.l2)?;
        check::positive("learning_rate", self.learning_rate)?;
        check::count("classes", classes, usize::MAX)?;
        check_labels(features, labels, classes)?;
        let (n, b) = (features.nrows(), features.ncols());
        let (mean, scale) = if self.standardize {
            let mean: Vec<f64> = (0..n)
                .map(|i| (0..b).map(|j| features[(i, j)]).sum::<f64>() / b as f64)
                .collect();
            let var: Vec<f64> = (0..n)
                .map(|i| {
                    (0..b)
                        .map(|j| (features[(i, j)] - mean[i]).powi(2))
                        .sum::<f64>()
                        / b as f64
                })
                .collect();
            (mean, inverse_std(&var))
        } else {
            (vec![0.0; n], vec![1.0; n])
        };
        let x = Mat::<f64>::from_fn(n, b, |i, j| (features[(i, j)] - mean[i]) * scale[i]);
        let mut fitted = FittedLinear {
            w: Mat::zeros(classes, n),
            w0: vec![0.0; classes],
            mean,
            scale,
            objective: f64::INFINITY,
        };
        self.adam(&mut fitted, |f| {
            let z = f.logits_std(x.as_ref());
            let (loss, dz) = softmax_ce(&z, labels);
            let mut gw = Mat::<f64>::zeros(classes, n);
            matmul(
                gw.as_mut(),
                Accum::Replace,
                dz.as_ref(),
                x.transpose(),
                1.0,
                Par::rayon(0),
            );
            let g0: Vec<f64> = (0..classes)
                .map(|c| (0..b).map(|j| dz[(c, j)]).sum::<f64>())
                .collect();
            (loss, gw, g0)
        });
        Ok(fitted)
    }

    /// Fits on sparse features (one column per sample) with `labels < classes`: the same
    /// objective as [`LinearClassifier::fit`] on the dense matrix, at a cost per iteration
    /// proportional to the non-zeros (the standardisation `(x - mean) * scale` is folded into
    /// the weights and the bias, never applied to the features).
    pub fn fit_sparse(
        &self,
        features: &SparseFeatures,
        labels: &[usize],
        classes: usize,
    ) -> Result<FittedLinear> {
        let (n, b) = (features.dim(), features.ncols());
        if n == 0 || b == 0 {
            return Err(invalid(
                "features",
                format!("{n} x {b}"),
                "at least one feature and one sample",
            ));
        }
        if features.val.iter().any(|v| !v.is_finite()) {
            return Err(invalid("features", "a non-finite value", "finite values"));
        }
        check::non_negative("l2", self.l2)?;
        check::positive("learning_rate", self.learning_rate)?;
        check::count("classes", classes, usize::MAX)?;
        check_sparse_labels(b, labels, classes)?;
        let (mean, scale) = if self.standardize {
            let (mut sum, mut sq) = (vec![0.0; n], vec![0.0; n]);
            for (&i, &v) in features.idx.iter().zip(&features.val) {
                sum[i as usize] += v;
                sq[i as usize] += v * v;
            }
            let mean: Vec<f64> = sum.iter().map(|s| s / b as f64).collect();
            let var: Vec<f64> = sq
                .iter()
                .zip(&mean)
                .map(|(q, m)| (q / b as f64 - m * m).max(0.0))
                .collect();
            (mean, inverse_std(&var))
        } else {
            (vec![0.0; n], vec![1.0; n])
        };
        let mut fitted = FittedLinear {
            w: Mat::zeros(classes, n),
            w0: vec![0.0; classes],
            mean,
            scale,
            objective: f64::INFINITY,
        };
        self.adam(&mut fitted, |f| {
            let z = f.logits_sparse(features);
            let (loss, dz) = softmax_ce(&z, labels);
            // Raw products G = dZ X^T by chunks of samples, summed in a fixed order.
            let starts: Vec<usize> = (0..b).step_by(SPARSE_CHUNK).collect();
            let parts: Vec<Vec<f64>> = starts
                .par_iter()
                .map(|&s0| {
                    let mut g = vec![0.0; n * classes];
                    for j in s0..(s0 + SPARSE_CHUNK).min(b) {
                        let (idx, val) = features.col(j);
                        let d = dz.col(j);
                        for (&i, &v) in idx.iter().zip(val) {
                            let i = i as usize;
                            for (c, r) in g[i * classes..(i + 1) * classes].iter_mut().enumerate() {
                                *r += d[c] * v;
                            }
                        }
                    }
                    g
                })
                .collect();
            let mut graw = vec![0.0; n * classes];
            for p in &parts {
                for (a, v) in graw.iter_mut().zip(p) {
                    *a += v;
                }
            }
            let g0: Vec<f64> = (0..classes)
                .map(|c| (0..b).map(|j| dz[(c, j)]).sum::<f64>())
                .collect();
            let gw = Mat::<f64>::from_fn(classes, n, |c, i| {
                f.scale[i] * (graw[i * classes + c] - f.mean[i] * g0[c])
            });
            (loss, gw, g0)
        });
        Ok(fitted)
    }

    /// Full-batch Adam on `fitted` (in standardised units); `grad` returns the mean loss and its
    /// gradients in `W` (without the ridge term) and in the bias.
    fn adam(
        &self,
        fitted: &mut FittedLinear,
        mut grad: impl FnMut(&FittedLinear) -> (f64, Mat<f64>, Vec<f64>),
    ) {
        let (classes, n) = (fitted.w.nrows(), fitted.w.ncols());
        let np = classes * (n + 1);
        let (mut m1, mut m2) = (vec![0.0; np], vec![0.0; np]);
        let adam = Adam::default();
        let mut lr = self.learning_rate;
        let mut prev = f64::INFINITY;
        for t in 1..=self.iterations {
            let (loss, gw, g0) = grad(fitted);
            let obj = loss + 0.5 * self.l2 * fitted.w.squared_norm_l2();
            if obj > prev {
                lr *= 0.5;
            }
            prev = obj;
            fitted.objective = obj;
            let mut g = Vec::with_capacity(np);
            for j in 0..n {
                for c in 0..classes {
                    g.push(gw[(c, j)] + self.l2 * fitted.w[(c, j)]);
                }
            }
            g.extend_from_slice(&g0);
            let s = adam.at(t as u64);
            for (p, &gp) in g.iter().enumerate() {
                let step = s.update(lr, &mut m1[p], &mut m2[p], gp);
                if p < classes * n {
                    fitted.w[(p % classes, p / classes)] -= step;
                } else {
                    fitted.w0[p - classes * n] -= step;
                }
            }
        }
    }
}

/// Samples per task of the sparse products.
const SPARSE_CHUNK: usize = 2048;

fn inverse_std(var: &[f64]) -> Vec<f64> {
    var.iter()
        .map(|&v| if v > 1e-24 { 1.0 / v.sqrt() } else { 0.0 })
        .collect()
}

fn check_sparse_labels(b: usize, labels: &[usize], classes: usize) -> Result<()> {
    if labels.len() != b {
        return Err(mismatch(
            "labels",
            format!("{b} labels (one per column)"),
            format!("{}", labels.len()),
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(invalid("labels", bad, format!("labels < {classes}")));
    }
    Ok(())
}

/// Features in compressed sparse columns, one column per sample (`dim` features each): the
/// layout of sparse codes, for [`LinearClassifier::fit_sparse`].
///
/// ```
/// use mlcsc::supervised::SparseFeatures;
/// let m = faer::mat![[1.0, 0.0], [0.0, -2.0], [0.0, 3.0]];
/// let f = SparseFeatures::from_dense(m.as_ref());
/// assert_eq!((f.dim(), f.ncols(), f.nnz()), (3, 2, 3));
/// let s = f.split_sign();
/// assert_eq!(s.dim(), 6);
/// assert_eq!(s.to_dense()[(4, 1)], 2.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SparseFeatures {
    dim: usize,
    ptr: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f64>,
}

impl SparseFeatures {
    /// No samples, `dim` features.
    pub fn new(dim: usize) -> Self {
        Self {
            dim,
            ptr: vec![0],
            idx: Vec::new(),
            val: Vec::new(),
        }
    }

    /// The non-zero entries of a dense matrix (one column per sample).
    pub fn from_dense(m: MatRef<'_, f64>) -> Self {
        let mut f = Self::new(m.nrows());
        f.append_dense(m);
        f
    }

    /// Appends the columns of a dense matrix with `dim` rows (its non-zero entries).
    ///
    /// # Panics
    /// If `m` has not `dim` rows.
    pub fn append_dense(&mut self, m: MatRef<'_, f64>) {
        assert_eq!(m.nrows(), self.dim, "rows of the appended matrix");
        for j in 0..m.ncols() {
            for (i, &v) in m.col(j).iter().enumerate() {
                if v != 0.0 {
                    self.idx.push(i as u32);
                    self.val.push(v);
                }
            }
            self.ptr.push(self.idx.len());
        }
    }

    /// Appends the samples of `other`.
    ///
    /// # Panics
    /// If the dimensions differ.
    pub fn append(&mut self, other: &SparseFeatures) {
        assert_eq!(other.dim, self.dim, "dimension of the appended features");
        let off = self.idx.len();
        self.idx.extend_from_slice(&other.idx);
        self.val.extend_from_slice(&other.val);
        self.ptr.extend(other.ptr[1..].iter().map(|p| p + off));
    }

    /// Features per sample.
    pub fn dim(&self) -> usize {
        self.dim
    }
    /// Samples.
    pub fn ncols(&self) -> usize {
        self.ptr.len() - 1
    }
    /// Stored non-zeros.
    pub fn nnz(&self) -> usize {
        self.idx.len()
    }
    /// Indices and values of sample `j`.
    pub fn col(&self, j: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.ptr[j], self.ptr[j + 1]);
        (&self.idx[a..b], &self.val[a..b])
    }

    /// Samples `start .. start + len`.
    pub fn subcols(&self, start: usize, len: usize) -> Self {
        let (a, b) = (self.ptr[start], self.ptr[start + len]);
        Self {
            dim: self.dim,
            ptr: self.ptr[start..=start + len]
                .iter()
                .map(|p| p - a)
                .collect(),
            idx: self.idx[a..b].to_vec(),
            val: self.val[a..b].to_vec(),
        }
    }

    /// The features of every block one after the other (the same samples in every block).
    pub fn stack(blocks: &[&SparseFeatures]) -> Result<Self> {
        let b = blocks.first().map_or(0, |f| f.ncols());
        if let Some(bad) = blocks.iter().find(|f| f.ncols() != b) {
            return Err(mismatch(
                "blocks",
                format!("{b} samples in every block"),
                format!("{}", bad.ncols()),
            ));
        }
        let dim = blocks.iter().map(|f| f.dim).sum();
        let mut out = Self::new(dim);
        for j in 0..b {
            let mut off = 0u32;
            for f in blocks {
                let (idx, val) = f.col(j);
                out.idx.extend(idx.iter().map(|i| i + off));
                out.val.extend_from_slice(val);
                off += f.dim as u32;
            }
            out.ptr.push(out.idx.len());
        }
        Ok(out)
    }

    /// `f(value)` for every stored value (zeros stay zeros).
    pub fn map(&self, f: impl Fn(f64) -> f64) -> Self {
        let mut out = self.clone();
        out.val.iter_mut().for_each(|v| *v = f(*v));
        out
    }

    /// The positive and the negative parts as separate features, `[max(x, 0); max(-x, 0)]`
    /// (`2 dim` features).
    pub fn split_sign(&self) -> Self {
        let mut out = Self::new(2 * self.dim);
        for j in 0..self.ncols() {
            let (idx, val) = self.col(j);
            for (&i, &v) in idx.iter().zip(val) {
                out.idx.push(if v > 0.0 { i } else { i + self.dim as u32 });
                out.val.push(v.abs());
            }
            out.ptr.push(out.idx.len());
        }
        out
    }

    /// The dense `dim x ncols` matrix.
    pub fn to_dense(&self) -> Mat<f64> {
        let mut m = Mat::<f64>::zeros(self.dim, self.ncols());
        for j in 0..self.ncols() {
            let (idx, val) = self.col(j);
            for (&i, &v) in idx.iter().zip(val) {
                m[(i as usize, j)] += v;
            }
        }
        m
    }
}

fn check_labels(features: MatRef<'_, f64>, labels: &[usize], classes: usize) -> Result<()> {
    if labels.len() != features.ncols() {
        return Err(mismatch(
            "labels",
            format!("{} labels (one per column)", features.ncols()),
            format!("{}", labels.len()),
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&l| l >= classes) {
        return Err(invalid("labels", bad, format!("labels < {classes}")));
    }
    Ok(())
}

/// Mean cross-entropy and its gradient in the logits (divided by the batch size).
fn softmax_ce(z: &Mat<f64>, labels: &[usize]) -> (f64, Mat<f64>) {
    let b = z.ncols() as f64;
    let mut dz = Mat::<f64>::zeros(z.nrows(), z.ncols());
    let total = super::net::cross_entropy(z, labels, Some(&mut dz));
    dz *= faer::Scale(1.0 / b);
    (total / b, dz)
}

impl FittedLinear {
    fn logits_std(&self, x: MatRef<'_, f64>) -> Mat<f64> {
        let mut z = Mat::<f64>::from_fn(self.w.nrows(), x.ncols(), |c, _| self.w0[c]);
        matmul(
            z.as_mut(),
            Accum::Add,
            self.w.as_ref(),
            x,
            1.0,
            Par::rayon(0),
        );
        z
    }

    /// The logits of sparse features: `W diag(scale) x + w0 - W diag(scale) mean`.
    ///
    /// # Panics
    /// If `features` has not the fitted dimension.
    pub fn logits_sparse(&self, features: &SparseFeatures) -> Mat<f64> {
        let (c, n) = (self.w.nrows(), self.w.ncols());
        assert_eq!(features.dim(), n, "dimension of the features");
        let mut we = vec![0.0; n * c];
        let mut beff = self.w0.clone();
        for i in 0..n {
            for k in 0..c {
                let v = self.w[(k, i)] * self.scale[i];
                we[i * c + k] = v;
                beff[k] -= v * self.mean[i];
            }
        }
        let b = features.ncols();
        let mut z = vec![0.0; b * c];
        z.par_chunks_mut(c).enumerate().for_each(|(j, zj)| {
            zj.copy_from_slice(&beff);
            let (idx, val) = features.col(j);
            for (&i, &v) in idx.iter().zip(val) {
                let row = &we[i as usize * c..(i as usize + 1) * c];
                for (zk, wk) in zj.iter_mut().zip(row) {
                    *zk += wk * v;
                }
            }
        });
        Mat::<f64>::from_fn(c, b, |k, j| z[j * c + k])
    }

    /// The predicted class of every sparse sample.
    ///
    /// # Panics
    /// If `features` has not the fitted dimension.
    pub fn predict_sparse(&self, features: &SparseFeatures) -> Vec<usize> {
        argmax_cols(&self.logits_sparse(features))
    }

    /// The fraction of sparse samples classified as `labels`.
    pub fn accuracy_sparse(&self, features: &SparseFeatures, labels: &[usize]) -> Result<f64> {
        if features.dim() != self.mean.len() {
            return Err(mismatch(
                "features",
                format!("{} features", self.mean.len()),
                format!("{}", features.dim()),
            ));
        }
        check_sparse_labels(features.ncols(), labels, self.w.nrows())?;
        let p = self.predict_sparse(features);
        Ok(
            p.iter().zip(labels).filter(|(a, b)| a == b).count() as f64
                / labels.len().max(1) as f64,
        )
    }

    /// The logits of the columns of `features`.
    pub fn logits(&self, features: MatRef<'_, f64>) -> Result<Mat<f64>> {
        check::batch("features", features, self.mean.len())?;
        let x = Mat::<f64>::from_fn(features.nrows(), features.ncols(), |i, j| {
            (features[(i, j)] - self.mean[i]) * self.scale[i]
        });
        Ok(self.logits_std(x.as_ref()))
    }

    /// The predicted class of every column.
    pub fn predict(&self, features: MatRef<'_, f64>) -> Result<Vec<usize>> {
        let z = self.logits(features)?;
        Ok(argmax_cols(&z))
    }

    /// The fraction of columns classified as `labels`.
    pub fn accuracy(&self, features: MatRef<'_, f64>, labels: &[usize]) -> Result<f64> {
        check_labels(features, labels, self.w.nrows())?;
        let p = self.predict(features)?;
        Ok(
            p.iter().zip(labels).filter(|(a, b)| a == b).count() as f64
                / labels.len().max(1) as f64,
        )
    }
}

fn argmax_cols(z: &Mat<f64>) -> Vec<usize> {
    (0..z.ncols())
        .map(|j| {
            (0..z.nrows())
                .max_by(|&a, &b| z[(a, j)].total_cmp(&z[(b, j)]))
                .unwrap_or(0)
        })
        .collect()
}
