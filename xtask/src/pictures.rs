//! Pictures of atoms and filters for the reports (plotting, so it lives in xtask).

use faer::{Mat, MatRef};
use sparse_core::io::to_display_range;

/// The columns of `tiles` (each a column-major `h x w` picture) as one picture: every tile
/// rescaled to `[0, 255]` on its own, enlarged `scale` times, on a grid of `cols` columns
/// separated by 1-pixel white borders.
pub fn tile(tiles: MatRef<'_, f64>, (h, w): (usize, usize), cols: usize, scale: usize) -> Mat<f64> {
    let m = tiles.ncols();
    let cols = cols.max(1);
    let rows = m.div_ceil(cols);
    let (th, tw) = (h * scale, w * scale);
    let mut img = Mat::<f64>::from_fn(rows * (th + 1) + 1, cols * (tw + 1) + 1, |_, _| 255.0);
    for a in 0..m {
        let col = tiles.col(a);
        let patch = Mat::<f64>::from_fn(h, w, |i, j| col[i + h * j]);
        let shown = to_display_range(patch.as_ref());
        let (r0, c0) = (1 + (a / cols) * (th + 1), 1 + (a % cols) * (tw + 1));
        for j in 0..tw {
            for i in 0..th {
                img[(r0 + i, c0 + j)] = shown[(i / scale, j / scale)];
            }
        }
    }
    img
}
