//! Readers of the labelled image data the supervised experiments use: MNIST in its original
//! IDX format and the UCI 8x8 digits as CSV, both optionally gzipped, plus a seeded split.

use std::io::Read;
use std::path::Path;

use faer::{Mat, MatRef};
use rand::seq::SliceRandom;

use crate::error::{file_err, invalid, Result};

/// A labelled data set: one image per column, values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Labelled {
    /// Images as columns (`pixels x n`), scaled to `[0, 1]`.
    pub images: Mat<f64>,
    /// The label of every column.
    pub labels: Vec<usize>,
    /// Image height and width (column-major pixels within a column: row index fastest).
    pub shape: (usize, usize),
}

impl Labelled {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no examples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Number of classes (`1 + max label`).
    pub fn n_classes(&self) -> usize {
        self.labels.iter().copied().max().map_or(0, |m| m + 1)
    }

    /// The examples `idx`, in that order.
    pub fn select(&self, idx: &[usize]) -> Result<Labelled> {
        if let Some(&bad) = idx.iter().find(|&&i| i >= self.len()) {
            return Err(invalid("idx", bad, format!("indices < {}", self.len())));
        }
        Ok(Labelled {
            images: select_columns(self.images.as_ref(), idx),
            labels: idx.iter().map(|&i| self.labels[i]).collect(),
            shape: self.shape,
        })
    }

    /// A seeded random split into `n_train` training and the remaining test examples.
    pub fn split(&self, n_train: usize, seed: u64) -> Result<(Labelled, Labelled)> {
        if n_train > self.len() {
            return Err(invalid(
                "n_train",
                n_train,
                format!("at most the {} examples", self.len()),
            ));
        }
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.shuffle(&mut sparse_core::generate::rng(seed));
        Ok((self.select(&idx[..n_train])?, self.select(&idx[n_train..])?))
    }
}

/// The columns `idx` of `m`.
pub fn select_columns(m: MatRef<'_, f64>, idx: &[usize]) -> Mat<f64> {
    Mat::from_fn(m.nrows(), idx.len(), |i, j| m[(i, idx[j])])
}

/// The bytes of a file, gunzipped when they start with the gzip magic `1f 8b`.
fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| file_err(path, e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        flate2::read::GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| file_err(path, format!("gzip: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

fn be_u32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads MNIST images and labels in the IDX format (big-endian headers with magic 2051 for
/// images, 2049 for labels; LeCun, Cortes & Burges), gzipped or not. Pixels are scaled to
/// `[0, 1]` and stored column-major per image (row index fastest), one image per column.
pub fn read_mnist(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Labelled> {
    let (ip, lp) = (images.as_ref(), labels.as_ref());
    let ib = read_maybe_gz(ip)?;
    let lb = read_maybe_gz(lp)?;
    if ib.len() < 16 || be_u32(&ib, 0) != 2051 {
        return Err(file_err(ip, "not an IDX image file (magic 2051)"));
    }
    if lb.len() < 8 || be_u32(&lb, 0) != 2049 {
        return Err(file_err(lp, "not an IDX label file (magic 2049)"));
    }
    let (n, rows, cols) = (
        be_u32(&ib, 4) as usize,
        be_u32(&ib, 8) as usize,
        be_u32(&ib, 12) as usize,
    );
    let nl = be_u32(&lb, 4) as usize;
    if ib.len() != 16 + n * rows * cols {
        return Err(file_err(
            ip,
            format!("expected {n} images of {rows}x{cols}"),
        ));
    }
    if lb.len() != 8 + nl || nl != n {
        return Err(file_err(lp, format!("expected {n} labels")));
    }
    let px = rows * cols;
    // IDX pixels are row-major; store column-major (pixel (r, c) at r + rows * c).
    let images = Mat::from_fn(px, n, |p, j| {
        let (r, c) = (p % rows, p / rows);
        ib[16 + j * px + r * cols + c] as f64 / 255.0
    });
    Ok(Labelled {
        images,
        labels: lb[8..].iter().map(|&v| v as usize).collect(),
        shape: (rows, cols),
    })
}

/// Reads the UCI 8x8 digits (Alpaydin & Kaynak; the copy shipped by scikit-learn): one digit
/// per line, 64 grey levels `0..=16` (row-major) then the label, comma separated, gzipped or not.
/// Pixels are scaled to `[0, 1]` and stored column-major per image.
pub fn read_digits_csv(path: impl AsRef<Path>) -> Result<Labelled> {
    let path = path.as_ref();
    let bytes = read_maybe_gz(path)?;
    let text = String::from_utf8(bytes).map_err(|e| file_err(path, e))?;
    let mut cols: Vec<[f64; 64]> = Vec::new();
    let mut labels = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let vals: Vec<f64> = line
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| file_err(path, format!("line {}: {e}", ln + 1)))?;
        if vals.len() != 65 {
            return Err(file_err(
                path,
                format!("line {}: expected 65 fields, found {}", ln + 1, vals.len()),
            ));
        }
        let mut px = [0.0; 64];
        for (p, v) in px.iter_mut().enumerate() {
            let (r, c) = (p % 8, p / 8);
            *v = vals[r * 8 + c] / 16.0;
        }
        cols.push(px);
        let label = vals[64];
        if !(label >= 0.0 && label.fract() == 0.0) {
            return Err(file_err(
                path,
                format!("line {}: bad label {label}", ln + 1),
            ));
        }
        labels.push(label as usize);
    }
    Ok(Labelled {
        images: Mat::from_fn(64, cols.len(), |i, j| cols[j][i]),
        labels,
        shape: (8, 8),
    })
}
