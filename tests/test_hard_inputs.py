"""Issue 9, kinds 2, 3 and 5-12: correct values or clear ValueErrors on hard, finite inputs.

Each test stands for a kind of fault (not only the issue's example) and
failed before the fix.  Kind 1 (cancellation) is in test_cancellation.py,
the property-based sweep over every public function in test_fuzz.py.
"""
from __future__ import annotations

import mpmath
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import cross_covariance as cc
from repalign_edu import gaussian, metrics, stitching
from repalign_edu.kernels import centering_matrix, gram_matrix, median_heuristic

BACKENDS = ("numpy", "cpu")
mpmath.mp.dps = 40


def _mp_linear_mmd2(X, Y):
    """||mean X - mean Y||^2 in 40-digit arithmetic from the float inputs."""
    mx = [mpmath.fsum(mpmath.mpf(float(v)) for v in col) / X.shape[0] for col in X.T]
    my = [mpmath.fsum(mpmath.mpf(float(v)) for v in col) / Y.shape[0] for col in Y.T]
    return mpmath.fsum((a - b) ** 2 for a, b in zip(mx, my))


# --------------------------------------------------------------------------- kind 2
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kernel", ["rbf", "laplacian", "linear", "polynomial"])
def test_biased_mmd2_is_never_negative(backend, kernel):
    for seed in range(10):
        r = np.random.default_rng(seed)
        X = r.normal(size=(5, 2))
        Y = X + 1e-9 * r.normal(size=(5, 2))
        v = ra.mmd2(X, Y, kernel, backend=backend)
        assert v >= 0.0
        assert np.isfinite(np.sqrt(v))
        assert ra.mmd2(X, X, kernel, backend=backend) == 0.0 or ra.mmd2(X, X, kernel) >= 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("offset,dtype,tol", [(1e6, np.float64, 1e-9), (1e4, np.float32, 1e-9),
                                              (0.0, np.float64, 1e-12)])
def test_linear_mmd2_is_exact_under_a_common_offset(backend, offset, dtype, tol):
    r = np.random.default_rng(1)
    X = (r.normal(size=(30, 3)) + offset).astype(dtype)
    Y = (r.normal(size=(25, 3)) + 0.3 + offset).astype(dtype)
    ref = _mp_linear_mmd2(X.astype(np.float64), Y.astype(np.float64))
    got = ra.mmd2(X, Y, "linear", backend=backend)
    assert abs(mpmath.mpf(got) - ref) / ref < tol


# --------------------------------------------------------------------------- kind 3
@pytest.mark.parametrize("backend", BACKENDS)
def test_bounded_measures_stay_in_range_on_similarity_transforms(backend):
    worst = 0.0
    for seed in range(60):
        r = np.random.default_rng(seed)
        n, d = int(r.integers(3, 12)), int(r.integers(1, 4))
        X = r.normal(size=(n, d))
        Q = np.linalg.qr(r.normal(size=(d, d)))[0]
        Z = float(r.uniform(0.1, 10)) * X @ Q + r.normal(size=d)
        for v in (ra.kernel_alignment(X, 3 * X, backend=backend),
                  ra.cka(X, Z, backend=backend), ra.cka(X, Z, "rbf", backend=backend),
                  ra.kernel_alignment(X, Z, "rbf", backend=backend)):
            assert 0.0 <= v <= 1.0
            assert np.isfinite(np.arccos(v))
            worst = max(worst, abs(1 - v))
    X = np.random.default_rng(0).normal(size=(3, 2))
    assert ra.kernel_alignment(X, 3 * X, backend=backend) <= 1.0    # was 1 + 2e-16


def test_debiased_cka_and_rsa_stay_in_minus_one_one():
    for seed in range(20):
        r = np.random.default_rng(seed)
        X = r.normal(size=(8, 2))
        for v in (ra.cka(X, 2 * X + 1, estimator="unbiased"),
                  metrics.rsa(X, 2 * X), metrics.procrustes_distance(X, -X) / np.sqrt(2)):
            assert -1.0 <= v <= 1.0


# --------------------------------------------------------------------------- kind 5
@pytest.mark.parametrize("metric", ["correlation", "cosine"])
def test_rsa_of_an_rdm_constant_up_to_rounding_raises(metric):
    r = np.random.default_rng(0)
    pattern = r.uniform(1, 2, size=6)
    X = np.outer(r.uniform(1, 3, size=12), pattern)
    if metric == "correlation":
        X = X + r.uniform(0, 1, size=(12, 1))     # rescalings plus offsets of one pattern
    Y = r.normal(size=(12, 3))
    with pytest.raises(ValueError, match="constant up to rounding"):
        metrics.rsa(X, Y, metric=metric)
    with pytest.raises(ValueError, match="constant"):
        metrics.rdm_correlation(metrics.rdm(X, metric) * 0 + 1.0 - np.eye(12),
                                metrics.rdm(Y))


# --------------------------------------------------------------------------- kind 6
def _value_or_valueerror(f):
    try:
        v = f()
    except ValueError as exc:
        assert str(exc)
        return None
    assert np.all(np.isfinite(v))
    return v


def test_no_linalgerror_escapes(capfd):
    r = np.random.default_rng(0)
    F1, F2 = r.normal(size=(20, 3)), r.normal(size=(20, 2))
    st = _value_or_valueerror(lambda: stitching.fit_linear_stitch(F1, F2, ridge=1e308).S)
    assert st is None or np.allclose(st, 0.0)
    big = 1e160 * r.normal(size=(20, 3))
    for f in (lambda: metrics.procrustes_distance(big, F2),
              lambda: metrics.angular_procrustes_distance(big, F1, alpha=0.0),
              lambda: metrics.partial_whiten(big, 0.3),
              lambda: gaussian.sample_canonical_correlations(big, F2),
              lambda: stitching.fit_linear_stitch(big, F2).S,
              lambda: stitching.stitching_misalignment(big, F2, ridge=1e300)):
        _value_or_valueerror(f)
    # scale-invariant ones give the value of the unscaled input
    assert metrics.procrustes_distance(big, F2) == pytest.approx(
        metrics.procrustes_distance(big / 1e160, F2), rel=1e-12)
    np.testing.assert_allclose(gaussian.sample_canonical_correlations(big, F2),
                               gaussian.sample_canonical_correlations(big / 1e160, F2), rtol=1e-10)


# --------------------------------------------------------------------------- kind 7
@pytest.mark.parametrize("scale", [1e100, 1e200, 1e300, 1e-300])
def test_large_and_tiny_entries(scale):
    r = np.random.default_rng(3)
    X, Y = r.normal(size=(25, 3)), r.normal(size=(25, 4)) + 0.2
    Xs = X * scale
    invariant = {
        "cka linear": lambda A: ra.cka(A, Y),
        "cka rbf": lambda A: ra.cka(A, Y, "rbf"),
        "ka linear": lambda A: ra.kernel_alignment(A, Y),
        "ka rbf": lambda A: ra.kernel_alignment(A, Y, "rbf"),
        "mutual_knn": lambda A: ra.mutual_knn(A, Y, 4),
        "procrustes": lambda A: metrics.procrustes_distance(A, Y),
        "angular procrustes": lambda A: metrics.angular_procrustes_distance(A, Y),
        "rsa": lambda A: metrics.rsa(A, Y),
        "gram rbf": lambda A: gram_matrix(A, "rbf"),
        "hsic rbf": lambda A: ra.hsic(A, Y, "rbf"),
    }
    for name, f in invariant.items():
        for backend_free in (True,):
            np.testing.assert_allclose(f(Xs), f(X), rtol=1e-10, atol=1e-14, err_msg=name)
    for backend in BACKENDS:
        assert ra.cka(Xs, Y, "rbf", sigma=(scale, 1.0), backend=backend) == pytest.approx(
            ra.cka(X, Y, "rbf", sigma=1.0, backend=backend), rel=1e-10)
    assert median_heuristic(Xs) == pytest.approx(scale * median_heuristic(X), rel=1e-12)
    np.testing.assert_allclose(metrics.rdm(Xs), scale * metrics.rdm(X), rtol=1e-12)
    # the others: a finite value or a ValueError that names the problem, never NaN/inf
    for f in (lambda: ra.hsic(Xs, Y), lambda: ra.mmd2(Xs, Xs + scale, "linear"),
              lambda: ra.mmd2(Xs, 2 * Xs), lambda: ra.distance_alignment(Xs, Y),
              lambda: gram_matrix(Xs), lambda: gram_matrix(Xs, "polynomial"),
              lambda: ra.cka(Xs, Y, "polynomial"), lambda: metrics.rdm(Xs, "sqeuclidean"),
              lambda: metrics.procrustes_distance(Xs, Y, normalize=False)):
        _value_or_valueerror(f)
    if scale >= 1e200:
        with pytest.raises(ValueError, match="overflow"):
            ra.hsic(Xs, Y)
        with pytest.raises(ValueError, match="overflow"):
            ra.distance_alignment(Xs, Y)


# --------------------------------------------------------------------------- kind 8
@pytest.mark.parametrize("sigma", [1e-200, 1e-160, 1e-20, 1e20, 1e160, 1e200])
def test_extreme_bandwidths_give_a_value_or_a_valueerror_and_backends_agree(sigma):
    r = np.random.default_rng(4)
    X, Y = r.normal(size=(12, 2)), r.normal(size=(12, 2))
    G = gram_matrix(X, "rbf", sigma=sigma)
    assert np.all(np.isfinite(G)) and np.all(np.diag(G) == 1.0)
    if sigma < 1:
        np.testing.assert_array_equal(G, np.eye(12))
    for f in (lambda b: ra.cka(X, Y, "rbf", sigma=sigma, backend=b),
              lambda b: ra.cka(X, Y, "laplacian", sigma=sigma, backend=b),
              lambda b: ra.hsic(X, Y, "rbf", sigma=sigma, backend=b),
              lambda b: ra.kernel_alignment(X, Y, "rbf", sigma=sigma, backend=b),
              lambda b: ra.mmd2(X, Y, "rbf", sigma=sigma, backend=b)):
        got = [_value_or_valueerror(lambda: f(b)) for b in BACKENDS]
        assert (got[0] is None) == (got[1] is None)
        if got[0] is not None:
            assert got[1] == pytest.approx(got[0], rel=1e-10, abs=1e-300)


# --------------------------------------------------------------------------- kind 9
def test_boolean_flags_reject_strings():
    X = np.random.default_rng(0).normal(size=(10, 2))
    for call, name in ((lambda: ra.cka(X, X, debiased="no"), "debiased"),
                       (lambda: ra.kernel_alignment(X, X, centered="no"), "centered"),
                       (lambda: metrics.procrustes_distance(X, X, normalize="no"), "normalize"),
                       (lambda: metrics.procrustes_distance(X, X, centered="no"), "centered"),
                       (lambda: median_heuristic(X, include_diagonal="yes"), "include_diagonal"),
                       (lambda: stitching.fit_linear_stitch(X, X, bias="no"), "bias")):
        with pytest.warns(DeprecationWarning) if name == "debiased" else _nullcontext():
            with pytest.raises(ValueError, match=name):
                call()


class _nullcontext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("bad", [None, [2], float("nan"), 2.5, 0, "3", True])
def test_polynomial_degree_is_validated(bad):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="degree"):
        ra.cka(X, X, "polynomial", degree=bad)
    with pytest.raises(ValueError, match="degree"):
        gram_matrix(X, "polynomial", degree=bad)


@pytest.mark.parametrize("bad", [None, [1.0], float("nan"), -1.0, "1"])
def test_polynomial_coef0_is_validated(bad):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="coef0"):
        ra.hsic(X, X, "polynomial", coef0=bad)


@pytest.mark.parametrize("bad", ["a", 1.5, -1, True, [1]])
def test_seeds_are_validated(bad):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="seed"):
        ra.hsic_test(X, X, n_permutations=5, seed=bad)
    with pytest.raises(ValueError, match="seed"):
        median_heuristic(X, seed=bad)


@pytest.mark.parametrize("bad", [2.5, "a", 1, 0, None, True])
def test_median_heuristic_max_samples(bad):
    X = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="max_samples"):
        median_heuristic(X, max_samples=bad)
    assert median_heuristic(X, max_samples=5) > 0


@pytest.mark.parametrize("bad", [0, -1, 2.5, "3", None])
def test_centering_matrix_needs_a_positive_integer(bad):
    with pytest.raises(ValueError, match="n"):
        centering_matrix(bad)
    assert centering_matrix(1).shape == (1, 1)


@pytest.mark.parametrize("bad", [float("nan"), -1.0, 2.0, "a"])
def test_partial_whiten_eigval_tol(bad):
    X = np.random.default_rng(0).normal(size=(10, 3))
    with pytest.raises(ValueError, match="eigval_tol"):
        metrics.partial_whiten(X, 0.5, eigval_tol=bad)


# --------------------------------------------------------------------------- kind 10
def test_errors_name_the_constant_argument():
    r = np.random.default_rng(0)
    X, Yc = r.normal(size=(12, 2)), np.ones((12, 2))
    for call in (lambda: ra.hsic(X, Yc, "rbf"), lambda: ra.hsic_test(X, Yc, n_permutations=5),
                 lambda: cc.coco(X, Yc), lambda: cc.kcc(X, Yc, kappa=0.1)):
        with pytest.raises(ValueError) as info:
            call()
        msg = str(info.value)
        assert msg.startswith("Y") or " Y " in msg or "Y:" in msg
        assert not msg.startswith("X:")


# --------------------------------------------------------------------------- kind 11
def test_numpy_backend_refuses_what_does_not_fit_in_memory():
    n = 100_000
    X = np.arange(2.0 * n).reshape(n, 2) % 97
    for call in (lambda: ra.cka(X, X, "rbf", sigma=1.0, backend="numpy"),
                 lambda: ra.mmd2(X, X + 1, "rbf", sigma=1.0, backend="numpy"),
                 lambda: ra.kernel_alignment(X, X, "rbf", sigma=1.0, backend="numpy"),
                 lambda: ra.mutual_knn(X + 1, X + 2, 3, backend="numpy")):
        with pytest.raises(ValueError, match=r"GiB.*backend='cpu'"):
            call()


def test_numpy_distance_alignment_needs_no_n_by_n_by_d_tensor():
    r = np.random.default_rng(0)
    X, Y = r.normal(size=(300, 100)), r.normal(size=(300, 100))
    ref = float(np.mean((metrics.rdm(X, "sqeuclidean") - metrics.rdm(Y, "sqeuclidean")) ** 2))
    assert ra.distance_alignment(X, Y, backend="numpy") == pytest.approx(ref, rel=1e-10)


# --------------------------------------------------------------------------- kind 12
def test_nonfinite_message_counts_rows_and_says_drop_from_both():
    X = np.random.default_rng(0).normal(size=(20, 3))
    X[[2, 5, 7, 11, 13, 17], 1] = np.nan
    X[5, 0] = np.inf
    with pytest.raises(ValueError) as info:
        ra.cka(X, X.copy())
    msg = str(info.value)
    assert "7 non-finite" in msg and "6 row(s)" in msg
    assert "2, 5, 7, 11, 13, ..." in msg
    assert "both X and Y" in msg
