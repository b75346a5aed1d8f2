"""Inference for every measure: permutation p-values, bootstrap intervals, layer calibration.

Statistical tests use real replications (p-values uniform under independence,
intervals covering a closed-form population value); fast paths are checked
against the measure evaluated on explicitly permuted or copied rows.
"""
import json
import math

import numba
import numpy as np
import pytest
from scipy import stats

import repalign_edu as ra
from repalign_edu import _inference_engines as eng
from repalign_edu.backends import cpu_inference
from repalign_edu.registry import resolve_measure


def _pair(n, dx=4, dy=3, strength=1.0, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, dx))
    Y = strength * X[:, :dy] @ rng.normal(size=(dy, dy)) + rng.normal(size=(n, dy))
    return X, Y


# --------------------------------------------------------------------------- p-values under H0
@pytest.mark.parametrize("measure, kwargs, n", [
    ("cka", {}, 30),
    ("cka", {"kernel": "rbf"}, 30),
    ("mutual_knn", {"k": 10}, 100),
])
def test_pvalues_are_uniform_under_independence(measure, kwargs, n):
    reps, K = 200, 99
    p = np.empty(reps)
    for r in range(reps):
        rng = np.random.default_rng(10_000 + r)
        X, Y = rng.normal(size=(n, 3)), rng.normal(size=(n, 2))
        p[r] = ra.permutation_test(X, Y, measure, n_permutations=K, seed=r, **kwargs).pvalue
    assert stats.kstest(p, "uniform").pvalue > 0.01
    assert 0.02 <= np.mean(p <= 0.05) <= 0.09
    assert np.all(p >= 1 / (K + 1)) and np.allclose(p * (K + 1), np.round(p * (K + 1)))


@pytest.mark.parametrize("d", [3, 15])          # feature-space route, stored-Gram route
def test_null_mean_is_trK_trL_over_n_minus_1(d):
    n, K = 20, 2000
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(n, d)) ** 2
    res = ra.permutation_test(X, Y, "hsic", n_permutations=K, seed=1)
    assert res.route == ("linear feature space" if d == 3 else "stored Grams (float64)")
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    trK, trL = np.sum(Xc * Xc), np.sum(Yc * Yc)
    expected = trK * trL / (n - 1) / n**2          # biased HSIC = tr(K P L P^T) / n^2
    mc_se = res.null.std() / math.sqrt(K)
    assert abs(res.null.mean() - expected) < 4 * mc_se
    assert mc_se < 0.05 * expected                 # the check has power


# --------------------------------------------------------------------------- fast paths are exact
FORMS = [
    ("cka", {}), ("cka", {"estimator": "unbiased"}), ("cka", {"kernel": "rbf"}),
    ("cka", {"kernel": "rbf", "estimator": "unbiased"}), ("cka", {"kernel": "laplacian", "sigma": 2.0}),
    ("hsic", {}), ("hsic", {"kernel": "rbf", "estimator": "unbiased"}),
    ("kernel_alignment", {}), ("kernel_alignment", {"kernel": "rbf"}),
    ("kernel_alignment", {"centered": True, "kernel": "polynomial"}), ("mutual_knn", {"k": 4}),
]


@pytest.mark.parametrize("measure, kwargs", FORMS)
def test_fast_null_equals_the_measure_on_permuted_rows(measure, kwargs):
    X, Y = _pair(40, seed=3)
    f = ra.MEASURES[measure]
    fast = ra.permutation_test(X, Y, measure, n_permutations=30, seed=5, **kwargs)
    slow = ra.permutation_test(X, Y, lambda A, B: f(A, B, backend="numpy", **kwargs),
                               n_permutations=30, seed=5)
    assert fast.route != "measure per permutation"
    np.testing.assert_allclose(fast.null, slow.null, rtol=1e-10, atol=1e-12)
    assert fast.statistic == pytest.approx(f(X, Y, **kwargs), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("kwargs", [{"kernel": "rbf"}, {"kernel": "rbf", "estimator": "unbiased"}])
def test_float32_storage_and_streaming_agree_with_float64(kwargs):
    X, Y = _pair(60, seed=4)
    ref = ra.permutation_test(X, Y, "cka", n_permutations=20, seed=2, **kwargs)
    f64 = 2 * 8 * 60 * 60 + 16 * 512 * 60
    f32 = ra.permutation_test(X, Y, "cka", n_permutations=20, seed=2, memory_budget=f64 - 1,
                              **kwargs)
    streamed = ra.permutation_test(X, Y, "cka", n_permutations=20, seed=2, memory_budget=1,
                                   **kwargs)
    assert f32.route == "stored Grams (float32)" and streamed.route == "streamed Grams"
    assert np.max(np.abs(f32.null - ref.null)) < 1e-7
    np.testing.assert_allclose(streamed.null, ref.null, rtol=1e-10, atol=1e-13)


def test_same_seed_same_null_on_every_backend_and_thread_count():
    X, Y = _pair(300, seed=6)
    old = numba.get_num_threads()
    out = {}
    try:
        for threads in sorted({1, old}):
            numba.set_num_threads(threads)
            for backend in ("numpy", "cpu"):
                for m, kw in (("cka", {"kernel": "rbf"}), ("mutual_knn", {"k": 5}), ("cka", {})):
                    r = ra.permutation_test(X, Y, m, n_permutations=400 if m != "cka" or kw
                                            else 20, seed=11, backend=backend, **kw)
                    out.setdefault(m + str(kw), []).append(r.null)
    finally:
        numba.set_num_threads(old)
    for nulls in out.values():
        for other in nulls[1:]:
            assert np.array_equal(nulls[0], other)
    b = ra.permutation_test(X, Y, n_permutations=20, seed=12)
    assert not np.array_equal(b.null, out["cka{}"][0])


def test_knn_relabelling_kernel_matches_a_recomputation():
    rng = np.random.default_rng(8)
    X, Y = rng.normal(size=(50, 3)), rng.normal(size=(50, 3))
    Xn, Yn, k = eng.knn_normed(X, Y, 6)
    NX = np.argsort(-(Xn @ Xn.T) + 10 * np.eye(50), axis=1, kind="stable")[:, :6]
    perms = np.array([rng.permutation(50) for _ in range(5)])
    got = cpu_inference.knn_permuted_counts(eng.cpu.knn_sets(Xn, 6), eng.cpu.knn_sets(Yn, 6),
                                            perms)
    for q, p in enumerate(perms):
        Yp = Yn[p]
        NY = np.argsort(-(Yp @ Yp.T) + 10 * np.eye(50), axis=1, kind="stable")[:, :6]
        want = sum(len(set(NX[i]) & set(NY[i])) for i in range(50))
        assert got[q] == want


# --------------------------------------------------------------------------- decisions
def test_pvalue_threshold_and_calibrated_follow_their_definitions():
    X, Y = _pair(50, strength=0.4, seed=9)
    res = ra.permutation_test(X, Y, "cka", n_permutations=99, alpha=0.1, seed=0)
    K = 99
    assert res.pvalue == (1 + np.sum(res.null >= res.statistic - 1e-12)) / (K + 1)
    pooled = np.sort(np.append(res.null, res.statistic))
    assert res.threshold == pooled[math.ceil(0.9 * (K + 1)) - 1]
    want = np.clip((res.statistic - res.threshold) / (1.0 - res.threshold), 0, 1)
    assert res.calibrated == pytest.approx(want, abs=1e-15)
    # a distance mirrors everything: small is aligned, the threshold is a low quantile
    d = ra.permutation_test(X, Y, "procrustes_distance", n_permutations=99, seed=0)
    assert d.pvalue == (1 + np.sum(d.null <= d.statistic + 1e-12 * d.statistic)) / (K + 1)
    pooled = np.sort(np.append(d.null, d.statistic))
    assert d.threshold == pooled[K + 1 - math.ceil(0.95 * (K + 1))]
    assert d.calibrated == pytest.approx(np.clip((d.threshold - d.statistic) / d.threshold, 0, 1))
    # unbounded measure: no calibrated score
    assert ra.permutation_test(X, Y, "hsic", n_permutations=9, seed=0).calibrated is None


def test_groups_restrict_permutations_to_within_group_shuffles():
    rng = np.random.default_rng(10)
    groups = np.repeat(np.arange(10), 6)
    offset = rng.normal(size=(10, 2))[groups] * 3    # shared by X and Y: not exchangeable
    X = offset + rng.normal(size=(60, 2))
    Y = offset + rng.normal(size=(60, 2))
    free = ra.permutation_test(X, Y, n_permutations=199, seed=0)
    within = ra.permutation_test(X, Y, n_permutations=199, seed=0, groups=groups)
    assert free.pvalue == 1 / 200                 # the group effect looks like alignment
    assert within.pvalue > 0.05                   # within groups the rows are independent
    perms = ra.inference._draw(np.random.default_rng(0), 60,
                               5, ra.inference._group_index(groups, 60))
    for p in perms:
        assert np.array_equal(groups[p], groups) and not np.array_equal(p, np.arange(60))


def test_progress_bar_goes_to_stderr(capsys):
    X, Y = _pair(40, seed=1)
    quiet = ra.permutation_test(X, Y, n_permutations=30, seed=0)
    shown = ra.permutation_test(X, Y, n_permutations=30, seed=0, progress=True)
    ra.bootstrap_ci(X, Y, n_resamples=30, seed=0, progress=True)
    ra.calibrate_layers([X], [Y], n_permutations=30, seed=0, progress=True)
    out = capsys.readouterr()
    assert out.out == "" and "permutations (cka)" in out.err and "30/30" in out.err
    assert np.array_equal(quiet.null, shown.null)
    ra.permutation_test(X, Y, n_permutations=30, seed=0, progress=None)   # auto: stderr is no terminal here
    assert capsys.readouterr().err == ""


def test_results_print_render_and_serialise():
    X, Y = _pair(40, seed=1)
    results = [ra.permutation_test(X, Y, n_permutations=19, seed=0),
               ra.bootstrap_ci(X, Y, n_resamples=50, seed=0),
               ra.calibrate_layers([X, X[:, :2]], [Y], n_permutations=19, seed=0)]
    for res in results:
        line = str(res)
        assert "\n" not in line and res.measure in line
        assert "<table>" in res._repr_html_()
        d = json.loads(json.dumps(res.to_dict()))
        assert d["statistic"] == pytest.approx(res.statistic)
        with pytest.raises(AttributeError):
            res.statistic = 0.0


# --------------------------------------------------------------------------- layers
def test_calibrate_layers_applies_one_permutation_to_every_layer():
    X, Y = _pair(60, seed=2)
    rng = np.random.default_rng(3)
    lx = [X, X + rng.normal(size=X.shape), rng.normal(size=(60, 5))]
    ly = [Y, rng.normal(size=(60, 2))]
    res = ra.calibrate_layers(lx, ly, "cka", n_permutations=50, seed=4)
    singles = [[ra.permutation_test(a, b, n_permutations=50, seed=4) for b in ly] for a in lx]
    np.testing.assert_allclose(res.matrix, [[s.statistic for s in row] for row in singles])
    stacked = np.array([[s.null for s in row] for row in singles])
    np.testing.assert_array_equal(res.null, stacked.max(axis=(0, 1)))
    assert res.statistic == res.matrix.max() and res.best == (0, 0)
    # the max over pairs has a higher null than any single pair's
    assert res.threshold >= max(s.threshold for row in singles for s in row)
    mean = ra.calibrate_layers(lx, ly, "cka", agg="mean", n_permutations=50, seed=4)
    assert mean.statistic == pytest.approx(res.matrix.mean())


# --------------------------------------------------------------------------- bootstrap
BOOT_FORMS = [("cka", {}), ("hsic", {}), ("kernel_alignment", {}), ("cka", {"estimator": "unbiased"}),
              ("cka", {"kernel": "rbf", "sigma": (1.5, 2.0)}),
              ("cka", {"kernel": "rbf", "sigma": (1.5, 2.0), "estimator": "unbiased"}),
              ("hsic", {"kernel": "rbf", "sigma": 1.0, "estimator": "unbiased"})]


@pytest.mark.parametrize("measure, kwargs", BOOT_FORMS)
def test_weighted_resamples_equal_copied_rows(measure, kwargs):
    X, Y = _pair(30, seed=5)
    info = resolve_measure(measure)
    engine, route = eng.make_bootstrap_engine(info, X, Y, kwargs, "cpu", 2e9, "keep")
    assert route != "measure on copied rows"
    counts = ra.inference._counts(np.random.default_rng(0), 30, 4)
    assert np.all(counts.sum(axis=1) == 30)
    idx = [np.repeat(np.arange(30), c) for c in counts]
    np.testing.assert_allclose(engine.values(counts),
                               [info.func(X[i], Y[i], **kwargs) for i in idx], rtol=1e-9)
    np.testing.assert_allclose(engine.jackknife(),
                               [info.func(np.delete(X, i, 0), np.delete(Y, i, 0), **kwargs)
                                for i in range(30)], rtol=1e-9)


def test_bootstrap_coverage_against_the_closed_form_linear_cka():
    """Gaussian pairs: population linear CKA = ||S_XY||^2 / (||S_XX|| ||S_YY||)."""
    A = np.array([[1.0, 0.5, 0.0], [0.0, 0.8, 0.3], [0.2, 0.0, 0.6]])
    S_yy = A.T @ A + np.eye(3)
    truth = np.linalg.norm(A) ** 2 / (np.linalg.norm(np.eye(3)) * np.linalg.norm(S_yy))
    reps, n = 200, 500
    hits = {m: 0 for m in ra.inference.BOOTSTRAP_METHODS}
    for r in range(reps):
        rng = np.random.default_rng(r)
        X = rng.normal(size=(n, 3))
        Y = X @ A + rng.normal(size=(n, 3))
        for m in hits:
            ci = ra.bootstrap_ci(X, Y, "cka", method=m, n_resamples=500, seed=r)
            hits[m] += ci.low <= truth <= ci.high
    for m, h in hits.items():
        assert 0.91 <= h / reps <= 0.99, (m, h / reps)


def test_bootstrap_interval_brackets_and_is_reproducible():
    X, Y = _pair(80, seed=6)
    a = ra.bootstrap_ci(X, Y, "cka", kernel="rbf", n_resamples=200, seed=1)
    b = ra.bootstrap_ci(X, Y, "cka", kernel="rbf", n_resamples=200, seed=1)
    assert np.array_equal(a.replicates, b.replicates) and a.low < a.statistic < a.high
    knn = ra.bootstrap_ci(X, Y, "mutual_knn", k=5, n_resamples=40, seed=1)
    assert knn.self_pairs == "drop" and knn.route == "k-NN on distinct rows"
    # resamples hold ~63% distinct rows, so their neighbourhoods are wider and the overlap
    # larger: the bootstrap of mutual k-NN is biased upward (documented); the jackknife is not
    assert knn.low > knn.statistic
    jack = ra.bootstrap_ci(X, Y, "mutual_knn", k=5, method="jackknife")
    assert jack.low < jack.statistic < jack.high and len(jack.replicates) == 80


# --------------------------------------------------------------------------- bad input
def test_bad_input_raises_value_errors_that_name_the_argument():
    X, Y = _pair(30, seed=7)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="n_permutations"):
            ra.permutation_test(X, Y, n_permutations=bad)
        with pytest.raises(ValueError, match="n_permutations"):
            ra.calibrate_layers([X], [Y], n_permutations=bad)
    with pytest.raises(ValueError, match="n_resamples"):
        ra.bootstrap_ci(X, Y, n_resamples=0)
    for bad in (0, 1, 1.5, -0.1, float("nan")):
        with pytest.raises(ValueError, match="level"):
            ra.bootstrap_ci(X, Y, level=bad)
        with pytest.raises(ValueError, match="alpha"):
            ra.permutation_test(X, Y, alpha=bad)
    with pytest.raises(ValueError, match="groups"):
        ra.permutation_test(X, Y, groups=np.zeros(29))
    with pytest.raises(ValueError, match="singleton"):
        ra.permutation_test(X, Y, groups=np.arange(30))
    with pytest.raises(ValueError, match="registered.*cka"):
        ra.permutation_test(X, Y, measure="ckaa")
    with pytest.raises(ValueError, match="registered.*mutual_knn"):
        ra.bootstrap_ci(X, Y, measure="nope")
    with pytest.raises(ValueError, match="returned nan"):
        ra.permutation_test(X, Y, measure=lambda A, B: float("nan"))
    with pytest.raises(ValueError, match="finite"):
        ra.bootstrap_ci(X, Y, measure=lambda A, B: float("nan"))
    with pytest.raises(ValueError, match="method"):
        ra.bootstrap_ci(X, Y, method="studentised")
    with pytest.raises(ValueError, match="ZeroDivisionError"):
        ra.permutation_test(X, Y, measure=lambda A, B: 1 / 0)
    with pytest.raises(ValueError, match="rejected the arguments"):
        ra.permutation_test(X, Y, measure="rsa", n_permutations=5, bogus=1)
    with pytest.raises(ValueError, match="zero variance"):
        ra.permutation_test(np.ones((30, 2)), Y)
    with pytest.raises(ValueError, match="same number of samples"):
        ra.permutation_test(X, Y[:20])
    with pytest.raises(ValueError, match="agg"):
        ra.calibrate_layers([X], [Y], agg="best")
    with pytest.raises(ValueError, match="memory_budget"):
        ra.hsic_test(X, Y, memory_budget=100)


def test_knn_jackknife_equals_leave_one_out_recomputation():
    X, Y = _pair(60, seed=8)
    jack = ra.bootstrap_ci(X, Y, "mutual_knn", k=4, method="jackknife")
    want = [ra.mutual_knn(np.delete(X, i, 0), np.delete(Y, i, 0), 4) for i in range(60)]
    np.testing.assert_allclose(jack.replicates, want, rtol=0, atol=1e-15)


def test_self_pairs_default_follows_the_estimator():
    X, Y = _pair(40, seed=9)
    assert ra.bootstrap_ci(X, Y, "cka", n_resamples=5, seed=0).self_pairs == "keep"
    assert ra.bootstrap_ci(X, Y, "cka", estimator="unbiased", n_resamples=5, seed=0).self_pairs == "drop"
    assert ra.bootstrap_ci(X, Y, "hsic", estimator="unbiased", n_resamples=5,
                           seed=0).self_pairs == "drop"
    assert ra.bootstrap_ci(X, Y, "hsic", kernel="rbf", estimator="unbiased", n_resamples=5,
                           seed=0).self_pairs == "keep"


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
def test_kernel_permutations_keep_every_digit_when_k_is_nearly_constant(estimator):
    """Issue 9 kind 1 in the permutation engines: a bandwidth far above the spread of the data."""
    r = np.random.default_rng(0)
    X = 1e-3 * r.normal(size=(40, 3))
    Y = 1e-3 * r.normal(size=(40, 3)) + X
    kw = dict(kernel="rbf", sigma=10.0, estimator=estimator)
    ref = ra.cka(X, Y, backend="numpy", **kw)
    stored = ra.permutation_test(X, Y, "cka", n_permutations=30, seed=1, **kw)
    streamed = ra.permutation_test(X, Y, "cka", n_permutations=30, seed=1, memory_budget=1, **kw)
    assert stored.statistic == pytest.approx(ref, rel=1e-8)
    np.testing.assert_allclose(stored.null, streamed.null, rtol=1e-8)
    assert np.all((stored.null > -1) & (stored.null < 1))


def test_polynomial_permutation_statistic_with_a_large_offset():
    r = np.random.default_rng(3)
    X = 30000.0 + r.integers(0, 5, size=(12, 3))
    Y = r.integers(0, 5, size=(12, 2)).astype(float)
    ref = ra.cka(X, Y, "polynomial", backend="numpy")
    res = ra.permutation_test(X, Y, "cka", kernel="polynomial", n_permutations=20, seed=0)
    assert res.statistic == pytest.approx(ref, rel=1e-8)


def test_calibrate_layers_takes_dicts_and_rejects_non_arrays():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    Y = X @ rng.normal(size=(4, 3)) + 0.5 * rng.normal(size=(30, 3))
    as_dict = ra.calibrate_layers({"a": X, "b": np.tanh(X)}, {"c": Y}, "cka", n_permutations=20, seed=0)
    as_list = ra.calibrate_layers([X, np.tanh(X)], [Y], "cka", n_permutations=20, seed=0)
    np.testing.assert_array_equal(as_dict.matrix, as_list.matrix)
    np.testing.assert_array_equal(as_dict.null, as_list.null)
    with pytest.raises(ValueError, match="layers_X"):
        ra.calibrate_layers(["ab", "cd"], [Y], "cka", n_permutations=20)


def test_bootstrap_reports_the_measures_own_error_for_a_bad_k():
    X, Y = _pair(30, seed=8)
    for name in ("knn_jaccard", "cycle_knn", "mutual_knn", "cknna"):
        with pytest.raises(ValueError, match=r"1 <= k < n = 30"):
            ra.bootstrap_ci(X, Y, name, n_resamples=5, seed=0, k=100)
