"""Exercises of lesson 06: which measure should you trust?"""
from __future__ import annotations

import numpy as np

from ._core import Exercise, compare_function


# --------------------------------------------------------------------------- 06.identify
def _accuracy(S):
    top = S.max(axis=1, keepdims=True)
    tied = S >= top - 1e-9 * np.maximum(1.0, np.abs(top))     # the layers tied for the row maximum
    return np.mean(np.diag(tied) / tied.sum(axis=1))


def _accuracy_first_max(S):
    return np.mean(np.argmax(S, axis=1) == np.arange(len(S)))


def _accuracy_full_credit(S):
    top = S.max(axis=1, keepdims=True)
    return np.mean(np.diag(np.isclose(S, top)))


def _accuracy_columns(S):
    return _accuracy(S.T)


def _identify_inputs():
    rng = np.random.default_rng(6)
    return [
        (np.eye(4) + 0.1,),                                               # perfect
        (np.array([[0.9, 0.8, 0.1], [0.95, 0.9, 0.2], [0.1, 0.2, 0.7]]),),  # row 2 picks layer 1
        (np.ones((3, 3)),),                                               # all tied: chance
        (np.array([[1.0, 1.0, 0.0], [0.2, 0.5, 0.5], [0.0, 0.3, 0.9]]),),   # two ties
        (rng.random((6, 6)),),                                            # no ties, not symmetric
    ]


def _check_identify(fn):
    return compare_function(fn, _accuracy, _identify_inputs(), mistakes=[
        (_accuracy_first_max, "a tie is broken in favour of the first layer: a row whose maximum is "
                              "shared by t layers, one of them the right one, scores 1/t."),
        (_accuracy_full_credit, "a tie that contains the right layer scores 1/t, not 1 (t tied layers)."),
        (_accuracy_columns, "the rows are the layers of network A: take the maximum along each row "
                            "(axis=1), not each column."),
    ], rtol=1e-12, atol=1e-12,
        passed="argmax per row, with ties credited 1/t: the expected accuracy of a random tie-break.")


identify = Exercise(
    id="06.identify",
    prompt=("Write accuracy(S) for one L x L similarity matrix (rows: layers of network A, "
            "columns: layers of network B): the fraction of rows whose most similar column is "
            "the diagonal one, a tie of t columns that contains it scoring 1/t."),
    checker=_check_identify,
    reference=_accuracy,
    answer_name="accuracy",
    hints=("Treat each row on its own: which columns reach the row's maximum, and is the diagonal one among them?",
           "S.max(axis=1, keepdims=True) is each row's maximum; a boolean matrix of the entries that reach it "
           "(up to rounding) gives, per row, the number t of tied layers and whether layer l is one of them."),
    mistakes=(_accuracy_first_max, _accuracy_full_credit, _accuracy_columns),
)


# --------------------------------------------------------------------------- 06.forced
def _check_forced(answer):
    if isinstance(answer, (bool, np.bool_)) or not isinstance(answer, (int, np.integer)):
        return False, "answer with an integer."
    if answer == 16:
        return True, "30 + 35 - (50 - 1) = 16: centring leaves n - 1 = 49 dimensions."
    if answer == 15:
        return False, "close: after centring the samples span n - 1 dimensions, not n."
    if answer == 30:
        return False, ("the smaller rank bounds how many correlations there are, not how many are "
                       "forced to be 1.")
    return False, f"{answer} is not it."


forced = Exercise(
    id="06.forced",
    prompt=("n = 50 samples; after centring, X has rank 30 and Y rank 35. How many canonical "
            "correlations equal 1 whatever the data?"),
    checker=_check_forced,
    reference=16,
    answer_name="my_forced",
    hints=("A canonical correlation is 1 when the column spaces of X_c and Y_c share a direction. "
           "When must two subspaces share directions?",
           "Two subspaces of dimensions a and b inside a space of dimension D share at least a + b - D "
           "dimensions. What is D for centred samples?"),
    explanation="a + b - D with D = n - 1 = 49 (centring removes the all-ones direction): 30 + 35 - 49 = 16.",
    mistakes=(15, 30),
)


# --------------------------------------------------------------------------- 06.kept
def _n_kept(s, variance):
    frac = np.cumsum(s**2) / np.sum(s**2)             # the fraction of variance of the leading components
    return int(np.searchsorted(frac, variance * (1 - 1e-12)) + 1)


def _kept_by_s(s, variance):
    frac = np.cumsum(s) / np.sum(s)
    return int(np.searchsorted(frac, variance * (1 - 1e-12)) + 1)


def _kept_off_by_one(s, variance):
    frac = np.cumsum(s**2) / np.sum(s**2)
    return int(np.searchsorted(frac, variance * (1 - 1e-12)))


def _kept_strictly_above(s, variance):
    frac = np.cumsum(s**2) / np.sum(s**2)
    return int(np.sum(frac <= variance) + 1)


def _kept_inputs():
    rng = np.random.default_rng(6)
    return [(np.array([3.0, 2.0, 1.0, 0.1]), 0.99), (np.array([10.0, 1.0, 1.0]), 0.9),
            (np.sort(rng.random(20))[::-1], 0.99), (np.array([1.0, 1.0]), 0.5),
            (np.array([2.0, 1.0, 1.0, 1.0]), 0.5)]


def _check_kept(fn):
    return compare_function(fn, _n_kept, _kept_inputs(), mistakes=[
        (_kept_by_s, "the variance of a component is its squared singular value: use s**2, not s."),
        (_kept_off_by_one, "count the components: the first index where the fraction reaches `variance`, plus 1."),
        (_kept_strictly_above, "keep the fewest components that *reach* the fraction (>=), not exceed it."),
    ], passed="the fewest leading components whose s^2 reach the fraction of the total.")


kept = Exercise(
    id="06.kept",
    prompt=("SVCCA keeps the fewest leading principal components that explain a fraction "
            "`variance` of the total. Write n_kept(s, variance) from the singular values s (decreasing)."),
    checker=_check_kept,
    reference=_n_kept,
    answer_name="n_kept",
    hints=("How much of the total variance does a principal component explain, in terms of its singular value?",
           "The variance of component k is s_k^2: take the cumulative fraction np.cumsum(s**2) / np.sum(s**2) "
           "and count how many components it takes to reach `variance` (np.searchsorted helps; mind rounding)."),
    mistakes=(_kept_by_s, _kept_off_by_one, _kept_strictly_above),
)
