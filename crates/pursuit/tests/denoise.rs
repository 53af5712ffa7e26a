//! K-SVD image denoising (Elad & Aharon 2006) on a crop of the shipped camera-man image.

use faer::{Mat, MatRef};
use pursuit::dictlearn::{Aggregation, AtomUpdate, Denoiser};
use sparse_core::io::read_png_gray;
use sparse_core::metrics::psnr;
use sparse_core::{generate, Dictionary};

/// The `size x size` centre crop of `assets/camera.png`.
fn camera(size: usize) -> Mat<f64> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../assets/camera.png");
    let img = read_png_gray(path).expect("assets/camera.png is shipped");
    let (r0, c0) = ((img.nrows() - size) / 2, (img.ncols() - size) / 2);
    img.as_ref().submatrix(r0, c0, size, size).to_owned()
}

fn noisy(clean: MatRef<'_, f64>, sigma: f64, seed: u64) -> Mat<f64> {
    generate::add_noise(clean, sigma, &mut generate::rng(seed)).unwrap()
}

fn db(clean: MatRef<'_, f64>, img: MatRef<'_, f64>) -> f64 {
    psnr(clean, img, 255.0).unwrap()
}

#[test]
fn ksvd_denoising_improves_psnr_and_beats_the_dct() {
    let clean = camera(96);
    let y = noisy(clean.as_ref(), 20.0, 1);
    let den = Denoiser::new(20.0).iterations(3).seed(1);
    let dct = den.denoise_dct(y.as_ref()).unwrap();
    let ksvd = den.denoise_ksvd(y.as_ref()).unwrap();
    let (p_noisy, p_dct, p_ksvd) = (
        db(clean.as_ref(), y.as_ref()),
        db(clean.as_ref(), dct.image.as_ref()),
        db(clean.as_ref(), ksvd.image.as_ref()),
    );
    assert!(
        p_dct > p_noisy + 4.0,
        "DCT {p_dct:.2} dB vs noisy {p_noisy:.2} dB"
    );
    assert!(
        p_ksvd > p_noisy + 4.0,
        "K-SVD {p_ksvd:.2} dB vs noisy {p_noisy:.2} dB"
    );
    assert!(
        p_ksvd >= p_dct - 0.05,
        "K-SVD {p_ksvd:.2} dB vs DCT {p_dct:.2} dB"
    );
    // Diagnostics.
    assert_eq!(ksvd.history.len(), 3);
    assert_eq!(ksvd.n_patches, 89 * 89);
    assert_eq!(ksvd.n_training, 89 * 89);
    assert_eq!(ksvd.dictionary.n_atoms(), 256);
    assert!(ksvd.mean_atoms > 0.0 && ksvd.mean_atoms < 32.0);
    assert!((ksvd.eps - 1.15 * 20.0 * 8.0).abs() < 1e-12);
    assert!((ksvd.lambda - 1.5).abs() < 1e-12);
    assert!(dct.history.is_empty() && dct.n_training == 0);
    assert_eq!(
        dct.dictionary,
        Dictionary::overcomplete_dct(8, 256).unwrap()
    );
}

#[test]
fn exact_ksvd_and_strided_patches_also_denoise() {
    let clean = camera(64);
    let y = noisy(clean.as_ref(), 25.0, 2);
    let p_noisy = db(clean.as_ref(), y.as_ref());
    // The default is the approximate K-SVD update; the paper's exact (SVD) update on request.
    assert_eq!(Denoiser::new(25.0).update, AtomUpdate::Approximate);
    let approx = Denoiser::new(25.0)
        .iterations(2)
        .denoise_ksvd(y.as_ref())
        .unwrap();
    let p_approx = db(clean.as_ref(), approx.image.as_ref());
    assert!(p_approx > p_noisy + 4.0);
    let exact = Denoiser::new(25.0)
        .iterations(2)
        .update(AtomUpdate::Exact)
        .denoise_ksvd(y.as_ref())
        .unwrap();
    let p_exact = db(clean.as_ref(), exact.image.as_ref());
    assert!(p_exact > p_noisy + 4.0);
    assert_ne!(exact.dictionary, approx.dictionary);
    assert!(
        (p_exact - p_approx).abs() < 0.3,
        "exact {p_exact:.2} dB vs approximate {p_approx:.2} dB"
    );
    // Stride 2 with a training subset: fewer patches, still a clear gain.
    let strided = Denoiser::new(25.0)
        .iterations(2)
        .stride(2)
        .max_training(500)
        .denoise_ksvd(y.as_ref())
        .unwrap();
    assert_eq!(strided.n_patches, 29 * 29);
    assert_eq!(strided.n_training, 500);
    assert!(db(clean.as_ref(), strided.image.as_ref()) > p_noisy + 3.0);
    // A learned dictionary can be reused on another noisy image.
    let again = Denoiser::new(25.0)
        .denoise_with(noisy(clean.as_ref(), 25.0, 3).as_ref(), &approx.dictionary)
        .unwrap();
    assert!(db(clean.as_ref(), again.image.as_ref()) > p_noisy + 4.0);
}

/// A piecewise-smooth test image: two linear ramps split by a diagonal edge, with a bright disc.
fn piecewise_smooth(size: usize) -> Mat<f64> {
    let s = size as f64;
    Mat::from_fn(size, size, |i, j| {
        let (x, y) = (j as f64 / s, i as f64 / s);
        let base = if x + 0.6 * y < 0.8 {
            60.0 + 80.0 * x
        } else {
            200.0 - 70.0 * y
        };
        let (dx, dy) = (x - 0.35, y - 0.65);
        if dx * dx + dy * dy < 0.04 {
            base + 50.0
        } else {
            base
        }
    })
}

#[test]
fn sparsity_weights_beat_the_uniform_average_on_a_piecewise_smooth_image() {
    let clean = piecewise_smooth(64);
    let y = noisy(clean.as_ref(), 20.0, 5);
    let den = Denoiser::new(20.0).iterations(3).seed(2);
    assert_eq!(den.aggregation, Aggregation::Uniform);
    let uniform = den.denoise_ksvd(y.as_ref()).unwrap();
    let sparse = den
        .clone()
        .aggregation(Aggregation::Sparsity)
        .denoise_ksvd(y.as_ref())
        .unwrap();
    // The weights change only the final average: same dictionary, same codes.
    assert_eq!(uniform.dictionary, sparse.dictionary);
    assert_eq!(uniform.mean_atoms, sparse.mean_atoms);
    let (p_noisy, p_uniform, p_sparse) = (
        db(clean.as_ref(), y.as_ref()),
        db(clean.as_ref(), uniform.image.as_ref()),
        db(clean.as_ref(), sparse.image.as_ref()),
    );
    assert!(
        p_uniform > p_noisy + 6.0,
        "uniform {p_uniform:.2} dB vs noisy {p_noisy:.2} dB"
    );
    assert!(
        p_sparse > p_uniform + 0.05,
        "sparsity weights {p_sparse:.2} dB vs uniform {p_uniform:.2} dB"
    );
    assert_eq!(Aggregation::Uniform.weight(5), 1.0);
    assert_eq!(Aggregation::Sparsity.weight(0), 1.0);
    assert_eq!(Aggregation::Sparsity.weight(3), 0.25);
}

#[test]
fn denoiser_rejects_bad_input() {
    let y = noisy(camera(32).as_ref(), 10.0, 4);
    let msg = |e: pursuit::Error| e.to_string();
    assert!(msg(Denoiser::new(0.0).denoise_dct(y.as_ref()).unwrap_err()).contains("sigma"));
    assert!(msg(Denoiser::new(f64::NAN).denoise_dct(y.as_ref()).unwrap_err()).contains("sigma"));
    let e = Denoiser::new(10.0)
        .n_atoms(200)
        .denoise_dct(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("n_atoms"));
    let e = Denoiser::new(10.0)
        .patch_size(40)
        .denoise_dct(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("patch_size"));
    let e = Denoiser::new(10.0)
        .stride(9)
        .denoise_dct(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("stride"));
    let e = Denoiser::new(10.0)
        .iterations(0)
        .denoise_ksvd(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("iterations"));
    let e = Denoiser::new(10.0)
        .lambda(Some(-1.0))
        .denoise_dct(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("lambda"));
    let e = Denoiser::new(10.0)
        .c(0.0)
        .denoise_dct(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("`c`"));
    let e = Denoiser::new(10.0)
        .max_training(0)
        .denoise_ksvd(y.as_ref())
        .unwrap_err();
    assert!(msg(e).contains("max_training"));
    let mut bad = y.clone();
    bad[(1, 2)] = f64::INFINITY;
    assert!(msg(Denoiser::new(10.0).denoise_dct(bad.as_ref()).unwrap_err()).contains("noisy"));
    let e = Denoiser::new(10.0)
        .denoise_dct(Mat::<f64>::zeros(0, 0).as_ref())
        .unwrap_err();
    assert!(msg(e).contains("noisy"));
    let d = Dictionary::overcomplete_dct(4, 16).unwrap();
    assert!(msg(Denoiser::new(10.0)
        .denoise_with(y.as_ref(), &d)
        .unwrap_err())
    .contains("`d`"));
}
