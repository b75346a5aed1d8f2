"""Teaching kernels for lesson 09 (scaling up with Numba).

Small, readable versions of the ideas behind :mod:`repalign_edu.backends.cpu`
and :mod:`repalign_edu.backends.cuda`:

* :func:`streaming_hsic` -- biased HSIC from tiles of the Gram matrices, in
  plain NumPy, with O(n * tile) memory instead of O(n^2);
* :func:`racy_bin_count` / :func:`blocked_bin_count` -- a ``prange`` loop that
  accumulates into shared array elements (a data race: updates get lost) and
  the fixed-block, per-block-slot version that is exact for any thread count;
* :func:`prange_sum` / :func:`blocked_sum` -- Numba's built-in scalar
  reduction (race-free, but its rounding depends on the thread count) and the
  fixed-block sum (bitwise identical for any thread count);
* :func:`cuda_rbf_kernel_sum` -- a CUDA kernel with a 2-D grid of 2-D blocks,
  shared-memory tiles and one partial sum per block.  It runs on a GPU or on
  Numba's CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, set before numba is
  imported).

None of these is used by the measures; the backends are the production code.
"""
from __future__ import annotations

import math

import numpy as np
from numba import cuda, float64, njit, prange  # numba.cuda: no GPU is touched at import

#: rows per prange block in the blocked reductions (fixed, so results do not
#: depend on how many threads share the blocks)
BLOCK = 4096


# --------------------------------------------------------------------------- memory
def gram_bytes(n: int, itemsize: int = 8) -> int:
    """Bytes of one dense n x n Gram matrix (float64 by default)."""
    return int(n) * int(n) * int(itemsize)


def streaming_bytes(n: int, d_x: int, d_y: int, tile: int = 256, threads: int = 2,
                    itemsize: int = 8) -> int:
    """Working memory of the streaming backend, O(n (d_X + d_Y) + threads * tile).

    Counts the centred copies of X and Y plus their transposes, the four
    length-n statistics (row sums and diagonals of K and L), the squared norms,
    and two tile buffers per thread.
    """
    n, d = int(n), int(d_x) + int(d_y)
    return int(itemsize) * (2 * n * d + 6 * n + 2 * int(threads) * int(tile))


# --------------------------------------------------------------------------- streaming HSIC
def _rbf_tile(A, B, sigma):
    sq = (np.einsum("ij,ij->i", A, A)[:, None] + np.einsum("ij,ij->i", B, B)[None, :]
          - 2.0 * A @ B.T)
    return np.exp(-np.maximum(sq, 0.0) / (2.0 * sigma**2))


def streaming_hsic(X, Y, sigma_x: float, sigma_y: float, tile: int = 256):
    """Biased RBF HSIC, Tr(KHLH)/n^2, streamed over row tiles of K and L.

    Only a (tile, n) block of K and of L exists at any time.  One pass
    accumulates the three sufficient statistics::

        kl = <K, L>_F = sum_ij K_ij L_ij,   rk = K 1,   rl = L 1

    and then, because H = I - 11^T/n,

        Tr(KHLH) = kl - 2 rk.rl / n + (1^T K 1)(1^T L 1) / n^2.

    Parameters
    ----------
    X : ndarray, shape (n, d_X), float64
    Y : ndarray, shape (n, d_Y), float64
    sigma_x, sigma_y : float
        RBF bandwidths, k(x, x') = exp(-||x - x'||^2 / (2 sigma^2)).
    tile : int
        Rows per tile.

    Returns
    -------
    hsic : float
        Same value as ``repalign_edu.hsic(X, Y, "rbf", sigma=(sigma_x, sigma_y))``.
    peak_tile_bytes : int
        Bytes of the largest pair of tiles held at once (2 * tile * n * 8).
    """
    X = np.asarray(X, dtype=np.float64)
    Y = np.asarray(Y, dtype=np.float64)
    n = X.shape[0]
    kl = 0.0
    rk = np.empty(n)
    rl = np.empty(n)
    peak = 0
    for i0 in range(0, n, tile):
        i1 = min(n, i0 + tile)
        Kt = _rbf_tile(X[i0:i1], X, sigma_x)      # (tile, n): rows i0..i1 of K
        Lt = _rbf_tile(Y[i0:i1], Y, sigma_y)
        peak = max(peak, Kt.nbytes + Lt.nbytes)
        kl += float(np.sum(Kt * Lt))
        rk[i0:i1] = Kt.sum(axis=1)
        rl[i0:i1] = Lt.sum(axis=1)
    tr = kl - 2.0 * float(rk @ rl) / n + float(rk.sum()) * float(rl.sum()) / n**2
    return tr / n**2, peak


# --------------------------------------------------------------------------- prange reductions
@njit(parallel=True, cache=True)
def racy_bin_count(n, nbins):
    """WRONG on purpose: ``prange`` threads add into shared elements ``out[k]``.

    Counts i in [0, n) by ``i % nbins`` with ``out[i % nbins] += 1.0``.  The
    read-add-write of one element is not atomic, so with >= 2 threads some
    updates are lost and ``out.sum() < n``.  With one thread it is exact.

    Parameters
    ----------
    n : int
    nbins : int

    Returns
    -------
    ndarray, shape (nbins,), float64
    """
    out = np.zeros(nbins)
    for i in prange(n):
        out[i % nbins] += 1.0
    return out


@njit(parallel=True, cache=True)
def blocked_bin_count(n, nbins, block=BLOCK):
    """The fix: fixed-size blocks, one private slot row per block.

    ``prange`` runs over blocks b = 0 .. ceil(n / block) - 1; block b writes
    only ``partial[b, :]``, and the rows are added serially afterwards.  No two
    threads ever touch the same element, and the blocks do not depend on the
    number of threads, so the result is exact and thread-count independent.

    Returns
    -------
    ndarray, shape (nbins,), float64
        out[k] = #{i < n : i % nbins == k}.
    """
    nblocks = (n + block - 1) // block
    partial = np.zeros((nblocks, nbins))
    for b in prange(nblocks):
        for i in range(b * block, min(n, (b + 1) * block)):
            partial[b, i % nbins] += 1.0
    out = np.zeros(nbins)
    for b in range(nblocks):
        for k in range(nbins):
            out[k] += partial[b, k]
    return out


def exact_bin_count(n: int, nbins: int) -> np.ndarray:
    """The exact answer of the two counters: n // nbins (+1 for k < n % nbins)."""
    return np.array([n // nbins + (k < n % nbins) for k in range(nbins)], dtype=np.float64)


@njit(parallel=True, cache=True)
def prange_sum(x):
    """Numba's built-in scalar reduction ``s += x[i]`` over ``prange``.

    Race-free (each thread has a private accumulator), but the iteration range
    is split among the threads, so the rounding -- and the last bits of the
    result -- depend on the number of threads.
    """
    s = 0.0
    for i in prange(x.shape[0]):
        s += x[i]
    return s


@njit(parallel=True, cache=True)
def blocked_sum(x, block=BLOCK):
    """Sum with fixed blocks and per-block slots: bitwise identical for any thread count.

    Parameters
    ----------
    x : ndarray, shape (n,), float64
    block : int
        Elements per block (fixed; does not depend on the thread count).
    """
    n = x.shape[0]
    nblocks = (n + block - 1) // block
    partial = np.zeros(nblocks)
    for b in prange(nblocks):
        s = 0.0
        for i in range(b * block, min(n, (b + 1) * block)):
            s += x[i]
        partial[b] = s
    total = 0.0
    for b in range(nblocks):
        total += partial[b]
    return total


# --------------------------------------------------------------------------- CUDA
#: threads per block along each axis, and the feature capacity of a shared tile
TPB = 8
D_MAX = 16

_CUDA_KERNEL = None


def _cuda_kernel():
    """Build (once) the CUDA kernel (compiled at its first launch).

    ``cuda`` must be this module's global name: the simulator swaps it.
    """
    global _CUDA_KERNEL
    if _CUDA_KERNEL is not None:
        return _CUDA_KERNEL

    @cuda.jit
    def rbf_block_sums(X, a, partial):
        # block (bx, by) covers rows i in [bx*TPB, ...) and columns j in [by*TPB, ...)
        tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
        bx, by = cuda.blockIdx.x, cuda.blockIdx.y
        i = bx * TPB + tx
        j = by * TPB + ty
        n, d = X.shape
        # 1. stage the two row tiles in shared memory (one load per thread and feature)
        xi = cuda.shared.array((TPB, D_MAX), float64)
        xj = cuda.shared.array((TPB, D_MAX), float64)
        if ty == 0:
            for f in range(d):
                xi[tx, f] = X[i, f] if i < n else 0.0
        if tx == 0:
            for f in range(d):
                xj[ty, f] = X[j, f] if j < n else 0.0
        cuda.syncthreads()
        # 2. each thread computes one kernel value k(x_i, x_j) from shared memory
        acc = cuda.shared.array(TPB * TPB, float64)
        t = tx * TPB + ty
        v = 0.0
        if i < n and j < n:
            sq = 0.0
            for f in range(d):
                diff = xi[tx, f] - xj[ty, f]
                sq += diff * diff
            v = math.exp(-a * sq)
        acc[t] = v
        cuda.syncthreads()
        # 3. tree reduction in shared memory, then one write per block (its own slot)
        s = TPB * TPB // 2
        while s > 0:
            if t < s:
                acc[t] += acc[t + s]
            cuda.syncthreads()
            s //= 2
        if t == 0:
            partial[bx, by] = acc[0]

    _CUDA_KERNEL = rbf_block_sums
    return _CUDA_KERNEL


def cuda_rbf_kernel_sum(X, sigma: float):
    """sum_{i,j} exp(-||x_i - x_j||^2 / (2 sigma^2)) with a tiled CUDA kernel.

    Launch: a 2-D grid of ceil(n / TPB) x ceil(n / TPB) blocks, each of
    TPB x TPB threads.  Block (bx, by) copies its TPB rows of X and TPB
    columns into shared memory, each thread computes one kernel value, the
    block reduces its TPB^2 values in shared memory, and thread 0 writes the
    block's sum to its own slot ``partial[bx, by]``.  The host adds the
    slots in a fixed order.

    Needs a CUDA GPU, or ``NUMBA_ENABLE_CUDASIM=1`` set before numba is
    imported (the simulator runs each thread as a Python thread: tiny inputs
    only).

    Parameters
    ----------
    X : ndarray, shape (n, d), d <= D_MAX (16)
    sigma : float > 0

    Returns
    -------
    total : float
    info : dict
        ``grid`` (blocks per axis), ``block`` (threads per axis),
        ``partial`` (the (grid, grid) array of block sums).
    """
    X = np.ascontiguousarray(X, dtype=np.float64)
    n, d = X.shape
    if d > D_MAX:
        raise ValueError(f"X has d={d} features; this teaching kernel holds at most D_MAX={D_MAX}.")
    g = (n + TPB - 1) // TPB
    partial = np.zeros((g, g))
    d_X = cuda.to_device(X)
    d_partial = cuda.to_device(partial)
    _cuda_kernel()[(g, g), (TPB, TPB)](d_X, 1.0 / (2.0 * sigma**2), d_partial)
    partial = d_partial.copy_to_host()
    return float(partial.sum()), {"grid": (g, g), "block": (TPB, TPB), "partial": partial}
