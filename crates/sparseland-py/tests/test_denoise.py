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


def test_patch_estimator_denoises_and_feeds_the_image_denoiser(noisy):
    from sklearn.feature_extraction.image import extract_patches_2d, reconstruct_from_patches_2d

    clean, y = noisy
    patches = extract_patches_2d(y, (6, 6)).reshape(-1, 36)
    est = sparseland.KSVDDenoiser(20.0, n_components=64, max_iter=3, random_state=0).fit(patches)
    assert est.components_.shape == (64, 36) and len(est.error_) == 3
    assert np.allclose(np.linalg.norm(est.components_, axis=1), 1.0)
    den = est.transform(patches)
    img = reconstruct_from_patches_2d(den.reshape(-1, 6, 6), y.shape)
    assert psnr(img, clean) > psnr(y, clean) + 6
    # Row order does not matter (each patch is coded on its own).
    perm = np.random.default_rng(0).permutation(len(patches))
    assert np.array_equal(est.transform(patches[perm]), den[perm])
    # The learned atoms (row-major patches; the DCT atom set is closed under transposition) in
    # the image denoiser, which takes column-major patches.
    atoms = est.components_.reshape(64, 6, 6).transpose(0, 2, 1).reshape(64, 36)
    out = sparseland.denoise(y, 20.0, method="given", dictionary=atoms, patch_size=6,
                             n_components=64)
    assert psnr(out, clean) > psnr(y, clean) + 6


def test_patch_estimator_passes_check_estimator():
    from test_estimators import _run_checks
    from sklearn.utils.estimator_checks import estimator_checks_generator

    base = sparseland.KSVDDenoiser(1.0, n_components=4, max_iter=2, random_state=0)
    _run_checks(estimator_checks_generator(base, legacy=True, mark="skip"))


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
