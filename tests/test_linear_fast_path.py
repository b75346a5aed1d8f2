"""The linear feature-space route of the cpu backend (issue 14): fast, and still exact.

* ``cpu.feature_products`` returns bitwise the products of a plain ``X.T @ Y``;
* linear CKA, HSIC and KA stay within 1e-12 of the NumPy reference, also with
  large offsets and float32 input;
* the one-pass finiteness check still rejects NaN/inf and accepts huge finite values.
"""
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu.backends import cpu


def test_feature_products_are_bitwise_the_plain_products():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(3000, 40)) + 2.0, rng.normal(size=(3000, 24))
    got = cpu.feature_products(X, Y)
    for a, b in zip(got, (X.T @ Y, X.T @ X, Y.T @ Y)):
        assert a.dtype == np.float64 and np.array_equal(a, b)


@pytest.mark.parametrize("offset", [0.0, 1e4])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_linear_measures_match_the_reference(offset, dtype):
    rng = np.random.default_rng(1)
    X = rng.normal(size=(2500, 30))
    Y = np.tanh(X @ rng.normal(size=(30, 20))) + 0.5 * rng.normal(size=(2500, 20))
    X, Y = (X + offset).astype(dtype), (Y - offset).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-6      # float32: the input itself is rounded
    for f in (lambda A, B, b: ra.cka(A, B, backend=b),
              lambda A, B, b: ra.cka(A, B, estimator="unbiased", backend=b),
              lambda A, B, b: ra.hsic(A, B, backend=b),
              lambda A, B, b: ra.kernel_alignment(A, B, backend=b)):
        ref = f(X.astype(np.float64), Y.astype(np.float64), "numpy")
        assert f(X, Y, "cpu") == pytest.approx(ref, rel=tol)


def test_one_pass_finiteness_check():
    X = np.random.default_rng(2).normal(size=(50, 3))
    for bad in (np.nan, np.inf, -np.inf):
        Z = X.copy()
        Z[7, 1] = bad
        with pytest.raises(ValueError, match=r"X\[7, 1\]"):
            ra.cka(Z, X, backend="cpu")
    huge = np.full((50, 3), 1.5e308) * np.sign(X)         # finite, but the sum overflows
    assert np.isfinite(huge).all()
    ra.mutual_knn(huge + 0.0, X, 3, backend="cpu")         # accepted: no false NaN/inf error


@pytest.mark.parametrize("scale", [1e-300, 1e-20, 1.0, 1e20, 1e300])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_pass_unit_scale_matches_the_numpy_definition(scale, dtype):
    """kernels.unit_scale's one-pass max |a| (Numba) gives the scale of np.max(np.abs(A))."""
    from repalign_edu.kernels import unit_scale

    if dtype == np.float32 and not 1e-30 < scale < 1e30:
        pytest.skip("outside float32's range")
    rng = np.random.default_rng(2)
    A = (scale * rng.normal(size=(50, 7))).astype(dtype)
    A[3, 4] = -2.5 * scale                      # the largest entry is negative
    for B in (A, A[:, ::2], np.asarray(A).copy()):
        B.setflags(write=False) if B.base is None else None
        m = float(np.max(np.abs(B)))
        want = 1.0 if 2.0**-60 <= m <= 2.0**60 else float(np.ldexp(1.0, int(np.frexp(m)[1])))
        scaled, c = unit_scale(B)
        assert c == want
        np.testing.assert_array_equal(scaled, B / dtype(c) if c != 1.0 else B)
