//! Order Recursive Matching Pursuit (ORMP, a.k.a. orthogonal least squares) in the Batch-OMP
//! framework: the selection rule SPAMS' `omp` uses.
//!
//! OMP picks the atom most correlated with the residual; ORMP picks the atom that, once added,
//! leaves the smallest residual: `argmax_i <r, d_i>^2 / ||P_S^perp d_i||^2` (Chen, Billings & Luo
//! 1989; Cotter, Kreutz-Delgado & Rao 1999). Both are computed from the Gram matrix by
//! Gram-Schmidt *in correlation space*: with `q_k` the orthonormal basis of the selected atoms,
//! `u_k = D^T q_k = (G_{:,s_k} - sum_{t<k} L_kt u_t) / L_kk`, the correlations update as
//! `alpha -= (q_k^T y) u_k` and the projected squared norms as `nu -= u_k^2`.
//!
//! With AVX2 the selection divides only its candidates: every score is first approximated
//! with the hardware reciprocal of `nu` (`rcpps`), and the exact scores of those within
//! `2^-9` of the largest approximation decide, so the chosen atom is the one the exact rule
//! picks, bit for bit (the division per atom was a fifth of ORMP's time). The update of
//! `alpha` and `nu` shares one pass over the atoms with the next selection. With AVX-512 the
//! same kernels run on 512-bit registers and skip the candidate scan when the largest
//! approximation is alone (see `simd512`); the codes are bit-identical to the AVX2 build's.

use faer::{Mat, MatRef};
use sparse_core::simd::{Avx2Fma, Avx512};

use super::{argmax_abs, finish, GrowingCholesky, Real};
use crate::result::Report;

/// Scratch of one ORMP worker.
pub(crate) struct OrmpScratch<T = f64> {
    chol: GrowingCholesky<T>,
    support: Vec<usize>,
    /// `q_k^T y` for each selected atom (the forward-substituted right-hand side).
    z: Vec<T>,
    /// `u_k = D^T q_k`, column-major `m x kmax`.
    u: Vec<T>,
    alpha: Vec<T>,
    nu: Vec<T>,
    score: Vec<T>,
    g: Vec<T>,
    /// Squared atom norms `G_ii` (the diagonal is strided in `G`: read it once).
    diag: Vec<T>,
    /// `DEPENDENCE_TOL * G_ii`: an atom whose projected norm is at most this scores `0`.
    tolg: Vec<T>,
    /// Every `G_ii` within `1e-25 ..= 1e25`: the projected norms that score stay within
    /// `f32`'s normal range, as the division-free selection needs.
    fast_select: bool,
    /// The AVX-512 token, when the CPU has it (the selection's 512-bit build).
    avx512: Option<Avx512>,
    /// `0, 1, ..., kmax - 1`: the column indices of `U` for the AVX2 combine kernel.
    idx: Vec<usize>,
}

impl<T: Real> OrmpScratch<T> {
    pub(crate) fn new(kmax: usize, gram: &Mat<T>) -> Self {
        let m = gram.nrows();
        let diag: Vec<T> = (0..m).map(|i| gram[(i, i)]).collect();
        Self {
            tolg: diag.iter().map(|&g| T::DEPENDENCE_TOL * g).collect(),
            fast_select: diag.iter().all(|&g| g >= T::of(1e-25) && g <= T::of(1e25)),
            avx512: Avx512::detect(),
            diag,
            chol: GrowingCholesky::new(kmax),
            support: Vec::with_capacity(kmax),
            z: Vec::with_capacity(kmax),
            u: vec![T::zero(); kmax * m],
            alpha: vec![T::zero(); m],
            nu: vec![T::zero(); m],
            score: vec![T::zero(); m],
            g: Vec::with_capacity(kmax),
            idx: (0..kmax).collect(),
        }
    }
}

/// ORMP for one signal from its correlations `a0 = D^T y`; `Some(token)` selects the AVX2 +
/// FMA kernels (the token proves the CPU has them, see [`sparse_core::simd`]; the FMA update
/// agrees with the portable one to rounding, not bit for bit).
#[allow(clippy::too_many_arguments)]
pub(crate) fn ormp_one<T: Real>(
    simd: Option<Avx2Fma>,
    s: &mut OrmpScratch<T>,
    gram: &Mat<T>,
    a0: &[T],
    ynorm2: T,
    kmax: usize,
    eps2: T,
    xj: &mut [T],
) -> Report {
    #[cfg(target_arch = "x86_64")]
    if let Some(token) = simd {
        // SAFETY: the token proves that the CPU supports AVX2 and FMA; the kernel checks its
        // shapes.
        return unsafe { ormp_avx2(token, s, gram, a0, ynorm2, kmax, eps2, xj) };
    }
    let _ = simd;
    ormp_steps(
        s,
        gram,
        a0,
        ynorm2,
        kmax,
        eps2,
        xj,
        |out, a, u, coefs, inv| {
            out.copy_from_slice(a);
            for (t, &c) in coefs.iter().enumerate() {
                for (o, uv) in out.iter_mut().zip(u.col(t).iter()) {
                    *o -= c * *uv;
                }
            }
            out.iter_mut().for_each(|o| *o *= inv);
        },
        score_argmax,
        |u, zk, b, more| {
            update(u, zk, b.alpha, b.nu);
            more.then(|| score_argmax(b.score, b.alpha, b.nu, b.tolg))
        },
    )
}

/// The vectors one ORMP step updates and selects from.
struct Bufs<'a, T> {
    score: &'a mut [T],
    alpha: &'a mut [T],
    nu: &'a mut [T],
    tolg: &'a [T],
}

/// The portable update after selecting an atom: `alpha -= zk u`, `nu -= u^2` (`u` the new
/// column of `U`).
#[inline(always)]
fn update<T: Real>(u: &[T], zk: T, alpha: &mut [T], nu: &mut [T]) {
    for ((a, nu), &u) in alpha.iter_mut().zip(nu.iter_mut()).zip(u) {
        *a -= zk * u;
        *nu -= u * u;
    }
}

/// ORMP's score of one atom, `alpha^2 / nu` (Rebollo-Neira & Lowe 2002), `0` when its
/// projected norm `nu` is at most its tolerance `tol` (the atom is, to working precision, in
/// the span of the selected ones). The one definition that every build of the selection
/// (portable, AVX2, AVX-512) evaluates, so that they agree bit for bit.
#[inline(always)]
pub(super) fn exact_score<T: Real>(alpha: T, nu: T, tol: T) -> T {
    if nu > tol {
        alpha * alpha / nu
    } else {
        T::zero()
    }
}

/// Every score [`exact_score`], divided out.
#[inline(always)]
fn scores<T: Real>(score: &mut [T], alpha: &[T], nu: &[T], tolg: &[T]) {
    for (((sc, &a), &nu), &t) in score.iter_mut().zip(alpha).zip(nu).zip(tolg) {
        *sc = exact_score(a, nu, t);
    }
}

/// The portable selection: every score ([`scores`]), then the first largest.
#[inline(always)]
fn score_argmax<T: Real>(score: &mut [T], alpha: &[T], nu: &[T], tolg: &[T]) -> (usize, T) {
    scores(score, alpha, nu, tolg);
    argmax_abs(score)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
#[allow(clippy::too_many_arguments)]
unsafe fn ormp_avx2<T: Real>(
    token: Avx2Fma,
    s: &mut OrmpScratch<T>,
    gram: &Mat<T>,
    a0: &[T],
    ynorm2: T,
    kmax: usize,
    eps2: T,
    xj: &mut [T],
) -> Report {
    // The index list is moved out for the call so the kernel can read it while `s` is borrowed.
    let idx = std::mem::take(&mut s.idx);
    let fast = s.fast_select;
    let wide = s.avx512;
    // SAFETY (both closures): the token proves AVX2. The division-free selection needs the
    // projected norms within `f32`'s range (`fast`); otherwise the scores are divided out and
    // the first maximum found by the compare-and-mask scan (the portable scan one entry at a
    // time was a quarter of ORMP's time in the profile).
    let select = |score: &mut [T], alpha: &[T], nu: &[T], tolg: &[T]| unsafe {
        if let (true, Some(t512)) = (fast, wide) {
            T::ormp_select_avx512(t512, score, alpha, nu, tolg)
        } else if fast {
            T::ormp_select_avx2(token, score, alpha, nu, tolg)
        } else {
            scores(score, alpha, nu, tolg);
            T::argmax_abs_avx2(token, score)
        }
    };
    let report = ormp_steps(
        s,
        gram,
        a0,
        ynorm2,
        kmax,
        eps2,
        xj,
        |out, a, u, coefs, inv| unsafe {
            if let Some(t512) = wide {
                T::combine_avx512(t512, out, a, u, &idx[..coefs.len()], coefs, inv)
            } else {
                T::update_alpha_avx2(token, out, a, u, &idx[..coefs.len()], coefs);
                out.iter_mut().for_each(|o| *o *= inv);
            }
        },
        select,
        // SAFETY: as above. The update is fused with the next selection's pass over the
        // atoms when there is one.
        |u, zk, b, more| unsafe {
            if let (true, true, Some(t512)) = (more, fast, wide) {
                Some(T::ormp_update_select_avx512(
                    t512, u, zk, b.score, b.alpha, b.nu, b.tolg,
                ))
            } else if more && fast {
                Some(T::ormp_update_select_avx2(
                    token, u, zk, b.score, b.alpha, b.nu, b.tolg,
                ))
            } else {
                update(u, zk, b.alpha, b.nu);
                more.then(|| select(b.score, b.alpha, b.nu, b.tolg))
            }
        },
    );
    s.idx = idx;
    report
}

/// The ORMP steps, generic over `combine(out, a, U, c, inv)`: `out = (a - U c) * inv` (the
/// new column of `U`), and over the
/// selection `select(score, alpha, nu, tolg)`: the index of the largest
/// `alpha_i^2 / nu_i` (`0` where `nu_i <= tolg_i`; the lowest index on ties) and its value
/// (`score` is scratch), and over `update(u, zk, bufs, more)`: the update after a
/// selection ([`update`]), then the next selection when `more`.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn ormp_steps<T: Real>(
    s: &mut OrmpScratch<T>,
    gram: &Mat<T>,
    a0: &[T],
    ynorm2: T,
    kmax: usize,
    eps2: T,
    xj: &mut [T],
    combine: impl Fn(&mut [T], &[T], MatRef<'_, T>, &[T], T),
    select: impl Fn(&mut [T], &[T], &[T], &[T]) -> (usize, T),
    update_select: impl Fn(&[T], T, Bufs<'_, T>, bool) -> Option<(usize, T)>,
) -> Report {
    let m = a0.len();
    s.chol.clear();
    s.support.clear();
    s.z.clear();
    s.alpha.copy_from_slice(a0);
    s.nu.copy_from_slice(&s.diag);
    let ynorm = ynorm2.sqrt();
    let floor = (T::ORTHOGONAL_TOL * ynorm).powi(2);
    let mut res2 = ynorm2;
    let mut converged = false;
    // The selection the last update computed with it.
    let mut next = None;
    loop {
        let k = s.support.len();
        if res2 <= eps2 || (k == kmax && eps2 < T::zero()) {
            converged = true;
            break;
        }
        if k == kmax {
            break;
        }
        let (i, sc) = match next.take() {
            Some(v) => v,
            None => select(&mut s.score, &s.alpha, &s.nu, &s.tolg),
        };
        if sc <= floor {
            converged = true; // nothing left to explain
            break;
        }
        let gi = gram.col_as_slice(i);
        s.g.clear();
        s.g.extend(s.support.iter().map(|&t| gi[t]));
        if !s.chol.push(&mut s.g, gi[i]) {
            break;
        }
        let row = s.chol.row(k);
        let (done, rest) = s.u.split_at_mut(k * m);
        let uk = &mut rest[..m];
        let inv = T::one() / row[k];
        combine(
            uk,
            gi,
            MatRef::from_column_major_slice(done, m, k),
            &row[..k],
            inv,
        );
        let zk = (a0[i] - row[..k].iter().zip(&s.z).map(|(&l, &z)| l * z).sum::<T>()) * inv;
        s.support.push(i);
        s.z.push(zk);
        res2 = (ynorm2 - s.z.iter().map(|&z| z * z).sum::<T>()).max(T::zero());
        // A selected atom scores zero from now on (restored below for the next signal).
        s.tolg[i] = T::infinity();
        // The next iteration selects unless it stops (the tests at the top of the loop).
        let more = res2 > eps2 && k + 1 < kmax;
        let bufs = Bufs {
            score: &mut s.score,
            alpha: &mut s.alpha,
            nu: &mut s.nu,
            tolg: &s.tolg,
        };
        next = update_select(uk, zk, bufs, more);
    }
    for &t in &s.support {
        s.tolg[t] = T::DEPENDENCE_TOL * s.diag[t];
    }
    // x_S = L^{-T} z
    let mut x = s.z.clone();
    s.chol.backward(&mut x);
    finish(&s.support, &x, res2, converged, xj)
}
