"""Convolutional dictionary learning with SPORCO's interface (``sporco.dictlrn.cbpdndl``).

A SPORCO user changes one import::

    import sparseland.cbpdndl as cbpdndl    # was: from sporco.dictlrn import cbpdndl
    opt = cbpdndl.ConvBPDNDictLearn.Options({"MaxMainIter": 200})
    d = cbpdndl.ConvBPDNDictLearn(D0, S, lmbda, opt)
    D = d.solve()

The problem is SPORCO's (Wohlberg 2016, "Efficient algorithms for convolutional sparse
representations", IEEE TIP; Garcia-Cardona & Wohlberg 2018):

    min_{D, X} sum_k 1/2 || sum_m d_m * x_{k,m} - s_k ||^2 + lmbda sum_{k,m} || x_{k,m} ||_1
    subject to  || d_m ||_2 = 1,  d_m supported on its h x w corner,

solved in Rust (``csc::ConvDictLearn``) by alternating ``CBPDN`` ADMM runs on the codes (warm
started) with constrained-MOD ADMM runs on the filters: each of the ``MaxMainIter`` outer
iterations runs ``CBPDN.MaxMainIter`` coding and ``CCMOD.MaxMainIter`` filter iterations (50
and 20 by default). This differs from SPORCO, which interleaves one step of each per outer
iteration (with one inner step each this alternation does not settle, so the defaults differ):
the iterates are not SPORCO's, and an outer iteration costs more, but at the same number of
outer iterations the functional reached is lower (see the tests).

Layouts: ``D0`` of shape ``(h, w, M)``, ``S`` of shape ``(H, W, K)`` (``K`` greyscale images,
SPORCO's ``dimK = 1``) or ``(H, W)``; ``getdict()`` returns ``(h, w, M)`` unit-norm filters,
``getcoef()`` the codes ``(H, W, K, M)`` (SPORCO's without singleton axes).
"""

import collections

import numpy as np

from . import _core
from ._options import SporcoOptions

__all__ = ["ConvBPDNDictLearn"]

IterationStats = collections.namedtuple("IterationStats", ["Iter", "ObjFun"])

_DEFAULTS = {
    "Verbose": False,
    "StatusHeader": True,
    "IterTimer": "solve",
    "MaxMainIter": 1000,
    "Callback": None,
    "AccurateDFid": False,
    "DictSize": None,
    "DataType": None,
    "CBPDN": {"MaxMainIter": 50},
    "CCMOD": {"MaxMainIter": 20, "rho": None},
}


class _Options(SporcoOptions):
    """SPORCO-style options; unknown keys (and unknown keys of ``CBPDN`` / ``CCMOD``, besides
    the display and tuning ones accepted without effect) are a ``ValueError`` naming the key."""

    _name = "ConvBPDNDictLearn"
    _defaults = _DEFAULTS
    _ignored = ("Verbose", "StatusHeader", "AutoRho", "RelaxParam", "ZeroMean")


class ConvBPDNDictLearn:
    """Convolutional dictionary learning (SPORCO's ``cbpdndl.ConvBPDNDictLearn``).

    Parameters
    ----------
    D0 : array of shape (h, w, M)
        Initial filters (any norms; they are normalised).
    S : array of shape (H, W, K) or (H, W)
        Training images.
    lmbda : float
        The l1 penalty of the codes.
    opt : ConvBPDNDictLearn.Options or dict, optional
        ``MaxMainIter`` (outer iterations), ``CBPDN.MaxMainIter``, ``CCMOD.MaxMainIter`` and
        ``CCMOD.rho`` (the filter update's penalty; default: the mean diagonal of the code
        statistics); ``DataType`` (``np.float32``: coding and filter updates in float32,
        filters and codes returned as float32; default: float32 when ``D0`` and ``S`` are);
        display options are accepted and ignored; ``Callback``, ``DictSize`` and
        ``AccurateDFid`` other than their defaults raise ``NotImplementedError``.
    xmethod, dmethod, dimK, dimN :
        SPORCO's solver and axis choices: only the defaults (ADMM, ``dimK = 1``, ``dimN = 2``).
    """

    Options = _Options

    def __init__(self, D0, S, lmbda=None, opt=None, xmethod=None, dmethod=None, dimK=1, dimN=2):
        if dimN != 2 or dimK not in (None, 1):
            raise NotImplementedError("ConvBPDNDictLearn: greyscale images (dimK = 1, dimN = 2)")
        if xmethod not in (None, "admm") or dmethod not in (None, "cns", "admm"):
            raise NotImplementedError("ConvBPDNDictLearn: ADMM coding and filter updates only")
        self.opt = opt if isinstance(opt, _Options) else _Options(opt)
        for k in ("Callback", "DictSize"):
            if self.opt[k] is not None:
                raise NotImplementedError(f"ConvBPDNDictLearn option {k!r} is not supported")
        if self.opt["AccurateDFid"]:
            raise NotImplementedError("ConvBPDNDictLearn option 'AccurateDFid' = True")
        if lmbda is None:
            raise NotImplementedError("ConvBPDNDictLearn: lmbda must be given")
        dt = self.opt["DataType"]
        self.dtype = np.dtype(dt if dt is not None else np.result_type(D0, S, np.float32))
        if self.dtype not in (np.float32, np.float64):
            raise NotImplementedError(
                f"ConvBPDNDictLearn option 'DataType' = {dt!r}: float32 or float64")
        self.D0 = np.asarray(D0, dtype=np.float64)
        self.S = np.asarray(S, dtype=np.float64)
        self.lmbda = float(lmbda)
        self.D, self.X, self.itstat = None, None, []

    def solve(self):
        """Learns the filters; returns them, ``(h, w, M)``."""
        o = self.opt
        rho = o["CCMOD"]["rho"]
        D, X, objective = _core.conv_dict_learn(
            self.D0,
            self.S,
            self.lmbda,
            iterations=int(o["MaxMainIter"]),
            coding_iter=int(o["CBPDN"]["MaxMainIter"]),
            dict_iter=int(o["CCMOD"]["MaxMainIter"]),
            sigma=None if rho is None else float(rho),
            single=bool(self.dtype == np.float32),
        )
        self.D = D.astype(self.dtype, copy=False)
        self.X = X.astype(self.dtype, copy=False)
        # objective[0] is the functional before the first filter update; then one per
        # outer iteration.
        self.itstat = [IterationStats(k, f) for k, f in enumerate(objective[1:])]
        return self.D

    def getdict(self):
        """The learned filters ``(h, w, M)``."""
        return self.D

    def getcoef(self):
        """The codes ``(H, W, K, M)`` of the training images over the learned filters."""
        return self.X

    def getitstat(self):
        """``IterationStats(Iter, ObjFun)``: the functional after every outer iteration."""
        return IterationStats(*[list(c) for c in zip(*self.itstat)]) if self.itstat else (
            IterationStats([], [])
        )

    def reconstruct(self, D=None, X=None):
        """``sum_m d_m * x_{k,m}`` for every image, ``(H, W, K)`` (circular)."""
        D = self.D if D is None else np.asarray(D, dtype=np.float64)
        X = self.X if X is None else np.asarray(X, dtype=np.float64)
        H, W = X.shape[:2]
        Df = np.fft.rfft2(D, s=(H, W), axes=(0, 1))[:, :, None, :]
        Xf = np.fft.rfft2(X, axes=(0, 1))
        return np.fft.irfft2((Df * Xf).sum(axis=3), s=(H, W), axes=(0, 1))
