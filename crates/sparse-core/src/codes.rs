//! Column-compressed sparse codes ([`SparseCodes`]) and the [`Sparse`] adapter that makes any
//! solver return them, in bounded memory.
//!
//! A batch of `N` codes over `m` atoms stored densely takes `8 m N` bytes: 2 GB for a million
//! signals over 256 atoms, even when each code has 8 non-zeros. [`SparseCodes`] stores only the
//! non-zeros, column by column (the CSC layout of SciPy's `csc_matrix`: `indptr`, `indices`,
//! `data`), so the same codes take `16 nnz + 8 (N + 1)` bytes (~136 MB). Conversions to and from
//! dense are explicit and linear in the size.

use faer::{Mat, MatRef};

use crate::error::{Error, Result};
use crate::solve::{Solution, Solve};

/// Codes stored by columns: column `j` holds the entries `indices[indptr[j]..indptr[j + 1]]`
/// (strictly increasing row indices) with values `values[indptr[j]..indptr[j + 1]]`.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseCodes {
    nrows: usize,
    indptr: Vec<usize>,
    indices: Vec<usize>,
    values: Vec<f64>,
}

impl Default for SparseCodes {
    /// No code, of length 0.
    fn default() -> Self {
        Self::new(0)
    }
}

impl crate::solve::CodeBatch for SparseCodes {
    fn n_codes(&self) -> usize {
        self.ncols()
    }
}

impl SparseCodes {
    /// An empty batch (no column) of codes of length `nrows`.
    pub fn new(nrows: usize) -> Self {
        Self {
            nrows,
            indptr: vec![0],
            indices: Vec::new(),
            values: Vec::new(),
        }
    }

    /// Codes from their parts, checked: `indptr` starts at 0, is non-decreasing and ends at
    /// `indices.len() == values.len()`; the indices of each column increase strictly and are
    /// below `nrows`; every value is finite.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] naming the offending part.
    pub fn from_parts(
        nrows: usize,
        indptr: Vec<usize>,
        indices: Vec<usize>,
        values: Vec<f64>,
    ) -> Result<Self> {
        let bad = |name: &'static str, value: String, expected: &str| Error::InvalidParameter {
            name,
            value,
            expected: expected.into(),
        };
        if indptr.first() != Some(&0) {
            return Err(bad(
                "indptr",
                format!("{:?}", indptr.first()),
                "a first entry 0",
            ));
        }
        if indices.len() != values.len() || indptr.last() != Some(&indices.len()) {
            return Err(bad(
                "indptr",
                format!("last entry {:?}", indptr.last()),
                "a last entry equal to indices.len() == values.len()",
            ));
        }
        if let Some(w) = indptr.windows(2).find(|w| w[0] > w[1]) {
            return Err(bad(
                "indptr",
                format!("{} > {}", w[0], w[1]),
                "non-decreasing",
            ));
        }
        // Non-decreasing and ending at `indices.len()`: every column slice is in bounds.
        for w in indptr.windows(2) {
            let col = &indices[w[0]..w[1]];
            if col.iter().any(|&i| i >= nrows) || col.windows(2).any(|p| p[0] >= p[1]) {
                return Err(bad(
                    "indices",
                    format!("{col:?}"),
                    "strictly increasing row indices below nrows in each column",
                ));
            }
        }
        if let Some(v) = values.iter().find(|v| !v.is_finite()) {
            return Err(bad("values", v.to_string(), "finite values"));
        }
        Ok(Self {
            nrows,
            indptr,
            indices,
            values,
        })
    }

    /// The non-zero entries of a dense code matrix.
    pub fn from_dense(x: MatRef<'_, f64>) -> Self {
        let mut out = Self::new(x.nrows());
        out.push_dense(x).expect("same row count");
        out
    }

    /// Appends the columns of the dense matrix `x` (`nrows` rows; its non-zeros are kept).
    ///
    /// # Errors
    /// When `x` does not have `nrows` rows.
    pub fn push_dense(&mut self, x: MatRef<'_, f64>) -> Result<()> {
        if x.nrows() != self.nrows {
            return Err(Error::ShapeMismatch {
                argument: "x",
                expected: format!("{} rows", self.nrows),
                found: format!("{} rows", x.nrows()),
            });
        }
        for j in 0..x.ncols() {
            for (i, &v) in x.col(j).iter().enumerate() {
                if v != 0.0 {
                    self.indices.push(i);
                    self.values.push(v);
                }
            }
            self.indptr.push(self.indices.len());
        }
        Ok(())
    }

    /// Appends the columns of `other`.
    ///
    /// # Errors
    /// When the code lengths differ.
    pub fn append(&mut self, other: &SparseCodes) -> Result<()> {
        if other.nrows != self.nrows {
            return Err(Error::ShapeMismatch {
                argument: "other",
                expected: format!("codes of length {}", self.nrows),
                found: format!("codes of length {}", other.nrows),
            });
        }
        let base = self.indices.len();
        self.indices.extend_from_slice(&other.indices);
        self.values.extend_from_slice(&other.values);
        self.indptr
            .extend(other.indptr[1..].iter().map(|&p| p + base));
        Ok(())
    }

    /// Column `j` from `old` where `keep_old[j]`, else from `new` (same shapes).
    pub fn select(old: &SparseCodes, new: &SparseCodes, keep_old: &[bool]) -> Result<Self> {
        if old.nrows != new.nrows || old.ncols() != new.ncols() || keep_old.len() != new.ncols() {
            return Err(Error::ShapeMismatch {
                argument: "keep_old",
                expected: format!(
                    "two {} x {} batches and one flag per column",
                    new.nrows,
                    new.ncols()
                ),
                found: format!(
                    "{} x {}, {} x {}, {} flags",
                    old.nrows,
                    old.ncols(),
                    new.nrows,
                    new.ncols(),
                    keep_old.len()
                ),
            });
        }
        let mut out = Self::new(new.nrows);
        out.indices.reserve(new.nnz());
        out.values.reserve(new.nnz());
        for (j, &keep) in keep_old.iter().enumerate() {
            let (idx, val) = if keep { old.col(j) } else { new.col(j) };
            out.indices.extend_from_slice(idx);
            out.values.extend_from_slice(val);
            out.indptr.push(out.indices.len());
        }
        Ok(out)
    }

    /// The code length (number of atoms).
    pub fn nrows(&self) -> usize {
        self.nrows
    }

    /// The number of codes (signals).
    pub fn ncols(&self) -> usize {
        self.indptr.len() - 1
    }

    /// The number of stored entries.
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }

    /// Column pointers (`ncols + 1` entries).
    pub fn indptr(&self) -> &[usize] {
        &self.indptr
    }

    /// Row indices of the stored entries.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Values of the stored entries.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The values, mutable (the sparsity structure stays fixed; e.g. K-SVD's coefficient
    /// update on a fixed support).
    pub fn values_mut(&mut self) -> &mut [f64] {
        &mut self.values
    }

    /// Row indices and mutable values of every stored entry.
    pub fn indices_values_mut(&mut self) -> (&[usize], &mut [f64]) {
        (&self.indices, &mut self.values)
    }

    /// Row indices and values of column `j`.
    ///
    /// # Panics
    /// When `j >= ncols()` (as slice indexing does).
    pub fn col(&self, j: usize) -> (&[usize], &[f64]) {
        let r = self.indptr[j]..self.indptr[j + 1];
        (&self.indices[r.clone()], &self.values[r])
    }

    /// The dense `nrows x ncols` matrix.
    pub fn to_dense(&self) -> Mat<f64> {
        let mut x = Mat::<f64>::zeros(self.nrows, self.ncols());
        for j in 0..self.ncols() {
            let (idx, val) = self.col(j);
            for (&i, &v) in idx.iter().zip(val) {
                x[(i, j)] = v;
            }
        }
        x
    }

    /// Mean number of stored entries per code.
    pub fn mean_sparsity(&self) -> f64 {
        self.nnz() as f64 / self.ncols().max(1) as f64
    }

    /// Number of codes using each atom.
    pub fn usage(&self) -> Vec<usize> {
        let mut u = vec![0; self.nrows];
        for &i in &self.indices {
            u[i] += 1;
        }
        u
    }

    /// Bytes held by the three arrays.
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of::<usize>() * (self.indptr.len() + self.indices.len())
            + std::mem::size_of::<f64>() * self.values.len()
    }
}

/// Runs a solver on blocks of `block` signals and keeps only the non-zeros of each block's
/// codes: the same codes and diagnostics as `solver.solve(op, y)`, returned as
/// [`Solution<SparseCodes>`], with the dense codes of one block as the only dense buffer.
///
/// Meant for greedy pursuits, whose codes have exactly `k` non-zeros; an iterative solver's
/// codes keep every entry that is not exactly zero.
///
/// ```
/// use sparse_core::{codes::Sparse, Diagnostics, Solution, Solve};
/// use faer::{Mat, MatRef};
///
/// // A toy solver: code = the signal itself with its negative entries zeroed.
/// struct Relu;
/// impl Solve<()> for Relu {
///     type Output = Solution;
///     type Error = sparse_core::Error;
///     fn solve(&self, _: &(), y: MatRef<'_, f64>) -> sparse_core::Result<Solution> {
///         let codes = Mat::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)].max(0.0));
///         Solution::new(codes, vec![Diagnostics::new(1, true, 0.0, 0.0); y.ncols()])
///     }
/// }
/// let y = Mat::from_fn(4, 10, |i, j| if (i + j) % 3 == 0 { 1.0 } else { -1.0 });
/// let sparse = Sparse::new(Relu).block(3).solve(&(), y.as_ref())?;
/// assert_eq!(sparse.codes.to_dense(), Relu.solve(&(), y.as_ref())?.codes);
/// # Ok::<(), sparse_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Sparse<S> {
    /// The wrapped solver.
    pub solver: S,
    /// Signals per block (default 4096).
    pub block: usize,
}

impl<S> Sparse<S> {
    /// Wraps `solver` with blocks of 4096 signals.
    pub fn new(solver: S) -> Self {
        Self {
            solver,
            block: 4096,
        }
    }

    crate::setters! {
        /// Signals per block (at least 1).
        block: usize,
    }
}

impl<Op, S, E> Solve<Op> for Sparse<S>
where
    Op: ?Sized,
    S: Solve<Op, Output = Solution, Error = E>,
    E: From<Error>,
{
    type Output = Solution<SparseCodes>;
    type Error = E;

    fn solve(&self, op: &Op, y: MatRef<'_, f64>) -> std::result::Result<Self::Output, E> {
        if self.block == 0 {
            return Err(Error::InvalidParameter {
                name: "block",
                value: "0".into(),
                expected: "at least one signal per block".into(),
            }
            .into());
        }
        let n = y.ncols();
        let mut codes: Option<SparseCodes> = None;
        let mut diagnostics = Vec::with_capacity(n);
        let mut first = 0;
        loop {
            let w = self.block.min(n - first);
            let part = self.solver.solve(op, y.subcols(first, w))?;
            let store = codes.get_or_insert_with(|| SparseCodes::new(part.codes.nrows()));
            if part.codes.ncols() != w {
                return Err(Error::ShapeMismatch {
                    argument: "solver",
                    expected: format!("{w} codes"),
                    found: format!("{} codes", part.codes.ncols()),
                }
                .into());
            }
            store.push_dense(part.codes.as_ref())?;
            diagnostics.extend(part.diagnostics);
            first += w;
            if first >= n {
                break;
            }
        }
        let codes = codes.unwrap_or_default();
        Ok(Solution::new(codes, diagnostics)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::solve::Diagnostics;

    fn sample() -> Mat<f64> {
        Mat::from_fn(5, 7, |i, j| {
            if (i * 3 + j) % 4 == 0 {
                (i + j) as f64 - 2.5
            } else {
                0.0
            }
        })
    }

    #[test]
    fn dense_round_trip_and_parts() {
        let x = sample();
        let s = SparseCodes::from_dense(x.as_ref());
        assert_eq!(s.to_dense(), x);
        let nnz = x
            .col_iter()
            .map(|c| c.iter().filter(|v| **v != 0.0).count())
            .sum::<usize>();
        assert_eq!(s.nnz(), nnz);
        assert_eq!((s.nrows(), s.ncols()), (5, 7));
        let t = SparseCodes::from_parts(
            5,
            s.indptr().to_vec(),
            s.indices().to_vec(),
            s.values().to_vec(),
        )
        .unwrap();
        assert_eq!(t, s);
        assert_eq!(s.usage().iter().sum::<usize>(), nnz);
        assert_eq!(SparseCodes::default().ncols(), 0);
    }

    #[test]
    fn bad_parts_are_refused_by_name() {
        let name = |r: Result<SparseCodes>| match r {
            Err(Error::InvalidParameter { name, .. }) => name,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            name(SparseCodes::from_parts(3, vec![], vec![], vec![])),
            "indptr"
        );
        assert_eq!(
            name(SparseCodes::from_parts(3, vec![0, 2], vec![0], vec![1.0])),
            "indptr"
        );
        assert_eq!(
            name(SparseCodes::from_parts(
                3,
                vec![0, 2, 1],
                vec![0, 1],
                vec![1.0, 1.0]
            )),
            "indptr"
        );
        assert_eq!(
            name(SparseCodes::from_parts(
                3,
                vec![0, 2],
                vec![1, 1],
                vec![1.0, 1.0]
            )),
            "indices"
        );
        assert_eq!(
            name(SparseCodes::from_parts(3, vec![0, 1], vec![3], vec![1.0])),
            "indices"
        );
        assert_eq!(
            name(SparseCodes::from_parts(
                3,
                vec![0, 1],
                vec![0],
                vec![f64::NAN]
            )),
            "values"
        );
        // A pointer past the end before a decrease: refused, not an out-of-bounds slice.
        assert_eq!(
            name(SparseCodes::from_parts(
                3,
                vec![0, 5, 2],
                vec![0, 1],
                vec![1.0, 1.0]
            )),
            "indptr"
        );
    }

    #[test]
    fn append_and_select() {
        let x = sample();
        let mut a = SparseCodes::from_dense(x.as_ref().subcols(0, 3));
        a.append(&SparseCodes::from_dense(x.as_ref().subcols(3, 4)))
            .unwrap();
        assert_eq!(a.to_dense(), x);
        assert!(a.append(&SparseCodes::new(4)).is_err());
        let zero = SparseCodes::from_dense(Mat::<f64>::zeros(5, 7).as_ref());
        let keep: Vec<bool> = (0..7).map(|j| j % 2 == 0).collect();
        let s = SparseCodes::select(&a, &zero, &keep).unwrap().to_dense();
        for (j, &k) in keep.iter().enumerate() {
            let expect = if k {
                x.col(j).to_owned()
            } else {
                faer::Col::zeros(5)
            };
            assert_eq!(s.col(j).to_owned(), expect);
        }
        assert!(SparseCodes::select(&a, &zero, &keep[..3]).is_err());
    }

    struct Identity;
    impl Solve<()> for Identity {
        type Output = Solution;
        type Error = Error;
        fn solve(&self, _: &(), y: MatRef<'_, f64>) -> Result<Solution> {
            let d = (0..y.ncols())
                .map(|j| Diagnostics::new(1, true, y[(0, j)], y[(1, j)]))
                .collect();
            Solution::new(y.to_owned(), d)
        }
    }

    #[test]
    fn blocks_give_the_unblocked_solution() {
        let x = sample();
        let full = Identity.solve(&(), x.as_ref()).unwrap();
        for block in [1, 2, 3, 7, 100] {
            let s = Sparse::new(Identity)
                .block(block)
                .solve(&(), x.as_ref())
                .unwrap();
            assert_eq!(s.to_dense(), full, "block {block}");
        }
        assert!(Sparse::new(Identity)
            .block(0)
            .solve(&(), x.as_ref())
            .is_err());
        assert_eq!(full.clone().into_sparse().to_dense(), full);
    }
}
