//! The multi-layer pursuits on a 3-layer dense 784-512-256-128 model, batches of 1000 signals:
//! the forward pass (layered ReLU thresholding), ML-ISTA with 10 iterations and the projection
//! pursuit (Batch-OMP of 10 atoms on the effective dictionary, then the intermediate layers).
//! Throughput is in signals per second.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faer::Par;
use mlcsc::{LayeredThresholding, MlIsta, MlModel, MlPursuit, Projection};
use sparse_core::{generate, Dictionary, Noise};

const DIMS: [usize; 4] = [784, 512, 256, 128];
const BATCH: usize = 1000;

fn model() -> MlModel {
    let mut rng = generate::rng(0);
    let dicts: Vec<Dictionary> = DIMS
        .windows(2)
        .map(|w| Dictionary::random_gaussian(w[0], w[1], &mut rng).unwrap())
        .collect();
    MlModel::from_dictionaries(&dicts).unwrap()
}

fn pursuits(c: &mut Criterion) {
    let model = model();
    let mut rng = generate::rng(1);
    let gamma = generate::sparseland_codes(DIMS[3], 10, BATCH, 0.5, 1.0, &mut rng).unwrap();
    let eff = model.effective(1, 3).unwrap();
    let y = generate::signals(&eff, gamma.as_ref(), Noise::SnrDb(30.0), &mut rng)
        .unwrap()
        .noisy;
    let id = format!("{}-{}-{}-{}/b{BATCH}", DIMS[0], DIMS[1], DIMS[2], DIMS[3]);
    let mut g = c.benchmark_group("mlcsc");
    g.sample_size(10);
    g.throughput(Throughput::Elements(BATCH as u64));
    let fp = LayeredThresholding::relu(&[0.1, 0.05, 0.02]).par(Par::rayon(0));
    g.bench_function(format!("forward/{id}"), |b| {
        b.iter(|| fp.forward(&model, y.as_ref()).unwrap())
    });
    let steps = mlcsc::StepConditions::default_steps(&model);
    let ista = MlIsta::new(vec![0.1, 0.05, 0.02])
        .steps(steps)
        .iterations(10);
    g.bench_function(format!("mlista-k10/{id}"), |b| {
        b.iter(|| ista.pursue(&model, y.as_ref()).unwrap())
    });
    let proj = Projection::omp(10);
    g.bench_function(format!("projection-omp10/{id}"), |b| {
        b.iter(|| proj.pursue(&model, y.as_ref()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, pursuits);
criterion_main!(benches);
