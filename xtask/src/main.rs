//! `cargo xtask`: the runnable face of the workspace.
//!
//! - `cargo xtask demo`: the main job on shipped data, no arguments.
//! - `cargo xtask test`: every test (the workspace's, then the Python package's with pytest).
//! - `cargo xtask bench [NAME]`: peer comparisons, written as Markdown under `target/bench/`,
//!   always measured on the release build (see [`release_reexec`]).
//! - `cargo xtask reproduce NAME`: regenerates a named experiment under `target/reproduce/`.

mod bench;
mod demo;
mod pictures;
mod reproduce;
mod test_cmd;
mod theory_cmd;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <command>\n\n\
         commands:\n  \
         demo              run the main job on shipped data\n  \
         test              every test: cargo test --workspace, then the Python package (pytest)\n  \
         bench [NAME]      peer benchmarks (pursuit, denoise, csc)\n  \
         reproduce NAME    regenerate an experiment (denoise, lista, csc, phase, mlista)\n  \
         theory [--dict FILE.npy] [--k K]   guarantees for a dictionary"
    );
    ExitCode::from(2)
}

/// Benchmarks measure what a user of the crates gets with `--release`: the `dev` profile that
/// `cargo test` and `cargo xtask demo` share is optimised but keeps debug assertions and
/// overflow checks (about 1.5x slower on Batch-OMP). When this binary has debug assertions,
/// `bench` re-runs itself as `cargo run --release -p xtask -- bench ...` and returns its exit
/// code. The trade-off: the first `cargo xtask bench` compiles the workspace once more (release,
/// a few minutes on 2 cores); `demo` and the tests never do. `SPARSELAND_BENCH_DEV=1` measures
/// the dev build instead (marked in the report).
fn release_reexec(args: &[String]) -> Option<ExitCode> {
    if !cfg!(debug_assertions) || std::env::var_os("SPARSELAND_BENCH_DEV").is_some() {
        return None;
    }
    eprintln!("bench: measuring the release build (cargo run --release -p xtask -- bench ...)");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = std::process::Command::new(cargo)
        .args(["run", "--release", "--quiet", "--package", "xtask", "--"])
        .args(args)
        .status();
    Some(match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => ExitCode::from(s.code().and_then(|c| u8::try_from(c).ok()).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: could not start the release build of the benchmarks: {e}");
            ExitCode::FAILURE
        }
    })
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let res = match args.first().map(String::as_str) {
        Some("demo") => demo::run(),
        Some("bench") => match release_reexec(&args) {
            Some(code) => return code,
            None => bench::run(&args[1..]),
        },
        Some("reproduce") => reproduce::run(&args[1..]),
        Some("test") => test_cmd::run_tests(&args[1..]),
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
