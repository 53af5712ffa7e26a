"""Arrays at unaligned addresses (NumPy allows them; Dask and pickle deserialise into them) are
read correctly by every entry point that takes them, never a panic."""

import numpy as np

import sparseland
import sparseland.cbpdn as cbpdn
from sparseland.cbpdndl import ConvBPDNDictLearn


def unaligned(a):
    a = np.ascontiguousarray(a, dtype=np.float64)
    buf = np.zeros(a.nbytes + 1, np.uint8)
    u = np.frombuffer(buf.data, np.uint8, a.nbytes, offset=1).view(np.float64).reshape(a.shape)
    u[...] = a
    assert not u.flags.aligned
    return u


def test_unaligned_arrays_give_the_aligned_results():
    rng = np.random.default_rng(0)
    D = rng.standard_normal((4, 4, 3))
    S = rng.standard_normal((16, 16))
    opt = cbpdn.ConvBPDN.Options({"MaxMainIter": 20})
    np.testing.assert_array_equal(
        cbpdn.ConvBPDN(unaligned(D), unaligned(S), 0.1, opt).solve(),
        cbpdn.ConvBPDN(D, S, 0.1, opt).solve(),
    )
    S3 = rng.standard_normal((16, 16, 2))
    dl_opt = ConvBPDNDictLearn.Options({"MaxMainIter": 3})
    a = ConvBPDNDictLearn(unaligned(D), unaligned(S3), 0.1, dl_opt)
    b = ConvBPDNDictLearn(D, S3, 0.1, dl_opt)
    a.solve()
    b.solve()
    np.testing.assert_array_equal(a.getdict(), b.getdict())
    X = rng.standard_normal((30, 8))
    Dict = rng.standard_normal((12, 8))
    Dict /= np.linalg.norm(Dict, axis=1, keepdims=True)
    alpha = rng.uniform(0.05, 0.2, 30)
    np.testing.assert_array_equal(
        sparseland.sparse_encode(unaligned(X), unaligned(Dict), algorithm="lasso_lars", alpha=unaligned(alpha)),
        sparseland.sparse_encode(X, Dict, algorithm="lasso_lars", alpha=alpha),
    )
