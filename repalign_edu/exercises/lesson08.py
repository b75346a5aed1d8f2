"""Exercises of lesson 08: the Platonic representation hypothesis in miniature."""
from __future__ import annotations

import numpy as np

from ..measures import cka, mutual_knn
from ._core import Exercise, close


# --------------------------------------------------------------------------- mutual k-NN by hand
def _mknn_ref(X, Y, k):
    def neighbours(A):
        A = np.asarray(A, float)
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        G = A @ A.T
        np.fill_diagonal(G, -np.inf)
        return np.argsort(-G, axis=1, kind="stable")[:, :k]

    NX, NY = neighbours(X), neighbours(Y)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)]))


def _check_mknn(fn):
    rng = np.random.default_rng(61)
    X = rng.normal(size=(80, 6))
    Y = X @ rng.normal(size=(6, 4)) + 0.5 * rng.normal(size=(80, 4))
    expected = mutual_knn(X, Y, k=5, backend="numpy")
    try:
        value = float(fn(X, Y, 5))
    except (TypeError, ValueError):
        return False, "return a single number."
    unnormalised = _mknn_unnormalised(X, Y, 5)
    if abs(value - unnormalised) < 1e-12 and abs(unnormalised - expected) > 1e-9:
        return False, "L2-normalise the rows first: neighbours are by cosine similarity."
    return close(value, expected, rtol=1e-12, atol=1e-12)


def _mknn_unnormalised(X, Y, k):
    def neighbours(A):
        G = A @ A.T
        np.fill_diagonal(G, -np.inf)
        return np.argsort(-G, axis=1, kind="stable")[:, :k]
    NX, NY = neighbours(X), neighbours(Y)
    return float(np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)]))


mutual_knn_by_hand = Exercise(
    id="08.mutual_knn",
    prompt="Write my_mutual_knn(X, Y, k): the mean fraction of shared k nearest neighbours (cosine, self excluded).",
    checker=_check_mknn,
    hint_text=("Normalise rows, G = A @ A.T, set the diagonal to -inf, take the k largest per row "
               "(np.argsort(-G, axis=1)[:, :k]) in both spaces, and average |N_X(i) & N_Y(i)| / k."),
    solution_text=(
        "def my_mutual_knn(X, Y, k):\n    def nn(A):\n        A = A / np.linalg.norm(A, axis=1, keepdims=True)\n"
        "        G = A @ A.T; np.fill_diagonal(G, -np.inf)\n        return np.argsort(-G, axis=1)[:, :k]\n"
        "    NX, NY = nn(X), nn(Y)\n    return np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)])"
    ),
    reference=_mknn_ref,
)


# --------------------------------------------------------------------------- chance level
def _check_chance(value):
    expected = 10 / 539
    ok, msg = close(value, expected, rtol=0.02)
    if not ok:
        msg += (" Two unrelated representations share a neighbour by chance: each of the k "
                "neighbours in Y lands in X's k-set with probability k / (n - 1).")
    return ok, msg


chance_level = Exercise(
    id="08.chance",
    prompt="Predict the mutual 10-NN score of two unrelated representations of the n = 540 test digits.",
    checker=_check_chance,
    hint_text="There are n - 1 candidate neighbours, and X's neighbour set holds k of them.",
    solution_text="k / (n - 1) = 10 / 539, about 0.0186.",
    reference=10 / 539,
)


# --------------------------------------------------------------------------- pairwise matrix
def _pairwise_ref(reps):
    m = len(reps)
    M = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            M[i, j] = M[j, i] = cka(reps[i], reps[j])
    return M


def _check_pairwise(fn):
    rng = np.random.default_rng(62)
    base = rng.normal(size=(50, 4))
    reps = [base @ rng.normal(size=(4, d)) + s * rng.normal(size=(50, d))
            for d, s in ((3, 0.1), (5, 0.5), (4, 2.0))]
    try:
        M = np.asarray(fn(reps), dtype=float)
    except (TypeError, ValueError) as exc:
        return False, f"return an m x m array ({exc})."
    if M.shape != (3, 3):
        return False, f"the matrix must be 3 x 3 for 3 representations; got shape {M.shape}."
    if not np.allclose(M, M.T):
        return False, "CKA is symmetric: M[i, j] must equal M[j, i]."
    if not np.allclose(np.diag(M), 1.0):
        return False, "the diagonal is CKA(f, f) = 1."
    expected = _pairwise_ref(reps)
    if not np.allclose(M, expected, atol=1e-10):
        return False, "some off-diagonal entries differ from repalign_edu.cka(reps[i], reps[j])."
    return True, "the pairwise CKA matrix is right."


pairwise_cka = Exercise(
    id="08.pairwise",
    prompt="Write cka_matrix(reps): the symmetric matrix of linear CKA between every pair of representations.",
    checker=_check_pairwise,
    hint_text="Loop over i < j, call ra.cka(reps[i], reps[j]), fill both M[i, j] and M[j, i]; put 1 on the diagonal.",
    solution_text=(
        "def cka_matrix(reps):\n    m = len(reps); M = np.eye(m)\n    for i in range(m):\n"
        "        for j in range(i + 1, m):\n            M[i, j] = M[j, i] = ra.cka(reps[i], reps[j])\n    return M"
    ),
    reference=_pairwise_ref,
)
