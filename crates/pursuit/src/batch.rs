//! Running a per-signal kernel over the columns of a batch, in parallel with rayon.

use std::borrow::Cow;

use faer::{Mat, MatRef, Par};
use rayon::prelude::*;

use crate::result::Report;

/// Columns handed to one rayon task: large enough to amortise scratch set-up, small enough to
/// balance load.
const CHUNK: usize = 32;

/// Column `j` of `y` as a slice (borrowed when the column is contiguous).
pub(crate) fn column(y: MatRef<'_, f64>, j: usize) -> Cow<'_, [f64]> {
    match y.col(j).try_as_col_major() {
        Some(c) => Cow::Borrowed(c.as_slice()),
        None => Cow::Owned(y.col(j).iter().copied().collect()),
    }
}

/// Runs `kernel(scratch, j, y_j, x_j)` for every column `j` of `y`, writing the code of signal `j`
/// into `x_j` (a zeroed slice of length `n_out`) and returning its report. `init` builds one
/// scratch space per task. With `Par::Seq` (or a small batch) everything runs on the calling
/// thread.
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
    let b = y.ncols();
    let mut x = Mat::<f64>::zeros(n_out, b);
    let mut reports = vec![Report::default(); b];
    let run_chunk = |s: &mut S, first: usize, mut xc: faer::MatMut<'_, f64>, rc: &mut [Report]| {
        for (k, r) in rc.iter_mut().enumerate() {
            let j = first + k;
            let yj = column(y, j);
            let xj = xc
                .as_mut()
                .col_mut(k)
                .try_as_col_major_mut()
                .expect("columns of an owned matrix are contiguous")
                .as_slice_mut();
            *r = kernel(s, j, &yj, xj);
        }
    };
    if par.degree() <= 1 || b <= CHUNK {
        let mut s = init();
        run_chunk(&mut s, 0, x.as_mut(), &mut reports);
    } else {
        x.as_mut()
            .par_col_chunks_mut(CHUNK)
            .zip(reports.par_chunks_mut(CHUNK))
            .enumerate()
            .for_each_init(&init, |s, (c, (xc, rc))| run_chunk(s, c * CHUNK, xc, rc));
    }
    (x, reports)
}
