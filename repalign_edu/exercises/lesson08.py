"""Exercises of lesson 08: the Platonic representation hypothesis in miniature."""
from __future__ import annotations

import numpy as np

from .. import measures as ra
from ._core import Exercise, close, compare_function


# --------------------------------------------------------------------------- mutual k-NN by hand
def _my_mutual_knn(X, Y, k):
    def neighbours(A):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)   # cosine similarity
        G = A @ A.T
        np.fill_diagonal(G, -np.inf)                      # a point is not its own neighbour
        return np.argsort(-G, axis=1, kind="stable")[:, :k]

    NX, NY = neighbours(X), neighbours(Y)
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)])


def _mknn_unnormalised(X, Y, k):
    def neighbours(A):
        G = A @ A.T
        np.fill_diagonal(G, -np.inf)
        return np.argsort(-G, axis=1, kind="stable")[:, :k]
    NX, NY = neighbours(X), neighbours(Y)
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)])


def _mknn_with_self(X, Y, k):
    def neighbours(A):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        return np.argsort(-(A @ A.T), axis=1, kind="stable")[:, :k]
    NX, NY = neighbours(X), neighbours(Y)
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)])


def _mknn_farthest(X, Y, k):
    def neighbours(A):
        A = A / np.linalg.norm(A, axis=1, keepdims=True)
        G = A @ A.T
        np.fill_diagonal(G, np.inf)
        return np.argsort(G, axis=1, kind="stable")[:, :k]
    NX, NY = neighbours(X), neighbours(Y)
    return np.mean([len(set(a) & set(b)) / k for a, b in zip(NX, NY)])


def _check_mknn(fn):
    rng = np.random.default_rng(61)
    X = rng.normal(size=(80, 6))
    Y = X @ rng.normal(size=(6, 4)) + 0.5 * rng.normal(size=(80, 4))
    scale = np.exp(rng.normal(size=(80, 1)))               # rows of different norms
    return compare_function(fn, _my_mutual_knn, [(X, Y, 5), (X * scale, Y, 3)], mistakes=[
        (_mknn_unnormalised, "L2-normalise the rows first: neighbours are by cosine similarity."),
        (_mknn_with_self, "exclude each point from its own neighbour list (set the diagonal to -inf)."),
        (_mknn_farthest, "the neighbours are the k *largest* similarities: sort in decreasing order."),
    ], rtol=1e-12, atol=1e-12, passed="your mutual k-NN equals ra.mutual_knn.")


mutual_knn_by_hand = Exercise(
    id="08.mutual_knn",
    prompt="Write my_mutual_knn(X, Y, k): the mean fraction of shared k nearest neighbours (cosine, self excluded).",
    checker=_check_mknn,
    reference=_my_mutual_knn,
    answer_name="my_mutual_knn",
    hints=("Find each sample's k nearest neighbours in X and in Y, then count how many they share.",
           "Normalise rows, G = A @ A.T, set the diagonal to -inf, take the k largest per row "
           "(np.argsort(-G, axis=1)[:, :k]) in both spaces, and average |N_X(i) & N_Y(i)| / k."),
    mistakes=(_mknn_unnormalised, _mknn_with_self, _mknn_farthest),
)


# --------------------------------------------------------------------------- chance level
def _check_chance(value):
    return close(value, 10 / 539, rtol=0.02)


chance_level = Exercise(
    id="08.chance",
    prompt="Predict the mutual 10-NN score of two unrelated representations of the n = 540 test digits.",
    checker=_check_chance,
    reference=10 / 539,
    answer_name="my_chance",
    hints=("Two unrelated representations share a neighbour only by chance. How many candidate "
           "neighbours does each sample have?",
           "Each of the k neighbours in Y lands in X's k-set of the n - 1 other samples with "
           "probability k / (n - 1)."),
    explanation="k / (n - 1) = 10 / 539, about 0.0186.",
    mistakes=(0.5, 0.0),
)


# --------------------------------------------------------------------------- pairwise matrix
def _cka_matrix(reps):
    m = len(reps)
    M = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            M[i, j] = M[j, i] = ra.cka(reps[i], reps[j])
    return M


def _cka_matrix_upper(reps):
    m = len(reps)
    M = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            M[i, j] = ra.cka(reps[i], reps[j])
    return M


def _cka_matrix_zero_diag(reps):
    return _cka_matrix(reps) - np.eye(len(reps))


def _cka_matrix_ka(reps):
    m = len(reps)
    M = np.eye(m)
    for i in range(m):
        for j in range(i + 1, m):
            M[i, j] = M[j, i] = ra.kernel_alignment(reps[i], reps[j])
    return M


def _check_pairwise(fn):
    rng = np.random.default_rng(62)
    base = rng.normal(size=(50, 4))
    reps = [base @ rng.normal(size=(4, d)) + s * rng.normal(size=(50, d)) + 1.0
            for d, s in ((3, 0.1), (5, 0.5), (4, 2.0))]
    return compare_function(fn, _cka_matrix, [(reps,), (reps[:2],)], mistakes=[
        (_cka_matrix_upper, "CKA is symmetric: fill both M[i, j] and M[j, i]."),
        (_cka_matrix_zero_diag, "the diagonal is CKA(f, f) = 1."),
        (_cka_matrix_ka, "use ra.cka (centred), not the uncentred ra.kernel_alignment."),
    ], atol=1e-10, passed="the pairwise CKA matrix is right.")


pairwise_cka = Exercise(
    id="08.pairwise",
    prompt="Write cka_matrix(reps): the symmetric matrix of linear CKA between every pair of representations.",
    checker=_check_pairwise,
    reference=_cka_matrix,
    answer_name="cka_matrix",
    hints=("An m x m matrix: what are its diagonal and its symmetry?",
           "Loop over i < j, call ra.cka(reps[i], reps[j]), fill both M[i, j] and M[j, i]; start from np.eye(m)."),
    mistakes=(_cka_matrix_upper, _cka_matrix_zero_diag, _cka_matrix_ka),
)
