"""Exercises of lesson 06: which measure should you trust?"""
from __future__ import annotations

import numpy as np

from ..cca import Basis
from ..sanity import identification_accuracy
from ._core import Exercise


# --------------------------------------------------------------------------- 06.identify
def _identify_ref(S):
    S = np.asarray(S, dtype=float)
    full = np.full((2, 2) + S.shape, np.nan)
    full[0, 1] = S
    return float(identification_accuracy(full)[0, 1])


_CASES = [
    np.eye(4) + 0.1,                                              # perfect
    np.array([[0.9, 0.8, 0.1], [0.95, 0.9, 0.2], [0.1, 0.2, 0.7]]),  # row 2 picks layer 1
    np.ones((3, 3)),                                             # all tied: chance
    np.array([[1.0, 1.0, 0.0], [0.2, 0.5, 0.5], [0.0, 0.3, 0.9]]),   # two ties
]


def _check_identify(fn):
    for S in _CASES:
        try:
            got = float(fn(S.copy()))
        except (TypeError, ValueError):
            return False, "return one number, the fraction of rows that find their layer."
        want = _identify_ref(S)
        if abs(got - want) > 1e-12:
            ties = np.isclose(S, S.max(axis=1, keepdims=True)).sum(axis=1).max() > 1
            why = (" This matrix has ties: a row whose maximum is shared by t layers, one of them "
                   "the right one, scores 1/t." if ties else "")
            return False, f"on S =\n{S}\nyou return {got:.4g}, expected {want:.4g}.{why}"
    return True, "argmax per row, with ties credited 1/t: the expected accuracy of a random tie-break."


identify = Exercise(
    id="06.identify",
    prompt=("Write accuracy(S) for one L x L similarity matrix (rows: layers of network A, "
            "columns: layers of network B): the fraction of rows whose most similar column is "
            "the diagonal one, a tie of t columns that contains it scoring 1/t."),
    checker=_check_identify,
    hint_text=("top = S.max(axis=1, keepdims=True); tied = np.isclose(S, top); the credit of row l "
               "is tied[l, l] / tied[l].sum()."),
    solution_text=("def accuracy(S):\n    top = S.max(axis=1, keepdims=True)\n"
                   "    tied = np.isclose(S, top, rtol=1e-9, atol=0)\n"
                   "    return float(np.mean(np.diag(tied) / tied.sum(axis=1)))"),
    reference=_identify_ref,
)


# --------------------------------------------------------------------------- 06.forced
def _check_forced(answer):
    if isinstance(answer, bool) or not isinstance(answer, (int, np.integer)):
        return False, "answer with an integer."
    if answer == 16:
        return True, "30 + 35 - (50 - 1) = 16: centring leaves n - 1 = 49 dimensions."
    if answer == 15:
        return False, "close: after centring the samples span n - 1 dimensions, not n."
    return False, f"{answer} is not it."


forced = Exercise(
    id="06.forced",
    prompt=("n = 50 samples; after centring, X has rank 30 and Y rank 35. How many canonical "
            "correlations equal 1 whatever the data?"),
    checker=_check_forced,
    hint_text=("Two subspaces of dimensions a and b inside a space of dimension D share at least "
               "a + b - D dimensions. What is D for centred samples?"),
    solution_text="a + b - D with D = n - 1 = 49 (centring removes the all-ones direction): 16.",
    reference=16,
)


# --------------------------------------------------------------------------- 06.kept
def _kept_ref(s, variance=0.99):
    s = np.asarray(s, dtype=float)
    b = Basis(np.eye(len(s)), s, np.eye(len(s)), np.diag(s))
    return int(b.truncate(variance).rank)


def _check_kept(fn):
    rng = np.random.default_rng(6)
    cases = [(np.array([3.0, 2.0, 1.0, 0.1]), 0.99), (np.array([10.0, 1.0, 1.0]), 0.9),
             (np.sort(rng.random(20))[::-1], 0.99), (np.array([1.0, 1.0]), 0.5)]
    for s, v in cases:
        try:
            got = int(fn(s.copy(), v))
        except (TypeError, ValueError):
            return False, "return an integer, the number of components kept."
        want = _kept_ref(s, v)
        if got != want:
            frac = np.cumsum(s) / s.sum()
            if np.any(frac >= v) and got == int(np.searchsorted(frac, v) + 1):
                return False, ("the variance of a component is its squared singular value: "
                               "use s**2, not s.")
            return False, f"for s = {np.round(s, 3)} and variance = {v} you keep {got}, expected {want}."
    return True, "the fewest leading components whose s^2 reach the fraction of the total."


kept = Exercise(
    id="06.kept",
    prompt=("SVCCA keeps the fewest leading principal components that explain a fraction "
            "`variance` of the total. Write n_kept(s, variance) from the singular values s (decreasing)."),
    checker=_check_kept,
    hint_text="np.cumsum(s**2) / np.sum(s**2), then the first index where it reaches variance, plus 1.",
    solution_text=("def n_kept(s, variance):\n    frac = np.cumsum(s**2) / np.sum(s**2)\n"
                   "    return int(np.searchsorted(frac, variance * (1 - 1e-12)) + 1)"),
    reference=_kept_ref,
)
