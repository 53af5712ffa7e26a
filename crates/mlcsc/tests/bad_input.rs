//! Bad-input battery of `mlcsc`: layers, geometries and models with zero and overflowing sizes
//! and non-finite entries; ML-ISTA / ML-FISTA with bad signals, penalties and steps (a
//! diverging step is an `Err` naming `steps`). Each call must return an `Err` naming the
//! argument or a sane `Ok` (no `converged = true` at a non-finite state), never panic, and never
//! mutate its inputs.

use faer::Mat;
use mlcsc::pursuits::MlSolution;
use mlcsc::{Layer, MlFista, MlIsta, MlModel, Solve, ValidConv, ValidGeometry};
use sparse_core::{generate, Dictionary};
use testkit::{bits, insane_diagnostics, Log};

/// Fewer calls than this means cases were skipped.
const MIN_CALLS: usize = 44;

/// [`Log::check`] for multi-layer solutions: no signal converged at a non-finite state.
trait CheckMl {
    fn check_ml(
        &mut self,
        label: &str,
        expect: Option<&'static str>,
        f: impl FnOnce() -> mlcsc::Result<MlSolution>,
    );
}

impl CheckMl for Log {
    fn check_ml(
        &mut self,
        label: &str,
        expect: Option<&'static str>,
        f: impl FnOnce() -> mlcsc::Result<MlSolution>,
    ) {
        self.check_with(label, expect, f, |s| insane_diagnostics(&s.diagnostics));
    }
}

#[test]
fn layers_models_and_pursuits_on_bad_input() {
    let start = std::time::Instant::now();
    let mut log = Log::default();
    let mut rng = generate::rng(4);
    let big = usize::MAX;
    // Geometries and layers.
    log.check_plain("geometry ok", None, || {
        ValidGeometry::new(1, (8, 8), (3, 3), 1, 4)
    });
    log.check_plain("geometry channels 0", Some("channels"), || {
        ValidGeometry::new(0, (8, 8), (3, 3), 1, 4)
    });
    log.check_plain("geometry stride 0", Some("stride"), || {
        ValidGeometry::new(1, (8, 8), (3, 3), 0, 4)
    });
    log.check_plain("geometry kernel > input", Some("kernel"), || {
        ValidGeometry::new(1, (8, 8), (9, 3), 1, 4)
    });
    log.check_plain("geometry input overflow", Some("channels * input"), || {
        ValidGeometry::new(1 << 30, (1 << 20, 1 << 20), (1, 1), 1, 1)
    });
    log.check_plain("geometry maps overflow", Some("maps"), || {
        ValidGeometry::new(1, (1 << 20, 1 << 20), (1, 1), 1, big)
    });
    let hand = ValidGeometry {
        channels: big,
        input: (big, big),
        kernel: (1, 1),
        stride: 1,
        maps: big,
    };
    log.check_plain(
        "valid random hand-built geometry",
        Some("channels * input"),
        || ValidConv::random(hand, &mut rng),
    );
    let geom = ValidGeometry::new(1, (8, 8), (3, 3), 1, 4).unwrap();
    let mut f = Mat::<f64>::from_fn(9, 4, |i, j| (i + j) as f64);
    log.check_plain("valid ok", None, || Layer::valid(geom, f.as_ref()));
    f[(0, 0)] = f64::NAN;
    log.check_plain("valid nan", Some("filters"), || {
        Layer::valid(geom, f.as_ref())
    });
    log.check_plain("valid wrong shape", Some("filters"), || {
        Layer::valid(geom, Mat::<f64>::zeros(8, 4).as_ref())
    });
    log.check_plain("sparse_random huge", Some("n * m"), || {
        Layer::sparse_random(1 << 33, 1 << 33, 1, &mut rng)
    });
    log.check_plain("sparse_random nnz > n", Some("nnz"), || {
        Layer::sparse_random(4, 4, 5, &mut rng)
    });
    log.check_plain("from_matrix empty", Some("matrix"), || {
        Layer::from_matrix(Mat::<f64>::zeros(0, 3).as_ref())
    });
    log.check_plain("from_matrix inf", Some("matrix"), || {
        Layer::from_matrix(Mat::<f64>::from_fn(2, 2, |_, _| f64::INFINITY).as_ref())
    });
    log.check_plain("model empty", Some("layers"), || MlModel::new(vec![]));
    let d1 = Dictionary::random_gaussian(16, 24, &mut rng).unwrap();
    let d2 = Dictionary::random_gaussian(24, 32, &mut rng).unwrap();
    let d3 = Dictionary::random_gaussian(20, 32, &mut rng).unwrap();
    log.check_plain("model mismatch", Some("layers"), || {
        MlModel::from_dictionaries(&[d1.clone(), d3])
    });
    let model = MlModel::from_dictionaries(&[d1, d2]).unwrap();

    // Pursuits.
    let good = Mat::<f64>::from_fn(16, 3, |i, j| ((i * 7 + j * 3) % 5) as f64 - 2.0);
    let nan = |v: f64| {
        let mut y = good.clone();
        y[(2, 1)] = v;
        y
    };
    let batches: Vec<(&str, Mat<f64>, bool)> = vec![
        ("good", good.clone(), true),
        ("zero", Mat::zeros(16, 2), true),
        (
            "huge",
            Mat::from_fn(16, 3, |i, j| good[(i, j)] * 1e300),
            true,
        ),
        (
            "tiny",
            Mat::from_fn(16, 3, |i, j| good[(i, j)] * 1e-300),
            true,
        ),
        ("nan", nan(f64::NAN), false),
        ("inf", nan(f64::INFINITY), false),
        ("no signals", Mat::zeros(16, 0), false),
        ("zero-length", Mat::zeros(0, 2), false),
        ("wrong length", Mat::zeros(15, 2), false),
    ];
    for (label, y, valid) in &batches {
        let before = bits(y.as_ref());
        let e = if *valid { None } else { Some("y") };
        log.check_ml(&format!("ml-ista {label}"), e, || {
            MlIsta::new(vec![0.1, 0.1])
                .iterations(20)
                .solve(&model, y.as_ref())
        });
        log.check_ml(&format!("ml-fista {label}"), e, || {
            MlFista::new(vec![0.1, 0.1])
                .iterations(20)
                .solve(&model, y.as_ref())
        });
        assert_eq!(before, bits(y.as_ref()), "{label}: input mutated");
    }
    let y = good.as_ref();
    log.check_ml("lambdas count", Some("lambdas"), || {
        MlIsta::new(vec![0.1]).solve(&model, y)
    });
    log.check_ml("lambdas nan", Some("lambdas"), || {
        MlIsta::new(vec![0.1, f64::NAN]).solve(&model, y)
    });
    log.check_ml("lambdas negative", Some("lambdas"), || {
        MlIsta::new(vec![0.1, -1.0]).solve(&model, y)
    });
    log.check_ml("iterations 0", Some("iterations"), || {
        MlIsta::new(vec![0.1, 0.1]).iterations(0).solve(&model, y)
    });
    log.check_ml("change_tol nan", Some("change_tol"), || {
        MlIsta::new(vec![0.1, 0.1])
            .change_tol(f64::NAN)
            .solve(&model, y)
    });
    log.check_ml("steps count", Some("steps"), || {
        MlIsta::new(vec![0.1, 0.1])
            .steps(vec![0.1])
            .solve(&model, y)
    });
    log.check_ml("steps zero", Some("steps"), || {
        MlIsta::new(vec![0.1, 0.1])
            .steps(vec![0.0, 0.1])
            .solve(&model, y)
    });
    log.check_ml("steps nan", Some("steps"), || {
        MlIsta::new(vec![0.1, 0.1])
            .steps(vec![f64::NAN, 0.1])
            .solve(&model, y)
    });
    // Steps far beyond 1 / ||D_1||^2: ML-ISTA diverges, and says which parameter caused it.
    log.check_ml("steps diverging", Some("steps"), || {
        MlIsta::new(vec![0.0, 0.0])
            .steps(vec![100.0, 100.0])
            .iterations(2000)
            .solve(&model, y)
    });
    log.check_ml("steps diverging fista", Some("steps"), || {
        MlFista::new(vec![0.0, 0.0])
            .steps(vec![100.0, 100.0])
            .iterations(2000)
            .solve(&model, y)
    });
    println!("{} calls in {:?}", log.calls, start.elapsed());
    log.finish(MIN_CALLS);
}
