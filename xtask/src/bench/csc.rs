//! `cargo xtask bench csc`: convolutional BPDN by ADMM ([`Cbpdn`]) next to SPORCO's
//! `admm.cbpdn.ConvBPDN` on identical data.
//!
//! The workload is SPORCO's own example: `assets/camera.png` averaged 2 x 2 to 256 x 256, scaled
//! to `[0, 1]`, and its high-pass part after SPORCO's Tikhonov low-pass
//! (`sporco.signal.tikhonov_filter(img, 5.0, npd=16)`: [`csc::tikhonov_filter`], checked against
//! SPORCO when it is available); 32 random Gaussian 8 x 8 filters (seeded, unit norm);
//! `lambda = 0.05`; 50 ADMM iterations from zero codes. The image and the filters go to
//! `target/bench/csc/{S,D}.npy` (the filters in SPORCO's `(8, 8, 32)` layout), so both sides
//! solve the same problem.
//!
//! Options, matched to SPORCO's `ConvBPDN` defaults: `rho = 50 lambda + 1`, `RelaxParam = 1.8`,
//! `AutoRho` enabled (period 1, `RsdlRatio = 1.2`, `Scaling = 1000`, `AutoScaling`, the target
//! `1 + 18.3^(log10 lambda + 1)`, normalised residuals); `MaxMainIter = 50` and
//! `RelStopTol = 1e-12` on both sides so that both run all 50 iterations. Ours: the solve (signal
//! spectrum, 50 iterations with the per-iteration objective and residuals) with one and two
//! rayon threads. SPORCO: `solve()` of a freshly built `ConvBPDN` (its constructor, which
//! transforms the filters, is not timed; nor is our operator's), after a short warm-up (FFTW
//! planning), in float64 with its default two pyfftw threads and with one, and in float32 for
//! information (last round only). The machine may be shared, so the timing is done in 3 rounds
//! that alternate ours and SPORCO's runs (each round times every configuration once; the best
//! round counts), and one-thread runs also report the CPU time of the solving thread. The final
//! functional `1/2 ||D * X - S||^2 + lambda ||X||_1` of every final code (SPORCO's `Y`, our
//! `z`: the sparse variables) is evaluated by one routine, [`csc::cbpdn_objective`], and
//! cross-checked in Python with
//! SPORCO's own `reconstruct`.
//!
//! The second part, the variants (masked data term, gradient regularisation, elastic net, joint
//! sparsity) next to SPORCO's classes of the same problems, is `csc_variants`.
//!
//! Options: `--no-peer`, `--iters N`.

use sparse_core::Solve;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use csc::{cbpdn_objective, tikhonov_filter, Cbpdn, ConvDictionary, ConvOperator, Grid};
use faer::{Mat, MatRef, Par};
use sparse_core::io::{read_npy, read_png_gray, write_npy, write_npy_nd};

use super::{
    load_average, markdown, out_dir, python_with, run_python, thread_cpu_secs, workspace_root,
    Best, BoxResult,
};

const SIZE: usize = 256;
const FILTER: usize = 8;
const N_FILTERS: usize = 32;
const LAMBDA: f64 = 0.05;
const TOL: f64 = 1e-12;
const SEED: u64 = 2016;

const PEER: &str = r#"
import time, numpy as np
import sporco.fft
import sporco.signal
import sporco.admm.cbpdn as cbpdn
D = np.load("D.npy"); S = np.load("S.npy")
def options(dtype, iters):
    return cbpdn.ConvBPDN.Options({"Verbose": False, "MaxMainIter": iters,
                                   "RelStopTol": TOL, "RelaxParam": 1.8,
                                   "AutoRho": {"Enabled": True}, "DataType": dtype})
def functional(b, X):
    r = b.reconstruct(X).squeeze() - S
    return 0.5 * float(np.sum(r.astype(np.float64) ** 2)) + LMBDA * float(np.abs(X).sum())
def to_ours(X):  # (N0, N1, 1, 1, M) -> (M, N0 N1), each map column-major
    Xs = X.reshape(X.shape[0], X.shape[1], -1).astype(np.float64)
    return np.ascontiguousarray(np.transpose(Xs, (2, 1, 0)).reshape(Xs.shape[2], -1))
for tag, dtype, threads in (("f64_t2", np.float64, 2), ("f64_t1", np.float64, 1),
                            ("f32_t2", np.float32, 2), ("f32_t1", np.float32, 1)):
    sporco.fft.pyfftw_threads = threads
    Dd, Sd = D.astype(dtype), S.astype(dtype)
    cbpdn.ConvBPDN(Dd, Sd, LMBDA, options(dtype, 2)).solve()  # FFTW planning
    b = cbpdn.ConvBPDN(Dd, Sd, LMBDA, options(dtype, ITERS))
    c = time.thread_time(); t = time.perf_counter()
    X = b.solve()
    t = time.perf_counter() - t; c = time.thread_time() - c
    its = len(b.getitstat().Iter)
    print(f"ms_{tag} {1e3 * t / its}", flush=True)
    if threads == 1:
        print(f"cpu_{tag} {1e3 * c / its}", flush=True)
    print(f"iters_{tag} {its}", flush=True)
    if LAST and tag in ("f64_t2", "f32_t2"):
        np.save(f"X_sporco_{tag}.npy", to_ours(X))
        print(f"pyfun_{tag} {functional(b, X)}", flush=True)
        print(f"rho_{tag} {float(b.rho)}", flush=True)
    if LAST and tag == "f64_t2":
        Xo = np.load("X_ours.npy").reshape(-1, S.shape[1], S.shape[0])
        Xo = np.transpose(Xo, (2, 1, 0)).reshape(X.shape)
        print(f"pyfun_ours {functional(b, Xo)}", flush=True)
if LAST:
    _, shp = sporco.signal.tikhonov_filter(np.load("image.npy"), 5.0, 16)
    print("tikhonov_maxdiff", float(np.abs(shp - S).max()), flush=True)
"#;

/// SPORCO's runs: tag, precision, pyfftw threads.
const PEER_RUNS: [(&str, &str, usize); 4] = [
    ("f64_t2", "f64", 2),
    ("f64_t1", "f64", 1),
    ("f32_t2", "f32", 2),
    ("f32_t1", "f32", 1),
];

/// Timing rounds: every round times each configuration once, ours and SPORCO's in turn, so
/// that both meet the same load on a shared machine; the best round counts.
const ROUNDS: usize = 3;

/// One line of the table.
struct Row {
    name: String,
    precision: &'static str,
    threads: usize,
    ms: f64,
    /// CPU time of the solving thread per iteration (one-thread runs only).
    cpu_ms: Option<f64>,
    iters: usize,
    functional: Option<f64>,
}

pub fn run(args: &[String]) -> BoxResult<()> {
    let mut peer = true;
    let mut iters = 50usize;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--no-peer" => peer = false,
            "--iters" => iters = it.next().ok_or("--iters needs a value")?.parse()?,
            other => return Err(format!("unknown option `{other}` for `bench csc`").into()),
        }
    }
    let dir = out_dir("csc")?;

    // Data: the image, its high-pass part, the filters.
    let img = read_png_gray(workspace_root().join("assets").join("camera.png"))?;
    let small = downsample_to(img.as_ref(), SIZE)?;
    let (_, high) = tikhonov_filter(small.as_ref(), 5.0, 16)?;
    write_npy(dir.join("image.npy"), small.as_ref())?;
    write_npy(dir.join("S.npy"), high.as_ref())?;
    let mut rng = sparse_core::generate::rng(SEED);
    let dict = ConvDictionary::random(Grid::d2(FILTER, FILTER), 1, N_FILTERS, &mut rng)?;
    write_filters_npy(&dir.join("D.npy"), &dict)?;
    let op = dict.operator(Grid::d2(SIZE, SIZE))?;
    let y = Mat::from_fn(SIZE * SIZE, 1, |k, _| high[(k % SIZE, k / SIZE)]);

    // Ours, one and two threads, float64 and float32 (the same problem, rounded): warm-up,
    // then one timed solve per round.
    let y32 = Mat::from_fn(y.nrows(), 1, |k, _| y[(k, 0)] as f32);
    let configs: Vec<(usize, Cbpdn, rayon::ThreadPool)> = [1usize, 2, 1, 2]
        .into_iter()
        .map(|threads| {
            let par = if threads == 1 {
                Par::Seq
            } else {
                Par::rayon(threads)
            };
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()?;
            let solver = Cbpdn::new(LAMBDA)
                .max_iter(iters)
                .rel_residual_tol(TOL)
                .par(par);
            Ok((threads, solver, pool))
        })
        .collect::<BoxResult<_>>()?;
    // Configurations 0, 1: float64; 2, 3: float32 (codes returned widened to f64).
    let precision = |k: usize| if k < 2 { "f64" } else { "f32" };
    let time_ours = |k: usize| {
        let (threads, solver, pool) = &configs[k];
        pool.install(|| {
            let (c0, t0) = (thread_cpu_secs(), Instant::now());
            let res = if k < 2 {
                solver.solve(&op, y.as_ref())
            } else {
                Solve::<_, f32>::solve(solver, &op, y32.as_ref()).map(|r| {
                    let c = &r.codes;
                    let wide = Mat::from_fn(c.nrows(), c.ncols(), |i, j| c[(i, j)] as f64);
                    sparse_core::solve::Solution::new(wide, r.diagnostics)
                        .expect("one diagnostics per column")
                })
            };
            let wall = t0.elapsed().as_secs_f64();
            let cpu = match (*threads, c0, thread_cpu_secs()) {
                (1, Some(a), Some(b)) => Some(b - a),
                _ => None,
            };
            res.map(|r| (wall, cpu, r))
        })
    };
    let mut ours_best = [Best::new(); 4];
    let mut ours_res = Vec::new();
    for k in 0..configs.len() {
        ours_res.push(time_ours(k)?.2);
    }
    let py = if peer {
        python_with(&["numpy", "sporco.admm.cbpdn"])
    } else {
        None
    };
    if py.is_some() {
        let code = ours_res[1].codes.col_as_slice(0);
        let codes = Mat::from_fn(N_FILTERS, SIZE * SIZE, |i, k| code[i * SIZE * SIZE + k]);
        write_npy(dir.join("X_ours.npy"), codes.as_ref())?;
    }
    let mut peer_best = [Best::new(); 4];
    let mut peer_out = Vec::new();
    for round in 0..ROUNDS {
        for (k, best) in ours_best.iter_mut().enumerate() {
            let (wall, cpu, _) = time_ours(k)?;
            best.add(wall / iters as f64, cpu.map(|c| c / iters as f64));
        }
        eprintln!(
            "round {}/{ROUNDS}: ours {:.2} ms/iteration (1 thread), {:.2} (2 threads)",
            round + 1,
            1e3 * ours_best[0].wall,
            1e3 * ours_best[1].wall
        );
        if let Some(py) = &py {
            let last = if round + 1 == ROUNDS { "True" } else { "False" };
            let script =
                format!("LMBDA = {LAMBDA}\nITERS = {iters}\nTOL = {TOL}\nLAST = {last}\n{PEER}");
            let out = run_python(py, &dir, "peer_cbpdn.py", &script)?;
            let get = |k: &str| out.iter().find(|(n, _)| n == k).map(|&(_, v)| v);
            for ((tag, _, _), best) in PEER_RUNS.iter().zip(peer_best.iter_mut()) {
                if let Some(ms) = get(&format!("ms_{tag}")) {
                    best.add(ms / 1e3, get(&format!("cpu_{tag}")).map(|c| c / 1e3));
                }
            }
            eprintln!(
                "round {}/{ROUNDS}: SPORCO {:.2} ms/iteration (f64, 2 threads)",
                round + 1,
                1e3 * peer_best[0].wall
            );
            peer_out = out;
        }
    }

    let mut rows = Vec::new();
    for (k, ((threads, _, _), (best, res))) in configs
        .iter()
        .zip(ours_best.iter().zip(&ours_res))
        .enumerate()
    {
        let info = &res.diagnostics[0];
        rows.push(Row {
            name: "ours `Cbpdn`".into(),
            precision: precision(k),
            threads: *threads,
            ms: 1e3 * best.wall,
            cpu_ms: best.cpu().map(|c| 1e3 * c),
            iters: info.iterations,
            functional: Some(functional(
                &op,
                res.codes.col_as_slice(0),
                y.col_as_slice(0),
            )?),
        });
    }
    let ours_rho = ours_res[1].diagnostics[0]
        .records()
        .last()
        .map_or(f64::NAN, |s| s.step);

    // SPORCO's rows and the cross-checks.
    let mut notes = Vec::new();
    let mut sporco_fun = None;
    if py.is_some() {
        let get = |k: &str| peer_out.iter().find(|(n, _)| n == k).map(|&(_, v)| v);
        for (&(tag, precision, threads), best) in PEER_RUNS.iter().zip(&peer_best) {
            let Some(its) = get(&format!("iters_{tag}")) else {
                continue;
            };
            let functional = if threads == 1 {
                None
            } else {
                let x: Mat<f64> = read_npy(dir.join(format!("X_sporco_{tag}.npy")))?;
                let code: Vec<f64> = (0..N_FILTERS)
                    .flat_map(|i| (0..SIZE * SIZE).map(move |k| (i, k)))
                    .map(|(i, k)| x[(i, k)])
                    .collect();
                Some(functional(&op, &code, y.col_as_slice(0))?)
            };
            if tag == "f64_t2" {
                sporco_fun = functional;
            }
            rows.push(Row {
                name: "SPORCO `ConvBPDN`".into(),
                precision,
                threads,
                ms: 1e3 * best.wall,
                cpu_ms: best.cpu().map(|c| 1e3 * c),
                iters: its as usize,
                functional,
            });
        }
        if let Some(d) = get("tikhonov_maxdiff") {
            notes.push(format!(
                "High-pass image: our Tikhonov split differs from \
                 `sporco.signal.tikhonov_filter(img, 5.0, 16)` by at most {d:.1e}."
            ));
        }
        if let (Some(a), Some(b)) = (get("pyfun_ours"), get("pyfun_f64_t2")) {
            notes.push(format!(
                "Cross-check in Python (SPORCO's `reconstruct`): functional of our code {a:.6}, \
                 of SPORCO's {b:.6} (relative difference {:+.2e}).",
                (a - b) / b.abs()
            ));
        }
        if let Some(r) = get("rho_f64_t2") {
            notes.push(format!("Final rho: SPORCO {r:.4}, ours {ours_rho:.4}."));
        }
    }

    let mut md = table(&rows, sporco_fun, &notes, iters);
    md.push_str(&super::csc_variants::run(
        &dir,
        &dict,
        high.as_ref(),
        LAMBDA,
        TOL,
        iters,
        ROUNDS,
        py.as_deref(),
    )?);
    println!("{md}");
    std::fs::write(out_dir("")?.join("csc.md"), &md)?;
    Ok(())
}

fn table(rows: &[Row], sporco_fun: Option<f64>, notes: &[String], iters: usize) -> String {
    let mut md = format!(
        "# csc: convolutional BPDN by ADMM, ours vs SPORCO\n\n\
         camera {SIZE} x {SIZE} (2 x 2 average, [0, 1], high-pass after Tikhonov low-pass \
         lambda 5), {N_FILTERS} random {FILTER} x {FILTER} filters, lambda = {LAMBDA}, \
         {iters} ADMM iterations from zero. Options as SPORCO's `ConvBPDN` defaults: \
         rho = 50 lambda + 1, relaxation 1.8, AutoRho (period 1, ratio 1.2, scaling 1000, \
         auto-scaling, target 1 + 18.3^(log10 lambda + 1)); RelStopTol = {TOL:e} so both run \
         every iteration. Time: the solve only (per-iteration objective and residuals included \
         on both sides), the best of {ROUNDS} rounds that alternate ours and SPORCO (so both \
         meet the same load), wall-clock ms per iteration; \
         for one-thread runs also the CPU time of the solving thread (less sensitive to other \
         load on a shared machine). \
         Speed-up: SPORCO at the same precision and thread count divided by the row (float32: \
         the same problem rounded to float32, SPORCO's `DataType` float32). Functional: \
         1/2 ||D * X - S||^2 + lambda ||X||_1 of the final sparse code, evaluated by one \
         routine for every code. Ours: the {}. Load average when run: {}.\n\n",
        super::build_profile(),
        load_average()
    );
    let sporco_at = |precision: &str, threads: usize| {
        rows.iter().find(|r| {
            r.name.starts_with("SPORCO") && r.precision == precision && r.threads == threads
        })
    };
    let sporco = |threads: usize| sporco_at("f64", threads);
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) => format!("{:.1}x", a / b),
        _ => "-".into(),
    };
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let base = sporco_at(r.precision, r.threads);
            let (fun, rel) = match (r.functional, sporco_fun) {
                (Some(f), Some(s)) => (format!("{f:.6}"), format!("{:+.2e}", (f - s) / s)),
                (Some(f), None) => (format!("{f:.6}"), "-".into()),
                (None, _) => ("-".into(), "-".into()),
            };
            vec![
                r.name.clone(),
                r.precision.into(),
                r.threads.to_string(),
                r.iters.to_string(),
                format!("{:.2}", r.ms),
                ratio(base.map(|b| b.ms), Some(r.ms)),
                r.cpu_ms.map_or("-".into(), |c| format!("{c:.2}")),
                ratio(base.and_then(|b| b.cpu_ms), r.cpu_ms),
                fun,
                rel,
            ]
        })
        .collect();
    md.push_str(&markdown(
        &[
            "solver",
            "precision",
            "threads",
            "iterations",
            "ms / iteration",
            "speed-up",
            "CPU ms / iteration",
            "CPU speed-up",
            "final functional",
            "rel. diff vs SPORCO f64",
        ],
        &body,
    ));
    md.push('\n');
    for n in notes {
        let _ = writeln!(md, "{n}");
    }
    let ours_at = |precision: &str, threads: usize| {
        rows.iter().find(|r| {
            r.name.starts_with("ours") && r.precision == precision && r.threads == threads
        })
    };
    let ours = |threads: usize| ours_at("f64", threads);
    match (sporco(2), sporco_fun) {
        (Some(sp2), Some(f)) => {
            let best = ours(1)
                .map_or(f64::INFINITY, |r| r.ms)
                .min(ours(2).map_or(f64::INFINITY, |r| r.ms));
            let sp_best = sp2.ms.min(sporco(1).map_or(f64::INFINITY, |r| r.ms));
            let wall2 = sp2.ms / ours(2).map_or(f64::NAN, |r| r.ms);
            let wall1 = sporco(1).map_or(f64::NAN, |r| r.ms) / ours(1).map_or(f64::NAN, |r| r.ms);
            let cpu1 = sporco(1).and_then(|r| r.cpu_ms).unwrap_or(f64::NAN)
                / ours(1).and_then(|r| r.cpu_ms).unwrap_or(f64::NAN);
            let rel = ours(2)
                .and_then(|r| r.functional)
                .map_or(f64::NAN, |o| ((o - f) / f).abs());
            let verdict = |x: f64| if x >= 5.0 { "met" } else { "missed" };
            let _ = writeln!(
                md,
                "\nTargets: >= 5x SPORCO's float64 per-iteration speed: {wall2:.1}x in wall-clock \
                 time at two threads each ({}), {wall1:.1}x at one thread each ({}), {cpu1:.1}x \
                 in CPU time of one thread ({}: the load-independent per-core ratio, what an \
                 idle machine shows at one thread); {:.1}x for our best against SPORCO's \
                 best float64 time ({}). Final functional within 1e-4 relative: {rel:.1e} \
                 ({}).",
                verdict(wall2),
                verdict(wall1),
                verdict(cpu1),
                sp_best / best,
                verdict(sp_best / best),
                if rel <= 1e-4 { "met" } else { "missed" },
            );
            // float32: per core (CPU time of one thread) against SPORCO's float32, and the
            // float32 code's functional against SPORCO's float64 one.
            let cpu32 = sporco_at("f32", 1)
                .and_then(|r| r.cpu_ms)
                .unwrap_or(f64::NAN)
                / ours_at("f32", 1).and_then(|r| r.cpu_ms).unwrap_or(f64::NAN);
            let wall32 = sporco_at("f32", 2).map_or(f64::NAN, |r| r.ms)
                / ours_at("f32", 2).map_or(f64::NAN, |r| r.ms);
            let rel32 = ours_at("f32", 2)
                .and_then(|r| r.functional)
                .map_or(f64::NAN, |o| ((o - f) / f).abs());
            let _ = writeln!(
                md,
                "\nfloat32: >= 2.5x SPORCO's float32 per core: {cpu32:.1}x in CPU time of one \
                 thread ({}), {wall32:.1}x wall-clock at two threads each; our float32 code's \
                 functional within {rel32:.1e} of SPORCO's float64 one ({} float32 precision, \
                 1e-4).",
                if cpu32 >= 2.5 { "met" } else { "missed" },
                if rel32 <= 1e-4 { "within" } else { "outside" },
            );
        }
        _ => md.push_str(
            "\n(no Python with numpy and sporco: peer skipped; set SPARSE_PYTHON to a venv that \
             has them)\n",
        ),
    }
    md
}

/// `1/2 ||D x - y||^2 + lambda ||x||_1` for one code (FilterMajor feature maps).
fn functional(op: &ConvOperator, code: &[f64], y: &[f64]) -> BoxResult<f64> {
    let x = MatRef::from_column_major_slice(code, code.len(), 1);
    let y = MatRef::from_column_major_slice(y, y.len(), 1);
    Ok(cbpdn_objective(op, x, y, LAMBDA, Par::Seq)?)
}

/// The image averaged over `f x f` blocks (`f = rows / size`) and scaled to `[0, 1]`, then the
/// centre `size x size` crop.
fn downsample_to(img: MatRef<'_, f64>, size: usize) -> BoxResult<Mat<f64>> {
    let f = (img.nrows().min(img.ncols()) / size).max(1);
    let (h, w) = (img.nrows() / f, img.ncols() / f);
    if h < size || w < size {
        return Err(format!(
            "image {} x {} is smaller than {size} x {size}",
            img.nrows(),
            img.ncols()
        )
        .into());
    }
    let (r0, c0) = ((h - size) / 2, (w - size) / 2);
    let norm = 1.0 / (255.0 * (f * f) as f64);
    Ok(Mat::from_fn(size, size, |i, j| {
        let mut s = 0.0;
        for a in 0..f {
            for b in 0..f {
                s += img[((r0 + i) * f + a, (c0 + j) * f + b)];
            }
        }
        s * norm
    }))
}

/// The filters as a 3-D `float64` `.npy` array in SPORCO's layout `(rows, cols, m)` (C order).
fn write_filters_npy(path: &Path, d: &ConvDictionary) -> BoxResult<()> {
    let g = d.filter_grid();
    let m = d.n_filters();
    let mut data = Vec::with_capacity(g.len() * m);
    for r in 0..g.rows {
        for c in 0..g.cols {
            for i in 0..m {
                data.push(d.filter(i)?[r + g.rows * c]);
            }
        }
    }
    Ok(write_npy_nd(path, &[g.rows, g.cols, m], &data)?)
}
