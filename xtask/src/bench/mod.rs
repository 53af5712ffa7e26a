//! `cargo xtask bench [NAME]`: our solvers next to their Python peers on identical data.
//!
//! Data goes to `target/bench/NAME/*.npy`; the peers (SPAMS, scikit-learn, SPORCO) run from the
//! interpreter in `$SPARSE_PYTHON` (default `python3`) when it has them, and are skipped
//! otherwise. Results are printed and written as Markdown to `target/bench/NAME.md`.

mod csc;
mod csc_variants;
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
        "python" => python_bench("python", "bench_python.py"),
        "dask" => python_bench("dask", "bench_dask.py"),
        other => Err(format!(
            "unknown bench `{other}` (known: pursuit, denoise, csc, mlista, python, dask)"
        )
        .into()),
    }
}

/// `cargo xtask bench python`: the Python package (release wheel, installed into
/// `target/pyenv` as the tests do) against scikit-learn in one process
/// (`crates/sparseland-py/bench/bench_python.py`); `cargo xtask bench dask`: `sparseland.dask`
/// on 1 and 2 workers of a `LocalCluster` (`bench_dask.py`). The table goes to stdout and
/// `target/bench/NAME/report.md`; the environment (`THREADS`, `ROUNDS`, ...) is passed on.
fn python_bench(name: &str, script: &str) -> BoxResult<()> {
    let root = workspace_root();
    let py = crate::test_cmd::python_env(&root)?;
    crate::test_cmd::install_package(
        &root,
        &py,
        if cfg!(debug_assertions) {
            "dev"
        } else {
            "release"
        },
    )?;
    let dir = out_dir(name)?;
    let out = std::process::Command::new(&py)
        .current_dir(&dir)
        .arg(root.join("crates/sparseland-py/bench").join(script))
        .output()?;
    if !out.status.success() {
        return Err(format!(
            "the Python benchmark failed: {}",
            String::from_utf8_lossy(&out.stderr)
        )
        .into());
    }
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    print!("{report}");
    std::fs::write(dir.join("report.md"), report)?;
    Ok(())
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

/// The best wall time in seconds over `runs` (at least one) timed runs of `f`, no warm-up, and
/// the last result.
pub fn best_of_runs<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut best = f64::INFINITY;
    let mut out = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        out = Some(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, out.expect("at least one run"))
}

/// The best wall and CPU times of one configuration over alternating timing rounds (each
/// minimum taken on its own; the CPU time only from rounds that measured it).
#[derive(Clone, Copy, Debug)]
pub struct Best {
    /// Smallest wall time seen (`inf` before the first round).
    pub wall: f64,
    /// Smallest CPU time seen (`inf` when none was measured).
    pub cpu: f64,
}

impl Best {
    /// No round yet.
    pub fn new() -> Self {
        Self {
            wall: f64::INFINITY,
            cpu: f64::INFINITY,
        }
    }

    /// Records one round.
    pub fn add(&mut self, wall: f64, cpu: Option<f64>) {
        self.wall = self.wall.min(wall);
        if let Some(c) = cpu {
            self.cpu = self.cpu.min(c);
        }
    }

    /// The best CPU time, if any round measured one.
    pub fn cpu(&self) -> Option<f64> {
        self.cpu.is_finite().then_some(self.cpu)
    }
}

/// User + system CPU seconds from a `/proc/.../stat` file (clock ticks of 1/100 s).
fn proc_cpu_secs(stat: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(stat).ok()?;
    // Fields after the command name: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// CPU time of the calling thread in seconds (`clock_gettime(CLOCK_THREAD_CPUTIME_ID)`,
/// nanosecond resolution; the clock Python's `time.thread_time` reads), or `None` where that
/// is unavailable.
pub fn thread_cpu_secs() -> Option<f64> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec; the call only writes into it.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then_some(ts.tv_sec as f64 + 1e-9 * ts.tv_nsec as f64)
}

/// CPU time (user + system) of this process (all threads) in seconds, from `/proc/self/stat`,
/// or `None` where that is unavailable.
pub fn process_cpu_secs() -> Option<f64> {
    proc_cpu_secs("/proc/self/stat")
}

/// Which build is measured, for the reports: `release` unless `SPARSELAND_BENCH_DEV=1` kept the
/// dev build (debug assertions and overflow checks on).
pub fn build_profile() -> &'static str {
    if cfg!(debug_assertions) {
        "dev build (debug assertions and overflow checks on)"
    } else {
        "release build"
    }
}

/// The 1-minute load average (the machine may be shared), or `?`.
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|s| s.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "?".into())
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
