//! Data exchange: NumPy `.npy` matrices, greyscale PNG images, and overlapping patches.
//!
//! `.npy` is the format the Python peers (NumPy, scikit-learn, SPORCO) read and write, so data
//! crosses between them and this library without loss. Enabled by the default `io` feature.

pub mod patches;

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::Path;

use faer::{Mat, MatRef};
use npyz::WriterBuilder;

use crate::error::{Error, Result};

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

fn fmt_err(path: &Path, message: impl Into<String>) -> Error {
    Error::Format {
        path: path.display().to_string(),
        message: message.into(),
    }
}

/// Reads a 1-D or 2-D `.npy` array of `f64` or `f32` in C or Fortran order as a matrix
/// (a 1-D array of length `n` becomes an `n x 1` column).
pub fn read_npy(path: impl AsRef<Path>) -> Result<Mat<f64>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| fmt_err(path, e.to_string()))?;
    let shape: Vec<usize> = npy.shape().iter().map(|&s| s as usize).collect();
    let order = npy.order();
    let (r, c) = match shape.as_slice() {
        [n] => (*n, 1),
        [r, c] => (*r, *c),
        s => {
            return Err(fmt_err(
                path,
                format!("expected a 1-D or 2-D array, found shape {s:?}"),
            ))
        }
    };
    let data: Vec<f64> = match npy.try_data::<f64>() {
        Ok(rd) => rd
            .into_iter()
            .collect::<std::io::Result<_>>()
            .map_err(|e| fmt_err(path, e.to_string()))?,
        Err(npy) => match npy.try_data::<f32>() {
            Ok(rd) => rd
                .into_iter()
                .map(|v| v.map(f64::from))
                .collect::<std::io::Result<_>>()
                .map_err(|e| fmt_err(path, e.to_string()))?,
            Err(npy) => {
                return Err(fmt_err(
                    path,
                    format!("expected dtype f8 or f4, found {}", npy.dtype().descr()),
                ))
            }
        },
    };
    Ok(match order {
        npyz::Order::C => Mat::from_fn(r, c, |i, j| data[i * c + j]),
        npyz::Order::Fortran => Mat::from_fn(r, c, |i, j| data[j * r + i]),
    })
}

/// Writes a matrix as a 2-D little-endian `f64` `.npy` array in C order (what `np.save` writes).
pub fn write_npy(path: impl AsRef<Path>, m: MatRef<'_, f64>) -> Result<()> {
    write_npy_with(path, m, npyz::Order::C)
}

/// Writes a matrix as a 2-D `f64` `.npy` array in the given order.
pub fn write_npy_with(
    path: impl AsRef<Path>,
    m: MatRef<'_, f64>,
    order: npyz::Order,
) -> Result<()> {
    let path = path.as_ref();
    let file = File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&[m.nrows() as u64, m.ncols() as u64])
        .order(order)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(|e| io_err(path, e))?;
    let res = match order {
        npyz::Order::C => (0..m.nrows())
            .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
            .try_for_each(|(i, j)| w.push(&m[(i, j)])),
        npyz::Order::Fortran => (0..m.ncols())
            .flat_map(|j| (0..m.nrows()).map(move |i| (i, j)))
            .try_for_each(|(i, j)| w.push(&m[(i, j)])),
    };
    res.map_err(|e| io_err(path, e))?;
    w.finish().map_err(|e| io_err(path, e))
}

/// Writes an array of any number of dimensions as a little-endian `f64` `.npy` file in C
/// (row-major) order: `data[((i0 * s1 + i1) * s2 + i2) ...]` is entry `(i0, i1, i2, ...)` of an
/// array of shape `(s0, s1, s2, ...)`, what `np.save` writes for a C-contiguous array and
/// `np.load` reads back (NumPy's format 1.0, NEP 1). For 3-D filter banks such as SPORCO's
/// `(rows, cols, filters)` layout, where [`write_npy`] only covers matrices. An empty `shape` is
/// a 0-d array holding one value.
///
/// Errors: `ShapeMismatch` naming `data` when its length is not the product of `shape`;
/// `Io` when the file cannot be written.
pub fn write_npy_nd(path: impl AsRef<Path>, shape: &[usize], data: &[f64]) -> Result<()> {
    let path = path.as_ref();
    let len = shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| Error::InvalidParameter {
            name: "shape",
            value: format!("{shape:?}"),
            expected: "dimensions whose product fits in usize".into(),
        })?;
    if data.len() != len {
        return Err(Error::ShapeMismatch {
            argument: "data",
            expected: format!("{len} values (the product of shape {shape:?})"),
            found: format!("{} values", data.len()),
        });
    }
    let dims: Vec<u64> = shape.iter().map(|&d| d as u64).collect();
    let file = File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = npyz::WriteOptions::new()
        .default_dtype()
        .shape(&dims)
        .order(npyz::Order::C)
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(|e| io_err(path, e))?;
    data.iter()
        .try_for_each(|v| w.push(v))
        .map_err(|e| io_err(path, e))?;
    w.finish().map_err(|e| io_err(path, e))
}

/// Writes a matrix as a 2-D `f32` `.npy` array in C order (halves the size; loses precision).
pub fn write_npy_f32(path: impl AsRef<Path>, m: MatRef<'_, f64>) -> Result<()> {
    let path = path.as_ref();
    let file = File::create(path).map_err(|e| io_err(path, e))?;
    let mut w = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[m.nrows() as u64, m.ncols() as u64])
        .writer(BufWriter::new(file))
        .begin_nd()
        .map_err(|e| io_err(path, e))?;
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            w.push(&(m[(i, j)] as f32)).map_err(|e| io_err(path, e))?;
        }
    }
    w.finish().map_err(|e| io_err(path, e))
}

/// Reads a PNG image as a greyscale matrix (`height x width`) with values in `[0, 255]`.
/// Colour images are converted with the luminance weights `0.2125 R + 0.7154 G + 0.0721 B`;
/// 16-bit images are scaled to 8-bit range; alpha is ignored.
pub fn read_png_gray(path: impl AsRef<Path>) -> Result<Mat<f64>> {
    let path = path.as_ref();
    let file = File::open(path).map_err(|e| io_err(path, e))?;
    let mut dec = png::Decoder::new(BufReader::new(file));
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(|e| fmt_err(path, e.to_string()))?;
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| fmt_err(path, e.to_string()))?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let stride = info.line_size;
    let px = |i: usize, j: usize, c: usize| buf[i * stride + j * channels + c] as f64;
    let img = match info.color_type {
        png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha => {
            Mat::from_fn(h, w, |i, j| px(i, j, 0))
        }
        png::ColorType::Rgb | png::ColorType::Rgba => Mat::from_fn(h, w, |i, j| {
            0.2125 * px(i, j, 0) + 0.7154 * px(i, j, 1) + 0.0721 * px(i, j, 2)
        }),
        other => return Err(fmt_err(path, format!("unsupported colour type {other:?}"))),
    };
    Ok(img)
}

/// Writes a matrix as an 8-bit greyscale PNG, rounding and clamping values to `[0, 255]`
/// (NaN becomes 0).
pub fn write_png_gray(path: impl AsRef<Path>, img: MatRef<'_, f64>) -> Result<()> {
    let path = path.as_ref();
    if img.nrows() == 0 || img.ncols() == 0 {
        return Err(Error::Empty {
            argument: "img",
            expected: "an image with at least one pixel".into(),
        });
    }
    let file = File::create(path).map_err(|e| io_err(path, e))?;
    let mut enc = png::Encoder::new(BufWriter::new(file), img.ncols() as u32, img.nrows() as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut w = enc.write_header().map_err(|e| io_err(path, e))?;
    let mut data = Vec::with_capacity(img.nrows() * img.ncols());
    for i in 0..img.nrows() {
        for j in 0..img.ncols() {
            let v = img[(i, j)];
            data.push(if v.is_nan() {
                0
            } else {
                v.round().clamp(0.0, 255.0) as u8
            });
        }
    }
    w.write_image_data(&data).map_err(|e| io_err(path, e))?;
    w.finish().map_err(|e| io_err(path, e))
}

/// Rescales `img` linearly so that its minimum maps to 0 and its maximum to 255 (a constant
/// image maps to 128): for writing atoms, codes or residuals as pictures.
pub fn to_display_range(img: MatRef<'_, f64>) -> Mat<f64> {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for j in 0..img.ncols() {
        for i in 0..img.nrows() {
            let v = img[(i, j)];
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    Mat::from_fn(img.nrows(), img.ncols(), |i, j| {
        if hi > lo {
            255.0 * (img[(i, j)] - lo) / (hi - lo)
        } else {
            128.0
        }
    })
}
