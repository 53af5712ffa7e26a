//! Signals that truly belong to a multi-layer model: every `Gamma_i = D_(i+1,K) Gamma_K` is
//! sparse, not only the deepest code.
//!
//! A random sparse `Gamma_K` generally gives *dense* intermediate codes (each atom of a dense
//! `D_K` touches every entry of `Gamma_{K-1}`). The systematic synthesis of Aberdam, Sulam &
//! Elad (*Multi-layer sparse coding: the holistic way*, SIAM J. Math. Data Sci. 2019) instead
//! chooses the deepest support so that the products stay sparse. Here the support is grown one
//! atom at a time among the atoms that keep every layer within its budget: with sparse deeper
//! dictionaries, atoms whose supports overlap. The structural support of layer `i` is the union
//! of the supports of the chosen atoms of `D_(i+1,K)`; a request that no choice can meet is an
//! error, never a silently dense code.

use faer::Mat;
use rand::seq::IndexedRandom;
use rand::Rng;
use sparse_core::{check, LinearOperator, Noise};

use crate::error::{invalid, Error, Result};
use crate::model::MlModel;

/// Entries with `|v| <= SUPPORT_TOL * max|Gamma_i|` count as zeros when measuring sparsity.
pub const SUPPORT_TOL: f64 = 1e-12;

/// How to synthesise model signals (see the module docs).
///
/// | Name | Default | Meaning |
/// | --- | --- | --- |
/// | `sparsity` | (required) | `[s_1, ..., s_K]`: `||Gamma_K||_0 = s_K` exactly, `||Gamma_i||_0 <= s_i` |
/// | `contrast` | `0.5` | `min / max` of the magnitudes of `Gamma_K` (in `(0, 1]`) |
/// | `max_abs` | `1.0` | largest magnitude of `Gamma_K` |
/// | `positive` | `false` | non-negative `Gamma_K` (else random signs) |
/// | `noise` | `Noise::None` | additive white Gaussian noise on the signals |
/// | `restarts` | `200` | random restarts of the support growth before giving up |
/// | `local` | `false` | budgets `s_1..s_{K-1}` bound the stripe norms `||Gamma_i||_{0,inf}` ([`Layer::l0_inf`](crate::Layer::l0_inf)) instead of `||Gamma_i||_0` |
#[derive(Debug, Clone, PartialEq)]
pub struct Synthesis {
    /// Sparsity of every layer, `s_1..s_K`.
    pub sparsity: Vec<usize>,
    /// `|min| / |max|` of the deepest code's non-zeros.
    pub contrast: f64,
    /// Largest magnitude of the deepest code.
    pub max_abs: f64,
    /// Non-negative deepest code.
    pub positive: bool,
    /// Noise on the signals.
    pub noise: Noise,
    /// Random restarts of the support growth per signal.
    pub restarts: usize,
    /// Budgets of the intermediate layers on the stripe norm (the convolutional model's local
    /// sparsity) instead of the global count.
    pub local: bool,
}

/// Synthesised signals with every layer's code and the sparsity achieved.
#[derive(Debug, Clone)]
pub struct MlSignals {
    /// `codes[i - 1] = Gamma_i` (`n_i x b`), `i = 1..=K`.
    pub codes: Vec<Mat<f64>>,
    /// Clean signals `X = D_1 Gamma_1`.
    pub clean: Mat<f64>,
    /// Observed signals `X + E`.
    pub noisy: Mat<f64>,
    /// Noise standard deviation used.
    pub sigma: f64,
    /// Largest number of non-zeros of `Gamma_i` over the batch, per layer.
    pub max_sparsity: Vec<usize>,
    /// Mean number of non-zeros of `Gamma_i` over the batch, per layer.
    pub mean_sparsity: Vec<f64>,
    /// Largest stripe norm `||Gamma_i||_{0,inf}` ([`crate::Layer::l0_inf`], with respect to
    /// `D_i`) over the batch, per layer: the local sparsity the convolutional theorems use
    /// (equal to `max_sparsity` for dense layers).
    pub max_local_sparsity: Vec<usize>,
}

impl MlSignals {
    /// `Gamma_i`, `1 <= i <= K`.
    pub fn code(&self, i: usize) -> Option<&Mat<f64>> {
        i.checked_sub(1).and_then(|k| self.codes.get(k))
    }
}

/// Number of entries of column `j` of `m` above the support tolerance (relative to the
/// column's largest magnitude).
pub fn column_nnz(m: &Mat<f64>, j: usize) -> usize {
    let mx = m.col(j).iter().fold(0.0f64, |a, v| a.max(v.abs()));
    m.col(j)
        .iter()
        .filter(|v| v.abs() > SUPPORT_TOL * mx && **v != 0.0)
        .count()
}

/// A fixed-size bit set.
#[derive(Clone, Debug, PartialEq)]
struct Bits(Vec<u64>);

impl Bits {
    fn new(n: usize) -> Self {
        Bits(vec![0; n.div_ceil(64)])
    }
    fn set(&mut self, i: usize) {
        self.0[i / 64] |= 1 << (i % 64);
    }
    fn count(&self) -> usize {
        self.0.iter().map(|w| w.count_ones() as usize).sum()
    }
    fn union_count(&self, o: &Bits) -> usize {
        self.0
            .iter()
            .zip(&o.0)
            .map(|(a, b)| (a | b).count_ones() as usize)
            .sum()
    }
    fn union_with(&mut self, o: &Bits) {
        self.0.iter_mut().zip(&o.0).for_each(|(a, b)| *a |= b);
    }
}

impl Synthesis {
    /// A synthesis with sparsities `[s_1, ..., s_K]` and the defaults of the table.
    pub fn new(sparsity: Vec<usize>) -> Self {
        Self {
            sparsity,
            contrast: 0.5,
            max_abs: 1.0,
            positive: false,
            noise: Noise::None,
            restarts: 200,
            local: false,
        }
    }

    sparse_core::setters! {
        /// Sets `contrast`.
        contrast: f64,
        /// Sets `max_abs`.
        max_abs: f64,
        /// Sets `positive`.
        positive: bool,
        /// Sets `noise`.
        noise: Noise,
        /// Sets `local`: the intermediate budgets bound `||Gamma_i||_{0,inf}` (for convolutional
        /// layers the local sparsity of the ML-CSC model; the same as `||Gamma_i||_0` for dense
        /// ones).
        local: bool,
    }

    fn validate(&self, model: &MlModel) -> Result<()> {
        let k = model.depth();
        if self.sparsity.len() != k {
            return Err(crate::error::mismatch(
                "sparsity",
                format!("{k} entries (one per layer)"),
                format!("{} entries", self.sparsity.len()),
            ));
        }
        for (i, &s) in self.sparsity.iter().enumerate() {
            check::count("sparsity", s, model.code_len(i + 1)?)?;
        }
        if !(self.contrast > 0.0 && self.contrast <= 1.0) {
            return Err(invalid("contrast", self.contrast, "a number in (0, 1]"));
        }
        check::positive("max_abs", self.max_abs)?;
        Ok(())
    }

    /// Structural supports `S_i(j)`, `i = 1..K-1`, of every deepest atom `j`.
    fn atom_supports(&self, model: &MlModel) -> Result<Vec<Vec<Bits>>> {
        let k = model.depth();
        let m_k = model.code_len(k)?;
        let mut cache: Vec<Vec<Option<Vec<usize>>>> = (1..=k)
            .map(|i| vec![None; model.code_len(i).unwrap_or(0)])
            .collect();
        let mut out = Vec::with_capacity(m_k);
        for j in 0..m_k {
            // Layer i - 1 support from layer i support, for i = K down to 2.
            let mut cur = vec![j];
            let mut per_layer = vec![Bits::new(0); k - 1];
            for i in (2..=k).rev() {
                let layer = model.layer(i)?;
                let n_above = model.code_len(i - 1)?;
                let mut bits = Bits::new(n_above);
                for &r in &cur {
                    let col = cache[i - 1][r].get_or_insert_with(|| layer.column_support(r));
                    col.iter().for_each(|&q| bits.set(q));
                }
                cur = (0..n_above)
                    .filter(|&q| bits.0[q / 64] >> (q % 64) & 1 == 1)
                    .collect();
                per_layer[i - 2] = bits;
            }
            out.push(per_layer);
        }
        Ok(out)
    }

    /// Grows one deepest support of `s_K` atoms. `None` when this attempt got stuck.
    fn grow<R: Rng + ?Sized>(
        &self,
        model: &MlModel,
        sup: &[Vec<Bits>],
        sizes: &[usize],
        greedy: bool,
        blocked: &mut [usize],
        rng: &mut R,
    ) -> Option<Vec<usize>> {
        let k1 = sizes.len();
        let s_k = self.sparsity[k1];
        let mut unions: Vec<Bits> = sizes.iter().map(|&n| Bits::new(n)).collect();
        let mut t: Vec<usize> = Vec::with_capacity(s_k);
        let mut cand: Vec<(usize, usize)> = Vec::new();
        while t.len() < s_k {
            cand.clear();
            for (j, s) in sup.iter().enumerate() {
                if t.contains(&j) {
                    continue;
                }
                let mut growth = 0;
                let mut ok = true;
                for i in 0..k1 {
                    let u = unions[i].union_count(&s[i]);
                    let measure = if self.local {
                        let (a, b) = (&unions[i], &s[i]);
                        let layer = model.layers()[i].as_ref();
                        layer.stripe_max(&|q| (a.0[q / 64] | b.0[q / 64]) >> (q % 64) & 1 == 1)
                    } else {
                        u
                    };
                    if measure > self.sparsity[i] {
                        blocked[i] += 1;
                        ok = false;
                        break;
                    }
                    growth += u - unions[i].count();
                }
                if ok {
                    cand.push((j, growth));
                }
            }
            if cand.is_empty() {
                return None;
            }
            let j = if greedy {
                let best = cand.iter().map(|c| c.1).min().unwrap_or(0);
                let ties: Vec<usize> = cand.iter().filter(|c| c.1 == best).map(|c| c.0).collect();
                *ties.choose(rng)?
            } else {
                cand.choose(rng)?.0
            };
            for i in 0..k1 {
                unions[i].union_with(&sup[j][i]);
            }
            t.push(j);
        }
        Some(t)
    }

    /// `n_signals` signals of `model` (see the module docs). Errors with
    /// [`Error::Unsatisfiable`] when no deepest support of `s_K` atoms keeps every layer within
    /// its budget.
    pub fn generate<R: Rng + ?Sized>(
        &self,
        model: &MlModel,
        n_signals: usize,
        rng: &mut R,
    ) -> Result<MlSignals> {
        self.validate(model)?;
        check::count("n_signals", n_signals, usize::MAX)?;
        let k = model.depth();
        let sizes: Vec<usize> = (1..k).map(|i| model.code_len(i)).collect::<Result<_>>()?;
        let sup = self.atom_supports(model)?;
        // A layer no single atom fits in can never be met.
        for i in 0..k - 1 {
            let layer = model.layers()[i].as_ref();
            let least = sup
                .iter()
                .map(|s| {
                    if self.local {
                        layer.stripe_max(&|q| s[i].0[q / 64] >> (q % 64) & 1 == 1)
                    } else {
                        s[i].count()
                    }
                })
                .min()
                .unwrap_or(0);
            if least > self.sparsity[i] {
                return Err(Error::Unsatisfiable {
                    layer: i + 1,
                    requested: self.sparsity[i],
                    reason: format!(
                        "every atom of D_({},{k}) already has {least} non-zeros there \
                         (use sparser deeper dictionaries or a larger budget)",
                        i + 2
                    ),
                });
            }
        }
        let m_k = model.code_len(k)?;
        let mut gamma = Mat::<f64>::zeros(m_k, n_signals);
        for col in 0..n_signals {
            let mut blocked = vec![0usize; k - 1];
            let mut t = None;
            for attempt in 0..=self.restarts {
                t = self.grow(
                    model,
                    &sup,
                    &sizes,
                    attempt == self.restarts,
                    &mut blocked,
                    rng,
                );
                if t.is_some() {
                    break;
                }
            }
            let Some(t) = t else {
                let worst = (0..k - 1).max_by_key(|&i| blocked[i]).unwrap_or(0);
                return Err(Error::Unsatisfiable {
                    layer: worst + 1,
                    requested: self.sparsity[worst],
                    reason: format!(
                        "no support of {} deepest atoms was found in {} attempts whose \
                         products stay that sparse",
                        self.sparsity[k - 1],
                        self.restarts + 1
                    ),
                });
            };
            for (r, &j) in t.iter().enumerate() {
                let mag = match r {
                    0 => self.max_abs,
                    1 => self.contrast * self.max_abs,
                    _ => self.max_abs * rng.random_range(self.contrast..=1.0),
                };
                let sign = if self.positive || rng.random::<bool>() {
                    1.0
                } else {
                    -1.0
                };
                gamma[(j, col)] = sign * mag;
            }
        }
        let (codes, clean) = model.propagate(gamma.as_ref())?;
        debug_assert_eq!(clean.nrows(), model.layers()[0].nrows());
        let sigma = self.noise.sigma_for(clean.as_ref())?;
        let noisy = if sigma > 0.0 {
            sparse_core::generate::add_noise(clean.as_ref(), sigma, rng)?
        } else {
            clean.clone()
        };
        let counts: Vec<Vec<usize>> = codes
            .iter()
            .map(|c| (0..c.ncols()).map(|j| column_nnz(c, j)).collect())
            .collect();
        let mut max_local_sparsity = Vec::with_capacity(codes.len());
        for (i, c) in codes.iter().enumerate() {
            let layer = model.layer(i + 1)?;
            let mut best = 0;
            for j in 0..c.ncols() {
                let col: Vec<f64> = c.col(j).iter().copied().collect();
                let mx = col.iter().fold(0.0f64, |a, v| a.max(v.abs()));
                best = best.max(layer.l0_inf(&col, SUPPORT_TOL * mx)?);
            }
            max_local_sparsity.push(best);
        }
        Ok(MlSignals {
            max_local_sparsity,
            max_sparsity: counts
                .iter()
                .map(|c| c.iter().copied().max().unwrap_or(0))
                .collect(),
            mean_sparsity: counts
                .iter()
                .map(|c| c.iter().sum::<usize>() as f64 / n_signals as f64)
                .collect(),
            codes,
            clean,
            noisy,
            sigma,
        })
    }
}
