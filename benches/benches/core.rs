//! `apply` / `apply_adjoint` of a 64 x 256 dictionary on batches of 1, 256 and 10000 signals.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use faer::{Mat, Par};
use sparse_core::{generate, Dictionary, LinearOperator};

fn operator(c: &mut Criterion) {
    let mut rng = generate::rng(0);
    let d = Dictionary::random_gaussian(64, 256, &mut rng).unwrap();
    let mut g = c.benchmark_group("core/dictionary");
    for b in [1usize, 256, 10_000] {
        let x = generate::bernoulli_gaussian(256, b, 0.05, 1.0, &mut rng).unwrap();
        let y = d.apply(x.as_ref()).unwrap();
        g.throughput(Throughput::Elements(b as u64));
        for (pname, par) in [("seq", Par::Seq), ("par", Par::rayon(0))] {
            let mut out = Mat::<f64>::zeros(64, b);
            g.bench_with_input(
                BenchmarkId::new(format!("apply/64x256/{pname}"), b),
                &b,
                |bch, _| bch.iter(|| d.apply_into(x.as_ref(), out.as_mut(), par).unwrap()),
            );
            let mut out = Mat::<f64>::zeros(256, b);
            g.bench_with_input(
                BenchmarkId::new(format!("adjoint/64x256/{pname}"), b),
                &b,
                |bch, _| bch.iter(|| d.apply_adjoint_into(y.as_ref(), out.as_mut(), par).unwrap()),
            );
        }
    }
    g.finish();
}

criterion_group!(benches, operator);
criterion_main!(benches);
