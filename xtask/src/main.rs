//! `cargo xtask`: the runnable face of the workspace.
//!
//! - `cargo xtask demo`: the main job on shipped data, no arguments.
//! - `cargo xtask bench [NAME]`: peer comparisons, written as Markdown under `target/bench/`.
//! - `cargo xtask reproduce NAME`: regenerates a named experiment under `target/reproduce/`.

mod bench;
mod demo;
mod pictures;
mod reproduce;
mod theory_cmd;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         demo              run the main job on shipped data\n  \
         bench [NAME]      peer benchmarks (pursuit, denoise, csc)\n  \
         reproduce NAME    regenerate an experiment (denoise, lista, csc, phase, mlista)\n  \
         theory [--dict FILE.npy] [--k K]   guarantees for a dictionary"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("bench") => bench::run(&args[1..]),
        Some("reproduce") => reproduce::run(&args[1..]),
        Some("theory") => theory_cmd::run(&args[1..]),
        _ => return usage(),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
