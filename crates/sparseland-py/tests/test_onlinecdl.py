"""Tests of ``sparseland.onlinecdl.OnlineConvBPDNDictLearn`` against SPORCO's
``onlinecdl.OnlineConvBPDNDictLearn`` (the same iterates: filters after every image and every
record to 1e-8), and of its options and errors."""

import numpy as np
import pytest

import sparseland.onlinecdl as onlinecdl
from sporco.dictlrn import onlinecdl as sp_onlinecdl


def images(k, shape=(24, 20), channels=None, seed=0):
    """Smooth random images (low-pass noise, zero mean)."""
    rng = np.random.default_rng(seed)
    size = shape + ((channels,) if channels else ()) + (k,)
    S = rng.normal(size=size)
    fr, fc = np.fft.fftfreq(shape[0]), np.fft.fftfreq(shape[1])
    low = (np.abs(fr)[:, None] < 0.2) & (np.abs(fc)[None, :] < 0.2)
    low = low.reshape(shape + (1,) * (S.ndim - 2))
    S = np.real(np.fft.ifft2(np.fft.fft2(S, axes=(0, 1)) * low, axes=(0, 1)))
    return [S[..., j] - S[..., j].mean(axis=(0, 1)) for j in range(k)]


FIELDS = ("ObjFun", "DFid", "RegL1", "PrimalRsdl", "DualRsdl", "Rho", "Cnstr", "DeltaD", "Eta")


def run_both(D0, imgs, lmbda, opt):
    ours = onlinecdl.OnlineConvBPDNDictLearn(D0, lmbda, opt)
    theirs = sp_onlinecdl.OnlineConvBPDNDictLearn(
        D0, lmbda, sp_onlinecdl.OnlineConvBPDNDictLearn.Options(opt))
    for S in imgs:
        a = ours.solve(S)
        b = theirs.solve(S).squeeze()
        assert a.shape == D0.shape
        assert np.allclose(a, b.reshape(a.shape), rtol=0, atol=1e-11)
    return ours, theirs


def assert_itstat_match(ours, theirs, rtol=1e-8, rsdl_rtol=1e-6):
    a, b = ours.getitstat(), theirs.getitstat()
    for field in FIELDS:
        x, y = np.array(getattr(a, field)), np.array(getattr(b, field))
        tol = rsdl_rtol if "Rsdl" in field else rtol
        assert np.allclose(x, y, rtol=tol, atol=1e-12), field


@pytest.mark.parametrize("opt", [
    {},
    {"eta_a": 5.0, "eta_b": 20.0, "CBPDN": {"MaxMainIter": 30}},
    {"ZeroMean": True, "CBPDN": {"MaxMainIter": 40, "rho": 3.0, "RelStopTol": 1e-4}},
])
def test_iterates_equal_sporcos(opt):
    rng = np.random.default_rng(1)
    D0 = rng.normal(size=(5, 5, 6))
    ours, theirs = run_both(D0, images(6), 0.1, opt)
    assert_itstat_match(ours, theirs)
    assert ours.getitstat().Iter == list(range(6))


def test_float32_follows_sporcos_float32():
    """``DataType = float32``: coding and gradient step in float32 on both sides; the filters
    agree to float32 precision after every image (with SPORCO's float32 run and with the
    float64 one), and are returned as float32."""
    rng = np.random.default_rng(3)
    D0 = rng.normal(size=(5, 5, 6))
    opt = {"DataType": np.float32, "CBPDN": {"MaxMainIter": 30}}
    ours = onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1, opt)
    ours64 = onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1, {"CBPDN": {"MaxMainIter": 30}})
    theirs = sp_onlinecdl.OnlineConvBPDNDictLearn(
        D0.astype(np.float32), 0.1, sp_onlinecdl.OnlineConvBPDNDictLearn.Options(opt))
    for S in images(4):
        a = ours.solve(S)
        b = theirs.solve(S.astype(np.float32)).squeeze().reshape(a.shape)
        c = ours64.solve(S)
        assert a.dtype == np.float32 and b.dtype == np.float32
        assert np.abs(a - b).max() < 1e-4
        assert np.abs(a - c).max() < 1e-4
    fa, fb = ours.getitstat().ObjFun, theirs.getitstat().ObjFun
    assert np.allclose(fa, fb, rtol=1e-4, atol=0)


def test_colour_images_single_and_multi_channel_dictionaries():
    rng = np.random.default_rng(2)
    imgs = images(4, shape=(20, 18), channels=3, seed=3)
    # A single-channel dictionary codes each channel on its own.
    ours, theirs = run_both(rng.normal(size=(4, 4, 5)), imgs, 0.05, {"CBPDN": {"MaxMainIter": 30}})
    assert_itstat_match(ours, theirs)
    # A 3-channel dictionary.
    ours, theirs = run_both(rng.normal(size=(4, 4, 3, 5)), imgs, 0.05,
                            {"CBPDN": {"MaxMainIter": 30}})
    assert_itstat_match(ours, theirs)


def test_learning_lowers_the_coding_functional_of_held_out_images():
    """Filters learned on many images represent new images of the same kind better than the
    random initial ones (the CBPDN functional, same lambda and solver)."""
    import sparseland.cbpdn as cbpdn

    rng = np.random.default_rng(4)
    D0 = rng.normal(size=(6, 6, 8))
    d = onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1, {"CBPDN": {"MaxMainIter": 30}})
    for S in images(30, seed=5):
        d.solve(S)
    held_out = images(3, seed=6)

    def functional(D):
        total = 0.0
        for S in held_out:
            b = cbpdn.ConvBPDN(D, S, 0.1, {"MaxMainIter": 200})
            b.solve()
            total += b.getitstat().ObjFun[-1]
        return total

    assert functional(d.getdict()) < 0.9 * functional(D0 / np.sqrt((D0 ** 2).sum(axis=(0, 1))))


def test_errors_name_the_argument():
    D0 = np.random.default_rng(0).normal(size=(4, 4, 3))
    with pytest.raises(ValueError, match="eta_b"):
        onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1, {"eta_b": 0.0}).solve(np.zeros((8, 8)))
    with pytest.raises(ValueError, match="unknown"):
        onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1, {"Eta": 1.0})
    with pytest.raises(ValueError, match="`S`"):
        onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1).solve(np.zeros(8))
    with pytest.raises(ValueError, match="non-finite|NaN|finite"):
        S = np.zeros((8, 8))
        S[1, 1] = np.nan
        onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1).solve(S)
    with pytest.raises(NotImplementedError):
        onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1, dimK=1)
    # The caller's arrays are not modified.
    S = images(1)[0]
    S_copy, D_copy = S.copy(), D0.copy()
    onlinecdl.OnlineConvBPDNDictLearn(D0, 0.1).solve(S)
    assert np.array_equal(S, S_copy) and np.array_equal(D0, D_copy)
