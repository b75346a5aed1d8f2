"""Exercises of lesson 02: probabilistic alignment (paper sections 3.3-3.4, App. 6.2)."""
from __future__ import annotations

import numpy as np

from ..gaussian import (joint_covariance, mutual_information, w2_independence,
                        w2_independence_paper)
from ..measures import hsic
from ._core import Exercise, close


# --------------------------------------------------------------------------- 02.hsic
def _hsic_ref(K, L):
    K = np.asarray(K, dtype=float)
    L = np.asarray(L, dtype=float)
    n = K.shape[0]
    H = np.eye(n) - np.ones((n, n)) / n
    return float(np.trace(K @ H @ L @ H) / n**2)


def _check_hsic(fn):
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 3))
    Y = X[:, :2] ** 2 + 0.3 * rng.normal(size=(30, 2))
    K, L = X @ X.T, Y @ Y.T
    value = fn(K, L)
    expected = hsic(X, Y, "linear", backend="numpy")
    ok, msg = close(value, expected, rtol=1e-8, atol=1e-12)
    if not ok:
        n = 30
        if np.isclose(float(value), np.trace(K @ L) / n**2, rtol=1e-6):
            msg += " You forgot the centring matrix H = I - 11^T/n."
        elif np.isclose(float(value), expected * n**2 / (n - 1) ** 2, rtol=1e-6):
            msg += " Use 1/n^2 (this package's convention), not 1/(n-1)^2."
    return ok, msg


hsic_biased = Exercise(
    id="02.hsic",
    prompt="Write hsic_b(K, L) = Tr(K H L H) / n^2 from two Gram matrices.",
    checker=_check_hsic,
    hint_text="H = np.eye(n) - np.ones((n, n)) / n; then np.trace(K @ H @ L @ H) / n**2.",
    solution_text=("def hsic_b(K, L):\n    n = len(K)\n    H = np.eye(n) - np.ones((n, n)) / n\n"
                   "    return np.trace(K @ H @ L @ H) / n**2"),
    reference=_hsic_ref,
)


# --------------------------------------------------------------------------- 02.mi
def _mi_ref(rho):
    r = np.asarray(rho, dtype=float)
    return float(-0.5 * np.sum(np.log(1 - r**2)))


def _check_mi(fn):
    rho = np.array([0.8, 0.45, 0.2])
    value = fn(rho)
    expected = mutual_information(joint_covariance(rho), 3)
    ok, msg = close(value, expected, rtol=1e-9)
    if not ok and np.isclose(float(value), -0.5 * np.sum(np.log(1 - rho)), rtol=1e-6):
        msg += " The formula has rho_i squared."
    return ok, msg


gaussian_mi = Exercise(
    id="02.mi",
    prompt="Write gaussian_mi(rho) = -1/2 sum_i log(1 - rho_i^2), the MI of a Gaussian pair in nats.",
    checker=_check_mi,
    hint_text="np.log is the natural log (nats); square rho before subtracting from 1.",
    solution_text="def gaussian_mi(rho):\n    return -0.5 * np.sum(np.log(1 - np.asarray(rho) ** 2))",
    reference=_mi_ref,
)


# --------------------------------------------------------------------------- 02.w2
def _w2_ref(rho):
    r = np.asarray(rho, dtype=float)
    return float(2 * np.sum(2 - np.sqrt(1 + r) - np.sqrt(1 - r)))


def _check_w2(fn):
    rho = np.array([0.9, 0.5, 0.1])
    value = fn(rho)
    expected = w2_independence(joint_covariance(rho), 3)
    ok, msg = close(value, expected, rtol=1e-8)
    if not ok and np.isclose(float(value), w2_independence_paper(rho), rtol=1e-6):
        msg += (" That is the paper's printed formula, the cost of the x_1-fixing coupling; "
                "W_2^2 is the cheapest coupling. Use the eigenvalues 1 +- rho_i.")
    return ok, msg


w2_true = Exercise(
    id="02.w2",
    prompt=("Write w2(rho): the squared 2-Wasserstein distance between N(0, [[I, C], [C^T, I]]) "
            "and N(0, I), C = diag(rho)."),
    checker=_check_w2,
    hint_text=("The Bures formula with Sigma_2 = I is Tr(Sigma + I - 2 Sigma^{1/2}); Sigma has "
               "eigenvalues 1 + rho_i and 1 - rho_i."),
    solution_text=("def w2(rho):\n    rho = np.asarray(rho)\n"
                   "    return 2 * np.sum(2 - np.sqrt(1 + rho) - np.sqrt(1 - rho))"),
    reference=_w2_ref,
)


# --------------------------------------------------------------------------- 02.null_rate
def _check_null_rate(value):
    ok, msg = close(value, 0.05, rtol=0, atol=1e-9)
    if not ok:
        msg += (" Under independence the permutation p-value is (about) uniform on [0, 1], so "
                "P(p <= 0.05) = 0.05.")
    return ok, msg


null_rejection_rate = Exercise(
    id="02.null_rate",
    prompt=("Under independence, what fraction of HSIC permutation tests at level 0.05 reject? "
            "Answer with a number."),
    checker=_check_null_rate,
    hint_text="What is the distribution of a valid p-value when the null hypothesis is true?",
    solution_text="0.05: a calibrated test has P(p <= alpha) = alpha under the null.",
    reference=0.05,
)
