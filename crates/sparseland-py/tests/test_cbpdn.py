"""Tests of ``sparseland.cbpdn.ConvBPDN`` (SPORCO's interface): optimality conditions of the
convolutional BPDN problem, the scaling identity for filters that are not unit-norm, SPORCO's
layouts and options, and agreement with SPORCO itself (installed by ``cargo xtask test``)."""

import numpy as np
import pytest

import sparseland.cbpdn as cbpdn


def correlate(D, R):
    """``D^T R`` for single-channel ``D`` (h, w, M) and ``R`` (H, W): circular correlation."""
    H, W = R.shape
    Df = np.fft.rfft2(D, s=(H, W), axes=(0, 1))
    return np.fft.irfft2(np.conj(Df) * np.fft.rfft2(R)[:, :, None], s=(H, W), axes=(0, 1))


def assert_records_match(ours, theirs, fields, rtol=1e-8, residual_rtol=None):
    """Every iteration's record of ``fields`` in ``ours.getitstat()`` equals SPORCO's
    ``theirs`` (an ``IterationStats``) to ``rtol`` (``residual_rtol`` for the residuals)."""
    for field in fields:
        a, b = np.array(getattr(ours.getitstat(), field)), np.array(getattr(theirs, field))
        tol = residual_rtol if (residual_rtol is not None and "Rsdl" in field) else rtol
        assert np.allclose(a, b, rtol=tol, atol=0), field


@pytest.fixture
def problem():
    rng = np.random.default_rng(7)
    D = rng.normal(size=(5, 5, 6))
    D /= np.sqrt((D**2).sum(axis=(0, 1), keepdims=True))
    # An image that is a sparse combination of the filters, plus noise.
    X0 = np.zeros((24, 20, 6))
    for _ in range(12):
        X0[rng.integers(24), rng.integers(20), rng.integers(6)] = rng.normal()
    b = cbpdn.ConvBPDN(D, np.zeros((24, 20)), 1.0)
    S = b.reconstruct(X0) + 0.01 * rng.normal(size=(24, 20))
    return D, S


def converged(D, S, lmbda, **opt):
    o = {"MaxMainIter": 3000, "RelStopTol": 1e-9, "AutoRho": {"Enabled": True}}
    o.update(opt)
    b = cbpdn.ConvBPDN(D, S, lmbda, cbpdn.ConvBPDN.Options(o))
    return b, b.solve()


def test_optimality_conditions(problem):
    D, S = problem
    lmbda = 0.05
    b, X = converged(D, S, lmbda)
    assert X.shape == (24, 20, 6)
    g = correlate(D, b.reconstruct(X) - S)
    on = np.abs(X) > 1e-8
    assert on.sum() > 0
    # Subgradient: g = -lambda sign(x) on the support, |g| <= lambda off it.
    assert np.abs(g[on] + lmbda * np.sign(X[on])).max() < 1e-4
    assert np.abs(g[~on]).max() <= lmbda * (1 + 1e-4)
    # At convergence the recorded functional (of the primal variable) is that of the codes.
    fun = 0.5 * ((b.reconstruct(X) - S) ** 2).sum() + lmbda * np.abs(X).sum()
    assert abs(b.getitstat().ObjFun[-1] - fun) <= 1e-6 * fun
    assert b.converged


def test_filters_that_are_not_unit_norm(problem):
    """``c D`` at ``lambda`` solves ``D`` at ``lambda / c`` with codes divided by ``c``."""
    D, S = problem
    c = np.array([3.0, 0.5, 1.0, 2.0, 7.0, 0.25])
    _, X = converged(D * c, S, 0.05)
    # Per-filter scales: the equivalent problem has per-filter l1 weights 1 / c.
    _, Z = converged(D, S, 0.05, L1Weight=1.0 / c)
    assert np.abs(X - Z / c).max() < 1e-5 * np.abs(Z).max()


def test_layouts_and_dtypes(problem):
    D, S = problem
    b = cbpdn.ConvBPDN(D, S, 0.05, {"MaxMainIter": 20})
    X = b.solve()
    assert X.dtype == np.float64 and b.reconstruct().shape == S.shape
    # float32 data gives float32 codes, equal to the float64 ones rounded.
    X32 = cbpdn.ConvBPDN(D.astype(np.float32), S.astype(np.float32), 0.05,
                         {"MaxMainIter": 20}).solve()
    assert X32.dtype == np.float32
    assert np.abs(X32 - X).max() < 1e-4 * np.abs(X).max()
    # A single-channel dictionary on a 3-channel image codes each channel on its own (with
    # one shared rho, as SPORCO: at convergence each channel is its own solution).
    S3 = np.stack([S, 2 * S, -S], axis=2)
    X3 = cbpdn.ConvBPDN(D, S3, 0.05, {"MaxMainIter": 20}).solve()
    assert X3.shape == (24, 20, 3, 6)
    assert np.array_equal(X3[:, :, 2, :], -X3[:, :, 0, :])
    _, X3c = converged(D, S3, 0.05)
    _, X1c = converged(D, S, 0.05)
    assert np.abs(X3c[:, :, 0, :] - X1c).max() < 1e-5 * np.abs(X1c).max()
    # A multi-channel dictionary (h, w, C, M) on a C-channel image: one set of maps.
    Dc = np.stack([D, D[::-1], D[:, ::-1]], axis=2)
    bc = cbpdn.ConvBPDN(Dc, S3, 0.05, {"MaxMainIter": 20})
    Xc = bc.solve()
    assert Xc.shape == (24, 20, 6) and bc.reconstruct().shape == S3.shape
    # Fortran-ordered and strided inputs give the same codes.
    Xf = cbpdn.ConvBPDN(np.asfortranarray(D), np.asfortranarray(S), 0.05,
                        {"MaxMainIter": 20}).solve()
    assert np.array_equal(Xf, X)
    # lmbda = None is SPORCO's default, 0.1 max |D^T S|.
    assert abs(cbpdn.ConvBPDN(D, S).lmbda - 0.1 * np.abs(correlate(D, S)).max()) < 1e-12


def test_options_and_bad_input(problem):
    D, S = problem
    with pytest.raises(ValueError, match="MaxMainIters"):
        cbpdn.ConvBPDN.Options({"MaxMainIters": 10})
    with pytest.raises(ValueError, match="Periods"):
        cbpdn.ConvBPDN.Options({"AutoRho": {"Periods": 2}})
    with pytest.raises(NotImplementedError, match="AuxVarObj"):
        cbpdn.ConvBPDN(D, S, 0.1, {"AuxVarObj": True})
    with pytest.raises(NotImplementedError, match="X0"):
        cbpdn.ConvBPDN(D, S, 0.1, {"X0": np.zeros((24, 20, 6))})
    with pytest.raises(ValueError, match="lambda"):
        cbpdn.ConvBPDN(D, S, -1.0).solve()
    with pytest.raises(ValueError, match="S"):
        cbpdn.ConvBPDN(D, np.zeros(5), 0.1).solve()
    with pytest.raises(ValueError, match="D"):
        cbpdn.ConvBPDN(D[:, :, 0], S, 0.1).solve()
    bad = S.copy()
    bad[3, 3] = np.nan
    with pytest.raises(ValueError):
        cbpdn.ConvBPDN(D, bad, 0.1).solve()
    with pytest.raises(ValueError, match="channels"):
        cbpdn.ConvBPDN(np.zeros((3, 3, 2, 4)) + 1, np.zeros((8, 8, 3)), 0.1).solve()
    # Options are copied: the caller's dict and arrays are not modified.
    opt = {"MaxMainIter": 5, "AutoRho": {"Enabled": False}}
    D0, S0 = D.copy(), S.copy()
    cbpdn.ConvBPDN(D, S, 0.1, opt).solve()
    assert opt == {"MaxMainIter": 5, "AutoRho": {"Enabled": False}}
    assert np.array_equal(D, D0) and np.array_equal(S, S0)


def test_agrees_with_sporco(problem):
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    D, S = problem
    opt = {"Verbose": False, "MaxMainIter": 50, "RelStopTol": 1e-12}
    ours = cbpdn.ConvBPDN(D, S, 0.05, cbpdn.ConvBPDN.Options(opt))
    X = ours.solve()
    theirs = sporco_cbpdn.ConvBPDN(D, S, 0.05, sporco_cbpdn.ConvBPDN.Options(opt))
    Xs = theirs.solve().squeeze()
    assert Xs.shape == X.shape
    # Same ADMM, same defaults, same iterate count: the same codes up to rounding.
    assert np.abs(X - Xs).max() <= 1e-8 * np.abs(Xs).max()
    st = theirs.getitstat()
    assert ours.getitstat().Iter == list(st.Iter) == list(range(50))
    # Every iteration's record, as SPORCO's getitstat() reports it.
    assert_records_match(ours, st,
                         ("ObjFun", "DFid", "RegL1", "PrimalRsdl", "DualRsdl", "Rho"))


def test_float32_agrees_with_sporco_float32(problem):
    """``DataType = float32`` solves in float32 on both sides: the codes agree to float32
    precision, with each other and with the float64 solution; so do the functionals (ours in
    float32 within 2e-6 of float64, SPORCO's float32 record, summed in float32, within 1e-5)."""
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    D, S = problem
    opt = {"Verbose": False, "MaxMainIter": 50, "RelStopTol": 1e-12, "DataType": np.float32}
    ours = cbpdn.ConvBPDN(D, S, 0.05, cbpdn.ConvBPDN.Options(opt))
    X = ours.solve()
    assert X.dtype == np.float32
    D32, S32 = D.astype(np.float32), S.astype(np.float32)
    theirs = sporco_cbpdn.ConvBPDN(D32, S32, 0.05, sporco_cbpdn.ConvBPDN.Options(opt))
    Xs = theirs.solve().squeeze()
    assert Xs.dtype == np.float32
    scale = np.abs(Xs).max()
    assert np.abs(X - Xs).max() <= 1e-4 * scale
    o64 = cbpdn.ConvBPDN(D, S, 0.05, {**opt, "DataType": None})
    X64 = o64.solve()
    assert np.abs(X - X64).max() <= 1e-4 * np.abs(X64).max()
    fa, fb = ours.getitstat().ObjFun[-1], theirs.getitstat().ObjFun[-1]
    f64 = o64.getitstat().ObjFun[-1]
    assert abs(fa - f64) <= 2e-6 * f64
    assert abs(fa - fb) <= 1e-5 * abs(fb)


def test_elastic_net_agrees_with_sporco(problem):
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    D, S = problem
    opt = {"Verbose": False, "MaxMainIter": 50, "RelStopTol": 1e-12}
    ours = cbpdn.ConvElasticNet(D, S, 0.05, 0.2, cbpdn.ConvBPDN.Options(opt))
    X = ours.solve()
    theirs = sporco_cbpdn.ConvElasticNet(D, S, 0.05, 0.2,
                                         sporco_cbpdn.ConvElasticNet.Options(opt))
    Xs = theirs.solve().squeeze()
    assert np.abs(X - Xs).max() <= 1e-8 * np.abs(Xs).max()
    st = theirs.getitstat()
    assert_records_match(ours, st, ("ObjFun", "DFid", "PrimalRsdl", "DualRsdl", "Rho"))
    # mu = 0 is ConvBPDN.
    assert np.array_equal(cbpdn.ConvElasticNet(D, S, 0.05, 0.0, opt).solve(),
                          cbpdn.ConvBPDN(D, S, 0.05, opt).solve())


def _mask(shape, seed=3, missing=0.5):
    return (np.random.default_rng(seed).random(shape) >= missing).astype(np.float64)


@pytest.mark.parametrize("auto_rho", [False, True])
def test_mask_dcpl_agrees_with_sporco(problem, auto_rho):
    """SPORCO's ``ConvBPDNMaskDcpl``: the same codes and the same record of every iteration
    (50 iterations, half the pixels masked), with SPORCO's defaults and with its adaptive
    penalty."""
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    D, S = problem
    W = _mask(S.shape)
    opt = {"Verbose": False, "MaxMainIter": 50, "RelStopTol": 1e-12}
    if auto_rho:
        opt["AutoRho"] = {"Enabled": True, "Period": 5, "AutoScaling": True}
    ours = cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, W, cbpdn.ConvBPDNMaskDcpl.Options(opt))
    X = ours.solve()
    theirs = sporco_cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, W,
                                           sporco_cbpdn.ConvBPDNMaskDcpl.Options(opt))
    Xs = theirs.solve().squeeze()
    assert np.abs(X - Xs).max() <= 1e-8 * np.abs(Xs).max()
    st = theirs.getitstat()
    assert ours.getitstat().Iter == list(st.Iter)
    assert_records_match(ours, st,
                         ("ObjFun", "DFid", "RegL1", "PrimalRsdl", "DualRsdl", "Rho"))
    if auto_rho:
        assert len(set(st.Rho)) > 1


def test_mask_dcpl_multichannel_agrees_with_sporco():
    """A single-channel dictionary on a 3-channel image with one mask per channel, and a
    multi-channel dictionary with one mask for every channel."""
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    rng = np.random.default_rng(11)
    opt = {"Verbose": False, "MaxMainIter": 30, "RelStopTol": 1e-12}
    for D, S, W in [
        (rng.normal(size=(4, 4, 5)), rng.normal(size=(16, 14, 3)), _mask((16, 14, 3), 4)),
        (rng.normal(size=(3, 4, 2, 4)), rng.normal(size=(12, 10, 2)), _mask((12, 10), 5)),
    ]:
        # Unit filters (over all their channels): then the iterates are SPORCO's.
        D /= np.sqrt((D**2).sum(axis=tuple(range(D.ndim - 1)), keepdims=True))
        ours = cbpdn.ConvBPDNMaskDcpl(D, S, 0.1, W, opt)
        X = ours.solve()
        # SPORCO reads the 3 channels of S for a single-channel D as 3 images (axis K of its
        # internal (H, W, C, K, M) layout): the masks follow.
        Wsp = W[:, :, None, None, None] if D.ndim == 4 else W[:, :, None, :, None]
        theirs = sporco_cbpdn.ConvBPDNMaskDcpl(D, S, 0.1, Wsp,
                                               sporco_cbpdn.ConvBPDNMaskDcpl.Options(opt))
        Xs = theirs.solve().squeeze()
        assert X.shape == Xs.shape
        assert np.abs(X - Xs).max() <= 1e-8 * np.abs(Xs).max()
        st = theirs.getitstat()
        assert_records_match(ours, st, ("ObjFun", "DFid", "PrimalRsdl", "DualRsdl"))


def test_mask_dcpl_checks_w(problem):
    D, S = problem
    W = _mask(S.shape, 8)
    opt = {"MaxMainIter": 40}
    # W = None is the all-ones mask.
    a = cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, None, opt).solve()
    b = cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, np.ones_like(S), opt).solve()
    assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="`W`"):
        cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, np.ones((3, 3)), opt).solve()
    with pytest.raises(ValueError, match="mask"):
        cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, np.full(S.shape, np.nan), opt).solve()
    with pytest.raises(NotImplementedError, match="ReturnVar"):
        cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, W, {"ReturnVar": "X"})
    with pytest.raises(ValueError, match="ReturnX"):
        cbpdn.ConvBPDNMaskDcpl(D, S, 0.05, W, {"ReturnX": True})


@pytest.mark.parametrize("weights", [1.0, "lowpass"])
def test_grad_reg_agrees_with_sporco(problem, weights):
    """SPORCO's ``ConvBPDNGradReg``: the same codes and records over 50 iterations, with
    ``GradWeight`` 1 and with the regularisation on one filter only (SPORCO's low-pass use)."""
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    D, S = problem
    gw = 1.0 if weights == 1.0 else np.array([1.0, 0, 0, 0, 0, 0])
    opt = {"Verbose": False, "MaxMainIter": 50, "RelStopTol": 1e-12, "GradWeight": gw}
    ours = cbpdn.ConvBPDNGradReg(D, S, 0.05, 0.5, cbpdn.ConvBPDNGradReg.Options(opt))
    X = ours.solve()
    theirs = sporco_cbpdn.ConvBPDNGradReg(D, S, 0.05, 0.5,
                                          sporco_cbpdn.ConvBPDNGradReg.Options(opt))
    Xs = theirs.solve().squeeze()
    assert np.abs(X - Xs).max() <= 1e-8 * np.abs(Xs).max()
    st = theirs.getitstat()
    # The residuals fall to 1e-9 here: differences of nearly equal iterates, good to 1e-6
    # relative at the end of the run.
    assert_records_match(ours, st, ("ObjFun", "DFid", "PrimalRsdl", "DualRsdl", "Rho"),
                         residual_rtol=1e-6)
    # mu = 0 is ConvBPDN.
    assert np.array_equal(cbpdn.ConvBPDNGradReg(D, S, 0.05, 0.0, opt).solve(),
                          cbpdn.ConvBPDN(D, S, 0.05, {"MaxMainIter": 50,
                                                       "RelStopTol": 1e-12}).solve())


def test_grad_reg_multichannel_dictionary_agrees_with_sporco():
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    rng = np.random.default_rng(12)
    D = rng.normal(size=(3, 4, 2, 4))
    D /= np.sqrt((D**2).sum(axis=(0, 1, 2), keepdims=True))
    S = rng.normal(size=(12, 10, 2))
    opt = {"Verbose": False, "MaxMainIter": 30, "RelStopTol": 1e-12}
    X = cbpdn.ConvBPDNGradReg(D, S, 0.1, 0.3, opt).solve()
    Xs = sporco_cbpdn.ConvBPDNGradReg(D, S, 0.1, 0.3,
                                      sporco_cbpdn.ConvBPDNGradReg.Options(opt)).solve().squeeze()
    assert np.abs(X - Xs).max() <= 1e-8 * np.abs(Xs).max()


def test_joint_agrees_with_sporco():
    """SPORCO's ``ConvBPDNJoint`` on a 3-channel image (``dimK = 0``: the third axis is the
    channels): the same codes and records over 50 iterations; non-unit filters solve the same
    problem (the codes' scale is divided back)."""
    sporco_cbpdn = pytest.importorskip("sporco.admm.cbpdn")
    rng = np.random.default_rng(21)
    D = rng.normal(size=(4, 4, 5))
    D /= np.sqrt((D**2).sum(axis=(0, 1), keepdims=True))
    S = rng.normal(size=(16, 14, 3))
    opt = {"Verbose": False, "MaxMainIter": 50, "RelStopTol": 1e-12}
    ours = cbpdn.ConvBPDNJoint(D, S, 0.05, 0.3, cbpdn.ConvBPDNJoint.Options(opt))
    X = ours.solve()
    theirs = sporco_cbpdn.ConvBPDNJoint(D, S, 0.05, 0.3,
                                        sporco_cbpdn.ConvBPDNJoint.Options(opt), dimK=0)
    Xs = theirs.solve().squeeze()
    assert X.shape == Xs.shape == (16, 14, 3, 5)
    assert np.abs(X - Xs).max() <= 1e-8 * np.abs(Xs).max()
    st = theirs.getitstat()
    assert_records_match(ours, st, ("ObjFun", "DFid", "PrimalRsdl", "DualRsdl", "Rho"),
                         residual_rtol=1e-6)
    # Joint sparsity: more groups entirely zero than the l1 problem alone would leave.
    groups = np.abs(X).sum(axis=2) > 0
    assert groups.sum() < (np.abs(cbpdn.ConvBPDN(D, S, 0.05, opt).solve()).sum(axis=2) > 0).sum()
    # Non-unit filters (solved as unit filters with per-filter l1 and l2,1 weights): the
    # converged minimiser is SPORCO's, which uses the filters as given.
    c = np.array([3.0, 0.5, 1.0, 2.0, 7.0])
    o2 = {"Verbose": False, "MaxMainIter": 3000, "RelStopTol": 1e-9}
    Xa = cbpdn.ConvBPDNJoint(D * c, S, 0.05, 0.3, o2).solve()
    Xb = sporco_cbpdn.ConvBPDNJoint(D * c, S, 0.05, 0.3, sporco_cbpdn.ConvBPDNJoint.Options(o2),
                                    dimK=0).solve().squeeze()
    assert np.abs(Xa - Xb).max() <= 1e-5 * np.abs(Xb).max()
