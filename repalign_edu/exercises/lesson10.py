"""Exercises of lesson 10: your own data (pairing rows by ID, reading a calibrated result)."""
from __future__ import annotations

import numpy as np

from ._core import Exercise


# --------------------------------------------------------------------------- pairing by ID
def _pair_ref(ids_a, ids_b):
    ids_a, ids_b = list(ids_a), list(ids_b)
    once_a = {k for k in ids_a if ids_a.count(k) == 1}
    once_b = {k for k in ids_b if ids_b.count(k) == 1}
    pos_b = {k: j for j, k in enumerate(ids_b)}
    rows_a = [i for i, k in enumerate(ids_a) if k in once_a and k in once_b]
    rows_b = [pos_b[ids_a[i]] for i in rows_a]
    return np.array(rows_a, dtype=int), np.array(rows_b, dtype=int)


def _check_pair(fn):
    ids_a = ["p3", "p1", "p7", "p2", "p2", "p9", "p5"]
    ids_b = ["p5", "p2", "p1", "p8", "p3", "p3", "p7"]
    want_a, want_b = _pair_ref(ids_a, ids_b)            # p1, p7, p5 (p2 and p3 are duplicated)
    try:
        got = fn(list(ids_a), list(ids_b))
        ra, rb = (np.asarray(g, dtype=int).ravel() for g in got)
    except (TypeError, ValueError):
        return False, "return two integer arrays (rows of A, rows of B)."
    if len(ra) != len(rb):
        return False, "the two index arrays must have the same length (one pair per shared ID)."
    if all(ids_a[i] == ids_b[j] for i, j in zip(ra, rb)) and len(ra) > len(want_a):
        return False, ("you paired a duplicated ID (p2 occurs twice in A, p3 twice in B): which of its rows "
                       "belongs to which is ambiguous, so leave it out.")
    if sorted(zip(ra.tolist(), rb.tolist())) == sorted(zip(want_a.tolist(), want_b.tolist())):
        if ra.tolist() != want_a.tolist():
            return False, "the right pairs, but keep them in the order of A's rows."
        return True, "3 shared IDs paired, the duplicated ones left out."
    return False, (f"expected the pairs {list(zip(want_a.tolist(), want_b.tolist()))} "
                   "(row of A, row of B); each must join the same ID.")


pair_by_id = Exercise(
    id="10.pair_by_id",
    prompt=("Write pair(ids_a, ids_b) -> (rows_a, rows_b): the row indices that join each ID occurring exactly "
            "once in both lists, in the order of A."),
    checker=_check_pair,
    hint_text=("Count every ID (collections.Counter); keep those with count 1 on both sides; map each ID of B "
               "to its row with a dict; walk through A's IDs in order."),
    solution_text=(
        "from collections import Counter\n"
        "def pair(ids_a, ids_b):\n"
        "    ca, cb = Counter(ids_a), Counter(ids_b)\n"
        "    pos_b = {k: j for j, k in enumerate(ids_b)}\n"
        "    rows_a = [i for i, k in enumerate(ids_a) if ca[k] == 1 and cb.get(k) == 1]\n"
        "    return np.array(rows_a), np.array([pos_b[ids_a[i]] for i in rows_a])"
    ),
    reference=_pair_ref,
)


# --------------------------------------------------------------------------- reading the result
def _significant_ref(result):
    """Measures of a ``repalign compare --json`` result whose p-value is <= 0.05, sorted."""
    return sorted(k for k, m in result["measures"].items() if m.get("pvalue") is not None and m["pvalue"] <= 0.05)


_EXAMPLE = {"measures": {
    "cka": {"value": 0.81, "pvalue": 0.001, "calibrated": 0.74},
    "cka-rbf": {"value": 0.77, "pvalue": 0.001, "calibrated": 0.70},
    "mutual-knn": {"value": 0.06, "pvalue": 0.21, "calibrated": 0.0},
    "hsic": {"value": 12.0, "pvalue": 0.049, "calibrated": None},
}}


def _check_significant(fn):
    try:
        got = fn(dict(_EXAMPLE))
        got = sorted(got)
    except TypeError:
        return False, "return a list of measure names."
    want = _significant_ref(_EXAMPLE)
    if got == want:
        return True, "cka, cka-rbf and hsic are unlikely to be chance; mutual k-NN is not."
    if "mutual-knn" in got:
        return False, "mutual-knn has p = 0.21: shuffled pairings are often as aligned; it is not significant."
    if "hsic" not in got:
        return False, "hsic has p = 0.049 <= 0.05: it counts, even though it has no calibrated score."
    return False, f"expected {want}."


significant = Exercise(
    id="10.significant",
    prompt=("Write significant(result) -> list of the measure names in a `repalign compare --json` result whose "
            "p-value is at most 0.05."),
    checker=_check_significant,
    hint_text="Loop over result['measures'].items() and keep the names whose entry has 'pvalue' <= 0.05.",
    solution_text=("def significant(result):\n"
                   "    return [k for k, m in result['measures'].items() if m['pvalue'] <= 0.05]"),
    reference=_significant_ref,
)
