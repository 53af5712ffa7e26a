//! Adversarial stability of a one-layer sparse-coding classifier against the margin bound.

use mlcsc::adversarial::{bp_margin_bound, min_flip, Coder};
use rand::Rng;
use sparse_core::{generate, Dictionary, LinearOperator};

#[test]
fn basis_pursuit_never_flips_inside_the_certified_radius() {
    let d = Dictionary::identity_dct(64).unwrap();
    let mu = d.coherence();
    let mut rng = generate::rng(1);
    let w: Vec<f64> = (0..128).map(|_| rng.random_range(-1.0..1.0)).collect();
    let w_norm = w.iter().map(|v| v * v).sum::<f64>().sqrt();
    let gamma = generate::sparseland_codes(128, 2, 30, 0.8, 1.0, &mut rng).unwrap();
    let x = d.apply(gamma.as_ref()).unwrap();
    let (mut certified, mut thr_flips) = (0, 0);
    for j in 0..30 {
        let score: f64 = (0..128).map(|i| w[i] * gamma[(i, j)]).sum();
        let label = score.signum();
        let Some(eps) = bp_margin_bound(score.abs(), 2, w_norm, mu) else {
            continue;
        };
        certified += 1;
        let xj: Vec<f64> = x.col(j).iter().copied().collect();
        // Theorem (Romano, Aberdam, Sulam & Elad): with lambda = 4 eps, no ||v|| <= eps flips it.
        let bp = Coder::Bp { lambda: 4.0 * eps };
        let flip = min_flip(bp, &d, &w, &xj, label, 50.0 * eps, 50).unwrap();
        if let Some(f) = flip {
            assert!(f > eps, "signal {j}: flipped at {f} <= bound {eps}");
        }
        let thr = Coder::Thresholding { beta: 0.3 };
        if let Some(f) = min_flip(thr, &d, &w, &xj, label, 5.0, 50).unwrap() {
            assert!(f >= 0.0);
            thr_flips += 1;
        }
    }
    assert!(certified >= 20, "{certified}");
    assert!(thr_flips > 0);
    assert!(bp_margin_bound(1.0, 5, 1.0, mu).is_none());
}
