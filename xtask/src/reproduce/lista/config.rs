//! Parsing and validation of the options, [`Config`].

use std::str::FromStr;

use super::{adversarial, mnist, Config, Setting};
use crate::bench::BoxResult;

/// Parses the value `v` of option `opt`, with an error naming the option.
fn parse_value<T: FromStr>(opt: &str, v: &str) -> BoxResult<T>
where
    T::Err: std::fmt::Display,
{
    v.parse()
        .map_err(|e| format!("`{opt}`: cannot read `{v}` ({e})").into())
}

/// Parses a probability written `0.05` or `1/20`.
fn parse_fraction(opt: &str, v: &str) -> BoxResult<f64> {
    let x = match v.split_once('/') {
        Some((a, b)) => parse_value::<f64>(opt, a)? / parse_value::<f64>(opt, b)?,
        None => parse_value(opt, v)?,
    };
    if !(x.is_finite() && x > 0.0 && x <= 1.0) {
        return Err(format!("`{opt}`: `{v}` is not a probability in (0, 1]").into());
    }
    Ok(x)
}

/// Checks that `x` is positive and finite.
fn positive(opt: &str, x: f64) -> BoxResult<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(format!("`{opt}` must be positive and finite, not {x}").into())
    }
}

/// Checks that a count is at least 1.
fn at_least_one(opt: &str, n: usize) -> BoxResult<()> {
    if n == 0 {
        Err(format!("`{opt}` must be at least 1").into())
    } else {
        Ok(())
    }
}

impl Config {
    /// The defaults of `setting` (the `--quick` ones with `quick`).
    fn defaults(setting: Setting, quick: bool) -> Self {
        let mut c = Config {
            setting,
            depths: vec![1, 2, 4, 8, 16, 32],
            epochs: 12,
            n_train: 4000,
            n_test: 1000,
            batch: 100,
            lr: 3e-3,
            facnet_lr: 3e-2,
            seed: 2017,
            lfista: true,
            lambda: 0.01,
            rhos: vec![1.0 / 20.0, 1.0 / 4.0],
            dl_signals: 10_000,
            dl_iterations: 15,
            dl_sparsity: 5,
            frequencies: 32,
        };
        match setting {
            Setting::Synthetic | Setting::Adversarial => {}
            Setting::Mnist => mnist::defaults(&mut c),
        }
        if quick {
            c.depths = vec![1, 2, 4, 8];
            c.epochs = 4;
            c.n_train = 1000;
            c.n_test = 300;
            c.dl_signals = 2000;
            c.dl_iterations = 5;
        }
        c
    }

    /// Reads the options (see the module docs); any bad, unknown or misplaced option is an
    /// error naming it.
    pub(super) fn parse(args: &[String]) -> BoxResult<Self> {
        let mnist = args.iter().any(|a| a == "--mnist");
        let adversarial = args.iter().any(|a| a == "--adversarial");
        let setting = match (mnist, adversarial) {
            (true, true) => return Err("`--mnist` and `--adversarial` exclude each other".into()),
            (true, false) => Setting::Mnist,
            (false, true) => Setting::Adversarial,
            (false, false) => Setting::Synthetic,
        };
        let mut c = Self::defaults(setting, args.iter().any(|a| a == "--quick"));
        let only = |opt: &str, ok: bool, which: &str| -> BoxResult<()> {
            if ok {
                Ok(())
            } else {
                Err(format!("`{opt}` applies to {which} only").into())
            }
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            let opt = a.as_str();
            let mut value = || {
                it.next()
                    .map(String::as_str)
                    .ok_or(format!("`{opt}` needs a value"))
            };
            match opt {
                "--quick" | "--mnist" | "--adversarial" => {}
                "--lfista" => c.lfista = true,
                "--no-lfista" => c.lfista = false,
                "--epochs" => c.epochs = parse_value(opt, value()?)?,
                "--train" => c.n_train = parse_value(opt, value()?)?,
                "--test" => c.n_test = parse_value(opt, value()?)?,
                "--batch" => c.batch = parse_value(opt, value()?)?,
                "--lr" => c.lr = parse_value(opt, value()?)?,
                "--facnet-lr" => c.facnet_lr = parse_value(opt, value()?)?,
                "--seed" => c.seed = parse_value(opt, value()?)?,
                "--lambda" => c.lambda = parse_value(opt, value()?)?,
                "--depths" => {
                    c.depths = value()?
                        .split(',')
                        .map(|v| parse_value(opt, v))
                        .collect::<BoxResult<_>>()?;
                    c.depths.sort_unstable();
                    c.depths.dedup();
                }
                "--rho" => {
                    only(
                        opt,
                        setting != Setting::Mnist,
                        "the synthetic and adversarial runs",
                    )?;
                    c.rhos = value()?
                        .split(',')
                        .map(|v| parse_fraction(opt, v))
                        .collect::<BoxResult<_>>()?;
                }
                "--frequencies" => {
                    only(opt, setting == Setting::Adversarial, "`--adversarial`")?;
                    c.frequencies = parse_value(opt, value()?)?;
                }
                "--dl-signals" | "--dl-iterations" | "--dl-sparsity" => {
                    only(opt, setting == Setting::Mnist, "`--mnist`")?;
                    let n = parse_value(opt, value()?)?;
                    match opt {
                        "--dl-signals" => c.dl_signals = n,
                        "--dl-iterations" => c.dl_iterations = n,
                        _ => c.dl_sparsity = n,
                    }
                }
                other => return Err(format!("unknown option `{other}`").into()),
            }
        }
        c.validate()?;
        Ok(c)
    }

    /// Checks the values that every setting needs (the settings check their own).
    fn validate(&self) -> BoxResult<()> {
        if self.depths.first() == Some(&0) || self.depths.is_empty() {
            return Err("`--depths` needs positive layer counts".into());
        }
        at_least_one("--train", self.n_train)?;
        at_least_one("--test", self.n_test)?;
        at_least_one("--batch", self.batch)?;
        positive("--lr", self.lr)?;
        positive("--facnet-lr", self.facnet_lr)?;
        positive("--lambda", self.lambda)?;
        if self.rhos.is_empty() {
            return Err("`--rho` needs at least one value".into());
        }
        match self.setting {
            Setting::Synthetic => Ok(()),
            Setting::Mnist => mnist::validate(self),
            Setting::Adversarial => adversarial::validate(self),
        }
    }

    /// Number of trained methods (LISTA, FacNet and optionally L-FISTA).
    pub(super) fn methods(&self) -> usize {
        2 + usize::from(self.lfista)
    }
}
