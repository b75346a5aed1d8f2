"""The HSIC permutation test (Gretton et al. 2008) with Phipson-Smyth p-values."""
import dataclasses

import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu.backends import cpu
from repalign_edu.independence import HSICTestResult, _numpy_permuted_sums


@pytest.fixture(scope="module")
def dependent():
    """Y depends on X only through X^2: uncorrelated, but not independent."""
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    Y = X**2 + 0.5 * rng.normal(size=(80, 2))
    return X, Y


def test_p_values_are_calibrated_under_independence():
    rng = np.random.default_rng(2025)
    p = np.array([
        ra.hsic_test(rng.normal(size=(50, 2)), rng.normal(size=(50, 3)), n_permutations=199,
                     seed=s).pvalue
        for s in range(100)
    ])
    # a valid test: P(p <= alpha) <= alpha; roughly uniform p-values
    assert 0.0 <= np.mean(p < 0.05) <= 0.12
    assert 0.0 <= np.mean(p < 0.2) <= 0.32
    assert 0.35 < p.mean() < 0.65
    # every p-value is one of the attainable values k / 200
    assert np.allclose(p * 200, np.round(p * 200))
    assert p.min() >= 1 / 200


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("backend", ["numpy", "cpu"])
def test_power_against_a_dependent_alternative(dependent, estimator, backend):
    X, Y = dependent
    assert abs(np.corrcoef(X[:, 0], Y[:, 0])[0, 1]) < 0.3  # invisible to correlation
    res = ra.hsic_test(X, Y, n_permutations=300, seed=0, estimator=estimator, backend=backend)
    assert res.pvalue < 0.01
    # no permutation beats the truth: the Phipson-Smyth floor 1 / (1 + P)
    assert res.pvalue == 1 / 301
    assert res.n_permutations == 300


@pytest.mark.parametrize("estimator", ["biased", "unbiased"])
@pytest.mark.parametrize("kernel", ["rbf", "linear", "laplacian"])
def test_statistic_is_the_hsic_estimate(dependent, estimator, kernel):
    X, Y = dependent
    res = ra.hsic_test(X, Y, kernel, n_permutations=20, seed=0, estimator=estimator)
    expected = ra.hsic(X, Y, kernel, estimator=estimator, backend="numpy")
    assert res.statistic == pytest.approx(expected, rel=1e-10)
    sigma = (0.7, 1.3)
    res = ra.hsic_test(X, Y, sigma=sigma, n_permutations=20, seed=0, estimator=estimator)
    assert res.statistic == pytest.approx(
        ra.hsic(X, Y, "rbf", sigma=sigma, estimator=estimator, backend="numpy"), rel=1e-10)


def test_same_seed_same_result_and_backends_agree(dependent):
    X, Y = dependent
    Yw = Y + 3.0 * np.random.default_rng(5).normal(size=Y.shape)  # weaker dependence: p ~ 0.1
    a = ra.hsic_test(X, Yw, n_permutations=250, seed=42, backend="cpu")
    b = ra.hsic_test(X, Yw, n_permutations=250, seed=42, backend="cpu")
    c = ra.hsic_test(X, Yw, n_permutations=250, seed=42, backend="numpy")
    assert (a.statistic, a.pvalue) == (b.statistic, b.pvalue)
    assert np.array_equal(a.null, b.null)
    assert a.pvalue == c.pvalue
    assert a.statistic == pytest.approx(c.statistic, rel=1e-12)
    assert 1 / 251 < a.pvalue < 1
    seeds = {ra.hsic_test(X, Yw, n_permutations=250, seed=s).pvalue for s in range(5)}
    assert len(seeds) > 1  # the seed matters
    assert ra.hsic_test(X, Yw, n_permutations=250,
                        seed=np.random.default_rng(42)).pvalue == a.pvalue


def test_result_is_a_frozen_record(dependent):
    X, Y = dependent
    res = ra.hsic_test(X, Y, n_permutations=10, seed=0)
    assert isinstance(res, HSICTestResult)
    assert type(res.statistic) is float and type(res.pvalue) is float
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.pvalue = 0.5


def test_permutation_kernel_matches_reference():
    rng = np.random.default_rng(3)
    n = 70
    Z = rng.normal(size=(n, 4))
    A, B = Z @ Z.T, np.exp(-np.square(Z[:, :1] - Z[:, :1].T))
    perms = np.array([rng.permutation(n) for _ in range(9)])
    t_ref, c_ref = _numpy_permuted_sums(A, B, B.sum(1), perms)
    t, c = cpu.permuted_sums(A, B, B.sum(1), perms)
    np.testing.assert_allclose(t, t_ref, rtol=1e-12)
    np.testing.assert_allclose(c, c_ref, rtol=1e-12)
    # the identity permutation gives <A, B>_F
    t0, _ = cpu.permuted_sums(A, B, B.sum(1), np.arange(n)[None, :])
    assert t0[0] == pytest.approx(np.sum(A * B), rel=1e-13)


def test_ties_count_as_exceedances():
    """Discrete data: many permutations give the observed statistic exactly; they are ties."""
    X = np.repeat([[0.0], [1.0]], 10, axis=0)
    Y = np.tile([[0.0], [1.0]], (10, 1))  # independent by construction: balanced 2 x 2 table
    res = ra.hsic_test(X, Y, "linear", n_permutations=200, seed=0)
    assert res.statistic == pytest.approx(0.0, abs=1e-15)
    assert res.pvalue == 1.0
