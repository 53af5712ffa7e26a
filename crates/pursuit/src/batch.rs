//! Running a per-signal kernel over the columns of a batch, in parallel with rayon.

use std::borrow::Cow;

use faer::{Mat, MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::result::Report;

/// Columns handed to one rayon task: large enough to amortise scratch set-up and to make
/// per-chunk products GEMMs, small enough to balance load and stay in cache.
pub(crate) const CHUNK: usize = 32;

/// Column `j` of `y` as a slice (borrowed when the column is contiguous).
pub(crate) fn column(y: MatRef<'_, f64>, j: usize) -> Cow<'_, [f64]> {
    match y.col(j).try_as_col_major() {
        Some(c) => Cow::Borrowed(c.as_slice()),
        None => Cow::Owned(y.col(j).iter().copied().collect()),
    }
}

/// Column `k` of an owned-matrix view as a mutable slice.
pub(crate) fn column_mut<'a>(x: MatMut<'a, f64>, k: usize) -> &'a mut [f64] {
    x.col_mut(k)
        .try_as_col_major_mut()
        .expect("columns of an owned matrix are contiguous")
        .as_slice_mut()
}

/// Runs `kernel(scratch, first, y_chunk, x_chunk, reports)` over chunks of [`CHUNK`] columns of
/// `y`, where `x_chunk` (`n_out x chunk`, zeroed) receives the codes of those signals and
/// `first` is the index of the chunk's first column. `init` builds one scratch per task. With
/// `Par::Seq` (or a small batch) everything runs on the calling thread.
pub(crate) fn map_chunks<S, I, K>(
    y: MatRef<'_, f64>,
    n_out: usize,
    par: Par,
    init: I,
    kernel: K,
) -> (Mat<f64>, Vec<Report>)
where
    I: Fn() -> S + Sync,
    K: Fn(&mut S, usize, MatRef<'_, f64>, MatMut<'_, f64>, &mut [Report]) + Sync,
{
    let b = y.ncols();
    let mut x = Mat::<f64>::zeros(n_out, b);
    let mut reports = vec![Report::default(); b];
    if par.degree() <= 1 || b <= CHUNK {
        let mut s = init();
        for (c, rc) in reports.chunks_mut(CHUNK).enumerate() {
            let first = c * CHUNK;
            let w = rc.len();
            kernel(
                &mut s,
                first,
                y.subcols(first, w),
                x.as_mut().subcols_mut(first, w),
                rc,
            );
        }
    } else {
        x.as_mut()
            .par_col_chunks_mut(CHUNK)
            .zip(reports.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each_init(&init, |s, (c, (xc, rc))| {
                let first = c * CHUNK;
                kernel(s, first, y.subcols(first, rc.len()), xc, rc)
            });
    }
    (x, reports)
}

/// Runs `kernel(scratch, j, y_j, x_j)` for every column `j` of `y`, writing the code of signal `j`
/// into `x_j` (a zeroed slice of length `n_out`) and returning its report; see [`map_chunks`].
pub(crate) fn map_columns<S, I, K>(
    y: MatRef<'_, f64>,
    n_out: usize,
    par: Par,
    init: I,
    kernel: K,
) -> (Mat<f64>, Vec<Report>)
where
    I: Fn() -> S + Sync,
    K: Fn(&mut S, usize, &[f64], &mut [f64]) -> Report + Sync,
{
    map_chunks(y, n_out, par, init, |s, first, yc, mut xc, rc| {
        for (k, r) in rc.iter_mut().enumerate() {
            let yj = column(yc, k);
            *r = kernel(s, first + k, &yj, column_mut(xc.as_mut(), k));
        }
    })
}
