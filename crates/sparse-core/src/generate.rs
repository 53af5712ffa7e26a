//! Seeded generators of Sparseland data: sparse codes, Bernoulli-Gaussian codes, noisy signals.
//!
//! Every generator takes an `Rng`; use [`rng`] (a seeded `StdRng`) for reproducible numbers.

use faer::{Mat, MatRef, Par};
use rand::seq::index::sample;
use rand::{rngs::StdRng, Rng, SeedableRng};
use rand_distr::{Distribution, Normal, StandardNormal};

use crate::error::{check, Result};
use crate::operator::LinearOperator;

/// A seeded `StdRng`: the same seed gives the same numbers on every machine.
pub fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

/// A sparse random dictionary with low coherence by construction: `m` columns of length `n`,
/// each with exactly `nnz` entries `±1/sqrt(nnz)` (unit norm, random signs) on a uniformly
/// random support, supports drawn again until every pair of columns shares at most
/// `max_shared` rows, so that the mutual coherence is at most `max_shared / nnz` (`0`: disjoint
/// supports, orthonormal columns). These are the sparse layers of the
/// multi-layer model's experiments (Papyan, Romano & Elad, *Convolutional neural networks
/// analyzed via convolutional sparse coding*, JMLR 2017; Sulam, Papyan, Romano & Elad,
/// *Multilayer convolutional sparse modeling: pursuit and dictionary learning*, IEEE TSP 2018),
/// where sparse deeper dictionaries keep the effective dictionaries' coherence low.
///
/// # Errors
/// When a size is zero or `nnz > n`, or when `100 m + 1000` draws of supports have not produced
/// `m` compatible columns (for `max_shared = 1` the pairwise condition allows at most about
/// `n (n - 1) / (nnz (nnz - 1))` columns; for `0`, `n / nnz`).
pub fn sparse_sign_matrix<R: Rng + ?Sized>(
    n: usize,
    m: usize,
    nnz: usize,
    max_shared: usize,
    rng: &mut R,
) -> Result<Mat<f64>> {
    check::count("n", n, usize::MAX)?;
    check::count("m", m, usize::MAX)?;
    check::count("nnz", nnz, n)?;
    check::size("n * m", &[n, m])?;
    let budget = m.saturating_mul(100).saturating_add(1000);
    let mut rows: Vec<Vec<usize>> = Vec::with_capacity(m.min(1 << 20));
    let mut draws = 0usize;
    while rows.len() < m {
        if draws == budget {
            return Err(crate::Error::InvalidParameter {
                name: "m",
                value: m.to_string(),
                expected: format!(
                    "few enough columns of length {n} with {nnz} entries that supports sharing at \
                     most {max_shared} rows can be drawn ({} found in {budget} draws)",
                    rows.len()
                ),
            });
        }
        draws += 1;
        let mut r: Vec<usize> = sample(rng, n, nnz).into_vec();
        r.sort_unstable();
        if rows
            .iter()
            .all(|o| o.iter().filter(|x| r.binary_search(x).is_ok()).count() <= max_shared)
        {
            rows.push(r);
        }
    }
    let v = 1.0 / (nnz as f64).sqrt();
    let mut d = Mat::<f64>::zeros(n, m);
    for (j, r) in rows.iter().enumerate() {
        for &i in r {
            d[(i, j)] = if rng.random::<bool>() { v } else { -v };
        }
    }
    Ok(d)
}

/// Sparseland codes: `n_signals` columns of length `n_atoms`, each with *exactly* `k`
/// non-zeros on a uniformly random support, random signs, and magnitudes in
/// `[contrast * max_abs, max_abs]` whose smallest is exactly `contrast * max_abs` and largest
/// exactly `max_abs` (for `k >= 2`; a single non-zero has magnitude `max_abs`). The contrast
/// `|min| / |max|` is what the thresholding guarantees depend on.
pub fn sparseland_codes<R: Rng + ?Sized>(
    n_atoms: usize,
    k: usize,
    n_signals: usize,
    contrast: f64,
    max_abs: f64,
    rng: &mut R,
) -> Result<Mat<f64>> {
    check::count("n_atoms", n_atoms, usize::MAX)?;
    check::count("k", k, n_atoms)?;
    check::count("n_signals", n_signals, usize::MAX)?;
    if !(contrast > 0.0 && contrast <= 1.0) {
        return Err(crate::Error::InvalidParameter {
            name: "contrast",
            value: contrast.to_string(),
            expected: "a number in (0, 1]".into(),
        });
    }
    check::positive("max_abs", max_abs)?;
    check::size("n_atoms * n_signals", &[n_atoms, n_signals])?;
    let mut x = Mat::<f64>::zeros(n_atoms, n_signals);
    for j in 0..n_signals {
        let support = sample(rng, n_atoms, k);
        for (r, i) in support.iter().enumerate() {
            let mag = match r {
                0 => max_abs,
                1 => contrast * max_abs,
                _ => max_abs * rng.random_range(contrast..=1.0),
            };
            let sign = if rng.random::<bool>() { 1.0 } else { -1.0 };
            x[(i, j)] = sign * mag;
        }
    }
    Ok(x)
}

/// Bernoulli-Gaussian codes: each entry is non-zero with probability `rho`, and then drawn from
/// `N(0, sigma^2)` (the model of Moreau & Bruna's experiments).
pub fn bernoulli_gaussian<R: Rng + ?Sized>(
    n_atoms: usize,
    n_signals: usize,
    rho: f64,
    sigma: f64,
    rng: &mut R,
) -> Result<Mat<f64>> {
    check::count("n_atoms", n_atoms, usize::MAX)?;
    check::count("n_signals", n_signals, usize::MAX)?;
    check::in_range("rho", rho, 0.0, 1.0)?;
    check::positive("sigma", sigma)?;
    check::size("n_atoms * n_signals", &[n_atoms, n_signals])?;
    let normal = Normal::new(0.0, sigma).expect("sigma checked positive");
    Ok(Mat::from_fn(n_atoms, n_signals, |_, _| {
        if rng.random::<f64>() < rho {
            normal.sample(rng)
        } else {
            0.0
        }
    }))
}

/// How much white Gaussian noise to add to clean signals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Noise {
    /// No noise.
    None,
    /// Standard deviation of every entry.
    Sigma(f64),
    /// Signal-to-noise ratio in dB, `10 log10(||Y||_F^2 / E||E||_F^2)`, over the whole batch.
    SnrDb(f64),
}

impl Noise {
    /// The per-entry standard deviation this noise level means for the clean batch `clean`.
    pub fn sigma_for(&self, clean: MatRef<'_, f64>) -> Result<f64> {
        match *self {
            Noise::None => Ok(0.0),
            Noise::Sigma(s) => {
                check::non_negative("sigma", s)?;
                Ok(s)
            }
            Noise::SnrDb(db) => {
                if !db.is_finite() {
                    check::positive("snr_db", db)?;
                }
                let n = (clean.nrows() * clean.ncols()).max(1) as f64;
                let power = clean.squared_norm_l2() / n;
                Ok((power / 10f64.powf(db / 10.0)).sqrt())
            }
        }
    }
}

/// `y + e` with `e` i.i.d. `N(0, sigma^2)`; `y` is not modified.
pub fn add_noise<R: Rng + ?Sized>(y: MatRef<'_, f64>, sigma: f64, rng: &mut R) -> Result<Mat<f64>> {
    check::non_negative("sigma", sigma)?;
    Ok(Mat::from_fn(y.nrows(), y.ncols(), |i, j| {
        let g: f64 = StandardNormal.sample(rng);
        y[(i, j)] + sigma * g
    }))
}

/// Synthesised signals with their ingredients.
#[derive(Debug, Clone)]
pub struct Signals {
    /// Clean signals `D X`.
    pub clean: Mat<f64>,
    /// Observed signals `D X + E`.
    pub noisy: Mat<f64>,
    /// The noise standard deviation that was used.
    pub sigma: f64,
}

/// `Y = D X + E` for codes `x` (columns) and a noise level.
pub fn signals<Op: LinearOperator + ?Sized, R: Rng + ?Sized>(
    d: &Op,
    x: MatRef<'_, f64>,
    noise: Noise,
    rng: &mut R,
) -> Result<Signals> {
    check::batch("x", x, d.ncols())?;
    let mut clean = Mat::zeros(d.nrows(), x.ncols());
    d.apply_into(x, clean.as_mut(), Par::Seq)?;
    let sigma = noise.sigma_for(clean.as_ref())?;
    let noisy = if sigma > 0.0 {
        add_noise(clean.as_ref(), sigma, rng)?
    } else {
        clean.clone()
    };
    Ok(Signals {
        clean,
        noisy,
        sigma,
    })
}
