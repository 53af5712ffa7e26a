//! Bad-input battery of `pursuit`: every public constructor and solver called with NaN/inf
//! entries, empty batches, zero-length signals, mismatched shapes, zero and duplicate atoms,
//! `k = 0` and `k` beyond the sizes, zero/negative/NaN parameters and sizes that overflow.
//! Each call must return an `Err` naming the argument, or a sane `Ok` (no `converged = true`
//! with a non-finite objective, residual or code), never panic, and never mutate its inputs.

use faer::{Mat, MatRef};
use pursuit::admm::{BasisPursuit, Bpdn};
use pursuit::dictlearn::LearnedDictionary;
use pursuit::dictlearn::{Denoiser, Ksvd, Mod, OnlineDictLearning};
use pursuit::greedy::Selection;
use pursuit::lasso::{CoordinateDescent, Fista, Ista, Lars};
use pursuit::{BatchOmp, MatchingPursuit, Omp, Solution, Solve, Stop, Thresholding};
use sparse_core::{generate, Dictionary, Shrinkage};
use testkit::{bits, Expect, Log, Sane};

/// [`Log::check`] for dictionary learning: an `Ok` has finite unit atoms, finite codes and a
/// finite RMSE at every iteration.
trait CheckLearned {
    fn check_learned(
        &mut self,
        label: &str,
        expect: Expect,
        f: impl FnOnce() -> pursuit::Result<LearnedDictionary>,
    );
}

impl CheckLearned for Log {
    fn check_learned(
        &mut self,
        label: &str,
        expect: Expect,
        f: impl FnOnce() -> pursuit::Result<LearnedDictionary>,
    ) {
        self.check_with(label, expect, f, |l| {
            l.dictionary.insane().or_else(|| {
                let codes = l.codes.to_dense();
                let finite = codes.col_iter().all(|c| c.iter().all(|v| v.is_finite()));
                let rmse = l.history.iter().all(|r| r.rmse.is_finite());
                (!(finite && rmse)).then(|| format!("non-finite codes or RMSE: {:?}", l.history))
            })
        });
    }
}

/// Fewer calls than this means cases were skipped.
const MIN_CALLS: usize = 780;

fn with_nan(m: &Mat<f64>, v: f64) -> Mat<f64> {
    let mut m = m.clone();
    m[(1, 0)] = v;
    m
}

/// The signals every solver is called on: (label, batch, whether it is valid input).
fn batches(n: usize, good: &Mat<f64>) -> Vec<(&'static str, Mat<f64>, bool)> {
    vec![
        ("good", good.clone(), true),
        ("zero signals", Mat::zeros(n, 2), true),
        (
            "huge",
            Mat::from_fn(n, 2, |i, j| good[(i, j)] * 1e300),
            true,
        ),
        (
            "tiny",
            Mat::from_fn(n, 2, |i, j| good[(i, j)] * 1e-300),
            true,
        ),
        (
            "subnormal",
            Mat::from_fn(n, 1, |i, _| if i == 0 { 5e-324 } else { 0.0 }),
            true,
        ),
        ("nan", with_nan(good, f64::NAN), false),
        ("inf", with_nan(good, f64::INFINITY), false),
        ("-inf", with_nan(good, f64::NEG_INFINITY), false),
        ("no signals", Mat::zeros(n, 0), false),
        ("zero-length signals", Mat::zeros(0, 2), false),
        (
            "wrong length",
            Mat::from_fn(n + 1, 2, |i, _| i as f64),
            false,
        ),
    ]
}

type Coder<'a> = (
    &'a str,
    Box<dyn Fn(&Dictionary, MatRef<'_, f64>) -> pursuit::Result<Solution> + 'a>,
);

#[test]
fn every_solver_on_bad_signals_and_parameters() {
    let start = std::time::Instant::now();
    let mut log = Log::default();
    let mut rng = generate::rng(5);
    let (n, m) = (8, 16);
    let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
    // Duplicate atoms: columns 0 and 1 equal, 2 its negative.
    let mut dup = d.matrix().to_owned();
    for i in 0..n {
        dup[(i, 1)] = dup[(i, 0)];
        dup[(i, 2)] = -dup[(i, 0)];
    }
    let dup = Dictionary::from_matrix(dup.as_ref()).unwrap();
    // One atom, and a dictionary with fewer rows than signals need.
    let one =
        Dictionary::from_matrix(Mat::<f64>::from_fn(n, 1, |i, _| i as f64 + 1.0).as_ref()).unwrap();
    let x = generate::sparseland_codes(m, 2, 2, 0.5, 1.0, &mut rng).unwrap();
    let good = generate::signals(&d, x.as_ref(), sparse_core::Noise::None, &mut rng)
        .unwrap()
        .clean;

    let coders: Vec<Coder> = vec![
        (
            "thresholding",
            Box::new(|d, y| Thresholding::new(Shrinkage::TopK(2)).solve(d, y)),
        ),
        (
            "thresholding-ls",
            Box::new(|d, y| {
                Thresholding::new(Shrinkage::TopK(2))
                    .least_squares(true)
                    .solve(d, y)
            }),
        ),
        (
            "thresholding-soft",
            Box::new(|d, y| Thresholding::new(Shrinkage::Soft(0.1)).solve(d, y)),
        ),
        (
            "mp",
            Box::new(|d, y| MatchingPursuit::new(Stop::Sparsity(3)).solve(d, y)),
        ),
        (
            "mp-residual",
            Box::new(|d, y| MatchingPursuit::new(Stop::Residual(1e-6)).solve(d, y)),
        ),
        (
            "omp",
            Box::new(|d, y| Omp::new(Stop::Sparsity(1)).solve(d, y)),
        ),
        (
            "omp-residual",
            Box::new(|d, y| Omp::new(Stop::Residual(0.0)).solve(d, y)),
        ),
        (
            "batch-omp",
            Box::new(|d, y| BatchOmp::new(Stop::Sparsity(1)).solve(d, y)),
        ),
        (
            "batch-ormp",
            Box::new(|d, y| {
                BatchOmp::new(Stop::Residual(1e-9))
                    .selection(Selection::Ormp)
                    .solve(d, y)
            }),
        ),
        (
            "batch-omp-gram",
            Box::new(|d, y| {
                BatchOmp::new(Stop::Sparsity(1)).code_with_gram(d, d.gram().as_ref(), y)
            }),
        ),
        (
            "ista",
            Box::new(|d, y| Ista::new(0.1).max_iter(200).solve(d, y)),
        ),
        (
            "fista",
            Box::new(|d, y| Fista::new(0.1).max_iter(200).solve(d, y)),
        ),
        (
            "fista-nonneg",
            Box::new(|d, y| Fista::new(0.1).nonneg(true).max_iter(200).solve(d, y)),
        ),
        (
            "cd",
            Box::new(|d, y| CoordinateDescent::new(0.1).solve(d, y)),
        ),
        ("lars", Box::new(|d, y| Lars::new(0.1).solve(d, y))),
        ("lars-path", Box::new(|d, y| Lars::new(0.0).solve(d, y))),
        (
            "bp",
            Box::new(|d, y| BasisPursuit::new().max_iter(500).solve(d, y)),
        ),
        (
            "bpdn",
            Box::new(|d, y| Bpdn::new(0.01).max_iter(500).solve(d, y)),
        ),
        (
            "bpdn-homotopy",
            Box::new(|d, y| Bpdn::new(0.01).homotopy().solve(d, y)),
        ),
    ];
    for (name, code) in &coders {
        for (dname, dict) in [("d", &d), ("duplicate atoms", &dup), ("one atom", &one)] {
            for (label, y, valid) in batches(n, &good) {
                let before = (bits(y.as_ref()), bits(dict.matrix()));
                let expect = if valid {
                    Expect::Ok
                } else {
                    Expect::Err("`y`")
                };
                // BP needs full row rank: a one-atom dictionary is refused, naming D D^T.
                let expect = if dname == "one atom"
                    && name.starts_with("bp")
                    && !name.contains("homotopy")
                    && valid
                {
                    Expect::Either
                } else {
                    expect
                };
                log.check(&format!("{name} on {dname}, {label}"), expect, || {
                    code(dict, y.as_ref())
                });
                assert_eq!(
                    before,
                    (bits(y.as_ref()), bits(dict.matrix())),
                    "{name}: input mutated"
                );
            }
        }
    }

    // Parameters out of their domains.
    let y = good.as_ref();
    let nan = f64::NAN;
    for k in [0, m + 1, usize::MAX] {
        let e = Expect::Err("k");
        log.check(&format!("omp k={k}"), e, || {
            Omp::new(Stop::Sparsity(k)).solve(&d, y)
        });
        log.check(&format!("batch-omp k={k}"), e, || {
            BatchOmp::new(Stop::Sparsity(k)).solve(&d, y)
        });
        log.check(&format!("ormp k={k}"), e, || {
            BatchOmp::new(Stop::Sparsity(k))
                .selection(Selection::Ormp)
                .solve(&d, y)
        });
        log.check(&format!("omp k={k}, eps"), e, || {
            Omp::new(Stop::SparsityOrResidual { k, eps: 0.1 }).solve(&d, y)
        });
        let mp = if k == 0 { Expect::Err("k") } else { Expect::Ok };
        log.check(&format!("mp k={k}"), mp, || {
            MatchingPursuit::new(Stop::Sparsity(k)).solve(&d, y)
        });
        let thr = if k == 0 {
            Expect::Err("k")
        } else {
            Expect::Either
        };
        log.check(&format!("topk k={k}"), thr, || {
            Thresholding::new(Shrinkage::TopK(k)).solve(&d, y)
        });
        log.check(&format!("topk-ls k={k}"), thr, || {
            Thresholding::new(Shrinkage::TopK(k))
                .least_squares(true)
                .solve(&d, y)
        });
    }
    log.check("mp max_iter=0", Expect::Err("max_iter"), || {
        MatchingPursuit::new(Stop::Sparsity(2))
            .max_iter(0)
            .solve(&d, y)
    });
    log.check("mp usize::MAX capped", Expect::Ok, || {
        MatchingPursuit::new(Stop::Sparsity(usize::MAX))
            .max_iter(50)
            .solve(&d, y)
    });
    for eps in [nan, -1.0, f64::INFINITY] {
        let e = Expect::Err("eps");
        log.check(&format!("omp eps={eps}"), e, || {
            Omp::new(Stop::Residual(eps)).solve(&d, y)
        });
        log.check(&format!("batch-omp eps={eps}"), e, || {
            BatchOmp::new(Stop::Residual(eps)).solve(&d, y)
        });
        log.check(&format!("mp eps={eps}"), e, || {
            MatchingPursuit::new(Stop::Residual(eps)).solve(&d, y)
        });
        log.check(&format!("bpdn eps={eps}"), e, || {
            Bpdn::new(eps).solve(&d, y)
        });
        log.check(&format!("bpdn-homotopy eps={eps}"), e, || {
            Bpdn::new(eps).homotopy().solve(&d, y)
        });
    }
    for t in [nan, -1.0, f64::INFINITY] {
        log.check(&format!("soft t={t}"), Expect::Err("threshold"), || {
            Thresholding::new(Shrinkage::Soft(t)).solve(&d, y)
        });
        log.check(&format!("hard t={t}"), Expect::Err("threshold"), || {
            Thresholding::new(Shrinkage::Hard(t)).solve(&d, y)
        });
    }
    for lam in [nan, -1.0, f64::INFINITY] {
        let e = Expect::Err("lambda");
        log.check(&format!("ista lambda={lam}"), e, || {
            Ista::new(lam).solve(&d, y)
        });
        log.check(&format!("fista lambda={lam}"), e, || {
            Fista::new(lam).solve(&d, y)
        });
        log.check(&format!("cd lambda={lam}"), e, || {
            CoordinateDescent::new(lam).solve(&d, y)
        });
        log.check(&format!("lars lambda={lam}"), e, || {
            Lars::new(lam).solve(&d, y)
        });
        log.check_plain(&format!("lars path lambda={lam}"), e, || {
            Lars::new(lam).path(&d, good.subcols(0, 1))
        });
    }
    log.check("cd ws_start=0", Expect::Err("ws_start"), || {
        CoordinateDescent::new(0.1).ws_start(0).solve(&d, y)
    });
    for r in [nan, -1.0, 0.0, 1.5, f64::INFINITY] {
        log.check(
            &format!("cd ws_inner_ratio={r}"),
            Expect::Err("ws_inner_ratio"),
            || CoordinateDescent::new(0.1).ws_inner_ratio(r).solve(&d, y),
        );
    }
    for tol in [nan, -1.0] {
        let e = Expect::Err("gap_tol");
        log.check(&format!("fista gap_tol={tol}"), e, || {
            Fista::new(0.1).gap_tol(tol).solve(&d, y)
        });
        log.check(&format!("cd gap_tol={tol}"), e, || {
            CoordinateDescent::new(0.1).gap_tol(tol).solve(&d, y)
        });
        log.check(&format!("lars gap_tol={tol}"), e, || {
            Lars::new(0.1).gap_tol(tol).solve(&d, y)
        });
    }
    let e = Expect::Err("max_iter");
    log.check("fista max_iter=0", e, || {
        Fista::new(0.1).max_iter(0).solve(&d, y)
    });
    log.check("ista max_iter=0", e, || {
        Ista::new(0.1).max_iter(0).solve(&d, y)
    });
    log.check("cd max_iter=0", e, || {
        CoordinateDescent::new(0.1).max_iter(0).solve(&d, y)
    });
    log.check("lars max_iter=0", e, || {
        Lars::new(0.1).max_iter(0).solve(&d, y)
    });
    log.check("bp max_iter=0", e, || {
        BasisPursuit::new().max_iter(0).solve(&d, y)
    });
    log.check("fista gap_every=0", Expect::Err("gap_every"), || {
        Fista::new(0.1).gap_every(0).solve(&d, y)
    });
    log.check("fista block_size=0", Expect::Err("block_size"), || {
        Fista::new(0.1).block_size(0).solve(&d, y)
    });
    for rho in [0.0, -1.0, nan] {
        log.check(&format!("bp rho={rho}"), Expect::Err("rho"), || {
            BasisPursuit::new().rho(rho).solve(&d, y)
        });
    }
    for alpha in [0.0, 2.0, nan] {
        log.check(&format!("bp alpha={alpha}"), Expect::Err("alpha"), || {
            BasisPursuit::new().alpha(alpha).solve(&d, y)
        });
    }
    // Lipschitz constants: invalid ones refused; too small ones may diverge but never claim
    // convergence at a non-finite state (the harness checks that).
    for l in [0.0, -1.0, nan, f64::INFINITY] {
        let e = Expect::Err("lipschitz");
        log.check(&format!("fista lipschitz={l}"), e, || {
            Fista::new(0.1).lipschitz(l).solve(&d, y)
        });
        log.check(&format!("ista lipschitz={l}"), e, || {
            Ista::new(0.1).lipschitz(l).solve(&d, y)
        });
    }
    for l in [1e-3, 0.1, 1e300] {
        log.check(&format!("fista lipschitz={l}"), Expect::Ok, || {
            Fista::new(0.1).lipschitz(l).max_iter(300).solve(&d, y)
        });
        log.check(&format!("ista lipschitz={l}"), Expect::Ok, || {
            Ista::new(0.1).lipschitz(l).max_iter(300).solve(&d, y)
        });
    }
    // Warm starts.
    let x0 = Mat::<f64>::zeros(m, 2);
    log.check("fista x0 ok", Expect::Ok, || {
        Fista::new(0.1).solve_warm(&d, y, x0.as_ref())
    });
    log.check("fista x0 shape", Expect::Err("x0"), || {
        Fista::new(0.1).solve_warm(&d, y, Mat::<f64>::zeros(m, 3).as_ref())
    });
    log.check("fista x0 nan", Expect::Err("x0"), || {
        Fista::new(0.1).solve_warm(&d, y, with_nan(&x0, nan).as_ref())
    });
    log.check("ista x0 huge", Expect::Ok, || {
        Ista::new(0.1).max_iter(50).solve_warm(
            &d,
            y,
            Mat::<f64>::from_fn(m, 2, |_, _| 1e300).as_ref(),
        )
    });
    // Lars paths.
    log.check_plain("lars path 2 signals", Expect::Err("y"), || {
        Lars::new(0.0).path(&d, y)
    });
    log.check_plain("lars path nan", Expect::Err("y"), || {
        Lars::new(0.0).path(&d, with_nan(&good, nan).subcols(0, 1))
    });

    // Precomputed Gram matrices and correlations.
    let g = d.gram();
    let dty = d.matrix().transpose() * &good;
    let y2: Vec<f64> = (0..2).map(|j| good.col(j).squared_norm_l2()).collect();
    let mut asym = g.clone();
    asym[(0, 1)] += 0.1;
    let mut diag = g.clone();
    diag[(3, 3)] = 2.0;
    let other = Dictionary::random_gaussian(n, m, &mut rng).unwrap().gram();
    let bo = BatchOmp::new(Stop::Sparsity(2));
    for (label, gm) in [
        ("nan", with_nan(&g, nan)),
        ("asymmetric", asym),
        ("diagonal", diag),
        ("another dictionary's", other.clone()),
        ("wrong shape", Mat::zeros(m - 1, m - 1)),
        ("zeros", Mat::zeros(m, m)),
    ] {
        log.check(
            &format!("code_with_gram {label}"),
            Expect::Err("gram"),
            || bo.code_with_gram(&d, gm.as_ref(), y),
        );
        if label != "another dictionary's" {
            log.check(
                &format!("code_correlations {label}"),
                Expect::Err("gram"),
                || bo.code_correlations(gm.as_ref(), dty.as_ref(), &y2),
            );
        }
    }
    log.check("code_correlations ok", Expect::Ok, || {
        bo.code_correlations(g.as_ref(), dty.as_ref(), &y2)
    });
    log.check("code_correlations other gram", Expect::Either, || {
        bo.code_correlations(other.as_ref(), dty.as_ref(), &y2)
    });
    log.check(
        "code_correlations ynorm2 len",
        Expect::Err("ynorm2"),
        || bo.code_correlations(g.as_ref(), dty.as_ref(), &y2[..1]),
    );
    log.check(
        "code_correlations ynorm2 nan",
        Expect::Err("ynorm2"),
        || bo.code_correlations(g.as_ref(), dty.as_ref(), &[nan, 1.0]),
    );
    log.check(
        "code_correlations ynorm2 small",
        Expect::Err("ynorm2"),
        || bo.code_correlations(g.as_ref(), dty.as_ref(), &[0.0, -1.0]),
    );
    log.check("code_correlations dty nan", Expect::Err("dty"), || {
        bo.code_correlations(g.as_ref(), with_nan(&dty, nan).as_ref(), &y2)
    });
    log.check("code_correlations dty rows", Expect::Err("dty"), || {
        bo.code_correlations(g.as_ref(), good.as_ref(), &y2)
    });

    // Dictionary learning and denoising.
    let train = generate::signals(
        &d,
        generate::sparseland_codes(m, 2, 40, 0.5, 1.0, &mut rng)
            .unwrap()
            .as_ref(),
        sparse_core::Noise::None,
        &mut rng,
    )
    .unwrap()
    .clean;
    for (label, y, valid) in batches(n, &train) {
        // No dictionary is given: any signal length is valid.
        let valid = valid || label == "wrong length";
        let e = if valid {
            Expect::Either
        } else {
            Expect::Err("y")
        };
        log.check_learned(&format!("ksvd {label}"), e, || {
            Ksvd::new(m, Stop::Sparsity(2))
                .iterations(2)
                .fit(y.as_ref())
        });
        log.check_learned(&format!("mod {label}"), e, || {
            Mod::new(m, Stop::Sparsity(2)).iterations(2).fit(y.as_ref())
        });
        log.check_learned(&format!("online {label}"), e, || {
            OnlineDictLearning::new(m, Stop::Sparsity(2))
                .iterations(2)
                .fit(y.as_ref())
        });
    }
    for (label, atoms) in [("0 atoms", 0), ("huge", usize::MAX)] {
        log.check_plain(&format!("ksvd {label}"), Expect::Err("atoms"), || {
            Ksvd::new(atoms, Stop::Sparsity(2))
                .iterations(1)
                .fit(train.as_ref())
        });
        log.check_plain(&format!("mod {label}"), Expect::Err("atoms"), || {
            Mod::new(atoms, Stop::Sparsity(2))
                .iterations(1)
                .fit(train.as_ref())
        });
    }
    let img = Mat::<f64>::from_fn(20, 20, |i, j| ((i * 3 + j * 5) % 7) as f64 / 7.0);
    for sigma in [0.0, -1.0, nan, f64::INFINITY] {
        log.check_plain(
            &format!("denoiser sigma={sigma}"),
            Expect::Err("sigma"),
            || Denoiser::new(sigma).denoise_dct(img.as_ref()),
        );
    }
    log.check_plain("denoiser nan image", Expect::Err("noisy"), || {
        Denoiser::new(0.1).denoise_dct(with_nan(&img, nan).as_ref())
    });
    log.check_plain("denoiser empty image", Expect::Either, || {
        Denoiser::new(0.1).denoise_dct(Mat::<f64>::zeros(0, 0).as_ref())
    });
    log.check_plain("denoiser tiny image", Expect::Either, || {
        Denoiser::new(0.1).denoise_dct(Mat::<f64>::zeros(3, 3).as_ref())
    });
    log.check_plain("denoiser dct ok", Expect::Ok, || {
        Denoiser::new(0.1).denoise_dct(img.as_ref())
    });
    log.check_plain("denoiser wrong dictionary", Expect::Either, || {
        Denoiser::new(0.1).denoise_with(img.as_ref(), &d)
    });

    let elapsed = start.elapsed();
    println!("{} calls in {elapsed:?}", log.calls);
    log.finish(MIN_CALLS);
}
