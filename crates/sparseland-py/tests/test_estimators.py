"""Tests of the Python package: agreement with scikit-learn, check_estimator, pickling, dtypes
and memory orders, bad input."""

import pickle
from unittest import SkipTest

import numpy as np
import pytest

import sparseland
from sparseland import DictionaryLearning, SparseCoder, sparse_encode

sklearn = pytest.importorskip("sklearn")
from sklearn.decomposition import SparseCoder as SkSparseCoder  # noqa: E402
from sklearn.utils.estimator_checks import estimator_checks_generator  # noqa: E402


def unit_rows(a):
    return a / np.linalg.norm(a, axis=1, keepdims=True)


@pytest.fixture
def problem():
    rng = np.random.default_rng(2024)
    D = unit_rows(rng.normal(size=(256, 64)))
    codes = np.zeros((300, 256))
    for i in range(300):
        idx = rng.choice(256, 8, replace=False)
        codes[i, idx] = rng.normal(size=8)
    X = codes @ D + 0.01 * rng.normal(size=(300, 64))
    return D, X


def lasso_objective(X, D, code, alpha):
    return 0.5 * ((X - code @ D) ** 2).sum(axis=1) + alpha * np.abs(code).sum(axis=1)


def test_omp_supports_identical_to_scikit_learn(problem):
    D, X = problem
    ours = SparseCoder(D, transform_n_nonzero_coefs=8).transform(X)
    theirs = SkSparseCoder(D, transform_n_nonzero_coefs=8).transform(X)
    assert np.array_equal(ours != 0, theirs != 0)
    np.testing.assert_allclose(ours, theirs, atol=1e-10)
    for algo in ("batch_omp", "ormp"):
        c = SparseCoder(D, transform_algorithm=algo, transform_n_nonzero_coefs=8).transform(X)
        assert ((c != 0).sum(axis=1) == 8).all()


@pytest.mark.parametrize("algo", ["lasso_lars", "lasso_cd"])
def test_lasso_objectives_match_scikit_learn(problem, algo):
    D, X = problem
    alpha = 0.05
    ours = SparseCoder(D, transform_algorithm=algo, transform_alpha=alpha).transform(X)
    theirs = SkSparseCoder(
        D, transform_algorithm=algo, transform_alpha=alpha, transform_max_iter=10000
    ).transform(X)
    fo, ft = lasso_objective(X, D, ours, alpha), lasso_objective(X, D, theirs, alpha)
    # Ours is certified to a relative duality gap of 1e-6, so never worse than the peer by more.
    assert (fo <= ft * (1 + 1e-6) + 1e-9).all()
    if algo == "lasso_lars":
        np.testing.assert_allclose(fo, ft, rtol=1e-9, atol=1e-9)


def test_threshold_and_fista_and_bp(problem):
    D, X = problem
    thr = sparse_encode(X, D, algorithm="threshold", alpha=0.3)
    cov = X @ D.T
    np.testing.assert_allclose(thr, np.sign(cov) * np.maximum(np.abs(cov) - 0.3, 0), atol=1e-12)
    lars = sparse_encode(X[:20], D, algorithm="lasso_lars", alpha=0.05)
    fista = sparse_encode(X[:20], D, algorithm="fista", alpha=0.05, max_iter=20000)
    np.testing.assert_allclose(
        lasso_objective(X[:20], D, fista, 0.05), lasso_objective(X[:20], D, lars, 0.05), rtol=1e-5
    )
    bp = sparse_encode(X[:5], D, algorithm="bp")
    np.testing.assert_allclose(bp @ D, X[:5], atol=1e-6)


def test_per_sample_alpha_equals_separate_calls(problem):
    D, X = problem
    alphas = np.where(np.arange(40) % 3 == 0, 0.02, 0.2)
    joint = sparse_encode(X[:40], D, algorithm="lasso_lars", alpha=alphas)
    for i in (0, 1, 5):
        single = sparse_encode(X[i : i + 1], D, algorithm="lasso_lars", alpha=alphas[i])
        np.testing.assert_allclose(joint[i : i + 1], single, atol=1e-12)


def test_dtypes_and_memory_orders(problem):
    D, X = problem
    ref = sparse_encode(X, D, n_nonzero_coefs=8)
    for variant in (np.asfortranarray(X), X[::1].copy(), np.ascontiguousarray(X)):
        np.testing.assert_array_equal(sparse_encode(variant, D, n_nonzero_coefs=8), ref)
    strided = np.repeat(X, 2, axis=0)[::2]
    np.testing.assert_array_equal(sparse_encode(strided, D, n_nonzero_coefs=8), ref)
    raw = bytearray(X.size * 8 + 1)
    unaligned = np.ndarray(X.shape, dtype=np.float64, buffer=raw, offset=1)
    unaligned[:] = X
    assert not unaligned.flags.aligned
    np.testing.assert_array_equal(sparse_encode(unaligned, D, n_nonzero_coefs=8), ref)
    c32 = sparse_encode(X.astype(np.float32), D, n_nonzero_coefs=8)
    assert c32.dtype == np.float32
    assert np.array_equal(c32 != 0, ref != 0)
    before = X.copy()
    sparse_encode(X, D, n_nonzero_coefs=8)
    np.testing.assert_array_equal(X, before)


def test_unnormalised_atoms_give_codes_of_the_given_atoms(problem):
    D, X = problem
    scaled = D * np.linspace(0.5, 2.0, D.shape[0])[:, None]
    c = sparse_encode(X, scaled, n_nonzero_coefs=8)
    c_unit = sparse_encode(X, D, n_nonzero_coefs=8)
    np.testing.assert_allclose(c @ scaled, c_unit @ D, atol=1e-10)
    with pytest.raises(ValueError, match="unit-norm"):
        sparse_encode(X, scaled, algorithm="lasso_lars", alpha=0.1)


def test_dictionary_learning_recovers_atoms():
    # The synthetic experiment of Aharon, Elad & Bruckstein (2006): 50 atoms in R^20, three
    # per signal, 1,500 noiseless signals; an atom counts as recovered at |<d, d_true>| > 0.99.
    rng = np.random.default_rng(7)
    D = unit_rows(rng.normal(size=(50, 20)))
    codes = np.zeros((1500, 50))
    for i in range(1500):
        idx = rng.choice(50, 3, replace=False)
        codes[i, idx] = rng.normal(size=3)
    X = codes @ D
    for algo, rate in (("ksvd", 0.9), ("ksvd_approx", 0.8), ("mod", 0.8)):
        est = DictionaryLearning(50, algorithm=algo, n_nonzero_coefs=3, max_iter=40, random_state=0)
        est.fit(X)
        assert est.components_.shape == (50, 20)
        overlap = np.abs(est.components_ @ D.T).max(axis=0)
        assert (overlap > 0.99).mean() >= rate, (algo, np.sort(overlap)[:5])
        assert est.error_[-1] < est.error_[0]
    online = DictionaryLearning(50, algorithm="online", n_nonzero_coefs=3, max_iter=5, random_state=0)
    assert online.fit_transform(X).shape == (1500, 50)
    assert online.error_[-1] < online.error_[0]


def test_pickle_round_trip(problem):
    D, X = problem
    coder = SparseCoder(D, transform_n_nonzero_coefs=4)
    again = pickle.loads(pickle.dumps(coder))
    np.testing.assert_array_equal(again.transform(X[:10]), coder.transform(X[:10]))
    dl = DictionaryLearning(8, max_iter=2, random_state=0).fit(X[:100])
    dl2 = pickle.loads(pickle.dumps(dl))
    np.testing.assert_array_equal(dl2.components_, dl.components_)
    np.testing.assert_array_equal(dl2.transform(X[:5]), dl.transform(X[:5]))


def test_bad_input_raises_value_error(problem):
    D, X = problem
    with pytest.raises(ValueError, match="features"):
        sparse_encode(X[:, :10], D)
    with pytest.raises(ValueError, match="algorithm"):
        sparse_encode(X, D, algorithm="magic")
    with pytest.raises(ValueError, match="n_nonzero_coefs"):
        sparse_encode(X, D, n_nonzero_coefs=0)
    bad = X.copy()
    bad[3, 4] = np.nan
    with pytest.raises(ValueError):
        sparse_encode(bad, D)
    with pytest.raises(ValueError, match="alpha"):
        sparse_encode(X, D, algorithm="lasso_lars", alpha=np.ones(3))
    with pytest.raises(ValueError, match="lambda"):
        sparse_encode(X, D, algorithm="lasso_lars", alpha=-1.0)
    with pytest.raises(ValueError, match="algorithm"):
        DictionaryLearning(4, algorithm="nope").fit(X)
    with pytest.raises(ValueError, match="zero norm"):
        sparse_encode(X, np.zeros((3, 64)))


def _per_check_params():
    """scikit-learn's own per-check parameters for its SparseCoder (a fixed dictionary fixes
    n_features, and the checks use data of several widths): the widths of each check's
    dictionary, from scikit-learn's test utilities where available."""
    try:
        from sklearn.decomposition import SparseCoder as Sk
        from sklearn.utils._test_common.instance_generator import PER_ESTIMATOR_CHECK_PARAMS

        return {k: v["dictionary"].shape[1] for k, v in PER_ESTIMATOR_CHECK_PARAMS[Sk].items()}
    except (ImportError, KeyError):  # pragma: no cover - older or newer scikit-learn
        return {}


def _check_name(check):
    return getattr(check, "func", check).__name__


def _run_checks(pairs, replace=lambda name, est: est):
    """Runs scikit-learn's checks; a check that skips itself (a missing optional package such
    as pandas) is counted, never allowed to skip the whole test. Returns (ran, skipped)."""
    ran, skipped = [], []
    for est, check in pairs:
        name = _check_name(check)
        try:
            check(replace(name, est))
            ran.append(name)
        except SkipTest:
            skipped.append(name)
    assert len(ran) > 30, (ran, skipped)
    return ran, skipped


def test_sparse_coder_passes_check_estimator():
    rng = np.random.RandomState(0)
    widths = _per_check_params()
    base = SparseCoder(dictionary=rng.normal(size=(5, 3)))

    def replace(name, est):
        if name not in widths:
            return est
        dtype = np.float32 if name == "check_transformer_preserve_dtypes" else np.float64
        return SparseCoder(dictionary=rng.normal(size=(5, widths[name])).astype(dtype))

    _run_checks(estimator_checks_generator(base, legacy=True, mark="skip"), replace)


def test_dictionary_learning_passes_check_estimator():
    base = DictionaryLearning(n_components=3, max_iter=3, random_state=0)
    _run_checks(estimator_checks_generator(base, legacy=True, mark="skip"))


def test_version():
    assert isinstance(sparseland.__version__, str)


def test_readme_python_examples_run_as_written():
    import pathlib
    import re

    readme = pathlib.Path(__file__).resolve().parents[3] / "README.md"
    blocks = re.findall(r"```python\n(.*?)```", readme.read_text(), re.S)
    assert blocks, "README.md has Python examples"
    for code in blocks:
        exec(compile(code, "README.md", "exec"), {})


def test_theory_calculators():
    D = np.vstack([np.eye(4), np.ones((1, 4)) / 2.0])  # 5 atoms in R^4
    mu = sparseland.coherence(D)
    assert mu == pytest.approx(0.5)
    assert sparseland.welch_bound(4, 5) == pytest.approx(np.sqrt(1 / 16))
    babel = sparseland.babel(D)
    assert babel[0] == 0 and babel[1] == pytest.approx(mu) and len(babel) == 5
    value, exact = sparseland.spark(D)
    assert exact and value == 5
    cert = sparseland.omp_recovery(mu, 1)
    assert cert.holds and bool(cert) and cert.lhs < cert.rhs
    assert "OMP" in repr(cert) or "omp" in repr(cert).lower()
    assert cert.citation and cert.theorem
    assert not sparseland.omp_recovery(mu, 2).holds
    assert sparseland.erc(D, [0]) > 0
    assert sparseland.bp_stability(0.1, 2, 0.1).bound is not None
    with pytest.raises(ValueError, match="mu"):
        sparseland.omp_recovery(-1.0, 1)


def test_partial_fit_streams_with_sufficient_statistics(problem):
    """partial_fit: A_ and B_ are the statistics of the codes, the representation error falls,
    and a pickled estimator continues bit for bit."""
    D, X = problem
    X = X[:, :32] / np.linalg.norm(X[:, :32], axis=1, keepdims=True)
    batches = [X[k * 50:(k + 1) * 50] for k in range(6)]
    est = DictionaryLearning(48, n_nonzero_coefs=3, random_state=0)
    est.partial_fit(batches[0])
    assert est.A_.shape == (48, 48) and est.B_.shape == (32, 48)
    assert np.allclose(est.A_, est.A_.T) and np.all(np.diag(est.A_) >= 0)
    assert est.n_steps_ == 1 and est.stats_weight_ > 0
    clone = pickle.loads(pickle.dumps(est))
    for b in batches[1:]:
        est.partial_fit(b)
        clone.partial_fit(b)
    assert np.array_equal(est.components_, clone.components_)
    assert np.array_equal(est.A_, clone.A_) and np.array_equal(est.B_, clone.B_)
    assert est.n_steps_ == 6 and len(est.error_) == 6
    assert np.allclose(np.linalg.norm(est.components_, axis=1), 1.0)
    # Five passes over the stream: the error of the last pass is below that of the first.
    first = list(est.error_)
    for _ in range(4):
        for b in batches:
            est.partial_fit(b)
    assert np.mean(est.error_[-6:]) < np.mean(first)
    with pytest.raises(ValueError):
        est.partial_fit(X[:10, :31])
    # After fit, partial_fit continues from the fitted atoms.
    fitted = DictionaryLearning(48, algorithm="online", n_nonzero_coefs=3, max_iter=2,
                                random_state=0).fit(X)
    before = fitted.components_.copy()
    fitted.partial_fit(batches[0])
    assert fitted.n_steps_ == 1
    same = DictionaryLearning(48, n_nonzero_coefs=3, dict_init=before, random_state=0)
    assert np.array_equal(same.partial_fit(batches[0]).components_, fitted.components_)
    assert not np.array_equal(fitted.components_, before)


def test_sparse_output_equals_the_dense_codes(problem):
    import scipy.sparse

    D, X = problem
    scaled = D * np.linspace(0.5, 2.0, D.shape[0])[:, None]
    for dictionary, kw in [
        (D, dict(algorithm="omp", n_nonzero_coefs=8)),
        (scaled, dict(algorithm="batch_omp", n_nonzero_coefs=5)),
        (D, dict(algorithm="lasso_lars", alpha=0.05)),
    ]:
        sp = sparse_encode(X, dictionary, sparse=True, **kw)
        assert scipy.sparse.issparse(sp) and sp.format == "csr"
        np.testing.assert_array_equal(sp.toarray(), sparse_encode(X, dictionary, **kw))
    sp32 = sparse_encode(X.astype(np.float32), D, n_nonzero_coefs=8, sparse=True)
    assert sp32.dtype == np.float32
    coder = SparseCoder(D, transform_n_nonzero_coefs=8, split_sign=True)
    np.testing.assert_array_equal(coder._transform_sparse(X).toarray(), coder.transform(X))
