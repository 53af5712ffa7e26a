//! Image resampling for the data sets that feed the pursuits (digits downsampled to the signal
//! length of a dictionary, for instance).

use faer::{Mat, MatRef};

use crate::error::{check, Error, Result};

/// The weights `W` (`to x from`, rows summing to 1) of area resampling a line of `from` pixels
/// to `to` pixels (what OpenCV's `INTER_AREA` and PIL's `BOX` filter compute): output pixel `o`
/// covers the input interval `[o s, (o + 1) s)`, `s = from / to`, and `W[o][i]` is the length
/// of its overlap with input pixel `[i, i + 1)`, divided by `s`. Works for down- and
/// up-sampling; `from == to` gives the identity.
///
/// Errors: `from` or `to` zero (`InvalidParameter` naming it).
pub fn area_weights(from: usize, to: usize) -> Result<Mat<f64>> {
    check::count("from", from, usize::MAX)?;
    check::count("to", to, usize::MAX)?;
    let s = from as f64 / to as f64;
    Ok(Mat::from_fn(to, from, |o, i| {
        let (lo, hi) = (o as f64 * s, (o + 1) as f64 * s);
        let overlap = (hi.min(i as f64 + 1.0) - lo.max(i as f64)).max(0.0);
        overlap / s
    }))
}

/// Area resampling of every column of `images` (each a column-major `from.0 x from.1` image)
/// to `to.0 x to.1` (column-major): `W_r X W_c^T` with the [`area_weights`] of rows and
/// columns, so each output pixel is the mean of the input over its footprint.
///
/// Errors: a zero size (`from`, `to`), `images` without `from.0 from.1` rows (`images`).
pub fn area_resize(
    images: MatRef<'_, f64>,
    from: (usize, usize),
    to: (usize, usize),
) -> Result<Mat<f64>> {
    if from.0 == 0 || from.1 == 0 {
        return Err(Error::InvalidParameter {
            name: "from",
            value: format!("{from:?}"),
            expected: "positive image sides".into(),
        });
    }
    if to.0 == 0 || to.1 == 0 {
        return Err(Error::InvalidParameter {
            name: "to",
            value: format!("{to:?}"),
            expected: "positive image sides".into(),
        });
    }
    check::nrows("images", images, from.0 * from.1)?;
    let wr = area_weights(from.0, to.0)?;
    let wc = area_weights(from.1, to.1)?;
    let mut out = Mat::<f64>::zeros(to.0 * to.1, images.ncols());
    for j in 0..images.ncols() {
        let img = Mat::from_fn(from.0, from.1, |r, c| images[(r + from.0 * c, j)]);
        let small = &wr * &img * wc.transpose();
        for c in 0..to.1 {
            for r in 0..to.0 {
                out[(r + to.0 * c, j)] = small[(r, c)];
            }
        }
    }
    Ok(out)
}
