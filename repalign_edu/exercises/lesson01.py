"""Exercises of lesson 01: metric alignment (paper section 3.2, RSA, Procrustes)."""
from __future__ import annotations

import numpy as np

from ..measures import distance_alignment, kernel_alignment
from ..metrics import procrustes_distance, rdm
from ._core import Exercise, close


# --------------------------------------------------------------------------- 01.sqdist
def _sqdist_ref(X):
    X = np.asarray(X, dtype=float)
    G = X @ X.T
    g = np.diag(G)
    return np.maximum(g[:, None] + g[None, :] - 2 * G, 0.0)


def _check_sqdist(fn):
    X = np.random.default_rng(3).normal(size=(25, 4))
    out = np.asarray(fn(X), dtype=float)
    if out.shape != (25, 25):
        return False, f"the output has shape {out.shape}, expected (n, n) = (25, 25)."
    if not np.allclose(out, out.T):
        return False, "the matrix is not symmetric: d(x_i, x_j) must equal d(x_j, x_i)."
    ref = rdm(X, "sqeuclidean")
    if np.allclose(out, np.sqrt(ref), atol=1e-8):
        return False, "these are distances ||x_i - x_j||; the exercise asks for their squares."
    if not np.allclose(out, ref, atol=1e-8):
        return False, "the values differ from ||x_i - x_j||^2."
    return True, "your matrix equals rdm(X, 'sqeuclidean')."


squared_distances = Exercise(
    id="01.sqdist",
    prompt="Write sqdist(X) returning the (n, n) matrix of squared Euclidean distances ||x_i - x_j||^2.",
    checker=_check_sqdist,
    hint_text="||x_i - x_j||^2 = ||x_i||^2 + ||x_j||^2 - 2 <x_i, x_j>: use the Gram matrix G = X @ X.T "
              "and its diagonal.",
    solution_text=("def sqdist(X):\n    G = X @ X.T\n    g = np.diag(G)\n"
                   "    return np.maximum(g[:, None] + g[None, :] - 2 * G, 0)"),
    reference=_sqdist_ref,
)


# --------------------------------------------------------------------------- 01.da_from_ka
def _da_from_ka_ref(X, Y):
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    K1, K2 = X @ X.T, Y @ Y.T
    m1, m2 = np.mean(K1**2), np.mean(K2**2)
    A = np.sum(K1 * K2) / np.sqrt(np.sum(K1**2) * np.sum(K2**2))
    return float(4 * (m1 + m2 - 2 * np.sqrt(m1 * m2) * A))


def _check_da_from_ka(fn):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 6))
    Y = X[:, :4] + 0.8 * rng.normal(size=(40, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    value = fn(X, Y)
    expected = distance_alignment(X, Y, backend="numpy")
    ok, msg = close(value, expected, rtol=1e-8, atol=1e-12)
    if not ok:
        A = kernel_alignment(X, Y, backend="numpy")
        m1 = np.mean((X @ X.T) ** 2)
        if np.isclose(float(value), 8 * np.sqrt(m1) * (1 - A), rtol=1e-3):
            msg += " You used the norm ||K||; the identity needs the squared norm ||K||^2."
    return ok, msg


da_from_ka = Exercise(
    id="01.da_from_ka",
    prompt=("For unit-norm rows, compute D(d_1, d_2) from kernels only: "
            "D = 4 (||K_1||^2 + ||K_2||^2 - 2 ||K_1|| ||K_2|| A), with ||K||^2 = mean of K_ij^2."),
    checker=_check_da_from_ka,
    hint_text=("The empirical measure gives ||K||^2 = (1/n^2) sum_ij K_ij^2 = np.mean(K**2); "
               "A = <K_1, K_2>_F / (||K_1||_F ||K_2||_F) (ra.kernel_alignment)."),
    solution_text=("def da_from_ka(X, Y):\n    K1, K2 = X @ X.T, Y @ Y.T\n"
                   "    m1, m2 = np.mean(K1**2), np.mean(K2**2)\n"
                   "    A = ra.kernel_alignment(X, Y)\n"
                   "    return 4 * (m1 + m2 - 2 * np.sqrt(m1 * m2) * A)"),
    reference=_da_from_ka_ref,
)


# --------------------------------------------------------------------------- 01.procrustes
def _procrustes_ref(X, Y):
    X = np.asarray(X, dtype=float)
    Y = np.asarray(Y, dtype=float)
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)
    nuc = np.linalg.svd(X.T @ Y, compute_uv=False).sum()
    return float(np.sqrt(max(2.0 - 2.0 * nuc, 0.0)))


def _check_procrustes(fn):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 5))
    Y = X @ np.linalg.qr(rng.normal(size=(5, 5)))[0] + 0.5 * rng.normal(size=(30, 5)) + 2.0
    value = fn(X, Y)
    expected = procrustes_distance(X, Y)
    ok, msg = close(value, expected, rtol=1e-8, atol=1e-12)
    if not ok and np.isclose(float(value), procrustes_distance(X, Y, centered=False), rtol=1e-6):
        msg += " Did you centre both representations first?"
    return ok, msg


procrustes = Exercise(
    id="01.procrustes",
    prompt=("Compute the Procrustes distance of centred, unit-Frobenius-norm X and Y with one SVD: "
            "d = sqrt(2 - 2 ||X^T Y||_*)."),
    checker=_check_procrustes,
    hint_text=("Centre the columns, divide each matrix by its Frobenius norm, then the nuclear norm "
               "||X^T Y||_* is the sum of the singular values of X.T @ Y."),
    solution_text=("def my_procrustes(X, Y):\n    X = X - X.mean(0); Y = Y - Y.mean(0)\n"
                   "    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)\n"
                   "    nuc = np.linalg.svd(X.T @ Y, compute_uv=False).sum()\n"
                   "    return np.sqrt(2 - 2 * nuc)"),
    reference=_procrustes_ref,
)


# --------------------------------------------------------------------------- 01.translation
#: measures of metrics.default_measures() that are invariant to translating X
TRANSLATION_INVARIANT = frozenset({
    "CKA (linear)", "CKA (rbf, median)", "D (distance alignment)", "RSA (Spearman)",
    "RSA (Pearson)", "Procrustes", "angular Procrustes", "shape metric, alpha=0",
})
_ALL = ("KA (linear)", "CKA (linear)", "CKA (rbf, median)", "D (distance alignment)",
        "RSA (Spearman)", "RSA (Pearson)", "Procrustes", "angular Procrustes",
        "shape metric, alpha=0", "mutual kNN")


def _check_translation(answer):
    try:
        got = {str(a) for a in answer}
    except TypeError:
        return False, "answer with a set of measure names, e.g. {'CKA (linear)', ...}."
    unknown = got - set(_ALL)
    if unknown:
        return False, f"unknown names {sorted(unknown)}; choose from {list(_ALL)}."
    missing = TRANSLATION_INVARIANT - got
    extra = got - TRANSLATION_INVARIANT
    if not missing and not extra:
        return True, "exactly the measures that centre the data or only look at differences x_i - x_j."
    parts = []
    if extra:
        parts.append(f"not invariant: {sorted(extra)}")
    if missing:
        parts.append(f"{len(missing)} more measure(s) are invariant too")
    return False, "; ".join(parts) + "."


translation_invariance = Exercise(
    id="01.translation",
    prompt=("Which measures of metrics.default_measures() are unchanged when X is translated "
            "(X -> X + b)? Answer with a set of names."),
    checker=_check_translation,
    hint_text=("A measure is translation invariant if it centres the features first or depends "
               "only on differences x_i - x_j. Uncentred inner products <x_i, x_j> change."),
    solution_text=("Everything except the uncentred KA and mutual k-NN, which both use raw inner "
                   "products:\n" + "\n".join(sorted(TRANSLATION_INVARIANT))),
    reference=set(TRANSLATION_INVARIANT),
)
