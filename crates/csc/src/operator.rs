//! The convolutional synthesis operator `D Gamma = sum_i d_i * Gamma_i` (circular boundary) on
//! one signal size, by direct convolution or by FFT.

use std::sync::{Arc, OnceLock};

use faer::{Mat, MatMut, MatRef, Par};
use rayon::prelude::*;
use sparse_core::batch::for_each_column;
use sparse_core::LinearOperator;

use crate::dictionary::{ConvDictionary, Grid};
use crate::direct::{conv_add_cols, corr_add};
use crate::error::{invalid, Result};
use crate::fft::{Cx, Fft2d, C64};
use crate::float::Float;

/// How a [`ConvOperator`] computes its convolutions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Method {
    /// Pick the cheaper of the two from a flop model (direct for small filters, FFT for large
    /// signals). The default.
    #[default]
    Auto,
    /// Direct circular convolution: `O(N n m)` per signal.
    Direct,
    /// Real FFTs (realfft/rustfft) and products of spectra: `O((m + C) N log N)` per signal.
    Fft,
}

/// The filters' spectra on one signal grid, computed once per operator and shared with the
/// Fourier-domain pursuits.
#[derive(Debug)]
pub(crate) struct Spectra<T: Float = f64> {
    pub fft: Fft2d<T>,
    /// Spectra of the `m C_d` filter channels (channel `c` of filter `i` is map `i C_d + c`) in
    /// the blocked layout of [`crate::fft::Blocks`].
    pub d: Vec<Cx<T>>,
    /// Number of dictionary channels `C_d`.
    pub channels: usize,
    /// Parseval weight of every spectrum entry (natural layout).
    pub weights: Vec<T>,
    /// `sum_i |d_i(w)|^2` at every frequency (natural layout), for single-channel dictionaries
    /// (else empty).
    pub dd: Vec<T>,
}

impl Spectra<f64> {
    /// The same spectra rounded to `f32` (computed in `f64`, then rounded once), with float32
    /// transforms of the same grid.
    fn to_f32(&self) -> Spectra<f32> {
        let c = |v: &C64| Cx::new(v.re as f32, v.im as f32);
        Spectra {
            fft: Fft2d::new(self.fft.rows(), self.fft.cols()),
            d: self.d.iter().map(c).collect(),
            channels: self.channels,
            weights: self.weights.iter().map(|&v| v as f32).collect(),
            dd: self.dd.iter().map(|&v| v as f32).collect(),
        }
    }
}

impl<T: Float> Spectra<T> {
    /// Block `blk` of the spectrum of channel `c` of filter `i`.
    #[inline]
    pub fn filter(&self, i: usize, c: usize, blk: usize) -> &[Cx<T>] {
        let n_maps = self.d.len() / self.fft.spectrum_len();
        self.fft
            .blocks()
            .block(&self.d, n_maps, i * self.channels + c, blk)
    }

    /// Block `blk` of all filter spectra (`m C_d` maps of the block's length, map after map).
    #[inline]
    pub fn filters_block(&self, blk: usize) -> &[Cx<T>] {
        let n_maps = self.d.len() / self.fft.spectrum_len();
        let (f0, len) = self.fft.blocks().range(blk);
        &self.d[n_maps * f0..n_maps * (f0 + len)]
    }
}

/// A convolutional dictionary bound to a signal size: the operator `D = [C_1 ... C_m]` from
/// codes (feature maps) to signals, with circular boundary.
///
/// * Signals are `signal.rows * signal.cols` samples per channel (column-major), channel after
///   channel: `nrows = N C`.
/// * Codes are feature maps in [`sparse_core::CodeOrder::FilterMajor`] order: map `i` occupies
///   `i * N .. (i + 1) * N`. A single-channel dictionary on `C`-channel signals codes every
///   channel separately (`ncols = N m C`, channel after channel); a `C`-channel dictionary has
///   one code for all channels (`ncols = N m`).
/// * `(D Gamma)_c [p] = sum_i sum_k d_{i,c}[k] Gamma_i[p - k]`: the atom of filter `i` at
///   position `q` covers the samples `q, ..., q + n - 1` (mod `N`).
///
/// Batches (columns) are separate signals; with `Par::rayon` they are processed in parallel,
/// and a single large signal is split over filters.
#[derive(Debug, Clone)]
pub struct ConvOperator {
    dict: ConvDictionary,
    signal: Grid,
    channels: usize,
    method: Method,
    spectra: OnceLock<Arc<Spectra>>,
    spectra32: OnceLock<Arc<Spectra<f32>>>,
}

impl ConvOperator {
    pub(crate) fn new(dict: ConvDictionary, signal: Grid, channels: usize) -> Result<Self> {
        signal.check("signal")?;
        sparse_core::check::count("channels", channels, usize::MAX)?;
        // Signals, codes and filter spectra of this size must fit in memory.
        let n_maps = if dict.channels() == 1 {
            dict.n_filters().saturating_mul(channels)
        } else {
            dict.n_filters()
        };
        let (r, c) = (signal.rows, signal.cols);
        sparse_core::check::size("signal * channels", &[r, c, channels])?;
        sparse_core::check::size("signal * code channels", &[r, c, n_maps])?;
        sparse_core::check::size(
            "signal spectra",
            &[r / 2 + 1, c, n_maps.max(dict.n_filters() * dict.channels())],
        )?;
        let f = dict.filter_grid();
        if f.rows > signal.rows || f.cols > signal.cols {
            return Err(invalid(
                "signal",
                signal,
                format!("a grid at least as large as the filters ({f})"),
            ));
        }
        Ok(Self {
            dict,
            signal,
            channels,
            method: Method::Auto,
            spectra: OnceLock::new(),
            spectra32: OnceLock::new(),
        })
    }

    /// The same operator computing with `method`.
    pub fn with_method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// The requested method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The method actually used: `Direct` or `Fft` (resolving `Auto` from the flop model).
    pub fn resolved_method(&self) -> Method {
        match self.method {
            Method::Auto => {
                let n = self.signal.len() as f64;
                let taps = self.dict.filter_grid().len() as f64;
                let m = self.dict.n_filters() as f64;
                let c = self.channels as f64;
                let direct = n * taps * m * c;
                let fft = (self.n_maps() as f64 + c) * n * (2.5 * n.log2().max(1.0) + 6.0)
                    + 4.0 * n * m * c;
                if direct <= fft {
                    Method::Direct
                } else {
                    Method::Fft
                }
            }
            m => m,
        }
    }

    /// The dictionary.
    pub fn dictionary(&self) -> &ConvDictionary {
        &self.dict
    }

    /// The signal grid (samples per channel).
    pub fn signal_grid(&self) -> Grid {
        self.signal
    }

    /// Number of signal channels `C`.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Samples per channel `N`.
    pub fn n(&self) -> usize {
        self.signal.len()
    }

    /// Number of feature maps in a code: `m` for a multi-channel dictionary (or one channel),
    /// `m C` for a single-channel dictionary on `C`-channel signals.
    pub fn n_maps(&self) -> usize {
        self.dict.n_filters() * self.code_channels()
    }

    /// Channels of the code: `C` for a single-channel dictionary, 1 otherwise.
    pub fn code_channels(&self) -> usize {
        if self.dict.channels() == 1 {
            self.channels
        } else {
            1
        }
    }

    /// Length of a signal, `N C`.
    pub fn signal_len(&self) -> usize {
        self.n() * self.channels
    }

    /// Length of a code, `N m` (times `C` for a single-channel dictionary on `C` channels).
    pub fn code_len(&self) -> usize {
        self.n() * self.n_maps()
    }

    /// The filter spectra in precision `T` (the float32 ones are the float64 ones rounded,
    /// computed on first use).
    pub(crate) fn spectra_t<T: Float>(&self) -> &Arc<Spectra<T>> {
        use std::any::Any;
        if let Some(s) = (self.spectra() as &dyn Any).downcast_ref::<Arc<Spectra<T>>>() {
            return s;
        }
        let s32 = self
            .spectra32
            .get_or_init(|| Arc::new(self.spectra().to_f32()));
        (s32 as &dyn Any)
            .downcast_ref::<Arc<Spectra<T>>>()
            .expect("Float is sealed: f32 or f64")
    }

    pub(crate) fn spectra(&self) -> &Arc<Spectra> {
        self.spectra.get_or_init(|| {
            let fft = Fft2d::new(self.signal.rows, self.signal.cols);
            let mut s = fft.scratch();
            let fg = self.dict.filter_grid();
            let cd = self.dict.channels();
            let f = fft.spectrum_len();
            let n_maps = self.dict.n_filters() * cd;
            let blocks = fft.blocks();
            let mut d = vec![C64::default(); n_maps * f];
            let mut dd = if cd == 1 { vec![0.0; f] } else { Vec::new() };
            {
                let mut per_map = blocks.per_map(&mut d, n_maps);
                for i in 0..self.dict.n_filters() {
                    for c in 0..cd {
                        let sp = fft.filter_spectrum(
                            self.dict.filter_channel(i, c),
                            fg.rows,
                            fg.cols,
                            &mut s,
                        );
                        for (blk, dst) in per_map[i * cd + c].iter_mut().enumerate() {
                            let (f0, len) = blocks.range(blk);
                            dst.copy_from_slice(&sp[f0..f0 + len]);
                        }
                        if cd == 1 {
                            dd.iter_mut().zip(&sp).for_each(|(a, v)| *a += v.norm_sqr());
                        }
                    }
                }
            }
            let weights = fft.parseval_weights();
            Arc::new(Spectra {
                fft,
                d,
                channels: cd,
                weights,
                dd,
            })
        })
    }

    /// `D x` for one signal: `x` has `code_len` entries, `out` `signal_len`.
    fn apply_one(&self, x: &[f64], out: &mut [f64], par: bool) {
        match self.resolved_method() {
            Method::Fft => self.apply_fft(x, out, par),
            _ => self.apply_direct(x, out, par),
        }
    }

    /// `D^T y` for one signal.
    fn adjoint_one(&self, y: &[f64], out: &mut [f64], par: bool) {
        match self.resolved_method() {
            Method::Fft => self.adjoint_fft(y, out, par),
            _ => self.adjoint_direct(y, out, par),
        }
    }

    fn apply_direct(&self, x: &[f64], out: &mut [f64], par: bool) {
        let n = self.n();
        let (rows, cols) = (self.signal.rows, self.signal.cols);
        let fg = self.dict.filter_grid();
        let m = self.dict.n_filters();
        let single = self.dict.channels() == 1;
        out.fill(0.0);
        // Columns of one channel handled by one task.
        let block = if par {
            cols.div_ceil(4 * rayon::current_num_threads()).max(1)
        } else {
            cols
        };
        let task = |c: usize, b: usize, o: &mut [f64]| {
            let c0 = b * block;
            for i in 0..m {
                let (map, fc) = if single { (c * m + i, 0) } else { (i, c) };
                let d = self.dict.filter_channel(i, fc);
                let g = &x[map * n..(map + 1) * n];
                conv_add_cols(o, c0, d, (fg.rows, fg.cols), g, (rows, cols));
            }
        };
        if par {
            out.par_chunks_mut(n).enumerate().for_each(|(c, oc)| {
                oc.par_chunks_mut(rows * block)
                    .enumerate()
                    .for_each(|(b, o)| task(c, b, o))
            });
        } else {
            for (c, oc) in out.chunks_mut(n).enumerate() {
                task(c, 0, oc);
            }
        }
    }

    fn adjoint_direct(&self, y: &[f64], out: &mut [f64], par: bool) {
        let n = self.n();
        let (rows, cols) = (self.signal.rows, self.signal.cols);
        let fg = self.dict.filter_grid();
        let m = self.dict.n_filters();
        let cd = self.dict.channels();
        let task = |map: usize, o: &mut [f64]| {
            o.fill(0.0);
            let i = map % m;
            if cd == 1 {
                let k = map / m;
                let d = self.dict.filter_channel(i, 0);
                corr_add(
                    o,
                    d,
                    (fg.rows, fg.cols),
                    &y[k * n..(k + 1) * n],
                    (rows, cols),
                );
            } else {
                for c in 0..cd {
                    let d = self.dict.filter_channel(i, c);
                    corr_add(
                        o,
                        d,
                        (fg.rows, fg.cols),
                        &y[c * n..(c + 1) * n],
                        (rows, cols),
                    );
                }
            }
        };
        if par {
            out.par_chunks_mut(n)
                .enumerate()
                .for_each(|(map, o)| task(map, o));
        } else {
            out.chunks_mut(n)
                .enumerate()
                .for_each(|(map, o)| task(map, o));
        }
    }

    fn apply_fft(&self, x: &[f64], out: &mut [f64], par: bool) {
        let sp = self.spectra();
        let fft = &sp.fft;
        let (n, f) = (self.n(), fft.spectrum_len());
        let cs = self.channels;
        let cd = self.dict.channels();
        let m = self.dict.n_filters();
        let maps = self.n_maps();
        let blocks = fft.blocks();
        // Sum of D_{c,i} X_map over a range of maps into per-channel accumulators.
        let partial = |range: std::ops::Range<usize>| {
            let mut s = fft.scratch();
            let mut acc = vec![C64::default(); cs * f];
            let mut xs = vec![C64::default(); f];
            for map in range {
                fft.forward(&x[map * n..(map + 1) * n], &mut xs, &mut s);
                let i = map % m;
                for c in 0..cs {
                    let fc = match (cd, map / m == c) {
                        (1, true) => 0,
                        (1, false) => continue,
                        _ => c,
                    };
                    for blk in 0..blocks.count() {
                        let (f0, len) = blocks.range(blk);
                        let d = sp.filter(i, fc, blk);
                        let a = &mut acc[c * f + f0..c * f + f0 + len];
                        for ((a, dv), xv) in a.iter_mut().zip(d).zip(&xs[f0..f0 + len]) {
                            *a += dv * xv;
                        }
                    }
                }
            }
            acc
        };
        let mut acc = if par && maps > 1 {
            let groups = rayon::current_num_threads().min(maps).max(1);
            let per = maps.div_ceil(groups);
            (0..groups)
                .into_par_iter()
                .map(|g| partial(g * per..((g + 1) * per).min(maps)))
                .reduce_with(|mut a, b| {
                    a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                    a
                })
                .unwrap_or_else(|| vec![C64::default(); cs * f])
        } else {
            partial(0..maps)
        };
        let scale = 1.0 / n as f64;
        let inv = |(spec, o): (&mut [C64], &mut [f64])| {
            let mut s = fft.scratch();
            fft.inverse(spec, o, scale, &mut s);
        };
        if par && cs > 1 {
            acc.par_chunks_mut(f)
                .zip(out.par_chunks_mut(n))
                .for_each(inv);
        } else {
            acc.chunks_mut(f).zip(out.chunks_mut(n)).for_each(inv);
        }
    }

    fn adjoint_fft(&self, y: &[f64], out: &mut [f64], par: bool) {
        let sp = self.spectra();
        let fft = &sp.fft;
        let (n, f) = (self.n(), fft.spectrum_len());
        let cs = self.channels;
        let cd = self.dict.channels();
        let m = self.dict.n_filters();
        let blocks = fft.blocks();
        let mut ys = vec![C64::default(); cs * f];
        let fwd = |(o, yc): (&mut [C64], &[f64])| {
            let mut s = fft.scratch();
            fft.forward(yc, o, &mut s);
        };
        if par && cs > 1 {
            ys.par_chunks_mut(f).zip(y.par_chunks(n)).for_each(fwd);
        } else {
            ys.chunks_mut(f).zip(y.chunks(n)).for_each(fwd);
        }
        let scale = 1.0 / n as f64;
        let task = |s: &mut (crate::fft::FftScratch, Vec<C64>), (map, o): (usize, &mut [f64])| {
            let (scr, g) = s;
            let i = map % m;
            g.fill(C64::default());
            for c in 0..cs {
                let fc = match (cd, map / m == c) {
                    (1, true) => 0,
                    (1, false) => continue,
                    _ => c,
                };
                for blk in 0..blocks.count() {
                    let (f0, len) = blocks.range(blk);
                    let d = sp.filter(i, fc, blk);
                    let yc = &ys[c * f + f0..c * f + f0 + len];
                    for ((gv, dv), yv) in g[f0..f0 + len].iter_mut().zip(d).zip(yc) {
                        *gv += dv.conj() * yv;
                    }
                }
            }
            fft.inverse(g, o, scale, scr);
        };
        let init = || (fft.scratch(), vec![C64::default(); f]);
        if par {
            out.par_chunks_mut(n).enumerate().for_each_init(init, task);
        } else {
            let mut s = init();
            out.chunks_mut(n).enumerate().for_each(|a| task(&mut s, a));
        }
    }

    /// `||D||_2^2` from the Fourier symbol: the largest, over frequencies `w`, eigenvalue of
    /// `D(w)^H D(w)`, where `D(w)` is the `C_d x m` matrix of the filters' spectra. For one
    /// channel it is `max_w sum_i |d_i(w)|^2`; for two, a closed form; for more, faer's
    /// self-adjoint eigenvalues of the `C x C` matrix `D(w) D(w)^H`.
    pub fn lipschitz_exact(&self) -> f64 {
        let sp = self.spectra();
        let f = sp.fft.spectrum_len();
        let cd = self.dict.channels();
        let m = self.dict.n_filters();
        let mut best = 0.0f64;
        match cd {
            1 => best = sp.dd.iter().copied().fold(0.0, f64::max),
            _ => {
                let blocks = sp.fft.blocks();
                for w in 0..f {
                    let blk = w / (blocks.range(0).1.max(1));
                    let j = w - blocks.range(blk).0;
                    let mut g = faer::Mat::<faer::c64>::zeros(cd, cd);
                    for i in 0..m {
                        for a in 0..cd {
                            let da = sp.filter(i, a, blk)[j];
                            for b in 0..cd {
                                let db = sp.filter(i, b, blk)[j];
                                g[(a, b)] += da * db.conj();
                            }
                        }
                    }
                    let top = if cd == 2 {
                        let (p, q, r) = (g[(0, 0)].re, g[(1, 1)].re, g[(0, 1)].norm());
                        0.5 * (p + q) + (0.25 * (p - q) * (p - q) + r * r).sqrt()
                    } else {
                        match g.self_adjoint_eigenvalues(faer::Side::Lower) {
                            Ok(ev) => ev.into_iter().fold(0.0, f64::max),
                            Err(_) => (0..cd).map(|a| g[(a, a)].re).sum(),
                        }
                    };
                    best = best.max(top);
                }
            }
        }
        best
    }

    /// `D x` for a batch of codes (`code_len x b`), checking shapes. Allocates.
    pub fn synthesize(&self, x: MatRef<'_, f64>, par: Par) -> Result<Mat<f64>> {
        let mut out = Mat::zeros(self.signal_len(), x.ncols());
        self.apply_into(x, out.as_mut(), par)?;
        Ok(out)
    }

    /// `D^T y` for a batch of signals (`signal_len x b`), checking shapes. Allocates.
    pub fn analyze(&self, y: MatRef<'_, f64>, par: Par) -> Result<Mat<f64>> {
        let mut out = Mat::zeros(self.code_len(), y.ncols());
        self.apply_adjoint_into(y, out.as_mut(), par)?;
        Ok(out)
    }
}

impl LinearOperator for ConvOperator {
    fn nrows(&self) -> usize {
        self.signal_len()
    }
    fn ncols(&self) -> usize {
        self.code_len()
    }
    fn apply_raw(&self, x: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        // Shapes are checked by `apply_into`; one signal per block (parallel over signals, or
        // inside the one signal).
        let done: sparse_core::Result<Vec<()>> = for_each_column(
            x,
            out,
            1,
            par,
            || (),
            |_, _, xj, oj, inner| self.apply_one(xj, oj, inner.degree() > 1),
        );
        debug_assert!(done.is_ok(), "apply_raw called with mismatched shapes");
    }
    fn apply_adjoint_raw(&self, y: MatRef<'_, f64>, out: MatMut<'_, f64>, par: Par) {
        let done: sparse_core::Result<Vec<()>> = for_each_column(
            y,
            out,
            1,
            par,
            || (),
            |_, _, yj, oj, inner| self.adjoint_one(yj, oj, inner.degree() > 1),
        );
        debug_assert!(
            done.is_ok(),
            "apply_adjoint_raw called with mismatched shapes"
        );
    }
    /// Exact, from the Fourier symbol ([`ConvOperator::lipschitz_exact`]).
    fn lipschitz(&self) -> f64 {
        self.lipschitz_exact()
    }
}
