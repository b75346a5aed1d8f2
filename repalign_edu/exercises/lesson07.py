"""Exercises of lesson 07: stitching (paper section 4)."""
from __future__ import annotations

import numpy as np

from ..stitching import SOFTMAX_LIPSCHITZ, stitching_misalignment, theorem1_bound
from ._core import Exercise, close


# --------------------------------------------------------------------------- A~_2 by hand
def _misalignment_ref(F1, F2):
    F1, F2 = np.asarray(F1, float), np.asarray(F2, float)
    S_t = np.linalg.lstsq(F1, F2, rcond=None)[0]          # (d1, d2) = S^T
    R = F2 - F1 @ S_t
    return float(np.mean(np.sum(R**2, axis=1)))


def _check_misalignment(fn):
    rng = np.random.default_rng(51)
    base = rng.normal(size=(60, 3))
    # rank-deficient F1 (a duplicated direction and a dead unit), as for ReLU features
    F1 = np.hstack([base, base[:, :1] * 2.0, np.zeros((60, 1))])
    F2 = np.tanh(base @ rng.normal(size=(3, 4))) + 0.1 * rng.normal(size=(60, 4))
    try:
        value = float(fn(F1, F2))
    except (TypeError, ValueError):
        return False, "return a single number."
    except np.linalg.LinAlgError:
        return False, ("F1 here is rank deficient, so S_11 is singular: use np.linalg.lstsq "
                       "(or pinv), never np.linalg.inv.")
    expected = stitching_misalignment(F1, F2)
    total = float(np.mean(np.sum(F2**2, axis=1)))
    if abs(value - total) < 1e-9 * total:
        return False, "this is Tr S_22 = E||f_2||^2: subtract what the best stitcher explains."
    if abs(value * len(F1) - expected * len(F1) ** 2) < 1e-6 * expected * len(F1) ** 2 or \
            abs(value - expected * len(F1)) < 1e-6 * expected * len(F1):
        return False, "divide the summed squared residual by n (A~_2 is a mean over samples)."
    return close(value, expected, rtol=1e-8, atol=1e-12)


misalignment_by_hand = Exercise(
    id="07.misalignment",
    prompt="Write my_A2(F1, F2) = min_S mean ||S f_1 - f_2||^2 (Theorem 1's A~_2), valid for rank-deficient F1.",
    checker=_check_misalignment,
    hint_text=("Regress F2 on F1 with np.linalg.lstsq(F1, F2, rcond=None)[0] (that is S^T), then "
               "average the squared row norms of the residual F2 - F1 @ S^T."),
    solution_text=(
        "def my_A2(F1, F2):\n    St = np.linalg.lstsq(F1, F2, rcond=None)[0]\n"
        "    R = F2 - F1 @ St\n    return np.mean(np.sum(R**2, axis=1))"
    ),
    reference=_misalignment_ref,
)


# --------------------------------------------------------------------------- the bound
def _bound_ref(R2, A2, kappa2):
    return float((np.sqrt(R2) + kappa2 * np.sqrt(A2)) ** 2)


def _check_bound(fn):
    cases = [(0.08, 0.4, 1.4), (0.0, 2.0, 0.5), (0.3, 0.0, 3.0), (0.05, 0.01, 10.0)]
    for R2, A2, k in cases:
        try:
            value = float(fn(R2, A2, k))
        except (TypeError, ValueError):
            return False, "return a single number."
        expected = theorem1_bound(R2, A2, k)
        if abs(value - expected) > 1e-12 + 1e-9 * expected:
            if abs(value - (R2 + k**2 * A2)) < 1e-9 * max(expected, 1e-12) and A2 * R2 > 0:
                return False, f"for {(R2, A2, k)} the cross term 2 kappa sqrt(A~_2 R_2) is missing."
            if abs(value - (np.sqrt(R2) + k * A2) ** 2) < 1e-9 * max(expected, 1e-12):
                return False, "take the square root of A~_2 (it is a squared distance)."
            return False, f"for R2={R2}, A2={A2}, kappa2={k} expected {expected:.6g}, got {value:.6g}."
    return True, "R_2 + kappa^2 A~_2 + 2 kappa sqrt(A~_2 R_2) = (sqrt(R_2) + kappa sqrt(A~_2))^2."


bound_by_hand = Exercise(
    id="07.bound",
    prompt="Write my_bound(R2, A2, kappa2), the right-hand side of Theorem 1 (Eq. 2).",
    checker=_check_bound,
    hint_text="R_2(H_2) + kappa_2^2 A~_2 + 2 kappa_2 (A~_2 R_2(H_2))^{1/2}; it is a perfect square.",
    solution_text="def my_bound(R2, A2, kappa2):\n    return (np.sqrt(R2) + kappa2 * np.sqrt(A2)) ** 2",
    reference=_bound_ref,
)


# --------------------------------------------------------------------------- Remark 4
def _check_reparam(value):
    ok, msg = close(value, 1.0, rtol=1e-8)
    if not ok:
        msg += (" S can absorb any invertible B: min_S E||S B f_1 - f_2||^2 = min_S' E||S' f_1 - f_2||^2 "
                "with S' = S B (Remark 4: the spectrum eta_1 is irrelevant).")
    return ok, msg


reparametrisation_prediction = Exercise(
    id="07.reparametrisation",
    prompt="Predict A~_2(B f_1, f_2) / A~_2(f_1, f_2) for an invertible (ill-conditioned) matrix B.",
    checker=_check_reparam,
    hint_text="The minimisation runs over all matrices S. What is S B when S ranges over all matrices?",
    solution_text="1.0: {S B : S} is again the set of all d2 x d1 matrices, so the minimum does not change.",
    reference=1.0,
)


# --------------------------------------------------------------------------- softmax constant
def _check_softmax(value):
    ok, msg = close(value, SOFTMAX_LIPSCHITZ, rtol=1e-9)
    if not ok and value is not None and np.isfinite(float(value)) and abs(float(value) - 1.0) < 1e-9:
        return False, "1 is a valid Lipschitz constant but not the smallest one."
    if not ok:
        msg += " The Jacobian of the softmax is diag(p) - p p^T; bound its eigenvalues with Gershgorin."
    return ok, msg


softmax_lipschitz = Exercise(
    id="07.softmax",
    prompt="What is the smallest Lipschitz constant (Euclidean norms) of the softmax?",
    checker=_check_softmax,
    hint_text="Row i of diag(p) - p p^T: centre p_i(1 - p_i), radius p_i(1 - p_i). Maximise 2 p(1 - p).",
    solution_text=("1/2: every eigenvalue of diag(p) - p p^T is at most max_i 2 p_i (1 - p_i) <= 1/2, "
                   "attained as p -> (1/2, 1/2, 0, ...)."),
    reference=SOFTMAX_LIPSCHITZ,
)
