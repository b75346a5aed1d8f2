"""Property-based tests (hypothesis): invariances, symmetry, bounds, row permutations.

Hypothesis draws the shapes, a seed for the data, and the transformation
parameters; the data themselves are Gaussian so that the properties are
about the measures, not about degenerate inputs.
"""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import ortho_group

import repalign_edu as ra

SETTINGS = settings(deadline=None, max_examples=25, derandomize=True)


@st.composite
def paired(draw, min_n=6, max_n=40):
    n = draw(st.integers(min_n, max_n))
    dx = draw(st.integers(1, 6))
    dy = draw(st.integers(1, 6))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dx))
    # Y depends on X partly, so CKA is neither 0 nor 1
    Y = rng.normal(size=(n, dy)) + X[:, :1] * rng.normal(size=(1, dy))
    return X, Y, rng


def _close(a, b, rel=1e-9, abs_=1e-12):
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


@SETTINGS
@given(paired(), st.floats(1e-3, 1e3), st.floats(-100.0, 100.0), st.sampled_from(["numpy", "cpu"]))
def test_linear_cka_invariant_to_orthogonal_maps_isotropic_scaling_translation(
        data, c, shift, backend):
    X, Y, rng = data
    d = X.shape[1]
    Q = ortho_group.rvs(d, random_state=rng) if d > 1 else np.array([[-1.0]])
    b = shift * rng.normal(size=d)
    base = ra.cka(X, Y, backend=backend)
    assert _close(ra.cka(c * X @ Q + b, Y, backend=backend), base)
    assert _close(ra.cka(X, c * Y + b[0], backend=backend), base)


@SETTINGS
@given(paired(), st.sampled_from(["linear", "rbf", "laplacian"]))
def test_cka_is_symmetric(data, kernel):
    X, Y, _ = data
    assert _close(ra.cka(X, Y, kernel, backend="cpu"), ra.cka(Y, X, kernel, backend="cpu"), 1e-12)
    assert _close(ra.hsic(X, Y, kernel, estimator="unbiased", backend="cpu"),
                  ra.hsic(Y, X, kernel, estimator="unbiased", backend="cpu"), 1e-12)


@SETTINGS
@given(paired(), st.sampled_from(["linear", "rbf", "laplacian", "polynomial"]),
       st.sampled_from(["numpy", "cpu"]))
def test_biased_cka_and_kernel_alignment_lie_in_unit_interval(data, kernel, backend):
    X, Y, _ = data
    for value in (ra.cka(X, Y, kernel, backend=backend),
                  ra.kernel_alignment(X, Y, kernel, backend=backend)):
        assert -1e-12 <= value <= 1.0 + 1e-12
    assert ra.hsic(X, Y, kernel, backend=backend) >= -1e-12


@SETTINGS
@given(paired(min_n=12), st.sampled_from(["linear", "rbf", "polynomial"]))
def test_common_row_permutation_changes_nothing(data, kernel):
    X, Y, rng = data
    p = rng.permutation(len(X))
    Xp, Yp = X[p], Y[p]

    def other_sample(B, d):  # a second sample in X's space, built from Y's rows
        return np.repeat(B[:, :1], d, axis=1) + 0.5

    for f in (lambda A, B: ra.cka(A, B, kernel, backend="cpu"),
              lambda A, B: ra.cka(A, B, kernel, estimator="unbiased", backend="cpu"),
              lambda A, B: ra.hsic(A, B, kernel, estimator="unbiased", backend="cpu"),
              lambda A, B: ra.kernel_alignment(A, B, kernel, backend="cpu"),
              lambda A, B: ra.mmd2(A, other_sample(B, A.shape[1]), kernel, backend="cpu")):
        assert _close(f(Xp, Yp), f(X, Y), 1e-9, 1e-13)
    assert _close(ra.distance_alignment(Xp, Yp), ra.distance_alignment(X, Y), 1e-9)
    if min(X.shape[1], Y.shape[1]) >= 2:
        # (with one feature every L2-normalised row is +-1: all similarities
        # tie, and the tie-break by index is not permutation invariant)
        assert ra.mutual_knn(Xp, Yp, k=3) == pytest.approx(ra.mutual_knn(X, Y, k=3), abs=1e-12)


@SETTINGS
@given(paired(), st.floats(0.1, 10.0))
def test_rbf_cka_with_median_bandwidth_is_invariant_to_similarity_maps(data, c):
    """The median heuristic scales with the data, so RBF CKA is scale invariant too."""
    X, Y, rng = data
    d = X.shape[1]
    Q = ortho_group.rvs(d, random_state=rng) if d > 1 else np.array([[1.0]])
    assert _close(ra.cka(c * X @ Q + 3.0, Y, "rbf", backend="cpu"),
                  ra.cka(X, Y, "rbf", backend="cpu"), 1e-8)


def test_uncentred_kernel_alignment_is_not_translation_invariant():
    """A specific example: the paper's A-hat uses raw features; CKA removes the translation."""
    rng = np.random.default_rng(3)
    X = rng.normal(size=(50, 3))
    Y = X @ rng.normal(size=(3, 2)) + 0.5 * rng.normal(size=(50, 2))
    for backend in ("numpy", "cpu"):
        base = ra.kernel_alignment(X, Y, backend=backend)
        moved = ra.kernel_alignment(X + np.array([4.0, -2.0, 1.0]), Y, backend=backend)
        assert abs(moved - base) > 0.1
        assert ra.kernel_alignment(X + 4.0, Y, centered=True, backend=backend) == \
            pytest.approx(ra.kernel_alignment(X, Y, centered=True, backend=backend), rel=1e-12)
