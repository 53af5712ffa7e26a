//! A multinomial logistic-regression (softmax) classifier on fixed features: the "linear
//! classifier on the deepest representation" with which the ML-CSC papers evaluate learned
//! unsupervised models.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::check;

use crate::error::{invalid, mismatch, Result};

/// `argmin_{W, w0} mean_j CE(softmax(W f_j + w0), l_j) + l2/2 ||W||_F^2`, by full-batch Adam
/// (Kingma & Ba 2015) with a learning rate halved whenever the objective rises. Features are
/// standardised internally (per-feature mean and standard deviation of the training set).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `l2` | `1e-4` | ridge weight on `W` (in standardised units) |
/// | `iterations` | `300` | full-batch Adam steps |
/// | `learning_rate` | `0.05` | Adam's step |
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
        }
    }
    /// Sets `l2`.
    pub fn l2(mut self, l2: f64) -> Self {
        self.l2 = l2;
        self
    }
    /// Sets `iterations`.
    pub fn iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
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
        let mean: Vec<f64> = (0..n)
            .map(|i| (0..b).map(|j| features[(i, j)]).sum::<f64>() / b as f64)
            .collect();
        let scale: Vec<f64> = (0..n)
            .map(|i| {
                let v = (0..b)
                    .map(|j| (features[(i, j)] - mean[i]).powi(2))
                    .sum::<f64>()
                    / b as f64;
                if v > 1e-24 {
                    1.0 / v.sqrt()
                } else {
                    0.0
                }
            })
            .collect();
        let x = Mat::<f64>::from_fn(n, b, |i, j| (features[(i, j)] - mean[i]) * scale[i]);
        let mut fitted = FittedLinear {
            w: Mat::zeros(classes, n),
            w0: vec![0.0; classes],
            mean,
            scale,
            objective: f64::INFINITY,
        };
        let np = classes * (n + 1);
        let (mut m1, mut m2) = (vec![0.0; np], vec![0.0; np]);
        let (b1, b2) = (0.9f64, 0.999f64);
        let mut lr = self.learning_rate;
        let mut prev = f64::INFINITY;
        for t in 1..=self.iterations {
            let z = fitted.logits_std(x.as_ref());
            let (loss, dz) = softmax_ce(&z, labels);
            let obj = loss + 0.5 * self.l2 * fitted.w.squared_norm_l2();
            if obj > prev {
                lr *= 0.5;
            }
            prev = obj;
            fitted.objective = obj;
            let mut gw = Mat::<f64>::zeros(classes, n);
            matmul(
                gw.as_mut(),
                Accum::Replace,
                dz.as_ref(),
                x.transpose(),
                1.0,
                Par::rayon(0),
            );
            let mut g = Vec::with_capacity(np);
            for j in 0..n {
                for c in 0..classes {
                    g.push(gw[(c, j)] + self.l2 * fitted.w[(c, j)]);
                }
            }
            for c in 0..classes {
                g.push((0..b).map(|j| dz[(c, j)]).sum::<f64>());
            }
            let (c1, c2) = (1.0 - b1.powi(t as i32), 1.0 - b2.powi(t as i32));
            for (p, gp) in g.iter().enumerate() {
                m1[p] = b1 * m1[p] + (1.0 - b1) * gp;
                m2[p] = b2 * m2[p] + (1.0 - b2) * gp * gp;
                let step = lr * (m1[p] / c1) / ((m2[p] / c2).sqrt() + 1e-8);
                if p < classes * n {
                    fitted.w[(p % classes, p / classes)] -= step;
                } else {
                    fitted.w0[p - classes * n] -= step;
                }
            }
        }
        Ok(fitted)
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
        Ok((0..z.ncols())
            .map(|j| {
                (0..z.nrows())
                    .max_by(|&a, &b| z[(a, j)].total_cmp(&z[(b, j)]))
                    .unwrap_or(0)
            })
            .collect())
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
