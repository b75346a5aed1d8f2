"""Numba CPU-parallel backend: tiled, streaming kernels.

Implements the backend interface of :mod:`.base` (``gram_stats``,
``kernel_sum``, ``knn_sets``, ``knn_overlap``, ``matmul``, ``center``,
``row_stats``, ``feature_products``), plus ``permuted_sums`` (used by
:func:`repalign_edu.hsic_test`) and ``knn_rerank`` (the exact re-ranking of
screened k-NN candidates, shared with :mod:`.cuda`).

Threads: importing this module calls
:func:`~repalign_edu.backends.threading_policy.configure`, which starts
Numba's pool with sleeping OpenMP workers (``OMP_WAIT_POLICY=PASSIVE``,
scoped to Numba's runtime) and a thread-safe layer, unless the user chose
otherwise; see that module for the effect on other OpenMP libraries.

Design rules (see lesson 09):

* **No n x n matrix is ever allocated.**  The sample is cut into tiles of
  ``TILE`` rows.  A pair of tiles (I, J) is processed ``ROWS`` rows at a
  time: the ``ROWS x TILE`` block of inner products is formed in a small
  buffer, turned into kernel values in place and reduced at once.  Extra
  memory is O(n (d_X + d_Y)) for the transposed copies and row statistics,
  plus 4 * TILE float64 per tile pair of a step (at most 16 MiB).
* **Symmetry.**  K and L are symmetric, so only tile pairs with I <= J are
  visited; an off-diagonal pair counts twice in the scalar sums and gives
  both row sums (for tile I) and column sums (for tile J).
* **Bitwise determinism for any NUMBA_NUM_THREADS.**  Nothing depends on
  which thread runs what:

  - each tile pair writes its own slots (``slots[q] = ...``, never ``+=`` on
    a shared element): its scalar sums, and its partial row and column sums
    in a buffer of ``PAIRS_PER_STEP`` pairs;
  - after each step of at most ``PAIRS_PER_STEP`` pairs (one parallel loop
    and one barrier), the partial row sums are added into the n-vectors
    serially, in pair order; the scalar slots are added serially at the end;
  - within a tile pair the order of every floating-point operation is fixed;
  - k-NN lists are owned by their row (one thread scans all columns of a row
    in order), and permutation statistics by their permutation;
  - small problems run on one thread (``SERIAL_WORK``), which by the above
    gives the same bits.

* All accumulation is in float64; no fastmath.  Inner products and squared
  norms are plain ``sum_f a_f b_f`` in feature order (so a row's squared
  distance to itself is exactly 0), and kernel values agree with the NumPy
  reference to rounding.

Inner products use a small register-blocked "outer product" micro-kernel
(``_dots``): for each feature f it updates ``ROWS`` rows of the output with
one contiguous row of the transposed tile, a loop that LLVM vectorises.
The Gaussian and Laplacian kernels use ``_exp_neg``, a branch-free exp
accurate to about 1 ulp that LLVM also vectorises (a call to libm's exp
would keep the loop scalar).  Each parallel kernel has a single ``prange``
loop whose body calls a plain ``njit`` function, which keeps Numba's compile
time down (the compiled code is cached on disk).
"""
from __future__ import annotations

import math
from contextlib import contextmanager
from functools import partial

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.extending import intrinsic

from . import threading_policy
from .stats import GramStats, streamed_gram_stats, three_products

# capabilities (see :mod:`.base`)
NAME = "cpu"
STREAMING = True
NATIVE_FLOAT32 = False
MAX_KNN_K = None
LAZY_INPUTS = False
PERMUTED_SUMS = True

# before any parallel kernel runs: sleeping OpenMP workers, a thread-safe layer
threading_policy.configure()

#: rows (and columns) per tile.  It fixes the summation order, so it is a
#: constant, not a tuning knob chosen from the machine.
TILE = 128
#: rows of a tile processed together by the inner-product micro-kernel
ROWS = 4
#: tile pairs per parallel step of ``gram_stats`` (their partial row/column
#: sums take 4 * TILE * 8 bytes each: 16 MiB per step)
PAIRS_PER_STEP = 4096

#: calls with less work than this (about n^2 (d_X + d_Y) / 2 multiply-adds)
#: run on one thread: waking the thread pool would cost more than it saves,
#: and far more on a busy machine.  One thread gives bitwise the same result.
SERIAL_WORK = 1 << 24

_CACHE = True


@contextmanager
def _threads_for(work: float):
    """Run the enclosed Numba call on one thread when ``work`` is small."""
    if work >= SERIAL_WORK:
        yield
        return
    old = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(old)


# --------------------------------------------------------------------------- building blocks
@njit(cache=_CACHE)
def _dots(A, i0, nr, BT, j0, j1, out):
    """out[r, t] = <a_{i0+r}, b_{j0+t}> for r < nr <= ROWS and t < j1 - j0.

    ``BT`` is B transposed (features x samples, C-contiguous).  Rows r >= nr
    repeat row i0 + nr - 1 so the unrolled loop always runs ROWS rows; their
    results are ignored by the callers.
    """
    w = j1 - j0
    ia = i0
    ib = i0 + min(1, nr - 1)
    ic = i0 + min(2, nr - 1)
    id_ = i0 + min(3, nr - 1)
    o0 = out[0, :w]
    o1 = out[1, :w]
    o2 = out[2, :w]
    o3 = out[3, :w]
    for t in range(w):
        o0[t] = 0.0
        o1[t] = 0.0
        o2[t] = 0.0
        o3[t] = 0.0
    for f in range(A.shape[1]):
        a0 = A[ia, f]
        a1 = A[ib, f]
        a2 = A[ic, f]
        a3 = A[id_, f]
        bt = BT[f, j0:j1]
        for t in range(w):
            v = bt[t]
            o0[t] += a0 * v
            o1[t] += a1 * v
            o2[t] += a2 * v
            o3[t] += a3 * v


@intrinsic
def _bits_as_float(typingctx, bits):
    """The float64 whose IEEE-754 bit pattern is the int64 ``bits``."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return sig, codegen


_INV_LN2 = 1.4426950408889634
_LN2_HI = 6.93147180369123816490e-01  # fdlibm's split of ln 2: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10


@njit(inline="always", cache=_CACHE)
def _exp_neg(x):
    """exp(x) for x <= 0, to about 1 ulp, in a form LLVM can vectorise.

    ``math.exp`` is a call into libm, which keeps the kernel loops scalar;
    this is the textbook algorithm written out: x = k ln2 + r with
    |r| <= ln2 / 2 (Cody-Waite reduction), exp(r) by its degree-12 Taylor
    polynomial (truncation error < 2e-16), and 2^k built from its bits, in
    two halves so that subnormal results come out right.  Only IEEE
    operations, so the result does not depend on vectorisation or threads.
    """
    x = max(x, -746.0)  # exp(-746) rounds to 0
    k = math.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    p = 1.0 + r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (
        1.0 / 120 + r * (1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (
            1.0 / 362880 + r * (1.0 / 3628800 + r * (1.0 / 39916800 + r * (
                1.0 / 479001600))))))))))))
    ki = np.int64(k)
    k1 = ki >> 1
    return p * _bits_as_float((k1 + 1023) << 52) * _bits_as_float((ki - k1 + 1023) << 52)


@njit(inline="always", cache=_CACHE)
def _expm1_neg(x):
    """exp(x) - 1 for x <= 0, to about 1 ulp relative, vectorisable like :func:`_exp_neg`.

    For |x| < ln2 / 2 (k = 0) the Taylor polynomial is evaluated without its
    leading 1, so values of exp(x) near 1 keep every digit of x; elsewhere
    exp(x) <= 0.71 and subtracting 1 loses at most two bits.
    """
    x = max(x, -746.0)
    k = math.floor(x * _INV_LN2 + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    q = r * (1.0 + r * (1.0 / 2 + r * (1.0 / 6 + r * (1.0 / 24 + r * (1.0 / 120 + r * (
        1.0 / 720 + r * (1.0 / 5040 + r * (1.0 / 40320 + r * (1.0 / 362880 + r * (
            1.0 / 3628800 + r * (1.0 / 39916800 + r * (1.0 / 479001600))))))))))))
    ki = np.int64(k)
    k1 = ki >> 1
    e = (1.0 + q) * _bits_as_float((k1 + 1023) << 52) * _bits_as_float((ki - k1 + 1023) << 52)
    return q if ki == 0 else e - 1.0


@njit(inline="always", cache=_CACHE)
def _power_shifted(t, s, deg):
    """(s + t)^deg - s^deg without cancellation when |t| << s (see kernels.shifted_power)."""
    if s > 0.0 and t > -0.5 * s:
        return s ** deg * math.expm1(deg * math.log1p(t / s))
    return (s + t) ** deg - s ** deg


@njit(cache=_CACHE)
def _apply_kernel(D, nr, w, aux_a, i0, aux_b, j0, code, a, c0, deg, shift):
    """D[r, t] <- k(a_{i0+r}, b_{j0+t}) in place, given D[r, t] = <a_{i0+r}, b_{j0+t}>.

    code: 0 linear, 1 rbf exp(-a sq), 2 laplacian exp(-a sqrt(sq)),
    3 polynomial (a dot + aux_i + aux_j + c0)^deg (see ``kernels.KERNELS``);
    sq is the squared distance aux_i + aux_j - 2 <a_i, b_j> (aux = squared
    norms), clipped at 0.  With ``shift`` the value is k - k0 (k0 = 1 for
    rbf/laplacian, c0^deg for polynomial), computed without cancellation.
    """
    if code == 0:
        return
    for r in range(nr):
        row = D[r, :w]
        ni = aux_a[i0 + r]
        nb = aux_b[j0:j0 + w]
        if code == 1:
            if shift:
                for t in range(w):
                    row[t] = _expm1_neg(-a * max(ni + nb[t] - 2.0 * row[t], 0.0))
            else:
                for t in range(w):
                    row[t] = _exp_neg(-a * max(ni + nb[t] - 2.0 * row[t], 0.0))
        elif code == 2:
            if shift:
                for t in range(w):
                    row[t] = _expm1_neg(-a * math.sqrt(max(ni + nb[t] - 2.0 * row[t], 0.0)))
            else:
                for t in range(w):
                    row[t] = _exp_neg(-a * math.sqrt(max(ni + nb[t] - 2.0 * row[t], 0.0)))
        elif shift:
            for t in range(w):
                row[t] = _power_shifted(a * row[t] + (ni + nb[t]), c0, deg)
        else:
            for t in range(w):
                row[t] = (a * row[t] + (ni + nb[t]) + c0) ** deg


def _upper_pairs(n_tiles: int) -> np.ndarray:
    """All tile pairs (I, J) with I <= J, row-major: an (n_pairs, 2) int64 array."""
    i, j = np.triu_indices(n_tiles)
    return np.ascontiguousarray(np.stack([i, j], axis=1), dtype=np.int64)


def _n_tiles(n: int) -> int:
    return (n + TILE - 1) // TILE


@njit(cache=_CACHE)
def _row_sqnorms(A):
    """||a_i||^2, summed in feature order exactly as :func:`_dots` sums <a_i, a_i>,
    so that the squared distance of a row to itself is exactly 0."""
    n = A.shape[0]
    out = np.empty(n)
    for i in range(n):
        s = 0.0
        for f in range(A.shape[1]):
            s += A[i, f] * A[i, f]
        out[i] = s
    return out


@njit(cache=_CACHE)
def _pair_rows(X, XT, axi, axj, Y, YT, ayi, ayj, kx, ky, oxi, oxj, oyi, oyj, use_off,
               i0, nr, j0, j1, DX, DY):
    """Rows i0 .. i0+nr of a tile of K and of L, at columns j0 .. j1, into DX and DY.

    DX[r, t] = k_X(x_{i0+r}, x_{j0+t}) from :func:`_dots` and :func:`_apply_kernel`
    (``ax*`` their per-row vectors, ``kx`` the kernel code tuple); with
    ``use_off`` minus oxi[i0+r] + oxj[j0+t] (the second pass of a centred
    polynomial kernel).  Likewise DY for L.  Shared by the cpu and dask
    backends' tile loops.
    """
    w = j1 - j0
    _dots(X, i0, nr, XT, j0, j1, DX)
    _dots(Y, i0, nr, YT, j0, j1, DY)
    _apply_kernel(DX, nr, w, axi, i0, axj, j0, kx[0], kx[1], kx[2], kx[3], kx[4])
    _apply_kernel(DY, nr, w, ayi, i0, ayj, j0, ky[0], ky[1], ky[2], ky[3], ky[4])
    if use_off:
        for r in range(nr):
            ox = oxi[i0 + r]
            oy = oyi[i0 + r]
            for t in range(w):
                DX[r, t] -= ox + oxj[j0 + t]
                DY[r, t] -= oy + oyj[j0 + t]


@njit(cache=_CACHE)
def _lane_totals(lanes, w):
    """(sum K L, sum K K, sum L L) of a tile: the per-column lanes[0..2, :w] added in column
    order (shared by the cpu and dask tile loops, so both sum in the same order)."""
    kl = 0.0
    kk = 0.0
    ll = 0.0
    for t in range(w):
        kl += lanes[0, t]
        kk += lanes[1, t]
        ll += lanes[2, t]
    return kl, kk, ll


# --------------------------------------------------------------------------- Gram statistics
@njit(cache=_CACHE)
def _stats_pair(X, XT, nx, Y, YT, ny, kx, ky, I, J, slot, sums, dk, dl, offx, offy, use_off):
    """Statistics of tile pair (I, J), I <= J, of K and L.

    Writes <K,L>, <K,K>, <L,L> over the pair (doubled when I != J: the pair
    stands for (J, I) too) to ``slot``; the row sums of K and L over the
    pair's I rows to ``sums[0]``, ``sums[1]`` and its column sums (the row
    sums of the mirrored pair) to ``sums[2]``, ``sums[3]``.  A diagonal pair
    also records diag K and diag L (each diagonal tile belongs to one pair).
    With ``use_off`` the kernel values are K_ij - offx_i - offx_j and
    L_ij - offy_i - offy_j (the second pass of a centred polynomial kernel).
    """
    n = X.shape[0]
    i_start = I * TILE
    i_stop = min(n, i_start + TILE)
    j_start = J * TILE
    j_stop = min(n, j_start + TILE)
    w = j_stop - j_start
    DX = np.empty((ROWS, TILE))
    DY = np.empty((ROWS, TILE))
    lanes = np.zeros((3, TILE))  # per column: sums of K L, K K, L L
    s_kl = lanes[0, :w]
    s_kk = lanes[1, :w]
    s_ll = lanes[2, :w]
    c_k = sums[2, :w]
    c_l = sums[3, :w]
    for t in range(w):
        c_k[t] = 0.0
        c_l[t] = 0.0
    for i0 in range(i_start, i_stop, ROWS):
        nr = min(ROWS, i_stop - i0)
        _pair_rows(X, XT, nx, nx, Y, YT, ny, ny, kx, ky, offx, offx, offy, offy, use_off,
                   i0, nr, j_start, j_stop, DX, DY)
        for r in range(nr):
            kr = DX[r, :w]
            lr = DY[r, :w]
            for t in range(w):
                kv = kr[t]
                lv = lr[t]
                s_kl[t] += kv * lv
                s_kk[t] += kv * kv
                s_ll[t] += lv * lv
                c_k[t] += kv
                c_l[t] += lv
            sk = 0.0
            sl = 0.0
            for t in range(w):
                sk += kr[t]
                sl += lr[t]
            sums[0, i0 + r - i_start] = sk
            sums[1, i0 + r - i_start] = sl
            if I == J:
                dk[i0 + r] = kr[i0 + r - j_start]
                dl[i0 + r] = lr[i0 + r - j_start]
    kl, kk, ll = _lane_totals(lanes, w)
    weight = 1.0 if I == J else 2.0
    slot[0] = weight * kl
    slot[1] = weight * kk
    slot[2] = weight * ll


@njit(cache=_CACHE)
def _scatter_sums(pairs, q0, m, sums, n, rk, rl):
    """Add the partial row sums of pairs q0 .. q0+m-1 into rk and rl, in pair order."""
    for q in range(m):
        I = pairs[q0 + q, 0]
        J = pairs[q0 + q, 1]
        i_start = I * TILE
        for t in range(min(n, i_start + TILE) - i_start):
            rk[i_start + t] += sums[q, 0, t]
            rl[i_start + t] += sums[q, 1, t]
        if I != J:
            j_start = J * TILE
            for t in range(min(n, j_start + TILE) - j_start):
                rk[j_start + t] += sums[q, 2, t]
                rl[j_start + t] += sums[q, 3, t]


@njit(parallel=True, cache=_CACHE)
def _gram_stats_kernel(X, XT, nx, Y, YT, ny, kx, ky, pairs, step, offx, offy, use_off):
    n = X.shape[0]
    n_pairs = pairs.shape[0]
    rk = np.zeros(n)
    rl = np.zeros(n)
    dk = np.empty(n)
    dl = np.empty(n)
    slots = np.zeros((n_pairs, 3))
    sums = np.empty((min(step, n_pairs), 4, TILE))
    for q0 in range(0, n_pairs, step):
        m = min(step, n_pairs - q0)
        for q in prange(m):
            _stats_pair(X, XT, nx, Y, YT, ny, kx, ky, pairs[q0 + q, 0], pairs[q0 + q, 1],
                        slots[q0 + q], sums[q], dk, dl, offx, offy, use_off)
        _scatter_sums(pairs, q0, m, sums, n, rk, rl)
    tot = np.zeros(3)
    for q in range(n_pairs):
        for c in range(3):
            tot[c] += slots[q, c]
    return tot, rk, rl, dk, dl


def _ktuple(kp):
    """(code, a, c0, degree, shift): what the Numba kernels take."""
    return (*kp.as_tuple(), bool(kp.shift))


def _aux(A: np.ndarray, kp, given):
    """Per-row vector of :func:`_apply_kernel`: squared norms (rbf, laplacian), the
    polynomial offsets ``given`` (or zeros), unused for linear."""
    if kp.name == "polynomial":
        return np.zeros(A.shape[0]) if given is None else np.ascontiguousarray(given, np.float64)
    return _row_sqnorms(A)


def _stream(X, Y, kx, ky, px=None, py=None, offx=None, offy=None):
    """One streaming pass: (kl, kk, ll, rk, rl, dk, dl) of the (shifted, offset) kernels."""
    X = np.ascontiguousarray(X, dtype=np.float64)
    Y = np.ascontiguousarray(Y, dtype=np.float64)
    n = X.shape[0]
    use_off = offx is not None or offy is not None
    zeros = np.zeros(n)
    offx = zeros if offx is None else np.ascontiguousarray(offx, np.float64)
    offy = zeros if offy is None else np.ascontiguousarray(offy, np.float64)
    with _threads_for(n * n * (X.shape[1] + Y.shape[1] + 8) / 2):
        tot, rk, rl, dk, dl = _gram_stats_kernel(
            X, np.ascontiguousarray(X.T), _aux(X, kx, px), Y, np.ascontiguousarray(Y.T),
            _aux(Y, ky, py), _ktuple(kx), _ktuple(ky), _upper_pairs(_n_tiles(n)),
            PAIRS_PER_STEP, offx, offy, use_off)
    return float(tot[0]), float(tot[1]), float(tot[2]), rk, rl, dk, dl


def gram_stats(X: np.ndarray, Y: np.ndarray, kx, ky, *, centered: bool = False) -> GramStats:
    """Streaming :class:`~repalign_edu.backends.stats.GramStats` of k_X on X and k_Y on Y.

    Parameters
    ----------
    X : ndarray, shape (n, d_X), float64
    Y : ndarray, shape (n, d_Y), float64
    kx, ky : KernelParams
        Resolved kernels of X and Y.
    centered : bool
        Statistics for the centred measures (see :mod:`.base`): features are
        centred, rbf/laplacian values are held as expm1 (K - 1), and a
        polynomial kernel is expanded around the mean and doubly centred in
        a second pass, so nothing is lost to cancellation.

    Returns
    -------
    GramStats
        <K,L>_F, <K,K>_F, <L,L>_F, row sums and diagonals, computed tile by
        tile without forming K or L.
    """
    return streamed_gram_stats(_stream, center, X, Y, kx, ky, centered=centered)


# --------------------------------------------------------------------------- kernel sums (MMD)
@njit(cache=_CACHE)
def _sum_pair(A, BT, na2, nb2, k, I, J, exclude_diag):
    """sum of k(a_i, b_j) over tile pair (I, J) (skipping i == j if asked)."""
    i_start = I * TILE
    i_stop = min(A.shape[0], i_start + TILE)
    j_start = J * TILE
    j_stop = min(BT.shape[1], j_start + TILE)
    w = j_stop - j_start
    D = np.empty((ROWS, TILE))
    lanes = np.zeros(TILE)
    acc = lanes[:w]
    for i0 in range(i_start, i_stop, ROWS):
        nr = min(ROWS, i_stop - i0)
        _dots(A, i0, nr, BT, j_start, j_stop, D)
        _apply_kernel(D, nr, w, na2, i0, nb2, j_start, k[0], k[1], k[2], k[3], k[4])
        for r in range(nr):
            row = D[r, :w]
            if exclude_diag and j_start <= i0 + r < j_stop:
                row[i0 + r - j_start] = 0.0
            for t in range(w):
                acc[t] += row[t]
    s = 0.0
    for t in range(w):
        s += acc[t]
    return s


@njit(parallel=True, cache=_CACHE)
def _kernel_sum_kernel(A, BT, na2, nb2, k, exclude_diag, pairs, weights):
    """sum_q weights[q] * (sum of k over tile pair pairs[q]), one slot per pair."""
    n_pairs = pairs.shape[0]
    partial = np.zeros(n_pairs)
    for q in prange(n_pairs):
        partial[q] = weights[q] * _sum_pair(A, BT, na2, nb2, k, pairs[q, 0], pairs[q, 1],
                                            exclude_diag)
    tot = 0.0
    for q in range(n_pairs):
        tot += partial[q]
    return tot


def kernel_sum(A: np.ndarray, B: np.ndarray, k, exclude_diag: bool = False) -> float:
    """Streaming sum_{i,j} k(a_i, b_j) without forming the cross Gram matrix.

    Parameters
    ----------
    A : ndarray, shape (m, d), float64
    B : ndarray, shape (n, d), float64
        Pass the same object twice (``kernel_sum(X, X, ...)``) to use the
        symmetry of k: only half of the tile pairs are computed.
    k : KernelParams
    exclude_diag : bool
        Skip the terms i == j (for the U-statistic of MMD).

    Returns
    -------
    float
        The linear kernel uses the exact shortcut <sum_i a_i, sum_j b_j>.
    """
    symmetric = A is B
    A = np.ascontiguousarray(A, dtype=np.float64)
    B = A if symmetric else np.ascontiguousarray(B, dtype=np.float64)
    if k.name == "linear":
        total = float(A.sum(axis=0) @ B.sum(axis=0))
        if exclude_diag:
            m = min(A.shape[0], B.shape[0])
            total -= float(np.einsum("ij,ij->", A[:m], B[:m]))
        return total
    ta, tb = _n_tiles(A.shape[0]), _n_tiles(B.shape[0])
    if symmetric:  # k(a, b) = k(b, a): pairs I <= J, the off-diagonal ones twice
        pairs = _upper_pairs(ta)
    else:
        i, j = np.divmod(np.arange(ta * tb, dtype=np.int64), tb)
        pairs = np.ascontiguousarray(np.stack([i, j], axis=1))
    weights = np.where(symmetric & (pairs[:, 0] != pairs[:, 1]), 2.0, 1.0)
    BT = np.ascontiguousarray(B.T)
    nb2 = _aux(B, k, None)
    na2 = nb2 if symmetric else _aux(A, k, None)
    work = A.shape[0] * B.shape[0] * (A.shape[1] + 4) / (2 if symmetric else 1)
    with _threads_for(work):
        return float(_kernel_sum_kernel(A, BT, na2, nb2, _ktuple(k), exclude_diag,
                                        pairs, weights))


# --------------------------------------------------------------------------- O(n d) passes
#: rows per block of the column-mean pass (fixed, so the sums do not depend on the thread count)
ROW_BLOCK = 1024


def center(A: np.ndarray) -> np.ndarray:
    """Column-centred float64 copy of A (n, d), float32 or float64 input.

    The column sums are taken in fixed blocks of ``ROW_BLOCK`` rows, each block
    summed row after row in float64 and the blocks added in order, so the
    result depends on the data only (bitwise the same for any thread count).
    NumPy does both passes on one thread: they are memory-bound, and this
    usually follows a BLAS product whose worker keeps spinning for a while
    afterwards, so a parallel Numba pass waited for that core and took 4
    times longer (and a serial Numba pass was 1.4x slower than NumPy's).
    """
    A = np.ascontiguousarray(A)
    total = np.zeros(A.shape[1])
    for i0 in range(0, A.shape[0], ROW_BLOCK):
        total += A[i0:i0 + ROW_BLOCK].sum(axis=0, dtype=np.float64)
    return np.subtract(A, total / A.shape[0], dtype=np.float64)


@njit(parallel=True, cache=_CACHE)
def _row_stats_kernel(A, s):
    n, d = A.shape
    r = np.empty(n)
    q = np.empty(n)
    for i in prange(n):
        a = 0.0
        b = 0.0
        for f in range(d):
            v = A[i, f]
            a += v * s[f]
            b += v * v
        r[i] = a
        q[i] = b
    return r, q


def row_stats(A: np.ndarray):
    """(A @ A.sum(0), squared row norms) of a float64 (n, d) array: K 1 and diag K for K = A A^T."""
    A = np.ascontiguousarray(A, dtype=np.float64)
    with _threads_for(A.size * 64):
        return _row_stats_kernel(A, A.sum(axis=0))


# --------------------------------------------------------------------------- dense products
#: products with fewer multiply-adds than this run on one BLAS thread.  It is
#: small: with Numba's workers sleeping between regions (``threading_policy``)
#: OpenBLAS's threads wake quickly, and at n = 1,000, d = 256 two threads
#: already halve the time of the three products.
SERIAL_BLAS_WORK = 1 << 21

_blas_controller = None


@contextmanager
def _one_blas_thread():
    """Limit NumPy's BLAS to one thread (via threadpoolctl, when installed)."""
    global _blas_controller
    try:
        if _blas_controller is None:
            from threadpoolctl import ThreadpoolController

            _blas_controller = ThreadpoolController()
        limiter = _blas_controller.limit(limits=1, user_api="blas")
    except Exception:  # pragma: no cover - threadpoolctl missing or unusable
        yield
        return
    with limiter:
        yield


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Dense float64 product A @ B for the feature-space paths (d x d results).

    This is NumPy's BLAS on purpose: Numba's ``np.dot`` would call SciPy's
    copy of OpenBLAS, and two OpenBLAS thread pools spinning against each
    other make small products 100 times slower.  Tiny products
    (< ``SERIAL_BLAS_WORK`` multiply-adds) run on one BLAS thread: waking
    the pool costs more than the product.
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    if A.shape[0] * A.shape[1] * B.shape[1] >= SERIAL_BLAS_WORK:
        return A @ B
    with _one_blas_thread():
        return A @ B


#: (X^T Y, X^T X, Y^T Y): three :func:`matmul` calls on NumPy's BLAS and its own threads.
#: An earlier version ran {X^T Y} and {X^T X, Y^T Y} at once on two Python threads with
#: one-thread BLAS calls; in a notebook, where our calls alternate with the user's NumPy
#: products, those threads competed with the BLAS worker still spinning after the user's
#: product, and linear CKA took 1.4-1.7x the time of NumPy code (benchmarks/results/perf.md).
feature_products = partial(three_products, matmul)
feature_products.__doc__ = "(X^T Y, X^T X, Y^T Y) by three ``matmul`` calls on BLAS's own threads (see :mod:`.base`)."


# --------------------------------------------------------------------------- k nearest neighbours
# The neighbour rule (all backends): s_ij = sum_f x_if x_jf, the float64 inner
# product of the two L2-normalised rows summed in feature order, one rounding
# per multiply and per add (no FMA).  It depends only on the two rows, so
# duplicate rows tie exactly; the k largest s_ij, j != i, are the neighbours,
# ties to the smaller index j.  ``numpy_ref.knn_sets`` is the specification.
#
# The search (``knn_sets``) screens in float32 and re-ranks exactly:
#
# 1. screening: float32 BLAS products of the upper-triangular blocks (the
#    matrix is symmetric: half the products) are merged into per-row lists of
#    the ``kc = k + margin`` largest float32 values;
# 2. re-ranking: s_ij is recomputed exactly (the rule above) for the kc
#    candidates of each row and the k best are kept, ties to the smaller index;
# 3. certificate: with eps a rigorous bound on |float32 value - s_ij| (see
#    :func:`screening_error_bound`), every non-candidate j has
#    s_ij <= c + eps, where c is the row's smallest kept float32 value.  If the
#    k-th exact value exceeds c + eps, no non-candidate can enter the top k
#    (not even by a tie), so the row is exact.  Rows without the certificate
#    (near-duplicates beyond the margin, rounding-level gaps) are searched
#    again over all n - 1 rows in float64 by the rule itself.
#
# Each row's lists are written by one thread at a time, and the list order
# (value, then index) is a strict total order, so the sets never depend on
# the thread count or on the order in which blocks arrive.

#: float32 screening blocks: KNN_ROWS x KNN_COLS products per BLAS call (16 MiB)
KNN_ROWS = 1024
KNN_COLS = 4096
#: columns per thread in the column-side merge (four 64-byte lines of float32 per row)
KNN_COL_GROUP = 64


def knn_candidates(n: int, k: int, cap: int | None = None) -> int:
    """Length kc of the screening lists: k plus a margin of max(k, 16), at most n - 1 (and ``cap``)."""
    kc = min(n - 1, k + max(k, 16))
    return kc if cap is None else max(min(kc, cap), min(k, n - 1))


def screening_error_bound(d: int, unit_roundoff: float, rows_rounded: bool) -> float:
    """Bound on |screened inner product - s_ij| for L2-normalised rows of d features.

    The screening value is a dot product computed with unit roundoff u in any
    order, with or without FMA (``rows_rounded``: of the rows rounded to that
    precision first, e.g. float32); s_ij is the float64 in-order sum.  With
    gamma_m(u) = m u / (1 - m u) (Higham, *Accuracy and Stability of Numerical
    Algorithms*, 2nd ed., Lemma 3.1 and eq. 3.5) and sum_f |x_f y_f| <= 1 + 1e-12
    for unit rows (Cauchy-Schwarz; the normalised norms are 1 to rounding)::

        |screen - exact| <= (2u + u^2 [if rounded]) + gamma_d(u) (1 + u)^2
        |s_ij   - exact| <= gamma_d(2^-53)

    plus d 2^-148 for float32 underflow.  The sum is scaled by 1.01 for
    safety.  Returns inf when d u >= 1/2 (no useful bound: no screening).
    """
    u64 = 2.0 ** -53
    if d * unit_roundoff >= 0.5:
        return math.inf
    gamma = d * unit_roundoff / (1.0 - d * unit_roundoff)
    screen = gamma * (1.0 + unit_roundoff) ** 2
    if rows_rounded:
        screen += 2.0 * unit_roundoff + unit_roundoff ** 2 + d * 2.0 ** -148
    exact = d * u64 / (1.0 - d * u64)
    return 1.01 * (screen * (1.0 + 1e-12) + exact) + 1e-300


@njit(cache=_CACHE)
def _knn_push(best_v, best_j, row, v, j, k):
    """Insert candidate (v, j) into row's sorted list of length k.

    Order: larger v first, ties to the smaller index j.  It is a strict
    total order, so the final list does not depend on the order in which
    candidates arrive.
    """
    vk = best_v[row, k - 1]
    if v < vk or (v == vk and j >= best_j[row, k - 1]):
        return
    p = k - 1
    while p > 0:
        vp = best_v[row, p - 1]
        if v > vp or (v == vp and j < best_j[row, p - 1]):
            best_v[row, p] = vp
            best_j[row, p] = best_j[row, p - 1]
            p -= 1
        else:
            break
    best_v[row, p] = v
    best_j[row, p] = j


@njit(parallel=True, cache=_CACHE)
def _knn_merge_sym(S, i0, j0, kc, best_v, best_j):
    """Merge the block S[r, t] ~ s_{i0+r, j0+t} (j0 >= i0) into the lists of both rows.

    Only pairs with j > i are used (the block is upper triangular): each
    unordered pair enters row i's list with j and row j's list with i.  The
    row side and the column side run as two parallel loops; in each, one
    thread owns each list.  A candidate is pushed only if it beats the
    list's current last value (kept in a register): a value equal to it is
    dropped, which the screening allows (every dropped value is <= the
    smallest kept one, all the certificate needs).
    """
    R, C = S.shape
    for r in prange(R):                              # row side: lists of rows i0 + r
        i = i0 + r
        thr = best_v[i, kc - 1]
        for t in range(max(0, i + 1 - j0), C):
            v = np.float64(S[r, t])
            if v > thr:
                _knn_push(best_v, best_j, i, v, j0 + t, kc)
                thr = best_v[i, kc - 1]
    n_groups = (C + KNN_COL_GROUP - 1) // KNN_COL_GROUP
    for g in prange(n_groups):                       # column side: lists of rows j0 + t
        ta = g * KNN_COL_GROUP
        tb = min(C, ta + KNN_COL_GROUP)
        thr = np.empty(KNN_COL_GROUP)
        for t in range(ta, tb):
            thr[t - ta] = best_v[j0 + t, kc - 1]
        for r in range(R):
            i = i0 + r
            for t in range(max(ta, i + 1 - j0), tb):
                v = np.float64(S[r, t])
                if v > thr[t - ta]:
                    _knn_push(best_v, best_j, j0 + t, v, i, kc)
                    thr[t - ta] = best_v[j0 + t, kc - 1]


@njit(cache=_CACHE)
def _exact_dot(A, i, j):
    """s_ij: the in-order float64 sum of A[i, f] A[j, f] (the neighbour rule)."""
    s = 0.0
    for f in range(A.shape[1]):
        s += A[i, f] * A[j, f]
    return s


@njit(parallel=True, cache=_CACHE)
def _knn_rerank(A, cand_j, cand_v, k, eps, out, ok):
    """Exact top k of each row among its candidates, and the screening certificate.

    ``cand_j[i]`` are the kc candidates of row i, ``cand_v[i, kc - 1]`` the
    smallest screened value kept.  Writes the k best by (s_ij desc, j asc)
    to ``out[i]``; ``ok[i]`` is False when a non-candidate might belong there.
    """
    n = A.shape[0]
    kc = cand_j.shape[1]
    d = A.shape[1]
    for i in prange(n):
        bv = np.full((1, k), -np.inf)
        bj = np.full((1, k), n, dtype=np.int64)
        vals = np.zeros(kc)
        for f in range(d):                       # kc independent in-order sums
            a = A[i, f]
            for c in range(kc):
                vals[c] += a * A[cand_j[i, c], f]
        for c in range(kc):
            _knn_push(bv, bj, 0, vals[c], cand_j[i, c], k)
        for p in range(k):
            out[i, p] = bj[0, p]
        ok[i] = kc >= n - 1 or bv[0, k - 1] > cand_v[i, kc - 1] + eps[i]


@njit(parallel=True, cache=_CACHE)
def _knn_exact_rows(A, AT, rows, k, out):
    """The neighbour rule over all n - 1 other rows, for each row in ``rows``.

    Inner products are formed TILE columns at a time as in-order sums over
    the features (vectorised across columns, so bitwise equal to
    :func:`_exact_dot`).
    """
    n, d = A.shape
    for q in prange(rows.shape[0]):
        i = rows[q]
        bv = np.full((1, k), -np.inf)
        bj = np.full((1, k), n, dtype=np.int64)
        acc = np.empty(TILE)
        for j0 in range(0, n, TILE):
            w = min(TILE, n - j0)
            for t in range(w):
                acc[t] = 0.0
            for f in range(d):
                a = A[i, f]
                for t in range(w):
                    acc[t] += a * AT[f, j0 + t]
            for t in range(w):
                if j0 + t != i:
                    _knn_push(bv, bj, 0, acc[t], j0 + t, k)
        for p in range(k):
            out[i, p] = bj[0, p]


def knn_rerank(Xn: np.ndarray, cand_j: np.ndarray, cand_v: np.ndarray, k: int,
               eps: float) -> tuple[np.ndarray, int]:
    """Exact neighbour sets from screened candidates, with the fallback (any screening backend).

    Parameters
    ----------
    Xn : ndarray, shape (n, d), float64
        The L2-normalised rows the rule is applied to.
    cand_j : ndarray, shape (n, kc), int64
        Each row's kc largest screened values' indices (kc >= k, self excluded).
    cand_v : ndarray, shape (n, kc)
        The screened values (only the last column, the smallest kept, is used).
    k : int
    eps : float
        Bound on |screened value - s_ij| for unit rows
        (:func:`screening_error_bound`); for other rows it is scaled by
        ||x_i|| max_j ||x_j|| (Cauchy-Schwarz).

    Returns
    -------
    sets : ndarray, shape (n, k), int64
        Exactly ``numpy_ref.knn_sets(Xn, k)``.
    n_fallback : int
        Rows that failed the certificate and were searched exhaustively.
    """
    Xn = np.ascontiguousarray(Xn, dtype=np.float64)
    n = Xn.shape[0]
    out = np.empty((n, k), dtype=np.int64)
    ok = np.empty(n, dtype=np.bool_)
    norms = np.sqrt(np.einsum("ij,ij->i", Xn, Xn))
    eps_rows = float(eps) * norms * float(norms.max()) * (1.0 + 1e-12)
    _knn_rerank(Xn, np.ascontiguousarray(cand_j, dtype=np.int64),
                np.ascontiguousarray(cand_v, dtype=np.float64), k, eps_rows, out, ok)
    bad = np.flatnonzero(~ok)
    if bad.size:
        _knn_exact_rows(Xn, np.ascontiguousarray(Xn.T), bad.astype(np.int64), k, out)
    return out, int(bad.size)


def _blas(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """A @ B with NumPy's BLAS in the input dtype (one BLAS thread for small products)."""
    if A.shape[0] * A.shape[1] * B.shape[1] >= SERIAL_BLAS_WORK:
        return A @ B
    with _one_blas_thread():
        return A @ B


#: rows that needed the exhaustive fallback in the last ``knn_sets`` call (diagnostics)
last_knn_fallback_rows = 0


def knn_sets(Xn: np.ndarray, k: int) -> np.ndarray:
    """(n, k) int64 indices of each row's k nearest neighbours by the rule, self excluded.

    The rule: the k largest s_ij = sum_f x_if x_jf (float64, summed in
    feature order; ``numpy_ref.knn_sets`` is the specification), each row's
    list sorted by decreasing s_ij, ties to the smaller index j.  The search
    screens with float32 BLAS products of the upper-triangular blocks and
    re-ranks k + margin candidates exactly, with a certified error bound and
    an exhaustive float64 fallback for rows the bound cannot certify (see
    the comment above :func:`knn_candidates`).  The result is exactly the
    rule's, for any thread count.  Extra memory: O(n (k + d)) plus one
    ``KNN_ROWS x KNN_COLS`` float32 block; no n x n matrix.
    """
    global last_knn_fallback_rows
    Xn = np.ascontiguousarray(Xn, dtype=np.float64)
    n, d = Xn.shape
    k = int(k)
    kc = knn_candidates(n, k)
    eps = screening_error_bound(d, 2.0 ** -24, rows_rounded=True)
    X32 = Xn.astype(np.float32)
    cand_v = np.full((n, kc), -np.inf)
    cand_j = np.full((n, kc), n, dtype=np.int64)
    with _threads_for(n * n * 4):
        for i0 in range(0, n, KNN_ROWS):
            rows = X32[i0:i0 + KNN_ROWS]
            for j0 in range(i0, n, KNN_COLS):
                S = _blas(rows, X32[j0:j0 + KNN_COLS].T)
                _knn_merge_sym(S, i0, j0, kc, cand_v, cand_j)
        out, last_knn_fallback_rows = knn_rerank(Xn, cand_j, cand_v, k, eps)
    return out


@njit(cache=_CACHE)
def _overlap_kernel(A, B):
    n, k = A.shape
    counts = np.empty(n, dtype=np.int64)
    for i in range(n):
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
    A = np.ascontiguousarray(A, dtype=np.int64)
    B = np.ascontiguousarray(B, dtype=np.int64)
    return _overlap_kernel(A, B)


# --------------------------------------------------------------------------- permutation tests
@njit(parallel=True, cache=_CACHE)
def _permuted_sums_kernel(A, B, ra, rb, perms):
    """For each permutation p (a row of ``perms``):

    t[p] = sum_{i,j} A[i, j] B[p_i, p_j]     (A, B symmetric)
    c[p] = sum_i a_i rb[p_i]                  with a = A 1

    Each permutation is summed serially in a fixed order by one thread, so the
    results do not depend on the number of threads.
    """
    n = A.shape[0]
    n_perm = perms.shape[0]
    t = np.empty(n_perm)
    c = np.empty(n_perm)
    for q in prange(n_perm):
        p = perms[q]
        diag = 0.0
        off = 0.0
        cross = 0.0
        for i in range(n):
            Ai = A[i]
            Bi = B[p[i]]
            diag += Ai[i] * Bi[p[i]]
            s = 0.0
            for j in range(i + 1, n):
                s += Ai[j] * Bi[p[j]]
            off += s
            cross += ra[i] * rb[p[i]]
        t[q] = diag + 2.0 * off
        c[q] = cross
    return t, c


def permuted_sums(A: np.ndarray, B: np.ndarray, rb: np.ndarray, perms: np.ndarray):
    """Permutation statistics for :func:`repalign_edu.hsic_test` (n x n inputs).

    Parameters
    ----------
    A, B : ndarray, shape (n, n), float64, symmetric
    rb : ndarray, shape (n,)
        Row sums of B.
    perms : ndarray, shape (P, n), int64
        One permutation of range(n) per row.

    Returns
    -------
    t, c : ndarray, shape (P,)
        t[p] = sum_ij A_ij B_{p_i p_j} and c[p] = sum_i (A 1)_i rb_{p_i}.
    """
    perms = np.ascontiguousarray(perms, dtype=np.int64)
    with _threads_for(perms.size * A.shape[0] / 2):
        A = np.ascontiguousarray(A, dtype=np.float64)
        return _permuted_sums_kernel(A, np.ascontiguousarray(B, dtype=np.float64), A.sum(axis=1),
                                     np.ascontiguousarray(rb, dtype=np.float64), perms)
