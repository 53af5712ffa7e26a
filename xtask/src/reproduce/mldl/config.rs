//! The options of the experiment, [`DlConfig`].

use std::path::PathBuf;

use super::features::parse_feature;
use crate::bench::BoxResult;

/// Options of the experiment (`--dl-*`, parsed by [`DlConfig::parse`]).
#[derive(Debug, Clone)]
pub struct DlConfig {
    /// Passes over the dictionary-learning images.
    pub epochs: usize,
    /// Deepest atoms per image (learning, and the default of the `g3` features).
    pub sparsity: usize,
    /// Training digits used to learn the dictionaries (the first ones of the 60,000).
    pub train: usize,
    /// Atoms of the deepest layer (1024 or 2048 in 001's table).
    pub atoms: usize,
    /// l1 weights of `D_2` and `D_3`.
    pub zeta: (f64, f64),
    /// Step as a fraction of each block's `1 / L`.
    pub rate: f64,
    /// Lasso weight of the basis-pursuit features (`g3bp`).
    pub lambda: f64,
    /// Training digits coded for the classifier (the first ones of the 60,000; the last
    /// `valid` of them choose the ridge weight).
    pub probe: usize,
    /// Held-out training digits that choose the ridge weight.
    pub valid: usize,
    /// Ridge weights tried.
    pub l2: Vec<f64>,
    /// Adam iterations of the classifier.
    pub iters: usize,
    /// Feature rows of the table (see the module docs).
    pub features: Vec<String>,
    /// A learned model to load instead of learning.
    pub model: Option<PathBuf>,
    /// Suffix of the output files.
    pub tag: String,
    /// Seed of the initialisation and the shuffling.
    pub seed: u64,
    /// `lambda_1, lambda_2` of the two-layer ML-FISTA coding of `Gamma_2` (`g2mlf`), and
    /// optionally `lambda_3` of the three-layer coding (`g3mlf`, `g2mlf3`).
    pub mlf_lambda: Vec<f64>,
    /// Non-negative ML-FISTA codes (`g2mlf`).
    pub mlf_nonneg: bool,
    /// A folder where every feature row's training and test features are written (CSR,
    /// little-endian binaries) for an outside classifier.
    pub dump: Option<PathBuf>,
}

impl Default for DlConfig {
    fn default() -> Self {
        Self {
            epochs: 2,
            sparsity: 16,
            train: 20_000,
            atoms: 1024,
            zeta: (0.2, 0.2),
            rate: 0.5,
            lambda: 0.2,
            probe: 60_000,
            valid: 10_000,
            l2: vec![1e-4, 1e-3, 1e-2],
            iters: 300,
            features: [
                "raw",
                "g3",
                "g3thr@64",
                "g2omp@40/none",
                "g2thr@200/split",
                "g2thr@200+g3thr@64/split",
            ]
            .map(String::from)
            .to_vec(),
            model: None,
            tag: String::new(),
            seed: 2019,
            mlf_lambda: vec![0.0, 0.1],
            mlf_nonneg: false,
            dump: None,
        }
    }
}

impl DlConfig {
    /// Parses `(--dl-option, value)` pairs (and `--seed`).
    pub fn parse(pairs: &[(String, String)]) -> BoxResult<Self> {
        let mut c = Self::default();
        let list = |v: &str| -> BoxResult<Vec<f64>> {
            Ok(v.split(',')
                .map(|x| x.trim().parse())
                .collect::<Result<_, _>>()?)
        };
        for (k, v) in pairs {
            match k.as_str() {
                "--dl-epochs" => c.epochs = v.parse()?,
                "--dl-sparsity" => c.sparsity = v.parse()?,
                "--dl-train" => c.train = v.parse()?,
                "--dl-atoms" => c.atoms = v.parse()?,
                "--dl-rate" => c.rate = v.parse()?,
                "--dl-lambda" => c.lambda = v.parse()?,
                "--dl-probe" => c.probe = v.parse()?,
                "--dl-valid" => c.valid = v.parse()?,
                "--dl-l2" => c.l2 = list(v)?,
                "--dl-iters" => c.iters = v.parse()?,
                "--dl-features" => {
                    c.features = v.split(',').map(|s| s.trim().to_string()).collect()
                }
                "--dl-model" => c.model = Some(PathBuf::from(v)),
                "--dl-tag" => c.tag = v.clone(),
                "--seed" => c.seed = v.parse()?,
                "--dl-mlf-lambda" => {
                    c.mlf_lambda = list(v)?;
                    if !(2..=3).contains(&c.mlf_lambda.len())
                        || c.mlf_lambda.iter().any(|l| !l.is_finite() || *l < 0.0)
                    {
                        return Err(
                            "`--dl-mlf-lambda` takes L1,L2 or L1,L2,L3 (finite, non-negative)"
                                .into(),
                        );
                    }
                }
                "--dl-mlf-nonneg" => c.mlf_nonneg = v.parse()?,
                "--dl-dump" => c.dump = Some(PathBuf::from(v)),
                "--dl-zeta" => {
                    let (a, b) = v.split_once(',').ok_or("`--dl-zeta` takes Z2,Z3")?;
                    c.zeta = (a.trim().parse()?, b.trim().parse()?);
                }
                other => return Err(format!("unknown option `{other}`").into()),
            }
        }
        if c.train == 0 || c.train > 60_000 {
            return Err("`--dl-train` must be in 1..=60000".into());
        }
        if c.probe > 60_000 || c.valid == 0 || c.valid >= c.probe {
            return Err("`--dl-valid` must be in 1..`--dl-probe` (at most 60000)".into());
        }
        if c.l2.is_empty() || c.features.is_empty() || c.atoms == 0 || c.sparsity == 0 {
            return Err("`--dl-l2`, `--dl-features`, `--dl-atoms`, `--dl-sparsity` must be non-empty / positive".into());
        }
        for f in &c.features {
            let f = parse_feature(f, &c)?;
            if c.mlf_lambda.len() < 3 && f.blocks.iter().any(|(b, _)| b == "g3mlf" || b == "g2mlf3")
            {
                return Err("`g3mlf` / `g2mlf3` need `--dl-mlf-lambda L1,L2,L3`".into());
            }
        }
        Ok(c)
    }
}
