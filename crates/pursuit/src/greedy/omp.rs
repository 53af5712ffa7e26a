//! Orthogonal Matching Pursuit, plain and Batch-OMP.

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, MatRef, Par};
use sparse_core::solve::{by_magnitude, Homogeneity, SAFE_EXPONENT};
use sparse_core::{check, Dictionary, SparseCodes};

use super::ormp::{ormp_one, OrmpScratch};
use super::{argmax_abs, finish, GrowingCholesky, Real, Stop, F32_SAFE_EXPONENT};
use crate::batch::{column, column_mut, map_chunks, map_columns, CHUNK};
use crate::result::{assemble, Report, Solution};
use crate::{Error, Result, Solve};
use sparse_core::simd::{Avx2Fma, Avx512};

/// Orthogonal Matching Pursuit (Pati, Rezaiifar & Krishnaprasad 1993; Davis, Mallat & Zhang
/// 1994): at each step select the atom most correlated with the residual, then project the
/// signal onto all selected atoms by least squares, so the residual stays orthogonal to them.
///
/// The least-squares step keeps a Cholesky factor of the selected Gram block that grows by one
/// row per atom (no re-solve from scratch). Each step computes `D^T r` explicitly — use
/// [`BatchOmp`] for large batches, which gives the same result faster.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `stop` | — | [`Stop::Sparsity`] `k`, [`Stop::Residual`] `eps`, or both |
/// | `par` | `Par::rayon(0)` | parallelism over signals |
///
/// Exact recovery is guaranteed when `||x||_0 < (1 + 1/mu(D)) / 2` (Tropp 2004; Donoho & Elad
/// 2003).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Omp {
    /// Stopping rule.
    pub stop: Stop,
    /// Parallelism over signals.
    pub par: Par,
}

impl Omp {
    /// OMP with the given stopping rule, parallel over signals.
    pub fn new(stop: Stop) -> Self {
        Self {
            stop,
            par: Par::rayon(0),
        }
    }

    sparse_core::setters! {
        /// Sets the parallelism over signals.
        par: Par,
    }
}

struct OmpScratch<T = f64> {
    chol: GrowingCholesky<T>,
    support: Vec<usize>,
    xs: Vec<T>,
    rhs: Vec<T>,
    /// `L^{-1} rhs`, grown by one entry per atom.
    z: Vec<T>,
    g: Vec<T>,
    r: Vec<T>,
    alpha: Vec<T>,
    /// The AVX-512 token, when the CPU has it (the correlation update's 512-bit build).
    avx512: Option<Avx512>,
}

impl<T: Real> OmpScratch<T> {
    fn new(kmax: usize, m: usize) -> Self {
        Self {
            chol: GrowingCholesky::new(kmax),
            support: Vec::with_capacity(kmax),
            xs: Vec::with_capacity(kmax),
            rhs: Vec::with_capacity(kmax),
            z: Vec::with_capacity(kmax),
            g: Vec::with_capacity(kmax),
            r: Vec::new(),
            alpha: vec![T::zero(); m],
            avx512: Avx512::detect(),
        }
    }
}

impl Solve<Dictionary> for Omp {
    type Output = Solution;
    type Error = Error;

    /// Signals of extreme magnitude are coded divided by a power of two, with the residual
    /// target ([`sparse_core::solve::by_magnitude`]), so that their squared norms stay finite.
    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check::batch("y", y, d.signal_len())?;
        self.stop.budget(d.signal_len(), d.n_atoms())?;
        by_magnitude(y, Homogeneity::Linear, SAFE_EXPONENT, |ys, s, _| {
            Omp {
                stop: self.stop.divided(s),
                ..*self
            }
            .solve_unscaled(d, ys)
        })
    }
}

impl Omp {
    /// [`Solve::solve`] for signals of safe magnitude.
    fn solve_unscaled(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        let (n, m) = (d.signal_len(), d.n_atoms());
        let (kmax, eps2) = self.stop.budget(n, m)?;
        let dm = d.matrix();
        let (codes, reports) = map_columns(
            y,
            m,
            self.par,
            || OmpScratch {
                chol: GrowingCholesky::new(kmax),
                support: Vec::with_capacity(kmax),
                xs: Vec::with_capacity(kmax),
                rhs: Vec::with_capacity(kmax),
                z: Vec::with_capacity(kmax),
                g: Vec::with_capacity(kmax),
                r: vec![0.0; n],
                alpha: vec![0.0; m],
                avx512: None,
            },
            |s, _j, yj, xj| {
                s.chol.clear();
                s.support.clear();
                s.rhs.clear();
                s.z.clear();
                s.xs.clear();
                s.r.copy_from_slice(yj);
                let ynorm = yj.iter().map(|v| v * v).sum::<f64>().sqrt();
                let mut res2 = ynorm * ynorm;
                let mut converged = false;
                loop {
                    if s.support.len() == kmax && eps2 < 0.0 || res2 <= eps2 {
                        converged = true;
                        break;
                    }
                    if s.support.len() == kmax {
                        break;
                    }
                    matmul(
                        MatMutCol::new(&mut s.alpha),
                        Accum::Replace,
                        dm.transpose(),
                        MatRef::from_column_major_slice(&s.r, n, 1),
                        1.0,
                        Par::Seq,
                    );
                    for &i in &s.support {
                        s.alpha[i] = 0.0;
                    }
                    let (i, a) = argmax_abs(&s.alpha);
                    if a <= <f64 as Real>::ORTHOGONAL_TOL * ynorm {
                        converged = true; // y is exactly represented
                        break;
                    }
                    let di = dm.col(i);
                    s.g.clear();
                    s.g.extend(s.support.iter().map(|&t| dot_cols(dm, t, di)));
                    if !s.chol.push(&mut s.g, 1.0) {
                        break; // the best atom is dependent on the selected ones
                    }
                    s.support.push(i);
                    s.rhs.push(dot(yj, di));
                    s.chol.forward_push(&mut s.z, s.rhs[s.rhs.len() - 1]);
                    s.xs.clear();
                    s.xs.extend_from_slice(&s.z);
                    s.chol.backward(&mut s.xs);
                    s.r.copy_from_slice(yj);
                    for (&t, &c) in s.support.iter().zip(&s.xs) {
                        for (rv, dv) in s.r.iter_mut().zip(dm.col(t).iter()) {
                            *rv -= c * dv;
                        }
                    }
                    res2 = s.r.iter().map(|v| v * v).sum();
                }
                finish(&s.support, &s.xs, res2, converged, xj)
            },
        );
        Ok(assemble(codes, &reports, false))
    }
}

/// A column-major `len x 1` view of a mutable slice, as faer's matmul destination.
struct MatMutCol;
impl MatMutCol {
    #[allow(clippy::new_ret_no_self)]
    fn new(v: &mut [f64]) -> faer::MatMut<'_, f64> {
        let n = v.len();
        faer::MatMut::from_column_major_slice_mut(v, n, 1)
    }
}

#[inline]
fn dot(a: &[f64], b: faer::ColRef<'_, f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

#[inline]
fn dot_cols(d: MatRef<'_, f64>, t: usize, b: faer::ColRef<'_, f64>) -> f64 {
    d.col(t).iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

/// Batch-OMP (Rubinstein, Zibulevsky & Elad 2008): OMP for many signals over one dictionary.
///
/// The Gram matrix `G = D^T D` is computed once per dictionary and `D^T Y` once per batch (one
/// GEMM); each signal's step then updates the correlations as `alpha = D^T y - G_S x_S` and the
/// residual energy as `||y||^2 - x_S^T (D^T y)_S`, so its cost no longer contains any `D x`
/// product. Selections, coefficients and residuals equal those of [`Omp`] up to round-off.
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `stop` | — | [`Stop::Sparsity`] `k`, [`Stop::Residual`] `eps`, or both |
/// | `par` | `Par::rayon(0)` | parallelism over signals (and of the `D^T Y` product) |
/// | `selection` | [`Selection::Omp`] | atom selection rule (OMP or ORMP) |
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchOmp {
    /// Stopping rule.
    pub stop: Stop,
    /// Parallelism.
    pub par: Par,
    /// Atom selection rule.
    pub selection: Selection,
}

/// How a Batch-OMP step chooses the next atom.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Selection {
    /// OMP: the atom most correlated with the residual, `argmax |<r, d_i>|`.
    #[default]
    Omp,
    /// ORMP / orthogonal least squares: the atom whose addition leaves the smallest residual,
    /// `argmax <r, d_i>^2 / ||P_S^perp d_i||^2` (Chen, Billings & Luo 1989; the rule of SPAMS'
    /// `omp`). Better on coherent dictionaries, same cost order.
    Ormp,
}

impl BatchOmp {
    /// Batch-OMP with the given stopping rule, parallel over signals.
    pub fn new(stop: Stop) -> Self {
        Self {
            stop,
            par: Par::rayon(0),
            selection: Selection::Omp,
        }
    }

    sparse_core::setters! {
        /// Sets the parallelism.
        par: Par,
        /// Sets the atom selection rule.
        selection: Selection,
    }

    /// Codes `y` given a precomputed Gram matrix `gram = D^T D` (reuse it across batches).
    ///
    /// `gram` is checked in `O(m^2 + n m)` ([`sparse_core::check::gram`]: shape, finiteness,
    /// symmetry, unit diagonal and a spot check of two entries per column against `D`); an
    /// `Err` naming `gram` refuses one that is not the Gram matrix of `d`.
    pub fn code_with_gram(
        &self,
        d: &Dictionary,
        gram: MatRef<'_, f64>,
        y: MatRef<'_, f64>,
    ) -> Result<Solution> {
        let (n, m) = (d.signal_len(), d.n_atoms());
        check::batch("y", y, n)?;
        check::gram("gram", gram, m, Some(d.matrix()))?;
        self.stop.budget(n, m)?;
        by_magnitude(y, Homogeneity::Linear, SAFE_EXPONENT, |ys, s, _| {
            BatchOmp {
                stop: self.stop.divided(s),
                ..*self
            }
            .code_with_gram_unscaled(d.matrix(), gram, ys)
        })
    }

    /// [`code_with_gram`](Self::code_with_gram) for checked inputs of safe magnitude, in the
    /// precision `T` of `dm` (the dictionary's atoms), `gram` and `y`.
    fn code_with_gram_unscaled<T: Real>(
        &self,
        dm: MatRef<'_, T>,
        gram: MatRef<'_, T>,
        y: MatRef<'_, T>,
    ) -> Result<Solution<Mat<T>>> {
        let (n, m) = (dm.nrows(), dm.ncols());
        let (kmax, eps2) = self.stop.budget(n, m)?;
        let eps2 = T::of(eps2);
        let gram = gram.to_owned(); // contiguous columns for the inner axpy loops
        let simd = Avx2Fma::detect();
        // Per chunk of signals: one GEMM for D^T Y (kept in cache), then the per-signal steps.
        let (codes, reports) = map_chunks(
            y,
            m,
            self.par,
            || {
                (
                    Scratch::new(self.selection, kmax, &gram),
                    Mat::<T>::zeros(m, CHUNK),
                )
            },
            |(s, dty), _first, yc, xc, rc| {
                code_chunk(s, dty, dm, &gram, yc, xc, rc, simd, kmax, eps2);
            },
        );
        Ok(assemble(codes, &reports, false))
    }

    /// Batch-OMP (or ORMP, [`Selection`]) with the codes returned column-compressed
    /// ([`SparseCodes`], as SPAMS' `omp` returns a `scipy.sparse` matrix): no dense
    /// `n_atoms x N` matrix is formed, so a batch of `N` signals with `k` atoms each takes
    /// `16 k N` bytes instead of `8 n_atoms N` (for 10,000 signals over 256 atoms with
    /// `k = 8`, 1.3 MB instead of 20 MB; about as fast as the dense solve when the allocator
    /// can reuse the dense matrix's memory). The codes and diagnostics are those of
    /// [`Solve::solve`], entry for entry (`SparseCodes::from_dense` of its codes); signals of
    /// extreme magnitude (largest entry outside `2^-255 ..= 2^255`) go through that dense
    /// solve.
    ///
    /// # Errors
    /// As [`Solve::solve`].
    pub fn solve_sparse(
        &self,
        d: &Dictionary,
        y: MatRef<'_, f64>,
    ) -> Result<Solution<SparseCodes>> {
        check::batch("y", y, d.signal_len())?;
        self.stop.budget(d.signal_len(), d.n_atoms())?;
        if !unit_magnitude(y, SAFE_EXPONENT) {
            let sol = self.solve(d, y)?;
            return Ok(Solution::new(
                SparseCodes::from_dense(sol.codes.as_ref()),
                sol.diagnostics,
            )?);
        }
        let gram = d.gram_par(self.par);
        self.code_sparse_unscaled(d.matrix(), gram.as_ref(), y)
    }

    /// [`solve_sparse`](Self::solve_sparse) of `f32` signals in `f32`, as
    /// `Solve<Dictionary, f32>` codes them (the values widened to `f64` in the
    /// [`SparseCodes`]); signals outside `2^-39 ..= 2^39` go through that dense solve.
    ///
    /// # Errors
    /// As [`Solve::solve`].
    pub fn solve_sparse_f32(
        &self,
        d: &Dictionary,
        y: MatRef<'_, f32>,
    ) -> Result<Solution<SparseCodes>> {
        check::batch("y", y, d.signal_len())?;
        self.stop.budget(d.signal_len(), d.n_atoms())?;
        if !unit_magnitude(y, F32_SAFE_EXPONENT) {
            let sol = Solve::<Dictionary, f32>::solve(self, d, y)?;
            let c = &sol.codes;
            let wide = Mat::<f64>::from_fn(c.nrows(), c.ncols(), |i, j| c[(i, j)] as f64);
            return Ok(Solution::new(
                SparseCodes::from_dense(wide.as_ref()),
                sol.diagnostics,
            )?);
        }
        let (dm, gram) = Float32Atoms::new(d, self.par).into_parts();
        self.code_sparse_unscaled(dm.as_ref(), gram.as_ref(), y)
    }

    /// [`code_with_gram_unscaled`](Self::code_with_gram_unscaled) into column-compressed
    /// codes: each chunk is coded into a zeroed `m x CHUNK` buffer of its worker, whose
    /// non-zeros are then moved out (and the buffer zeroed again).
    fn code_sparse_unscaled<T: Real>(
        &self,
        dm: MatRef<'_, T>,
        gram: MatRef<'_, T>,
        y: MatRef<'_, T>,
    ) -> Result<Solution<SparseCodes>> {
        let (n, m) = (dm.nrows(), dm.ncols());
        let (kmax, eps2) = self.stop.budget(n, m)?;
        let eps2 = T::of(eps2);
        let gram = gram.to_owned();
        let simd = Avx2Fma::detect();
        // The chunks' non-zeros (first column, per-column counts, rows, values), in any order.
        type Piece = (usize, Vec<usize>, Vec<usize>, Vec<f64>);
        let pieces = std::sync::Mutex::new(Vec::<Piece>::new());
        let mut none = Mat::<T>::zeros(0, y.ncols());
        let reports = sparse_core::batch::for_each_block(
            none.as_mut(),
            CHUNK,
            self.par,
            || {
                (
                    Scratch::new(self.selection, kmax, &gram),
                    Mat::<T>::zeros(m, CHUNK),
                    Mat::<T>::zeros(m, CHUNK),
                )
            },
            |(s, dty, buf), first, _, rc, _| {
                let w = rc.len();
                let yc = y.subcols(first, w);
                let mut xc = buf.as_mut().subcols_mut(0, w);
                code_chunk(s, dty, dm, &gram, yc, xc.as_mut(), rc, simd, kmax, eps2);
                let mut piece: Piece = (first, Vec::with_capacity(w), Vec::new(), Vec::new());
                for k in 0..w {
                    let before = piece.2.len();
                    for (i, v) in column_mut(xc.as_mut(), k).iter_mut().enumerate() {
                        if *v != T::zero() {
                            piece.2.push(i);
                            piece.3.push((*v).into());
                            *v = T::zero();
                        }
                    }
                    piece.1.push(piece.2.len() - before);
                }
                pieces
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(piece);
            },
        );
        let mut pieces = pieces
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        pieces.sort_unstable_by_key(|p| p.0);
        let nnz = pieces.iter().map(|p| p.2.len()).sum();
        let (mut indptr, mut indices, mut values) = (
            Vec::with_capacity(y.ncols() + 1),
            Vec::with_capacity(nnz),
            Vec::with_capacity(nnz),
        );
        indptr.push(0);
        for (_, counts, rows, vals) in pieces {
            for c in counts {
                indptr.push(indptr.last().copied().unwrap_or(0) + c);
            }
            indices.extend(rows);
            values.extend(vals);
        }
        let codes = SparseCodes::from_parts(m, indptr, indices, values)?;
        let diagnostics = reports.iter().map(|r| r.diagnostics(false)).collect();
        Ok(Solution::new(codes, diagnostics)?)
    }

    /// The core of Batch-OMP from correlations only: `dty = D^T Y` (`m x b`), the Gram matrix
    /// and the squared signal norms `||y_j||^2` (used for the residual energy). No access to `D`
    /// or `Y` is needed.
    ///
    /// `gram` is checked in `O(m^2)` ([`sparse_core::check::gram`] without the atoms: shape,
    /// finiteness, symmetry, unit diagonal, entries in `[-1, 1]`), `ynorm2` must be finite and
    /// at least `max_i dty_i^2` (up to rounding, as `|<d_i, y>| <= ||y||` for unit atoms); an
    /// `Err` names the argument. Correlations of extreme magnitude are rescaled as in
    /// [`sparse_core::solve::by_magnitude`].
    pub fn code_correlations(
        &self,
        gram: MatRef<'_, f64>,
        dty: MatRef<'_, f64>,
        ynorm2: &[f64],
    ) -> Result<Solution> {
        let m = gram.nrows();
        check::gram("gram", gram, m, None)?;
        check::batch("dty", dty, m)?;
        if ynorm2.len() != dty.ncols() {
            return Err(crate::error::shape_mismatch(
                "ynorm2",
                format!("{} squared norms", dty.ncols()),
                format!("{}", ynorm2.len()),
            ));
        }
        check::finite_slice("ynorm2", ynorm2)?;
        for (j, &y2) in ynorm2.iter().enumerate() {
            let top = dty.col(j).iter().fold(0.0f64, |a, v| a.max(v.abs()));
            // top^2 <= y2, compared without squaring (which may overflow).
            if !(y2 >= 0.0 && top <= y2.sqrt() * (1.0 + 1e-6)) {
                let expected = if top > 0.0 && top * top < f64::MIN_POSITIVE {
                    // ||y||^2 underflowed: the residual energy is lost, and a zero would stop
                    // every pursuit at once.
                    format!(
                        "||y_j||^2 >= max_i (D^T y_j)_i^2 = {:e} (which underflows: divide \
                         the signals by a power of two before forming D^T y and ||y||^2)",
                        top * top
                    )
                } else {
                    format!("||y_j||^2 >= max_i (D^T y_j)_i^2 = {:e}", top * top)
                };
                return Err(crate::error::invalid(
                    "ynorm2",
                    format!("{y2:e} at signal {j}"),
                    expected,
                ));
            }
        }
        self.stop.budget(m, m)?;
        by_magnitude(dty, Homogeneity::Linear, SAFE_EXPONENT, |dtys, s, cols| {
            let y2s: Vec<f64> = cols.iter().map(|&j| ynorm2[j] / s / s).collect();
            BatchOmp {
                stop: self.stop.divided(s),
                ..*self
            }
            .code_correlations_unscaled(gram, dtys, &y2s)
        })
    }

    /// [`code_correlations`](Self::code_correlations) for checked inputs of safe magnitude.
    fn code_correlations_unscaled(
        &self,
        gram: MatRef<'_, f64>,
        dty: MatRef<'_, f64>,
        ynorm2: &[f64],
    ) -> Result<Solution> {
        let m = gram.nrows();
        // The atom budget is bounded by the rank, at most min(n, m); n is unknown here, so use m.
        let (kmax, eps2) = self.stop.budget(m, m)?;
        let gram = gram.to_owned(); // contiguous columns for the inner axpy loops
        let simd = Avx2Fma::detect();
        let (codes, reports) = map_columns(
            dty,
            m,
            self.par,
            || Scratch::new(self.selection, kmax, &gram),
            |s, j, a0, xj| s.run(simd, &gram, a0, ynorm2[j], kmax, eps2, xj),
        );
        Ok(assemble(codes, &reports, false))
    }
}

/// The per-worker scratch of the selected rule.
enum Scratch<T> {
    Omp(OmpScratch<T>),
    Ormp(OrmpScratch<T>),
}

impl<T: Real> Scratch<T> {
    fn new(selection: Selection, kmax: usize, gram: &Mat<T>) -> Self {
        let m = gram.nrows();
        match selection {
            Selection::Omp => Scratch::Omp(OmpScratch::new(kmax, m)),
            Selection::Ormp => Scratch::Ormp(OrmpScratch::new(kmax, gram)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn run(
        &mut self,
        simd: Option<Avx2Fma>,
        gram: &Mat<T>,
        a0: &[T],
        ynorm2: T,
        kmax: usize,
        eps2: T,
        xj: &mut [T],
    ) -> Report {
        match self {
            Scratch::Omp(s) => batch_omp_dispatch(simd, s, gram, a0, ynorm2, kmax, eps2, xj),
            Scratch::Ormp(s) => ormp_one(simd, s, gram, a0, ynorm2, kmax, eps2, xj),
        }
    }
}

/// Runs [`batch_omp_one`], compiled for AVX2 + FMA when given the token that proves the CPU
/// has them (see [`sparse_core::simd`]). The FMA kernels round `a0 - G_S x_S` once per term
/// where the portable loop rounds twice, so the two paths agree to rounding, not bit for bit.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn batch_omp_dispatch<T: Real>(
    simd: Option<Avx2Fma>,
    s: &mut OmpScratch<T>,
    gram: &Mat<T>,
    a0: &[T],
    ynorm2: T,
    kmax: usize,
    eps2: T,
    xj: &mut [T],
) -> Report {
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = simd {
        // SAFETY: the token proves that the CPU supports AVX2 and FMA; the kernels check
        // their shapes.
        return unsafe { batch_omp_avx2(token, s, gram, a0, ynorm2, kmax, eps2, xj) };
    }
    let _ = simd;
    batch_omp_one(s, gram, a0, ynorm2, kmax, eps2, xj)
}

/// Batch-OMP for one signal with the AVX2 + FMA kernels of [`super::simd`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn batch_omp_avx2<T: Real>(
    token: Avx2Fma,
    s: &mut OmpScratch<T>,
    gram: &Mat<T>,
    a0: &[T],
    ynorm2: T,
    kmax: usize,
    eps2: T,
    xj: &mut [T],
) -> Report {
    // The 512-bit selection and correlation update compute the 256-bit ones' values, bit for
    // bit.
    let wide = s.avx512;
    let g = gram.as_ref(); // owned: unit row stride; support indices are < m by construction
    batch_omp_steps(
        s,
        gram,
        a0,
        ynorm2,
        kmax,
        eps2,
        xj,
        |v| unsafe {
            match wide {
                Some(t512) => T::argmax_abs_avx512(t512, v),
                None => T::argmax_abs_avx2(token, v),
            }
        },
        |alpha, support, xs| unsafe {
            match wide {
                Some(t512) => T::combine_avx512(t512, alpha, a0, g, support, xs, T::one()),
                None => T::update_alpha_avx2(token, alpha, a0, g, support, xs),
            }
        },
    )
}

/// One signal of Batch-OMP from its correlations `a0 = D^T y`, with the portable kernels.
fn batch_omp_one<T: Real>(
    s: &mut OmpScratch<T>,
    gram: &Mat<T>,
    a0: &[T],
    ynorm2: T,
    kmax: usize,
    eps2: T,
    xj: &mut [T],
) -> Report {
    batch_omp_steps(
        s,
        gram,
        a0,
        ynorm2,
        kmax,
        eps2,
        xj,
        argmax_abs,
        |alpha, support, xs| {
            // alpha = a0 - G_S x_S (the first column fused with the copy of a0)
            let (t0, c0) = (support[0], xs[0]);
            for ((av, a0v), gv) in alpha.iter_mut().zip(a0).zip(gram.col_as_slice(t0)) {
                *av = *a0v - c0 * *gv;
            }
            for (&t, &c) in support.iter().zip(xs).skip(1) {
                for (av, gv) in alpha.iter_mut().zip(gram.col_as_slice(t)) {
                    *av -= c * *gv;
                }
            }
        },
    )
}

/// The steps of Batch-OMP for one signal, generic over the two inner kernels: `argmax`
/// (largest `|alpha_i|`, lowest index on ties) and `update` (`alpha = a0 - G_S x_S`).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn batch_omp_steps<T: Real>(
    s: &mut OmpScratch<T>,
    gram: &Mat<T>,
    a0: &[T],
    ynorm2: T,
    kmax: usize,
    eps2: T,
    xj: &mut [T],
    argmax: impl Fn(&[T]) -> (usize, T),
    update: impl Fn(&mut [T], &[usize], &[T]),
) -> Report {
    s.chol.clear();
    s.support.clear();
    s.rhs.clear();
    s.z.clear();
    s.xs.clear();
    s.alpha.copy_from_slice(a0);
    let ynorm = ynorm2.sqrt();
    let mut res2 = ynorm2;
    let mut converged = false;
    loop {
        if res2 <= eps2 || (s.support.len() == kmax && eps2 < T::zero()) {
            converged = true;
            break;
        }
        if s.support.len() == kmax {
            break;
        }
        let (i, a) = argmax(&s.alpha);
        if a <= T::ORTHOGONAL_TOL * ynorm {
            converged = true;
            break;
        }
        let gi = gram.col_as_slice(i);
        s.g.clear();
        s.g.extend(s.support.iter().map(|&t| gi[t]));
        if !s.chol.push(&mut s.g, gi[i]) {
            break;
        }
        s.support.push(i);
        s.rhs.push(a0[i]);
        // x_S = L^{-T} L^{-1} rhs, the forward half kept from the previous steps.
        s.chol.forward_push(&mut s.z, a0[i]);
        s.xs.clear();
        s.xs.extend_from_slice(&s.z);
        s.chol.backward(&mut s.xs);
        let explained: T = s.xs.iter().zip(&s.rhs).map(|(&x, &r)| x * r).sum();
        res2 = (ynorm2 - explained).max(T::zero());
        // The correlations are needed only if the next step selects another atom (the tests at
        // the top of the loop depend on `res2` and the support size alone).
        if res2 > eps2 && s.support.len() < kmax {
            update(&mut s.alpha, &s.support, &s.xs);
            for &t in &s.support {
                s.alpha[t] = T::zero();
            }
        }
    }
    finish(&s.support, &s.xs, res2, converged, xj)
}

/// Codes the chunk `yc` of signals: `D^T Y` into `dty` (one GEMM, kept in cache), then each
/// signal's steps, its code into the zeroed column `k` of `xc` and its report into `rc[k]`.
#[allow(clippy::too_many_arguments)]
fn code_chunk<T: Real>(
    s: &mut Scratch<T>,
    dty: &mut Mat<T>,
    dm: MatRef<'_, T>,
    gram: &Mat<T>,
    yc: MatRef<'_, T>,
    mut xc: faer::MatMut<'_, T>,
    rc: &mut [Report],
    simd: Option<Avx2Fma>,
    kmax: usize,
    eps2: T,
) {
    let w = yc.ncols();
    let mut dty = dty.as_mut().subcols_mut(0, w);
    matmul(
        dty.as_mut(),
        Accum::Replace,
        dm.transpose(),
        yc,
        T::one(),
        Par::Seq,
    );
    for (k, r) in rc.iter_mut().enumerate() {
        let a0 = column(dty.as_ref(), k);
        let yn2 = yc.col(k).iter().map(|&v| v * v).sum::<T>();
        *r = s.run(simd, gram, &a0, yn2, kmax, eps2, column_mut(xc.as_mut(), k));
    }
}

/// Whether every column's largest magnitude lies within `2^-(e-1) ..= 2^(e-1)` (or is zero):
/// inside [`by_magnitude`]'s safe range, so the signals are coded as given.
fn unit_magnitude<T: Real>(y: MatRef<'_, T>, e: i32) -> bool {
    let (lo, hi) = (2f64.powi(1 - e), 2f64.powi(e - 1));
    (0..y.ncols()).all(|j| {
        let linf = y.col(j).iter().fold(0.0f64, |m, &v| m.max(v.into().abs()));
        linf == 0.0 || (lo..=hi).contains(&linf)
    })
}

impl Solve<Dictionary> for BatchOmp {
    type Output = Solution;
    type Error = Error;

    fn solve(&self, d: &Dictionary, y: MatRef<'_, f64>) -> Result<Solution> {
        check::batch("y", y, d.signal_len())?;
        self.stop.budget(d.signal_len(), d.n_atoms())?;
        let gram = d.gram_par(self.par);
        // The Gram matrix is built here, so it is not checked as a caller's would be.
        by_magnitude(y, Homogeneity::Linear, SAFE_EXPONENT, |ys, s, _| {
            BatchOmp {
                stop: self.stop.divided(s),
                ..*self
            }
            .code_with_gram_unscaled(d.matrix(), gram.as_ref(), ys)
        })
    }
}

/// Batch-OMP (and ORMP) of `f32` signals in `f32`: the Gram matrix (formed in `f64`) and the
/// atoms are rounded to `f32` once per call, `D^T Y` and every step run in `f32` (eight lanes
/// per AVX2 register instead of four); the codes are `f32`, the residual norms in the
/// diagnostics `f64`. Selections equal those of the `f64` solve unless two candidates' scores
/// are within `f32` rounding of each other.
impl Solve<Dictionary, f32> for BatchOmp {
    type Output = Solution<Mat<f32>>;
    type Error = Error;

    fn solve(&self, d: &Dictionary, y: MatRef<'_, f32>) -> Result<Solution<Mat<f32>>> {
        check::batch("y", y, d.signal_len())?;
        self.stop.budget(d.signal_len(), d.n_atoms())?;
        let (dm, gram) = Float32Atoms::new(d, self.par).into_parts();
        by_magnitude(y, Homogeneity::Linear, F32_SAFE_EXPONENT, |ys, s, _| {
            BatchOmp {
                stop: self.stop.divided(s),
                ..*self
            }
            .code_with_gram_unscaled(dm.as_ref(), gram.as_ref(), ys)
        })
    }
}

/// A dictionary's atoms and Gram matrix (formed in `f64`) rounded to `f32`, for repeated
/// float32 Batch-OMP coding over the same dictionary.
pub(crate) struct Float32Atoms {
    dm: Mat<f32>,
    gram: Mat<f32>,
}

impl Float32Atoms {
    pub(crate) fn new(d: &Dictionary, par: Par) -> Self {
        let g = d.gram_par(par);
        let gram = Mat::<f32>::from_fn(g.nrows(), g.ncols(), |i, j| g[(i, j)] as f32);
        let dm = d.matrix();
        let dm = Mat::<f32>::from_fn(dm.nrows(), dm.ncols(), |i, j| dm[(i, j)] as f32);
        Self { dm, gram }
    }

    fn into_parts(self) -> (Mat<f32>, Mat<f32>) {
        (self.dm, self.gram)
    }
}

impl BatchOmp {
    /// Codes `f64` signals in `f32` over `atoms`: each signal is rounded to `f32` (after a
    /// power-of-two scaling when its magnitude is outside `2^-40 ..= 2^40`), coded by the
    /// `f32` Batch-OMP, and its code widened back to `f64` (the dictionary learners' and the
    /// denoiser's float32 coding stage).
    pub(crate) fn code_in_f32(&self, atoms: &Float32Atoms, y: MatRef<'_, f64>) -> Result<Solution> {
        let n = atoms.dm.nrows();
        check::batch("y", y, n)?;
        self.stop.budget(n, atoms.dm.ncols())?;
        by_magnitude(y, Homogeneity::Linear, F32_SAFE_EXPONENT, |ys, s, _| {
            let y32 = Mat::<f32>::from_fn(ys.nrows(), ys.ncols(), |i, j| ys[(i, j)] as f32);
            let sol = BatchOmp {
                stop: self.stop.divided(s),
                ..*self
            }
            .code_with_gram_unscaled(
                atoms.dm.as_ref(),
                atoms.gram.as_ref(),
                y32.as_ref(),
            )?;
            let c = &sol.codes;
            let codes = Mat::<f64>::from_fn(c.nrows(), c.ncols(), |i, j| c[(i, j)] as f64);
            Ok(Solution::new(codes, sol.diagnostics)?)
        })
    }
}
