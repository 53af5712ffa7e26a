//! The synthesis operator abstraction every pursuit is written against.
//!
//! A [`LinearOperator`] `D` maps codes (length [`ncols`](LinearOperator::ncols)) to signals
//! (length [`nrows`](LinearOperator::nrows)). Both directions work on *batches*: matrices whose
//! columns are codes or signals. Dense dictionaries, convolutional dictionaries, ML-CSC layers and
//! products of those ([`Composed`]) all implement it, so an iterative pursuit is written once.

use std::sync::Arc;

use faer::{Mat, MatMut, MatRef, Par};
use rand::{rngs::StdRng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

use crate::error::{check, Error, Result};

/// Options of the power iteration behind [`LinearOperator::lipschitz`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerIteration {
    /// Maximum number of iterations (default 5000).
    pub max_iter: usize,
    /// Stop when the Rayleigh quotient changes by less than `tol` relative (default 1e-12).
    pub tol: f64,
    /// Seed of the random starting vector (default 0).
    pub seed: u64,
}

impl Default for PowerIteration {
    fn default() -> Self {
        Self {
            max_iter: 5000,
            tol: 1e-12,
            seed: 0,
        }
    }
}

/// A linear synthesis operator `D: R^ncols -> R^nrows`, applied to batches.
///
/// Implementers provide the two unchecked kernels [`apply_raw`](Self::apply_raw) and
/// [`apply_adjoint_raw`](Self::apply_adjoint_raw); callers use the checked
/// [`apply`](Self::apply) / [`apply_adjoint`](Self::apply_adjoint) (allocating) or
/// [`apply_into`](Self::apply_into) / [`apply_adjoint_into`](Self::apply_adjoint_into)
/// (writing into a caller's buffer, for inner loops).
pub trait LinearOperator: Send + Sync {
    /// Signal length (rows of `D`).
    fn nrows(&self) -> usize;
    /// Code length (columns of `D`, number of atoms).
    fn ncols(&self) -> usize;

    /// `out = D x` for a batch `x` (`ncols x b`) into `out` (`nrows x b`). Shapes are guaranteed
    /// by the caller; implementations may panic on a mismatch. Use [`apply_into`](Self::apply_into).
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par);

    /// `out = D^T y` for a batch `y` (`nrows x b`) into `out` (`ncols x b`). Shapes are
    /// guaranteed by the caller. Use [`apply_adjoint_into`](Self::apply_adjoint_into).
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par);

    /// `D x`, checking shapes. Allocates the result.
    fn apply(&self, x: MatRef<'_, f64>) -> Result<Mat<f64>> {
        let mut out = Mat::zeros(self.nrows(), x.ncols());
        self.apply_into(x, out.as_mut(), Par::Seq)?;
        Ok(out)
    }

    /// `D^T y`, checking shapes. Allocates the result.
    fn apply_adjoint(&self, y: MatRef<'_, f64>) -> Result<Mat<f64>> {
        let mut out = Mat::zeros(self.ncols(), y.ncols());
        self.apply_adjoint_into(y, out.as_mut(), Par::Seq)?;
        Ok(out)
    }

    /// `out = D x` into a caller's buffer, checking shapes.
    fn apply_into(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) -> Result<()> {
        check::nrows("x", x, self.ncols())?;
        check::shape("out", out.as_ref(), self.nrows(), x.ncols())?;
        self.apply_raw(x, out, par);
        Ok(())
    }

    /// `out = D^T y` into a caller's buffer, checking shapes.
    fn apply_adjoint_into(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) -> Result<()> {
        check::nrows("y", y, self.nrows())?;
        check::shape("out", out.as_ref(), self.ncols(), y.ncols())?;
        self.apply_adjoint_raw(y, out, par);
        Ok(())
    }

    /// `||D||_2^2`, the Lipschitz constant of the gradient of `1/2 ||y - D x||^2`.
    ///
    /// The default runs [`power_iteration`] on `D^T D`; implementers that know it cheaply
    /// (an explicit small matrix, a convolution via its Fourier symbol) override it.
    fn lipschitz(&self) -> f64 {
        power_iteration(self, PowerIteration::default())
    }
}

/// Largest eigenvalue of `D^T D` (`= ||D||_2^2`) by power iteration with a Rayleigh-quotient
/// stopping rule. Returns 0 for an operator with no rows or columns.
pub fn power_iteration<Op: LinearOperator + ?Sized>(op: &Op, opts: PowerIteration) -> f64 {
    let (n, m) = (op.nrows(), op.ncols());
    if n == 0 || m == 0 {
        return 0.0;
    }
    let mut rng = StdRng::seed_from_u64(opts.seed);
    let mut x = Mat::<f64>::from_fn(m, 1, |_, _| StandardNormal.sample(&mut rng));
    let mut y = Mat::<f64>::zeros(n, 1);
    let mut z = Mat::<f64>::zeros(m, 1);
    let mut lambda = 0.0;
    for _ in 0..opts.max_iter {
        let nx = x.norm_l2();
        if nx == 0.0 {
            return 0.0;
        }
        x *= faer::Scale(1.0 / nx);
        op.apply_raw(x.as_ref(), y.as_mut(), Par::Seq);
        op.apply_adjoint_raw(y.as_ref(), z.as_mut(), Par::Seq);
        // Rayleigh quotient x^T D^T D x with ||x|| = 1.
        let new = y.norm_l2().powi(2);
        std::mem::swap(&mut x, &mut z);
        if (new - lambda).abs() <= opts.tol * new {
            return new;
        }
        lambda = new;
    }
    lambda
}

/// Any `Arc`/`Box`/reference to an operator is an operator.
impl<T: LinearOperator + ?Sized> LinearOperator for Arc<T> {
    fn nrows(&self) -> usize {
        (**self).nrows()
    }
    fn ncols(&self) -> usize {
        (**self).ncols()
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        (**self).apply_raw(x, out, par)
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        (**self).apply_adjoint_raw(y, out, par)
    }
    fn lipschitz(&self) -> f64 {
        (**self).lipschitz()
    }
}

/// The product `D1 D2 ... Dk` of operators, applied factor by factor without forming it.
///
/// `apply` computes `D1 (D2 (... (Dk x)))`; `apply_adjoint` computes `Dk^T (... (D1^T y))`.
/// This is the effective dictionary `D(1,k)` of a multi-layer model.
#[derive(Clone)]
pub struct Composed {
    factors: Vec<Arc<dyn LinearOperator>>,
}

impl std::fmt::Debug for Composed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shapes: Vec<_> = self
            .factors
            .iter()
            .map(|d| (d.nrows(), d.ncols()))
            .collect();
        f.debug_struct("Composed")
            .field("factors", &shapes)
            .finish()
    }
}

impl Composed {
    /// The product of `factors` in order (`factors[0]` is applied last). Errors when the list is
    /// empty or when `factors[i].ncols() != factors[i + 1].nrows()`.
    pub fn new(factors: Vec<Arc<dyn LinearOperator>>) -> Result<Self> {
        if factors.is_empty() {
            return Err(Error::Empty {
                argument: "factors",
                expected: "at least one operator".into(),
            });
        }
        for (i, w) in factors.windows(2).enumerate() {
            if w[0].ncols() != w[1].nrows() {
                return Err(Error::ShapeMismatch {
                    argument: "factors",
                    expected: format!(
                        "factor {} to have {} rows (the columns of factor {i})",
                        i + 1,
                        w[0].ncols()
                    ),
                    found: format!("{} rows", w[1].nrows()),
                });
            }
        }
        Ok(Self { factors })
    }

    /// The factors, outermost first.
    pub fn factors(&self) -> &[Arc<dyn LinearOperator>] {
        &self.factors
    }

    /// The explicit product as a dense `nrows x ncols` matrix (`D (I)`); for small sizes.
    pub fn to_dense(&self, par: Par) -> Mat<f64> {
        let eye = Mat::<f64>::identity(self.ncols(), self.ncols());
        let mut out = Mat::zeros(self.nrows(), self.ncols());
        self.apply_raw(eye.as_ref(), out.as_mut(), par);
        out
    }
}

impl LinearOperator for Composed {
    fn nrows(&self) -> usize {
        self.factors[0].nrows()
    }
    fn ncols(&self) -> usize {
        self.factors[self.factors.len() - 1].ncols()
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, mut out: MatMut<'_, f64>, par: Par) {
        let b = x.ncols();
        let mut cur: Option<Mat<f64>> = None;
        for d in self.factors.iter().skip(1).rev() {
            let mut next = Mat::zeros(d.nrows(), b);
            match &cur {
                None => d.apply_raw(x, next.as_mut(), par),
                Some(c) => d.apply_raw(c.as_ref(), next.as_mut(), par),
            }
            cur = Some(next);
        }
        match &cur {
            None => self.factors[0].apply_raw(x, out.as_mut(), par),
            Some(c) => self.factors[0].apply_raw(c.as_ref(), out.as_mut(), par),
        }
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, mut out: MatMut<'_, f64>, par: Par) {
        let b = y.ncols();
        let k = self.factors.len();
        let mut cur: Option<Mat<f64>> = None;
        for d in self.factors.iter().take(k - 1) {
            let mut next = Mat::zeros(d.ncols(), b);
            match &cur {
                None => d.apply_adjoint_raw(y, next.as_mut(), par),
                Some(c) => d.apply_adjoint_raw(c.as_ref(), next.as_mut(), par),
            }
            cur = Some(next);
        }
        match &cur {
            None => self.factors[k - 1].apply_adjoint_raw(y, out.as_mut(), par),
            Some(c) => self.factors[k - 1].apply_adjoint_raw(c.as_ref(), out.as_mut(), par),
        }
    }
}
