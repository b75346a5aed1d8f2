"""Exercises of lesson 05: permutation p-values, calibrated scores, the exact null mean."""
from __future__ import annotations

import math

import numpy as np

from ._core import Exercise, close


# --------------------------------------------------------------------------- add-one p-value
def _pvalue_ref(statistic, null):
    null = np.asarray(null, dtype=float)
    return (1 + int(np.sum(null >= statistic))) / (len(null) + 1)


def _check_pvalue(fn):
    rng = np.random.default_rng(51)
    null = rng.normal(size=99)
    for stat in (0.3, 5.0, -5.0, float(null[7])):
        try:
            value = float(fn(stat, null.copy()))
        except (TypeError, ValueError):
            return False, "return a single number."
        want = _pvalue_ref(stat, null)
        if stat == 5.0 and abs(value) < 1e-12:
            return False, "a p-value is never 0: count the observed pairing as one of the permutations (add one)."
        if abs(value - np.mean(null >= stat)) < 1e-12 and abs(value - want) > 1e-12:
            return False, "add one to the count and to the number of permutations: (1 + #) / (K + 1)."
        if stat == float(null[7]) and abs(value - want) > 1e-12:
            return False, "a null value equal to the statistic counts as at least as large (>=)."
        ok, msg = close(value, want, rtol=1e-12)
        if not ok:
            return False, msg
    return True, "(1 + #{null >= T}) / (K + 1)."


add_one_pvalue = Exercise(
    id="05.add_one_pvalue",
    prompt="Write pvalue(statistic, null): the add-one permutation p-value of a similarity.",
    checker=_check_pvalue,
    hint_text="Count the null values >= statistic, add one, divide by len(null) + 1.",
    solution_text="def pvalue(statistic, null):\n    return (1 + np.sum(np.asarray(null) >= statistic)) / (len(null) + 1)",
    reference=_pvalue_ref,
)


# --------------------------------------------------------------------------- calibrated score
def _calibrated_ref(statistic, null, alpha=0.05, s_max=1.0):
    pooled = np.sort(np.append(np.asarray(null, dtype=float), statistic))
    K = len(null)
    threshold = pooled[math.ceil((1 - alpha) * (K + 1)) - 1]
    return float(np.clip((statistic - threshold) / (s_max - threshold), 0.0, 1.0))


def _check_calibrated(fn):
    rng = np.random.default_rng(52)
    null = rng.uniform(0.1, 0.3, size=199)
    for stat in (0.9, 0.2, 0.31):
        try:
            value = float(fn(stat, null.copy(), 0.05, 1.0))
        except (TypeError, ValueError):
            return False, "return a single number."
        want = _calibrated_ref(stat, null)
        if stat == 0.2 and value < 0:
            return False, "clip at 0: a statistic below the threshold scores 0."
        ok, msg = close(value, want, rtol=1e-10, atol=1e-12)
        if not ok:
            return False, msg + " The threshold is the ceil((1-alpha)(K+1))-th smallest of the statistic and the null together."
    return True, "the score rescales what lies above the null's 95% quantile to [0, 1]."


calibrated_score = Exercise(
    id="05.calibrated_score",
    prompt="Write calibrated(statistic, null, alpha, s_max): the null-calibrated score of Groeger et al. (2026).",
    checker=_check_calibrated,
    hint_text=("Sort np.append(null, statistic); the threshold is element ceil((1-alpha)(K+1)) - 1 (0-based); "
               "then clip((statistic - threshold) / (s_max - threshold), 0, 1)."),
    solution_text=(
        "def calibrated(statistic, null, alpha=0.05, s_max=1.0):\n"
        "    pooled = np.sort(np.append(null, statistic))\n"
        "    t = pooled[math.ceil((1 - alpha) * (len(null) + 1)) - 1]\n"
        "    return float(np.clip((statistic - t) / (s_max - t), 0, 1))"),
    reference=_calibrated_ref,
)


# --------------------------------------------------------------------------- exact null mean
def _null_mean_ref(trK, trL, n):
    return trK * trL / (n - 1)


def _check_null_mean(fn):
    cases = ((3.0, 5.0, 10), (1.0, 1.0, 2), (120.0, 0.5, 301))
    for trK, trL, n in cases:
        try:
            value = float(fn(trK, trL, n))
        except (TypeError, ValueError, ZeroDivisionError):
            return False, "return a single number."
        if abs(value - trK * trL / n) < 1e-12:
            return False, ("close: the diagonal gives tr K tr L / n, but the off-diagonal entries add "
                           "tr K tr L / (n (n-1)) because centred rows sum to zero.")
        ok, msg = close(value, _null_mean_ref(trK, trL, n), rtol=1e-12)
        if not ok:
            return False, msg
    return True, "E tr(K P L P^T) = tr K tr L / (n - 1) for centred K and L."


null_mean = Exercise(
    id="05.null_mean",
    prompt="Write null_mean(trK, trL, n): the mean of tr(K P L P^T) over all permutations P, K and L centred.",
    checker=_check_null_mean,
    hint_text=("Split the sum over i, j into i = j (each diagonal entry of L lands on a diagonal entry with "
               "probability 1) and i != j; centred rows sum to zero, so the off-diagonal entries add up to -tr."),
    solution_text="def null_mean(trK, trL, n):\n    return trK * trL / (n - 1)",
    reference=_null_mean_ref,
)
