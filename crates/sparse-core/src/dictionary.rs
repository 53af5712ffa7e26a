//! Dense dictionaries of unit-norm atoms: constructors, Gram matrix, mutual coherence, serde.

use faer::linalg::matmul::matmul;
use faer::{Accum, ColRef, Mat, MatMut, MatRef, Par};
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};

use crate::error::{check, Error, Result};
use crate::operator::LinearOperator;

/// A dense dictionary `D` (`n x m`, signal length `n`, `m` atoms) whose columns (atoms) have unit
/// l2 norm. Construction normalises and refuses zero or non-finite atoms, so every `Dictionary`
/// in the program is valid.
///
/// ```
/// use sparse_core::Dictionary;
/// let d = Dictionary::overcomplete_dct(8, 256).unwrap(); // the classic 64 x 256 patch dictionary
/// assert_eq!((d.signal_len(), d.n_atoms()), (64, 256));
/// assert!(d.coherence() < 1.0);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "DictionaryData", into = "DictionaryData")]
pub struct Dictionary {
    atoms: Mat<f64>,
}

/// Serialised form of a [`Dictionary`]: shape plus column-major entries.
#[derive(Serialize, Deserialize)]
struct DictionaryData {
    nrows: usize,
    ncols: usize,
    /// Column-major entries.
    data: Vec<f64>,
}

impl From<Dictionary> for DictionaryData {
    fn from(d: Dictionary) -> Self {
        let (nrows, ncols) = (d.atoms.nrows(), d.atoms.ncols());
        let mut data = Vec::with_capacity(nrows * ncols);
        for j in 0..ncols {
            data.extend_from_slice(d.atoms.col_as_slice(j));
        }
        Self { nrows, ncols, data }
    }
}

impl TryFrom<DictionaryData> for Dictionary {
    type Error = Error;
    fn try_from(d: DictionaryData) -> Result<Self> {
        let Some(len) = d.nrows.checked_mul(d.ncols) else {
            return Err(Error::InvalidParameter {
                name: "nrows",
                value: format!("{} x {}", d.nrows, d.ncols),
                expected: "a shape whose number of entries fits in usize".into(),
            });
        };
        if d.data.len() != len {
            return Err(Error::ShapeMismatch {
                argument: "data",
                expected: format!("{len} entries ({} x {})", d.nrows, d.ncols),
                found: format!("{} entries", d.data.len()),
            });
        }
        let m = MatRef::from_column_major_slice(&d.data, d.nrows, d.ncols);
        Dictionary::from_matrix(m)
    }
}

impl Dictionary {
    /// A dictionary from the columns of `m`, each scaled to unit l2 norm.
    ///
    /// Columns of any finite magnitude are normalised accurately: each is first divided by a
    /// power of two that brings its largest entry to `[1, 2)` (exact, also for subnormal
    /// entries), so its norm neither overflows (entries near `1e300`) nor underflows (entries
    /// near `1e-320`).
    ///
    /// Errors: `Empty` for a matrix with no rows or columns, `NonFinite` for NaN/inf entries,
    /// `ZeroAtom` (naming the column) for a zero column.
    pub fn from_matrix(m: MatRef<'_, f64>) -> Result<Self> {
        check::non_empty("matrix", m)?;
        check::finite("matrix", m)?;
        let mut atoms = m.to_owned();
        for j in 0..atoms.ncols() {
            let zero = Error::ZeroAtom {
                argument: "matrix",
                index: j,
            };
            let top = atoms.col(j).iter().fold(0.0f64, |a, v| a.max(v.abs()));
            if top == 0.0 {
                return Err(zero);
            }
            let up = crate::solve::magnitude_scale(top, crate::solve::SAFE_EXPONENT);
            atoms.col_mut(j).iter_mut().for_each(|v| *v /= up);
            let nrm = atoms.col(j).norm_l2();
            if !(nrm.is_finite() && nrm > 0.0) {
                return Err(zero);
            }
            atoms.col_mut(j).iter_mut().for_each(|v| *v /= nrm);
        }
        Ok(Self { atoms })
    }

    /// `m` atoms of length `n` drawn uniformly on the unit sphere (normalised Gaussian vectors).
    pub fn random_gaussian<R: Rng + ?Sized>(n: usize, m: usize, rng: &mut R) -> Result<Self> {
        check::count("n", n, usize::MAX)?;
        check::count("m", m, usize::MAX)?;
        check::size("n * m", &[n, m])?;
        let g = Mat::<f64>::from_fn(n, m, |_, _| StandardNormal.sample(rng));
        Self::from_matrix(g.as_ref())
    }

    /// The orthonormal DCT-II basis of `R^n` as an `n x n` dictionary (atom `k` is the `k`-th
    /// cosine, `k = 0` the constant).
    pub fn dct(n: usize) -> Result<Self> {
        check::count("n", n, usize::MAX)?;
        check::size("n * n", &[n, n])?;
        let m = Mat::<f64>::from_fn(n, n, |i, k| {
            (std::f64::consts::PI * (2 * i + 1) as f64 * k as f64 / (2 * n) as f64).cos()
        });
        Self::from_matrix(m.as_ref())
    }

    /// The overcomplete separable 2-D DCT dictionary for `p x p` patches with `k` atoms, as used
    /// by Elad & Aharon (2006) for K-SVD denoising: the Kronecker product of two 1-D overcomplete
    /// DCTs with `sqrt(k)` atoms each (non-constant atoms have their mean removed).
    /// `k` must be a perfect square `>= p * p`; `(8, 256)` gives the classic 64 x 256 dictionary.
    /// Patches are vectorised column-major (see [`crate::io::patches`]), though the dictionary is
    /// symmetric in the two axes.
    pub fn overcomplete_dct(p: usize, k: usize) -> Result<Self> {
        check::count("p", p, usize::MAX)?;
        // The p^2 x k dictionary must fit (this also bounds p and q = sqrt(k) below 2^32).
        check::size("p * p * k", &[p, p, k])?;
        let q = (k as f64).sqrt().round() as usize;
        if q.checked_mul(q) != Some(k) || q < p {
            return Err(Error::InvalidParameter {
                name: "k",
                value: k.to_string(),
                expected: format!("a perfect square >= p * p = {}", p * p),
            });
        }
        let mut d1 = Mat::<f64>::zeros(p, q);
        for j in 0..q {
            let col: Vec<f64> = (0..p)
                .map(|i| (i as f64 * j as f64 * std::f64::consts::PI / q as f64).cos())
                .collect();
            let mean = if j > 0 {
                col.iter().sum::<f64>() / p as f64
            } else {
                0.0
            };
            for i in 0..p {
                d1[(i, j)] = col[i] - mean;
            }
        }
        let d1 = Self::from_matrix(d1.as_ref())?.atoms;
        // kron(d1, d1): atom (a, b) is d1[:, a] (x) d1[:, b]; entry (r*p + s) = d1[r,a] d1[s,b].
        let d = Mat::<f64>::from_fn(p * p, q * q, |i, j| d1[(i / p, j / q)] * d1[(i % p, j % q)]);
        Self::from_matrix(d.as_ref())
    }

    /// The union `[I, DCT]` of the identity and the orthonormal DCT basis (`n x 2n`), the
    /// classic two-ortho dictionary (coherence at most `sqrt(2/n)`).
    pub fn identity_dct(n: usize) -> Result<Self> {
        check::count("n", n, usize::MAX)?;
        check::size("n * 2n", &[n, n, 2])?;
        let eye = Self::from_matrix(Mat::<f64>::identity(n.max(1), n.max(1)).as_ref())?;
        let dct = Self::dct(n)?;
        Self::union(&[&eye, &dct])
    }

    /// The concatenation `[D1, D2, ...]` of dictionaries with the same signal length.
    pub fn union(parts: &[&Dictionary]) -> Result<Self> {
        let first = parts.first().ok_or(Error::Empty {
            argument: "parts",
            expected: "at least one dictionary".into(),
        })?;
        let n = first.signal_len();
        if let Some(bad) = parts.iter().find(|d| d.signal_len() != n) {
            return Err(Error::ShapeMismatch {
                argument: "parts",
                expected: format!("all dictionaries with signal length {n}"),
                found: format!("signal length {}", bad.signal_len()),
            });
        }
        let m = parts
            .iter()
            .try_fold(0usize, |m, d| m.checked_add(d.n_atoms()))
            .unwrap_or(usize::MAX);
        check::size("parts (total atoms)", &[n, m])?;
        let mut atoms = Mat::<f64>::zeros(n, m);
        let mut at = 0;
        for d in parts {
            atoms
                .as_mut()
                .subcols_mut(at, d.n_atoms())
                .copy_from(d.atoms.as_ref());
            at += d.n_atoms();
        }
        Ok(Self { atoms })
    }

    /// Signal length `n` (rows).
    pub fn signal_len(&self) -> usize {
        self.atoms.nrows()
    }

    /// Number of atoms `m` (columns).
    pub fn n_atoms(&self) -> usize {
        self.atoms.ncols()
    }

    /// The atoms as an `n x m` matrix view.
    pub fn matrix(&self) -> MatRef<'_, f64> {
        self.atoms.as_ref()
    }

    /// The atoms as an owned matrix, consuming the dictionary.
    pub fn into_matrix(self) -> Mat<f64> {
        self.atoms
    }

    /// Atom `j` as a column view; `Err` when `j >= n_atoms`.
    pub fn atom(&self, j: usize) -> Result<ColRef<'_, f64>> {
        if j >= self.n_atoms() {
            return Err(Error::InvalidParameter {
                name: "j",
                value: j.to_string(),
                expected: format!("an atom index < {}", self.n_atoms()),
            });
        }
        Ok(self.atoms.col(j))
    }

    /// Atom `j` as a slice; `Err` when `j >= n_atoms`.
    pub fn atom_slice(&self, j: usize) -> Result<&[f64]> {
        self.atom(j)?;
        Ok(self.atoms.col_as_slice(j))
    }

    /// The Gram matrix `G = D^T D` (`m x m`, unit diagonal).
    pub fn gram(&self) -> Mat<f64> {
        self.gram_par(Par::Seq)
    }

    /// [`gram`](Self::gram) with explicit parallelism.
    pub fn gram_par(&self, par: Par) -> Mat<f64> {
        let m = self.n_atoms();
        let mut g = Mat::<f64>::zeros(m, m);
        matmul(
            g.as_mut(),
            Accum::Replace,
            self.atoms.transpose(),
            self.atoms.as_ref(),
            1.0,
            par,
        );
        g
    }

    /// Mutual coherence `mu(D) = max_{i != j} |<d_i, d_j>|` (Donoho & Elad 2003). A single-atom
    /// dictionary has coherence 0.
    pub fn coherence(&self) -> f64 {
        let g = self.gram();
        let m = g.ncols();
        let mut mu = 0.0f64;
        for j in 0..m {
            for i in 0..j {
                mu = mu.max(g[(i, j)].abs());
            }
        }
        mu
    }

    /// The Welch lower bound `sqrt((m - n) / (n (m - 1)))` on the coherence of any `n x m`
    /// dictionary (0 when `m <= n`).
    pub fn welch_bound(&self) -> f64 {
        welch_bound(self.signal_len(), self.n_atoms())
    }
}

/// The Welch bound `sqrt((m - n) / (n (m - 1)))` on the mutual coherence of `m` unit vectors in
/// `R^n` (Welch 1974; Strohmer & Heath 2003). Zero when `m <= n` (an orthonormal set exists).
pub fn welch_bound(n: usize, m: usize) -> f64 {
    if m <= n || m < 2 || n == 0 {
        return 0.0;
    }
    (((m - n) as f64) / ((n * (m - 1)) as f64)).sqrt()
}

impl LinearOperator for Dictionary {
    fn nrows(&self) -> usize {
        self.atoms.nrows()
    }
    fn ncols(&self) -> usize {
        self.atoms.ncols()
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        self.atoms.apply_raw(x, out, par)
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        self.atoms.apply_adjoint_raw(y, out, par)
    }
    fn lipschitz(&self) -> f64 {
        self.atoms.lipschitz()
    }
}

/// Any dense matrix is an operator (not normalised; use [`Dictionary`] for atoms).
impl LinearOperator for Mat<f64> {
    fn nrows(&self) -> usize {
        Mat::nrows(self)
    }
    fn ncols(&self) -> usize {
        Mat::ncols(self)
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        matmul(out, Accum::Replace, self.as_ref(), x, 1.0, par);
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        matmul(out, Accum::Replace, self.transpose(), y, 1.0, par);
    }
    /// Exact: the largest singular value squared, from faer's SVD of the explicit matrix.
    fn lipschitz(&self) -> f64 {
        if self.nrows() == 0 || self.ncols() == 0 {
            return 0.0;
        }
        match self.as_ref().singular_values() {
            Ok(s) => s[0] * s[0],
            Err(_) => crate::operator::power_iteration(self, Default::default()),
        }
    }
}

/// The coherence sparsity bound `(1 + 1/mu) / c` (`inf` for `mu = 0`): the right side of every
/// coherence-based sparsity condition `||a||_0 < (1 + 1/mu(D)) / c` of Sparseland and of the
/// models built on it. `c = 2`: uniqueness and exact recovery by OMP and BP (Donoho & Elad 2003;
/// Tropp 2004); `c = 3`: support recovery of noisy BP, layered BP and the adversarial margin of
/// BP (Tropp 2006; Papyan, Romano & Elad 2017; Romano, Aberdam, Sulam & Elad 2019); `c = 4`:
/// stability of BP (Donoho, Elad & Temlyakov 2006).
pub fn coherence_bound(mu: f64, c: f64) -> f64 {
    if mu == 0.0 {
        f64::INFINITY
    } else {
        (1.0 + 1.0 / mu) / c
    }
}
