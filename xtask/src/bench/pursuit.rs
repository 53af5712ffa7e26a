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

use super::{best_of, markdown, out_dir, python_with, run_python, BoxResult};

const N_SIGNALS: usize = 10_000;
const K: usize = 8;

const PEER: &str = r#"
import time, numpy as np
D = np.asfortranarray(np.load("D.npy")); Y = np.asfortranarray(np.load("Y.npy"))
lam = float(np.load("lambda.npy")[0, 0]); k = 8
def best(f, reps=3):
    f(); t = min(timeit(f) for _ in range(reps)); return t
def timeit(f):
    t = time.perf_counter(); f(); return time.perf_counter() - t
try:
    import spams
    for th in (1, 2):
        t = best(lambda: spams.omp(Y, D, L=k, numThreads=th))
        print(f"spams_omp_t{th} {Y.shape[1] / t}")
    A = spams.omp(Y, D, L=k, numThreads=1).toarray(); np.save("spams_omp.npy", A)
    for th in (1, 2):
        t = best(lambda: spams.lasso(Y, D, lambda1=lam, mode=2, numThreads=th))
        print(f"spams_lasso_t{th} {Y.shape[1] / t}")
    A = spams.lasso(Y, D, lambda1=lam, mode=2, numThreads=1).toarray(); np.save("spams_lasso.npy", A)
except ImportError:
    pass
try:
    from sklearn.linear_model import orthogonal_mp_gram, Lasso
    import warnings; warnings.filterwarnings("ignore")
    G = D.T @ D; sub = Y[:, :2000]
    t = best(lambda: orthogonal_mp_gram(G, D.T @ sub, n_nonzero_coefs=k), reps=1)
    print(f"sklearn_omp_gram {sub.shape[1] / t}")
    sub = Y[:, :300]
    def fit_all():
        m = Lasso(alpha=lam / D.shape[0], fit_intercept=False, tol=1e-6, max_iter=10000)
        return np.stack([m.fit(D, sub[:, j]).coef_.copy() for j in range(sub.shape[1])], axis=1)
    t = best(fit_all, reps=1)
    print(f"sklearn_lasso {sub.shape[1] / t}")
    np.save("sklearn_lasso.npy", fit_all())
except ImportError:
    pass
"#;

pub fn run() -> BoxResult<()> {
    let dir = out_dir("pursuit")?;
    let mut rng = generate::rng(64256);
    let dcts = Dictionary::overcomplete_dct(8, 256)?;
    let rand = Dictionary::random_gaussian(64, 256, &mut rng)?;
    let mut md = format!(
        "# pursuit: 64 x 256, 10,000 signals, k = 8\n\nOurs measured on the {}; load average \
         {} at the start. SPAMS' `omp` is ORMP (orthogonal least squares); compare its supports \
         with `batch-ormp`.\n\n",
        super::build_profile(),
        super::load_average()
    );
    let py = python_with(&["numpy"]);
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
        let peers = match &py {
            Some(p) => run_python(p, &dir, "peer_pursuit.py", PEER)?,
            None => vec![],
        };
        let peer = |k: &str| peers.iter().find(|(n, _)| n == k).map(|(_, v)| *v);
        let load = |key: &str, file: &str| peer(key).and_then(|_| read_npy(dir.join(file)).ok());
        let spams_omp = load("spams_omp_t1", "spams_omp.npy");
        let spams_lasso = load("spams_lasso_t1", "spams_lasso.npy");
        let tol = 1e-6;
        for (threads, par) in [(1, Par::Seq), (2, Par::rayon(2))] {
            let ours: Vec<(&str, &str, Box<dyn SparseCoder>)> = vec![
                (
                    "batch-omp",
                    "spams_omp",
                    Box::new(BatchOmp::new(Stop::Sparsity(K)).par(par)),
                ),
                (
                    "batch-ormp",
                    "spams_omp",
                    Box::new(
                        BatchOmp::new(Stop::Sparsity(K))
                            .selection(Selection::Ormp)
                            .par(par),
                    ),
                ),
                (
                    "omp",
                    "spams_omp",
                    Box::new(Omp::new(Stop::Sparsity(K)).par(par)),
                ),
                (
                    "lars-lasso",
                    "spams_lasso",
                    Box::new(Lars::new(lambda).gap_tol(tol).par(par)),
                ),
                (
                    "cd-lasso",
                    "spams_lasso",
                    Box::new(CoordinateDescent::new(lambda).gap_tol(tol).par(par)),
                ),
                (
                    "fista-lasso",
                    "spams_lasso",
                    Box::new(Fista::new(lambda).gap_tol(tol).par(par)),
                ),
            ];
            for (name, pkey, coder) in ours {
                let (t, res) = best_of(3, || coder.solve(d, y.as_ref()).expect("valid input"));
                let sps = N_SIGNALS as f64 / t;
                let peer_key = format!("{pkey}_t{threads}");
                let ratio = peer(&peer_key)
                    .map(|p| format!("{:.2}x {peer_key}", sps / p))
                    .unwrap_or_else(|| "-".into());
                let reference = if pkey == "spams_omp" {
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
                    ratio,
                    agree,
                    gap,
                ]);
            }
        }
        for (k, v) in &peers {
            rows.push(vec![
                format!("peer {k}"),
                format!("{v:.0}"),
                "-".into(),
                "-".into(),
                "-".into(),
            ]);
        }
        md.push_str(&format!("## {dname} dictionary (lambda = {lambda:.4})\n\n"));
        md.push_str(&markdown(
            &[
                "solver",
                "signals/s",
                "ratio vs peer",
                "same support as SPAMS",
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
