//! `cargo xtask bench [NAME]`: our solvers next to their Python peers on identical data.
//!
//! Data goes to `target/bench/NAME/*.npy`; the peers (SPAMS, scikit-learn, SPORCO) run from the
//! interpreter in `$SPARSE_PYTHON` (default `python3`) when it has them, and are skipped
//! otherwise. Results are printed and written as Markdown to `target/bench/NAME.md`.

mod csc;
mod denoise;
pub mod mlista;
mod pursuit;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

pub type BoxResult<T> = Result<T, Box<dyn std::error::Error>>;

pub fn run(args: &[String]) -> BoxResult<()> {
    let which = args.first().map(String::as_str).unwrap_or("pursuit");
    match which {
        "pursuit" => pursuit::run(),
        "denoise" => denoise::run(&args[1..]),
        "csc" => csc::run(&args[1..]),
        "mlista" => mlista::run(&args[1..]),
        other => {
            Err(format!("unknown bench `{other}` (known: pursuit, denoise, csc, mlista)").into())
        }
    }
}

/// `target/bench/<name>/`, created.
pub fn out_dir(name: &str) -> BoxResult<PathBuf> {
    let dir = workspace_root().join("target").join("bench").join(name);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// Best wall time in seconds over `reps` runs of `f` (after one warm-up run).
pub fn best_of<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut out = f();
    let mut best = f64::INFINITY;
    for _ in 0..reps {
        let t = Instant::now();
        out = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, out)
}

/// The Python interpreter for the peers and whether it imports every module in `modules`.
pub fn python_with(modules: &[&str]) -> Option<String> {
    let py = std::env::var("SPARSE_PYTHON").unwrap_or_else(|_| "python3".into());
    let probe = format!("import {}", modules.join(", "));
    let ok = Command::new(&py)
        .args(["-c", &probe])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    ok.then_some(py)
}

/// Runs a Python script (written into `dir`) and returns its stdout lines `key value`.
pub fn run_python(py: &str, dir: &Path, name: &str, script: &str) -> BoxResult<Vec<(String, f64)>> {
    let path = dir.join(name);
    std::fs::write(&path, script)?;
    let out = Command::new(py).arg(&path).current_dir(dir).output()?;
    if !out.status.success() {
        return Err(format!(
            "peer script {} failed:\n{}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_string(), it.next()?.parse().ok()?))
        })
        .collect())
}

/// A Markdown table from a header and rows.
pub fn markdown(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut s = format!(
        "| {} |\n|{}\n",
        header.join(" | "),
        " --- |".repeat(header.len())
    );
    for r in rows {
        s.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    s
}
