//! Generators shared by the experiment tests: low-coherence dictionaries, noise of an exact
//! norm, locally sparse convolutional codes.
#![allow(dead_code)]

use faer::linalg::matmul::matmul;
use faer::{Accum, Mat, Par};
use rand::rngs::StdRng;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};
use sparse_core::Dictionary;

/// A random orthogonal `n x n` matrix: the Q factor of a Gaussian matrix's QR.
pub fn random_orthogonal(n: usize, rng: &mut StdRng) -> Mat<f64> {
    let g = Mat::<f64>::from_fn(n, n, |_, _| StandardNormal.sample(rng));
    g.qr().compute_Q()
}

/// `Q [I, DCT]`: the two-ortho dictionary rotated by a random orthogonal `Q`, so it is not
/// axis-aligned but keeps the Gram matrix (and the coherence) of `[I, DCT]`; its columns are then
/// shuffled with random signs.
pub fn rotated_identity_dct(n: usize, rng: &mut StdRng) -> Dictionary {
    let base = Dictionary::identity_dct(n).unwrap();
    let q = random_orthogonal(n, rng);
    let mut d = Mat::<f64>::zeros(n, 2 * n);
    matmul(
        d.as_mut(),
        Accum::Replace,
        q.as_ref(),
        base.matrix(),
        1.0,
        Par::Seq,
    );
    let mut perm: Vec<usize> = (0..2 * n).collect();
    for i in (1..perm.len()).rev() {
        perm.swap(i, rng.random_range(0..=i));
    }
    let signs: Vec<f64> = (0..2 * n)
        .map(|_| if rng.random::<bool>() { 1.0 } else { -1.0 })
        .collect();
    let shuffled = Mat::<f64>::from_fn(n, 2 * n, |r, c| signs[c] * d[(r, perm[c])]);
    Dictionary::from_matrix(shuffled.as_ref()).unwrap()
}

/// A Gaussian direction scaled to l2 norm exactly `eps`.
pub fn noise_of_norm(n: usize, eps: f64, rng: &mut StdRng) -> Vec<f64> {
    let g: Vec<f64> = (0..n).map(|_| StandardNormal.sample(rng)).collect();
    let nrm = g.iter().map(|v| v * v).sum::<f64>().sqrt();
    g.iter().map(|v| v * eps / nrm).collect()
}

/// The support (sorted indices of entries `|x_i| > tol`).
pub fn support(x: &[f64], tol: f64) -> Vec<usize> {
    (0..x.len()).filter(|&i| x[i].abs() > tol).collect()
}

/// The Barker sequence of length 13: aperiodic autocorrelation sidelobes of magnitude at most
/// 1/13 once normalised, so a one-filter convolutional dictionary with coherence 1/13.
pub const BARKER13: [f64; 13] = [
    1.0, 1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, 1.0, -1.0, 1.0, -1.0, 1.0,
];

/// A binary sequence of length 13 found by random search whose auto- and cross-correlations with
/// [`BARKER13`] (at every overlapping shift) are at most 4/13 once normalised.
pub const PARTNER13: [f64; 13] = [
    -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, -1.0,
];

/// Barker-13 alone (`m = 1`, `mu = 1/13`) or with [`PARTNER13`] (`m = 2`, `mu = 4/13`).
pub fn barker_filters(m: usize) -> Mat<f64> {
    Mat::from_fn(
        13,
        m,
        |i, j| if j == 0 { BARKER13[i] } else { PARTNER13[i] },
    )
}

/// A random convolutional code (FilterMajor, `n_filters` maps of length `signal_len`) with at
/// most `s` non-zeros in every stripe of `2 filter_len - 1` positions (circular), magnitudes in
/// `[lo, 1]` with random signs. Candidates are visited in random order and kept while every
/// stripe they touch stays within `s`.
pub fn local_sparse_code(
    signal_len: usize,
    n_filters: usize,
    filter_len: usize,
    s: usize,
    lo: f64,
    rng: &mut StdRng,
) -> Vec<f64> {
    let nn = signal_len;
    let w = (2 * filter_len - 1).min(nn);
    let mut counts = vec![0usize; nn]; // non-zeros per position
    let mut code = vec![0.0; nn * n_filters];
    let mut cand: Vec<usize> = (0..nn * n_filters).collect();
    for i in (1..cand.len()).rev() {
        cand.swap(i, rng.random_range(0..=i));
    }
    for c in cand {
        let p = c % nn;
        // Stripes (windows of w positions) containing p start at p - w + 1 .. p.
        let fits = (0..w).all(|o| {
            let start = (p + nn - o) % nn;
            (0..w).map(|t| counts[(start + t) % nn]).sum::<usize>() < s
        });
        if fits && rng.random::<f64>() < 0.7 {
            counts[p] += 1;
            let mag = rng.random_range(lo..=1.0);
            code[c] = if rng.random::<bool>() { mag } else { -mag };
        }
    }
    code
}
