"""Exercises of lesson 00: representations and the paper's setup."""
from __future__ import annotations

import numpy as np

from ..measures import kernel_alignment
from ._core import Exercise, close


def _center_ref(X):
    X = np.asarray(X, dtype=float)
    return X - X.mean(axis=0)


def _check_center(fn):
    X = np.random.default_rng(7).normal(loc=3.0, size=(20, 4))
    out = np.asarray(fn(X), dtype=float)
    if out.shape != X.shape:
        return False, f"the output has shape {out.shape}, expected {X.shape}."
    if not np.allclose(out.mean(axis=0), 0.0, atol=1e-10):
        return False, "the columns of the output do not have mean 0."
    if not np.allclose(out, _center_ref(X)):
        return False, "the columns have mean 0 but the values are not X minus its column means."
    return True, "every column now has mean 0."


center = Exercise(
    id="00.center",
    prompt="Write center(X) that subtracts each feature's (column's) mean: Xc = H X.",
    checker=_check_center,
    hint_text="X.mean(axis=0) gives the d column means; broadcasting subtracts them from every row.",
    solution_text="def center(X):\n    return X - X.mean(axis=0)",
    reference=_center_ref,
)


def _ka_ref(X, Y):
    K, L = X @ X.T, Y @ Y.T
    return float(np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L)))


def _check_ka(fn):
    rng = np.random.default_rng(11)
    X = rng.normal(size=(30, 5))
    Y = X @ rng.normal(size=(5, 3)) + 0.5 * rng.normal(size=(30, 3))
    return close(fn(X, Y), kernel_alignment(X, Y, backend="numpy"), rtol=1e-8)


kernel_alignment_by_hand = Exercise(
    id="00.ka",
    prompt="Compute the empirical kernel alignment <K,L>_F / (||K||_F ||L||_F) of linear Gram matrices.",
    checker=_check_ka,
    hint_text="K = X @ X.T and L = Y @ Y.T; the Frobenius inner product is np.sum(K * L).",
    solution_text=(
        "def my_ka(X, Y):\n    K, L = X @ X.T, Y @ Y.T\n"
        "    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))"
    ),
    reference=_ka_ref,
)


def _check_rotation(value):
    ok, msg = close(value, 1.0, rtol=1e-9)
    if not ok:
        msg += " A rotation Q keeps every inner product <Qx, Qx'> = <x, x'>, so K does not change."
    return ok, msg


rotation_prediction = Exercise(
    id="00.rotation",
    prompt="Predict the linear kernel alignment between Z and Z @ Q for an orthogonal Q.",
    checker=_check_rotation,
    hint_text="What does an orthogonal map do to inner products x . x'?",
    solution_text="1.0: (ZQ)(ZQ)^T = Z Q Q^T Z^T = Z Z^T, so the two Gram matrices are equal.",
    reference=1.0,
)
