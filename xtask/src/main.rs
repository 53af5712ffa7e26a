//! `cargo xtask`: the runnable face of the workspace.
//!
//! - `cargo xtask demo`: the main job on shipped data, no arguments.
//! - `cargo xtask bench [NAME]`: peer comparisons, written as Markdown under `target/bench/`.
//! - `cargo xtask reproduce NAME`: regenerates a named experiment under `target/reproduce/`.

mod demo;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         demo              run the main job on shipped data\n  \
         bench [NAME]      peer benchmarks (NAME: core)\n  \
         reproduce NAME    regenerate an experiment (none yet)"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("bench") => {
            eprintln!("peer benchmarks: see `cargo bench -p benches` until `xtask bench` grows");
            Ok(())
        }
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
