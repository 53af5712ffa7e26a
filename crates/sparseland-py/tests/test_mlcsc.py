"""Tests of multi-layer models from NumPy: the layered-thresholding forward pass equals a NumPy
CNN (strided correlation, ReLU, dense layer), ML-ISTA's codes are consistent across layers
and lower the multi-layer objective, layouts and bad input."""

import numpy as np
import pytest

from sparseland import MLCSC, Conv


def correlate(x, w, stride):
    """PyTorch's conv2d without bias: x (n, C, H, W), w (M, C, kh, kw)."""
    n, C, H, W = x.shape
    M, _, kh, kw = w.shape
    oh, ow = (H - kh) // stride + 1, (W - kw) // stride + 1
    out = np.zeros((n, M, oh, ow))
    for r in range(oh):
        for c in range(ow):
            patch = x[:, :, r * stride:r * stride + kh, c * stride:c * stride + kw]
            out[:, :, r, c] = np.einsum("nchw,mchw->nm", patch, w)
    return out


@pytest.fixture
def cnn():
    rng = np.random.default_rng(3)
    w1 = rng.normal(size=(4, 1, 3, 3))
    w2 = rng.normal(size=(6, 4, 3, 2))
    # Input 1 x 12 x 11: layer 1 codes 4 x 5 x 5 (stride 2), layer 2 codes 6 x 3 x 4 (stride 1).
    d3 = rng.normal(size=(5, 6 * 3 * 4))
    layers = [Conv(w1, (1, 12, 11), stride=2), Conv(w2, (4, 5, 5), stride=1), d3]
    x = rng.normal(size=(7, 1, 12, 11))
    return layers, x


def test_forward_pass_is_a_cnn(cnn):
    layers, x = cnn
    t = [0.3, 0.2, 0.1]
    g1, g2, g3 = MLCSC(layers).forward(x, t)
    r1 = np.maximum(correlate(x, layers[0].weight, 2) - t[0], 0)
    r2 = np.maximum(correlate(r1, layers[1].weight, 1) - t[1], 0)
    r3 = np.maximum(r2.reshape(7, -1) @ layers[2].T - t[2], 0)
    assert g1.shape == (7, 4, 5, 5) and g2.shape == (7, 6, 3, 4) and g3.shape == (7, 5)
    assert np.allclose(g1, r1, atol=1e-12)
    assert np.allclose(g2, r2, atol=1e-12)
    assert np.allclose(g3, r3, atol=1e-12)
    # Soft thresholding keeps the signs.
    s1 = MLCSC(layers).forward(x, t, shrinkage="soft")[0]
    c1 = correlate(x, layers[0].weight, 2)
    assert np.allclose(s1, np.sign(c1) * np.maximum(np.abs(c1) - t[0], 0), atol=1e-12)


def test_ml_ista_is_consistent_and_descends():
    rng = np.random.default_rng(8)
    d1 = rng.normal(size=(30, 20))
    d1 /= np.linalg.norm(d1, axis=1, keepdims=True)
    d2 = rng.normal(size=(40, 30)) * (rng.random((40, 30)) < 0.15)
    d2[np.arange(40), rng.integers(0, 30, 40)] += 1.0
    d2 /= np.linalg.norm(d2, axis=1, keepdims=True)
    model = MLCSC([d1, d2])
    x = rng.normal(size=(9, 20))
    lam = [0.05, 0.05]
    g1, g2 = model.ml_ista(x, lam, max_iter=200)
    assert g1.shape == (9, 30) and g2.shape == (9, 40)
    # ML-ISTA returns a consistent estimate: G_1 = D_2 G_2.
    assert np.allclose(g1, g2 @ d2, atol=1e-10)

    def objective(g2):
        g1 = g2 @ d2
        return 0.5 * ((x - g1 @ d1) ** 2).sum(axis=1) + lam[0] * np.abs(g1).sum(axis=1) + lam[
            1] * np.abs(g2).sum(axis=1)

    f = objective(g2)
    assert np.allclose(model.objective_, f, rtol=1e-9)
    assert np.all(f < objective(np.zeros_like(g2)))
    fista = model.ml_fista(x, lam, max_iter=200)[1]
    assert np.all(objective(fista) <= f * (1 + 1e-3))
    bp = model.layered_bp(x, lam)
    assert bp[0].shape == (9, 30)


def test_layouts_and_bad_input(cnn):
    layers, x = cnn
    model = MLCSC(layers)
    a = model.forward(x, [0.3, 0.2, 0.1])
    b = model.forward(x.reshape(7, -1), [0.3, 0.2, 0.1])
    assert all(np.array_equal(p, q) for p, q in zip(a, b))
    with pytest.raises(ValueError, match="layers"):
        MLCSC([])
    with pytest.raises(ValueError, match="shape mismatch"):
        MLCSC([layers[0], Conv(layers[1].weight, (4, 6, 6))])
    with pytest.raises(ValueError, match="after a dense"):
        MLCSC([layers[2], layers[0]])
    with pytest.raises(ValueError, match="X"):
        model.forward(np.zeros((3, 5)), [0.1, 0.1, 0.1])
    with pytest.raises(ValueError, match="method|shrinkage"):
        model.forward(x, [0.1, 0.1, 0.1], shrinkage="tanh")
    with pytest.raises(ValueError):
        model.forward(x, [0.1])  # one threshold per layer
    bad = x.copy()
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(ValueError):
        model.forward(bad, [0.1, 0.1, 0.1])
