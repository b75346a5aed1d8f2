"""Mutual k-NN on duplicate rows: every backend applies the tie rule (smaller index first).

The neighbour rule: s_ij is the float64 inner product of the L2-normalised rows
summed in feature order, so it depends only on the two rows; duplicate rows tie
exactly and the smaller index wins (issue 9, kind 4).  The cpu backend finds the
neighbours by float32 screening with exact re-ranking (issue 14); its sets must
equal the numpy reference's bit for bit, including rows that need the fallback.
"""
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu.backends import cpu, numpy_ref
from repalign_edu.measures import _unit_rows


def _grouped(rng, n, m, d):
    """n rows drawn from m distinct N(0, 1) patterns, and the group of each row."""
    groups = rng.integers(0, m, size=n)
    return rng.normal(size=(m, d))[groups], groups


def _mknn_by_groups(gx, px, gy, py, k):
    """Textbook mutual k-NN where ties are exact by construction.

    The similarity of rows i, j is the cosine of their *patterns*, computed once
    per pair of groups, so duplicates get the very same number; each row's
    neighbours are the first k of the other rows sorted by (-similarity, index).
    """
    def sets(g, P):
        U = P / np.linalg.norm(P, axis=1, keepdims=True)
        C = U @ U.T
        n = len(g)
        return [set(sorted((j for j in range(n) if j != i), key=lambda j: (-C[g[i], g[j]], j))[:k])
                for i in range(n)]
    return np.mean([len(a & b) / k for a, b in zip(sets(gx, px), sets(gy, py))])


@pytest.mark.parametrize("n, m, k", [(12, 3, 3), (700, 150, 10), (200, 4, 30)])
def test_duplicate_rows_follow_the_tie_rule_on_every_cpu_backend(n, m, k):
    rng = np.random.default_rng(n)
    gx = rng.integers(0, m, size=n)
    gy = rng.integers(0, m, size=n)
    px, py = rng.normal(size=(m, 5)), rng.normal(size=(m, 7))
    X, Y = px[gx], py[gy]
    expected = _mknn_by_groups(gx, px, gy, py, k)
    for backend in ("numpy", "cpu"):
        assert ra.mutual_knn(X, Y, k, backend=backend) == pytest.approx(expected, abs=1e-15)


def test_duplicates_come_first_in_index_order():
    rng = np.random.default_rng(3)
    X, groups = _grouped(rng, 60, 5, 4)
    Xn = _unit_rows(X, "X")
    for sets in (numpy_ref.knn_sets(Xn, 3), cpu.knn_sets(Xn, 3)):
        for i in range(60):
            twins = [j for j in range(60) if j != i and groups[j] == groups[i]]
            assert list(sets[i][: min(3, len(twins))]) == twins[:3]


@pytest.mark.parametrize("seed", range(6))
def test_cpu_sets_equal_the_reference_bit_for_bit(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(30, 400))
    d = int(rng.integers(1, 40))
    k = int(rng.integers(1, 30))
    if seed % 3 == 0:       # integer entries: many exact ties between distinct rows too
        X = rng.integers(-2, 3, size=(n, d)).astype(float)
        X[np.all(X == 0, axis=1), 0] = 1.0
    elif seed % 3 == 1:     # duplicates of a few patterns
        X, _ = _grouped(rng, n, max(2, n // 40), d)
    else:                   # generic: every row certified by the float32 screening
        X = rng.normal(size=(n, d)) + 0.1
    Xn = _unit_rows(X, "X")
    k = min(k, n - 1)
    assert np.array_equal(cpu.knn_sets(Xn, k), numpy_ref.knn_sets(Xn, k))


def test_fallback_rows_are_exact_and_generic_rows_are_certified():
    rng = np.random.default_rng(7)
    X, _ = _grouped(rng, 400, 3, 6)           # ~133 copies per row: beyond any margin
    Xn = _unit_rows(X, "X")
    assert np.array_equal(cpu.knn_sets(Xn, 5), numpy_ref.knn_sets(Xn, 5))
    assert cpu.last_knn_fallback_rows > 0
    G = _unit_rows(rng.normal(size=(2500, 32)), "G")   # > KNN_ROWS: several blocks
    assert np.array_equal(cpu.knn_sets(G, 10), numpy_ref.knn_sets(G, 10))
    assert cpu.last_knn_fallback_rows == 0


def test_screening_error_bound_holds():
    """|float32 BLAS product - in-order float64 sum| <= the bound, also for cancelling rows."""
    rng = np.random.default_rng(11)
    for d in (1, 7, 64, 300):
        A = rng.normal(size=(300, d)) * rng.choice([1e-3, 1.0, 1e3], size=(300, d))
        A[:100] = A[0] + 1e-7 * rng.normal(size=(100, d))       # near-parallel rows
        U = _unit_rows(A, "A")
        exact = numpy_ref.inner_products(U)
        U32 = U.astype(np.float32)
        err = np.max(np.abs((U32 @ U32.T).astype(np.float64) - exact))
        bound = cpu.screening_error_bound(d, 2.0 ** -24, rows_rounded=True)
        assert err <= bound
        assert bound < 2.0 * (d + 2) * 2.0 ** -24             # and it is not vacuous
    assert cpu.screening_error_bound(2 ** 30, 2.0 ** -24, True) == np.inf


def test_huge_and_tiny_entries_give_the_unscaled_value():
    rng = np.random.default_rng(5)
    X, Y = rng.normal(size=(80, 6)), rng.normal(size=(80, 4))
    base = ra.mutual_knn(X, Y, 5, backend="cpu")
    for scale in (1e-300, 1e200, 1e300):
        for backend in ("numpy", "cpu"):
            assert ra.mutual_knn(scale * X, Y, 5, backend=backend) == base
