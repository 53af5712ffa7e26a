//! The pursuits' bindings of the workspace's one batch driver ([`sparse_core::batch`]): blocks
//! of [`CHUNK`] signals, codes allocated here.

use faer::{Mat, MatMut, MatRef, Par};
use sparse_core::batch::{for_each_block, for_each_column};

pub(crate) use sparse_core::batch::column;

use crate::result::Report;

/// Columns handed to one rayon task: large enough to amortise scratch set-up and to make
/// per-chunk products GEMMs, small enough to balance load and stay in cache.
pub(crate) const CHUNK: usize = 32;

/// Column `k` of an owned-matrix view as a mutable slice.
pub(crate) fn column_mut<'a, T>(x: MatMut<'a, T>, k: usize) -> &'a mut [T] {
    x.col_mut(k)
        .try_as_col_major_mut()
        .expect("columns of an owned matrix are contiguous")
        .as_slice_mut()
}

/// Runs `kernel(scratch, first, y_chunk, x_chunk, reports)` over chunks of at most [`CHUNK`]
/// columns of `y` ([`for_each_block`]), where `x_chunk` (`n_out x chunk`, zeroed) receives the
/// codes of those signals and `first` is the index of the chunk's first column. The kernel's
/// products run sequentially.
pub(crate) fn map_chunks<T, S, I, K>(
    y: MatRef<'_, T>,
    n_out: usize,
    par: Par,
    init: I,
    kernel: K,
) -> (Mat<T>, Vec<Report>)
where
    T: faer::traits::ComplexField + Sync + Send,
    I: Fn() -> S + Sync + Send,
    K: Fn(&mut S, usize, MatRef<'_, T>, MatMut<'_, T>, &mut [Report]) + Sync + Send,
{
    let mut x = Mat::<T>::zeros(n_out, y.ncols());
    let reports = for_each_block(x.as_mut(), CHUNK, par, init, |s, first, xc, rc, _| {
        kernel(s, first, y.subcols(first, rc.len()), xc, rc)
    });
    (x, reports)
}

/// Runs `kernel(scratch, j, y_j, x_j)` for every column `j` of `y`, writing the code of signal `j`
/// into `x_j` (a zeroed slice of length `n_out`) and returning its report ([`for_each_column`]
/// over chunks of [`CHUNK`]).
pub(crate) fn map_columns<T, S, I, K>(
    y: MatRef<'_, T>,
    n_out: usize,
    par: Par,
    init: I,
    kernel: K,
) -> (Mat<T>, Vec<Report>)
where
    T: faer::traits::ComplexField + Copy + Sync + Send,
    I: Fn() -> S + Sync + Send,
    K: Fn(&mut S, usize, &[T], &mut [T]) -> Report + Sync + Send,
{
    let mut x = Mat::<T>::zeros(n_out, y.ncols());
    let reports = for_each_column(y, x.as_mut(), CHUNK, par, init, |s, j, yj, xj, _| {
        kernel(s, j, yj, xj)
    })
    .expect("x is allocated with one column per signal");
    (x, reports)
}
