"""Online convolutional dictionary learning with SPORCO's interface
(``sporco.dictlrn.onlinecdl``).

A SPORCO user changes one import::

    import sparseland.onlinecdl as onlinecdl  # was: from sporco.dictlrn import onlinecdl
    opt = onlinecdl.OnlineConvBPDNDictLearn.Options({"eta_a": 10.0, "eta_b": 20.0})
    d = onlinecdl.OnlineConvBPDNDictLearn(D0, lmbda, opt)
    for img in images:
        d.solve(img)
    D = d.getdict()

The method is SPORCO's (Liu, Garcia-Cardona, Wohlberg & Yin 2018, "First- and second-order
methods for online convolutional dictionary learning", SIAM J. Imaging Sci.): every ``solve``
codes one image by CBPDN over the current filters and takes one projected stochastic-gradient
step ``eta = eta_a / (j + eta_b)`` on them (crop to the support, unit norm), in Rust
(``csc::OnlineConvDictLearn``) with the GIL released. Memory does not grow with the number of
images seen.

Layouts: ``D0`` of shape ``(h, w, M)`` or ``(h, w, C, M)``; each image ``S`` of shape ``(H, W)``
or ``(H, W, C)`` (one image per call: SPORCO's ``dimK = 0``); ``getdict()`` returns the filters
in the shape of ``D0``. ``getitstat()`` has SPORCO's fields (``ObjFun``, ``DFid``, ``RegL1``,
``PrimalRsdl``, ``DualRsdl``, ``Rho`` of the coding step's last iteration; ``Cnstr``, ``DeltaD``,
``Eta`` of the dictionary step). ``CBPDN`` takes ``MaxMainIter``, ``RelStopTol``, ``rho``,
``RelaxParam`` and ``AutoRho``; display options are accepted without effect; ``DataType``
``np.float32`` codes and takes the gradient step in float32 (the filters are kept in float64 and
returned as float32); ``CUDA_CBPDN`` and ``DictSize`` other than their defaults raise
``NotImplementedError``.
"""

import collections

import numpy as np

from . import _core
from ._options import SporcoOptions

__all__ = ["OnlineConvBPDNDictLearn", "IterationStats"]

#: One record per ``solve`` call, with SPORCO's field names.
IterationStats = collections.namedtuple(
    "IterationStats",
    ["Iter", "ObjFun", "DFid", "RegL1", "PrimalRsdl", "DualRsdl", "Rho", "Cnstr", "DeltaD",
     "Eta"],
)

_DEFAULTS = {
    "Verbose": False,
    "StatusHeader": True,
    "IterTimer": "solve",
    "DictSize": None,
    "DataType": None,
    "ZeroMean": False,
    "eta_a": 10.0,
    "eta_b": 5.0,
    "CUDA_CBPDN": False,
    "CBPDN": {
        "MaxMainIter": 100,
        "RelStopTol": 1e-3,
        "rho": None,
        "RelaxParam": 1.8,
        "AutoRho": {
            "Enabled": True,
            "Period": 10,
            "Scaling": 2.0,
            "RsdlRatio": 10.0,
            "RsdlTarget": 1.0,
            "AutoScaling": False,
            "StdResiduals": False,
        },
    },
}


class _Options(SporcoOptions):
    """SPORCO-style options; unknown keys are a ``ValueError`` naming the key."""

    _name = "OnlineConvBPDNDictLearn"
    _defaults = _DEFAULTS
    _ignored = ("Verbose", "StatusHeader", "IterTimer", "FastSolve", "HighMemSolve",
                "LinSolveCheck")

    def __setitem__(self, key, value):
        if key == "CBPDN":
            # Nested AutoRho merges into its own defaults.
            merged = dict(_DEFAULTS["CBPDN"])
            merged["AutoRho"] = dict(_DEFAULTS["CBPDN"]["AutoRho"])
            for k, v in dict(value).items():
                if k in self._ignored:
                    continue
                if k not in merged:
                    raise ValueError(f"unknown {self._name} option 'CBPDN' / {k!r}")
                if k == "AutoRho":
                    for kk, vv in dict(v).items():
                        if kk not in merged["AutoRho"]:
                            raise ValueError(
                                f"unknown {self._name} option 'CBPDN' / 'AutoRho' / {kk!r}")
                        merged["AutoRho"][kk] = vv
                else:
                    merged[k] = v
            dict.__setitem__(self, key, merged)
        else:
            super().__setitem__(key, value)


class OnlineConvBPDNDictLearn:
    """Online convolutional dictionary learning (SPORCO's
    ``onlinecdl.OnlineConvBPDNDictLearn``).

    Parameters
    ----------
    D0 : array of shape (h, w, M) or (h, w, C, M)
        Initial filters (any non-zero norms; they are projected: unit norm, zero mean with
        ``ZeroMean``).
    lmbda : float
        The l1 penalty of the codes.
    opt : OnlineConvBPDNDictLearn.Options or dict, optional
        See the module docstring.
    dimK, dimN : optional
        SPORCO's axis arguments: one image per call (``dimK`` in ``None, 0``), ``dimN = 2``.
    """

    Options = _Options

    def __init__(self, D0, lmbda=None, opt=None, dimK=None, dimN=2):
        if dimN != 2:
            raise NotImplementedError("OnlineConvBPDNDictLearn: only dimN = 2 is supported")
        if dimK not in (None, 0):
            raise NotImplementedError(
                "OnlineConvBPDNDictLearn: one image per solve call (dimK = 0 or None)")
        self.opt = opt if isinstance(opt, self.Options) else self.Options(opt)
        for k, ok in (("CUDA_CBPDN", False), ("DictSize", None)):
            if not (self.opt[k] is ok or self.opt[k] == ok):
                raise NotImplementedError(f"OnlineConvBPDNDictLearn option {k!r} is not supported")
        dt = self.opt["DataType"]
        self.dtype = np.dtype(np.float64 if dt is None else dt)
        if self.dtype not in (np.float32, np.float64):
            raise NotImplementedError(
                f"OnlineConvBPDNDictLearn option 'DataType' = {dt!r}: float32 or float64")
        if self.opt["CBPDN"]["AutoRho"]["StdResiduals"]:
            raise NotImplementedError("option 'CBPDN' / 'AutoRho' / 'StdResiduals' = True")
        if lmbda is None:
            raise ValueError("invalid parameter `lmbda`: expected a number >= 0, got None")
        self.lmbda = float(lmbda)
        D = np.array(D0, dtype=np.float64)
        if D.ndim not in (3, 4):
            raise ValueError(
                f"invalid parameter `D0` of shape {D.shape}: expected (h, w, M) or (h, w, C, M)")
        if self.opt["ZeroMean"]:
            D = D - D.mean(axis=(0, 1), keepdims=True)
        axes = (0, 1) if D.ndim == 3 else (0, 1, 2)
        nrm = np.sqrt((D ** 2).sum(axis=axes, keepdims=True))
        if np.any(nrm == 0) or not np.all(np.isfinite(D)):
            raise ValueError("invalid parameter `D0`: expected finite, non-zero filters")
        self.D = D / nrm
        self.j = 0
        self.itstat = []
        self.converged = None

    def solve(self, S, dimK=None):
        """Codes the image ``S`` and updates the filters; returns them (see ``getdict``)."""
        if dimK not in (None, 0):
            raise NotImplementedError("OnlineConvBPDNDictLearn.solve: one image (dimK = 0)")
        o = self.opt
        cb = o["CBPDN"]
        ar = cb["AutoRho"]
        D, records, converged, eta, cnstr, dltd = _core.conv_online_step(
            self.D,
            np.asarray(S, dtype=np.float64),
            self.lmbda,
            self.j,
            single=bool(self.dtype == np.float32),
            eta_a=float(o["eta_a"]),
            eta_b=float(o["eta_b"]),
            zero_mean=bool(o["ZeroMean"]),
            max_iter=int(cb["MaxMainIter"]),
            rel_stop_tol=float(cb["RelStopTol"]),
            rho=None if cb["rho"] is None else float(cb["rho"]),
            relax=float(cb["RelaxParam"]),
            auto_rho=(
                bool(ar["Enabled"]),
                int(ar["Period"]),
                float(ar["Scaling"]),
                float(ar["RsdlRatio"]),
                None if ar["RsdlTarget"] is None else float(ar["RsdlTarget"]),
                bool(ar["AutoScaling"]),
            ),
        )
        f, dfid, pen, r, s, rho = records[-1] if records else (0.0,) * 6
        regl1 = pen / self.lmbda if self.lmbda else float("nan")
        self.itstat.append(
            IterationStats(self.j, f, dfid, regl1, r, s, rho, cnstr, dltd, eta))
        self.converged = bool(converged)
        self.D = D
        self.j += 1
        return self.getdict()

    def getdict(self):
        """The current filters (the shape of ``D0``, unit norm; in ``DataType``)."""
        return self.D.astype(self.dtype, copy=False)

    def getitstat(self):
        """The records as a named tuple of lists (SPORCO's ``getitstat``)."""
        return IterationStats(*[list(v) for v in zip(*self.itstat)]) if self.itstat else \
            IterationStats(*[[] for _ in IterationStats._fields])
