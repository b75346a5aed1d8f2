"""Plain NumPy reference backend: the building blocks from explicit matrices.

This module is the specification the fast backends are tested against, so it
stays short and obviously correct: it materialises every n x n matrix (and
refuses, with a ValueError, a call that would not fit in memory).  It
implements the interface of :mod:`.base`; inputs are already validated
arrays and resolved kernels.  The textbook formulas (``hsic_biased``,
``hsic_unbiased``, ``frobenius_alignment``) are kept next to it as the
definitions the tests check the algebra against.
"""
from __future__ import annotations

import os

import numpy as np
from scipy.spatial.distance import cdist

from ..kernels import centering_matrix, gram_from_params
from .stats import GramStats, stream_inputs

NAME = "numpy"
STREAMING = False
NATIVE_FLOAT32 = False
MAX_KNN_K = None
PERMUTED_SUMS = False


# --------------------------------------------------------------------------- memory guard
def _available_bytes() -> float:
    """Memory the process may still use (MemAvailable, else physical memory)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024.0
    except OSError:  # pragma: no cover - not Linux
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return float("inf")


def check_memory(n_matrices: float, n: int, m: int | None = None) -> None:
    """Raise a ValueError if ``n_matrices`` float64 (n, m) matrices do not fit in memory.

    The message gives the estimate and suggests the streaming backend.
    """
    need = 8.0 * n_matrices * n * (n if m is None else m)
    if need > _available_bytes():
        raise ValueError(
            f"backend='numpy' would need about {need / 2**30:.1f} GiB for its explicit n x n "
            f"matrices (n={n}), more than this machine has free ({_available_bytes() / 2**30:.1f} "
            "GiB). Use backend='cpu' (streaming tiles, no n x n matrix), or fewer samples."
        )


# --------------------------------------------------------------------------- textbook formulas
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


# --------------------------------------------------------------------------- building blocks
def center(A: np.ndarray) -> np.ndarray:
    """A minus its column means, in float64."""
    A = np.asarray(A, dtype=np.float64)
    return A - A.mean(axis=0)


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B in float64."""
    return np.asarray(A, dtype=np.float64) @ np.asarray(B, dtype=np.float64)


def row_stats(A: np.ndarray):
    """(K 1, diag K) for K = A A^T."""
    A = np.asarray(A, dtype=np.float64)
    return A @ A.sum(axis=0), np.einsum("ij,ij->i", A, A)


def gram_stats(X, Y, kx, ky, *, centered: bool = False) -> GramStats:
    """Statistics of the explicit Gram matrices K and L (HKH and HLH when ``centered``).

    With ``centered=True`` the Gram matrices are formed from
    :func:`~repalign_edu.backends.stats.stream_inputs` (K up to a constant,
    held without cancellation); a polynomial one is then centred with the
    centering matrix H, as the second streaming pass does.
    """
    n = X.shape[0]
    check_memory(5, n)
    if centered:
        (U, px, kx2), (V, py, ky2) = stream_inputs(X, kx, center), stream_inputs(Y, ky, center)
        H = centering_matrix(n)
        K, L = gram_from_params(U, kx2, px), gram_from_params(V, ky2, py)
        # a polynomial kernel keeps a large row-only part after its offset: centre it
        K = H @ K @ H if kx.name == "polynomial" else K
        L = H @ L @ H if ky.name == "polynomial" else L
    else:
        K, L = gram_from_params(X, kx), gram_from_params(Y, ky)
    return GramStats(float(np.sum(K * L)), float(np.sum(K * K)), float(np.sum(L * L)),
                     K.sum(axis=1), L.sum(axis=1), np.diag(K).copy(), np.diag(L).copy())


def kernel_sum(A, B, k, exclude_diag: bool = False) -> float:
    """sum_{i,j} k(a_i, b_j) from the explicit Gram matrix of the stacked sample."""
    m = A.shape[0]
    check_memory(2, m + B.shape[0])
    G = gram_from_params(A if A is B else np.vstack([A, B]), k)
    G = G if A is B else G[:m, m:]
    if exclude_diag:
        G = G - np.diag(np.diag(G))
    return float(G.sum())


def knn_sets(Xn, k: int) -> np.ndarray:
    """Indices of the k nearest neighbours of each row by inner product, self excluded."""
    check_memory(2, Xn.shape[0])
    Xn = Xn / np.linalg.norm(Xn, axis=1, keepdims=True)
    S = Xn @ Xn.T
    np.fill_diagonal(S, -np.inf)
    # stable sort on -S: ties broken by the smaller index
    return np.argsort(-S, axis=1, kind="stable")[:, :k]


def knn_overlap(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """|A_i & B_i| per row of two (n, k) neighbour-index arrays."""
    return np.array([len(np.intersect1d(a, b, assume_unique=True)) for a, b in zip(A, B)],
                    dtype=np.int64)


# --------------------------------------------------------------------------- distance alignment
def squared_distances(X) -> np.ndarray:
    """D_ij = ||x_i - x_j||^2 from explicit differences, pair by pair (no n x n x d tensor)."""
    return cdist(X, X, "sqeuclidean")


def distance_alignment(X, Y) -> float:
    """D(d_1, d_2) = mean_{i,j} (d_1(x_i,x_j)^2 - d_2(y_i,y_j)^2)^2  (paper section 3.2)."""
    check_memory(3, X.shape[0])
    return float(np.mean((squared_distances(X) - squared_distances(Y)) ** 2))
