//! Explicit (dense) forms of the convolutional model for small sizes: the global dictionary
//! `D = [C_1 ... C_m]`, the stripe dictionary `Omega` and the stripe vectors `S_p Gamma`
//! (Papyan, Sulam & Elad 2017, "Working locally, thinking globally", section "CSC in matrix
//! form"). They exist to check the fast operators and to feed the dense theorems.

use faer::Mat;
use sparse_core::Dictionary;

use crate::dictionary::ConvDictionary;
use crate::error::{invalid, Result};
use crate::local::check_code;
use crate::operator::ConvOperator;

use sparse_core::error::guard_explicit as guard;
pub use sparse_core::error::MAX_EXPLICIT_ENTRIES;

impl ConvOperator {
    /// The global dictionary `D` as a dense `N C x N m` matrix (`N m C` columns for a
    /// single-channel dictionary on `C` channels): column `map * N + q` is filter `map mod m`
    /// placed at position `q` (covering `q, ..., q + n - 1` mod `N` along each axis), the same
    /// [`sparse_core::CodeOrder::FilterMajor`] layout as the operator's codes.
    ///
    /// Errors with [`sparse_core::Error::TooLarge`] beyond [`MAX_EXPLICIT_ENTRIES`].
    pub fn global_matrix(&self) -> Result<Mat<f64>> {
        let (nr, nc) = (self.signal_len(), self.code_len());
        guard("global dictionary", nr, nc)?;
        let g = self.signal_grid();
        let fg = self.dictionary().filter_grid();
        let d = self.dictionary();
        let (n, m, cd) = (self.n(), d.n_filters(), d.channels());
        let mut out = Mat::<f64>::zeros(nr, nc);
        for map in 0..self.n_maps() {
            let i = map % m;
            for qc in 0..g.cols {
                for qr in 0..g.rows {
                    let col = map * n + qr + g.rows * qc;
                    for c in 0..cd {
                        let sig_ch = if cd == 1 { map / m } else { c };
                        let f = d.filter_channel(i, c);
                        for b in 0..fg.cols {
                            for a in 0..fg.rows {
                                let r = (qr + a) % g.rows + g.rows * ((qc + b) % g.cols);
                                out[(sig_ch * n + r, col)] += f[a + fg.rows * b];
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    /// The global dictionary as a [`Dictionary`] (its atoms already have unit norm).
    pub fn global_dictionary(&self) -> Result<Dictionary> {
        Ok(Dictionary::from_matrix(self.global_matrix()?.as_ref())?)
    }

    /// The stripe vector `gamma_p = S_p Gamma` of the code `gamma` at position `p = (pr, pc)`:
    /// the coefficients of every filter at the `(2 n_h - 1)(2 n_w - 1)` positions
    /// `p + s`, `s in [-(n_h - 1), n_h - 1] x [-(n_w - 1), n_w - 1]` (mod the grid), ordered as
    /// the columns of [`ConvDictionary::stripe_dictionary`], so that the patch of the signal at
    /// `p` is `P_p D Gamma = Omega gamma_p`. For a single-channel dictionary on several channels
    /// `channel` selects the code channel (otherwise it must be 0).
    pub fn stripe(
        &self,
        gamma: &[f64],
        position: (usize, usize),
        channel: usize,
    ) -> Result<Vec<f64>> {
        check_code(self, gamma)?;
        let g = self.signal_grid();
        if position.0 >= g.rows || position.1 >= g.cols {
            return Err(invalid(
                "position",
                format!("{position:?}"),
                format!("a position inside the {g} grid"),
            ));
        }
        if channel >= self.code_channels() {
            return Err(invalid(
                "channel",
                channel,
                format!("a code channel < {}", self.code_channels()),
            ));
        }
        let fg = self.dictionary().filter_grid();
        let m = self.dictionary().n_filters();
        let (wr, wc) = (2 * fg.rows - 1, 2 * fg.cols - 1);
        let n = self.n();
        let mut out = vec![0.0; wr * wc * m];
        for sc in 0..wc {
            for sr in 0..wr {
                let r = (position.0 + g.rows * wr + sr - (fg.rows - 1)) % g.rows;
                let c = (position.1 + g.cols * wc + sc - (fg.cols - 1)) % g.cols;
                for i in 0..m {
                    let map = channel * m + i;
                    out[(sr + wr * sc) * m + i] = gamma[map * n + r + g.rows * c];
                }
            }
        }
        Ok(out)
    }
}

impl ConvDictionary {
    /// The stripe dictionary `Omega` (`n_h n_w C x (2 n_h - 1)(2 n_w - 1) m`): column
    /// `(sr + (2 n_h - 1) sc) m + i` is filter `i` shifted by `(sr - n_h + 1, sc - n_w + 1)` and
    /// cropped to the `n_h x n_w` patch window, so that every patch of a signal is `Omega` times
    /// its stripe vector ([`ConvOperator::stripe`]). In 1-D this is the familiar
    /// `n x (2n - 1) m` stripe dictionary.
    pub fn stripe_dictionary(&self) -> Result<Mat<f64>> {
        let fg = self.filter_grid();
        let (m, cd) = (self.n_filters(), self.channels());
        let (wr, wc) = (2 * fg.rows - 1, 2 * fg.cols - 1);
        let nr = self.filter_len();
        guard("stripe dictionary", nr, wr * wc * m)?;
        let mut out = Mat::<f64>::zeros(nr, wr * wc * m);
        for sc in 0..wc {
            for sr in 0..wr {
                for i in 0..m {
                    let col = (sr + wr * sc) * m + i;
                    for c in 0..cd {
                        let f = self.filter_channel(i, c);
                        for b in 0..fg.cols {
                            // Filter column index b - (sc - (n_w - 1)).
                            let fb = b + fg.cols - 1;
                            if fb < sc || fb - sc >= fg.cols {
                                continue;
                            }
                            let fb = fb - sc;
                            for a in 0..fg.rows {
                                let fa = a + fg.rows - 1;
                                if fa < sr || fa - sr >= fg.rows {
                                    continue;
                                }
                                let fa = fa - sr;
                                out[(c * fg.len() + a + fg.rows * b, col)] = f[fa + fg.rows * fb];
                            }
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}
