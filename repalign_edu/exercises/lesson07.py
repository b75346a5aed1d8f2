"""Exercises of lesson 07: stitching (paper section 4)."""
from __future__ import annotations

import numpy as np

from ..stitching import SOFTMAX_LIPSCHITZ
from ._core import Exercise, StudentError, close, compare_function


# --------------------------------------------------------------------------- A~_2 by hand
def _my_A2(F1, F2):
    St = np.linalg.lstsq(F1, F2, rcond=None)[0]      # (d1, d2) = S^T, the least-squares stitcher
    R = F2 - F1 @ St
    return np.mean(np.sum(R**2, axis=1))


def _A2_total(F1, F2):
    return np.mean(np.sum(F2**2, axis=1))


def _A2_sum(F1, F2):
    St = np.linalg.lstsq(F1, F2, rcond=None)[0]
    return np.sum((F2 - F1 @ St) ** 2)


def _A2_mean_entries(F1, F2):
    St = np.linalg.lstsq(F1, F2, rcond=None)[0]
    return np.mean((F2 - F1 @ St) ** 2)


def _A2_pinv_wrong_side(F1, F2):
    St = np.linalg.lstsq(F2, F1, rcond=None)[0]
    R = F1 - F2 @ St
    return np.mean(np.sum(R**2, axis=1))


def _A2_inputs():
    rng = np.random.default_rng(51)
    base = rng.normal(size=(60, 3))
    # rank-deficient F1 (a duplicated direction and a dead unit), as for ReLU features
    F1 = np.hstack([base, base[:, :1] * 2.0, np.zeros((60, 1))])
    F2 = np.tanh(base @ rng.normal(size=(3, 4))) + 0.1 * rng.normal(size=(60, 4))
    return [(F1, F2)]


def _check_misalignment(fn):
    try:
        return compare_function(fn, _my_A2, _A2_inputs(), mistakes=[
            (_A2_total, "this is Tr S_22 = E||f_2||^2: subtract what the best stitcher explains."),
            (_A2_sum, "divide the summed squared residual by n (A~_2 is a mean over samples)."),
            (_A2_mean_entries, "average over samples only: sum the squared residual over the d_2 "
                               "coordinates of each sample first."),
            (_A2_pinv_wrong_side, "stitch forward, from f_1 to f_2: regress F2 on F1."),
        ], rtol=1e-8, atol=1e-12, passed="your A~_2 equals stitching.stitching_misalignment.")
    except StudentError as exc:
        if "LinAlgError" in str(exc) or "Singular" in str(exc):
            raise StudentError(f"{exc}. F1 here is rank deficient, so S_11 is singular: use "
                               "np.linalg.lstsq (or pinv), never np.linalg.inv.") from None
        raise


misalignment_by_hand = Exercise(
    id="07.misalignment",
    prompt="Write my_A2(F1, F2) = min_S mean ||S f_1 - f_2||^2 (Theorem 1's A~_2), valid for rank-deficient F1.",
    checker=_check_misalignment,
    reference=_my_A2,
    answer_name="my_A2",
    hints=("The best linear stitcher is a least-squares regression of f_2 on f_1; A~_2 is what it "
           "cannot explain.",
           "np.linalg.lstsq(F1, F2, rcond=None)[0] is S^T (it works when F1 is rank deficient); average "
           "the squared row norms of the residual F2 - F1 @ S^T."),
    mistakes=(_A2_total, _A2_sum, _A2_mean_entries, _A2_pinv_wrong_side),
)


# --------------------------------------------------------------------------- the bound
def _my_bound(R2, A2, kappa2):
    return (np.sqrt(R2) + kappa2 * np.sqrt(A2)) ** 2


def _bound_no_cross(R2, A2, kappa2):
    return R2 + kappa2**2 * A2


def _bound_no_root(R2, A2, kappa2):
    return (np.sqrt(R2) + kappa2 * A2) ** 2


def _bound_kappa_unsquared(R2, A2, kappa2):
    return R2 + kappa2 * A2 + 2 * kappa2 * np.sqrt(A2 * R2)


def _check_bound(fn):
    cases = [(0.08, 0.4, 1.4), (0.0, 2.0, 0.5), (0.3, 0.0, 3.0), (0.05, 0.01, 10.0)]
    return compare_function(fn, _my_bound, cases, mistakes=[
        (_bound_no_cross, "the cross term 2 kappa_2 sqrt(A~_2 R_2) is missing."),
        (_bound_no_root, "take the square root of A~_2 (it is a squared distance)."),
        (_bound_kappa_unsquared, "kappa_2 multiplies a distance, so kappa_2^2 multiplies A~_2."),
    ], rtol=1e-9, atol=1e-12,
        passed="R_2 + kappa^2 A~_2 + 2 kappa sqrt(A~_2 R_2) = (sqrt(R_2) + kappa sqrt(A~_2))^2.")


bound_by_hand = Exercise(
    id="07.bound",
    prompt="Write my_bound(R2, A2, kappa2), the right-hand side of Theorem 1 (Eq. 2).",
    checker=_check_bound,
    reference=_my_bound,
    answer_name="my_bound",
    hints=("Read Eq. 2 term by term: the risk, the misalignment scaled by the head's Lipschitz "
           "constant, and a cross term.",
           "R_2(H_2) + kappa_2^2 A~_2 + 2 kappa_2 (A~_2 R_2(H_2))^{1/2}; it is a perfect square."),
    mistakes=(_bound_no_cross, _bound_no_root, _bound_kappa_unsquared),
)


# --------------------------------------------------------------------------- Remark 4
def _check_reparam(value):
    return close(value, 1.0, rtol=1e-8)


reparametrisation_prediction = Exercise(
    id="07.reparametrisation",
    prompt="Predict A~_2(B f_1, f_2) / A~_2(f_1, f_2) for an invertible (ill-conditioned) matrix B.",
    checker=_check_reparam,
    reference=1.0,
    answer_name="my_ratio",
    hints=("The minimisation runs over all matrices S. What is S B when S ranges over all matrices?",
           "If S' = S B, which matrices S' can you reach, given that B is invertible?"),
    explanation=("1.0: {S B : S} is again the set of all d2 x d1 matrices, so the minimum does not "
                 "change (Remark 4: the spectrum eta_1 of f_1 is irrelevant)."),
    mistakes=(0.5,),
)


# --------------------------------------------------------------------------- softmax constant
def _check_softmax(value):
    return close(value, SOFTMAX_LIPSCHITZ, rtol=1e-9)


softmax_lipschitz = Exercise(
    id="07.softmax",
    prompt="What is the smallest Lipschitz constant (Euclidean norms) of the softmax?",
    checker=_check_softmax,
    reference=SOFTMAX_LIPSCHITZ,
    answer_name="my_softmax",
    hints=("The Lipschitz constant is the largest operator norm of the Jacobian, "
           "diag(p) - p p^T, over all probability vectors p.",
           "Gershgorin: row i of diag(p) - p p^T has centre p_i(1 - p_i) and radius p_i(1 - p_i). "
           "Maximise 2 p(1 - p) over p in [0, 1].",
           "1 is a valid Lipschitz constant, but not the smallest one."),
    explanation=("1/2: every eigenvalue of diag(p) - p p^T is at most max_i 2 p_i (1 - p_i) <= 1/2, "
                 "attained as p -> (1/2, 1/2, 0, ...)."),
    mistakes=(1.0,),
)
