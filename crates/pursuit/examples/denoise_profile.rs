//! Profiling harness: where the K-SVD denoiser's time goes (learning vs final coding).
//! `cargo run --release -p pursuit --example denoise_profile [sigmas] [exact|approx] [image]`
use std::time::Instant;

use pursuit::dictlearn::{AtomUpdate, Denoiser};
use sparse_core::generate;
use sparse_core::io::read_png_gray;
use sparse_core::metrics::psnr;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let sigmas: Vec<f64> = args
        .get(1)
        .map_or("5", String::as_str)
        .split(',')
        .map(|s| s.parse())
        .collect::<Result<_, _>>()?;
    let update = match args.get(2).map(String::as_str) {
        Some("approx") => AtomUpdate::Approximate,
        _ => AtomUpdate::Exact,
    };
    let image = args.get(3).map_or("camera", String::as_str);
    let dir = std::env::var("IMAGE_DIR")
        .unwrap_or_else(|_| format!("{}/../../assets", env!("CARGO_MANIFEST_DIR")));
    let path = format!("{dir}/{image}.png");
    let img = read_png_gray(path)?;
    let size = 256;
    let (r0, c0) = ((img.nrows() - size) / 2, (img.ncols() - size) / 2);
    let clean = img.as_ref().submatrix(r0, c0, size, size).to_owned();
    for sigma in sigmas {
        let mut rng = generate::rng(7000 + sigma.round() as u64);
        let noisy = generate::add_noise(clean.as_ref(), sigma, &mut rng)?;
        let seed = std::env::var("SEED").map_or(Ok(0), |s| s.parse())?;
        let den = Denoiser::new(sigma).update(update).seed(seed);
        let t = Instant::now();
        let mut marks = Vec::new();
        let out = den.denoise_ksvd_observed(noisy.as_ref(), |r| {
            marks.push((t.elapsed().as_secs_f64(), r.mean_sparsity))
        })?;
        let total = t.elapsed().as_secs_f64();
        let learn = marks.last().map_or(0.0, |m| m.0);
        let its: Vec<String> = marks
            .iter()
            .scan(0.0, |prev, &(s, k)| {
                let d = s - *prev;
                *prev = s;
                Some(format!("{d:.2}s/k{k:.1}"))
            })
            .collect();
        let t2 = Instant::now();
        let again = den.denoise_with(noisy.as_ref(), &out.dictionary)?;
        let coding = t2.elapsed().as_secs_f64();
        // A hash of the output bits, to check that a speed-up changes nothing.
        let hash = (0..size * size).fold(0xcbf2_9ce4_8422_2325u64, |h, e| {
            (h ^ out.image[(e % size, e / size)].to_bits()).wrapping_mul(0x100_0000_01b3)
        });
        println!(
            "{image} sigma {sigma} {update:?} seed {seed} hash {hash:016x}: psnr {:.3} (recode {:.3}), total {total:.2}s = learn {learn:.2}s + final {:.2}s (recode alone {coding:.2}s), mean atoms {:.2}; iterations {}",
            psnr(clean.as_ref(), out.image.as_ref(), 255.0)?,
            psnr(clean.as_ref(), again.image.as_ref(), 255.0)?,
            total - learn,
            out.mean_atoms,
            its.join(" ")
        );
    }
    Ok(())
}
