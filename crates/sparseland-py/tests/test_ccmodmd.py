"""The masked constrained-MOD dictionary update (``_core.conv_ccmod_masked``,
``csc::MaskedCcmod``) against SPORCO's ``ccmodmd.ConvCnstrMODMaskDcpl`` (ISM solver): the same
iterates (filters, DFid, Cnstr, residuals, rho at every iteration)."""

import numpy as np
import pytest

from sparseland import _core
from sporco.admm import ccmodmd


def problem(seed=0, H=16, W=14, K=3, M=4, per_image_mask=True):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(H, W, K, M)) * (rng.random((H, W, K, M)) < 0.1)
    S = rng.normal(size=(H, W, K))
    shape = (H, W, K) if per_image_mask else (H, W)
    Wm = (rng.random(shape) > 0.4).astype(float)
    return Z, S, Wm


def sporco(Z, S, Wm, dsz, opt):
    o = ccmodmd.ConvCnstrMODMaskDcplOptions(dict(opt, Verbose=False), method="ism")
    Wsp = Wm if Wm.ndim == 3 else Wm[:, :, None]
    c = ccmodmd.ConvCnstrMODMaskDcpl(Z[:, :, None], S, Wsp, dsz, o, dimK=1, dimN=2,
                                     method="ism")
    c.solve()
    return c.getdict().squeeze(), c.getitstat()


@pytest.mark.parametrize("opt,kw", [
    ({"MaxMainIter": 40, "RelStopTol": 1e-12}, {}),
    ({"MaxMainIter": 40, "RelStopTol": 1e-12, "rho": 3.0, "RelaxParam": 1.0}, {"rho": 3.0,
                                                                               "relax": 1.0}),
    ({"MaxMainIter": 40, "RelStopTol": 1e-12, "ZeroMean": True,
      "AutoRho": {"Enabled": True}}, {"zero_mean": True,
                                      "auto_rho": (True, 10, 2.0, 10.0, None, False)}),
])
@pytest.mark.parametrize("per_image_mask", [True, False])
def test_iterates_equal_sporcos(opt, kw, per_image_mask):
    Z, S, Wm = problem(per_image_mask=per_image_mask)
    M = Z.shape[-1]
    D, records, converged = _core.conv_ccmod_masked(
        Z, S, Wm, (4, 4), max_iter=opt["MaxMainIter"], rel_stop_tol=opt["RelStopTol"], **kw)
    Dsp, st = sporco(Z, S, Wm, (4, 4, M), opt)
    assert not converged and len(records) == 40
    assert np.allclose(D, Dsp, rtol=0, atol=1e-10)
    rec = np.array(records)
    for col, field in enumerate(["DFid", "Cnstr", "PrimalRsdl", "DualRsdl", "Rho"]):
        assert np.allclose(rec[:, col], np.array(getattr(st, field)), rtol=1e-8, atol=1e-12), field
    # The filters are feasible: unit norm on their support.
    assert np.allclose(np.sqrt((D ** 2).sum(axis=(0, 1))), 1.0)


def planted(seed=3, H=16, W=14, K=4, M=4):
    """Images made of planted unit filters with sparse codes, 60% of the samples observed."""
    rng = np.random.default_rng(seed)
    Dt = rng.normal(size=(4, 4, M))
    Dt /= np.sqrt((Dt ** 2).sum(axis=(0, 1)))
    Z = rng.normal(size=(H, W, K, M)) * (rng.random((H, W, K, M)) < 0.1)
    Df = np.fft.rfft2(Dt, s=(H, W), axes=(0, 1))
    S = np.fft.irfft2((np.fft.rfft2(Z, axes=(0, 1)) * Df[:, :, None, :]).sum(-1), s=(H, W),
                      axes=(0, 1))
    Wm = (rng.random((H, W, K)) > 0.4).astype(float)
    return Dt, Z, S, Wm


def test_the_planted_filters_are_recovered_from_the_observed_samples():
    """The planted filters are the minimiser (zero masked misfit); they are found from zero,
    whatever the masked-out samples hold, and a start at them stays there."""
    Dt, Z, S, Wm = planted()
    D, records, _ = _core.conv_ccmod_masked(Z, S, Wm, (4, 4), max_iter=2000, rel_stop_tol=1e-7)
    assert np.abs(D - Dt).max() < 1e-8
    assert records[-1][0] < 1e-12  # DFid
    S_bad = np.where(Wm == 0, 100.0, S)
    D, _, _ = _core.conv_ccmod_masked(Z, S_bad, Wm, (4, 4), max_iter=2000, rel_stop_tol=1e-7)
    assert np.abs(D - Dt).max() < 1e-6
    D, _, _ = _core.conv_ccmod_masked(Z, S, Wm, (4, 4), d0=Dt, max_iter=50)
    assert np.abs(D - Dt).max() < 1e-8


def test_bad_shapes_name_the_argument():
    Z, S, Wm = problem()
    with pytest.raises(ValueError, match="`W`"):
        _core.conv_ccmod_masked(Z, S, Wm[:5], (4, 4))
    with pytest.raises(ValueError, match="`S`"):
        _core.conv_ccmod_masked(Z, S[:, :, :2], Wm, (4, 4))
    with pytest.raises(ValueError, match="rho"):
        _core.conv_ccmod_masked(Z, S, Wm, (4, 4), rho=-1.0)
