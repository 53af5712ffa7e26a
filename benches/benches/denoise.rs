//! K-SVD image denoising (Elad & Aharon 2006) of a 128 x 128 crop of `assets/camera.png` at
//! sigma = 25: the overcomplete DCT alone, and 3 iterations of approximate (the default) and
//! exact K-SVD.

use criterion::{criterion_group, criterion_main, Criterion};
use pursuit::dictlearn::{AtomUpdate, Denoiser};
use sparse_core::generate;
use sparse_core::io::read_png_gray;

fn denoise(c: &mut Criterion) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/camera.png");
    let img = read_png_gray(path).expect("assets/camera.png is shipped");
    let size = 128;
    let (r0, c0) = ((img.nrows() - size) / 2, (img.ncols() - size) / 2);
    let clean = img.as_ref().submatrix(r0, c0, size, size).to_owned();
    let sigma = 25.0;
    let noisy = generate::add_noise(clean.as_ref(), sigma, &mut generate::rng(25)).unwrap();
    let mut g = c.benchmark_group("denoise");
    g.sample_size(10);
    let den = Denoiser::new(sigma).iterations(3);
    g.bench_function("dct/128x128/sigma25", |b| {
        b.iter(|| den.denoise_dct(noisy.as_ref()).unwrap())
    });
    g.bench_function("ksvd-approx/128x128/sigma25", |b| {
        b.iter(|| den.denoise_ksvd(noisy.as_ref()).unwrap())
    });
    let exact = den.clone().update(AtomUpdate::Exact);
    g.bench_function("ksvd/128x128/sigma25", |b| {
        b.iter(|| exact.denoise_ksvd(noisy.as_ref()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, denoise);
criterion_main!(benches);
