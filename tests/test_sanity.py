"""Lesson 06's protocols: the per-pair fast path equals the public measures, the tie rule,
the batched RBF CKA, the bootstrap interval's coverage."""
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import sanity
from repalign_edu.kernels import median_heuristic
from repalign_edu.metrics import angular_procrustes_distance


def _reps(seed=0, n=90):
    rng = np.random.default_rng(seed)
    X = np.maximum(rng.normal(size=(n, 9)) @ rng.normal(size=(9, 12)), 0) + 0.01 * rng.random((n, 12))
    Y = np.maximum(X @ rng.normal(size=(12, 8)) + 0.5 * rng.normal(size=(n, 8)), 0) + 0.01
    return X, Y


def test_pair_similarities_equal_the_public_measures():
    X, Y = _reps()
    got = sanity.pair_similarities(sanity.prepare(X), sanity.prepare(Y))
    k = sanity.K_NEIGHBOURS
    sx = median_heuristic(X, include_diagonal=True)
    sy = median_heuristic(Y, include_diagonal=True)
    want = {
        "CCA rho-bar": ra.cca_similarity(X, Y),
        "CCA R^2_CCA": ra.cca_similarity(X, Y, "mean_rho2"),
        "SVCCA rho-bar": ra.svcca(X, Y, 0.99),
        "SVCCA R^2_CCA": ra.svcca(X, Y, 0.99, "mean_rho2"),
        "PWCCA": ra.pwcca(X, Y) + ra.pwcca(Y, X),
        "linear regression": (ra.linear_regression_similarity(X, Y)
                              + ra.linear_regression_similarity(Y, X)),
        "linear HSIC": ra.hsic(X, Y, backend="numpy"),
        "linear CKA": ra.cka(X, Y, backend="numpy"),
        "Procrustes (cos theta)": np.cos(angular_procrustes_distance(X, Y)),
        "mutual k-NN": ra.mutual_knn(X, Y, k),
        "k-NN Jaccard": ra.knn_jaccard(X, Y, k),
        "CKNNA": ra.cknna(X, Y, k, backend="numpy"),
    }
    for f in sanity.RBF_FRACTIONS:
        want[f"RBF CKA {f}"] = ra.cka(X, Y, "rbf", sigma=(f * sx, f * sy), backend="numpy")
    assert set(got) == set(sanity.ALL_MEASURES)
    for m in sanity.ALL_MEASURES:
        assert got[m] == pytest.approx(want[m], rel=1e-9, abs=1e-12), m


def test_similarity_matrices_batched_rbf_and_symmetry():
    nets = [list(_reps(s, n=50)) for s in range(3)]                 # 3 "networks", 2 layers
    nets = [[A[:, :8], B] for A, B in nets]
    S = sanity.similarity_matrices(nets)
    a, b = sanity.prepare(nets[0][1]), sanity.prepare(nets[2][0])
    one = sanity.pair_similarities(a, b)
    for m in sanity.ALL_MEASURES:
        assert S[m][0, 2, 1, 0] == pytest.approx(one[m], rel=1e-10), m
        assert S[m][2, 0, 0, 1] == S[m][0, 2, 1, 0]
    assert np.isnan(S["linear CKA"][1, 1, 1, 1]) and np.isfinite(S["linear CKA"][1, 1, 0, 1])


def test_tie_rule_and_accuracy():
    L = 3
    S = np.zeros((2, 2, L, L))
    S[0, 1] = np.eye(L)                                 # perfect
    S[1, 0] = np.ones((L, L))                           # all tied: chance 1/L per trial
    A = sanity.identification_accuracy(S)
    assert A[0, 1] == 1.0 and A[1, 0] == pytest.approx(1 / 3)
    assert np.isnan(A[0, 0])
    S[1, 0] = np.array([[1, 1, 0], [0, 0, 1], [0, 1, 1]])   # ties of two, one miss
    assert sanity.identification_accuracy(S)[1, 0] == pytest.approx((0.5 + 0 + 0.5) / 3)
    assert np.allclose(sanity.per_layer_accuracy(S), [(1 + 0.5) / 2, (1 + 0) / 2, (1 + 0.5) / 2])


def test_degenerate_pairs_raise_unless_allowed():
    rng = np.random.default_rng(1)
    X, Y = rng.random((30, 40)), rng.random((30, 40))
    a, b = sanity.prepare(X), sanity.prepare(Y)
    with pytest.raises(ValueError, match="degenerate"):
        sanity.pair_similarities(a, b)
    s = sanity.pair_similarities(a, b, allow_degenerate=True)
    assert s["CCA rho-bar"] == pytest.approx(1.0) and s["linear regression"] == pytest.approx(2.0)


def test_bootstrap_interval_covers_at_its_level():
    rng = np.random.default_rng(2)
    hits = 0
    reps = 300
    for r in range(reps):
        x = rng.normal(size=40)
        lo, hi = sanity.bootstrap_ci(len(x), lambda idx: x[idx].mean(axis=1), n_boot=500, seed=r)
        hits += lo <= 0.0 <= hi
    assert 0.87 <= hits / reps <= 0.99                 # nominal 0.95 (percentile bootstrap, n=40)


def test_ranking_result_logic():
    vals = {"a": np.array([[3.0, 3.1], [2.0, 2.2], [1.0, 0.9]]),
            "b": np.array([[1.0, 1.0], [1.0, 1.0], [1.0, 1.0]])}
    r = sanity._ranking([0, 0.5, 1], vals)
    from scipy.stats import spearmanr

    want = spearmanr(np.repeat([0, 0.5, 1], 2), vals["a"].ravel())[0]
    assert r.correct["a"] and r.rho["a"] == pytest.approx(want, abs=1e-12) and want < -0.8
    assert not r.correct["b"] and np.isnan(r.rho["b"])


def test_spearman_rows_matches_scipy():
    from scipy.stats import spearmanr

    rng = np.random.default_rng(3)
    A = rng.integers(0, 4, (5, 12)).astype(float)          # ties on purpose
    B = rng.normal(size=(5, 12))
    got = sanity._spearman_rows(A, B)
    assert np.allclose(got, [spearmanr(a, b)[0] for a, b in zip(A, B)], atol=1e-12)
    assert np.isnan(sanity._spearman_rows(np.ones((1, 4)), B[:1, :4])[0])
