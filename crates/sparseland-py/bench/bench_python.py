"""Python-side benchmark of the sparseland package, in one process against scikit-learn.

Run by ``cargo xtask bench python`` (release wheel in ``target/pyenv``); prints a Markdown table.
Workload: 64 x 256 dictionary (unit atoms), 10,000 signals, k = 8; rounds alternate ours and the
peer's; wall time and process CPU time (``time.process_time``) are the best of ``ROUNDS``.
The "Python / Rust" column is the throughput of the full Python call (validation, conversion,
the copy of the codes into NumPy) relative to the Rust solve alone on the same data
(``_core.native_seconds``): the package's overhead.
"""

import os
import sys
import time

import numpy as np

import sparseland
from sparseland import _core

ROUNDS = int(os.environ.get("ROUNDS", "3"))
THREADS = int(os.environ.get("THREADS", "1"))


def best(f):
    wall, cpu = float("inf"), float("inf")
    for _ in range(ROUNDS):
        c0, t0 = time.process_time(), time.perf_counter()
        f()
        wall = min(wall, time.perf_counter() - t0)
        cpu = min(cpu, time.process_time() - c0)
    return wall, cpu


def main():
    rng = np.random.default_rng(64256)
    D = rng.normal(size=(256, 64))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    codes = np.zeros((10_000, 256))
    for i in range(10_000):
        idx = rng.choice(256, 8, replace=False)
        codes[i, idx] = rng.normal(size=8)
    X = codes @ D + 0.01 * rng.normal(size=(10_000, 64))
    rows = []
    try:
        from sklearn.decomposition import MiniBatchDictionaryLearning
        from sklearn.decomposition import SparseCoder as SkCoder

        have_sklearn = True
    except ImportError:  # pragma: no cover
        have_sklearn = False
    jobs = [
        ("OMP (k = 8)", "batch_omp", "omp", dict(transform_n_nonzero_coefs=8), None),
        ("Lasso-LARS (alpha = 0.1)", "lasso_lars", "lasso_lars", dict(transform_alpha=0.1), 0.1),
    ]
    for label, ours_algo, their_algo, params, alpha in jobs:
        ours = sparseland.SparseCoder(D, transform_algorithm=ours_algo, n_jobs=THREADS, **params)
        native = _core.native_seconds(
            X, D, ours_algo, n_nonzero_coefs=params.get("transform_n_nonzero_coefs"),
            alpha=alpha or 1.0, repeats=ROUNDS, n_threads=THREADS,
        )
        o = best(lambda: ours.transform(X))
        t = None
        if have_sklearn:
            theirs = SkCoder(D, transform_algorithm=their_algo, n_jobs=THREADS, **params)
            t = best(lambda: theirs.transform(X))
        rows.append((label, o, t, native))
    if have_sklearn:
        ours_dl = sparseland.DictionaryLearning(
            256, algorithm="online", n_nonzero_coefs=8, max_iter=1, n_jobs=THREADS, random_state=0
        )
        theirs_dl = MiniBatchDictionaryLearning(
            256, transform_algorithm="omp", transform_n_nonzero_coefs=8, batch_size=256,
            max_iter=1, n_jobs=THREADS, random_state=0,
        )
        o = best(lambda: ours_dl.fit(X))
        t = best(lambda: theirs_dl.fit(X))
        rows.append(("online dictionary learning, 1 epoch", o, t, None))
    print(f"# Python package vs scikit-learn: 64 x 256, 10,000 signals, {THREADS} thread(s)\n")
    print(f"best of {ROUNDS} rounds; load average {os.getloadavg()[0]:.2f}; python {sys.version.split()[0]}\n")
    print("| job | ours wall ms | ours CPU ms | scikit-learn wall ms | scikit-learn CPU ms | speed-up (wall / CPU) | Python / Rust throughput |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, o, t, native in rows:
        tw = f"{t[0] * 1e3:.1f}" if t else "-"
        tc = f"{t[1] * 1e3:.1f}" if t else "-"
        sp = f"{t[0] / o[0]:.1f}x / {t[1] / o[1]:.1f}x" if t else "-"
        ratio = f"{native / o[0]:.1%}" if native else "-"
        print(f"| {label} | {o[0] * 1e3:.1f} | {o[1] * 1e3:.1f} | {tw} | {tc} | {sp} | {ratio} |")


if __name__ == "__main__":
    main()
