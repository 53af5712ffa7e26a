//! Profiling harness for the convolutional MNIST setting of 004 (valid convolutions 32 7x7
//! stride 2, 128 5x5x32, 1024 7x7x128): `cargo run --release -p mlcsc --example conv_profile
//! [forward|mlista] [batch] [reps]` prints the time per batch and signals per second.

use faer::{Mat, Par};
use mlcsc::{Layer, LayeredThresholding, MlIsta, MlModel, Solve, ValidConv, ValidGeometry};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let what = args.get(1).map(String::as_str).unwrap_or("forward");
    let batch: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let reps: usize = args.get(3).map(|s| s.parse()).transpose()?.unwrap_or(5);
    let mut rng = sparse_core::generate::rng(0);
    let shapes = [
        ValidGeometry::new(1, (28, 28), (7, 7), 2, 32)?,
        ValidGeometry::new(32, (11, 11), (5, 5), 1, 128)?,
        ValidGeometry::new(128, (7, 7), (7, 7), 1, 1024)?,
    ];
    let layers = shapes
        .iter()
        .map(|&g| Ok(Layer::Valid(ValidConv::random(g, &mut rng)?)))
        .collect::<Result<Vec<_>, mlcsc::Error>>()?;
    let model = MlModel::new(layers)?;
    let y = Mat::<f64>::from_fn(784, batch, |i, j| ((i * 31 + j * 17) % 97) as f64 / 97.0);
    let steps = vec![1e-3, 1e-4, 1e-5];
    let t = Instant::now();
    for _ in 0..reps {
        match what {
            "mlista" => {
                MlIsta::new(vec![0.1, 0.05, 0.02])
                    .steps(steps.clone())
                    .iterations(10)
                    .solve(&model, y.as_ref())?;
            }
            _ => {
                LayeredThresholding::relu(&[0.1, 0.05, 0.02])
                    .par(Par::rayon(0))
                    .forward(&model, y.as_ref())?;
            }
        }
    }
    let s = t.elapsed().as_secs_f64() / reps as f64;
    println!(
        "{what}: {s:.3} s per batch of {batch}, {:.0} signals/s",
        batch as f64 / s
    );
    Ok(())
}
