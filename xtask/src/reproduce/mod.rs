//! `cargo xtask reproduce NAME`: regenerates a named experiment (figures as PNG/SVG, tables as
//! Markdown/CSV) under `target/reproduce/NAME/`.

mod cdl_online;
mod csc;
mod denoise;
mod inpaint;
mod lista;
mod mldl;
mod mlista;
mod mlista_full;
mod phase;

use std::path::PathBuf;

use crate::bench::{workspace_root, BoxResult};

const NAMES: &str = "denoise, lista, csc, cdl-online, phase, mlista";

pub fn run(args: &[String]) -> BoxResult<()> {
    let rest = if args.is_empty() { &[][..] } else { &args[1..] };
    match args.first().map(String::as_str) {
        Some("denoise") => denoise::run(rest),
        Some("lista") => lista::run(rest),
        Some("csc") => csc::run(rest),
        Some("cdl-online") => cdl_online::run(rest),
        Some("phase") => phase::run(rest),
        Some("mlista") => mlista::run(rest),
        Some(other) => Err(format!("unknown experiment `{other}` (known: {NAMES})").into()),
        None => Err(format!("usage: cargo xtask reproduce NAME (known: {NAMES})").into()),
    }
}

/// `target/reproduce/<name>/`, created.
pub fn out_dir(name: &str) -> BoxResult<PathBuf> {
    let dir = workspace_root().join("target").join("reproduce").join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// The shipped MNIST training set (60,000 digits) and test set (10,000 digits), pixels in
/// `[0, 1]`, one image per column (column-major 28 x 28), in the files' original order.
pub fn mnist_full() -> BoxResult<(mlcsc::data::Labelled, mlcsc::data::Labelled)> {
    let assets = workspace_root().join("assets");
    let train = mlcsc::data::read_mnist(
        assets.join("train-images-idx3-ubyte.gz"),
        assets.join("train-labels-idx1-ubyte.gz"),
    )?;
    let test = mlcsc::data::read_mnist(
        assets.join("t10k-images-idx3-ubyte.gz"),
        assets.join("t10k-labels-idx1-ubyte.gz"),
    )?;
    Ok((train, test))
}
