//! The one batch driver of the workspace: running a per-block or per-signal kernel over the
//! columns of a batch, in parallel with rayon.
//!
//! Every solver codes a batch `Y` (`n x b`, one signal per column) into codes `X`
//! (`m x b`). [`for_each_block`] splits the columns of `X` into blocks of at most `block`
//! columns and runs a kernel on each (blocks in parallel, sequential products inside), or, when
//! there is only one block or no parallelism, runs the blocks one after the other and hands the
//! parallelism to the kernel. [`for_each_column`] is the same driver for kernels that code one
//! signal at a time (`block = 1` gives "parallel over signals, or parallel inside the one
//! signal", the rule of the convolutional solvers, after SPORCO's per-signal loop).
//!
//! Blocks rather than single columns let a kernel turn its per-signal products into GEMMs
//! (Rubinstein, Zibulevsky & Elad, *Efficient implementation of the K-SVD algorithm using batch
//! orthogonal matching pursuit*, 2008: `D^T Y` for a block is one product).
//!
//! ```
//! use sparse_core::batch::for_each_column;
//! use sparse_core::faer::{Mat, Par};
//!
//! // Doubles every signal, reporting its squared norm.
//! let y = Mat::<f64>::from_fn(3, 100, |i, j| (i + j) as f64);
//! let mut x = Mat::<f64>::zeros(3, 100);
//! let norms: Vec<f64> = for_each_column(y.as_ref(), x.as_mut(), 16, Par::rayon(2), || (), |_, _, yj, xj, _| {
//!     for (o, v) in xj.iter_mut().zip(yj) {
//!         *o = 2.0 * v;
//!     }
//!     yj.iter().map(|v| v * v).sum()
//! })?;
//! assert_eq!(x[(2, 99)], 2.0 * 101.0);
//! assert_eq!(norms[1], 1.0 + 4.0 + 9.0);
//! # Ok::<(), sparse_core::Error>(())
//! ```

use std::borrow::Cow;

use faer::{MatMut, MatRef, Par};
use rayon::prelude::*;

use crate::error::{shape_mismatch, Result};

/// Column `j` of `y` as a slice: borrowed when the column is contiguous, copied otherwise.
pub fn column<T: Copy>(y: MatRef<'_, T>, j: usize) -> Cow<'_, [T]> {
    match y.col(j).try_as_col_major() {
        Some(c) => Cow::Borrowed(c.as_slice()),
        None => Cow::Owned(y.col(j).iter().copied().collect()),
    }
}

/// The width of the blocks [`for_each_block`] uses for `b` columns: `block`, or fewer when
/// `block`-wide blocks would leave threads of `par` idle; at least 1.
pub fn block_width(b: usize, block: usize, par: Par) -> usize {
    block.min(b.div_ceil(par.degree().max(1))).max(1)
}

/// Runs `kernel(scratch, first, out_block, reports_block, inner)` over consecutive blocks of
/// the columns of `out` (widths from [`block_width`]) and returns one report per column
/// (`R::default()` unless the kernel writes it). `first` is the index of the block's first
/// column. `init` builds one scratch per rayon task. When `par` allows and there are several
/// blocks, blocks run in parallel with `inner = Par::Seq`; otherwise they run on the calling
/// thread with `inner = par`, so a lone block can parallelise its own products.
pub fn for_each_block<T, R, S, I, K>(
    out: MatMut<'_, T>,
    block: usize,
    par: Par,
    init: I,
    kernel: K,
) -> Vec<R>
where
    R: Default + Send,
    I: Fn() -> S + Sync + Send,
    T: Send,
    K: Fn(&mut S, usize, MatMut<'_, T>, &mut [R], Par) + Sync + Send,
{
    let b = out.ncols();
    let mut reports: Vec<R> = (0..b).map(|_| R::default()).collect();
    let bs = block_width(b, block, par);
    if par.degree() > 1 && b > bs {
        out.par_col_chunks_mut(bs)
            .zip(reports.par_chunks_mut(bs))
            .enumerate()
            .for_each_init(&init, |s, (c, (oc, rc))| {
                kernel(s, c * bs, oc, rc, Par::Seq)
            });
    } else {
        let mut s = init();
        let mut rest = out;
        for (c, rc) in reports.chunks_mut(bs).enumerate() {
            let (oc, tail) = rest.split_at_col_mut(rc.len());
            kernel(&mut s, c * bs, oc, rc, par);
            rest = tail;
        }
    }
    reports
}

/// Runs `kernel(scratch, j, y_j, out_j, inner) -> report` for every column `j` of `y` (any
/// scalar `T`: `f64`, `f32`), writing
/// into column `j` of `out` (a slice of `out.nrows()` entries holding its previous content;
/// non-contiguous columns go through a copy), over the blocks of [`for_each_block`].
///
/// # Errors
/// [`Error::ShapeMismatch`](crate::Error::ShapeMismatch) when `y` and `out` have different numbers of columns.
pub fn for_each_column<T, R, S, I, K>(
    y: MatRef<'_, T>,
    out: MatMut<'_, T>,
    block: usize,
    par: Par,
    init: I,
    kernel: K,
) -> Result<Vec<R>>
where
    R: Default + Send,
    I: Fn() -> S + Sync + Send,
    T: Copy + Send + Sync,
    K: Fn(&mut S, usize, &[T], &mut [T], Par) -> R + Sync + Send,
{
    if y.ncols() != out.ncols() {
        return Err(shape_mismatch(
            "out",
            format!("{} columns, one per signal of y", y.ncols()),
            format!("{} x {}", out.nrows(), out.ncols()),
        ));
    }
    Ok(for_each_block(
        out,
        block,
        par,
        init,
        |s, first, mut oc, rc, inner| {
            for (k, r) in rc.iter_mut().enumerate() {
                let yj = column(y, first + k);
                let mut o = oc.as_mut().col_mut(k);
                *r = match o.as_mut().try_as_col_major_mut() {
                    Some(c) => kernel(s, first + k, &yj, c.as_slice_mut(), inner),
                    None => {
                        let mut tmp: Vec<T> = o.as_ref().iter().copied().collect();
                        let r = kernel(s, first + k, &yj, &mut tmp, inner);
                        o.iter_mut().zip(tmp).for_each(|(d, v)| *d = v);
                        r
                    }
                };
            }
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use faer::Mat;

    /// Every column is visited once, with its own index, whatever the block and parallelism.
    #[test]
    fn visits_every_column_once_in_order() {
        for &(b, block, threads) in &[(0, 4, 2), (1, 4, 2), (7, 3, 1), (7, 3, 2), (100, 32, 2)] {
            let y = Mat::<f64>::from_fn(2, b, |i, j| (10 * j + i) as f64);
            let mut x = Mat::<f64>::zeros(2, b);
            let r: Vec<usize> = for_each_column(
                y.as_ref(),
                x.as_mut(),
                block,
                Par::rayon(threads),
                || (),
                |_, j, yj, xj, _| {
                    xj.copy_from_slice(yj);
                    j + 1
                },
            )
            .unwrap();
            assert_eq!(r, (1..=b).collect::<Vec<_>>());
            assert_eq!(x, y);
        }
    }

    /// A strided output (a transposed view) goes through the copy and keeps its old content
    /// where the kernel does not write.
    #[test]
    fn strided_output_and_shape_error() {
        let y = Mat::<f64>::from_fn(3, 4, |i, j| (i * j) as f64);
        let mut t = Mat::<f64>::full(4, 3, 7.0);
        let _: Vec<()> = for_each_column(
            y.as_ref(),
            t.as_mut().transpose_mut(),
            2,
            Par::Seq,
            || (),
            |_, _, yj, xj, _| xj[1] = yj[1],
        )
        .unwrap();
        assert_eq!(t[(3, 1)], 3.0);
        assert_eq!(t[(3, 0)], 7.0);
        let mut bad = Mat::<f64>::zeros(3, 5);
        let e = for_each_column::<f64, (), _, _, _>(
            y.as_ref(),
            bad.as_mut(),
            1,
            Par::Seq,
            || (),
            |_, _, _, _, _| (),
        );
        assert!(e.unwrap_err().to_string().contains("out"));
    }

    #[test]
    fn block_width_leaves_no_thread_idle() {
        assert_eq!(block_width(100, 32, Par::rayon(2)), 32);
        assert_eq!(block_width(20, 32, Par::rayon(2)), 10);
        assert_eq!(block_width(20, 32, Par::Seq), 20);
        assert_eq!(block_width(0, 32, Par::rayon(2)), 1);
        assert_eq!(block_width(5, 0, Par::Seq), 1);
    }
}
