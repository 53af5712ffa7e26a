//! Data exchange: NumPy `.npy` matrices, greyscale PNG images, and overlapping patches.
//!
//! `.npy` is the format the Python peers (NumPy, scikit-learn, SPORCO) read and write, so data
//! crosses between them and this library without loss. Enabled by the default `io` feature.

mod npy;
pub mod patches;

pub use npy::MAX_NPY_HEADER_LEN;

use std::fs::File;
use std::io::BufWriter;
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

/// Reads a 1-D or 2-D `.npy` array in C or Fortran order as a matrix (a 1-D array of length
/// `n` becomes an `n x 1` column). Accepted dtypes: `f8` and `f4` (exact), and the integers
/// `u1`, `i1`, `u2`, `i2`, `u4`, `i4`, `u8`, `i8` (converted to `f64`), in either byte order.
///
/// The header is parsed by a strict linear-time parser (see [`MAX_NPY_HEADER_LEN`] and the
/// module `npy` for what is checked and why `npyz` is no longer used for reading): the
/// declared shape must describe exactly the bytes that follow the header.
///
/// Errors: `Io` when the file cannot be read; `Format`, naming the file and in one line what
/// was wrong (bad magic or version, a header over the limit or past the end of the file, a
/// malformed header, an unsupported dtype or number of dimensions, a shape whose size
/// overflows or does not match the data).
pub fn read_npy(path: impl AsRef<Path>) -> Result<Mat<f64>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    npy::parse(&bytes).map_err(|m| fmt_err(path, m))
}

/// [`read_npy`] on the bytes of a `.npy` file already in memory (errors name the file as
/// `<bytes>`).
pub fn read_npy_from_bytes(bytes: &[u8]) -> Result<Mat<f64>> {
    npy::parse(bytes).map_err(|m| Error::Format {
        path: BYTES.into(),
        message: m,
    })
}

/// The name errors give to in-memory input.
const BYTES: &str = "<bytes>";

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

/// The largest image [`read_png_gray`] decodes: `2^26` pixels (e.g. 8192 x 8192, 512 MiB as
/// `f64`). The dimensions declared by the PNG header are checked against it, and against what
/// the file's size can hold once decompressed (deflate expands at most 1032-fold), before any
/// pixel buffer is allocated; the decoder's own allocations are capped by
/// [`MAX_PNG_DECODER_BYTES`].
pub const MAX_IMAGE_PIXELS: u64 = 1 << 26;

/// The most the PNG decoder may allocate besides the pixel buffer (metadata chunks, text,
/// ICC profiles, line buffers): 64 MiB, the `png` crate's default [`png::Limits`].
pub const MAX_PNG_DECODER_BYTES: usize = 64 << 20;

/// Reads a PNG image as a greyscale matrix (`height x width`) with values in `[0, 255]`.
/// Colour images are converted with the luminance weights `0.2125 R + 0.7154 G + 0.0721 B`;
/// 16-bit images are scaled to 8-bit range; alpha is ignored.
///
/// Errors: `Io` when the file cannot be opened; `Format` naming the file for a malformed or
/// truncated PNG, an unsupported colour type, or a header declaring more than
/// [`MAX_IMAGE_PIXELS`] pixels or more pixel data than the file can hold (both refused before
/// the image is allocated).
pub fn read_png_gray(path: impl AsRef<Path>) -> Result<Mat<f64>> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| io_err(path, e))?;
    png_gray(&bytes).map_err(|m| fmt_err(path, m))
}

/// [`read_png_gray`] on the bytes of a PNG file already in memory (errors name the file as
/// `<bytes>`).
pub fn read_png_gray_from_bytes(bytes: &[u8]) -> Result<Mat<f64>> {
    png_gray(bytes).map_err(|m| Error::Format {
        path: BYTES.into(),
        message: m,
    })
}

/// Deflate expands at most 1032-fold (zlib's documented limit): the pixel data a PNG of
/// `len` bytes can hold.
fn png_max_raw_bytes(len: u64) -> u64 {
    len.saturating_mul(1032).saturating_add(1 << 16)
}

/// Walks the chunks of a PNG and refuses what the `png` crate (0.17) would panic on: a `PLTE`
/// chunk of more than 256 entries (768 bytes) or not a whole number of entries. Stops at the
/// first chunk that does not fit the file (the decoder then reports the truncation).
fn png_prescan(bytes: &[u8]) -> std::result::Result<(), String> {
    let mut at = 8usize;
    while let Some(head) = bytes.get(at..at + 8) {
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if &head[4..8] == b"PLTE" && (len > 768 || !len.is_multiple_of(3)) {
            return Err(format!(
                "PLTE chunk of {len} bytes: expected at most 256 RGB entries (a multiple of 3, \
                 at most 768 bytes)"
            ));
        }
        if &head[4..8] == b"IEND" {
            break;
        }
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(())
}

/// Decodes a PNG file held in memory.
fn png_gray(bytes: &[u8]) -> std::result::Result<Mat<f64>, String> {
    png_prescan(bytes)?;
    let len = bytes.len() as u64;
    let r = bytes;
    let one_line = |e: png::DecodingError| e.to_string().replace('\n', " ");
    let limits = png::Limits {
        bytes: MAX_PNG_DECODER_BYTES,
    };
    let mut dec = png::Decoder::new_with_limits(r, limits);
    dec.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = dec.read_info().map_err(one_line)?;
    let (w, h) = reader.info().size();
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(format!(
            "the header declares {w} x {h} = {pixels} pixels, more than the limit of \
             {MAX_IMAGE_PIXELS} (MAX_IMAGE_PIXELS)"
        ));
    }
    // The compressed pixel data must be able to hold the declared image: a lower bound of its
    // decompressed size (the bits of all pixels, ignoring filter bytes) against what `len`
    // bytes can expand to. So a small file cannot make the reader allocate a large image.
    let bits = reader.info().bits_per_pixel() as u64;
    let raw = pixels * bits / 8;
    if raw > png_max_raw_bytes(len) {
        return Err(format!(
            "the header declares {w} x {h} pixels ({raw} bytes of pixel data), more than a \
             {len}-byte PNG can hold"
        ));
    }
    let mut buf = vec![0u8; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).map_err(one_line)?;
    let (w, h) = (info.width as usize, info.height as usize);
    let channels = info.color_type.samples();
    let stride = info.line_size;
    if h.saturating_mul(stride) > buf.len() || w.saturating_mul(channels) > stride {
        return Err(format!(
            "decoded frame of {w} x {h} does not fit the {} byte buffer",
            buf.len()
        ));
    }
    let px = |i: usize, j: usize, c: usize| buf[i * stride + j * channels + c] as f64;
    let img = match info.color_type {
        png::ColorType::Grayscale | png::ColorType::GrayscaleAlpha => {
            Mat::from_fn(h, w, |i, j| px(i, j, 0))
        }
        png::ColorType::Rgb | png::ColorType::Rgba => Mat::from_fn(h, w, |i, j| {
            0.2125 * px(i, j, 0) + 0.7154 * px(i, j, 1) + 0.0721 * px(i, j, 2)
        }),
        other => return Err(format!("unsupported colour type {other:?}")),
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
