"""Exercises of lesson 04: kernel alignment and CKA (paper section 3.1)."""
from __future__ import annotations

import numpy as np

from ..measures import cka
from ._core import Exercise, close


# --------------------------------------------------------------------------- linear CKA
def _linear_cka_ref(X, Y):
    Xc = np.asarray(X, float) - np.mean(X, axis=0)
    Yc = np.asarray(Y, float) - np.mean(Y, axis=0)
    return float(np.linalg.norm(Yc.T @ Xc) ** 2
                 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc)))


def _check_linear_cka(fn):
    rng = np.random.default_rng(21)
    X = rng.normal(loc=2.0, size=(40, 5))
    Y = X @ rng.normal(size=(5, 3)) + rng.normal(size=(40, 3))
    expected = cka(X, Y, backend="numpy")
    try:
        value = float(fn(X, Y))
    except (TypeError, ValueError):
        return False, "return a single number."
    uncentred = float(np.linalg.norm(Y.T @ X) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y)))
    if abs(value - uncentred) < 1e-9:
        return False, "this is the uncentred KA (paper Eq. 1): centre the columns of X and Y first."
    return close(value, expected, rtol=1e-9)


linear_cka = Exercise(
    id="04.linear_cka",
    prompt="Write my_linear_cka(X, Y) in feature space: ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F).",
    checker=_check_linear_cka,
    hint_text="Centre each column (X - X.mean(axis=0)); np.linalg.norm of a matrix is the Frobenius norm.",
    solution_text=(
        "def my_linear_cka(X, Y):\n    Xc, Yc = X - X.mean(0), Y - Y.mean(0)\n"
        "    return np.linalg.norm(Yc.T @ Xc)**2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))"
    ),
    reference=_linear_cka_ref,
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
    for measure, truth in _INVARIANT.items():
        row = answer[measure]
        if not isinstance(row, dict) or set(row) != set(MAPS):
            return False, f"answer[{measure!r}] must be a dict with the keys {MAPS}."
        for m in MAPS:
            if not isinstance(row[m], (bool, np.bool_)):
                return False, f"answer[{measure!r}][{m!r}] must be True or False."
            if bool(row[m]) != truth[m]:
                why = {
                    "orthogonal": "an orthogonal map keeps every inner product, so K does not change",
                    "isotropic_scaling": "scaling by c multiplies K by c^2, and the alignment is a cosine",
                    "translation": ("x -> x + b changes <x, x'> (uncentred KA) but not the centred Gram HKH"
                                    if measure == "KA" else "H(x + b) = Hx: centring removes any translation"),
                    "invertible_linear": "a general invertible map changes the angles between the samples",
                }[m]
                return False, f"{measure} under {m.replace('_', ' ')}: not quite; {why}."
    return True, "all eight entries are right."


invariances = Exercise(
    id="04.invariances",
    prompt="For linear-kernel KA and CKA, say which maps of X (orthogonal, isotropic scaling, translation, "
           "general invertible linear) leave the value unchanged.",
    checker=_check_invariances,
    hint_text="Ask what each map does to the Gram matrix X X^T, and to the centred H X X^T H.",
    solution_text=(
        "{'KA':  {'orthogonal': True, 'isotropic_scaling': True, 'translation': False, 'invertible_linear': False},\n"
        " 'CKA': {'orthogonal': True, 'isotropic_scaling': True, 'translation': True,  'invertible_linear': False}}"
    ),
    reference={k: dict(v) for k, v in _INVARIANT.items()},
)


# --------------------------------------------------------------------------- saturation
def _check_saturation(value):
    ok, msg = close(value, 1.0, rtol=1e-6, atol=1e-6)
    if not ok and value is not None:
        msg += (" As sigma -> 0, k(x, x') -> 0 for every pair of distinct points, so both Gram "
                "matrices tend to the identity I and CKA -> A(HIH, HIH) = 1, whatever the data.")
    return ok, msg


saturation = Exercise(
    id="04.saturation",
    prompt="Predict the RBF-CKA of two unrelated representations (distinct rows) in the limit sigma -> 0.",
    checker=_check_saturation,
    hint_text="What does exp(-||x - x'||^2 / (2 sigma^2)) tend to for x != x' and for x = x'?",
    solution_text="1.0: both Gram matrices tend to I, and CKA(I, I) = 1.",
    reference=1.0,
)
