"""Convolutional basis pursuit denoising with SPORCO's interface.

A SPORCO user changes one import::

    import sparseland.cbpdn as cbpdn          # was: import sporco.admm.cbpdn as cbpdn
    opt = cbpdn.ConvBPDN.Options({"MaxMainIter": 200, "RelStopTol": 5e-3})
    b = cbpdn.ConvBPDN(D, S, lmbda, opt)
    X = b.solve()

The problem is SPORCO's ``ConvBPDN`` (Wohlberg 2016, "Efficient algorithms for convolutional
sparse representations", IEEE TIP), solved by the same ADMM with the same defaults, by the
Rust crate ``csc`` with the GIL released:

    argmin_X  1/2 || sum_m d_m * x_m - s ||_2^2 + lmbda sum_m w_m || x_m ||_1

with SPORCO's array layout: ``D`` of shape ``(h, w, M)`` (or ``(h, w, C, M)`` for a
multi-channel dictionary), ``S`` of shape ``(H, W)`` (or ``(H, W, C)``), the filters' origin at
the top-left and a circular boundary. ``solve()`` returns ``X`` of shape ``(H, W, M)`` (or
``(H, W, C, M)`` for a single-channel dictionary on a ``C``-channel image, each channel coded on
its own): SPORCO's output without its singleton axes (``X_sporco.squeeze()``; ``X[..., None,
None, :]`` restores SPORCO's ``(H, W, 1, 1, M)``).

Differences from SPORCO: the codes returned are the sparse ADMM variable (SPORCO's default,
``ReturnX = False``); options that change what is solved and that the Rust solver does not
offer (``NoBndryCross``, warm starts ``X0``/``Y0``/``U0``, ``Callback``, ``StdResiduals``,
``AuxVarObj``, ``ReturnX``) raise ``NotImplementedError`` when set to anything but their
default (``getitstat()`` records SPORCO's default functional, of the primal variable ``X``;
``converged`` and the codes returned are those of the sparse variable); display and memory
options (``Verbose``, ``StatusHeader``, ``IterTimer``,
``FastSolve``, ``LinSolveCheck``, ``HighMemSolve``) are accepted and have no effect; an
unknown option is a ``ValueError`` naming it. ``DataType = np.float32`` (or float32 ``D`` and
``S``) solves in float32, as SPORCO does, and returns float32 codes; the records are float64.
"""

import collections

import numpy as np

from . import _core
from ._options import SporcoOptions

__all__ = [
    "ConvBPDN",
    "ConvBPDNGradReg",
    "ConvBPDNJoint",
    "ConvBPDNMaskDcpl",
    "ConvElasticNet",
    "IterationStats",
]

#: One record per ADMM iteration, with SPORCO's ``getitstat()`` field names.
IterationStats = collections.namedtuple(
    "IterationStats", ["Iter", "ObjFun", "DFid", "RegL1", "PrimalRsdl", "DualRsdl", "Rho"]
)

_AUTO_RHO_DEFAULTS = {
    "Enabled": True,
    "Period": 1,
    "Scaling": 1000.0,
    "RsdlRatio": 1.2,
    "RsdlTarget": None,
    "AutoScaling": True,
    "StdResiduals": False,
}

_DEFAULTS = {
    "Verbose": False,
    "StatusHeader": True,
    "IterTimer": "solve",
    "MaxMainIter": 1000,
    "AbsStopTol": 0.0,
    "RelStopTol": 1e-3,
    "RelaxParam": 1.8,
    "rho": None,
    "AutoRho": _AUTO_RHO_DEFAULTS,
    "NonNegCoef": False,
    "NoBndryCross": False,
    "L1Weight": 1.0,
    "DataType": None,
    "FastSolve": False,
    "LinSolveCheck": False,
    "HighMemSolve": False,
    "Callback": None,
    "AuxVarObj": False,
    "ReturnX": False,
    "X0": None,
    "Y0": None,
    "U0": None,
}

#: Options that would change the computation and are not offered: value that is accepted.
_UNSUPPORTED = {
    "NoBndryCross": False,
    "Callback": None,
    "AuxVarObj": False,
    "ReturnX": False,
    "X0": None,
    "Y0": None,
    "U0": None,
}


class _Options(SporcoOptions):
    """SPORCO-style options: a dict of the defaults updated with the given entries (nested for
    ``AutoRho``); unknown keys are a ``ValueError`` naming the key."""

    _name = "ConvBPDN"
    _defaults = _DEFAULTS


class ConvBPDN:
    """Convolutional BPDN (SPORCO's ``sporco.admm.cbpdn.ConvBPDN``), solved by ADMM in Rust.

    Parameters
    ----------
    D : array of shape (h, w, M) or (h, w, C, M)
        The filters (any norms; they are not modified).
    S : array of shape (H, W) or (H, W, C)
        The image.
    lmbda : float, optional
        The l1 penalty. ``None``: SPORCO's default ``0.1 max |D^T S|``.
    opt : ConvBPDN.Options or dict, optional
        SPORCO's options (see the module docstring for the supported set).
    dimK, dimN : optional
        SPORCO's axis arguments: only one image (``dimK`` in ``None, 0``) of two spatial
        dimensions (``dimN = 2``) is supported.
    """

    Options = _Options
    _unsupported = _UNSUPPORTED

    def __init__(self, D, S, lmbda=None, opt=None, dimK=None, dimN=2):
        if dimN != 2:
            raise NotImplementedError("ConvBPDN: only dimN = 2 (images) is supported")
        if dimK not in (None, 0):
            raise NotImplementedError(
                "ConvBPDN: one image per solver (dimK = 0 or None); code a batch with one "
                "solver per image"
            )
        self.opt = opt if isinstance(opt, self.Options) else self.Options(opt)
        for k, ok in self._unsupported.items():
            v = self.opt[k]
            if not (v is ok or (isinstance(v, (bool, str)) and v == ok)):
                raise NotImplementedError(f"ConvBPDN option {k!r} = {v!r} is not supported")
        if self.opt["AutoRho"]["StdResiduals"]:
            raise NotImplementedError("ConvBPDN option 'AutoRho' / 'StdResiduals' = True")
        self.dtype = np.dtype(self.opt["DataType"] or np.result_type(D, S, np.float32))
        self.D = np.asarray(D, dtype=np.float64)
        self.S = np.asarray(S, dtype=np.float64)
        if lmbda is None:
            lmbda = 0.1 * float(np.abs(self._correlate(self.S)).max())
        self.lmbda = float(lmbda)
        self.mu = 0.0
        self.X = None
        self.itstat = []
        self.converged = None

    def _correlate(self, S):
        """``D^T S``: the circular cross-correlation of ``S`` with every filter."""
        H, W = S.shape[:2]
        D = self.D if self.D.ndim == 4 else self.D[:, :, None, :]
        S3 = S if S.ndim == 3 else S[:, :, None]
        Df = np.fft.rfft2(D, s=(H, W), axes=(0, 1))
        Sf = np.fft.rfft2(S3, axes=(0, 1))
        if D.shape[2] == 1:
            prod = np.conj(Df) * Sf[:, :, :, None]
        else:
            prod = (np.conj(Df) * Sf[:, :, :, None]).sum(axis=2, keepdims=True)
        return np.fft.irfft2(prod, s=(H, W), axes=(0, 1))

    def solve(self):
        """Runs ADMM from zero codes; returns ``X`` (see the module docstring for its shape)."""
        o = self.opt
        ar = o["AutoRho"]
        weight = o["L1Weight"]
        w = np.asarray(weight, dtype=np.float64)
        M = self.D.shape[-1]
        if w.ndim == 0:
            l1 = None if float(w) == 1.0 else [float(w)] * M
            lmbda = self.lmbda
        else:
            w = w.reshape(-1)
            if w.size != M:
                raise NotImplementedError(
                    "ConvBPDN option 'L1Weight': a scalar or one weight per filter "
                    f"({M} values) is supported, got an array of {w.size} values"
                )
            l1, lmbda = [float(v) for v in w], self.lmbda
        X, records, converged = _core.conv_bpdn(
            self.D,
            self.S,
            lmbda,
            max_iter=int(o["MaxMainIter"]),
            rel_stop_tol=float(o["RelStopTol"]),
            abs_stop_tol=float(o["AbsStopTol"]),
            rho=None if o["rho"] is None else float(o["rho"]),
            relax=float(o["RelaxParam"]),
            auto_rho=(
                bool(ar["Enabled"]),
                int(ar["Period"]),
                float(ar["Scaling"]),
                float(ar["RsdlRatio"]),
                None if ar["RsdlTarget"] is None else float(ar["RsdlTarget"]),
                bool(ar["AutoScaling"]),
            ),
            nonneg=bool(o["NonNegCoef"]),
            l1_weight=l1,
            mu=float(self.mu),
            mask=self._mask(),
            single=bool(self.dtype == np.float32),
            **self._extra(),
        )
        self.X = X.astype(self.dtype, copy=False)
        self.converged = bool(converged)
        # SPORCO's RegL1 is ||W X||_1 without lmbda (undefined here for lmbda = 0, and for the
        # elastic net, whose penalty record also holds mu/2 ||X||^2: NaN).
        self.itstat = [
            IterationStats(k, f, d, (p / lmbda) if (lmbda and not self._mixed_penalty()) else float("nan"), r,
                           s, rho)
            for k, (f, d, p, r, s, rho) in enumerate(records)
        ]
        return self.X

    def _mask(self):
        """The data-term weight handed to the solver (``None``: unweighted)."""
        return None

    def _mixed_penalty(self):
        """Whether the penalty record holds more than ``lmbda ||X||_1``."""
        return bool(self.mu)

    def _extra(self):
        """Further keyword arguments of the solver (the subclasses' terms)."""
        return {}

    def getcoef(self):
        """The codes of the last ``solve()``."""
        return self.X

    def getitstat(self):
        """SPORCO's iteration statistics: an ``IterationStats`` of per-iteration lists."""
        return IterationStats(*[list(c) for c in zip(*self.itstat)]) if self.itstat else (
            IterationStats(*[[] for _ in IterationStats._fields])
        )

    def reconstruct(self, X=None):
        """``sum_m d_m * x_m`` (circular), of the shape of ``S``."""
        X = self.X if X is None else np.asarray(X, dtype=np.float64)
        if X is None:
            raise ValueError("reconstruct: no codes (call solve() first or pass X)")
        H, W = self.S.shape[:2]
        D = self.D if self.D.ndim == 4 else self.D[:, :, None, :]
        Df = np.fft.rfft2(D, s=(H, W), axes=(0, 1))  # (., ., C, M)
        if X.ndim == 4:  # single-channel D, per-channel codes (H, W, C, M)
            Xf = np.fft.rfft2(X, axes=(0, 1))
            R = np.fft.irfft2((Df * Xf).sum(axis=3), s=(H, W), axes=(0, 1))
        else:
            Xf = np.fft.rfft2(X, axes=(0, 1))[:, :, None, :]
            R = np.fft.irfft2((Df * Xf).sum(axis=3), s=(H, W), axes=(0, 1))
        return R[:, :, 0] if self.S.ndim == 2 else R

    def getmin(self):
        """The minimiser found by the last ``solve()`` (SPORCO's ``getmin``: the codes)."""
        return self.X


class ConvElasticNet(ConvBPDN):
    """The convolutional elastic net (SPORCO's ``sporco.admm.cbpdn.ConvElasticNet``):
    ``1/2 || sum_m d_m * x_m - s ||^2 + lmbda sum_m w_m ||x_m||_1 + mu/2 sum_m ||x_m||^2``, by
    the same ADMM as :class:`ConvBPDN` with the ridge term in the x-step, as SPORCO does. The
    same layouts and options; ``getitstat().RegL1`` is NaN (the records keep the whole penalty
    in ``ObjFun - DFid``)."""

    def __init__(self, D, S, lmbda=None, mu=0.0, opt=None, dimK=None, dimN=2):
        super().__init__(D, S, lmbda, opt, dimK, dimN)
        self.mu = float(mu)


_MASK_DCPL_DEFAULTS = {
    k: v for k, v in _DEFAULTS.items() if k not in ("ReturnX", "X0")
}
_MASK_DCPL_DEFAULTS.update({
    "rho": 1.0,
    "ReturnVar": "Y1",
    "fEvalX": True,
    "gEvalY": False,
    # SPORCO's generic ADMM defaults: no adaptation.
    "AutoRho": {
        "Enabled": False,
        "Period": 10,
        "Scaling": 2.0,
        "RsdlRatio": 10.0,
        "RsdlTarget": None,
        "AutoScaling": False,
        "StdResiduals": False,
    },
})


class _MaskDcplOptions(SporcoOptions):
    """SPORCO's ``ConvBPDNMaskDcpl.Options``: those of ``ConvBPDN`` without ``ReturnX`` and
    ``X0``, with ``rho = 1``, no adaptive penalty, ``ReturnVar = 'Y1'``."""

    _name = "ConvBPDNMaskDcpl"
    _defaults = _MASK_DCPL_DEFAULTS


class ConvBPDNMaskDcpl(ConvBPDN):
    """Convolutional BPDN with a masked data term (SPORCO's
    ``sporco.admm.cbpdn.ConvBPDNMaskDcpl``, mask decoupling: Heide, Heidrich & Wetzstein 2015;
    Wohlberg 2016, "Boundary handling for convolutional sparse representations")::

        argmin_X  1/2 || W (sum_m d_m * x_m - s) ||_2^2 + lmbda sum_m w_m || x_m ||_1

    solved by ``csc::MaskedCbpdn`` with SPORCO's iterates, residuals and defaults (``rho = 1``,
    relaxation 1.8, no adaptive penalty). ``W`` is a 0/1 mask (inpainting: 0 where a pixel is
    missing; boundary handling: 0 on a padded border) or any real weight, of the shape of ``S``
    or ``(H, W)`` for every channel; ``None`` is all ones. The codes returned are ``Y1``
    (SPORCO's default ``ReturnVar``); the other values of ``ReturnVar`` are not offered."""

    Options = _MaskDcplOptions
    _unsupported = {
        "NoBndryCross": False,
        "Callback": None,
        "AuxVarObj": False,
        "ReturnVar": "Y1",
        "Y0": None,
        "U0": None,
    }

    def __init__(self, D, S, lmbda, W=None, opt=None, dimK=None, dimN=2):
        super().__init__(D, S, lmbda, opt, dimK, dimN)
        if W is None:
            self.W = None
        else:
            W = np.asarray(W, dtype=np.float64)
            if W.ndim == self.S.ndim + 1 and W.shape[-1] == 1:
                W = W[..., 0]
            self.W = W

    def _mask(self):
        # All ones for W = None: still the mask-decoupling ADMM (SPORCO's iterates), not ConvBPDN.
        return np.ones(self.S.shape[:2]) if self.W is None else self.W


_GRAD_REG_DEFAULTS = dict(_DEFAULTS, GradWeight=1.0)


class _GradRegOptions(SporcoOptions):
    """SPORCO's ``ConvBPDNGradReg.Options``: those of ``ConvBPDN`` and ``GradWeight``."""

    _name = "ConvBPDNGradReg"
    _defaults = _GRAD_REG_DEFAULTS


class ConvBPDNGradReg(ConvBPDN):
    """Convolutional BPDN with gradient regularisation of the maps (SPORCO's
    ``sporco.admm.cbpdn.ConvBPDNGradReg``)::

        argmin_X  1/2 || sum_m d_m * x_m - s ||^2 + lmbda sum_m ||x_m||_1
                  + mu/2 sum_m w_m || G x_m ||^2

    with ``G`` the circular first differences along both image axes and ``w`` the option
    ``GradWeight`` (a scalar or one weight per filter). With ``w`` non-zero only on a low-pass
    filter (an impulse, say) the low-pass component is estimated with the sparse part, instead
    of the Tikhonov pre-processing. Solved by ``csc::Cbpdn`` with ``grad_reg`` (the diagonal
    Sherman–Morrison x-step of SPORCO); the same iterates and records as SPORCO's.
    ``getitstat().RegL1`` is NaN (the penalty record holds both terms)."""

    Options = _GradRegOptions

    def __init__(self, D, S, lmbda=None, mu=0.0, opt=None, dimK=None, dimN=2):
        super().__init__(D, S, lmbda, opt, dimK, dimN)
        self.mu_grad = float(mu)

    def _mixed_penalty(self):
        return bool(self.mu_grad)

    def _extra(self):
        w = np.asarray(self.opt["GradWeight"], dtype=np.float64)
        M = self.D.shape[-1]
        if w.ndim == 0:
            weights = None if float(w) == 1.0 else [float(w)] * M
        else:
            weights = [float(v) for v in w.reshape(-1)]
        return {"grad_mu": self.mu_grad, "grad_weight": weights}


_JOINT_DEFAULTS = dict(_DEFAULTS, L21Weight=1.0)


class _JointOptions(SporcoOptions):
    """SPORCO's ``ConvBPDNJoint.Options``: those of ``ConvBPDN`` and ``L21Weight``."""

    _name = "ConvBPDNJoint"
    _defaults = _JOINT_DEFAULTS


class ConvBPDNJoint(ConvBPDN):
    """Convolutional BPDN with joint sparsity across channels (SPORCO's
    ``sporco.admm.cbpdn.ConvBPDNJoint``; Wohlberg 2016, "Convolutional sparse representation of
    color images")::

        argmin_X  1/2 sum_c || sum_m d_m * x_{c,m} - s_c ||^2 + lmbda sum_{c,m} ||x_{c,m}||_1
                  + mu sum_{m,p} || (x_{c,m}[p])_c ||_2

    for a single-channel dictionary ``D`` ``(h, w, M)`` on a multi-channel image ``S``
    ``(H, W, C)``; codes ``(H, W, C, M)``. The z-step is SPORCO's ``prox_sl1l2``. Only a
    scalar ``L21Weight`` is offered. ``getitstat().RegL1`` is NaN (the penalty record holds
    both terms)."""

    Options = _JointOptions

    def __init__(self, D, S, lmbda=None, mu=0.0, opt=None, dimK=None, dimN=2):
        super().__init__(D, S, lmbda, opt, dimK, dimN)
        w = np.asarray(self.opt["L21Weight"], dtype=np.float64)
        if w.ndim != 0:
            raise NotImplementedError("ConvBPDNJoint option 'L21Weight': only a scalar")
        self.mu_joint = float(mu) * float(w)

    def _mixed_penalty(self):
        return bool(self.mu_joint)

    def _extra(self):
        return {"joint": self.mu_joint}
