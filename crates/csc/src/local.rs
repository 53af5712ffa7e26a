//! Local quantities of the convolutional model (Papyan, Sulam & Elad 2017, "Working locally,
//! thinking globally"): the stripe norm `||Gamma||_{0,inf}`, the patch norm `||E||_{2,inf}` and
//! the mutual coherence of the global dictionary computed from the filters' cross-correlations;
//! random codes of bounded stripe norm.
//!
//! In 1-D with one channel these delegate to [`sparse_core::ConvLayout`]; the 2-D (and
//! multi-channel) analogues live here. A patch is an `n_h x n_w` window (all channels) of the
//! signal, a stripe the `(2 n_h - 1) x (2 n_w - 1)` window of code positions (all filters) whose
//! atoms overlap that patch.

use rand::Rng;
use sparse_core::{check, ConvLayout};

use crate::error::{invalid, shape_mismatch, Result};
use crate::operator::ConvOperator;

pub(crate) fn check_code(op: &ConvOperator, gamma: &[f64]) -> Result<()> {
    if gamma.len() != op.code_len() {
        return Err(shape_mismatch(
            "gamma",
            format!("a code of length {}", op.code_len()),
            format!("length {}", gamma.len()),
        ));
    }
    Ok(())
}

/// `out[r, c] = sum_{a < wr, b < wc} v[(r + off_r + a) mod rows, (c + off_c + b) mod cols]`,
/// where `off_r`, `off_c` are given modulo the grid. Separable: rows first, then columns.
fn circular_box_sum(
    v: &[f64],
    (rows, cols): (usize, usize),
    (off_r, wr): (usize, usize),
    (off_c, wc): (usize, usize),
) -> Vec<f64> {
    let mut tmp = vec![0.0; rows * cols];
    for c in 0..cols {
        let col = &v[c * rows..(c + 1) * rows];
        for r in 0..rows {
            tmp[r + rows * c] = (0..wr).map(|a| col[(r + off_r + a) % rows]).sum();
        }
    }
    let mut out = vec![0.0; rows * cols];
    for c in 0..cols {
        for b in 0..wc {
            let src = (c + off_c + b) % cols;
            for r in 0..rows {
                out[r + rows * c] += tmp[r + rows * src];
            }
        }
    }
    out
}

impl ConvOperator {
    /// The 1-D layout of `sparse-core` when the operator is 1-D with one code channel.
    pub fn layout_1d(&self) -> Option<ConvLayout> {
        let g = self.signal_grid();
        let fg = self.dictionary().filter_grid();
        if g.is_1d() && fg.is_1d() && self.code_channels() == 1 {
            ConvLayout::new(g.rows, self.dictionary().n_filters(), fg.rows).ok()
        } else {
            None
        }
    }

    /// Non-zeros (`|g| > tol`) of every stripe: entry `k N + p` is `||S_p Gamma_k||_0` for code
    /// channel `k` and position `p` (column-major).
    pub fn stripe_counts(&self, gamma: &[f64], tol: f64) -> Result<Vec<usize>> {
        check_code(self, gamma)?;
        if let Some(layout) = self.layout_1d() {
            return Ok(layout.stripe_counts(gamma, tol)?);
        }
        let g = self.signal_grid();
        let fg = self.dictionary().filter_grid();
        let (n, m) = (self.n(), self.dictionary().n_filters());
        let wr = (2 * fg.rows - 1).min(g.rows);
        let wc = (2 * fg.cols - 1).min(g.cols);
        let off_r = g.rows - (fg.rows - 1) % g.rows;
        let off_c = g.cols - (fg.cols - 1) % g.cols;
        let mut out = Vec::with_capacity(n * self.code_channels());
        for k in 0..self.code_channels() {
            let mut counts = vec![0.0; n];
            for i in 0..m {
                let map = &gamma[(k * m + i) * n..(k * m + i + 1) * n];
                for (c, v) in counts.iter_mut().zip(map) {
                    if v.abs() > tol {
                        *c += 1.0;
                    }
                }
            }
            let s = circular_box_sum(&counts, (g.rows, g.cols), (off_r, wr), (off_c, wc));
            out.extend(s.into_iter().map(|v| v.round() as usize));
        }
        Ok(out)
    }

    /// The stripe norm `||Gamma||_{0,inf} = max_p ||S_p Gamma||_0`: the largest number of
    /// non-zeros (`|g| > tol`) in any stripe (the maximum over code channels for a
    /// single-channel dictionary on several channels).
    pub fn l0_inf(&self, gamma: &[f64], tol: f64) -> Result<usize> {
        Ok(self
            .stripe_counts(gamma, tol)?
            .into_iter()
            .max()
            .unwrap_or(0))
    }

    /// The patch norm `||E||_{2,inf} = max_p ||P_p E||_2` of a signal `e` (length `N C`), where
    /// `P_p` extracts the `n_h x n_w` window at `p, ..., p + n - 1` (mod the grid) of every
    /// channel of a multi-channel dictionary; for a single-channel dictionary on several
    /// channels, patches are taken channel by channel (each channel is its own CSC problem).
    pub fn l2_inf(&self, e: &[f64]) -> Result<f64> {
        if e.len() != self.signal_len() {
            return Err(shape_mismatch(
                "e",
                format!("a signal of length {}", self.signal_len()),
                format!("length {}", e.len()),
            ));
        }
        if let Some(layout) = self.layout_1d() {
            return Ok(layout.l2_inf(e)?);
        }
        let g = self.signal_grid();
        let fg = self.dictionary().filter_grid();
        let n = self.n();
        let sq: Vec<f64> = e.iter().map(|v| v * v).collect();
        let joint = self.dictionary().channels() > 1;
        let mut best = 0.0f64;
        let mut acc = vec![0.0; n];
        for c in 0..self.channels() {
            let s = circular_box_sum(
                &sq[c * n..(c + 1) * n],
                (g.rows, g.cols),
                (0, fg.rows),
                (0, fg.cols),
            );
            if joint {
                acc.iter_mut().zip(&s).for_each(|(a, v)| *a += v);
            } else {
                best = best.max(s.into_iter().fold(0.0, f64::max));
            }
        }
        if joint {
            best = acc.into_iter().fold(0.0, f64::max);
        }
        Ok(best.max(0.0).sqrt())
    }

    /// A random code whose every stripe holds at most `s` non-zeros, `||Gamma||_{0,inf} <= s`
    /// (1-D, one code channel): the code positions (all filters) are visited in a random order
    /// and each gets a non-zero, of random sign and magnitude uniform in `[contrast, 1]`, when
    /// every stripe covering its position still holds fewer than `s`. The result is maximal:
    /// no zero entry can be made non-zero without a stripe exceeding `s`. The codes of the
    /// local CSC theorems (Papyan, Sulam & Elad 2017, Theorems 5-6: OMP and BP succeed when
    /// `||Gamma||_{0,inf} < (1 + 1/mu) / 2`), whose global sparsity `||Gamma||_0` can be far
    /// above the global bound.
    ///
    /// Errors: a 2-D or multi-channel operator (`op`), `s == 0`, `contrast` outside `(0, 1]`.
    pub fn random_stripe_code<R: Rng + ?Sized>(
        &self,
        s: usize,
        contrast: f64,
        rng: &mut R,
    ) -> Result<Vec<f64>> {
        if self.layout_1d().is_none() {
            return Err(invalid(
                "op",
                "a 2-D or multi-channel operator",
                "a 1-D operator with one code channel",
            ));
        }
        check::count("s", s, usize::MAX)?;
        if !(contrast > 0.0 && contrast <= 1.0) {
            return Err(invalid("contrast", contrast, "a number in (0, 1]"));
        }
        let (nn, m) = (self.n(), self.dictionary().n_filters());
        let w = 2 * self.dictionary().filter_grid().rows - 1;
        let mut counts = vec![0usize; nn];
        let mut g = vec![0.0; nn * m];
        let mut cand: Vec<usize> = (0..nn * m).collect();
        for i in (1..cand.len()).rev() {
            cand.swap(i, rng.random_range(0..=i));
        }
        for c in cand {
            let p = c % nn;
            // Every window of `w` positions that contains `p` (the stripes covering `p`).
            let fits = (0..w).all(|o| {
                (0..w)
                    .map(|t| counts[(p + w * nn - o + t) % nn])
                    .sum::<usize>()
                    < s
            });
            if fits {
                counts[p] += 1;
                let mag = rng.random_range(contrast..=1.0);
                g[c] = if rng.random::<bool>() { mag } else { -mag };
            }
        }
        Ok(g)
    }

    /// Mutual coherence of the global dictionary, `max |<a, b>|` over pairs of distinct atoms,
    /// computed from the circular cross-correlations of every pair of filters at every shift
    /// where they overlap: `O(m^2 n^2 C)` work, without forming `D^T D`. Equals
    /// `Dictionary::from_matrix(global).coherence()` (0 when the dictionary has a single atom).
    pub fn coherence(&self) -> f64 {
        let g = self.signal_grid();
        let fg = self.dictionary().filter_grid();
        let d = self.dictionary();
        let (m, cd) = (d.n_filters(), d.channels());
        let shifts = |len: usize, n: usize| {
            let mut s: Vec<usize> = (0..2 * n - 1)
                .map(|k| (k + len * n - (n - 1)) % len)
                .collect();
            s.sort_unstable();
            s.dedup();
            s
        };
        let (sr, sc) = (shifts(g.rows, fg.rows), shifts(g.cols, fg.cols));
        let mut mu = 0.0f64;
        for i in 0..m {
            for j in i..m {
                for &tc in &sc {
                    for &tr in &sr {
                        if i == j && tr == 0 && tc == 0 {
                            continue;
                        }
                        // <d_i, d_j shifted by (tr, tc)>: d_j sample (a, b) lands on
                        // ((a + tr) mod rows, (b + tc) mod cols).
                        let mut ip = 0.0;
                        for c in 0..cd {
                            let (fi, fj) = (d.filter_channel(i, c), d.filter_channel(j, c));
                            for b in 0..fg.cols {
                                let bi = (b + tc) % g.cols;
                                if bi >= fg.cols {
                                    continue;
                                }
                                for a in 0..fg.rows {
                                    let ai = (a + tr) % g.rows;
                                    if ai < fg.rows {
                                        ip += fi[ai + fg.rows * bi] * fj[a + fg.rows * b];
                                    }
                                }
                            }
                        }
                        mu = mu.max(ip.abs());
                    }
                }
            }
        }
        mu
    }
}
