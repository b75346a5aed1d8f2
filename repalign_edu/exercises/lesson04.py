"""Exercises of lesson 04: kernel alignment and CKA (paper section 3.1)."""
from __future__ import annotations

import numpy as np

from ._core import Exercise, close, compare_function


# --------------------------------------------------------------------------- linear CKA
def _my_linear_cka(X, Y):
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    return np.linalg.norm(Yc.T @ Xc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))


def _cka_uncentred(X, Y):
    return np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


def _cka_unsquared(X, Y):
    Xc, Yc = X - X.mean(axis=0), Y - Y.mean(axis=0)
    return np.linalg.norm(Yc.T @ Xc) / np.sqrt(np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))


def _check_linear_cka(fn):
    rng = np.random.default_rng(21)
    X = rng.normal(loc=2.0, size=(40, 5))
    Y = X @ rng.normal(size=(5, 3)) + rng.normal(size=(40, 3))
    Z = np.abs(rng.normal(size=(15, 7)))
    return compare_function(fn, _my_linear_cka, [(X, Y), (Z, Z[:, :3] ** 2)], mistakes=[
        (_cka_uncentred, "this is the uncentred KA (paper Eq. 1): centre the columns of X and Y first."),
        (_cka_unsquared, "the numerator is the squared Frobenius norm ||Yc^T Xc||_F^2."),
    ], rtol=1e-9, passed="your linear CKA matches ra.cka.")


linear_cka = Exercise(
    id="04.linear_cka",
    prompt="Write my_linear_cka(X, Y) in feature space: ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F).",
    checker=_check_linear_cka,
    reference=_my_linear_cka,
    answer_name="my_linear_cka",
    hints=("Work with d x d matrices, never n x n ones: the identity <K_c, L_c>_F = ||Yc^T Xc||_F^2 "
           "does the rest.",
           "Centre each column (X - X.mean(axis=0)); np.linalg.norm of a matrix is its Frobenius norm; "
           "square only the numerator."),
    mistakes=(_cka_uncentred, _cka_unsquared),
)


# --------------------------------------------------------------------------- invariances
MAPS = ("orthogonal", "isotropic_scaling", "translation", "invertible_linear")
_INVARIANT = {
    "KA": {"orthogonal": True, "isotropic_scaling": True, "translation": False, "invertible_linear": False},
    "CKA": {"orthogonal": True, "isotropic_scaling": True, "translation": True, "invertible_linear": False},
}


def _check_invariances(answer):
    if not isinstance(answer, dict) or set(answer) != {"KA", "CKA"}:
        return False, "answer with a dict {'KA': {...}, 'CKA': {...}}."
    wrong = 0
    for measure, truth in _INVARIANT.items():
        row = answer[measure]
        if not isinstance(row, dict) or set(row) != set(MAPS):
            return False, f"answer[{measure!r}] must be a dict with the keys {MAPS}."
        for m in MAPS:
            if not isinstance(row[m], (bool, np.bool_)):
                return False, f"answer[{measure!r}][{m!r}] must be True or False."
            wrong += bool(row[m]) != truth[m]
    if wrong:
        return False, f"{wrong} of the 8 entries are not right."
    return True, "all eight entries are right."


invariances = Exercise(
    id="04.invariances",
    prompt="For linear-kernel KA and CKA, say which maps of X (orthogonal, isotropic scaling, translation, "
           "general invertible linear) leave the value unchanged.",
    checker=_check_invariances,
    reference={k: dict(v) for k, v in _INVARIANT.items()},
    answer_name="my_table",
    hints=("Ask what each map does to the Gram matrix X X^T, and to the centred H X X^T H.",
           "An alignment is a cosine between Gram matrices: a map that multiplies K by a constant, or "
           "leaves it unchanged, changes nothing.",
           "KA and CKA differ in exactly one column: the one that centring makes harmless."),
    explanation=("Orthogonal maps keep every inner product, so K does not change; scaling by c multiplies "
                 "K by c^2 and the cosine ignores it; x -> x + b changes <x, x'> (uncentred KA) but "
                 "H(X + 1b^T) = HX, so CKA does not see it; a general invertible map changes the angles "
                 "between the samples, so neither is invariant."),
    mistakes=({"KA": dict(_INVARIANT["CKA"]), "CKA": dict(_INVARIANT["CKA"])},),
)


# --------------------------------------------------------------------------- saturation
def _check_saturation(value):
    return close(value, 1.0, rtol=1e-6, atol=1e-6)


saturation = Exercise(
    id="04.saturation",
    prompt="Predict the RBF-CKA of two unrelated representations (distinct rows) in the limit sigma -> 0.",
    checker=_check_saturation,
    reference=1.0,
    answer_name="my_limit",
    hints=("What does exp(-||x - x'||^2 / (2 sigma^2)) tend to for x != x', and for x = x'?",
           "As sigma -> 0, what matrix does every Gram matrix tend to, whatever the data?"),
    explanation=("1.0: as sigma -> 0, k(x, x') -> 0 for every pair of distinct points, so both Gram "
                 "matrices tend to the identity I and CKA -> A(HIH, HIH) = 1, whatever the data."),
    mistakes=(0.0,),
)
