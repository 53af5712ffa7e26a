"""Sparse coding and online dictionary learning on a Dask cluster.

Signals that outgrow one machine live in a :class:`dask.array.Array` of shape
``(n_samples, n_features)``, chunked by rows (its *partitions*); the work runs on the workers of
a :class:`distributed.Client` (a ``LocalCluster`` on one machine, or any scheduler address),
in the Rust core with the GIL released.

- :func:`transform` codes the partitions with any fitted coder of the package
  (:class:`~sparseland.SparseCoder`, :class:`~sparseland.DictionaryLearning`, the learned
  solvers), lazily, returning a dask array of codes (dense, or ``scipy.sparse`` chunks with
  ``sparse=True``); the coder, with its dictionary, is one key of the graph, so each worker
  receives it once, not once per chunk. :func:`sparse_encode` is the same with a dictionary.
- :func:`conv_encode` codes a collection of images ``(n_images, H, W)`` by convolutional basis
  pursuit (:class:`sparseland.cbpdn.ConvBPDN`), one task per chunk of images.
- :class:`OnlineDictionaryLearning` is the online learner of Mairal, Bach, Ponce & Sapiro
  (JMLR 2010) with its mini-batches spread over the partitions: every round, each worker codes
  its part of the mini-batch with the current dictionary (Batch-OMP) and returns only the
  sufficient statistics ``A = sum a a^T`` (``k x k``) and ``B = sum x a^T`` (``n x k``) of its
  codes, which are summed on the workers; the client forgets, adds and updates the dictionary
  by the block-coordinate step of the single-process learner. With the same partitions,
  mini-batches and seed it learns the dictionary :class:`sparseland.DictionaryLearning`'s
  ``partial_fit`` learns on the same mini-batches, up to the summation order of ``A`` and ``B``.

>>> import numpy as np, dask.array as da                      # doctest: +SKIP
>>> from distributed import Client, LocalCluster
>>> import sparseland, sparseland.dask as sd
>>> client = Client(LocalCluster(n_workers=2, threads_per_worker=1))
>>> X = da.from_array(np.random.default_rng(0).standard_normal((100_000, 64)), chunks=(25_000, 64))
>>> learner = sd.OnlineDictionaryLearning(256, n_nonzero_coefs=8, batch_size=2048).fit(X)
>>> codes = learner.transform(X)                 # a lazy dask array (100000, 256)
>>> codes[:5].compute().shape
(5, 256)

To use an existing cluster, connect a client to its scheduler (``Client("tcp://host:8786")``)
before calling these functions, or pass ``client=``; the workers need ``sparseland``
installed.
"""

import asyncio
import concurrent.futures
import copy
import functools
import math
import numbers

import numpy as np
import scipy.sparse
import dask
import dask.array as da
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state

from . import SparseCoder, DictionaryLearning, _core

__all__ = ["transform", "sparse_encode", "conv_encode", "OnlineDictionaryLearning", "round_plan"]

#: The errors after which a round is recomputed: its futures were cancelled (``client.restart``)
#: or their data was lost with a worker.
_RETRYABLE = (concurrent.futures.CancelledError, asyncio.CancelledError)


def _client(client):
    """``client``, or the default client of this process."""
    if client is not None:
        return client
    from distributed import get_client

    try:
        return get_client()
    except ValueError:
        raise ValueError(
            "no Dask client: create one (distributed.Client(), or Client('tcp://scheduler:8786') "
            "for an existing cluster) or pass `client=`"
        ) from None


def _signals(X, name="X"):
    """``X`` as a 2-D dask array chunked by rows only (numpy arrays are wrapped)."""
    if not isinstance(X, da.Array):
        X = np.asarray(X)
        X = da.from_array(X, chunks=(max(1, X.shape[0]) if X.ndim else 1,) + X.shape[1:])
    if X.ndim != 2:
        raise ValueError(f"invalid `{name}`: an array of ndim {X.ndim}, expected (n_samples, n_features)")
    if any(math.isnan(c) for c in X.chunks[0]) or any(math.isnan(c) for c in X.shape):
        raise ValueError(f"invalid `{name}`: unknown chunk sizes; call `{name}.compute_chunk_sizes()` first")
    if X.dtype not in (np.float64, np.float32):
        X = X.astype(np.float64)
    if len(X.chunks[1]) > 1:
        X = X.rechunk({1: -1})
    return X


def _n_features_out(coder):
    n = getattr(coder, "_n_features_out", None)
    if n is None:
        raise ValueError(
            f"invalid `coder`: {type(coder).__name__} has no number of output features; "
            "expected a fitted coder of sparseland (SparseCoder, DictionaryLearning, LISTA, ...)"
        )
    return int(n)


def _code_block(x, coder, sparse):
    if sparse and hasattr(coder, "_transform_sparse"):
        return coder._transform_sparse(x)  # CSR straight from the Rust core
    code = coder.transform(x)
    return scipy.sparse.csr_matrix(code) if sparse else code


def transform(coder, X, *, sparse=False, n_jobs=1):
    """The codes of the rows of ``X`` by ``coder.transform``, one task per partition, lazily.

    Parameters
    ----------
    coder : fitted estimator of sparseland
        :class:`~sparseland.SparseCoder`, a fitted :class:`~sparseland.DictionaryLearning` or
        :class:`OnlineDictionaryLearning`, a learned solver (:class:`~sparseland.LISTA`, ...).
        It enters the graph once (one key), so each worker receives it, with its dictionary,
        once.
    X : dask array (or array-like) of shape (n_samples, n_features)
        The signals, chunked by rows (a chunking of the columns is undone).
    sparse : bool, default=False
        Chunks as ``scipy.sparse.csr_matrix`` (for the greedy coders, whose codes have few
        non-zeros); dense NumPy chunks otherwise.
    n_jobs : int or None, default=1
        Threads of each task (Dask runs the tasks in parallel; None: all cores per task).

    Returns
    -------
    codes : dask array of shape (n_samples, n_components)
        Chunked as ``X``'s rows; float32 for float32 input (dense), float64 otherwise.
    """
    if isinstance(coder, OnlineDictionaryLearning):
        coder = coder.to_local()
    X = _signals(X)
    m = _n_features_out(coder)
    coder = copy.copy(coder)
    if "n_jobs" in coder.get_params(deep=False):
        coder.n_jobs = n_jobs
    dtype = X.dtype
    meta = scipy.sparse.csr_matrix((0, m), dtype=dtype) if sparse else np.empty((0, m), dtype)
    return da.map_blocks(
        _code_block,
        X,
        dask.delayed(coder, pure=True),
        bool(sparse),
        chunks=(X.chunks[0], (m,)),
        dtype=dtype,
        meta=meta,
    )


def sparse_encode(
    X,
    dictionary,
    *,
    algorithm="omp",
    n_nonzero_coefs=None,
    alpha=None,
    max_iter=1000,
    positive=False,
    sparse=False,
    n_jobs=1,
):
    """:func:`sparseland.sparse_encode` of the rows of the dask array ``X``, one task per
    partition, lazily (the dictionary is sent once per worker); see :func:`transform` for
    ``sparse`` and ``n_jobs`` and :func:`sparseland.sparse_encode` for the rest."""
    coder = SparseCoder(
        np.asarray(dictionary),
        transform_algorithm=algorithm,
        transform_n_nonzero_coefs=n_nonzero_coefs,
        transform_alpha=alpha,
        transform_max_iter=max_iter,
        positive_code=positive,
    )
    return transform(coder, X, sparse=sparse, n_jobs=n_jobs)


def _conv_block(images, D, lmbda, opt):
    from .cbpdn import ConvBPDN

    out = [ConvBPDN(D, s, lmbda, opt).solve() for s in images]
    M = np.asarray(D).shape[-1]
    return np.stack(out) if out else np.zeros(images.shape[:3] + (M,))


def conv_encode(S, D, lmbda, opt=None):
    """Convolutional basis pursuit denoising of every image of the collection ``S``
    (:class:`sparseland.cbpdn.ConvBPDN`, Wohlberg 2016), one task per chunk of images, lazily.

    Parameters
    ----------
    S : dask array (or array-like) of shape (n_images, H, W)
        The images, chunked along the first axis only.
    D : array of shape (h, w, M)
        The filters (SPORCO's layout); sent once per worker.
    lmbda : float
        The penalty.
    opt : ConvBPDN.Options or dict, default=None
        Solver options (``MaxMainIter``, ``RelStopTol``, ...).

    Returns
    -------
    X : dask array of shape (n_images, H, W, M)
        The coefficient maps of each image.
    """
    if not isinstance(S, da.Array):
        S = np.asarray(S, dtype=np.float64)
        S = da.from_array(S, chunks=(1,) + S.shape[1:])
    D = np.asarray(D, dtype=np.float64)
    if S.ndim != 3:
        raise ValueError(f"invalid `S`: an array of ndim {S.ndim}, expected (n_images, H, W)")
    if D.ndim != 3:
        raise ValueError(f"invalid `D`: an array of ndim {D.ndim}, expected (h, w, M)")
    if len(S.chunks[1]) > 1 or len(S.chunks[2]) > 1:
        S = S.rechunk({1: -1, 2: -1})
    if opt is not None and not isinstance(opt, dict):
        opt = dict(opt)
    M = D.shape[-1]
    return da.map_blocks(
        _conv_block,
        S.astype(np.float64),
        dask.delayed(D, pure=True),
        float(lmbda),
        opt,
        chunks=S.chunks + ((M,),),
        new_axis=3,
        dtype=np.float64,
        meta=np.empty((0, 0, 0, 0)),
    )


# ---------------------------------------------------------------------------------------------
# Distributed online dictionary learning


def round_plan(partition_rows, batch_size):
    """The mini-batches of one pass over partitions of ``partition_rows`` rows: a list of rounds,
    each a list of ``(partition, start, stop)`` row ranges, in mini-batch order.

    With ``R = ceil(N / batch_size)`` rounds for ``N`` rows in all, round ``t`` takes rows
    ``floor(t n_p / R)`` to ``floor((t + 1) n_p / R)`` of every partition ``p`` (of ``n_p``
    rows): every round draws the same share from every partition, so every worker holding a
    partition codes part of every mini-batch, and every row is used once per pass. Rounds left
    empty (partitions of fewer than ``R`` rows) are dropped.
    """
    rows = [int(n) for n in partition_rows]
    total = sum(rows)
    if total == 0:
        return []
    n_rounds = max(1, -(-total // int(batch_size)))
    plan = []
    for t in range(n_rounds):
        pieces = [
            (p, (t * n) // n_rounds, ((t + 1) * n) // n_rounds)
            for p, n in enumerate(rows)
            if ((t + 1) * n) // n_rounds > (t * n) // n_rounds
        ]
        if pieces:
            plan.append(pieces)
    return plan


def _piece(block, start, stop):
    return np.ascontiguousarray(block[start:stop], dtype=np.float64)


def _part_stats(block, start, stop, atoms, n_nonzero_coefs, n_threads):
    """One worker's part of a round (stays on the worker; only its summary travels)."""
    return _core.online_batch_stats(
        _piece(block, start, stop), atoms, n_nonzero_coefs=n_nonzero_coefs, n_threads=n_threads
    )


def _summary(part):
    """The part without its candidate signals: A, B, count, squared error, non-zeros,
    candidate errors and positions."""
    A, B, count, sse, nnz, _signals, errors, positions = part
    return A, B, count, sse, nnz, errors, positions


def _merge(limit, *summaries):
    """Summaries of consecutive parts merged in order: sums add, candidates keep the ``limit``
    worst (largest squared residual, ties by position), positions shifted past earlier parts."""
    A = summaries[0][0].copy()
    B = summaries[0][1].copy()
    count, sse, nnz = 0, 0.0, 0
    errors, positions = [], []
    for i, (a, b, c, s, z, e, p) in enumerate(summaries):
        if i:
            A += a
            B += b
        errors.append(e)
        positions.append(p.astype(np.uint64) + np.uint64(count))
        count, sse, nnz = count + c, sse + s, nnz + z
    errors, positions = np.concatenate(errors), np.concatenate(positions)
    keep = np.lexsort((positions, -errors))[:limit]
    return A, B, count, sse, nnz, errors[keep], positions[keep]


def _candidate_rows(part, positions):
    """The candidate signals of ``part`` at the given positions (in that order)."""
    _A, _B, _count, _sse, _nnz, signals, _errors, own = part
    where = {int(p): i for i, p in enumerate(own)}
    return signals[[where[int(p)] for p in positions]]


def _tree(client, futures, fan_in, merge):
    """Reduces ``futures`` in order with ``merge`` in a tree on the workers."""
    while len(futures) > 1:
        futures = [
            client.submit(merge, *futures[i : i + fan_in], pure=False)
            for i in range(0, len(futures), fan_in)
        ]
    return futures[0]


class OnlineDictionaryLearning(TransformerMixin, BaseEstimator):
    """Online dictionary learning (Mairal, Bach, Ponce & Sapiro, "Online learning for matrix
    factorization and sparse coding", JMLR 2010) on a Dask cluster.

    Every round codes one mini-batch, spread over the partitions of ``X``
    (:func:`round_plan`): each worker codes its parts with the current dictionary (Batch-OMP,
    in the Rust core) and keeps them; only their statistics ``A`` (``k x k``) and ``B``
    (``n x k``) are summed, in a tree on the workers, and reach the client, which forgets,
    adds and updates the atoms by block-coordinate descent exactly as
    :meth:`sparseland.DictionaryLearning.partial_fit` does. Unused and duplicate atoms are
    replaced by the worst-represented signals of the mini-batch; those (at most ``k``) are
    fetched from the workers only in the rounds that replace atoms. A round whose futures are
    cancelled or lost (a worker killed, ``client.restart()``) is recomputed from the same
    dictionary, so no partition's statistics are lost or counted twice.

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms (``n_features`` when None).
    n_nonzero_coefs : int, default=None
        Atoms per training signal (default ``max(n_features // 10, 1)``).
    batch_size : int, default=1024
        Signals per mini-batch (per round, over all partitions).
    max_iter : int, default=1
        Passes (epochs) over ``X`` in ``fit``.
    shuffle : bool, default=True
        Visit the mini-batches of each pass in a random order (seeded by ``random_state``).
    dict_init : ndarray of shape (n_components, n_features), default=None
        First dictionary (default: distinct signals of the first mini-batch, drawn at random).
    random_state : int, RandomState instance or None, default=None
        Seed of the first dictionary and of the order of the mini-batches.
    transform_algorithm, transform_n_nonzero_coefs, transform_alpha :
        Coding of ``transform`` (see :class:`sparseland.SparseCoder`).
    n_jobs : int or None, default=1
        Threads of each task (Dask runs the tasks in parallel).
    client : distributed.Client, default=None
        The cluster (default: the current client).
    max_retries : int, default=3
        Recomputations of a round whose futures were cancelled or lost before giving up.
    fan_in : int, default=8
        Parts summed per task of the reduction tree.
    callback : callable, default=None
        Called as ``callback(self, info)`` after every round, ``info`` a dict with ``epoch``,
        ``round``, ``rmse``, ``replaced`` and ``retries``.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned unit-norm atoms.
    A_, B_ : ndarray of shape (n_components, n_components) and (n_features, n_components)
        The sufficient statistics (forgetting as in the single-process learner);
        ``stats_weight_`` their weight, ``n_steps_`` the rounds taken.
    error_ : list of float
        RMSE of every round's mini-batch (before its update).
    n_iter_ : int
        Passes over the data made by ``fit`` and ``partial_fit``.
    n_retries_ : int
        Rounds recomputed after a failure.
    n_features_in_ : int
        Number of features.
    """

    def __init__(
        self,
        n_components=None,
        *,
        n_nonzero_coefs=None,
        batch_size=1024,
        max_iter=1,
        shuffle=True,
        dict_init=None,
        random_state=None,
        transform_algorithm="batch_omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        n_jobs=1,
        client=None,
        max_retries=3,
        fan_in=8,
        callback=None,
    ):
        self.n_components = n_components
        self.n_nonzero_coefs = n_nonzero_coefs
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.dict_init = dict_init
        self.random_state = random_state
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.n_jobs = n_jobs
        self.client = client
        self.max_retries = max_retries
        self.fan_in = fan_in
        self.callback = callback

    # -- validation -------------------------------------------------------------------------

    def _check_params(self, n_features):
        def positive_int(name, value):
            if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
                raise ValueError(f"invalid parameter `{name}` = {value!r}: expected a positive integer")
            return int(value)

        m = n_features if self.n_components is None else positive_int("n_components", self.n_components)
        k = self.n_nonzero_coefs
        k = None if k is None else min(positive_int("n_nonzero_coefs", k), m)
        positive_int("batch_size", self.batch_size)
        positive_int("max_iter", self.max_iter)
        positive_int("fan_in", self.fan_in)
        if not isinstance(self.max_retries, numbers.Integral) or self.max_retries < 0:
            raise ValueError(
                f"invalid parameter `max_retries` = {self.max_retries!r}: expected a non-negative integer"
            )
        return m, k

    def round_plan(self, X, epoch):
        """The mini-batches of pass ``epoch`` (from 0) over ``X``: :func:`round_plan` of its
        partitions, in the shuffled order of that pass. The single-process learner fed the
        same mini-batches (``np.concatenate`` of the pieces, in order) learns the same
        dictionary."""
        plan = round_plan(_signals(X).chunks[0], self.batch_size)
        if self.shuffle and plan:
            seed = getattr(self, "_seed", None)
            if seed is None:  # before fit: the seed fit will draw (reproducible for an int)
                seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            order = np.random.default_rng([seed, int(epoch)]).permutation(len(plan))
            plan = [plan[i] for i in order]
        return plan

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, X, y=None):
        """Learn the dictionary from the rows of the dask array ``X`` (``max_iter`` passes);
        returns ``self``."""
        for attr in ("A_", "B_", "_atoms", "_state", "components_", "n_features_in_"):
            self.__dict__.pop(attr, None)
        self.error_, self.n_iter_, self.n_retries_ = [], 0, 0
        X = _signals(X)
        self._check_params(X.shape[1])
        self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        for _ in range(self.max_iter):
            self._pass(X)
        return self

    def partial_fit(self, X, y=None):
        """One pass over the rows of ``X`` (new partitions, say), continuing from the current
        dictionary and statistics; returns ``self``."""
        X = _signals(X)
        if not hasattr(self, "_seed"):
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            self.error_, self.n_iter_, self.n_retries_ = [], 0, 0
        self._pass(X)
        return self

    def _pass(self, X):
        client = _client(self.client)
        n_features = X.shape[1]
        m, k = self._check_params(n_features)
        if hasattr(self, "n_features_in_") and self.n_features_in_ != n_features:
            raise ValueError(
                f"X has {n_features} features, but {type(self).__name__} is fitted with "
                f"{self.n_features_in_} features"
            )
        self.n_features_in_ = n_features
        blocks = X.to_delayed().ravel().tolist()
        futures = client.compute(blocks)
        plan = self.round_plan(X, self.n_iter_)
        for t, pieces in enumerate(plan):
            for attempt in range(self.max_retries + 1):
                try:
                    rmse, replaced = self._round(client, futures, pieces, m, k)
                    break
                except _RETRYABLE:
                    if attempt == self.max_retries:
                        raise
                    self.n_retries_ += 1
                    # The inputs may be gone too (client.restart): compute them again.
                    futures = client.compute(blocks)
            self.error_.append(rmse)
            if self.callback is not None:
                self.callback(
                    self,
                    {"epoch": self.n_iter_, "round": t, "rmse": rmse, "replaced": replaced,
                     "retries": self.n_retries_},
                )
        # Released, not cancelled: the blocks may be the keys of the caller's persisted array.
        del futures
        self.n_iter_ += 1

    def _initial_state(self, client, futures, pieces, m, k):
        if self.dict_init is not None:
            d0 = np.array(self.dict_init, dtype=np.float64)
            if d0.shape != (m, self.n_features_in_):
                raise ValueError(
                    f"invalid `dict_init`: shape {d0.shape}, expected {(m, self.n_features_in_)} "
                    "(n_components, n_features)"
                )
            d0 /= np.linalg.norm(d0, axis=1, keepdims=True)
        else:
            # As the single-process learner: atoms drawn from the first mini-batch.
            batch = np.concatenate(
                client.gather([client.submit(_piece, futures[p], a, b) for p, a, b in pieces])
            )
            d0 = _core.online_initialize(batch, m, n_nonzero_coefs=k, seed=self._seed)
        n = d0.shape[1]
        return (d0, np.zeros((m, m)), np.zeros((n, m)), 0.0, 0)

    def _round(self, client, futures, pieces, m, k):
        """One mini-batch step; raises a retryable error when futures are lost."""
        state = getattr(self, "_state", None)
        if state is None:
            state = self._initial_state(client, futures, pieces, m, k)
        atoms = client.scatter(state[0], broadcast=True, hash=False)
        n_threads = 0 if self.n_jobs is None or self.n_jobs < 0 else int(self.n_jobs)
        parts = [
            client.submit(_part_stats, futures[p], a, b, atoms, k, n_threads, pure=False)
            for p, a, b in pieces
        ]
        summaries = [client.submit(_summary, part, pure=False) for part in parts]
        root = _tree(client, summaries, int(self.fan_in), functools.partial(_merge, m))
        A, B, count, sse, nnz, errors, positions = root.result()
        summary = (A, B, int(count), float(sse), int(nnz))
        out = _core.online_apply(state, summary, None, n_nonzero_coefs=k, seed=self._seed)
        if out is None:
            # Atoms to replace: fetch the candidates (at most m signals) from their parts.
            offsets = np.cumsum([0] + [b - a for _p, a, b in pieces])
            owner = np.searchsorted(offsets, positions, side="right") - 1
            rows = np.empty((len(positions), state[0].shape[1]))
            fetch = {}
            for i in np.unique(owner):
                sel = np.flatnonzero(owner == i)
                local = (positions[sel] - np.uint64(offsets[i])).tolist()
                fetch[int(i)] = (sel, client.submit(_candidate_rows, parts[i], local, pure=False))
            for sel, f in fetch.values():
                rows[sel] = f.result()
            candidates = (rows, np.ascontiguousarray(errors), np.ascontiguousarray(positions))
            out = _core.online_apply(state, summary, candidates, n_nonzero_coefs=k, seed=self._seed)
        client.cancel(parts + [atoms])
        d, A, B, weight, steps, rmse, replaced = out
        self._state = (d, A, B, weight, steps)
        self._atoms, self.A_, self.B_ = d, A, B
        self.stats_weight_, self.n_steps_ = float(weight), int(steps)
        self.components_ = d
        return float(rmse), int(replaced)

    # -- coding -----------------------------------------------------------------------------

    def to_local(self):
        """The fitted learner as a :class:`sparseland.DictionaryLearning` (``algorithm=
        "online"``) holding the same atoms and statistics, whose ``partial_fit`` continues
        in-process exactly where this learner stopped, and whose ``transform`` codes NumPy
        arrays."""
        if not hasattr(self, "A_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError(f"This {type(self).__name__} instance is not fitted yet.")
        local = DictionaryLearning(
            self.components_.shape[0],
            algorithm="online",
            n_nonzero_coefs=self.n_nonzero_coefs,
            transform_algorithm=self.transform_algorithm,
            transform_n_nonzero_coefs=(
                self.n_nonzero_coefs
                if self.transform_n_nonzero_coefs is None
                else self.transform_n_nonzero_coefs
            ),
            transform_alpha=self.transform_alpha,
            n_jobs=self.n_jobs,
            random_state=self.random_state,
        )
        local._atoms, local.A_, local.B_ = self._atoms, self.A_, self.B_
        local.stats_weight_, local.n_steps_, local._seed = self.stats_weight_, self.n_steps_, self._seed
        local.components_ = self.components_
        local.n_features_in_ = self.n_features_in_
        local.error_, local.n_iter_ = list(self.error_), self.n_steps_
        return local

    def transform(self, X, sparse=False):
        """The codes of the rows of the dask array ``X`` over ``components_`` (a lazy dask
        array; see :func:`transform`)."""
        return transform(self.to_local(), X, sparse=sparse, n_jobs=self.n_jobs)

    @property
    def _n_features_out(self):
        return self.components_.shape[0]
