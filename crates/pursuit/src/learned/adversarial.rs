//! The adversarial dictionary of Moreau & Bruna (ICLR 2017, sec. 4.2), on which FacNet's
//! factorisation of the Gram matrix should gain nothing over ISTA.

use faer::Mat;
use rand::seq::index::sample;
use rand::Rng;
use sparse_core::Dictionary;

use crate::error::{invalid, Result};

/// The real form of Moreau & Bruna's adversarial dictionary: `m` distinct frequencies
/// `zeta_1 < ... < zeta_m` drawn uniformly without replacement from `{1, ..., k/2 - 1}` (0 and
/// `k/2`, whose sine rows vanish, excluded) and the `2m x k` dictionary whose atom `j`
/// (`j = 0..k-1`) has, for frequency `q = 1..m`,
///
/// ```text
/// D[2q - 2, j] =  cos(2 pi j zeta_q / k) / sqrt(m)      (real part of exp(-i 2 pi j zeta_q / k))
/// D[2q - 1, j] = -sin(2 pi j zeta_q / k) / sqrt(m)      (imaginary part)
/// ```
///
/// Every atom has unit norm; the Gram matrix `B = D^T D`,
/// `B[j, l] = 1/m sum_q cos(2 pi (j - l) zeta_q / k)`, is circulant, diagonalised by the
/// (delocalised) Fourier basis only, with eigenvalue `k / (2m)` on the `2m` frequencies
/// `+- zeta_q` and 0 elsewhere, so `||D||_2^2 = k / (2m)`. Returns the dictionary and the sorted
/// frequencies.
///
/// Errors: `k < 4`, or `m` outside `1..=k/2 - 1` (`m`).
pub fn adversarial_dictionary<R: Rng + ?Sized>(
    m: usize,
    k: usize,
    rng: &mut R,
) -> Result<(Dictionary, Vec<usize>)> {
    if k < 4 {
        return Err(invalid("k", k, "at least 4 atoms"));
    }
    let most = k / 2 - 1;
    if m == 0 || m > most {
        return Err(invalid(
            "m",
            m,
            format!("a number of frequencies in 1..={most} (for k = {k})"),
        ));
    }
    let mut zeta: Vec<usize> = sample(rng, most, m).iter().map(|i| i + 1).collect();
    zeta.sort_unstable();
    let scale = 1.0 / (m as f64).sqrt();
    let d = Mat::from_fn(2 * m, k, |row, j| {
        let angle = 2.0 * std::f64::consts::PI * (j * zeta[row / 2]) as f64 / k as f64;
        if row % 2 == 0 {
            angle.cos() * scale
        } else {
            -angle.sin() * scale
        }
    });
    Ok((Dictionary::from_matrix(d.as_ref())?, zeta))
}
