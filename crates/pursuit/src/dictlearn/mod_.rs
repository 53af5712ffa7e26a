//! The Method of Optimal Directions (Engan, Aase & Husøy 1999).

use faer::linalg::solvers::Solve as _;
use faer::{Mat, MatRef, Side};
use sparse_core::{generate, Dictionary};

use super::codes::{clear_dict, code_stage, col_sq_norms, CodesExt, Replacer, SparseCodes};
use super::{learn_option_setters, IterationReport, LearnOptions, LearnedDictionary};
use crate::error::Result;
use crate::Stop;

/// MOD dictionary learning (Engan, Aase & Husøy, "Method of optimal directions for frame
/// design", ICASSP 1999).
///
/// Each iteration sparse-codes the training signals, then replaces the whole dictionary by the
/// least-squares fit to the codes, `D = Y X^T (X X^T)^{-1}` (over the atoms in use; unused atoms
/// keep their value), and normalises the atoms, rescaling the rows of `X` so that `D X` is
/// unchanged. The update is the exact minimiser of `||Y - D X||_F` over `D` for fixed `X`.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `options` | [`LearnOptions::new`] | shared options (atoms, init, coder, iterations, seed, replacement, par) |
#[derive(Debug, Clone)]
pub struct Mod {
    /// Shared options.
    pub options: LearnOptions,
}

learn_option_setters!(Mod);

impl Mod {
    /// MOD with `n_atoms` atoms, Batch-OMP with the rule `stop`, and the default options.
    pub fn new(n_atoms: usize, stop: Stop) -> Self {
        Self::with_options(LearnOptions::new(n_atoms, stop))
    }

    /// MOD with the given shared options.
    pub fn with_options(options: LearnOptions) -> Self {
        Self { options }
    }

    /// Learns a dictionary for the columns of `y` (`n x N`).
    /// `f32` signals are coded in `f32` ([`TrainingScalar`](super::TrainingScalar)).
    pub fn fit<T: super::TrainingScalar>(&self, y: MatRef<'_, T>) -> Result<LearnedDictionary> {
        self.fit_observed(y, |_| {})
    }

    /// [`fit`](Self::fit), calling `observer` after every iteration. Signals of extreme
    /// magnitude are learned at unit size and scaled back ([`super::fit_at_safe_magnitude`]).
    pub fn fit_observed<T: super::TrainingScalar>(
        &self,
        y: MatRef<'_, T>,
        mut observer: impl FnMut(&IterationReport),
    ) -> Result<LearnedDictionary> {
        super::fit_at_safe_magnitude(&self.options, y, &mut observer, fit_unscaled)
    }
}

/// [`Mod::fit_observed`] on validated signals of safe magnitude.
fn fit_unscaled(
    o: &LearnOptions,
    y: MatRef<'_, f64>,
    observer: &mut dyn FnMut(&IterationReport),
) -> Result<LearnedDictionary> {
    let mut rng = generate::rng(o.seed);
    let mut d = o.initial_dictionary(y, &mut rng)?;
    let (n, m) = (y.nrows(), o.n_atoms);
    let mut history = Vec::with_capacity(o.iterations);
    let mut codes = SparseCodes::default();
    for it in 1..=o.iterations {
        codes = code_stage(o, &d, y, (it > 1).then_some(&codes))?;
        least_squares_update(&mut d, &mut codes, y)?;
        let r = codes.residual(d.as_ref(), y, o.par);
        let rmse = (r.squared_norm_l2() / (n * y.ncols()) as f64).sqrt();
        let mut n_replaced = 0;
        if it < o.iterations {
            let mut replacer = Replacer::new(y, &col_sq_norms(r.as_ref()));
            let mut replaced = vec![false; m];
            n_replaced = clear_dict(&mut d, &codes.usage(), &mut replaced, o, &mut replacer);
        }
        let report = IterationReport {
            iteration: it,
            rmse,
            mean_sparsity: codes.mean_sparsity(),
            replaced_atoms: n_replaced,
        };
        observer(&report);
        history.push(report);
    }
    Ok(LearnedDictionary {
        dictionary: Dictionary::from_matrix(d.as_ref())?,
        codes,
        history,
    })
}

/// `D_U = Y X_U^T (X_U X_U^T)^{-1}` over the used atoms `U`, then unit atoms with the codes
/// rescaled so that `D X` is unchanged.
fn least_squares_update(
    d: &mut Mat<f64>,
    codes: &mut SparseCodes,
    y: MatRef<'_, f64>,
) -> Result<()> {
    let (n, m) = (d.nrows(), d.ncols());
    let mut a = Mat::<f64>::zeros(m, m);
    let mut b = Mat::<f64>::zeros(n, m);
    codes.accumulate_stats(y, &mut a, &mut b);
    let used: Vec<usize> = (0..m).filter(|&i| a[(i, i)] > 0.0).collect();
    if used.is_empty() {
        return Ok(());
    }
    let u = used.len();
    let mut auu = Mat::<f64>::from_fn(u, u, |p, q| a[(used[p], used[q])]);
    // Right-hand side B_U^T (u x n): D_U^T = A_UU^{-1} B_U^T.
    let but = Mat::<f64>::from_fn(u, n, |p, i| b[(i, used[p])]);
    let scale = (0..u).map(|p| auu[(p, p)]).fold(0.0, f64::max);
    if !scale.is_finite() {
        // X X^T overflowed (codes near 1e154 or beyond): no ridge can repair it, and the loop
        // below would never end.
        return Err(crate::error::invalid(
            "y",
            format!("signals whose codes have squared norms up to {scale}"),
            "training signals of moderate magnitude (the MOD statistics X X^T overflow; \
             rescale y)",
        ));
    }
    let mut ridge = 0.0;
    let dut = loop {
        match auu.llt(Side::Lower) {
            Ok(llt) => break llt.solve(&but),
            Err(err) => {
                // X_U X_U^T is singular (atoms used with proportional coefficients): regularise
                // slightly, as a pseudo-inverse would.
                if ridge > 1e-6 * scale {
                    return Err(sparse_core::Error::LinearAlgebra {
                        context: "MOD update (Cholesky of X X^T)",
                        message: format!("{err:?}"),
                    }
                    .into());
                }
                let add = if ridge == 0.0 {
                    1e-12 * scale
                } else {
                    9.0 * ridge
                };
                ridge += add;
                for p in 0..u {
                    auu[(p, p)] += add;
                }
            }
        }
    };
    let mut scales = vec![1.0; m];
    for (p, &i) in used.iter().enumerate() {
        let nrm = (0..n)
            .map(|r| dut[(p, r)] * dut[(p, r)])
            .sum::<f64>()
            .sqrt();
        if nrm > 0.0 && nrm.is_finite() {
            for r in 0..n {
                d[(r, i)] = dut[(p, r)] / nrm;
            }
            scales[i] = nrm;
        } else {
            // A degenerate least-squares atom: keep the old atom and drop its coefficients.
            scales[i] = 0.0;
        }
    }
    let (idx, val) = codes.indices_values_mut();
    for (v, &i) in val.iter_mut().zip(idx) {
        *v *= scales[i];
    }
    Ok(())
}
