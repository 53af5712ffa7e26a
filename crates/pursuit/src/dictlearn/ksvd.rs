//! K-SVD (Aharon, Elad & Bruckstein 2006) and approximate K-SVD (Rubinstein, Zibulevsky &
//! Elad 2008).

use faer::diag::Diag;
use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::svd::{svd, svd_scratch, ComputeSvdVectors};
use faer::{Mat, MatRef, Par};
use rand::seq::SliceRandom;
use sparse_core::{generate, Dictionary};

use super::codes::{clear_dict, code_stage, col_sq_norms, CodesExt, Replacer, SparseCodes};
use super::{learn_option_setters, IterationReport, LearnOptions, LearnedDictionary};
use crate::error::Result;
use crate::Stop;

/// How K-SVD updates one atom `d_j` and its coefficients `x_I` (the row of `X` restricted to
/// the signals `I` that use the atom), given the error `E_I = Y_I - sum_{i != j} d_i x_{i,I}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AtomUpdate {
    /// The best rank-1 approximation of `E_I` (its leading singular pair, by faer's SVD):
    /// `d_j = u_1`, `x_I = sigma_1 v_1^T` (Aharon, Elad & Bruckstein 2006).
    #[default]
    Exact,
    /// One alternating step of that fit from the current coefficients:
    /// `d_j = E_I x_I^T / ||E_I x_I^T||`, then `x_I = E_I^T d_j`, computed from the residual
    /// without forming `E_I` (Rubinstein, Zibulevsky & Elad 2008). Much cheaper, and almost as
    /// good because K-SVD iterates anyway.
    Approximate,
}

/// K-SVD dictionary learning (Aharon, Elad & Bruckstein, "K-SVD: An algorithm for designing
/// overcomplete dictionaries for sparse representation", IEEE TSP 2006).
///
/// Each iteration sparse-codes the training signals (Batch-OMP by default), then sweeps the atoms
/// in a random order; atom `j` and the coefficients of the signals that use it are refitted to the
/// error those signals leave without it ([`AtomUpdate`]), keeping every support fixed. Each atom
/// update cannot increase `||Y - D X||_F`, and the sweep uses the coefficients already updated.
/// The residual `Y - D X` is kept up to date, so an atom update costs `O(n |I|)` plus, for the
/// exact update, one thin SVD of an `n x |I|` matrix.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `options` | [`LearnOptions::new`] | shared options (atoms, init, coder, iterations, seed, replacement, par) |
/// | `update` | [`AtomUpdate::Exact`] | exact rank-1 (SVD) or approximate K-SVD atom update |
///
/// An atom no signal uses is replaced by the worst-represented signal during the sweep (when
/// `replace_unused` is on); after the sweep, rarely used and near-duplicate atoms are replaced as
/// in KSVD-Box's `clearDict` (except after the last iteration).
#[derive(Debug, Clone)]
pub struct Ksvd {
    /// Shared options.
    pub options: LearnOptions,
    /// Atom update rule.
    pub update: AtomUpdate,
}

learn_option_setters!(Ksvd);

impl Ksvd {
    /// K-SVD with `n_atoms` atoms, Batch-OMP with the rule `stop`, and the default options.
    pub fn new(n_atoms: usize, stop: Stop) -> Self {
        Self::with_options(LearnOptions::new(n_atoms, stop))
    }

    /// K-SVD with the given shared options (exact atom update).
    pub fn with_options(options: LearnOptions) -> Self {
        Self {
            options,
            update: AtomUpdate::Exact,
        }
    }

    sparse_core::setters! {
        /// Sets the atom update rule.
        update: AtomUpdate,
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
        super::fit_at_safe_magnitude(&self.options, y, &mut observer, |o, y, observer| {
            self.fit_unscaled(o, y, observer)
        })
    }

    /// [`fit_observed`](Self::fit_observed) on validated signals of safe magnitude.
    fn fit_unscaled(
        &self,
        o: &LearnOptions,
        y: MatRef<'_, f64>,
        observer: &mut dyn FnMut(&IterationReport),
    ) -> Result<LearnedDictionary> {
        let mut rng = generate::rng(o.seed);
        let mut d = o.initial_dictionary(y, &mut rng)?;
        let (n, m) = (y.nrows(), o.n_atoms);
        let mut history = Vec::with_capacity(o.iterations);
        let mut codes = SparseCodes::default();
        let mut order: Vec<usize> = (0..m).collect();
        let mut buf = Vec::new();
        for it in 1..=o.iterations {
            codes = code_stage(o, &d, y, (it > 1).then_some(&codes))?;
            let mut r = codes.residual(d.as_ref(), y, o.par);
            let mut replacer = Replacer::new(y, &col_sq_norms(r.as_ref()));
            let mut replaced = vec![false; m];
            let index = codes.by_atom();
            order.shuffle(&mut rng);
            for &j in &order {
                let (sigs, pos) = index.atom(j);
                if sigs.is_empty() {
                    if o.replace_unused && replacer.next_into(d.col_mut(j)) {
                        replaced[j] = true;
                    }
                    continue;
                }
                match self.update {
                    AtomUpdate::Exact => {
                        exact_update(&mut d, j, &mut r, sigs, pos, codes.values_mut(), &mut buf)?
                    }
                    AtomUpdate::Approximate => {
                        approximate_update(&mut d, j, &mut r, sigs, pos, codes.values_mut())
                    }
                }
            }
            let rmse = (r.squared_norm_l2() / (n * y.ncols()) as f64).sqrt();
            let mut n_replaced = replaced.iter().filter(|&&b| b).count();
            if it < o.iterations {
                replacer.refresh(&col_sq_norms(r.as_ref()));
                n_replaced += clear_dict(&mut d, &codes.usage(), &mut replaced, o, &mut replacer);
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
}

/// Exact K-SVD update of atom `j`: `E_I = R_I + d_j x_I^T`, `d_j = u_1`, `x_I = E_I^T u_1`,
/// `R_I = E_I - d_j x_I^T`.
fn exact_update(
    d: &mut Mat<f64>,
    j: usize,
    r: &mut Mat<f64>,
    sigs: &[usize],
    pos: &[usize],
    val: &mut [f64],
    e: &mut Vec<f64>,
) -> Result<()> {
    let n = d.nrows();
    let k = sigs.len();
    let dj: Vec<f64> = d.col(j).iter().copied().collect();
    e.clear();
    e.resize(n * k, 0.0);
    for (c, (&s, &p)) in sigs.iter().zip(pos).enumerate() {
        let x = val[p];
        let rs = r.col_as_slice(s);
        for ((ev, &rv), &dv) in e[c * n..(c + 1) * n].iter_mut().zip(rs).zip(&dj) {
            *ev = rv + dv * x;
        }
    }
    let em = MatRef::from_column_major_slice(e.as_slice(), n, k);
    let u1 = leading_left_singular_vector(em, &dj)?;
    let Some(u1) = u1 else {
        // E_I = 0: the signals need no atom; zero their coefficients, keep the atom.
        for &p in pos {
            val[p] = 0.0;
        }
        return Ok(());
    };
    for (c, (&s, &p)) in sigs.iter().zip(pos).enumerate() {
        let ec = &e[c * n..(c + 1) * n];
        let g: f64 = ec.iter().zip(&u1).map(|(a, b)| a * b).sum();
        val[p] = g;
        let rs = r.col_as_slice_mut(s);
        for ((rv, &ev), &uv) in rs.iter_mut().zip(ec).zip(&u1) {
            *rv = ev - uv * g;
        }
    }
    d.col_mut(j).iter_mut().zip(&u1).for_each(|(a, &b)| *a = b);
    Ok(())
}

/// The leading left singular vector of `e` (`n x k`) by faer's thin SVD, signed to agree with
/// `reference`; `None` when `e` is zero.
fn leading_left_singular_vector(e: MatRef<'_, f64>, reference: &[f64]) -> Result<Option<Vec<f64>>> {
    let (n, k) = e.shape();
    let size = n.min(k);
    let mut s = Diag::<f64>::zeros(size);
    let mut u = Mat::<f64>::zeros(n, size);
    let req = svd_scratch::<f64>(
        n,
        k,
        ComputeSvdVectors::Thin,
        ComputeSvdVectors::No,
        Par::Seq,
        Default::default(),
    );
    let mut mem = MemBuffer::new(req);
    svd(
        e,
        s.as_mut(),
        Some(u.as_mut()),
        None,
        Par::Seq,
        MemStack::new(&mut mem),
        Default::default(),
    )
    .map_err(|err| sparse_core::Error::LinearAlgebra {
        context: "K-SVD atom update (SVD of the restricted error)",
        message: format!("{err:?}"),
    })?;
    let s1 = s.column_vector()[0];
    if s1.is_nan() || s1 <= 0.0 {
        return Ok(None);
    }
    let mut u1: Vec<f64> = u.col(0).iter().copied().collect();
    let agree: f64 = u1.iter().zip(reference).map(|(a, b)| a * b).sum();
    if agree < 0.0 {
        u1.iter_mut().for_each(|v| *v = -*v);
    }
    Ok(Some(u1))
}

/// Approximate K-SVD update of atom `j` (Rubinstein, Zibulevsky & Elad 2008, Alg. 5), from the
/// residual `R` instead of `E_I = R_I + d_j x_I^T`:
/// `d = R_I x + d_j ||x||^2`, normalised; `g = R_I^T d + x <d_j, d>`; `R_I += d_j x^T - d g^T`.
fn approximate_update(
    d: &mut Mat<f64>,
    j: usize,
    r: &mut Mat<f64>,
    sigs: &[usize],
    pos: &[usize],
    val: &mut [f64],
) {
    let n = d.nrows();
    let dj: Vec<f64> = d.col(j).iter().copied().collect();
    let mut dn = vec![0.0; n];
    let mut xx = 0.0;
    for (&s, &p) in sigs.iter().zip(pos) {
        let x = val[p];
        xx += x * x;
        for (a, &rv) in dn.iter_mut().zip(r.col_as_slice(s)) {
            *a += rv * x;
        }
    }
    for (a, &dv) in dn.iter_mut().zip(&dj) {
        *a += dv * xx;
    }
    let nrm = dn.iter().map(|v| v * v).sum::<f64>().sqrt();
    if !(nrm > 0.0 && nrm.is_finite()) {
        return;
    }
    dn.iter_mut().for_each(|v| *v /= nrm);
    let c: f64 = dj.iter().zip(&dn).map(|(a, b)| a * b).sum();
    for (&s, &p) in sigs.iter().zip(pos) {
        let x = val[p];
        let rs = r.col_as_slice_mut(s);
        let g = rs.iter().zip(&dn).map(|(a, b)| a * b).sum::<f64>() + x * c;
        for ((rv, &dv), &nv) in rs.iter_mut().zip(&dj).zip(&dn) {
            *rv += dv * x - nv * g;
        }
        val[p] = g;
    }
    d.col_mut(j).iter_mut().zip(&dn).for_each(|(a, &b)| *a = b);
}
