"""Numba kernels for permutation inference (:mod:`repalign_edu.inference`).

Two kernels, both parallel over permutations only: each permutation's sum is
taken serially, in a fixed order, by one thread, so the null distribution is
bitwise the same for any number of threads.

* :func:`permuted_gram_sums` -- t_p = sum_ij A_ij B_{p_i p_j} for stored
  (n, n) Gram matrices (float32 or float64 storage, float64 accumulation).
  It is memory-bound (every permutation reads the n^2 entries of B in a new
  order), so groups of ``GROUP`` permutations share one pass over A;
* :func:`knn_permuted_counts` -- mutual k-NN overlaps after relabelling the
  neighbour sets of Y by a permutation (no neighbour search per permutation).
"""
from __future__ import annotations

import numpy as np
from numba import njit, prange

from .cpu import _threads_for

_CACHE = True


#: permutations that share one pass over A (each row A[i] is read once for all of them).
#: A constant: it does not change any permutation's summation order, only the memory traffic.
GROUP = 8


@njit(parallel=True, cache=_CACHE)
def _gram_sums_kernel(A, B, perms):
    n = A.shape[0]
    n_perm = perms.shape[0]
    out = np.empty(n_perm)
    n_groups = (n_perm + GROUP - 1) // GROUP
    for g in prange(n_groups):
        q0 = g * GROUP
        q1 = min(n_perm, q0 + GROUP)
        diag = np.zeros(GROUP)
        off = np.zeros(GROUP)
        for i in range(n):
            Ai = A[i]
            for q in range(q0, q1):
                p = perms[q]
                Bi = B[p[i]]
                diag[q - q0] += np.float64(Ai[i]) * np.float64(Bi[p[i]])
                s = 0.0
                for j in range(i + 1, n):
                    s += np.float64(Ai[j]) * np.float64(Bi[p[j]])
                off[q - q0] += s
        for q in range(q0, q1):
            out[q] = diag[q - q0] + 2.0 * off[q - q0]
    return out


def permuted_gram_sums(A: np.ndarray, B: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """t[q] = sum_ij A_ij B_{p_i p_j} for each permutation p = perms[q].

    Parameters
    ----------
    A, B : ndarray, shape (n, n), symmetric, float32 or float64 (same dtype)
    perms : ndarray, shape (P, n), int64; each row a permutation of range(n)

    Returns
    -------
    ndarray, shape (P,), float64 (products and sums in float64).  Each value is
    summed in the same order (rows i, then j > i) whatever the group and the
    thread that computes it, so results do not depend on the thread count.
    """
    perms = np.ascontiguousarray(perms, dtype=np.int64)
    with _threads_for(perms.size * A.shape[0] / 2):
        return _gram_sums_kernel(A, B, perms)


@njit(parallel=True, cache=_CACHE)
def _knn_counts_kernel(NX, NY, perms):
    n, k = NX.shape
    out = np.empty(perms.shape[0], dtype=np.int64)
    for q in prange(perms.shape[0]):
        p = perms[q]
        inv = np.empty(n, dtype=np.int64)
        for i in range(n):
            inv[p[i]] = i
        mark = np.full(n, -1, dtype=np.int64)
        total = 0
        for i in range(n):
            for a in range(k):
                mark[NX[i, a]] = i
            row = NY[p[i]]
            for b in range(k):
                if mark[inv[row[b]]] == i:
                    total += 1
        out[q] = total
    return out


def knn_permuted_counts(NX: np.ndarray, NY: np.ndarray, perms: np.ndarray) -> np.ndarray:
    """Total mutual k-NN overlap of X with Y_p (rows of Y permuted by p), per permutation.

    Row i of Y_p is y_{p_i}; its neighbours are the rows j of Y_p with p_j in
    N^Y(p_i), i.e. j = p^{-1}(N^Y(p_i)).  So::

        count(p) = sum_i |N^X(i) & p^{-1}(N^Y(p_i))|

    in O(n k) per permutation, from the (n, k) neighbour arrays computed once.

    Parameters
    ----------
    NX, NY : ndarray, shape (n, k), int64 (neighbour indices, self excluded)
    perms : ndarray, shape (P, n), int64

    Returns
    -------
    ndarray, shape (P,), int64: sum over rows of the overlap sizes (divide by
    n k for the score).
    """
    perms = np.ascontiguousarray(perms, dtype=np.int64)
    NX = np.ascontiguousarray(NX, dtype=np.int64)
    NY = np.ascontiguousarray(NY, dtype=np.int64)
    with _threads_for(perms.size * NX.shape[1] * 8):
        return _knn_counts_kernel(NX, NY, perms)
