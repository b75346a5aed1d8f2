"""CKNNA, k-NN Jaccard and second-order cosine: textbook loop implementations written here,
closed forms, backend agreement and the documented invariances."""
import numpy as np
import pytest
from scipy.stats import ortho_group

import repalign_edu as ra


def _pair(seed=0, n=60, d=6, noise=0.6):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.hstack([X[:, :4], rng.normal(size=(n, 3))]) + noise * rng.normal(size=(n, 7))
    return X, Y


def _cos(A):
    An = A / np.linalg.norm(A, axis=1, keepdims=True)
    return An @ An.T


def _knn(A, k):
    """Neighbour sets by a Python sort: largest cosine first, ties to the smaller index."""
    S = _cos(A)
    n = len(A)
    return [sorted((j for j in range(n) if j != i), key=lambda j: (-S[i, j], j))[:k]
            for i in range(n)]


def textbook_jaccard(X, Y, k):
    NX, NY = _knn(X, k), _knn(Y, k)
    return np.mean([len(set(a) & set(b)) / len(set(a) | set(b)) for a, b in zip(NX, NY)])


def textbook_cknna(X, Y, k):
    K, L = _cos(X), _cos(Y)
    n = len(X)
    NX, NY = _knn(X, k), _knn(Y, k)

    def align(A, B, sets):
        total = 0.0
        for i in range(n):
            for j in sets[i]:
                total += (A[i, j] - A[i].mean()) * (B[i, j] - B[i].mean())
        return total

    mutual = [sorted(set(a) & set(b)) for a, b in zip(NX, NY)]
    return align(K, L, mutual) / np.sqrt(align(K, K, NX) * align(L, L, NY))


def textbook_second_order(X, Y, k):
    K, L = _cos(X), _cos(Y)
    out = []
    for i, (a, b) in enumerate(zip(_knn(X, k), _knn(Y, k))):
        u = sorted(set(a) | set(b))
        sx, sy = K[i, u], L[i, u]
        out.append(sx @ sy / (np.linalg.norm(sx) * np.linalg.norm(sy)))
    return float(np.mean(out))


def textbook_cycle(X, Y, k):
    NX, NY = _knn(X, k), _knn(Y, k)
    return float(np.mean([any(i in NX[j] for j in NY[i]) for i in range(len(X))]))


@pytest.mark.parametrize("backend", ["numpy", "cpu"])
@pytest.mark.parametrize("k", [1, 5, 12])
def test_match_textbook(backend, k):
    X, Y = _pair(k)
    assert ra.knn_jaccard(X, Y, k, backend=backend) == pytest.approx(textbook_jaccard(X, Y, k), abs=1e-12)
    assert ra.cknna(X, Y, k, backend=backend) == pytest.approx(textbook_cknna(X, Y, k), abs=1e-10)
    assert ra.second_order_cosine(X, Y, k, backend=backend) == pytest.approx(
        textbook_second_order(X, Y, k), abs=1e-12)
    assert ra.cycle_knn(X, Y, k, backend=backend) == textbook_cycle(X, Y, k)
    assert ra.cycle_knn(Y, X, k, backend=backend) == textbook_cycle(Y, X, k)


def test_cycle_knn_closed_forms():
    X, Y = _pair(8)
    # Y = X: the share of points with a reciprocal neighbour (some j in N(i) has i in N(j))
    N = _knn(X, 3)
    assert ra.cycle_knn(X, 2.0 * X, 3) == np.mean([any(i in N[j] for j in N[i]) for i in range(60)])
    assert ra.cycle_knn(X, Y, 59) == 1.0                 # k = n - 1: every other point is a neighbour
    # independence: each of the k sets N^X(j) holds i with probability k / (n - 1)
    rng = np.random.default_rng(9)
    n, k, reps = 200, 5, 40
    vals = [ra.cycle_knn(rng.normal(size=(n, 4)), rng.normal(size=(n, 4)), k) for _ in range(reps)]
    expect = 1 - (1 - k / (n - 1)) ** k
    se = np.sqrt(expect * (1 - expect) / (n * reps))     # points roughly independent
    assert abs(np.mean(vals) - expect) < 4 * se, (np.mean(vals), expect)
    assert ra.MEASURES.info("cycle_knn").symmetric is False
    A, B = _pair(10)
    assert ra.cycle_knn(A, B, 4) != ra.cycle_knn(B, A, 4)   # directed: Y's neighbours, then X's


def test_ties_go_to_the_smaller_index():
    # duplicated rows create exact cosine ties; every backend must break them the same way
    rng = np.random.default_rng(1)
    base = rng.normal(size=(10, 3))
    X = np.repeat(base, 3, axis=0)
    Y = X + 0.2 * rng.normal(size=X.shape)
    for k in (2, 4):
        want = textbook_jaccard(X, Y, k)
        assert ra.knn_jaccard(X, Y, k, backend="numpy") == pytest.approx(want, abs=1e-12)
        assert ra.knn_jaccard(X, Y, k, backend="cpu") == pytest.approx(want, abs=1e-12)


def test_jaccard_is_the_mutual_knn_count_transformed():
    from repalign_edu.backends import numpy_ref

    from repalign_edu.neighbors import _unit_rows

    X, Y = _pair(3)
    k = 7
    # knn_sets ranks the rows it is given: pass them L2-normalised (the cosine neighbours)
    A, B = numpy_ref.knn_sets(_unit_rows(X, "X"), k), numpy_ref.knn_sets(_unit_rows(Y, "Y"), k)
    c = np.array([len(np.intersect1d(a, b)) for a, b in zip(A, B)])
    assert ra.knn_jaccard(X, Y, k) == pytest.approx(np.mean(c / (2 * k - c)), abs=1e-14)
    assert ra.mutual_knn(X, Y, k) == pytest.approx(c.mean() / k, abs=1e-14)


def test_identical_neighbourhoods_give_one_and_bounds_hold():
    X, Y = _pair(4)
    for f in (ra.knn_jaccard, ra.cknna, ra.second_order_cosine):
        assert f(X, 2.5 * X) == pytest.approx(1.0, abs=1e-12)
    rng = np.random.default_rng(5)
    for _ in range(5):
        A, B = rng.normal(size=(40, 5)), rng.normal(size=(40, 3))
        assert 0.0 <= ra.knn_jaccard(A, B, 5) <= 1.0
        assert -1.0 <= ra.cknna(A, B, 5) <= 1.0
        assert -1.0 <= ra.second_order_cosine(A, B, 5) <= 1.0


@pytest.mark.parametrize("name", ["knn_jaccard", "cknna", "second_order_cosine", "cycle_knn"])
def test_invariances_as_documented(name):
    f = ra.MEASURES[name]
    X, Y = _pair(6)
    Q = ortho_group.rvs(X.shape[1], random_state=0)
    base = f(X, Y)
    assert f(X @ Q, Y) == pytest.approx(base, abs=1e-12)
    assert f(4.2 * X, Y) == pytest.approx(base, abs=1e-12)
    assert abs(f(X + 3.0, Y) - base) > 1e-3               # cosine neighbourhoods move
    info = ra.MEASURES.info(name)
    assert info.kind == "similarity"
    if info.symmetric:
        assert f(Y, X) == pytest.approx(base, abs=1e-12)
    assert f(X, Y @ ortho_group.rvs(Y.shape[1], random_state=1)) == pytest.approx(base, abs=1e-12)


@pytest.mark.parametrize("k, match", [(0, "k >= 1"), (60, "smaller k"), (2.0, "pass an int"),
                                      (True, "pass an int")])
def test_bad_k(k, match):
    X, Y = _pair()
    for f in (ra.knn_jaccard, ra.cknna, ra.second_order_cosine, ra.cycle_knn):
        with pytest.raises(ValueError, match=match):
            f(X, Y, k)


def test_zero_row_and_mismatched_n():
    X, Y = _pair()
    X[5] = 0.0
    with pytest.raises(ValueError, match=r"X\[5\] has norm 0"):
        ra.cknna(X, Y)
    with pytest.raises(ValueError, match=r"X\[5\] has norm 0"):
        ra.cycle_knn(X, Y)
    with pytest.raises(ValueError, match="same number of samples"):
        ra.knn_jaccard(X[1:], Y)
    with pytest.raises(ValueError, match="same number of samples"):
        ra.cycle_knn(X[1:], Y)


@pytest.mark.parametrize("scale", [1e-200, 1e200])
def test_extreme_scales_give_the_same_values(scale):
    X, Y = _pair(7)
    for f in (ra.knn_jaccard, ra.cknna, ra.second_order_cosine, ra.cycle_knn):
        for backend in ("numpy", "cpu"):
            assert f(scale * X, Y, backend=backend) == pytest.approx(f(X, Y, backend=backend),
                                                                      rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_cycle_knn_jackknife_and_resamples_match_the_measure(k):
    """The cycle k-NN bootstrap engine: leave-one-out values from (k+1)-lists found once,
    and subsample values, equal the measure recomputed on the kept rows (ties included)."""
    from repalign_edu import _inference_engines as eng
    from repalign_edu.registry import resolve_measure

    rng = np.random.default_rng(11)
    X, Y = _pair(12, n=50)
    X[7], Y[30] = X[3], Y[12]                           # exact ties
    engine, route = eng.make_bootstrap_engine(resolve_measure("cycle_knn"), X, Y, {"k": k},
                                              "cpu", 2e9, "drop")
    assert route == "k-NN on distinct rows"
    want = [ra.cycle_knn(np.delete(X, i, 0), np.delete(Y, i, 0), k) for i in range(50)]
    np.testing.assert_allclose(engine.jackknife(), want, rtol=0, atol=1e-15)
    counts = (rng.random((4, 50)) < 0.7).astype(np.int64)
    got = engine.values(counts)
    for c, g in zip(counts, got):
        idx = np.flatnonzero(c)
        assert g == pytest.approx(ra.cycle_knn(X[idx], Y[idx], k), abs=1e-15)
    ci = ra.bootstrap_ci(X, Y, "cycle_knn", method="jackknife", k=k)
    assert ci.route == "k-NN on distinct rows" and ci.low <= ci.statistic <= ci.high
    assert ra.bootstrap_ci(X, Y, "cycle_knn", n_resamples=20, seed=0, k=k).self_pairs == "drop"
