"""Tests of the K-SVD image denoiser from Python: it denoises (PSNR gain on a synthetic image),
the estimator's fit/transform is the function's result, the layouts and dtypes, bad input."""

import numpy as np
import pytest

import sparseland


def psnr(a, b):
    return 10 * np.log10(255.0**2 / np.mean((a - b) ** 2))


@pytest.fixture
def noisy():
    """A 64 x 64 piecewise-smooth image in [0, 255] with Gaussian noise of sigma 20."""
    i, j = np.mgrid[0:64, 0:64]
    clean = 60 + 1.5 * i + 80 * ((i - 30) ** 2 + (j - 36) ** 2 < 300) + 60 * (j > 48)
    clean = np.clip(clean, 0, 255).astype(np.float64)
    rng = np.random.default_rng(5)
    return clean, clean + 20 * rng.normal(size=clean.shape)


def test_denoising_gains_psnr(noisy):
    clean, y = noisy
    before = psnr(y, clean)
    dct = sparseland.denoise(y, 20.0, method="dct", n_components=64, patch_size=6)
    ksvd = sparseland.denoise(y, 20.0, n_components=64, patch_size=6, max_iter=5, random_state=0)
    assert dct.shape == y.shape and ksvd.shape == y.shape
    assert psnr(dct, clean) > before + 6
    assert psnr(ksvd, clean) > before + 6
    # The input is not modified, and a zero-noise-free flat image stays flat.
    flat = np.full((32, 32), 100.0)
    out = sparseland.denoise(flat + 0.0, 5.0, method="dct", n_components=64, patch_size=6)
    assert np.abs(out - 100.0).max() < 1e-9


def test_estimator_is_the_function(noisy):
    _, y = noisy
    params = dict(n_components=64, patch_size=6, max_iter=3, random_state=1)
    est = sparseland.KSVDDenoiser(20.0, **params)
    a = est.fit_transform(y)
    b = sparseland.denoise(y, 20.0, **params)
    assert np.array_equal(a, b)
    assert est.components_.shape == (64, 36) and len(est.error_) == 3
    assert np.allclose(np.linalg.norm(est.components_, axis=1), 1.0)
    # transform with the learned atoms is the "given" method, and equals fit_transform on the
    # image it was learned on.
    c = est.transform(y)
    assert np.allclose(c, a, atol=1e-9)
    d = sparseland.denoise(y, 20.0, method="given", dictionary=est.components_, **params)
    assert np.array_equal(c, d)


def test_layouts_dtypes_and_bad_input(noisy):
    _, y = noisy
    params = dict(method="dct", n_components=64, patch_size=6)
    a = sparseland.denoise(y, 20.0, **params)
    assert np.array_equal(sparseland.denoise(np.asfortranarray(y), 20.0, **params), a)
    a32 = sparseland.denoise(y.astype(np.float32), 20.0, **params)
    assert a32.dtype == np.float32 and np.abs(a32 - a).max() < 1e-2
    with pytest.raises(ValueError, match="sigma"):
        sparseland.denoise(y, -1.0, **params)
    with pytest.raises(ValueError, match="image"):
        sparseland.denoise(np.zeros((4, 4, 3)), 1.0, **params)
    with pytest.raises(ValueError, match="method"):
        sparseland.denoise(y, 1.0, method="bm3d")
    with pytest.raises(ValueError, match="dictionary"):
        sparseland.denoise(y, 1.0, method="given")
    with pytest.raises(ValueError, match="patch_size"):
        sparseland.denoise(y[:4, :4], 1.0, **params)
    bad = y.copy()
    bad[1, 1] = np.nan
    with pytest.raises(ValueError, match="noisy"):
        sparseland.denoise(bad, 1.0, **params)
