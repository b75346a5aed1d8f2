"""Gaussian closed forms: MI, Bures W2, the paper's W2 erratum, D and HSIC oracles (lesson 02)."""
import numpy as np
import pytest

import repalign_edu as ra
from repalign_edu import gaussian as g

RHO = [0.9, 0.5, 0.1]


def random_cov(d, seed):
    A = np.random.default_rng(seed).normal(size=(d, d))
    return A @ A.T + 0.5 * np.eye(d)


def test_mutual_information_formulas_agree():
    S = g.joint_covariance(RHO)
    expected = -0.5 * np.sum(np.log(1 - np.square(RHO)))
    assert g.mutual_information(S, 3) == pytest.approx(expected, rel=1e-13)
    assert g.mutual_information_from_rho(RHO) == pytest.approx(expected, rel=1e-13)
    # one pair with rho = sqrt(3)/2: MI = -1/2 log(1/4) = log 2
    assert g.mutual_information_from_rho([np.sqrt(3) / 2]) == pytest.approx(np.log(2), rel=1e-13)


def test_mutual_information_is_invariant_to_marginal_linear_maps():
    S = random_cov(5, 0)
    B = np.zeros((5, 5))
    B[:2, :2] = np.random.default_rng(1).normal(size=(2, 2))
    B[2:, 2:] = np.random.default_rng(2).normal(size=(3, 3))
    S2 = B @ S @ B.T
    assert g.mutual_information(S2, 2) == pytest.approx(g.mutual_information(S, 2), rel=1e-10)
    rho = g.canonical_correlations(S, 2)
    assert g.mutual_information_from_rho(rho) == pytest.approx(g.mutual_information(S, 2), rel=1e-10)


def test_canonical_correlations_of_joint_covariance():
    assert np.allclose(g.canonical_correlations(g.joint_covariance(RHO), 3), RHO, atol=1e-12)
    S = g.joint_covariance([0.7], d1=2, d2=3)
    assert np.allclose(g.canonical_correlations(S, 2), [0.7, 0.0], atol=1e-12)


def test_sample_canonical_correlations_converge():
    X, Y = g.sample_gaussian_pair([0.8, 0.3], 20000, seed=0)
    assert np.allclose(g.sample_canonical_correlations(X, Y), [0.8, 0.3], atol=0.02)


def test_paper_notes_numbers_for_w2():
    # paper-notes section 2.8: rho = (0.9, 0.5, 0.1): Bures 0.752 vs the paper's 1.406
    S = g.joint_covariance(RHO)
    assert g.w2_independence(S, 3) == pytest.approx(0.752047, abs=1e-6)
    assert g.w2_independence_from_rho(RHO) == pytest.approx(g.w2_independence(S, 3), rel=1e-12)
    assert g.w2_independence_paper(RHO) == pytest.approx(1.406195, abs=1e-6)


def test_bures_known_values():
    # commuting case: W2^2 = sum (sqrt(a) - sqrt(b))^2; means add ||m1 - m2||^2
    a, b = np.array([1.0, 4.0, 9.0]), np.array([4.0, 1.0, 9.0])
    assert g.bures_wasserstein2(np.diag(a), np.diag(b)) == pytest.approx(2.0, rel=1e-12)
    assert g.bures_wasserstein2(np.eye(2), np.eye(2), [0, 0], [3, 4]) == pytest.approx(25.0)
    S = random_cov(4, 3)
    assert g.bures_wasserstein2(S, S) == pytest.approx(0.0, abs=1e-10)


def test_paper_formula_is_the_x1_fixing_coupling_and_an_upper_bound():
    for rho in ([0.3], [0.9, 0.5, 0.1], [0.99, 0.0]):
        S = g.joint_covariance(rho)
        d1 = len(rho)
        assert g.coupling_cost_x1_fixed(S, d1) == pytest.approx(g.w2_independence_paper(rho), rel=1e-12)
        assert g.w2_independence(S, d1) < g.coupling_cost_x1_fixed(S, d1)
    for seed in range(3):                                   # general covariances too
        S = random_cov(5, seed)
        assert g.w2_independence(S, 2) <= g.coupling_cost_x1_fixed(S, 2) + 1e-12


def test_small_rho_asymptotics():
    r = 1e-3
    assert g.w2_independence_from_rho([r]) == pytest.approx(r**2 / 2, rel=1e-5)
    assert g.w2_independence_paper([r]) == pytest.approx(r**2, rel=1e-5)


def test_coupling_sampler_has_the_right_marginals_and_cost():
    S = random_cov(4, 7)
    J, P = g.sample_x1_fixed_coupling(S, 2, 200000, seed=0)
    assert np.allclose(np.cov(J.T), S, atol=0.05 * np.abs(S).max())
    assert np.allclose(np.cov(P.T)[:2, 2:], 0, atol=0.05 * np.abs(S).max())
    assert np.allclose(np.cov(P.T)[2:, 2:], S[2:, 2:], atol=0.05 * np.abs(S).max())
    cost = np.mean(np.sum((J - P) ** 2, axis=1))
    assert cost == pytest.approx(g.coupling_cost_x1_fixed(S, 2), rel=0.02)


def test_distance_alignment_gaussian_closed_form():
    d, c = 3, 0.5
    S = np.block([[np.eye(d), c * np.eye(d)], [c * np.eye(d), c * c * np.eye(d)]])
    assert g.distance_alignment_gaussian(S, d) == pytest.approx(4 * d * (d + 2) * (1 - c * c) ** 2)
    # the empirical V-statistic has expectation (1 - 1/n) D
    X = np.random.default_rng(0).normal(size=(1500, d))
    est = ra.distance_alignment(X, c * X, backend="numpy") / (1 - 1 / 1500)
    assert est == pytest.approx(g.distance_alignment_gaussian(S, d), rel=0.05)


def test_hsic_rbf_gaussian_oracle():
    S = g.joint_covariance([0.8])
    assert g.hsic_rbf_gaussian(g.joint_covariance([0.0]), 1, 1.0, 1.0) == pytest.approx(0, abs=1e-15)
    truth = g.hsic_rbf_gaussian(S, 1, 1.0, 1.0)
    ests = [ra.hsic(*g.sample_gaussian_pair([0.8], 400, seed=s), "rbf", sigma=1.0,
                    estimator="unbiased", backend="numpy") for s in range(20)]
    se = np.std(ests) / np.sqrt(len(ests))
    assert abs(np.mean(ests) - truth) < 4 * se


@pytest.mark.parametrize("call, match", [
    (lambda: g.mutual_information_from_rho([1.0]), "rho"),
    (lambda: g.mutual_information_from_rho([]), "rho"),
    (lambda: g.joint_covariance([0.5, 0.2], d1=1), "d1 and d2"),
    (lambda: g.mutual_information(np.eye(3), 3), "d1"),
    (lambda: g.mutual_information(np.ones((3, 3)), 1), "positive definite"),
    (lambda: g.mutual_information(np.ones((3, 2)), 1), "cov"),
    (lambda: g.bures_wasserstein2(np.eye(2), np.eye(3)), "same size"),
    (lambda: g.bures_wasserstein2(-np.eye(2), np.eye(2)), "cov1"),
    (lambda: g.bures_wasserstein2(np.eye(2), np.eye(2), mean2=[1, 2, 3]), "mean2"),
    (lambda: g.sample_canonical_correlations(np.ones((10, 2)), np.ones((10, 2))), "reg"),
    (lambda: g.hsic_rbf_gaussian(np.eye(2), 1, 0.0, 1.0), "sigma1"),
    (lambda: g.sample_gaussian_pair([0.5], 0), "n must"),
])
def test_bad_input_raises_valueerror_naming_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_additive_pair_moments_and_mi():
    x, y = g.sample_additive_pair(0.6, 0.0, 100000, seed=0)
    assert np.corrcoef(x[:, 0], y[:, 0])[0, 1] == pytest.approx(0.6, abs=0.01)
    assert y.var() == pytest.approx(1.0, abs=0.02)
    x, y = g.sample_additive_pair(0.9, 1.0, 100000, seed=1)           # uncorrelated ...
    assert abs(np.corrcoef(x[:, 0], y[:, 0])[0, 1]) < 0.01
    assert np.corrcoef(x[:, 0] ** 2, y[:, 0])[0, 1] > 0.85           # ... but dependent
    for a in (0.1, 0.5, 0.95):                                        # Gaussian case: closed form
        assert g.mutual_information_additive(a, 0.0) == pytest.approx(-0.5 * np.log(1 - a * a), rel=1e-8)
    assert g.mutual_information_additive(0.0, 0.7) == 0.0
    assert g.mutual_information_additive(0.9, 1.0) > 0.5


@pytest.mark.parametrize("call, match", [
    (lambda: g.sample_additive_pair(1.0, 0.0, 10), "strength"),
    (lambda: g.sample_additive_pair(0.5, -0.1, 10), "nonlinearity"),
    (lambda: g.mutual_information_additive(0.5, 0.5, n_nodes=2), "n_nodes"),
])
def test_additive_pair_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
