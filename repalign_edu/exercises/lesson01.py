"""Exercises of lesson 01: metric alignment (paper section 3.2, RSA, Procrustes)."""
from __future__ import annotations

import numpy as np

from .. import measures as ra
from ._core import Exercise, compare_function


# --------------------------------------------------------------------------- 01.sqdist
def _sqdist(X):
    G = X @ X.T
    g = np.diag(G)
    return np.maximum(g[:, None] + g[None, :] - 2 * G, 0)


def _dist(X):
    return np.sqrt(_sqdist(X))


def _sqdist_no_diag(X):
    G = X @ X.T
    return -2 * G


def _sqdist_plus(X):
    G = X @ X.T
    g = np.diag(G)
    return g[:, None] + g[None, :] + 2 * G


def _check_sqdist(fn):
    rng = np.random.default_rng(3)
    return compare_function(fn, _sqdist, [(rng.normal(size=(25, 4)),), (rng.normal(size=(6, 9)),)],
                            mistakes=[
        (_dist, "these are distances ||x_i - x_j||; the exercise asks for their squares."),
        (_sqdist_no_diag, "the squared norms ||x_i||^2 and ||x_j||^2 (the diagonal of G) are missing."),
        (_sqdist_plus, "the cross term has a minus sign: ||a - b||^2 = ||a||^2 + ||b||^2 - 2 <a, b>."),
    ], atol=1e-8, passed="your matrix equals rdm(X, 'sqeuclidean').")


squared_distances = Exercise(
    id="01.sqdist",
    prompt="Write sqdist(X) returning the (n, n) matrix of squared Euclidean distances ||x_i - x_j||^2.",
    checker=_check_sqdist,
    reference=_sqdist,
    answer_name="sqdist",
    hints=("Expand ||x_i - x_j||^2 into terms that need only inner products.",
           "||x_i - x_j||^2 = ||x_i||^2 + ||x_j||^2 - 2 <x_i, x_j>: the Gram matrix G = X @ X.T has the "
           "inner products, its diagonal the squared norms; broadcast g[:, None] + g[None, :]."),
    mistakes=(_dist, _sqdist_no_diag, _sqdist_plus),
)


# --------------------------------------------------------------------------- 01.da_from_ka
def _da_from_ka(X, Y):
    K1, K2 = X @ X.T, Y @ Y.T
    m1, m2 = np.mean(K1**2), np.mean(K2**2)
    A = ra.kernel_alignment(X, Y)
    return 4 * (m1 + m2 - 2 * np.sqrt(m1 * m2) * A)


def _da_norm_not_squared(X, Y):
    K1, K2 = X @ X.T, Y @ Y.T
    c1, c2 = np.sqrt(np.mean(K1**2)), np.sqrt(np.mean(K2**2))
    return 4 * (c1 + c2 - 2 * np.sqrt(c1 * c2) * ra.kernel_alignment(X, Y))


def _da_paper(X, Y):
    c = np.sqrt(np.mean((X @ X.T) ** 2))
    return 8 * c * (1 - ra.kernel_alignment(X, Y))


def _da_frobenius(X, Y):
    K1, K2 = X @ X.T, Y @ Y.T
    m1, m2 = np.sum(K1**2), np.sum(K2**2)
    return 4 * (m1 + m2 - 2 * np.sqrt(m1 * m2) * ra.kernel_alignment(X, Y))


def _unit_rows(rng, n, d):
    Z = rng.normal(size=(n, d))
    return Z / np.linalg.norm(Z, axis=1, keepdims=True)


def _check_da_from_ka(fn):
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 6))
    Y = X[:, :4] + 0.8 * rng.normal(size=(40, 4))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Y /= np.linalg.norm(Y, axis=1, keepdims=True)
    return compare_function(fn, _da_from_ka, [(X, Y), (_unit_rows(rng, 15, 3), _unit_rows(rng, 15, 5))],
                            mistakes=[
        (_da_norm_not_squared, "you used the norm ||K||; the identity needs the squared norm "
                               "||K||^2 = mean of K_ij^2."),
        (_da_paper, "that is the paper's printed 8 C (1 - A) with C = ||K||, which holds only when "
                    "||K_1|| = ||K_2|| and then needs C = ||K||^2 (the erratum above)."),
        (_da_frobenius, "the empirical measure puts mass 1/n on each sample: ||K||^2 is the mean of K_ij^2, "
                        "not their sum."),
    ], atol=1e-12, passed="your D from kernels equals ra.distance_alignment.")


da_from_ka = Exercise(
    id="01.da_from_ka",
    prompt=("For unit-norm rows, compute D(d_1, d_2) from kernels only: "
            "D = 4 (||K_1||^2 + ||K_2||^2 - 2 ||K_1|| ||K_2|| A), with ||K||^2 = mean of K_ij^2."),
    checker=_check_da_from_ka,
    reference=_da_from_ka,
    answer_name="da_from_ka",
    hints=("You need three numbers: the two squared kernel norms and the alignment A.",
           "With the empirical measure, ||K||^2 = (1/n^2) sum_ij K_ij^2 = np.mean(K**2), and "
           "||K_1|| ||K_2|| = sqrt(||K_1||^2 ||K_2||^2); A is ra.kernel_alignment(X, Y)."),
    mistakes=(_da_norm_not_squared, _da_paper, _da_frobenius),
)


# --------------------------------------------------------------------------- 01.procrustes
def _my_procrustes(X, Y):
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)
    nuclear = np.linalg.svd(X.T @ Y, compute_uv=False).sum()
    return np.sqrt(max(2 - 2 * nuclear, 0))


def _procrustes_uncentred(X, Y):
    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)
    nuclear = np.linalg.svd(X.T @ Y, compute_uv=False).sum()
    return np.sqrt(max(2 - 2 * nuclear, 0))


def _procrustes_unscaled(X, Y):
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    nuclear = np.linalg.svd(X.T @ Y, compute_uv=False).sum()
    return np.sqrt(abs(2 - 2 * nuclear))


def _procrustes_top_singular(X, Y):
    X = X - X.mean(axis=0)
    Y = Y - Y.mean(axis=0)
    X, Y = X / np.linalg.norm(X), Y / np.linalg.norm(Y)
    top = np.linalg.svd(X.T @ Y, compute_uv=False).max()
    return np.sqrt(max(2 - 2 * top, 0))


def _check_procrustes(fn):
    rng = np.random.default_rng(8)
    X = rng.normal(size=(30, 5))
    Y = X @ np.linalg.qr(rng.normal(size=(5, 5)))[0] + 0.5 * rng.normal(size=(30, 5)) + 2.0
    return compare_function(fn, _my_procrustes, [(X, Y), (rng.normal(size=(12, 3)) + 1.0, rng.normal(size=(12, 3)))],
                            mistakes=[
        (_procrustes_uncentred, "centre both representations (subtract the column means) first."),
        (_procrustes_unscaled, "scale each centred matrix to unit Frobenius norm before the SVD."),
        (_procrustes_top_singular, "the nuclear norm is the sum of all singular values, not the largest."),
    ], atol=1e-12, passed="your Procrustes distance equals metrics.procrustes_distance.")


procrustes = Exercise(
    id="01.procrustes",
    prompt=("Compute the Procrustes distance of centred, unit-Frobenius-norm X and Y with one SVD: "
            "d = sqrt(2 - 2 ||X^T Y||_*)."),
    checker=_check_procrustes,
    reference=_my_procrustes,
    answer_name="my_procrustes",
    hints=("Three steps: centre, normalise, then one SVD of a d_X x d_Y matrix.",
           "np.linalg.norm(X) is the Frobenius norm; the nuclear norm ||X^T Y||_* is "
           "np.linalg.svd(X.T @ Y, compute_uv=False).sum()."),
    mistakes=(_procrustes_uncentred, _procrustes_unscaled, _procrustes_top_singular),
)


# --------------------------------------------------------------------------- 01.translation
#: the ten measures of the exercise (metrics.default_measures() may hold more)
MEASURE_NAMES = ("KA (linear)", "CKA (linear)", "CKA (rbf, median)", "D (distance alignment)",
                 "RSA (Spearman)", "RSA (Pearson)", "Procrustes", "angular Procrustes",
                 "shape metric, alpha=0", "mutual kNN")
#: those of the ten that are invariant to translating X
TRANSLATION_INVARIANT = frozenset({
    "CKA (linear)", "CKA (rbf, median)", "D (distance alignment)", "RSA (Spearman)",
    "RSA (Pearson)", "Procrustes", "angular Procrustes", "shape metric, alpha=0",
})


def _known_names():
    from ..metrics import default_measures
    return set(MEASURE_NAMES) | set(default_measures())


def _check_translation(answer):
    if isinstance(answer, str) or not hasattr(answer, "__iter__"):
        return False, "answer with a set of measure names, e.g. {'CKA (linear)', ...}."
    got = {str(a) for a in answer}
    unknown = got - _known_names()
    if unknown:
        return False, f"unknown names {sorted(unknown)}; choose from {list(MEASURE_NAMES)}."
    got &= set(MEASURE_NAMES)          # measures added to the table later are not part of the question
    missing = TRANSLATION_INVARIANT - got
    extra = got - TRANSLATION_INVARIANT
    if not missing and not extra:
        return True, "exactly the measures that centre the data or only look at differences x_i - x_j."
    parts = []
    if extra:
        parts.append(f"{len(extra)} of your measure(s) do change under a translation")
    if missing:
        parts.append("some measures you did not list are invariant too")
    return False, "; ".join(parts) + "."


translation_invariance = Exercise(
    id="01.translation",
    prompt=("Which of the ten measures are unchanged when X is translated (X -> X + 1 b^T)? "
            "Answer with a set of names."),
    checker=_check_translation,
    reference=set(TRANSLATION_INVARIANT),
    answer_name="my_translation_invariant",
    hints=("For each measure, ask what it computes from X first: centred features, distances, or raw "
           "inner products?",
           "A measure is translation invariant if it centres the features first or depends only on "
           "differences x_i - x_j. Uncentred inner products <x_i, x_j> change when x -> x + b.",
           "Two of the ten use raw (uncentred) inner products; the other eight are invariant."),
    explanation=("Everything except the uncentred KA and mutual k-NN, which both use raw inner "
                 "products (mutual k-NN normalises the raw rows, so it sees where the origin is)."),
    mistakes=(set(MEASURE_NAMES), {"CKA (linear)"}),
)
