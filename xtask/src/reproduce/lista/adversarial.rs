//! `cargo xtask reproduce lista --adversarial`: the adversarial dictionary of Moreau & Bruna
//! (2017), whose Gram matrix is diagonalised only by a basis far from the canonical one, so that
//! FacNet's factorisation `B ~ A^T S A` (with `||A z||_1 ~ ||z||_1`) should gain nothing over
//! ISTA.
//!
//! The reference's atoms are `d_j = exp(-i 2 pi j zeta_q / K)`, `j = 1..K`, over a random
//! subset `{zeta_q}_{q <= m}` of the frequencies. We use its real form: `m` distinct
//! frequencies `zeta_1 < ... < zeta_m` drawn uniformly without replacement from
//! `{1, ..., K/2 - 1}` (seed `--seed`; 0 and `K/2`, whose sine rows vanish, are excluded), and
//! the `2m x K` matrix with, for atom `j = 0..K-1` and frequency `q = 1..m`,
//!
//! ```text
//! D[2q - 2, j] =  cos(2 pi j zeta_q / K) / sqrt(m)      (real part)
//! D[2q - 1, j] = -sin(2 pi j zeta_q / K) / sqrt(m)      (imaginary part)
//! ```
//!
//! Every column has unit norm exactly. `B = D^T D` is the circulant matrix
//! `B[j, k] = 1/m sum_q cos(2 pi (j - k) zeta_q / K)`: its eigenvectors are the Fourier vectors
//! (delocalised: no rotation close to the identity diagonalises it), with eigenvalue `K / (2m)`
//! on the `2m` frequencies `+- zeta_q` and 0 elsewhere, so `L = ||D||_2^2 = K / (2m)`. With the
//! default `m = 32` (`--frequencies`) the dictionary is `64 x 100`, the shape of the synthetic
//! Gaussian one. (The reference code builds the real part only, `m` rows
//! `Re ifft((1 + 0.1 u) e_zeta)`, with `K = 256`, `p = 50` in its plotting script.)
//!
//! Codes and signals are those of the synthetic experiment: Bernoulli-Gaussian `z`,
//! `rho = 1/20` and `1/4` (`--rho`), `sigma = 10`, `x = D z` without noise, `lambda = 0.01`,
//! the same training sizes: the runs differ from the synthetic ones by the dictionary only.

use std::time::Instant;

use faer::Mat;
use rand::seq::index::sample;
use sparse_core::{generate, Dictionary, LinearOperator};

use super::{bernoulli_gaussian_cases, training_bar, training_summary, Config, Report, K};
use crate::bench::BoxResult;

/// Checks the adversarial options.
pub(super) fn validate(c: &Config) -> BoxResult<()> {
    let most = K / 2 - 1;
    if c.frequencies == 0 || c.frequencies > most {
        return Err(format!("`--frequencies` must be in 1..={most} (for K = {K})").into());
    }
    Ok(())
}

/// The adversarial dictionary (`2m x k`, see the module docs) on `m` frequencies drawn from
/// `1..k/2` with `seed`, and the sorted frequencies.
fn dictionary(m: usize, k: usize, seed: u64) -> BoxResult<(Dictionary, Vec<usize>)> {
    let mut rng = generate::rng(seed);
    let mut zeta: Vec<usize> = sample(&mut rng, k / 2 - 1, m)
        .iter()
        .map(|i| i + 1)
        .collect();
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

/// Runs the adversarial experiment (see the module docs).
pub(super) fn run(cfg: &Config) -> BoxResult<()> {
    let start = Instant::now();
    let (d, zeta) = dictionary(cfg.frequencies, K, cfg.seed)?;
    let bar = training_bar(cfg, cfg.rhos.len())?;
    let outcomes = bernoulli_gaussian_cases(cfg, &d, "lista_adversarial", "adversarial, ", &bar)?;
    bar.finish_with_message("done");
    let zeta: Vec<String> = zeta.iter().map(usize::to_string).collect();
    let description = format!(
        "D: {} x {K}, real Fourier atoms d_j = (cos, -sin)(2 pi j zeta_q / {K}) / sqrt({m}) on \
         m = {m} frequencies zeta = {{{}}} (seed {}); L = ||D||_2^2 = {:.4} (K / 2m = {:.4}). \
         Bernoulli-Gaussian codes, sigma = {}; lambda = {}; {}",
        2 * cfg.frequencies,
        zeta.join(", "),
        cfg.seed,
        d.lipschitz(),
        K as f64 / (2 * cfg.frequencies) as f64,
        super::SIGMA,
        cfg.lambda,
        training_summary(cfg),
        m = cfg.frequencies,
    );
    let report = Report {
        title: "LISTA / FacNet vs ISTA / FISTA (Moreau & Bruna 2017, adversarial dictionary)",
        description,
        stem: "lista_adversarial",
        case_column: "rho",
    };
    report.write(cfg, &outcomes, start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adversarial_gram_is_circulant_with_flat_spectrum() {
        let (d, zeta) = dictionary(8, 40, 3).unwrap();
        assert_eq!(zeta.len(), 8);
        assert!(zeta.windows(2).all(|w| w[0] < w[1]) && zeta[7] < 20 && zeta[0] >= 1);
        let b = d.gram();
        for j in 0..40 {
            assert!((b[(j, j)] - 1.0).abs() < 1e-12);
            for k in 0..40 {
                // B[j, k] depends on j - k only (mod K).
                let (j1, k1) = ((j + 1) % 40, (k + 1) % 40);
                assert!((b[(j, k)] - b[(j1, k1)]).abs() < 1e-12);
            }
        }
        assert!((d.lipschitz() - 40.0 / 16.0).abs() < 1e-9);
    }
}
