//! Batch convolutional dictionary learning in memory that does not grow with the number of
//! training signals: [`ConvDictLearn::learn_streaming`] (the problem and the dictionary update
//! of [`ConvDictLearn`], Wohlberg 2016; the frequency-domain sufficient statistics of Liu,
//! Garcia-Cardona, Wohlberg & Yin 2018, "First- and second-order methods for online
//! convolutional dictionary learning", used here for a full batch pass).
//!
//! The constrained-MOD update only needs, at every frequency `w`, the Gram matrix
//! `A(w) = sum_j conj(x_j(w)) x_j(w)^T` (`m x m`) of the code spectra and the vectors
//! `b_c(w) = sum_j conj(x_j(w)) s_{j,c}(w)` ([`CodeStatistics`]). They are accumulated one
//! batch of signals at a time — code it, add its statistics, drop its codes — so a learning
//! pass holds the statistics (`f m (m + 1) / 2` complex numbers for `f` frequencies) and one
//! batch, whatever the number of signals. Then the ADMM of the update runs on
//! `(A(w) + sigma I) d(w) = b(w) + sigma (g - h)(w)`, factorised once per update by Cholesky
//! at every frequency. This is SPORCO's memory failure (issue #1: `ConvBPDNDictLearn` on 100
//! images of 720 x 480 holds every code and spectrum at once) avoided by construction.
//!
//! Unlike [`ConvDictLearn::learn`], every pass codes the signals from zero (there are no stored
//! codes to warm-start from).

use faer::{Mat, MatRef, Side};
use rayon::prelude::*;
use sparse_core::check;

use crate::dictionary::{ConvDictionary, Grid};
use crate::error::{invalid, shape_mismatch, Result};
use crate::fft::{Cx, Fft2d, C64};
use crate::float::Float;
use crate::learn::ConvDictLearn;
use crate::operator::ConvOperator;
use crate::solve::Cbpdn;
use crate::Solve;

/// The frequency-domain sufficient statistics of a set of coded signals (see the
/// [module docs](self)): per frequency, the packed lower triangle of `A(w)` and `b(w)`.
#[derive(Debug, Clone)]
pub struct CodeStatistics {
    signal: Grid,
    channels: usize,
    m: usize,
    cd: usize,
    f: usize,
    /// `A(w)[i][l]`, `l <= i`, at `w * P + i (i + 1) / 2 + l`.
    gram: Vec<C64>,
    /// `b_c(w)[i]` at `w * cd m + c m + i`.
    rhs: Vec<C64>,
    signals: usize,
}

impl CodeStatistics {
    /// Empty statistics for codes over `dict` on signals of `signal` samples and `channels`
    /// channels.
    pub fn new(dict: &ConvDictionary, signal: Grid, channels: usize) -> Result<Self> {
        let op = dict.operator_with_channels(signal, channels)?;
        let f = op.spectra().fft.spectrum_len();
        let m = dict.n_filters();
        let cd = dict.channels();
        let p = m * (m + 1) / 2;
        let len = check::size("statistics", &[f, p])?;
        Ok(Self {
            signal,
            channels,
            m,
            cd,
            f,
            gram: vec![C64::default(); len],
            rhs: vec![C64::default(); f * cd * m],
            signals: 0,
        })
    }

    /// Bytes held by the statistics.
    pub fn bytes(&self) -> usize {
        (self.gram.len() + self.rhs.len()) * std::mem::size_of::<C64>()
    }

    /// Signals accumulated so far.
    pub fn signals(&self) -> usize {
        self.signals
    }

    /// Adds the statistics of the signals `y` (`N C x b`) and their codes `codes`
    /// (`code_len x b`) over the operator `op` (of the dictionary the statistics were made
    /// for). In the precision of `y` and `codes` (`f64` or `f32`): the spectra and their
    /// products are computed in it, the statistics accumulate in `f64` (they sum over every
    /// training signal).
    pub fn accumulate<T: Float>(
        &mut self,
        op: &ConvOperator,
        y: MatRef<'_, T>,
        codes: MatRef<'_, T>,
    ) -> Result<()> {
        if op.signal_grid() != self.signal
            || op.channels() != self.channels
            || op.dictionary().n_filters() != self.m
            || op.dictionary().channels() != self.cd
        {
            return Err(invalid(
                "op",
                "another geometry",
                "the operator the statistics were made for",
            ));
        }
        check::batch("y", y, op.signal_len())?;
        check::shape("codes", codes, op.code_len(), y.ncols())?;
        check::finite("codes", codes)?;
        let (m, cd, f) = (self.m, self.cd, self.f);
        let n = op.n();
        let cx = op.code_channels();
        let fft = Fft2d::<T>::new(self.signal.rows, self.signal.cols);
        let nj = y.ncols() * cx;
        // Natural-layout spectra: code maps j m + i, targets j cd + c.
        let spectra =
            |count: usize, at: &(dyn Fn(usize) -> (usize, usize) + Sync), src: MatRef<'_, T>| {
                let mut out = vec![Cx::<T>::default(); count * f];
                out.par_chunks_mut(f).enumerate().for_each_init(
                    || (fft.scratch(), vec![T::zero(); n]),
                    |(s, buf), (q, o)| {
                        let (col, off) = at(q);
                        let c = src.col(col);
                        for (p, b) in buf.iter_mut().enumerate() {
                            *b = c[off + p];
                        }
                        fft.forward(buf, o, s);
                    },
                );
                out
            };
        let samples = crate::learn::Samples::new(op, y.ncols());
        let xs = spectra(nj * m, &|q| samples.code(q), codes);
        let ss = spectra(nj * cd, &|q| samples.target(q), y);
        let p = m * (m + 1) / 2;
        self.gram
            .par_chunks_mut(p)
            .zip(self.rhs.par_chunks_mut(cd * m))
            .enumerate()
            .for_each_init(
                || vec![C64::default(); m],
                |v, (w, (a, b))| {
                    for j in 0..nj {
                        for (i, vi) in v.iter_mut().enumerate() {
                            let x = xs[(j * m + i) * f + w];
                            *vi = C64::new(x.re.wide(), x.im.wide());
                        }
                        let mut at = 0;
                        for i in 0..m {
                            let ci = v[i].conj();
                            for (aa, vl) in a[at..at + i + 1].iter_mut().zip(&v[..=i]) {
                                *aa += ci * vl;
                            }
                            at += i + 1;
                        }
                        for c in 0..cd {
                            let sv = ss[(j * cd + c) * f + w];
                            let s = C64::new(sv.re.wide(), sv.im.wide());
                            for (bb, vi) in b[c * m..(c + 1) * m].iter_mut().zip(v.iter()) {
                                *bb += vi.conj() * s;
                            }
                        }
                    }
                },
            );
        self.signals += y.ncols();
        Ok(())
    }

    /// Adds statistics made for the same geometry (e.g. by another worker).
    pub fn merge(&mut self, other: &CodeStatistics) -> Result<()> {
        if (other.signal, other.channels, other.m, other.cd)
            != (self.signal, self.channels, self.m, self.cd)
        {
            return Err(invalid(
                "other",
                "another geometry",
                "statistics of the same geometry",
            ));
        }
        self.gram
            .iter_mut()
            .zip(&other.gram)
            .for_each(|(a, b)| *a += b);
        self.rhs
            .iter_mut()
            .zip(&other.rhs)
            .for_each(|(a, b)| *a += b);
        self.signals += other.signals;
        Ok(())
    }
}

/// What [`ConvDictLearn::learn_streaming`] returns.
#[derive(Debug, Clone)]
pub struct StreamingLearnResult {
    /// The learned dictionary.
    pub dictionary: ConvDictionary,
    /// `sum_k 1/2 ||y_k - D x_k||^2 + lambda ||x_k||_1` of every pass (at the dictionary the
    /// pass coded with; the last entry is for the returned dictionary).
    pub objective: Vec<f64>,
    /// Bytes of the statistics (the memory that does not depend on the number of signals).
    pub statistics_bytes: usize,
}

impl ConvDictLearn {
    /// Batch learning over `batches` batches of training signals delivered by `fetch(k)`
    /// (`N C x b_k` each; called once per batch and pass, so the signals need not be held),
    /// in memory independent of their number (see the [module docs](crate::stream)).
    /// `iterations` passes, each coding every batch by [`Cbpdn`] (`coding_iter` iterations,
    /// from zero) and then updating the filters from the statistics (`dict_iter` ADMM
    /// iterations, `sigma`). `observer(pass, functional)` sees each pass's functional.
    /// The batches' precision `T` (`f64` or `f32`) is the coding's; the statistics and the
    /// update are `f64`.
    pub fn learn_streaming<T: Float, F>(
        &self,
        init: &ConvDictionary,
        signal: Grid,
        channels: usize,
        batches: usize,
        mut fetch: F,
        mut observer: impl FnMut(usize, f64),
    ) -> Result<StreamingLearnResult>
    where
        F: FnMut(usize) -> Result<Mat<T>>,
    {
        check::count("batches", batches, usize::MAX)?;
        let coder = Cbpdn::new(self.lambda)
            .max_iter(self.coding_iter)
            .par(self.par);
        let mut dict = init.clone();
        let mut objective = Vec::with_capacity(self.iterations + 1);
        let mut bytes = 0;
        for it in 0..=self.iterations {
            let op = dict.operator_with_channels(signal, channels)?;
            let mut stats = CodeStatistics::new(&dict, signal, channels)?;
            bytes = stats.bytes();
            let mut total = 0.0;
            for k in 0..batches {
                let y = fetch(k)?;
                let codes = coder.solve(&op, y.as_ref())?.codes;
                total += self.objective(&op, y.as_ref(), codes.as_ref())?;
                if it < self.iterations {
                    stats.accumulate(&op, y.as_ref(), codes.as_ref())?;
                }
            }
            objective.push(total);
            observer(it, total);
            if it == self.iterations {
                break;
            }
            dict = self.update_owned(&dict, stats)?;
        }
        Ok(StreamingLearnResult {
            dictionary: dict,
            objective,
            statistics_bytes: bytes,
        })
    }

    /// The dictionary update of [`ConvDictLearn::update_dictionary`] (`dict_iter` ADMM
    /// iterations from `dict`, penalty `sigma` or the mean diagonal of `A`) from accumulated
    /// statistics, by a Cholesky factorisation of `A(w) + sigma I` at every frequency.
    /// (`stats` is copied: [`learn_streaming`](Self::learn_streaming) factorises its own
    /// statistics in place.)
    pub fn update_from_statistics(
        &self,
        dict: &ConvDictionary,
        stats: &CodeStatistics,
    ) -> Result<ConvDictionary> {
        self.update_owned(dict, stats.clone())
    }

    fn update_owned(
        &self,
        dict: &ConvDictionary,
        mut stats: CodeStatistics,
    ) -> Result<ConvDictionary> {
        if (stats.m, stats.cd) != (dict.n_filters(), dict.channels()) {
            return Err(shape_mismatch(
                "stats",
                format!("{} filters, {} channels", dict.n_filters(), dict.channels()),
                format!("{} filters, {} channels", stats.m, stats.cd),
            ));
        }
        if let Some(s) = self.sigma {
            check::positive("sigma", s)?;
        }
        let (m, cd, f) = (stats.m, stats.cd, stats.f);
        let p = m * (m + 1) / 2;
        let signal = stats.signal;
        let (rows, n) = (signal.rows, signal.len());
        let fft = Fft2d::new(signal.rows, signal.cols);
        let sigma = self.sigma.unwrap_or_else(|| {
            // The trace of A summed over the frequencies: the batch update's `sum |X|^2 / (m f)`.
            let mut total = 0.0;
            for w in 0..f {
                let a = &stats.gram[w * p..(w + 1) * p];
                let mut at = 0;
                for i in 0..m {
                    at += i;
                    total += a[at].re;
                    at += 1;
                }
            }
            (total / (m * f) as f64).max(1e-8)
        });
        // L(w), packed like A, in place of A.
        let failed = stats
            .gram
            .par_chunks_mut(p)
            .map(|a| {
                let full = faer::Mat::<faer::c64>::from_fn(m, m, |i, k| {
                    let (r, c, conj) = if k <= i { (i, k, false) } else { (k, i, true) };
                    let v = a[r * (r + 1) / 2 + c];
                    let v = faer::c64::new(v.re, if conj { -v.im } else { v.im });
                    if i == k {
                        v + faer::c64::new(sigma, 0.0)
                    } else {
                        v
                    }
                });
                match full.llt(Side::Lower) {
                    Ok(llt) => {
                        let lm = llt.L();
                        let mut at = 0;
                        for i in 0..m {
                            for k in 0..=i {
                                let v = lm[(i, k)];
                                a[at] = C64::new(v.re, v.im);
                                at += 1;
                            }
                        }
                        0usize
                    }
                    Err(_) => 1,
                }
            })
            .sum::<usize>();
        if failed > 0 {
            return Err(invalid(
                "stats",
                "a Gram matrix that is not positive definite",
                "finite statistics",
            ));
        }
        let fg = dict.filter_grid();
        let maps = cd * m;
        let mut g = crate::learn::zpad_filters(dict, signal);
        let mut h = vec![0.0; maps * n];
        let mut d = vec![0.0; maps * n];
        let mut spec = vec![C64::default(); maps * f];
        let mut t = vec![C64::default(); maps * f];
        let inv_n = 1.0 / n as f64;
        for _ in 0..self.dict_iter {
            // spec = FFT(g - h), map-major; t = b + sigma spec, frequency-major.
            spec.par_chunks_mut(f)
                .zip(g.par_chunks(n).zip(h.par_chunks(n)))
                .for_each_init(
                    || (fft.scratch(), vec![0.0; n]),
                    |(s, buf), (o, (gm, hm))| {
                        for ((b, gv), hv) in buf.iter_mut().zip(gm).zip(hm) {
                            *b = gv - hv;
                        }
                        fft.forward(buf, o, s);
                    },
                );
            t.par_chunks_mut(maps).enumerate().for_each(|(w, tw)| {
                for (q, tv) in tw.iter_mut().enumerate() {
                    *tv = stats.rhs[w * maps + q] + spec[q * f + w] * sigma;
                }
                let l = &stats.gram[w * p..(w + 1) * p];
                for c in 0..cd {
                    solve_packed(l, &mut tw[c * m..(c + 1) * m]);
                }
            });
            spec.par_chunks_mut(f).enumerate().for_each(|(q, o)| {
                for (w, v) in o.iter_mut().enumerate() {
                    *v = t[w * maps + q];
                }
            });
            d.par_chunks_mut(n)
                .zip(spec.par_chunks_mut(f))
                .for_each_init(|| fft.scratch(), |s, (dm, o)| fft.inverse(o, dm, inv_n, s));
            // g = P(d + h); h = h + d - g.
            for i in 0..m {
                let mut nrm = 0.0;
                for c in 0..cd {
                    let q = c * m + i;
                    for b in 0..fg.cols {
                        for a in 0..fg.rows {
                            let k = q * n + a + rows * b;
                            nrm += (d[k] + h[k]) * (d[k] + h[k]);
                        }
                    }
                }
                let nrm = nrm.sqrt();
                if nrm == 0.0 {
                    continue; // keep the previous filter rather than a zero one
                }
                for c in 0..cd {
                    let q = c * m + i;
                    let gm = &mut g[q * n..(q + 1) * n];
                    gm.iter_mut().for_each(|v| *v = 0.0);
                    for b in 0..fg.cols {
                        for a in 0..fg.rows {
                            let k = a + rows * b;
                            gm[k] = (d[q * n + k] + h[q * n + k]) / nrm;
                        }
                    }
                }
            }
            for ((hv, dv), gv) in h.iter_mut().zip(&d).zip(&g) {
                *hv += dv - gv;
            }
        }
        let filters = Mat::from_fn(fg.len() * cd, m, |r, i| {
            let (c, k) = (r / fg.len(), r % fg.len());
            let (a, b) = (k % fg.rows, k / fg.rows);
            g[(c * m + i) * n + a + rows * b]
        });
        ConvDictionary::new(fg, cd, filters.as_ref())
    }
}

/// Solves `L L^H x = b` in place, `L` lower triangular packed by rows.
fn solve_packed(l: &[C64], b: &mut [C64]) {
    let m = b.len();
    // L y = b.
    for i in 0..m {
        let row = &l[i * (i + 1) / 2..i * (i + 1) / 2 + i + 1];
        let mut v = b[i];
        for (lv, bv) in row[..i].iter().zip(&b[..i]) {
            v -= lv * bv;
        }
        b[i] = v / row[i].re;
    }
    // L^H x = y.
    for i in (0..m).rev() {
        let mut v = b[i];
        for k in i + 1..m {
            v -= l[k * (k + 1) / 2 + i].conj() * b[k];
        }
        b[i] = v / l[i * (i + 1) / 2 + i].re;
    }
}
