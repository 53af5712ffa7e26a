//! Everything this crate can say about one dense dictionary and one sparsity, in one call: the
//! quantities (coherence, Welch bound, Babel function, spark, ERC of a random support, a RIP
//! estimate) and every applicable certificate.

use std::fmt;

use rand::seq::index::sample;
use serde::Serialize;
use sparse_core::{generate, Dictionary};

use crate::certificate::Certificate;
use crate::coherence::{babel, welch_bound};
use crate::error::{invalid, non_negative, Result};
use crate::spark::{spark, Spark, SparkOptions};
use crate::support::{erc, rip_lower_estimate, RipEstimate};
use crate::{sparseland, Error};

/// Options of [`report`].
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `k` | `3` | sparsity of the codes the certificates are about |
/// | `eps` | `0.0` | noise level `||e||_2` (relative to the largest coefficient) |
/// | `contrast` | `0.5` | `|a_min| / |a_max|` for the thresholding certificate |
/// | `seed` | `0` | seed of the random support (ERC) and of the RIP supports |
/// | `rip_trials` | `200` | random supports for the RIP estimate |
/// | `babel_at` | `[1, 2, 4, 8, 16]` | where the Babel function is reported |
/// | `spark` | [`SparkOptions::default`] | budget of the exhaustive spark search |
#[derive(Debug, Clone, PartialEq)]
pub struct ReportOptions {
    /// Sparsity.
    pub k: usize,
    /// Noise level, relative to `|a_max| = 1`.
    pub eps: f64,
    /// Contrast `|a_min| / |a_max|` in `(0, 1]`.
    pub contrast: f64,
    /// Seed of the random supports.
    pub seed: u64,
    /// Number of supports of the RIP estimate.
    pub rip_trials: usize,
    /// Sparsities at which the Babel function is reported.
    pub babel_at: Vec<usize>,
    /// Options of the spark search.
    pub spark: SparkOptions,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            k: 3,
            eps: 0.0,
            contrast: 0.5,
            seed: 0,
            rip_trials: 200,
            babel_at: vec![1, 2, 4, 8, 16],
            spark: SparkOptions::default(),
        }
    }
}

/// The quantities and certificates of one dictionary at one sparsity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DictionaryReport {
    /// Signal length `n`.
    pub n: usize,
    /// Number of atoms `m`.
    pub m: usize,
    /// Mutual coherence.
    pub mu: f64,
    /// Welch bound `sqrt((m - n) / (n (m - 1)))`.
    pub welch: f64,
    /// `(k, mu_1(k))` at the requested sparsities.
    pub babel: Vec<(usize, f64)>,
    /// The spark or a lower bound on it.
    pub spark: Spark,
    /// A random support of size `k` and its ERC (`None` when `k > n` or the atoms on it are
    /// dependent).
    pub erc: Option<(Vec<usize>, f64)>,
    /// Lower estimate of `delta_k` (`None` when `k > min(n, m)`).
    pub rip: Option<RipEstimate>,
    /// The options' sparsity, noise and contrast.
    pub k: usize,
    /// Noise level.
    pub eps: f64,
    /// Contrast.
    pub contrast: f64,
    /// The largest sparsity each theorem guarantees for this dictionary (at the options' noise
    /// and contrast for BP stability and thresholding): `(theorem, k_max)`, 0 when none.
    pub max_sparsity: Vec<(&'static str, usize)>,
    /// Every applicable certificate.
    pub certificates: Vec<Certificate>,
}

/// Computes the [`DictionaryReport`] of `d`.
///
/// Errors: `k = 0`, `eps` negative or non-finite, `contrast` outside `(0, 1]`.
pub fn report(d: &Dictionary, opts: &ReportOptions) -> Result<DictionaryReport> {
    let (n, m) = (d.signal_len(), d.n_atoms());
    let k = opts.k;
    if k == 0 || k > m {
        return Err(invalid("k", k, format!("a sparsity in 1..={m}")));
    }
    let eps = non_negative("eps", opts.eps)?;
    if !(opts.contrast.is_finite() && opts.contrast > 0.0 && opts.contrast <= 1.0) {
        return Err(invalid("contrast", opts.contrast, "a contrast in (0, 1]"));
    }
    let mu = d.coherence();
    let bab = babel(d);
    let sp = spark(d, opts.spark)?;
    let erc_pair = if k <= n {
        let mut rng = generate::rng(opts.seed);
        let mut s = sample(&mut rng, m, k).into_vec();
        s.sort_unstable();
        match erc(d, &s) {
            Ok(v) => Some((s, v)),
            Err(Error::DependentSupport { .. }) => None,
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    let rip = if k <= n.min(m) && opts.rip_trials > 0 {
        Some(rip_lower_estimate(d, k, opts.rip_trials, opts.seed)?)
    } else {
        None
    };
    let kf = k as f64;
    let mut certificates = vec![
        sparseland::uniqueness_spark(sp.value, kf)?,
        sparseland::uniqueness_coherence(mu, kf)?,
        sparseland::omp_recovery(mu, kf)?,
        sparseland::bp_recovery(mu, kf)?,
        sparseland::babel_recovery(&bab, k)?,
    ];
    if let Some((_, v)) = &erc_pair {
        let mut c = sparseland::erc_recovery(*v)?;
        c.theorem.push_str(" on a random support");
        certificates.push(c);
    }
    certificates.push(sparseland::bp_stability(mu, kf, eps)?);
    certificates.push(sparseland::thresholding_recovery(
        mu,
        kf,
        opts.contrast,
        1.0,
        eps,
    )?);
    let babel_max = (1..m)
        .take_while(|&j| bab.at(j - 1) + bab.at(j) < 1.0)
        .last()
        .unwrap_or(0);
    let max_sparsity = vec![
        (
            "uniqueness (spark)",
            sparseland::largest_below(sp.value / 2.0),
        ),
        (
            "OMP/BP recovery (coherence)",
            sparseland::largest_below(sparseland::coherence_bound(mu, 2.0)),
        ),
        ("OMP/BP recovery (Babel)", babel_max),
        (
            "BP stability",
            sparseland::largest_below(sparseland::coherence_bound(mu, 4.0)),
        ),
        (
            "thresholding",
            sparseland::largest_below(sparseland::thresholding_sparsity_bound(
                mu,
                opts.contrast,
                eps,
            )?),
        ),
    ];
    Ok(DictionaryReport {
        n,
        m,
        mu,
        welch: welch_bound(n, m),
        babel: opts.babel_at.iter().map(|&j| (j, bab.at(j))).collect(),
        spark: sp,
        erc: erc_pair,
        rip,
        k,
        eps,
        contrast: opts.contrast,
        max_sparsity,
        certificates,
    })
}

impl fmt::Display for DictionaryReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "dictionary: n = {}, m = {} (redundancy {:.2})",
            self.n,
            self.m,
            self.m as f64 / self.n as f64
        )?;
        writeln!(
            f,
            "  coherence mu = {:.4}   Welch bound {:.4}   (1 + 1/mu)/2 = {:.3}",
            self.mu,
            self.welch,
            sparseland::coherence_bound(self.mu, 2.0)
        )?;
        let bab: Vec<String> = self
            .babel
            .iter()
            .map(|(k, v)| format!("mu_1({k}) = {v:.3}"))
            .collect();
        writeln!(f, "  Babel: {}", bab.join(", "))?;
        writeln!(
            f,
            "  spark: {} ({}, {} subsets tested)",
            self.spark.value, self.spark.method, self.spark.subsets_checked
        )?;
        match &self.erc {
            Some((s, v)) => writeln!(f, "  ERC(S) = {v:.4} for the random support S = {s:?}")?,
            None => writeln!(f, "  ERC: not computed (k > n or dependent atoms)")?,
        }
        if let Some(r) = &self.rip {
            writeln!(
                f,
                "  RIP: delta_{} >= {:.4} (Monte-Carlo, {} supports, seed {}); <= mu_1(k-1) = {:.4}",
                r.k, r.lower, r.trials, r.seed, r.upper
            )?;
        }
        let ks: Vec<String> = self
            .max_sparsity
            .iter()
            .map(|(t, k)| {
                if *k == usize::MAX {
                    format!("{t}: any")
                } else {
                    format!("{t}: {k}")
                }
            })
            .collect();
        writeln!(f, "  largest guaranteed sparsity: {}", ks.join(", "))?;
        writeln!(
            f,
            "certificates at k = {}, eps = {}, contrast = {}:",
            self.k, self.eps, self.contrast
        )?;
        for c in &self.certificates {
            writeln!(f, "  {c}")?;
        }
        Ok(())
    }
}
