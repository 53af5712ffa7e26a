//! The error type shared by every fallible function of `sparse-core`, and the input checks the
//! later crates reuse so that every crate words its complaints the same way.

use faer::MatRef;

/// Everything that can go wrong in `sparse-core`. Every variant names the offending argument.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An argument has the wrong shape.
    #[error("shape mismatch for `{argument}`: expected {expected}, found {found}")]
    ShapeMismatch {
        /// Name of the argument.
        argument: &'static str,
        /// The expected shape, in words (`"64 x 10"`, `"nrows == 256"`).
        expected: String,
        /// The shape that was given.
        found: String,
    },
    /// An argument contains NaN or an infinity.
    #[error("`{argument}` contains a non-finite value at (row {row}, column {col})")]
    NonFinite {
        /// Name of the argument.
        argument: &'static str,
        /// Row of the first offending entry.
        row: usize,
        /// Column of the first offending entry.
        col: usize,
    },
    /// A scalar parameter is out of its domain.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParameter {
        /// Name of the parameter.
        name: &'static str,
        /// The given value, formatted.
        value: String,
        /// What was expected, in words.
        expected: String,
    },
    /// An argument is empty (no rows, columns, atoms or signals).
    #[error("`{argument}` is empty: expected {expected}")]
    Empty {
        /// Name of the argument.
        argument: &'static str,
        /// What was expected, in words.
        expected: String,
    },
    /// An atom (column) of a dictionary has zero norm and cannot be normalised.
    #[error("atom {index} of `{argument}` has zero norm and cannot be normalised")]
    ZeroAtom {
        /// Name of the argument.
        argument: &'static str,
        /// Index of the zero column.
        index: usize,
    },
    /// A factorisation or decomposition failed (reported by faer).
    #[error("linear algebra failure in {context}: {message}")]
    LinearAlgebra {
        /// Which computation failed.
        context: &'static str,
        /// faer's description.
        message: String,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on `{path}`: {message}")]
    Io {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// An explicit (dense) form or an allocation was requested for a problem too large to hold
    /// in memory (more than [`MAX_EXPLICIT_ENTRIES`] entries).
    #[error("the explicit `{what}` would have {entries} entries, more than the limit of {limit}")]
    TooLarge {
        /// Which explicit form.
        what: &'static str,
        /// How many entries it would have (saturated at `usize::MAX`).
        entries: usize,
        /// The limit ([`MAX_EXPLICIT_ENTRIES`]).
        limit: usize,
    },
    /// A file was read but its contents are not what was expected.
    #[error("unsupported format in `{path}`: {message}")]
    Format {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
}

/// Result alias for `sparse-core`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// An [`Error::InvalidParameter`]: parameter `name` has `value`, `expected` says what was
/// expected (`"a finite number > 0"`). Generic over the error type so that every crate of the
/// workspace builds its own `Error` (which converts from this one) with the same words.
pub fn invalid<E: From<Error>>(
    name: &'static str,
    value: impl ToString,
    expected: impl Into<String>,
) -> E {
    Error::InvalidParameter {
        name,
        value: value.to_string(),
        expected: expected.into(),
    }
    .into()
}

/// An [`Error::ShapeMismatch`]: `argument` should have `expected` (in words: `"64 x 10"`,
/// `"3 values (one per layer)"`) but has `found`. Generic over the error type, as [`invalid`].
pub fn shape_mismatch<E: From<Error>>(
    argument: &'static str,
    expected: impl Into<String>,
    found: impl Into<String>,
) -> E {
    Error::ShapeMismatch {
        argument,
        expected: expected.into(),
        found: found.into(),
    }
    .into()
}

/// Input checks shared by all crates of the workspace.
pub mod check {
    use super::*;

    /// `Err(NonFinite)` at the first NaN/inf entry of `m`.
    /// Generic over the scalar (`f64`, `f32`: anything that widens to `f64`).
    pub fn finite<T: Copy + Into<f64>>(argument: &'static str, m: MatRef<'_, T>) -> Result<()> {
        let bad_entry = |v: &T| !(*v).into().is_finite();
        for j in 0..m.ncols() {
            let bad = match m.col(j).try_as_col_major() {
                // Contiguous column: a branch-free scan the compiler vectorises (`v * 0` is NaN
                // exactly when `v` is not finite).
                Some(c) => {
                    let c = c.as_slice();
                    if c.iter().fold(0.0, |acc, v| acc + (*v).into() * 0.0) == 0.0 {
                        None
                    } else {
                        c.iter().position(bad_entry)
                    }
                }
                None => m.col(j).iter().position(bad_entry),
            };
            if let Some(row) = bad {
                return Err(Error::NonFinite {
                    argument,
                    row,
                    col: j,
                });
            }
        }
        Ok(())
    }

    /// `Err(NonFinite)` at the first NaN/inf entry of a slice (reported as a column vector).
    pub fn finite_slice(argument: &'static str, x: &[f64]) -> Result<()> {
        match x.iter().position(|v| !v.is_finite()) {
            Some(row) => Err(Error::NonFinite {
                argument,
                row,
                col: 0,
            }),
            None => Ok(()),
        }
    }

    /// `m` must have exactly `nrows` rows.
    pub fn nrows<T>(argument: &'static str, m: MatRef<'_, T>, nrows: usize) -> Result<()> {
        if m.nrows() != nrows {
            return Err(Error::ShapeMismatch {
                argument,
                expected: format!("{nrows} rows"),
                found: format!("{} x {}", m.nrows(), m.ncols()),
            });
        }
        Ok(())
    }

    /// `m` must be exactly `nrows x ncols`.
    pub fn shape<T>(
        argument: &'static str,
        m: MatRef<'_, T>,
        nrows: usize,
        ncols: usize,
    ) -> Result<()> {
        if m.nrows() != nrows || m.ncols() != ncols {
            return Err(Error::ShapeMismatch {
                argument,
                expected: format!("{nrows} x {ncols}"),
                found: format!("{} x {}", m.nrows(), m.ncols()),
            });
        }
        Ok(())
    }

    /// A batch must hold at least one signal (column) of at least one entry.
    pub fn non_empty<T>(argument: &'static str, m: MatRef<'_, T>) -> Result<()> {
        if m.ncols() == 0 || m.nrows() == 0 {
            return Err(Error::Empty {
                argument,
                expected: "at least one row and one column".into(),
            });
        }
        Ok(())
    }

    /// A batch of signals: non-empty, `nrows` rows, all entries finite.
    pub fn batch<T: Copy + Into<f64>>(
        argument: &'static str,
        m: MatRef<'_, T>,
        nrows: usize,
    ) -> Result<()> {
        non_empty(argument, m)?;
        self::nrows(argument, m, nrows)?;
        finite(argument, m)
    }

    /// `value > 0` and finite.
    pub fn positive(name: &'static str, value: f64) -> Result<()> {
        if !(value.is_finite() && value > 0.0) {
            return Err(Error::InvalidParameter {
                name,
                value: format!("{value}"),
                expected: "a finite number > 0".into(),
            });
        }
        Ok(())
    }

    /// `value >= 0` and finite.
    pub fn non_negative(name: &'static str, value: f64) -> Result<()> {
        if !(value.is_finite() && value >= 0.0) {
            return Err(Error::InvalidParameter {
                name,
                value: format!("{value}"),
                expected: "a finite number >= 0".into(),
            });
        }
        Ok(())
    }

    /// A precomputed Gram matrix `G = D^T D` of a dictionary with `m` unit-norm atoms, checked
    /// in `O(m^2 + n m)`: shape `m x m`, finite entries, symmetric and with unit diagonal up to
    /// [`GRAM_TOL`], entries of magnitude at most `1 + GRAM_TOL`, and, when the atoms (`n x m`)
    /// are given, two entries per column equal to the inner products of the atoms up to
    /// [`GRAM_TOL`] (a spot check that catches the Gram of another dictionary).
    pub fn gram(
        argument: &'static str,
        g: MatRef<'_, f64>,
        m: usize,
        atoms: Option<MatRef<'_, f64>>,
    ) -> Result<()> {
        shape(argument, g, m, m)?;
        finite(argument, g)?;
        let bad = |what: String, expected: &str| Error::InvalidParameter {
            name: argument,
            value: what,
            expected: expected.into(),
        };
        for j in 0..m {
            let gjj = g[(j, j)];
            if (gjj - 1.0).abs() > GRAM_TOL {
                return Err(bad(
                    format!("diagonal entry ({j}, {j}) = {gjj}"),
                    "the Gram matrix D^T D of unit-norm atoms (unit diagonal)",
                ));
            }
            for i in 0..j {
                let (a, b) = (g[(i, j)], g[(j, i)]);
                if (a - b).abs() > GRAM_TOL || a.abs() > 1.0 + GRAM_TOL {
                    return Err(bad(
                        format!("entries ({i}, {j}) = {a} and ({j}, {i}) = {b}"),
                        "the Gram matrix D^T D of unit-norm atoms (symmetric, entries in [-1, 1])",
                    ));
                }
            }
        }
        if let Some(d) = atoms {
            if m > 1 {
                for j in 0..m {
                    for i in [(j + 1) % m, (j * 7 + 3) % m] {
                        let exact: f64 = d
                            .col(i)
                            .iter()
                            .zip(d.col(j).iter())
                            .map(|(a, b)| a * b)
                            .sum();
                        if (g[(i, j)] - exact).abs() > GRAM_TOL {
                            return Err(bad(
                                format!("entry ({i}, {j}) = {} where D^T D has {exact}", g[(i, j)]),
                                "the Gram matrix D^T D of this dictionary",
                            ));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// The product of the sizes `factors` (the number of entries of an array they describe),
    /// checked: `Err(InvalidParameter)` naming `name` when it overflows or exceeds
    /// [`MAX_ENTRIES`] (the most `f64` or complex entries one allocation can hold), so that size
    /// arithmetic from user numbers never wraps around or panics.
    pub fn size(name: &'static str, factors: &[usize]) -> Result<usize> {
        let product = factors
            .iter()
            .try_fold(1usize, |p, &f| p.checked_mul(f))
            .filter(|&p| p <= MAX_ENTRIES);
        product.ok_or_else(|| Error::InvalidParameter {
            name,
            value: factors
                .iter()
                .map(|f| f.to_string())
                .collect::<Vec<_>>()
                .join(" x "),
            expected: format!(
                "sizes whose product (the number of entries) is at most {MAX_ENTRIES}"
            ),
        })
    }

    /// `lo <= value <= hi`.
    pub fn in_range(name: &'static str, value: f64, lo: f64, hi: f64) -> Result<()> {
        if !(value.is_finite() && value >= lo && value <= hi) {
            return Err(Error::InvalidParameter {
                name,
                value: format!("{value}"),
                expected: format!("a number in [{lo}, {hi}]"),
            });
        }
        Ok(())
    }

    /// `1 <= value <= max`.
    pub fn count(name: &'static str, value: usize, max: usize) -> Result<()> {
        if value == 0 || value > max {
            return Err(Error::InvalidParameter {
                name,
                value: format!("{value}"),
                expected: if max == usize::MAX {
                    "a positive integer".into()
                } else {
                    format!("an integer in 1..={max}")
                },
            });
        }
        Ok(())
    }
}

/// The largest number of entries of one array built from user-given sizes ([`check::size`]):
/// `2^59`, so that a complex (16-byte) array of that many entries still has a byte size below
/// `isize::MAX`.
pub const MAX_ENTRIES: usize = 1 << 59;

/// Tolerance of [`check::gram`] on the entries of a precomputed Gram matrix.
pub const GRAM_TOL: f64 = 1e-6;

/// The largest number of entries an explicit (dense) form built by the workspace may have
/// (`2^26`, 512 MiB of `f64`): the global convolutional dictionary, the stripe dictionary, the
/// effective dictionaries of the multi-layer model. Their fast operators have no such limit.
pub const MAX_EXPLICIT_ENTRIES: usize = 1 << 26;

/// `Err(`[`Error::TooLarge`]`)` when a `rows x cols` explicit form would exceed
/// [`MAX_EXPLICIT_ENTRIES`] (the product saturates instead of overflowing).
pub fn guard_explicit(what: &'static str, rows: usize, cols: usize) -> Result<()> {
    let entries = rows.saturating_mul(cols);
    if entries > MAX_EXPLICIT_ENTRIES {
        return Err(Error::TooLarge {
            what,
            entries,
            limit: MAX_EXPLICIT_ENTRIES,
        });
    }
    Ok(())
}
