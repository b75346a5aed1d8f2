"""Exercises of lesson 00: representations and the paper's setup."""
from __future__ import annotations

import numpy as np

from ._core import Exercise, close, compare_function

_rng = np.random.default_rng(7)
_X1 = _rng.normal(loc=3.0, size=(20, 4))
_X2 = _rng.normal(loc=-1.0, scale=2.0, size=(7, 9))


# --------------------------------------------------------------------------- 00.center
def _center(X):
    return X - X.mean(axis=0)


def _center_rows(X):
    return X - X.mean(axis=1, keepdims=True)


def _center_global(X):
    return X - X.mean()


def _standardise(X):
    return (X - X.mean(axis=0)) / X.std(axis=0)


def _check_center(fn):
    return compare_function(fn, _center, [(_X1,), (_X2,)], mistakes=[
        (_center_rows, "you subtracted each row's (sample's) mean; which mean does H X = X - 1 1^T X / n "
                       "subtract?"),
        (_center_global, "you subtracted one overall mean; every feature (column) needs its own mean."),
        (_standardise, "you also divided by the standard deviation; centring only subtracts the mean."),
    ], passed="every column now has mean 0.")


center = Exercise(
    id="00.center",
    prompt="Write center(X) that subtracts each feature's (column's) mean: Xc = H X.",
    checker=_check_center,
    reference=_center,
    answer_name="center",
    hints=("Rows of X are samples and columns are features: which mean does H = I - 11^T/n remove?",
           "X.mean(axis=0) gives the d column means; NumPy broadcasting subtracts a length-d "
           "vector from every row."),
    mistakes=(_center_rows, _center_global, _standardise),
)


# --------------------------------------------------------------------------- 00.ka
def _my_ka(X, Y):
    K, L = X @ X.T, Y @ Y.T
    return np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L))


def _ka_centred(X, Y):
    return _my_ka(X - X.mean(axis=0), Y - Y.mean(axis=0))


def _ka_no_sqrt(X, Y):
    K, L = X @ X.T, Y @ Y.T
    return np.sum(K * L) / (np.sum(K * K) * np.sum(L * L))


def _ka_matrix_product(X, Y):
    K, L = X @ X.T, Y @ Y.T
    return np.sum(K @ L) / np.sqrt(np.sum(K @ K) * np.sum(L @ L))


def _ka_inputs():
    rng = np.random.default_rng(11)
    X = rng.normal(loc=1.0, size=(30, 5))
    Y = X @ rng.normal(size=(5, 3)) + 0.5 * rng.normal(size=(30, 3))
    return [(X, Y), (np.abs(rng.normal(size=(12, 2))), rng.normal(size=(12, 6)))]


def _check_ka(fn):
    return compare_function(fn, _my_ka, _ka_inputs(), mistakes=[
        (_ka_centred, "you centred the features first: that is CKA (lesson 04), not the paper's "
                      "uncentred A-hat, which uses the raw Gram matrices."),
        (_ka_no_sqrt, "your numerator is right but your denominator is not: compare it with the "
                      "definition of the Frobenius norm ||K||_F."),
        (_ka_matrix_product, "<K, L>_F is the sum of the entrywise products K * L, not of the matrix "
                             "product K @ L."),
    ], passed="your A-hat matches ra.kernel_alignment.")


kernel_alignment_by_hand = Exercise(
    id="00.ka",
    prompt="Compute the empirical kernel alignment <K,L>_F / (||K||_F ||L||_F) of linear Gram matrices.",
    checker=_check_ka,
    reference=_my_ka,
    answer_name="my_ka",
    hints=("Build the two n x n Gram matrices first; A-hat is the cosine of the angle between them.",
           "K = X @ X.T and L = Y @ Y.T; <K, L>_F = np.sum(K * L) and ||K||_F = np.sqrt(np.sum(K * K))."),
    mistakes=(_ka_centred, _ka_no_sqrt, _ka_matrix_product),
)


# --------------------------------------------------------------------------- 00.rotation
def _check_rotation(value):
    return close(value, 1.0, rtol=1e-9)


rotation_prediction = Exercise(
    id="00.rotation",
    prompt="Predict the linear kernel alignment between Z and Z @ Q for an orthogonal Q.",
    checker=_check_rotation,
    reference=1.0,
    answer_name="my_prediction",
    hints=("What does an orthogonal map do to the inner products x . x' that fill K?",
           "Write the Gram matrix of Z Q as (ZQ)(ZQ)^T and use Q Q^T = I."),
    explanation="1.0: (ZQ)(ZQ)^T = Z Q Q^T Z^T = Z Z^T, so the two Gram matrices are equal.",
    mistakes=(0.0,),
)
