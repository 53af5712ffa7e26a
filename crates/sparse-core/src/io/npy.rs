//! A small strict reader of NumPy `.npy` files (NEP 1, format versions 1.0, 2.0 and 3.0).
//!
//! Why our own parser: the `npyz` crate parses the header dictionary with a backtracking
//! (pest) grammar that takes exponential time on a 30-byte header of `{` characters, panics on
//! a declared shape whose product overflows, and allocates a version-2 header's declared length
//! (up to 4 GiB) before validating it. This reader validates before it allocates and parses in
//! one linear pass without backtracking:
//!
//! - the magic `\x93NUMPY`, a major version 1, 2 or 3 (minor 0);
//! - the header length (2 bytes in version 1, 4 bytes in versions 2 and 3), at most
//!   [`MAX_NPY_HEADER_LEN`] and within the file;
//! - the header, a Python dict literal with exactly the keys `'descr'` (a dtype string, see
//!   below), `'fortran_order'` (`True` / `False`) and `'shape'` (a tuple of non-negative
//!   integers), in any order, optionally with a trailing comma, then padding whitespace;
//! - the shape's number of values and bytes, computed with checked arithmetic, must equal the
//!   bytes after the header exactly.
//!
//! Accepted dtypes (any byte order `<`, `>`, `|` or `=` (native)): `f8`, `f4` (read exactly),
//! `u1`, `i1`, `u2`, `i2`, `u4`, `i4`, `u8`, `i8` (converted to `f64`; 64-bit integers beyond
//! `2^53` are rounded). The writers of [`super`] still use `npyz`: writing involves no parsing,
//! and its `Order` is part of [`super::write_npy_with`]'s signature.

use faer::Mat;

/// The longest `.npy` header accepted (64 KiB; NumPy itself refuses headers over 10,000 bytes
/// unless asked to trust the file).
pub const MAX_NPY_HEADER_LEN: usize = 64 * 1024;

/// The element types the reader converts to `f64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Float,
    Unsigned,
    Signed,
}

/// A parsed dtype: kind, size in bytes, little-endian or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Dtype {
    kind: Kind,
    size: usize,
    little: bool,
}

/// The parsed header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Header {
    dtype: Dtype,
    fortran: bool,
    shape: Vec<usize>,
}

/// A printable, one-line, bounded rendering of (part of) a header for error messages.
fn show(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let s: String = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX)])
        .chars()
        .flat_map(char::escape_debug)
        .collect();
    if bytes.len() > MAX {
        format!("{s}...")
    } else {
        s
    }
}

fn parse_dtype(descr: &[u8]) -> Result<Dtype, String> {
    let bad = || {
        format!(
            "unsupported dtype '{}' (expected f8, f4, u1, i1, u2, i2, u4, i4, u8 or i8 with \
             byte order <, >, | or =)",
            show(descr)
        )
    };
    let (order, rest) = match descr.split_first() {
        Some((&o, rest)) if b"<>|=".contains(&o) => (o, rest),
        _ => return Err(bad()),
    };
    let (kind, size) = match rest {
        b"f8" => (Kind::Float, 8),
        b"f4" => (Kind::Float, 4),
        b"u1" => (Kind::Unsigned, 1),
        b"i1" => (Kind::Signed, 1),
        b"u2" => (Kind::Unsigned, 2),
        b"i2" => (Kind::Signed, 2),
        b"u4" => (Kind::Unsigned, 4),
        b"i4" => (Kind::Signed, 4),
        b"u8" => (Kind::Unsigned, 8),
        b"i8" => (Kind::Signed, 8),
        _ => return Err(bad()),
    };
    let little = match order {
        b'<' => true,
        b'>' => false,
        b'=' => cfg!(target_endian = "little"),
        // `|` (not applicable) is only meaningful for one-byte types.
        _ if size == 1 => true,
        _ => return Err(bad()),
    };
    Ok(Dtype { kind, size, little })
}

/// A cursor over the header text; every method consumes input or fails, never backtracks.
struct Cursor<'a> {
    s: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn ws(&mut self) {
        while self.at < self.s.len() && matches!(self.s[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.at).copied()
    }

    fn err(&self, expected: &str) -> String {
        match self.s.get(self.at..) {
            Some(rest) if !rest.is_empty() => format!(
                "malformed header at byte {}: expected {expected}, found '{}'",
                self.at,
                show(rest)
            ),
            _ => format!("malformed header: expected {expected}, found the end of the header"),
        }
    }

    fn expect(&mut self, c: u8, what: &str) -> Result<(), String> {
        self.ws();
        if self.peek() == Some(c) {
            self.at += 1;
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> Result<&'a [u8], String> {
        self.ws();
        let q = match self.peek() {
            Some(q @ (b'\'' | b'"')) => q,
            _ => return Err(self.err("a quoted string")),
        };
        let start = self.at + 1;
        let len = self.s[start..]
            .iter()
            .position(|&c| c == q || c == b'\\' || c == b'\n')
            .ok_or_else(|| self.err("a closed string"))?;
        if self.s[start + len] != q {
            self.at = start + len;
            return Err(self.err("a string without escapes or line breaks"));
        }
        self.at = start + len + 1;
        Ok(&self.s[start..start + len])
    }

    fn boolean(&mut self) -> Result<bool, String> {
        self.ws();
        let rest = &self.s[self.at..];
        if rest.starts_with(b"True") {
            self.at += 4;
            Ok(true)
        } else if rest.starts_with(b"False") {
            self.at += 5;
            Ok(false)
        } else {
            Err(self.err("True or False for 'fortran_order'"))
        }
    }

    /// A non-negative integer (Python 2 headers may suffix it with `L`) that fits in `usize`.
    fn integer(&mut self) -> Result<usize, String> {
        self.ws();
        let start = self.at;
        let mut v: usize = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            v = v
                .checked_mul(10)
                .and_then(|v| v.checked_add(usize::from(c - b'0')))
                .ok_or_else(|| {
                    format!(
                        "shape dimension '{}' does not fit in {} bits",
                        show(&self.s[start..]),
                        usize::BITS
                    )
                })?;
            self.at += 1;
        }
        if self.at == start {
            return Err(self.err("a non-negative integer in 'shape'"));
        }
        if self.peek() == Some(b'L') {
            self.at += 1;
        }
        Ok(v)
    }

    /// `( int, int, ... )` with an optional trailing comma (required by Python for one entry,
    /// accepted without).
    fn shape(&mut self) -> Result<Vec<usize>, String> {
        self.expect(b'(', "'(' opening the 'shape' tuple")?;
        let mut dims = Vec::new();
        loop {
            self.ws();
            if self.peek() == Some(b')') {
                self.at += 1;
                return Ok(dims);
            }
            if dims.len() == 32 {
                return Err("'shape' has more than 32 dimensions (NumPy's limit)".into());
            }
            dims.push(self.integer()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.at += 1,
                Some(b')') => {}
                _ => return Err(self.err("',' or ')' in 'shape'")),
            }
        }
    }
}

/// Parses the header dictionary (the bytes between the header length and the data).
fn parse_header(text: &[u8]) -> Result<Header, String> {
    let mut cur = Cursor { s: text, at: 0 };
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    cur.expect(b'{', "'{' opening the header dict")?;
    loop {
        cur.ws();
        if cur.peek() == Some(b'}') {
            cur.at += 1;
            break;
        }
        let key = cur.string()?;
        cur.expect(b':', "':' after a key")?;
        let dup = match key {
            b"descr" => descr.replace(parse_dtype(cur.string()?)?).is_some(),
            b"fortran_order" => fortran.replace(cur.boolean()?).is_some(),
            b"shape" => shape.replace(cur.shape()?).is_some(),
            other => {
                return Err(format!(
                    "unexpected key '{}' in the header (expected 'descr', 'fortran_order', \
                     'shape')",
                    show(other)
                ))
            }
        };
        if dup {
            return Err(format!("key '{}' appears twice in the header", show(key)));
        }
        cur.ws();
        match cur.peek() {
            Some(b',') => cur.at += 1,
            Some(b'}') => {}
            _ => return Err(cur.err("',' or '}' in the header dict")),
        }
    }
    cur.ws();
    if cur.at != text.len() {
        return Err(cur.err("only padding whitespace after the header dict"));
    }
    let missing = |k: &str| format!("the header has no '{k}' key");
    Ok(Header {
        dtype: descr.ok_or_else(|| missing("descr"))?,
        fortran: fortran.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

fn decode(d: Dtype, b: &[u8]) -> f64 {
    macro_rules! num {
        ($t:ty, $n:literal) => {{
            let mut a = [0u8; $n];
            a.copy_from_slice(b);
            if d.little {
                <$t>::from_le_bytes(a)
            } else {
                <$t>::from_be_bytes(a)
            }
        }};
    }
    match (d.kind, d.size) {
        (Kind::Float, 8) => num!(f64, 8),
        (Kind::Float, _) => f64::from(num!(f32, 4)),
        (Kind::Unsigned, 1) => f64::from(b[0]),
        (Kind::Signed, 1) => f64::from(b[0] as i8),
        (Kind::Unsigned, 2) => f64::from(num!(u16, 2)),
        (Kind::Signed, 2) => f64::from(num!(i16, 2)),
        (Kind::Unsigned, 4) => f64::from(num!(u32, 4)),
        (Kind::Signed, 4) => f64::from(num!(i32, 4)),
        (Kind::Unsigned, _) => num!(u64, 8) as f64,
        (Kind::Signed, _) => num!(i64, 8) as f64,
    }
}

/// Parses a whole `.npy` file held in memory into a matrix; the error is a one-line message
/// (the caller adds the file name).
pub(super) fn parse(bytes: &[u8]) -> Result<Mat<f64>, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy file (no \\x93NUMPY magic)".into());
    }
    let (major, minor) = (bytes[6], bytes[7]);
    let (hlen, start) = match major {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            let n = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (usize::try_from(n).unwrap_or(usize::MAX), 12)
        }
        2 | 3 => return Err("truncated header length".into()),
        v => {
            return Err(format!(
                "unsupported .npy format version {v}.{minor} (expected 1.0, 2.0 or 3.0)"
            ))
        }
    };
    if minor != 0 {
        return Err(format!(
            "unsupported .npy format version {major}.{minor} (expected 1.0, 2.0 or 3.0)"
        ));
    }
    if hlen > MAX_NPY_HEADER_LEN {
        return Err(format!(
            "header length {hlen} exceeds the limit of {MAX_NPY_HEADER_LEN} bytes"
        ));
    }
    let rest = bytes.len() - start;
    if hlen > rest {
        return Err(format!(
            "header length {hlen} exceeds the {rest} bytes left in the file"
        ));
    }
    let header = parse_header(&bytes[start..start + hlen])?;
    let data = &bytes[start + hlen..];
    let (r, c) = match header.shape.as_slice() {
        &[n] => (n, 1),
        &[r, c] => (r, c),
        s => {
            return Err(format!(
                "expected a 1-D or 2-D array, found shape {s:?} ({}-D)",
                s.len()
            ))
        }
    };
    let size = header.dtype.size;
    let need = r
        .checked_mul(c)
        .and_then(|n| n.checked_mul(size))
        .ok_or_else(|| format!("shape ({r}, {c}) overflows: more values than fit in memory"))?;
    if need != data.len() {
        return Err(format!(
            "shape ({r}, {c}) of {size}-byte values needs {need} data bytes, the file has {}",
            data.len()
        ));
    }
    if need == 0 && r.max(c) > u32::MAX as usize {
        // An empty array with an absurd dimension: refuse it rather than build a matrix
        // whose strides are meaningless.
        return Err(format!(
            "empty shape ({r}, {c}) with a dimension over {}",
            u32::MAX
        ));
    }
    let d = header.dtype;
    let at = |k: usize| decode(d, &data[k * size..(k + 1) * size]);
    Ok(if header.fortran {
        Mat::from_fn(r, c, |i, j| at(j * r + i))
    } else {
        Mat::from_fn(r, c, |i, j| at(i * c + j))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_grammar() {
        let h = parse_header(b"{'descr': '<f8', 'fortran_order': False, 'shape': (3, 5), }  \n")
            .unwrap();
        assert_eq!(h.shape, vec![3, 5]);
        assert!(!h.fortran);
        let h =
            parse_header(b"{\"shape\":(7L,),\"descr\":\"|u1\",\"fortran_order\":True}").unwrap();
        assert_eq!((h.shape, h.fortran, h.dtype.size), (vec![7], true, 1));
        for bad in [
            &b"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{"[..],
            b"{'descr': '<f8', 'fortran_order': False}",
            b"{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': ()}",
            b"{'descr': '<c16', 'fortran_order': False, 'shape': ()}",
            b"{'descr': '<f8', 'fortran_order': 0, 'shape': ()}",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999999,)}",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': (), 'x': 1}",
            b"{'descr': '<f8', 'fortran_order': False, 'shape': ()} junk",
        ] {
            let e = parse_header(bad).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
