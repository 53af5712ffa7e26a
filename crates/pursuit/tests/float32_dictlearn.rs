//! Dictionary learning and K-SVD denoising of `f32` signals (coded by Batch-OMP in float32,
//! dictionaries updated in float64) against the same learners on the `f64` signals: the planted
//! dictionary of the K-SVD paper's experiment is recovered alike, the learning curves agree to
//! float32 precision, and the denoised images to hundredths of a decibel.

use faer::{Mat, MatRef};
use pursuit::dictlearn::{Coder, Denoiser, Ksvd, LearnedDictionary, Mod, OnlineDictLearning};
use pursuit::{Omp, Stop};
use rand::Rng;
use sparse_core::io::read_png_gray;
use sparse_core::metrics::psnr;
use sparse_core::{generate, Dictionary, LinearOperator, Noise};

fn to32(m: MatRef<'_, f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}

fn to64(m: MatRef<'_, f32>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f64)
}

/// The K-SVD paper's set-up (20 x 50 random dictionary, 3 atoms per signal, 1,500 signals, 20
/// dB), with the signals rounded to `f32` (and the `f64` signals equal to those roundings, so
/// both learners see the same data).
fn planted(seed: u64) -> (Dictionary, Mat<f32>, Mat<f64>) {
    let mut rng = generate::rng(seed);
    let d = Dictionary::random_gaussian(20, 50, &mut rng).unwrap();
    let mut x = Mat::<f64>::zeros(50, 1500);
    for j in 0..1500 {
        for i in rand::seq::index::sample(&mut rng, 50, 3).iter() {
            x[(i, j)] = rng.random_range(-1.0..1.0);
        }
    }
    let y = generate::signals(&d, x.as_ref(), Noise::SnrDb(20.0), &mut rng)
        .unwrap()
        .noisy;
    let y32 = to32(y.as_ref());
    let y64 = to64(y32.as_ref());
    (d, y32, y64)
}

/// Fraction of true atoms with a learned atom `e` such that `1 - |<d, e>| < 0.01`.
fn recovered(truth: &Dictionary, learned: &Dictionary) -> f64 {
    let g = truth.matrix().transpose() * learned.matrix();
    let hits = (0..g.nrows())
        .filter(|&i| (0..g.ncols()).any(|j| 1.0 - g[(i, j)].abs() < 0.01))
        .count();
    hits as f64 / truth.n_atoms() as f64
}

fn rmse_of(learned: &LearnedDictionary, y: MatRef<'_, f64>) -> f64 {
    let r = y - learned
        .dictionary
        .apply(learned.codes.to_dense().as_ref())
        .unwrap();
    (r.squared_norm_l2() / (y.nrows() * y.ncols()) as f64).sqrt()
}

/// K-SVD and MOD on `f32` signals recover the planted dictionary as well as on the same
/// signals in `f64` (mean over 4 problems, 40 iterations), the first iteration's RMSE (same
/// initial atoms, codes equal up to float32 rounding) agrees to `1e-5` relative, the final one
/// to 2%, and the returned codes belong to the returned dictionary.
#[test]
fn float32_learning_recovers_the_planted_dictionary_like_float64() {
    for name in ["ksvd", "mod"] {
        let (mut r32, mut r64) = (0.0, 0.0);
        for seed in 1..=4 {
            let (truth, y32, y64) = planted(seed);
            let (a, b) = match name {
                "ksvd" => {
                    let l = Ksvd::new(50, Stop::Sparsity(3)).iterations(40).seed(seed);
                    (l.fit(y32.as_ref()).unwrap(), l.fit(y64.as_ref()).unwrap())
                }
                _ => {
                    let l = Mod::new(50, Stop::Sparsity(3)).iterations(40).seed(seed);
                    (l.fit(y32.as_ref()).unwrap(), l.fit(y64.as_ref()).unwrap())
                }
            };
            let (h32, h64) = (&a.history, &b.history);
            assert_eq!(h32.len(), 40);
            let (e32, e64) = (h32[0].rmse, h64[0].rmse);
            assert!(
                (e32 - e64).abs() <= 1e-5 * e64,
                "{name} seed {seed}: first RMSE {e32} vs {e64}"
            );
            let (f32_, f64_) = (a.final_rmse(), b.final_rmse());
            assert!(
                (f32_ - f64_).abs() <= 0.02 * f64_,
                "{name} seed {seed}: final RMSE {f32_} vs {f64_}"
            );
            let own = rmse_of(&a, y64.as_ref());
            assert!((own - f32_).abs() <= 1e-6 * f32_, "{name}: {own} vs {f32_}");
            r32 += recovered(&truth, &a.dictionary) / 4.0;
            r64 += recovered(&truth, &b.dictionary) / 4.0;
        }
        assert!(
            r32 >= 0.9 && r32 >= r64 - 0.03,
            "{name}: float32 recovered {r32}, float64 {r64}"
        );
    }
}

/// Online learning of `f32` signals follows the `f64` run (same mini-batches) to 1% in RMSE.
#[test]
fn float32_online_learning_follows_float64() {
    let (truth, y32, y64) = planted(7);
    let l = OnlineDictLearning::new(50, Stop::Sparsity(3))
        .iterations(5)
        .seed(3);
    let (a, b) = (l.fit(y32.as_ref()).unwrap(), l.fit(y64.as_ref()).unwrap());
    for (p, q) in a.history.iter().zip(&b.history) {
        assert!((p.rmse - q.rmse).abs() <= 0.01 * q.rmse, "{p:?} vs {q:?}");
    }
    let (r32, r64) = (
        recovered(&truth, &a.dictionary),
        recovered(&truth, &b.dictionary),
    );
    assert!(r32 >= r64 - 0.06, "float32 recovered {r32}, float64 {r64}");
}

/// A custom coder runs in `f64` on the widened `f32` signals: the result equals the `f64` run.
#[test]
fn float32_signals_with_a_custom_coder_run_in_float64() {
    let (_, y32, y64) = planted(2);
    let l = Ksvd::new(50, Stop::Sparsity(3))
        .coder(Omp::new(Stop::Sparsity(3)))
        .iterations(3)
        .seed(1);
    let (a, b) = (l.fit(y32.as_ref()).unwrap(), l.fit(y64.as_ref()).unwrap());
    assert_eq!(a, b);
    // The f32 coder is also available for f64 signals, and gives the f32 input's result.
    let mut o = pursuit::dictlearn::LearnOptions::new(50, Stop::Sparsity(3));
    o.coder = Coder::BatchOmpF32(Stop::Sparsity(3));
    o.iterations = 3;
    o.seed = 1;
    let c = Ksvd::with_options(o).fit(y64.as_ref()).unwrap();
    let d = Ksvd::new(50, Stop::Sparsity(3))
        .iterations(3)
        .seed(1)
        .fit(y32.as_ref())
        .unwrap();
    assert_eq!(c, d);
}

/// `f32` signals far from unit size (2^60, beyond float32's safe range for squared norms but
/// representable) learn the dictionary of the same signals at unit size.
#[test]
fn float32_learning_at_extreme_magnitude() {
    let (_, y32, _) = planted(5);
    let s = 2f32.powi(60);
    let big = Mat::<f32>::from_fn(20, 1500, |i, j| y32[(i, j)] * s);
    let l = Ksvd::new(50, Stop::Sparsity(3)).iterations(4).seed(1);
    let (a, b) = (l.fit(big.as_ref()).unwrap(), l.fit(y32.as_ref()).unwrap());
    for (p, q) in a.history.iter().zip(&b.history) {
        let r = p.rmse / s as f64;
        assert!((r - q.rmse).abs() <= 1e-9 * q.rmse, "{r} vs {}", q.rmse);
    }
    let diff = (a.dictionary.matrix() - b.dictionary.matrix()).norm_max();
    // (float64 rounding of the updates on the scaled data, compounded over the iterations)
    assert!(diff <= 1e-7, "atoms differ by {diff:e}");
}

/// K-SVD denoising of an `f32` image (96 x 96 camera crop, sigma 20) matches the `f64` run on
/// the same image to 0.05 dB, for the learned and the fixed DCT dictionary.
#[test]
fn float32_denoising_matches_float64() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/camera.png");
    let img = read_png_gray(path).unwrap();
    let (r0, c0) = ((img.nrows() - 96) / 2, (img.ncols() - 96) / 2);
    let clean = img.as_ref().submatrix(r0, c0, 96, 96).to_owned();
    let noisy = generate::add_noise(clean.as_ref(), 20.0, &mut generate::rng(3)).unwrap();
    let n32 = to32(noisy.as_ref());
    let n64 = to64(n32.as_ref());
    let den = Denoiser::new(20.0).iterations(3).seed(1);
    let db = |x: &Mat<f64>| psnr(clean.as_ref(), x.as_ref(), 255.0).unwrap();
    let (a, b) = (
        den.denoise_ksvd(n32.as_ref()).unwrap(),
        den.denoise_ksvd(n64.as_ref()).unwrap(),
    );
    let (pa, pb) = (db(&a.image), db(&b.image));
    assert!(
        (pa - pb).abs() <= 0.05,
        "K-SVD: float32 {pa:.3} dB, float64 {pb:.3} dB"
    );
    assert!(pa > db(&n64) + 4.0);
    let (a, b) = (
        den.denoise_dct(n32.as_ref()).unwrap(),
        den.denoise_dct(n64.as_ref()).unwrap(),
    );
    let (pa, pb) = (db(&a.image), db(&b.image));
    assert!(
        (pa - pb).abs() <= 0.01,
        "DCT: float32 {pa:.3} dB, float64 {pb:.3} dB"
    );
    assert!((a.mean_atoms - b.mean_atoms).abs() <= 0.01 * b.mean_atoms);
    // Bad f32 input is named.
    let mut bad = n32.clone();
    bad[(3, 4)] = f32::NAN;
    let e = den.denoise_dct(bad.as_ref()).unwrap_err();
    assert!(e.to_string().contains("noisy"), "{e}");
}
