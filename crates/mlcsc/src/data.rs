//! Readers of the labelled image data the supervised experiments use: MNIST in its original
//! IDX format and the UCI 8x8 digits as CSV, both optionally gzipped, plus a seeded split.

use std::io::{BufRead, Read};
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

/// The most bytes an IDX file ([`read_mnist`]) may declare and hold after decompression:
/// `2^27` (128 MiB of pixels, 1 GiB once converted to `f64`; MNIST's training images are
/// 47 MB). The declared size is checked against it before the data are read, and the
/// (decompressed) stream must hold exactly the declared bytes.
pub const MAX_IDX_BYTES: u64 = 1 << 27;

/// The most bytes a digits CSV file ([`read_digits_csv`]) may hold after decompression: 64 MiB
/// (the UCI file is 0.5 MB). Decompression stops there, so a gzip bomb is refused after
/// reading at most this much.
pub const MAX_CSV_BYTES: u64 = 1 << 26;

/// The name errors give to in-memory input.
const BYTES: &str = "<bytes>";

/// A reader of the bytes of `src`, gunzipped when they start with the gzip magic `1f 8b`.
fn maybe_gz<'a, R: BufRead + 'a>(mut src: R) -> std::io::Result<Box<dyn Read + 'a>> {
    let gz = src.fill_buf()?.starts_with(&[0x1f, 0x8b]);
    Ok(if gz {
        Box::new(flate2::read::GzDecoder::new(src))
    } else {
        Box::new(src)
    })
}

/// At most 40 characters of a field, escaped, for error messages.
fn clip(field: &str) -> String {
    let s: String = field
        .chars()
        .take(40)
        .flat_map(char::escape_debug)
        .collect();
    if field.chars().nth(40).is_some() {
        format!("{s}...")
    } else {
        s
    }
}

/// One-line description of an I/O or gzip error.
fn describe(e: std::io::Error) -> String {
    e.to_string().replace('\n', " ")
}

/// Reads at most `cap` bytes of `src`; more is an error.
fn read_capped(src: &mut dyn Read, cap: u64) -> std::result::Result<Vec<u8>, String> {
    let mut out = Vec::new();
    src.take(cap.saturating_add(1))
        .read_to_end(&mut out)
        .map_err(describe)?;
    if out.len() as u64 > cap {
        return Err(format!(
            "more than {cap} bytes (after decompression), the limit of this reader"
        ));
    }
    Ok(out)
}

/// An IDX file of unsigned bytes (type code `0x08`) with `ndims` dimensions: its dimensions
/// and its data, checked against the declared sizes and [`MAX_IDX_BYTES`].
fn read_idx(
    src: &mut dyn Read,
    ndims: u8,
    what: &str,
) -> std::result::Result<(Vec<u64>, Vec<u8>), String> {
    let magic = 0x0800 | u32::from(ndims);
    let mut head = [0u8; 4];
    src.read_exact(&mut head)
        .map_err(|e| format!("not an IDX {what} file: {}", describe(e)))?;
    let found = u32::from_be_bytes(head);
    if found != magic {
        return Err(format!(
            "not an IDX {what} file: magic {found:#010x}, expected {magic:#010x} ({magic}: \
             unsigned bytes, {ndims} dimension{})",
            if ndims == 1 { "" } else { "s" }
        ));
    }
    let mut dims = Vec::with_capacity(usize::from(ndims));
    for k in 0..ndims {
        src.read_exact(&mut head)
            .map_err(|e| format!("truncated header (dimension {k}): {}", describe(e)))?;
        dims.push(u64::from(u32::from_be_bytes(head)));
    }
    let total = dims
        .iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(d))
        .filter(|&t| t <= MAX_IDX_BYTES)
        .ok_or_else(|| {
            format!(
                "the header declares dimensions {dims:?}, more than the limit of \
                 {MAX_IDX_BYTES} bytes (MAX_IDX_BYTES)"
            )
        })?;
    let body = read_capped(src, total)
        .map_err(|_| format!("more data than the {total} bytes the header {dims:?} declares"))?;
    if (body.len() as u64) < total {
        return Err(format!(
            "truncated: the header {dims:?} declares {total} bytes of data, found {}",
            body.len()
        ));
    }
    Ok((dims, body))
}

/// Reads MNIST images and labels in the IDX format (big-endian headers with magic 2051 for
/// images, 2049 for labels; LeCun, Cortes & Burges), gzipped or not. Pixels are scaled to
/// `[0, 1]` and stored column-major per image (row index fastest), one image per column.
///
/// Errors (`File`, naming the file): a wrong magic, a truncated header, images with no pixel,
/// declared sizes over [`MAX_IDX_BYTES`], data shorter or longer than declared (read with that
/// cap, so a gzip bomb stops there), a gzip error, or label and image counts that differ.
pub fn read_mnist(images: impl AsRef<Path>, labels: impl AsRef<Path>) -> Result<Labelled> {
    let (ip, lp) = (images.as_ref(), labels.as_ref());
    let open = |p: &Path| -> Result<Box<dyn Read>> {
        let f = std::fs::File::open(p).map_err(|e| file_err(p, e))?;
        maybe_gz(std::io::BufReader::new(f)).map_err(|e| file_err(p, describe(e)))
    };
    let (mut is, mut ls) = (open(ip)?, open(lp)?);
    mnist(
        &mut *is,
        &mut *ls,
        &ip.display().to_string(),
        &lp.display().to_string(),
    )
}

/// [`read_mnist`] on the bytes (gzipped or not) of the image and label files already in memory
/// (errors name the files `<bytes>`).
pub fn read_mnist_from_bytes(images: &[u8], labels: &[u8]) -> Result<Labelled> {
    let mut is = maybe_gz(images).map_err(|e| file_err(Path::new(BYTES), describe(e)))?;
    let mut ls = maybe_gz(labels).map_err(|e| file_err(Path::new(BYTES), describe(e)))?;
    mnist(&mut *is, &mut *ls, BYTES, BYTES)
}

fn mnist(images: &mut dyn Read, labels: &mut dyn Read, ip: &str, lp: &str) -> Result<Labelled> {
    let (ip, lp) = (Path::new(ip), Path::new(lp));
    let (dims, ib) = read_idx(images, 3, "image").map_err(|m| file_err(ip, m))?;
    let (ldims, lb) = read_idx(labels, 1, "label").map_err(|m| file_err(lp, m))?;
    // Each dimension is a u32 and their product is at most MAX_IDX_BYTES: no overflow below.
    let (n, rows, cols) = (dims[0] as usize, dims[1] as usize, dims[2] as usize);
    if rows == 0 || cols == 0 {
        return Err(file_err(
            ip,
            format!("images of {rows}x{cols} pixels: expected at least one row and column"),
        ));
    }
    if ldims[0] != dims[0] {
        return Err(file_err(
            lp,
            format!(
                "{} labels for the {n} images of `{}`",
                ldims[0],
                ip.display()
            ),
        ));
    }
    let px = rows * cols;
    // IDX pixels are row-major; store column-major (pixel (r, c) at r + rows * c).
    let images = Mat::from_fn(px, n, |p, j| {
        let (r, c) = (p % rows, p / rows);
        ib[j * px + r * cols + c] as f64 / 255.0
    });
    Ok(Labelled {
        images,
        labels: lb.iter().map(|&v| usize::from(v)).collect(),
        shape: (rows, cols),
    })
}

/// The largest digit label (the UCI digits are `0..=9`).
pub const MAX_DIGIT_LABEL: usize = 9;

/// Reads the UCI 8x8 digits (Alpaydin & Kaynak; the copy shipped by scikit-learn): one digit
/// per line, 64 grey levels `0..=16` (row-major) then the label `0..=9`, comma separated,
/// gzipped or not. Pixels are scaled to `[0, 1]` and stored column-major per image.
///
/// Errors (`File`, naming the file and, for the contents, the line): more than
/// [`MAX_CSV_BYTES`] after decompression, text that is not UTF-8, a line without 65 numeric
/// fields, a grey level outside `[0, 16]` (or not finite), a label that is not an integer in
/// `0..=9`.
pub fn read_digits_csv(path: impl AsRef<Path>) -> Result<Labelled> {
    let path = path.as_ref();
    let f = std::fs::File::open(path).map_err(|e| file_err(path, e))?;
    let mut src = maybe_gz(std::io::BufReader::new(f)).map_err(|e| file_err(path, describe(e)))?;
    digits(&mut *src).map_err(|m| file_err(path, m))
}

/// [`read_digits_csv`] on the bytes (gzipped or not) of a file already in memory (errors name
/// the file `<bytes>`).
pub fn read_digits_csv_from_bytes(bytes: &[u8]) -> Result<Labelled> {
    let mut src = maybe_gz(bytes).map_err(|e| file_err(Path::new(BYTES), describe(e)))?;
    digits(&mut *src).map_err(|m| file_err(Path::new(BYTES), m))
}

fn digits(src: &mut dyn Read) -> std::result::Result<Labelled, String> {
    let bytes = read_capped(src, MAX_CSV_BYTES)?;
    let text = String::from_utf8(bytes).map_err(|e| format!("not UTF-8 text: {e}"))?;
    let mut cols: Vec<[f64; 64]> = Vec::new();
    let mut labels = Vec::new();
    for (ln, line) in text.lines().enumerate() {
        let ln = ln + 1;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(format!(
                "line {ln}: expected 65 fields, found {}",
                fields.len()
            ));
        }
        let mut vals = [0.0; 65];
        for (k, (v, f)) in vals.iter_mut().zip(&fields).enumerate() {
            *v = f
                .parse::<f64>()
                .map_err(|e| format!("line {ln}, field {}: '{}': {e}", k + 1, clip(f)))?;
        }
        if let Some(k) = vals[..64].iter().position(|v| !(0.0..=16.0).contains(v)) {
            return Err(format!(
                "line {ln}, field {}: grey level {} outside [0, 16]",
                k + 1,
                vals[k]
            ));
        }
        let label = vals[64];
        if !(label.fract() == 0.0 && (0.0..=MAX_DIGIT_LABEL as f64).contains(&label)) {
            return Err(format!(
                "line {ln}: label '{}' is not an integer in 0..={MAX_DIGIT_LABEL}",
                clip(fields[64])
            ));
        }
        let mut px = [0.0; 64];
        for (p, v) in px.iter_mut().enumerate() {
            let (r, c) = (p % 8, p / 8);
            *v = vals[r * 8 + c] / 16.0;
        }
        cols.push(px);
        labels.push(label as usize);
    }
    Ok(Labelled {
        images: Mat::from_fn(64, cols.len(), |i, j| cols[j][i]),
        labels,
        shape: (8, 8),
    })
}
