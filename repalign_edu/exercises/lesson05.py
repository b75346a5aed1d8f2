"""Exercises of lesson 05: permutation p-values, calibrated scores, the exact null mean.

Each reference is written as a student would write it (NumPy only), so that the code
``solution()`` prints runs on its own; the tests check that it agrees with
``repalign_edu.inference`` and, for the null mean, with the average over all permutations.
"""
from __future__ import annotations

import numpy as np

from ._core import Exercise, compare_function


# --------------------------------------------------------------------------- 05.add_one_pvalue
def _pvalue(statistic, null):
    null = np.asarray(null, dtype=float)
    count = np.sum(null >= statistic)               # null values at least as large as the observed one
    return (1 + count) / (len(null) + 1)            # the observed pairing counts as one permutation


def _pvalue_no_add_one(statistic, null):
    return np.mean(np.asarray(null, dtype=float) >= statistic)


def _pvalue_strict(statistic, null):
    null = np.asarray(null, dtype=float)
    return (1 + np.sum(null > statistic)) / (len(null) + 1)


def _pvalue_numerator_only(statistic, null):
    null = np.asarray(null, dtype=float)
    return (1 + np.sum(null >= statistic)) / len(null)


def _pvalue_lower_tail(statistic, null):
    null = np.asarray(null, dtype=float)
    return (1 + np.sum(null <= statistic)) / (len(null) + 1)


def _pvalue_inputs():
    rng = np.random.default_rng(51)
    null = rng.normal(size=99)
    ties = rng.integers(0, 5, size=49).astype(float)           # a discrete null: many ties
    return [(0.3, null), (5.0, null), (-5.0, null), (float(null[7]), null), (2.0, ties)]


def _check_pvalue(fn):
    return compare_function(fn, _pvalue, _pvalue_inputs(), mistakes=[
        (_pvalue_no_add_one, "a p-value is never 0: count the observed pairing as one of the permutations "
                             "(add one to the count and to the number of permutations)."),
        (_pvalue_numerator_only, "add one to the number of permutations too: the observed pairing is one "
                                 "of K + 1 pairings."),
        (_pvalue_strict, "a null value equal to the statistic counts as at least as large (>=, not >)."),
        (_pvalue_lower_tail, "for a similarity, large values are the evidence: count the null values at "
                             "least as large as the statistic, not at most."),
    ], rtol=1e-12, atol=1e-12, passed="(1 + #{null >= T}) / (K + 1): never 0, and exact under independence.")


add_one_pvalue = Exercise(
    id="05.add_one_pvalue",
    prompt="Write pvalue(statistic, null): the add-one permutation p-value of a similarity.",
    checker=_check_pvalue,
    reference=_pvalue,
    answer_name="pvalue",
    hints=("Which null values are evidence against the observed statistic being special, and why can a "
           "permutation p-value never be exactly 0?",
           "Count the null values that are at least as large as the statistic (ties included). The observed "
           "pairing is itself one of the permutations: it adds one to that count and one to K."),
    mistakes=(_pvalue_no_add_one, _pvalue_numerator_only, _pvalue_strict, _pvalue_lower_tail),
)


# --------------------------------------------------------------------------- 05.calibrated_score
def _calibrated(statistic, null, alpha=0.05, s_max=1.0):
    pooled = np.sort(np.append(null, statistic))             # the K + 1 values, statistic included
    rank = int(np.ceil((1 - alpha) * (len(null) + 1)))       # tau is the rank-th smallest of them
    tau = pooled[rank - 1]
    return float(np.clip((statistic - tau) / (s_max - tau), 0.0, 1.0))


def _calibrated_no_clip(statistic, null, alpha=0.05, s_max=1.0):
    pooled = np.sort(np.append(null, statistic))
    tau = pooled[int(np.ceil((1 - alpha) * (len(null) + 1))) - 1]
    return float((statistic - tau) / (s_max - tau))


def _calibrated_quantile(statistic, null, alpha=0.05, s_max=1.0):
    tau = np.quantile(null, 1 - alpha)
    return float(np.clip((statistic - tau) / (s_max - tau), 0.0, 1.0))


def _calibrated_off_by_one(statistic, null, alpha=0.05, s_max=1.0):
    pooled = np.sort(np.append(null, statistic))
    tau = pooled[int(np.ceil((1 - alpha) * (len(null) + 1)))]
    return float(np.clip((statistic - tau) / (s_max - tau), 0.0, 1.0))


def _calibrated_over_s_max(statistic, null, alpha=0.05, s_max=1.0):
    pooled = np.sort(np.append(null, statistic))
    tau = pooled[int(np.ceil((1 - alpha) * (len(null) + 1))) - 1]
    return float(np.clip((statistic - tau) / s_max, 0.0, 1.0))


def _calibrated_inputs():
    rng = np.random.default_rng(52)
    null = rng.uniform(0.1, 0.3, size=199)
    wide = rng.uniform(0.0, 1.0, size=99)
    return [(0.9, null, 0.05, 1.0), (0.2, null, 0.05, 1.0), (float(np.quantile(null, 0.99)), null, 0.05, 1.0),
            (1.5, wide, 0.1, 2.0), (0.95, wide, 0.1, 1.0)]


def _check_calibrated(fn):
    return compare_function(fn, _calibrated, _calibrated_inputs(), mistakes=[
        (_calibrated_no_clip, "clip the score to [0, 1]: a statistic below the threshold scores 0."),
        (_calibrated_off_by_one, "the ceil((1-alpha)(K+1))-th smallest value sits at index ceil(...) - 1 "
                                 "of the sorted values (Python counts from 0)."),
        (_calibrated_quantile, "the threshold is an order statistic of the statistic and the null together "
                               "(the ceil((1-alpha)(K+1))-th smallest), not np.quantile of the null alone."),
        (_calibrated_over_s_max, "rescale the range from the threshold to s_max onto [0, 1]: divide by "
                                 "s_max - threshold, not by s_max."),
    ], rtol=1e-10, atol=1e-12,
        passed="the score rescales what lies above the null's (1 - alpha) critical value to [0, 1].")


calibrated_score = Exercise(
    id="05.calibrated_score",
    prompt="Write calibrated(statistic, null, alpha, s_max): the null-calibrated score of Groeger et al. (2026).",
    checker=_check_calibrated,
    reference=_calibrated,
    answer_name="calibrated",
    hints=("Two steps: find the threshold tau that the null reaches only with probability alpha, then map the "
           "interval from tau to s_max onto [0, 1]; anything below tau is chance.",
           "tau is an order statistic of the K + 1 values {T, T_1, ..., T_K} (put the statistic in with the "
           "null and sort); mind that Python indexes from 0, and that the score must stay within [0, 1]."),
    mistakes=(_calibrated_no_clip, _calibrated_off_by_one, _calibrated_quantile, _calibrated_over_s_max),
)


# --------------------------------------------------------------------------- 05.null_mean
def _null_mean(trK, trL, n):
    # diagonal pairs: tr K tr L / n; off-diagonal pairs: (-tr K)(-tr L) / (n (n - 1)), since centred rows sum to 0
    return trK * trL / n + trK * trL / (n * (n - 1))


def _null_mean_diagonal_only(trK, trL, n):
    return trK * trL / n


def _null_mean_off_diagonal_only(trK, trL, n):
    return trK * trL / (n * (n - 1))


def _null_mean_hsic(trK, trL, n):
    return trK * trL / n**2


def _null_mean_inputs():
    return [(3.0, 5.0, 10), (1.0, 1.0, 2), (120.0, 0.5, 301), (7.5, 2.0, 4)]


def _check_null_mean(fn):
    return compare_function(fn, _null_mean, _null_mean_inputs(), mistakes=[
        (_null_mean_diagonal_only, "close: the diagonal gives tr K tr L / n, but the off-diagonal entries add "
                                   "to it. What do they sum to, for centred K and L?"),
        (_null_mean_off_diagonal_only, "the diagonal entries contribute too: a permutation maps the diagonal "
                                       "of L onto the diagonal."),
        (_null_mean_hsic, "that is a normalisation of HSIC (1/n^2 of tr K tr L); the task asks for the mean "
                          "of tr(K P L P^T) itself."),
    ], rtol=1e-12, atol=1e-12, passed="E tr(K P L P^T) = tr K tr L / (n - 1) for centred K and L.")


null_mean = Exercise(
    id="05.null_mean",
    prompt="Write null_mean(trK, trL, n): the mean of tr(K P L P^T) over all permutations P, K and L centred.",
    checker=_check_null_mean,
    reference=_null_mean,
    answer_name="null_mean",
    hints=("Write tr(K P L P^T) as a sum over i, j of K_ij L_pi(i)pi(j), and split it into the terms with "
           "i = j and those with i != j.",
           "A random permutation sends a diagonal entry of L to a uniformly random diagonal entry, and an "
           "off-diagonal one to a uniformly random off-diagonal one. Centred rows sum to 0, so the "
           "off-diagonal entries of K sum to -tr K (and those of L to -tr L)."),
    explanation="# together: tr K tr L (1/n + 1/(n(n - 1))) = tr K tr L / (n - 1)",
    mistakes=(_null_mean_diagonal_only, _null_mean_off_diagonal_only, _null_mean_hsic),
)
