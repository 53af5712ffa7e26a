"""Linear classifiers of scikit-learn on features written by
`cargo xtask reproduce mlista --dictlearn --dl-dump DIR` (one folder per feature row).

    python probe_features.py DIR/<row> [--valid 10000] [--C 0.01,0.1,1]
    python probe_features.py --raw assets [--models svm] [--C ...]

With `--raw ASSETS`, the features are the raw pixels (in [0, 1]) of the shipped MNIST IDX files
in ASSETS (60,000 training, 10,000 test digits): the baseline of the same classifier.

Standardises each feature (scale only, as for sparse input), chooses C on the last `--valid`
training digits (fitted on the others), refits on all training digits and reports the test
error of multinomial logistic regression (L-BFGS, run to convergence) and of a linear SVM
(one-vs-rest, squared hinge). The independent check of the library's own softmax probe.
"""

import argparse
import gzip
import pathlib
import time

import numpy as np
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from sklearn.svm import LinearSVC


def load(d, split, dim):
    ptr = np.fromfile(d / f"{split}_indptr.u64", dtype="<u8").astype(np.int64)
    idx = np.fromfile(d / f"{split}_indices.u32", dtype="<u4").astype(np.int32)
    val = np.fromfile(d / f"{split}_data.f64", dtype="<f8")
    lab = np.fromfile(d / f"{split}_labels.u8", dtype=np.uint8)
    return sp.csr_matrix((val, idx, ptr), shape=(len(ptr) - 1, dim)), lab


def load_idx(path, magic, shape_len):
    """One gzip IDX file of MNIST, its header checked."""
    raw = gzip.open(path, "rb").read()
    head = np.frombuffer(raw[: 4 * (shape_len + 1)], dtype=">u4")
    if head[0] != magic:
        raise SystemExit(f"{path}: magic {head[0]:#x}, expected {magic:#x}")
    dims = tuple(int(x) for x in head[1:])
    body = np.frombuffer(raw[4 * (shape_len + 1) :], dtype=np.uint8)
    if body.size != int(np.prod(dims)):
        raise SystemExit(f"{path}: {body.size} bytes of data, expected {int(np.prod(dims))}")
    return body.reshape(dims)


def load_raw(assets, split):
    img = load_idx(assets / f"{split}-images-idx3-ubyte.gz", 0x803, 3)
    lab = load_idx(assets / f"{split}-labels-idx1-ubyte.gz", 0x801, 1)
    x = sp.csr_matrix(img.reshape(img.shape[0], -1).astype(np.float64) / 255.0)
    return x, lab


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?")
    ap.add_argument("--raw", metavar="ASSETS", help="raw pixels of the MNIST IDX files in ASSETS")
    ap.add_argument("--valid", type=int, default=10000)
    ap.add_argument("--C", default="0.001,0.01,0.1,1")
    ap.add_argument("--models", default="logreg,svm")
    a = ap.parse_args()
    if (a.dir is None) == (a.raw is None):
        ap.error("give either a feature folder DIR or --raw ASSETS")
    if a.raw is not None:
        d = pathlib.Path("raw")
        xtr, ytr = load_raw(pathlib.Path(a.raw), "train")
        xte, yte = load_raw(pathlib.Path(a.raw), "t10k")
    else:
        d = pathlib.Path(a.dir)
        dim = int((d / "meta.txt").read_text().split()[0])
        xtr, ytr = load(d, "train", dim)
        xte, yte = load(d, "test", dim)
    sc = StandardScaler(with_mean=False).fit(xtr)
    xtr, xte = sc.transform(xtr), sc.transform(xte)
    cut = xtr.shape[0] - a.valid
    cs = [float(c) for c in a.C.split(",")]
    makers = {
        "logreg": lambda c: LogisticRegression(C=c, max_iter=2000, tol=1e-6),
        "svm": lambda c: LinearSVC(C=c, max_iter=5000, tol=1e-5),
    }
    print(f"{d.name}: train {xtr.shape}, test {xte.shape}, {xtr.nnz / xtr.shape[0]:.1f} nnz/digit")
    for name in a.models.split(","):
        best = None
        for c in cs:
            t = time.time()
            m = makers[name](c).fit(xtr[:cut], ytr[:cut])
            err = 1.0 - m.score(xtr[cut:], ytr[cut:])
            print(f"  {name} C={c:g}: validation error {100 * err:.2f}% ({time.time() - t:.0f} s)", flush=True)
            if best is None or err < best[0]:
                best = (err, c)
        t = time.time()
        m = makers[name](best[1]).fit(xtr, ytr)
        err = 1.0 - m.score(xte, yte)
        print(f"  {name}: C={best[1]:g}, validation {100 * best[0]:.2f}%, TEST {100 * err:.2f}% ({time.time() - t:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
