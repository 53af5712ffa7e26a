"""Tests of ``sparseland.cbpdndl.ConvBPDNDictLearn``: the functional recorded is that of the
returned filters and codes, it decreases, the filters are unit-norm on their support, and at
the same number of outer iterations it is no worse than SPORCO's."""

import numpy as np
import pytest

import sparseland.cbpdndl as cbpdndl


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    S = rng.normal(size=(32, 32, 4))
    f = np.fft.fftfreq(32)
    low = (np.abs(f)[:, None] < 0.15) & (np.abs(f)[None, :] < 0.15)
    S = np.real(np.fft.ifft2(np.fft.fft2(S, axes=(0, 1)) * low[:, :, None], axes=(0, 1)))
    return rng.normal(size=(6, 6, 8)), S - S.mean(axis=(0, 1))


def functional(d, S, lmbda):
    return 0.5 * ((d.reconstruct() - S) ** 2).sum() + lmbda * np.abs(d.getcoef()).sum()


def test_learning_decreases_the_functional(images):
    D0, S = images
    d = cbpdndl.ConvBPDNDictLearn(D0, S, 0.1, {"MaxMainIter": 15})
    D = d.solve()
    assert D.shape == (6, 6, 8) and d.getcoef().shape == (32, 32, 4, 8)
    assert np.allclose(np.sqrt((D**2).sum(axis=(0, 1))), 1.0)
    f = d.getitstat().ObjFun
    assert len(f) == 15 and f[-1] < 0.6 * f[0]
    assert abs(functional(d, S, 0.1) - f[-1]) <= 1e-9 * f[-1]
    with pytest.raises(ValueError, match="MaxMainIters"):
        cbpdndl.ConvBPDNDictLearn.Options({"MaxMainIters": 3})
    with pytest.raises(NotImplementedError, match="DictSize"):
        cbpdndl.ConvBPDNDictLearn(D0, S, 0.1, {"DictSize": (6, 6, 8)})
    with pytest.raises(ValueError, match="D0"):
        cbpdndl.ConvBPDNDictLearn(D0[:, :, 0], S, 0.1).solve()


def test_no_worse_than_sporco(images):
    sp = pytest.importorskip("sporco.dictlrn.cbpdndl")
    D0, S = images
    ours = cbpdndl.ConvBPDNDictLearn(D0, S, 0.1, {"MaxMainIter": 30})
    ours.solve()
    theirs = sp.ConvBPDNDictLearn(
        D0, S, 0.1, sp.ConvBPDNDictLearn.Options({"Verbose": False, "MaxMainIter": 30})
    )
    theirs.solve()
    assert ours.getitstat().ObjFun[-1] <= theirs.getitstat().ObjFun[-1]


def test_float32_learning_follows_float64(images):
    """``DataType = float32`` (or float32 inputs): coding and filter updates in float32; the
    functional follows the float64 run's to 1e-3 at every outer iteration and decreases; the
    filters and codes are float32."""
    D0, S = images
    d64 = cbpdndl.ConvBPDNDictLearn(D0, S, 0.1, {"MaxMainIter": 6})
    d64.solve()
    d32 = cbpdndl.ConvBPDNDictLearn(D0, S, 0.1, {"MaxMainIter": 6, "DataType": np.float32})
    D = d32.solve()
    assert D.dtype == np.float32 and d32.getcoef().dtype == np.float32
    f32, f64 = np.array(d32.getitstat().ObjFun), np.array(d64.getitstat().ObjFun)
    assert f32[-1] < f32[0]
    assert np.allclose(f32, f64, rtol=1e-3, atol=0)
    inferred = cbpdndl.ConvBPDNDictLearn(D0.astype(np.float32), S.astype(np.float32), 0.1,
                                         {"MaxMainIter": 2})
    assert inferred.solve().dtype == np.float32
