//! Bad-input battery of `csc`: dictionaries, grids and operators with zero and overflowing
//! sizes, NaN/inf and zero filters; the convolutional solvers on NaN/inf, empty, mismatched,
//! huge and tiny signals and with parameters out of their domains. Each call must return an
//! `Err` naming the argument or a sane `Ok` (no `converged = true` at a non-finite state), never
//! panic, and never mutate its inputs.

use csc::{
    Cbpdn, CbpdnFista, ConvDictionary, ConvThresholding, Grid, SlicePursuit, Solution, Solve,
};
use faer::{Mat, MatRef};
use sparse_core::{generate, Shrinkage};
use testkit::{bits, Log};

/// Fewer calls than this means cases were skipped.
const MIN_CALLS: usize = 70;

#[test]
fn dictionaries_operators_and_solvers_on_bad_input() {
    let start = std::time::Instant::now();
    let mut log = Log::default();
    let mut rng = generate::rng(9);
    let big = usize::MAX;
    let filters = Mat::<f64>::from_fn(9, 3, |i, j| ((i * 5 + j * 3) % 7) as f64 - 3.0);
    let with = |v: f64| {
        let mut f = filters.clone();
        f[(4, 1)] = v;
        f
    };
    let g = Grid::d2(3, 3);
    log.check_plain("new ok", None, || {
        ConvDictionary::new(g, 1, filters.as_ref())
    });
    log.check_plain("new nan", Some("filters"), || {
        ConvDictionary::new(g, 1, with(f64::NAN).as_ref())
    });
    log.check_plain("new inf", Some("filters"), || {
        ConvDictionary::new(g, 1, with(f64::INFINITY).as_ref())
    });
    let mut zero = filters.clone();
    zero.col_mut(2).fill(0.0);
    log.check_plain("new zero filter", Some("filters"), || {
        ConvDictionary::new(g, 1, zero.as_ref())
    });
    log.check_plain("new tiny filters", None, || {
        ConvDictionary::new(g, 1, Mat::<f64>::from_fn(9, 1, |_, _| 1e-320).as_ref())
    });
    log.check_plain("new huge filters", None, || {
        ConvDictionary::new(g, 1, Mat::<f64>::from_fn(9, 1, |_, _| f64::MAX).as_ref())
    });
    log.check_plain("new no filters", Some("filters"), || {
        ConvDictionary::new(g, 1, Mat::<f64>::zeros(9, 0).as_ref())
    });
    log.check_plain("new wrong rows", Some("filters"), || {
        ConvDictionary::new(g, 2, filters.as_ref())
    });
    log.check_plain("new channels 0", Some("channels"), || {
        ConvDictionary::new(g, 0, filters.as_ref())
    });
    log.check_plain("new empty grid", Some("filter"), || {
        ConvDictionary::new(Grid::d2(0, 3), 1, filters.as_ref())
    });
    log.check_plain("new overflowing grid", Some("filter"), || {
        ConvDictionary::new(Grid::d2(1 << 33, 1 << 33), 1, filters.as_ref())
    });
    log.check_plain(
        "new overflowing channels",
        Some("filter * channels"),
        || ConvDictionary::new(Grid::d2(1 << 20, 1 << 20), 1 << 30, filters.as_ref()),
    );
    log.check_plain("random m 0", Some("m"), || {
        ConvDictionary::random(g, 1, 0, &mut rng)
    });
    log.check_plain("random huge", Some("filter * channels * m"), || {
        ConvDictionary::random(Grid::d2(1 << 20, 1), 1 << 20, 1 << 30, &mut rng)
    });
    let d = ConvDictionary::new(g, 1, filters.as_ref()).unwrap();
    log.check_plain("operator ok", None, || d.operator(Grid::d2(8, 8)));
    log.check_plain("operator too small", Some("signal"), || {
        d.operator(Grid::d2(2, 8))
    });
    log.check_plain("operator empty", Some("signal"), || {
        d.operator(Grid::d2(0, 0))
    });
    log.check_plain("operator 2^33 x 2^33", Some("signal"), || {
        d.operator(Grid::d2(1 << 33, 1 << 33))
    });
    log.check_plain("operator usize::MAX", Some("signal"), || {
        d.operator(Grid::d2(big, big))
    });
    log.check_plain("operator codes overflow", Some("signal"), || {
        d.operator_with_channels(Grid::d2(1 << 28, 1 << 28), 1 << 20)
    });
    log.check_plain("operator channels 0", Some("channels"), || {
        d.operator_with_channels(Grid::d2(8, 8), 0)
    });
    log.check_plain("filter index", Some("i"), || d.filter(3).map(|_| d.clone()));

    let op = d.operator(Grid::d2(8, 8)).unwrap();
    let x = generate::sparseland_codes(op.code_len(), 3, 2, 0.5, 1.0, &mut rng).unwrap();
    let good = sparse_core::LinearOperator::apply(&op, x.as_ref()).unwrap();
    let nan = |v: f64| {
        let mut y = good.clone();
        y[(5, 0)] = v;
        y
    };
    let batches: Vec<(&str, Mat<f64>, bool)> = vec![
        ("good", good.clone(), true),
        ("zero", Mat::zeros(64, 2), true),
        (
            "huge",
            Mat::from_fn(64, 2, |i, j| good[(i, j)] * 1e300),
            true,
        ),
        (
            "tiny",
            Mat::from_fn(64, 2, |i, j| good[(i, j)] * 1e-300),
            true,
        ),
        ("nan", nan(f64::NAN), false),
        ("inf", nan(f64::INFINITY), false),
        ("no signals", Mat::zeros(64, 0), false),
        ("zero-length", Mat::zeros(0, 2), false),
        ("wrong length", Mat::zeros(63, 2), false),
    ];
    type Coder = Box<dyn Fn(&csc::ConvOperator, MatRef<'_, f64>) -> csc::Result<Solution>>;
    let coders: Vec<(&str, Coder)> = vec![
        (
            "cbpdn",
            Box::new(|op, y| Cbpdn::new(0.1).max_iter(100).solve(op, y)),
        ),
        (
            "fista",
            Box::new(|op, y| CbpdnFista::new(0.1).max_iter(100).solve(op, y)),
        ),
        (
            "slice",
            Box::new(|op, y| SlicePursuit::new(0.1).solve(op, y)),
        ),
        (
            "threshold",
            Box::new(|op, y| ConvThresholding::new(Shrinkage::Soft(0.1)).solve(op, y)),
        ),
    ];
    for (name, code) in &coders {
        for (label, y, valid) in &batches {
            let before = bits(y.as_ref());
            log.check(
                &format!("{name} {label}"),
                if *valid { None } else { Some("y") },
                || code(&op, y.as_ref()),
            );
            assert_eq!(before, bits(y.as_ref()), "{name} {label}: input mutated");
        }
    }
    for lam in [f64::NAN, -1.0, f64::INFINITY] {
        log.check(&format!("cbpdn lambda={lam}"), Some("lambda"), || {
            Cbpdn::new(lam).solve(&op, good.as_ref())
        });
        log.check(&format!("fista lambda={lam}"), Some("lambda"), || {
            CbpdnFista::new(lam).solve(&op, good.as_ref())
        });
        log.check(&format!("slice lambda={lam}"), Some("lambda"), || {
            SlicePursuit::new(lam).solve(&op, good.as_ref())
        });
    }
    log.check("cbpdn max_iter 0", Some("max_iter"), || {
        Cbpdn::new(0.1).max_iter(0).solve(&op, good.as_ref())
    });
    log.check("fista max_iter 0", Some("max_iter"), || {
        CbpdnFista::new(0.1).max_iter(0).solve(&op, good.as_ref())
    });
    log.check("threshold topk 0", Some("k"), || {
        ConvThresholding::new(Shrinkage::TopK(0)).solve(&op, good.as_ref())
    });
    log.check("threshold topk huge", None, || {
        ConvThresholding::new(Shrinkage::TopK(big)).solve(&op, good.as_ref())
    });
    println!("{} calls in {:?}", log.calls, start.elapsed());
    log.finish(MIN_CALLS);
}
