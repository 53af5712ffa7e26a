"""sparseland.dask on a real distributed.LocalCluster (2 worker processes, loopback only):
coding equal to the in-process coders, distributed online learning equal to the single-process
learner on the same mini-batches, and exact results after a worker dies mid-round or the
cluster restarts between rounds."""

import os
import sys

import cloudpickle
import numpy as np
import pytest

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")

import sparseland  # noqa: E402
import sparseland.dask as sd  # noqa: E402
from sparseland.cbpdn import ConvBPDN  # noqa: E402

# The helpers below run on the workers, which cannot import this test module.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def planted(n, n_features=16, n_atoms=32, k=3, seed=0, sigma=0.05):
    rng = np.random.default_rng(seed)
    D = rng.standard_normal((n_atoms, n_features))
    D /= np.linalg.norm(D, axis=1, keepdims=True)
    codes = np.zeros((n, n_atoms))
    for i in range(n):
        codes[i, rng.choice(n_atoms, k, replace=False)] = rng.uniform(0.5, 1.0, k) * rng.choice([-1, 1], k)
    return codes @ D + sigma * rng.standard_normal((n, n_features)), D


def rel(a, b):
    return np.abs(a - b).max() / max(np.abs(b).max(), 1e-300)


def test_transform_equals_the_in_process_coder_and_sends_the_coder_once(client):
    X, D = planted(1200, seed=1)
    coder = sparseland.SparseCoder(D, transform_algorithm="omp", transform_n_nonzero_coefs=4)
    dX = da.from_array(X, chunks=(300, 16))
    codes = sd.transform(coder, dX)
    assert codes.shape == (1200, 32) and codes.chunks[0] == dX.chunks[0]
    np.testing.assert_array_equal(codes.compute(), coder.transform(X))
    # The coder is one node of the graph, which every coding task depends on.
    graph = dict(codes.__dask_graph__())
    held = [k for k, v in graph.items() if isinstance(getattr(v, "value", v), sparseland.SparseCoder)]
    assert len(held) == 1, held
    # Sparse chunks, float32, and the functional form with a Lasso coder.
    sp = sd.transform(coder, dX, sparse=True).compute()
    assert sp.nnz <= 4 * 1200
    np.testing.assert_array_equal(sp.toarray(), coder.transform(X))
    c32 = sd.transform(coder, dX.astype(np.float32)).compute()
    assert c32.dtype == np.float32
    lasso = sd.sparse_encode(dX, D, algorithm="lasso_lars", alpha=0.05).compute()
    np.testing.assert_allclose(lasso, sparseland.sparse_encode(X, D, algorithm="lasso_lars", alpha=0.05), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="coder"):
        sd.transform(object(), dX)


def test_conv_encode_equals_convbpdn_per_image(client):
    rng = np.random.default_rng(2)
    S = rng.standard_normal((5, 20, 20))
    D = rng.standard_normal((5, 5, 4))
    D /= np.sqrt((D**2).sum(axis=(0, 1), keepdims=True))
    opt = ConvBPDN.Options({"MaxMainIter": 30, "RelStopTol": 1e-4})
    X = sd.conv_encode(da.from_array(S, chunks=(2, 20, 20)), D, 0.1, opt).compute()
    assert X.shape == (5, 20, 20, 4)
    for i in range(5):
        np.testing.assert_array_equal(X[i], ConvBPDN(D, S[i], 0.1, opt).solve())
    with pytest.raises(ValueError, match="`S`"):
        sd.conv_encode(S[0], D, 0.1)


def single_process(learner, chunks_of_X, epochs, **kw):
    """The in-process learner fed the distributed learner's mini-batches."""
    ref = sparseland.DictionaryLearning(
        learner.n_components,
        algorithm="online",
        n_nonzero_coefs=learner.n_nonzero_coefs,
        random_state=learner.random_state,
        dict_init=learner.dict_init,
    )
    for epoch, (dX, parts) in enumerate(chunks_of_X):
        for pieces in learner.round_plan(dX, epoch + kw.get("first_epoch", 0)):
            ref.partial_fit(np.concatenate([parts[p][a:b] for p, a, b in pieces]))
    return ref


def partitions(X, rows):
    return np.split(X, np.cumsum(rows)[:-1])


def assert_same(learner, ref):
    assert learner.n_steps_ == ref.n_steps_
    assert rel(learner.components_, ref.components_) < 1e-10
    assert rel(learner.A_, ref.A_) < 1e-10
    assert rel(learner.B_, ref.B_) < 1e-10
    assert abs(learner.stats_weight_ - ref.stats_weight_) <= 1e-10 * ref.stats_weight_
    np.testing.assert_allclose(learner.error_, ref.error_, rtol=1e-10)


def test_distributed_learning_equals_single_process_learning(client):
    X, _ = planted(4000, seed=3)
    rows = [1000, 700, 1300, 1000]
    dX = da.from_array(X, chunks=(tuple(rows), 16))
    learner = sd.OnlineDictionaryLearning(
        24, n_nonzero_coefs=3, batch_size=400, max_iter=2, random_state=0
    ).fit(dX)
    parts = partitions(X, rows)
    ref = single_process(learner, [(dX, parts), (dX, parts)], 2)
    assert learner.n_steps_ == 20 and learner.n_iter_ == 2
    assert_same(learner, ref)
    # A persisted array survives the learner (its blocks are released, never cancelled) and
    # gives the same dictionary.
    pX = client.persist(dX)
    again = sd.OnlineDictionaryLearning(24, n_nonzero_coefs=3, batch_size=400, max_iter=2, random_state=0)
    again.fit(pX)
    again.fit(pX)
    assert np.array_equal(again.components_, learner.components_)
    np.testing.assert_array_equal(pX.compute(), X)
    # partial_fit on new partitions continues the same way.
    X2, _ = planted(1500, seed=4)
    dX2 = da.from_array(X2, chunks=(500, 16))
    learner.partial_fit(dX2)
    for pieces in learner.round_plan(dX2, 2):
        ref.partial_fit(np.concatenate([partitions(X2, [500] * 3)[p][a:b] for p, a, b in pieces]))
    assert_same(learner, ref)
    # The in-process copy continues exactly too, and codes like the distributed transform.
    local = learner.to_local()
    local.partial_fit(X2[:300])
    ref.partial_fit(X2[:300])
    assert rel(local.components_, ref.components_) < 1e-10
    np.testing.assert_array_equal(learner.transform(dX2).compute(), learner.to_local().transform(X2))


def test_duplicated_initial_atoms_are_replaced_exactly(client):
    X, _ = planted(2000, seed=5)
    d0 = X[:12].copy()
    d0 = np.vstack([d0, d0])  # every atom twice
    dX = da.from_array(X, chunks=(500, 16))
    replaced = []
    learner = sd.OnlineDictionaryLearning(
        24, n_nonzero_coefs=3, batch_size=250, shuffle=False, dict_init=d0, random_state=1,
        callback=lambda est, info: replaced.append(info["replaced"]),
    ).fit(dX)
    ref = single_process(learner, [(dX, partitions(X, [500] * 4))], 1)
    assert_same(learner, ref)
    # The rounds that replaced atoms fetched their candidates from the workers.
    assert sum(replaced) >= 12, replaced
    G = np.abs(learner.components_ @ learner.components_.T) - np.eye(24)
    assert G.max() < 0.999


def _die_once(block, marker, block_info=None):
    """Kills the worker process computing partition 1 the first time (a lost worker)."""
    if block_info[0]["chunk-location"][0] == 1 and not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return block


def test_a_worker_killed_mid_round_loses_and_doubles_nothing(client, tmp_path):
    X, _ = planted(3000, seed=6)
    marker = str(tmp_path / "died")
    dX = da.from_array(X, chunks=(750, 16)).map_blocks(_die_once, marker, dtype=X.dtype)
    learner = sd.OnlineDictionaryLearning(24, n_nonzero_coefs=3, batch_size=500, random_state=2).fit(dX)
    assert os.path.exists(marker), "the worker was not killed"
    ref = single_process(learner, [(dX, partitions(X, [750] * 4))], 1)
    assert_same(learner, ref)


def test_a_restarted_cluster_recomputes_the_round(client):
    X, _ = planted(3000, seed=7)
    dX = da.from_array(X, chunks=(750, 16))
    seen = []

    def restart_once(est, info):
        seen.append(info["round"])
        if info["round"] == 1:
            client.restart()

    learner = sd.OnlineDictionaryLearning(
        24, n_nonzero_coefs=3, batch_size=500, random_state=3, callback=restart_once
    ).fit(dX)
    assert learner.n_retries_ >= 1
    assert seen == list(range(6))
    ref = single_process(learner, [(dX, partitions(X, [750] * 4))], 1)
    assert_same(learner, ref)


def test_bad_parameters_are_errors_naming_them(client):
    dX = da.from_array(np.ones((40, 4)), chunks=(20, 4))
    for params, name in [
        ({"n_components": 0}, "n_components"),
        ({"batch_size": 0}, "batch_size"),
        ({"max_iter": 1.5}, "max_iter"),
        ({"max_retries": -1}, "max_retries"),
        ({"dict_init": np.ones((3, 5)), "n_components": 3}, "dict_init"),
    ]:
        with pytest.raises(ValueError, match=name):
            sd.OnlineDictionaryLearning(**params).fit(dX)
    bad = np.ones((40, 4))
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="batch"):
        sd.OnlineDictionaryLearning(3, dict_init=np.eye(3, 4)).fit(da.from_array(bad, chunks=(20, 4)))
    with pytest.raises(ValueError, match="ndim"):
        sd.OnlineDictionaryLearning(2).fit(da.ones((4, 4, 4)))
    assert sd.round_plan([5, 0, 3], 4) == [[(0, 0, 2), (2, 0, 1)], [(0, 2, 5), (2, 1, 3)]]
