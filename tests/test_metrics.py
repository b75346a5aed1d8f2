"""RDMs, RSA, Procrustes / generalized shape metrics and the invariance table (lesson 01)."""
import numpy as np
import pytest
from scipy.stats import ortho_group

import repalign_edu as ra
from repalign_edu import metrics


XY_SHAPE = (60, 5, 4)   # the shared XY fixture (tests/conftest.py)


# --------------------------------------------------------------------------- RDMs
def test_rdm_known_values():
    X = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 1.0]])
    R = metrics.rdm(X)
    assert R[0, 1] == pytest.approx(5.0) and R[0, 2] == pytest.approx(1.0)
    assert R[1, 2] == pytest.approx(np.sqrt(9 + 9))
    assert np.allclose(metrics.rdm(X, "sqeuclidean"), R**2)
    Xc = np.array([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0]])
    C = metrics.rdm(Xc, "cosine")
    assert C[0, 1] == pytest.approx(1.0) and C[0, 2] == pytest.approx(2.0)
    assert np.all(np.diag(C) == 0)


def test_rdm_sqeuclidean_matches_kernel_identity_on_sphere(XY):
    # on the unit sphere d^2 = 2 (1 - K) for the linear kernel (paper section 3.2)
    X, _ = XY
    Xn = X / np.linalg.norm(X, axis=1, keepdims=True)
    assert np.allclose(metrics.rdm(Xn, "sqeuclidean"), 2 * (1 - ra.gram_matrix(Xn)), atol=1e-12)


def test_distance_alignment_is_mean_squared_rdm_difference(XY):
    X, Y = XY
    D = np.mean((metrics.rdm(X, "sqeuclidean") - metrics.rdm(Y, "sqeuclidean")) ** 2)
    assert ra.distance_alignment(X, Y, backend="numpy") == pytest.approx(D, rel=1e-12)


# --------------------------------------------------------------------------- RSA
def test_rsa_matches_scipy_on_upper_triangle(XY):
    from scipy.spatial.distance import pdist
    from scipy.stats import pearsonr, spearmanr

    X, Y = XY
    a, b = pdist(X), pdist(Y)
    assert metrics.rsa(X, Y) == pytest.approx(spearmanr(a, b)[0], abs=1e-14)
    assert metrics.rsa(X, Y, method="pearson") == pytest.approx(pearsonr(a, b)[0], abs=1e-14)


def test_rsa_self_is_one_and_invariances(XY):
    X, Y = XY
    assert metrics.rsa(X, X) == pytest.approx(1.0)
    Q = ortho_group.rvs(5, random_state=3)
    base = metrics.rsa(X, Y)
    assert metrics.rsa(2.5 * X @ Q + 7.0, Y) == pytest.approx(base, abs=1e-12)
    # Spearman RSA is invariant to a monotone map of the distances: d -> d^2
    assert metrics.rdm_correlation(metrics.rdm(X, "sqeuclidean"), metrics.rdm(Y)) == \
        pytest.approx(base, abs=1e-12)


def test_rsa_perfectly_anticorrelated_rdms():
    R1 = np.array([[0, 1, 2], [1, 0, 3], [2, 3, 0.0]])
    R2 = np.array([[0, 3, 2], [3, 0, 1], [2, 1, 0.0]])
    assert metrics.rdm_correlation(R1, R2, "pearson") == pytest.approx(-1.0)
    assert metrics.rdm_correlation(R1, R2, "spearman") == pytest.approx(-1.0)


# --------------------------------------------------------------------------- Procrustes
def test_procrustes_zero_for_similarity_transforms(XY):
    X, _ = XY
    Q = ortho_group.rvs(5, random_state=1)
    Y = 3.0 * X @ Q - 4.0
    d, R = metrics.procrustes_distance(X, Y, return_rotation=True)
    assert d == pytest.approx(0.0, abs=1e-12)
    assert metrics.angular_procrustes_distance(X, Y) == pytest.approx(0.0, abs=1e-7)
    assert np.allclose(R, Q.T, atol=1e-10)            # the fitted rotation undoes Q


def test_procrustes_matches_nuclear_norm_closed_form(XY):
    X, Y = XY
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    Xc, Yc = Xc / np.linalg.norm(Xc), np.pad(Yc, ((0, 0), (0, 1))) / np.linalg.norm(Yc)
    nuc = np.linalg.svd(Xc.T @ Yc, compute_uv=False).sum()
    d = metrics.procrustes_distance(X, Y)
    theta = metrics.angular_procrustes_distance(X, Y)
    assert d == pytest.approx(np.sqrt(2 - 2 * nuc), rel=1e-12)
    assert theta == pytest.approx(np.arccos(nuc), rel=1e-12)
    assert d == pytest.approx(2 * np.sin(theta / 2), rel=1e-12)


def test_angular_procrustes_of_diagonal_scaling_closed_form():
    # X with orthonormal centred columns, Y = X diag(s): cos theta = sum s / sqrt(d sum s^2)
    rng = np.random.default_rng(2)
    A = rng.normal(size=(50, 4))
    A -= A.mean(0)
    X, _ = np.linalg.qr(A)
    s = np.array([1.0, 2.0, 3.0, 4.0])
    expected = np.arccos(s.sum() / np.sqrt(4 * np.sum(s**2)))
    assert metrics.angular_procrustes_distance(X, X * s) == pytest.approx(expected, rel=1e-12)
    # alpha = 0 whitens: invertible linear maps cost nothing
    assert metrics.angular_procrustes_distance(X, X * s, alpha=0) == pytest.approx(0, abs=1e-7)


def test_procrustes_unnormalised_is_size_and_shape(XY):
    X, _ = XY
    Xc = X - X.mean(0)
    # ||X - 2X|| = ||X||: scaling is no longer removed
    assert metrics.procrustes_distance(X, 2 * X, normalize=False) == pytest.approx(
        np.linalg.norm(Xc), rel=1e-12)


def test_shape_metrics_satisfy_triangle_inequality():
    rng = np.random.default_rng(5)
    reps = [rng.normal(size=(40, 3)) @ rng.normal(size=(3, 3)) + 0.5 * rng.normal(size=(40, 3))
            for _ in range(5)]
    for f in (metrics.procrustes_distance, metrics.angular_procrustes_distance):
        D = np.array([[f(a, b) for b in reps] for a in reps])
        assert np.allclose(D, D.T, atol=1e-10)
        for i in range(5):
            for j in range(5):
                for k in range(5):
                    assert D[i, k] <= D[i, j] + D[j, k] + 1e-10


def test_partial_whiten_endpoints(XY):
    X, _ = XY
    Xc = X - X.mean(0)
    assert np.array_equal(metrics.partial_whiten(Xc, 1.0), Xc)
    W = metrics.partial_whiten(Xc, 0.0)
    C = W.T @ W
    assert np.allclose(C, C[0, 0] * np.eye(5), atol=1e-10)        # whitened
    assert np.linalg.norm(W) == pytest.approx(np.linalg.norm(Xc))  # variance preserved


# --------------------------------------------------------------------------- invariance table
EXPECTED = {   # rotation, isotropic scaling, translation, invertible linear
    "KA (linear)": (True, True, False, False),
    "CKA (linear)": (True, True, True, False),
    "CKA (rbf, median)": (True, True, True, False),
    "D (distance alignment)": (True, False, True, False),
    "RSA (Spearman)": (True, True, True, False),
    "RSA (Pearson)": (True, True, True, False),
    "Procrustes": (True, True, True, False),
    "angular Procrustes": (True, True, True, False),
    "shape metric, alpha=0": (True, True, True, True),
    "mutual kNN": (True, True, False, False),
}


def test_invariance_table_matches_theory(XY):
    X, Y = XY
    t = metrics.invariance_table(X, Y)
    assert t.transforms == ["rotation", "isotropic scaling", "translation", "invertible linear"]
    for m, row in EXPECTED.items():
        assert tuple(t.invariant[m, tr] for tr in t.transforms) == row, m
        for tr, inv in zip(t.transforms, row):
            if not inv:   # a clear change, not a rounding effect
                assert t.relative_change(m, tr) > 1e-4, (m, tr)
    md = t.to_markdown()
    assert md.count("\n") == len(EXPECTED) + 1 and "✓" in md and "✗" in md
    assert t.as_bool_array().shape == (10, 4)


def test_invariance_table_custom_measures(XY):
    X, Y = XY
    t = metrics.invariance_table(X, Y, {"mean of X": lambda A, B: float(A.mean())},
                                 {"identity": lambda A: A, "shift": lambda A: A + 1.0})
    assert t.invariant["mean of X", "identity"] and not t.invariant["mean of X", "shift"]
    assert t.values["mean of X", "shift"] == pytest.approx(X.mean() + 1.0)


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize("call, match", [
    (lambda X, Y: metrics.rdm(X, "manhattan"), "metric"),
    (lambda X, Y: metrics.rdm(X[:, 0]), "X"),
    (lambda X, Y: metrics.rdm(np.zeros((3, 2)), "cosine"), "X\\[0\\]"),
    (lambda X, Y: metrics.rsa(X, Y[:-1]), "same number of samples"),
    (lambda X, Y: metrics.rsa(X, Y, method="kendall"), "method"),
    (lambda X, Y: metrics.rdm_correlation(np.ones((3, 4)), np.ones((3, 4))), "R1"),
    (lambda X, Y: metrics.rdm_correlation(metrics.rdm(X), metrics.rdm(X[:10])), "same samples"),
    (lambda X, Y: metrics.procrustes_distance(X, Y, alpha=1.5), "alpha"),
    (lambda X, Y: metrics.procrustes_distance(np.ones((5, 2)), Y[:5]), "X is zero"),
    (lambda X, Y: metrics.angular_procrustes_distance(X, np.full_like(Y, np.nan)), "Y"),
    (lambda X, Y: metrics.default_transforms(0), "d must"),
    (lambda X, Y: metrics.invariance_table(X, Y, measures={}), "measures"),
])
def test_bad_input_raises_valueerror_naming_argument(XY, call, match):
    X, Y = XY
    with pytest.raises(ValueError, match=match):
        call(X, Y)
