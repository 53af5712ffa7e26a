//! `cargo xtask theory [--dict FILE.npy] [--k K] [--eps E] [--contrast C] [--seed S] [--conv N,n,m]`:
//! the coherence quantities and every applicable certificate of a dictionary at a sparsity.
//!
//! With `--dict`, the `.npy` matrix is read with its columns as atoms (normalised on load);
//! without it, two built-in dictionaries are reported: a random Gaussian `64 x 128` (seed 2024)
//! and the overcomplete 2-D DCT `64 x 256`. Then the global-versus-local comparison of the
//! convolutional model for `(N, n, m)` (default `1024, 64, 2`, the reference's example).

use sparse_core::{generate, Dictionary};
use theory::{global_vs_local, report, ReportOptions};

use crate::bench::BoxResult;

struct Args {
    dict: Option<String>,
    opts: ReportOptions,
    conv: (usize, usize, usize),
}

fn parse(args: &[String]) -> BoxResult<Args> {
    let mut a = Args {
        dict: None,
        opts: ReportOptions::default(),
        conv: (1024, 64, 2),
    };
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("`{flag}` needs a value"));
        match flag.as_str() {
            "--dict" => a.dict = Some(value()?.clone()),
            "--k" => a.opts.k = value()?.parse()?,
            "--eps" => a.opts.eps = value()?.parse()?,
            "--contrast" => a.opts.contrast = value()?.parse()?,
            "--seed" => a.opts.seed = value()?.parse()?,
            "--conv" => {
                let v: Vec<usize> = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?;
                match v.as_slice() {
                    [nn, n, m] => a.conv = (*nn, *n, *m),
                    _ => return Err("`--conv` needs N,n,m".into()),
                }
            }
            "-h" | "--help" => {
                return Err(
                    "usage: cargo xtask theory [--dict FILE.npy] [--k K] [--eps E] \
                            [--contrast C] [--seed S] [--conv N,n,m]"
                        .into(),
                )
            }
            other => return Err(format!("unknown option `{other}`").into()),
        }
    }
    Ok(a)
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let a = parse(args)?;
    let dicts: Vec<(String, Dictionary)> = match &a.dict {
        Some(path) => {
            let m = sparse_core::io::read_npy(path)?;
            let d = Dictionary::from_matrix(m.as_ref())?;
            let rescaled = (0..m.ncols()).any(|j| (m.col(j).norm_l2() - 1.0).abs() > 1e-9);
            let note = if rescaled {
                " (columns normalised)"
            } else {
                ""
            };
            vec![(format!("{path}{note}"), d)]
        }
        None => {
            let mut rng = generate::rng(2024);
            vec![
                (
                    "random Gaussian 64 x 128 (seed 2024)".into(),
                    Dictionary::random_gaussian(64, 128, &mut rng)?,
                ),
                (
                    "overcomplete 2-D DCT 64 x 256".into(),
                    Dictionary::overcomplete_dct(8, 256)?,
                ),
            ]
        }
    };
    for (name, d) in &dicts {
        println!("== {name}");
        let r = report(d, &a.opts)?;
        print!("{r}");
        println!();
    }
    let (nn, n, m) = a.conv;
    let g = global_vs_local(nn, n, m)?;
    println!("== convolutional model: global versus local (Papyan, Sulam & Elad 2017)");
    println!("{g}");
    let mu = g.welch_mu;
    for s in [1.0, theory::sparseland::largest_below(g.local_bound) as f64] {
        println!("  {}", theory::conv::csc_pursuit_recovery(mu, s)?);
    }
    println!(
        "  {}",
        theory::conv::csc_bp_stability(mu, 1.0, a.opts.eps.max(0.0))?
    );
    Ok(())
}
