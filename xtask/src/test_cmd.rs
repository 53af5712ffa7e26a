//! `cargo xtask test`: every test of the project in one command — the Rust workspace's tests,
//! then the Python package (`crates/sparseland-py`) built into a virtual environment under
//! `target/pyenv` and tested with pytest.
//!
//! Set-up is part of the command: the environment is created with `python3 -m venv` and gets
//! maturin, NumPy, scikit-learn, pytest, SPORCO, Dask and distributed from PyPI on its first
//! run (later runs reuse it).
//! The wheel is built with the `dev` profile that `cargo test` has just compiled (optimised, so
//! only the binding crate itself is compiled again). `--rust-only` stops after the Rust tests;
//! `--python-only` skips them.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::{workspace_root, BoxResult};

/// The Python packages the tests need (installed into `target/pyenv` when missing).
/// SPORCO is the peer of `sparseland.cbpdn` (its agreement test).
/// Dask and distributed run `sparseland.dask` on a `LocalCluster` the tests start.
const TEST_PACKAGES: [&str; 7] = [
    "maturin>=1.16,<2",
    "numpy>=1.24",
    "scikit-learn>=1.6",
    "pytest",
    "sporco==0.2.2.post1",
    "dask[array]>=2024.1",
    "distributed>=2024.1",
];

/// Runs `cmd`, failing with its description when it cannot start or exits non-zero.
fn run(cmd: &mut Command, what: &str) -> BoxResult<()> {
    eprintln!("xtask test: {what}");
    let status = cmd
        .status()
        .map_err(|e| format!("{what}: could not start: {e}"))?;
    if !status.success() {
        return Err(format!("{what}: failed ({status})").into());
    }
    Ok(())
}

/// The virtual environment's interpreter, creating the environment and installing
/// [`TEST_PACKAGES`] when they are missing.
pub(crate) fn python_env(root: &Path) -> BoxResult<PathBuf> {
    let env = root.join("target").join("pyenv");
    let py = env.join("bin").join("python");
    if !py.exists() {
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        run(
            Command::new(&python).args(["-m", "venv"]).arg(&env),
            &format!(
                "create the virtual environment {} ({python} -m venv)",
                env.display()
            ),
        )?;
    }
    let ready = Command::new(&py)
        .args([
            "-c",
            "import numpy, sklearn, pytest, sporco.admm.cbpdn, dask.array, distributed",
        ])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
        && env.join("bin").join("maturin").exists();
    if !ready {
        run(
            Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                ])
                .args(TEST_PACKAGES),
            "install the test packages (maturin, numpy, scikit-learn, pytest, sporco, dask) from PyPI",
        )?;
    }
    Ok(py)
}

/// Builds the wheel of `crates/sparseland-py` with the cargo `profile` (`dev` for the tests,
/// `release` for the benchmark) and installs it into the environment of `py`.
pub(crate) fn install_package(root: &Path, py: &Path, profile: &str) -> BoxResult<()> {
    let crate_dir = root.join("crates").join("sparseland-py");
    let wheels = root.join("target").join("wheels");
    let _ = std::fs::remove_dir_all(&wheels);
    let maturin = py.with_file_name("maturin");
    run(
        Command::new(&maturin)
            .current_dir(&crate_dir)
            .args(["build", "--quiet", "--profile", profile, "--out"])
            .arg(&wheels)
            .arg("--interpreter")
            .arg(py),
        &format!("build the Python wheel (maturin build --profile {profile})"),
    )?;
    let wheel = std::fs::read_dir(&wheels)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|x| x == "whl"))
        .ok_or("maturin built no wheel")?;
    run(
        Command::new(py)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(["--force-reinstall", "--no-deps"])
            .arg(&wheel),
        &format!("install {}", wheel.display()),
    )
}

pub fn run_tests(args: &[String]) -> BoxResult<()> {
    let (mut rust, mut python) = (true, true);
    for a in args {
        match a.as_str() {
            "--rust-only" => python = false,
            "--python-only" => rust = false,
            other => return Err(format!("unknown option `{other}` for `test`").into()),
        }
    }
    let root = workspace_root();
    if rust {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        run(
            Command::new(cargo)
                .current_dir(&root)
                .args(["test", "--workspace"]),
            "cargo test --workspace",
        )?;
    }
    if python {
        let py = python_env(&root)?;
        install_package(&root, &py, "dev")?;
        // From `target/`, so that the installed package is imported, not the source tree.
        run(
            Command::new(&py)
                .current_dir(root.join("target"))
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
                .arg(root.join("crates").join("sparseland-py").join("tests")),
            "pytest crates/sparseland-py/tests",
        )?;
    }
    Ok(())
}
