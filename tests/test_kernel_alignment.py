"""The first kernel: empirical kernel alignment (Cristianini et al. 2001), paper section 3.1.1."""
import numpy as np
import pytest
from scipy.stats import ortho_group

import repalign_edu as ra


# XY: the shared fixture of tests/conftest.py, shape (120, 6, 4)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("kernel", ["linear", "rbf", "laplacian", "polynomial"])
def test_self_alignment_is_one(XY, backend, kernel):
    X, _ = XY
    assert ra.kernel_alignment(X, X, kernel, backend=backend) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_symmetric(XY, backend):
    X, Y = XY
    assert ra.kernel_alignment(X, Y, backend=backend) == pytest.approx(
        ra.kernel_alignment(Y, X, backend=backend), rel=1e-13)


def test_matches_explicit_gram_formula(XY):
    X, Y = XY
    K, L = X @ X.T, Y @ Y.T
    expected = np.sum(K * L) / (np.linalg.norm(K) * np.linalg.norm(L))
    assert ra.kernel_alignment(X, Y, backend="cpu") == pytest.approx(expected, rel=1e-12)
    # the paper's Eq. (1): uncentred second moments
    n = len(X)
    S12, S11, S22 = X.T @ Y / n, X.T @ X / n, Y.T @ Y / n
    eq1 = np.sum(S12**2) / (np.linalg.norm(S11) * np.linalg.norm(S22))
    assert ra.kernel_alignment(X, Y, backend="numpy") == pytest.approx(eq1, rel=1e-12)


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_invariant_to_orthogonal_maps_and_isotropic_scaling(XY, backend):
    X, Y = XY
    Q = ortho_group.rvs(6, random_state=1)
    base = ra.kernel_alignment(X, Y, backend=backend)
    assert ra.kernel_alignment(3.7 * X @ Q, Y, backend=backend) == pytest.approx(base, rel=1e-12)
    # ... but not to anisotropic scaling, nor (uncentred) to translation
    D = np.diag([1, 1, 1, 1, 1, 50.0])
    assert abs(ra.kernel_alignment(X @ D, Y, backend=backend) - base) > 1e-3
    assert abs(ra.kernel_alignment(X + 5.0, Y, backend=backend) - base) > 1e-3


@pytest.mark.parametrize("kernel", ["linear", "rbf", "laplacian", "polynomial"])
def test_numpy_and_numba_agree(XY, kernel):
    X, Y = XY
    a = ra.kernel_alignment(X, Y, kernel, backend="numpy")
    b = ra.kernel_alignment(X, Y, kernel, backend="cpu")
    assert abs(a - b) <= 1e-12 * abs(a)
    assert 0.0 < a <= 1.0


def test_bad_input_names_the_argument(XY):
    X, Y = XY
    with pytest.raises(ValueError, match="same number of samples"):
        ra.kernel_alignment(X, Y[:-1])
    with pytest.raises(ValueError, match=r"X must be 2-D.*reshape"):
        ra.kernel_alignment(X[:, 0], Y)
    bad = Y.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"Y\[3, 1\]"):
        ra.kernel_alignment(X, bad)
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="non-finite"):
        ra.kernel_alignment(X, bad)
    with pytest.raises(ValueError, match="unknown kernel"):
        ra.kernel_alignment(X, Y, kernel="cosine")
    with pytest.raises(ValueError, match="unknown backend"):
        ra.kernel_alignment(X, Y, backend="gpu")
    with pytest.raises(ValueError, match="sigma"):
        ra.kernel_alignment(X, Y, kernel="rbf", sigma=-1.0)


def test_integer_input_is_converted(XY):
    X, _ = XY
    Xi = np.round(3 * X).astype(np.int64)
    assert ra.kernel_alignment(Xi, Xi.astype(float)) == pytest.approx(1.0)
