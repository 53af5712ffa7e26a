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
//!
//! **Measured** (`cargo xtask reproduce lista --adversarial`, seed 2017, defaults: frequencies
//! as listed in the report, 4,000 training / 1,000 held-out signals, 12 epochs per depth; 248 s
//! wall on 2 shared cores, dev profile). rho = 1/20 (z* has 5.0 non-zeros of 100):
//!
//! | method | q = 1 | q = 2 | q = 4 | q = 8 | q = 16 | q = 32 | q = 100 | training (s) |
//! |---|---|---|---|---|---|---|---|---|
//! | ISTA | 6.035e-1 | 6.010e-1 | 5.961e-1 | 5.865e-1 | 5.680e-1 | 5.330e-1 | 4.074e-1 | 0.0 |
//! | FISTA | 6.035e-1 | 6.010e-1 | 5.941e-1 | 5.731e-1 | 5.082e-1 | 3.295e-1 | 6.774e-3 | 0.0 |
//! | LISTA | 6.064e-1 | 5.599e-1 | 2.192e-1 | 3.544e-2 | 1.708e-2 | 1.253e-2 | - | 21.3 |
//! | FacNet | 6.035e-1 | 6.015e-1 | 5.967e-1 | 4.789e-1 | 3.235e-1 | 2.147e-1 | - | 66.0 |
//! | L-FISTA | 6.064e-1 | 5.557e-1 | 1.669e-1 | 3.133e-2 | 4.445e-3 | 1.023e-3 | - | 40.0 |
//!
//! rho = 1/4 (36 non-zeros):
//!
//! | method | q = 1 | q = 2 | q = 4 | q = 8 | q = 16 | q = 32 | q = 100 | training (s) |
//! |---|---|---|---|---|---|---|---|---|
//! | ISTA | 7.955e-1 | 7.940e-1 | 7.908e-1 | 7.846e-1 | 7.725e-1 | 7.490e-1 | 6.604e-1 | 0.0 |
//! | FISTA | 7.955e-1 | 7.940e-1 | 7.895e-1 | 7.759e-1 | 7.320e-1 | 6.008e-1 | 1.380e-1 | 0.0 |
//! | LISTA | 7.980e-1 | 7.919e-1 | 7.502e-1 | 6.445e-1 | 3.187e-1 | 1.785e-1 | - | 23.7 |
//! | FacNet | 7.955e-1 | 7.940e-1 | 7.909e-1 | 7.846e-1 | 7.722e-1 | 7.474e-1 | - | 59.0 |
//! | L-FISTA | 7.980e-1 | 7.925e-1 | 7.296e-1 | 4.813e-1 | 2.640e-1 | 1.348e-1 | - | 36.6 |
//!
//! Against the reference: with `rho = 1/4` FacNet gains nothing over ISTA at any depth
//! (`7.47e-1` against `7.49e-1` at `q = 32`) while LISTA still does (`1.79e-1`), as claimed. With
//! `rho = 1/20` FacNet matches ISTA up to `q = 4` but gains from `q = 8` (`2.15e-1` against
//! `5.33e-1` at `q = 32`, still behind LISTA's `1.25e-2`); its learned `A_t` stay close to the
//! identity (mean `||A_t - I||_F = 2.5` against about 14 for a rotation) and its gain comes
//! from the diagonal `s_t` (down to `0.003 L`): per-atom step sizes larger than `1/L`, which
//! pay off on very sparse codes of this incoherent (partial-Fourier) dictionary. Unlike on the
//! Gaussian dictionary, no network gains at `q = 1, 2`.

use std::time::Instant;

use pursuit::learned::adversarial_dictionary;
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

/// The adversarial dictionary (`2m x k`, see the module docs and [`adversarial_dictionary`])
/// on `m` frequencies drawn from `1..k/2` with `seed`, and the sorted frequencies.
fn dictionary(m: usize, k: usize, seed: u64) -> BoxResult<(Dictionary, Vec<usize>)> {
    Ok(adversarial_dictionary(m, k, &mut generate::rng(seed))?)
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
