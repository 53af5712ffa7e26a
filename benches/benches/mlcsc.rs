//! The multi-layer pursuits on a 3-layer dense 784-512-256-128 model and on the convolutional
//! MNIST setting of the lecture notes (004: valid convolutions, 32 filters 7x7 stride 2, 128 of
//! 5x5x32, 1024 of 7x7x128 on 28x28 images), batches of 1000 signals: the forward pass
//! (layered ReLU thresholding), ML-ISTA with 10 iterations and the projection pursuit
//! (Batch-OMP of 10 atoms on the effective dictionary, then the intermediate layers).
//! Throughput is in signals per second. `cargo bench -p benches --bench mlcsc -- conv` runs
//! the convolutional group only.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use faer::Par;
use mlcsc::{
    Layer, LayeredThresholding, MlIsta, MlModel, Projection, Solve, ValidConv, ValidGeometry,
};
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

fn conv_model() -> MlModel {
    let mut rng = generate::rng(0);
    let shapes = [
        ValidGeometry::new(1, (28, 28), (7, 7), 2, 32).unwrap(),
        ValidGeometry::new(32, (11, 11), (5, 5), 1, 128).unwrap(),
        ValidGeometry::new(128, (7, 7), (7, 7), 1, 1024).unwrap(),
    ];
    MlModel::new(
        shapes
            .iter()
            .map(|&g| Layer::Valid(ValidConv::random(g, &mut rng).unwrap()))
            .collect(),
    )
    .unwrap()
}

fn pursuits(c: &mut Criterion) {
    run(
        c,
        &model(),
        "mlcsc",
        format!("{}-{}-{}-{}", DIMS[0], DIMS[1], DIMS[2], DIMS[3]),
    );
}

fn conv(c: &mut Criterion) {
    run(c, &conv_model(), "mlcsc-conv", "mnist-004".to_string());
}

fn run(c: &mut Criterion, model: &MlModel, group: &str, name: String) {
    let dims = model.dims();
    let mut rng = generate::rng(1);
    let gamma = generate::sparseland_codes(dims[3], 10, BATCH, 0.5, 1.0, &mut rng).unwrap();
    let eff = model.effective(1, 3).unwrap();
    let y = generate::signals(&eff, gamma.as_ref(), Noise::SnrDb(30.0), &mut rng)
        .unwrap()
        .noisy;
    let id = format!("{name}/b{BATCH}");
    let mut g = c.benchmark_group(group);
    g.sample_size(10);
    g.throughput(Throughput::Elements(BATCH as u64));
    let fp = LayeredThresholding::relu(&[0.1, 0.05, 0.02]).par(Par::rayon(0));
    g.bench_function(format!("forward/{id}"), |b| {
        b.iter(|| fp.forward(model, y.as_ref()).unwrap())
    });
    let steps = mlcsc::StepConditions::default_steps(model);
    let ista = MlIsta::new(vec![0.1, 0.05, 0.02])
        .steps(steps)
        .iterations(10);
    g.bench_function(format!("mlista-k10/{id}"), |b| {
        b.iter(|| ista.solve(model, y.as_ref()).unwrap())
    });
    let proj = Projection::omp(10);
    g.bench_function(format!("projection-omp10/{id}"), |b| {
        b.iter(|| proj.solve(model, y.as_ref()).unwrap())
    });
    g.finish();
}

criterion_group!(benches, pursuits, conv);
criterion_main!(benches);
