"""Numba CPU-parallel backend: tiled, streaming kernels.

Design rules (see lesson 07):

* No n x n matrix is ever allocated.  Kernel values are produced one row
  against one column tile at a time (tile = ``TILE`` columns) and reduced at
  once; extra memory is O(n (d_X + d_Y) + TILE).
* ``prange`` runs over fixed-size blocks of rows.  Each block writes its
  partial sums into its own slot (``partial[b] = ...``, never ``+=`` on a
  shared element), and the slots are added serially afterwards, so the
  result is bitwise identical for any NUMBA_NUM_THREADS.
* All accumulation is in float64; no fastmath.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from .stats import GramStats

#: columns per tile and rows per prange block
TILE = 256
BLOCK = 64

_CACHE = True


@njit(inline="always", cache=_CACHE)
def _kval(code, dot, sq, a, c0, deg):
    # code: 0 linear, 1 rbf, 2 laplacian, 3 polynomial (see kernels.KERNELS)
    if code == 0:
        return dot
    if code == 1:
        return math.exp(-a * sq)
    if code == 2:
        return math.exp(-a * math.sqrt(sq))
    return (a * dot + c0) ** deg


@njit(inline="always", cache=_CACHE)
def _tile_values(X, XT, nx, i, j0, j1, code, a, c0, deg, out):
    """out[j - j0] = k(x_i, x_j) for j in [j0, j1); vectorises over j."""
    d = X.shape[1]
    w = j1 - j0
    for t in range(w):
        out[t] = 0.0
    for f in range(d):
        xf = X[i, f]
        for t in range(w):
            out[t] += xf * XT[f, j0 + t]
    if code == 0 or code == 3:
        for t in range(w):
            out[t] = _kval(code, out[t], 0.0, a, c0, deg)
    else:
        ni = nx[i]
        for t in range(w):
            sq = ni + nx[j0 + t] - 2.0 * out[t]
            if sq < 0.0:
                sq = 0.0
            out[t] = _kval(code, 0.0, sq, a, c0, deg)


@njit(parallel=True, cache=_CACHE)
def _gram_stats_kernel(X, Y, kx, ky):
    n = X.shape[0]
    XT = np.ascontiguousarray(X.T)
    YT = np.ascontiguousarray(Y.T)
    nx = np.empty(n)
    ny = np.empty(n)
    for i in prange(n):
        s = 0.0
        for f in range(X.shape[1]):
            s += X[i, f] * X[i, f]
        nx[i] = s
        s = 0.0
        for f in range(Y.shape[1]):
            s += Y[i, f] * Y[i, f]
        ny[i] = s
    nblocks = (n + BLOCK - 1) // BLOCK
    partial = np.zeros((nblocks, 3))
    rk = np.empty(n)
    rl = np.empty(n)
    dk = np.empty(n)
    dl = np.empty(n)
    for b in prange(nblocks):
        kbuf = np.empty(TILE)
        lbuf = np.empty(TILE)
        kl = 0.0
        kk = 0.0
        ll = 0.0
        for i in range(b * BLOCK, min(n, (b + 1) * BLOCK)):
            rki = 0.0
            rli = 0.0
            for j0 in range(0, n, TILE):
                j1 = min(n, j0 + TILE)
                _tile_values(X, XT, nx, i, j0, j1, kx[0], kx[1], kx[2], kx[3], kbuf)
                _tile_values(Y, YT, ny, i, j0, j1, ky[0], ky[1], ky[2], ky[3], lbuf)
                for t in range(j1 - j0):
                    kv = kbuf[t]
                    lv = lbuf[t]
                    kl += kv * lv
                    kk += kv * kv
                    ll += lv * lv
                    rki += kv
                    rli += lv
                if j0 <= i < j1:
                    dk[i] = kbuf[i - j0]
                    dl[i] = lbuf[i - j0]
            rk[i] = rki
            rl[i] = rli
        partial[b, 0] = kl
        partial[b, 1] = kk
        partial[b, 2] = ll
    tot = np.zeros(3)
    for b in range(nblocks):
        for c in range(3):
            tot[c] += partial[b, c]
    return tot, rk, rl, dk, dl


def gram_stats(X: np.ndarray, Y: np.ndarray, kx, ky) -> GramStats:
    """Streaming :class:`GramStats` of k_X on X and k_Y on Y (float64 inputs)."""
    tot, rk, rl, dk, dl = _gram_stats_kernel(X, Y, kx.as_tuple(), ky.as_tuple())
    return GramStats(float(tot[0]), float(tot[1]), float(tot[2]), rk, rl, dk, dl)


@njit(cache=_CACHE)
def _gemm(A, B):
    return np.dot(A, B)


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Dense product through Numba's BLAS binding (used by feature-space paths)."""
    return _gemm(np.ascontiguousarray(A), np.ascontiguousarray(B))


@njit(parallel=True, cache=_CACHE)
def _kernel_sum_kernel(A, B, k, exclude_diag):
    """sum_{i,j} k(a_i, b_j) (optionally skipping i == j)."""
    na = A.shape[0]
    nb_ = B.shape[0]
    BT = np.ascontiguousarray(B.T)
    # squared norms: a block for A then one for B (shared buffer for _tile_values)
    na2 = np.empty(na)
    nb2 = np.empty(nb_)
    for i in prange(na):
        s = 0.0
        for f in range(A.shape[1]):
            s += A[i, f] * A[i, f]
        na2[i] = s
    for j in prange(nb_):
        s = 0.0
        for f in range(B.shape[1]):
            s += B[j, f] * B[j, f]
        nb2[j] = s
    nblocks = (na + BLOCK - 1) // BLOCK
    partial = np.zeros(nblocks)
    code, a, c0, deg = k
    for b in prange(nblocks):
        buf = np.empty(TILE)
        acc = 0.0
        for i in range(b * BLOCK, min(na, (b + 1) * BLOCK)):
            ni = na2[i]
            for j0 in range(0, nb_, TILE):
                j1 = min(nb_, j0 + TILE)
                w = j1 - j0
                for t in range(w):
                    buf[t] = 0.0
                for f in range(A.shape[1]):
                    af = A[i, f]
                    for t in range(w):
                        buf[t] += af * BT[f, j0 + t]
                for t in range(w):
                    j = j0 + t
                    if exclude_diag and j == i:
                        continue
                    sq = ni + nb2[j] - 2.0 * buf[t]
                    if sq < 0.0:
                        sq = 0.0
                    acc += _kval(code, buf[t], sq, a, c0, deg)
        partial[b] = acc
    tot = 0.0
    for b in range(nblocks):
        tot += partial[b]
    return tot


def kernel_sum(A: np.ndarray, B: np.ndarray, k, exclude_diag: bool = False) -> float:
    """Streaming sum_{i,j} k(a_i, b_j) without forming the cross Gram matrix."""
    return float(_kernel_sum_kernel(A, B, k.as_tuple(), exclude_diag))


@njit(parallel=True, cache=_CACHE)
def _knn_kernel(Xn, k):
    n = Xn.shape[0]
    XT = np.ascontiguousarray(Xn.T)
    out = np.empty((n, k), dtype=np.int64)
    for i in prange(n):
        best_v = np.full(k, -np.inf)
        best_j = np.full(k, -1, dtype=np.int64)
        buf = np.empty(TILE)
        for j0 in range(0, n, TILE):
            j1 = min(n, j0 + TILE)
            w = j1 - j0
            for t in range(w):
                buf[t] = 0.0
            for f in range(Xn.shape[1]):
                xf = Xn[i, f]
                for t in range(w):
                    buf[t] += xf * XT[f, j0 + t]
            for t in range(w):
                j = j0 + t
                v = buf[t]
                if j == i or not v > best_v[k - 1]:
                    continue
                # insertion into the sorted top-k; strict '>' keeps the smaller index on ties
                p = k - 1
                while p > 0 and v > best_v[p - 1]:
                    best_v[p] = best_v[p - 1]
                    best_j[p] = best_j[p - 1]
                    p -= 1
                best_v[p] = v
                best_j[p] = j
        for p in range(k):
            out[i, p] = best_j[p]
    return out


def knn_sets(Xn: np.ndarray, k: int) -> np.ndarray:
    """(n, k) int64 indices of the k largest inner products per row, self excluded."""
    return _knn_kernel(Xn, k)


@njit(parallel=True, cache=_CACHE)
def _overlap_kernel(A, B):
    n, k = A.shape
    counts = np.empty(n, dtype=np.int64)
    for i in prange(n):
        c = 0
        for p in range(k):
            for q in range(k):
                if A[i, p] == B[i, q]:
                    c += 1
                    break
        counts[i] = c
    return counts


def knn_overlap(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Per-row size of the intersection of two (n, k) neighbour-index arrays."""
    return _overlap_kernel(A, B)
