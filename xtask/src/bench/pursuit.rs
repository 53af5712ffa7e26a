//! `cargo xtask bench pursuit`: the classic patch workload (64 x 256 dictionaries, 10,000
//! signals, sparsity 8, Lasso at lambda = 0.1 max|D^T Y|) against SPAMS and scikit-learn.

use faer::{Mat, Par};
use pursuit::greedy::Selection;
use pursuit::lasso::{CoordinateDescent, Fista, Lars};
use pursuit::{BatchOmp, Omp, SparseCoder, Stop};
use sparse_core::io::{read_npy, write_npy};
use sparse_core::metrics::support_scores;
use sparse_core::Summary;
use sparse_core::{generate, Dictionary, LinearOperator, Noise};

use super::{
    load_average, markdown, out_dir, python_with, run_python, thread_cpu_secs, Best, BoxResult,
};

const N_SIGNALS: usize = 10_000;
const K: usize = 8;

/// The peers, one timing round per run of the script (after one warm-up call): signals per
/// second of wall time, and for one-thread runs of the calling thread's CPU time
/// (`time.thread_time`), as `key value` lines.
const PEER: &str = r#"
import time, numpy as np
D = np.asfortranarray(np.load("D.npy")); Y = np.asfortranarray(np.load("Y.npy"))
lam = float(np.load("lambda.npy")[0, 0]); k = 8
def rate(key, f, n, cpu=True):
    f()
    c, t = time.thread_time(), time.perf_counter()
    f()
    t, c = time.perf_counter() - t, time.thread_time() - c
    print(f"{key} {n / t}")
    if cpu:
        print(f"cpu_{key} {n / c}")
try:
    import spams
    for th in (1, 2):
        rate(f"spams_omp_t{th}", lambda: spams.omp(Y, D, L=k, numThreads=th), Y.shape[1], th == 1)
        rate(f"spams_lasso_t{th}", lambda: spams.lasso(Y, D, lambda1=lam, mode=2, numThreads=th), Y.shape[1], th == 1)
    np.save("spams_omp.npy", spams.omp(Y, D, L=k, numThreads=1).toarray())
    np.save("spams_lasso.npy", spams.lasso(Y, D, lambda1=lam, mode=2, numThreads=1).toarray())
except ImportError:
    pass
try:
    from sklearn.linear_model import orthogonal_mp_gram, Lasso
    import warnings; warnings.filterwarnings("ignore")
    G = D.T @ D; sub = Y[:, :2000]
    rate("sklearn_omp_gram", lambda: orthogonal_mp_gram(G, D.T @ sub, n_nonzero_coefs=k), sub.shape[1], False)
    sub = Y[:, :300]
    def fit_all():
        m = Lasso(alpha=lam / D.shape[0], fit_intercept=False, tol=1e-6, max_iter=10000)
        return np.stack([m.fit(D, sub[:, j]).coef_.copy() for j in range(sub.shape[1])], axis=1)
    rate("sklearn_lasso", fit_all, sub.shape[1], False)
    np.save("sklearn_lasso.npy", fit_all())
except ImportError:
    pass
"#;

/// A float32 solve measured against SPAMS' float64 one (SPAMS' `omp` and `lasso` have no
/// float32 path): the timed section is rounding the signals to `f32` and the `f32` solve, which
/// returns `f32` codes; widening those codes to `f64` for the support comparison (a dense
/// 20 MB matrix, which SPAMS' sparse output does not pay for) happens after it, untimed. The
/// wall and thread CPU seconds of the last timed section are left in the [`Timer`].
struct F32<S>(S, Timer);

/// The wall and (one-thread) CPU seconds of an [`F32`] row's last timed section.
type Timer = std::sync::Arc<std::sync::Mutex<Option<(f64, Option<f64>)>>>;

/// A row of the table: our name, the peer's key, the coder and (for [`F32`] rows) its timer.
type Row = (
    &'static str,
    &'static str,
    (Box<dyn SparseCoder>, Option<Timer>),
);

/// An [`F32`] row and its timer.
fn f32_row<S>(s: S) -> (Box<dyn SparseCoder>, Option<Timer>)
where
    F32<S>: SparseCoder + 'static,
{
    let t = Timer::default();
    (Box::new(F32(s, t.clone())), Some(t))
}

impl<S> pursuit::Solve<Dictionary> for F32<S>
where
    S: pursuit::Solve<
        Dictionary,
        f32,
        Output = pursuit::Solution<Mat<f32>>,
        Error = pursuit::Error,
    >,
{
    type Output = pursuit::Solution;
    type Error = pursuit::Error;
    fn solve(
        &self,
        d: &Dictionary,
        y: faer::MatRef<'_, f64>,
    ) -> Result<pursuit::Solution, pursuit::Error> {
        let (c0, t0) = (thread_cpu_secs(), std::time::Instant::now());
        let y32 = Mat::<f32>::from_fn(y.nrows(), y.ncols(), |i, j| y[(i, j)] as f32);
        let s = self.0.solve(d, y32.as_ref())?;
        let wall = t0.elapsed().as_secs_f64();
        let cpu = c0.zip(thread_cpu_secs()).map(|(a, b)| b - a);
        *self.1.lock().expect("timer") = Some((wall, cpu));
        let codes = Mat::<f64>::from_fn(s.codes.nrows(), s.codes.ncols(), |i, j| {
            s.codes[(i, j)] as f64
        });
        Ok(pursuit::Solution::new(codes, s.diagnostics)?)
    }
}

pub fn run() -> BoxResult<()> {
    let dir = out_dir("pursuit")?;
    let mut rng = generate::rng(64256);
    let dcts = Dictionary::overcomplete_dct(8, 256)?;
    let rand = Dictionary::random_gaussian(64, 256, &mut rng)?;
    let mut md = format!(
        "# pursuit: 64 x 256, 10,000 signals, k = 8\n\nOurs measured on the {}; load average \
         {} at the start. Rounds of the peers' script and of ours alternate (`ROUNDS`, default \
         3); each figure is the best round, wall time and, for one-thread runs, the CPU time of \
         the solving thread, with the ratios in both. SPAMS' `omp` is ORMP (orthogonal least \
         squares); compare its supports with `batch-ormp`. `f32` rows: rounding the signals to \
         float32 and the float32 solve (float32 codes) are timed, widening the codes for the \
         comparison is not; their Lasso gaps are certified in float64 at the float32 floor \
         `max(gap_tol, 1e-4)`.\n\n",
        super::build_profile(),
        load_average()
    );
    let py = python_with(&["numpy"]);
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
        .max(1);
    for (dname, d) in [("random", &rand), ("dct", &dcts)] {
        let x = generate::sparseland_codes(256, K, N_SIGNALS, 0.1, 1.0, &mut rng)?;
        let mut y = generate::signals(d, x.as_ref(), Noise::SnrDb(30.0), &mut rng)?.noisy;
        for j in 0..y.ncols() {
            let nrm = y.col(j).norm_l2();
            y.col_mut(j).iter_mut().for_each(|v| *v /= nrm);
        }
        let lambda = 0.1 * d.apply_adjoint(y.as_ref())?.norm_max();
        write_npy(dir.join("D.npy"), d.matrix())?;
        write_npy(dir.join("Y.npy"), y.as_ref())?;
        write_npy(
            dir.join("lambda.npy"),
            Mat::<f64>::from_fn(1, 1, |_, _| lambda).as_ref(),
        )?;

        let mut rows: Vec<Vec<String>> = Vec::new();
        let tol = 1e-6;
        let coders = |par: Par| -> Vec<Row> {
            vec![
                (
                    "batch-omp",
                    "spams_omp",
                    (Box::new(BatchOmp::new(Stop::Sparsity(K)).par(par)), None),
                ),
                (
                    "batch-ormp",
                    "spams_omp",
                    (
                        Box::new(
                            BatchOmp::new(Stop::Sparsity(K))
                                .selection(Selection::Ormp)
                                .par(par),
                        ),
                        None,
                    ),
                ),
                (
                    "batch-omp f32",
                    "spams_omp",
                    f32_row(BatchOmp::new(Stop::Sparsity(K)).par(par)),
                ),
                (
                    "batch-ormp f32",
                    "spams_omp",
                    f32_row(
                        BatchOmp::new(Stop::Sparsity(K))
                            .selection(Selection::Ormp)
                            .par(par),
                    ),
                ),
                (
                    "omp",
                    "spams_omp",
                    (Box::new(Omp::new(Stop::Sparsity(K)).par(par)), None),
                ),
                (
                    "lars-lasso",
                    "spams_lasso",
                    (Box::new(Lars::new(lambda).gap_tol(tol).par(par)), None),
                ),
                (
                    "lars-lasso f32",
                    "spams_lasso",
                    f32_row(Lars::new(lambda).gap_tol(tol).par(par)),
                ),
                (
                    "cd-lasso",
                    "spams_lasso",
                    (
                        Box::new(CoordinateDescent::new(lambda).gap_tol(tol).par(par)),
                        None,
                    ),
                ),
                (
                    "cd-lasso f32",
                    "spams_lasso",
                    f32_row(CoordinateDescent::new(lambda).gap_tol(tol).par(par)),
                ),
                (
                    "fista-lasso",
                    "spams_lasso",
                    (Box::new(Fista::new(lambda).gap_tol(tol).par(par)), None),
                ),
                (
                    "fista-lasso f32",
                    "spams_lasso",
                    f32_row(Fista::new(lambda).gap_tol(tol).par(par)),
                ),
            ]
        };
        let configs: Vec<(usize, Vec<_>)> = vec![(1, coders(Par::Seq)), (2, coders(Par::rayon(2)))];
        // Alternating rounds: the peers' script, then every one of ours, `rounds` times; each
        // figure is the best round (wall and one-thread CPU time taken separately).
        let mut ours_best = vec![vec![Best::new(); configs[0].1.len()]; configs.len()];
        let mut results: Vec<Vec<Option<pursuit::Solution>>> = configs
            .iter()
            .map(|(_, c)| c.iter().map(|_| None).collect())
            .collect();
        let mut peers: Vec<(String, f64)> = Vec::new();
        for round in 0..rounds {
            if let Some(p) = &py {
                for (k, v) in run_python(p, &dir, "peer_pursuit.py", PEER)? {
                    match peers.iter_mut().find(|(n, _)| *n == k) {
                        Some(e) => e.1 = e.1.max(v),
                        None => peers.push((k, v)),
                    }
                }
            }
            for (c, (threads, list)) in configs.iter().enumerate() {
                for (i, (_, _, (coder, timer))) in list.iter().enumerate() {
                    if round == 0 {
                        coder.solve(d, y.as_ref())?; // warm-up
                    }
                    let (c0, t0) = (thread_cpu_secs(), std::time::Instant::now());
                    let res = coder.solve(d, y.as_ref())?;
                    let mut wall = t0.elapsed().as_secs_f64();
                    let mut cpu = c0.zip(thread_cpu_secs()).map(|(a, b)| b - a);
                    if let Some((w, c)) = timer.as_ref().and_then(|t| *t.lock().expect("timer")) {
                        (wall, cpu) = (w, c);
                    }
                    let cpu = if *threads == 1 { cpu } else { None };
                    ours_best[c][i].add(wall, cpu);
                    results[c][i] = Some(res);
                }
            }
        }
        let peer = |k: &str| peers.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        let load = |key: &str, file: &str| peer(key).and_then(|_| read_npy(dir.join(file)).ok());
        let spams_omp = load("spams_omp_t1", "spams_omp.npy");
        let spams_lasso = load("spams_lasso_t1", "spams_lasso.npy");
        for (c, (threads, list)) in configs.iter().enumerate() {
            for (i, (name, pkey, _)) in list.iter().enumerate() {
                let best = ours_best[c][i];
                let sps = N_SIGNALS as f64 / best.wall;
                let cpu_sps = best.cpu().map(|t| N_SIGNALS as f64 / t);
                let peer_key = format!("{pkey}_t{threads}");
                let ratio = peer(&peer_key)
                    .map(|p| format!("{:.2}x", sps / p))
                    .unwrap_or_else(|| "-".into());
                let cpu_ratio = match (cpu_sps, peer(&format!("cpu_{peer_key}"))) {
                    (Some(o), Some(p)) => format!("{:.2}x", o / p),
                    _ => "-".into(),
                };
                let res = results[c][i].as_ref().ok_or("no timing round ran")?;
                let reference = if *pkey == "spams_omp" {
                    &spams_omp
                } else {
                    &spams_lasso
                };
                let agree = match reference {
                    Some(s) => {
                        let diff = (res.codes.as_ref() - s.as_ref()).norm_max();
                        let same = support_scores(res.codes.as_ref(), s.as_ref(), 1e-10)?.exact;
                        format!("{:.1}% same support, max |dx| {diff:.1e}", 100.0 * same)
                    }
                    None => "-".into(),
                };
                let gap = res
                    .max_duality_gap()
                    .map(|g| format!("{g:.1e}"))
                    .unwrap_or_else(|| "-".into());
                rows.push(vec![
                    format!("{name} t{threads}"),
                    format!("{sps:.0}"),
                    cpu_sps
                        .map(|v| format!("{v:.0}"))
                        .unwrap_or_else(|| "-".into()),
                    if peer(&peer_key).is_some() {
                        format!("{ratio} {peer_key}")
                    } else {
                        ratio
                    },
                    cpu_ratio,
                    agree,
                    gap,
                ]);
            }
        }
        for (k, v) in peers.iter().filter(|(k, _)| !k.starts_with("cpu_")) {
            let cpu = peer(&format!("cpu_{k}"))
                .map(|v| format!("{v:.0}"))
                .unwrap_or_else(|| "-".into());
            rows.push(vec![
                format!("peer {k}"),
                format!("{v:.0}"),
                cpu,
                "-".into(),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        md.push_str(&format!("## {dname} dictionary (lambda = {lambda:.4})\n\n"));
        md.push_str(&markdown(
            &[
                "solver",
                "signals/s (wall)",
                "signals/s (thread CPU)",
                "ratio vs peer (wall)",
                "ratio (CPU)",
                "same support as SPAMS",
                "max duality gap",
            ],
            &rows,
        ));
        md.push('\n');
    }
    if py.is_none() {
        md.push_str("(no python3 with numpy: peers skipped; set SPARSE_PYTHON to a venv with spams-bin and scikit-learn)\n");
    }
    println!("{md}");
    std::fs::write(out_dir("")?.join("pursuit.md"), &md)?;
    Ok(())
}
