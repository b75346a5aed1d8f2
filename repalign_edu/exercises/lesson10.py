"""Exercises of lesson 10: your own data (pairing rows by ID, reading a calibrated result)."""
from __future__ import annotations

import copy

import numpy as np

from ._core import Exercise, call_student, compare_function


# --------------------------------------------------------------------------- 10.pair_by_id
def _pair(ids_a, ids_b):
    from collections import Counter
    count_a, count_b = Counter(ids_a), Counter(ids_b)
    row_in_b = {k: j for j, k in enumerate(ids_b)}
    rows_a = [i for i, k in enumerate(ids_a) if count_a[k] == 1 and count_b[k] == 1]
    rows_b = [row_in_b[ids_a[i]] for i in rows_a]
    return np.array(rows_a, dtype=int), np.array(rows_b, dtype=int)


def _pair_keep_duplicates(ids_a, ids_b):
    pairs = [(i, j) for i, a in enumerate(ids_a) for j, b in enumerate(ids_b) if a == b]
    return np.array([p[0] for p in pairs], dtype=int), np.array([p[1] for p in pairs], dtype=int)


def _pair_first_occurrence(ids_a, ids_b):
    first_b = {}
    for j, k in enumerate(ids_b):
        first_b.setdefault(k, j)
    seen, rows_a = set(), []
    for i, k in enumerate(ids_a):
        if k in first_b and k not in seen:
            seen.add(k)
            rows_a.append(i)
    return np.array(rows_a, dtype=int), np.array([first_b[ids_a[i]] for i in rows_a], dtype=int)


def _pair_order_of_b(ids_a, ids_b):
    rows_a, rows_b = _pair(ids_a, ids_b)
    order = np.argsort(rows_b)
    return rows_a[order], rows_b[order]


def _pair_swapped(ids_a, ids_b):
    rows_a, rows_b = _pair(ids_a, ids_b)
    return rows_b, rows_a


def _pair_inputs():
    rng = np.random.default_rng(10)
    return [(["p3", "p1", "p7", "p2", "p2", "p9", "p5"], ["p5", "p2", "p1", "p8", "p3", "p3", "p7"]),
            ([f"p{k}" for k in rng.integers(0, 25, 30)], [f"p{k}" for k in rng.integers(0, 25, 28)])]


def _check_pair(fn):
    return compare_function(fn, _pair, _pair_inputs(), mistakes=[
        (_pair_keep_duplicates, "you paired a duplicated ID (p2 occurs twice in A, p3 twice in B): which of its "
                                "rows belongs to which is ambiguous, so leave it out."),
        (_pair_first_occurrence, "a duplicated ID is ambiguous: leave it out instead of taking its first row."),
        (_pair_order_of_b, "the right pairs, but keep them in the order of A's rows."),
        (_pair_swapped, "return (rows of A, rows of B), in this order."),
    ], passed="every ID shared exactly once is paired, the duplicated ones left out.")


pair_by_id = Exercise(
    id="10.pair_by_id",
    prompt=("Write pair(ids_a, ids_b) -> (rows_a, rows_b): the row indices that join each ID occurring exactly "
            "once in both lists, in the order of A."),
    checker=_check_pair,
    reference=_pair,
    answer_name="pair",
    hints=("Three questions per ID of A: does it occur in B, does it occur once in A, and once in B?",
           "collections.Counter counts the IDs of each list; a dict maps each ID of B to its row; walk through "
           "A's IDs in order and keep those counted once on both sides."),
    mistakes=(_pair_keep_duplicates, _pair_first_occurrence, _pair_order_of_b, _pair_swapped),
)


# --------------------------------------------------------------------------- 10.significant
def _significant(result):
    return [name for name, m in result["measures"].items() if m["pvalue"] <= 0.05]


def _significant_all(result):
    return list(result["measures"])


def _significant_strict(result):
    return [name for name, m in result["measures"].items() if m["pvalue"] < 0.05]


def _significant_calibrated(result):
    return [name for name, m in result["measures"].items() if m["calibrated"]]


def _significant_value(result):
    return [name for name, m in result["measures"].items() if m["value"] >= 0.05]


_RESULTS = (
    {"measures": {"cka": {"value": 0.81, "pvalue": 0.001, "calibrated": 0.74},
                  "cka-rbf": {"value": 0.77, "pvalue": 0.001, "calibrated": 0.70},
                  "mutual-knn": {"value": 0.06, "pvalue": 0.21, "calibrated": 0.0},
                  "hsic": {"value": 12.0, "pvalue": 0.05, "calibrated": None}}},
    {"measures": {"cka": {"value": 0.02, "pvalue": 0.4, "calibrated": 0.0},
                  "mutual-knn": {"value": 0.3, "pvalue": 0.0099, "calibrated": 0.28},
                  "hsic": {"value": 8.0, "pvalue": 0.03, "calibrated": None}}},
)

_SIGNIFICANT_MISTAKES = (
    (_significant_all, "keep only the measures whose p-value is at most 0.05, not every measure."),
    (_significant_strict, "'at most 0.05' includes p = 0.05 itself: use <=."),
    (_significant_calibrated, "significance is read from the p-value, not from the calibrated score "
                              "(hsic has no calibrated score)."),
    (_significant_value, "significance is read from the p-value, not from the value of the measure."),
)


def _names(got):
    """The student's answer as a sorted list of names, or the message that says why it is not one."""
    if got is None:
        return None, "your function returned None: did you forget `return`?"
    if isinstance(got, (str, bytes, dict)) or not hasattr(got, "__iter__"):
        return None, f"return a list of measure names; got a {type(got).__name__}."
    got = list(got)
    if not all(isinstance(name, str) for name in got):
        return None, "return the names of the measures (strings), e.g. 'cka'."
    return sorted(got), ""


def _check_significant(fn):
    answers = []
    for result in _RESULTS:
        names, why = _names(call_student(fn, copy.deepcopy(result)))
        if names is None:
            return False, why
        answers.append(names)
    wanted = [sorted(_significant(r)) for r in _RESULTS]
    if answers == wanted:
        return True, "the measures with p <= 0.05: unlikely to be chance."
    for wrong, message in _SIGNIFICANT_MISTAKES:
        if answers == [sorted(wrong(r)) for r in _RESULTS]:
            return False, message
    k = next(i for i, (a, w) in enumerate(zip(answers, wanted)) if a != w)
    return False, f"on example result {k + 1} of {len(_RESULTS)}: you return {answers[k]}, which is not right."


significant = Exercise(
    id="10.significant",
    prompt=("Write significant(result) -> list of the measure names in a `repalign compare --json` result whose "
            "p-value is at most 0.05."),
    checker=_check_significant,
    reference=_significant,
    answer_name="significant",
    hints=("result['measures'] maps each measure's name to a dict of its numbers: which of them says whether "
           "a value could be chance?",
           "Loop over result['measures'].items() and keep the names whose entry has a 'pvalue' of at most 0.05."),
    mistakes=tuple(m for m, _ in _SIGNIFICANT_MISTAKES),
)
