//! Convolutional sparse coding: the reference workload (a 256x256 greyscale image, 32 filters
//! of 8x8, lambda 0.05) for ADMM and FISTA iterations, and the FFT / direct operators.
//! Throughput is in iterations (pursuits) or signals (operators).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use csc::{Cbpdn, CbpdnFista, ConvDictionary, ConvOperator, Grid, Method};
use faer::{Mat, Par};
use sparse_core::LinearOperator;
use sparse_core::Solve;

/// The camera image, 2x2-averaged to 256x256 in [0, 1] minus its mean (synthetic if missing).
fn image() -> Mat<f64> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/camera.png");
    let v: Vec<f64> = match sparse_core::io::read_png_gray(path) {
        Ok(img) if img.nrows() >= 512 && img.ncols() >= 512 => (0..256 * 256)
            .map(|k| {
                let (i, j) = (k % 256, k / 256);
                (img[(2 * i, 2 * j)]
                    + img[(2 * i + 1, 2 * j)]
                    + img[(2 * i, 2 * j + 1)]
                    + img[(2 * i + 1, 2 * j + 1)])
                    / (4.0 * 255.0)
            })
            .collect(),
        _ => (0..256 * 256)
            .map(|k| ((k % 256) as f64 * 0.1).sin() * ((k / 256) as f64 * 0.07).cos())
            .collect(),
    };
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    Mat::from_fn(v.len(), 1, |i, _| v[i] - mean)
}

fn reference_operator() -> ConvOperator {
    let mut rng = sparse_core::generate::rng(0);
    let d = ConvDictionary::random(Grid::d2(8, 8), 1, 32, &mut rng).unwrap();
    d.operator(Grid::d2(256, 256)).unwrap()
}

fn pursuits(c: &mut Criterion) {
    let op = reference_operator();
    let y = image();
    let _ = op.lipschitz();
    let iters = 5;
    let mut g = c.benchmark_group("csc");
    g.sample_size(10);
    g.throughput(Throughput::Elements(iters as u64));
    for (pname, par) in [("par", Par::rayon(0)), ("seq", Par::Seq)] {
        let admm = Cbpdn::new(0.05)
            .max_iter(iters)
            .rel_residual_tol(1e-12)
            .par(par);
        g.bench_function(
            BenchmarkId::new(format!("cbpdn_admm/256x256/m32_8x8/{pname}"), iters),
            |b| b.iter(|| admm.solve(&op, y.as_ref()).unwrap()),
        );
        let fista = CbpdnFista::new(0.05)
            .max_iter(iters)
            .change_tol(1e-12)
            .par(par);
        g.bench_function(
            BenchmarkId::new(format!("cbpdn_fista/256x256/m32_8x8/{pname}"), iters),
            |b| b.iter(|| fista.solve(&op, y.as_ref()).unwrap()),
        );
    }
    g.finish();
}

fn operators(c: &mut Criterion) {
    let mut g = c.benchmark_group("csc");
    g.sample_size(10);
    let big = reference_operator();
    let small = {
        let mut rng = sparse_core::generate::rng(1);
        let d = ConvDictionary::random(Grid::d1(11), 1, 16, &mut rng).unwrap();
        d.operator(Grid::d1(1024)).unwrap()
    };
    for (name, op, b) in [
        ("256x256/m32_8x8", &big, 1usize),
        ("1d_1024/m16_11", &small, 64),
    ] {
        let x = Mat::from_fn(op.ncols(), b, |i, j| {
            ((i * 31 + j * 7) % 97) as f64 / 97.0 - 0.5
        });
        let y = op.apply(x.as_ref()).unwrap();
        g.throughput(Throughput::Elements(b as u64));
        for method in [Method::Direct, Method::Fft] {
            let o = op.clone().with_method(method);
            let mut out = Mat::zeros(op.nrows(), b);
            g.bench_function(format!("apply/{method:?}/{name}/b{b}"), |bch| {
                bch.iter(|| {
                    o.apply_into(x.as_ref(), out.as_mut(), Par::rayon(0))
                        .unwrap()
                })
            });
            let mut out = Mat::zeros(op.ncols(), b);
            g.bench_function(format!("adjoint/{method:?}/{name}/b{b}"), |bch| {
                bch.iter(|| {
                    o.apply_adjoint_into(y.as_ref(), out.as_mut(), Par::rayon(0))
                        .unwrap()
                })
            });
        }
    }
    g.finish();
}

criterion_group!(benches, pursuits, operators);
criterion_main!(benches);
