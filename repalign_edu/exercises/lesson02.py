"""Exercises of lesson 02: probabilistic alignment (paper sections 3.3-3.4, App. 6.2)."""
from __future__ import annotations

import numpy as np

from ..gaussian import w2_independence_paper
from ._core import Exercise, close, compare_function


# --------------------------------------------------------------------------- 02.hsic
def _hsic_b(K, L):
    n = len(K)
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / n**2


def _hsic_uncentred(K, L):
    return np.trace(K @ L) / len(K) ** 2


def _hsic_n_minus_1(K, L):
    n = len(K)
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H) / (n - 1) ** 2


def _hsic_no_normalisation(K, L):
    n = len(K)
    H = np.eye(n) - np.ones((n, n)) / n
    return np.trace(K @ H @ L @ H)


def _check_hsic(fn):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 3))
    Y = X[:, :2] ** 2 + 0.3 * rng.normal(size=(30, 2))
    Z = rng.normal(loc=1.0, size=(9, 2))
    return compare_function(fn, _hsic_b, [(X @ X.T, Y @ Y.T), (Z @ Z.T, np.exp(-Z @ Z.T))], mistakes=[
        (_hsic_uncentred, "you forgot the centring matrix H = I - 11^T/n."),
        (_hsic_n_minus_1, "use 1/n^2 (this package's biased estimator), not 1/(n-1)^2."),
        (_hsic_no_normalisation, "divide the trace by n^2."),
    ], atol=1e-12, passed="your HSIC_b equals ra.hsic with Gram matrices.")


hsic_biased = Exercise(
    id="02.hsic",
    prompt="Write hsic_b(K, L) = Tr(K H L H) / n^2 from two Gram matrices.",
    checker=_check_hsic,
    reference=_hsic_b,
    answer_name="hsic_b",
    hints=("Build the centring matrix H first; then the formula is one line.",
           "H = np.eye(n) - np.ones((n, n)) / n with n = len(K); np.trace of the product K @ H @ L @ H, "
           "divided by n**2."),
    mistakes=(_hsic_uncentred, _hsic_n_minus_1, _hsic_no_normalisation),
)


# --------------------------------------------------------------------------- 02.mi
def _gaussian_mi(rho):
    rho = np.asarray(rho)
    return -0.5 * np.sum(np.log(1 - rho**2))


def _mi_unsquared(rho):
    return -0.5 * np.sum(np.log(1 - np.asarray(rho)))


def _mi_bits(rho):
    return -0.5 * np.sum(np.log2(1 - np.asarray(rho) ** 2))


def _mi_no_half(rho):
    return -np.sum(np.log(1 - np.asarray(rho) ** 2))


def _check_mi(fn):
    return compare_function(fn, _gaussian_mi, [(np.array([0.8, 0.45, 0.2]),), (np.array([0.3]),)], mistakes=[
        (_mi_unsquared, "the formula has rho_i squared."),
        (_mi_bits, "np.log2 gives bits; the lesson measures MI in nats (np.log)."),
        (_mi_no_half, "the factor is -1/2, not -1."),
    ], rtol=1e-9, passed="your Gaussian MI matches gaussian.mutual_information.")


gaussian_mi = Exercise(
    id="02.mi",
    prompt="Write gaussian_mi(rho) = -1/2 sum_i log(1 - rho_i^2), the MI of a Gaussian pair in nats.",
    checker=_check_mi,
    reference=_gaussian_mi,
    answer_name="gaussian_mi",
    hints=("Each canonical pair contributes its own term; sum them.",
           "np.log is the natural log (nats); square rho before subtracting it from 1, and keep the -1/2."),
    mistakes=(_mi_unsquared, _mi_bits, _mi_no_half),
)


# --------------------------------------------------------------------------- 02.w2
def _w2(rho):
    rho = np.asarray(rho)
    return 2 * np.sum(2 - np.sqrt(1 + rho) - np.sqrt(1 - rho))


def _w2_one_sided(rho):
    rho = np.asarray(rho)
    return np.sum(2 - np.sqrt(1 + rho) - np.sqrt(1 - rho))


def _check_w2(fn):
    return compare_function(fn, _w2, [(np.array([0.9, 0.5, 0.1]),), (np.array([0.6]),)], mistakes=[
        (w2_independence_paper, "that is the paper's printed formula, the cost of the coupling that keeps "
                                "x_1 fixed; W_2^2 is the cheapest coupling. Use the eigenvalues 1 +- rho_i."),
        (_w2_one_sided, "Tr(Sigma + I - 2 Sigma^{1/2}) sums over all 2r eigenvalues: the factor 2 is missing."),
    ], rtol=1e-8, passed="your W_2^2 matches gaussian.w2_independence.")


w2_true = Exercise(
    id="02.w2",
    prompt=("Write w2(rho): the squared 2-Wasserstein distance between N(0, [[I, C], [C^T, I]]) "
            "and N(0, I), C = diag(rho)."),
    checker=_check_w2,
    reference=_w2,
    answer_name="w2",
    hints=("With Sigma_2 = I, the Bures formula needs only the eigenvalues of Sigma.",
           "Tr(Sigma + I - 2 Sigma^{1/2}): each block [[1, rho_i], [rho_i, 1]] of Sigma has eigenvalues "
           "1 + rho_i and 1 - rho_i."),
    mistakes=(w2_independence_paper, _w2_one_sided),
)


# --------------------------------------------------------------------------- 02.null_rate
def _check_null_rate(value):
    return close(value, 0.05, rtol=0, atol=1e-9)


null_rejection_rate = Exercise(
    id="02.null_rate",
    prompt=("Under independence, what fraction of HSIC permutation tests at level 0.05 reject? "
            "Answer with a number."),
    checker=_check_null_rate,
    reference=0.05,
    answer_name="my_rate",
    hints=("What is the distribution of a valid p-value when the null hypothesis is true?",
           "A test rejects when p <= alpha. If p is uniform on [0, 1], how often is p <= 0.05?"),
    explanation=("0.05: under the null the permutation p-value is (about) uniform on [0, 1], so "
                 "P(p <= alpha) = alpha: a calibrated test rejects a fraction alpha of the time."),
    mistakes=(0.0, 0.95),
)
