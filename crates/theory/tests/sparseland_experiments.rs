//! The Sparseland theorems against experiment: random instances drawn *inside* each theorem's
//! condition never violate its guarantee.
//!
//! Dictionaries are `Q [I, DCT]` (random rotation, shuffled columns, random signs): the Gram
//! matrix, hence the coherence, of `[I, DCT]`, low enough for `k >= 2`.

mod common;

use faer::Mat;
use proptest::prelude::*;
use pursuit::admm::{BasisPursuit, Bpdn};
use pursuit::{BatchOmp, Omp, Solve, Stop, Thresholding};
use sparse_core::{generate, Noise, Shrinkage};
use theory::sparseland::{
    bp_recovery, bp_stability, largest_below, omp_recovery, thresholding_recovery,
};

const SIGNALS: usize = 6;

fn column(m: &Mat<f64>, j: usize) -> Vec<f64> {
    m.col(j).iter().copied().collect()
}

fn linf_diff(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn l2_diff_sq(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Indices of the `k` largest magnitudes, sorted.
fn top_k(x: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|&a, &b| x[b].abs().total_cmp(&x[a].abs()));
    let mut t = idx[..k].to_vec();
    t.sort_unstable();
    t
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Tropp 2004; Donoho & Elad 2003: OMP, Batch-OMP and BP recover every code with
    /// `||a||_0 < (1 + 1/mu) / 2` exactly.
    #[test]
    fn omp_and_bp_recover_inside_the_coherence_bound(
        seed in any::<u64>(),
        n_pow in 5usize..=7,
        pick in any::<usize>(),
        contrast in 0.05f64..=1.0,
    ) {
        let n = 1 << n_pow;
        let mut rng = generate::rng(seed);
        let d = common::rotated_identity_dct(n, &mut rng);
        let mu = theory::coherence(&d);
        let kmax = largest_below((1.0 + 1.0 / mu) / 2.0);
        let k = 1 + pick % kmax;
        prop_assert!(omp_recovery(mu, k as f64).unwrap().holds);
        prop_assert!(bp_recovery(mu, k as f64).unwrap().holds);

        let x = generate::sparseland_codes(2 * n, k, SIGNALS, contrast, 1.0, &mut rng).unwrap();
        let y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng).unwrap().clean;
        let stop = Stop::Residual(1e-10);
        let omp = Omp::new(stop).solve(&d, y.as_ref()).unwrap();
        let bomp = BatchOmp::new(stop).solve(&d, y.as_ref()).unwrap();
        let bp = BasisPursuit::new().solve(&d, y.as_ref()).unwrap();
        for j in 0..SIGNALS {
            let truth = column(&x, j);
            let supp = common::support(&truth, 0.0);
            for (name, res) in [("OMP", &omp), ("Batch-OMP", &bomp)] {
                let est = column(&res.codes, j);
                prop_assert_eq!(&common::support(&est, 0.0), &supp, "{} support, k = {}", name, k);
                prop_assert!(linf_diff(&est, &truth) < 1e-9, "{} values", name);
            }
            let est = column(&bp.codes, j);
            prop_assert_eq!(&top_k(&est, k), &supp, "BP support, k = {}", k);
            prop_assert!(linf_diff(&est, &truth) < 1e-4 * contrast, "BP values: {}", linf_diff(&est, &truth));
        }
    }

    /// Donoho, Elad & Temlyakov 2006: with `||a||_0 < (1 + 1/mu) / 4` and `||e||_2 = eps`, the
    /// BPDN solution obeys `||a_hat - a||^2 <= 4 eps^2 / (1 - mu (4 ||a||_0 - 1))`, whether solved
    /// by ADMM or by the Lasso homotopy.
    #[test]
    fn bp_stability_bound_holds(
        seed in any::<u64>(),
        n_pow in 6usize..=8,
        pick in any::<usize>(),
        contrast in 0.05f64..=1.0,
        eps in 0.001f64..0.5,
    ) {
        let n = 1 << n_pow;
        let mut rng = generate::rng(seed);
        let d = common::rotated_identity_dct(n, &mut rng);
        let mu = theory::coherence(&d);
        let kmax = largest_below((1.0 + 1.0 / mu) / 4.0);
        let k = 1 + pick % kmax;
        let cert = bp_stability(mu, k as f64, eps).unwrap();
        prop_assert!(cert.holds);
        let bound = cert.error_bound.unwrap();

        let x = generate::sparseland_codes(2 * n, k, SIGNALS, contrast, 1.0, &mut rng).unwrap();
        let clean = generate::signals(&d, x.as_ref(), Noise::None, &mut rng).unwrap().clean;
        let mut y = clean.clone();
        for j in 0..SIGNALS {
            let e = common::noise_of_norm(n, eps, &mut rng);
            for (i, v) in e.iter().enumerate() {
                y[(i, j)] += v;
            }
        }
        let admm = Bpdn::new(eps).solve(&d, y.as_ref()).unwrap();
        let homotopy = Bpdn::new(eps).homotopy().solve(&d, y.as_ref()).unwrap();
        for (name, res) in [("ADMM", &admm), ("homotopy", &homotopy)] {
            for j in 0..SIGNALS {
                prop_assert!(res.diagnostics[j].residual_norm <= eps * (1.0 + 1e-6) + 1e-9, "{} feasibility", name);
                let err = l2_diff_sq(&column(&res.codes, j), &column(&x, j));
                prop_assert!(err <= bound * (1.0 + 1e-6) + 1e-10,
                    "{}: ||a_hat - a||^2 = {} > bound {} (k = {}, mu = {}, eps = {})", name, err, bound, k, mu, eps);
            }
        }
    }

    /// Elad 2010 / Papyan, Romano & Elad 2017: when
    /// `a_min - (k - 1) mu a_max - eps > k mu a_max + eps`, keeping the `k` largest correlations
    /// finds the support, and the kept correlations are within
    /// `sqrt(k) ((k - 1) mu a_max + eps)` of `a`.
    #[test]
    fn thresholding_succeeds_when_its_contrast_condition_holds(
        seed in any::<u64>(),
        n_pow in 6usize..=8,
        pick in any::<usize>(),
        c_frac in 0.01f64..=1.0,
        e_frac in 0.0f64..0.99,
    ) {
        let n = 1 << n_pow;
        let mut rng = generate::rng(seed);
        let d = common::rotated_identity_dct(n, &mut rng);
        let mu = theory::coherence(&d);
        // Noiseless, contrast 1: (2k - 1) mu < 1.
        let kmax = largest_below((1.0 + 1.0 / mu) / 2.0);
        let k = 1 + pick % kmax;
        // Contrast above (2k - 1) mu, then noise using a fraction of what is left.
        let floor = (2.0 * k as f64 - 1.0) * mu;
        let contrast = if k == 1 { 1.0 } else { floor + c_frac * (1.0 - floor) };
        let eps = e_frac * (contrast - floor) / 2.0;
        let cert = thresholding_recovery(mu, k as f64, contrast, 1.0, eps).unwrap();
        prop_assert!(cert.holds, "{}", cert);
        let bound = cert.error_bound.unwrap();

        let x = generate::sparseland_codes(2 * n, k, SIGNALS, contrast.min(1.0), 1.0, &mut rng).unwrap();
        let mut y = generate::signals(&d, x.as_ref(), Noise::None, &mut rng).unwrap().clean;
        for j in 0..SIGNALS {
            let e = common::noise_of_norm(n, eps, &mut rng);
            for (i, v) in e.iter().enumerate() {
                y[(i, j)] += v;
            }
        }
        let thr = Thresholding::new(Shrinkage::TopK(k)).solve(&d, y.as_ref()).unwrap();
        for j in 0..SIGNALS {
            let truth = column(&x, j);
            let est = column(&thr.codes, j);
            prop_assert_eq!(common::support(&est, 0.0), common::support(&truth, 0.0), "k = {}", k);
            let err = l2_diff_sq(&est, &truth).sqrt();
            prop_assert!(err <= bound * (1.0 + 1e-9) + 1e-12, "error {} > bound {}", err, bound);
        }
    }
}
