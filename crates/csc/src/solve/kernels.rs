//! The element-wise kernels of the Fourier-domain pursuits, written so that LLVM vectorises
//! them (independent accumulator lanes, no early exits) and compiled twice on x86-64: for the
//! baseline target and with AVX2 + FMA, picked at run time by the workspace's one dispatch,
//! [`sparse_core::simd`] (an [`Avx2Fma`] token proves the CPU features; `SPARSELAND_PORTABLE=1`
//! forces the portable build). No kernel here uses FMA intrinsics and Rust never contracts
//! `a * b + c` on its own, so both builds compute bit-identical results (checked in the tests
//! below and in `tests/simd_dispatch.rs`).
//!
//! Every kernel is generic over the precision ([`Float`]: `f64`, `f32`); the reductions run
//! 4 lanes in `f64` and 8 in `f32` (one AVX register either way), accumulate in the kernel's
//! precision over the one column they see, and return their sums in `f64`.

use sparse_core::simd::Avx2Fma;

use super::{MapWeights, Sums};
use crate::fft::Cx;
use crate::float::Float;

/// Defines `pub(crate) fn $name(args) -> ret`, which runs `$with(Avx2Fma::detect(), args)`,
/// and `pub(crate) fn $with(simd: Option<Avx2Fma>, args) -> ret`, which runs an AVX2 + FMA
/// build of the `#[inline(always)]` body `$imp` when given the token, the portable build
/// otherwise (safe for every argument: the token proves the features). The functions are
/// generic over the precision `T`.
macro_rules! dispatch {
    ($(#[$meta:meta])* fn $name:ident / $with:ident / $avx:ident = $imp:ident ($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        $(#[$meta])*
        #[inline]
        pub(crate) fn $name<T: Float>($($arg: $ty),*) -> $ret {
            $with(Avx2Fma::detect(), $($arg),*)
        }

        $(#[$meta])*
        ///
        /// With `Some(token)`, the AVX2 + FMA build; with `None`, the portable one.
        #[inline]
        pub(crate) fn $with<T: Float>(simd: Option<Avx2Fma>, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            if let Some(token) = simd {
                // SAFETY: the token proves that the CPU supports AVX2 and FMA.
                return unsafe { $avx(token, $($arg),*) };
            }
            let _ = simd;
            $imp($($arg),*)
        }

        /// # Safety
        /// The CPU must support AVX2 and FMA (the token is the proof).
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = "avx2,fma")]
        unsafe fn $avx<T: Float>(_: Avx2Fma, $($arg: $ty),*) -> $ret {
            $imp($($arg),*)
        }
    };
}

/// Runs `$body` with the const `$l` set to the lane count of `T` (8 for `f32`, 4 for `f64`).
macro_rules! with_lanes {
    ($t:ty, $f:ident ( $($arg:expr),* )) => {
        if std::mem::size_of::<$t>() == 4 {
            $f::<$t, 8>($($arg),*)
        } else {
            $f::<$t, 4>($($arg),*)
        }
    };
}

dispatch! {
    /// `acc += d * b` (complex, element-wise).
    fn mul_acc / mul_acc_with / mul_acc_avx2 = mul_acc_imp(acc: &mut [Cx<T>], d: &[Cx<T>], b: &[Cx<T>]) -> ()
}

#[inline(always)]
fn mul_acc_imp<T: Float>(acc: &mut [Cx<T>], d: &[Cx<T>], b: &[Cx<T>]) {
    for ((a, d), b) in acc.iter_mut().zip(d).zip(b) {
        a.re += d.re * b.re - d.im * b.im;
        a.im += d.re * b.im + d.im * b.re;
    }
}

dispatch! {
    /// `b = s b + conj(d) e` (complex, element-wise).
    fn scale_conj_mul_add / scale_conj_mul_add_with / scale_conj_mul_add_avx2 =
        scale_conj_mul_add_imp(b: &mut [Cx<T>], s: T, d: &[Cx<T>], e: &[Cx<T>]) -> ()
}

#[inline(always)]
fn scale_conj_mul_add_imp<T: Float>(b: &mut [Cx<T>], s: T, d: &[Cx<T>], e: &[Cx<T>]) {
    for ((b, d), e) in b.iter_mut().zip(d).zip(e) {
        let re = s * b.re + (d.re * e.re + d.im * e.im);
        let im = s * b.im + (d.re * e.im - d.im * e.re);
        b.re = re;
        b.im = im;
    }
}

dispatch! {
    /// `acc += conj(d) e` (complex, element-wise).
    fn conj_mul_acc / conj_mul_acc_with / conj_mul_acc_avx2 = conj_mul_acc_imp(acc: &mut [Cx<T>], d: &[Cx<T>], e: &[Cx<T>]) -> ()
}

#[inline(always)]
fn conj_mul_acc_imp<T: Float>(acc: &mut [Cx<T>], d: &[Cx<T>], e: &[Cx<T>]) {
    for ((a, d), e) in acc.iter_mut().zip(d).zip(e) {
        a.re += d.re * e.re + d.im * e.im;
        a.im += d.re * e.im - d.im * e.re;
    }
}

/// Soft (or, with `NONNEG`, non-negative soft) thresholding at `t`, branch-free.
#[inline(always)]
pub(crate) fn shrink<T: Float, const NONNEG: bool>(v: T, t: T) -> T {
    let zero = T::zero();
    if NONNEG {
        let a = v - t;
        if a > zero {
            a
        } else {
            zero
        }
    } else {
        let a = v.abs() - t;
        let a = if a > zero { a } else { zero };
        a.copysign(v)
    }
}

/// Scalars of the fused ADMM update.
#[derive(Clone, Copy, Debug)]
pub(crate) struct AdmmStep<T = f64> {
    /// Over-relaxation `alpha`.
    pub alpha: T,
    /// Threshold `lambda / rho` (times the weights).
    pub t: T,
    /// Factor of the stored dual variable (`1 / rsf` after a penalty change).
    pub u_scale: T,
    /// Non-negative shrinkage.
    pub nonneg: bool,
}

dispatch! {
    /// The fused element-wise ADMM update of one column: with `v = alpha x + (1 - alpha) z +
    /// u_scale u`, `z <- S_{t w}(v)`, `u <- v - z`. Returns `a = ||x - z||^2`,
    /// `b = ||z - z_prev||^2`, `c = ||x||^2`, `d = ||z||^2`, `e = ||u||^2`, `l1 = ||w . z||_1`,
    /// `l1x = ||w . x||_1`.
    fn admm_update / admm_update_with / admm_update_avx2 = admm_update_imp(
        x: &[T], z: &mut [T], u: &mut [T], w: MapWeights<'_, T>, off: usize, p: AdmmStep<T>
    ) -> Sums
}

#[inline(always)]
fn admm_update_imp<T: Float>(
    x: &[T],
    z: &mut [T],
    u: &mut [T],
    w: MapWeights<'_, T>,
    off: usize,
    p: AdmmStep<T>,
) -> Sums {
    with_lanes!(T, admm_update_lanes(x, z, u, w, off, p))
}

#[inline(always)]
fn admm_update_lanes<T: Float, const L: usize>(
    x: &[T],
    z: &mut [T],
    u: &mut [T],
    w: MapWeights<'_, T>,
    off: usize,
    p: AdmmStep<T>,
) -> Sums {
    let n = x.len();
    let (ws, wc) = w.split(off, n);
    let splat = [wc; L];
    let mut acc = [[T::zero(); L]; 7];
    let full = n / L * L;
    let (x_main, x_tail) = x.split_at(full);
    let (z_main, z_tail) = z.split_at_mut(full);
    let (u_main, u_tail) = u.split_at_mut(full);
    for (k, ((xs, zs), us)) in x_main
        .chunks_exact(L)
        .zip(z_main.chunks_exact_mut(L))
        .zip(u_main.chunks_exact_mut(L))
        .enumerate()
    {
        let wl: &[T; L] = match ws {
            Some(ws) => ws[k * L..(k + 1) * L].try_into().unwrap_or(&splat),
            None => &splat,
        };
        if let (Ok(xs), Ok(zs), Ok(us)) = (
            <&[T; L]>::try_from(xs),
            <&mut [T; L]>::try_from(zs),
            <&mut [T; L]>::try_from(us),
        ) {
            if p.nonneg {
                admm_group::<T, L, true>(xs, zs, us, wl, p, &mut acc);
            } else {
                admm_group::<T, L, false>(xs, zs, us, wl, p, &mut acc);
            }
        }
    }
    let mut tail = [[T::zero(); 1]; 7];
    for j in 0..x_tail.len() {
        let wv = ws.map_or(wc, |ws| ws[full + j]);
        let (xs, zs, us) = ([x_tail[j]], &mut [z_tail[j]], &mut [u_tail[j]]);
        if p.nonneg {
            admm_group::<T, 1, true>(&xs, zs, us, &[wv], p, &mut tail);
        } else {
            admm_group::<T, 1, false>(&xs, zs, us, &[wv], p, &mut tail);
        }
        z_tail[j] = zs[0];
        u_tail[j] = us[0];
    }
    let sum = |k: usize| (acc[k].iter().copied().sum::<T>() + tail[k][0]).wide();
    Sums {
        a: sum(0),
        b: sum(1),
        c: sum(2),
        d: sum(3),
        e: sum(4),
        l1: sum(5),
        l1x: sum(6),
        ..Sums::default()
    }
}

/// One group of `K` entries of [`admm_update`] (fixed-size, independent lanes, so that LLVM
/// keeps the accumulators in vector registers). `acc[5]` accumulates `w |z|`, `acc[6]`
/// `w |x|`.
#[inline(always)]
fn admm_group<T: Float, const K: usize, const NONNEG: bool>(
    x: &[T; K],
    z: &mut [T; K],
    u: &mut [T; K],
    w: &[T; K],
    p: AdmmStep<T>,
    acc: &mut [[T; K]; 7],
) {
    let AdmmStep {
        alpha, t, u_scale, ..
    } = p;
    let one_minus = T::one() - alpha;
    let mut v = [T::zero(); K];
    for l in 0..K {
        v[l] = alpha * x[l] + one_minus * z[l] + u_scale * u[l];
    }
    let mut z1 = [T::zero(); K];
    for l in 0..K {
        z1[l] = shrink::<T, NONNEG>(v[l], t * w[l]);
    }
    for l in 0..K {
        let (x0, z0, u1) = (x[l], z[l], v[l] - z1[l]);
        acc[0][l] += (x0 - z1[l]) * (x0 - z1[l]);
        acc[1][l] += (z1[l] - z0) * (z1[l] - z0);
        acc[2][l] += x0 * x0;
        acc[3][l] += z1[l] * z1[l];
        acc[4][l] += u1 * u1;
        acc[5][l] += w[l] * z1[l].abs();
        acc[6][l] += w[l] * x0.abs();
        u[l] = u1;
    }
    *z = z1;
}

dispatch! {
    /// The FISTA proximal step on one column: `x <- S_{t w}(v)`. Returns
    /// `a = ||x_new - x_old||^2`, `b = ||x_new||^2`, `l1 = ||w . x_new||_1`.
    fn fista_prox / fista_prox_with / fista_prox_avx2 = fista_prox_imp(
        v: &[T], x: &mut [T], w: MapWeights<'_, T>, off: usize, t: T, nonneg: bool
    ) -> Sums
}

#[inline(always)]
fn fista_prox_imp<T: Float>(
    v: &[T],
    x: &mut [T],
    w: MapWeights<'_, T>,
    off: usize,
    t: T,
    nonneg: bool,
) -> Sums {
    with_lanes!(T, fista_prox_lanes(v, x, w, off, t, nonneg))
}

#[inline(always)]
fn fista_prox_lanes<T: Float, const L: usize>(
    v: &[T],
    x: &mut [T],
    w: MapWeights<'_, T>,
    off: usize,
    t: T,
    nonneg: bool,
) -> Sums {
    let n = v.len();
    let (ws, wc) = w.split(off, n);
    let splat = [wc; L];
    let mut acc = [[T::zero(); L]; 3];
    let full = n / L * L;
    let (v_main, v_tail) = v.split_at(full);
    let (x_main, x_tail) = x.split_at_mut(full);
    for (k, (vs, xs)) in v_main
        .chunks_exact(L)
        .zip(x_main.chunks_exact_mut(L))
        .enumerate()
    {
        let wl: &[T; L] = match ws {
            Some(ws) => ws[k * L..(k + 1) * L].try_into().unwrap_or(&splat),
            None => &splat,
        };
        if let (Ok(vs), Ok(xs)) = (<&[T; L]>::try_from(vs), <&mut [T; L]>::try_from(xs)) {
            if nonneg {
                prox_group::<T, L, true>(vs, xs, wl, t, &mut acc);
            } else {
                prox_group::<T, L, false>(vs, xs, wl, t, &mut acc);
            }
        }
    }
    let mut tail = [[T::zero(); 1]; 3];
    for j in 0..v_tail.len() {
        let wv = ws.map_or(wc, |ws| ws[full + j]);
        let xs = &mut [x_tail[j]];
        if nonneg {
            prox_group::<T, 1, true>(&[v_tail[j]], xs, &[wv], t, &mut tail);
        } else {
            prox_group::<T, 1, false>(&[v_tail[j]], xs, &[wv], t, &mut tail);
        }
        x_tail[j] = xs[0];
    }
    let sum = |k: usize| (acc[k].iter().copied().sum::<T>() + tail[k][0]).wide();
    Sums {
        a: sum(0),
        b: sum(1),
        l1: sum(2),
        ..Sums::default()
    }
}

/// One group of `K` entries of [`fista_prox`].
#[inline(always)]
fn prox_group<T: Float, const K: usize, const NONNEG: bool>(
    v: &[T; K],
    x: &mut [T; K],
    w: &[T; K],
    t: T,
    acc: &mut [[T; K]; 3],
) {
    for l in 0..K {
        let x1 = shrink::<T, NONNEG>(v[l], t * w[l]);
        acc[0][l] += (x1 - x[l]) * (x1 - x[l]);
        acc[1][l] += x1 * x1;
        acc[2][l] += w[l] * x1.abs();
        x[l] = x1;
    }
}

/// The ADMM update of [`admm_update`] with joint sparsity across code channels (SPORCO's
/// `ConvBPDNJoint`): `z = prox_{beta ||.||_{2,1}}(S_{t w}(v))`, the l2 norms over the `cx`
/// channels of each filter and position (`prox_l2(y) = y max(0, 1 - beta / ||y||)`), with
/// `v = alpha x + (1 - alpha) z + u_scale u`, `beta` one threshold per filter. Codes are `cx`
/// channels of `m` maps of `n`
/// entries (map `c m + i`). Also returns `sum ||x_group||_2` in `l21x` (and of `z` in `l21`).
/// The sums are accumulated in `f64`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn joint_update<T: Float>(
    x: &[T],
    z: &mut [T],
    u: &mut [T],
    weights: &crate::solve::TypedWeights<'_, T>,
    (m, n, cx): (usize, usize, usize),
    p: AdmmStep<T>,
    beta: &[T],
) -> Sums {
    let mut acc = Sums::default();
    let zero = T::zero();
    let mut v = vec![zero; cx];
    let mut sv = vec![zero; cx];
    let one_minus = T::one() - p.alpha;
    for (i, &bi) in beta.iter().enumerate().take(m) {
        let w: Vec<MapWeights<'_, T>> = (0..cx).map(|c| weights.map(c * m + i, m, n)).collect();
        for q in 0..n {
            let (mut nrm, mut nx) = (zero, 0.0f64);
            for c in 0..cx {
                let k = (c * m + i) * n + q;
                let wv = match w[c] {
                    MapWeights::Const(c) => c,
                    MapWeights::Slice(ws) => ws[q],
                };
                v[c] = p.alpha * x[k] + one_minus * z[k] + p.u_scale * u[k];
                sv[c] = if p.nonneg {
                    shrink::<T, true>(v[c], p.t * wv)
                } else {
                    shrink::<T, false>(v[c], p.t * wv)
                };
                nrm += sv[c] * sv[c];
                let xw = x[k].wide();
                nx += xw * xw;
                acc.l1x += (wv * x[k].abs()).wide();
            }
            let nrm = nrm.sqrt();
            let scale = if nrm > bi { T::one() - bi / nrm } else { zero };
            let mut nz = 0.0f64;
            for c in 0..cx {
                let k = (c * m + i) * n + q;
                let wv = match w[c] {
                    MapWeights::Const(c) => c,
                    MapWeights::Slice(ws) => ws[q],
                };
                let (x0, z0) = (x[k], z[k]);
                let z1 = sv[c] * scale;
                let u1 = v[c] - z1;
                let (x0w, z0w, z1w, u1w) = (x0.wide(), z0.wide(), z1.wide(), u1.wide());
                acc.a += (x0w - z1w) * (x0w - z1w);
                acc.b += (z1w - z0w) * (z1w - z0w);
                acc.c += x0w * x0w;
                acc.d += z1w * z1w;
                acc.e += u1w * u1w;
                acc.l1 += wv.wide() * z1w.abs();
                nz += z1w * z1w;
                z[k] = z1;
                u[k] = u1;
            }
            // Weighted by beta / beta_max = w_i (the caller divides out its scale).
            acc.l21x += nx.sqrt() * bi.wide();
            acc.l21 += nz.sqrt() * bi.wide();
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    //! Every kernel on both builds: the outputs agree bit for bit (on a CPU without AVX2 + FMA
    //! only the portable build exists and the comparison is trivial).
    use super::*;
    use crate::fft::C64;

    /// Deterministic values in `[-1, 1)` with some exact zeros, for `n` entries.
    fn vals(n: usize, seed: u64) -> Vec<f64> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                if i % 7 == 3 {
                    0.0
                } else {
                    (s >> 11) as f64 / (1u64 << 52) as f64 - 1.0
                }
            })
            .collect()
    }

    fn cvals(n: usize, seed: u64) -> Vec<C64> {
        let v = vals(2 * n, seed);
        (0..n).map(|i| C64::new(v[2 * i], v[2 * i + 1])).collect()
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn cbits(v: &[C64]) -> Vec<(u64, u64)> {
        v.iter().map(|x| (x.re.to_bits(), x.im.to_bits())).collect()
    }

    fn sums_bits(s: Sums) -> [u64; 6] {
        [s.a, s.b, s.c, s.d, s.e, s.l1].map(f64::to_bits)
    }

    /// Both paths: the portable one, and the AVX2 + FMA one where the CPU has it.
    fn paths() -> Vec<Option<Avx2Fma>> {
        let mut p = vec![None];
        p.extend(Avx2Fma::hardware().map(Some));
        p
    }

    // Lengths covering the vector body and every tail length.
    const LENS: [usize; 5] = [1, 4, 7, 33, 130];

    #[test]
    fn complex_kernels_agree_on_both_paths() {
        for n in LENS {
            let (d, b) = (cvals(n, 1), cvals(n, 2));
            let run = |simd: Option<Avx2Fma>| {
                let mut acc = cvals(n, 3);
                mul_acc_with(simd, &mut acc, &d, &b);
                let mut acc2 = cvals(n, 4);
                conj_mul_acc_with(simd, &mut acc2, &d, &b);
                let mut b2 = cvals(n, 5);
                scale_conj_mul_add_with(simd, &mut b2, 0.37, &d, &b);
                (cbits(&acc), cbits(&acc2), cbits(&b2))
            };
            let portable = run(None);
            for p in paths() {
                assert_eq!(run(p), portable, "n = {n}, {p:?}");
            }
        }
    }

    #[test]
    fn admm_and_fista_updates_agree_on_both_paths() {
        for n in LENS {
            let x = vals(n, 6);
            let wv: Vec<f64> = vals(n + 3, 7).iter().map(|v| v.abs()).collect();
            for nonneg in [false, true] {
                for w in [MapWeights::Const(0.8), MapWeights::Slice(&wv)] {
                    let run = |simd: Option<Avx2Fma>| {
                        let (mut z, mut u) = (vals(n, 8), vals(n, 9));
                        let step = AdmmStep {
                            alpha: 1.8,
                            t: 0.2,
                            u_scale: 0.9,
                            nonneg,
                        };
                        let s1 = admm_update_with(simd, &x, &mut z, &mut u, w, 2, step);
                        let mut xf = vals(n, 10);
                        let s2 = fista_prox_with(simd, &x, &mut xf, w, 1, 0.3, nonneg);
                        (bits(&z), bits(&u), sums_bits(s1), bits(&xf), sums_bits(s2))
                    };
                    let portable = run(None);
                    for p in paths() {
                        assert_eq!(run(p), portable, "n = {n}, nonneg {nonneg}, {p:?}");
                    }
                }
            }
        }
    }

    /// The float32 builds (8 lanes) agree bit for bit as well, and stay within float32
    /// rounding of the float64 kernels.
    #[test]
    fn float32_updates_agree_on_both_paths_and_with_float64() {
        let f = |v: Vec<f64>| v.iter().map(|x| *x as f32).collect::<Vec<f32>>();
        let bits32 = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<u32>>();
        for n in LENS.into_iter().chain([17, 64]) {
            let x = f(vals(n, 6));
            let wv: Vec<f32> = f(vals(n + 3, 7)).iter().map(|v| v.abs()).collect();
            for nonneg in [false, true] {
                for w in [MapWeights::Const(0.8f32), MapWeights::Slice(&wv)] {
                    let run = |simd: Option<Avx2Fma>| {
                        let (mut z, mut u) = (f(vals(n, 8)), f(vals(n, 9)));
                        let step = AdmmStep {
                            alpha: 1.8f32,
                            t: 0.2,
                            u_scale: 0.9,
                            nonneg,
                        };
                        let s1 = admm_update_with(simd, &x, &mut z, &mut u, w, 2, step);
                        let mut xf = f(vals(n, 10));
                        let s2 = fista_prox_with(simd, &x, &mut xf, w, 1, 0.3f32, nonneg);
                        (
                            bits32(&z),
                            bits32(&u),
                            sums_bits(s1),
                            bits32(&xf),
                            sums_bits(s2),
                        )
                    };
                    let portable = run(None);
                    for p in paths() {
                        assert_eq!(run(p), portable, "n = {n}, nonneg {nonneg}, {p:?}");
                    }
                }
                // Against float64 on the same (rounded) inputs.
                let xd: Vec<f64> = x.iter().map(|v| *v as f64).collect();
                let (mut z32, mut u32) = (f(vals(n, 8)), f(vals(n, 9)));
                let (mut z64, mut u64): (Vec<f64>, Vec<f64>) = (
                    z32.iter().map(|v| *v as f64).collect(),
                    u32.iter().map(|v| *v as f64).collect(),
                );
                let p32 = AdmmStep {
                    alpha: 1.5f32,
                    t: 0.25,
                    u_scale: 1.0,
                    nonneg,
                };
                let p64 = AdmmStep {
                    alpha: 1.5f64,
                    t: 0.25,
                    u_scale: 1.0,
                    nonneg,
                };
                let a = admm_update(&x, &mut z32, &mut u32, MapWeights::Const(1.0f32), 0, p32);
                let b = admm_update(&xd, &mut z64, &mut u64, MapWeights::Const(1.0f64), 0, p64);
                for (p, q) in z32.iter().zip(&z64) {
                    assert!((*p as f64 - q).abs() <= 1e-6 * (1.0 + q.abs()), "n = {n}");
                }
                for (p, q) in [(a.a, b.a), (a.d, b.d), (a.e, b.e), (a.l1, b.l1)] {
                    assert!(
                        (p - q).abs() <= 1e-5 * (1.0 + q.abs()),
                        "n = {n}: {p} vs {q}"
                    );
                }
            }
        }
    }
}
