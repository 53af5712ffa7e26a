//! Shared machinery of the learners: compressed sparse codes, residuals, the per-atom index of
//! K-SVD, the statistics `X X^T`, `Y X^T`, and the replacement of unused / duplicate atoms.

use faer::{Mat, MatMut, MatRef, Par};
use sparse_core::batch::for_each_block;

use super::LearnOptions;

/// Columns per rayon task in the residual and synthesis loops.
const CHUNK: usize = 256;

/// Signals coded per call of the coder in the coding stage (bounds the dense code buffer).
const CODE_BLOCK: usize = 4096;

pub(crate) use sparse_core::SparseCodes;

/// What the learners do with compressed codes beyond storing them: synthesis, residuals, the
/// per-atom index and the online statistics.
pub(crate) trait CodesExt {
    fn residual(&self, d: MatRef<'_, f64>, y: MatRef<'_, f64>, par: Par) -> Mat<f64>;
    fn synthesize(&self, d: MatRef<'_, f64>, par: Par) -> Mat<f64>;
    fn by_atom(&self) -> AtomIndex;
    fn accumulate_stats(&self, y: MatRef<'_, f64>, a: &mut Mat<f64>, b: &mut Mat<f64>);
}

impl CodesExt for SparseCodes {
    /// The residual `Y - D X` (`n x N`).
    fn residual(&self, d: MatRef<'_, f64>, y: MatRef<'_, f64>, par: Par) -> Mat<f64> {
        let mut r = Mat::<f64>::zeros(d.nrows(), self.ncols());
        synthesize_into(self, d, Some(y), r.as_mut(), par);
        r
    }

    /// The synthesis `D X` (`n x N`).
    fn synthesize(&self, d: MatRef<'_, f64>, par: Par) -> Mat<f64> {
        let mut out = Mat::<f64>::zeros(d.nrows(), self.ncols());
        synthesize_into(self, d, None, out.as_mut(), par);
        out
    }

    /// For every atom, the signals that use it and the positions of those entries in `values`.
    fn by_atom(&self) -> AtomIndex {
        let m = self.nrows();
        let mut ptr = vec![0usize; m + 1];
        for &i in self.indices() {
            ptr[i + 1] += 1;
        }
        for i in 0..m {
            ptr[i + 1] += ptr[i];
        }
        let mut fill = ptr.clone();
        let nnz = self.nnz();
        let (mut sig, mut pos) = (vec![0; nnz], vec![0; nnz]);
        for j in 0..self.ncols() {
            for p in self.indptr()[j]..self.indptr()[j + 1] {
                let i = self.indices()[p];
                sig[fill[i]] = j;
                pos[fill[i]] = p;
                fill[i] += 1;
            }
        }
        AtomIndex { ptr, sig, pos }
    }

    /// Adds `X X^T` to `a` (`m x m`) and `Y X^T` to `b` (`n x m`).
    fn accumulate_stats(&self, y: MatRef<'_, f64>, a: &mut Mat<f64>, b: &mut Mat<f64>) {
        let n = y.nrows();
        for j in 0..self.ncols() {
            let (idx, val) = self.col(j);
            for (&p, &vp) in idx.iter().zip(val) {
                for (&q, &vq) in idx.iter().zip(val) {
                    a[(p, q)] += vp * vq;
                }
                let yj = y.col(j);
                let mut bp = b.col_mut(p);
                for r in 0..n {
                    bp[r] += vp * yj[r];
                }
            }
        }
    }
}

/// Writes `out = sign * D X` (+ `y` when given) column by column, in parallel.
fn synthesize_into(
    codes: &SparseCodes,
    d: MatRef<'_, f64>,
    y: Option<MatRef<'_, f64>>,
    out: MatMut<'_, f64>,
    par: Par,
) {
    let n = d.nrows();
    let d = d.to_owned(); // contiguous atoms (the dictionary is small next to the batch)
    let sign = if y.is_some() { -1.0 } else { 1.0 };
    let run = |first: usize, mut chunk: MatMut<'_, f64>| {
        for c in 0..chunk.ncols() {
            let j = first + c;
            let mut col = chunk.as_mut().col_mut(c);
            match y {
                Some(y) => col.copy_from(y.col(j)),
                None => col.fill(0.0),
            }
            let (idx, val) = codes.col(j);
            let col = col
                .try_as_col_major_mut()
                .expect("owned columns are contiguous")
                .as_slice_mut();
            for (&i, &v) in idx.iter().zip(val) {
                let a = &d.col_as_slice(i)[..n];
                for (c, &av) in col.iter_mut().zip(a) {
                    *c += sign * v * av;
                }
            }
        }
    };
    let _: Vec<()> = for_each_block(
        out,
        CHUNK,
        par,
        || (),
        |_, first, chunk, _, _| run(first, chunk),
    );
}

/// Row-wise view of [`SparseCodes`]: which signals use each atom.
#[derive(Debug, Clone)]
pub(crate) struct AtomIndex {
    ptr: Vec<usize>,
    sig: Vec<usize>,
    pos: Vec<usize>,
}

impl AtomIndex {
    /// Signals using atom `i` and the positions of their coefficients in `SparseCodes::values`.
    pub fn atom(&self, i: usize) -> (&[usize], &[usize]) {
        let r = self.ptr[i]..self.ptr[i + 1];
        (&self.sig[r.clone()], &self.pos[r])
    }
}

/// Sparse-codes `y` over `d` with the options' coder. With `keep_better_codes`, a signal keeps
/// its previous code `prev` when that code represents it better with the current `d` and uses no
/// more atoms, so the coding stage never increases the objective (the safeguard that makes the
/// K-SVD and MOD iterations monotone when the pursuit is not exact).
pub(crate) fn code_stage(
    opts: &LearnOptions,
    d: &Mat<f64>,
    y: MatRef<'_, f64>,
    prev: Option<&SparseCodes>,
) -> crate::Result<SparseCodes> {
    let dict = sparse_core::Dictionary::from_matrix(d.as_ref())?;
    // Coded in blocks so that only one block's codes are ever dense.
    let mut new = SparseCodes::new(d.ncols());
    let mut first = 0;
    while first < y.ncols() {
        let w = CODE_BLOCK.min(y.ncols() - first);
        let res = opts.coder.solve(&dict, y.subcols(first, w), opts.par)?;
        // A custom coder is trusted for nothing but its codes.
        sparse_core::check::shape("codes", res.codes.as_ref(), d.ncols(), w)?;
        sparse_core::check::finite("codes", res.codes.as_ref())?;
        new.push_dense(res.codes.as_ref())?;
        first += w;
    }
    let Some(old) = prev.filter(|_| opts.keep_better_codes) else {
        return Ok(new);
    };
    let old_err = col_sq_norms(old.residual(d.as_ref(), y, opts.par).as_ref());
    let new_err = col_sq_norms(new.residual(d.as_ref(), y, opts.par).as_ref());
    let keep: Vec<bool> = (0..new.ncols())
        .map(|j| old_err[j] < new_err[j] && old.col(j).0.len() <= new.col(j).0.len())
        .collect();
    if keep.iter().any(|&k| k) {
        Ok(SparseCodes::select(old, &new, &keep)?)
    } else {
        Ok(new)
    }
}

/// Squared l2 norm of every column.
pub(crate) fn col_sq_norms(r: MatRef<'_, f64>) -> Vec<f64> {
    (0..r.ncols()).map(|j| r.col(j).squared_norm_l2()).collect()
}

/// Hands out the worst-represented signals (largest residual first), each at most once, as
/// replacement atoms.
pub(crate) struct Replacer<'a> {
    y: MatRef<'a, f64>,
    taken: Vec<bool>,
    order: Vec<usize>,
    next: usize,
}

impl<'a> Replacer<'a> {
    /// Ranks the signals of `y` by their squared residuals `err`.
    pub fn new(y: MatRef<'a, f64>, err: &[f64]) -> Self {
        let mut s = Self {
            y,
            taken: vec![false; y.ncols()],
            order: Vec::new(),
            next: 0,
        };
        s.refresh(err);
        s
    }

    /// Re-ranks the signals with new residuals (signals already handed out stay excluded).
    pub fn refresh(&mut self, err: &[f64]) {
        let mut order: Vec<usize> = (0..self.y.ncols())
            .filter(|&j| !self.taken[j] && err[j] > 0.0)
            .collect();
        order.sort_by(|&a, &b| err[b].total_cmp(&err[a]).then(a.cmp(&b)));
        self.order = order;
        self.next = 0;
    }

    /// Writes the next worst-represented signal, normalised, into `atom`; `false` when none is
    /// left.
    pub fn next_into(&mut self, mut atom: faer::ColMut<'_, f64>) -> bool {
        while self.next < self.order.len() {
            let j = self.order[self.next];
            self.next += 1;
            let nrm = self.y.col(j).norm_l2();
            if nrm > 0.0 && nrm.is_finite() {
                self.taken[j] = true;
                for (a, &v) in atom.as_mut().iter_mut().zip(self.y.col(j).iter()) {
                    *a = v / nrm;
                }
                return true;
            }
        }
        false
    }
}

/// Replaces atoms used fewer than `min_usage` times and near-duplicates (`clearDict` of
/// KSVD-Box); atoms with `replaced[j]` are left alone. Returns the number replaced.
pub(crate) fn clear_dict(
    d: &mut Mat<f64>,
    usage: &[usize],
    replaced: &mut [bool],
    opts: &LearnOptions,
    replacer: &mut Replacer<'_>,
) -> usize {
    if !opts.replace_unused && !opts.replace_duplicates {
        return 0;
    }
    let m = d.ncols();
    let mut count = 0;
    for j in 0..m {
        if replaced[j] {
            continue;
        }
        let unused = opts.replace_unused && usage[j] < opts.min_usage;
        let duplicate = opts.replace_duplicates
            && !unused
            && (0..m).any(|i| {
                i != j
                    && d.col(i)
                        .iter()
                        .zip(d.col(j).iter())
                        .map(|(a, b)| a * b)
                        .sum::<f64>()
                        .abs()
                        > opts.duplicate_threshold
            });
        if (unused || duplicate) && replacer.next_into(d.col_mut(j)) {
            replaced[j] = true;
            count += 1;
        }
    }
    count
}
