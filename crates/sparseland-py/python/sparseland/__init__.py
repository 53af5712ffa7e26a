"""Sparse modeling from NumPy, with scikit-learn conventions.

The computations run in the Rust crates of the sparseland workspace (`sparse-core`, `pursuit`)
with the GIL released; this layer only validates arrays and follows scikit-learn's estimator
API: parameters in ``__init__``, ``fit`` returns ``self``, fitted attributes end in ``_``,
inputs of shape ``(n_samples, n_features)``, ``components_`` of shape
``(n_components, n_features)``.

>>> import numpy as np, sparseland
>>> D = np.eye(4)[:3]                     # 3 atoms of length 4, one per row
>>> sparseland.SparseCoder(D, transform_n_nonzero_coefs=1).transform([[0., 2., 0., 0.]])
array([[0., 2., 0.]])

Every error of the Rust core arrives as a ``ValueError`` carrying the same message.

Convolutional sparse coding with SPORCO's interface lives in :mod:`sparseland.cbpdn`
(``ConvBPDN``); coding and online dictionary learning on a Dask cluster in
:mod:`sparseland.dask`.
"""

import numbers

import numpy as np
import scipy.sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from . import _core
from ._core import (  # the theory calculators (dictionary rows are atoms)
    Certificate,
    babel,
    bp_recovery,
    bp_stability,
    coherence,
    erc,
    erc_recovery,
    omp_recovery,
    spark,
    thresholding_recovery,
    uniqueness,
    welch_bound,
)

__version__ = _core.__version__

__all__ = [
    "sparse_encode",
    "SparseCoder",
    "DictionaryLearning",
    "denoise",
    "KSVDDenoiser",
    "LISTA",
    "LearnedFISTA",
    "FacNet",
    "Conv",
    "MLCSC",
    "Certificate",
    "coherence",
    "welch_bound",
    "babel",
    "spark",
    "erc",
    "uniqueness",
    "omp_recovery",
    "bp_recovery",
    "erc_recovery",
    "bp_stability",
    "thresholding_recovery",
]

#: Coding algorithms: scikit-learn's (same objective scaling) and ours.
ALGORITHMS = ("omp", "lasso_lars", "lasso_cd", "threshold", "batch_omp", "ormp", "fista", "bp")


def _n_threads(n_jobs):
    """scikit-learn's ``n_jobs`` as a thread count for the Rust side (0: all of rayon's)."""
    if n_jobs is None or n_jobs < 0:
        return 0
    return int(n_jobs)


def _as_float64(a):
    """``a`` as float64 without copying float64 arrays of any order (float32 is converted)."""
    a = np.asarray(a)
    if a.dtype != np.float64:
        a = a.astype(np.float64)
    return a


def sparse_encode(
    X,
    dictionary,
    *,
    algorithm="omp",
    n_nonzero_coefs=None,
    alpha=None,
    max_iter=1000,
    n_jobs=None,
    positive=False,
    sparse=False,
):
    """Sparse codes of the rows of ``X`` over the rows of ``dictionary``.

    The signature and the objective scaling follow
    :func:`sklearn.decomposition.sparse_encode`: ``lasso_lars`` / ``lasso_cd`` / ``fista``
    minimise ``1/2 ||x - D^T c||^2 + alpha ||c||_1`` per sample; ``threshold`` soft-thresholds
    the correlations at ``alpha``; ``omp`` / ``batch_omp`` / ``ormp`` select
    ``n_nonzero_coefs`` atoms (default ``max(n_features // 10, 1)``); ``bp`` solves Basis
    Pursuit ``min ||c||_1`` s.t. ``D^T c = x``. ``alpha`` may be an array with one penalty per
    sample.

    The atoms are normalised to unit length for coding (as the pursuits assume) and the codes
    are returned for the given atoms, so that ``code @ dictionary`` reconstructs ``X``. The
    Lasso-type algorithms need unit-norm atoms (a rescaled atom changes the problem) and
    refuse others with a ``ValueError``.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        The signals, float64 (viewed without a copy in C or Fortran order) or float32.
    dictionary : array-like of shape (n_components, n_features)
        The atoms, one per row.
    algorithm : str, default="omp"
        One of :data:`ALGORITHMS`.
    n_nonzero_coefs : int, default=None
        Atoms per signal for the greedy pursuits.
    alpha : float or array-like of shape (n_samples,), default=None
        Penalty (``1.0`` when None).
    max_iter : int, default=1000
        Iteration cap of the iterative solvers.
    n_jobs : int, default=None
        Threads (None or -1: all cores).
    positive : bool, default=False
        Non-negative codes (Lasso-type and thresholding).
    sparse : bool, default=False
        Return a ``scipy.sparse.csr_matrix``, built from the non-zeros in the Rust core without
        a dense array (for the greedy pursuits, whose codes have few non-zeros).

    Returns
    -------
    code : ndarray or csr_matrix of shape (n_samples, n_components)
        float32 for float32 input, float64 otherwise.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"invalid parameter `algorithm` = {algorithm!r}: expected one of {', '.join(ALGORITHMS)}"
        )
    out_dtype = np.float32 if np.asarray(X).dtype == np.float32 else np.float64
    X = _as_float64(check_array(X, dtype=[np.float64, np.float32], order=None))
    D = _as_float64(check_array(dictionary, dtype=[np.float64, np.float32]))
    if X.shape[1] != D.shape[1]:
        raise ValueError(
            "Dictionary and X have different numbers of features: "
            f"dictionary.shape: {D.shape} X.shape: {X.shape}"
        )
    norms = np.sqrt(np.einsum("ij,ij->i", D, D))
    if np.any(norms == 0):
        raise ValueError(f"atom {int(np.argmin(norms))} of `dictionary` has zero norm")
    lasso_like = algorithm in ("lasso_lars", "lasso_cd", "fista", "threshold")
    if lasso_like and not np.allclose(norms, 1.0, rtol=1e-6, atol=0):
        raise ValueError(
            f"`{algorithm}` needs unit-norm atoms (rows of `dictionary`); "
            "normalise them (the codes of the normalised atoms are the codes scaled by the norms)"
        )
    per_sample = None
    scalar_alpha = 1.0
    if alpha is not None:
        if np.ndim(alpha) == 0:
            scalar_alpha = float(alpha)
        else:
            per_sample = _as_float64(np.ascontiguousarray(alpha, dtype=np.float64).ravel())
    if n_nonzero_coefs is not None:
        if not isinstance(n_nonzero_coefs, numbers.Integral) or n_nonzero_coefs < 1:
            raise ValueError(
                f"invalid parameter `n_nonzero_coefs` = {n_nonzero_coefs!r}: expected a positive integer"
            )
        n_nonzero_coefs = int(min(n_nonzero_coefs, D.shape[0]))
    if X.shape[0] == 0:
        empty = np.zeros((0, D.shape[0]), dtype=out_dtype)
        return scipy.sparse.csr_matrix(empty) if sparse else empty
    code = _core.sparse_encode(
        X,
        D,
        algorithm,
        n_nonzero_coefs=n_nonzero_coefs,
        alpha=scalar_alpha,
        alpha_per_sample=per_sample,
        max_iter=int(max_iter),
        positive=bool(positive),
        n_threads=_n_threads(n_jobs),
        sparse_output=bool(sparse),
    )
    if sparse:
        data, indices, indptr = code
        return scipy.sparse.csr_matrix(
            (data.astype(out_dtype, copy=False), indices, indptr), shape=(X.shape[0], D.shape[0])
        )
    return code.astype(out_dtype, copy=False)


class _BaseSparseCoding(TransformerMixin):
    """The coding side shared by :class:`SparseCoder` and :class:`DictionaryLearning`."""

    def _encode(self, X, dictionary, sparse=False):
        code = sparse_encode(
            X,
            dictionary,
            algorithm=self.transform_algorithm,
            n_nonzero_coefs=self.transform_n_nonzero_coefs,
            alpha=self.transform_alpha,
            max_iter=self.transform_max_iter,
            n_jobs=self.n_jobs,
            positive=self.positive_code,
            sparse=sparse,
        )
        if self.split_sign:
            if sparse:
                return scipy.sparse.hstack([code.maximum(0), -code.minimum(0)], format="csr")
            code = np.hstack([np.maximum(code, 0), -np.minimum(code, 0)])
        return code

    def _decode(self, code, dictionary):
        code = check_array(code)
        expected = dictionary.shape[0] * (2 if self.split_sign else 1)
        if code.shape[1] != expected:
            raise ValueError(
                "The number of components in the code is different from the number of "
                f"components in the dictionary. Expected {expected}, got {code.shape[1]}."
            )
        if self.split_sign:
            half = code.shape[1] // 2
            code = code[:, :half] - code[:, half:]
        return code @ dictionary


class SparseCoder(_BaseSparseCoding, BaseEstimator):
    """Sparse coding over a fixed dictionary: :class:`sklearn.decomposition.SparseCoder` with
    the pursuits of the Rust crates (change the import, keep the code).

    Parameters
    ----------
    dictionary : ndarray of shape (n_components, n_features)
        The atoms, one per row.
    transform_algorithm : str, default="omp"
        One of :data:`ALGORITHMS` (see :func:`sparse_encode`).
    transform_n_nonzero_coefs : int, default=None
        Atoms per signal for the greedy pursuits (default ``max(n_features // 10, 1)``).
    transform_alpha : float or array of shape (n_samples,), default=None
        Penalty of the Lasso-type algorithms, threshold of ``threshold`` (``1.0`` when None).
    split_sign : bool, default=False
        Return ``[max(code, 0), -min(code, 0)]``.
    n_jobs : int, default=None
        Threads (None or -1: all cores).
    positive_code : bool, default=False
        Non-negative codes.
    transform_max_iter : int, default=1000
        Iteration cap of the iterative solvers.

    Attributes
    ----------
    n_components_ : int
        Number of atoms.
    n_features_in_ : int
        Number of features seen by ``fit``.
    """

    def __init__(
        self,
        dictionary,
        *,
        transform_algorithm="omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        split_sign=False,
        n_jobs=None,
        positive_code=False,
        transform_max_iter=1000,
    ):
        self.dictionary = dictionary
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.split_sign = split_sign
        self.n_jobs = n_jobs
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter

    def fit(self, X, y=None):
        """Validate ``X`` against the dictionary (nothing is learned); returns ``self``."""
        X = validate_data(self, X)
        D = np.asarray(self.dictionary)
        self.n_components_ = D.shape[0]
        if X.shape[1] != D.shape[1]:
            raise ValueError(
                "Dictionary and X have different numbers of features: "
                f"dictionary.shape: {D.shape} X.shape: {X.shape}"
            )
        return self

    def transform(self, X, y=None):
        """The codes of ``X``, of shape ``(n_samples, n_components)``."""
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._encode(X, np.asarray(self.dictionary))

    def _transform_sparse(self, X):
        """``transform`` as a ``scipy.sparse.csr_matrix`` (``sparseland.dask``'s sparse chunks)."""
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._encode(X, np.asarray(self.dictionary), sparse=True)

    def inverse_transform(self, X):
        """Signals ``code @ dictionary`` from codes ``X``."""
        return self._decode(X, np.asarray(self.dictionary))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return np.asarray(self.dictionary).shape[0]


class DictionaryLearning(_BaseSparseCoding, BaseEstimator):
    """Dictionary learning by K-SVD (Aharon, Elad & Bruckstein 2006; exact or approximate atom
    updates of Rubinstein, Zibulevsky & Elad 2008), MOD (Engan, Aase & Husoy 1999) or online
    learning (Mairal, Bach, Ponce & Sapiro 2010), with Batch-OMP codes.

    Parameters
    ----------
    n_components : int, default=None
        Number of atoms (``n_features`` when None).
    algorithm : {"ksvd", "ksvd_approx", "mod", "online"}, default="ksvd"
        The learner.
    n_nonzero_coefs : int, default=None
        Atoms per training signal (default ``max(n_features // 10, 1)``).
    max_iter : int, default=10
        Iterations (epochs for ``online``).
    transform_algorithm, transform_n_nonzero_coefs, transform_alpha, split_sign,
    positive_code, transform_max_iter :
        Coding of ``transform``, as in :class:`SparseCoder`.
    n_jobs : int, default=None
        Threads (None or -1: all cores).
    dict_init : ndarray of shape (n_components, n_features), default=None
        First dictionary (default: distinct training signals drawn at random).
    random_state : int, RandomState instance or None, default=None
        Seed of every random choice.

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned unit-norm atoms.
    error_ : list of float
        Representation RMSE after every iteration.
    n_iter_ : int
        Iterations run.
    n_features_in_ : int
        Number of features seen by ``fit``.
    A_, B_ : ndarray of shape (n_components, n_components) and (n_features, n_components)
        ``partial_fit`` only (always the online learner): the sufficient statistics
        ``A = sum_i beta_i a_i a_i^T`` and ``B = sum_i beta_i x_i a_i^T`` of the codes seen so
        far (Mairal et al. 2010), with ``stats_weight_`` their total weight and ``n_steps_`` the
        number of mini-batches. They travel with the pickled estimator, and a ``partial_fit``
        after unpickling continues exactly where it stopped.
    """

    def __init__(
        self,
        n_components=None,
        *,
        algorithm="ksvd",
        n_nonzero_coefs=None,
        max_iter=10,
        transform_algorithm="batch_omp",
        transform_n_nonzero_coefs=None,
        transform_alpha=None,
        split_sign=False,
        n_jobs=None,
        positive_code=False,
        transform_max_iter=1000,
        dict_init=None,
        random_state=None,
    ):
        self.n_components = n_components
        self.algorithm = algorithm
        self.n_nonzero_coefs = n_nonzero_coefs
        self.max_iter = max_iter
        self.transform_algorithm = transform_algorithm
        self.transform_n_nonzero_coefs = transform_n_nonzero_coefs
        self.transform_alpha = transform_alpha
        self.split_sign = split_sign
        self.n_jobs = n_jobs
        self.positive_code = positive_code
        self.transform_max_iter = transform_max_iter
        self.dict_init = dict_init
        self.random_state = random_state

    def fit(self, X, y=None):
        """Learn the dictionary from the rows of ``X``; returns ``self``."""
        self.fit_transform(X)
        return self

    def fit_transform(self, X, y=None):
        """Learn the dictionary and return the codes of ``X`` over the learned atoms (by the
        ``transform`` coder, so that ``fit_transform(X)`` equals ``fit(X).transform(X)``)."""
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        out_dtype = X.dtype
        X64 = _as_float64(X)
        n_components = X.shape[1] if self.n_components is None else self.n_components
        if not isinstance(n_components, numbers.Integral) or n_components < 1:
            raise ValueError(
                f"invalid parameter `n_components` = {n_components!r}: expected a positive integer"
            )
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(
                f"invalid parameter `max_iter` = {self.max_iter!r}: expected a positive integer"
            )
        k = self.n_nonzero_coefs
        if k is not None and (not isinstance(k, numbers.Integral) or k < 1):
            raise ValueError(f"invalid parameter `n_nonzero_coefs` = {k!r}: expected a positive integer")
        init = None
        if self.dict_init is not None:
            init = _as_float64(check_array(self.dict_init))
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        atoms, _codes, rmse = _core.learn_dictionary(
            X64,
            int(n_components),
            algorithm=self.algorithm,
            n_nonzero_coefs=None if k is None else int(min(k, n_components)),
            max_iter=int(self.max_iter),
            seed=seed,
            init=init,
            n_threads=_n_threads(self.n_jobs),
        )
        self.components_ = atoms.astype(out_dtype, copy=False)
        self.error_ = list(rmse)
        self.n_iter_ = len(rmse)
        return self._encode(X, self.components_)

    def partial_fit(self, X, y=None):
        """One step of the online learner (Mairal, Bach, Ponce & Sapiro 2010) on the mini-batch
        ``X``, whatever ``algorithm`` (K-SVD and MOD have no streaming form): code it with the
        current atoms (Batch-OMP), forget, add its statistics to ``A_`` and ``B_``, update the
        atoms by block-coordinate descent. The first call starts from the atoms of an earlier
        ``fit`` if there was one, else from ``dict_init``, else draws them from ``X``; later
        calls continue from ``A_``, ``B_`` and the atoms. Returns ``self``."""
        first = not hasattr(self, "A_")
        # After fit, the stream continues from the fitted atoms (with empty statistics).
        fitted = first and hasattr(self, "components_")
        X = validate_data(self, X, reset=first and not fitted, dtype=[np.float64, np.float32])
        out_dtype = X.dtype
        n_components = X.shape[1] if self.n_components is None else self.n_components
        if not isinstance(n_components, numbers.Integral) or n_components < 1:
            raise ValueError(
                f"invalid parameter `n_components` = {n_components!r}: expected a positive integer"
            )
        k = self.n_nonzero_coefs
        if k is not None and (not isinstance(k, numbers.Integral) or k < 1):
            raise ValueError(f"invalid parameter `n_nonzero_coefs` = {k!r}: expected a positive integer")
        if first:
            state = None
            start = self.components_ if fitted else self.dict_init
            if start is not None:
                d0 = _as_float64(check_array(start))
                d0 = d0 / np.linalg.norm(d0, axis=1, keepdims=True)
                m, n = d0.shape
                state = (d0, np.zeros((m, m)), np.zeros((n, m)), 0.0, 0)
            self._seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        else:
            state = (self._atoms, self.A_, self.B_, self.stats_weight_, self.n_steps_)
        atoms, A, B, weight, steps, rmse = _core.online_partial_fit(
            _as_float64(X),
            int(n_components),
            n_nonzero_coefs=None if k is None else int(min(k, n_components)),
            seed=self._seed,
            state=state,
            n_threads=_n_threads(self.n_jobs),
        )
        # The learner's exact atoms (float64) carry the state; components_ follows the input.
        self._atoms, self.A_, self.B_ = atoms, A, B
        self.stats_weight_, self.n_steps_ = float(weight), int(steps)
        self.components_ = atoms.astype(out_dtype, copy=False)
        self.error_ = getattr(self, "error_", []) if not first else []
        self.error_.append(float(rmse))
        self.n_iter_ = self.n_steps_
        return self

    def transform(self, X):
        """The codes of ``X`` over ``components_``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._encode(X, self.components_)

    def _transform_sparse(self, X):
        """``transform`` as a ``scipy.sparse.csr_matrix`` (``sparseland.dask``'s sparse chunks)."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return self._encode(X, self.components_, sparse=True)

    def inverse_transform(self, X):
        """Signals ``code @ components_`` from codes ``X``."""
        check_is_fitted(self)
        return self._decode(X, self.components_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags

    @property
    def _n_features_out(self):
        return self.components_.shape[0]


def _image(image):
    img = _as_float64(image)
    if img.ndim != 2:
        raise ValueError(
            f"invalid parameter `image` of shape {img.shape}: expected a 2-D greyscale image (H, W)"
        )
    return img


def denoise(
    image,
    sigma,
    *,
    method="ksvd",
    dictionary=None,
    patch_size=8,
    stride=1,
    n_components=256,
    max_iter=10,
    gain=1.15,
    lmbda=None,
    max_training=25000,
    max_nonzero=None,
    random_state=None,
    n_jobs=None,
    return_dictionary=False,
):
    """The K-SVD image denoiser (Elad & Aharon, "Image denoising via sparse and redundant
    representations over learned dictionaries", IEEE TIP 2006).

    Every overlapping ``patch_size x patch_size`` patch (origins every ``stride`` pixels) is
    mean-removed and sparse-coded by Batch-OMP to the error ``gain * sigma * patch_size``, over
    a dictionary learned by K-SVD on the noisy patches from the overcomplete DCT
    (``method="ksvd"``), the DCT itself (``"dct"``) or ``dictionary`` (``"given"``); the
    patches are averaged with the noisy image weighted by ``lmbda`` (default ``30 / sigma``).

    Parameters
    ----------
    image : array of shape (H, W)
        The noisy greyscale image (pixel units, e.g. [0, 255]; ``sigma`` in the same units).
    sigma : float
        Noise standard deviation.
    dictionary : array of shape (n_components, patch_size**2), optional
        Atoms for ``method="given"``, each a patch in column-major order (``patch.T.ravel()``
        of a ``(p, p)`` patch), as ``KSVDDenoiser.components_`` stores them.
    n_components, max_iter, max_training, max_nonzero :
        Atoms (a perfect square >= ``patch_size**2``), K-SVD iterations, random training
        patches, atoms per patch (default ``patch_size**2 // 2``).
    random_state, n_jobs :
        Seed of the training subset; threads (None or -1: all cores).
    return_dictionary : bool
        Also return the atoms ``(n_components, patch_size**2)``.

    Returns
    -------
    denoised : array of shape (H, W), of the input's float dtype
    atoms : array of shape (n_components, patch_size**2), if ``return_dictionary``
    """
    den, atoms, _rmse = _denoise(
        image,
        sigma,
        method=method,
        dictionary=dictionary,
        patch_size=patch_size,
        stride=stride,
        n_components=n_components,
        max_iter=max_iter,
        gain=gain,
        lmbda=lmbda,
        max_training=max_training,
        max_nonzero=max_nonzero,
        random_state=random_state,
        n_jobs=n_jobs,
    )
    return (den, atoms) if return_dictionary else den


def _denoise(image, sigma, *, method, dictionary, patch_size, stride, n_components, max_iter,
             gain, lmbda, max_training, max_nonzero, random_state, n_jobs):
    """:func:`denoise`, also returning the atoms and the K-SVD RMSE per iteration."""
    in_dtype = np.asarray(image).dtype
    img = _image(image)
    seed = int(check_random_state(random_state).randint(np.iinfo(np.int32).max))
    d = None if dictionary is None else _as_float64(check_array(dictionary))
    den, atoms, rmse = _core.denoise_image(
        img,
        float(sigma),
        method=method,
        dictionary=d,
        patch_size=int(patch_size),
        stride=int(stride),
        n_atoms=int(n_components),
        max_iter=int(max_iter),
        gain=float(gain),
        lmbda=None if lmbda is None else float(lmbda),
        max_training=int(max_training),
        max_atoms=None if max_nonzero is None else int(max_nonzero),
        seed=seed,
        n_threads=_n_threads(n_jobs),
    )
    out_dtype = np.float32 if in_dtype == np.float32 else np.float64
    return den.astype(out_dtype, copy=False), atoms, list(rmse)


class KSVDDenoiser(TransformerMixin, BaseEstimator):
    """The K-SVD denoiser of Elad & Aharon (IEEE TIP 2006) on patches, as a scikit-learn
    transformer: the rows of ``X`` are noisy patches ``(n_patches, n_features)`` (for example
    ``sklearn.feature_extraction.image.extract_patches_2d(img, (8, 8)).reshape(n, -1)``).

    ``fit`` removes each patch's mean and learns ``n_components`` atoms by K-SVD, coding every
    patch by Batch-OMP to the residual norm ``gain * sigma * sqrt(n_features)`` with at most
    ``max_nonzero`` atoms (default ``n_features // 2``), starting from the overcomplete DCT when
    ``n_features = p^2`` and ``n_components`` is a perfect square ``>= p^2`` (else from random
    training patches). ``transform`` codes the mean-removed patches to the same error over
    ``components_`` and returns the reconstructions plus the means: the denoised patches, to be
    averaged back into an image (``reconstruct_from_patches_2d``). :func:`denoise` runs the
    whole method on an image, also weighing in the noisy image.

    Parameters
    ----------
    sigma : float, default=20.0
        Noise standard deviation (pixel units).
    n_components : int, default=256
        Atoms.
    max_iter : int, default=10
        K-SVD iterations.
    gain : float, default=1.15
        The ``C`` of the error target ``C sigma sqrt(n)``.
    max_nonzero : int, default=None
        Atoms per patch at most.
    algorithm : {"ksvd", "ksvd_approx"}, default="ksvd_approx"
        Exact or approximate K-SVD atom update.
    random_state, n_jobs :
        Seed; threads (None or -1: all cores).

    Attributes
    ----------
    components_ : ndarray of shape (n_components, n_features)
        The learned unit-norm atoms.
    error_ : list of float
        K-SVD representation RMSE per iteration.
    """

    def __init__(self, sigma=20.0, *, n_components=256, max_iter=10, gain=1.15,
                 max_nonzero=None, algorithm="ksvd_approx", random_state=None, n_jobs=None):
        self.sigma = sigma
        self.n_components = n_components
        self.max_iter = max_iter
        self.gain = gain
        self.max_nonzero = max_nonzero
        self.algorithm = algorithm
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _rule(self, n):
        if not (isinstance(self.sigma, numbers.Real) and self.sigma > 0):
            raise ValueError(f"invalid parameter `sigma` = {self.sigma!r}: expected a number > 0")
        if not (isinstance(self.gain, numbers.Real) and self.gain > 0):
            raise ValueError(f"invalid parameter `gain` = {self.gain!r}: expected a number > 0")
        k = self.max_nonzero if self.max_nonzero is not None else max(n // 2, 1)
        if not isinstance(k, numbers.Integral) or k < 1:
            raise ValueError(f"invalid parameter `max_nonzero` = {k!r}: expected a positive integer")
        return int(k), float(self.gain * self.sigma * np.sqrt(n))

    def fit(self, X, y=None):
        """Learn the atoms on the mean-removed noisy patches ``X``; returns ``self``."""
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        X64 = _as_float64(X)
        n = X.shape[1]
        m = self.n_components
        if not isinstance(m, numbers.Integral) or m < 1:
            raise ValueError(f"invalid parameter `n_components` = {m!r}: expected a positive integer")
        if not isinstance(self.max_iter, numbers.Integral) or self.max_iter < 1:
            raise ValueError(
                f"invalid parameter `max_iter` = {self.max_iter!r}: expected a positive integer"
            )
        k, eps = self._rule(n)
        p, q = int(round(np.sqrt(n))), int(round(np.sqrt(m)))
        init = _core.overcomplete_dct(p, int(m)) if (p >= 2 and p * p == n and q * q == m and m >= n) else None
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        Y = X64 - X64.mean(axis=1, keepdims=True)
        atoms, _codes, rmse = _core.learn_dictionary(
            Y,
            int(m),
            algorithm=self.algorithm,
            n_nonzero_coefs=min(k, int(m)),
            max_iter=int(self.max_iter),
            seed=seed,
            init=init,
            n_threads=_n_threads(self.n_jobs),
            eps=eps,
        )
        self.components_ = atoms.astype(X.dtype, copy=False)
        self.error_ = list(rmse)
        self.n_iter_ = len(rmse)
        return self

    def transform(self, X):
        """The denoised patches: each mean-removed patch coded to the error target over
        ``components_``, reconstructed, its mean added back."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        X64 = _as_float64(X)
        k, eps = self._rule(X.shape[1])
        means = X64.mean(axis=1, keepdims=True)
        rec = _core.code_to_error(
            np.ascontiguousarray(X64 - means),
            _as_float64(self.components_),
            min(k, self.components_.shape[0]),
            eps,
            n_threads=_n_threads(self.n_jobs),
        )
        return (rec + means).astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags


class _LearnedSolver(TransformerMixin, BaseEstimator):
    """Common part of the learned solvers: a network that unfolds ``n_layers`` iterations of a
    Lasso solver on ``dictionary``, trained by ``fit`` on the unsupervised Lasso objective
    ``1/2 ||x - code @ dictionary||^2 + alpha ||code||_1`` of the training signals (Moreau &
    Bruna, ICLR 2017), starting from the solver it unfolds; ``transform`` codes with it."""

    _kind = None

    def fit(self, X, y=None):
        """Train the network on the rows of ``X`` (from its ISTA / FISTA start); returns
        ``self``."""
        X = validate_data(self, X, dtype=[np.float64, np.float32])
        D = _as_float64(check_array(self.dictionary))
        if D.shape[1] != X.shape[1]:
            raise ValueError(
                f"shape mismatch for `X`: expected {D.shape[1]} features (the dictionary's), "
                f"got {X.shape[1]}"
            )
        for name in ("n_layers", "max_epochs", "batch_size"):
            v = getattr(self, name)
            if not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"invalid parameter `{name}` = {v!r}: expected a positive integer")
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        params, losses = _core.learned_fit(
            self._kind,
            D,
            _as_float64(X),
            int(self.n_layers),
            float(self.alpha),
            shared=bool(getattr(self, "shared", False)),
            epochs=int(self.max_epochs),
            batch_size=int(self.batch_size),
            learning_rate=float(self.learning_rate),
            seed=seed,
            n_threads=_n_threads(self.n_jobs),
        )
        self.params_ = np.asarray(params)
        self.loss_curve_ = list(losses)
        self.n_iter_ = len(losses)
        self.components_ = D
        return self

    def transform(self, X):
        """The codes ``(n_samples, n_components)`` of ``X`` by the trained network."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        codes = _core.learned_transform(
            self._kind,
            self.components_,
            list(self.params_),
            _as_float64(X),
            int(self.n_layers),
            float(self.alpha),
            shared=bool(getattr(self, "shared", False)),
            n_threads=_n_threads(self.n_jobs),
        )
        return codes.astype(X.dtype, copy=False)

    def inverse_transform(self, X):
        """Signals ``code @ components_`` from codes ``X``."""
        check_is_fitted(self)
        X = check_array(X, dtype=[np.float64, np.float32])
        return X @ self.components_.astype(X.dtype, copy=False)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.requires_fit = True
        return tags

    @property
    def _n_features_out(self):
        return np.asarray(self.dictionary).shape[0]


_LEARNED_DOC = """
    Parameters
    ----------
    dictionary : ndarray of shape (n_components, n_features)
        The atoms (rows; normalised to unit norm).
    n_layers : int, default=10
        Unfolded iterations ``T``.
    alpha : float, default=0.1
        The Lasso penalty of the training objective (``lambda``, unscaled).
    max_epochs, batch_size, learning_rate :
        Adam training: epochs over the data, mini-batch size, step size.
    random_state : int, RandomState instance or None
        Seed of the mini-batch order.
    n_jobs : int, default=None
        Threads (None or -1: all cores).

    Attributes
    ----------
    params_ : ndarray
        The trained network's flat parameter vector (see the Rust type for its layout).
    loss_curve_ : list of float
        The training objective after every epoch.
    components_ : ndarray of shape (n_components, n_features)
        The dictionary, as given.
"""


class LISTA(_LearnedSolver):
    __doc__ = (
        """LISTA, learned ISTA (Gregor & LeCun, "Learning fast approximations of sparse coding",
    ICML 2010): ``z_{t+1} = soft(W_e x + W_g z_t, theta)``, starting at ISTA (``W_e = D^T / L``,
    ``W_g = I - D^T D / L``, ``theta = alpha / L``). ``shared=True`` uses one parameter set for
    every layer (the recurrent network).
"""
        + _LEARNED_DOC
    )
    _kind = "lista"

    def __init__(self, dictionary, *, n_layers=10, alpha=0.1, shared=False, max_epochs=20,
                 batch_size=100, learning_rate=1e-3, random_state=None, n_jobs=None):
        self.dictionary = dictionary
        self.n_layers = n_layers
        self.alpha = alpha
        self.shared = shared
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.n_jobs = n_jobs


class _UnsharedLearnedSolver(_LearnedSolver):
    """The parameters of the learned solvers without shared layers."""

    def __init__(self, dictionary, *, n_layers=10, alpha=0.1, max_epochs=20, batch_size=100,
                 learning_rate=1e-3, random_state=None, n_jobs=None):
        self.dictionary = dictionary
        self.n_layers = n_layers
        self.alpha = alpha
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.random_state = random_state
        self.n_jobs = n_jobs


class LearnedFISTA(_UnsharedLearnedSolver):
    __doc__ = (
        """Learned FISTA: ``n_layers`` FISTA iterations (no restart) with learned weights,
    starting at FISTA on ``dictionary``.
"""
        + _LEARNED_DOC
    )
    _kind = "lfista"


class FacNet(_UnsharedLearnedSolver):
    __doc__ = (
        """FacNet, the factorised ISTA step of Moreau & Bruna ("Understanding trainable sparse
    coding with matrix factorization", ICLR 2017): each layer a unitary rotation ``A`` and a
    diagonal ``S`` approximating ``D^T D``, starting at ISTA.
"""
        + _LEARNED_DOC
    )
    _kind = "facnet"


class Conv:
    """A valid (no wrap-around) strided convolutional layer of a multi-layer model, in PyTorch's
    layout: ``weight`` of shape ``(maps, channels, kh, kw)`` (``torch.nn.Conv2d.weight``) on
    inputs of shape ``input_shape = (channels, H, W)``; its code has shape
    ``(maps, (H - kh) // stride + 1, (W - kw) // stride + 1)``, and ``D^T x`` is PyTorch's
    ``conv2d(x, weight, stride=stride)`` (a correlation)."""

    def __init__(self, weight, input_shape, stride=1):
        self.weight = _as_float64(weight)
        if self.weight.ndim != 4:
            raise ValueError(
                f"invalid parameter `weight` of shape {self.weight.shape}: expected "
                "(maps, channels, kh, kw)"
            )
        self.input_shape = tuple(int(v) for v in input_shape)
        if len(self.input_shape) != 3 or self.input_shape[0] != self.weight.shape[1]:
            raise ValueError(
                f"invalid parameter `input_shape` = {input_shape!r}: expected (channels, H, W) "
                f"with channels = {self.weight.shape[1]} (the weight's)"
            )
        self.stride = int(stride)
        if self.stride < 1:
            raise ValueError(f"invalid parameter `stride` = {stride!r}: expected a positive integer")

    @property
    def output_shape(self):
        maps, _, kh, kw = self.weight.shape
        _, H, W = self.input_shape
        return (maps, (H - kh) // self.stride + 1, (W - kw) // self.stride + 1)


def _ours(a, shape):
    """PyTorch-ordered arrays (n, C, H, W) (or flattened) -> the crates' order (channel after
    channel, each column-major), flattened to (n, C H W)."""
    C, H, W = shape
    return np.ascontiguousarray(a.reshape(-1, C, H, W).transpose(0, 1, 3, 2).reshape(-1, C * H * W))


def _torch(a, shape):
    """The inverse of :func:`_ours`: (n, C H W) in the crates' order -> (n, C, H, W)."""
    C, H, W = shape
    return np.ascontiguousarray(a.reshape(-1, C, W, H).transpose(0, 1, 3, 2))


class MLCSC:
    """A multi-layer convolutional sparse model ``x = D_1 G_1``, ``G_{i-1} = D_i G_i`` (Papyan,
    Romano & Elad, JMLR 2017; Sulam, Papyan, Romano & Elad, IEEE TSP 2018) from NumPy arrays,
    with its pursuits in Rust: layered thresholding (the forward pass of a CNN), layered BP,
    ML-ISTA and ML-FISTA (Sulam, Aberdam, Beck & Elad, IEEE TPAMI 2019).

    ``layers`` lists ``D_1`` first: :class:`Conv` layers (PyTorch weights), then dense layers
    as 2-D arrays ``(n_atoms, n_inputs)`` (rows are atoms, scikit-learn's ``components_``
    layout). A dense layer after a convolutional one indexes the previous code flattened in
    PyTorch order ``(maps, out_h, out_w)``. Signals are ``(n_samples, C, H, W)`` (or flattened)
    for a convolutional first layer, ``(n_samples, n_features)`` otherwise; every method
    returns the list of the layers' codes, ``(n_samples, maps, out_h, out_w)`` for a
    convolutional layer and ``(n_samples, n_atoms)`` for a dense one.
    """

    def __init__(self, layers):
        self.layers = list(layers)
        if not self.layers:
            raise ValueError("invalid parameter `layers` = []: expected at least one layer")
        self._specs, self._shapes = [], []
        prev = None  # the shape of the previous code when it is convolutional
        seen_dense = False
        for i, layer in enumerate(self.layers, start=1):
            if isinstance(layer, Conv):
                if seen_dense:
                    raise ValueError(
                        f"invalid parameter `layers`: convolutional layer {i} after a dense one "
                        "(convolutional layers come first, as in a CNN)"
                    )
                if prev is not None and tuple(prev) != layer.input_shape:
                    raise ValueError(
                        f"shape mismatch for layer {i}: input_shape {layer.input_shape}, but "
                        f"layer {i - 1} codes have shape {tuple(prev)}"
                    )
                maps, C, kh, kw = layer.weight.shape
                F = np.ascontiguousarray(layer.weight.transpose(0, 1, 3, 2).reshape(maps, -1))
                _, H, W = layer.input_shape
                self._specs.append(("valid", F, (C, H, W, kh, kw, layer.stride)))
                prev = layer.output_shape
                self._shapes.append(prev)
            else:
                D = _as_float64(check_array(layer))
                if prev is not None and not seen_dense:
                    maps, oh, ow = prev
                    if D.shape[1] != maps * oh * ow:
                        raise ValueError(
                            f"shape mismatch for layer {i}: {D.shape[1]} inputs, but layer "
                            f"{i - 1} codes have {maps * oh * ow} entries"
                        )
                    perm = np.arange(maps * oh * ow).reshape(maps, oh, ow).transpose(0, 2, 1).ravel()
                    D = D[:, perm]
                seen_dense = True
                self._specs.append(("dense", np.ascontiguousarray(D), None))
                self._shapes.append(None)

    def _signals(self, X):
        first = self.layers[0]
        X = _as_float64(X)
        if isinstance(first, Conv):
            C, H, W = first.input_shape
            if X.size % (C * H * W) or X.ndim not in (2, 3, 4):
                raise ValueError(
                    f"invalid parameter `X` of shape {X.shape}: expected (n_samples, {C}, {H}, {W})"
                )
            return _ours(X, first.input_shape)
        return check_array(X)

    def _run(self, X, method, params, max_iter=100):
        codes, objective = _core.mlcsc_pursuit(
            self._specs, self._signals(X), method, [float(p) for p in params], max_iter=int(max_iter)
        )
        self.objective_ = np.asarray(objective)
        return [c if s is None else _torch(c, s) for c, s in zip(codes, self._shapes)]

    def forward(self, X, thresholds, shrinkage="relu"):
        """Layered thresholding, ``G_i = shrink(D_i^T G_{i-1}, thresholds[i-1])``: with ``relu``
        the forward pass of a CNN with biases ``-thresholds`` (Papyan, Romano & Elad 2017);
        ``soft`` or ``hard`` the other shrinkages."""
        if shrinkage not in ("relu", "soft", "hard"):
            raise ValueError(
                f"invalid parameter `shrinkage` = {shrinkage!r}: expected relu, soft or hard"
            )
        return self._run(X, shrinkage, thresholds)

    def layered_bp(self, X, lambdas):
        """Layered basis pursuit: one Lasso per layer, penalties ``lambdas``."""
        return self._run(X, "layered_bp", lambdas)

    def ml_ista(self, X, lambdas, max_iter=100):
        """ML-ISTA on the multi-layer BP objective (penalties ``lambdas``), ``max_iter``
        iterations; ``objective_`` holds each signal's final objective."""
        return self._run(X, "ml_ista", lambdas, max_iter)

    def ml_fista(self, X, lambdas, max_iter=100):
        """ML-FISTA (the accelerated ML-ISTA), as :meth:`ml_ista`."""
        return self._run(X, "ml_fista", lambdas, max_iter)
