"""Plain NumPy reference implementations: the textbook formulas.

This module is the specification the fast backends are tested against, so it
stays short and obviously correct: it materialises every n x n matrix.
Inputs are already validated float64 arrays and resolved kernels.
"""
from __future__ import annotations

import numpy as np

from ..kernels import centering_matrix, gram_from_params


def frobenius_alignment(K: np.ndarray, L: np.ndarray) -> float:
    """<K, L>_F / (||K||_F ||L||_F)  (Cristianini et al. 2001)."""
    return float(np.sum(K * L) / np.sqrt(np.sum(K * K) * np.sum(L * L)))


def hsic_biased(K: np.ndarray, L: np.ndarray) -> float:
    """Tr(K H L H) / n^2  (Gretton et al. 2005, with 1/n^2)."""
    n = K.shape[0]
    H = centering_matrix(n)
    return float(np.trace(K @ H @ L @ H) / n**2)


def hsic_unbiased(K: np.ndarray, L: np.ndarray) -> float:
    """Song et al. (2012), eq. 5, with zeroed diagonals; needs n >= 4."""
    n = K.shape[0]
    Kt = K - np.diag(np.diag(K))
    Lt = L - np.diag(np.diag(L))
    one = np.ones(n)
    term1 = np.trace(Kt @ Lt)
    term2 = (one @ Kt @ one) * (one @ Lt @ one) / ((n - 1) * (n - 2))
    term3 = 2.0 / (n - 2) * (one @ Kt @ Lt @ one)
    return float((term1 + term2 - term3) / (n * (n - 3)))


def grams(X, Y, kx, ky):
    """Gram matrices of X and Y for resolved kernels."""
    return gram_from_params(X, kx), gram_from_params(Y, ky)


def kernel_alignment(X, Y, kx, ky, centered: bool) -> float:
    K, L = grams(X, Y, kx, ky)
    if centered:
        H = centering_matrix(K.shape[0])
        K, L = H @ K @ H, H @ L @ H
    return frobenius_alignment(K, L)


def hsic(X, Y, kx, ky, unbiased: bool) -> float:
    K, L = grams(X, Y, kx, ky)
    return hsic_unbiased(K, L) if unbiased else hsic_biased(K, L)


def cka_from_grams(K, L, unbiased: bool) -> tuple[float, float, float]:
    """(HSIC(K,L), HSIC(K,K), HSIC(L,L)) for CKA = first / sqrt(second * third)."""
    f = hsic_unbiased if unbiased else hsic_biased
    return f(K, L), f(K, K), f(L, L)


def cka_terms(X, Y, kx, ky, unbiased: bool):
    K, L = grams(X, Y, kx, ky)
    return cka_from_grams(K, L, unbiased)


def mmd2(X, Y, k, unbiased: bool) -> float:
    """Squared MMD (Gretton et al. 2012, eqs. 3 and 5)."""
    Z = np.vstack([X, Y])
    G = gram_from_params(Z, k)
    m = X.shape[0]
    Kxx, Kyy, Kxy = G[:m, :m], G[m:, m:], G[:m, m:]
    n = Y.shape[0]
    if unbiased:
        sxx = (Kxx.sum() - np.trace(Kxx)) / (m * (m - 1))
        syy = (Kyy.sum() - np.trace(Kyy)) / (n * (n - 1))
    else:
        sxx, syy = Kxx.mean(), Kyy.mean()
    return float(sxx + syy - 2.0 * Kxy.mean())


def squared_distances(X) -> np.ndarray:
    """D_ij = ||x_i - x_j||^2, computed from explicit differences."""
    diff = X[:, None, :] - X[None, :, :]
    return np.einsum("ijk,ijk->ij", diff, diff)


def distance_alignment(X, Y) -> float:
    """D(d_1, d_2) = mean_{i,j} (d_1(x_i,x_j)^2 - d_2(y_i,y_j)^2)^2  (paper section 3.2)."""
    return float(np.mean((squared_distances(X) - squared_distances(Y)) ** 2))


def inner_products(Xn) -> np.ndarray:
    """S_ij = sum_f x_if x_jf, summed in feature order with one rounding per step.

    This order is part of the neighbour rule: S_ij depends only on rows i and
    j (a BLAS product rounds the same pair differently at different
    positions), so duplicate rows give exactly equal values.
    """
    S = np.zeros((Xn.shape[0], Xn.shape[0]))
    for f in range(Xn.shape[1]):
        S += np.multiply.outer(Xn[:, f], Xn[:, f])
    return S


def knn_sets(Xn, k: int) -> np.ndarray:
    """Indices of the k nearest neighbours of each row by inner product, self excluded.

    The rows are used as given: pass L2-normalised rows for cosine neighbours
    (as every measure does).  Rows are ranked by decreasing
    :func:`inner_products`; ties go to the smaller index.
    """
    S = inner_products(Xn)
    np.fill_diagonal(S, -np.inf)
    # stable sort on -S: ties broken by the smaller index
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def mutual_knn(X, Y, k: int) -> float:
    """(1/n) sum_i |N_k^X(i) & N_k^Y(i)| / k  (Huh et al. 2024)."""
    A, B = knn_sets(X, k), knn_sets(Y, k)
    overlap = [len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(A, B)]
    return float(np.mean(overlap) / k)
