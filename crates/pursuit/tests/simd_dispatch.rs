//! Every kernel site of `pursuit` with an AVX2 + FMA build, run on both builds through the one
//! dispatch of `sparse_core::simd`: coordinate descent and LARS (vectorised loops, no FMA
//! contraction) give bit-identical codes; Batch-OMP and ORMP (explicit FMA in the correlation
//! update `a0 - G_S x_S`) give the same supports and codes equal to within `1e-10` relative
//! (one rounding per term instead of two). Where the CPU has AVX-512, the 512-bit builds of
//! Batch-OMP and ORMP give the 256-bit builds' codes bit for bit. One test in this binary: it flips the
//! process-wide switches.

use faer::{Mat, MatRef};
use pursuit::greedy::Selection;
use pursuit::lasso::{CoordinateDescent, Lars};
use pursuit::{BatchOmp, Solve, Stop};
use sparse_core::simd::{force_avx2, force_portable, Avx2Fma, Avx512};
use sparse_core::{generate, Dictionary, Noise};

fn bits(m: MatRef<'_, f64>) -> Vec<u64> {
    (0..m.ncols())
        .flat_map(|j| m.col(j).iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        .collect()
}

/// Same supports, and entries equal to `tol` relative to the largest magnitude of the column.
fn assert_close(label: &str, a: MatRef<'_, f64>, b: MatRef<'_, f64>, tol: f64) {
    for j in 0..a.ncols() {
        let scale = a.col(j).iter().fold(1.0f64, |s, v| s.max(v.abs()));
        for i in 0..a.nrows() {
            let (x, y) = (a[(i, j)], b[(i, j)]);
            assert_eq!(x == 0.0, y == 0.0, "{label}: support differs at ({i}, {j})");
            assert!(
                (x - y).abs() <= tol * scale,
                "{label}: ({i}, {j}) {x} vs {y}"
            );
        }
    }
}

struct Codes {
    omp: Mat<f64>,
    omp_gram: Mat<f64>,
    omp_correlations: Mat<f64>,
    ormp: Mat<f64>,
    lars: Mat<f64>,
    lars_nonneg: Mat<f64>,
    cd: Mat<f64>,
    cd_nonneg: Mat<f64>,
    /// Batch-OMP and ORMP of the signals rounded to `f32` (codes widened to `f64`).
    omp32: Mat<f64>,
    ormp32: Mat<f64>,
}

fn run(d: &Dictionary, y: MatRef<'_, f64>, y32: MatRef<'_, f32>) -> Codes {
    let omp = BatchOmp::new(Stop::Sparsity(6));
    let wide = |m: Mat<f32>| Mat::<f64>::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f64);
    let gram = d.gram();
    let mut dty = Mat::<f64>::zeros(d.n_atoms(), y.ncols());
    faer::linalg::matmul::matmul(
        dty.as_mut(),
        faer::Accum::Replace,
        d.matrix().transpose(),
        y,
        1.0,
        faer::Par::Seq,
    );
    let ynorm2: Vec<f64> = (0..y.ncols()).map(|j| y.col(j).squared_norm_l2()).collect();
    Codes {
        omp: omp.solve(d, y).unwrap().codes,
        omp_gram: omp.code_with_gram(d, gram.as_ref(), y).unwrap().codes,
        omp_correlations: omp
            .code_correlations(gram.as_ref(), dty.as_ref(), &ynorm2)
            .unwrap()
            .codes,
        ormp: omp.selection(Selection::Ormp).solve(d, y).unwrap().codes,
        lars: Lars::new(0.05).solve(d, y).unwrap().codes,
        lars_nonneg: Lars::new(0.05).nonneg(true).solve(d, y).unwrap().codes,
        cd: CoordinateDescent::new(0.05).solve(d, y).unwrap().codes,
        cd_nonneg: CoordinateDescent::new(0.05)
            .nonneg(true)
            .solve(d, y)
            .unwrap()
            .codes,
        omp32: wide(omp.solve(d, y32).unwrap().codes),
        ormp32: wide(omp.selection(Selection::Ormp).solve(d, y32).unwrap().codes),
    }
}

#[test]
fn both_builds_give_the_same_codes() {
    if Avx2Fma::hardware().is_none() {
        eprintln!("no AVX2 + FMA on this CPU: only the portable build exists");
    }
    let mut rng = generate::rng(7);
    // Signal and code lengths that exercise the 32-, 8- and 1-row loops of the kernels.
    // The last case runs every kernel on the rescaled path of `by_magnitude` (signals near
    // 2^-300, beyond `SAFE_EXPONENT`, divided by a power of two before coding).
    for (n, m, scale) in [
        (20, 45, 1.0),
        (64, 256, 1.0),
        (37, 101, 1.0),
        (37, 101, 2f64.powi(-300)),
    ] {
        let d = Dictionary::random_gaussian(n, m, &mut rng).unwrap();
        let x = generate::sparseland_codes(m, 5, 40, 0.3, 1.0, &mut rng).unwrap();
        let y = generate::signals(&d, x.as_ref(), Noise::Sigma(0.01), &mut rng).unwrap();
        let y = Mat::<f64>::from_fn(n, y.noisy.ncols(), |i, j| y.noisy[(i, j)] * scale);
        // The float32 signals: the extreme case near 2^-100 (within f32's normal range, beyond
        // its safe exponent), which also takes the rescaled path.
        let s32 = if scale == 1.0 { 1.0 } else { 2f64.powi(-100) };
        let y32 = Mat::<f32>::from_fn(n, y.ncols(), |i, j| (y[(i, j)] / scale * s32) as f32);
        let y = y.as_ref();
        force_portable(true);
        assert_eq!(Avx2Fma::detect(), None);
        let portable = run(&d, y, y32.as_ref());
        force_portable(false);
        let detected = run(&d, y, y32.as_ref());
        let label = |what: &str| format!("{what}, {n} x {m}, scale {scale:e}");
        if Avx512::detect().is_some() {
            force_avx2(true);
            let narrow = run(&d, y, y32.as_ref());
            force_avx2(false);
            for (what, p, q) in [
                ("ORMP, 512 vs 256 bits", &detected.ormp, &narrow.ormp),
                (
                    "float32 ORMP, 512 vs 256 bits",
                    &detected.ormp32,
                    &narrow.ormp32,
                ),
                ("Batch-OMP, 512 vs 256 bits", &detected.omp, &narrow.omp),
                (
                    "Batch-OMP with Gram, 512 vs 256 bits",
                    &detected.omp_gram,
                    &narrow.omp_gram,
                ),
                (
                    "Batch-OMP from correlations, 512 vs 256 bits",
                    &detected.omp_correlations,
                    &narrow.omp_correlations,
                ),
                (
                    "float32 Batch-OMP, 512 vs 256 bits",
                    &detected.omp32,
                    &narrow.omp32,
                ),
            ] {
                assert!(bits(p.as_ref()) == bits(q.as_ref()), "{}", label(what));
            }
        }
        assert!(
            bits(portable.lars.as_ref()) == bits(detected.lars.as_ref()),
            "{}",
            label("LARS")
        );
        assert!(
            bits(portable.lars_nonneg.as_ref()) == bits(detected.lars_nonneg.as_ref()),
            "{}",
            label("non-negative LARS")
        );
        assert!(
            bits(portable.cd.as_ref()) == bits(detected.cd.as_ref()),
            "{}",
            label("CD")
        );
        assert!(
            bits(portable.cd_nonneg.as_ref()) == bits(detected.cd_nonneg.as_ref()),
            "{}",
            label("non-negative CD")
        );
        assert_close(
            &label("Batch-OMP"),
            portable.omp.as_ref(),
            detected.omp.as_ref(),
            1e-10,
        );
        for (what, p, q) in [
            (
                "Batch-OMP with Gram",
                &portable.omp_gram,
                &detected.omp_gram,
            ),
            (
                "Batch-OMP from correlations",
                &portable.omp_correlations,
                &detected.omp_correlations,
            ),
        ] {
            assert_close(&label(what), p.as_ref(), q.as_ref(), 1e-10);
        }
        assert_close(
            &label("ORMP"),
            portable.ormp.as_ref(),
            detected.ormp.as_ref(),
            1e-10,
        );
        for (what, p, q) in [
            ("float32 Batch-OMP", &portable.omp32, &detected.omp32),
            ("float32 ORMP", &portable.ormp32, &detected.ormp32),
        ] {
            assert_close(&label(what), p.as_ref(), q.as_ref(), 1e-4);
        }
    }
}
